//! Where the backup keeps the file: a trait, so lvs-admin plugs in its own
//! atomic writer and revision history (the one writer of lvs.cf; the
//! tests' plain file store is in `tests/common`). [`write_atomic`] writes
//! this crate's own small state file, the base record ([`crate::BaseFile`]).

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
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

fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Writes `path` through a temporary file in its directory: write, fsync,
/// mode (and owner, when given and different), rename over, fsync the
/// directory so the rename itself survives a crash.
pub(crate) fn write_atomic(
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

    #[test]
    fn a_write_replaces_the_file_and_leaves_no_temporary() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("peer-base");
        write_atomic(&path, b"one\n", 0o600, None).unwrap();
        write_atomic(&path, b"two\n", 0o640, None).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["peer-base"]);
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
}
