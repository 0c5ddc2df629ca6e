//! The document shapes (see docs/schema.md, the contract with the phones):
//! writing them from the server, and reading them tolerantly, since any
//! document may have been touched by a client or come from an older version.
//!
//! Reading never panics: a wrong type is a [`SchemaError`].

pub mod article;
pub mod library;
pub mod notes;

use automerge::Automerge;
use automerge::transaction::{CommitOptions, Transactable, Transaction};
use automerge::{AutomergeError, ObjId, ObjType, ReadDoc, ScalarValue, Value};

/// A document from its stored chunks, in any order. A damaged chunk is the
/// store's to report (`store::check`, quarantine); what loads is kept.
pub fn load_chunks<'a>(chunks: impl IntoIterator<Item = &'a Vec<u8>>) -> Automerge {
    let mut doc = Automerge::new();
    for bytes in chunks {
        let _ = doc.load_incremental(bytes);
    }
    doc
}

/// Something in a document is not the shape the schema promises.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("missing field `{0}`")]
    Missing(String),
    #[error("field `{field}` is not {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
    },
    #[error("expected a `{expected}` document, found schema `{found}`")]
    WrongSchema {
        expected: &'static str,
        found: String,
    },
    #[error("`{schema}` version {version} is newer than this server knows")]
    UnsupportedVersion { schema: &'static str, version: i64 },
    #[error("automerge: {0}")]
    Automerge(#[from] AutomergeError),
}

fn wrong(field: &str, expected: &'static str) -> SchemaError {
    SchemaError::WrongType {
        field: field.to_owned(),
        expected,
    }
}

/// What a map holds at one key: its value and the id of the op (or object).
type Found<'a> = Option<(Value<'a>, ObjId)>;

/// A string field: a scalar string, or a text object (JS automerge 3 writes
/// strings as text by default). `None` when absent.
pub(crate) fn get_str(
    doc: &impl ReadDoc,
    obj: &ObjId,
    key: &str,
    field: &str,
) -> Result<Option<String>, SchemaError> {
    str_value(doc, doc.get(obj, key)?, field)
}

fn str_value(
    doc: &impl ReadDoc,
    found: Found<'_>,
    field: &str,
) -> Result<Option<String>, SchemaError> {
    match found {
        None => Ok(None),
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(s) => Ok(Some(s.to_string())),
            _ => Err(wrong(field, "a string")),
        },
        Some((Value::Object(ObjType::Text), id)) => Ok(Some(doc.text(&id)?)),
        Some((Value::Object(_), _)) => Err(wrong(field, "a string")),
    }
}

/// A string field that is "" when absent.
pub(crate) fn str_or_empty(
    doc: &impl ReadDoc,
    obj: &ObjId,
    key: &str,
    field: &str,
) -> Result<String, SchemaError> {
    Ok(get_str(doc, obj, key, field)?.unwrap_or_default())
}

pub(crate) fn required_str(
    doc: &impl ReadDoc,
    obj: &ObjId,
    key: &str,
    field: &str,
) -> Result<String, SchemaError> {
    get_str(doc, obj, key, field)?.ok_or_else(|| SchemaError::Missing(field.to_owned()))
}

pub(crate) fn get_bool(
    doc: &impl ReadDoc,
    obj: &ObjId,
    key: &str,
    field: &str,
) -> Result<Option<bool>, SchemaError> {
    bool_value(doc.get(obj, key)?, field)
}

fn bool_value(found: Found<'_>, field: &str) -> Result<Option<bool>, SchemaError> {
    match found {
        None => Ok(None),
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Boolean(b) => Ok(Some(*b)),
            ScalarValue::Null => Ok(None),
            _ => Err(wrong(field, "a boolean")),
        },
        Some(_) => Err(wrong(field, "a boolean")),
    }
}

/// An integer field; JS writes integers as int, uint or (after arithmetic) f64.
pub(crate) fn get_int(
    doc: &impl ReadDoc,
    obj: &ObjId,
    key: &str,
    field: &str,
) -> Result<Option<i64>, SchemaError> {
    int_value(doc.get(obj, key)?, field)
}

