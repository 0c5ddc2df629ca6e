//! Changes recently encoded for sync messages, by hash.
//!
//! A document keeps its history as columns of operations, not as change
//! chunks, so `generate_sync_message` rebuilds every change it sends by
//! walking the whole op set (`ChangeCollector`). A server relaying one
//! peer's change to 200 others rebuilt the same change 200 times, each
//! walk as long as the document: in a merge storm (50 phones, 10 shared
//! documents) that was 80 % of the server's CPU. Changes are immutable and
//! named by their hash, so the bytes built for one peer serve the next.
//!
//! The cache is bounded by bytes and evicts the oldest entries first: what
//! is relayed again is what was just written. A clone of the document
//! starts with an empty cache.
//!
//! It also keeps the document's last save for sync, with the heads it was
//! taken at: a peer that lacks a third of the document or more gets the
//! whole document, compressed, and compressing it was most of the CPU a
//! server spent on phones fetching the same library one after another.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use crate::{AutomergeError, Change, ChangeHash};

/// Bytes of encoded changes kept per document.
const MAX_BYTES: usize = 256 * 1024;

#[derive(Default)]
pub(crate) struct ChangeCache {
    // A mutex rather than a `RefCell`: `Automerge` is `Sync`, and generating
    // a message takes `&self`. It is never contended in practice (one
    // document is driven by one actor at a time).
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    changes: HashMap<ChangeHash, Change>,
    // Insertion order, for eviction.
    order: VecDeque<ChangeHash>,
    bytes: usize,
    // The last whole-document save for a sync message, and its heads.
    saved: Option<(Vec<ChangeHash>, Vec<u8>)>,
    // How many changes `collect` has built, for tests.
    #[cfg(test)]
    built: usize,
    #[cfg(test)]
    saves: usize,
}

impl ChangeCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(inner) => inner,
            // A panic while holding the lock can only have left a partial
            // eviction behind; the entries themselves are immutable.
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The changes named by `hashes`: from the cache where present, the rest
    /// built by `collect` in a single call (one walk of the op set).
    pub(crate) fn get_or_collect<F>(
        &self,
        hashes: &[ChangeHash],
        collect: F,
    ) -> Result<Vec<Change>, AutomergeError>
    where
        F: FnOnce(Vec<ChangeHash>) -> Result<Vec<Change>, AutomergeError>,
    {
        let mut inner = self.lock();
        let mut found = Vec::with_capacity(hashes.len());
        let mut missing = Vec::new();
        for hash in hashes {
            match inner.changes.get(hash) {
                Some(change) => found.push(change.clone()),
                None => missing.push(*hash),
            }
        }
        if !missing.is_empty() {
            let collected = collect(missing)?;
            #[cfg(test)]
            {
                inner.built += collected.len();
            }
            for change in collected {
                inner.insert(change.clone());
                found.push(change);
            }
        }
        Ok(found)
    }

    /// The document saved at `heads`: the kept save if it was taken at
    /// these heads, else `save()`, kept if it fits the budget.
    pub(crate) fn saved<F>(&self, heads: &[ChangeHash], save: F) -> Vec<u8>
    where
        F: FnOnce() -> Vec<u8>,
    {
        let mut inner = self.lock();
        if let Some((at, bytes)) = &inner.saved {
            if at == heads {
                return bytes.clone();
            }
        }
        let bytes = save();
        #[cfg(test)]
        {
            inner.saves += 1;
        }
        inner.keep_saved(heads, &bytes);
        bytes
    }
}

impl ChangeCache {
    /// Whether every change named by `hashes` is cached (a sleeping document
    /// can send those without its operations).
    pub(crate) fn has_all(&self, hashes: &[ChangeHash]) -> bool {
        let inner = self.lock();
        hashes.iter().all(|hash| inner.changes.contains_key(hash))
    }

    /// Keep `bytes` as the save at `heads` (a document woken from them).
    pub(crate) fn keep_saved(&self, heads: &[ChangeHash], bytes: &[u8]) {
        self.lock().keep_saved(heads, bytes);
    }
}

impl Inner {
    /// The save at `heads`, kept if it fits the budget.
    fn keep_saved(&mut self, heads: &[ChangeHash], bytes: &[u8]) {
        self.saved = (bytes.len() <= MAX_BYTES).then(|| (heads.to_vec(), bytes.to_vec()));
    }

    fn insert(&mut self, change: Change) {
        let size = change.raw_bytes().len();
        if size > MAX_BYTES {
            return;
        }
        let hash = change.hash();
        if self.changes.insert(hash, change).is_some() {
            return;
        }
        self.order.push_back(hash);
        self.bytes += size;
        while self.bytes > MAX_BYTES {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(evicted) = self.changes.remove(&oldest) {
                self.bytes -= evicted.raw_bytes().len();
            }
        }
    }
}

