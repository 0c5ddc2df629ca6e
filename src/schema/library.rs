//! The library document (`glosa/library`, version 1): one per server, the
//! list phones discover every article from. Written only by the server.

use automerge::transaction::Transaction;
use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue};
use serde::Serialize;

use super::{Fields, SchemaError, check_schema, ensure_obj, finish, get_obj, put_scalar, put_str};

pub const SCHEMA: &str = "glosa/library";
pub const VERSION: i64 = 1;

/// One article in the library.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Entry {
    pub slug: String,
    pub title: String,
    pub author: String,
    pub lang: String,
    pub published: String,
    pub summary: String,
    /// Body word count, for reading time.
    pub words: u64,
    /// `automerge:…` of the article document.
    pub url: String,
    /// `automerge:…` of its notes document.
    pub notes: String,
    pub withdrawn: bool,
}

fn ensure_root(tx: &mut Transaction<'_>) -> Result<ObjId, SchemaError> {
    put_str(tx, &ROOT, "schema", SCHEMA)?;
    put_scalar(tx, &ROOT, "version", ScalarValue::Int(VERSION))?;
    ensure_obj(tx, &ROOT, "articles", ObjType::Map)
}

/// Gives a new document the library's shape. Returns false (and commits
/// nothing) if it already has it.
pub fn init(doc: &mut Automerge) -> Result<bool, SchemaError> {
    let mut tx = doc.transaction();
    ensure_root(&mut tx)?;
    Ok(finish(tx, "library: init"))
}

/// Adds or updates the entry for `e.slug`, changing only what differs.
/// Returns false (and commits nothing) if it was already equal.
pub fn upsert(doc: &mut Automerge, e: &Entry) -> Result<bool, SchemaError> {
    let mut tx = doc.transaction();
    let articles = ensure_root(&mut tx)?;
    let entry = ensure_obj(&mut tx, &articles, &e.slug, ObjType::Map)?;
    for (key, value) in [
        ("slug", &e.slug),
        ("title", &e.title),
        ("author", &e.author),
        ("lang", &e.lang),
        ("published", &e.published),
        ("summary", &e.summary),
        ("url", &e.url),
        ("notes", &e.notes),
    ] {
        put_str(&mut tx, &entry, key, value)?;
    }
    let words = i64::try_from(e.words).unwrap_or(i64::MAX);
    put_scalar(&mut tx, &entry, "words", ScalarValue::Int(words))?;
    put_scalar(
        &mut tx,
        &entry,
        "withdrawn",
        ScalarValue::Boolean(e.withdrawn),
    )?;
    Ok(finish(tx, &format!("library: {}", e.slug)))
}

fn read_entry(doc: &Automerge, key: &str, entry: &ObjId) -> Result<Entry, SchemaError> {
    let field = |name: &str| format!("articles.{key}.{name}");
    let mut f = Fields::read(doc, entry);
    let words = f.int("words", &field("words"))?.unwrap_or(0);
    Ok(Entry {
        slug: f.required_str("slug", &field("slug"))?,
        title: f.str_or_empty("title", &field("title"))?,
        author: f.str_or_empty("author", &field("author"))?,
        lang: f.str_or_empty("lang", &field("lang"))?,
        published: f.str_or_empty("published", &field("published"))?,
        summary: f.str_or_empty("summary", &field("summary"))?,
        words: u64::try_from(words).unwrap_or(0),
        url: f.required_str("url", &field("url"))?,
        notes: f.str_or_empty("notes", &field("notes"))?,
        withdrawn: f.bool("withdrawn", &field("withdrawn"))?.unwrap_or(false),
    })
}

fn articles(doc: &Automerge) -> Result<ObjId, SchemaError> {
    check_schema(doc, SCHEMA, VERSION)?;
    get_obj(doc, &ROOT, "articles", ObjType::Map)?
        .ok_or_else(|| SchemaError::Missing("articles".to_owned()))
}

