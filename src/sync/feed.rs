//! The change feed: which documents changed since a phone last synced.
//!
//! The stock automerge-repo client syncs every document it holds on every
//! connection: a phone with a library of 1,000 articles sends 2,000 sync
//! messages, and gets as many back, to learn that nothing changed. Glosa's
//! app instead sends, once connected, the token this feed gave it last time
//! (`glosa-since`); the socket answers with the documents written since
//! (`glosa-changes`), and the app syncs only those. While it stays
//! connected, each later write is announced to it the same way. Stock
//! clients never send `glosa-since` and never see either message.
//!
//! A token is `<epoch>.<seq>`: `seq` counts chunk writes since the epoch
//! began. The epoch survives a clean restart (the log is saved at shutdown,
//! and read then removed at start) and is new after a crash, when the saved
//! log may be behind what phones were told: a token from another epoch is
//! answered "everything changed", and the phone does a full sync once.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use samod::storage::{Storage, StorageKey};
use tokio::sync::watch;

use super::cbor;
use super::unknown::SERVER_PEER_ID;

/// Where the log waits, between a clean shutdown and the next start (and
/// never in a backup).
const FILE: &str = crate::store::FEED_FILE;
const MAGIC: &str = "glosa-feed 1";

pub struct Feed {
    epoch: String,
    log: Mutex<Log>,
    seq: watch::Sender<u64>,
}

/// For every document written since the epoch began, the `seq` of its
/// latest write, indexed both ways: `after` walks only what changed.
#[derive(Default, Debug, PartialEq, Eq)]
struct Log {
    seq: u64,
    by_doc: HashMap<String, u64>,
    by_seq: BTreeMap<u64, String>,
}

/// What a phone has to sync, given its token.
#[derive(Debug, PartialEq, Eq)]
pub enum Since {
    /// Its token is from another epoch (or it has none): everything.
    All,
    /// These documents, and no other.
    Changed(Vec<String>),
}

impl Feed {
    /// A feed with a new epoch and nothing written.
    pub fn new() -> Feed {
        Feed::with(new_epoch(), Log::default())
    }

    fn with(epoch: String, log: Log) -> Feed {
        let (seq, _) = watch::channel(log.seq);
        Feed {
            epoch,
            log: Mutex::new(log),
            seq,
        }
    }

    /// The feed a clean shutdown saved in `dir`, or a new one. The file is
    /// removed first: after a crash of this run it would be behind.
    pub fn open(dir: &Path) -> Feed {
        let path = dir.join(FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Feed::new(),
            Err(e) => {
                tracing::warn!(error = %e, path = %path.display(), "cannot read the change feed; phones will sync everything once");
                return Feed::new();
            }
        };
        if let Err(e) = std::fs::remove_file(&path) {
            tracing::warn!(error = %e, path = %path.display(), "cannot remove the saved change feed; starting a new one");
            return Feed::new();
        }
        match parse(&text) {
            Ok((epoch, log)) => Feed::with(epoch, log),
            Err(line) => {
                tracing::warn!(path = %path.display(), line, "the saved change feed is damaged; phones will sync everything once");
                Feed::new()
            }
        }
    }

