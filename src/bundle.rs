//! The whole library as one download, for a phone's first install.
//!
//! Through the sync protocol a new phone fetches each document on its own:
//! a request, a sync message compressed by automerge's own deflate (column
//! by column, so little repeats are found), an acknowledgement, each in its
//! CBOR envelope. The bundle carries every listed document (the library,
//! each article, its notes) as an uncompressed automerge save, in one
//! stream compressed once with brotli: repeats across documents are found,
//! and the phone makes one request. The app imports it into its repo and
//! then syncs only what changed after the bundle's feed token.
//!
//! Format (all integers big-endian):
//! `GLB1`, a u32 length, a JSON header `{"token": "…", "documents":
//! [["<document id>", <byte length>], …]}`, then the documents' bytes in
//! that order.
//!
//! Documents are read from the store, not from samod, so building a bundle
//! loads no document into the sync engine. Everything acknowledged to a
//! phone is on disk (ARCHITECTURE.md, "Acknowledged means on disk"), and the
//! token is taken before reading: a write that lands during the build has a
//! later position in the feed, so the phone learns of it when it connects.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use samod::storage::StorageKey;
use serde::Serialize;

use crate::import::{Catalog, doc_id};
use crate::store::Store;
use crate::sync::feed::Feed;

pub const MAGIC: &[u8; 4] = b"GLB1";
/// A bundle this recent is served even if notes were written since: the
/// phone syncs those right after, and a busy discussion must not make
/// every first install rebuild it.
pub const REUSE_FOR: Duration = Duration::from_secs(300);
/// Brotli's best for a library of this size (built once, downloaded by every
/// new phone on 3G); above it, quality 9: several times faster on a
/// Raspberry Pi for a few percent more bytes.
const BEST_QUALITY_UP_TO: usize = 2 * 1024 * 1024;

/// One built bundle, in the encodings a client may ask for.
/// `Bytes`, so each response shares the one copy.
pub struct Bundle {
    pub seq: u64,
    pub built: Instant,
    pub documents: usize,
    pub identity: Bytes,
    pub brotli: Bytes,
    pub gzip: Bytes,
}

#[derive(Serialize)]
struct Header<'a> {
    token: &'a str,
    documents: Vec<(String, usize)>,
}

/// The documents a new phone needs, in the order it wants them: the
/// library, then each listed article and its notes.
fn documents(catalog: &Catalog) -> Vec<String> {
    let mut urls = vec![catalog.library_url.as_str()];
    for entry in catalog.listed() {
        urls.push(&entry.url);
        urls.push(&entry.notes);
    }
    urls.into_iter()
        .filter_map(doc_id)
        .map(|id| id.to_string())
        .collect()
}

/// Builds the bundle of `catalog`'s documents as they are in `store` now.
pub async fn build(store: &Store, catalog: &Catalog, feed: &Feed) -> Bundle {
    let (seq, token) = feed.position();
    let mut docs = Vec::new();
    for id in documents(catalog) {
        let chunks = store.document_chunks(&id).await;
        docs.push((id, chunks));
    }
    // Loading, saving and compressing are CPU work: off the async workers.
    tokio::task::spawn_blocking(move || {
        let built = encode(&token, docs);
        Bundle {
            seq,
            built: Instant::now(),
            documents: built.documents,
            brotli: compress_brotli(&built.bytes).into(),
            gzip: compress_gzip(&built.bytes).into(),
            identity: built.bytes.into(),
        }
    })
    .await
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "building the library bundle failed");
        Bundle {
            seq,
            built: Instant::now(),
            documents: 0,
            identity: Bytes::new(),
            brotli: Bytes::new(),
            gzip: Bytes::new(),
        }
    })
}

struct Encoded {
    bytes: Vec<u8>,
    documents: usize,
}

type Chunks = std::collections::HashMap<StorageKey, Vec<u8>>;

