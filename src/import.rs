//! Turns `content/` into documents: one article document and one notes
//! document per file, and the library document that lists them.
//!
//! The library document is the index: it maps each slug to its article and
//! notes URLs, so ids are stable across restarts. Its own URL is kept in
//! `<data>/library-url`. Applying a file that did not change commits
//! nothing, so a restart leaves every document's heads as they were.
//!
//! Start-up must stay fast with a thousand articles on a Raspberry Pi, and
//! loading every document to compare it with its file is not. So a clean
//! shutdown leaves `<data>/import-cache.json`: each file's SHA-256 as it
//! was applied, and its [`Stamp`] (size, inode, times) when that vouches
//! for it. The next start takes the cache (deleting it first, so a crash
//! can never leave a stale one behind) and skips files whose stamp did not
//! change without reading them, and files whose hash did not change
//! without touching their documents. After a crash there is no cache, and
//! the import compares every document, which is slower but never wrong.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::SystemTime;

use automerge::Automerge;
use samod::{AutomergeUrl, DocHandle, DocumentId, Repo};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::content::{self, ContentError, SourceArticle, Stamp};
use crate::schema::{SchemaError, article, library, notes};
use crate::store;

const LIBRARY_URL_FILE: &str = "library-url";
const CACHE_FILE: &str = "import-cache.json";
const CACHE_VERSION: u32 = 2;

/// What a clean shutdown knows was applied, by slug.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Applied {
    version: u32,
    library: String,
    files: BTreeMap<String, Mark>,
}

/// One file as it was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Mark {
    sha256: String,
    /// `None` when the file had changed just before it was read.
    stamp: Option<Stamp>,
}

impl Applied {
    /// Writes the cache. Call only once every document change is on disk.
    pub fn save(&self, data_dir: &Path) -> Result<(), ImportError> {
        let json = serde_json::to_vec(self).unwrap_or_default();
        store::write_atomic(&data_dir.join(CACHE_FILE), &json)?;
        Ok(())
    }
}

/// Reads and removes the cache left by the last clean shutdown.
fn take_cache(data_dir: &Path) -> Option<Applied> {
    let path = data_dir.join(CACHE_FILE);
    let bytes = std::fs::read(&path).ok()?;
    if let Err(e) = std::fs::remove_file(&path) {
        // If it cannot be removed it must not be trusted either: a crash
        // later would leave it describing documents that moved on.
        tracing::warn!(path = %path.display(), error = %e, "cannot remove the import cache; ignoring it");
        return None;
    }
    match serde_json::from_slice::<Applied>(&bytes) {
        Ok(c) if c.version == CACHE_VERSION => Some(c),
        _ => None,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading the content folder {path}: {source}")]
    ContentDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the library document {0} is missing from the data dir; restore it from a backup (glosa restore) or move the data dir aside to start a new library"
    )]
    LibraryMissing(String),
    #[error("{path} does not hold a valid document URL: {reason}")]
    BadLibraryUrl { path: PathBuf, reason: String },
    #[error("the document store stopped")]
    Stopped,
    #[error("document {url} ({what}) is not in the store")]
    DocumentMissing { url: String, what: String },
    #[error("{what}: {source}")]
    Schema {
        what: String,
        source: Box<SchemaError>,
    },
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<samod::Stopped> for ImportError {
    fn from(_: samod::Stopped) -> Self {
        ImportError::Stopped
    }
}

/// What the server knows about its documents after an import: which
/// documents exist and what kind each one is. The sync policy and the web
/// pages read it; only an import replaces it.
#[derive(Debug, Default)]
pub struct Catalog {
    pub library_url: String,
    pub library_id: Option<DocumentId>,
    /// Every article ever imported, withdrawn ones included, by slug.
    pub entries: BTreeMap<String, library::Entry>,
    /// Documents clients may read but never change: the library and articles.
    pub read_only: HashSet<DocumentId>,
    /// Documents clients may change: the notes.
    pub writable: HashSet<DocumentId>,
}

impl Catalog {
    /// Articles to list, newest first; withdrawn ones left out.
    pub fn listed(&self) -> Vec<&library::Entry> {
        let mut v: Vec<_> = self.entries.values().filter(|e| !e.withdrawn).collect();
        v.sort_by(|a, b| {
            b.published
                .cmp(&a.published)
                .then_with(|| a.title.cmp(&b.title))
        });
        v
    }

    pub fn entry(&self, slug: &str) -> Option<&library::Entry> {
        self.entries.get(slug)
    }
}

