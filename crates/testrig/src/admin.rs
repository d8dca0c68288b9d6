//! The root helper `lvs-admin serve` as the tests run it: every file it
//! uses in one temporary directory, started by a builder for what the
//! tests vary (group, sync peer, login files, a wrapper such as `ip netns
//! exec`, environment for fault injection), its socket waited for, its
//! stdout and stderr in `helper.log`, killed by pid when dropped. And a
//! real `lvsd` for it to reload and query (the guest tests).
//!
//! The directory's layout:
//!
//! | path | what |
//! |---|---|
//! | `ha/lvs.cf` | the file the helper manages |
//! | `admin.sock` | the helper's socket (`--socket`) |
//! | `state/` | its history and sync identity (`--state-dir`) |
//! | `lvsd.sock`, `lvs.pid` | lvsd's status socket and pid file, absent unless [`Lvsd`] runs |
//! | `pulse.sock`, `pulse.pid` | pulse's, always absent: pulse is not running |
//! | `piranha.passwd`, `users` | the login files, with [`HelperBuilder::logins`] |
//! | `helper.log`, `lvsd.log` | the processes' output |

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::{Running, log_file, read_log, wait_with};

/// How long a helper or lvsd may take to create its socket.
const START_LIMIT: Duration = Duration::from_secs(10);

/// The paths of the layout above, below one directory.
fn config(d: &Path) -> PathBuf {
    d.join("ha/lvs.cf")
}

fn helper_socket(d: &Path) -> PathBuf {
    d.join("admin.sock")
}

fn helper_log(d: &Path) -> PathBuf {
    d.join("helper.log")
}

/// Config sync with a peer helper: `--sync-listen`, `--peer`,
/// `--peer-fingerprint`, `--sync-name`.
#[derive(Debug, Clone)]
pub struct SyncPeer {
    /// Where this helper takes pushes (`ADDR:PORT`).
    pub listen: String,
    /// Where it pushes (`ADDR[:PORT]`).
    pub peer: String,
    /// The peer's certificate fingerprint, as `lvs-admin fingerprint` prints it.
    pub peer_fingerprint: String,
    /// This router's name in the peer's history.
    pub name: String,
}

/// A helper's directory and command line, before it starts.
#[derive(Debug)]
pub struct HelperBuilder {
    exe: PathBuf,
    dir: tempfile::TempDir,
    group: Option<String>,
    env: Vec<(OsString, OsString)>,
    through: Vec<OsString>,
    sync: Option<SyncPeer>,
    logins: bool,
}

/// A running `lvs-admin serve`.
#[derive(Debug)]
pub struct Helper {
    // Field order is drop order: the process goes before its directory.
    child: Running,
    exe: PathBuf,
    dir: tempfile::TempDir,
}

