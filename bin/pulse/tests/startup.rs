//! pulse's start-up errors and exit codes (piranha.md §3.1), run without
//! root: each case ends before pulse binds its heartbeat socket, detaches or
//! touches an address. Addresses are documentation ones that this host does
//! not hold, so pulse always finds itself the backup.

use std::path::PathBuf;
use std::process::{Command, Output};

const PULSE: &str = env!("CARGO_BIN_EXE_pulse");

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("pulse-startup-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        Dir(d)
    }
    fn cf(&self, text: &str) -> PathBuf {
        let p = self.0.join("lvs.cf");
        std::fs::write(&p, text).expect("write lvs.cf");
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pulse(dir: &Dir, cf: &PathBuf, extra: &[&str]) -> Output {
    Command::new(PULSE)
        .arg("-n")
        .arg("-c")
        .arg(cf)
        .arg("--pidfile")
        .arg(dir.0.join("pulse.pid"))
        .arg("--socket")
        .arg(dir.0.join("pulse.sock"))
        .args(extra)
        .output()
        .expect("run pulse")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const GLOBAL: &str = "primary = 203.0.113.2\nbackup = 203.0.113.3\nservice = lvs\n";
const VIRTUAL: &str = "virtual web {\n active = 1\n address = 203.0.113.10 eth0:1\n \
                       server one {\n address = 198.51.100.11\n active = 1\n }\n}\n";

#[test]
fn no_active_virtual_is_exit_1_with_the_originals_message() {
    let d = Dir::new("noactive");
    let cf = d.cf(&format!(
        "{GLOBAL}backup_active = 1\nvirtual web {{\n active = 0\n address = 203.0.113.10 eth0:1\n}}\n"
    ));
    let out = pulse(&d, &cf, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let want = format!(
        "pulse: no active lvs services defined in {}\n",
        cf.display()
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), want);
}

#[test]
fn backup_marked_inactive_exits_255() {
    let d = Dir::new("inactive");
    let cf = d.cf(&format!("{GLOBAL}backup_active = 0\n{VIRTUAL}"));
    let out = pulse(&d, &cf, &[]);
    assert_eq!(out.status.code(), Some(255), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("pulse: STARTING PULSE AS BACKUP\n")
            && stdout.contains(
                "pulse: We are backup node and backup is marked inactive -- exiting pulse\n"
            ),
        "{}",
        text(&out)
    );
    assert!(
        !d.0.join("pulse.pid").exists(),
        "no pid file for a pulse that exits"
    );
}

#[test]
fn service_fos_is_refused() {
    let d = Dir::new("fos");
    let cf = d.cf(
        "primary = 203.0.113.2\nbackup = 203.0.113.3\nbackup_active = 1\nservice = fos\n\
         failover web {\n active = 1\n address = 203.0.113.10 eth0:1\n port = 80\n}\n",
    );
    let out = pulse(&d, &cf, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("service = fos is not supported"),
        "{}",
        text(&out)
    );
}

#[test]
fn failover_blocks_are_refused_in_lvs_mode_too() {
    let d = Dir::new("fosblock");
    let cf = d.cf(&format!(
        "{GLOBAL}backup_active = 1\n{VIRTUAL}\
         failover old {{\n active = 1\n address = 203.0.113.20 eth0:2\n port = 80\n}}\n"
    ));
    let out = pulse(&d, &cf, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("failover blocks are not supported"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_file_with_errors_is_exit_1_naming_the_line() {
    let d = Dir::new("syntax");
    let cf = d.cf(&format!(
        "{GLOBAL}backup_active = 1\nkeepalive = soon\n{VIRTUAL}"
    ));
    let out = pulse(&d, &cf, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(":5:"), "error not located at line 5: {err}");
}

#[test]
fn a_missing_file_is_exit_1() {
    let d = Dir::new("missing");
    let cf = d.0.join("nope.cf");
    let out = pulse(&d, &cf, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nope.cf"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_address_this_host_lacks_cannot_be_bound() {
    // We are the backup (203.0.113.3 is not on this host), so pulse binds
    // 203.0.113.3:539, which cannot work here, root or not.
    let d = Dir::new("bind");
    let cf = d.cf(&format!("{GLOBAL}backup_active = 1\n{VIRTUAL}"));
    let out = pulse(&d, &cf, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "pulse: cannot create heartbeat socket. running as root?\n"
    );
}

#[test]
fn bad_options_are_popts_errors() {
    for (args, want) in [
        (
            &["--bogus"][..],
            "pulse: bad argument --bogus: unknown option\n",
        ),
        (&["-c"][..], "pulse: bad argument -c: missing argument\n"),
        (&["stray"][..], "pulse: unexpected arguments\n"),
    ] {
        let out = Command::new(PULSE).args(args).output().expect("run pulse");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), want, "{args:?}");
    }
}

#[test]
fn version_and_help_exit_0() {
    let out = Command::new(PULSE).arg("--version").output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("pulse "));
    let out = Command::new(PULSE).arg("--help").output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--forceactive"));
}

#[test]
fn status_without_a_running_pulse_is_an_error() {
    let d = Dir::new("status");
    let out = Command::new(PULSE)
        .arg("--status")
        .arg("--socket")
        .arg(d.0.join("none.sock"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("none.sock"));
}

#[test]
fn an_undefined_backup_marked_active_is_cleared() {
    // backup_active = 1 without a backup address: cleared, as the original;
    // this host then is a backup without a backup: 255.
    let d = Dir::new("undefined");
    let cf = d.cf(&format!(
        "primary = 203.0.113.2\nservice = lvs\nbackup_active = 1\nbackup = 0.0.0.0\n{VIRTUAL}"
    ));
    let out = pulse(&d, &cf, &[]);
    assert_eq!(out.status.code(), Some(255), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("pulse: Undefined backup node marked as active? -- clearing that!\n"),
        "{}",
        text(&out)
    );
}
