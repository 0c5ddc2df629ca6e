//! `State::their_changes_first` (Glosa, vendor/README.md §11): a peer that
//! has changes we lack sends them before it receives ours, and never waits
//! more than one round for ours.

use super::{Message, State, SyncDoc};
use crate::transaction::Transactable;
use crate::{ActorId, AutoCommit, ReadDoc, ROOT};

/// A server and a phone that synced once, then both wrote while apart.
fn diverged() -> (AutoCommit, AutoCommit) {
    let mut server = AutoCommit::new().with_actor(ActorId::from(b"server".to_vec()));
    server.put(ROOT, "title", "shared").unwrap();
    let mut phone = server.fork().with_actor(ActorId::from(b"phone".to_vec()));
    for i in 0..3 {
        server.put(ROOT, format!("from server {i}"), i).unwrap();
        server.commit();
        phone.put(ROOT, format!("from phone {i}"), i).unwrap();
        phone.commit();
    }
    (server, phone)
}

fn carries_changes(message: &Message) -> bool {
    !message.changes.is_empty()
}

#[test]
fn the_phone_sends_its_changes_before_it_receives_ours() {
    let (mut server, mut phone) = diverged();
    let mut at_server = State::new().with_their_changes_first();
    let mut at_phone = State::new();

    let hello = phone.sync().generate_sync_message(&mut at_phone).unwrap();
    server
        .sync()
        .receive_sync_message(&mut at_server, hello)
        .unwrap();

    // Our first answer carries heads and a `have`, but none of our changes.
    let wait = server.sync().generate_sync_message(&mut at_server).unwrap();
    assert!(!carries_changes(&wait), "our changes went before theirs");
    assert!(
        !wait.have.is_empty(),
        "the phone needs our `have` to send its changes"
    );

    // While that is on its way, a new change of ours is not sent either.
    server.put(ROOT, "while waiting", true).unwrap();
    server.commit();
    assert!(server
        .sync()
        .generate_sync_message(&mut at_server)
        .is_none());

    phone
        .sync()
        .receive_sync_message(&mut at_phone, wait)
        .unwrap();
    let upload = phone.sync().generate_sync_message(&mut at_phone).unwrap();
    assert!(carries_changes(&upload), "the phone's changes");
    server
        .sync()
        .receive_sync_message(&mut at_server, upload)
        .unwrap();
    assert!(server.get(ROOT, "from phone 2").unwrap().is_some());

    // Now ours go: the three from before and the one made while waiting.
    let download = server.sync().generate_sync_message(&mut at_server).unwrap();
    assert!(carries_changes(&download));
    phone
        .sync()
        .receive_sync_message(&mut at_phone, download)
        .unwrap();
    assert_eq!(phone.get_heads(), server.get_heads());
}

#[test]
fn a_peer_whose_changes_never_arrive_still_gets_ours_after_one_round() {
    let (mut server, mut phone) = diverged();
    let mut at_server = State::new().with_their_changes_first();
    let mut at_phone = State::new();

    let hello = phone.sync().generate_sync_message(&mut at_phone).unwrap();
    server
        .sync()
        .receive_sync_message(&mut at_server, hello)
        .unwrap();
    let wait = server.sync().generate_sync_message(&mut at_server).unwrap();
    assert!(!carries_changes(&wait));

    // The phone answers, but its changes are lost on the way (or it waits
    // for ours as we do): its heads are still unknown to us.
    phone
        .sync()
        .receive_sync_message(&mut at_phone, wait)
        .unwrap();
    let mut upload = phone.sync().generate_sync_message(&mut at_phone).unwrap();
    upload.changes = super::ChunkList::empty();
    server
        .sync()
        .receive_sync_message(&mut at_server, upload)
        .unwrap();

    let download = server.sync().generate_sync_message(&mut at_server).unwrap();
    assert!(carries_changes(&download), "we waited a second round");
    phone
        .sync()
        .receive_sync_message(&mut at_phone, download)
        .unwrap();
    assert!(phone.get(ROOT, "from server 2").unwrap().is_some());
}

#[test]
fn two_peers_that_both_wait_still_converge() {
    let (mut a, mut b) = diverged();
    let mut sa = State::new().with_their_changes_first();
    let mut sb = State::new().with_their_changes_first();
    super::tests::sync(&mut a, &mut b, &mut sa, &mut sb);
    assert_eq!(a.get_heads(), b.get_heads());
    assert_eq!(a.get_heads().len(), 2);
}

#[test]
fn a_peer_with_nothing_new_gets_our_changes_at_once() {
    let (server, _) = diverged();
    let mut phone = AutoCommit::new().with_actor(ActorId::from(b"reader".to_vec()));
    let mut at_server = State::new().with_their_changes_first();
    let mut at_phone = State::new();
    // An empty phone: the whole document at once, as without the option.
    let hello = phone.sync().generate_sync_message(&mut at_phone).unwrap();
    let mut server = server;
    server
        .sync()
        .receive_sync_message(&mut at_server, hello)
        .unwrap();
    let download = server.sync().generate_sync_message(&mut at_server).unwrap();
    assert!(carries_changes(&download));
    phone
        .sync()
        .receive_sync_message(&mut at_phone, download)
        .unwrap();
    assert_eq!(phone.get_heads(), server.get_heads());
}

#[test]
fn the_option_survives_a_switch_to_read_write() {
    let mut state = State::new_read_only().with_their_changes_first();
    state.set_read_only(false);
    assert!(state.their_changes_first);
}
