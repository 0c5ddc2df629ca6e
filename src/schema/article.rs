//! The article document (`glosa/article`, version 1): written only by the
//! importer from `content/<slug>.md`, read-only for clients.

use automerge::transaction::{Transactable, Transaction};
use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, TextEncoding, Value};
use serde::Serialize;

use super::{
    SchemaError, check_schema, ensure_obj, finish, get_bool, get_obj, put_scalar, put_str,
    required_str, str_or_empty,
};
use crate::content::SourceArticle;

pub const SCHEMA: &str = "glosa/article";
pub const VERSION: i64 = 1;

/// An article as read from its document.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Article {
    pub slug: String,
    pub title: String,
    pub author: String,
    pub lang: String,
    pub published: String,
    pub source: String,
    pub source_name: String,
    pub translator: String,
    pub summary: String,
    pub tags: Vec<String>,
    pub withdrawn: bool,
    pub body: String,
}

/// Writes `src` into the article document. Creates what is missing and
/// otherwise changes only what differs; the body is changed by a minimal
/// diff so cursors into unchanged passages keep their words. Clears
/// `withdrawn`. Returns whether it committed a change: an unchanged source
/// commits nothing and leaves the heads as they were.
pub fn apply(doc: &mut Automerge, src: &SourceArticle) -> Result<bool, SchemaError> {
    let mut tx = doc.transaction();
    write(&mut tx, src)?;
    Ok(finish(tx, &format!("import {}", src.slug)))
}

fn write(tx: &mut Transaction<'_>, src: &SourceArticle) -> Result<(), SchemaError> {
    let m = &src.meta;
    put_str(tx, &ROOT, "schema", SCHEMA)?;
    put_scalar(tx, &ROOT, "version", ScalarValue::Int(VERSION))?;
    for (key, value) in [
        ("slug", &src.slug),
        ("title", &m.title),
        ("author", &m.author),
        ("lang", &m.lang),
        ("published", &m.published),
        ("source", &m.source),
        ("source_name", &m.source_name),
        ("translator", &m.translator),
        ("summary", &m.summary),
    ] {
        put_str(tx, &ROOT, key, value)?;
    }
    // A missing list is created even when empty: readers expect `tags`.
    let current = match get_obj(tx, &ROOT, "tags", ObjType::List)? {
        Some(_) => read_tags(tx).ok(),
        None => None,
    };
    if current.as_ref() != Some(&m.tags) {
        let list = tx.put_object(ROOT, "tags", ObjType::List)?;
        for (i, tag) in m.tags.iter().enumerate() {
            tx.insert(&list, i, tag.as_str())?;
        }
    }
    put_scalar(tx, &ROOT, "withdrawn", ScalarValue::Boolean(false))?;
    match get_obj(tx, &ROOT, "body", ObjType::Text)? {
        Some(body) => {
            let old = tx.text(&body)?;
            if old != src.body {
                update_body(tx, &body, &old, &src.body)?;
            }
        }
        None => {
            let body = ensure_obj(tx, &ROOT, "body", ObjType::Text)?;
            tx.splice_text(&body, 0, 0, &src.body)?;
        }
    }
    Ok(())
}

/// Work (in characters × edit distance) we allow automerge's Myers diff. It
/// has no deadline, and a full rewrite of a large file would take O(n²).
const DIFF_BUDGET: usize = 20_000_000;

/// Changes the text `body` from `old` to `new` with as few ops as is cheap:
/// `update_text` (a Myers diff) when the changed region is small enough to
/// diff quickly; otherwise keep the common prefix and suffix and replace the
/// middle, so cursors outside it still keep their words.
fn update_body(
    tx: &mut Transaction<'_>,
    body: &ObjId,
    old: &str,
    new: &str,
) -> Result<(), SchemaError> {
    let (prefix, suffix) = common_affixes(old, new);
    let old_mid: Vec<char> = old[prefix..old.len() - suffix].chars().collect();
    let new_mid: Vec<char> = new[prefix..new.len() - suffix].chars().collect();
    let total = old_mid.len() + new_mid.len();
    let max_d = (DIFF_BUDGET / total.max(1)).min(total);
    if edit_distance_at_most(&old_mid, &new_mid, max_d) {
        tx.update_text(body, new)?;
    } else {
        let encoding = tx.text_encoding();
        let pos = width(encoding, &old[..prefix]);
        let del = width(encoding, &old[prefix..old.len() - suffix]);
        let del = isize::try_from(del).map_err(|_| SchemaError::WrongType {
            field: "body".to_owned(),
            expected: "a text of sane length",
        })?;
        tx.splice_text(body, pos, del, &new[prefix..new.len() - suffix])?;
    }
    Ok(())
}

