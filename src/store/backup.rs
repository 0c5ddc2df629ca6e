//! `glosa backup` and `glosa restore`: one tar archive of the data dir,
//! taken while the server runs, and its restoration into an empty dir.
//!
//! The archive ends with a manifest (`glosa-backup.json`) naming the number
//! of files and bytes, so a truncated archive (a full backup disk, a partial
//! copy) is refused instead of restoring half a library.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::consistent::{self, Item};
use super::{StoreError, fs};

const MANIFEST: &str = "glosa-backup.json";
const FORMAT: &str = "glosa-backup";
const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    /// Unix seconds.
    created: u64,
    files: u64,
    bytes: u64,
    documents: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub archive: PathBuf,
    pub documents: u64,
    pub files: u64,
    pub bytes: u64,
}

impl fmt::Display for BackupSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "backed up {} documents ({} files, {} bytes) to {}",
            self.documents,
            self.files,
            self.bytes,
            self.archive.display()
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSummary {
    pub data_dir: PathBuf,
    pub documents: u64,
    pub files: u64,
    pub bytes: u64,
}

impl fmt::Display for RestoreSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "restored {} documents ({} files, {} bytes) into {}",
            self.documents,
            self.files,
            self.bytes,
            self.data_dir.display()
        )
    }
}

/// Write one consistent archive of `data_dir` to `out` (atomically: `out`
/// appears only when complete and fsynced). Safe while a server runs.
pub fn backup(data_dir: &Path, out: &Path) -> Result<BackupSummary, StoreError> {
    if !data_dir.is_dir() {
        return Err(StoreError::Io {
            op: "back up",
            path: data_dir.to_path_buf(),
            source: io::Error::new(io::ErrorKind::NotFound, "no such data dir"),
        });
    }
    let out_dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out.file_name().ok_or_else(|| StoreError::Io {
        op: "write",
        path: out.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "not a file name"),
    })?;
    fs::create_dirs_durable(&out_dir).map_err(StoreError::io("create", &out_dir))?;
    let tmp = out_dir.join(format!(
        "{}{}.{}",
        fs::TEMP_PREFIX,
        std::process::id(),
        name.to_string_lossy()
    ));
    let result = write_archive(data_dir, &tmp).and_then(|summary| {
        std::fs::rename(&tmp, out).map_err(StoreError::io("rename into place", out))?;
        fs::fsync_dir(&out_dir).map_err(StoreError::io("fsync", &out_dir))?;
        Ok(summary)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    let (documents, files, bytes) = result?;
    Ok(BackupSummary {
        archive: out.to_path_buf(),
        documents,
        files,
        bytes,
    })
}

struct ArchiveWriter<'a> {
    tar: tar::Builder<BufWriter<File>>,
    tmp: &'a Path,
    now: u64,
    files: u64,
    bytes: u64,
}

impl ArchiveWriter<'_> {
    fn append(&mut self, path: &Path, data: &[u8]) -> Result<(), StoreError> {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(self.now);
        self.tar
            .append_data(&mut header, path, data)
            .map_err(StoreError::io("write", self.tmp))?;
        self.files += 1;
        self.bytes += data.len() as u64;
        Ok(())
    }
}

fn write_archive(data_dir: &Path, tmp: &Path) -> Result<(u64, u64, u64), StoreError> {
    let file = File::create(tmp).map_err(StoreError::io("create", tmp))?;
    let mut w = ArchiveWriter {
        tar: tar::Builder::new(BufWriter::new(file)),
        tmp,
        now: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        files: 0,
        bytes: 0,
    };
    let mut documents = 0u64;
    consistent::for_each(data_dir, |item| match item {
        Item::Doc { files, .. } => {
            documents += 1;
            for (path, data) in files {
                w.append(&path, &data)?;
            }
            Ok(())
        }
        Item::File { path, bytes } => w.append(&path, &bytes),
    })?;
    let (files, bytes) = (w.files, w.bytes);
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        created: w.now,
        files,
        bytes,
        documents,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| StoreError::Io {
        op: "encode manifest for",
        path: tmp.to_path_buf(),
        source: io::Error::other(e),
    })?;
    w.append(Path::new(MANIFEST), &json)?;
    let writer = w.tar.into_inner().map_err(StoreError::io("write", tmp))?;
    let file = writer
        .into_inner()
        .map_err(|e| StoreError::io("write", tmp)(e.into_error()))?;
    file.sync_all().map_err(StoreError::io("fsync", tmp))?;
    Ok((documents, files, bytes))
}

