//! The helper's socket: who may connect, and each verb carried out.
//!
//! The socket is mode 0660, owner root, group the web process's group, so
//! only root and that group can connect at all. Each connection's peer is
//! checked again by what the kernel recorded at its `connect()` (defence
//! in depth, should the socket's mode or directory be loosened): allowed
//! are uid 0 (`SO_PEERCRED`), and a process whose gid (`SO_PEERCRED`) or
//! one of whose supplementary groups (`SO_PEERGROUPS`) is the group. Both
//! come from the socket itself, not from the peer's pid, so a client that
//! exits and leaves its pid to another process cannot lend it its groups,
//! and a group dropped after connecting still counts as it was. Others are
//! logged and closed without an answer.
//!
//! One request per connection, handled on a thread of its own (at most
//! [`MAX_CLIENTS`] at once); applies and restores take one lock, so they
//! run one after the other.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};

use crate::apply::{self, Change, Rules};
use crate::proto::{
    self, Applied, Digest, Error, FileState, IpvsPreview, Reply, Request, Response, StatusReport,
    SyncOutcome,
};
use crate::sync;
use crate::system::{self, System};
use crate::verdict;

/// Connections served at once; more are closed at once.
pub const MAX_CLIENTS: usize = 16;

/// Who is on the other end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// Its pid.
    pub pid: i32,
    /// Its uid.
    pub uid: u32,
    /// Its gid.
    pub gid: u32,
}

/// Whether `peer` may use the helper: root, or a member of `group` by its
/// gid or its supplementary groups `groups`.
pub fn allowed(peer: &Peer, group: Option<u32>, groups: &[u32]) -> bool {
    peer.uid == 0 || group.is_some_and(|g| peer.gid == g || groups.contains(&g))
}

/// Most supplementary groups read for one peer: Linux's `NGROUPS_MAX`.
const MAX_GROUPS: usize = 65536;

/// The supplementary groups the peer of `stream` had when it connected, as
/// the kernel recorded them (`SO_PEERGROUPS`, Linux 4.13 and later).
pub fn peer_groups(stream: &UnixStream) -> std::io::Result<Vec<u32>> {
    // Room for most users' groups at the first call.
    peer_groups_from(stream, 32)
}

/// [`peer_groups`], asking first with room for `first` groups.
fn peer_groups_from(stream: &UnixStream, first: usize) -> std::io::Result<Vec<u32>> {
    use nix::libc;
    use std::os::fd::AsRawFd as _;
    const GID: usize = std::mem::size_of::<libc::gid_t>();
    let mut groups: Vec<libc::gid_t> = vec![0; first];
    // A second try with the size the kernel asked for; a third only if the
    // answer changed in between, which it cannot for a connected socket.
    for _ in 0..3 {
        let mut len = libc::socklen_t::try_from(groups.len() * GID)
            .map_err(|_| std::io::Error::other("group buffer too large"))?;
        // SAFETY: `groups` is a live, writable buffer of `len` bytes that
        // outlives the call, `len` is a valid `socklen_t` the kernel may
        // rewrite, and the descriptor is `stream`'s, open for the call.
        let rc = unsafe {
            libc::getsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERGROUPS,
                groups.as_mut_ptr().cast(),
                &mut len,
            )
        };
        // The kernel answers with `len` set to the bytes it needs (on
        // ERANGE) or wrote (on success).
        let needed = len as usize / GID;
        if rc == 0 {
            groups.truncate(needed.min(groups.len()));
            return Ok(groups);
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ERANGE) {
            return Err(err);
        }
        if needed <= groups.len() || needed > MAX_GROUPS {
            return Err(std::io::Error::other(format!(
                "SO_PEERGROUPS asked for room for {needed} groups"
            )));
        }
        groups.resize(needed, 0);
    }
    Err(std::io::Error::other(
        "SO_PEERGROUPS: the group count kept changing",
    ))
}

fn peer_of(stream: &UnixStream) -> Option<Peer> {
    let cred = getsockopt(stream, PeerCredentials).ok()?;
    Some(Peer {
        pid: cred.pid(),
        uid: cred.uid(),
        gid: cred.gid(),
    })
}

