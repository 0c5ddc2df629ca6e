use std::path::Path;
use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, Automerge, ROOT, ReadDoc};
use futures::StreamExt;
use samod::storage::{Storage, StorageKey};

use super::*;

const DOC: &str = "3xyzDocumentIdForTests";

fn key(parts: &[&str]) -> StorageKey {
    StorageKey::from_parts(parts).unwrap()
}

fn inc(hash: &str) -> StorageKey {
    key(&[DOC, "incremental", hash])
}

/// A valid automerge change chunk, distinct per `tag`: chunk keys are
/// validated on load, so tests store real chunks.
fn chunk(tag: &str) -> Vec<u8> {
    let mut doc = AutoCommit::new().with_actor(automerge::ActorId::from(b"tests".as_slice()));
    doc.put(ROOT, "tag", tag).unwrap();
    doc.save_incremental()
}

/// samod's tasks keep their store clone (and so the lock) after `stop()`
/// for as long as the runtime lives; a restart in the same process reopens
/// a copy of the data dir instead, as a new server process would see it.
fn copy_data_dir(from: &Path, to: &Path) {
    for rel in fs::walk_files(from).unwrap() {
        if rel == Path::new(fs::LOCK_FILE) {
            continue;
        }
        std::fs::create_dir_all(to.join(&rel).parent().unwrap()).unwrap();
        std::fs::copy(from.join(&rel), to.join(&rel)).unwrap();
    }
}

fn doc_dir(data: &Path) -> PathBuf {
    data.join("3x").join("yzDocumentIdForTests")
}

/// Waits for `cond`, failing after a generous timeout (never a fixed sleep).
async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A put runs until its data is on disk, so a put to a blocked document is
/// started in the background and the test waits for the failure.
fn put_in_background(store: &Store, key: StorageKey, data: Vec<u8>) -> tokio::task::JoinHandle<()> {
    let store = store.clone();
    tokio::spawn(async move { store.put(key, data).await })
}

async fn wait_degraded(store: &Store) {
    wait_for("the store to report the failed write", || {
        matches!(store.health(), Health::Degraded { .. })
    })
    .await;
}

async fn finishes(what: &str, task: tokio::task::JoinHandle<()>) {
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .unwrap_or_else(|_| panic!("{what} did not complete"))
        .unwrap();
}

/// Makes every write under the test document fail, even as root: a regular
/// file sits where its directory must go.
fn block_doc(data: &Path) {
    std::fs::create_dir_all(data.join("3x")).unwrap();
    std::fs::write(doc_dir(data), b"in the way").unwrap();
}

fn unblock_doc(data: &Path) {
    std::fs::remove_file(doc_dir(data)).unwrap();
}

#[tokio::test]
async fn put_load_range_and_delete_use_the_nodefs_layout() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.put(inc("aa"), chunk("one")).await;
    store.put(inc("bb"), chunk("two")).await;
    store
        .put(key(&[DOC, "snapshot", "cc"]), chunk("three"))
        .await;

    assert_eq!(
        std::fs::read(doc_dir(dir.path()).join("incremental/aa")).unwrap(),
        chunk("one")
    );
    assert_eq!(store.load(inc("bb")).await, Some(chunk("two")));
    assert_eq!(store.load(inc("zz")).await, None);

    let range = store.load_range(key(&[DOC, "incremental"])).await;
    assert_eq!(range.len(), 2);
    assert_eq!(range[&inc("aa")], chunk("one"));
    let all = store.load_range(key(&[DOC])).await;
    assert_eq!(all.len(), 3);

    store.delete(inc("aa")).await;
    store.delete(inc("never-existed")).await;
    assert_eq!(store.load(inc("aa")).await, None);
    assert_eq!(store.load_range(key(&[DOC, "incremental"])).await.len(), 1);
    assert_eq!(store.health(), Health::Ok);
    assert_eq!(store.error_count(), 0);
}

