//! One phone's WebSocket, between axum and samod.
//!
//! samod's own axum adapter sends no pings, so a phone that vanished (a bus
//! through a tunnel) would hold its socket and its share of memory forever.
//! Here a pump task owns the socket: it pings every [`PING_EVERY`], closes
//! a connection that has been silent for [`DEAD_AFTER`], and closes, with
//! a logged reason, on anything the protocol does not allow (text frames,
//! frames over the size limit). samod sees only the binary messages, and
//! only those about documents we serve (`unknown`).

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use tokio::time::{Instant, MissedTickBehavior, interval_at};

use std::sync::Arc;

use tracing::Instrument;

use super::Policy;
use super::feed::{Feed, Since};
use super::limits::{self, Envelope, Limits};
use super::metrics::SyncMetrics;
use super::unknown::{self, Route};

/// The largest message a client may send: a whole notes document (the
/// server refuses notes documents above 4 MiB) with room to spare.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;
/// What each connection reads into, allocated when it opens. tungstenite's
/// default, 128 KiB, made 1,000 idle phones cost the server 150 MB; phones
/// send little, and a larger message is read in several turns.
pub const READ_BUFFER_BYTES: usize = 4 * 1024;
pub const PING_EVERY: Duration = Duration::from_secs(15);
/// Two missed pings and a bit: a dead phone is closed well within a minute.
pub const DEAD_AFTER: Duration = Duration::from_secs(40);
/// Messages read from the socket and not yet taken by samod. Small, so a
/// client that floods us is slowed down by TCP backpressure, not buffered.
const INBOUND_QUEUE: usize = 16;

