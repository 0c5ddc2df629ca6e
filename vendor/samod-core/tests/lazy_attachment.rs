//! Change 1 (vendor/README.md): with lazy incoming attachment, an accepted
//! connection is attached only to the documents its peer asks for, so what a
//! connection costs does not grow with the number of documents loaded.
mod support;

use support::{CLIENT_POLICY, Net, SERVER_POLICY, doc_with, get, put};

fn server_with_docs(
    net: &mut Net,
    lazy: bool,
    docs: usize,
) -> (usize, Vec<samod_core::DocumentId>) {
    let server = net.add_peer("server", SERVER_POLICY);
    net.peer_mut(server).hub.set_lazy_incoming_attachment(lazy);
    let ids = (0..docs)
        .map(|i| net.create_doc(server, doc_with("title", &format!("doc {i}"))))
        .collect();
    (server, ids)
}

#[test]
fn accepted_connection_is_attached_only_to_the_documents_it_requests() {
    let mut net = Net::new();
    let (server, docs) = server_with_docs(&mut net, true, 50);
    let client = net.add_peer("phone", CLIENT_POLICY);
    let (_client_conn, server_conn) = net.connect(client, server);

    assert!(net.peer(server).attached_docs(server_conn).is_empty());
    assert_eq!(net.peer(server).count_actor_messages("NewConnection"), 0);

    net.find(client, &docs[7]);
    let client_doc = net.peer(client).doc(&docs[7]).expect("client has the doc");
    assert_eq!(get(client_doc, "title").as_deref(), Some("doc 7"));
    assert_eq!(
        net.peer(server).attached_docs(server_conn),
        [docs[7].clone()].into_iter().collect()
    );
    assert_eq!(net.peer(server).count_actor_messages("NewConnection"), 1);
}

#[test]
fn eager_attachment_stays_the_default() {
    let mut net = Net::new();
    let (server, docs) = server_with_docs(&mut net, false, 20);
    let client = net.add_peer("phone", CLIENT_POLICY);
    let (_client_conn, server_conn) = net.connect(client, server);
    assert_eq!(
        net.peer(server).attached_docs(server_conn).len(),
        docs.len()
    );
}

#[test]
fn closing_a_connection_notifies_only_the_documents_it_used() {
    // Upstream told every loaded document about every closed connection.
    for lazy in [true, false] {
        let mut net = Net::new();
        let (server, docs) = server_with_docs(&mut net, lazy, 40);
        let client = net.add_peer("phone", CLIENT_POLICY);
        let (client_conn, _server_conn) = net.connect(client, server);
        net.find(client, &docs[3]);
        let before = net.peer(server).count_actor_messages("ConnectionClosed");
        net.drop_connection(client, client_conn);
        let closed = net.peer(server).count_actor_messages("ConnectionClosed") - before;
        let expected = if lazy { 1 } else { docs.len() };
        assert_eq!(closed, expected, "lazy={lazy}");
    }
}

#[test]
fn hub_work_per_message_does_not_grow_with_loaded_documents() {
    // One more sync message from a phone that uses one document produces the
    // same hub work with 5 or 200 documents loaded and 10 other phones online.
    let mut work = Vec::new();
    for docs in [5, 200] {
        let mut net = Net::new();
        let (server, ids) = server_with_docs(&mut net, true, docs);
        for i in 0..10 {
            let other = net.add_peer(&format!("other{i}"), CLIENT_POLICY);
            net.connect(other, server);
            net.find(other, &ids[1 + i % (ids.len() - 1)]);
        }
        let client = net.add_peer("phone", CLIENT_POLICY);
        net.connect(client, server);
        net.find(client, &ids[0]);
        let before = net.peer(server).actor_messages_log.len();
        net.change(client, &ids[0], |d| put(d, "note", "hello"));
        let server_doc = net.peer(server).doc(&ids[0]).unwrap();
        assert_eq!(get(server_doc, "note").as_deref(), Some("hello"));
        work.push(net.peer(server).actor_messages_log.len() - before);
    }
    assert_eq!(work[0], work[1], "actor messages for one change: {work:?}");
}

#[test]
fn document_created_by_a_client_reaches_a_lazy_server_and_other_clients() {
    let mut net = Net::new();
    let (server, _) = server_with_docs(&mut net, true, 3);
    let alice = net.add_peer("alice", CLIENT_POLICY);
    let bob = net.add_peer("bob", CLIENT_POLICY);
    net.connect(alice, server);
    net.connect(bob, server);
    let doc = net.create_doc(alice, doc_with("note", "from alice"));
    assert_eq!(
        get(net.peer(server).doc(&doc).expect("server has it"), "note").as_deref(),
        Some("from alice")
    );
    net.find(bob, &doc);
    assert_eq!(
        get(net.peer(bob).doc(&doc).expect("bob has it"), "note").as_deref(),
        Some("from alice")
    );
    // Live: alice's next change reaches bob through the server.
    net.change(alice, &doc, |d| put(d, "note", "edited"));
    assert_eq!(
        get(net.peer(bob).doc(&doc).unwrap(), "note").as_deref(),
        Some("edited")
    );
}

#[test]
fn request_for_an_unknown_document_is_answered_unavailable() {
    let mut net = Net::new();
    let (server, _) = server_with_docs(&mut net, true, 3);
    let client = net.add_peer("phone", CLIENT_POLICY);
    let (_, server_conn) = net.connect(client, server);
    let missing = samod_core::DocumentId::new(&mut rand::rng());
    net.find(client, &missing);
    let answered = net
        .peer(server)
        .sent
        .iter()
        .any(|(conn, msg)| *conn == server_conn && contains(msg, b"doc-unavailable"));
    assert!(answered, "server did not answer doc-unavailable");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
