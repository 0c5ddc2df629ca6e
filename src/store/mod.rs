//! Durable document storage behind samod's `Storage` trait.
//!
//! The layout is samod's `TokioFilesystemStorage` and automerge-repo's NodeFS
//! adapter (`<2 chars>/<rest of doc id>/{snapshot,incremental}/<hash>`), so a
//! JS server can read the same directory. What this adds:
//!
//! - `put` returns only once the bytes are on disk (temp file, fsync, rename,
//!   directory fsync), so anything acknowledged after a put survives `kill -9`
//!   and power loss.
//! - Errors are never silent: each failure is logged with its key and the
//!   store turns `Degraded`, which `/healthz` reports and the sync policy
//!   uses to stop accepting changes.
//! - A put that fails does not complete: it is kept in memory (loads serve
//!   it) and retried with backoff, and by a background thread while
//!   degraded, and completes once written. samod acknowledges a change only
//!   after its puts complete (vendor/README.md §3), so nothing unstored is
//!   ever acknowledged and freeing space loses nothing. Deletes of a
//!   document with unwritten data are skipped, because samod deletes
//!   superseded chunks right after a compaction put that may have failed.
//! - A damaged chunk file is moved to `quarantine/` and left out of loads, so
//!   it damages at most its own document; clients re-sync what it held.
//! - One server per data dir (an exclusive lock), and leftovers of a crash
//!   (temp files) are removed on open.

mod backup;
mod check;
mod chunk;
mod consistent;
mod fs;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime};

use futures::Stream;
use samod::storage::{Storage, StorageKey};
use tokio::sync::watch;

pub use backup::{BackupSummary, RestoreSummary, backup, restore};
pub use check::{CheckReport, Damage, DocSummary, check};
pub use fs::write_atomic;

/// How often the background thread retries unwritten data while degraded.
const RECOVERY_INTERVAL: Duration = Duration::from_secs(1);
/// How often a put that could not be written is tried again.
const PUT_RETRY_MIN: Duration = Duration::from_millis(250);
const PUT_RETRY_MAX: Duration = Duration::from_secs(5);

/// The probe written to test whether the disk takes writes again. Its size
/// asks for a little headroom rather than the last free byte.
const PROBE_FILE: &str = ".glosa-probe";
/// The change feed's log, saved at a clean shutdown (`sync::feed`). Never
/// backed up: it describes this data dir at one moment, and a restored
/// store is older than what phones were told since.
pub const FEED_FILE: &str = "feed";
const PROBE_SIZE: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the data dir {dir} is in use by another glosa process{holder} (lock file {lock}); stop it first"
    )]
    Locked {
        dir: PathBuf,
        lock: PathBuf,
        holder: String,
    },
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error(
        "refusing to restore into {0}: it is not empty (restore needs an empty or missing data dir)"
    )]
    NotEmpty(PathBuf),
    #[error("{path} is not a usable glosa backup: {reason}")]
    BadArchive { path: PathBuf, reason: String },
    #[error(
        "could not read a consistent copy of {0} (it kept changing); try again when the server is less busy"
    )]
    Unstable(PathBuf),
}

impl StoreError {
    pub(crate) fn io(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.to_path_buf();
        move |source| StoreError::Io { op, path, source }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// A write, delete or fsync failed at `since`; `error` is the latest failure.
    Degraded {
        error: String,
        since: SystemTime,
    },
}

/// A chunk file the server found unreadable and moved aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    pub doc_id: String,
    /// Where the file was, relative to the data dir.
    pub path: PathBuf,
    /// Where it is now, relative to the data dir.
    pub moved_to: PathBuf,
    pub reason: String,
}

/// What [`Store::scan`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScanSummary {
    pub documents: usize,
    pub chunks: usize,
    pub damaged: usize,
}

#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// What the store's clones (and their in-flight operations) share. The lock
/// lives here, so it is released the moment the last clone is dropped.
struct Inner {
    io: Arc<Io>,
    /// Holds the exclusive lock for as long as the store lives.
    _lock: File,
}

/// The working state, also reachable (weakly) by the recovery thread, which
/// must not keep the lock alive.
struct Io {
    dir: PathBuf,
    state: Mutex<State>,
    /// Serialises retries of unwritten data, so two retries don't race.
    flush: Mutex<()>,
    writable: watch::Sender<bool>,
    errors: AtomicU64,
}

#[derive(Default)]
struct State {
    degraded: Option<(String, SystemTime)>,
    /// Puts that failed, by key: samod thinks they are stored, so they are
    /// kept here (and served by loads) until a retry writes them.
    pending: HashMap<StorageKey, Vec<u8>>,
    quarantined: Vec<Quarantined>,
}

