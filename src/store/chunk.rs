//! Recognising a damaged chunk file before automerge sees it.
//!
//! A stored chunk is one or more automerge chunks back to back: 4 magic
//! bytes, a 4-byte checksum (the first bytes of SHA-256 over the type byte,
//! the LEB128 length and the data), the type byte, the length and the data.
//! Checking the framing and checksum catches truncation and garbling cheaply
//! (no document is rebuilt). Compressed change chunks carry the checksum of
//! their uncompressed form, so those, and any chunk type we don't know, are
//! handed to automerge's own strict loader instead.

use automerge::{Automerge, AutomergeError, LoadOptions, OnPartialLoad, VerificationMode};
use sha2::{Digest, Sha256};

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Ok if every chunk in `bytes` is complete and its checksum matches;
/// otherwise a short reason for the operator.
pub(crate) fn validate(bytes: &[u8]) -> Result<(), String> {
    if bytes.is_empty() {
        return Err("empty file".into());
    }
    let mut rest = bytes;
    let mut index = 0;
    while !rest.is_empty() {
        let len = validate_one(rest).map_err(|e| format!("chunk {index}: {e}"))?;
        rest = &rest[len..];
        index += 1;
    }
    Ok(())
}

/// Validates the chunk at the start of `bytes` and returns its total length.
fn validate_one(bytes: &[u8]) -> Result<usize, String> {
    if bytes.len() < 9 {
        return Err("truncated header".into());
    }
    if bytes[..4] != MAGIC {
        return Err("not an automerge chunk (bad magic bytes)".into());
    }
    let checksum = &bytes[4..8];
    let chunk_type = bytes[8];
    let (data_len, leb_len) = read_uleb(&bytes[9..]).ok_or("truncated or invalid length")?;
    let header_len = 9 + leb_len;
    let data_len = usize::try_from(data_len).map_err(|_| "length out of range")?;
    let total = header_len
        .checked_add(data_len)
        .ok_or("length out of range")?;
    if bytes.len() < total {
        return Err(format!(
            "truncated: header says {data_len} bytes of data, {} present",
            bytes.len() - header_len
        ));
    }
    let data = &bytes[header_len..total];
    match chunk_type {
        // Document, change, bundle: the checksum covers the bytes as stored.
        0 | 1 | 3 => {
            let mut hasher = Sha256::new();
            hasher.update([chunk_type]);
            hasher.update(uleb(data_len as u64));
            hasher.update(data);
            let hash = hasher.finalize();
            if hash[..4] != *checksum {
                return Err("checksum mismatch (garbled data)".into());
            }
        }
        _ => strict_load(&bytes[..total])?,
    }
    Ok(total)
}

/// Loads `bytes` alone with automerge, failing on any partial load. Missing
/// dependencies are fine: a chunk's history usually lives in other chunks.
pub(crate) fn strict_load(bytes: &[u8]) -> Result<(), String> {
    let options = LoadOptions::new()
        .on_partial_load(OnPartialLoad::Error)
        .verification_mode(VerificationMode::Check);
    match Automerge::load_with_options(bytes, options) {
        Ok(_) | Err(AutomergeError::MissingDeps) => Ok(()),
        Err(e) => Err(format!("automerge cannot load it: {e}")),
    }
}

fn read_uleb(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn uleb(mut v: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(10);
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    fn doc_with_text(n: usize) -> AutoCommit {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "text", "x".repeat(n)).unwrap();
        doc
    }

    #[test]
    fn real_chunks_validate() {
        let mut doc = doc_with_text(300);
        assert_eq!(validate(&doc.save()), Ok(()));
        assert_eq!(validate(&doc.save_nocompress()), Ok(()));
        doc.put(ROOT, "more", 1).unwrap();
        let inc = doc.save_incremental();
        doc.put(ROOT, "more", 2).unwrap();
        // Two change chunks back to back, as automerge-repo JS writes them.
        let mut two = inc.clone();
        two.extend(doc.save_incremental());
        assert_eq!(validate(&inc), Ok(()));
        assert_eq!(validate(&two), Ok(()));
        for change in doc.get_changes(&[]) {
            assert_eq!(validate(change.raw_bytes()), Ok(()));
        }
    }

    #[test]
    fn truncation_and_garbling_are_caught() {
        let mut doc = doc_with_text(500);
        let bytes = doc.save();
        assert!(validate(&[]).is_err());
        for cut in [1, 5, 9, 10, bytes.len() / 2, bytes.len() - 1] {
            assert!(validate(&bytes[..cut]).is_err(), "cut at {cut} passed");
        }
        for at in [0, 5, 8, 20, bytes.len() / 2, bytes.len() - 1] {
            let mut garbled = bytes.clone();
            garbled[at] ^= 0x55;
            assert!(validate(&garbled).is_err(), "garbled at {at} passed");
        }
        let mut trailing = bytes.clone();
        trailing.extend_from_slice(b"junk");
        assert!(validate(&trailing).is_err());
    }
}