impl Clone for ChangeCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for ChangeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.inner.lock().map(|inner| inner.changes.len()).ok();
        f.debug_struct("ChangeCache").field("len", &len).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::tests::sync;
    use crate::sync::{Message, State, SyncDoc};
    use crate::transaction::Transactable;
    use crate::{AutoCommit, ReadDoc, ROOT};

    fn built(doc: &mut AutoCommit) -> usize {
        doc.document().sent_changes.inner.lock().unwrap().built
    }

    #[test]
    fn a_change_relayed_to_many_peers_is_built_once_and_sent_unchanged() {
        // A hub (the server) and ten peers in sync on a document with some
        // history, so a relayed change is a small part of it.
        let mut hub = AutoCommit::new();
        for i in 0..20 {
            hub.put(ROOT, format!("note{i}"), format!("text {i}"))
                .unwrap();
            hub.commit();
        }
        let mut peers: Vec<(AutoCommit, State, State)> = Vec::new();
        for _ in 0..10 {
            let mut peer = AutoCommit::new();
            let (mut at_hub, mut at_peer) = (State::new(), State::new());
            sync(&mut hub, &mut peer, &mut at_hub, &mut at_peer);
            peers.push((peer, at_hub, at_peer));
        }

        // Peer 0 writes a note; the hub takes it.
        let (first, rest) = peers.split_first_mut().unwrap();
        let (writer, writer_at_hub, writer_at_peer) = first;
        writer.put(ROOT, "new", "from the bus").unwrap();
        writer.commit();
        sync(&mut hub, writer, writer_at_hub, writer_at_peer);
        let before = built(&mut hub);

        // The hub relays it to the nine others. Each message carries the
        // same bytes an uncached copy of the hub would build.
        for (peer, at_hub, at_peer) in rest.iter_mut() {
            let uncached = hub.document().clone();
            let mut twin_state = at_hub.clone();
            let Message { changes, .. } = hub.sync().generate_sync_message(at_hub).unwrap();
            let twin = uncached.generate_sync_message(&mut twin_state).unwrap();
            assert!(!changes.is_empty());
            assert_eq!(changes, twin.changes);
            let msg = Message { changes, ..twin };
            peer.sync().receive_sync_message(at_peer, msg).unwrap();
            sync(&mut hub, peer, at_hub, at_peer);
            assert_eq!(
                peer.get(ROOT, "new")
                    .unwrap()
                    .unwrap()
                    .0
                    .into_string()
                    .ok()
                    .as_deref(),
                Some("from the bus")
            );
            assert_eq!(peer.get_heads(), hub.get_heads());
        }
        assert_eq!(
            built(&mut hub) - before,
            1,
            "the relayed change was rebuilt"
        );
    }

    #[test]
    fn phones_fetching_the_same_document_share_one_save_until_it_changes() {
        let mut server = AutoCommit::new();
        for i in 0..20 {
            server
                .put(ROOT, format!("note{i}"), format!("text {i}"))
                .unwrap();
            server.commit();
        }
        let saves = |doc: &mut AutoCommit| doc.document().sent_changes.inner.lock().unwrap().saves;
        let fetch = |server: &mut AutoCommit| {
            let mut phone = AutoCommit::new();
            let (mut at_server, mut at_phone) = (State::new(), State::new());
            sync(server, &mut phone, &mut at_server, &mut at_phone);
            assert_eq!(phone.get_heads(), server.get_heads());
            assert_eq!(phone.save(), server.save());
        };
        fetch(&mut server);
        assert_eq!(saves(&mut server), 1);
        for _ in 0..5 {
            fetch(&mut server);
        }
        assert_eq!(saves(&mut server), 1, "the document was saved again");

        // A change makes the kept save stale: the next phone gets it too.
        server.put(ROOT, "late", "note").unwrap();
        server.commit();
        fetch(&mut server);
        assert_eq!(saves(&mut server), 2);
    }

    #[test]
    fn the_cache_keeps_the_newest_changes_within_its_budget() {
        let mut doc = AutoCommit::new();
        // Text that does not compress, so each change is about 8 KB.
        let mut seed = 1u32;
        let mut hashes = Vec::new();
        for i in 0..100 {
            let text: String = (0..8 * 1024)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    char::from(b'a' + (seed >> 16) as u8 % 26)
                })
                .collect();
            doc.put(ROOT, format!("k{i}"), text).unwrap();
            hashes.push(doc.commit().unwrap());
        }
        let doc = doc.document();
        for hash in &hashes {
            let changes = doc
                .sent_changes
                .get_or_collect(&[*hash], |missing| doc.get_changes_by_hashes(missing))
                .unwrap();
            assert_eq!(changes[0].hash(), *hash);
        }
        let inner = doc.sent_changes.inner.lock().unwrap();
        assert!(inner.bytes <= MAX_BYTES);
        assert!(inner.changes.len() < hashes.len(), "nothing was evicted");
        assert!(inner.changes.contains_key(hashes.last().unwrap()));
        assert!(!inner.changes.contains_key(&hashes[0]));
        let counted: usize = inner.changes.values().map(|c| c.raw_bytes().len()).sum();
        assert_eq!(counted, inner.bytes);
    }
}
