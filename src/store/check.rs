//! `glosa check`: load every stored document with automerge and list the
//! damage, by document and file. Safe while a server runs (it only reads,
//! through the same consistent reader as backups).

use std::fmt;
use std::path::{Path, PathBuf};

use automerge::{Automerge, ReadDoc};

use super::consistent::{self, Item};
use super::{StoreError, chunk, fs};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The document's id (without `automerge:`), if the file belongs to one.
    pub doc_id: Option<String>,
    /// Relative to the data dir.
    pub path: PathBuf,
    pub reason: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.doc_id {
            Some(id) => write!(f, "automerge:{id} {}: {}", self.path.display(), self.reason),
            None => write!(f, "{}: {}", self.path.display(), self.reason),
        }
    }
}

/// One document as it loads from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocSummary {
    pub id: String,
    pub chunks: usize,
    /// Hex change hashes, sorted.
    pub heads: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub data_dir: PathBuf,
    pub documents: Vec<DocSummary>,
    pub damaged: Vec<Damage>,
}

impl CheckReport {
    pub fn is_healthy(&self) -> bool {
        self.damaged.is_empty()
    }

    /// Ids of the documents with any damage.
    pub fn damaged_docs(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .damaged
            .iter()
            .filter_map(|d| d.doc_id.as_deref())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chunks: usize = self.documents.iter().map(|d| d.chunks).sum();
        writeln!(
            f,
            "checked {} documents ({chunks} chunks) in {}",
            self.documents.len(),
            self.data_dir.display()
        )?;
        if self.damaged.is_empty() {
            return writeln!(f, "no damage found");
        }
        for d in &self.damaged {
            writeln!(f, "DAMAGED {d}")?;
        }
        writeln!(
            f,
            "{} damaged files in {} documents. Clients that hold a damaged document re-sync it when they connect; \
             once they have, remove the damaged files listed (quarantine/ keeps what the server moved aside).",
            self.damaged.len(),
            self.damaged_docs().len()
        )
    }
}

pub fn check(data_dir: &Path) -> Result<CheckReport, StoreError> {
    if !data_dir.is_dir() {
        return Err(StoreError::Io {
            op: "check",
            path: data_dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such data dir"),
        });
    }
    let mut report = CheckReport {
        data_dir: data_dir.to_path_buf(),
        ..CheckReport::default()
    };
    consistent::for_each(data_dir, |item| {
        match item {
            Item::Doc { id, dir, files } => check_doc(&mut report, id, dir, files),
            Item::File { path, .. } => {
                if path.starts_with(fs::QUARANTINE_DIR) {
                    let doc_id = doc_id_of(path.strip_prefix(fs::QUARANTINE_DIR).unwrap_or(&path));
                    report.damaged.push(Damage {
                        doc_id,
                        path,
                        reason: "a damaged chunk the server moved aside; its document lost what it held unless a client re-synced it".into(),
                    });
                }
            }
        }
        Ok(())
    })?;
    Ok(report)
}

fn doc_id_of(rel: &Path) -> Option<String> {
    let mut parts = rel.iter();
    let a = parts.next()?.to_str()?;
    let b = parts.next()?.to_str()?;
    Some(format!("{a}{b}"))
}

fn check_doc(report: &mut CheckReport, id: String, dir: PathBuf, files: Vec<(PathBuf, Vec<u8>)>) {
    // Snapshots first, as samod loads them; then incrementals.
    let (snaps, incs): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|(p, _)| p.iter().nth(2) == Some("snapshot".as_ref()));
    let mut doc = Automerge::new();
    let mut chunks = 0;
    for (path, bytes) in snaps.into_iter().chain(incs) {
        chunks += 1;
        let verdict = chunk::validate(&bytes)
            .and_then(|()| chunk::strict_load(&bytes))
            .and_then(|()| {
                doc.load_incremental(&bytes)
                    .map(drop)
                    .map_err(|e| format!("does not apply to the document: {e}"))
            });
        if let Err(reason) = verdict {
            report.damaged.push(Damage {
                doc_id: Some(id.clone()),
                path,
                reason,
            });
        }
    }
    let missing = doc.get_missing_deps(&[]);
    if !missing.is_empty() {
        report.damaged.push(Damage {
            doc_id: Some(id.clone()),
            path: dir,
            reason: format!(
                "history is incomplete: {} changes it builds on are missing (e.g. {})",
                missing.len(),
                missing[0]
            ),
        });
    }
    let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    heads.sort();
    report.documents.push(DocSummary { id, chunks, heads });
}
