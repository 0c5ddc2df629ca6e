//! Reading `content/*.md`: one article per file, YAML front matter then a
//! Markdown body. Pure parsing; the importer turns the result into documents.

mod frontmatter;
pub mod stamp;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use frontmatter::is_date;
pub use stamp::Stamp;

/// Larger files are refused unread: a content file is an article, and a
/// hostile 50 MB file must not be pulled into memory or into a document.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Longest accepted slug; it becomes part of URLs.
pub const MAX_SLUG_CHARS: usize = 100;

/// The front matter of an article, validated. Absent strings are "".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Meta {
    pub title: String,
    pub author: String,
    /// A BCP 47 tag; "en" when absent.
    pub lang: String,
    /// `YYYY-MM-DD` or "".
    pub published: String,
    /// An http(s) URL or "".
    pub source: String,
    pub source_name: String,
    pub translator: String,
    pub summary: String,
    pub tags: Vec<String>,
}

/// One parsed `content/<slug>.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceArticle {
    pub slug: String,
    pub path: PathBuf,
    pub meta: Meta,
    /// The Markdown after the front matter, with CRLF normalised to LF.
    pub body: String,
}

/// A content file that could not be read, located as `path:line: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ContentError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for ContentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl ContentError {
    fn new(path: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        ContentError {
            path: path.to_owned(),
            line,
            message: message.into(),
        }
    }
}

/// Everything found in a content directory.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Sorted by slug.
    pub articles: Vec<SourceArticle>,
    /// One per bad file, sorted by path.
    pub errors: Vec<ContentError>,
}

/// `[a-z0-9][a-z0-9_-]*`, at most [`MAX_SLUG_CHARS`].
pub fn is_valid_slug(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_SLUG_CHARS
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
}

fn slug_of(path: &Path) -> Result<String, ContentError> {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| ContentError::new(path, None, "the file name is not valid UTF-8"))?;
    if !is_valid_slug(stem) {
        return Err(ContentError::new(
            path,
            None,
            format!(
                "the file name `{stem}` is not a valid slug: use lowercase letters, digits, `-` and `_`, starting with a letter or digit, at most {MAX_SLUG_CHARS} characters"
            ),
        ));
    }
    Ok(stem.to_owned())
}

fn too_big(path: &Path) -> ContentError {
    ContentError::new(
        path,
        None,
        format!(
            "the file is larger than {} MiB; refused",
            MAX_FILE_BYTES / (1024 * 1024)
        ),
    )
}

/// Parses one article from its bytes. `path` names it in errors and gives the slug.
pub fn parse_article(path: &Path, bytes: &[u8]) -> Result<SourceArticle, ContentError> {
    let slug = slug_of(path)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(path));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        ContentError::new(path, Some(line), "invalid UTF-8")
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let split = frontmatter::split(text).map_err(|p| ContentError::new(path, p.line, p.message))?;
    let meta = frontmatter::parse_meta(split.yaml)
        .map_err(|p| ContentError::new(path, p.line, p.message))?;
    Ok(SourceArticle {
        slug,
        path: path.to_owned(),
        meta,
        body: split.body.replace("\r\n", "\n"),
    })
}

/// Opens and parses one file, refusing anything that is not a regular file
/// or is larger than [`MAX_FILE_BYTES`] without reading it whole.
pub fn read_article(path: &Path) -> Result<SourceArticle, ContentError> {
    let bytes = read_file(path)?;
    parse_article(path, &bytes)
}

