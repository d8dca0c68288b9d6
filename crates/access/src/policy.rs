//! The keys of lvs.cf that name a program root runs, and where such a
//! program may live.
//!
//! pulse, lvsd and nanny run as root and start the programs some keys
//! name ([`COMMAND_KEYS`]). Whoever may set one of those keys may run
//! anything as root, so:
//! - only an admin may set or remove them ([`may_set`], [`check_set`]);
//!   the web refuses an editor before staging, the helper again before
//!   writing;
//! - the program must be an absolute path to a regular executable file
//!   that is, like every directory from `/` down to it (symbolic links
//!   followed, and the directories holding each link checked too), owned
//!   by root and writable by neither group nor others
//!   ([`check_executable`]); otherwise whoever can write there could swap
//!   the program later.
//!
//! lvscf does not mark these keys; the list is here, and a test checks
//! that lvscf knows every one and that no lvscf key named like a command
//! is missing from it.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Component, Path, PathBuf};

use crate::roles::{Action, Role};

/// Where a key lives in lvs.cf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Top level.
    Global,
    /// `virtual` (and `failover`) blocks.
    Virtual,
    /// `failover` blocks only.
    Failover,
}

/// A key whose value names a program run as root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandKey {
    /// The key.
    pub key: &'static str,
    /// Where it is written.
    pub scope: Scope,
    /// Who runs it.
    pub run_by: &'static str,
}

/// Every command-bearing key of lvs.cf.
pub const COMMAND_KEYS: &[CommandKey] = &[
    CommandKey {
        key: "active_cmd",
        scope: Scope::Global,
        run_by: "pulse, on becoming active",
    },
    CommandKey {
        key: "inactive_cmd",
        scope: Scope::Global,
        run_by: "pulse, at start and on becoming inactive",
    },
    CommandKey {
        key: "rsh_command",
        scope: Scope::Global,
        run_by: "nanny, for load_monitor = uptime",
    },
    CommandKey {
        key: "ipvsadm",
        scope: Scope::Global,
        run_by: "the original lvs (path of ipvsadm)",
    },
    CommandKey {
        key: "send_program",
        scope: Scope::Virtual,
        run_by: "nanny, as the health check",
    },
    CommandKey {
        key: "load_monitor",
        scope: Scope::Virtual,
        run_by: "nanny, when not none/uptime/rup/ruptime",
    },
    CommandKey {
        key: "client_monitor",
        scope: Scope::Virtual,
        run_by: "lvsd, once per real server",
    },
    CommandKey {
        key: "start_cmd",
        scope: Scope::Failover,
        run_by: "fos, to start the service",
    },
    CommandKey {
        key: "stop_cmd",
        scope: Scope::Failover,
        run_by: "fos, to stop the service",
    },
];

/// `load_monitor` values that are built-in methods, not programs.
const LOAD_MONITOR_KEYWORDS: &[&str] = &["none", "uptime", "rup", "ruptime"];

/// The key part of `key`: the bare key, or the last `.` segment of an
/// address such as `virtual.web.send_program`.
fn bare(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// Whether `key` (bare or an address ending in it) names a program run
/// as root.
pub fn is_command_key(key: &str) -> bool {
    let k = bare(key);
    COMMAND_KEYS.iter().any(|c| c.key == k)
}

/// Whether `role` may set or remove `key`: command keys need admin, every
/// other key editor.
pub fn may_set(role: Role, key: &str) -> bool {
    if is_command_key(key) {
        role.may(Action::SetCommandKey)
    } else {
        role.may(Action::Edit)
    }
}

/// The program a command key's `value` runs, if it runs one: the first
/// space-separated word (the daemons split on spaces, no shell); `None`
/// for `load_monitor`'s built-in methods and for keys that are not
/// command keys.
pub fn program_of<'a>(key: &str, value: &'a str) -> Option<&'a str> {
    if !is_command_key(key) {
        return None;
    }
    let first = value.split(' ').find(|w| !w.is_empty())?;
    if bare(key) == "load_monitor" && LOAD_MONITOR_KEYWORDS.contains(&first) {
        return None;
    }
    Some(first)
}

