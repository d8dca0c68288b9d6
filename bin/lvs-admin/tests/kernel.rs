//! The helper on a running lvsd and the real IPVS table, in the qemu guest
//! (`tests/vm/ci.sh`; feature `kernel-tests`): an applied weight makes
//! exactly the writes the diff previewed, and a file lvsd refuses is
//! reverted with the table unchanged.
//!
//! A file the helper's check passes but the running lvsd refuses: lvsd and
//! the helper resolve host names in different places. Here each runs in a
//! mount namespace of its own with its own /etc/hosts (as when lvsd runs
//! in a container or a unit with another root): the helper knows
//! `rs-c.example`, lvsd does not. On one host with one resolver the two
//! read the same file with the same code and agree, except for a name
//! whose lookup takes longer than lvsd's 15 s read deadline.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use admin::client::{Client, ClientError};
use admin::proto::{ControlAction, Daemon, DaemonState, Error, IpvsPreview, ReloadOutcome};
use testrig::admin::{Helper, Lvsd};
use testrig::process::{bin_beside, wait_with};
use testrig::{Network, kernel_table, wait_for};

fn exe(name: &str) -> PathBuf {
    bin_beside(env!("CARGO_BIN_EXE_lvs-admin"), name)
}

/// lvs.cf with server c's weight and address; `serial_no` is the weight,
/// so an edit is newer and the helper writes it as sent.
fn config_text(weight_c: u32, address_c: &str) -> String {
    testrig::two_virtuals_cf(&exe("nanny"), weight_c, address_c, weight_c, "")
}

/// lvsd and the helper, each in its own mount namespace with its own
/// /etc/hosts; killed (by pid) on drop, the helper first, then lvsd (which
/// removes its services), then the network and table with `_net`.
struct Rig {
    helper: Helper,
    lvsd: Lvsd,
    _net: Network,
}

/// The wrapper that runs a program in a new mount namespace whose
/// /etc/hosts is `hosts`; it execs the program (unshare and sh both), so
/// the child's pid is the daemon's.
fn in_mount_ns(hosts: &Path) -> Vec<OsString> {
    let mut argv: Vec<OsString> = ["unshare", "-m", "sh", "-c"]
        .iter()
        .map(OsString::from)
        .collect();
    argv.push("mount --bind \"$0\" /etc/hosts && exec \"$@\"".into());
    argv.push(hosts.into());
    argv
}

impl Rig {
    /// lvsd and the helper on lvs.cf = `config_text(1, "192.0.2.13")` over
    /// `net`, with `env` for the helper.
    fn start(net: Network, env: &[(&str, &str)]) -> Rig {
        let setup = Helper::builder(exe("lvs-admin"))
            .config(&config_text(1, "192.0.2.13"))
            .group("root");
        let d = setup.dir().to_owned();
        let plain = "127.0.0.1 localhost\n";
        fs::write(d.join("hosts-lvsd"), plain).expect("hosts");
        fs::write(
            d.join("hosts-helper"),
            format!("{plain}192.0.2.13 rs-c.example\n"),
        )
        .expect("hosts");
        let lvsd = Lvsd::start(&exe("lvsd"), &d, &in_mount_ns(&d.join("hosts-lvsd")));
        let helper = env
            .iter()
            .fold(setup, |b, (k, v)| b.env(k, v))
            .through(&in_mount_ns(&d.join("hosts-helper")))
            .start();
        Rig {
            helper,
            lvsd,
            _net: net,
        }
    }

    fn config(&self) -> PathBuf {
        self.helper.config()
    }

    fn client(&self) -> Client {
        Client::new(self.helper.socket())
    }

