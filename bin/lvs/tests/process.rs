//! lvsd as a process on the host: signals before the handlers exist, the
//! pid-file lock against a second instance, and `--check` against the
//! open-file limit. `-t` plans against an in-memory table when the host
//! has no IPVS, and starts no monitor, so none of this needs the kernel's
//! IPVS or the guest.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const CONFIG: &str = "\
serial_no = 1
network = direct
virtual web {
     active = 1
     address = 203.0.113.10 eth0:1
     port = 80
     server a {
         address = 192.0.2.11
         active = 1
         weight = 3
     }
}
";

/// A scratch directory for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("lvsd-process-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch dir");
        fs::write(dir.join("lvs.cf"), CONFIG).expect("lvs.cf");
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// An lvsd we started, killed and reaped when dropped (also on failure).
struct Lvsd(Child);

impl Lvsd {
    fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.0.id()).expect("pid"))
    }

    fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(st) = self.0.try_wait().expect("try_wait") {
                return st;
            }
            assert!(Instant::now() < deadline, "lvsd did not exit in {within:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Lvsd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn lvsd_cmd(args: &[&str], dir: &Scratch) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lvsd"));
    cmd.args(args)
        .arg("-c")
        .arg(dir.path("lvs.cf"))
        .stdin(Stdio::null());
    cmd
}

fn wait_for(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A signal-set field of /proc/PID/status (`SigBlk:`, `SigCgt:`) as bits.
fn sig_field(pid: Pid, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix(field))?.trim();
    u64::from_str_radix(hex, 16).ok()
}

fn bit(sig: Signal) -> u64 {
    1 << (sig as u32 - 1)
}

// Issue: lvsd died with status 129 when a SIGHUP came before its handler
// existed (the window is as long as reading lvs.cf, e.g. a DNS lookup).
#[test]
fn sighup_while_lvs_cf_is_read_is_kept_and_then_handled() {
    let dir = Scratch::new("hup");
    // A long lvs.cf (the configuration, then 40 MB of comments): lvsd
    // reads and parses it before its handlers exist, a window of a good
    // part of a second (as long as a slow DNS lookup would make it). lvsd
    // reads only a regular file, so a FIFO cannot hold it there.
    let cf = dir.path("lvs.cf");
    let mut text = String::from(CONFIG);
    let comment = format!("# {}\n", "x".repeat(78));
    text.reserve(40 << 20);
    while text.len() < 40 << 20 {
        text.push_str(&comment);
    }
    fs::write(&cf, &text).expect("write");
    let log = fs::File::create(dir.path("out")).expect("log");
    let mut cmd = lvsd_cmd(&["-t", "-n"], &dir);
    cmd.arg("--socket")
        .arg(dir.path("lvsd.sock"))
        .stdout(log.try_clone().expect("log"))
        .stderr(log);
    let mut lvsd = Lvsd(cmd.spawn().expect("start lvsd"));
    let pid = lvsd.pid();
    wait_for("SIGHUP blocked", Duration::from_secs(5), || {
        sig_field(pid, "SigBlk:").is_some_and(|b| b & bit(Signal::SIGHUP) != 0)
    });
    kill(pid, Signal::SIGHUP).expect("kill -HUP");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        lvsd.0.try_wait().expect("try_wait"),
        None,
        "killed by SIGHUP"
    );
    assert_eq!(
        sig_field(pid, "SigCgt:").expect("status") & bit(Signal::SIGHUP),
        0,
        "the SIGHUP must have come before the handler existed"
    );
    // lvsd reads the file, installs its handlers, then the kept SIGHUP
    // reloads it.
    let out = || fs::read_to_string(dir.path("out")).unwrap_or_default();
    // 40 MB read, parsed and digested twice in an emulated guest: generous.
    wait_for("the reload line", Duration::from_secs(30), || {
        out().contains("lvs: rereading configuration file")
            || lvsd.0.try_wait().ok().flatten().is_some()
    });
    assert_eq!(lvsd.0.try_wait().expect("try_wait"), None, "{}", out());
    kill(pid, Signal::SIGTERM).expect("kill -TERM");
    let st = lvsd.wait_exit(Duration::from_secs(10));
    assert!(st.success(), "{st:?}");
    // The pending signal was delivered once.
    assert_eq!(
        out().matches("rereading configuration file").count(),
        1,
        "{}",
        out()
    );
}

#[test]
fn a_second_lvsd_on_the_same_pid_file_refuses_and_touches_nothing() {
    let dir = Scratch::new("twice");
    let pidfile = dir.path("lvs.pid");
    let socket = dir.path("lvsd.sock");
    let args = |cmd: &mut Command| {
        cmd.arg("--pidfile")
            .arg(&pidfile)
            .arg("--socket")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
    };
    let mut cmd = lvsd_cmd(&["-t", "--nofork"], &dir);
    args(&mut cmd);
    let mut first = Lvsd(cmd.spawn().expect("first lvsd"));
    let first_pid = first.pid().as_raw();
    wait_for("first lvsd's socket", Duration::from_secs(10), || {
        socket.exists()
    });
    assert_eq!(
        fs::read_to_string(&pidfile).expect("pid file"),
        format!("{first_pid}\n")
    );

    let mut cmd = lvsd_cmd(&["-t", "--nofork"], &dir);
    args(&mut cmd);
    let second = cmd.output().expect("second lvsd");
    assert_eq!(second.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&second.stderr),
        format!(
            "lvsd: another lvsd is running (pid {first_pid}, {})\n",
            pidfile.display()
        )
    );
    // The survivor's files are untouched, and it still runs.
    assert_eq!(
        fs::read_to_string(&pidfile).expect("pid file"),
        format!("{first_pid}\n")
    );
    assert!(socket.exists());
    assert_eq!(first.0.try_wait().expect("try_wait"), None);

    kill(first.pid(), Signal::SIGTERM).expect("kill -TERM");
    let st = first.wait_exit(Duration::from_secs(10));
    assert!(st.success(), "{st:?}");
    assert!(!pidfile.exists(), "its own pid file removed on exit");
    // Free again.
    let mut cmd = lvsd_cmd(&["-t", "--nofork"], &dir);
    args(&mut cmd);
    let mut again = Lvsd(cmd.spawn().expect("third lvsd"));
    wait_for("the new pid file", Duration::from_secs(10), || {
        fs::read_to_string(&pidfile).is_ok_and(|t| t == format!("{}\n", again.pid()))
    });
    kill(again.pid(), Signal::SIGTERM).expect("kill -TERM");
    assert!(again.wait_exit(Duration::from_secs(10)).success());
}

