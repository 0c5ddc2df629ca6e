//! `glosa serve`: open the store, import the content, serve HTTP and sync
//! until SIGTERM or Ctrl-C, then stop accepting, flush and exit.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use samod::{PeerId, Repo, UnloadPolicy};
use tokio::net::TcpListener;

use crate::import::{self, Catalog, ImportError};
use crate::memory;
use crate::note_count::{self, NoteCount};
use crate::schema;
use crate::store::{Store, StoreError};
use crate::sync::Policy;
use crate::sync::feed::{Feed, Notify};
use crate::sync::quota::Quota;
use crate::sync::unknown::SERVER_PEER_ID;
use crate::web::{self, AppState, Inner, assets};

pub struct Config {
    pub addr: SocketAddr,
    pub data: PathBuf,
    pub content: PathBuf,
    /// Benchmarks only: unknown documents are writable (see `cli`).
    pub open_documents: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("importing the content: {0}")]
    Import(#[from] ImportError),
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("serving HTTP: {0}")]
    Serve(std::io::Error),
    #[error("the sync engine stopped before it started")]
    Stopped,
}

pub async fn run(config: Config) -> Result<(), ServerError> {
    let store = Store::open(&config.data)?;
    if config.open_documents {
        tracing::warn!("benchmark mode: clients may create and write any document");
    }

    // Read before the import, whose writes it must count.
    let feed = Arc::new(Feed::open(&config.data));
    let catalog: Arc<RwLock<Arc<Catalog>>> = Arc::default();
    let quota = Quota::new(store.clone(), schema::notes::MAX_DOC_BYTES as u64);
    let policy = Policy::new(catalog.clone(), store.clone(), quota.full())
        .with_open_documents(config.open_documents);
    let repo = Repo::build_tokio()
        .with_storage(Notify::new(quota.clone(), feed.clone()))
        .with_peer_id(PeerId::from(SERVER_PEER_ID))
        .with_share_policy(policy.clone())
        // We never announce, so a phone's connection needs only the
        // documents it asks for (vendor/README.md §1).
        .with_lazy_incoming_attachment(true)
        .load()
        .await;

    let mut report = import::run(&repo, &config.data, &config.content).await?;
    for err in &report.errors {
        tracing::error!("{err}");
        eprintln!("content error: {err}");
    }
    let listed = report.catalog.listed().len();
    tracing::info!(
        articles = listed,
        created = report.created,
        updated = report.updated,
        withdrawn = report.withdrawn,
        unchanged = report.unchanged,
        unread = report.unread,
        errors = report.errors.len(),
        "content imported"
    );
    wait_written(&store, &report.new_documents).await;
    let applied = std::mem::take(&mut report.applied);
    if let Ok(mut slot) = catalog.write() {
        *slot = Arc::new(std::mem::take(&mut report.catalog));
    }

    let acceptor = repo
        .make_acceptor(url_for(config.addr))
        .map_err(|_| ServerError::Stopped)?;
    let note_count = Arc::new(NoteCount::default());
    let counter = tokio::spawn(note_count::run(
        store.clone(),
        catalog.clone(),
        note_count.clone(),
    ));
    let state = AppState::new(Inner {
        repo: repo.clone(),
        acceptor,
        catalog: catalog.clone(),
        store: store.clone(),
        policy,
        feed: feed.clone(),
        bundle: Default::default(),
        sync_metrics: Default::default(),
        note_count: note_count.clone(),
        assets: assets::Entry::load(),
        brotli_pages: Default::default(),
    });

    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(ServerError::Serve)?;
    // Damaged chunks are found and logged now, not when a phone first asks;
    // but only once the server listens: on two cores the scan would
    // otherwise take one of them from the import for the whole start-up.
    store.scan_in_background();
    let shutdown = shutdown_signal();
    println!(
        "Glosa is serving {listed} articles ({} content errors)",
        report.errors.len()
    );
    println!("  library:  http://{addr}/");
    println!("  sync:     ws://{addr}/sync");
    println!("  health:   http://{addr}/healthz");
    println!("listening on http://{addr}");

    let unloader = tokio::spawn(unload_idle(repo.clone()));
    web::listen::serve(listener, web::router(state), shutdown).await;

    tracing::info!("stopping: flushing documents to disk");
    unloader.abort();
    counter.abort();
    if tokio::time::timeout(STOP_TIMEOUT, repo.stop())
        .await
        .is_err()
    {
        // Only unacknowledged changes can be pending: their phones still
        // hold them and will send them again.
        tracing::error!(
            "could not write every change within {STOP_TIMEOUT:?} (is the disk full?); \
             stopping anyway: phones keep what was not acknowledged"
        );
    } else {
        // Every document is on disk now, so the next start may trust these.
        if let Err(e) = applied.save(&config.data) {
            tracing::warn!(error = %e, "cannot save the import cache; the next start will be slower");
        }
        if let Err(e) = feed.save(&config.data) {
            tracing::warn!(error = %e, "cannot save the change feed; phones will sync everything once");
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// How long shutdown waits for the last writes before giving up on them.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// A document no phone has open for this long is unloaded from memory; the
/// next phone that asks gets it back from disk, a read and a parse of a few
/// milliseconds. A phone keeps the documents it uses attached while it is
/// connected, so this counts from the moment the last one left. By then
/// the document has slept for most of this time (`IDLE_SLEEP`), at ~13 KB
/// (its compressed save, its actor and mailbox, its change graph): a phone
/// that comes back, or the next phone of a group reading the same articles,
/// finds it in memory instead of reloading it.
pub const IDLE_UNLOAD: Duration = Duration::from_secs(10);

/// How many documents no phone has open wait the whole `IDLE_UNLOAD`: the
/// most recently used (vendor/README.md §25). The others unload after
/// `UNUSED_GRACE`. A phone's first install leaves the whole library behind
/// when it goes: 600 documents asleep were 7.7 MB of heap, most of what an
/// idle server (9.4 MB) holds, for the 10 s; 64 are under 1 MB.
pub const KEEP_UNUSED: usize = 64;

/// How long documents beyond `KEEP_UNUSED` stay after their last phone
/// left: a page reload, a connection that drops and comes back, or the
/// next first install of the same library (syncbench's come 0.5 s apart)
/// finds all of them; reloading a first install's 600 from disk would cost
/// 1-2 s of CPU.
pub const UNUSED_GRACE: Duration = Duration::from_secs(3);

/// What the unloader asks of samod on each tick.
const UNLOAD_POLICY: UnloadPolicy =
    UnloadPolicy::new(IDLE_UNLOAD, IDLE_SLEEP).keeping(KEEP_UNUSED, UNUSED_GRACE);

/// How long an idle storage thread stays. A first install of 1,000
/// documents keeps all 16 busy; each keeps ~90 KB resident until it goes.
pub const STORAGE_THREAD_IDLE: Duration = Duration::from_secs(2);

/// A document phones have open but nobody used for this long sleeps: it
/// drops its operations, most of its memory, and keeps a compressed save
/// (vendor/README.md §17). Asleep it still answers a phone's first sync and
/// every acknowledgement; a note, or a phone that lacks a few changes,
/// wakes it with a parse of that save, no disk read. A first install of 600
/// documents otherwise holds all of them in memory while the phone stays
/// connected. Documents nobody has open sleep too, until they unload.
/// cold_fill's peak with 500 ms: 22.2-23.5 MB, with 1 s: 23.8-24.0 MB, the
/// CPU of every syncbench workload the same (bench/README.md §14).
pub const IDLE_SLEEP: Duration = Duration::from_millis(500);

/// How often idle documents are looked for and freed memory is handed back.
/// The walk of the loaded documents is cheap; `malloc_trim` took 0.3-2 ms
/// under syncbench's loads (at most 0.8 % of a core four times a second;
/// microseconds when idle), and trimming this often, not only after
/// unloads, keeps a burst's freed memory from staying resident while the
/// burst lasts: peak RSS 39 against 44-49 MB on reconnect_merge and
/// cold_fill (bench/README.md §12). Documents fall asleep within
/// `IDLE_SLEEP` plus one tick.
const UNLOAD_TICK: Duration = Duration::from_millis(250);

/// samod keeps every document it ever touched in memory; this task unloads
/// the idle ones (vendor/README.md §2) and returns the memory to the system.
async fn unload_idle(repo: Repo) {
    let mut tick = tokio::time::interval(UNLOAD_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // Documents unloaded on the previous tick have finished by now, and
        // connections closed since then have dropped their buffers. On a
        // storage thread: a trim takes milliseconds (once 15 ms) and the
        // sync protocol has one thread by default (`--threads`).
        if tokio::task::spawn_blocking(memory::release).await.is_err() {
            tracing::warn!("returning freed memory to the system failed");
        }
        if repo.unload_idle_with(UNLOAD_POLICY).is_err() {
            return;
        }
    }
}

/// Waits until each new document has a chunk on disk (the import's writes
/// run on storage threads after `create` returned). Bounded: a disk that
/// cannot write is reported by the store's health, not by a start-up hang.
async fn wait_written(store: &Store, docs: &[samod::DocumentId]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for doc in docs {
        let id = doc.to_string();
        while store.document_chunks(&id).await.is_empty() {
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(document = %id, "a new document is not on disk yet; serving anyway");
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

fn url_for(addr: SocketAddr) -> url::Url {
    // samod names listeners by URL; any well-formed one will do.
    url::Url::parse(&format!("ws://{addr}/sync"))
        .unwrap_or_else(|_| url::Url::parse("ws://localhost/sync").expect("a constant URL parses"))
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is
/// called, not when it is first polled: a service manager may send SIGTERM
/// the moment we say we are listening, and the default action would kill
/// the process without flushing.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM or Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
        tracing::info!("shutdown requested");
    }
}
