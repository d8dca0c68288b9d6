//! The real `lvs-admin serve` on a temp directory and socket: diagnostics
//! equal to `lvsd --check`'s, concurrent applies, and kill -9 at each step
//! of an apply (the `fault-injection` feature, on for these tests through
//! the dev-dependency).

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use admin::client::{Client, ClientError};
use admin::proto::{Digest, Error, ReloadOutcome};
use testrig::admin::Helper;
use testrig::process::{bin_beside, wait_with};

const OLD: &str = "\
serial_no = 1
primary = 192.0.2.1
service = lvs
network = direct
virtual web {
    active = 1
    address = 203.0.113.10 eth0:1
    port = 80
    server web1 {
        address = 192.0.2.11
        active = 1
        weight = 1
    }
}
";

fn new_text() -> String {
    OLD.replace("weight = 1", "weight = 3")
        .replace("serial_no = 1", "serial_no = 2")
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lvs-admin")
}

/// A helper on its own directory, lvs.cf = OLD (mode 0640), with `env`.
fn start(env: &[(&str, &str)]) -> Helper {
    let setup = Helper::builder(bin()).config(OLD);
    fs::set_permissions(setup.config_path(), fs::Permissions::from_mode(0o640)).expect("chmod");
    env.iter().fold(setup, |b, (k, v)| b.env(k, v)).start()
}

#[test]
fn a_kill_at_each_step_of_apply_leaves_the_old_or_the_new_file() {
    let new = new_text();
    // Steps 1-7 (8, the reload wait, needs a running lvsd: the guest test).
    for step in 1..=7u8 {
        let helper = start(&[("LVS_ADMIN_STOP_AFTER", &step.to_string())]);
        let before = fs::metadata(helper.config()).expect("stat");
        let client = Client::new(helper.socket()).with_deadline(Duration::from_secs(30));
        let text = new.clone();
        let apply = std::thread::spawn(move || {
            client.apply(Digest::of(OLD.as_bytes()), text.as_bytes(), "step", "t")
        });
        wait_with(
            &format!("step {step}: the helper to stop"),
            Duration::from_secs(20),
            || helper.is_stopped(),
            || helper.log(),
        );
        let config = helper.config();
        let restart = helper.kill_and_keep();
        // The client sees the connection end, not a success.
        let outcome = apply.join().expect("client thread");
        assert!(
            matches!(outcome, Err(ClientError::Frame(_))),
            "step {step}: {outcome:?}"
        );
        let now = fs::read(&config).expect("lvs.cf is there");
        let expected = if step < 4 { OLD } else { new.as_str() };
        assert_eq!(
            String::from_utf8_lossy(&now),
            expected,
            "step {step}: neither partial nor the wrong one"
        );
        let after = fs::metadata(&config).expect("stat");
        assert_eq!(
            (after.mode() & 0o7777, after.uid(), after.gid()),
            (before.mode() & 0o7777, before.uid(), before.gid()),
            "step {step}: mode and owner kept"
        );
        // A new helper cleans up and carries on from the file on disk.
        let helper = restart.start();
        let leftovers: Vec<_> = fs::read_dir(config.parent().expect("dir"))
            .expect("ls")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "lvs.cf")
            .collect();
        assert!(leftovers.is_empty(), "step {step}: {leftovers:?}");
        let c = Client::new(helper.socket());
        let (text, digest) = c.read().expect("read");
        assert_eq!(text, now);
        let again = OLD
            .replace("weight = 1", "weight = 7")
            .replace("serial_no = 1", "serial_no = 9");
        let a = c
            .apply(digest, again.as_bytes(), "after", "t")
            .expect("apply");
        assert_eq!(a.reload, ReloadOutcome::NotRunning);
        // History: the file found first, then this apply (the killed
        // apply's revision only if it got that far).
        let history = c.history().expect("history");
        assert_eq!(history[0].digest, Digest::of(again.as_bytes()));
        assert_eq!(
            history.last().expect("first").digest,
            Digest::of(OLD.as_bytes())
        );
        let (_, first) = c.show(history.last().expect("first").rev).expect("show");
        assert_eq!(first, OLD.as_bytes());
    }
}