/// `stream`'s peer, when it may use the helper (root, or in `group`);
/// otherwise the log line saying why not.
fn admit(stream: &UnixStream, group: Option<u32>) -> Result<Peer, String> {
    let peer =
        peer_of(stream).ok_or("refused a client whose credentials cannot be read".to_owned())?;
    let groups = peer_groups(stream).unwrap_or_else(|e| {
        // Counted as none: root and the gid still let a client in.
        log(&format!(
            "pid {} uid {}: supplementary groups unreadable, counted as none: {e}",
            peer.pid, peer.uid
        ));
        Vec::new()
    });
    if !allowed(&peer, group, &groups) {
        return Err(format!(
            "refused pid {} uid {} gid {}: not root and not in the group",
            peer.pid, peer.uid, peer.gid
        ));
    }
    Ok(peer)
}

/// The helper's state.
pub struct Server {
    /// The system (one apply, or one stored push, at a time).
    system: Arc<Mutex<System>>,
    paths: system::Paths,
    group: Option<u32>,
    clients: AtomicUsize,
    sync: Option<sync::Peer>,
    login: Option<crate::login::Login>,
}

fn log(line: &str) {
    // stderr is the journal under systemd.
    let _ = writeln!(std::io::stderr(), "lvs-admin: {line}");
}

impl Server {
    /// A server carrying requests out on `system`, letting in `group`.
    pub fn new(system: System, group: Option<u32>) -> Server {
        Server {
            paths: system.paths.clone(),
            system: Arc::new(Mutex::new(system)),
            group,
            clients: AtomicUsize::new(0),
            sync: None,
            login: None,
        }
    }

    /// Answers `login` with `login`'s backends and rate limit.
    pub fn with_login(mut self, login: crate::login::Login) -> Server {
        self.login = Some(login);
        self
    }

    /// Pushes to `peer` after each apply and restore, and for the sync
    /// verbs.
    pub fn with_sync(mut self, peer: sync::Peer) -> Server {
        self.sync = Some(peer);
        self
    }

    /// The other router's pushes stored through this helper's writer,
    /// under its lock.
    pub fn sync_store(&self) -> sync::SyncStore {
        sync::SyncStore::new(self.system.clone())
    }

    /// After a successful apply or restore: the file on disk pushed to
    /// the peer, when there is one. Never turns the apply into a failure.
    fn then_push(&self, mut applied: Applied) -> Applied {
        if let Some(peer) = &self.sync {
            applied.sync = Some(match system::read_config(&self.paths.config) {
                Ok(bytes) => peer.push(bytes, false),
                Err(e) => SyncOutcome::Failed {
                    message: format!("not pushed: {e}"),
                },
            });
        }
        applied
    }

