//! Accepting connections: what `axum::serve` does, plus a deadline for a
//! request's head.
//!
//! `axum::serve` builds hyper's connection without a timer, and hyper only
//! enforces its header-read timeout when it has one. So a client that sends
//! its request head one byte every few seconds (a slowloris), or connects
//! and sends nothing, holds a socket and a task for as long as it likes,
//! and a few thousand of them exhaust the file descriptors. tower-http's
//! request timeout does not help: it starts once the head has arrived.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// Time for a client to send a complete request head, from the moment it
/// connects (and again between keep-alive requests). A phone on a bad 2G
/// link sends a few hundred bytes of headers in well under this.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(20);
/// How long shutdown waits for requests in flight before giving up on them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` over HTTP/1.1 on `listener` until `shutdown` resolves, then
/// stops accepting, lets requests in flight finish (up to [`DRAIN_TIMEOUT`])
/// and returns. Handlers can read the peer's address with
/// `ConnectInfo<SocketAddr>`. WebSockets, once upgraded, are no longer
/// HTTP connections: they end with the sync engine, not here.
///
/// HTTP/1.1 only: browsers speak HTTP/2 only over TLS, which a reverse
/// proxy terminates; hyper's HTTP/1-or-2 detection would first wait for
/// bytes with no deadline at all.
pub async fn serve(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    // Dropping `stop` tells connections to finish; `done` closes when the
    // last connection task has dropped its receiver.
    let (stop, stopping) = watch::channel(());
    let (done, finished) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before
                    // accept: not fatal. Back off instead of spinning (as
                    // axum::serve does), then accept again.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = app.clone().map_request(move |req: Request<Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        });
        let conn = http
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades();
        let mut stopping = stopping.clone();
        let finished = finished.clone();
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                _ = stopping.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                // A client gone mid-request, or too slow with its head.
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(finished);
        });
    }

    drop(listener);
    drop(stop);
    drop(finished);
    if tokio::time::timeout(DRAIN_TIMEOUT, done.closed())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after {DRAIN_TIMEOUT:?}; stopping anyway");
    }
}
