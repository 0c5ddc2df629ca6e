//! The automerge chunks a sync message carries, checked before automerge
//! loads them.
//!
//! automerge loads every chunk a sync message carries, and some chunks cost
//! far more memory than their size:
//!
//! - **Deflate bombs.** A compressed change chunk, or a document chunk's
//!   deflated columns, inflate up to about 1,000×: an 8 MiB message would
//!   become 8 GB. Here they are inflated first, into nothing, within a
//!   budget of [`MAX_INFLATED_BYTES`] per message.
//! - **Bundle chunks** (type 3). automerge 0.12 expands a bundle's
//!   delta-encoded column into a vector, and a run of billions of values
//!   fits in a few bytes: 552 bytes made it allocate over 2 GB
//!   (`fuzz/seeds/sync_message/oom-bundle`). automerge-repo never syncs a
//!   bundle (they come only from an explicit `bundle()` call), so any
//!   bundle is refused.
//!
//! What this module cannot parse is left to automerge, which refuses it at
//! no unusual cost: this is a guard against expansion, not a validator.

use std::io::Read;
use std::ops::Range;

/// Bytes that one message's compressed chunks may inflate to. A notes
/// document is refused above 4 MiB stored (compressed); its columns
/// uncompressed are a few times that.
pub const MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;

/// Every chunk starts with these, then a 4-byte checksum, a type byte and
/// the body's length (automerge's binary format, "Chunk container").
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const DOCUMENT: u8 = 0;
const COMPRESSED_CHANGE: u8 = 2;
const BUNDLE: u8 = 3;
/// The bit of a column specification that says its data is deflated.
const DEFLATE_BIT: u64 = 0b1000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("a bundle chunk, which automerge-repo never syncs and which can exhaust memory")]
    Bundle,
    #[error("compressed data that inflates beyond {MAX_INFLATED_BYTES} bytes")]
    Inflation,
}

/// Checks the chunks of one sync message (each item may hold several
/// chunks back to back, as automerge loads them).
pub fn check<'a>(changes: impl IntoIterator<Item = &'a [u8]>) -> Result<(), ChunkError> {
    let mut budget = MAX_INFLATED_BYTES;
    for bytes in changes {
        let mut rest = bytes;
        while let Some((kind, body, next)) = split_chunk(rest) {
            match kind {
                BUNDLE => return Err(ChunkError::Bundle),
                COMPRESSED_CHANGE => inflate(body, &mut budget)?,
                DOCUMENT => {
                    for column in deflated_columns(body).unwrap_or_default() {
                        inflate(&body[column], &mut budget)?;
                    }
                }
                _ => {}
            }
            rest = next;
        }
    }
    Ok(())
}

/// The first chunk of `bytes`: its type, its body and what follows it.
fn split_chunk(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let rest = bytes.strip_prefix(&MAGIC)?.get(4..)?;
    let (&kind, rest) = rest.split_first()?;
    let (len, rest) = uleb(rest)?;
    let len = usize::try_from(len).ok().filter(|&l| l <= rest.len())?;
    let (body, rest) = rest.split_at(len);
    Some((kind, body, rest))
}

/// Inflates `data` into nothing, charging what it yields to `budget`.
/// Data that is not valid deflate is left for automerge to refuse.
fn inflate(data: &[u8], budget: &mut u64) -> Result<(), ChunkError> {
    let mut inflated = flate2::bufread::DeflateDecoder::new(data).take(*budget + 1);
    let n = std::io::copy(&mut inflated, &mut std::io::sink()).unwrap_or(0);
    *budget = budget.checked_sub(n).ok_or(ChunkError::Inflation)?;
    Ok(())
}

/// Where a document chunk's deflated columns are, within its body. Its
/// layout: actors, heads, the change columns' and then the op columns'
/// specifications, then their data in the same order.
fn deflated_columns(body: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut r = body;
    let (actors, rest) = uleb(r)?;
    r = rest;
    for _ in 0..actors {
        let (len, rest) = uleb(r)?;
        r = rest.get(usize::try_from(len).ok()?..)?;
    }
    let (heads, rest) = uleb(r)?;
    r = rest.get(usize::try_from(heads).ok()?.checked_mul(32)?..)?;
    let mut columns = Vec::new();
    for _ in 0..2 {
        let (count, rest) = uleb(r)?;
        r = rest;
        for _ in 0..count {
            // Each step consumes bytes: a count beyond the chunk ends early.
            let (spec, rest) = uleb(r)?;
            let (len, rest) = uleb(rest)?;
            r = rest;
            columns.push((spec & DEFLATE_BIT != 0, usize::try_from(len).ok()?));
        }
    }
    let mut at = body.len() - r.len();
    let mut deflated = Vec::new();
    for (is_deflated, len) in columns {
        let end = at.checked_add(len).filter(|&e| e <= body.len())?;
        if is_deflated {
            deflated.push(at..end);
        }
        at = end;
    }
    Some(deflated)
}

