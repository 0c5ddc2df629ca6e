//! A minimal axum + samod sync server for syncbench, configured like Glosa's
//! sync endpoint (read-write, never announce), on the vendored samod.
//!
//! Usage: benchserver PORT DATA_DIR
//! Env: EAGER=1 restores upstream's attach-every-connection-to-every-document
//! behaviour; UNLOAD_SECS=N unloads documents idle for N seconds (checked
//! every N seconds).
use std::time::Duration;

use axum::{
    Router,
    extract::{State, WebSocketUpgrade},
    response::Response,
    routing::get,
};
use samod::{AcceptorHandle, Repo, ShareConfig, storage::TokioFilesystemStorage};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let mut args = std::env::args().skip(1);
    let port = args.next().unwrap_or_else(|| "3040".into());
    let dir = args.next().unwrap_or_else(|| "./bench-data".into());
    let repo = Repo::build_tokio()
        .with_storage(TokioFilesystemStorage::new(&dir))
        .with_share_policy(ShareConfig::read_write().with_announce(false))
        .with_lazy_incoming_attachment(std::env::var("EAGER").is_err())
        .load()
        .await;
    let acceptor = repo.make_acceptor(url::Url::parse("ws://benchserver/sync")?)?;
    if let Some(secs) = std::env::var("UNLOAD_SECS").ok().and_then(|s| s.parse().ok()) {
        let repo = repo.clone();
        tokio::spawn(async move {
            let idle = Duration::from_secs(secs);
            let mut timer = tokio::time::interval(idle.max(Duration::from_secs(1)));
            loop {
                timer.tick().await;
                if repo.unload_idle(idle).is_err() {
                    break;
                }
            }
        });
    }
    let app = Router::new().route("/sync", get(upgrade)).with_state(acceptor);
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("listening on http://127.0.0.1:{port}");
    axum::serve(listener, app).await?;
    Ok(())
}

async fn upgrade(ws: WebSocketUpgrade, State(acceptor): State<AcceptorHandle>) -> Response {
    ws.on_upgrade(move |socket| async move {
        if let Err(e) = acceptor.accept_axum(socket, None) {
            eprintln!("repo stopped: {e:?}");
        }
    })
}
