//! Writing the passwd and tokens files: read, change, and replace the
//! file atomically (temporary file in the same directory, fsync, rename,
//! fsync of the directory), under a lock on the directory so that two
//! runs at once cannot lose each other's change. The passwd file: mode
//! 600, owner the user `piranha` when it exists (the original's Apache ran
//! as piranha and had to read the file), else root. The tokens file: read
//! by lvs-web itself (it holds SHA-256 digests of random tokens, nothing a
//! reader can log in with), so group `lvs-web`, mode 640.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Gid, Group, Uid, User, fchown};

/// The file's owner and group, and a note for the admin when it is not
/// the one they may expect.
pub fn owner() -> (Option<(Uid, Gid)>, Option<String>) {
    if !Uid::effective().is_root() {
        // Only root can give a file away; a non-root run (tests with
        // --file) keeps its own.
        return (None, None);
    }
    match User::from_name(access::roles::PIRANHA_USER) {
        Ok(Some(u)) => {
            let gid = Group::from_name(access::roles::PIRANHA_USER)
                .ok()
                .flatten()
                .map_or(u.gid, |g| g.gid);
            (Some((u.uid, gid)), None)
        }
        _ => (
            Some((Uid::from_raw(0), Gid::from_raw(0))),
            Some("user piranha does not exist: the file stays owned by root".into()),
        ),
    }
}

/// The group lvs-web runs as (packaging/ makes it with the user).
pub const WEB_GROUP: &str = "lvs-web";

/// Owner and mode of the tokens file: what the file has now if it exists
/// (an admin's choice is kept), else root:lvs-web 0640, else (no such
/// group) [`owner`]'s with 0600 and a note.
pub fn token_owner(path: &Path) -> (Option<(Uid, Gid)>, u32, Option<String>) {
    use std::os::unix::fs::MetadataExt as _;
    if let Ok(m) = std::fs::metadata(path) {
        let own = Uid::effective()
            .is_root()
            .then(|| (Uid::from_raw(m.uid()), Gid::from_raw(m.gid())));
        return (own, m.mode() & 0o777, None);
    }
    if !Uid::effective().is_root() {
        return (None, 0o600, None);
    }
    match Group::from_name(WEB_GROUP) {
        Ok(Some(g)) => (Some((Uid::from_raw(0), g.gid)), 0o640, None),
        _ => {
            let (own, _) = owner();
            (
                own,
                0o600,
                Some(format!(
                    "group {WEB_GROUP} does not exist: the file is readable by its owner only, and lvs-web cannot check tokens until it can read it"
                )),
            )
        }
    }
}

/// Holds the directory lock while the file is read and replaced.
pub struct Locked {
    _lock: Flock<File>,
    path: PathBuf,
}

/// Locks `path`'s directory (exclusive, waits for another run).
pub fn lock(path: &Path) -> Result<Locked> {
    let dir = parent(path);
    let d = File::open(&dir).with_context(|| format!("cannot open {}", dir.display()))?;
    let lock = Flock::lock(d, FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .with_context(|| format!("cannot lock {}", dir.display()))?;
    Ok(Locked {
        _lock: lock,
        path: path.to_owned(),
    })
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

impl Locked {
    /// The file's bytes, `None` if it does not exist yet.
    pub fn read(&self) -> Result<Option<Vec<u8>>> {
        match std::fs::read(&self.path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", self.path.display())),
        }
    }

    /// Replaces the file with `bytes`, with `mode`, owned by `owner`.
    pub fn replace(&self, bytes: &[u8], owner: Option<(Uid, Gid)>, mode: u32) -> Result<()> {
        let dir = parent(&self.path);
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
        let result = write_new(&tmp, bytes, owner, mode).and_then(|()| {
            std::fs::rename(&tmp, &self.path).with_context(|| {
                format!("cannot rename {} to {}", tmp.display(), self.path.display())
            })
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result?;
        // The rename is durable once the directory is.
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot sync {}", dir.display()))
    }
}

fn write_new(tmp: &Path, bytes: &[u8], owner: Option<(Uid, Gid)>, mode: u32) -> Result<()> {
    // A leftover of a run killed before its rename.
    let _ = std::fs::remove_file(tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    if let Some((uid, gid)) = owner {
        fchown(&f, Some(uid), Some(gid))
            .with_context(|| format!("cannot chown {}", tmp.display()))?;
    }
    // Widened only after the chown: never readable by a group it is not
    // meant for, even for a moment.
    if mode != 0o600 {
        use std::os::unix::fs::PermissionsExt as _;
        f.set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot chmod {}", tmp.display()))?;
    }
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))
}