/// Byte lengths of the longest common prefix and (non-overlapping) suffix,
/// on char boundaries.
fn common_affixes(a: &str, b: &str) -> (usize, usize) {
    let prefix: usize = a
        .chars()
        .zip(b.chars())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.len_utf8())
        .sum();
    let max_suffix = a.len().min(b.len()) - prefix;
    let mut suffix = 0;
    for (x, y) in a[prefix..].chars().rev().zip(b[prefix..].chars().rev()) {
        if x != y || suffix + x.len_utf8() > max_suffix {
            break;
        }
        suffix += x.len_utf8();
    }
    (prefix, suffix)
}

/// The length of `s` in the document's index unit (UTF-16 code units with
/// the `utf16-indexing` feature, so positions agree with JavaScript).
fn width(encoding: TextEncoding, s: &str) -> usize {
    match encoding {
        TextEncoding::Utf8CodeUnit => s.len(),
        TextEncoding::Utf16CodeUnit => s.encode_utf16().count(),
        TextEncoding::UnicodeCodePoint => s.chars().count(),
        // Not used here (no grapheme segmentation without another crate);
        // code points are the closest safe answer.
        TextEncoding::GraphemeCluster => s.chars().count(),
    }
}

/// Whether the Myers edit distance (insertions + deletions) between `a` and
/// `b` is at most `max_d`, in O((|a|+|b|)·max_d) time.
fn edit_distance_at_most(a: &[char], b: &[char], max_d: usize) -> bool {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max = max_d as isize;
    let offset = max + 1;
    let mut v = vec![0isize; 2 * max_d + 3];
    for d in 0..=max {
        let mut k = -d;
        while k <= d {
            let i = (k + offset) as usize;
            let mut x = if k == -d || (k != d && v[i - 1] < v[i + 1]) {
                v[i + 1]
            } else {
                v[i - 1] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[i] = x;
            if x >= n && y >= m {
                return true;
            }
            k += 2;
        }
    }
    false
}

/// Marks the article withdrawn (its file is gone) or back. Returns whether it committed.
pub fn set_withdrawn(doc: &mut Automerge, withdrawn: bool) -> Result<bool, SchemaError> {
    let mut tx = doc.transaction();
    put_scalar(&mut tx, &ROOT, "withdrawn", ScalarValue::Boolean(withdrawn))?;
    let message = if withdrawn { "withdraw" } else { "restore" };
    Ok(finish(tx, message))
}

fn read_tags(doc: &impl ReadDoc) -> Result<Vec<String>, SchemaError> {
    let Some(list) = get_obj(doc, &ROOT, "tags", ObjType::List)? else {
        return match doc.get(ROOT, "tags")? {
            None => Ok(Vec::new()),
            Some(_) => Err(SchemaError::WrongType {
                field: "tags".to_owned(),
                expected: "a list",
            }),
        };
    };
    let mut tags = Vec::new();
    for i in 0..doc.length(&list) {
        match doc.get(&list, i)? {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Str(t) => tags.push(t.to_string()),
                // Anything else is not a tag a reader could show.
                _ => continue,
            },
            Some((Value::Object(ObjType::Text), id)) => tags.push(doc.text(&id)?),
            _ => continue,
        }
    }
    Ok(tags)
}

/// The body text object, for cursors (`get_cursor`, `get_cursor_position`).
pub fn body_id(doc: &impl ReadDoc) -> Result<ObjId, SchemaError> {
    get_obj(doc, &ROOT, "body", ObjType::Text)?.ok_or_else(|| match doc.get(ROOT, "body") {
        Ok(Some(_)) => SchemaError::WrongType {
            field: "body".to_owned(),
            expected: "a text",
        },
        _ => SchemaError::Missing("body".to_owned()),
    })
}

