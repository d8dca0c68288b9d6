//! lvsd's status names the file its running table came from by digest
//! (`config_digest`): the start's file, the one a reload loaded, and still
//! that one after a reload it refused. Host only (`-t`: an in-memory
//! table, no monitors).

use std::fs;
use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use sha2::Digest as _;

/// lvs.cf with a Latin-1 byte in a comment: the digest is of the bytes
/// on disk, not of the text lvsd parsed (which has U+FFFD there).
fn config(weight: u32) -> Vec<u8> {
    let mut bytes = format!(
        "serial_no = {weight}\nnetwork = direct\nvirtual web {{\n active = 1\n \
         address = 203.0.113.10 eth0:1\n port = 80\n server a {{\n  address = 192.0.2.11\n  \
         active = 1\n  weight = {weight}\n }}\n}}\n# caf"
    )
    .into_bytes();
    bytes.extend_from_slice(b"\xe9\n");
    bytes
}

fn hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn status(socket: &Path) -> Option<director::status::Status> {
    let mut s = UnixStream::connect(socket).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"status json\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    director::status::from_json(&text).ok()
}

/// Polls `socket` (10 s at most) until `done` holds for lvsd's status.
fn wait(socket: &Path, what: &str, done: impl Fn(&director::status::Status) -> bool) {
    let started = Instant::now();
    loop {
        if status(socket).is_some_and(|s| done(&s)) {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The scratch directory and the lvsd in it, both gone when dropped (also
/// when the test fails).
struct Run {
    dir: std::path::PathBuf,
    child: Option<std::process::Child>,
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn the_status_digest_is_the_running_files() {
    let dir = std::env::temp_dir().join(format!("lvsd-digest-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    let mut run = Run {
        dir: dir.clone(),
        child: None,
    };
    let cf = dir.join("lvs.cf");
    let socket = dir.join("lvsd.sock");
    fs::write(&cf, config(1)).expect("lvs.cf");
    let child = Command::new(env!("CARGO_BIN_EXE_lvsd"))
        .args(["-t", "-n", "-c"])
        .arg(&cf)
        .arg("--socket")
        .arg(&socket)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("lvsd");
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    run.child = Some(child);
    let first = hex(&config(1));
    wait(&socket, "the start's digest", |s| {
        s.config_digest.as_deref() == Some(first.as_str())
    });

    fs::write(&cf, config(2)).expect("lvs.cf");
    kill(pid, Signal::SIGHUP).expect("SIGHUP");
    let second = hex(&config(2));
    wait(&socket, "the reloaded file's digest", |s| {
        s.reloads == 1 && s.config_digest.as_deref() == Some(second.as_str())
    });

    // A refused file: the table stays, and so does its digest.
    fs::write(&cf, "virtual {\n").expect("lvs.cf");
    kill(pid, Signal::SIGHUP).expect("SIGHUP");
    wait(&socket, "the refusal", |s| {
        s.reloads == 2 && s.last_reload_failed
    });
    let s = status(&socket).expect("status");
    assert_eq!(s.config_digest.as_deref(), Some(second.as_str()));

    kill(pid, Signal::SIGTERM).expect("SIGTERM");
    let code = run.child.take().expect("child").wait().expect("wait");
    assert!(code.success(), "{code:?}");
}