/// Why a key, value or program is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// A command key set by someone below admin.
    AdminOnly {
        /// The key.
        key: String,
        /// The role that tried.
        role: Role,
    },
    /// Any other key set by someone below editor.
    EditorOnly {
        /// The key.
        key: String,
        /// The role that tried.
        role: Role,
    },
    /// A command key with an empty value.
    EmptyCommand(String),
    /// Not an absolute path.
    NotAbsolute(PathBuf),
    /// A path component that cannot be looked at.
    Unreadable {
        /// The component.
        path: PathBuf,
        /// The error.
        error: String,
    },
    /// A component not owned by root.
    NotRootOwned {
        /// The component.
        path: PathBuf,
        /// Its owner.
        uid: u32,
    },
    /// A component writable by its group or by everyone.
    Writable {
        /// The component.
        path: PathBuf,
        /// `group` or `others`.
        by: &'static str,
    },
    /// A component in the middle that is not a directory.
    NotDirectory(PathBuf),
    /// The program is not a regular file.
    NotRegularFile(PathBuf),
    /// The program has no execute bit.
    NotExecutable(PathBuf),
    /// More than [`MAX_LINKS`] symbolic links (a loop).
    TooManyLinks(PathBuf),
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::AdminOnly { key, role } => write!(
                f,
                "{key} names a program run as root: only an admin may set it (you are {role})"
            ),
            PolicyError::EditorOnly { key, role } => {
                write!(f, "setting {key} needs the editor role (you are {role})")
            }
            PolicyError::EmptyCommand(key) => write!(f, "{key}: a program expected"),
            PolicyError::NotAbsolute(p) => {
                write!(
                    f,
                    "{}: a program run as root needs an absolute path",
                    p.display()
                )
            }
            PolicyError::Unreadable { path, error } => write!(f, "{}: {error}", path.display()),
            PolicyError::NotRootOwned { path, uid } => {
                write!(f, "{}: owned by uid {uid}, not root", path.display())
            }
            PolicyError::Writable { path, by } => {
                write!(f, "{}: writable by {by}", path.display())
            }
            PolicyError::NotDirectory(p) => write!(f, "{}: not a directory", p.display()),
            PolicyError::NotRegularFile(p) => write!(f, "{}: not a regular file", p.display()),
            PolicyError::NotExecutable(p) => write!(f, "{}: not executable", p.display()),
            PolicyError::TooManyLinks(p) => {
                write!(f, "{}: too many symbolic links", p.display())
            }
        }
    }
}

impl std::error::Error for PolicyError {}

/// Whether `role` may set `key` to `value`: the role check of
/// [`may_set`], then for a command key the program check of
/// [`check_executable`] (on the running system).
pub fn check_set(role: Role, key: &str, value: &str) -> Result<(), PolicyError> {
    if !may_set(role, key) {
        let key = bare(key).to_owned();
        return Err(if is_command_key(&key) {
            PolicyError::AdminOnly { key, role }
        } else {
            PolicyError::EditorOnly { key, role }
        });
    }
    if !is_command_key(key) {
        return Ok(());
    }
    match program_of(key, value) {
        Some(p) => check_executable(Path::new(p)),
        None if bare(key) == "load_monitor" && !value.trim().is_empty() => Ok(()),
        None => Err(PolicyError::EmptyCommand(bare(key).to_owned())),
    }
}

/// What [`check_executable`] needs to know of a path (as `lstat` says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// What it is.
    pub kind: Kind,
    /// Owner.
    pub uid: u32,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
}

/// A file's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// Anything else (device, socket, fifo).
    Other,
}

/// The file system as [`check_path`] sees it; the real one is [`HostFs`],
/// tests pass their own.
pub trait FsView {
    /// `lstat(2)`: the path itself, a link not followed.
    fn lstat(&self, path: &Path) -> io::Result<Meta>;
    /// `readlink(2)`.
    fn read_link(&self, path: &Path) -> io::Result<PathBuf>;
}

/// The running system.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostFs;

impl FsView for HostFs {
    fn lstat(&self, path: &Path) -> io::Result<Meta> {
        let m = std::fs::symlink_metadata(path)?;
        let t = m.file_type();
        let kind = if t.is_symlink() {
            Kind::Symlink
        } else if t.is_dir() {
            Kind::Dir
        } else if t.is_file() {
            Kind::File
        } else {
            Kind::Other
        };
        Ok(Meta {
            kind,
            uid: m.uid(),
            mode: m.mode() & 0o7777,
        })
    }

    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::read_link(path)
    }
}

/// Most symbolic links followed (Linux's own limit).
pub const MAX_LINKS: usize = 40;

/// Whether `path` is a program root may run from lvs.cf, on the running
/// system (see the module doc).
pub fn check_executable(path: &Path) -> Result<(), PolicyError> {
    check_path(&HostFs, path).map(|_| ())
}

