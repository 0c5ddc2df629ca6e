//! Reading a consistent copy of the data dir while a server writes to it.
//!
//! Chunk files never change once written (their names are hashes and writes
//! are atomic renames); what changes is the set of files. samod deletes a
//! document's chunks only after a snapshot covering them is on disk. So a
//! copy of one document is complete unless a snapshot appeared while we were
//! reading (the chunks it covers may be gone before we listed them). We read
//! each document, list it again, and retry if its snapshots changed or a
//! listed file vanished. Documents are independent CRDTs, so a consistent
//! copy of each one is a consistent copy of the whole.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use super::StoreError;
use super::fs;

const MAX_TRIES: usize = 50;

/// One document's directory (`ab/cdef…`) or one loose file.
pub(crate) enum Item {
    Doc {
        id: String,
        /// The document's directory, relative to the data dir.
        dir: PathBuf,
        /// Relative to the data dir, sorted, with contents.
        files: Vec<(PathBuf, Vec<u8>)>,
    },
    File {
        path: PathBuf,
        bytes: Vec<u8>,
    },
}

/// Files of the store's own machinery, never part of a copy.
fn is_machinery(rel: &Path) -> bool {
    let feed_tmp = format!("{}.tmp", super::FEED_FILE);
    rel == Path::new(fs::LOCK_FILE)
        || rel == Path::new(super::PROBE_FILE)
        || rel == Path::new(super::FEED_FILE)
        || rel == Path::new(&feed_tmp)
}

/// A document directory is `<2 chars>/<rest>/<snapshot|incremental>/…`.
pub(crate) fn doc_dir_of(rel: &Path) -> Option<PathBuf> {
    let mut parts = rel.iter();
    let a = parts.next()?.to_str()?;
    let b = parts.next()?;
    let kind = parts.next()?;
    parts.next()?;
    if a.chars().count() == 2 && (kind == "snapshot" || kind == "incremental") {
        Some(Path::new(a).join(b))
    } else {
        None
    }
}

/// Visit every document and loose file of `data_dir`, each read consistently.
pub(crate) fn for_each(
    data_dir: &Path,
    mut visit: impl FnMut(Item) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let all = fs::walk_files(data_dir).map_err(StoreError::io("list", data_dir))?;
    let mut docs = BTreeSet::new();
    let mut loose = Vec::new();
    for rel in all {
        if is_machinery(&rel) {
            continue;
        }
        match doc_dir_of(&rel) {
            Some(d) => {
                docs.insert(d);
            }
            None => loose.push(rel),
        }
    }
    for dir in docs {
        let id = dir
            .iter()
            .map(|c| c.to_string_lossy())
            .collect::<Vec<_>>()
            .concat();
        let files = read_doc(data_dir, &dir)?;
        visit(Item::Doc { id, dir, files })?;
    }
    for path in loose {
        // Loose files are written atomically, so any read is one version.
        match std::fs::read(data_dir.join(&path)) {
            Ok(bytes) => visit(Item::File { path, bytes })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("read", &data_dir.join(&path))(e)),
        }
    }
    Ok(())
}

fn snapshots(files: &[PathBuf]) -> BTreeSet<&PathBuf> {
    files
        .iter()
        .filter(|p| p.iter().next() == Some("snapshot".as_ref()))
        .collect()
}

fn read_doc(data_dir: &Path, dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, StoreError> {
    let root = data_dir.join(dir);
    'attempt: for _ in 0..MAX_TRIES {
        let before = match fs::walk_files(&root) {
            Ok(f) => f,
            // The whole document vanished: nothing to copy.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io("list", &root)(e)),
        };
        let mut read = BTreeMap::new();
        for rel in &before {
            match std::fs::read(root.join(rel)) {
                Ok(bytes) => {
                    read.insert(dir.join(rel), bytes);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue 'attempt,
                Err(e) => return Err(StoreError::io("read", &root.join(rel))(e)),
            }
        }
        let after = match fs::walk_files(&root) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io("list", &root)(e)),
        };
        if snapshots(&before) == snapshots(&after) {
            return Ok(read.into_iter().collect());
        }
    }
    Err(StoreError::Unstable(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_dirs_are_recognised() {
        assert_eq!(
            doc_dir_of(Path::new("ab/cdef/incremental/00")),
            Some(PathBuf::from("ab/cdef"))
        );
        assert_eq!(
            doc_dir_of(Path::new("ab/cdef/snapshot/00")),
            Some(PathBuf::from("ab/cdef"))
        );
        assert_eq!(doc_dir_of(Path::new("st/orage-adapter-id")), None);
        assert_eq!(doc_dir_of(Path::new("library-url")), None);
        assert_eq!(
            doc_dir_of(Path::new("quarantine/ab/cdef/snapshot/00")),
            None
        );
    }
}