    /// Accepts clients until the listener fails.
    pub fn run(self: Arc<Self>, listener: UnixListener) -> std::io::Result<()> {
        loop {
            let (stream, _) = match listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log(&format!("accept: {e}"));
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            };
            let peer = match admit(&stream, self.group) {
                Ok(peer) => peer,
                Err(why) => {
                    log(&why);
                    continue;
                }
            };
            if self.clients.fetch_add(1, Ordering::SeqCst) >= MAX_CLIENTS {
                self.clients.fetch_sub(1, Ordering::SeqCst);
                log(&format!("busy: closed pid {} uid {}", peer.pid, peer.uid));
                continue;
            }
            let me = self.clone();
            std::thread::spawn(move || {
                me.client(stream, peer);
                me.clients.fetch_sub(1, Ordering::SeqCst);
            });
        }
    }

    fn client(&self, mut stream: UnixStream, peer: Peer) {
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let _ = stream.set_write_timeout(Some(proto::REQUEST_DEADLINE));
        let deadline = Instant::now() + proto::REQUEST_DEADLINE;
        let request = proto::read_frame(&mut stream, proto::MAX_REQUEST, deadline)
            .and_then(|b| proto::decode_request(&b));
        let reply: Reply = match request {
            Err(e) => {
                log(&format!(
                    "uid {} pid {}: bad request: {e}",
                    peer.uid, peer.pid
                ));
                Reply::Error(Error::BadRequest {
                    message: e.to_string(),
                })
            }
            Ok(request) => {
                let verb = request.verb();
                let who = user_of(&request).map(str::to_owned);
                let reply = Reply::from(self.handle(request, &peer));
                let outcome = match &reply {
                    Reply::Ok(r) => summary(r),
                    Reply::Error(e) => format!("refused: {e}"),
                };
                if verb != "status" && verb != "read" && verb != "history" {
                    log(&format!(
                        "uid {} pid {}{}: {verb}: {outcome}",
                        peer.uid,
                        peer.pid,
                        who.map_or(String::new(), |u| format!(" user {u:?}"))
                    ));
                }
                reply
            }
        };
        let _ = stream.write_all(&proto::encode_reply(&reply));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, System> {
        // A panic in one apply must not stop the others; the system has
        // no state an apply leaves half-changed in memory.
        self.system.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Carries out one request.
    pub fn handle(&self, request: Request, peer: &Peer) -> Result<Response, Error> {
        let internal = |message: String| Error::Internal { message };
        fields_ok(&request)?;
        match request {
            Request::Read => {
                let text = system::read_config(&self.paths.config).map_err(internal)?;
                Ok(Response::Read {
                    digest: Digest::of(&text),
                    text: text.into(),
                })
            }
            Request::Check { text } => Ok(Response::Check(verdict::check(&text.0))),
            Request::Diff { text } => {
                let current = system::read_config(&self.paths.config).map_err(internal)?;
                let (check, config) = verdict::check_config(&text.0);
                let text_diff = lvscf::edit::unified_diff(
                    &String::from_utf8_lossy(&current),
                    &String::from_utf8_lossy(&text.0),
                    "a/lvs.cf",
                    "b/lvs.cf",
                );
                let ipvs = match config {
                    None => IpvsPreview::Invalid {
                        errors: check.errors(),
                    },
                    Some(config) => match ipvs::NetlinkIpvs::new() {
                        Err(e) => IpvsPreview::Unavailable {
                            reason: format!("cannot read the kernel's IPVS table: {e}"),
                        },
                        Ok(mut table) => match director::check::diff(&config, &mut table) {
                            Ok(lines) => IpvsPreview::Writes { lines },
                            Err(reason) => IpvsPreview::Unavailable { reason },
                        },
                    },
                };
                Ok(Response::Diff {
                    text_diff,
                    ipvs,
                    check,
                })
            }
            Request::Apply {
                base_digest,
                text,
                reason,
                user,
            } => {
                let change = Change {
                    base: Some(base_digest),
                    text: text.0,
                    reason,
                    user,
                    uid: Some(peer.uid),
                    restored_from: None,
                };
                let applied = apply::apply(&mut *self.lock(), &rules(), change)?;
                Ok(Response::Apply(Box::new(self.then_push(applied))))
            }
            Request::History => {
                let system = self.lock();
                let revisions = system.store.list().map_err(internal)?;
                Ok(Response::History { revisions })
            }
            Request::Show { rev } => {
                let system = self.lock();
                match system.store.get(rev).map_err(internal)? {
                    Some((revision, bytes)) => Ok(Response::Show {
                        revision,
                        text: bytes.into(),
                    }),
                    None => Err(Error::NoSuchRevision { rev }),
                }
            }
            Request::Restore { rev, reason, user } => {
                let mut system = self.lock();
                let Some((_, bytes)) = system.store.get(rev).map_err(internal)? else {
                    return Err(Error::NoSuchRevision { rev });
                };
                let change = Change {
                    base: None,
                    text: bytes,
                    reason,
                    user,
                    uid: Some(peer.uid),
                    restored_from: Some(rev),
                };
                let applied = apply::apply(&mut *system, &rules(), change)?;
                drop(system);
                Ok(Response::Restore(Box::new(self.then_push(applied))))
            }
            Request::Control {
                action,
                virtual_name,
                server,
                ..
            } => {
                for name in [&virtual_name, &server] {
                    if !block_name(name) {
                        return Err(Error::BadRequest {
                            message: format!("{name:?}: not a block name of lvs.cf"),
                        });
                    }
                }
                if system::running(&self.paths.lvsd_pidfile, "lvsd").is_none() {
                    return Err(Error::Daemon {
                        message: "lvsd is not running".into(),
                    });
                }
                let line = format!("control {} {virtual_name}/{server}", action.word());
                let answer = system::query(&self.paths.lvsd_socket, &line)
                    .map_err(|message| Error::Daemon { message })?;
                match answer.trim_end() {
                    "ok" => Ok(Response::Control),
                    other => Err(Error::Daemon {
                        message: other.strip_prefix("error: ").unwrap_or(other).to_owned(),
                    }),
                }
            }
            Request::Status => {
                let text = system::read_config(&self.paths.config).map_err(internal)?;
                let serial_no =
                    lvscf::parse_with(&String::from_utf8_lossy(&text), &lvscf::OfflineResolver)
                        .config
                        .map(|c| c.serial_no);
                Ok(Response::Status(Box::new(StatusReport {
                    file: FileState {
                        path: self.paths.config.display().to_string(),
                        digest: Digest::of(&text),
                        size: text.len() as u64,
                        serial_no,
                    },
                    lvsd: system::lvsd_status(&self.paths),
                    pulse: system::pulse_status(&self.paths),
                })))
            }
            Request::SyncPush { force, .. } => {
                let peer = self.sync.as_ref().ok_or(Error::NoSyncPeer)?;
                let bytes = system::read_config(&self.paths.config).map_err(internal)?;
                Ok(Response::SyncPush(peer.push(bytes, force)))
            }
            Request::Login {
                user,
                password,
                source,
            } => Ok(Response::Login(match &self.login {
                Some(login) => login.login(&user, &password.0, &source),
                None => proto::LoginOutcome::Unavailable {
                    message: "this lvs-admin checks no logins".into(),
                },
            })),
            Request::SyncStatus => {
                let peer = self.sync.as_ref().ok_or(Error::NoSyncPeer)?;
                let bytes = system::read_config(&self.paths.config).map_err(internal)?;
                Ok(Response::SyncStatus(Box::new(peer.state(&bytes))))
            }
        }
    }
}

fn rules() -> Rules<'static> {
    Rules {
        check: &verdict::check,
        commands: &verdict::command_policy,
        serial: &verdict::raise_serial,
    }
}