/// [`check_executable`] over `fs`; the resolved path on success.
pub fn check_path(fs: &dyn FsView, path: &Path) -> Result<PathBuf, PolicyError> {
    if !path.is_absolute() {
        return Err(PolicyError::NotAbsolute(path.to_owned()));
    }
    let root = PathBuf::from("/");
    let root_meta = look(fs, &root)?;
    trusted(&root, &root_meta)?;
    // Components still to walk, the next one last.
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, path);
    let mut cur = root;
    let mut cur_meta = root_meta;
    let mut links = 0;
    while let Some(name) = pending.pop() {
        if name == "." {
            continue;
        }
        if name == ".." {
            // `cur` and its ancestors were all checked on the way down.
            cur.pop();
            cur_meta = look(fs, &cur)?;
            continue;
        }
        if cur_meta.kind != Kind::Dir {
            return Err(PolicyError::NotDirectory(cur));
        }
        let next = cur.join(&name);
        let meta = look(fs, &next)?;
        if meta.kind == Kind::Symlink {
            // The link lives in `cur`, which is trusted, so nobody but
            // root can change where it points.
            links += 1;
            if links > MAX_LINKS {
                return Err(PolicyError::TooManyLinks(path.to_owned()));
            }
            let target = fs.read_link(&next).map_err(|e| PolicyError::Unreadable {
                path: next.clone(),
                error: e.to_string(),
            })?;
            if target.is_absolute() {
                cur = PathBuf::from("/");
                cur_meta = look(fs, &cur)?;
            }
            push_components(&mut pending, &target);
            continue;
        }
        trusted(&next, &meta)?;
        cur = next;
        cur_meta = meta;
    }
    match cur_meta.kind {
        Kind::File if cur_meta.mode & 0o111 != 0 => Ok(cur),
        Kind::File => Err(PolicyError::NotExecutable(cur)),
        _ => Err(PolicyError::NotRegularFile(cur)),
    }
}

fn push_components(pending: &mut Vec<OsString>, path: &Path) {
    let names: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_owned()),
            Component::ParentDir => Some("..".into()),
            Component::CurDir => Some(".".into()),
            Component::RootDir | Component::Prefix(_) => None,
        })
        .collect();
    pending.extend(names.into_iter().rev());
}

fn look(fs: &dyn FsView, path: &Path) -> Result<Meta, PolicyError> {
    fs.lstat(path).map_err(|e| PolicyError::Unreadable {
        path: path.to_owned(),
        error: e.to_string(),
    })
}

