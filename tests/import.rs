//! Import across restarts: the cache a clean shutdown leaves makes the next
//! start skip unchanged files, unread when their stamp vouches for them, and
//! never hides an edit.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use common::Server;
use glosa::content::{Stamp, stamp};

/// A server that imported the seed article and stopped cleanly, leaving
/// its cache: its content and data dirs (kept alive by the last item) and port.
fn started_and_stopped() -> (PathBuf, PathBuf, u16, Vec<tempfile::TempDir>) {
    let mut first = Server::start();
    let (content, data, port) = (first.content.clone(), first.data.clone(), first.port());
    let dirs = first.take_dirs();
    assert!(first.terminate().success());
    (content, data, port, dirs)
}

#[tokio::test]
async fn a_clean_restart_skips_unchanged_files_and_applies_edited_ones() {
    let mut first = Server::start();
    let (content, data, port) = (first.content.clone(), first.data.clone(), first.port());
    let _dirs = first.take_dirs();
    assert!(
        !data.join("import-cache.json").exists(),
        "the cache is taken while serving"
    );
    assert!(first.terminate().success());
    assert!(
        data.join("import-cache.json").exists(),
        "a clean shutdown leaves the cache"
    );

    let second = Server::start_on(&content, &data, port);
    second.wait_output("unchanged=1");
    assert!(!data.join("import-cache.json").exists());
    drop(second); // kill -9: no cache is left behind

    let seed = content.join("ayotzinapa-and-palestine.md");
    let text = std::fs::read_to_string(&seed).unwrap();
    std::fs::write(
        &seed,
        text.replace(
            "Two dates that seem unrelated",
            "Two dates, seemingly unrelated",
        ),
    )
    .unwrap();
    let third = Server::start_on(&content, &data, port);
    third.wait_output("updated=1");
    let html = third.get_text("/articles/ayotzinapa-and-palestine").await;
    assert!(html.contains("Two dates, seemingly unrelated"));
}

#[tokio::test]
async fn an_edit_made_while_stopped_is_applied_despite_the_cache() {
    let (content, data, port, _dirs) = started_and_stopped();

    rewrite_same_size(&content.join("ayotzinapa-and-palestine.md"));
    let second = Server::start_on(&content, &data, port);
    second.wait_output("updated=1");
    let html = second.get_text("/articles/ayotzinapa-and-palestine").await;
    assert!(html.contains("Pegasus is the plainest example."));
}

/// Changes one word of the seed article for another of the same length.
fn rewrite_same_size(seed: &Path) {
    let text = std::fs::read_to_string(seed).unwrap();
    let edited = text.replace(
        "Pegasus is the clearest example.",
        "Pegasus is the plainest example.",
    );
    assert_eq!(edited.len(), text.len());
    std::fs::write(seed, edited).unwrap();
}

/// Waits until `path` would get a stamp if read now ([`Stamp::to_record`]:
/// unchanged for [`stamp::SETTLED`]), which is what the test below needs.
fn wait_settled(path: &Path) {
    let deadline = Instant::now() + stamp::SETTLED + Duration::from_secs(30);
    while Stamp::to_record(&std::fs::metadata(path).unwrap(), SystemTime::now()).is_none() {
        assert!(Instant::now() < deadline, "{path:?} never settled");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn a_settled_file_is_skipped_unread_until_a_write_moves_its_stamp() {
    let (content, data, port, _dirs) = started_and_stopped();

    let seed = content.join("ayotzinapa-and-palestine.md");
    wait_settled(&seed);
    // Read once more now that the file is settled: its stamp is recorded.
    let mut second = Server::start_on(&content, &data, port);
    second.wait_output("unchanged=1 unread=0");
    assert!(second.terminate().success());

    let mut third = Server::start_on(&content, &data, port);
    third.wait_output("unchanged=1 unread=1");
    assert!(third.terminate().success());

    // Same size, modified time put back, as `rsync -t` or `cp -p` would:
    // only the inode-change time tells that the bytes moved.
    let mtime = std::fs::metadata(&seed).unwrap().modified().unwrap();
    rewrite_same_size(&seed);
    std::fs::File::options()
        .write(true)
        .open(&seed)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let fourth = Server::start_on(&content, &data, port);
    fourth.wait_output("updated=1");
    let html = fourth.get_text("/articles/ayotzinapa-and-palestine").await;
    assert!(html.contains("Pegasus is the plainest example."));
}
