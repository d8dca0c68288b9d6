//! The apply pipeline's [`Effects`] on the real system: the file by temp
//! file, fsync and rename; the history in [`Store`]; pulse and lvsd by
//! their pid files, signals and status sockets.

use std::fs;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::apply::{Effects, NewRevision, ReloadState, Step, reload_seen};
use crate::proto::{Daemon, DaemonState, Digest, PulseRole, RevisionInfo};
use crate::store::Store;

/// Where the helper finds everything.
#[derive(Debug, Clone)]
pub struct Paths {
    /// lvs.cf.
    pub config: PathBuf,
    /// lvsd's status socket.
    pub lvsd_socket: PathBuf,
    /// lvsd's pid file.
    pub lvsd_pidfile: PathBuf,
    /// pulse's status socket.
    pub pulse_socket: PathBuf,
    /// pulse's pid file.
    pub pulse_pidfile: PathBuf,
}

/// How long an apply waits for lvsd's reload result: lvsd gives a read of
/// the file 15 s (host name lookups), pulse as much before it signals
/// lvsd.
pub const RELOAD_WAIT: Duration = Duration::from_secs(35);
/// How often lvsd's status is asked during the wait.
const POLL: Duration = Duration::from_millis(200);
/// How long one status query may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest status answer read (lvsd's for 2,300 × 16 servers is about
/// 12 MiB).
const MAX_STATUS: u64 = 64 << 20;

/// The real system.
#[derive(Debug)]
pub struct System {
    /// The paths.
    pub paths: Paths,
    /// The history.
    pub store: Store,
    /// The bound on waiting for a reload.
    pub reload_wait: Duration,
    temp: Option<PathBuf>,
    stop_after: Option<u8>,
}

impl System {
    /// The system at `paths`, history in `store`.
    pub fn new(paths: Paths, store: Store) -> System {
        System {
            paths,
            store,
            reload_wait: RELOAD_WAIT,
            temp: None,
            stop_after: stop_after(),
        }
    }

    /// Temp files a killed helper left beside the file (`.NAME.lvs-admin.*`):
    /// removed at start.
    pub fn remove_stale_temps(&self) -> Vec<PathBuf> {
        let (dir, prefix) = temp_prefix(&self.paths.config);
        let mut removed = Vec::new();
        if let Ok(entries) = fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix)
                    && fs::remove_file(e.path()).is_ok()
                {
                    removed.push(e.path());
                }
            }
        }
        removed
    }
}

#[cfg(feature = "fault-injection")]
fn stop_after() -> Option<u8> {
    std::env::var("LVS_ADMIN_STOP_AFTER")
        .ok()
        .and_then(|s| s.parse().ok())
}

#[cfg(not(feature = "fault-injection"))]
fn stop_after() -> Option<u8> {
    None
}

fn temp_prefix(config: &Path) -> (PathBuf, String) {
    let dir = config
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned();
    let name = config
        .file_name()
        .map_or_else(|| "lvs.cf".into(), |n| n.to_string_lossy().into_owned());
    (dir, format!(".{name}.lvs-admin."))
}

/// Reads the file, at most [`lvscf::MAX_FILE_SIZE`] bytes.
pub fn read_config(path: &Path) -> Result<Vec<u8>, String> {
    let f = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    f.take(lvscf::MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() as u64 > lvscf::MAX_FILE_SIZE {
        return Err(format!(
            "{}: larger than {} MiB",
            path.display(),
            lvscf::MAX_FILE_SIZE >> 20
        ));
    }
    Ok(bytes)
}

/// The pid in `pidfile` if that process runs and is `comm` (a stale pid
/// file whose pid was reused by another program is not signalled).
pub fn running(pidfile: &Path, comm: &str) -> Option<i32> {
    let pid = daemon::pidfile::read_pid(pidfile).ok()??;
    let name = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (name.trim_end() == comm).then_some(pid)
}

/// One request line to a daemon's status socket, its whole answer.
pub fn query(socket: &Path, request: &str) -> Result<String, String> {
    let mut s = UnixStream::connect(socket).map_err(|e| format!("{}: {e}", socket.display()))?;
    let _ = s.set_read_timeout(Some(QUERY_TIMEOUT));
    let _ = s.set_write_timeout(Some(QUERY_TIMEOUT));
    s.write_all(format!("{request}\n").as_bytes())
        .map_err(|e| format!("{}: {e}", socket.display()))?;
    let mut text = String::new();
    s.take(MAX_STATUS)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", socket.display()))?;
    if text.is_empty() {
        return Err(format!("{}: closed without an answer", socket.display()));
    }
    Ok(text)
}

/// lvsd's snapshot.
pub fn lvsd_status(paths: &Paths) -> DaemonState<director::status::Status> {
    if running(&paths.lvsd_pidfile, "lvsd").is_none() {
        return DaemonState::NotRunning;
    }
    match query(&paths.lvsd_socket, "status json") {
        Ok(text) => match director::status::from_json(&text) {
            Ok(status) => DaemonState::Running { status },
            Err(e) => DaemonState::Unreachable {
                reason: format!("lvsd's answer is not its status: {e}: {}", text.trim()),
            },
        },
        Err(reason) => DaemonState::Unreachable { reason },
    }
}

/// pulse's snapshot.
pub fn pulse_status(paths: &Paths) -> DaemonState<failover::status::Status> {
    if running(&paths.pulse_pidfile, "pulse").is_none() {
        return DaemonState::NotRunning;
    }
    match query(&paths.pulse_socket, "status json") {
        Ok(text) => match failover::status::from_json(&text) {
            Ok(status) => DaemonState::Running { status },
            Err(e) => DaemonState::Unreachable {
                reason: format!("pulse's answer is not its status: {e}"),
            },
        },
        Err(reason) => DaemonState::Unreachable { reason },
    }
}

fn fsync_dir(dir: &Path) -> Result<(), String> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("fsync {}: {e}", dir.display()))
}

