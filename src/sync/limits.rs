//! What one `/sync` connection may send, checked before samod sees it.
//!
//! samod decodes every message itself, but two kinds of abuse cost us more
//! than they cost the sender:
//!
//! - **Asking for document ids at random.** Ids we do not serve are
//!   answered without samod (`unknown`), but each served document a
//!   connection asks for costs samod an actor until it is idle. So a
//!   connection may ask for many documents in a burst (a
//!   phone's first sync asks for the library, and for every article its
//!   text and its notes: about 2,000 for a library of 1,000 articles), then
//!   only a few per second; beyond that it is closed.
//! - **Bytes that are not a message.** Invalid CBOR, CBOR that is not a map
//!   with a string `type`, or a `request`/`sync` whose `data` is not an
//!   automerge sync message: the connection is closed with the reason,
//!   instead of samod logging a decode error and carrying on with it.
//!
//! Only the top-level map is decoded (by hand: the format is simple, and a
//! CBOR library would add code and its own limits to audit). Values of other
//! keys are skipped with a bound on their nesting, so no message can make
//! us recurse deeply or loop longer than its length.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

/// Distinct documents a connection may ask for at once: enough for a
/// phone's first sync of a 1,000-article library (2,001 documents) twice over.
pub const BURST_DOCS: u32 = 4_000;
/// After the burst, new documents per second. A phone asks for a new
/// document when an article is published; 50 a second is far beyond that.
pub const DOCS_PER_SECOND: u32 = 50;
/// Distinct documents one connection may ever ask for: a library of 2,499
/// articles. It bounds what one connection costs however slowly it asks,
/// and it is what surely cuts off a flood: the rate is measured as samod
/// takes messages, and a server too busy to take 50 a second never sees a
/// flood outrun the refill. A phone cut off here reconnects and goes on.
pub const MAX_DOCS_PER_CONNECTION: usize = 5_000;
/// Deepest nesting accepted in the values we skip. The protocol's deepest
/// value (`newHeads`: map → map → array) is 3 levels.
const MAX_DEPTH: usize = 16;

/// Why a connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("invalid CBOR: {0}")]
    InvalidCbor(&'static str),
    #[error("not an automerge-repo message: {0}")]
    NotAMessage(&'static str),
    #[error("a `{kind}` message for document {document} carries an invalid sync message: {error}")]
    InvalidSync {
        kind: String,
        document: String,
        error: String,
    },
    #[error(
        "asked for {count} distinct documents in {secs} s, more than the limit \
         ({BURST_DOCS} at once, then {DOCS_PER_SECOND}/s, {MAX_DOCS_PER_CONNECTION} in all)"
    )]
    TooManyDocuments { count: usize, secs: u64 },
}

impl Violation {
    /// The WebSocket close code (RFC 6455 §7.4.1) that says why.
    pub fn close_code(&self) -> u16 {
        match self {
            // Invalid frame payload data.
            Violation::InvalidCbor(_)
            | Violation::NotAMessage(_)
            | Violation::InvalidSync { .. } => 1007,
            // Policy violation.
            Violation::TooManyDocuments { .. } => 1008,
        }
    }
}

/// The document a message is about, as it came on the wire (samod accepts
/// both forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocRef<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
}

impl std::fmt::Display for DocRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Document ids are short base58 strings; cap what a hostile one puts in the log.
            DocRef::Text(s) => f.write_str(&s.chars().take(64).collect::<String>()),
            DocRef::Bytes(b) => write!(f, "<{} bytes>", b.len()),
        }
    }
}

/// The fields of a message this module looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// `join`, `request`, `sync`, … (unknown types are left to samod).
    pub kind: &'a str,
    /// The sender's peer id.
    pub sender: Option<&'a str>,
    pub document: Option<DocRef<'a>>,
    pub data: Option<&'a [u8]>,
    /// `glosa-since` only: the change-feed token the client last had
    /// (`feed`).
    pub since: Option<&'a str>,
}

