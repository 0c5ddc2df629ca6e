//! Many phones come back online at once with offline changes to the same
//! documents; every phone and the server must end with every change.
mod support;

use support::{CLIENT_POLICY, Net, doc_with, put};

#[test]
fn phones_reconnecting_at_once_all_converge() {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let docs: Vec<_> = (0..3)
        .map(|i| net.create_doc(server, doc_with("title", &format!("doc {i}"))))
        .collect();
    let phones: Vec<_> = (0..12)
        .map(|i| net.add_peer(&format!("phone{i}"), CLIENT_POLICY))
        .collect();
    let mut conns = Vec::new();
    for &phone in &phones {
        let (conn, _) = net.connect(phone, server);
        for doc in &docs {
            net.find(phone, doc);
        }
        conns.push(conn);
    }
    for (&phone, &conn) in phones.iter().zip(&conns) {
        net.drop_connection(phone, conn);
    }
    // Offline edits.
    for &phone in &phones {
        for doc in &docs {
            for n in 0..4 {
                let key = format!("note-{phone}-{n}");
                net.change(phone, doc, |d| put(d, &key, "offline"));
            }
        }
    }
    // Everyone reconnects at once: every handshake is queued before any is processed.
    for &phone in &phones {
        net.connect(phone, server);
    }
    for doc in &docs {
        let server_heads = net.peer(server).heads(doc);
        let server_doc = net.peer(server).doc(doc).unwrap();
        for &phone in &phones {
            for n in 0..4 {
                let key = format!("note-{phone}-{n}");
                assert!(
                    support::get(server_doc, &key).is_some(),
                    "server lacks {key}"
                );
            }
            assert_eq!(
                net.peer(phone).heads(doc),
                server_heads,
                "phone {phone} not converged"
            );
        }
    }
}
