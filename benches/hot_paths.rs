//! Micro-benchmarks of the server's hot paths (issue 6), with divan:
//!
//! - importing a library of 1,000 articles into fresh documents (first
//!   start) and again with nothing changed (a restart without the cache);
//! - loading a notes document of 10,000 notes from its stored bytes, and
//!   counting them (what samod and `/metrics` do);
//! - the sync of one changed document: a phone adds one note to a notes
//!   document of 10,000 notes the server also holds, and the two exchange
//!   sync messages until both are in sync.
//!
//! `cargo bench --bench hot_paths`. These measure our code and automerge
//! in-process; the side-by-side comparison with the reference server is
//! `bench/README.md` (syncbench).

use std::path::Path;

use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, Automerge, ObjType, ROOT, ReadDoc};
use samod::Repo;

fn main() {
    divan::main();
}

const WORDS: &[&str] = &[
    "the",
    "river",
    "remembers",
    "every",
    "name",
    "we",
    "carry",
    "across",
    "borders",
    "and",
    "songs",
    "of",
    "those",
    "who",
    "searched",
    "for",
    "forty",
    "three",
    "students",
];

fn article(i: usize) -> String {
    let mut body = String::new();
    for p in 0..8 {
        for w in 0..120 {
            body.push_str(WORDS[(i * 7 + p * 13 + w) % WORDS.len()]);
            body.push(' ');
        }
        body.push_str("\n\n");
    }
    format!("---\ntitle: Article {i}\nlang: en\npublished: 2025-01-01\n---\n{body}")
}

fn write_library(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).expect("a temp dir");
    for i in 0..n {
        std::fs::write(dir.join(format!("a{i:04}.md")), article(i)).expect("a temp file");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

async fn import(data: &Path, content: &Path) -> usize {
    let repo = Repo::build_tokio().load().await;
    let report = glosa::import::run(&repo, data, content)
        .await
        .expect("the import runs");
    repo.stop().await;
    report.created + report.unchanged + report.updated
}

/// First start: every article becomes an article and a notes document.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn import_1000_new_articles(bencher: divan::Bencher) {
    let rt = runtime();
    let tmp = tempfile::tempdir().expect("a temp dir");
    let content = tmp.path().join("content");
    write_library(&content, 1000);
    bencher
        .with_inputs(|| tempfile::tempdir().expect("a temp dir"))
        .bench_local_values(|data| rt.block_on(import(data.path(), &content)));
}

/// A notes document as phones write it (docs/schema.md), with `n` notes.
fn notes_doc(n: usize) -> AutoCommit {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "schema", "glosa/notes").expect("put");
    doc.put(ROOT, "version", 1).expect("put");
    doc.put(ROOT, "article", "a0001").expect("put");
    let notes = doc.put_object(ROOT, "notes", ObjType::Map).expect("put");
    for i in 0..n {
        add_note(&mut doc, &notes, i);
        if i % 100 == 99 {
            doc.commit();
        }
    }
    doc.commit();
    doc
}

fn add_note<T: Transactable>(doc: &mut T, notes: &automerge::ObjId, i: usize) {
    let id = format!("n{i:06}");
    let note = doc.put_object(notes, &id, ObjType::Map).expect("put");
    doc.put(&note, "id", id.as_str()).expect("put");
    doc.put(&note, "author", "Ana").expect("put");
    doc.put(&note, "created", 1_764_000_000_000i64 + i as i64)
        .expect("put");
    let text = doc.put_object(&note, "text", ObjType::Text).expect("put");
    doc.splice_text(
        &text,
        0,
        0,
        "A note in the margin about the river and its names.",
    )
    .expect("splice");
    let anchor = doc.put_object(&note, "anchor", ObjType::Map).expect("put");
    doc.put(&anchor, "quote", "the river remembers")
        .expect("put");
    doc.put_object(&note, "replies", ObjType::Map).expect("put");
    doc.put(&note, "deleted", false).expect("put");
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn load_and_count_10000_notes(bencher: divan::Bencher) {
    let saved = notes_doc(10_000).save();
    bencher.bench(|| {
        let doc = Automerge::load(divan::black_box(&saved)).expect("loads");
        glosa::schema::notes::count(&doc)
    });
}

/// Runs sync messages both ways until neither side has anything to say.
fn sync_until_quiet(
    a: &mut Automerge,
    b: &mut Automerge,
    sa: &mut sync::State,
    sb: &mut sync::State,
) -> usize {
    let mut messages = 0;
    loop {
        let mut quiet = true;
        if let Some(m) = a.generate_sync_message(sa) {
            b.receive_sync_message(sb, m).expect("valid");
            messages += 1;
            quiet = false;
        }
        if let Some(m) = b.generate_sync_message(sb) {
            a.receive_sync_message(sa, m).expect("valid");
            messages += 1;
            quiet = false;
        }
        if quiet {
            return messages;
        }
    }
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn sync_one_new_note_into_10000(bencher: divan::Bencher) {
    let saved = notes_doc(10_000).save();
    bencher
        .with_inputs(|| {
            // A server and a phone, in sync; then the phone writes a note.
            let mut server = Automerge::load(&saved).expect("loads");
            let mut phone = Automerge::load(&saved).expect("loads");
            let (mut ss, mut ps) = (sync::State::new(), sync::State::new());
            sync_until_quiet(&mut server, &mut phone, &mut ss, &mut ps);
            let notes = match phone.get(ROOT, "notes").expect("get") {
                Some((_, id)) => id,
                None => unreachable!("the notes map exists"),
            };
            let mut tx = phone.transaction();
            add_note(&mut tx, &notes, 10_000);
            tx.commit();
            (server, phone, ss, ps)
        })
        .bench_local_values(|(mut server, mut phone, mut ss, mut ps)| {
            let n = sync_until_quiet(&mut phone, &mut server, &mut ps, &mut ss);
            assert_eq!(glosa::schema::notes::count(&server), 10_001);
            n
        });
}
