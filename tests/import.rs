//! Import across restarts: the cache a clean shutdown leaves makes the next
//! start skip unchanged files, and never hides an edit.

mod common;

use common::Server;

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
    let mut first = Server::start();
    let (content, data, port) = (first.content.clone(), first.data.clone(), first.port());
    let _dirs = first.take_dirs();
    assert!(first.terminate().success());

    let seed = content.join("ayotzinapa-and-palestine.md");
    let text = std::fs::read_to_string(&seed).unwrap();
    std::fs::write(
        &seed,
        text.replace(
            "Pegasus is the clearest example.",
            "Pegasus is the plainest example.",
        ),
    )
    .unwrap();
    let second = Server::start_on(&content, &data, port);
    second.wait_output("updated=1");
    let html = second.get_text("/articles/ayotzinapa-and-palestine").await;
    assert!(html.contains("Pegasus is the plainest example."));
}