/// An unsigned LEB128 number of at most 64 bits, and what follows it.
fn uleb(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use std::io::Write;

    fn uleb_bytes(mut n: u64, out: &mut Vec<u8>) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn chunk(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut c = MAGIC.to_vec();
        c.extend([0, 0, 0, 0, kind]);
        uleb_bytes(body.len() as u64, &mut c);
        c.extend(body);
        c
    }

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn real_changes_and_documents_pass() {
        let mut doc = automerge::AutoCommit::new();
        // Enough text that automerge deflates the saved document's columns.
        let text = doc
            .put_object(automerge::ROOT, "t", automerge::ObjType::Text)
            .unwrap();
        doc.splice_text(&text, 0, 0, &"a note in the margin ".repeat(2_000))
            .unwrap();
        let saved = doc.save();
        let columns = split_chunk(&saved)
            .and_then(|(_, body, _)| deflated_columns(body))
            .unwrap();
        assert!(
            !columns.is_empty(),
            "the saved document has deflated columns"
        );
        let changes: Vec<Vec<u8>> = doc
            .get_changes(&[])
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        assert!(check(changes.iter().map(Vec::as_slice)).is_ok());
        assert!(check([saved.as_slice()]).is_ok());
        // Several chunks in one item, as automerge loads them.
        let joined = [saved.clone(), saved].concat();
        assert!(check([joined.as_slice()]).is_ok());
    }

    #[test]
    fn refuses_bundles() {
        let bomb = include_bytes!("../../fuzz/seeds/sync_message/oom-bundle");
        let msg = automerge::sync::Message::decode(bomb).unwrap();
        assert_eq!(check(msg.changes.iter()), Err(ChunkError::Bundle));
        assert_eq!(
            check([chunk(BUNDLE, b"").as_slice()]),
            Err(ChunkError::Bundle)
        );
    }

    #[test]
    fn refuses_deflate_bombs() {
        let zeros = vec![0u8; (MAX_INFLATED_BYTES / 2 + 1) as usize];
        let bomb = chunk(COMPRESSED_CHANGE, &deflate(&zeros));
        assert!(bomb.len() < 200_000, "{}", bomb.len());
        // One is within the budget; two in one message are not.
        assert!(check([bomb.as_slice()]).is_ok());
        assert_eq!(
            check([bomb.as_slice(), bomb.as_slice()]),
            Err(ChunkError::Inflation)
        );

        // A document chunk: no actors, no heads, one deflated change
        // column, no op columns.
        let column = deflate(&vec![0u8; (MAX_INFLATED_BYTES + 1) as usize]);
        let mut body = vec![0, 0, 1];
        uleb_bytes(DEFLATE_BIT | 1, &mut body);
        uleb_bytes(column.len() as u64, &mut body);
        body.push(0);
        body.extend(&column);
        assert_eq!(
            check([chunk(DOCUMENT, &body).as_slice()]),
            Err(ChunkError::Inflation)
        );
    }

    #[test]
    fn leaves_what_it_cannot_parse_to_automerge() {
        for bytes in [
            &b""[..],
            b"not a chunk",
            &MAGIC[..],
            &chunk(COMPRESSED_CHANGE, b"not deflate")[..],
            &chunk(DOCUMENT, &[0xff; 40])[..],
            // A length beyond the message.
            &[0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, 0x7f],
        ] {
            assert_eq!(check([bytes]), Ok(()), "{bytes:x?}");
        }
        // A column count far beyond the chunk ends early.
        assert_eq!(deflated_columns(&[0, 0, 0xff, 0xff, 0x03]), None);
        assert_eq!(uleb(&[0xff; 11]), None);
        assert_eq!(uleb(&[0x80, 0x01]), Some((128, &[][..])));
    }
}