fn int_value(found: Found<'_>, field: &str) -> Result<Option<i64>, SchemaError> {
    match found {
        None => Ok(None),
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Int(i) => Ok(Some(*i)),
            ScalarValue::Uint(u) => i64::try_from(*u)
                .map(Some)
                .map_err(|_| wrong(field, "an integer")),
            ScalarValue::F64(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(*f as i64)),
            ScalarValue::Null => Ok(None),
            _ => Err(wrong(field, "an integer")),
        },
        Some(_) => Err(wrong(field, "an integer")),
    }
}

/// All of a map's fields, read in one pass. Each `doc.get` seeks the key
/// from the start of the document's ops: for the library's 1,000 entries
/// of ten fields that was a sixth of the server's start-up.
pub(crate) struct Fields<'d, D> {
    doc: &'d D,
    values: std::collections::HashMap<String, (Value<'static>, ObjId)>,
}

impl<'d, D: ReadDoc> Fields<'d, D> {
    pub(crate) fn read(doc: &'d D, obj: &ObjId) -> Self {
        let values = doc
            .map_range(obj, ..)
            .map(|item| {
                let id = item.id();
                (item.key.into_owned(), (Value::from(item.value), id))
            })
            .collect();
        Fields { doc, values }
    }

    fn take(&mut self, key: &str) -> Found<'static> {
        self.values.remove(key)
    }

    pub(crate) fn str(&mut self, key: &str, field: &str) -> Result<Option<String>, SchemaError> {
        let found = self.take(key);
        str_value(self.doc, found, field)
    }

    pub(crate) fn str_or_empty(&mut self, key: &str, field: &str) -> Result<String, SchemaError> {
        Ok(self.str(key, field)?.unwrap_or_default())
    }

    pub(crate) fn required_str(&mut self, key: &str, field: &str) -> Result<String, SchemaError> {
        self.str(key, field)?
            .ok_or_else(|| SchemaError::Missing(field.to_owned()))
    }

    pub(crate) fn bool(&mut self, key: &str, field: &str) -> Result<Option<bool>, SchemaError> {
        bool_value(self.take(key), field)
    }

    pub(crate) fn int(&mut self, key: &str, field: &str) -> Result<Option<i64>, SchemaError> {
        int_value(self.take(key), field)
    }
}

/// The id of a map (or other object of `ty`) at `key`, if it is one.
pub(crate) fn get_obj(
    doc: &impl ReadDoc,
    obj: &ObjId,
    key: &str,
    ty: ObjType,
) -> Result<Option<ObjId>, SchemaError> {
    match doc.get(obj, key)? {
        Some((Value::Object(t), id)) if t == ty => Ok(Some(id)),
        _ => Ok(None),
    }
}

/// Checks `schema`/`version` at the root. A document without `schema` is not one of ours.
pub(crate) fn check_schema(
    doc: &impl ReadDoc,
    schema: &'static str,
    known_version: i64,
) -> Result<(), SchemaError> {
    let root = automerge::ROOT;
    let found = get_str(doc, &root, "schema", "schema")?.unwrap_or_default();
    if found != schema {
        return Err(SchemaError::WrongSchema {
            expected: schema,
            found,
        });
    }
    match get_int(doc, &root, "version", "version")? {
        Some(v) if v > known_version => Err(SchemaError::UnsupportedVersion { schema, version: v }),
        _ => Ok(()),
    }
}

/// Sets a scalar string unless it already holds exactly `value` (as a scalar).
pub(crate) fn put_str(
    tx: &mut Transaction<'_>,
    obj: &ObjId,
    key: &str,
    value: &str,
) -> Result<(), SchemaError> {
    let same = matches!(
        tx.get(obj, key)?,
        Some((Value::Scalar(s), _)) if matches!(s.as_ref(), ScalarValue::Str(cur) if cur == value)
    );
    if !same {
        tx.put(obj, key, value)?;
    }
    Ok(())
}

pub(crate) fn put_scalar(
    tx: &mut Transaction<'_>,
    obj: &ObjId,
    key: &str,
    value: ScalarValue,
) -> Result<(), SchemaError> {
    let same = matches!(
        tx.get(obj, key)?,
        Some((Value::Scalar(s), _)) if *s == value
    );
    if !same {
        tx.put(obj, key, value)?;
    }
    Ok(())
}

