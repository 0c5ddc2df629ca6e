use super::*;
use crate::{DocumentId, actors::document::phase::request::Request};

fn document() -> Automerge {
    let mut doc = Automerge::new();
    doc.empty_commit(Default::default());
    doc
}

fn connection() -> PeerDocConnection {
    PeerDocConnection::new("remote".into(), ConnectionId::new())
}

#[test]
fn ordinary_generation_returns_one_message_then_an_empty_batch() {
    let mut conn = connection();
    conn.set_share_config(ShareConfig::read_write());
    let doc = document();
    let now = UnixTimestamp::now();
    let messages = conn.generate_sync_messages(now, &doc);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].0.heads, doc.get_heads());
    let state = conn.pop().unwrap();
    assert_eq!(state.last_sent, Some(now));
    assert_eq!(state.last_sent_heads, Some(doc.get_heads()));
    assert!(conn.generate_sync_messages(now, &doc).is_empty());
    assert!(conn.pop().is_none());
}

#[test]
fn fallback_reset_batch_converges_with_an_empty_legacy_peer() {
    let now = UnixTimestamp::now();
    let mut doc = document();
    let mut remote = Automerge::new();
    let mut remote_state = sync::State::new();
    let mut conn = connection();
    conn.set_share_config(ShareConfig::read_only());
    let mut hello = remote.generate_sync_message(&mut remote_state).unwrap();
    hello.flags = None;
    conn.receive_sync_message(now, &mut doc, hello).unwrap();
    conn.set_share_config(ShareConfig::read_write());

    let messages = conn.generate_sync_messages(now, &doc);
    assert_eq!(messages.len(), 2);
    assert!(messages[0].0.heads.is_empty());
    assert_eq!(messages[1].0.heads, doc.get_heads());
    assert_eq!(conn.state().last_sent_heads, Some(doc.get_heads()));
    let mut messages = messages.into_iter();
    remote
        .receive_sync_message(&mut remote_state, messages.next().unwrap().0)
        .unwrap();
    assert!(remote.generate_sync_message(&mut remote_state).is_none());
    assert_ne!(doc.get_heads(), remote.get_heads());
    remote
        .receive_sync_message(&mut remote_state, messages.next().unwrap().0)
        .unwrap();

    for _ in 0..20 {
        let reply = remote.generate_sync_message(&mut remote_state);
        let replied = reply.is_some();
        if let Some(mut reply) = reply {
            reply.flags = None;
            conn.receive_sync_message(now, &mut doc, reply).unwrap();
        }
        let messages = conn.generate_sync_messages(now, &doc);
        if !replied && messages.is_empty() {
            assert_eq!(doc.get_heads(), remote.get_heads());
            return;
        }
        for (message, _) in messages {
            remote
                .receive_sync_message(&mut remote_state, message)
                .unwrap();
        }
    }
    panic!("sync did not become quiescent");
}

#[test]
fn advertised_reset_support_needs_only_one_message() {
    let mut conn = connection();
    conn.set_share_config(ShareConfig::read_only());
    let mut doc = document();
    let now = UnixTimestamp::now();
    let hello = Automerge::new()
        .generate_sync_message(&mut sync::State::new())
        .unwrap();
    conn.receive_sync_message(now, &mut doc, hello).unwrap();
    conn.set_share_config(ShareConfig::read_write());

    let messages = conn.generate_sync_messages(now, &doc);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].0.heads, doc.get_heads());
    assert!(
        messages[0]
            .0
            .flags
            .unwrap()
            .contains(sync::MessageFlags::SYNC_RESET)
    );
    assert!(conn.generate_sync_messages(now, &doc).is_empty());
}

