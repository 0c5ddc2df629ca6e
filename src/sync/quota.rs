//! A ceiling on how big a document may grow through sync.
//!
//! Notes documents are the only ones clients can write, and automerge
//! history only grows, so one member (or one broken phone) could fill the
//! disk of a Raspberry Pi. `Quota` wraps the store and keeps a running total
//! of each document's stored bytes, from the puts and deletes samod makes.
//! A document over the limit is published in [`Quota::full`]; the share
//! policy then makes it read-only for everyone, and the refusal is logged.
//! What is already stored stays stored and readable.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use samod::storage::{Storage, StorageKey};
use tokio::sync::watch;

/// Documents at or over the limit, by the id as samod writes it in keys.
pub type Full = HashSet<String>;

#[derive(Clone)]
pub struct Quota<S> {
    inner: S,
    limit: u64,
    state: Arc<Mutex<HashMap<String, Sizes>>>,
    full: watch::Sender<Full>,
}

/// The stored size of each chunk of one document.
#[derive(Default)]
struct Sizes {
    /// Whether the chunks already on disk have been counted.
    counted: bool,
    chunks: HashMap<StorageKey, u64>,
}

impl Sizes {
    fn total(&self) -> u64 {
        self.chunks.values().sum()
    }
}

fn doc_of(key: &StorageKey) -> Option<String> {
    key.clone().into_iter().next()
}

impl<S: Storage> Quota<S> {
    pub fn new(inner: S, limit: u64) -> Self {
        let (full, _) = watch::channel(Full::new());
        Quota {
            inner,
            limit,
            state: Arc::default(),
            full,
        }
    }

    /// The set of full documents, to watch.
    pub fn full(&self) -> watch::Receiver<Full> {
        self.full.subscribe()
    }

    /// Counts what is on disk for `doc` once, the first time it is written.
    async fn ensure_counted(&self, doc: &str, key: &StorageKey) {
        let counted = self
            .state
            .lock()
            .map(|s| s.get(doc).is_some_and(|d| d.counted))
            .unwrap_or(true);
        if counted {
            return;
        }
        let Ok(prefix) = StorageKey::from_parts([doc]) else {
            return;
        };
        debug_assert!(prefix.is_prefix_of(key));
        let existing = self.inner.load_range(prefix).await;
        if let Ok(mut s) = self.state.lock() {
            let sizes = s.entry(doc.to_string()).or_default();
            if !sizes.counted {
                for (k, v) in existing {
                    sizes.chunks.entry(k).or_insert(v.len() as u64);
                }
                sizes.counted = true;
            }
        }
    }

    fn record(&self, doc: &str, key: StorageKey, len: Option<u64>) {
        let total = match self.state.lock() {
            Ok(mut s) => {
                let sizes = s.entry(doc.to_string()).or_default();
                match len {
                    Some(n) => sizes.chunks.insert(key, n),
                    None => sizes.chunks.remove(&key),
                };
                sizes.total()
            }
            Err(_) => return,
        };
        let over = total >= self.limit;
        self.full.send_if_modified(|full| {
            if over && full.insert(doc.to_string()) {
                tracing::error!(
                    doc,
                    bytes = total,
                    limit = self.limit,
                    "document reached its size limit; no more changes are accepted to it"
                );
                true
            } else if !over && full.remove(doc) {
                tracing::info!(doc, bytes = total, "document is under its size limit again");
                true
            } else {
                false
            }
        });
    }
}

impl<S: Storage + Sync> Storage for Quota<S> {
    async fn load(&self, key: StorageKey) -> Option<Vec<u8>> {
        self.inner.load(key).await
    }

    async fn load_range(&self, prefix: StorageKey) -> HashMap<StorageKey, Vec<u8>> {
        self.inner.load_range(prefix).await
    }

    async fn put(&self, key: StorageKey, data: Vec<u8>) {
        let len = data.len() as u64;
        if let Some(doc) = doc_of(&key) {
            self.ensure_counted(&doc, &key).await;
            self.inner.put(key.clone(), data).await;
            self.record(&doc, key, Some(len));
        } else {
            self.inner.put(key, data).await;
        }
    }

    async fn delete(&self, key: StorageKey) {
        if let Some(doc) = doc_of(&key) {
            self.ensure_counted(&doc, &key).await;
            self.inner.delete(key.clone()).await;
            self.record(&doc, key, None);
        } else {
            self.inner.delete(key).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use samod::storage::InMemoryStorage;

    fn key(doc: &str, chunk: &str) -> StorageKey {
        StorageKey::from_parts([doc, "incremental", chunk]).expect("valid key")
    }

    #[tokio::test]
    async fn a_document_over_the_limit_is_full_until_compacted_below() {
        let q = Quota::new(InMemoryStorage::new(), 100);
        let mut full = q.full();
        assert!(full.borrow_and_update().is_empty());

        q.put(key("doc1", "a"), vec![0; 60]).await;
        q.put(key("doc2", "a"), vec![0; 60]).await;
        q.put(key("doc1", "b"), vec![0; 60]).await;
        full.changed().await.expect("an update");
        assert_eq!(*full.borrow_and_update(), Full::from(["doc1".to_string()]));

        // Compaction replaces chunks with a smaller snapshot.
        q.delete(key("doc1", "a")).await;
        full.changed().await.expect("an update");
        assert!(full.borrow_and_update().is_empty());
    }

    #[tokio::test]
    async fn chunks_stored_before_a_restart_count() {
        let mem = InMemoryStorage::new();
        mem.put(key("doc1", "old"), vec![0; 90]).await;
        let q = Quota::new(mem, 100);
        q.put(key("doc1", "new"), vec![0; 20]).await;
        assert_eq!(*q.full().borrow(), Full::from(["doc1".to_string()]));
    }
}