impl Helper {
    /// A helper of binary `exe` (`env!("CARGO_BIN_EXE_lvs-admin")`) on a
    /// new temporary directory.
    pub fn builder(exe: impl Into<PathBuf>) -> HelperBuilder {
        HelperBuilder::in_dir(exe, tempfile::tempdir().expect("a temporary directory"))
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The lvs.cf it manages.
    pub fn config(&self) -> PathBuf {
        config(self.dir())
    }

    /// Its socket, for `admin::client::Client::new`.
    pub fn socket(&self) -> PathBuf {
        helper_socket(self.dir())
    }

    /// What it has written to stdout and stderr so far.
    pub fn log(&self) -> String {
        read_log(&helper_log(self.dir()))
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Whether it is stopped (the fault-injection stop after a step).
    pub fn is_stopped(&self) -> bool {
        self.child.is_stopped()
    }

    /// Kill -9 (by pid) and reap; the directory stays until drop.
    pub fn kill(&mut self) {
        self.child.kill();
    }

    /// Kill -9, remove the socket it left, and hand the directory, with
    /// everything else in it, to a new builder (default options) for a
    /// helper that starts where this one died.
    pub fn kill_and_keep(mut self) -> HelperBuilder {
        self.child.kill();
        let _ = fs::remove_file(self.socket());
        let Helper { exe, dir, .. } = self;
        HelperBuilder::in_dir(exe, dir)
    }
}

impl HelperBuilder {
    /// A helper of `exe` on `dir` (`ha/` created; an lvs.cf there is kept).
    pub fn in_dir(exe: impl Into<PathBuf>, dir: tempfile::TempDir) -> HelperBuilder {
        let ha = dir.path().join("ha");
        fs::create_dir_all(&ha).unwrap_or_else(|e| panic!("create {}: {e}", ha.display()));
        HelperBuilder {
            exe: exe.into(),
            dir,
            group: None,
            env: Vec::new(),
            through: Vec::new(),
            sync: None,
            logins: false,
        }
    }

    /// Its directory, to put more files in before it starts.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The lvs.cf it will manage.
    pub fn config_path(&self) -> PathBuf {
        config(self.dir())
    }

    /// Its `--state-dir` (history, sync identity).
    pub fn state_dir(&self) -> PathBuf {
        self.dir().join("state")
    }

    /// Write lvs.cf (mode as the umask makes it).
    pub fn config(self, text: &str) -> HelperBuilder {
        let path = self.config_path();
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self
    }

    /// The group let in on its socket (`--group`); by default this
    /// process's own group.
    pub fn group(mut self, name: &str) -> HelperBuilder {
        self.group = Some(name.to_owned());
        self
    }

    /// An environment variable for the helper (`LVS_ADMIN_STOP_AFTER`).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> HelperBuilder {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Start it through `wrapper` (`ip netns exec NS`, `unshare -m …`),
    /// which must exec the helper's command line given after it, so the
    /// pid is still the helper's.
    pub fn through<S: AsRef<OsStr>>(mut self, wrapper: &[S]) -> HelperBuilder {
        self.through = wrapper.iter().map(|s| s.as_ref().to_owned()).collect();
        self
    }

    /// Sync with a peer.
    pub fn sync(mut self, peer: SyncPeer) -> HelperBuilder {
        self.sync = Some(peer);
        self
    }

    /// Check logins (`--passwd-file`, `--users-file`) against
    /// `piranha.passwd` holding `passwd` and `users` holding `users`, both
    /// mode 0600 (root's alone, as installed).
    pub fn logins(mut self, passwd: &str, users: &str) -> HelperBuilder {
        for (name, text) in [("piranha.passwd", passwd), ("users", users)] {
            let path = self.dir().join(name);
            fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
                .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
        }
        self.logins = true;
        self
    }

    /// The command line this builder starts.
    fn command(&self) -> Command {
        let d = self.dir();
        let mut cmd = match self.through.split_first() {
            Some((wrapper, args)) => {
                let mut c = Command::new(wrapper);
                c.args(args).arg(&self.exe);
                c
            }
            None => Command::new(&self.exe),
        };
        let group = match &self.group {
            Some(g) => g.clone(),
            None => {
                nix::unistd::Group::from_gid(nix::unistd::getgid())
                    .expect("our group")
                    .expect("our group has a name")
                    .name
            }
        };
        cmd.arg("--socket")
            .arg(helper_socket(d))
            .arg("serve")
            .arg("-c")
            .arg(config(d))
            .args(["--group", &group])
            .arg("--state-dir")
            .arg(self.state_dir())
            .arg("--lvsd-socket")
            .arg(d.join("lvsd.sock"))
            .arg("--lvsd-pidfile")
            .arg(d.join("lvs.pid"))
            .arg("--pulse-socket")
            .arg(d.join("pulse.sock"))
            .arg("--pulse-pidfile")
            .arg(d.join("pulse.pid"));
        if self.logins {
            cmd.arg("--passwd-file")
                .arg(d.join("piranha.passwd"))
                .arg("--users-file")
                .arg(d.join("users"));
        }
        if let Some(s) = &self.sync {
            cmd.args(["--peer", &s.peer])
                .args(["--peer-fingerprint", &s.peer_fingerprint])
                .args(["--sync-listen", &s.listen])
                .args(["--sync-name", &s.name]);
        }
        let log = log_file(&helper_log(d));
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        cmd
    }

    /// Start the helper and wait (10 s at most) for its socket.
    pub fn start(self) -> Helper {
        let what = match &self.sync {
            Some(s) => format!("lvs-admin serve ({})", s.name),
            None => "lvs-admin serve".to_owned(),
        };
        let mut child = Running::spawn(&what, &mut self.command());
        wait_listening(
            &mut child,
            &helper_socket(self.dir()),
            &helper_log(self.dir()),
        );
        Helper {
            child,
            exe: self.exe,
            dir: self.dir,
        }
    }
}

/// Wait (10 s at most) for `child` to create its socket `socket`; panic
/// with its log `log` when it does not, or exits first.
fn wait_listening(child: &mut Running, socket: &Path, log: &Path) {
    let what = child.what().to_owned();
    let context = || format!("--- {what} log ---\n{}", read_log(log));
    wait_with(
        &format!("{what} to create its socket {}", socket.display()),
        START_LIMIT,
        || socket.exists() || child.exited().is_some(),
        context,
    );
    if let Some(status) = child.exited() {
        panic!("{what} exited ({status}) before listening\n{}", context());
    }
}

/// A real `lvsd -n` on the helper's lvs.cf, with its status socket and a
/// pid file (lvsd -n writes none) where the helper looks for them; killed
/// by pid when dropped.
#[derive(Debug)]
pub struct Lvsd {
    child: Running,
    log: PathBuf,
}

impl Lvsd {
    /// Start `exe` on `dir`'s lvs.cf (the helper's directory), through
    /// `wrapper` as [`HelperBuilder::through`], and wait (10 s at most)
    /// for its status socket.
    pub fn start<S: AsRef<OsStr>>(exe: &Path, dir: &Path, wrapper: &[S]) -> Lvsd {
        let socket = dir.join("lvsd.sock");
        let log = dir.join("lvsd.log");
        let mut cmd = match wrapper.split_first() {
            Some((w, args)) => {
                let mut c = Command::new(w);
                c.args(args).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        let out = log_file(&log);
        cmd.args(["-n", "-c"])
            .arg(config(dir))
            .arg("--socket")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out);
        let mut child = Running::spawn("lvsd", &mut cmd);
        let pidfile = dir.join("lvs.pid");
        fs::write(&pidfile, format!("{}\n", child.pid()))
            .unwrap_or_else(|e| panic!("write {}: {e}", pidfile.display()));
        wait_listening(&mut child, &socket, &log);
        Lvsd { child, log }
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// What it has written so far.
    pub fn log(&self) -> String {
        read_log(&self.log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_has_the_layout_and_the_options() {
        let setup = Helper::builder("/usr/sbin/lvs-admin")
            .group("nogroup")
            .env("LVS_ADMIN_STOP_AFTER", "3")
            .through(&["ip", "netns", "exec", "r1"])
            .logins("", "")
            .sync(SyncPeer {
                listen: "198.51.100.1:3637".into(),
                peer: "198.51.100.2".into(),
                peer_fingerprint: "AB:CD".into(),
                name: "r1".into(),
            });
        let d = setup.dir().display().to_string();
        let cmd = setup.command();
        assert_eq!(cmd.get_program(), "ip");
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().replace(&d, "D"))
            .collect();
        assert_eq!(
            args.join(" "),
            "netns exec r1 /usr/sbin/lvs-admin --socket D/admin.sock serve -c D/ha/lvs.cf \
             --group nogroup --state-dir D/state --lvsd-socket D/lvsd.sock \
             --lvsd-pidfile D/lvs.pid --pulse-socket D/pulse.sock --pulse-pidfile D/pulse.pid \
             --passwd-file D/piranha.passwd --users-file D/users \
             --peer 198.51.100.2 --peer-fingerprint AB:CD --sync-listen 198.51.100.1:3637 \
             --sync-name r1"
        );
        assert!(
            cmd.get_envs()
                .any(|(k, v)| k == "LVS_ADMIN_STOP_AFTER" && v == Some(OsStr::new("3")))
        );
    }

    #[test]
    #[should_panic(expected = "lvs-admin serve exited (exit status: 1) before listening")]
    fn a_helper_that_exits_is_said_to_have_exited_not_waited_for() {
        Helper::builder("false").start();
    }
}
