//! How many notes the community has written, for `/metrics`.
//!
//! Notes live in one notes document per article, loaded only while a phone
//! uses it; counting through samod would load them all. So a background
//! task reads each notes document's stored chunks straight from the store,
//! every few minutes, one document at a time, and recounts only documents
//! whose chunks changed since the last pass (same keys, same sizes: same
//! notes).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use samod::storage::StorageKey;

use crate::import::Catalog;
use crate::schema;
use crate::store::Store;

/// Between two passes. Notes are a slow-moving figure.
const EVERY: Duration = Duration::from_secs(300);

/// The last pass's totals; `None` until the first pass ends.
#[derive(Default)]
pub struct NoteCount {
    /// Notes not deleted, across every notes document, plus one (0 = none yet).
    notes_plus_one: AtomicU64,
}

impl NoteCount {
    pub fn notes(&self) -> Option<u64> {
        self.notes_plus_one.load(Ordering::Relaxed).checked_sub(1)
    }

    fn set(&self, notes: u64) {
        self.notes_plus_one.store(notes + 1, Ordering::Relaxed);
    }
}

/// What a document's stored chunks looked like when it was counted.
type Signature = HashMap<StorageKey, usize>;

/// Counts now, then every [`EVERY`], until the task is aborted.
pub async fn run(store: Store, catalog: Arc<RwLock<Arc<Catalog>>>, out: Arc<NoteCount>) {
    let mut seen: HashMap<String, (Signature, u64)> = HashMap::new();
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let docs: Vec<String> = match catalog.read() {
            Ok(c) => c.writable.iter().map(|d| d.to_string()).collect(),
            Err(_) => return,
        };
        let mut total = 0;
        for doc in docs {
            total += count_one(&store, &doc, &mut seen).await;
        }
        out.set(total);
    }
}

async fn count_one(store: &Store, doc: &str, seen: &mut HashMap<String, (Signature, u64)>) -> u64 {
    let chunks = store.document_chunks(doc).await;
    let signature: Signature = chunks.iter().map(|(k, v)| (k.clone(), v.len())).collect();
    if let Some((s, n)) = seen.get(doc)
        && *s == signature
    {
        return *n;
    }
    // Loading is CPU work: off the async workers.
    let n = tokio::task::spawn_blocking(move || {
        schema::notes::count(&schema::load_chunks(chunks.values())) as u64
    })
    .await
    .unwrap_or(0);
    seen.insert(doc.to_owned(), (signature, n));
    n
}
