//! `State::sent_doc_at` (Glosa, vendor/README.md §21): a whole document
//! sent to a peer is remembered by its heads, not by every hash of its
//! history, and still keeps us from sending those changes twice.

use super::{State, SyncDoc};
use crate::transaction::Transactable;
use crate::{ActorId, AutoCommit, ReadDoc, ROOT};

/// A server document with a history of `changes` changes.
fn server_with(changes: usize) -> AutoCommit {
    let mut server = AutoCommit::new().with_actor(ActorId::from(b"server".to_vec()));
    for i in 0..changes {
        server.put(ROOT, format!("note {i}"), i as i64).unwrap();
        server.commit();
    }
    server
}

#[test]
fn a_whole_document_is_recorded_by_its_heads_until_the_peer_has_it() {
    let mut server = server_with(40);
    let mut phone = AutoCommit::new();
    let (mut at_server, mut at_phone) = (State::new(), State::new());

    let hello = phone.sync().generate_sync_message(&mut at_phone).unwrap();
    server
        .sync()
        .receive_sync_message(&mut at_server, hello)
        .unwrap();
    let whole = server.sync().generate_sync_message(&mut at_server).unwrap();
    assert!(!whole.changes.is_empty());
    // One set of heads instead of forty hashes.
    assert!(at_server.sent_hashes.is_empty());
    assert_eq!(at_server.sent_doc_at, Some(server.get_heads()));

    phone
        .sync()
        .receive_sync_message(&mut at_phone, whole)
        .unwrap();
    assert_eq!(phone.get_heads(), server.get_heads());
    assert_eq!(phone.keys(ROOT).count(), 40);

    // The phone's acknowledgement covers the heads: nothing is left to
    // remember, and nothing more to say.
    let ack = phone.sync().generate_sync_message(&mut at_phone).unwrap();
    server
        .sync()
        .receive_sync_message(&mut at_server, ack)
        .unwrap();
    assert_eq!(at_server.sent_doc_at, None);
    assert!(at_server.sent_hashes.is_empty());
    assert!(server
        .sync()
        .generate_sync_message(&mut at_server)
        .is_none());
}

#[test]
fn changes_in_the_whole_document_are_not_sent_again_before_it_arrives() {
    let mut server = server_with(40);
    let mut phone = AutoCommit::new().with_actor(ActorId::from(b"phone".to_vec()));
    let (mut at_server, mut at_phone) = (State::new(), State::new());

    let hello = phone.sync().generate_sync_message(&mut at_phone).unwrap();
    server
        .sync()
        .receive_sync_message(&mut at_server, hello)
        .unwrap();
    let whole = server.sync().generate_sync_message(&mut at_server).unwrap();

    // Before the whole document reaches it, the phone writes a note and
    // says so: its Bloom filter knows none of the server's changes.
    phone.put(ROOT, "from the phone", 1).unwrap();
    phone.commit();
    let crossing = phone.sync().generate_sync_message(&mut at_phone).unwrap();
    server
        .sync()
        .receive_sync_message(&mut at_server, crossing)
        .unwrap();
    assert!(
        at_server.sent_doc_at.is_some(),
        "the phone has not seen it yet"
    );

    // The server's answer carries none of the forty changes again; without
    // the record it would send the whole document a second time.
    let answer = server.sync().generate_sync_message(&mut at_server).unwrap();
    assert!(
        answer.changes.is_empty(),
        "{} bytes of changes",
        answer.changes.len()
    );

    // A change made after the whole document went is still sent, alone.
    server.put(ROOT, "after", 2).unwrap();
    server.commit();
    phone
        .sync()
        .receive_sync_message(&mut at_phone, whole)
        .unwrap();
    phone
        .sync()
        .receive_sync_message(&mut at_phone, answer)
        .unwrap();
    for _ in 0..10 {
        let a = phone.sync().generate_sync_message(&mut at_phone);
        if let Some(m) = a.clone() {
            server
                .sync()
                .receive_sync_message(&mut at_server, m)
                .unwrap();
        }
        let b = server.sync().generate_sync_message(&mut at_server);
        if let Some(m) = b.clone() {
            assert!(
                m.changes.len() < 1000,
                "only the new change: {} bytes",
                m.changes.len()
            );
            phone.sync().receive_sync_message(&mut at_phone, m).unwrap();
        }
        if a.is_none() && b.is_none() {
            break;
        }
    }
    assert_eq!(phone.get_heads(), server.get_heads());
    assert_eq!(phone.keys(ROOT).count(), 42);
}

#[test]
fn a_reset_forgets_the_whole_document() {
    let mut server = server_with(10);
    let mut phone = AutoCommit::new();
    let (mut at_server, mut at_phone) = (State::new(), State::new());
    let hello = phone.sync().generate_sync_message(&mut at_phone).unwrap();
    server
        .sync()
        .receive_sync_message(&mut at_server, hello)
        .unwrap();
    server.sync().generate_sync_message(&mut at_server).unwrap();
    assert!(at_server.sent_doc_at.is_some());

    // The phone lost everything (a new install): it says so again, and
    // gets the whole document again.
    let mut phone = AutoCommit::new();
    let mut at_phone = State::new();
    let hello = phone.sync().generate_sync_message(&mut at_phone).unwrap();
    server
        .sync()
        .receive_sync_message(&mut at_server, hello)
        .unwrap();
    assert_eq!(at_server.sent_doc_at, None);
    let again = server.sync().generate_sync_message(&mut at_server).unwrap();
    phone
        .sync()
        .receive_sync_message(&mut at_phone, again)
        .unwrap();
    assert_eq!(phone.get_heads(), server.get_heads());
}