/// Every entry, withdrawn ones included, newest first (by `published`,
/// undated last), then by title.
pub fn entries(doc: &Automerge) -> Result<Vec<Entry>, SchemaError> {
    let articles = articles(doc)?;
    let mut out = Vec::new();
    for key in doc.keys(&articles) {
        let entry =
            get_obj(doc, &articles, &key, ObjType::Map)?.ok_or_else(|| SchemaError::WrongType {
                field: format!("articles.{key}"),
                expected: "a map",
            })?;
        out.push(read_entry(doc, &key, &entry)?);
    }
    // ISO dates sort as strings, and "" (undated) sorts last when descending.
    out.sort_by(|a, b| {
        b.published
            .cmp(&a.published)
            .then_with(|| a.title.cmp(&b.title))
            .then_with(|| a.slug.cmp(&b.slug))
    });
    Ok(out)
}

/// The entry for `slug`, if there is one.
pub fn get(doc: &Automerge, slug: &str) -> Result<Option<Entry>, SchemaError> {
    let articles = articles(doc)?;
    match get_obj(doc, &articles, slug, ObjType::Map)? {
        Some(entry) => Ok(Some(read_entry(doc, slug, &entry)?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    fn entry(slug: &str, title: &str, published: &str) -> Entry {
        Entry {
            slug: slug.to_owned(),
            title: title.to_owned(),
            author: "A".to_owned(),
            lang: "en".to_owned(),
            published: published.to_owned(),
            summary: "S".to_owned(),
            words: 1234,
            url: format!("automerge:{slug}doc"),
            notes: format!("automerge:{slug}notes"),
            withdrawn: false,
        }
    }

    #[test]
    fn init_is_idempotent() {
        let mut doc = Automerge::new();
        assert!(init(&mut doc).unwrap());
        let heads = doc.get_heads();
        assert!(!init(&mut doc).unwrap());
        assert_eq!(doc.get_heads(), heads);
        assert!(entries(&doc).unwrap().is_empty());
    }

    #[test]
    fn upsert_get_and_no_commit_when_equal() {
        let mut doc = Automerge::new();
        init(&mut doc).unwrap();
        let e = entry("a", "Alpha", "2024-01-01");
        assert!(upsert(&mut doc, &e).unwrap());
        let heads = doc.get_heads();
        assert!(!upsert(&mut doc, &e).unwrap());
        assert_eq!(doc.get_heads(), heads);
        assert_eq!(get(&doc, "a").unwrap(), Some(e.clone()));
        assert_eq!(get(&doc, "zzz").unwrap(), None);

        let mut changed = e.clone();
        changed.withdrawn = true;
        changed.words = 7;
        assert!(upsert(&mut doc, &changed).unwrap());
        assert_eq!(get(&doc, "a").unwrap(), Some(changed));
    }

    #[test]
    fn upsert_works_on_an_empty_document() {
        let mut doc = Automerge::new();
        assert!(upsert(&mut doc, &entry("a", "A", "")).unwrap());
        assert_eq!(entries(&doc).unwrap().len(), 1);
    }

    #[test]
    fn entries_are_newest_first_then_by_title() {
        let mut doc = Automerge::new();
        init(&mut doc).unwrap();
        for e in [
            entry("old", "Old", "2020-05-05"),
            entry("undated", "Undated", ""),
            entry("new-b", "Beta", "2025-09-26"),
            entry("new-a", "Alpha", "2025-09-26"),
            entry("mid", "Mid", "2023-01-01"),
        ] {
            upsert(&mut doc, &e).unwrap();
        }
        let slugs: Vec<_> = entries(&doc).unwrap().into_iter().map(|e| e.slug).collect();
        assert_eq!(slugs, ["new-a", "new-b", "mid", "old", "undated"]);
    }

    #[test]
    fn malformed_libraries_are_errors() {
        assert!(matches!(
            entries(&Automerge::new()),
            Err(SchemaError::WrongSchema { .. })
        ));
        let mut doc = Automerge::new();
        upsert(&mut doc, &entry("a", "A", "")).unwrap();
        let mut bad = doc.fork();
        let mut tx = bad.transaction();
        let (_, articles) = tx.get(ROOT, "articles").unwrap().unwrap();
        tx.put(&articles, "b", "not a map").unwrap();
        tx.commit();
        assert!(matches!(entries(&bad), Err(SchemaError::WrongType { .. })));
        let mut bad = doc.fork();
        let mut tx = bad.transaction();
        let (_, articles) = tx.get(ROOT, "articles").unwrap().unwrap();
        let (_, a) = tx.get(&articles, "a").unwrap().unwrap();
        tx.put(&a, "words", "many").unwrap();
        tx.commit();
        assert!(get(&bad, "a").is_err());
    }
}