/// Reads an article document. Fields other than `slug`, `title` and `body`
/// default to "" (or false, or no tags) when absent.
pub fn read(doc: &Automerge) -> Result<Article, SchemaError> {
    check_schema(doc, SCHEMA, VERSION)?;
    let s = |key: &str| str_or_empty(doc, &ROOT, key, key);
    let body = doc.text(body_id(doc)?)?;
    Ok(Article {
        slug: required_str(doc, &ROOT, "slug", "slug")?,
        title: required_str(doc, &ROOT, "title", "title")?,
        author: s("author")?,
        lang: s("lang")?,
        published: s("published")?,
        source: s("source")?,
        source_name: s("source_name")?,
        translator: s("translator")?,
        summary: s("summary")?,
        tags: read_tags(doc)?,
        withdrawn: get_bool(doc, &ROOT, "withdrawn", "withdrawn")?.unwrap_or(false),
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{Meta, parse_article};
    use std::path::{Path, PathBuf};

    fn source(body: &str) -> SourceArticle {
        SourceArticle {
            slug: "a-slug".to_owned(),
            path: PathBuf::from("content/a-slug.md"),
            meta: Meta {
                title: "A title".to_owned(),
                author: "Someone".to_owned(),
                lang: "es".to_owned(),
                published: "2024-05-01".to_owned(),
                source: "https://example.org/x".to_owned(),
                source_name: "Example".to_owned(),
                translator: "T".to_owned(),
                summary: "S".to_owned(),
                tags: vec!["one".to_owned(), "two".to_owned()],
            },
            body: body.to_owned(),
        }
    }

    #[test]
    fn apply_then_read_round_trips() {
        let mut doc = Automerge::new();
        let src = source("# Hi\n\nBody text.\n");
        assert!(apply(&mut doc, &src).unwrap());
        let a = read(&doc).unwrap();
        assert_eq!(a.slug, "a-slug");
        assert_eq!(a.title, "A title");
        assert_eq!(a.author, "Someone");
        assert_eq!(a.lang, "es");
        assert_eq!(a.published, "2024-05-01");
        assert_eq!(a.source, "https://example.org/x");
        assert_eq!(a.source_name, "Example");
        assert_eq!(a.translator, "T");
        assert_eq!(a.summary, "S");
        assert_eq!(a.tags, ["one", "two"]);
        assert!(!a.withdrawn);
        assert_eq!(a.body, src.body);
        // The body is a text object, as clients expect.
        assert!(matches!(
            doc.get(ROOT, "body").unwrap(),
            Some((Value::Object(ObjType::Text), _))
        ));
        assert_eq!(
            super::super::get_str(&doc, &ROOT, "schema", "schema")
                .unwrap()
                .as_deref(),
            Some(SCHEMA)
        );
    }

    #[test]
    fn applying_the_same_source_twice_changes_nothing() {
        let mut doc = Automerge::new();
        let src = source("Same body.\n");
        assert!(apply(&mut doc, &src).unwrap());
        let heads = doc.get_heads();
        let saved = doc.save();
        assert!(!apply(&mut doc, &src).unwrap());
        assert_eq!(doc.get_heads(), heads);
        // Also after a reload, as on a server restart.
        let mut reloaded = Automerge::load(&saved).unwrap();
        assert!(!apply(&mut reloaded, &src).unwrap());
        assert_eq!(reloaded.get_heads(), heads);
    }

    #[test]
    fn seed_article_applies_once() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("content/ayotzinapa-and-palestine.md");
        let src = crate::content::read_article(&path).unwrap();
        let mut doc = Automerge::new();
        assert!(apply(&mut doc, &src).unwrap());
        assert!(!apply(&mut doc, &src).unwrap());
        let a = read(&doc).unwrap();
        assert_eq!(a.body, src.body);
        assert_eq!(a.translator, "Scott Campbell");
    }

    /// The position of the `n`th occurrence of `word`, in UTF-16 units.
    fn utf16_pos(text: &str, word: &str) -> usize {
        let byte = text.find(word).unwrap();
        text[..byte].encode_utf16().count()
    }

    fn word_at(doc: &Automerge, pos: usize, len: usize) -> String {
        let body = body_id(doc).unwrap();
        let units: Vec<u16> = doc.text(&body).unwrap().encode_utf16().collect();
        String::from_utf16(&units[pos..pos + len]).unwrap()
    }

    #[test]
    fn an_edit_keeps_a_cursor_on_the_same_word() {
        let text = "The first paragraph talks about rivers.\n\nThe second paragraph names Iguala and its people.\n";
        let mut doc = Automerge::new();
        apply(&mut doc, &source(text)).unwrap();
        let body = body_id(&doc).unwrap();
        let start = utf16_pos(text, "Iguala");
        let cursor = doc.get_cursor(&body, start, None).unwrap();
        let end_cursor = doc.get_cursor(&body, start + 5, None).unwrap();

        // Edit before the word (insert and delete), and after it.
        let edited = "The opening paragraph, newly written, talks about mountains and rivers.\n\nThe second paragraph names Iguala and all of its people.\n";
        assert!(apply(&mut doc, &source(edited)).unwrap());
        assert_eq!(read(&doc).unwrap().body, edited);
        let body = body_id(&doc).unwrap();
        assert_eq!(
            body,
            body_id(&doc).unwrap(),
            "the same text object is updated"
        );
        let moved = doc.get_cursor_position(&body, &cursor, None).unwrap();
        assert_eq!(moved, utf16_pos(edited, "Iguala"));
        assert_ne!(moved, start, "the test must move the word");
        assert_eq!(word_at(&doc, moved, 6), "Iguala");
        let end = doc.get_cursor_position(&body, &end_cursor, None).unwrap();
        assert_eq!(end, moved + 5);
    }

    #[test]
    fn the_body_object_survives_edits() {
        let mut doc = Automerge::new();
        apply(&mut doc, &source("one two three")).unwrap();
        let before = body_id(&doc).unwrap();
        apply(&mut doc, &source("one 2 three")).unwrap();
        assert_eq!(body_id(&doc).unwrap(), before);
    }

    #[test]
    fn cursors_after_an_emoji_agree_with_utf16() {
        let text = "Solidarity 😀 with Gaza ✊🏽 and Ayotzinapa.\n";
        let mut doc = Automerge::new();
        apply(&mut doc, &source(text)).unwrap();
        let body = body_id(&doc).unwrap();
        // JavaScript's "…".indexOf("Gaza") counts UTF-16 units: 😀 is two.
        let gaza = utf16_pos(text, "Gaza");
        assert_eq!(gaza, 19);
        assert_eq!(doc.length(&body), text.encode_utf16().count());
        let cursor = doc.get_cursor(&body, gaza, None).unwrap();
        assert_eq!(doc.get_cursor_position(&body, &cursor, None).unwrap(), gaza);
        assert_eq!(word_at(&doc, gaza, 4), "Gaza");
        let ayo = doc
            .get_cursor(&body, utf16_pos(text, "Ayotzinapa"), None)
            .unwrap();

        // An emoji inserted before both words moves them by two units each.
        let edited = "Solidarity 😀🌍 with Gaza ✊🏽 and Ayotzinapa.\n";
        apply(&mut doc, &source(edited)).unwrap();
        let pos = doc.get_cursor_position(&body, &cursor, None).unwrap();
        assert_eq!(pos, gaza + 2);
        assert_eq!(word_at(&doc, pos, 4), "Gaza");
        let pos = doc.get_cursor_position(&body, &ayo, None).unwrap();
        assert_eq!(pos, utf16_pos(edited, "Ayotzinapa"));
        // Cursors survive a save/load, as they do between server and phone.
        let loaded = Automerge::load(&doc.save()).unwrap();
        let text = cursor.to_string();
        let parsed = automerge::Cursor::try_from(text.as_str()).unwrap();
        assert_eq!(
            loaded.get_cursor_position(&body, &parsed, None).unwrap(),
            gaza + 2
        );
    }

    #[test]
    fn a_full_rewrite_of_a_big_body_is_fast_and_keeps_outer_cursors() {
        // Every line changes in the middle: a Myers diff of this would be quadratic.
        let head = "Kept head.\n";
        let tail = "Kept tail.\n";
        let old_mid: String = (0..5_000).map(|i| format!("a{i}\n")).collect();
        let new_mid: String = (0..5_000).map(|i| format!("b{}\n", i * 7)).collect();
        let old = format!("{head}{old_mid}{tail}");
        let new = format!("{head}{new_mid}{tail}");
        let mut doc = Automerge::new();
        apply(&mut doc, &source(&old)).unwrap();
        let body = body_id(&doc).unwrap();
        let cursor = doc
            .get_cursor(&body, utf16_pos(&old, "tail"), None)
            .unwrap();
        let start = std::time::Instant::now();
        assert!(apply(&mut doc, &source(&new)).unwrap());
        // Generous for a debug build on a loaded machine; quadratic would be minutes.
        assert!(start.elapsed() < std::time::Duration::from_secs(30));
        assert_eq!(read(&doc).unwrap().body, new);
        let pos = doc.get_cursor_position(&body, &cursor, None).unwrap();
        assert_eq!(pos, utf16_pos(&new, "tail"));
    }

    #[test]
    fn affixes_and_distance() {
        assert_eq!(common_affixes("abcXdef", "abcYYdef"), (3, 3));
        assert_eq!(common_affixes("aaa", "aaaa"), (3, 0));
        assert_eq!(common_affixes("", "x"), (0, 0));
        assert_eq!(common_affixes("é😀x", "é😀y"), ("é😀".len(), 0));
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert!(edit_distance_at_most(&c("abc"), &c("abc"), 0));
        assert!(edit_distance_at_most(&c("abc"), &c("abxc"), 1));
        assert!(!edit_distance_at_most(&c("abc"), &c("xyz"), 5));
        assert!(edit_distance_at_most(&c("abc"), &c("xyz"), 6));
        assert!(edit_distance_at_most(&c(""), &c("xyz"), 3));
        assert!(!edit_distance_at_most(&c(""), &c("xyz"), 2));
    }

    #[test]
    fn withdrawn_is_set_and_cleared_by_apply() {
        let mut doc = Automerge::new();
        let src = source("body");
        apply(&mut doc, &src).unwrap();
        assert!(set_withdrawn(&mut doc, true).unwrap());
        let heads = doc.get_heads();
        assert!(!set_withdrawn(&mut doc, true).unwrap());
        assert_eq!(doc.get_heads(), heads);
        let a = read(&doc).unwrap();
        assert!(a.withdrawn);
        assert_eq!(a.body, "body", "withdrawing keeps the document");
        // The file comes back: the same document is restored.
        assert!(apply(&mut doc, &src).unwrap());
        assert!(!read(&doc).unwrap().withdrawn);
        assert!(!apply(&mut doc, &src).unwrap());
    }

    #[test]
    fn changed_metadata_and_tags_are_updated() {
        let mut doc = Automerge::new();
        let mut src = source("body");
        apply(&mut doc, &src).unwrap();
        src.meta.title = "New title".to_owned();
        src.meta.tags = vec!["two".to_owned()];
        assert!(apply(&mut doc, &src).unwrap());
        let a = read(&doc).unwrap();
        assert_eq!(a.title, "New title");
        assert_eq!(a.tags, ["two"]);
        src.meta.tags.clear();
        assert!(apply(&mut doc, &src).unwrap());
        assert!(read(&doc).unwrap().tags.is_empty());
        assert!(
            get_obj(&doc, &ROOT, "tags", ObjType::List)
                .unwrap()
                .is_some()
        );
        assert!(!apply(&mut doc, &src).unwrap());
    }

    #[test]
    fn reading_malformed_documents_errors_without_panicking() {
        // Not an article at all.
        assert!(matches!(
            read(&Automerge::new()),
            Err(SchemaError::WrongSchema { .. })
        ));
        let mut doc = Automerge::new();
        apply(&mut doc, &source("b")).unwrap();
        for (key, value) in [
            ("title", ScalarValue::Int(1)),
            ("withdrawn", ScalarValue::Str("yes".into())),
            ("body", ScalarValue::Str("not text".into())),
            ("tags", ScalarValue::Boolean(true)),
        ] {
            let mut bad = doc.fork();
            let mut tx = bad.transaction();
            tx.put(ROOT, key, value).unwrap();
            tx.commit();
            let e = read(&bad).unwrap_err();
            assert!(matches!(e, SchemaError::WrongType { .. }), "{key}: {e}");
            // apply repairs what it owns.
            assert!(apply(&mut bad, &source("b")).unwrap());
            assert_eq!(read(&bad).unwrap().body, "b");
        }
        let mut bad = doc.fork();
        let mut tx = bad.transaction();
        tx.delete(ROOT, "slug").unwrap();
        tx.commit();
        assert!(matches!(read(&bad), Err(SchemaError::Missing(_))));
        // Non-string tags are skipped.
        let mut odd = doc.fork();
        let mut tx = odd.transaction();
        let list = tx.put_object(ROOT, "tags", ObjType::List).unwrap();
        tx.insert(&list, 0, 5_i64).unwrap();
        tx.insert(&list, 1, "ok").unwrap();
        tx.commit();
        assert_eq!(read(&odd).unwrap().tags, ["ok"]);
    }

    #[test]
    fn crlf_files_become_lf_bodies() {
        let src = parse_article(
            Path::new("content/x.md"),
            b"---\r\ntitle: X\r\n---\r\nline one\r\nline two\r\n",
        )
        .unwrap();
        let mut doc = Automerge::new();
        apply(&mut doc, &src).unwrap();
        assert_eq!(read(&doc).unwrap().body, "line one\nline two\n");
    }
}