/// Reads one article file's bytes, refusing anything that is not a regular
/// file, has a bad name, or is larger than [`MAX_FILE_BYTES`], without
/// reading it whole.
pub fn read_file(path: &Path) -> Result<Vec<u8>, ContentError> {
    let io = |e: std::io::Error| ContentError::new(path, None, format!("cannot read: {e}"));
    // Check the name first so a bad name is reported even for a huge file.
    slug_of(path)?;
    let file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(ContentError::new(path, None, "not a regular file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big(path));
    }
    // The file may grow between the check and the read: never read past the limit.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    Ok(bytes)
}

/// The article files in `dir`: every `*.md` (not recursive), sorted.
/// Hidden files (editor backups such as `.#x.md`) are skipped.
pub fn list(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."));
        if !hidden && path.extension().is_some_and(|e| e == "md") {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

/// Every `*.md` in `dir` (not recursive), sorted by slug. A bad file becomes
/// an error in [`Loaded::errors`] and never stops the others. Hidden files
/// (editor backups such as `.#x.md`) are skipped. Fails only if `dir` itself
/// cannot be listed.
pub fn read_dir(dir: &Path) -> std::io::Result<Loaded> {
    let mut loaded = Loaded::default();
    for path in list(dir)? {
        match read_article(&path) {
            Ok(article) => loaded.articles.push(article),
            Err(e) => loaded.errors.push(e),
        }
    }
    loaded.articles.sort_by(|a, b| a.slug.cmp(&b.slug));
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str, text: &str) -> Result<SourceArticle, ContentError> {
        parse_article(&Path::new("content").join(name), text.as_bytes())
    }

    #[test]
    fn parses_a_minimal_article() {
        let a = parse("hello.md", "---\ntitle: Hello\n---\n# Hi\n\nText.\n").unwrap();
        assert_eq!(a.slug, "hello");
        assert_eq!(a.meta.title, "Hello");
        assert_eq!(a.meta.lang, "en");
        assert_eq!(a.meta.published, "");
        assert_eq!(a.body, "# Hi\n\nText.\n");
    }

    #[test]
    fn seed_article_parses_with_attribution() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("content/ayotzinapa-and-palestine.md");
        let a = read_article(&path).unwrap();
        assert_eq!(a.slug, "ayotzinapa-and-palestine");
        assert_eq!(
            a.meta.title,
            "Ayotzinapa and Palestine bleed on the same map"
        );
        assert!(
            a.meta.author.contains("Radio Cósmica Libre"),
            "{}",
            a.meta.author
        );
        assert!(a.meta.author.contains("Communicators for Palestine"));
        assert_eq!(a.meta.lang, "en");
        assert_eq!(a.meta.published, "2025-09-26");
        assert!(a.meta.source.starts_with("https://"));
        assert_eq!(a.meta.source_name, "It’s Going Down");
        assert_eq!(a.meta.translator, "Scott Campbell");
        assert!(!a.meta.summary.is_empty());
        assert!(a.meta.tags.contains(&"Ayotzinapa".to_owned()));
        assert!(
            a.body
                .starts_with("Originally published on It’s Going Down.")
        );
        assert!(!a.body.contains("\n---\n"));
    }

    #[test]
    fn bad_front_matter_reports_path_and_line() {
        // A YAML syntax error (libyaml) on file line 3.
        let e = parse(
            "bad.md",
            "---\ntitle: A\nauthor: B: C\nlang: en\n---\nbody\n",
        )
        .unwrap_err();
        assert_eq!(e.path, Path::new("content/bad.md"));
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.to_string().starts_with("content/bad.md:3: "), "{e}");
        assert!(
            !e.message.contains("line"),
            "positions relative to the YAML leak: {e}"
        );
        // A type error (serde) on file line 4.
        let e = parse("bad.md", "---\ntitle: A\nlang: en\nauthor: [x]\n---\n").unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("author"), "{e}");
        let e = parse("bad.md", "---\ntitle: A\n  author: B\n---\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
    }

    #[test]
    fn unknown_key_is_reported_with_its_line() {
        let e = parse("x.md", "---\ntitle: A\nauthor: B\ntittle: C\n---\nbody\n").unwrap_err();
        assert_eq!(e.line, Some(4));
        assert_eq!(
            e.to_string().split(", expected").next().unwrap(),
            "content/x.md:4: unknown field `tittle`"
        );
    }

    #[test]
    fn missing_title_is_an_error() {
        let e = parse("x.md", "---\nauthor: B\n---\nbody\n").unwrap_err();
        assert!(e.message.contains("`title`"), "{e}");
        let e = parse("x.md", "---\n---\nbody\n").unwrap_err();
        assert!(e.message.contains("`title`"), "{e}");
        let e = parse("x.md", "no front matter\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("front matter"), "{e}");
    }

    #[test]
    fn invalid_utf8_reports_the_line() {
        let mut bytes = b"---\ntitle: A\n---\nline four\nline five \xff\xfe here\n".to_vec();
        let e = parse_article(Path::new("content/x.md"), &bytes).unwrap_err();
        assert_eq!(e.line, Some(5));
        assert_eq!(e.to_string(), "content/x.md:5: invalid UTF-8");
        // A truncated multi-byte sequence at the very start.
        bytes = vec![0xe2, 0x82];
        let e = parse_article(Path::new("content/x.md"), &bytes).unwrap_err();
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn bad_slug_names_the_file() {
        for name in ["Hello.md", "-x.md", "a b.md", "é.md", "_x.md"] {
            let e = parse(name, "---\ntitle: A\n---\n").unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
            assert!(e.message.contains("slug"), "{e}");
        }
        assert!(is_valid_slug("a"));
        assert!(is_valid_slug("2025_notes-x"));
        assert!(!is_valid_slug(&"a".repeat(MAX_SLUG_CHARS + 1)));
    }

    #[test]
    fn crlf_and_bom() {
        let a = parse(
            "x.md",
            "\u{feff}---\r\ntitle: A\r\nlang: es\r\n---\r\nOne\r\n\r\nTwo\r\n",
        )
        .unwrap();
        assert_eq!(a.meta.title, "A");
        assert_eq!(a.meta.lang, "es");
        assert_eq!(a.body, "One\n\nTwo\n");
        // Errors still count lines the same way with CRLF.
        let e = parse("x.md", "---\r\ntitle: A\r\nbogus: 1\r\n---\r\n").unwrap_err();
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn big_bytes_are_refused() {
        let mut big = b"---\ntitle: A\n---\n".to_vec();
        big.resize(MAX_FILE_BYTES as usize + 1, b'a');
        let e = parse_article(Path::new("content/big.md"), &big).unwrap_err();
        assert!(e.message.contains("larger than 8 MiB"), "{e}");
    }

    #[test]
    fn a_big_file_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.md");
        let f = File::create(&path).unwrap();
        // Sparse: 50 MB on paper, nothing on disk, and nothing gets read.
        f.set_len(50 * 1024 * 1024).unwrap();
        std::fs::write(dir.path().join("ok.md"), "---\ntitle: OK\n---\nfine\n").unwrap();
        let loaded = read_dir(dir.path()).unwrap();
        assert_eq!(loaded.articles.len(), 1);
        assert_eq!(loaded.errors.len(), 1);
        assert_eq!(loaded.errors[0].path, path);
        assert!(loaded.errors[0].message.contains("larger than"));
    }

    #[test]
    fn read_dir_keeps_going_and_sorts() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("b.md"), "---\ntitle: B\n---\nbee\n").unwrap();
        std::fs::write(d.join("a.md"), "---\ntitle: A\n---\nay\n").unwrap();
        std::fs::write(d.join("c.md"), "---\ntittle: C\n---\n").unwrap();
        std::fs::write(d.join("d.md"), b"---\ntitle: D\n---\n\xc3\x28\n").unwrap();
        std::fs::write(d.join("Bad Name.md"), "---\ntitle: X\n---\n").unwrap();
        std::fs::write(d.join("notes.txt"), "not an article").unwrap();
        std::fs::write(d.join(".#a.md"), "editor lock").unwrap();
        std::fs::create_dir(d.join("sub.md")).unwrap();
        std::fs::create_dir(d.join("nested")).unwrap();
        std::fs::write(d.join("nested/e.md"), "---\ntitle: E\n---\n").unwrap();

        let loaded = read_dir(d).unwrap();
        let slugs: Vec<_> = loaded.articles.iter().map(|a| a.slug.as_str()).collect();
        assert_eq!(slugs, ["a", "b"]);
        let errs: Vec<String> = loaded.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert!(
            errs.iter()
                .any(|e| e.contains("Bad Name.md") && e.contains("slug"))
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("c.md:2: unknown field `tittle`"))
        );
        assert!(errs.iter().any(|e| e.contains("d.md:4: invalid UTF-8")));
        assert!(
            errs.iter()
                .any(|e| e.contains("sub.md") && e.contains("regular file"))
        );
    }

    #[test]
    fn read_dir_of_a_missing_dir_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_dir(&dir.path().join("nope")).is_err());
    }
}