/// Decodes the top-level map of an automerge-repo message.
///
/// Like samod, a key given twice counts with its last value, and bytes after
/// the map are ignored.
pub fn decode(msg: &[u8]) -> Result<Envelope<'_>, Violation> {
    let mut r = Reader { buf: msg, pos: 0 };
    let head = r.head()?;
    let entries = match head {
        Head::Len(MAP, n) => n,
        Head::Indefinite(MAP) => return Err(Violation::NotAMessage("the map has no length")),
        Head::Break => return Err(Violation::InvalidCbor("a break outside an indefinite item")),
        _ => return Err(Violation::NotAMessage("not a CBOR map")),
    };
    let mut kind = None;
    let mut sender = None;
    let mut document = None;
    let mut data = None;
    let mut since = None;
    for _ in 0..entries {
        let key = match r.head()? {
            Head::Len(TEXT, n) => r.text(n)?,
            _ => return Err(Violation::NotAMessage("a key is not a string")),
        };
        match key {
            "type" => match r.head()? {
                Head::Len(TEXT, n) => kind = Some(r.text(n)?),
                _ => return Err(Violation::NotAMessage("`type` is not a string")),
            },
            "senderId" => match r.head()? {
                Head::Len(TEXT, n) => sender = Some(r.text(n)?),
                _ => return Err(Violation::NotAMessage("`senderId` is not a string")),
            },
            "documentId" => match r.head()? {
                Head::Len(TEXT, n) => document = Some(DocRef::Text(r.text(n)?)),
                Head::Len(BYTES, n) => document = Some(DocRef::Bytes(r.take(n)?)),
                _ => return Err(Violation::NotAMessage("`documentId` is not a string")),
            },
            "data" => match r.head()? {
                Head::Len(BYTES, n) => data = Some(r.take(n)?),
                _ => return Err(Violation::NotAMessage("`data` is not a byte string")),
            },
            "since" => match r.head()? {
                Head::Len(TEXT, n) => since = Some(r.text(n)?),
                _ => return Err(Violation::NotAMessage("`since` is not a string")),
            },
            _ => r.skip(0)?,
        }
    }
    let kind = kind.ok_or(Violation::NotAMessage("no `type`"))?;
    Ok(Envelope {
        kind,
        sender,
        document,
        data,
        since,
    })
}

/// Checks a whole message: its envelope and, for the two kinds samod hands
/// to automerge, that `data` decodes as a sync message.
pub fn validate(msg: &[u8]) -> Result<Envelope<'_>, Violation> {
    let env = decode(msg)?;
    if matches!(env.kind, "request" | "sync") {
        let document = env.document.ok_or(Violation::NotAMessage(
            "a request or sync message without `documentId`",
        ))?;
        let data = env.data.ok_or(Violation::NotAMessage(
            "a request or sync message without `data`",
        ))?;
        let invalid = |error: String| Violation::InvalidSync {
            kind: env.kind.to_owned(),
            document: document.to_string(),
            error,
        };
        decode_sync(data).map_err(invalid)?;
    }
    Ok(env)
}

/// Decodes an automerge sync message, refusing what automerge would decode
/// and then panic on.
pub fn decode_sync(data: &[u8]) -> Result<automerge::sync::Message, String> {
    let msg = automerge::sync::Message::decode(data).map_err(|e| e.to_string())?;
    super::chunks::check(msg.changes.iter()).map_err(|e| e.to_string())?;
    if msg
        .have
        .iter()
        .any(|have| is_bitless_bloom(&have.bloom.to_bytes()))
    {
        return Err("a bloom filter with entries but no bits".to_owned());
    }
    // automerge 0.12 panicked on malformed bundle chunks (an unwrap in
    // hexane), now refused above; a panic in loading would kill samod's
    // actor for the document. So each change is also loaded into a scratch
    // document first, where a panic costs only this check. Found by
    // `fuzz/`; a change's deps need not be present for this.
    for change in msg.changes.iter() {
        let parsed = std::panic::catch_unwind(|| {
            automerge::Automerge::new().load_incremental(change).is_ok()
        });
        if parsed.is_err() {
            return Err("a change automerge cannot parse without panicking".to_owned());
        }
    }
    Ok(msg)
}

/// A bloom filter that counts entries but has no bits: automerge 0.12
/// decodes it, then divides by its size (zero) when it checks a change
/// against it (`sync/bloom.rs`, `get_probes`), and the panic kills samod's
/// actor for that document, so no phone gets it until a restart. Found by
/// `fuzz/` (target `sync_message`). Its wire form is three LEB128 numbers
/// (entries, bits per entry, probes), then the bits; empty means no filter.
fn is_bitless_bloom(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    for _ in 0..3 {
        // A LEB128 number ends at the first byte below 0x80.
        match rest.iter().position(|b| b & 0x80 == 0) {
            Some(end) => rest = &rest[end + 1..],
            None => return !bytes.is_empty(),
        }
    }
    !bytes.is_empty() && rest.is_empty()
}

