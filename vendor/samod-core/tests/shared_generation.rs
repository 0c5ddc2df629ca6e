//! Change 24 (vendor/README.md): one step generates a sync message once
//! for all the peers in the same sync state and copies it to the others,
//! and every peer still gets exactly what it lacks.
mod support;

use support::{CLIENT_POLICY, Net, PeerIdx, doc_with, get, put};

const READERS: usize = 20;

fn discussion() -> (Net, PeerIdx, PeerIdx, Vec<PeerIdx>, samod_core::DocumentId) {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let writer = net.add_peer("writer", CLIENT_POLICY);
    net.connect(writer, server);
    let doc = net.create_doc(writer, doc_with("note", "first"));
    let readers = (0..READERS)
        .map(|i| {
            let reader = net.add_peer(&format!("reader{i}"), CLIENT_POLICY);
            net.connect(reader, server);
            net.find(reader, &doc);
            reader
        })
        .collect();
    (net, server, writer, readers, doc)
}

fn copied(net: &Net, server: PeerIdx, doc: &samod_core::DocumentId) -> u64 {
    let peer = net.peer(server);
    let actor = peer.actor_for(doc).expect("loaded");
    peer.actors[&actor].generations_copied()
}

fn assert_everyone_has(
    net: &Net,
    peers: &[PeerIdx],
    writer: PeerIdx,
    doc: &samod_core::DocumentId,
    key: &str,
    value: &str,
) {
    let heads = net.peer(writer).heads(doc);
    for &peer in peers {
        assert_eq!(net.peer(peer).heads(doc), heads, "a peer missed a change");
        let peer_doc = net.peer(peer).doc(doc).expect("peer has the document");
        assert_eq!(get(peer_doc, key).as_deref(), Some(value));
    }
}

#[test]
fn readers_in_the_same_state_share_one_generation() {
    let (mut net, server, writer, readers, doc) = discussion();
    for (i, note) in ["second", "third", "fourth"].into_iter().enumerate() {
        let before = copied(&net, server, &doc);
        net.change(writer, &doc, |d| put(d, "note", note));
        assert_everyone_has(&net, &readers, writer, &doc, "note", note);
        // The 20 readers answered the last note alike, so the relay is one
        // generation, copied to the other 19.
        let copies = copied(&net, server, &doc) - before;
        assert!(
            copies >= READERS as u64 - 1,
            "note {i}: {copies} of {READERS} readers in one state got a copy"
        );
    }
}

#[test]
fn a_reader_in_a_state_of_its_own_still_gets_what_it_lacks() {
    let (mut net, _server, writer, readers, doc) = discussion();
    // One reader writes, so its sync state differs from the others'; the
    // next relays must give it the writer's note and everyone its own.
    net.change(readers[3], &doc, |d| put(d, "margin", "from reader 3"));
    assert_everyone_has(&net, &readers, readers[3], &doc, "margin", "from reader 3");
    assert_eq!(
        net.peer(writer).heads(&doc),
        net.peer(readers[3]).heads(&doc)
    );
    net.change(writer, &doc, |d| put(d, "note", "after the margin"));
    let mut everyone = readers.clone();
    everyone.push(writer);
    assert_everyone_has(&net, &everyone, writer, &doc, "note", "after the margin");
    assert_everyone_has(&net, &everyone, writer, &doc, "margin", "from reader 3");
}