impl Effects for System {
    fn read_file(&mut self) -> Result<Vec<u8>, String> {
        read_config(&self.paths.config)
    }

    fn write_temp(&mut self, bytes: &[u8]) -> Result<(), String> {
        let (dir, prefix) = temp_prefix(&self.paths.config);
        let old = fs::metadata(&self.paths.config).ok();
        let tmp = dir.join(format!("{prefix}{}", std::process::id()));
        // A temp of ours from a failed attempt.
        let _ = fs::remove_file(&tmp);
        let place = |e: std::io::Error| format!("{}: {e}", tmp.display());
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(place)?;
        self.temp = Some(tmp.clone());
        f.write_all(bytes).map_err(place)?;
        // The old file's owner and mode (a fresh file: root's 0644, what
        // the package installs).
        let (uid, gid, mode) = old.map_or((None, None, 0o644), |m| {
            (Some(m.uid()), Some(m.gid()), m.mode() & 0o7777)
        });
        if uid.is_some() {
            std::os::unix::fs::fchown(&f, uid, gid).map_err(place)?;
        }
        f.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(place)?;
        f.sync_all().map_err(place)?;
        Ok(())
    }

    fn rename_temp(&mut self) -> Result<(), String> {
        let tmp = self.temp.take().ok_or("no temp file to rename")?;
        fs::rename(&tmp, &self.paths.config).map_err(|e| {
            self.temp = Some(tmp.clone());
            format!(
                "rename {} to {}: {e}",
                tmp.display(),
                self.paths.config.display()
            )
        })
    }

    fn discard_temp(&mut self) {
        if let Some(tmp) = self.temp.take() {
            let _ = fs::remove_file(tmp);
        }
    }

    fn sync_dir(&mut self) -> Result<(), String> {
        fsync_dir(&temp_prefix(&self.paths.config).0)
    }

    fn latest(&mut self) -> Result<Option<RevisionInfo>, String> {
        self.store.latest()
    }

    fn record(&mut self, bytes: &[u8], meta: NewRevision) -> Result<RevisionInfo, String> {
        self.store.record(bytes, meta)
    }

    fn revision(&mut self, rev: u64) -> Result<Option<(RevisionInfo, Vec<u8>)>, String> {
        self.store.get(rev)
    }

    fn reload_state(&mut self) -> DaemonState<ReloadState> {
        lvsd_status(&self.paths).map(|status| ReloadState {
            reloads: status.reloads,
            failed: status.last_reload_failed,
            error: status.last_reload_error,
            writes: status.last_reload_writes,
            // A digest that is not one is treated as none (the counter
            // decides), not as a reason to wait forever.
            config_digest: status
                .config_digest
                .as_deref()
                .and_then(|d| Digest::from_hex(d).ok()),
        })
    }

    fn pulse_role(&mut self) -> Option<PulseRole> {
        match pulse_status(&self.paths) {
            DaemonState::Running { status } => Some(PulseRole {
                role: status.role,
                active: status.active,
            }),
            _ => None,
        }
    }

    fn signal_reload(&mut self) -> Option<Daemon> {
        let targets = [
            (&self.paths.pulse_pidfile, "pulse", Daemon::Pulse),
            (&self.paths.lvsd_pidfile, "lvsd", Daemon::Lvsd),
        ];
        for (pidfile, comm, who) in targets {
            if let Some(pid) = running(pidfile, comm)
                && kill(Pid::from_raw(pid), Signal::SIGHUP).is_ok()
            {
                return Some(who);
            }
        }
        None
    }