#[tokio::test]
async fn a_crash_mid_write_leaves_the_old_value() {
    let dir = tempfile::tempdir().unwrap();
    let tmp_name = format!("{}4242.0.aa", fs::TEMP_PREFIX);
    {
        let store = Store::open(dir.path()).unwrap();
        store.put(inc("aa"), chunk("old")).await;
        // What a kill -9 between "write temp" and "rename" leaves behind.
        std::fs::write(
            doc_dir(dir.path()).join("incremental").join(&tmp_name),
            b"ne",
        )
        .unwrap();
        // While it's there, loads ignore it.
        let range = store.load_range(key(&[DOC, "incremental"])).await;
        assert_eq!(range.len(), 1);
        assert_eq!(range[&inc("aa")], chunk("old"));
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.load(inc("aa")).await, Some(chunk("old")));
    // One of our own (a write in progress) is left alone by the scan.
    let ours = format!("{}{}.0.bb", fs::TEMP_PREFIX, std::process::id());
    std::fs::write(
        doc_dir(dir.path()).join("incremental").join(&ours),
        b"in flight",
    )
    .unwrap();
    store.scan();
    let incremental = doc_dir(dir.path()).join("incremental");
    assert!(
        !incremental.join(&tmp_name).exists(),
        "the crash's temp file was not cleaned up by the scan"
    );
    assert!(
        incremental.join(&ours).exists(),
        "a live write's temp file was removed"
    );
    assert_eq!(store.load(inc("aa")).await, Some(chunk("old")));
}

#[tokio::test]
async fn a_second_store_on_the_same_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = Store::open(dir.path()).unwrap();
    let clone = first.clone();
    let Err(err) = Store::open(dir.path()) else {
        panic!("a second store opened a locked dir");
    };
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("in use by another glosa process"), "{msg}");
    assert!(msg.contains(&std::process::id().to_string()), "{msg}");
    drop(first);
    assert!(
        Store::open(dir.path()).is_err(),
        "a live clone must keep the lock"
    );
    drop(clone);
    Store::open(dir.path()).expect("the lock is released with the last clone");
}

#[tokio::test]
async fn a_failed_write_degrades_health_keeps_the_data_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut writable = Box::pin(store.writable_updates());
    assert_eq!(writable.next().await, Some(true));

    block_doc(dir.path());
    let held = put_in_background(&store, inc("aa"), chunk("precious"));
    wait_degraded(&store).await;
    let Health::Degraded { error, .. } = store.health() else {
        panic!("a failed write left the store healthy");
    };
    assert!(error.contains(&format!("{DOC}/incremental/aa")), "{error}");
    assert!(store.error_count() >= 1);
    assert_eq!(writable.next().await, Some(false));
    // samod believes it stored the chunk, so loads must still see it.
    assert_eq!(store.load(inc("aa")).await, Some(chunk("precious")));
    assert_eq!(store.load_range(key(&[DOC])).await.len(), 1);

    // Still blocked: recovery fails, health stays degraded, and the put has
    // not completed (so samod has not acknowledged the change).
    assert!(matches!(store.recover().await, Health::Degraded { .. }));
    assert!(
        !held.is_finished(),
        "a put completed without its data on disk"
    );

    unblock_doc(dir.path());
    assert_eq!(store.recover().await, Health::Ok);
    finishes("the held put", held).await;
    assert_eq!(writable.next().await, Some(true));
    assert_eq!(
        std::fs::read(doc_dir(dir.path()).join("incremental/aa")).unwrap(),
        chunk("precious"),
        "the data kept in memory was not written once space came back"
    );
}

#[tokio::test]
async fn the_next_successful_write_recovers_health() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    block_doc(dir.path());
    let held = put_in_background(&store, inc("aa"), chunk("a"));
    wait_degraded(&store).await;
    unblock_doc(dir.path());
    store.put(inc("bb"), chunk("b")).await;
    assert_eq!(store.health(), Health::Ok);
    assert!(doc_dir(dir.path()).join("incremental/aa").is_file());
    finishes("the held put", held).await;
}

