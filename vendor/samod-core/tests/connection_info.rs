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

/// The server's view of the phone's heads for `doc`, from its connection info.
fn their_heads_in_info(
    net: &Net,
    server: support::PeerIdx,
    doc: &samod_core::DocumentId,
) -> Option<Vec<automerge::ChangeHash>> {
    net.peer(server)
        .hub
        .connections()
        .iter()
        .find_map(|info| info.docs.get(doc))
        .and_then(|state| state.their_heads.clone())
}

/// Change 23: the document actors send the hub their peers' states only
/// while something reads connection info; turning reporting on asks every
/// actor for the states it has, so the next reader sees them.
#[test]
fn peer_states_reach_the_hub_only_once_something_reads_them() {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    net.peer_mut(server).hub.set_report_connection_info(false);
    let doc = net.create_doc(server, doc_with("title", "an article"));
    let phone = net.add_peer("phone", CLIENT_POLICY);
    net.connect(phone, server);
    net.find(phone, &doc);
    net.change(phone, &doc, |d| put(d, "note", "in the margin"));
    net.run();
    assert_eq!(net.peer(phone).heads(&doc), net.peer(server).heads(&doc));
    // Nothing was sent to the hub: its copy is the empty state it began with.
    assert_eq!(their_heads_in_info(&net, server, &doc), None);

    net.peer_mut(server).hub.set_report_connection_info(true);
    net.tick(server);
    assert_eq!(
        their_heads_in_info(&net, server, &doc),
        Some(net.peer(phone).heads(&doc)),
        "the actor should report the state it kept"
    );
    // And each change from now on.
    net.change(phone, &doc, |d| put(d, "note", "a second thought"));
    net.run();
    assert_eq!(
        their_heads_in_info(&net, server, &doc),
        Some(net.peer(phone).heads(&doc))
    );
}