fn encode(token: &str, docs: Vec<(String, Chunks)>) -> Encoded {
    let mut header = Header {
        token,
        documents: Vec::new(),
    };
    let mut body = Vec::new();
    for (id, chunks) in docs {
        // Anything a damaged chunk held reaches the phone through sync.
        let doc = crate::schema::load_chunks(chunks.values());
        if doc.get_heads().is_empty() {
            continue;
        }
        let saved = doc.save_nocompress();
        header.documents.push((id, saved.len()));
        body.extend(saved);
    }
    let json = serde_json::to_vec(&header).unwrap_or_default();
    let mut bytes = Vec::with_capacity(8 + json.len() + body.len());
    bytes.extend(MAGIC);
    bytes.extend((json.len() as u32).to_be_bytes());
    bytes.extend(json);
    bytes.extend(body);
    Encoded {
        bytes,
        documents: header.documents.len(),
    }
}

fn compress_brotli(bytes: &[u8]) -> Vec<u8> {
    let quality = if bytes.len() <= BEST_QUALITY_UP_TO {
        11
    } else {
        9
    };
    crate::compress::brotli(bytes, quality)
}

fn compress_gzip(bytes: &[u8]) -> Vec<u8> {
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = w.write_all(bytes);
    w.finish().unwrap_or_default()
}

/// The last bundle built, rebuilt when the feed has moved on and it is
/// older than [`REUSE_FOR`]. One build at a time: phones that ask meanwhile
/// wait for it.
#[derive(Default)]
pub struct Cache {
    slot: tokio::sync::Mutex<Option<Arc<Bundle>>>,
}

impl Cache {
    pub async fn get(&self, store: &Store, catalog: &Catalog, feed: &Feed) -> Arc<Bundle> {
        let mut slot = self.slot.lock().await;
        if let Some(b) = slot.as_ref()
            && (b.seq == feed.position().0 || b.built.elapsed() < REUSE_FOR)
        {
            return b.clone();
        }
        let started = Instant::now();
        let fresh = Arc::new(build(store, catalog, feed).await);
        tracing::info!(
            documents = fresh.documents,
            bytes = fresh.identity.len(),
            brotli = fresh.brotli.len(),
            gzip = fresh.gzip.len(),
            ms = started.elapsed().as_millis() as u64,
            "library bundle built"
        );
        *slot = Some(fresh.clone());
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::Automerge;

    fn doc(text: &str) -> Vec<u8> {
        use automerge::transaction::Transactable;
        let mut d = automerge::AutoCommit::new();
        let _ = d.put(automerge::ROOT, "text", text);
        d.save()
    }

    #[test]
    fn the_format_is_magic_header_then_documents() {
        let key = StorageKey::from_parts(["a", "snapshot", "x"]).unwrap();
        let hello = doc("hello");
        let docs = vec![
            ("a".to_owned(), Chunks::from([(key.clone(), hello.clone())])),
            ("empty".to_owned(), Chunks::new()),
        ];
        let out = encode("e.7", docs).bytes;
        assert_eq!(&out[..4], MAGIC);
        let len = u32::from_be_bytes(out[4..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&out[8..8 + len]).unwrap();
        assert_eq!(header["token"], "e.7");
        // Documents with nothing stored are left out.
        assert_eq!(header["documents"].as_array().unwrap().len(), 1);
        assert_eq!(header["documents"][0][0], "a");
        let n = header["documents"][0][1].as_u64().unwrap() as usize;
        let body = &out[8 + len..];
        assert_eq!(body.len(), n);
        let loaded = Automerge::load(body).unwrap();
        assert_eq!(
            loaded.get_heads(),
            Automerge::load(&hello).unwrap().get_heads()
        );
    }

    #[test]
    fn compression_round_trips() {
        let bytes = b"the same words again and again and again".repeat(100);
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &compress_brotli(&bytes)[..], &mut out).unwrap();
        assert_eq!(out, bytes);
        let mut out = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&compress_gzip(&bytes)[..]),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, bytes);
    }
}
