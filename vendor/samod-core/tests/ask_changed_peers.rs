//! Change 13 (vendor/README.md): after one peer's message the document
//! actor asks only that peer whether it has sync messages to send, not
//! every peer of the document, and everyone still gets every change.
mod support;

use support::{CLIENT_POLICY, Net, doc_with, get, put};

#[test]
fn a_readers_answer_asks_that_reader_alone() {
    const READERS: usize = 20;
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let writer = net.add_peer("writer", CLIENT_POLICY);
    net.connect(writer, server);
    let doc = net.create_doc(writer, doc_with("note", "first"));
    let readers: Vec<_> = (0..READERS)
        .map(|i| {
            let reader = net.add_peer(&format!("reader{i}"), CLIENT_POLICY);
            net.connect(reader, server);
            net.find(reader, &doc);
            reader
        })
        .collect();
    let asked = |net: &Net| {
        let peer = net.peer(server);
        let actor = peer.actor_for(&doc).expect("loaded");
        peer.actors[&actor].peers_asked()
    };

    let before = asked(&net);
    net.change(writer, &doc, |d| put(d, "note", "second"));
    let heads = net.peer(writer).heads(&doc);
    for &reader in &readers {
        assert_eq!(net.peer(reader).heads(&doc), heads, "a reader missed it");
        let reader_doc = net.peer(reader).doc(&doc).expect("reader has it");
        assert_eq!(get(reader_doc, "note").as_deref(), Some("second"));
    }
    // The note's arrival asks all 21 peers (the heads changed) and each of
    // the 20 answers asks its own reader: about 2 x 21. Asking everyone
    // after every answer was 21 x 21.
    let peers = READERS as u64 + 1;
    let work = asked(&net) - before;
    assert!(
        work <= 3 * peers,
        "{work} peers asked for one note among {peers} peers"
    );
}