#[test]
fn empty_document_needs_no_follow_up_after_a_fallback_reset() {
    let mut conn = connection();
    conn.set_share_config(ShareConfig::read_only());
    let mut doc = Automerge::new();
    let now = UnixTimestamp::now();
    let mut hello = Automerge::new()
        .generate_sync_message(&mut sync::State::new())
        .unwrap();
    hello.flags = None;
    conn.receive_sync_message(now, &mut doc, hello).unwrap();
    conn.set_share_config(ShareConfig::read_write());

    let messages = conn.generate_sync_messages(now, &doc);
    assert_eq!(messages.len(), 1);
    assert!(messages[0].0.heads.is_empty());
    assert!(conn.generate_sync_messages(now, &doc).is_empty());
}

#[test]
fn only_the_first_message_of_a_request_batch_initiates_a_request() {
    let mut conn = connection();
    conn.set_share_config(ShareConfig::read_only());
    let mut doc = document();
    let now = UnixTimestamp::now();
    let mut hello = Automerge::new()
        .generate_sync_message(&mut sync::State::new())
        .unwrap();
    hello.flags = None;
    conn.receive_sync_message(now, &mut doc, hello).unwrap();
    conn.set_share_config(ShareConfig::read_write());
    let mut request = Request::new(DocumentId::new(&mut rand::rng()), std::iter::once(&conn));

    let messages = request.generate_messages(now, &doc, &mut conn);
    assert_eq!(messages.len(), 2);
    let SyncMessage::Request { data } = &messages[0].0 else {
        panic!("first message must initiate the request");
    };
    assert!(sync::Message::decode(data).unwrap().heads.is_empty());
    let SyncMessage::Sync { data } = &messages[1].0 else {
        panic!("subsequent messages must continue sync");
    };
    assert_eq!(sync::Message::decode(data).unwrap().heads, doc.get_heads());
}

/// Runs the exchange until neither side has anything to say.
fn settle(
    now: UnixTimestamp,
    conn: &mut PeerDocConnection,
    doc: &mut Automerge,
    remote: &mut Automerge,
    remote_state: &mut sync::State,
) {
    for _ in 0..20 {
        let mut quiet = true;
        for (message, _) in conn.generate_sync_messages(now, doc) {
            quiet = false;
            remote.receive_sync_message(remote_state, message).unwrap();
        }
        if let Some(reply) = remote.generate_sync_message(remote_state) {
            quiet = false;
            conn.receive_sync_message(now, doc, reply).unwrap();
        }
        if quiet {
            return;
        }
    }
    panic!("sync did not become quiescent");
}

#[test]
fn a_quiet_peer_is_asked_again_once_the_document_or_the_peer_changes() {
    use automerge::transaction::Transactable;
    let now = UnixTimestamp::now();
    let mut doc = document();
    let mut remote = Automerge::new();
    let mut remote_state = sync::State::new();
    let mut conn = connection();
    conn.set_share_config(ShareConfig::read_write());
    settle(now, &mut conn, &mut doc, &mut remote, &mut remote_state);
    assert_eq!(doc.get_heads(), remote.get_heads());
    // Quiet, and remembered as quiet.
    assert!(conn.generate_sync_messages(now, &doc).is_empty());
    assert!(conn.generate_sync_messages(now, &doc).is_empty());

    // A change here (another peer's note, say): the quiet peer gets it.
    let mut tx = doc.transaction();
    tx.put(automerge::ROOT, "note", "from elsewhere").unwrap();
    tx.commit();
    let messages = conn.generate_sync_messages(now, &doc);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].0.heads, doc.get_heads());
    assert_eq!(messages[0].0.changes.len(), 1);
    for (message, _) in messages {
        remote
            .receive_sync_message(&mut remote_state, message)
            .unwrap();
    }
    settle(now, &mut conn, &mut doc, &mut remote, &mut remote_state);
    assert_eq!(doc.get_heads(), remote.get_heads());
    assert!(conn.generate_sync_messages(now, &doc).is_empty());

    // A change from the peer: it is acknowledged, though our heads were
    // those we had found quiet a moment ago until the message came.
    let mut tx = remote.transaction();
    tx.put(automerge::ROOT, "reply", "from the peer").unwrap();
    tx.commit();
    // Its first message usually carries the change; when our Bloom filter
    // happens to claim it (a false positive, a few percent of random
    // hashes) the peer holds it back and sends it once we ask, a round later.
    let mut ack = Vec::new();
    for _ in 0..5 {
        if let Some(message) = remote.generate_sync_message(&mut remote_state) {
            conn.receive_sync_message(now, &mut doc, message).unwrap();
        }
        ack = conn.generate_sync_messages(now, &doc);
        if doc.get_heads() == remote.get_heads() {
            break;
        }
        for (message, _) in ack.iter().cloned() {
            remote
                .receive_sync_message(&mut remote_state, message)
                .unwrap();
        }
    }
    assert_eq!(doc.get_heads(), remote.get_heads(), "the change arrived");
    assert_eq!(ack.len(), 1, "the peer's change is acknowledged");
    assert_eq!(ack[0].0.heads, remote.get_heads());

    // A new grant also makes it ask again.
    settle(now, &mut conn, &mut doc, &mut remote, &mut remote_state);
    assert!(conn.generate_sync_messages(now, &doc).is_empty());
    conn.set_share_config(ShareConfig::read_only());
    conn.set_share_config(ShareConfig::read_write());
    settle(now, &mut conn, &mut doc, &mut remote, &mut remote_state);
    assert_eq!(doc.get_heads(), remote.get_heads());
}