/// A `virtual`/`server` block name as lvsd's control line can carry it:
/// no space, slash or control character (they would change the line).
fn block_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
}

/// `user` and `reason` go into the history and the log: bounded, and a
/// user name on one line.
fn fields_ok(r: &Request) -> Result<(), Error> {
    let bad = |message: String| Err(Error::BadRequest { message });
    if let Some(user) = user_of(r)
        && (user.len() > proto::MAX_USER || user.chars().any(char::is_control))
    {
        return bad(format!(
            "user: at most {} bytes, no control characters",
            proto::MAX_USER
        ));
    }
    if let Request::Apply { reason, .. } | Request::Restore { reason, .. } = r
        && reason.len() > proto::MAX_REASON
    {
        return bad(format!("reason: at most {} bytes", proto::MAX_REASON));
    }
    if let Request::Login {
        password, source, ..
    } = r
    {
        if password.0.len() > proto::MAX_PASSWORD {
            return bad(format!("password: at most {} bytes", proto::MAX_PASSWORD));
        }
        if source.len() > proto::MAX_USER || source.chars().any(char::is_control) {
            return bad(format!(
                "source: at most {} bytes, no control characters",
                proto::MAX_USER
            ));
        }
    }
    Ok(())
}

fn user_of(r: &Request) -> Option<&str> {
    match r {
        Request::Apply { user, .. }
        | Request::Restore { user, .. }
        | Request::Control { user, .. }
        | Request::SyncPush { user, .. }
        | Request::Login { user, .. } => Some(user),
        _ => None,
    }
}

