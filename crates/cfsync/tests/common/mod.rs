//! The tests' backup store: lvs.cf at a path, the last push's record in a
//! second file. Only for the tests: the helper stores pushes through its
//! own writer and history (`admin::sync::SyncStore`).

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cfsync::{Digest, Store, StoreError, WriteRecord};

pub struct FileStore {
    path: PathBuf,
    record: PathBuf,
    lock: Mutex<()>,
}

impl FileStore {
    pub fn new(path: impl Into<PathBuf>, record: impl Into<PathBuf>) -> FileStore {
        FileStore {
            path: path.into(),
            record: record.into(),
            lock: Mutex::new(()),
        }
    }
}

fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Temp file and rename (a test directory needs no fsync), mode kept.
fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mode = fs::metadata(path).map_or(0o600, |m| m.permissions().mode() & 0o7777);
    let tmp = path.with_extension("test-tmp");
    fs::write(&tmp, bytes)?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))?;
    fs::rename(&tmp, path)
}

impl Store for FileStore {
    fn current(&self) -> io::Result<Option<Vec<u8>>> {
        read_optional(&self.path)
    }

    fn replace(
        &self,
        expected: Option<Digest>,
        bytes: &[u8],
        record: &WriteRecord,
    ) -> Result<(), StoreError> {
        let _held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let now = read_optional(&self.path).map_err(StoreError::Io)?;
        let now_digest = now.as_deref().map(Digest::of);
        if now_digest != expected {
            return Err(StoreError::Changed {
                current: now_digest,
            });
        }
        write(&self.path, bytes).map_err(StoreError::Io)?;
        let text = format!("{}\n{}\n{}\n", record.at_unix, record.digest, record.by);
        write(&self.record, text.as_bytes()).map_err(StoreError::Io)
    }

    fn last_write(&self) -> io::Result<Option<WriteRecord>> {
        let Some(bytes) = read_optional(&self.record)? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut lines = text.lines();
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "not a sync record");
        let at_unix = lines.next().and_then(|l| l.parse().ok()).ok_or_else(bad)?;
        let digest = lines.next().and_then(|l| l.parse().ok()).ok_or_else(bad)?;
        let by = lines.next().ok_or_else(bad)?.to_owned();
        Ok(Some(WriteRecord {
            at_unix,
            by,
            digest,
        }))
    }
}
