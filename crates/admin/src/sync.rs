//! Config sync ([`cfsync`]) wired into the helper: the push to the other
//! router after an apply or on demand ([`Peer`]), and the other router's
//! pushes written through the helper's own writer and history
//! ([`SyncStore`]).
//!
//! Both routers run both ends, each with the other as its peer: the one
//! applying pushes, the other stores. A stored push is written exactly as
//! an apply writes (temp file, fsync, mode and owner kept, rename, fsync
//! of the directory, under the same lock as applies) and recorded as a
//! revision by `sync from NAME`; nothing is signalled (lvsd runs on the
//! active router only, and the backup reads the file when it takes over).

use std::io;
use std::sync::{Arc, Mutex};

use cfsync::{BaseFile, Identity, PeerConfig, Refusal, Reply, Store, StoreError, WriteRecord};

use crate::apply::{self, Effects as _, NewRevision};
use crate::proto::{Digest, PeerFile, SyncOutcome, SyncState, SyncWrite};
use crate::system::{self, System};

/// The revision user of a stored push starts with this, then the sender's
/// name.
pub const SYNC_USER_PREFIX: &str = "sync from ";

fn digest(d: cfsync::Digest) -> Digest {
    Digest(d.0)
}

/// The other router, as this helper pushes to it.
pub struct Peer {
    identity: Identity,
    peer: PeerConfig,
    base: BaseFile,
    sender: String,
    runtime: tokio::runtime::Handle,
    // One push at a time: each reads and saves the base.
    pushing: Mutex<()>,
}

impl Peer {
    /// Pushes to `peer` as `sender` (this router's name), presenting
    /// `identity`, keeping the base in `base`, on `runtime` (called from
    /// the helper's blocking threads, never from the runtime's own).
    pub fn new(
        identity: Identity,
        peer: PeerConfig,
        base: BaseFile,
        sender: String,
        runtime: tokio::runtime::Handle,
    ) -> Peer {
        Peer {
            identity,
            peer,
            base,
            sender,
            runtime,
            pushing: Mutex::new(()),
        }
    }

    /// Pushes `file` (the bytes on disk) and says how it went.
    pub fn push(&self, file: Vec<u8>, force: bool) -> SyncOutcome {
        let _one = self.pushing.lock().unwrap_or_else(|p| p.into_inner());
        let sent = file.clone();
        let reply = self.runtime.block_on(cfsync::sync(
            &self.identity,
            &self.peer,
            &self.sender,
            file,
            force,
            &self.base,
        ));
        outcome(self.peer.addr, reply, &sent)
    }

    /// This router's file (`local`) and the peer's, as the peer answers
    /// now.
    pub fn state(&self, local: &[u8]) -> SyncState {
        let remote = match self
            .runtime
            .block_on(cfsync::query_status(&self.identity, &self.peer))
        {
            Ok(s) => PeerFile::Known {
                digest: s.digest.map(digest),
                serial_no: s.serial_no,
                last_write: s.last_write.map(|w| SyncWrite {
                    at: w.at_unix,
                    by: w.by,
                    digest: digest(w.digest),
                }),
            },
            Err(e) => PeerFile::Unreachable {
                reason: e.to_string(),
            },
        };
        SyncState {
            peer: self.peer.addr.to_string(),
            peer_fingerprint: self.peer.fingerprint.to_string(),
            fingerprint: self.identity.fingerprint().to_string(),
            local_digest: Digest::of(local),
            local_serial_no: crate::verdict::serial_no_of(local),
            base: self.base.load().ok().flatten().map(digest),
            remote,
        }
    }
}

/// The protocol's form of a push's result.
pub fn outcome(
    peer: std::net::SocketAddr,
    reply: Result<Reply, cfsync::SyncError>,
    file: &[u8],
) -> SyncOutcome {
    match reply {
        Ok(Reply::Accepted(a)) => SyncOutcome::Accepted {
            peer_digest: digest(a.digest),
            written: a.written,
        },
        Ok(Reply::Refused(r)) => SyncOutcome::Refused {
            message: cfsync::describe(&r),
            rendered: cfsync::render(&r, "lvs.cf", file),
            conflict: matches!(r, Refusal::Conflict { .. }),
        },
        Ok(Reply::Error(e)) => SyncOutcome::Failed {
            message: format!("config sync with {peer}: the peer could not read the push: {e}"),
        },
        Ok(Reply::Status(_)) => SyncOutcome::Failed {
            message: format!("config sync with {peer}: a status reply to a push"),
        },
        Err(e) => SyncOutcome::Failed {
            message: e.to_string(),
        },
    }
}

/// The other router's pushes, stored through the helper's writer and
/// history.
pub struct SyncStore {
    system: Arc<Mutex<System>>,
}

