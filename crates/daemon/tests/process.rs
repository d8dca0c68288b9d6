//! Process-level tests of the daemon crate: signals blocked from the first
//! instruction, detaching, and a pid file lock that survives detaching.
//!
//! Each case re-executes this binary in a child mode (named by
//! `DAEMON_TEST_MODE`). The harness is our own `main` (`harness = false`),
//! because a child mode must be single-threaded from its first instruction,
//! as a daemon's `main` is: libtest runs tests on threads of its own.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use daemon::detach::{Detach, detach};
use daemon::pidfile::{PidFile, PidFileError, read_pid};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const MODE: &str = "DAEMON_TEST_MODE";

fn main() {
    if let Ok(mode) = std::env::var(MODE) {
        child_main(&mode);
        return;
    }
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let tests: [(&str, fn()); 4] = [
        (
            "sighup_while_blocked_is_kept_and_delivered_once",
            sighup_while_blocked_is_kept_and_delivered_once,
        ),
        (
            "sighup_without_blocking_kills_the_process",
            sighup_without_blocking_kills_the_process,
        ),
        (
            "detach_leaves_a_session_member_on_dev_null",
            detach_leaves_a_session_member_on_dev_null,
        ),
        (
            "pid_file_lock_survives_detach_and_is_removed_by_the_daemon",
            pid_file_lock_survives_detach_and_is_removed_by_the_daemon,
        ),
    ];
    let mut failed = 0;
    let mut ran = 0;
    for (name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        ran += 1;
        match std::panic::catch_unwind(test) {
            Ok(()) => println!("test {name} ... ok"),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    println!(
        "\ntest result: {}. {} passed; {failed} failed",
        if failed == 0 { "ok" } else { "FAILED" },
        ran - failed
    );
    if failed > 0 {
        std::process::exit(101);
    }
}

/// A child of this binary in `mode`, killed and reaped on drop.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_mode(mode: &str, args: &[&Path]) -> ChildGuard {
    let exe = std::env::current_exe().expect("current exe");
    let child = Command::new(exe)
        .env(MODE, mode)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child mode");
    ChildGuard(child)
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return st;
        }
        assert!(
            Instant::now() < deadline,
            "child did not exit in {within:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn wait_for<T>(what: &str, within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("daemon-process-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn hup(child: &Child) {
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    kill(pid, Signal::SIGHUP).expect("kill -HUP");
}

fn sighup_while_blocked_is_kept_and_delivered_once() {
    let mut g = spawn_mode("signals-block", &[]);
    let mut out = BufReader::new(g.0.stdout.take().expect("stdout"));
    let mut stdin = g.0.stdin.take().expect("stdin");
    let mut line = String::new();
    out.read_line(&mut line).expect("read");
    assert_eq!(line, "blocked\n");
    // Two SIGHUPs before any handler: standard signals do not queue.
    hup(&g.0);
    hup(&g.0);
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        g.0.try_wait().expect("try_wait").is_none(),
        "died of SIGHUP"
    );
    writeln!(stdin, "go").expect("go");
    line.clear();
    out.read_line(&mut line).expect("read");
    assert_eq!(line, "hup 1\n", "pending SIGHUP delivered exactly once");
    // The handler stays in place for later ones.
    writeln!(stdin, "again").expect("again");
    // The child reads the line before it waits; give it a moment.
    std::thread::sleep(Duration::from_millis(50));
    hup(&g.0);
    line.clear();
    out.read_line(&mut line).expect("read");
    assert_eq!(line, "hup 2\n");
    let st = wait_exit(&mut g.0, Duration::from_secs(5));
    assert!(st.success(), "{st:?}");
}

fn sighup_without_blocking_kills_the_process() {
    // The control: the same child without the block dies of the signal,
    // so the test above can fail.
    use std::os::unix::process::ExitStatusExt;
    let mut g = spawn_mode("signals-noblock", &[]);
    let mut out = BufReader::new(g.0.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("read");
    assert_eq!(line, "unblocked\n");
    hup(&g.0);
    let st = wait_exit(&mut g.0, Duration::from_secs(5));
    assert_eq!(st.signal(), Some(nix::libc::SIGHUP), "{st:?}");
}

fn detach_leaves_a_session_member_on_dev_null() {
    let dir = TempDir::new("detach");
    let result = dir.0.join("result");
    let mut g = spawn_mode("detach", &[&result]);
    let st = wait_exit(&mut g.0, Duration::from_secs(5));
    assert!(st.success(), "parent of the daemon exits 0: {st:?}");
    let text = wait_for("daemon's result", Duration::from_secs(5), || {
        std::fs::read_to_string(&result)
            .ok()
            .filter(|t| t.ends_with('\n'))
    });
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [pid, sid, cwd, stdin] = fields[..] else {
        panic!("{text:?}");
    };
    let pid: u32 = pid.parse().expect("pid");
    let sid: i32 = sid.parse().expect("sid");
    assert_ne!(pid, g.0.id(), "runs in a grandchild");
    let own_sid = nix::unistd::getsid(None).expect("getsid").as_raw();
    assert_ne!(sid, own_sid, "a new session");
    assert_ne!(
        i32::try_from(pid).expect("pid"),
        sid,
        "not a session leader (second fork)"
    );
    assert_eq!(cwd, "/");
    assert_eq!(stdin, "/dev/null");
}

fn pid_file_lock_survives_detach_and_is_removed_by_the_daemon() {
    let dir = TempDir::new("pidfile");
    let pidfile = dir.0.join("testd.pid");
    let stop = dir.0.join("stop");
    let result = dir.0.join("result");
    let mut g = spawn_mode("pidfile-detach", &[&pidfile, &stop, &result]);
    let st = wait_exit(&mut g.0, Duration::from_secs(5));
    assert!(st.success(), "{st:?}");
    let text = wait_for("daemon's result", Duration::from_secs(5), || {
        std::fs::read_to_string(&result)
            .ok()
            .filter(|t| t.ends_with('\n'))
    });
    let daemon_pid: i32 = text
        .trim()
        .strip_prefix("ok ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{text:?}"));
    // Guard: whatever happens below, the daemon gets its stop file.
    struct Stop<'a>(&'a Path);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            let _ = std::fs::write(self.0, "");
        }
    }
    let stop_guard = Stop(&stop);
    // The parents exited; the file names the daemon and the lock holds.
    assert_eq!(read_pid(&pidfile).expect("pid file"), Some(daemon_pid));
    match PidFile::acquire(&pidfile, "testd") {
        Err(PidFileError::Locked { pid, .. }) => assert_eq!(pid, Some(daemon_pid)),
        other => panic!("expected Locked, got {other:?}"),
    }
    // The refusal did not touch the daemon's file.
    assert_eq!(read_pid(&pidfile).expect("pid file"), Some(daemon_pid));
    drop(stop_guard);
    wait_for("pid file removed", Duration::from_secs(5), || {
        (!pidfile.exists()).then_some(())
    });
    wait_for("daemon gone", Duration::from_secs(5), || {
        kill(Pid::from_raw(daemon_pid), None).is_err().then_some(())
    });
    let _again = PidFile::acquire(&pidfile, "testd").expect("free after the daemon exited");
}