#[test]
fn changes_for_a_peer_that_has_not_answered_wait_and_go_together() {
    use automerge::transaction::Transactable;
    let now = UnixTimestamp::now();
    let mut doc = document();
    let mut remote = Automerge::new();
    let mut remote_state = sync::State::new();
    let mut conn = connection();
    conn.set_share_config(ShareConfig::read_write());
    settle(now, &mut conn, &mut doc, &mut remote, &mut remote_state);
    let note = |doc: &mut Automerge, key: &str| {
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, key, "from another phone").unwrap();
        tx.commit();
    };

    // Notes arrive from elsewhere faster than this peer answers: the first
    // ones go out at once, up to the window.
    let mut in_flight = Vec::new();
    for i in 0..usize::from(MAX_UNANSWERED) {
        note(&mut doc, &format!("note{i}"));
        let messages = conn.generate_sync_messages(now, &doc);
        assert_eq!(
            messages.len(),
            1,
            "note {i} was held with room in the window"
        );
        assert!(!messages[0].0.changes.is_empty());
        in_flight.extend(messages);
    }
    // Further notes wait for the peer.
    note(&mut doc, "late1");
    note(&mut doc, "late2");
    assert!(conn.generate_sync_messages(now, &doc).is_empty());

    // The peer answers the first message; both waiting notes go in one.
    let first = in_flight.remove(0).0;
    remote
        .receive_sync_message(&mut remote_state, first)
        .unwrap();
    let answer = remote.generate_sync_message(&mut remote_state).unwrap();
    conn.receive_sync_message(now, &mut doc, answer).unwrap();
    let messages = conn.generate_sync_messages(now, &doc);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].0.heads, doc.get_heads());
    for (message, _) in in_flight.into_iter().chain(messages) {
        remote
            .receive_sync_message(&mut remote_state, message)
            .unwrap();
    }
    assert_eq!(doc.get_heads(), remote.get_heads());
    use automerge::ReadDoc;
    assert!(remote.get(automerge::ROOT, "late2").unwrap().is_some());
}