/// Rebuild `data_dir` (which must be empty or missing) from an archive made
/// by [`backup`]. The archive is checked completely before anything is
/// written, and a server cannot start on the dir meanwhile (it is locked).
pub fn restore(archive: &Path, data_dir: &Path) -> Result<RestoreSummary, StoreError> {
    let manifest = verify(archive)?;
    fs::create_dirs_durable(data_dir).map_err(StoreError::io("create", data_dir))?;
    let _lock = super::lock_for_command(data_dir)?;
    let entries = std::fs::read_dir(data_dir).map_err(StoreError::io("list", data_dir))?;
    for entry in entries {
        let entry = entry.map_err(StoreError::io("list", data_dir))?;
        if entry.file_name() != fs::LOCK_FILE {
            return Err(StoreError::NotEmpty(data_dir.to_path_buf()));
        }
    }
    let (mut files, mut bytes) = (0u64, 0u64);
    each_entry(archive, |path, data| {
        if path == Path::new(MANIFEST) {
            return Ok(());
        }
        let dest = data_dir.join(&path);
        fs::write_atomic_io(&dest, &data).map_err(|e| StoreError::Io {
            op: "restore (the data dir is now partly restored; empty it before retrying)",
            path: dest.clone(),
            source: e,
        })?;
        files += 1;
        bytes += data.len() as u64;
        Ok(())
    })?;
    Ok(RestoreSummary {
        data_dir: data_dir.to_path_buf(),
        documents: manifest.documents,
        files,
        bytes,
    })
}

fn bad(archive: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::BadArchive {
        path: archive.to_path_buf(),
        reason: reason.into(),
    }
}

/// Read the whole archive once: every entry a plain relative file, and the
/// manifest last, matching what came before it.
fn verify(archive: &Path) -> Result<Manifest, StoreError> {
    let (mut files, mut bytes) = (0u64, 0u64);
    let mut manifest: Option<Manifest> = None;
    each_entry(archive, |path, data| {
        if manifest.is_some() {
            return Err(bad(archive, "entries after the manifest"));
        }
        if path == Path::new(MANIFEST) {
            let m: Manifest = serde_json::from_slice(&data)
                .map_err(|e| bad(archive, format!("unreadable manifest: {e}")))?;
            if m.format != FORMAT || m.version != VERSION {
                return Err(bad(
                    archive,
                    format!("unknown format {} version {}", m.format, m.version),
                ));
            }
            manifest = Some(m);
        } else {
            files += 1;
            bytes += data.len() as u64;
        }
        Ok(())
    })?;
    let m = manifest.ok_or_else(|| {
        bad(
            archive,
            "no manifest at the end: the archive is truncated or not made by glosa backup",
        )
    })?;
    if m.files != files || m.bytes != bytes {
        return Err(bad(
            archive,
            format!(
                "manifest lists {} files / {} bytes but the archive holds {files} / {bytes}",
                m.files, m.bytes
            ),
        ));
    }
    Ok(m)
}

fn each_entry(
    archive: &Path,
    mut visit: impl FnMut(PathBuf, Vec<u8>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let file = File::open(archive).map_err(StoreError::io("open", archive))?;
    let mut tar = tar::Archive::new(io::BufReader::new(file));
    let entries = tar
        .entries()
        .map_err(|e| bad(archive, format!("not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(archive, format!("damaged: {e}")))?;
        let kind = entry.header().entry_type();
        let path = entry
            .path()
            .map_err(|e| bad(archive, format!("bad entry name: {e}")))?
            .into_owned();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(bad(
                archive,
                format!("{} is not a regular file", path.display()),
            ));
        }
        let name_ok = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| !fs::is_temp(n) && n != fs::LOCK_FILE);
        if !fs::is_plain_relative(&path) || !name_ok {
            return Err(bad(
                archive,
                format!("unsafe entry name {}", path.display()),
            ));
        }
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|e| bad(archive, format!("damaged at {}: {e}", path.display())))?;
        visit(path, data)?;
    }
    Ok(())
}
