//! lvsd's log at exit, as a process on the host (`-t -n`: an in-memory
//! table when the host has no IPVS, no monitor, `lvs: …` lines on stdout):
//! a warning held back by the rate limit in the last window is reported
//! when lvsd shuts down, not lost with the process.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

/// A scratch directory for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("lvsd-exitlog-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch dir");
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

impl Drop for Lvsd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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

fn wait_for(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The `reloads` count of `lvsd --status --json`, if lvsd answers.
fn reloads(socket: &Path) -> Option<u64> {
    let out = Command::new(LVSD)
        .args(["--status", "--json", "--socket"])
        .arg(socket)
        .output()
        .ok()?;
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    status.get("reloads")?.as_u64()
}

#[test]
fn a_warning_held_back_in_the_last_window_is_reported_at_sigterm() {
    let dir = Scratch::new("held");
    let cf = dir.path("lvs.cf");
    let socket = dir.path("lvsd.sock");
    // 100 servers want 264 open files; a hard limit of 100 cannot give
    // them, so lvsd warns at start and again after each reload: the same
    // line each time, the rate limit's case.
    fs::write(&cf, many_servers(100)).expect("lvs.cf");
    let warning = "open file limit 100 is below the 264 that 100 monitors need";
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 100 && exec \"$0\" -t -n -c \"$1\" --socket \"$2\"")
        .arg(LVSD)
        .arg(&cf)
        .arg(&socket)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("lvsd");
    let stdout = child.stdout.take().expect("stdout");
    let lvsd = Lvsd(child);
    let pid = Pid::from_raw(i32::try_from(lvsd.0.id()).expect("pid"));
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let reader = {
        let lines = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                lines.lock().expect("lock").push(line);
            }
        })
    };
    wait_for("lvsd's status", Duration::from_secs(10), || {
        reloads(&socket) == Some(0)
    });
    // Six reloads, each done (counted) before the next: with the warning
    // at start, seven; five pass the rate limit (5 a minute), two are held.
    for k in 1..=6 {
        kill(pid, Signal::SIGHUP).expect("kill -HUP");
        wait_for(&format!("reload {k}"), Duration::from_secs(10), || {
            reloads(&socket) == Some(k)
        });
    }
    kill(pid, Signal::SIGTERM).expect("kill -TERM");
    let mut lvsd = lvsd;
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = lvsd.0.try_wait().expect("try_wait") {
            break st;
        }
        assert!(Instant::now() < deadline, "lvsd did not exit");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(status.success(), "{status}");
    reader.join().expect("reader");
    let lines = lines.lock().expect("lock").clone();
    let full = format!("lvs: {warning}");
    assert_eq!(
        lines.iter().filter(|l| **l == full).count(),
        5,
        "{lines:#?}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some(format!("lvs: message repeated 2 times: [{warning}]").as_str()),
        "{lines:#?}"
    );
}
