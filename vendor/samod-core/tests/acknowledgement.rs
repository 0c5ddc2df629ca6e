//! Change 4 (vendor/README.md): every peer is eventually told our heads once
//! they include its change, even when its reply to an older message reaches us
//! while the write of its change is in flight (the race seen with two phones
//! reconnecting to one notes document at the same moment).
mod support;

use automerge::ChangeHash;
use samod_core::{ConnectionId, DocumentId};
use support::{CLIENT_POLICY, Net, PeerIdx, doc_with, get, put};

/// The peer's view of the server's heads (what automerge-repo reports as the
/// server's acknowledged heads).
fn server_heads_seen_by(
    net: &Net,
    phone: PeerIdx,
    doc: &DocumentId,
    conn: ConnectionId,
) -> Vec<ChangeHash> {
    net.peer(phone)
        .peer_state(doc, conn)
        .and_then(|s| s.their_heads)
        .unwrap_or_default()
}

#[test]
fn reply_that_arrives_while_the_put_is_in_flight_does_not_swallow_the_ack() {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let a = net.add_peer("phone-a", CLIENT_POLICY);
    let b = net.add_peer("phone-b", CLIENT_POLICY);
    let (a_conn, _) = net.connect(a, server);
    let (b_conn, _) = net.connect(b, server);
    let doc = net.create_doc(a, doc_with("base", "0"));
    net.find(b, &doc);
    assert_eq!(net.peer(b).heads(&doc), net.peer(server).heads(&doc));

    // B's change leaves B but is slow to arrive.
    net.peer_mut(b).hold_outbox = true;
    net.change(b, &doc, |d| put(d, "b", "from b"));
    let b_change = net.peer(b).heads(&doc)[0];

    // Meanwhile A's change reaches the server, is stored, and goes to B,
    // built before the server has B's change. B merges it and answers with
    // its heads (A's and its own), no changes: queued behind its change.
    net.change(a, &doc, |d| put(d, "a", "from a"));
    assert_eq!(
        get(net.peer(b).doc(&doc).unwrap(), "a").as_deref(),
        Some("from a")
    );
    assert!(
        net.peer(b).outbox_len() >= 2,
        "B's change and its reply are queued"
    );

    // Both arrive while the server's write of B's change is in flight: the
    // server applies the change (and withholds its heads until stored), then
    // gets B's reply whose heads equal the server's current heads.
    net.peer_mut(server).hold_puts = true;
    net.peer_mut(b).hold_outbox = false;
    net.run();
    assert!(net.peer(server).held_put_count() > 0);
    assert_eq!(net.peer(server).heads(&doc), net.peer(b).heads(&doc));

    net.peer_mut(server).hold_puts = false;
    net.release_puts(server);

    let merged = net.peer(server).heads(&doc);
    assert!(merged.contains(&b_change));
    assert_eq!(net.peer(a).heads(&doc), merged, "A did not get B's change");
    assert_eq!(
        server_heads_seen_by(&net, a, &doc, a_conn),
        merged,
        "A was not told the server's heads"
    );
    assert!(
        server_heads_seen_by(&net, b, &doc, b_conn).contains(&b_change),
        "the server never told B that it has B's change"
    );
}

/// Two phones with offline changes reconnect at the same moment, in every
/// order of delivery the driver can produce by holding one side's messages or
/// the server's writes: each is eventually told the server has its change.
#[test]
fn concurrent_reconnects_each_get_their_change_acknowledged() {
    for hold_a in [false, true] {
        for hold_b in [false, true] {
            for hold_puts in [false, true] {
                let mut net = Net::new();
                let server = net.add_lazy_server();
                let a = net.add_peer("phone-a", CLIENT_POLICY);
                let b = net.add_peer("phone-b", CLIENT_POLICY);
                let (a_conn, _) = net.connect(a, server);
                let (b_conn, _) = net.connect(b, server);
                let doc = net.create_doc(a, doc_with("base", "0"));
                net.find(b, &doc);

                // Offline: both phones edit while their messages cannot leave.
                net.peer_mut(a).hold_outbox = true;
                net.peer_mut(b).hold_outbox = true;
                net.change(a, &doc, |d| put(d, "a", "offline a"));
                net.change(b, &doc, |d| put(d, "b", "offline b"));
                let a_change = net.peer(a).heads(&doc)[0];
                let b_change = net.peer(b).heads(&doc)[0];

                net.peer_mut(server).hold_puts = hold_puts;
                net.peer_mut(a).hold_outbox = hold_a;
                net.peer_mut(b).hold_outbox = hold_b;
                net.run();
                net.peer_mut(a).hold_outbox = false;
                net.peer_mut(b).hold_outbox = !hold_b;
                net.run();
                net.peer_mut(b).hold_outbox = false;
                net.peer_mut(server).hold_puts = false;
                net.release_puts(server);

                let case = format!("hold_a={hold_a} hold_b={hold_b} hold_puts={hold_puts}");
                let merged = net.peer(server).heads(&doc);
                assert_eq!(net.peer(a).heads(&doc), merged, "{case}");
                assert_eq!(net.peer(b).heads(&doc), merged, "{case}");
                assert!(
                    server_heads_seen_by(&net, a, &doc, a_conn).contains(&a_change),
                    "{case}: A's change never acknowledged"
                );
                assert!(
                    server_heads_seen_by(&net, b, &doc, b_conn).contains(&b_change),
                    "{case}: B's change never acknowledged"
                );
            }
        }
    }
}