/// The per-connection state: which documents it asked for, and its budget.
pub struct Limits {
    started: Instant,
    /// Keyed hashes of the document ids seen, not the ids: 8 bytes each.
    seen: HashSet<u64>,
    hasher: RandomState,
    /// New documents it may still ask for now (a token bucket).
    budget: f64,
    refilled: Instant,
}

impl Limits {
    pub fn new(now: Instant) -> Self {
        Limits {
            started: now,
            seen: HashSet::new(),
            hasher: RandomState::new(),
            budget: f64::from(BURST_DOCS),
            refilled: now,
        }
    }

    /// Distinct documents this connection has asked about.
    pub fn documents(&self) -> usize {
        self.seen.len()
    }

    /// Checks one incoming message; an error means: close the connection.
    pub fn check<'m>(&mut self, msg: &'m [u8], now: Instant) -> Result<Envelope<'m>, Violation> {
        let env = validate(msg)?;
        if let Some(doc) = env.document {
            self.count(doc, now)?;
        }
        Ok(env)
    }

    fn count(&mut self, doc: DocRef<'_>, now: Instant) -> Result<(), Violation> {
        let key = self.hasher.hash_one(doc);
        if self.seen.contains(&key) {
            return Ok(());
        }
        let elapsed = now.saturating_duration_since(self.refilled);
        self.refilled = now;
        self.budget = (self.budget + elapsed.as_secs_f64() * f64::from(DOCS_PER_SECOND))
            .min(f64::from(BURST_DOCS));
        if self.budget < 1.0 || self.seen.len() >= MAX_DOCS_PER_CONNECTION {
            return Err(Violation::TooManyDocuments {
                count: self.seen.len() + 1,
                secs: now.saturating_duration_since(self.started).as_secs(),
            });
        }
        self.budget -= 1.0;
        self.seen.insert(key);
        Ok(())
    }
}

/// `reason` cut to fit a close frame: its payload is at most 125 bytes
/// (RFC 6455 §5.5), two of them the code; a longer one makes the client see
/// a protocol error instead of our reason. The full reason is in our log.
pub fn close_reason(reason: &str) -> String {
    const MAX: usize = 123;
    if reason.len() <= MAX {
        return reason.to_owned();
    }
    let mut end = MAX - '…'.len_utf8();
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &reason[..end])
}

/// How long a connection must wait, after a full burst, before it may ask
/// for `n` more new documents. For tests and documentation.
pub fn refill_time(n: u32) -> Duration {
    Duration::from_secs_f64(f64::from(n) / f64::from(DOCS_PER_SECOND))
}

// CBOR major types (RFC 8949 §3.1).
const UINT: u8 = 0;
const NINT: u8 = 1;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const ARRAY: u8 = 4;
const MAP: u8 = 5;
const TAG: u8 = 6;
const SIMPLE: u8 = 7;

