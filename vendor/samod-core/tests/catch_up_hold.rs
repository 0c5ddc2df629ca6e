//! Change 18 (vendor/README.md): while a phone back online still holds the
//! only copy of its offline notes, the server collects them before it
//! relays the document to the peers that are caught up, and then relays
//! everything at once. The hold ends when the notes arrive, or after
//! `HOLD_AT_MOST` on the hub's tick, and a connection holds at most once.
mod support;

use std::time::Duration;

use samod_core::DocumentId;
use support::{CLIENT_POLICY, Net, PeerIdx, doc_with, get, put};

/// The hold's bound (`HOLD_AT_MOST` in samod-core), and a bit.
const PAST_THE_HOLD: Duration = Duration::from_secs(6);

struct Scene {
    net: Net,
    server: PeerIdx,
    reader: PeerIdx,
    writer: PeerIdx,
    phone: PeerIdx,
    doc: DocumentId,
}

fn has(net: &Net, peer: PeerIdx, doc: &DocumentId, key: &str) -> bool {
    get(net.peer(peer).doc(doc).expect("document loaded"), key).is_some()
}

/// A reader, a writer and a phone share a document through a server. The
/// phone goes offline, writes a note, and comes back; its second message
/// (the one carrying its note) stays in its outbox until released.
fn phone_back_online_with_its_note_held() -> Scene {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let reader = net.add_peer("reader", CLIENT_POLICY);
    let writer = net.add_peer("writer", CLIENT_POLICY);
    let phone = net.add_peer("phone", CLIENT_POLICY);
    net.connect(writer, server);
    let doc = net.create_doc(writer, doc_with("title", "a discussion"));
    net.connect(reader, server);
    net.find(reader, &doc);
    let (phone_conn, _) = net.connect(phone, server);
    net.find(phone, &doc);

    net.drop_connection(phone, phone_conn);
    net.change(phone, &doc, |d| put(d, "from-the-bus", "offline note"));
    // The join, then its first sync message (its heads, which we lack).
    net.peer_mut(phone).outbox_budget = Some(2);
    net.connect(phone, server);
    assert!(
        net.peer(phone).outbox_len() > 0,
        "the phone's note should be waiting in its outbox"
    );
    assert!(!has(&net, server, &doc, "from-the-bus"));
    Scene {
        net,
        server,
        reader,
        writer,
        phone,
        doc,
    }
}

#[test]
fn relays_wait_for_a_returning_phones_notes_then_go_together() {
    let Scene {
        mut net,
        server,
        reader,
        writer,
        phone,
        doc,
    } = phone_back_online_with_its_note_held();

    // A live note while the phone is catching up: stored (the writer has
    // its acknowledgement when the hold ends), not yet relayed.
    net.change(writer, &doc, |d| put(d, "live", "a reply"));
    assert!(has(&net, server, &doc, "live"));
    assert!(
        !has(&net, reader, &doc, "live"),
        "the live note was relayed while a phone was catching up"
    );
    net.tick(server);
    assert!(!has(&net, reader, &doc, "live"), "released before its time");

    // The phone's note arrives: everyone gets everything.
    net.peer_mut(phone).outbox_budget = None;
    net.run();
    let heads = net.peer(server).heads(&doc);
    assert!(has(&net, server, &doc, "from-the-bus"));
    for peer in [reader, writer, phone] {
        assert_eq!(net.peer(peer).heads(&doc), heads, "peer {peer} behind");
    }
    assert!(has(&net, reader, &doc, "live") && has(&net, reader, &doc, "from-the-bus"));
}

#[test]
fn a_phone_that_never_sends_its_notes_holds_the_others_only_for_a_while() {
    let Scene {
        mut net,
        server,
        reader,
        writer,
        phone,
        doc,
    } = phone_back_online_with_its_note_held();

    net.change(writer, &doc, |d| put(d, "live", "a reply"));
    assert!(!has(&net, reader, &doc, "live"));

    // Nothing arrives for the document; the hub's tick after the bound
    // steps it and the held note goes out.
    net.advance(PAST_THE_HOLD);
    net.tick(server);
    assert!(
        has(&net, reader, &doc, "live"),
        "the hold outlived its bound"
    );

    // Once per connection: the same phone, still silent, holds nothing.
    net.change(writer, &doc, |d| put(d, "later", "another reply"));
    assert!(has(&net, reader, &doc, "later"));

    // Its note, when it finally comes, reaches everyone.
    net.peer_mut(phone).outbox_budget = None;
    net.run();
    let heads = net.peer(server).heads(&doc);
    for peer in [reader, writer, phone] {
        assert_eq!(net.peer(peer).heads(&doc), heads, "peer {peer} behind");
    }
}

#[test]
fn a_phone_opening_the_document_during_a_hold_is_served_at_once() {
    let Scene {
        mut net,
        server,
        phone,
        doc,
        ..
    } = phone_back_online_with_its_note_held();

    let newcomer = net.add_peer("newcomer", CLIENT_POLICY);
    net.connect(newcomer, server);
    net.find(newcomer, &doc);
    assert!(has(&net, newcomer, &doc, "title"), "a first sync waited");

    net.peer_mut(phone).outbox_budget = None;
    net.run();
    assert_eq!(net.peer(newcomer).heads(&doc), net.peer(server).heads(&doc));
}