    fn dry_run(&self) -> BTreeSet<String> {
        let out = Command::new(exe("lvsd"))
            .arg("--dry-run")
            .arg("-c")
            .arg(self.config())
            .output()
            .expect("dry run");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn converge(&self) {
        let want = self.dry_run();
        wait_for("the table to converge", Duration::from_secs(30), || {
            kernel_table() == want
        });
    }

    fn lvsd_status(&self) -> director::status::Status {
        match self.client().status().expect("status").lvsd {
            DaemonState::Running { status } => status,
            other => panic!("lvsd: {other:?}"),
        }
    }

    fn logs(&self) -> String {
        format!(
            "--- lvsd ---\n{}\n--- helper ---\n{}",
            self.lvsd.log(),
            self.helper.log()
        )
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
    }
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn an_applied_weight_makes_exactly_the_previewed_writes() {
    let net = Network::new("admin-rs");
    let _servers = net.listen_all();
    let rig = Rig::start(net, &[]);
    rig.converge();
    let before = rig.lvsd_status();
    let c = rig.client();
    let (_, digest) = c.read().expect("read");
    let new = config_text(3, "192.0.2.13");
    let diff = c.diff(new.as_bytes()).expect("diff");
    assert!(
        diff.text_diff
            .contains("-        weight = 1\n+        weight = 3\n"),
        "{}",
        diff.text_diff
    );
    let IpvsPreview::Writes { lines } = diff.ipvs else {
        panic!("no preview: {:?}", diff.ipvs)
    };
    assert_eq!(lines, ["-e -t 203.0.113.11:80 -r 192.0.2.13:80 -m -w 3"]);
    let table = kernel_table();
    let applied = c
        .apply(digest, new.as_bytes(), "raise c", "tester")
        .expect("apply");
    // lvsd loaded it; a checked server's new weight is written at its
    // restarted monitor's first verdict, not at the reload itself.
    assert!(
        matches!(
            applied.reload,
            ReloadOutcome::Reloaded {
                signalled: Daemon::Lvsd,
                ..
            }
        ),
        "{:?}\n{}",
        applied.reload,
        rig.logs()
    );
    rig.converge();
    let after = rig.lvsd_status();
    assert_eq!(after.reloads, before.reloads + 1);
    // Exactly the previewed writes, and the table moved by exactly them.
    assert_eq!(
        after.total_writes - before.total_writes,
        lines.len() as u64,
        "{}",
        rig.logs()
    );
    let now = kernel_table();
    let gone: Vec<_> = table.difference(&now).collect();
    let came: Vec<_> = now.difference(&table).collect();
    assert_eq!(gone, ["-a -t 203.0.113.11:80 -r 192.0.2.13:80 -m -w 1"]);
    assert_eq!(came, ["-a -t 203.0.113.11:80 -r 192.0.2.13:80 -m -w 3"]);

    // Runtime control through the helper, as lvsd --control.
    c.control(ControlAction::Down, "web", "a", "tester")
        .expect("down");
    wait_for("a to leave", Duration::from_secs(10), || {
        !testrig::has_server("192.0.2.11")
    });
    c.control(ControlAction::Normal, "web", "a", "tester")
        .expect("normal");
    wait_for("a to return", Duration::from_secs(20), || {
        testrig::has_server("192.0.2.11")
    });
    match c.control(ControlAction::Down, "web", "nosuch", "tester") {
        Err(ClientError::Refused(Error::Daemon { message })) => {
            assert!(message.contains("nosuch"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn a_file_lvsd_refuses_is_reverted_with_the_table_unchanged() {
    let net = Network::new("admin-rs");
    let _servers = net.listen_all();
    let rig = Rig::start(net, &[]);
    rig.converge();
    let table = kernel_table();
    let before = rig.lvsd_status();
    let old = fs::read(rig.config()).expect("read");
    let c = rig.client();
    let (_, digest) = c.read().expect("read");
    // The helper resolves rs-c.example; lvsd, in its own namespace, cannot.
    let new = config_text(3, "rs-c.example");
    let check = c.check(new.as_bytes()).expect("check");
    assert!(check.ok, "{}", check.rendered);
    match c.apply(digest, new.as_bytes(), "c by name", "tester") {
        Err(ClientError::Refused(Error::ReloadRefused {
            diagnostics,
            reverted_to,
            current_digest,
            message,
        })) => {
            assert!(
                diagnostics.iter().any(|d| d.contains("rs-c.example")),
                "{diagnostics:?}"
            );
            assert!(reverted_to.is_some(), "{message}");
            assert_eq!(current_digest, admin::proto::Digest::of(&old));
            assert!(message.contains("reloaded revision 1 again"), "{message}");
        }
        other => panic!("{other:?}\n{}", rig.logs()),
    }
    assert_eq!(fs::read(rig.config()).expect("read"), old);
    assert_eq!(kernel_table(), table);
    let after = rig.lvsd_status();
    // The refused reload and the reload of the file put back.
    assert_eq!(after.reloads, before.reloads + 2);
    assert!(!after.last_reload_failed);
    assert_eq!(after.total_writes, before.total_writes);
    let history = c.history().expect("history");
    let reasons: Vec<&str> = history.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons[0].starts_with("reverted: lvsd refused revision 2"),
        "{reasons:?}"
    );
    assert_eq!(history[0].restored_from, Some(1));
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn a_kill_after_lvsds_reload_result_leaves_the_new_file() {
    // Step 8 (the reload seen) needs a running lvsd; steps 1-7 are the
    // host test's (tests/serve.rs).
    let net = Network::new("admin-rs");
    let _servers = net.listen_all();
    let mut rig = Rig::start(net, &[("LVS_ADMIN_STOP_AFTER", "8")]);
    rig.converge();
    let c = rig.client();
    let (_, digest) = c.read().expect("read");
    let new = config_text(3, "192.0.2.13");
    let client = c.clone();
    let text = new.clone();
    let apply = std::thread::spawn(move || client.apply(digest, text.as_bytes(), "k", "t"));
    wait_with(
        "the helper to stop after step 8",
        Duration::from_secs(60),
        || rig.helper.is_stopped(),
        || rig.logs(),
    );
    rig.helper.kill();
    assert!(apply.join().expect("thread").is_err());
    assert_eq!(fs::read_to_string(rig.config()).expect("read"), new);
    // lvsd runs the new file.
    rig.converge();
}