/// One item's initial byte and argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Head {
    /// A major type with its argument: a value, a length or a tag number.
    Len(u8, u64),
    /// A string, array or map of indefinite length.
    Indefinite(u8),
    /// The end of an indefinite item.
    Break,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], Violation> {
        let n = usize::try_from(n)
            .map_err(|_| Violation::InvalidCbor("a length beyond the message"))?;
        if n > self.remaining() {
            return Err(Violation::InvalidCbor("a length beyond the message"));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8, Violation> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or(Violation::InvalidCbor("the message ends inside an item"))?;
        self.pos += 1;
        Ok(b)
    }

    fn head(&mut self) -> Result<Head, Violation> {
        let initial = self.byte()?;
        let (major, info) = (initial >> 5, initial & 0x1f);
        let arg = match info {
            0..=23 => u64::from(info),
            24..=27 => {
                let bytes = self.take(1 << (info - 24))?;
                bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
            }
            28..=30 => {
                return Err(Violation::InvalidCbor(
                    "a reserved additional-information value",
                ));
            }
            _ => {
                return match major {
                    BYTES | TEXT | ARRAY | MAP => Ok(Head::Indefinite(major)),
                    SIMPLE => Ok(Head::Break),
                    _ => Err(Violation::InvalidCbor(
                        "an indefinite length on a number or tag",
                    )),
                };
            }
        };
        Ok(Head::Len(major, arg))
    }

    fn text(&mut self, n: u64) -> Result<&'a str, Violation> {
        std::str::from_utf8(self.take(n)?)
            .map_err(|_| Violation::InvalidCbor("a text string that is not UTF-8"))
    }

    /// Skips one item. Every step consumes at least one byte, so this ends
    /// within the message's length; nesting deeper than [`MAX_DEPTH`] is refused.
    fn skip(&mut self, depth: usize) -> Result<(), Violation> {
        if depth > MAX_DEPTH {
            return Err(Violation::NotAMessage("values nested too deeply"));
        }
        match self.head()? {
            Head::Len(UINT | NINT | SIMPLE, _) => Ok(()),
            Head::Len(BYTES | TEXT, n) => self.take(n).map(|_| ()),
            Head::Len(ARRAY, n) => self.skip_items(n, depth),
            Head::Len(MAP, n) => self.skip_items(n.saturating_mul(2), depth),
            Head::Len(TAG, _) => self.skip(depth + 1),
            Head::Len(..) => Err(Violation::InvalidCbor("an unknown major type")),
            Head::Indefinite(major @ (BYTES | TEXT)) => loop {
                // Chunks of the same major type with definite lengths, then a break.
                match self.head()? {
                    Head::Break => return Ok(()),
                    Head::Len(m, n) if m == major => {
                        self.take(n)?;
                    }
                    _ => {
                        return Err(Violation::InvalidCbor(
                            "a bad chunk in an indefinite string",
                        ));
                    }
                }
            },
            Head::Indefinite(major) => {
                let mut items = 0u64;
                loop {
                    if self.buf.get(self.pos) == Some(&0xff) {
                        self.pos += 1;
                        return if major == MAP && items % 2 == 1 {
                            Err(Violation::InvalidCbor("a map with a key and no value"))
                        } else {
                            Ok(())
                        };
                    }
                    self.skip(depth + 1)?;
                    items += 1;
                }
            }
            Head::Break => Err(Violation::InvalidCbor("a break outside an indefinite item")),
        }
    }

    fn skip_items(&mut self, n: u64, depth: usize) -> Result<(), Violation> {
        // Each item takes at least a byte: a count beyond the rest is a lie,
        // refused before looping over it.
        if n > self.remaining() as u64 {
            return Err(Violation::InvalidCbor("a length beyond the message"));
        }
        for _ in 0..n {
            self.skip(depth + 1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Definite lengths only, like cbor-x.
    use crate::sync::cbor::head;
    fn text(s: &str, out: &mut Vec<u8>) {
        head(TEXT, s.len() as u64, out);
        out.extend(s.as_bytes());
    }
    fn bytes(b: &[u8], out: &mut Vec<u8>) {
        head(BYTES, b.len() as u64, out);
        out.extend(b);
    }

    fn empty_sync_message() -> Vec<u8> {
        let doc = automerge::Automerge::new();
        let mut state = automerge::sync::State::new();
        use automerge::sync::SyncDoc;
        doc.generate_sync_message(&mut state)
            .expect("a first sync message")
            .encode()
    }

    /// `{type, documentId, senderId, targetId, data}` as automerge-repo sends it.
    fn message(kind: &str, doc: &str, data: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        head(MAP, 5, &mut m);
        text("type", &mut m);
        text(kind, &mut m);
        text("senderId", &mut m);
        text("phone-1", &mut m);
        text("targetId", &mut m);
        text("glosa-server", &mut m);
        text("documentId", &mut m);
        text(doc, &mut m);
        text("data", &mut m);
        bytes(data, &mut m);
        m
    }

    fn join() -> Vec<u8> {
        let mut m = Vec::new();
        head(MAP, 4, &mut m);
        text("type", &mut m);
        text("join", &mut m);
        text("senderId", &mut m);
        text("phone-1", &mut m);
        text("supportedProtocolVersions", &mut m);
        head(ARRAY, 1, &mut m);
        text("1", &mut m);
        text("peerMetadata", &mut m);
        head(MAP, 2, &mut m);
        text("storageId", &mut m);
        text("abc", &mut m);
        text("isEphemeral", &mut m);
        m.push(0xf4); // false
        m
    }

    #[test]
    fn close_reasons_fit_a_close_frame() {
        assert_eq!(close_reason("short"), "short");
        let long = "é".repeat(100);
        let cut = close_reason(&long);
        assert!(
            cut.len() <= 123 && cut.ends_with('…') && cut.starts_with("éé"),
            "{cut}"
        );
        let err = Violation::TooManyDocuments {
            count: 4001,
            secs: 3,
        }
        .to_string();
        assert!(close_reason(&err).len() <= 123);
    }

    #[test]
    fn decodes_what_automerge_repo_sends() {
        let sync = empty_sync_message();
        let msg = message("request", "3Y9Fj", &sync);
        let env = validate(&msg).unwrap();
        assert_eq!(env.kind, "request");
        assert_eq!(env.document, Some(DocRef::Text("3Y9Fj")));
        assert_eq!(env.data, Some(sync.as_slice()));
        let join = join();
        let env = validate(&join).unwrap();
        assert_eq!((env.kind, env.document, env.data), ("join", None, None));
        assert_eq!(env.sender, Some("phone-1"));
    }

    #[test]
    fn samod_decodes_what_we_accept() {
        // Our decoder and samod's agree on a real message.
        let msg = message(
            "sync",
            "2ZCTJzXKmq3ZdgArzbBxRD3Ahc4T",
            &empty_sync_message(),
        );
        assert!(validate(&msg).is_ok());
    }

    #[test]
    fn refuses_what_is_not_a_message() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "the message ends"),
            (vec![0xff, 0x00], "a break outside"),
            (b"hello".to_vec(), "not a CBOR map"),
            (vec![0x83, 1, 2, 3], "not a CBOR map"),
            (vec![0xbf, 0xff], "no length"),
            (vec![0xa1, 0x01, 0x01], "a key is not a string"),
            (
                vec![0xa1, 0x64, b't', b'y', b'p', b'e', 0x01],
                "`type` is not a string",
            ),
            (vec![0xa0], "no `type`"),
            (
                vec![0xa1, 0x64, b't', b'y', b'p', b'e', 0x62, 0xff, 0xfe],
                "not UTF-8",
            ),
            (
                vec![
                    0xa1, 0x64, b't', b'y', b'p', b'e', 0x7a, 0xff, 0xff, 0xff, 0xff,
                ],
                "beyond the message",
            ),
            (
                vec![
                    0xa1, 0x61, b'x', 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                ],
                "beyond the message",
            ),
            (vec![0xa1, 0x61, b'x', 0x1c], "reserved"),
            (
                vec![0xa1, 0x61, b'x', 0x1f],
                "indefinite length on a number",
            ),
        ];
        for (bytes, want) in cases {
            let err = validate(&bytes).unwrap_err().to_string();
            assert!(err.contains(want), "{bytes:x?}: {err} (wanted {want:?})");
        }
    }

    #[test]
    fn refuses_deep_nesting_without_recursing_far() {
        // Under an unknown key: a million nested arrays, definite and not.
        for open in [0x81u8, 0x9f] {
            let mut m = vec![
                0xa2, 0x64, b't', b'y', b'p', b'e', 0x64, b'j', b'o', b'i', b'n', 0x61, b'x',
            ];
            m.extend(std::iter::repeat_n(open, 1_000_000));
            let err = decode(&m).unwrap_err();
            assert_eq!(err, Violation::NotAMessage("values nested too deeply"));
        }
        // Shallow nesting is fine, indefinite or not.
        let mut m = vec![
            0xa2, 0x64, b't', b'y', b'p', b'e', 0x64, b'j', b'o', b'i', b'n', 0x61, b'x',
        ];
        m.extend([
            0x9f, 0x81, 0xbf, 0x61, b'k', 0x5f, 0x41, 0, 0xff, 0xff, 0xff,
        ]);
        assert_eq!(decode(&m).unwrap().kind, "join");
    }

    #[test]
    fn the_last_of_a_repeated_key_counts_as_in_samod() {
        let mut m = Vec::new();
        head(MAP, 2, &mut m);
        text("type", &mut m);
        text("sync", &mut m);
        text("type", &mut m);
        text("leave", &mut m);
        assert_eq!(decode(&m).unwrap().kind, "leave");
    }

    #[test]
    fn refuses_an_invalid_sync_message_in_request_or_sync() {
        for kind in ["request", "sync"] {
            let err = validate(&message(kind, "3Y9Fj", b"\x42not a sync message")).unwrap_err();
            assert!(matches!(err, Violation::InvalidSync { .. }), "{err}");
            assert_eq!(err.close_code(), 1007);
            let err = validate(&message(kind, "3Y9Fj", b"")).unwrap_err();
            assert!(matches!(err, Violation::InvalidSync { .. }), "{err}");
        }
        // Other kinds' data is not a sync message: not ours to judge.
        assert!(validate(&message("ephemeral", "3Y9Fj", b"anything")).is_ok());
    }

    #[test]
    fn refuses_a_bloom_filter_without_bits() {
        // version, no heads, no need, one have (no last sync; a bloom of one
        // entry, 0 bits per entry, 7 probes), no changes: found by fuzz/.
        let bad = [0x42, 0, 0, 1, 0, 3, 1, 0, 7, 0];
        let err = validate(&message("request", "3Y9Fj", &bad)).unwrap_err();
        assert!(err.to_string().contains("no bits"), "{err}");
        // Real filters pass: a have with bits, and none at all.
        let mut doc = automerge::AutoCommit::new();
        use automerge::transaction::Transactable;
        doc.put(automerge::ROOT, "k", 1).unwrap();
        let mut doc = doc.document().clone();
        let mut state = automerge::sync::State::new();
        use automerge::sync::SyncDoc;
        let first = doc.generate_sync_message(&mut state).unwrap();
        let mut peer = automerge::Automerge::new();
        let mut peer_state = automerge::sync::State::new();
        peer.receive_sync_message(&mut peer_state, first).unwrap();
        let reply = peer.generate_sync_message(&mut peer_state).unwrap();
        doc.receive_sync_message(&mut state, reply.clone()).unwrap();
        assert!(validate(&message("sync", "3Y9Fj", &reply.encode())).is_ok());
        assert!(!is_bitless_bloom(&[]));
        assert!(is_bitless_bloom(&[1, 0, 7]));
        // A bundle chunk that makes automerge panic (fuzz/seeds/sync_message/crash-hexane-bundle).
        let crash = include_bytes!("../../fuzz/seeds/sync_message/crash-hexane-bundle");
        let err = decode_sync(crash).unwrap_err();
        assert!(err.contains("bundle"), "{err}");
        let err = validate(&message("sync", "3Y9Fj", crash)).unwrap_err();
        assert!(matches!(err, Violation::InvalidSync { .. }), "{err}");
        assert!(is_bitless_bloom(&[0x81, 0x01, 0, 7]));
        assert!(!is_bitless_bloom(&[1, 10, 7, 0xff, 0x03]));
    }

    #[test]
    fn a_phone_syncing_a_big_library_is_not_limited() {
        let t0 = Instant::now();
        let mut limits = Limits::new(t0);
        let sync = empty_sync_message();
        // 1,000 articles: the library, each article and its notes, asked at
        // once; then every one of them again (sync messages), many times.
        for round in 0..3 {
            for i in 0..2_001 {
                let msg = message(
                    if round == 0 { "request" } else { "sync" },
                    &format!("doc{i}"),
                    &sync,
                );
                limits.check(&msg, t0).unwrap();
            }
        }
        assert_eq!(limits.documents(), 2_001);
    }

    #[test]
    fn random_ids_are_cut_off_after_the_burst_then_allowed_at_the_rate() {
        let t0 = Instant::now();
        let mut limits = Limits::new(t0);
        let sync = empty_sync_message();
        let ask = |limits: &mut Limits, i: u32, now| {
            limits
                .check(&message("request", &format!("r{i}"), &sync), now)
                .map(|_| ())
        };
        for i in 0..BURST_DOCS {
            ask(&mut limits, i, t0).unwrap();
        }
        let err = ask(&mut limits, BURST_DOCS, t0).unwrap_err();
        assert!(
            matches!(
                err,
                Violation::TooManyDocuments {
                    count: 4001,
                    secs: 0
                }
            ),
            "{err}"
        );
        assert_eq!(err.close_code(), 1008);
        // Asking again for a known one is free.
        ask(&mut limits, 7, t0).unwrap();
        // A second later, 50 more are allowed, and not 51.
        let t1 = t0 + Duration::from_secs(1);
        for i in 0..DOCS_PER_SECOND {
            ask(&mut limits, 10_000 + i, t1).unwrap();
        }
        assert!(ask(&mut limits, 20_000, t1).is_err());
        assert_eq!(refill_time(DOCS_PER_SECOND), Duration::from_secs(1));
    }

    #[test]
    fn a_slow_trickle_still_hits_the_total_cap() {
        let t0 = Instant::now();
        let mut limits = Limits::new(t0);
        let sync = empty_sync_message();
        let mut now = t0;
        let mut n = 0u32;
        let err = loop {
            // One new document every 100 ms: well under the rate.
            now += Duration::from_millis(100);
            if let Err(e) = limits
                .check(&message("sync", &format!("t{n}"), &sync), now)
                .map(|_| ())
            {
                break e;
            }
            n += 1;
        };
        assert_eq!(n as usize, MAX_DOCS_PER_CONNECTION);
        assert!(matches!(err, Violation::TooManyDocuments { .. }));
    }
}
