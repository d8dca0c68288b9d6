//! The revision history on disk: `STATE_DIR/revisions/NNNNNNNN.cf` (the
//! bytes) and `NNNNNNNN.json` (a [`RevisionInfo`]), the newest
//! [`Store::keep`] kept. Both files are written by temp file and rename,
//! the `.json` last: a revision exists once its `.json` does, so a helper
//! killed in between leaves no half revision, only bytes the next record
//! overwrites.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use crate::apply::{NewRevision, to_prune};
use crate::proto::{Digest, RevisionInfo};

/// Revisions kept unless told otherwise.
pub const DEFAULT_KEEP: usize = 50;

/// The history in a directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    /// How many revisions are kept.
    pub keep: usize,
}

fn name(rev: u64, ext: &str) -> String {
    format!("{rev:08}.{ext}")
}

/// Writes `bytes` to `path` by a temp file beside it, fsynced, renamed.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("{}: {e}", path.display())
    })
}

impl Store {
    /// The store in `state_dir/revisions`, created (mode 0700) if missing.
    pub fn open(state_dir: &Path, keep: usize) -> Result<Store, String> {
        let dir = state_dir.join("revisions");
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Store { dir, keep })
    }

    /// The revision numbers kept, oldest first.
    fn numbers(&self) -> Result<Vec<u64>, String> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))? {
            let entry = entry.map_err(|e| format!("{}: {e}", self.dir.display()))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(n) = name
                .strip_suffix(".json")
                .and_then(|n| n.parse::<u64>().ok())
            {
                out.push(n);
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    fn info(&self, rev: u64) -> Result<RevisionInfo, String> {
        let path = self.dir.join(name(rev, "json"));
        let text = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Every revision kept, newest first.
    pub fn list(&self) -> Result<Vec<RevisionInfo>, String> {
        self.numbers()?
            .into_iter()
            .rev()
            .map(|n| self.info(n))
            .collect()
    }

    /// The newest revision.
    pub fn latest(&self) -> Result<Option<RevisionInfo>, String> {
        match self.numbers()?.last() {
            Some(&n) => self.info(n).map(Some),
            None => Ok(None),
        }
    }

    /// A revision and its bytes (checked against its digest).
    pub fn get(&self, rev: u64) -> Result<Option<(RevisionInfo, Vec<u8>)>, String> {
        if !self.dir.join(name(rev, "json")).exists() {
            return Ok(None);
        }
        let info = self.info(rev)?;
        let path = self.dir.join(name(rev, "cf"));
        let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if Digest::of(&bytes) != info.digest {
            return Err(format!(
                "{}: its bytes do not match the recorded digest {}",
                path.display(),
                info.digest
            ));
        }
        Ok(Some((info, bytes)))
    }

    /// Records `bytes` as the next revision and prunes the oldest.
    pub fn record(&self, bytes: &[u8], meta: NewRevision) -> Result<RevisionInfo, String> {
        let numbers = self.numbers()?;
        let rev = numbers.last().map_or(1, |n| n + 1);
        let info = RevisionInfo {
            rev,
            digest: Digest::of(bytes),
            size: bytes.len() as u64,
            user: meta.user,
            uid: meta.uid,
            reason: meta.reason,
            time: meta.time,
            restored_from: meta.restored_from,
        };
        write_file(&self.dir.join(name(rev, "cf")), bytes)?;
        let json = serde_json::to_vec_pretty(&info).map_err(|e| e.to_string())?;
        write_file(&self.dir.join(name(rev, "json")), &json)?;
        let mut all = numbers;
        all.push(rev);
        for old in to_prune(&all, self.keep) {
            // The .json first: the revision is gone once it is.
            let _ = fs::remove_file(self.dir.join(name(old, "json")));
            let _ = fs::remove_file(self.dir.join(name(old, "cf")));
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(user: &str) -> NewRevision {
        NewRevision {
            user: user.into(),
            uid: Some(0),
            reason: "r".into(),
            time: 5,
            restored_from: None,
        }
    }

    #[test]
    fn records_lists_gets_and_prunes() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path(), 3).expect("open");
        assert_eq!(store.latest(), Ok(None));
        for i in 0..5u8 {
            let info = store.record(&[b'a' + i, 0xff], meta("u")).expect("record");
            assert_eq!(info.rev, u64::from(i) + 1);
        }
        let revs: Vec<u64> = store.list().expect("list").iter().map(|r| r.rev).collect();
        assert_eq!(revs, [5, 4, 3]);
        assert_eq!(store.get(1), Ok(None));
        let (info, bytes) = store.get(4).expect("get").expect("kept");
        assert_eq!((info.rev, bytes), (4, vec![b'd', 0xff]));
        // Tampered bytes are an error, not served.
        fs::write(dir.path().join("revisions/00000004.cf"), b"x").expect("write");
        assert!(store.get(4).expect_err("tampered").contains("do not match"));
        // A leftover .cf without its .json (killed in between) is no revision.
        fs::write(dir.path().join("revisions/00000006.cf"), b"half").expect("write");
        assert_eq!(store.latest().expect("latest").map(|r| r.rev), Some(5));
        let next = store.record(b"six", meta("v")).expect("record");
        assert_eq!(next.rev, 6);
        assert_eq!(store.get(6).expect("get").expect("kept").1, b"six");
    }
}
