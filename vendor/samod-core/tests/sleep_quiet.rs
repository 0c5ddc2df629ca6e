//! Change 17 (vendor/README.md): a document that connected peers have open
//! but nobody uses sleeps without its operations, answers phones' first
//! syncs and acknowledgements asleep, and wakes for whatever needs them,
//! with nothing lost.
mod support;

use std::time::Duration;

use automerge::Automerge;
use support::{CLIENT_POLICY, Net, PeerIdx, doc_with, get, put};

fn asleep(net: &Net, server: PeerIdx, doc: &samod_core::DocumentId) -> bool {
    net.peer(server)
        .doc(doc)
        .expect("document loaded")
        .is_asleep()
}

/// The server's document as an awake copy, to read its content.
fn awake_copy(net: &Net, server: PeerIdx, doc: &samod_core::DocumentId) -> Automerge {
    let mut copy = net.peer(server).doc(doc).expect("document loaded").clone();
    copy.wake().expect("wakes");
    copy
}

#[test]
fn a_quiet_document_sleeps_and_serves_a_new_phone_asleep() {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let alice = net.add_peer("alice", CLIENT_POLICY);
    net.connect(alice, server);
    let doc = net.create_doc(alice, doc_with("note", "one"));
    net.change(alice, &doc, |d| put(d, "note", "two"));
    let heads = net.peer(alice).heads(&doc);

    // Alice is still connected: the document stays loaded, without its
    // operations.
    net.unload_idle(server, Duration::ZERO);
    assert!(asleep(&net, server, &doc), "a quiet document did not sleep");
    assert_eq!(net.peer(server).heads(&doc), heads);
    assert_eq!(net.peer(server).count_actor_messages("Sleep"), 1);

    // A new phone's first sync, and its acknowledgement, need none.
    let bob = net.add_peer("bob", CLIENT_POLICY);
    net.connect(bob, server);
    net.find(bob, &doc);
    assert_eq!(net.peer(bob).heads(&doc), heads);
    let bobs = net.peer(bob).doc(&doc).unwrap();
    assert_eq!(get(bobs, "note").as_deref(), Some("two"));
    assert!(asleep(&net, server, &doc), "serving a first sync woke it");

    // Asked once per period of use: Bob's sync was one, then nothing.
    net.unload_idle(server, Duration::ZERO);
    net.unload_idle(server, Duration::ZERO);
    assert_eq!(net.peer(server).count_actor_messages("Sleep"), 2);
    assert!(asleep(&net, server, &doc));
}

#[test]
fn a_change_wakes_the_document_is_stored_and_reaches_the_other_phone() {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let alice = net.add_peer("alice", CLIENT_POLICY);
    let (alice_conn, _) = net.connect(alice, server);
    let doc = net.create_doc(alice, doc_with("note", "one"));
    let bob = net.add_peer("bob", CLIENT_POLICY);
    let (bob_conn, _) = net.connect(bob, server);
    net.find(bob, &doc);
    net.unload_idle(server, Duration::ZERO);
    assert!(asleep(&net, server, &doc));

    net.change(alice, &doc, |d| put(d, "reply", "from the bus"));
    assert!(
        !asleep(&net, server, &doc),
        "applying a change needs it awake"
    );
    let heads = net.peer(alice).heads(&doc);
    assert_eq!(net.peer(server).heads(&doc), heads);
    assert_eq!(net.peer(bob).heads(&doc), heads);
    let bobs = net.peer(bob).doc(&doc).unwrap();
    assert_eq!(get(bobs, "reply").as_deref(), Some("from the bus"));

    // Used since it last slept: it sleeps again, with the change.
    net.unload_idle(server, Duration::ZERO);
    assert!(asleep(&net, server, &doc));
    let copy = awake_copy(&net, server, &doc);
    assert_eq!(get(&copy, "reply").as_deref(), Some("from the bus"));

    // And the change was written: unloaded and loaded back from storage.
    net.drop_connection(alice, alice_conn);
    net.drop_connection(bob, bob_conn);
    net.unload_idle(server, Duration::ZERO);
    assert!(net.peer(server).doc(&doc).is_none(), "still loaded");
    let carol = net.add_peer("carol", CLIENT_POLICY);
    net.connect(carol, server);
    net.find(carol, &doc);
    assert_eq!(net.peer(carol).heads(&doc), heads);
    let carols = net.peer(carol).doc(&doc).unwrap();
    assert_eq!(get(carols, "reply").as_deref(), Some("from the bus"));
}

#[test]
fn a_phone_back_online_gets_what_it_missed_from_a_sleeping_document() {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let alice = net.add_peer("alice", CLIENT_POLICY);
    net.connect(alice, server);
    let doc = net.create_doc(alice, doc_with("note", "one"));
    for i in 0..6 {
        net.change(alice, &doc, |d| put(d, &format!("n{i}"), "earlier"));
    }
    let bob = net.add_peer("bob", CLIENT_POLICY);
    let (bob_conn, _) = net.connect(bob, server);
    net.find(bob, &doc);

    // Bob goes offline; Alice writes a small note (not worth the whole
    // document); the document falls asleep, forgetting the note's encoding.
    net.drop_connection(bob, bob_conn);
    net.change(alice, &doc, |d| put(d, "late", "note"));
    net.unload_idle(server, Duration::from_secs(3600));
    assert!(!asleep(&net, server, &doc), "slept before its idle period");
    net.unload_idle(server, Duration::ZERO);
    assert!(asleep(&net, server, &doc));

    // Bob comes back: sending him the note needs the operations.
    net.connect(bob, server);
    net.find(bob, &doc);
    assert!(
        !asleep(&net, server, &doc),
        "the missed note was built asleep"
    );
    assert_eq!(net.peer(bob).heads(&doc), net.peer(alice).heads(&doc));
    let bobs = net.peer(bob).doc(&doc).unwrap();
    assert_eq!(get(bobs, "late").as_deref(), Some("note"));
}