impl Store {
    /// Open (creating if needed) the data dir and take its lock. The temp
    /// files a crash may have left are cleared by [`Store::scan`]: walking
    /// every document's directory here cost a sixth of the start-up with
    /// 1,000 articles, and loads skip temp files anyway.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        fs::create_dirs_durable(dir).map_err(StoreError::io("create", dir))?;
        let lock_path = dir.join(fs::LOCK_FILE);
        let lock = lock_dir(dir, &lock_path)?;
        let (writable, _) = watch::channel(true);
        let io = Arc::new(Io {
            dir: dir.to_path_buf(),
            state: Mutex::new(State::default()),
            flush: Mutex::new(()),
            writable,
            errors: AtomicU64::new(0),
        });
        spawn_recovery(Arc::downgrade(&io), RECOVERY_INTERVAL);
        Ok(Store {
            inner: Arc::new(Inner { io, _lock: lock }),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.inner.io.dir
    }

    pub fn health(&self) -> Health {
        match &self.inner.io.state().degraded {
            None => Health::Ok,
            Some((error, since)) => Health::Degraded {
                error: error.clone(),
                since: *since,
            },
        }
    }

    /// The store's writability now and at every change: what the sync
    /// policy needs to refuse changes it could not store.
    pub fn writable_updates(&self) -> impl Stream<Item = bool> + Send + 'static {
        let rx = self.inner.io.writable.subscribe();
        futures::stream::unfold((rx, true), |(mut rx, first)| async move {
            if !first {
                rx.changed().await.ok()?;
            }
            let now = *rx.borrow_and_update();
            Some((now, (rx, false)))
        })
    }

    /// Storage failures since the store opened (for `/metrics`).
    pub fn error_count(&self) -> u64 {
        self.inner.io.errors.load(Ordering::Relaxed)
    }

    /// Chunk files found damaged and moved aside since the store opened.
    pub fn quarantined(&self) -> Vec<Quarantined> {
        self.inner.io.state().quarantined.clone()
    }

    /// Validate every stored chunk and quarantine the damaged ones, so the
    /// log names damaged documents at startup instead of when a client
    /// first asks for them. Reads everything once; run it off the main path
    /// with [`Store::scan_in_background`].
    pub fn scan(&self) -> ScanSummary {
        self.inner.io.scan()
    }

    /// Every stored chunk of one document (keyed as samod writes them),
    /// for readers that must not load the document into samod.
    pub async fn document_chunks(&self, doc: &str) -> HashMap<StorageKey, Vec<u8>> {
        match StorageKey::from_parts([doc]) {
            Ok(prefix) => self.load_range(prefix).await,
            Err(_) => HashMap::new(),
        }
    }

    /// [`Store::scan`] on its own thread; samod may load documents meanwhile
    /// (both sides tolerate the other moving a damaged file first).
    pub fn scan_in_background(&self) -> Option<std::thread::JoinHandle<ScanSummary>> {
        let io = self.inner.io.clone();
        std::thread::Builder::new()
            .name("glosa-store-scan".into())
            .spawn(move || io.scan())
            .map_err(|e| tracing::error!(error = %e, "cannot start the storage scan"))
            .ok()
    }

    /// Retry unwritten data and probe the disk now, rather than waiting for
    /// the background retry. Returns the resulting health.
    pub async fn recover(&self) -> Health {
        let inner = self.inner.clone();
        let _ = tokio::task::spawn_blocking(move || inner.io.try_recover()).await;
        self.health()
    }
}

// `File::try_lock` (an flock) is std since 1.89, hence rust-version 1.89.
fn lock_dir(dir: &Path, lock_path: &Path) -> Result<File, StoreError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(lock_path)
        .map_err(StoreError::io("open lock file", lock_path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(StoreError::Locked {
                dir: dir.to_path_buf(),
                lock: lock_path.to_path_buf(),
                holder: if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {holder})")
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(StoreError::Io {
                op: "lock",
                path: lock_path.to_path_buf(),
                source: e,
            });
        }
    }
    // The pid only makes the "in use" message helpful; the lock is the flock.
    let pid = format!("{}\n", std::process::id());
    let _ = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(pid.as_bytes()));
    Ok(file)
}

/// Lock the data dir for a command that must not run beside a server.
pub(crate) fn lock_for_command(dir: &Path) -> Result<File, StoreError> {
    lock_dir(dir, &dir.join(fs::LOCK_FILE))
}