/// The outcome of one import, for the start-up report.
#[derive(Debug)]
pub struct Report {
    pub catalog: Catalog,
    pub errors: Vec<ContentError>,
    pub created: usize,
    pub updated: usize,
    pub withdrawn: usize,
    /// Skipped because the cache says the documents already hold them.
    pub unchanged: usize,
    /// Of those, skipped without being read: their stamp had not changed.
    pub unread: usize,
    /// What to save as the cache once the documents are flushed.
    pub applied: Applied,
    /// Documents this import created. samod resolves a create before its
    /// first write is on disk; the server waits for these before serving,
    /// so a first install's bundle (read from disk) has every document.
    pub new_documents: Vec<DocumentId>,
}

impl Report {
    /// Carries over an article whose documents already hold its file.
    fn keep_unchanged(
        &mut self,
        previous: &mut BTreeMap<String, library::Entry>,
        slug: String,
        mark: Mark,
    ) {
        if let Some(entry) = previous.remove(&slug) {
            self.unchanged += 1;
            self.applied.files.insert(slug.clone(), mark);
            self.catalog.entries.insert(slug, entry);
        }
    }
}

/// Brings the documents in line with the files in `content_dir`.
pub async fn run(repo: &Repo, data_dir: &Path, content_dir: &Path) -> Result<Report, ImportError> {
    let cache = take_cache(data_dir);
    let paths = content::list(content_dir).map_err(|source| ImportError::ContentDir {
        path: content_dir.to_path_buf(),
        source,
    })?;
    let (library, library_is_new) = open_library(repo, data_dir).await?;
    let library_url = library.url().to_string();
    let mut cached = cache
        .filter(|c| c.library == library_url)
        .map(|c| c.files)
        .unwrap_or_default();

    let existing = library
        .with_document(|doc| library::entries(doc))
        .map_err(schema_error("reading the library document"))?;
    let mut previous: BTreeMap<String, library::Entry> =
        existing.into_iter().map(|e| (e.slug.clone(), e)).collect();

    let mut report = Report {
        catalog: Catalog {
            library_url: library_url.clone(),
            library_id: Some(library.document_id().clone()),
            ..Catalog::default()
        },
        errors: Vec::new(),
        created: 0,
        updated: 0,
        withdrawn: 0,
        unchanged: 0,
        unread: 0,
        new_documents: if library_is_new {
            vec![library.document_id().clone()]
        } else {
            Vec::new()
        },
        applied: Applied {
            version: CACHE_VERSION,
            library: library_url,
            files: BTreeMap::new(),
        },
    };
    // Files that cannot be read keep their article as it was: a typo in
    // one file must not withdraw it from every phone.
    let mut broken: HashSet<String> = HashSet::new();

    for path in paths {
        // How the file was last applied, if its article is still listed.
        let mut applied = slug_of(&path)
            .filter(|slug| previous.get(slug).is_some_and(|e| !e.withdrawn))
            .and_then(|slug| Some((cached.remove(&slug)?, slug)));
        let before_read = SystemTime::now();
        let meta = std::fs::metadata(&path).ok();
        let now = meta.as_ref().and_then(Stamp::current);
        if let Some((mark, slug)) = applied.take_if(|(m, _)| m.stamp.is_some() && m.stamp == now) {
            report.unread += 1;
            report.keep_unchanged(&mut previous, slug, mark);
            continue;
        }
        let bytes = match content::read_file(&path) {
            Ok(b) => b,
            Err(e) => {
                broken.extend(slug_of(&path));
                report.errors.push(e);
                continue;
            }
        };
        let mark = Mark {
            sha256: sha256_hex(&bytes),
            stamp: meta.and_then(|m| Stamp::to_record(&m, before_read)),
        };
        if let Some((_, slug)) = applied.take_if(|(old, _)| old.sha256 == mark.sha256) {
            report.keep_unchanged(&mut previous, slug, mark);
            continue;
        }
        let src = match content::parse_article(&path, &bytes) {
            Ok(src) => src,
            Err(e) => {
                broken.extend(slug_of(&path));
                report.errors.push(e);
                continue;
            }
        };
        let entry = match previous.remove(&src.slug) {
            Some(old) => {
                if update_article(repo, &old, &src).await? {
                    report.updated += 1;
                }
                entry_for(&src, old.url, old.notes)
            }
            None => {
                let (url, notes_url) = create_article(repo, &src).await?;
                report.created += 1;
                report
                    .new_documents
                    .extend([&url, &notes_url].into_iter().filter_map(|u| doc_id(u)));
                entry_for(&src, url, notes_url)
            }
        };
        upsert(&library, &entry)?;
        report.applied.files.insert(src.slug.clone(), mark);
        report.catalog.entries.insert(entry.slug.clone(), entry);
    }

    for (slug, mut old) in previous {
        if !broken.contains(&slug) && !old.withdrawn {
            withdraw(repo, &old).await?;
            old.withdrawn = true;
            upsert(&library, &old)?;
            report.withdrawn += 1;
        }
        report.catalog.entries.insert(slug, old);
    }

    let catalog = &mut report.catalog;
    catalog.read_only.insert(library.document_id().clone());
    for e in catalog.entries.values() {
        if let Some(id) = doc_id(&e.url) {
            catalog.read_only.insert(id);
        }
        if let Some(id) = doc_id(&e.notes) {
            catalog.writable.insert(id);
        }
    }
    Ok(report)
}

