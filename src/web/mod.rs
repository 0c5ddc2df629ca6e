//! HTTP: the routes, read like the requests they serve.
//!
//! | route | handler |
//! |---|---|
//! | `GET /` | [`pages::library`] — the article list, readable with no JavaScript |
//! | `GET /articles/{slug}` | [`pages::article`] — the article rendered on the server |
//! | `GET /api/library` | [`api::library`] — the library as JSON |
//! | `GET /api/bundle` | [`api::bundle`] — every listed document in one download, for a first install |
//! | `GET /healthz` | [`api::health`] — 200 when serving, 503 when storage fails |
//! | `GET /metrics` | [`metrics::metrics`] — counters in Prometheus' text format |
//! | `GET /sync` | [`sync_socket`] — the automerge-repo WebSocket |
//! | anything else | [`assets::serve`] — the embedded frontend build |

pub mod api;
pub mod assets;
pub mod brotli_pages;
pub mod html;
pub mod listen;
pub mod metrics;
pub mod pages;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use samod::{AcceptorHandle, Repo};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::import::Catalog;
use crate::note_count::NoteCount;
use crate::store::Store;
use crate::sync::feed::Feed;
use crate::sync::metrics::SyncMetrics;
use crate::sync::{Policy, socket};

/// Everything a handler may read. Handlers hold no state of their own.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub repo: Repo,
    pub acceptor: AcceptorHandle,
    pub catalog: Arc<RwLock<Arc<Catalog>>>,
    pub store: Store,
    pub policy: Policy,
    /// Which documents changed, for phones that ask (`sync::feed`).
    pub feed: Arc<Feed>,
    /// The last library bundle built (`crate::bundle`).
    pub bundle: crate::bundle::Cache,
    pub sync_metrics: Arc<SyncMetrics>,
    pub note_count: Arc<NoteCount>,
    pub assets: assets::Entry,
    /// Pages at brotli 11, compressed once per version (`brotli_pages`).
    pub brotli_pages: Arc<brotli_pages::BrotliPages>,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        AppState(Arc::new(inner))
    }

    /// The catalog as of the last import.
    pub fn catalog(&self) -> Arc<Catalog> {
        match self.0.catalog.read() {
            Ok(c) => Arc::clone(&c),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// No HTTP request needs a body; the sync protocol runs on the WebSocket.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// A slow phone on 3G still gets a page in this time; a client that sends
/// headers one byte a minute does not hold a task forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Pages and JSON are compressed per request (the frontend's files and the
/// bundle arrive already compressed, and so do pages once `brotli_pages`
/// has them at brotli 11). Brotli 5 is as cheap as tower-http's default 4
/// (about 1 ms for an article page) and 5 % smaller: 300 bytes less before
/// a first paint over 3G. From 6 to 9 gains nothing; 10 and 11 gain 15 %
/// for 20 to 50 times the CPU, which is why they run once per page, in the
/// background, and not on every request.
const PAGE_COMPRESSION: CompressionLevel = CompressionLevel::Precise(5);

pub fn router(state: AppState) -> Router {
    let http = Router::new()
        .route("/", get(pages::library))
        .route("/articles/{slug}", get(pages::article))
        .route("/api/library", get(api::library))
        .route("/api/bundle", get(api::bundle))
        .route("/healthz", get(api::health))
        .route("/metrics", get(metrics::metrics))
        .fallback(assets::serve)
        .layer(CompressionLayer::new().quality(PAGE_COMPRESSION))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ));
    Router::new()
        // The socket lives for hours: it gets no request timeout.
        .route("/sync", get(sync_socket))
        .merge(http)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn sync_socket(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.max_message_size(socket::MAX_MESSAGE_BYTES)
        .max_frame_size(socket::MAX_MESSAGE_BYTES)
        .read_buffer_size(socket::READ_BUFFER_BYTES)
        .on_upgrade(move |ws| async move {
            let transport = socket::transport(
                ws,
                peer,
                state.policy.clone(),
                state.feed.clone(),
                state.sync_metrics.clone(),
            );
            if state.acceptor.accept(transport).is_err() {
                tracing::debug!(%peer, "sync connection refused: shutting down");
            }
        })
}
