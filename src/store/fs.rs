//! Durable file operations: every write goes to a temporary file in the same
//! directory, is fsynced, renamed over the target, and the directory is
//! fsynced, so a crash at any moment leaves either the old or the new bytes,
//! never a mix, and a write that returned is on disk.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use samod::storage::StorageKey;

use super::StoreError;

/// Every temporary file starts with this, so a crash's leftovers are
/// recognisable, skipped when loading, left out of backups and removed when
/// the store opens.
pub(crate) const TEMP_PREFIX: &str = ".glosa-tmp.";

/// The lock file that keeps a second server off the same data dir.
pub(crate) const LOCK_FILE: &str = "glosa.lock";

/// Where the server moves chunk files it cannot read, so they stop being
/// offered to automerge but are kept for the operator.
pub(crate) const QUARANTINE_DIR: &str = "quarantine";

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

pub(crate) fn is_temp(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX)
}

/// A temporary name unique within this process and across processes (pid).
fn temp_path(target: &Path) -> io::Result<PathBuf> {
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = format!(
        "{TEMP_PREFIX}{}.{n}.{}",
        std::process::id(),
        name.to_string_lossy()
    );
    Ok(parent_or_dot(target).join(tmp))
}

fn parent_or_dot(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Write `bytes` to `path` atomically and durably (temp file, fsync, rename,
/// fsync of the directory). Creates missing parent directories durably.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_atomic_io(path, bytes).map_err(|source| StoreError::Io {
        op: "write",
        path: path.to_path_buf(),
        source,
    })
}

pub(crate) fn write_atomic_io(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent_or_dot(path);
    create_dirs_durable(dir)?;
    let tmp = temp_path(path)?;
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        fsync_dir(dir)
    })();
    if result.is_err() {
        // A full disk leaves a partial temp file behind; don't let it take
        // the space that recovery needs. It may already be renamed: ignore.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Create `dir` and any missing ancestors, fsyncing each parent after a new
/// entry appears in it, so a new document's directories survive power loss.
pub(crate) fn create_dirs_durable(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut cur = dir;
    loop {
        if cur.as_os_str().is_empty() || cur.is_dir() {
            break;
        }
        missing.push(cur.to_path_buf());
        match cur.parent() {
            Some(p) => cur = p,
            None => break,
        }
    }
    for d in missing.iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => fsync_dir(parent_or_dot(d))?,
            // Another writer created it meanwhile: it did the fsync.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub(crate) fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Remove `path` and fsync its directory. A missing file is not an error:
/// samod deletes superseded chunks that a crash may already have removed.
pub(crate) fn remove_durable(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => fsync_dir(parent_or_dot(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The relative path of a storage key, in the layout of samod's
/// `TokioFilesystemStorage` and automerge-repo's NodeFS adapter: the first
/// component is split after two characters (`ab/cdef…/incremental/<hash>`).
/// Returns None for keys that could escape the data dir or collide with our
/// own files (`.`, `..`, temp names); samod never produces them.
pub(crate) fn key_to_rel(key: &StorageKey) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for (i, part) in key.into_iter().enumerate() {
        if part == "." || part == ".." || is_temp(part) || part.contains('\\') {
            return None;
        }
        if i == 0 {
            let first: String = part.chars().take(2).collect();
            let rest: String = part.chars().skip(2).collect();
            if first == "." || first == ".." || rest == "." || rest == ".." {
                return None;
            }
            out.push(first);
            if !rest.is_empty() {
                out.push(rest);
            }
        } else {
            out.push(part);
        }
    }
    if out.as_os_str().is_empty() {
        return None;
    }
    Some(out)
}

/// A relative path made only of normal components (no root, no `..`).
pub(crate) fn is_plain_relative(path: &Path) -> bool {
    !path.as_os_str().is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Every regular file under `root` (recursively), as paths relative to
/// `root`, skipping temp files. Unreadable directories are errors: a backup
/// or check that silently skipped them would lie.
pub(crate) fn walk_files(root: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let entries = match fs::read_dir(root.join(&rel)) {
            Ok(e) => e,
            // Removed meanwhile (samod deleting a superseded chunk dir).
            Err(e) if e.kind() == io::ErrorKind::NotFound && !rel.as_os_str().is_empty() => {
                continue;
            }
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_str().is_some_and(is_temp) {
                continue;
            }
            let child = rel.join(&name);
            let ft = match entry.file_type() {
                Ok(ft) => ft,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if ft.is_dir() {
                stack.push(child);
            } else if ft.is_file() {
                out.push(child);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Whether a temp file was made by another process (its name carries the
/// writer's pid, see [`temp_path`]). With the data dir locked, such a file
/// can only be a crash's leftover; ours may be a write in progress.
fn is_stray_temp(name: &str) -> bool {
    let ours = format!("{TEMP_PREFIX}{}.", std::process::id());
    is_temp(name) && !name.starts_with(&ours)
}

/// Remove temp files left by a crash anywhere under `root`: those of other
/// processes. Only called with the lock held, so no live writer owns them.
pub(crate) fn remove_stray_temps(root: &Path) -> io::Result<usize> {
    let mut removed = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let ft = entry.file_type()?;
            let temp = entry.file_name().to_str().is_some_and(is_stray_temp);
            if ft.is_dir() {
                stack.push(path);
            } else if temp {
                fs::remove_file(&path)?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(parts: &[&str]) -> StorageKey {
        StorageKey::from_parts(parts).unwrap()
    }

    #[test]
    fn keys_map_to_the_nodefs_layout() {
        assert_eq!(
            key_to_rel(&key(&["3xyzabc", "incremental", "ff00"])).unwrap(),
            PathBuf::from("3x/yzabc/incremental/ff00")
        );
        assert_eq!(
            key_to_rel(&key(&["storage-adapter-id"])).unwrap(),
            PathBuf::from("st/orage-adapter-id")
        );
    }

    #[test]
    fn keys_that_could_escape_are_refused() {
        assert!(key_to_rel(&key(&["abcd", ".."])).is_none());
        assert!(key_to_rel(&key(&["..abc", "x"])).is_none());
        assert!(key_to_rel(&key(&["ab..", "x"])).is_none());
        assert!(key_to_rel(&key(&["abcd", ".glosa-tmp.1"])).is_none());
    }

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let files = walk_files(dir.path()).unwrap();
        assert_eq!(files, vec![PathBuf::from("a/b/c")]);
        let names: Vec<_> = fs::read_dir(dir.path().join("a/b"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "a temp file was left behind: {names:?}");
    }

    #[test]
    fn write_atomic_reports_a_blocked_path() {
        let dir = tempfile::tempdir().unwrap();
        // A regular file where a directory must go fails even for root.
        fs::write(dir.path().join("a"), b"x").unwrap();
        let err = write_atomic(&dir.path().join("a/b"), b"x").unwrap_err();
        assert!(err.to_string().contains("a/b"), "{err}");
    }
}
