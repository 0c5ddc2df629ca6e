//! Change 2 (vendor/README.md): documents no peer uses can be unloaded, and
//! come back from storage with nothing lost.
mod support;

use std::time::Duration;

use support::{CLIENT_POLICY, Net, doc_with, get, put};

#[test]
fn idle_document_is_unloaded_and_reloads_with_nothing_lost() {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let alice = net.add_peer("alice", CLIENT_POLICY);
    let (alice_conn, _) = net.connect(alice, server);
    let doc = net.create_doc(alice, doc_with("note", "one"));
    net.change(alice, &doc, |d| put(d, "note", "two"));
    let heads = net.peer(alice).heads(&doc);
    assert_eq!(net.peer(server).heads(&doc), heads);

    net.drop_connection(alice, alice_conn);
    net.unload_idle(server, Duration::ZERO);
    assert!(
        net.peer(server).doc(&doc).is_none(),
        "document still loaded"
    );
    assert_eq!(net.peer(server).terminated.len(), 1);
    assert_eq!(net.peer(server).hub.connections().len(), 0);

    let bob = net.add_peer("bob", CLIENT_POLICY);
    net.connect(bob, server);
    net.find(bob, &doc);
    assert_eq!(net.peer(server).heads(&doc), heads);
    assert_eq!(net.peer(bob).heads(&doc), heads);
    assert_eq!(
        get(net.peer(bob).doc(&doc).unwrap(), "note").as_deref(),
        Some("two")
    );
}

#[test]
fn document_a_peer_uses_or_that_is_recent_is_not_unloaded() {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let alice = net.add_peer("alice", CLIENT_POLICY);
    let (alice_conn, _) = net.connect(alice, server);
    let doc = net.create_doc(alice, doc_with("note", "one"));

    net.unload_idle(server, Duration::ZERO);
    assert!(
        net.peer(server).doc(&doc).is_some(),
        "unloaded while in use"
    );

    net.drop_connection(alice, alice_conn);
    net.unload_idle(server, Duration::from_secs(3600));
    assert!(
        net.peer(server).doc(&doc).is_some(),
        "unloaded before idle period"
    );
}

#[test]
fn request_arriving_while_unloading_is_answered_after_reload() {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let alice = net.add_peer("alice", CLIENT_POLICY);
    let (alice_conn, _) = net.connect(alice, server);
    let doc = net.create_doc(alice, doc_with("note", "one"));

    // The last write is still in flight when the unload starts, so the actor
    // has to flush before it can terminate.
    net.peer_mut(server).hold_puts = true;
    net.change(alice, &doc, |d| put(d, "note", "two"));
    let heads = net.peer(alice).heads(&doc);
    net.drop_connection(alice, alice_conn);
    net.unload_idle(server, Duration::ZERO);
    assert!(net.peer(server).held_put_count() > 0);
    assert!(
        net.peer(server).terminated.is_empty(),
        "terminated before flushing"
    );

    let bob = net.add_peer("bob", CLIENT_POLICY);
    net.connect(bob, server);
    net.find(bob, &doc);
    net.peer_mut(server).hold_puts = false;
    net.release_puts(server);

    assert_eq!(net.peer(server).terminated.len(), 1);
    assert_eq!(net.peer(server).heads(&doc), heads);
    assert_eq!(net.peer(bob).heads(&doc), heads);
}

