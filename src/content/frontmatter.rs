//! The YAML front matter of an article: splitting it from the body, and
//! turning it into a validated [`Meta`] with errors located in the file.

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use super::Meta;

/// An error in the front matter, with the 1-based line *in the file*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub line: Option<usize>,
    pub message: String,
}

impl Problem {
    fn at(line: usize, message: impl Into<String>) -> Self {
        Problem {
            line: Some(line),
            message: message.into(),
        }
    }
}

/// The text split at the front matter fences.
#[derive(Debug)]
pub(crate) struct Split<'a> {
    /// The YAML between the fences.
    pub yaml: &'a str,
    /// Everything after the closing fence line.
    pub body: &'a str,
}

/// The file line where the YAML starts: the opening `---` is line 1.
const YAML_FIRST_LINE: usize = 2;

fn is_fence(line: &str) -> bool {
    line.trim_end_matches(['\r', '\n']).trim_end() == "---"
}

/// Splits `---\n<yaml>---\n<body>`. `text` has no BOM.
pub(crate) fn split(text: &str) -> Result<Split<'_>, Problem> {
    let mut lines = text.split_inclusive('\n');
    match lines.next() {
        Some(first) if is_fence(first) => {}
        _ => {
            return Err(Problem::at(
                1,
                "missing front matter: the file must start with a `---` line, then `title: …`, then `---`",
            ));
        }
    }
    let yaml_start = text.split_inclusive('\n').next().map_or(0, str::len);
    let mut offset = yaml_start;
    for line in lines {
        if is_fence(line) {
            return Ok(Split {
                yaml: &text[yaml_start..offset],
                body: &text[offset + line.len()..],
            });
        }
        offset += line.len();
    }
    Err(Problem::at(
        1,
        "front matter is not closed: no `---` line after it",
    ))
}

/// The fields as written; `deny_unknown_fields` catches typos such as `tittle`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    title: Option<String>,
    author: Option<String>,
    lang: Option<String>,
    published: Option<String>,
    source: Option<String>,
    source_name: Option<String>,
    translator: Option<String>,
    summary: Option<String>,
    #[serde(default, deserialize_with = "tags")]
    tags: Vec<String>,
}

/// `tags` may be a list or a single string (`tags: Mexico`).
fn tags<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct TagsVisitor;
    impl<'de> Visitor<'de> for TagsVisitor {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of tags")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(vec![v.to_owned()])
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(tag) = seq.next_element::<Option<String>>()? {
                out.extend(tag);
            }
            Ok(out)
        }
    }
    d.deserialize_any(TagsVisitor)
}