fn trusted(path: &Path, m: &Meta) -> Result<(), PolicyError> {
    if m.uid != 0 {
        return Err(PolicyError::NotRootOwned {
            path: path.to_owned(),
            uid: m.uid,
        });
    }
    if m.mode & 0o002 != 0 {
        return Err(PolicyError::Writable {
            path: path.to_owned(),
            by: "others",
        });
    }
    if m.mode & 0o020 != 0 {
        return Err(PolicyError::Writable {
            path: path.to_owned(),
            by: "group",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    /// An in-memory tree: path → (meta, link target).
    #[derive(Default)]
    struct Fake(BTreeMap<PathBuf, (Meta, Option<PathBuf>)>);

    impl Fake {
        fn standard() -> Fake {
            let mut f = Fake::default();
            for d in ["/", "/usr", "/usr/bin", "/usr/sbin", "/usr/lib", "/home"] {
                f.dir(d, 0, 0o755);
            }
            f.file("/usr/bin/true", 0, 0o755);
            f.file("/usr/lib/check", 0, 0o755);
            f
        }
        fn dir(&mut self, p: &str, uid: u32, mode: u32) {
            let m = Meta {
                kind: Kind::Dir,
                uid,
                mode,
            };
            self.0.insert(p.into(), (m, None));
        }
        fn file(&mut self, p: &str, uid: u32, mode: u32) {
            let m = Meta {
                kind: Kind::File,
                uid,
                mode,
            };
            self.0.insert(p.into(), (m, None));
        }
        fn link(&mut self, p: &str, to: &str) {
            let m = Meta {
                kind: Kind::Symlink,
                uid: 0,
                mode: 0o777,
            };
            self.0.insert(p.into(), (m, Some(to.into())));
        }
    }

    impl FsView for Fake {
        fn lstat(&self, p: &Path) -> io::Result<Meta> {
            self.0
                .get(p)
                .map(|(m, _)| *m)
                .ok_or_else(|| io::ErrorKind::NotFound.into())
        }
        fn read_link(&self, p: &Path) -> io::Result<PathBuf> {
            self.0
                .get(p)
                .and_then(|(_, t)| t.clone())
                .ok_or_else(|| io::ErrorKind::InvalidInput.into())
        }
    }

    fn check(f: &Fake, p: &str) -> Result<PathBuf, PolicyError> {
        check_path(f, Path::new(p))
    }

    #[test]
    fn the_command_keys_and_who_may_set_them() {
        for k in [
            "send_program",
            "active_cmd",
            "inactive_cmd",
            "load_monitor",
            "client_monitor",
            "rsh_command",
            "ipvsadm",
            "start_cmd",
            "stop_cmd",
        ] {
            assert!(is_command_key(k), "{k}");
            assert!(is_command_key(&format!("virtual.web.{k}")), "{k}");
            assert!(!may_set(Role::Editor, k), "{k}");
            assert!(may_set(Role::Admin, k), "{k}");
        }
        for k in [
            "weight",
            "virtual.web.server.web1.weight",
            "send",
            "expect",
            "heartbeat_port",
        ] {
            assert!(!is_command_key(k), "{k}");
            assert!(may_set(Role::Editor, k), "{k}");
            assert!(!may_set(Role::Operator, k), "{k}");
        }
    }

    #[test]
    fn lvscf_knows_every_command_key_and_no_other_looks_like_one() {
        let known: Vec<&str> = lvscf::GLOBAL_KEYS
            .iter()
            .chain(lvscf::VIRTUAL_KEYS)
            .copied()
            .collect();
        for c in COMMAND_KEYS {
            assert!(known.contains(&c.key), "lvscf has no key {}", c.key);
        }
        let looks_like_command = |k: &str| {
            k.ends_with("_cmd")
                || k.ends_with("_command")
                || k.ends_with("_program")
                || k.ends_with("_monitor")
                || k == "ipvsadm"
        };
        for k in known.iter().chain(lvscf::SERVER_KEYS) {
            if looks_like_command(k) {
                assert!(
                    is_command_key(k),
                    "lvscf key {k} looks like a command: list it"
                );
            }
        }
    }

    #[test]
    fn the_program_of_a_value() {
        assert_eq!(
            program_of("send_program", "/usr/lib/check %h %p"),
            Some("/usr/lib/check")
        );
        assert_eq!(
            program_of("active_cmd", "  /usr/bin/true  x"),
            Some("/usr/bin/true")
        );
        assert_eq!(program_of("load_monitor", "ruptime"), None);
        assert_eq!(
            program_of("load_monitor", "/usr/lib/check"),
            Some("/usr/lib/check")
        );
        assert_eq!(program_of("weight", "/usr/bin/true"), None);
        assert_eq!(program_of("send_program", "   "), None);
    }

    #[test]
    fn check_set_refuses_editors_and_empty_commands() {
        assert_eq!(
            check_set(Role::Editor, "virtual.web.send_program", "/bin/sh"),
            Err(PolicyError::AdminOnly {
                key: "send_program".into(),
                role: Role::Editor
            })
        );
        assert_eq!(
            check_set(Role::Editor, "virtual.web.send_program", "/bin/sh")
                .unwrap_err()
                .to_string(),
            "send_program names a program run as root: only an admin may set it (you are editor)"
        );
        assert!(matches!(
            check_set(Role::Viewer, "weight", "1"),
            Err(PolicyError::EditorOnly { .. })
        ));
        assert_eq!(check_set(Role::Editor, "weight", "1"), Ok(()));
        assert_eq!(check_set(Role::Admin, "load_monitor", "uptime"), Ok(()));
        assert_eq!(
            check_set(Role::Admin, "active_cmd", " "),
            Err(PolicyError::EmptyCommand("active_cmd".into()))
        );
        assert!(matches!(
            check_set(Role::Admin, "active_cmd", "true"),
            Err(PolicyError::NotAbsolute(_))
        ));
    }

    #[test]
    fn a_root_owned_program_in_root_owned_directories_passes() {
        let f = Fake::standard();
        assert_eq!(check(&f, "/usr/bin/true"), Ok("/usr/bin/true".into()));
        assert_eq!(
            check(&f, "/usr/bin/./../bin//true"),
            Ok("/usr/bin/true".into())
        );
    }

    #[test]
    fn every_rule_refuses() {
        let mut f = Fake::standard();
        f.dir("/usr/local", 0, 0o755);
        f.dir("/usr/local/bin", 0, 0o777);
        f.file("/usr/local/bin/x", 0, 0o755);
        f.dir("/opt", 0, 0o775);
        f.file("/opt/x", 0, 0o755);
        f.dir("/home/bob", 1000, 0o755);
        f.file("/home/bob/x", 0, 0o755);
        f.file("/usr/bin/gw", 0, 0o775);
        f.file("/usr/bin/bobs", 1000, 0o755);
        f.file("/usr/bin/plain", 0, 0o644);
        f.file("/usr/bin/notdir", 0, 0o755);
        assert_eq!(
            check(&f, "usr/bin/true"),
            Err(PolicyError::NotAbsolute("usr/bin/true".into()))
        );
        assert_eq!(
            check(&f, "/usr/local/bin/x"),
            Err(PolicyError::Writable {
                path: "/usr/local/bin".into(),
                by: "others"
            })
        );
        assert_eq!(
            check(&f, "/opt/x"),
            Err(PolicyError::Writable {
                path: "/opt".into(),
                by: "group"
            })
        );
        assert_eq!(
            check(&f, "/home/bob/x"),
            Err(PolicyError::NotRootOwned {
                path: "/home/bob".into(),
                uid: 1000
            })
        );
        assert_eq!(
            check(&f, "/usr/bin/gw"),
            Err(PolicyError::Writable {
                path: "/usr/bin/gw".into(),
                by: "group"
            })
        );
        assert_eq!(
            check(&f, "/usr/bin/bobs"),
            Err(PolicyError::NotRootOwned {
                path: "/usr/bin/bobs".into(),
                uid: 1000
            })
        );
        assert_eq!(
            check(&f, "/usr/bin/plain"),
            Err(PolicyError::NotExecutable("/usr/bin/plain".into()))
        );
        assert_eq!(
            check(&f, "/usr/bin"),
            Err(PolicyError::NotRegularFile("/usr/bin".into()))
        );
        assert_eq!(
            check(&f, "/usr/bin/notdir/x"),
            Err(PolicyError::NotDirectory("/usr/bin/notdir".into()))
        );
        assert!(matches!(
            check(&f, "/usr/bin/missing"),
            Err(PolicyError::Unreadable { .. })
        ));
    }

    #[test]
    fn links_are_followed_and_every_directory_on_the_way_checked() {
        let mut f = Fake::standard();
        f.link("/usr/sbin/check", "../lib/check");
        f.link("/usr/sbin/abs", "/usr/bin/true");
        f.link("/usr/sbin/chain", "abs");
        // A root-owned link into bob's directory: bob can swap the target.
        f.dir("/home/bob", 1000, 0o755);
        f.file("/home/bob/tool", 0, 0o755);
        f.link("/usr/sbin/bob", "/home/bob/tool");
        // A link in bob's directory to a good program: bob can repoint it.
        f.link("/home/bob/link", "/usr/bin/true");
        f.link("/usr/sbin/loop", "loop");
        assert_eq!(check(&f, "/usr/sbin/check"), Ok("/usr/lib/check".into()));
        assert_eq!(check(&f, "/usr/sbin/chain"), Ok("/usr/bin/true".into()));
        assert_eq!(
            check(&f, "/usr/sbin/bob"),
            Err(PolicyError::NotRootOwned {
                path: "/home/bob".into(),
                uid: 1000
            })
        );
        assert_eq!(
            check(&f, "/home/bob/link"),
            Err(PolicyError::NotRootOwned {
                path: "/home/bob".into(),
                uid: 1000
            })
        );
        assert_eq!(
            check(&f, "/usr/sbin/loop"),
            Err(PolicyError::TooManyLinks("/usr/sbin/loop".into()))
        );
    }

    #[test]
    fn on_this_host_a_system_program_passes() {
        // /bin is a link to usr/bin on merged-/usr systems: followed.
        assert_eq!(check_executable(Path::new("/bin/sh")), Ok(()));
    }

    #[test]
    fn on_this_host_a_world_writable_temporary_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let wide = dir.path().join("wide");
        std::fs::create_dir(&wide).unwrap();
        std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o777)).unwrap();
        let prog = wide.join("prog");
        std::fs::write(&prog, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
        match check_executable(&prog) {
            // The temporary directory's own parent (/tmp) may already be
            // world-writable; either way the refusal names a directory on
            // the way to the program.
            Err(PolicyError::Writable { path, by: "others" }) => {
                assert!(wide.starts_with(&path), "{path:?}")
            }
            // Not run as root: the temporary directory is the user's.
            Err(PolicyError::NotRootOwned { path, .. }) => {
                assert!(wide.starts_with(&path), "{path:?}")
            }
            other => panic!("{other:?}"),
        }
        // A link there to a good program is refused as well.
        let link = dir.path().join("sh");
        std::os::unix::fs::symlink("/bin/sh", &link).unwrap();
        assert!(check_executable(&link).is_err());
    }
}