fn spawn_recovery(io: Weak<Io>, every: Duration) {
    let spawned = std::thread::Builder::new()
        .name("glosa-store-recovery".into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                let Some(io) = io.upgrade() else { return };
                if io.state().degraded.is_some() {
                    io.try_recover();
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the storage recovery thread; recovery will wait for the next write");
    }
}

/// The document a key belongs to (its first component).
fn doc_of(key: &StorageKey) -> Option<&str> {
    key.into_iter().next().map(String::as_str)
}

fn is_snapshot(key: &StorageKey) -> bool {
    key.into_iter().nth(1).is_some_and(|c| c == "snapshot")
}

fn is_chunk(key: &StorageKey) -> bool {
    key.into_iter()
        .nth(1)
        .is_some_and(|c| c == "snapshot" || c == "incremental")
}

impl Io {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock can't leave State inconsistent in a
        // way that matters more than refusing all storage would.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn path_of(&self, key: &StorageKey) -> Option<PathBuf> {
        fs::key_to_rel(key).map(|rel| self.dir.join(rel))
    }

    /// Record a failure. `retry` failures (a held put trying again) are
    /// logged at debug: the first failure of that write was an error already.
    fn fail(&self, op: &str, key: &dyn std::fmt::Display, err: &io::Error, retry: bool) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if retry {
            tracing::debug!(op, key = %key, error = %err, "storage retry failed; still degraded");
        } else {
            tracing::error!(op, key = %key, error = %err, "storage failure; the store is degraded");
        }
        let msg = format!("{op} {key}: {err}");
        let mut state = self.state();
        let since = state
            .degraded
            .as_ref()
            .map_or_else(SystemTime::now, |d| d.1);
        state.degraded = Some((msg, since));
        drop(state);
        self.writable
            .send_if_modified(|w| std::mem::replace(w, false));
    }

    fn mark_ok(&self) {
        let mut state = self.state();
        if state.degraded.is_some() && state.pending.is_empty() {
            state.degraded = None;
            drop(state);
            tracing::info!("storage recovered: writes succeed again and nothing is waiting");
            self.writable
                .send_if_modified(|w| !std::mem::replace(w, true));
        }
    }

    /// Writes one chunk durably. Returns false if it is not on disk (it is
    /// then kept in `pending`, for loads and for the recovery thread).
    fn put_blocking(&self, key: StorageKey, data: Vec<u8>, retry: bool) -> bool {
        let Some(path) = self.path_of(&key) else {
            tracing::error!(key = %key, "refusing to store a key that is not a plain path");
            return true;
        };
        match fs::write_atomic_io(&path, &data) {
            Ok(()) => {
                let had_pending = {
                    let mut state = self.state();
                    state.pending.remove(&key);
                    state.degraded.is_some()
                };
                if had_pending {
                    self.flush_pending();
                    self.mark_ok();
                }
                true
            }
            Err(e) => {
                self.fail("write", &key, &e, retry);
                let mut state = self.state();
                if is_snapshot(&key)
                    && let Some(doc) = doc_of(&key)
                {
                    // A snapshot holds the whole document, so it supersedes
                    // whatever else of this document is waiting.
                    let doc = doc.to_string();
                    state.pending.retain(|k, _| doc_of(k) != Some(doc.as_str()));
                }
                state.pending.insert(key, data);
                false
            }
        }
    }

    /// Whether `key`'s data is still only in memory: the key itself, or (a
    /// failed snapshot replaces its document's pending chunks) anything of
    /// its document, is waiting to be written.
    fn is_pending(&self, key: &StorageKey) -> bool {
        let state = self.state();
        let doc = doc_of(key);
        state.pending.contains_key(key) || state.pending.keys().any(|k| doc_of(k) == doc)
    }

    /// Write what earlier puts could not. Returns true if nothing is left.
    fn flush_pending(&self) -> bool {
        let _guard = self.flush.lock().unwrap_or_else(|p| p.into_inner());
        let todo: Vec<(StorageKey, Vec<u8>)> = self
            .state()
            .pending
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // Snapshots first: once one is down, its document's increments are
        // covered even if writing them fails.
        let (snaps, rest): (Vec<_>, Vec<_>) = todo.into_iter().partition(|(k, _)| is_snapshot(k));
        for (key, data) in snaps.into_iter().chain(rest) {
            let Some(path) = self.path_of(&key) else {
                self.state().pending.remove(&key);
                continue;
            };
            match fs::write_atomic_io(&path, &data) {
                Ok(()) => {
                    let mut state = self.state();
                    if state.pending.get(&key) == Some(&data) {
                        state.pending.remove(&key);
                    }
                    tracing::info!(key = %key, "wrote data that an earlier failure left in memory");
                }
                Err(e) => {
                    tracing::debug!(key = %key, error = %e, "retry failed; still degraded");
                    let mut state = self.state();
                    if let Some(d) = state.degraded.as_mut() {
                        d.0 = format!("write {key}: {e}");
                    }
                    return false;
                }
            }
        }
        self.state().pending.is_empty()
    }

    /// One recovery attempt: write what is waiting, then prove the disk
    /// takes a write of some size before declaring health.
    fn try_recover(&self) {
        if !self.flush_pending() {
            return;
        }
        let probe = self.dir.join(PROBE_FILE);
        let result = fs::write_atomic_io(&probe, &[0u8; PROBE_SIZE])
            .and_then(|()| fs::remove_durable(&probe));
        match result {
            Ok(()) => self.mark_ok(),
            Err(e) => {
                let _ = std::fs::remove_file(&probe);
                tracing::debug!(error = %e, "storage probe failed; still degraded");
            }
        }
    }

    fn delete_blocking(&self, key: StorageKey) {
        let Some(path) = self.path_of(&key) else {
            return;
        };
        {
            let mut state = self.state();
            state.pending.remove(&key);
            let doc = doc_of(&key);
            if state.pending.keys().any(|k| doc_of(k) == doc) {
                // The chunk may be superseded only by a put that failed:
                // keep it. An extra chunk is harmless; the next compaction
                // after a restart removes it.
                tracing::warn!(key = %key, "not deleting a chunk while its document has unwritten data");
                return;
            }
        }
        match fs::remove_durable(&path) {
            Ok(()) => {}
            Err(e) => self.fail("delete", &key, &e, false),
        }
    }

    fn load_blocking(&self, key: StorageKey) -> Option<Vec<u8>> {
        if let Some(data) = self.state().pending.get(&key) {
            return Some(data.clone());
        }
        let path = self.path_of(&key)?;
        match std::fs::read(&path) {
            Ok(data) => Some(data),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(key = %key, error = %e, "cannot read a stored value");
                None
            }
        }
    }

    fn load_range_blocking(&self, prefix: StorageKey) -> HashMap<StorageKey, Vec<u8>> {
        let mut out = HashMap::new();
        let Some(root_rel) = fs::key_to_rel(&prefix) else {
            return out;
        };
        let root = self.dir.join(&root_rel);
        // Walk errors mean the prefix doesn't exist yet (a new document) or
        // a directory vanished in a compaction: both mean "nothing more here".
        let files = match fs::walk_files(&root) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!(prefix = %prefix, error = %e, "cannot list stored chunks; loading what can be read");
                Vec::new()
            }
        };
        for rel in files {
            let mut key = prefix.clone();
            let mut ok = true;
            for c in rel.iter() {
                match c.to_str().map(|s| key.with_component(s.to_string())) {
                    Some(Ok(k)) => key = k,
                    _ => {
                        ok = false;
                        break;
                    }
                }
            }
            if !ok {
                tracing::warn!(path = %root.join(&rel).display(), "skipping a file whose name is not a storage key");
                continue;
            }
            let path = root.join(&rel);
            let data = match std::fs::read(&path) {
                Ok(d) => d,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    self.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(key = %key, error = %e, "cannot read a stored chunk; skipping it");
                    continue;
                }
            };
            if is_chunk(&key)
                && let Err(reason) = chunk::validate(&data)
            {
                self.quarantine(
                    doc_of(&key).unwrap_or_default(),
                    &root_rel.join(&rel),
                    reason,
                );
                continue;
            }
            out.insert(key, data);
        }
        let state = self.state();
        for (k, v) in &state.pending {
            if prefix.is_prefix_of(k) {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }

    fn scan(&self) -> ScanSummary {
        let mut summary = ScanSummary::default();
        match fs::remove_stray_temps(&self.dir) {
            Ok(0) => {}
            Ok(removed) => tracing::warn!(
                removed,
                dir = %self.dir.display(),
                "removed unfinished writes left by a crash (their old versions are intact)"
            ),
            Err(e) => {
                tracing::error!(dir = %self.dir.display(), error = %e, "cannot clear temp files left by a crash")
            }
        }
        let files = match fs::walk_files(&self.dir) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(dir = %self.dir.display(), error = %e, "cannot list the data dir to check it");
                return summary;
            }
        };
        let mut docs = std::collections::HashSet::new();
        for rel in files {
            let Some(doc_dir) = consistent::doc_dir_of(&rel) else {
                continue;
            };
            let doc_id: String = doc_dir.iter().map(|c| c.to_string_lossy()).collect();
            docs.insert(doc_id.clone());
            summary.chunks += 1;
            let bytes = match std::fs::read(self.dir.join(&rel)) {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    self.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(path = %rel.display(), error = %e, "cannot read a stored chunk");
                    continue;
                }
            };
            if let Err(reason) = chunk::validate(&bytes) {
                summary.damaged += 1;
                self.quarantine(&doc_id, &rel, reason);
            }
        }
        summary.documents = docs.len();
        if summary.damaged > 0 {
            tracing::error!(
                documents = summary.documents,
                chunks = summary.chunks,
                damaged = summary.damaged,
                "storage check found damaged chunks (moved to quarantine; see `glosa check`)"
            );
        } else {
            tracing::info!(
                documents = summary.documents,
                chunks = summary.chunks,
                "storage check: every chunk is intact"
            );
        }
        summary
    }

    fn quarantine(&self, doc_id: &str, rel: &Path, reason: String) {
        let doc_id = doc_id.to_string();
        let from = self.dir.join(rel);
        let mut moved_to = Path::new(fs::QUARANTINE_DIR).join(rel);
        let mut n = 1;
        while self.dir.join(&moved_to).exists() {
            moved_to = Path::new(fs::QUARANTINE_DIR).join(format!("{}.{n}", rel.display()));
            n += 1;
        }
        let dest = self.dir.join(&moved_to);
        let moved = fs::create_dirs_durable(dest.parent().unwrap_or(&self.dir))
            .and_then(|()| std::fs::rename(&from, &dest))
            .and_then(|()| fs::fsync_dir(from.parent().unwrap_or(&self.dir)));
        match moved {
            // Someone else (a concurrent load or the startup scan) moved it.
            Err(e) if e.kind() == io::ErrorKind::NotFound && !from.exists() => return,
            Ok(()) => tracing::error!(
                doc = %format!("automerge:{doc_id}"),
                path = %rel.display(),
                moved_to = %moved_to.display(),
                reason = %reason,
                "damaged chunk: left out of the document and moved to quarantine; clients holding the document will re-sync what it held"
            ),
            Err(e) => tracing::error!(
                doc = %format!("automerge:{doc_id}"),
                path = %rel.display(),
                reason = %reason,
                move_error = %e,
                "damaged chunk: left out of the document (could not move it to quarantine)"
            ),
        }
        self.state().quarantined.push(Quarantined {
            doc_id,
            path: rel.to_path_buf(),
            moved_to,
            reason,
        });
    }
}

