//! The notes document (`glosa/notes`, version 1): one per article, written by
//! clients. The server creates its shape and only reads it, tolerantly:
//! anything a client wrote may be malformed.

use automerge::{Automerge, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use super::{SchemaError, ensure_obj, finish, get_obj, put_scalar, put_str};

pub const SCHEMA: &str = "glosa/notes";
pub const VERSION: i64 = 1;
/// Longest note or reply text, in characters; clients enforce it.
pub const MAX_NOTE_CHARS: usize = 4000;
/// A notes document larger than this (saved) is refused by the server.
pub const MAX_DOC_BYTES: usize = 4 * 1024 * 1024;

/// Gives a new notes document its shape for the article `slug`. Returns false
/// (and commits nothing) if it already has it. Never touches existing notes.
pub fn init(doc: &mut Automerge, slug: &str) -> Result<bool, SchemaError> {
    let mut tx = doc.transaction();
    put_str(&mut tx, &ROOT, "schema", SCHEMA)?;
    put_scalar(&mut tx, &ROOT, "version", ScalarValue::Int(VERSION))?;
    put_str(&mut tx, &ROOT, "article", slug)?;
    ensure_obj(&mut tx, &ROOT, "notes", ObjType::Map)?;
    Ok(finish(tx, &format!("notes: init {slug}")))
}

/// The number of notes not deleted. Malformed entries (not maps) are
/// skipped; a missing or malformed `notes` counts as none.
pub fn count(doc: &Automerge) -> usize {
    let Ok(Some(notes)) = get_obj(doc, &ROOT, "notes", ObjType::Map) else {
        return 0;
    };
    doc.keys(&notes)
        .filter(|key| match doc.get(&notes, key.as_str()) {
            Ok(Some((Value::Object(ObjType::Map), note))) => !matches!(
                doc.get(&note, "deleted"),
                Ok(Some((Value::Scalar(s), _))) if matches!(s.as_ref(), ScalarValue::Boolean(true))
            ),
            _ => false,
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    #[test]
    fn init_then_count() {
        let mut doc = Automerge::new();
        assert!(init(&mut doc, "a-slug").unwrap());
        let heads = doc.get_heads();
        assert!(!init(&mut doc, "a-slug").unwrap());
        assert_eq!(doc.get_heads(), heads);
        assert_eq!(count(&doc), 0);
        assert_eq!(
            super::super::get_str(&doc, &ROOT, "article", "article")
                .unwrap()
                .as_deref(),
            Some("a-slug")
        );
    }

    #[test]
    fn counts_live_notes_and_skips_malformed_ones() {
        let mut doc = Automerge::new();
        init(&mut doc, "s").unwrap();
        let mut tx = doc.transaction();
        let (_, notes) = tx.get(ROOT, "notes").unwrap().unwrap();
        for (id, deleted) in [("n1", None), ("n2", Some(false)), ("n3", Some(true))] {
            let note = tx.put_object(&notes, id, ObjType::Map).unwrap();
            tx.put(&note, "id", id).unwrap();
            let text = tx.put_object(&note, "text", ObjType::Text).unwrap();
            tx.splice_text(&text, 0, 0, "a note").unwrap();
            if let Some(d) = deleted {
                tx.put(&note, "deleted", d).unwrap();
            }
        }
        tx.put(&notes, "junk", 5_i64).unwrap();
        tx.put_object(&notes, "list", ObjType::List).unwrap();
        let odd = tx.put_object(&notes, "odd", ObjType::Map).unwrap();
        tx.put(&odd, "deleted", "yes").unwrap();
        tx.commit();
        // n1, n2 and "odd" (its `deleted` is not `true`).
        assert_eq!(count(&doc), 3);
    }

    #[test]
    fn count_tolerates_missing_or_wrong_notes() {
        assert_eq!(count(&Automerge::new()), 0);
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        tx.put(ROOT, "notes", "nope").unwrap();
        tx.commit();
        assert_eq!(count(&doc), 0);
        // init repairs the shape without failing.
        assert!(init(&mut doc, "s").unwrap());
        assert_eq!(count(&doc), 0);
    }
}
