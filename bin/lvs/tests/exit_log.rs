//! lvsd's log at exit, as a process on the host (`-t -n`: an in-memory
//! table when the host has no IPVS, no monitor, `lvs: …` lines on stdout):
//! a warning held back by the rate limit in the last window is reported
//! when lvsd shuts down, not lost with the process.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use testrig::process::{Lines, Running, wait_with};

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

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
    let dir = tempfile::tempdir().expect("scratch dir");
    let cf = dir.path().join("lvs.cf");
    let socket = dir.path().join("lvsd.sock");
    // 100 servers want 264 open files; a hard limit of 100 cannot give
    // them, so lvsd warns at start and again after each reload: the same
    // line each time, the rate limit's case.
    fs::write(&cf, many_servers(100)).expect("lvs.cf");
    let warning = "open file limit 100 is below the 264 that 100 monitors need";
    let mut lvsd = Running::spawn(
        "lvsd",
        Command::new("sh")
            .arg("-c")
            .arg("ulimit -n 100 && exec \"$0\" -t -n -c \"$1\" --socket \"$2\"")
            .arg(LVSD)
            .arg(&cf)
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let pid = Pid::from_raw(i32::try_from(lvsd.pid()).expect("pid"));
    let (lines, reader) = Lines::read_from(lvsd.take_stdout().expect("stdout"));
    let within = Duration::from_secs(10);
    wait_with(
        "lvsd's status",
        within,
        || reloads(&socket) == Some(0),
        || format!("{:#?}", lines.all()),
    );
    // Six reloads, each done (counted) before the next: with the warning
    // at start, seven; five pass the rate limit (5 a minute), two are held.
    for k in 1..=6 {
        kill(pid, Signal::SIGHUP).expect("kill -HUP");
        wait_with(
            &format!("reload {k}"),
            within,
            || reloads(&socket) == Some(k),
            || format!("{:#?}", lines.all()),
        );
    }
    kill(pid, Signal::SIGTERM).expect("kill -TERM");
    wait_with(
        "lvsd's exit",
        within,
        || lvsd.exited().is_some(),
        || format!("{:#?}", lines.all()),
    );
    let status = lvsd.exited().expect("exited");
    assert!(status.success(), "{status}");
    reader.join().expect("reader");
    let lines = lines.all();
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