/// Names what failed, for a schema error.
fn schema_error(what: impl Into<String>) -> impl FnOnce(SchemaError) -> ImportError {
    let what = what.into();
    move |source| ImportError::Schema {
        what,
        source: Box::new(source),
    }
}

fn slug_of(path: &Path) -> Option<String> {
    path.file_stem()
        .and_then(|s| s.to_str())
        .map(|s| s.to_string())
}

fn entry_for(src: &SourceArticle, url: String, notes: String) -> library::Entry {
    library::Entry {
        slug: src.slug.clone(),
        title: src.meta.title.clone(),
        author: src.meta.author.clone(),
        lang: src.meta.lang.clone(),
        published: src.meta.published.clone(),
        summary: src.meta.summary.clone(),
        words: crate::render::word_count(&src.body) as u64,
        url,
        notes,
        withdrawn: false,
    }
}

fn upsert(library: &DocHandle, entry: &library::Entry) -> Result<bool, ImportError> {
    library
        .with_document(|doc| library::upsert(doc, entry))
        .map_err(schema_error(format!(
            "listing {} in the library",
            entry.slug
        )))
}

/// Parses an `automerge:` URL into a document id.
pub fn doc_id(url: &str) -> Option<DocumentId> {
    AutomergeUrl::from_str(url)
        .ok()
        .map(|u| u.document_id().clone())
}

/// The library document, and whether it was created now.
async fn open_library(repo: &Repo, data_dir: &Path) -> Result<(DocHandle, bool), ImportError> {
    let path = data_dir.join(LIBRARY_URL_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let url = text.trim();
            let id = doc_id(url).ok_or_else(|| ImportError::BadLibraryUrl {
                path: path.clone(),
                reason: format!("{url:?} is not an automerge: URL"),
            })?;
            let handle = repo
                .find(id)
                .await?
                .ok_or_else(|| ImportError::LibraryMissing(url.to_string()))?;
            Ok((handle, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut doc = Automerge::new();
            library::init(&mut doc).map_err(schema_error("creating the library document"))?;
            let handle = repo.create(doc).await?;
            store::write_atomic(&path, format!("{}\n", handle.url()).as_bytes())?;
            Ok((handle, true))
        }
        Err(source) => Err(ImportError::Io { path, source }),
    }
}

async fn find(repo: &Repo, url: &str, what: &str) -> Result<DocHandle, ImportError> {
    let missing = || ImportError::DocumentMissing {
        url: url.to_string(),
        what: what.to_string(),
    };
    let id = doc_id(url).ok_or_else(missing)?;
    repo.find(id).await?.ok_or_else(missing)
}

async fn create_article(repo: &Repo, src: &SourceArticle) -> Result<(String, String), ImportError> {
    let schema_err = |what: &str| schema_error(format!("{what} for {}", src.slug));
    let mut doc = Automerge::new();
    article::apply(&mut doc, src).map_err(schema_err("writing the article"))?;
    let mut notes_doc = Automerge::new();
    notes::init(&mut notes_doc, &src.slug).map_err(schema_err("creating the notes"))?;
    let article = repo.create(doc).await?;
    let notes = repo.create(notes_doc).await?;
    Ok((article.url().to_string(), notes.url().to_string()))
}

async fn update_article(
    repo: &Repo,
    old: &library::Entry,
    src: &SourceArticle,
) -> Result<bool, ImportError> {
    let handle = find(repo, &old.url, &format!("article {}", old.slug)).await?;
    handle
        .with_document(|doc| article::apply(doc, src))
        .map_err(schema_error(format!("updating the article {}", src.slug)))
}

async fn withdraw(repo: &Repo, old: &library::Entry) -> Result<(), ImportError> {
    let handle = find(repo, &old.url, &format!("article {}", old.slug)).await?;
    handle
        .with_document(|doc| article::set_withdrawn(doc, true))
        .map_err(schema_error(format!("withdrawing {}", old.slug)))?;
    Ok(())
}
