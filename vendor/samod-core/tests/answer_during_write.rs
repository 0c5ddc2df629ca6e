//! Change 19 (vendor/README.md): while a write runs, only the peers that
//! have a change not yet on disk wait for it (our heads would acknowledge
//! that change, change 3); everyone else is answered at once.
mod support;

use samod_core::{ConnectionId, DocumentId};
use support::{CLIENT_POLICY, Net, PeerIdx, doc_with, get, put};

fn acknowledged(
    net: &Net,
    peer: PeerIdx,
    doc: &DocumentId,
    conn: ConnectionId,
) -> Vec<automerge::ChangeHash> {
    net.peer(peer)
        .peer_state(doc, conn)
        .and_then(|s| s.their_heads)
        .unwrap_or_default()
}

#[test]
fn a_phone_opening_the_document_during_a_write_is_served_and_the_author_waits() {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let author = net.add_peer("author", CLIENT_POLICY);
    let (author_conn, _) = net.connect(author, server);
    let doc = net.create_doc(author, doc_with("note", "one"));

    net.peer_mut(server).hold_puts = true;
    net.change(author, &doc, |d| put(d, "note", "two"));
    let heads = net.peer(author).heads(&doc);
    assert!(net.peer(server).held_put_count() > 0);

    let newcomer = net.add_peer("newcomer", CLIENT_POLICY);
    net.connect(newcomer, server);
    net.find(newcomer, &doc);
    assert_eq!(
        net.peer(newcomer).heads(&doc),
        heads,
        "the newcomer waited for the disk"
    );
    assert_ne!(
        acknowledged(&net, author, &doc, author_conn),
        heads,
        "acknowledged before the write completed"
    );

    net.peer_mut(server).hold_puts = false;
    net.release_puts(server);
    assert_eq!(acknowledged(&net, author, &doc, author_conn), heads);
}

#[test]
fn a_phone_back_online_sends_its_notes_while_other_writes_run() {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let writer = net.add_peer("writer", CLIENT_POLICY);
    let phone = net.add_peer("phone", CLIENT_POLICY);
    net.connect(writer, server);
    let doc = net.create_doc(writer, doc_with("title", "a discussion"));
    let (phone_conn, _) = net.connect(phone, server);
    net.find(phone, &doc);
    net.drop_connection(phone, phone_conn);
    net.change(phone, &doc, |d| put(d, "from-the-bus", "offline"));
    let offline_note = net.peer(phone).heads(&doc)[0];

    // Another phone's note is being written when this one comes back.
    net.peer_mut(server).hold_puts = true;
    net.change(writer, &doc, |d| put(d, "live", "a reply"));
    let (phone_conn, _) = net.connect(phone, server);
    let server_doc = net.peer(server).doc(&doc).expect("loaded");
    assert!(
        get(server_doc, "from-the-bus").is_some(),
        "the returning phone was not asked for its notes during the write"
    );
    assert!(
        !acknowledged(&net, phone, &doc, phone_conn).contains(&offline_note),
        "the phone's note was acknowledged before it was written"
    );

    net.peer_mut(server).hold_puts = false;
    net.release_puts(server);
    let heads = net.peer(server).heads(&doc);
    for peer in [writer, phone] {
        assert_eq!(net.peer(peer).heads(&doc), heads, "peer {peer} behind");
    }
    assert_eq!(acknowledged(&net, phone, &doc, phone_conn), heads);
}
