//! Change 5 (vendor/README.md): the hub builds a connection's info (a clone
//! of its whole per-document map) for a `StateChanged` event only while
//! reporting is on. samod turns it off until `connected_peers` has a
//! listener; upstream built one per connection per message.
mod support;

use support::{CLIENT_POLICY, Net, SERVER_POLICY, doc_with, get, put};

/// A phone fetches 20 documents and changes one; returns the server's
/// `StateChanged` count.
fn state_changes_while_syncing(report: bool) -> usize {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    net.peer_mut(server).hub.set_report_connection_info(report);
    let docs: Vec<_> = (0..20)
        .map(|i| net.create_doc(server, doc_with("title", &format!("doc {i}"))))
        .collect();
    let client = net.add_peer("phone", CLIENT_POLICY);
    net.connect(client, server);
    for doc in &docs {
        net.find(client, doc);
    }
    net.change(client, &docs[3], |d| put(d, "note", "hello"));
    net.run();
    // Syncing works the same either way.
    let server_doc = net.peer(server).doc(&docs[3]).expect("server has the doc");
    assert_eq!(get(server_doc, "note").as_deref(), Some("hello"));
    net.peer(server).state_changed_events
}

#[test]
fn no_connection_info_is_built_while_reporting_is_off() {
    // Only the one announcing the new connection (its map is empty then),
    // none per message.
    assert_eq!(state_changes_while_syncing(false), 1);
}

#[test]
fn reporting_stays_on_by_default_and_reports_every_change() {
    // On (the default), every message dirties the connection: many events.
    assert!(state_changes_while_syncing(true) > 20);
    let mut net = Net::new();
    let server = net.add_peer("server", SERVER_POLICY);
    let client = net.add_peer("phone", CLIENT_POLICY);
    net.connect(client, server);
    assert!(net.peer(server).state_changed_events > 0);
}
