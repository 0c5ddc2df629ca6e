use serde::{Deserialize, Serialize};
use std::str::FromStr;
use uuid::Uuid;

/// Unique identifier for an automerge document.
///
/// Document IDs are used throughout the sync protocol to identify which
/// document sync messages relate to. They are arbitrary byte arrays that
/// uniquely identify a document.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DocumentId(Uuid);

impl DocumentId {
    /// Creates a new random document ID.
    pub fn new<R: rand::Rng>(rng: &mut R) -> Self {
        let bytes: [u8; 16] = rng.random();
        let uuid = uuid::Builder::from_random_bytes(bytes).into_uuid();
        Self(uuid)
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

// Every sync message names its document as a bs58check string: two
// SHA-256 rounds and a base conversion each way. A note relayed to 200
// readers encodes the same id 200 times and decodes it 200 times as they
// answer: 5 % of the server's CPU (vendor/README.md §24). The last id
// seen each way, per thread, is kept.
thread_local! {
    static LAST_ENCODED: std::cell::RefCell<Option<(Uuid, String)>> =
        const { std::cell::RefCell::new(None) };
    static LAST_DECODED: std::cell::RefCell<Option<(String, Uuid)>> =
        const { std::cell::RefCell::new(None) };
}

impl DocumentId {
    fn write_bs58(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        LAST_ENCODED.with_borrow_mut(|last| {
            if last.as_ref().is_some_and(|(uuid, _)| *uuid != self.0) {
                *last = None;
            }
            let (_, text) = last
                .get_or_insert_with(|| (self.0, bs58::encode(&self.0).with_check().into_string()));
            f.write_str(text)
        })
    }
}

impl std::fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.write_bs58(f)
    }
}

impl std::fmt::Display for DocumentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.write_bs58(f)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("Invalid document ID: {0}")]
pub struct BadDocumentId(String);

impl TryFrom<Vec<u8>> for DocumentId {
    type Error = BadDocumentId;

    fn try_from(v: Vec<u8>) -> Result<Self, Self::Error> {
        match uuid::Uuid::from_slice(v.as_slice()) {
            Ok(id) => Ok(Self(id)),
            Err(e) => Err(BadDocumentId(format!("invalid uuid: {e}"))),
        }
    }
}

impl FromStr for DocumentId {
    type Err = BadDocumentId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let cached = LAST_DECODED.with_borrow(|last| match last {
            Some((text, uuid)) if text == s => Some(*uuid),
            _ => None,
        });
        if let Some(uuid) = cached {
            return Ok(Self(uuid));
        }
        match bs58::decode(s).with_check(None).into_vec() {
            Ok(bytes) => {
                let id = Self::try_from(bytes)?;
                LAST_DECODED.set(Some((s.to_string(), id.0)));
                Ok(id)
            }
            Err(_) => {
                // attempt to parse legacy UUID format
                let uuid = uuid::Uuid::parse_str(s).map_err(|_| {
                    BadDocumentId(
                        "expected either a bs58-encoded document ID or a UUID".to_string(),
                    )
                })?;
                Ok(Self(uuid))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(byte: u8) -> DocumentId {
        DocumentId(Uuid::from_bytes([byte; 16]))
    }

    /// The per-thread cache of the last id (§24) never answers for another.
    #[test]
    fn ids_alternating_keep_their_own_strings() {
        let (a, b) = (id(1), id(2));
        let uncached = |d: &DocumentId| bs58::encode(&d.0).with_check().into_string();
        for d in [&a, &b, &a, &a, &b] {
            let text = d.to_string();
            assert_eq!(text, uncached(d));
            assert_eq!(format!("{d:?}"), text);
            assert_eq!(&text.parse::<DocumentId>().expect("parses"), d);
        }
        let (ta, tb) = (a.to_string(), b.to_string());
        for (text, d) in [(&ta, &a), (&tb, &b), (&ta, &a)] {
            assert_eq!(&text.parse::<DocumentId>().expect("parses"), d);
        }
    }

    #[test]
    fn a_bad_id_after_a_good_one_is_still_refused() {
        let a = id(3);
        let text = a.to_string();
        assert_eq!(text.parse::<DocumentId>().expect("parses"), a);
        let mut bad = text.clone();
        bad.pop();
        assert!(bad.parse::<DocumentId>().is_err());
        assert!(format!("{text}x").parse::<DocumentId>().is_err());
        assert_eq!(text.parse::<DocumentId>().expect("parses"), a);
        let legacy = a.0.to_string();
        assert_eq!(legacy.parse::<DocumentId>().expect("a UUID parses"), a);
    }
}