fn summary(r: &Response) -> String {
    match r {
        Response::Apply(a) | Response::Restore(a) => {
            format!(
                "revision {} {} ({:?}){}{}",
                a.revision.rev,
                a.revision.digest,
                a.reload,
                a.raised_serial_no
                    .map_or(String::new(), |n| format!("; serial_no raised to {n}")),
                a.sync
                    .as_ref()
                    .map_or(String::new(), |s| format!("; sync: {}", s.summary()))
            )
        }
        Response::SyncPush(outcome) => outcome.summary(),
        Response::Login(outcome) => outcome.summary(),
        Response::Check(c) => format!("{} error(s)", c.errors()),
        _ => "ok".into(),
    }
}

/// Binds `path` mode 0660, owner root and `group`, from the moment it can
/// be reached (bound in a private directory, then renamed into place); a
/// stale socket nobody answers on is replaced.
pub fn listen(path: &Path, group: Option<u32>) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::DirBuilderExt as _;
    if path.exists() && UnixStream::connect(path).is_err() {
        let _ = std::fs::remove_file(path);
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "lvs-admin.sock".into(), |n| n.to_string_lossy());
    let private = dir.join(format!(".{name}.{}", std::process::id()));
    let _ = std::fs::remove_file(private.join("socket"));
    let _ = std::fs::remove_dir(&private);
    std::fs::DirBuilder::new().mode(0o700).create(&private)?;
    let inner = private.join("socket");
    let result = (|| {
        let listener = UnixListener::bind(&inner)?;
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o660))?;
        if let Some(g) = group {
            std::os::unix::fs::chown(&inner, None, Some(g))?;
        }
        if path.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("{}: another lvs-admin answers there", path.display()),
            ));
        }
        std::fs::rename(&inner, path)?;
        Ok(listener)
    })();
    let _ = std::fs::remove_file(&inner);
    let _ = std::fs::remove_dir(&private);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_may_connect() {
        let peer = |uid, gid| Peer { pid: 1, uid, gid };
        assert!(allowed(&peer(0, 0), None, &[]));
        assert!(allowed(&peer(0, 5), Some(990), &[]));
        assert!(allowed(&peer(990, 990), Some(990), &[]));
        assert!(allowed(&peer(1000, 1000), Some(990), &[27, 990]));
        assert!(!allowed(&peer(1000, 1000), Some(990), &[27]));
        assert!(!allowed(&peer(1000, 1000), None, &[1000]));
    }

    fn sorted(mut v: Vec<u32>) -> Vec<u32> {
        v.sort_unstable();
        v
    }

    #[test]
    fn the_kernel_reports_the_peers_groups() {
        let own = sorted(
            nix::unistd::getgroups()
                .expect("getgroups")
                .into_iter()
                .map(|g| g.as_raw())
                .collect(),
        );
        let (a, b) = UnixStream::pair().expect("socketpair");
        assert_eq!(sorted(peer_groups(&a).expect("SO_PEERGROUPS")), own);
        assert_eq!(sorted(peer_groups(&b).expect("SO_PEERGROUPS")), own);
        // Through a listener, as the helper gets its clients.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s");
        let listener = UnixListener::bind(&path).expect("bind");
        let _client = UnixStream::connect(&path).expect("connect");
        let (accepted, _) = listener.accept().expect("accept");
        assert_eq!(sorted(peer_groups(&accepted).expect("SO_PEERGROUPS")), own);
        // No room at first: with any group, the kernel says how much
        // (ERANGE) and the second call gets them (a_dead_clients_groups_...
        // below has more groups than the first call's room).
        let groups = peer_groups_from(&accepted, 0).expect("SO_PEERGROUPS, second call");
        assert_eq!(sorted(groups), own);
    }

    #[test]
    fn groups_of_a_socket_with_no_peer_are_an_error() {
        // Never connected: the kernel has no peer to answer for
        // (ENODATA), and the helper would count no groups.
        use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
        let fd = socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .expect("socket");
        let err = peer_groups(&UnixStream::from(fd)).expect_err("no peer");
        assert_eq!(err.raw_os_error(), Some(nix::libc::ENODATA), "{err}");
    }

    /// The accepted end of a connection from a forked child that took
    /// `groups`, gid and uid 65534 (nobody), connected to `path` and
    /// exited: its pid is gone before the helper looks at it.
    #[cfg(feature = "netns-tests")]
    fn connection_of_a_child_with(
        listener: &UnixListener,
        path: &Path,
        groups: &[u32],
    ) -> UnixStream {
        use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, connect, socket};
        use nix::sys::wait::{WaitStatus, waitpid};
        use nix::unistd::{ForkResult, Gid, Uid, fork, setgid, setgroups, setuid};
        use std::os::fd::AsRawFd as _;
        // Everything the child needs is made before the fork: the test
        // harness has other threads, so the child does not allocate.
        let addr = UnixAddr::new(path).expect("address");
        let gids: Vec<Gid> = groups.iter().map(|&g| Gid::from_raw(g)).collect();
        let nobody = 65534;
        // SAFETY: the child only makes system calls (setgroups, setgid,
        // setuid, socket, connect) on values made before the fork, then
        // `_exit`s; it touches no lock another thread could hold.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                let ok = setgroups(&gids).is_ok()
                    && setgid(Gid::from_raw(nobody)).is_ok()
                    && setuid(Uid::from_raw(nobody)).is_ok()
                    && socket(
                        AddressFamily::Unix,
                        SockType::Stream,
                        SockFlag::SOCK_CLOEXEC,
                        None,
                    )
                    .is_ok_and(|fd| connect(fd.as_raw_fd(), &addr).is_ok());
                // SAFETY: `_exit` ends the child at once, running nothing
                // of the parent's (no atexit handlers, no buffers flushed).
                unsafe { nix::libc::_exit(if ok { 0 } else { 1 }) }
            }
            ForkResult::Parent { child } => {
                let status = waitpid(child, None).expect("waitpid");
                assert_eq!(
                    status,
                    WaitStatus::Exited(child, 0),
                    "the child could not take its groups or connect"
                );
            }
        }
        // Connected before it exited: the connection waits in the backlog.
        listener.set_nonblocking(true).expect("nonblocking");
        let (stream, _) = listener.accept().expect("the child's connection");
        stream
    }

    /// Root on the host (tests/netns/run.sh): a client is let in by the
    /// groups it connected with, even though it has exited and its pid
    /// says nothing any more (nor could be trusted: another process may
    /// have it).
    #[cfg(feature = "netns-tests")]
    #[test]
    fn a_dead_clients_groups_are_the_ones_it_connected_with() {
        use std::os::unix::fs::PermissionsExt as _;
        assert!(nix::unistd::getuid().is_root(), "needs root (setgroups)");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s");
        let listener = UnixListener::bind(&path).expect("bind");
        // Reachable by nobody: the check under test is the credentials'.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod dir");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666))
            .expect("chmod socket");
        let web = 4242;
        // The group as its only supplementary group: let in.
        let stream = connection_of_a_child_with(&listener, &path, &[web]);
        assert_eq!(peer_groups(&stream).expect("SO_PEERGROUPS"), [web]);
        let peer = admit(&stream, Some(web)).expect("let in");
        assert_eq!((peer.uid, peer.gid), (65534, 65534));
        // Another group only, or none: refused.
        for groups in [&[4243][..], &[]] {
            let stream = connection_of_a_child_with(&listener, &path, groups);
            let why = admit(&stream, Some(web)).expect_err("refused");
            assert!(
                why.ends_with("uid 65534 gid 65534: not root and not in the group"),
                "{why}"
            );
        }
        // More groups than the first call has room for: all of them.
        let many: Vec<u32> = [web].into_iter().chain(5000..5040).collect();
        let stream = connection_of_a_child_with(&listener, &path, &many);
        assert_eq!(sorted(peer_groups(&stream).expect("SO_PEERGROUPS")), many);
        admit(&stream, Some(web)).expect("let in");
    }

    #[test]
    fn control_names_cannot_change_lvsds_line() {
        assert!(block_name("web1"));
        assert!(block_name("web.example-1_x"));
        for bad in ["", "a b", "a/b", "a\nstatus", "a\tb"] {
            assert!(!block_name(bad), "{bad:?}");
        }
    }
}
