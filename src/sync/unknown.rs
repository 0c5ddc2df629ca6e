//! Messages about documents the server does not serve, answered here so
//! that samod never sees them.
//!
//! samod starts a document actor for every id it is asked about, even one
//! the share policy denies: it looks the id up on disk, keeps the actor
//! (about 20 KB) until the idle unloader stops it, and only then answers
//! `doc-unavailable`. A client asking for random ids made the server grow
//! by 100 MB in a few seconds. Every document Glosa serves is in the
//! catalog, so a `request` or `sync` for any other id gets the same
//! `doc-unavailable` samod would send, from the socket, at no cost; other
//! messages about such ids (`ephemeral`, …) are dropped.

use std::str::FromStr;

use samod::DocumentId;

use super::cbor;
use super::limits::{DocRef, Envelope};

/// The peer id the server gives itself; the `senderId` of its replies.
pub const SERVER_PEER_ID: &str = "glosa-server";

/// Where an incoming message goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// To samod: a message about a served document, or about none.
    Samod,
    /// Back to the client, from us: `doc-unavailable`.
    Reply(Vec<u8>),
    /// Nowhere.
    Drop,
}

/// Routes `env`; `served` says whether a document is one clients may see.
pub fn route(env: &Envelope<'_>, served: impl Fn(&DocumentId) -> bool) -> Route {
    let Some(doc) = env.document else {
        return Route::Samod;
    };
    let id = match doc {
        DocRef::Text(s) => DocumentId::from_str(s).ok(),
        DocRef::Bytes(b) => DocumentId::try_from(b.to_vec()).ok(),
    };
    // An id that does not parse is samod's to refuse, as it always has.
    let Some(id) = id else {
        return Route::Samod;
    };
    if served(&id) {
        return Route::Samod;
    }
    match (env.kind, env.sender) {
        ("request" | "sync", Some(client)) => Route::Reply(doc_unavailable(client, &id)),
        // Without a sender there is no one to answer; samod refuses it.
        ("request" | "sync", None) => Route::Samod,
        _ => Route::Drop,
    }
}

/// `{type: "doc-unavailable", senderId, targetId, documentId}`, encoded as
/// samod encodes it (`samod-core`'s `wire_protocol.rs`).
fn doc_unavailable(client: &str, id: &DocumentId) -> Vec<u8> {
    let id = id.to_string();
    cbor::string_map(&[
        ("type", "doc-unavailable"),
        ("senderId", SERVER_PEER_ID),
        ("targetId", client),
        ("documentId", id.as_str()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::limits::decode;

    fn id(n: u8) -> DocumentId {
        DocumentId::try_from(vec![n; 16]).expect("16 bytes make an id")
    }

    fn envelope<'a>(kind: &'a str, doc: Option<DocRef<'a>>) -> Envelope<'a> {
        Envelope {
            kind,
            sender: Some("phone-7"),
            document: doc,
            data: None,
            since: None,
        }
    }

    #[test]
    fn served_documents_and_messages_without_one_go_to_samod() {
        let known = id(1).to_string();
        let served = |d: &DocumentId| *d == id(1);
        assert_eq!(
            route(&envelope("request", Some(DocRef::Text(&known))), served),
            Route::Samod
        );
        assert_eq!(route(&envelope("join", None), served), Route::Samod);
        // Not an id at all: samod's to refuse.
        assert_eq!(
            route(&envelope("request", Some(DocRef::Text("nope"))), served),
            Route::Samod
        );
    }

    #[test]
    fn unknown_documents_get_doc_unavailable_as_samod_sends_it() {
        let unknown = id(2);
        let text = unknown.to_string();
        let bytes = unknown.as_bytes().to_vec();
        for doc in [DocRef::Text(&text), DocRef::Bytes(&bytes)] {
            for kind in ["request", "sync"] {
                let Route::Reply(reply) = route(&envelope(kind, Some(doc)), |_| false) else {
                    panic!("{kind} for an unknown document is answered");
                };
                let env = decode(&reply).unwrap();
                assert_eq!(env.kind, "doc-unavailable");
                assert_eq!(env.sender, Some(SERVER_PEER_ID));
                assert_eq!(env.document, Some(DocRef::Text(&text)));
                let target = String::from_utf8_lossy(&reply);
                assert!(target.contains("targetIdgphone-7"), "{target}");
            }
        }
        assert_eq!(
            route(&envelope("ephemeral", Some(DocRef::Text(&text))), |_| false),
            Route::Drop
        );
    }
}