// ---- child modes: single-threaded from here -------------------------------

fn child_main(mode: &str) {
    match mode {
        "signals-block" => {
            daemon::signals::block_daemon_signals().expect("block");
            signals_child("blocked");
        }
        "signals-noblock" => signals_child("unblocked"),
        "detach" => detach_child(),
        "pidfile-detach" => pidfile_child(),
        other => panic!("unknown mode {other}"),
    }
}

fn signals_child(banner: &str) {
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{banner}").expect("write");
    stdout.flush().expect("flush");
    let mut stdin = BufReader::new(std::io::stdin());
    let mut line = String::new();
    stdin.read_line(&mut line).expect("read");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = signal(SignalKind::hangup()).expect("handler");
        daemon::signals::unblock_after_handlers().expect("unblock");
        let mut n = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
        while let Ok(Some(())) = tokio::time::timeout_at(deadline, hup.recv()).await {
            n += 1;
        }
        println!("hup {n}");
        line.clear();
        stdin.read_line(&mut line).expect("read");
        // Exactly one more is sent after "again".
        let m = tokio::time::timeout(Duration::from_secs(5), hup.recv())
            .await
            .map(|_| 1)
            .unwrap_or(0);
        println!("hup {}", n + m);
    });
}

fn arg(i: usize) -> PathBuf {
    PathBuf::from(std::env::args_os().nth(i).expect("argument"))
}

fn detach_child() {
    let result = arg(1);
    detach(Detach {
        fork: true,
        chdir_root: true,
    })
    .expect("detach");
    let pid = std::process::id();
    let sid = nix::unistd::getsid(None).expect("getsid").as_raw();
    let cwd = std::env::current_dir().expect("cwd");
    let stdin = std::fs::read_link("/proc/self/fd/0").expect("fd 0");
    let text = format!("{pid} {sid} {} {}\n", cwd.display(), stdin.display());
    std::fs::write(result, text).expect("result");
}

fn pidfile_child() {
    let (pidfile, stop, result) = (arg(1), arg(2), arg(3));
    let mut pf = PidFile::acquire(&pidfile, "testd").expect("acquire");
    detach(Detach {
        fork: true,
        chdir_root: false,
    })
    .expect("detach");
    pf.rewrite().expect("rewrite");
    std::fs::write(&result, format!("ok {}\n", std::process::id())).expect("result");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !stop.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(pf);
}