    fn wait_reload(&mut self, before: u64, want: Digest) -> Result<ReloadState, String> {
        let deadline = Instant::now() + self.reload_wait;
        let mut last = String::from("no answer");
        while Instant::now() < deadline {
            match self.reload_state() {
                DaemonState::Running { status: s } if reload_seen(before, want, &s) => {
                    return Ok(s);
                }
                DaemonState::Running { status: s } if s.reloads > before => {
                    last = format!(
                        "lvsd reloaded, but runs another file ({}), not {want}",
                        s.config_digest.map_or("-".to_owned(), |d| d.to_hex())
                    )
                }
                DaemonState::Running { .. } => last = "lvsd has not reloaded yet".into(),
                DaemonState::NotRunning => last = "lvsd is not running".into(),
                DaemonState::Unreachable { .. } => {
                    last = "lvsd's status socket did not answer".into()
                }
            }
            std::thread::sleep(POLL);
        }
        Err(format!(
            "{last} after {} s; the file is written, its effect unknown",
            self.reload_wait.as_secs()
        ))
    }

    fn now(&mut self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    fn reached(&mut self, step: Step) {
        if self.stop_after == Some(step as u8) {
            // Test builds only (feature fault-injection): stop here so the
            // test can kill -9 the helper at this step.
            let _ = nix::sys::signal::raise(Signal::SIGSTOP);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{Change, Rules, apply};
    use crate::proto::{CheckReport, ReloadOutcome};
    use std::process::{Child, Command};

    /// A process whose name is `name` (a copy of sleep): what `running`
    /// takes for that daemon.
    fn named(dir: &Path, name: &str, pidfile: &Path) -> Child {
        let exe = dir.join(name);
        fs::copy("/usr/bin/sleep", &exe).expect("copy sleep");
        // Another test thread's fork may still hold the copy open for
        // writing until its exec (ETXTBSY): try again for a while.
        let mut tries = 0;
        let child = loop {
            match Command::new(&exe).arg("30").spawn() {
                Err(e) if e.raw_os_error() == Some(nix::libc::ETXTBSY) && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                r => break r.expect("spawn"),
            }
        };
        // Until the exec, the child has the test binary's name: the helper
        // would not see it as `name` yet.
        let comm = format!("/proc/{}/comm", child.id());
        let until = Instant::now() + Duration::from_secs(5);
        while fs::read_to_string(&comm)
            .map(|c| c.trim_end().to_owned())
            .ok()
            .as_deref()
            != Some(name)
        {
            assert!(
                Instant::now() < until,
                "{} did not become {name}",
                child.id()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        fs::write(pidfile, format!("{}\n", child.id())).expect("pid file");
        child
    }

    fn passes(_: &[u8]) -> CheckReport {
        CheckReport {
            ok: true,
            diagnostics: vec![],
            file_warnings: vec![],
            file_errors: vec![],
            rendered: String::new(),
        }
    }

    #[test]
    fn pulse_without_lvsd_is_told_from_an_lvsd_that_does_not_answer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let paths = Paths {
            config: d.join("lvs.cf"),
            lvsd_socket: d.join("lvsd.sock"),
            lvsd_pidfile: d.join("lvsd.pid"),
            pulse_socket: d.join("pulse.sock"),
            pulse_pidfile: d.join("pulse.pid"),
        };
        fs::write(&paths.config, "serial_no = 1\n").expect("lvs.cf");
        let mut sys = System::new(
            paths.clone(),
            Store::open(&d.join("state"), 5).expect("store"),
        );
        sys.reload_wait = Duration::from_secs(5);
        let mut pulse = named(d, "pulse", &paths.pulse_pidfile);
        assert_eq!(sys.reload_state(), DaemonState::NotRunning);
        // pulse runs, its status socket does not answer.
        assert_eq!(sys.pulse_role(), None);

        let started = Instant::now();
        let applied = apply(
            &mut sys,
            &Rules {
                check: &passes,
                commands: &|_, _| Ok(()),
                serial: &|_, _| Ok(None),
            },
            Change {
                base: Some(Digest::of(b"serial_no = 1\n")),
                text: b"serial_no = 2\n".to_vec(),
                reason: "why".into(),
                user: "alice".into(),
                uid: None,
                restored_from: None,
            },
        )
        .expect("apply");
        assert_eq!(applied.reload, ReloadOutcome::PulseOnly { pulse: None });
        assert!(
            started.elapsed() < sys.reload_wait,
            "{:?}",
            started.elapsed()
        );
        // The SIGHUP reached the process named pulse (sleep dies of it).
        let status = pulse.wait().expect("wait");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(Signal::SIGHUP as i32)
        );

        // A live lvsd whose socket does not answer is not "not running".
        let mut lvsd = named(d, "lvsd", &paths.lvsd_pidfile);
        let state = sys.reload_state();
        let _ = lvsd.kill();
        let _ = lvsd.wait();
        assert!(
            matches!(state, DaemonState::Unreachable { .. }),
            "{state:?}"
        );
    }
}
