#![cfg(feature = "tokio")]
//! `Repo::unload_idle` (vendor/README.md, change 2): documents the application
//! holds are kept; others are dropped and reload from storage unchanged.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use automerge::{AutomergeError, ROOT, ReadDoc, transaction::Transactable};
use samod::{Repo, RepoEvent, RepoObserver, storage::InMemoryStorage};

#[derive(Clone, Default)]
struct Closed(Arc<Mutex<usize>>);

impl RepoObserver for Closed {
    fn observe(&self, event: &RepoEvent) {
        if let RepoEvent::DocumentClosed { .. } = event {
            *self.0.lock().unwrap() += 1;
        }
    }
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn held_documents_stay_and_released_ones_reload_unchanged() {
    let closed = Closed::default();
    let repo = Repo::build_tokio()
        .with_storage(InMemoryStorage::new())
        .with_lazy_incoming_attachment(true)
        .with_observer(closed.clone())
        .load()
        .await;
    let handle = repo.create(automerge::Automerge::new()).await.unwrap();
    handle.with_document(|doc| {
        doc.transact::<_, _, AutomergeError>(|tx| tx.put(ROOT, "note", "kept"))
            .unwrap();
    });
    let doc_id = handle.document_id().clone();
    let heads = handle.with_document(|doc| doc.get_heads());

    repo.unload_idle(Duration::ZERO).unwrap();
    // A second, unrelated document proves the unload request was processed.
    let other = repo.create(automerge::Automerge::new()).await.unwrap();
    drop(other);
    repo.unload_idle(Duration::ZERO).unwrap();
    wait_for("the released document to close", || *closed.0.lock().unwrap() == 1).await;
    assert_eq!(handle.with_document(|doc| doc.get_heads()), heads);

    drop(handle);
    repo.unload_idle(Duration::ZERO).unwrap();
    wait_for("the held document to close", || *closed.0.lock().unwrap() == 2).await;

    let found = repo.find(doc_id).await.unwrap().expect("reloads from storage");
    let (note, found_heads) = found.with_document(|doc| {
        let note = doc
            .get(ROOT, "note")
            .unwrap()
            .and_then(|(v, _)| v.into_string().ok());
        (note, doc.get_heads())
    });
    assert_eq!(note.as_deref(), Some("kept"));
    assert_eq!(found_heads, heads);
    repo.stop().await;
}
