//! Change 3 (vendor/README.md): a peer only learns that we have a change
//! (our heads in a sync message) once the change is stored.
mod support;

use support::{CLIENT_POLICY, Net, doc_with, get, put};

#[test]
fn change_is_acknowledged_only_after_it_is_stored() {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let phone = net.add_peer("phone", CLIENT_POLICY);
    let reader = net.add_peer("reader", CLIENT_POLICY);
    let (phone_conn, _) = net.connect(phone, server);
    net.connect(reader, server);
    let doc = net.create_doc(phone, doc_with("note", "one"));
    net.find(reader, &doc);

    net.peer_mut(server).hold_puts = true;
    net.change(phone, &doc, |d| put(d, "note", "two"));
    let new_heads = net.peer(phone).heads(&doc);

    // The server applied the change but its write has not completed.
    assert_eq!(net.peer(server).heads(&doc), new_heads);
    assert!(net.peer(server).held_put_count() > 0);
    let acked = net
        .peer(phone)
        .peer_state(&doc, phone_conn)
        .and_then(|s| s.their_heads)
        .unwrap_or_default();
    assert_ne!(acked, new_heads, "acknowledged before the write completed");
    // The reader does not have the change, so our heads acknowledge nothing
    // of its own: it is not kept waiting for the disk (change 19).
    assert_eq!(
        get(net.peer(reader).doc(&doc).unwrap(), "note").as_deref(),
        Some("two")
    );

    net.peer_mut(server).hold_puts = false;
    net.release_puts(server);
    let acked = net
        .peer(phone)
        .peer_state(&doc, phone_conn)
        .and_then(|s| s.their_heads)
        .unwrap_or_default();
    assert_eq!(
        acked, new_heads,
        "not acknowledged after the write completed"
    );
    assert_eq!(
        get(net.peer(reader).doc(&doc).unwrap(), "note").as_deref(),
        Some("two")
    );
}

#[test]
fn loading_a_document_does_not_write_it_again() {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let phone = net.add_peer("phone", CLIENT_POLICY);
    let (phone_conn, _) = net.connect(phone, server);
    let doc = net.create_doc(phone, doc_with("note", "one"));
    for i in 0..15 {
        net.change(phone, &doc, |d| put(d, "note", &format!("v{i}")));
    }
    net.drop_connection(phone, phone_conn);
    net.unload_idle(server, std::time::Duration::ZERO);
    assert!(net.peer(server).doc(&doc).is_none());

    // Reload: nothing new, so nothing is written.
    net.peer_mut(server).hold_puts = true;
    let reader = net.add_peer("reader", CLIENT_POLICY);
    net.connect(reader, server);
    net.find(reader, &doc);
    assert_eq!(
        net.peer(server).held_put_count(),
        0,
        "reload rewrote the document"
    );
    assert_eq!(net.peer(reader).heads(&doc), net.peer(phone).heads(&doc));
}