/// serde_yaml_ng appends its own positions (relative to the YAML, not the
/// file); drop them since the caller reports the file line.
fn strip_positions(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find(" at ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 4..];
        if let Some(len) = position_len(after) {
            rest = &after[len..];
        } else {
            out.push_str(" at ");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Length of a leading `line N column M` or `position N`, if any.
fn position_len(s: &str) -> Option<usize> {
    fn digits(s: &str) -> usize {
        s.bytes().take_while(u8::is_ascii_digit).count()
    }
    if let Some(r) = s.strip_prefix("line ") {
        let n = digits(r);
        let r2 = r[n..].strip_prefix(" column ")?;
        let m = digits(r2);
        (n > 0 && m > 0).then(|| "line ".len() + n + " column ".len() + m)
    } else if let Some(r) = s.strip_prefix("position ") {
        let n = digits(r);
        (n > 0).then(|| "position ".len() + n)
    } else {
        None
    }
}

/// The file line of the first `key:` at the top level of the YAML, for
/// errors found after deserializing.
fn key_line(yaml: &str, key: &str) -> usize {
    yaml.lines()
        .position(|l| {
            l.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .map_or(1, |i| i + YAML_FIRST_LINE)
}

/// Parses and validates the YAML front matter.
pub(crate) fn parse_meta(yaml: &str) -> Result<Meta, Problem> {
    // An empty front matter is YAML `null`: report the missing title, not a type error.
    let raw: Raw = if yaml.trim().is_empty() {
        return Err(Problem::at(1, "missing required field `title`"));
    } else {
        serde_yaml_ng::from_str(yaml).map_err(|e| Problem {
            line: Some(e.location().map_or(1, |l| l.line() + YAML_FIRST_LINE - 1)),
            message: strip_positions(&e.to_string()),
        })?
    };
    let clean = |v: Option<String>| v.map(|s| s.trim().to_owned()).unwrap_or_default();

    let title = clean(raw.title);
    if title.is_empty() {
        return Err(Problem::at(
            key_line(yaml, "title"),
            "missing required field `title`",
        ));
    }
    let published = clean(raw.published);
    if !published.is_empty() && !is_date(&published) {
        return Err(Problem::at(
            key_line(yaml, "published"),
            format!("`published` must be a date YYYY-MM-DD, not `{published}`"),
        ));
    }
    let mut lang = clean(raw.lang);
    if lang.is_empty() {
        lang = "en".to_owned();
    } else if !is_language_tag(&lang) {
        return Err(Problem::at(
            key_line(yaml, "lang"),
            format!("`lang` must be a language tag such as `en` or `es-MX`, not `{lang}`"),
        ));
    }
    let source = clean(raw.source);
    // The page links to it: only web addresses, never `javascript:` and friends.
    let lower = source.to_ascii_lowercase();
    let web = lower.starts_with("https://") || lower.starts_with("http://");
    if !source.is_empty() && !web {
        return Err(Problem::at(
            key_line(yaml, "source"),
            format!("`source` must be an http(s) URL, not `{source}`"),
        ));
    }
    Ok(Meta {
        title,
        author: clean(raw.author),
        lang,
        published,
        source,
        source_name: clean(raw.source_name),
        translator: clean(raw.translator),
        summary: clean(raw.summary),
        tags: raw
            .tags
            .into_iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
    })
}

/// `YYYY-MM-DD` naming a real day of the proleptic Gregorian calendar.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// A loose BCP 47 check: it goes into `<html lang=…>`, so letters, digits and `-` only.
fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let primary = parts.next().unwrap_or("");
    (2..=8).contains(&primary.len())
        && primary.bytes().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_finds_fences() {
        let s = split("---\ntitle: A\n---\nbody\n").unwrap();
        assert_eq!(s.yaml, "title: A\n");
        assert_eq!(s.body, "body\n");
        let s = split("---\ntitle: A\n---").unwrap();
        assert_eq!(s.body, "");
        let s = split("---  \r\ntitle: A\r\n---\r\nbody").unwrap();
        assert_eq!(s.yaml, "title: A\r\n");
        assert_eq!(s.body, "body");
    }

    #[test]
    fn split_errors() {
        assert_eq!(split("title: A\n").unwrap_err().line, Some(1));
        assert_eq!(split("").unwrap_err().line, Some(1));
        let e = split("---\ntitle: A\nbody\n").unwrap_err();
        assert!(e.message.contains("not closed"), "{}", e.message);
    }

    #[test]
    fn dates() {
        assert!(is_date("2025-09-26"));
        assert!(is_date("2024-02-29"));
        assert!(is_date("2000-02-29"));
        assert!(!is_date("1900-02-29"));
        assert!(!is_date("2025-02-29"));
        assert!(!is_date("2025-13-01"));
        assert!(!is_date("2025-00-01"));
        assert!(!is_date("2025-01-00"));
        assert!(!is_date("2025-1-01"));
        assert!(!is_date("2025-09-26T10:00:00Z"));
        assert!(!is_date("２０２５-09-26"));
        assert!(!is_date("yesterday"));
    }

    #[test]
    fn language_tags() {
        for ok in ["en", "es-MX", "zh-Hant-TW", "ckb", "sr-Latn"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "e", "en_US", "en-", "\"><script>", "en us"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn strips_yaml_positions() {
        assert_eq!(
            strip_positions(
                "did not find expected key at line 3 column 1, while parsing a block mapping at line 1 column 1"
            ),
            "did not find expected key, while parsing a block mapping"
        );
        assert_eq!(strip_positions("look at this"), "look at this");
        assert_eq!(strip_positions("x at position 12"), "x");
    }

    #[test]
    fn meta_defaults_and_values() {
        let m = parse_meta("title: 1984\nauthor:\ntags: one\n").unwrap();
        assert_eq!(m.title, "1984");
        assert_eq!(m.author, "");
        assert_eq!(m.lang, "en");
        assert_eq!(m.tags, vec!["one"]);
        let m = parse_meta("title: A\ntags: [a, ' ', b]\npublished: '2020-01-31'\n").unwrap();
        assert_eq!(m.tags, vec!["a", "b"]);
        assert_eq!(m.published, "2020-01-31");
    }

    #[test]
    fn meta_errors_have_file_lines() {
        let e = parse_meta("title: A\nauthor: B\ntittle: C\n").unwrap_err();
        assert_eq!(e.line, Some(4));
        assert!(
            e.message.contains("unknown field `tittle`"),
            "{}",
            e.message
        );

        let e = parse_meta("author: B\n").unwrap_err();
        assert!(e.message.contains("title"), "{}", e.message);

        let e = parse_meta("title: ''\n").unwrap_err();
        assert_eq!(e.line, Some(2));

        let e = parse_meta("title: A\npublished: 26/09/2025\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("YYYY-MM-DD"));

        let e = parse_meta("title: A\nsource: javascript:alert(1)\n").unwrap_err();
        assert_eq!(e.line, Some(3));

        let e = parse_meta("title: A\nlang: '\"><b>'\n").unwrap_err();
        assert_eq!(e.line, Some(3));

        let e = parse_meta("title: A\ntags: {a: 1}\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{}", e.message);

        let e = parse_meta("title: A\ntitle: B\n").unwrap_err();
        assert!(e.message.contains("duplicate"), "{}", e.message);
    }
}
