//! Where the backup keeps the file: a trait, so lvs-admin plugs in its own
//! atomic writer and revision history, and a plain file implementation.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::digest::Digest;
use crate::wire::WriteRecord;

/// The backup's lvs.cf as the sync server sees it. Calls come from a
/// blocking thread, one push at a time.
pub trait Store: Send + Sync {
    /// The file's bytes; `None` when there is no file.
    fn current(&self) -> io::Result<Option<Vec<u8>>>;

    /// Replaces the file with `bytes` if its digest is still `expected`
    /// (`None`: still no file), atomically: a crash leaves the old or the
    /// new file, never a mix. `record` says who pushed it and when.
    fn replace(
        &self,
        expected: Option<Digest>,
        bytes: &[u8],
        record: &WriteRecord,
    ) -> Result<(), StoreError>;

    /// The last write a push made (for the status query).
    fn last_write(&self) -> io::Result<Option<WriteRecord>>;
}

/// A replace that did not happen.
#[derive(Debug)]
pub enum StoreError {
    /// The file changed since it was read (an edit at that moment).
    Changed {
        /// Its digest now.
        current: Option<Digest>,
    },
    /// Reading or writing failed.
    Io(io::Error),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Changed { current: Some(d) } => {
                write!(f, "the file changed meanwhile (now {d})")
            }
            StoreError::Changed { current: None } => f.write_str("the file was removed meanwhile"),
            StoreError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Io(e) => Some(e),
            StoreError::Changed { .. } => None,
        }
    }
}

/// lvs.cf at a path, written by temp file + fsync + rename + fsync of the
/// directory, with its mode and owner kept; the last push's record in a
/// second small file.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    record: PathBuf,
    // One writer at a time within this process (the server serialises
    // pushes too; this keeps the store safe on its own).
    lock: Mutex<()>,
}

impl FileStore {
    /// The file `path`; the record of the last push in `record` (e.g.
    /// `STATE_DIR/last-sync`).
    pub fn new(path: impl Into<PathBuf>, record: impl Into<PathBuf>) -> FileStore {
        FileStore {
            path: path.into(),
            record: record.into(),
            lock: Mutex::new(()),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(with_path(path, e)),
    }
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
        // A new lvs.cf gets 0600: it may name commands run as root.
        let (mode, owner) = match fs::metadata(&self.path) {
            Ok(m) => (m.permissions().mode() & 0o7777, Some((m.uid(), m.gid()))),
            Err(_) => (0o600, None),
        };
        write_atomic(&self.path, bytes, mode, owner).map_err(StoreError::Io)?;
        write_atomic(&self.record, record_text(record).as_bytes(), 0o600, None)
            .map_err(StoreError::Io)
    }

    fn last_write(&self) -> io::Result<Option<WriteRecord>> {
        let Some(bytes) = read_optional(&self.record)? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        parse_record(&text).map(Some).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not a sync record", self.record.display()),
            )
        })
    }
}

/// `at=SECONDS`, `digest=HEX`, `by=NAME`, one a line (the name last: it
/// is the sender's text, control characters already replaced).
fn record_text(r: &WriteRecord) -> String {
    let by: String =
        r.by.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
    format!("at={}\ndigest={}\nby={by}\n", r.at_unix, r.digest)
}

fn parse_record(text: &str) -> Option<WriteRecord> {
    let mut lines = text.lines();
    let at_unix = lines.next()?.strip_prefix("at=")?.parse().ok()?;
    let digest = lines.next()?.strip_prefix("digest=")?.parse().ok()?;
    let by = lines.next()?.strip_prefix("by=")?.to_owned();
    Some(WriteRecord {
        at_unix,
        by,
        digest,
    })
}

/// Writes `path` through a temporary file in its directory: write, fsync,
/// mode (and owner, when given and different), rename over, fsync the
/// directory so the rename itself survives a crash.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (tmp, mut file) = create_temp(dir, &name)?;
    let result = (|| {
        file.write_all(bytes)?;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        if let Some((uid, gid)) = owner {
            let m = file.metadata()?;
            if (m.uid(), m.gid()) != (uid, gid) {
                std::os::unix::fs::fchown(&file, Some(uid), Some(gid))?;
            }
        }
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| with_path(path, e))
}

/// A new file `.NAME.sync-N` in `dir` (exclusive create, so never another
/// writer's).
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, fs::File)> {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ std::process::id();
    for i in 0..100u32 {
        let tmp = dir.join(format!(".{name}.sync-{:08x}", seed.wrapping_add(i)));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(with_path(&tmp, e)),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{}: no free temporary name for {name}", dir.display()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(by: &str, bytes: &[u8]) -> WriteRecord {
        WriteRecord {
            at_unix: 1_700_000_000,
            by: by.into(),
            digest: Digest::of(bytes),
        }
    }

    #[test]
    fn replace_checks_the_expected_digest_and_keeps_the_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("lvs.cf");
        let store = FileStore::new(&path, tmp.path().join("last-sync"));
        assert_eq!(store.current().unwrap(), None);
        assert_eq!(store.last_write().unwrap(), None);

        store
            .replace(None, b"one\n", &record("r1", b"one\n"))
            .unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();

        // A stale expectation changes nothing.
        match store.replace(None, b"two\n", &record("r1", b"two\n")) {
            Err(StoreError::Changed { current }) => assert_eq!(current, Some(Digest::of(b"one\n"))),
            other => panic!("{other:?}"),
        }
        assert_eq!(store.current().unwrap().as_deref(), Some(&b"one\n"[..]));

        store
            .replace(
                Some(Digest::of(b"one\n")),
                b"two\n",
                &record("r\n1", b"two\n"),
            )
            .unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(store.last_write().unwrap(), Some(record("r?1", b"two\n")));
        // No temporary file left behind.
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_failed_write_leaves_no_temporary() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("lvs.cf");
        fs::write(&path, b"old\n").unwrap();
        // The target is a non-empty directory: the rename fails.
        fs::create_dir(tmp.path().join("sub")).unwrap();
        fs::write(tmp.path().join("sub/x"), b"").unwrap();
        let e = write_atomic(&tmp.path().join("sub"), b"new\n", 0o600, None).unwrap_err();
        assert!(e.to_string().contains("sub"), "{e}");
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".sync-")), "{names:?}");
        assert_eq!(fs::read(&path).unwrap(), b"old\n");
    }

    #[test]
    fn a_damaged_record_is_an_error_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let rec = tmp.path().join("last-sync");
        fs::write(&rec, "at=yesterday\n").unwrap();
        let store = FileStore::new(tmp.path().join("lvs.cf"), &rec);
        let e = store.last_write().unwrap_err();
        assert!(e.to_string().contains("last-sync"), "{e}");
    }
}