#[test]
fn two_concurrent_applies_from_one_digest_exactly_one_wins() {
    let helper = start(&[]);
    let base = Digest::of(OLD.as_bytes());
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let client = Client::new(helper.socket());
            std::thread::spawn(move || {
                let text = OLD
                    .replace("weight = 1", &format!("weight = {}", i + 2))
                    .replace("serial_no = 1", "serial_no = 2");
                (
                    text.clone(),
                    client.apply(base, text.as_bytes(), "race", &format!("u{i}")),
                )
            })
        })
        .collect();
    let results: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let winners: Vec<_> = results.iter().filter(|(_, r)| r.is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:#?}");
    let won = &winners[0].0;
    for (_, r) in results.iter().filter(|(_, r)| r.is_err()) {
        match r {
            Err(ClientError::Refused(Error::Conflict { current_digest })) => {
                assert_eq!(*current_digest, Digest::of(won.as_bytes()))
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(fs::read_to_string(helper.config()).expect("read"), *won);
    // The history holds the file found and the one winner.
    assert_eq!(
        Client::new(helper.socket())
            .history()
            .expect("history")
            .len(),
        2
    );
}

#[test]
fn check_says_what_lvsd_check_says_for_every_corpus_file() {
    let helper = start(&[]);
    let client = Client::new(helper.socket());
    // `lvsd` beside this test's `lvs-admin` (the workspace's test build
    // makes both).
    let lvsd = bin_beside(bin(), "lvsd");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus");
    let mut files: Vec<PathBuf> = ["invalid", "valid"]
        .iter()
        .flat_map(|d| fs::read_dir(corpus.join(d)).expect("corpus").flatten())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cf"))
        .collect();
    files.sort();
    assert!(files.len() > 20, "{files:?}");
    let mut invalid = 0;
    for file in &files {
        let bytes = fs::read(file).expect("read");
        let report = client.check(&bytes).expect("check");
        // lvsd --check on a copy named lvs.cf, so the names match.
        let copy = helper.dir().join("lvs.cf");
        fs::write(&copy, &bytes).expect("copy");
        let out = Command::new(&lvsd)
            .arg("--check")
            .arg("-c")
            .arg("lvs.cf")
            .current_dir(helper.dir())
            .output()
            .expect("lvsd --check");
        let lvsd_text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(report.rendered, lvsd_text, "{}", file.display());
        assert_eq!(report.ok, out.status.success(), "{}", file.display());
        // And the structured diagnostics are the places lvsd printed.
        let places: Vec<String> = report
            .diagnostics
            .iter()
            .map(|d| format!("lvs.cf:{}:{}: {:?}", d.line, d.col, d.severity).to_lowercase())
            .collect();
        for p in &places {
            let head = p.rsplit_once(": ").expect("place").0;
            assert!(lvsd_text.contains(head), "{}: {p}", file.display());
        }
        if !report.ok {
            invalid += 1;
        }
    }
    assert!(invalid > 10, "{invalid} invalid files");
}

#[test]
fn no_sync_peer_and_bad_requests_are_typed_refusals() {
    let helper = start(&[]);
    let c = Client::new(helper.socket());
    assert!(matches!(
        c.sync_push(false, "t"),
        Err(ClientError::Refused(Error::NoSyncPeer))
    ));
    assert!(matches!(
        c.show(99),
        Err(ClientError::Refused(Error::NoSuchRevision { rev: 99 }))
    ));
    // Not JSON at all: a bad-request reply, and the helper goes on.
    use std::io::{Read as _, Write as _};
    let mut s = std::os::unix::net::UnixStream::connect(helper.socket()).expect("connect");
    s.write_all(b"status\n").expect("write");
    s.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let mut reply = String::new();
    s.read_to_string(&mut reply).expect("reply");
    assert!(reply.contains("bad-request"), "{reply}");
    // Endless input: cut off at the limit, answered, not read forever.
    let mut s = std::os::unix::net::UnixStream::connect(helper.socket()).expect("connect");
    s.set_write_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let chunk = vec![b' '; 1 << 20];
    let mut sent = 0usize;
    while sent < 64 << 20 {
        match s.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    assert!(
        sent < 64 << 20,
        "the helper read {sent} bytes of one request"
    );
    let status = c.status().expect("status after the flood");
    assert_eq!(status.file.digest, Digest::of(OLD.as_bytes()));
    assert_eq!(status.file.serial_no, Some(1));
    // A control verb with a name that would change lvsd's line.
    assert!(matches!(
        c.control(admin::proto::ControlAction::Down, "web", "a b", "t"),
        Err(ClientError::Refused(Error::BadRequest { .. }))
    ));
    // A user name that would forge a log line.
    assert!(matches!(
        c.control(
            admin::proto::ControlAction::Down,
            "web",
            "web1",
            "eve\nlvs-admin: x"
        ),
        Err(ClientError::Refused(Error::BadRequest { .. }))
    ));
    // No lvsd: said so.
    match c.control(admin::proto::ControlAction::Down, "web", "web1", "t") {
        Err(ClientError::Refused(Error::Daemon { message })) => {
            assert_eq!(message, "lvsd is not running")
        }
        other => panic!("{other:?}"),
    }
    // A check failure writes nothing.
    match c.apply(Digest::of(OLD.as_bytes()), b"virtual {\n", "bad", "t") {
        Err(ClientError::Refused(Error::CheckFailed { report })) => assert!(!report.ok),
        other => panic!("{other:?}"),
    }
    assert_eq!(fs::read_to_string(helper.config()).expect("read"), OLD);
}

/// Root on the host (tests/netns/run.sh): SO_PEERCRED keeps out a caller
/// outside the group even when the socket's mode would let it connect,
/// and lets in one that has the group as a supplementary group.
#[cfg(feature = "netns-tests")]
#[test]
fn a_caller_outside_the_group_is_refused_by_its_credentials() {
    assert!(nix::unistd::getuid().is_root(), "needs root (setpriv)");
    // Group = ours (root's): nobody (65534) is not in it.
    let helper = start(&[]);
    // Loosen what the helper set up, as a careless admin might: the
    // credentials check must still hold.
    fs::set_permissions(helper.dir(), fs::Permissions::from_mode(0o755)).expect("chmod dir");
    fs::set_permissions(helper.socket(), fs::Permissions::from_mode(0o666)).expect("chmod sock");
    let gid = nix::unistd::getgid().as_raw().to_string();
    let as_nobody = |groups: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534"])
            .args(groups)
            .arg(bin())
            .arg("--socket")
            .arg(helper.socket())
            .arg("status")
            .output()
            .expect("setpriv")
    };
    let out = as_nobody(&["--clear-groups"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    // Closed without an answer (reset, broken pipe or end of stream,
    // depending on timing), never a reply.
    assert!(
        err.starts_with("lvs-admin: connection to the helper: "),
        "{err}"
    );
    wait_with(
        "the helper to log the refusal",
        Duration::from_secs(5),
        || helper.log().contains("refused pid"),
        || helper.log(),
    );
    assert!(
        helper
            .log()
            .contains("uid 65534 gid 65534: not root and not in the group"),
        "{}",
        helper.log()
    );
    // The group as a supplementary group: let in.
    let out = as_nobody(&[&format!("--groups={gid}")]);
    assert!(out.status.success(), "{out:?}\n{}", helper.log());
    assert!(String::from_utf8_lossy(&out.stdout).contains("lvsd not running"));
}