#[tokio::test]
async fn the_background_retry_recovers_without_new_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    block_doc(dir.path());
    let held = put_in_background(&store, inc("aa"), chunk("a"));
    wait_degraded(&store).await;
    unblock_doc(dir.path());
    wait_for(
        "the recovery thread or the put's retry to write the chunk",
        || store.health() == Health::Ok,
    )
    .await;
    assert!(doc_dir(dir.path()).join("incremental/aa").is_file());
    finishes("the held put", held).await;
}

#[tokio::test]
async fn chunks_are_not_deleted_while_their_snapshot_is_unwritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.put(inc("aa"), chunk("change")).await;
    let chunk_path = doc_dir(dir.path()).join("incremental/aa");
    assert!(chunk_path.is_file());
    // Compaction: the snapshot put fails (a file sits where snapshot/ must
    // go), then samod deletes what it thinks the snapshot superseded.
    let snapshots = doc_dir(dir.path()).join("snapshot");
    std::fs::write(&snapshots, b"in the way").unwrap();
    let held = put_in_background(&store, key(&[DOC, "snapshot", "ss"]), chunk("snapshot"));
    wait_degraded(&store).await;
    store.delete(inc("aa")).await;
    assert!(
        chunk_path.is_file(),
        "a chunk was deleted while the snapshot superseding it existed only in memory"
    );
    // Once the snapshot is down, deletes go through again.
    std::fs::remove_file(&snapshots).unwrap();
    assert_eq!(store.recover().await, Health::Ok);
    assert!(snapshots.join("ss").is_file());
    finishes("the held snapshot put", held).await;
    store.delete(inc("aa")).await;
    assert!(!chunk_path.exists());
}

#[tokio::test]
async fn a_garbled_chunk_is_quarantined_and_the_rest_loads() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "a", 1).unwrap();
    let first = doc.save_incremental();
    doc.put(ROOT, "b", 2).unwrap();
    let second = doc.save_incremental();
    store.put(inc("first"), first.clone()).await;
    store.put(inc("second"), second.clone()).await;

    let path = doc_dir(dir.path()).join("incremental/second");
    let mut garbled = second.clone();
    let mid = garbled.len() / 2;
    garbled[mid] ^= 0xff;
    std::fs::write(&path, &garbled).unwrap();

    let range = store.load_range(key(&[DOC, "incremental"])).await;
    assert_eq!(range.len(), 1);
    assert_eq!(range[&inc("first")], first);
    assert!(!path.exists(), "the damaged chunk stayed in the document");
    let q = store.quarantined();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].doc_id, DOC);
    assert!(q[0].reason.contains("checksum"), "{}", q[0].reason);
    assert_eq!(
        std::fs::read(dir.path().join(&q[0].moved_to)).unwrap(),
        garbled,
        "the quarantined bytes were not kept"
    );
    // Quarantine is damage the operator must see.
    let report = check(dir.path()).unwrap();
    assert!(!report.is_healthy());
    assert_eq!(report.damaged_docs(), vec![DOC]);
}

fn save_changes(doc: &mut AutoCommit) -> Vec<Vec<u8>> {
    doc.get_changes(&[])
        .into_iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect()
}

