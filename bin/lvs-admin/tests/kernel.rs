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
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use admin::client::{Client, ClientError};
use admin::proto::{ControlAction, Daemon, DaemonState, Error, IpvsPreview, ReloadOutcome};
use testrig::{Network, kernel_table, wait_for};

fn exe(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_lvs-admin")).with_file_name(name);
    assert!(
        p.exists(),
        "{} missing: build the workspace binaries first (cargo build --bins)",
        p.display()
    );
    p
}

/// lvs.cf with server c's weight and address; `serial_no` is the weight,
/// so an edit is newer and the helper writes it as sent.
fn config_text(weight_c: u32, address_c: &str) -> String {
    let nanny = exe("nanny");
    format!(
        "serial_no = {weight_c}
network = nat
virtual web {{
    active = 1
    address = 203.0.113.10 eth0:1
    port = 80
    timeout = 1
    reentry = 2
    client_monitor = {nanny}
    server a {{
        address = 192.0.2.11
        active = 1
        weight = 1
    }}
    server b {{
        address = 192.0.2.12
        active = 1
        weight = 2
    }}
}}
virtual alt {{
    active = 1
    address = 203.0.113.11 eth0:2
    port = 80
    scheduler = wrr
    timeout = 1
    reentry = 2
    client_monitor = {nanny}
    server c {{
        address = {address_c}
        active = 1
        weight = {weight_c}
    }}
}}
",
        nanny = nanny.display()
    )
}

/// lvsd and the helper, each in its own mount namespace with its own
/// /etc/hosts; killed (by pid) on drop, the network and table with `net`.
struct Rig {
    net: Network,
    dir: PathBuf,
    lvsd: Option<Child>,
    helper: Option<Child>,
}

/// `argv` run in a new mount namespace whose /etc/hosts is `hosts`; the
/// child is `argv[0]` itself (sh execs it), so its pid is the daemon's.
fn in_mount_ns(hosts: &Path, argv: &[&std::ffi::OsStr], log: &Path, env: &[(&str, &str)]) -> Child {
    let out = fs::File::create(log).expect("log");
    Command::new("unshare")
        .envs(env.iter().copied())
        .arg("-m")
        .args(["sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\""])
        .arg(hosts)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log"))
        .stderr(out)
        .spawn()
        .expect("unshare")
}

impl Rig {
    fn new(name: &str) -> Rig {
        let net = Network::new("admin-rs");
        let dir = std::env::temp_dir().join(format!("lvs-admin-kernel-{name}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("ha")).expect("dir");
        let plain = "127.0.0.1 localhost\n";
        fs::write(dir.join("hosts-lvsd"), plain).expect("hosts");
        fs::write(
            dir.join("hosts-helper"),
            format!("{plain}192.0.2.13 rs-c.example\n"),
        )
        .expect("hosts");
        fs::write(dir.join("ha/lvs.cf"), config_text(1, "192.0.2.13")).expect("lvs.cf");
        Rig {
            net,
            dir,
            lvsd: None,
            helper: None,
        }
    }

    fn config(&self) -> PathBuf {
        self.dir.join("ha/lvs.cf")
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("admin.sock")
    }

    fn start(&mut self) {
        self.start_with(&[]);
    }

    /// With `env` for the helper.
    fn start_with(&mut self, env: &[(&str, &str)]) {
        let d = &self.dir;
        let lvsd_exe = exe("lvsd");
        let config = self.config();
        let lvsd_sock = d.join("lvsd.sock");
        let lvsd = in_mount_ns(
            &d.join("hosts-lvsd"),
            &[
                lvsd_exe.as_os_str(),
                "-n".as_ref(),
                "-c".as_ref(),
                config.as_os_str(),
                "--socket".as_ref(),
                lvsd_sock.as_os_str(),
            ],
            &d.join("lvsd.log"),
            &[],
        );
        // lvsd -n writes no pid file; the helper finds it by this one.
        fs::write(d.join("lvs.pid"), format!("{}\n", lvsd.id())).expect("pid file");
        self.lvsd = Some(lvsd);
        wait_for("lvsd's status socket", Duration::from_secs(10), || {
            lvsd_sock.exists()
        });
        let admin = exe("lvs-admin");
        let socket = self.socket();
        let args: Vec<PathBuf> = vec![
            admin,
            "--socket".into(),
            socket.clone(),
            "serve".into(),
            "-c".into(),
            config,
            "--group".into(),
            "root".into(),
            "--state-dir".into(),
            d.join("state"),
            "--lvsd-socket".into(),
            lvsd_sock,
            "--lvsd-pidfile".into(),
            d.join("lvs.pid"),
            "--pulse-pidfile".into(),
            d.join("pulse.pid"),
        ];
        let argv: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        self.helper = Some(in_mount_ns(
            &d.join("hosts-helper"),
            &argv,
            &d.join("helper.log"),
            env,
        ));
        wait_for("the helper's socket", Duration::from_secs(10), || {
            socket.exists()
        });
    }

    fn client(&self) -> Client {
        Client::new(self.socket())
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
        let read = |n: &str| fs::read_to_string(self.dir.join(n)).unwrap_or_default();
        format!(
            "--- lvsd ---\n{}\n--- helper ---\n{}",
            read("lvsd.log"),
            read("helper.log")
        )
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        for child in [self.helper.take(), self.lvsd.take()].into_iter().flatten() {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn an_applied_weight_makes_exactly_the_previewed_writes() {
    let mut rig = Rig::new("weight");
    let _servers = rig.net.listen_all();
    rig.start();
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
    let mut rig = Rig::new("refused");
    let _servers = rig.net.listen_all();
    rig.start();
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
    let mut rig = Rig::new("kill8");
    let _servers = rig.net.listen_all();
    rig.start_with(&[("LVS_ADMIN_STOP_AFTER", "8")]);
    rig.converge();
    let c = rig.client();
    let (_, digest) = c.read().expect("read");
    let new = config_text(3, "192.0.2.13");
    let client = c.clone();
    let text = new.clone();
    let apply = std::thread::spawn(move || client.apply(digest, text.as_bytes(), "k", "t"));
    let pid = rig.helper.as_ref().expect("helper").id();
    wait_for(
        "the helper to stop after step 8",
        Duration::from_secs(60),
        || {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(") ").map(|(_, r)| r.starts_with('T')))
                .unwrap_or(false)
        },
    );
    let mut helper = rig.helper.take().expect("helper");
    let _ = helper.kill();
    let _ = helper.wait();
    assert!(apply.join().expect("thread").is_err());
    assert_eq!(fs::read_to_string(rig.config()).expect("read"), new);
    // lvsd runs the new file.
    rig.converge();
}