// Glosa unloads a document 2 s after its last phone leaves, so a phone
// coming back while the unload is still flushing is an everyday case: its
// offline change must be applied by the reloaded document, stored and
// acknowledged, and survive the next unload.
#[test]
fn change_arriving_while_unloading_is_kept_and_acknowledged() {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let alice = net.add_peer("alice", CLIENT_POLICY);
    let (alice_conn, _) = net.connect(alice, server);
    let doc = net.create_doc(alice, doc_with("note", "one"));
    let bob = net.add_peer("bob", CLIENT_POLICY);
    let (bob_conn, _) = net.connect(bob, server);
    net.find(bob, &doc);
    net.drop_connection(bob, bob_conn);

    // Alice's last write is in flight when the unload starts.
    net.peer_mut(server).hold_puts = true;
    net.change(alice, &doc, |d| put(d, "note", "two"));
    net.drop_connection(alice, alice_conn);
    net.unload_idle(server, Duration::ZERO);
    assert!(
        net.peer(server).terminated.is_empty(),
        "terminated before flushing"
    );

    // Bob comes back with a note written offline.
    net.change(bob, &doc, |d| put(d, "reply", "from the bus"));
    let (bob_conn, _) = net.connect(bob, server);
    assert!(
        net.peer(server).terminated.is_empty(),
        "the unload finished before bob's message arrived"
    );
    let applied = |net: &Net| {
        net.peer(server)
            .doc(&doc)
            .and_then(|d| get(d, "reply"))
            .is_some()
    };
    assert!(!applied(&net), "applied by the unloading actor");
    net.peer_mut(server).hold_puts = false;
    net.release_puts(server);

    assert_eq!(net.peer(server).terminated.len(), 1);
    let server_doc = net.peer(server).doc(&doc).expect("reloaded");
    assert_eq!(get(server_doc, "note").as_deref(), Some("two"));
    assert_eq!(get(server_doc, "reply").as_deref(), Some("from the bus"));
    let bob_heads = net.peer(bob).heads(&doc);
    assert_eq!(net.peer(server).heads(&doc), bob_heads);
    // Bob was told the server has his change: its view of the server's
    // heads is his own.
    let acked = net
        .peer(bob)
        .peer_state(&doc, bob_conn)
        .and_then(|s| s.their_heads);
    assert_eq!(acked, Some(bob_heads.clone()));

    // And it is on disk: unloaded again, a new reader gets both.
    net.drop_connection(bob, bob_conn);
    net.unload_idle(server, Duration::ZERO);
    assert!(net.peer(server).doc(&doc).is_none(), "still loaded");
    let carol = net.add_peer("carol", CLIENT_POLICY);
    net.connect(carol, server);
    net.find(carol, &doc);
    let carol_doc = net.peer(carol).doc(&doc).expect("carol has it");
    assert_eq!(get(carol_doc, "note").as_deref(), Some("two"));
    assert_eq!(get(carol_doc, "reply").as_deref(), Some("from the bus"));
}

// Change 25: after a first install, the documents no phone has open are
// kept for the idle period only up to `keep`, the most recently used; the
// others go once the grace period has passed, and come back from storage.
#[test]
fn only_the_most_recent_unused_documents_wait_the_idle_period() {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let alice = net.add_peer("alice", CLIENT_POLICY);
    let (alice_conn, _) = net.connect(alice, server);
    let docs: Vec<_> = (0..5)
        .map(|i| net.create_doc(alice, doc_with("note", &format!("note {i}"))))
        .collect();
    net.drop_connection(alice, alice_conn);
    // Used one after the other, a second apart: docs[4] most recently.
    for doc in &docs {
        net.advance(Duration::from_secs(1));
        net.find(server, doc);
    }
    let loaded = |net: &Net| -> Vec<bool> {
        docs.iter()
            .map(|d| net.peer(server).doc(d).is_some())
            .collect()
    };
    let policy = samod_core::UnloadPolicy::new(Duration::from_secs(60), Duration::from_secs(60));

    net.unload_with(server, policy.keeping(2, Duration::from_secs(10)));
    assert_eq!(loaded(&net), [true; 5], "unloaded within the grace period");

    net.unload_with(server, policy.keeping(2, Duration::from_secs(1)));
    assert_eq!(
        loaded(&net),
        [false, false, false, true, true],
        "not the two most recent kept"
    );

    net.unload_with(server, policy.keeping(5, Duration::ZERO));
    assert_eq!(loaded(&net)[3..], [true, true], "unloaded within keep");
    net.advance(Duration::from_secs(60));
    net.unload_with(server, policy.keeping(5, Duration::ZERO));
    assert_eq!(loaded(&net), [false; 5], "kept past the idle period");

    let bob = net.add_peer("bob", CLIENT_POLICY);
    net.connect(bob, server);
    net.find(bob, &docs[0]);
    let reloaded = net.peer(bob).doc(&docs[0]).expect("bob has it");
    assert_eq!(get(reloaded, "note").as_deref(), Some("note 0"));
}
