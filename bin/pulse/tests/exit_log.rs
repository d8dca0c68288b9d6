//! pulse's log at exit, as a process on the host's loopback, without root:
//! `-n -t` (stdout lines, no lvsd) as the backup of a primary that does
//! not exist, with a deadtime far longer than the test, so that it never
//! becomes active and touches no address. A warning held back by the rate
//! limit in the last window is reported when pulse shuts down, not lost
//! with the process.

use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use testrig::process::{Lines, Running, wait_with};

fn wait_for(what: &str, lines: &Lines, f: impl FnMut() -> bool) {
    wait_with(what, Duration::from_secs(10), f, || {
        format!("{:#?}", lines.all())
    });
}

/// A UDP port free on 127.0.0.1 a moment ago.
fn free_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr").port()
}

#[test]
fn a_warning_held_back_in_the_last_window_is_reported_at_sigterm() {
    let d = tempfile::tempdir().expect("temp dir");
    let cf = d.path().join("lvs.cf");
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
    let mut pulse = Running::spawn(
        "pulse",
        Command::new(env!("CARGO_BIN_EXE_pulse"))
            .args(["-n", "-t", "-c"])
            .arg(&cf)
            .arg("--pidfile")
            .arg(d.path().join("pulse.pid"))
            .arg("--socket")
            .arg(d.path().join("pulse.sock"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let pid = Pid::from_raw(i32::try_from(pulse.pid()).expect("pid"));
    let (lines, reader) = Lines::read_from(pulse.take_stdout().expect("stdout"));
    wait_for("the status socket", &lines, || {
        d.path().join("pulse.sock").exists()
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
    wait_for("pulse's exit", &lines, || pulse.exited().is_some());
    let status = pulse.exited().expect("exited");
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