    /// Saves the log for the next start; call after the last write.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let text = {
            let log = self.log();
            let mut text = format!("{MAGIC}\n{} {}\n", self.epoch, log.seq);
            for (seq, doc) in &log.by_seq {
                text.push_str(&format!("{seq} {doc}\n"));
            }
            text
        };
        let tmp: PathBuf = dir.join(format!("{FILE}.tmp"));
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, dir.join(FILE))?;
        std::fs::File::open(dir)?.sync_all()
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        // Every update leaves the log whole; a panic elsewhere can't break it.
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a write to `doc`, once it is on disk.
    pub fn changed(&self, doc: &str) {
        let seq = {
            let mut log = self.log();
            log.seq += 1;
            let seq = log.seq;
            if let Some(old) = log.by_doc.insert(doc.to_owned(), seq) {
                log.by_seq.remove(&old);
            }
            log.by_seq.insert(seq, doc.to_owned());
            seq
        };
        self.seq.send_replace(seq);
    }

    /// Wakes when something is written.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.seq.subscribe()
    }

    /// Where the feed is now, and that position as a token.
    pub fn position(&self) -> (u64, String) {
        let seq = self.log().seq;
        (seq, self.token(seq))
    }

    fn token(&self, seq: u64) -> String {
        format!("{}.{seq}", self.epoch)
    }

    /// What changed since `token`, and the current position.
    pub fn since(&self, token: Option<&str>) -> (u64, Since) {
        let log = self.log();
        let known = token
            .and_then(|t| t.split_once('.'))
            .filter(|(epoch, _)| *epoch == self.epoch)
            .and_then(|(_, seq)| seq.parse::<u64>().ok())
            .filter(|seq| *seq <= log.seq);
        match known {
            Some(seq) => (log.seq, Since::Changed(after(&log, seq))),
            None => (log.seq, Since::All),
        }
    }

    /// The documents written after `seq`, and the current position.
    pub fn after(&self, seq: u64) -> (u64, Vec<String>) {
        let log = self.log();
        (log.seq, after(&log, seq))
    }

    /// `{type: "glosa-changes", senderId, targetId, token, all, documentIds}`.
    pub fn message(&self, client: &str, seq: u64, since: &Since) -> Vec<u8> {
        let docs: &[String] = match since {
            Since::All => &[],
            Since::Changed(docs) => docs,
        };
        let mut out = Vec::new();
        cbor::map(6, &mut out);
        for (key, value) in [
            ("type", "glosa-changes"),
            ("senderId", SERVER_PEER_ID),
            ("targetId", client),
            ("token", &self.token(seq)),
        ] {
            cbor::text(key, &mut out);
            cbor::text(value, &mut out);
        }
        cbor::text("all", &mut out);
        cbor::bool(matches!(since, Since::All), &mut out);
        cbor::text("documentIds", &mut out);
        cbor::array(docs.len(), &mut out);
        for doc in docs {
            cbor::text(doc, &mut out);
        }
        out
    }
}

impl Default for Feed {
    fn default() -> Self {
        Feed::new()
    }
}

fn after(log: &Log, seq: u64) -> Vec<String> {
    log.by_seq
        .range(seq.saturating_add(1)..)
        .map(|(_, doc)| doc.clone())
        .collect()
}

/// Unique enough: two runs of one server must not share an epoch.
fn new_epoch() -> String {
    let now = std::time::SystemTime::now();
    let seed = std::hash::RandomState::new().hash_one((now, std::process::id()));
    format!("{seed:016x}")
}

/// Reads a saved log; an error names the first bad line.
fn parse(text: &str) -> Result<(String, Log), usize> {
    let mut lines = text.lines().enumerate();
    let mut next = || lines.next().map(|(n, line)| (n + 1, line));
    match next() {
        Some((_, MAGIC)) => {}
        _ => return Err(1),
    }
    let (epoch, seq) = match next() {
        Some((_, line)) => match line.split_once(' ') {
            Some((epoch, seq)) if !epoch.is_empty() && !epoch.contains('.') => {
                (epoch.to_owned(), seq.parse::<u64>().map_err(|_| 2usize)?)
            }
            _ => return Err(2),
        },
        None => return Err(2),
    };
    let mut log = Log {
        seq,
        ..Log::default()
    };
    while let Some((n, line)) = next() {
        let (s, doc) = line.split_once(' ').ok_or(n)?;
        let s = s.parse::<u64>().map_err(|_| n)?;
        if s > seq || doc.is_empty() || log.by_doc.insert(doc.to_owned(), s).is_some() {
            return Err(n);
        }
        if log.by_seq.insert(s, doc.to_owned()).is_some() {
            return Err(n);
        }
    }
    Ok((epoch, log))
}

/// samod's storage, telling the feed about each chunk once it is written.
#[derive(Clone)]
pub struct Notify<S> {
    inner: S,
    feed: Arc<Feed>,
}

impl<S> Notify<S> {
    pub fn new(inner: S, feed: Arc<Feed>) -> Self {
        Notify { inner, feed }
    }
}

impl<S: Storage> Storage for Notify<S> {
    fn load(&self, key: StorageKey) -> impl Future<Output = Option<Vec<u8>>> + Send {
        self.inner.load(key)
    }

