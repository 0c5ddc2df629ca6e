//! A content file's identity on disk, known without opening it.
//!
//! A restart with a thousand articles must not read and hash a thousand
//! files (on a CPU without SHA instructions that alone is a third of the
//! start-up). Like git's index and make, the import cache keeps each
//! file's size, inode and times as they were when it was read; a file
//! whose stamp is unchanged is skipped unread.
//!
//! The inode-change time (ctime) is what makes this safe: every write
//! moves it and no user can set it, so tools that restore the modified
//! time (`rsync -t`, `tar`, `cp -p`) still change the stamp. Timestamps
//! come from a coarse clock, and on a network file system from another
//! machine's, so a stamp is only kept for a file that had been still for
//! [`SETTLED`] when it was read: any later write lands on a later ctime.

use std::fs::Metadata;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// How long a file must have been unchanged, when it was read, for its
/// stamp to vouch for its bytes afterwards.
pub const SETTLED: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    len: u64,
    dev: u64,
    ino: u64,
    mtime_ns: i64,
    ctime_ns: i64,
}

impl Stamp {
    /// The file's stamp now, to compare with a recorded one. `None` where
    /// the platform has no inode-change time.
    pub fn current(meta: &Metadata) -> Option<Stamp> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
            Some(Stamp {
                len: meta.len(),
                dev: meta.dev(),
                ino: meta.ino(),
                mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
                ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            None
        }
    }

    /// The stamp to record for a file whose metadata was taken at or after
    /// `before_read`, and before its bytes were read. `None` when the file
    /// changed too shortly before: it will be read again next time.
    pub fn to_record(meta: &Metadata, before_read: SystemTime) -> Option<Stamp> {
        let stamp = Stamp::current(meta)?;
        let settled_ns = before_read
            .checked_sub(SETTLED)?
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?
            .as_nanos();
        let changed_ns = u128::try_from(stamp.ctime_ns.max(stamp.mtime_ns)).ok()?;
        (changed_ns <= settled_ns).then_some(stamp)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn file_with(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.md");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_file_written_just_now_gets_no_stamp() {
        let (_dir, path) = file_with("one");
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(Stamp::to_record(&meta, SystemTime::now()), None);
    }

    #[test]
    fn a_settled_file_gets_the_stamp_it_has() {
        let (_dir, path) = file_with("one");
        let meta = std::fs::metadata(&path).unwrap();
        // As if it were read SETTLED later, untouched meanwhile.
        let later = SystemTime::now() + SETTLED + Duration::from_millis(100);
        let stamp = Stamp::to_record(&meta, later).unwrap();
        assert_eq!(Some(stamp), Stamp::current(&meta));
    }

    #[test]
    fn a_rewrite_with_the_same_size_and_restored_mtime_changes_the_stamp() {
        let (_dir, path) = file_with("one");
        let before = std::fs::metadata(&path).unwrap();
        let old = Stamp::current(&before).unwrap();
        // Make sure the coarse clock moves past the first write.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            std::fs::write(&path, "two").unwrap();
            let f = std::fs::File::options().write(true).open(&path).unwrap();
            f.set_modified(before.modified().unwrap()).unwrap();
            let now = Stamp::current(&std::fs::metadata(&path).unwrap()).unwrap();
            assert_eq!((now.len, now.mtime_ns), (old.len, old.mtime_ns));
            if now != old {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the ctime never moved"
            );
        }
    }
}