impl SyncStore {
    /// Over the helper's system (the lock applies take).
    pub fn new(system: Arc<Mutex<System>>) -> SyncStore {
        SyncStore { system }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, System> {
        self.system.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn other(message: String) -> io::Error {
    io::Error::other(message)
}

/// The file, `None` when there is none.
fn on_disk(system: &System) -> io::Result<Option<Vec<u8>>> {
    if !system.paths.config.exists() {
        return Ok(None);
    }
    system::read_config(&system.paths.config)
        .map(Some)
        .map_err(other)
}

/// A sender's name as a revision's user: one line, bounded.
fn sender_user(by: &str) -> String {
    let name: String = by
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(crate::proto::MAX_USER - SYNC_USER_PREFIX.len())
        .collect();
    format!("{SYNC_USER_PREFIX}{name}")
}

impl Store for SyncStore {
    fn current(&self) -> io::Result<Option<Vec<u8>>> {
        on_disk(&self.lock())
    }

    fn replace(
        &self,
        expected: Option<cfsync::Digest>,
        bytes: &[u8],
        record: &WriteRecord,
    ) -> Result<(), StoreError> {
        let mut system = self.lock();
        let now = on_disk(&system).map_err(StoreError::Io)?;
        let now_digest = now.as_deref().map(cfsync::Digest::of);
        if now_digest != expected {
            return Err(StoreError::Changed {
                current: now_digest,
            });
        }
        let failed = |e: crate::proto::Error| StoreError::Io(other(e.to_string()));
        // The file found (a hand edit) is kept as a revision first, so it
        // can be restored.
        if let Some(found) = &now {
            apply::record_disk(&mut *system, found, None).map_err(failed)?;
        }
        apply::write(&mut *system, bytes).map_err(failed)?;
        system
            .record(
                bytes,
                NewRevision {
                    user: sender_user(&record.by),
                    uid: None,
                    reason: "config sync: pushed by the other router".into(),
                    time: record.at_unix,
                    restored_from: None,
                },
            )
            .map_err(|e| StoreError::Io(other(e)))?;
        Ok(())
    }

    fn last_write(&self) -> io::Result<Option<WriteRecord>> {
        let revisions = self.lock().store.list().map_err(other)?;
        Ok(revisions.into_iter().find_map(|r| {
            let by = r.user.strip_prefix(SYNC_USER_PREFIX)?.to_owned();
            Some(WriteRecord {
                at_unix: r.time,
                by,
                digest: cfsync::Digest(r.digest.0),
            })
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store as History;
    use crate::system::Paths;

    fn system(dir: &std::path::Path) -> Arc<Mutex<System>> {
        let paths = Paths {
            config: dir.join("lvs.cf"),
            lvsd_socket: dir.join("lvsd.sock"),
            lvsd_pidfile: dir.join("lvs.pid"),
            pulse_socket: dir.join("pulse.sock"),
            pulse_pidfile: dir.join("pulse.pid"),
        };
        let store = History::open(&dir.join("state"), 50).expect("history");
        Arc::new(Mutex::new(System::new(paths, store)))
    }

    fn record(bytes: &[u8]) -> WriteRecord {
        WriteRecord {
            at_unix: 1_700_000_000,
            by: "r1\nforged".into(),
            digest: cfsync::Digest::of(bytes),
        }
    }

    #[test]
    fn a_stored_push_is_an_atomic_write_and_a_revision() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tmp");
        let sys = system(dir.path());
        let store = SyncStore::new(sys.clone());
        assert_eq!(store.current().expect("current"), None);
        assert_eq!(store.last_write().expect("last"), None);
        store
            .replace(None, b"serial_no = 1\n", &record(b"serial_no = 1\n"))
            .expect("first");
        let path = dir.path().join("lvs.cf");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        // A hand edit, then a push that expected the old file: refused.
        std::fs::write(&path, b"serial_no = 2\n# by hand\n").expect("edit");
        match store.replace(
            Some(cfsync::Digest::of(b"serial_no = 1\n")),
            b"serial_no = 3\n",
            &record(b"serial_no = 3\n"),
        ) {
            Err(StoreError::Changed { current }) => assert_eq!(
                current,
                Some(cfsync::Digest::of(b"serial_no = 2\n# by hand\n"))
            ),
            other => panic!("{other:?}"),
        }
        // Forced over it: the hand edit is kept as a revision first.
        store
            .replace(
                Some(cfsync::Digest::of(b"serial_no = 2\n# by hand\n")),
                b"serial_no = 3\n",
                &record(b"serial_no = 3\n"),
            )
            .expect("forced");
        assert_eq!(std::fs::read(&path).expect("read"), b"serial_no = 3\n");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o640, "mode kept");
        let history = sys.lock().expect("lock").store.list().expect("list");
        let users: Vec<&str> = history.iter().map(|r| r.user.as_str()).collect();
        assert_eq!(
            users,
            ["sync from r1?forged", "(on disk)", "sync from r1?forged"]
        );
        let last = store.last_write().expect("last").expect("a write");
        assert_eq!(
            (last.by.as_str(), last.digest),
            ("r1?forged", cfsync::Digest::of(b"serial_no = 3\n"))
        );
        let leftovers = std::fs::read_dir(dir.path())
            .expect("ls")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .count();
        assert_eq!(leftovers, 0);
    }
}