#[tokio::test]
async fn check_reports_truncation_and_missing_history_by_document() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut good = AutoCommit::new();
    good.put(ROOT, "ok", true).unwrap();
    let good_id = "4aGoodDocument";
    store
        .put(key(&[good_id, "snapshot", "s1"]), good.save())
        .await;

    let mut bad = AutoCommit::new();
    for i in 0..3 {
        bad.put(ROOT, "n", i).unwrap();
        bad.commit();
    }
    let changes = save_changes(&mut bad);
    for (i, c) in changes.iter().enumerate() {
        store.put(inc(&format!("c{i}")), c.clone()).await;
    }
    drop(store);

    let healthy = check(dir.path()).unwrap();
    assert!(healthy.is_healthy(), "{healthy}");
    assert_eq!(healthy.documents.len(), 2);
    let good_summary = healthy.documents.iter().find(|d| d.id == good_id).unwrap();
    assert_eq!(good_summary.heads, vec![good.get_heads()[0].to_string()]);

    // Truncate the middle change: it is damaged, and the last one now
    // misses its history.
    let c1 = doc_dir(dir.path()).join("incremental/c1");
    std::fs::write(&c1, &changes[1][..changes[1].len() - 3]).unwrap();
    let report = check(dir.path()).unwrap();
    assert!(!report.is_healthy());
    assert_eq!(report.damaged_docs(), vec![DOC]);
    let text = report.to_string();
    assert!(text.contains("incremental/c1"), "{text}");
    assert!(text.contains("truncated"), "{text}");
    assert!(text.contains("history is incomplete"), "{text}");
    assert!(
        !text.contains(good_id),
        "the good document was blamed: {text}"
    );
}

#[tokio::test]
async fn backup_and_restore_round_trip_every_document() {
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).unwrap();
    for n in 0..5 {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "n", n).unwrap();
        let id = format!("{n}DocNumber{n}");
        store.put(key(&[&id, "snapshot", "s"]), doc.save()).await;
        doc.put(ROOT, "more", n).unwrap();
        store
            .put(key(&[&id, "incremental", "i"]), doc.save_incremental())
            .await;
    }
    write_atomic(&data.path().join("library-url"), b"automerge:xyz\n").unwrap();
    // The change feed's saved log describes this dir at one moment: left out.
    write_atomic(&data.path().join(super::FEED_FILE), b"glosa-feed 1\n").unwrap();

    let out = tempfile::tempdir().unwrap();
    let archive = out.path().join("nightly.tar");
    let summary = backup(data.path(), &archive).unwrap();
    assert_eq!(summary.documents, 5);
    assert_eq!(summary.files, 11);

    let target = out.path().join("restored");
    let restored = restore(&archive, &target).unwrap();
    assert_eq!(restored.files, 11);
    assert_eq!(
        std::fs::read(target.join("library-url")).unwrap(),
        b"automerge:xyz\n"
    );
    assert!(!target.join(super::FEED_FILE).exists());
    let before = check(data.path()).unwrap();
    let after = check(&target).unwrap();
    assert!(after.is_healthy(), "{after}");
    assert_eq!(before.documents, after.documents);
    assert!(!target.join(fs::LOCK_FILE).exists() || Store::open(&target).is_ok());

    // Refusals: a non-empty dir, a dir a server holds, a truncated archive.
    let err = restore(&archive, &target).unwrap_err();
    assert!(matches!(err, StoreError::NotEmpty(_)), "{err}");
    let held = out.path().join("held");
    let _server = Store::open(&held).unwrap();
    let err = restore(&archive, &held).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    let bytes = std::fs::read(&archive).unwrap();
    let cut = out.path().join("cut.tar");
    std::fs::write(&cut, &bytes[..bytes.len() - 2048]).unwrap();
    let err = restore(&cut, &out.path().join("fresh")).unwrap_err();
    assert!(matches!(err, StoreError::BadArchive { .. }), "{err}");
    assert!(
        !out.path().join("fresh/library-url").exists(),
        "a truncated archive was partly restored"
    );
}

