//! pulse's log at exit, as a process on the host's loopback, without root:
//! `-n -t` (stdout lines, no lvsd) as the backup of a primary that does
//! not exist, with a deadtime far longer than the test, so that it never
//! becomes active and touches no address. A warning held back by the rate
//! limit in the last window is reported when pulse shuts down, not lost
//! with the process.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("pulse-exitlog-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A pulse we started, killed and reaped when dropped (also on failure).
struct Pulse(Child);

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines pulse wrote to stdout so far, collected by a reader thread.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn count(&self, line: &str) -> usize {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .filter(|l| *l == line)
            .count()
    }
    fn len(&self) -> usize {
        self.0.lock().expect("lock").len()
    }
    fn all(&self) -> Vec<String> {
        self.0.lock().expect("lock").clone()
    }
}

fn wait_for(what: &str, lines: &Lines, mut f: impl FnMut() -> bool) {
    let within = Duration::from_secs(10);
    let deadline = Instant::now() + within;
    while !f() {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {within:?}\n{:#?}",
            lines.all()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A UDP port free on 127.0.0.1 a moment ago.
fn free_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr").port()
}

#[test]
fn a_warning_held_back_in_the_last_window_is_reported_at_sigterm() {
    let d = Dir::new("held");
    let cf = d.0.join("lvs.cf");
    // We are the backup (this host holds 127.0.0.1, not 127.0.0.2). The
    // device of the VIP does not exist: if pulse ever activated, it could
    // not add the address.
    let good = format!(
        "primary = 127.0.0.2\nbackup = 127.0.0.1\nbackup_active = 1\nservice = lvs\n\
         heartbeat_port = {}\nkeepalive = 1\ndeadtime = 3600\n\
         virtual web {{\n active = 1\n address = 203.0.113.10 nosuch9:1\n \
         server one {{\n address = 198.51.100.11\n active = 1\n }}\n}}\n",
        free_port()
    );
    std::fs::write(&cf, &good).expect("lvs.cf");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pulse"))
        .args(["-n", "-t", "-c"])
        .arg(&cf)
        .arg("--pidfile")
        .arg(d.0.join("pulse.pid"))
        .arg("--socket")
        .arg(d.0.join("pulse.sock"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("pulse");
    let stdout = child.stdout.take().expect("stdout");
    let mut pulse = Pulse(child);
    let pid = Pid::from_raw(i32::try_from(pulse.0.id()).expect("pid"));
    let lines = Lines::default();
    let reader = {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                lines.0.lock().expect("lock").push(line);
            }
        })
    };
    wait_for("the status socket", &lines, || {
        d.0.join("pulse.sock").exists()
    });

    // From now on every reload is refused with the same warning.
    std::fs::write(
        &cf,
        good.replace(" active = 1\n address = 203", " active = 0\n address = 203"),
    )
    .expect("lvs.cf");
    let warning = format!(
        "no active lvs services defined in {}; keeping the running configuration",
        cf.display()
    );
    let full = format!("pulse: {warning}");
    let reread = "pulse: rereading configuration file";
    // Five pass the rate limit (5 a minute): each seen before the next.
    for k in 1..=5 {
        kill(pid, Signal::SIGHUP).expect("kill -HUP");
        wait_for(&format!("warning {k}"), &lines, || lines.count(&full) == k);
    }
    // The sixth is held back: it is done once pulse starts another
    // re-read (a SIGHUP during one is answered "still re-reading").
    kill(pid, Signal::SIGHUP).expect("kill -HUP");
    wait_for("re-read 6", &lines, || lines.count(reread) == 6);
    for _ in 0..1000 {
        if lines.count(reread) == 7 {
            break;
        }
        let seen = lines.len();
        kill(pid, Signal::SIGHUP).expect("kill -HUP");
        wait_for("an answer to SIGHUP", &lines, || lines.len() > seen);
    }
    assert_eq!(lines.count(reread), 7, "{:#?}", lines.all());

    kill(pid, Signal::SIGTERM).expect("kill -TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = pulse.0.try_wait().expect("try_wait") {
            break st;
        }
        assert!(Instant::now() < deadline, "pulse did not exit");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(status.success(), "{status}");
    reader.join().expect("reader");
    let lines = lines.all();
    assert_eq!(
        lines.iter().filter(|l| **l == full).count(),
        5,
        "{lines:#?}"
    );
    // The sixth re-read was held back; the seventh too if it finished
    // before SIGTERM (an unfinished one is dropped at exit).
    let last = lines.last().map(String::as_str).unwrap_or_default();
    assert!(
        [1, 2]
            .iter()
            .any(|n| last == format!("pulse: message repeated {n} times: [{warning}]")),
        "{lines:#?}"
    );
}