#[test]
fn a_peer_that_never_answers_gets_waiting_changes_after_the_timeout() {
    use automerge::transaction::Transactable;
    let now = UnixTimestamp::now();
    let mut doc = document();
    let mut remote = Automerge::new();
    let mut remote_state = sync::State::new();
    let mut conn = connection();
    conn.set_share_config(ShareConfig::read_write());
    settle(now, &mut conn, &mut doc, &mut remote, &mut remote_state);
    for i in 0..=usize::from(MAX_UNANSWERED) {
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, format!("note{i}"), "x").unwrap();
        tx.commit();
        let sent = conn.generate_sync_messages(now, &doc).len();
        assert_eq!(sent, usize::from(i < usize::from(MAX_UNANSWERED)));
    }
    let just_before = now + (REPLY_TIMEOUT - Duration::from_millis(1));
    assert!(conn.generate_sync_messages(just_before, &doc).is_empty());
    let messages = conn.generate_sync_messages(now + REPLY_TIMEOUT, &doc);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].0.heads, doc.get_heads());
    assert!(!messages[0].0.changes.is_empty());
}

/// §18: a writable peer whose heads we lack holds the others from its
/// first message until its changes arrive, at most `HOLD_AT_MOST`, once per
/// connection; the actor is asked to step when the hold would end.
#[test]
fn a_returning_phone_holds_the_others_until_its_changes_arrive_once() {
    use automerge::transaction::Transactable;
    let now = UnixTimestamp::now();
    let mut doc = document();
    let mut phone = doc.fork();
    let mut tx = phone.transaction();
    tx.put(automerge::ROOT, "from-the-bus", "offline").unwrap();
    tx.commit();
    let mut phone_state = sync::State::new();
    let mut conn = connection();
    conn.set_share_config(ShareConfig::read_write());
    assert!(!conn.holds_others(now) && !conn.holdable());

    // Its first message names a head we lack.
    let hello = phone.generate_sync_message(&mut phone_state).unwrap();
    assert!(hello.changes.is_empty());
    conn.receive_sync_message(now, &mut doc, hello).unwrap();
    assert!(conn.holds_others(now));
    assert!(!conn.holdable(), "a peer catching up is not held itself");
    assert_eq!(conn.step_due_at(now), Some(now + HOLD_AT_MOST));
    assert!(!conn.holds_others(now + HOLD_AT_MOST));
    assert_eq!(conn.step_due_at(now + HOLD_AT_MOST), None);

    // Our answer asks for its changes; they come and the hold ends.
    let ask = conn.generate_sync_messages(now, &doc);
    assert_eq!(ask.len(), 1);
    phone
        .receive_sync_message(&mut phone_state, ask.into_iter().next().unwrap().0)
        .unwrap();
    let notes = phone.generate_sync_message(&mut phone_state).unwrap();
    assert!(!notes.changes.is_empty());
    conn.receive_sync_message(now, &mut doc, notes).unwrap();
    assert_eq!(doc.get_heads(), phone.get_heads());
    assert!(!conn.holds_others(now));
    assert!(conn.holdable());
    assert_eq!(conn.step_due_at(now), None);

    // Heads we lack again on the same connection hold nothing.
    let mut tx = phone.transaction();
    tx.put(automerge::ROOT, "again", "offline").unwrap();
    tx.commit();
    let mut fresh = sync::State::new();
    let hello = phone.generate_sync_message(&mut fresh).unwrap();
    conn.receive_sync_message(now, &mut doc, hello).unwrap();
    assert!(!conn.holds_others(now), "a connection held twice");
    assert!(!conn.holdable());
}

/// §18: a reader (it cannot write here) whose heads we lack holds nobody:
/// we would never apply its changes.
#[test]
fn a_read_only_peer_with_unknown_heads_holds_nobody() {
    use automerge::transaction::Transactable;
    let now = UnixTimestamp::now();
    let mut doc = document();
    let mut reader = doc.fork();
    let mut tx = reader.transaction();
    tx.put(automerge::ROOT, "scribble", "local").unwrap();
    tx.commit();
    let mut conn = connection();
    conn.set_share_config(ShareConfig::read_only());
    let hello = reader
        .generate_sync_message(&mut sync::State::new())
        .unwrap();
    conn.receive_sync_message(now, &mut doc, hello).unwrap();
    assert!(!conn.holds_others(now));
    assert_eq!(conn.step_due_at(now), None);
}