#[test]
fn an_exiting_lvsd_leaves_a_pid_file_that_is_not_its_own() {
    // lvsd A runs; its pid file is removed by hand and lvsd B starts with
    // a new one. A's exit must not remove B's file.
    let dir = Scratch::new("other");
    let pidfile = dir.path("lvs.pid");
    let start = |socket: &str| {
        let mut cmd = lvsd_cmd(&["-t", "--nofork"], &dir);
        cmd.arg("--pidfile")
            .arg(&pidfile)
            .arg("--socket")
            .arg(dir.path(socket))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Lvsd(cmd.spawn().expect("lvsd"))
    };
    let mut a = start("a.sock");
    wait_for("A's pid file", Duration::from_secs(10), || {
        fs::read_to_string(&pidfile).is_ok_and(|t| t == format!("{}\n", a.pid()))
    });
    fs::remove_file(&pidfile).expect("rm pid file");
    let mut b = start("b.sock");
    wait_for("B's pid file", Duration::from_secs(10), || {
        fs::read_to_string(&pidfile).is_ok_and(|t| t == format!("{}\n", b.pid()))
    });
    kill(a.pid(), Signal::SIGTERM).expect("kill -TERM");
    assert!(a.wait_exit(Duration::from_secs(10)).success());
    assert_eq!(
        fs::read_to_string(&pidfile).expect("B's pid file survives"),
        format!("{}\n", b.pid())
    );
    kill(b.pid(), Signal::SIGTERM).expect("kill -TERM");
    assert!(b.wait_exit(Duration::from_secs(10)).success());
    assert!(!pidfile.exists());
}

fn many_servers(n: usize) -> String {
    let mut text = String::from(
        "serial_no = 1\nnetwork = direct\nvirtual web {\n active = 1\n address = 203.0.113.10 eth0:1\n port = 80\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            " server s{i} {{\n  address = 192.0.2.{}\n  active = 1\n }}\n",
            i % 250 + 1
        ));
    }
    text.push_str("}\n");
    text
}

fn check_under_hard_limit(dir: &Scratch, limit: u32) -> std::process::Output {
    // `ulimit -n` in sh sets both limits for the exec'd lvsd only.
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n {limit} && exec \"$0\" --check -c \"$1\"",
        ))
        .arg(env!("CARGO_BIN_EXE_lvsd"))
        .arg(dir.path("lvs.cf"))
        .output()
        .expect("sh")
}

#[test]
fn check_fails_when_the_hard_open_file_limit_cannot_hold_the_monitors() {
    let dir = Scratch::new("nofile");
    fs::write(dir.path("lvs.cf"), many_servers(300)).expect("lvs.cf");
    let out = check_under_hard_limit(&dir, 256);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.ends_with(&format!(
            "{}: error: 300 real servers need about 664 open files, but the hard limit \
             (RLIMIT_NOFILE) is 256; raise it (LimitNOFILE= in the unit, ulimit -Hn) \
             or use nanny_mode = shared\n",
            dir.path("lvs.cf").display()
        )),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    // Enough: the same file passes.
    let out = check_under_hard_limit(&dir, 1024);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The soft open-file limit of a running process, from /proc/PID/limits.
fn soft_nofile(pid: Pid) -> Option<u64> {
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[test]
fn lvsd_raises_its_open_file_limit_for_the_config_at_start_and_on_reload() {
    let dir = Scratch::new("raise");
    let cf = dir.path("lvs.cf");
    // 100 servers: 64 + 2 × 100 = 264 wanted.
    fs::write(&cf, many_servers(100)).expect("lvs.cf");
    let mut lvsd = Lvsd(
        Command::new("sh")
            .arg("-c")
            .arg("ulimit -Sn 100 && exec \"$0\" -t -n -c \"$1\" --socket \"$2\"")
            .arg(env!("CARGO_BIN_EXE_lvsd"))
            .arg(&cf)
            .arg(dir.path("lvsd.sock"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("lvsd"),
    );
    let pid = lvsd.pid();
    wait_for("the status socket", Duration::from_secs(10), || {
        dir.path("lvsd.sock").exists()
    });
    assert_eq!(soft_nofile(pid), Some(264));
    // 300 servers after a reload: 664.
    fs::write(&cf, many_servers(300)).expect("lvs.cf");
    kill(pid, Signal::SIGHUP).expect("kill -HUP");
    wait_for("the raised limit", Duration::from_secs(10), || {
        soft_nofile(pid) == Some(664)
    });
    // Fewer servers never lower it.
    fs::write(&cf, many_servers(1)).expect("lvs.cf");
    kill(pid, Signal::SIGHUP).expect("kill -HUP");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(soft_nofile(pid), Some(664));
    kill(pid, Signal::SIGTERM).expect("kill -TERM");
    assert!(lvsd.wait_exit(Duration::from_secs(10)).success());
}