/// Why a connection ended, for the log.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("the client sent a text frame; the protocol is binary CBOR")]
    TextFrame,
    #[error("no frame from the client for {0:?}; assuming it is gone")]
    Dead(Duration),
    #[error("the client took no data for {0:?}; assuming it is gone")]
    Stalled(Duration),
    #[error("websocket error: {0}")]
    Ws(#[from] axum::Error),
    #[error(transparent)]
    Limit(#[from] limits::Violation),
}

impl SocketError {
    /// The WebSocket close code (RFC 6455 §7.4.1) that says why.
    fn close_code(&self) -> u16 {
        match self {
            SocketError::TextFrame => 1003,
            SocketError::Ws(e) if too_big(e) => 1009,
            SocketError::Dead(_) | SocketError::Stalled(_) => 1001,
            SocketError::Limit(v) => v.close_code(),
            SocketError::Ws(_) => 1000,
        }
    }
}

/// Wraps `socket` as a samod transport and starts the pump that drives it.
pub fn transport(
    socket: WebSocket,
    peer: SocketAddr,
    policy: Policy,
    feed: Arc<Feed>,
    metrics: Arc<SyncMetrics>,
) -> samod::Transport {
    let (to_samod, from_socket) = mpsc::channel::<Vec<u8>>(INBOUND_QUEUE);
    let (to_socket, from_samod) = mpsc::unbounded::<Vec<u8>>();
    // Every log line of this connection names it: `conn` counts from 1
    // since start, `peer` is the client's address.
    let conn = metrics.opened();
    let span = tracing::info_span!("sync", conn, %peer);
    let pump = Pump {
        policy,
        feed,
        metrics,
        subscription: None,
    };
    tokio::spawn(pump.run(socket, to_samod, from_samod).instrument(span));
    samod::Transport::new(from_socket.map(Ok::<_, SocketError>), to_socket)
}

/// Sends one frame, giving up after [`DEAD_AFTER`]: a phone that vanished
/// without closing stops acknowledging TCP data, the send buffer fills, and
/// an unbounded send would stall this loop (and its pings and its dead-peer
/// check) until the kernel gives up, many minutes later.
async fn send(
    tx: &mut futures::stream::SplitSink<WebSocket, Message>,
    msg: Message,
) -> Result<(), SocketError> {
    match tokio::time::timeout(DEAD_AFTER, tx.send(msg)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(SocketError::Ws(e)),
        Err(_) => Err(SocketError::Stalled(DEAD_AFTER)),
    }
}

/// Sends one binary message and counts it for `/metrics`.
async fn send_binary(
    tx: &mut futures::stream::SplitSink<WebSocket, Message>,
    metrics: &SyncMetrics,
    bytes: Vec<u8>,
) -> Result<(), SocketError> {
    metrics.sent(bytes.len());
    send(tx, Message::Binary(bytes.into())).await
}

/// A phone that asked for the change feed (`glosa-since`): what it was
/// last told, and who it is.
struct Subscription {
    changes: tokio::sync::watch::Receiver<u64>,
    seq: u64,
    client: String,
}

struct Pump {
    policy: Policy,
    feed: Arc<Feed>,
    metrics: Arc<SyncMetrics>,
    subscription: Option<Subscription>,
}

impl Pump {
    /// Answers `glosa-since`: the documents written since the client's
    /// token. It subscribes first, so a write made meanwhile is announced
    /// (perhaps twice, which costs the phone nothing). The app asks once per
    /// connection; a repeat is ignored, so a small message cannot be made
    /// to fetch the whole list again and again.
    fn since(&mut self, env: &Envelope<'_>) -> Option<Vec<u8>> {
        if self.subscription.is_some() {
            return None;
        }
        let client = env.sender?.to_owned();
        let mut changes = self.feed.subscribe();
        changes.borrow_and_update();
        let (seq, since) = match self.feed.since(env.since) {
            (seq, Since::Changed(docs)) => (seq, Since::Changed(self.served(docs))),
            all => all,
        };
        let reply = self.feed.message(&client, seq, &since);
        self.subscription = Some(Subscription {
            changes,
            seq,
            client,
        });
        Some(reply)
    }

    /// The announcement of what was written since the client was last told,
    /// if anything it may see was.
    fn changes(&mut self) -> Option<Vec<u8>> {
        let sub = self.subscription.as_mut()?;
        let (seq, docs) = self.feed.after(sub.seq);
        sub.seq = seq;
        let (client, docs) = (sub.client.clone(), self.served(docs));
        (!docs.is_empty()).then(|| self.feed.message(&client, seq, &Since::Changed(docs)))
    }

    fn served(&self, docs: Vec<String>) -> Vec<String> {
        docs.into_iter()
            .filter(|d| {
                d.parse::<samod::DocumentId>()
                    .is_ok_and(|id| self.policy.serves(&id))
            })
            .collect()
    }

    async fn run(
        mut self,
        socket: WebSocket,
        mut to_samod: mpsc::Sender<Vec<u8>>,
        mut from_samod: mpsc::UnboundedReceiver<Vec<u8>>,
    ) {
        let metrics = self.metrics.clone();
        let (mut tx, mut rx) = socket.split();
        let mut ping = interval_at(Instant::now() + PING_EVERY, PING_EVERY);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        let mut limits = Limits::new(std::time::Instant::now());

        let outcome: Result<(), SocketError> = loop {
            tokio::select! {
                frame = rx.next() => {
                    last_heard = Instant::now();
                    match frame {
                        None => break Ok(()),
                        Some(Err(e)) => break Err(SocketError::Ws(e)),
                        Some(Ok(Message::Binary(bytes))) => {
                            metrics.received(bytes.len());
                            let route = match limits.check(&bytes, std::time::Instant::now()) {
                                Ok(env) if env.kind == "glosa-since" => match self.since(&env) {
                                    Some(reply) => Route::Reply(reply),
                                    None => Route::Drop,
                                },
                                Ok(env) => match unknown::route(&env, |doc| self.policy.serves(doc)) {
                                    Route::Reply(reply) => {
                                        metrics.unknown_answered();
                                        Route::Reply(reply)
                                    }
                                    route => route,
                                },
                                Err(v) => break Err(v.into()),
                            };
                            match route {
                                Route::Samod => {
                                    // samod stopped listening: the connection is over.
                                    if to_samod.send(bytes.to_vec()).await.is_err() {
                                        break Ok(());
                                    }
                                }
                                Route::Reply(reply) => {
                                    if let Err(e) = send_binary(&mut tx, &metrics, reply).await {
                                        break Err(e);
                                    }
                                }
                                Route::Drop => {}
                            }
                        }
                        Some(Ok(Message::Text(_))) => break Err(SocketError::TextFrame),
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        Some(Ok(Message::Close(_))) => break Ok(()),
                    }
                }
                out = from_samod.next() => match out {
                    Some(bytes) => {
                        if let Err(e) = send_binary(&mut tx, &metrics, bytes).await {
                            break Err(e);
                        }
                    }
                    // samod closed the connection (protocol error, shutdown).
                    None => break Ok(()),
                },
                () = written(&mut self.subscription) => {
                    if let Some(msg) = self.changes()
                        && let Err(e) = send_binary(&mut tx, &metrics, msg).await
                    {
                        break Err(e);
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() >= DEAD_AFTER {
                        break Err(SocketError::Dead(last_heard.elapsed()));
                    }
                    if let Err(e) = send(&mut tx, Message::Ping(Default::default())).await {
                        break Err(e);
                    }
                }
            }
        };
        close(outcome, &metrics, to_samod, tx).await;
    }
}

/// Resolves when the feed has news for a subscribed client; never for one
/// that did not subscribe (stock clients), or once the feed is gone.
async fn written(sub: &mut Option<Subscription>) {
    if let Some(sub) = sub
        && sub.changes.changed().await.is_ok()
    {
        return;
    }
    std::future::pending().await
}

/// Logs why the connection ended, tells samod, and says goodbye.
async fn close(
    outcome: Result<(), SocketError>,
    metrics: &SyncMetrics,
    to_samod: mpsc::Sender<Vec<u8>>,
    mut tx: futures::stream::SplitSink<WebSocket, Message>,
) {
    match &outcome {
        Ok(()) => tracing::debug!("sync connection closed"),
        Err(SocketError::Ws(e)) => tracing::info!(error = %e, "sync connection ended"),
        Err(e) => tracing::warn!(reason = %e, "closing sync connection"),
    }
    let code = outcome.as_ref().err().map_or(1000, SocketError::close_code);
    // Refused: closed by us for breaking the protocol or a limit (not a
    // clean close, a network error or a vanished phone).
    metrics.closed(!matches!(code, 1000 | 1001));
    let reason = match &outcome {
        Ok(()) => String::new(),
        Err(e) => limits::close_reason(&e.to_string()),
    };
    // Tell samod the stream ended, then say goodbye if the socket still works.
    drop(to_samod);
    // Bounded: a stalled socket must not keep this task alive.
    let goodbye = async {
        let _ = tx
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
        let _ = tx.close().await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), goodbye).await;
}

/// Whether axum gave up on a message over [`MAX_MESSAGE_BYTES`]: tungstenite
/// refuses it from the frame header (or, when fragmented, once the parts
/// pass the limit), without buffering it.
fn too_big(e: &axum::Error) -> bool {
    use std::error::Error;
    matches!(
        e.source()
            .and_then(|s| s.downcast_ref::<tungstenite::Error>()),
        Some(tungstenite::Error::Capacity(_))
    )
}