    fn load_range(
        &self,
        prefix: StorageKey,
    ) -> impl Future<Output = HashMap<StorageKey, Vec<u8>>> + Send {
        self.inner.load_range(prefix)
    }

    fn put(&self, key: StorageKey, data: Vec<u8>) -> impl Future<Output = ()> + Send {
        let put = self.inner.put(key.clone(), data);
        let feed = self.feed.clone();
        async move {
            put.await;
            // Only after the write: a phone told of it may sync at once.
            if let Some(doc) = key.into_iter().next() {
                feed.changed(&doc);
            }
        }
    }

    fn delete(&self, key: StorageKey) -> impl Future<Output = ()> + Send {
        // Compaction replaces chunks by a snapshot it wrote (a put) first.
        self.inner.delete(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::limits::decode;

    #[test]
    fn a_phone_learns_only_what_was_written_after_its_token() {
        let feed = Feed::new();
        feed.changed("a");
        feed.changed("b");
        let (seq, since) = feed.since(None);
        assert_eq!((seq, since), (2, Since::All));
        let token = feed.token(2);
        assert_eq!(feed.since(Some(&token)), (2, Since::Changed(vec![])));
        feed.changed("a");
        feed.changed("c");
        feed.changed("a");
        assert_eq!(
            feed.since(Some(&token)),
            (5, Since::Changed(vec!["c".into(), "a".into()]))
        );
        assert_eq!(feed.after(4), (5, vec!["a".to_owned()]));
    }

    #[test]
    fn tokens_from_another_epoch_or_the_future_mean_everything() {
        let feed = Feed::new();
        feed.changed("a");
        for token in [
            "0.1",
            "nonsense",
            "",
            &feed.token(9),
            &format!("{}.x", feed.epoch),
        ] {
            assert_eq!(feed.since(Some(token)).1, Since::All, "{token}");
        }
    }

    #[test]
    fn a_clean_shutdown_keeps_the_epoch_and_a_crash_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let feed = Feed::new();
        feed.changed("a");
        feed.changed("b");
        let token = feed.token(2);
        feed.changed("a");
        feed.save(dir.path()).unwrap();

        let reopened = Feed::open(dir.path());
        assert_eq!(
            reopened.since(Some(&token)),
            (3, Since::Changed(vec!["a".into()]))
        );
        assert_eq!(*reopened.log(), *feed.log());
        // Opening removed the file: a crash now must not bring it back.
        assert!(!dir.path().join(FILE).exists());
        let after_crash = Feed::open(dir.path());
        assert_eq!(after_crash.since(Some(&token)).1, Since::All);
    }

    #[test]
    fn a_damaged_log_starts_a_new_epoch() {
        let dir = tempfile::tempdir().unwrap();
        for text in [
            "",
            "glosa-feed 9\nabc 1\n",
            "glosa-feed 1\nabc 1\n2 a\n",
            "glosa-feed 1\nabc 2\n1 a\n2 a\n",
            "glosa-feed 1\nabc 2\n1 a\nnope\n",
        ] {
            std::fs::write(dir.path().join(FILE), text).unwrap();
            let feed = Feed::open(dir.path());
            assert_ne!(feed.epoch, "abc", "{text:?}");
            assert_eq!(feed.since(Some("abc.1")).1, Since::All);
        }
    }

    #[test]
    fn the_message_is_an_envelope_the_client_can_read() {
        let feed = Feed::new();
        feed.changed("doc1");
        let msg = feed.message("phone", 1, &Since::Changed(vec!["doc1".into()]));
        let env = decode(&msg).unwrap();
        assert_eq!(env.kind, "glosa-changes");
        assert_eq!(env.sender, Some(SERVER_PEER_ID));
        let text = String::from_utf8_lossy(&msg);
        assert!(
            text.contains(&feed.token(1)) && text.contains("doc1"),
            "{text}"
        );
        // `all` (a 3-letter text, 0x63 'c') is false.
        let all = msg.windows(4).position(|w| w == b"call").unwrap();
        assert_eq!(msg[all + 4], 0xf4);
    }
}