#[tokio::test]
async fn samod_documents_survive_a_restart_and_a_damaged_one_spares_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (good, damaged, good_heads) = {
        let store = Store::open(dir.path()).unwrap();
        let repo = samod::Repo::build_tokio()
            .with_storage(store.clone())
            .load()
            .await;
        let mut made = Vec::new();
        for name in ["good", "damaged"] {
            let mut doc = Automerge::new();
            let mut tx = doc.transaction();
            tx.put(ROOT, "name", name).unwrap();
            tx.commit();
            let handle = repo.create(doc).await.unwrap();
            handle.with_document(|d| {
                let mut tx = d.transaction();
                tx.put(ROOT, "edited", true).unwrap();
                tx.commit();
            });
            made.push(handle);
        }
        let heads = made[0].with_document(|d| d.get_heads());
        repo.stop().await;
        (
            made[0].document_id().clone(),
            made[1].document_id().clone(),
            heads,
        )
    };
    // Garble every chunk of the damaged document.
    let id = damaged.to_string();
    let ddir = dir.path().join(&id[..2]).join(&id[2..]);
    let files = fs::walk_files(&ddir).unwrap();
    assert!(!files.is_empty());
    for f in &files {
        let p = ddir.join(f);
        let mut bytes = std::fs::read(&p).unwrap();
        let n = bytes.len();
        bytes[n / 2] ^= 0xff;
        std::fs::write(&p, bytes).unwrap();
    }
    assert_eq!(check(dir.path()).unwrap().damaged_docs(), vec![id.as_str()]);

    let copy = tempfile::tempdir().unwrap();
    copy_data_dir(dir.path(), copy.path());
    let dir = copy;
    let store = Store::open(dir.path()).unwrap();
    let repo = samod::Repo::build_tokio()
        .with_storage(store.clone())
        .load()
        .await;
    let handle = repo.find(good).await.unwrap().expect("the good doc loads");
    assert_eq!(handle.with_document(|d| d.get_heads()), good_heads);
    let name = handle.with_document(|d| {
        d.get(ROOT, "name")
            .unwrap()
            .map(|(v, _)| v.as_str().map(str::to_owned))
    });
    assert_eq!(name.flatten().as_deref(), Some("good"));
    // With no peer to ask, the damaged document is simply unavailable,
    // and the repo keeps working.
    assert!(repo.find(damaged).await.unwrap().is_none());
    assert_eq!(store.quarantined().len(), files.len());
    assert!(
        repo.find(handle.document_id().clone())
            .await
            .unwrap()
            .is_some()
    );
    repo.stop().await;
}

#[tokio::test]
async fn the_startup_scan_quarantines_damaged_chunks_of_any_document() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.put(inc("good"), chunk("good")).await;
    store.put(inc("bad"), chunk("bad")).await;
    store
        .put(key(&["5xOtherDocument", "snapshot", "s"]), chunk("other"))
        .await;
    let bad = doc_dir(dir.path()).join("incremental/bad");
    let bytes = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() - 1]).unwrap();

    let summary = store.scan_in_background().unwrap().join().unwrap();
    assert_eq!(
        summary,
        ScanSummary {
            documents: 2,
            chunks: 3,
            damaged: 1
        }
    );
    assert!(!bad.exists());
    let q = store.quarantined();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].doc_id, DOC);
    assert!(q[0].reason.contains("truncated"), "{}", q[0].reason);
    assert_eq!(store.load_range(key(&[DOC])).await.len(), 1);
    // A second scan finds nothing more.
    assert_eq!(store.scan().damaged, 0);
}

#[tokio::test]
async fn a_put_superseded_by_an_unwritten_snapshot_stays_unacknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    block_doc(dir.path());
    let held_inc = put_in_background(&store, inc("aa"), chunk("a"));
    wait_degraded(&store).await;
    let snap = key(&[DOC, "snapshot", "ss"]);
    let held_snap = put_in_background(&store, snap.clone(), chunk("snapshot"));
    wait_for("the failed snapshot to be held in memory", || {
        store.inner.io.state().pending.contains_key(&snap)
    })
    .await;
    // The snapshot replaced the chunk in memory; the chunk's put must still
    // count as unwritten, or samod would acknowledge a change not on disk.
    assert!(store.inner.io.is_pending(&inc("aa")));
    assert!(!held_inc.is_finished());
    unblock_doc(dir.path());
    finishes("the snapshot put", held_snap).await;
    finishes("the superseded chunk's put", held_inc).await;
    assert!(doc_dir(dir.path()).join("snapshot/ss").is_file());
}