/// The object of `ty` at `key`, created (replacing whatever was there) if missing.
pub(crate) fn ensure_obj(
    tx: &mut Transaction<'_>,
    obj: &ObjId,
    key: &str,
    ty: ObjType,
) -> Result<ObjId, SchemaError> {
    match get_obj(tx, obj, key, ty)? {
        Some(id) => Ok(id),
        None => Ok(tx.put_object(obj, key, ty)?),
    }
}

/// Commits `tx` with `message` if it did anything; rolls it back otherwise,
/// so an unchanged import leaves the heads exactly as they were.
pub(crate) fn finish(tx: Transaction<'_>, message: &str) -> bool {
    if tx.pending_ops() == 0 {
        tx.rollback();
        false
    } else {
        tx.commit_with(CommitOptions::default().with_message(message.to_owned()));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::{Automerge, ROOT};

    #[test]
    fn readers_are_tolerant_and_typed() {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        tx.put(ROOT, "s", "x").unwrap();
        let t = tx.put_object(ROOT, "t", ObjType::Text).unwrap();
        tx.splice_text(&t, 0, 0, "text").unwrap();
        tx.put(ROOT, "n", 3_i64).unwrap();
        tx.put(ROOT, "u", 4_u64).unwrap();
        tx.put(ROOT, "f", 5.0_f64).unwrap();
        tx.put(ROOT, "half", 5.5_f64).unwrap();
        tx.put(ROOT, "b", true).unwrap();
        tx.put_object(ROOT, "m", ObjType::Map).unwrap();
        tx.commit();

        assert_eq!(
            get_str(&doc, &ROOT, "s", "s").unwrap().as_deref(),
            Some("x")
        );
        assert_eq!(
            get_str(&doc, &ROOT, "t", "t").unwrap().as_deref(),
            Some("text")
        );
        assert_eq!(get_str(&doc, &ROOT, "nope", "nope").unwrap(), None);
        assert!(matches!(
            get_str(&doc, &ROOT, "n", "n"),
            Err(SchemaError::WrongType { .. })
        ));
        assert!(get_str(&doc, &ROOT, "m", "m").is_err());
        assert!(matches!(
            required_str(&doc, &ROOT, "nope", "nope"),
            Err(SchemaError::Missing(_))
        ));
        assert_eq!(get_int(&doc, &ROOT, "n", "n").unwrap(), Some(3));
        assert_eq!(get_int(&doc, &ROOT, "u", "u").unwrap(), Some(4));
        assert_eq!(get_int(&doc, &ROOT, "f", "f").unwrap(), Some(5));
        assert!(get_int(&doc, &ROOT, "half", "half").is_err());
        assert!(get_int(&doc, &ROOT, "s", "s").is_err());
        assert_eq!(get_bool(&doc, &ROOT, "b", "b").unwrap(), Some(true));
        assert!(get_bool(&doc, &ROOT, "s", "s").is_err());
        assert!(get_obj(&doc, &ROOT, "m", ObjType::Map).unwrap().is_some());
        assert!(get_obj(&doc, &ROOT, "s", ObjType::Map).unwrap().is_none());
        let e = check_schema(&doc, "glosa/article", 1).unwrap_err();
        assert!(matches!(e, SchemaError::WrongSchema { .. }), "{e}");
    }

    #[test]
    fn newer_versions_are_refused() {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        tx.put(ROOT, "schema", "glosa/article").unwrap();
        tx.put(ROOT, "version", 2_i64).unwrap();
        tx.commit();
        assert!(matches!(
            check_schema(&doc, "glosa/article", 1),
            Err(SchemaError::UnsupportedVersion { version: 2, .. })
        ));
        assert!(check_schema(&doc, "glosa/article", 2).is_ok());
    }

    #[test]
    fn finish_without_ops_does_not_commit() {
        let mut doc = Automerge::new();
        let heads = doc.get_heads();
        let mut tx = doc.transaction();
        put_str(&mut tx, &ROOT, "a", "b").unwrap();
        assert!(finish(tx, "first"));
        let heads1 = doc.get_heads();
        assert_ne!(heads, heads1);
        let mut tx = doc.transaction();
        put_str(&mut tx, &ROOT, "a", "b").unwrap();
        put_scalar(&mut tx, &ROOT, "a", ScalarValue::Str("b".into())).unwrap();
        assert!(!finish(tx, "second"));
        assert_eq!(doc.get_heads(), heads1);
    }
}