/// Run blocking file work off the async threads. If the blocking pool is
/// gone (runtime shutting down) there is nothing left to report to.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static, fallback: T) -> T {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "storage task did not complete");
        fallback
    })
}

impl Storage for Store {
    fn load(&self, key: StorageKey) -> impl Future<Output = Option<Vec<u8>>> + Send {
        let inner = self.inner.clone();
        blocking(move || inner.io.load_blocking(key), None)
    }

    fn load_range(
        &self,
        prefix: StorageKey,
    ) -> impl Future<Output = HashMap<StorageKey, Vec<u8>>> + Send {
        let inner = self.inner.clone();
        blocking(move || inner.io.load_range_blocking(prefix), HashMap::new())
    }

    /// Completes only once the chunk is on disk. samod acknowledges a
    /// change to the phone that sent it only after its puts complete
    /// (vendor/README.md §3), so while the disk is full the put is held
    /// open: the phone keeps its change and sends it again after a crash.
    /// (The share policy also turns notes read-only meanwhile, so no new
    /// change is taken in.)
    fn put(&self, key: StorageKey, data: Vec<u8>) -> impl Future<Output = ()> + Send {
        let inner = self.inner.clone();
        async move {
            let mut wait = PUT_RETRY_MIN;
            let mut retry = false;
            loop {
                let (io, k, d) = (inner.io.clone(), key.clone(), data.clone());
                if blocking(move || io.put_blocking(k, d, retry), false).await {
                    return;
                }
                retry = true;
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(PUT_RETRY_MAX);
                // The recovery thread may have written it (or a snapshot
                // of the same document that supersedes it) meanwhile.
                if !inner.io.is_pending(&key) {
                    return;
                }
            }
        }
    }

    fn delete(&self, key: StorageKey) -> impl Future<Output = ()> + Send {
        let inner = self.inner.clone();
        blocking(move || inner.io.delete_blocking(key), ())
    }
}

#[cfg(test)]
mod tests;
