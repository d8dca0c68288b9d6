//! `lvsd --check` and `lvsd --dry-run` as an admin runs them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lvsd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lvsd"))
        .args(args)
        .output()
        .expect("run lvsd")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A scratch file for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str, text: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("lvsd-cli-{}-{name}", std::process::id()));
        fs::create_dir_all(&dir).expect("scratch dir");
        let path = dir.join("lvs.cf");
        fs::write(&path, text).expect("scratch file");
        Scratch(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const TWO_VIRTUALS: &str = "\
serial_no = 1
network = direct
virtual web {
     active = 1
     address = 203.0.113.10 eth0:1
     port = 80
     scheduler = wrr
     server a {
         address = 192.0.2.11
         active = 1
         weight = 3
     }
     server b {
         address = 192.0.2.12
         active = 0
     }
}
virtual dns {
     active = 1
     address = 203.0.113.11 eth0:2
     protocol = udp
     port = 53
     server ns1 {
         address = 192.0.2.21
         active = 1
     }
}
virtual spare {
     address = 203.0.113.12 eth0:3
}
";

#[test]
fn check_summarises_a_good_file() {
    let f = Scratch::new("good", TWO_VIRTUALS);
    let out = lvsd(&["--check", "-c", f.path()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "ok: 3 virtual servers (2 active), 3 real servers\n"
    );
}

#[test]
fn check_reports_every_error_with_its_place_and_exits_1() {
    let f = Scratch::new(
        "bad",
        "virtual web {\n    active = 1\n    schedular = wlc\n    address = 203.0.113.10 eth0:1\n    timeout = 0\n}\n",
    );
    let out = lvsd(&["--check", "-c", f.path()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{}:3:5: error:", f.path())), "{err}");
    assert!(err.contains("did you mean \"scheduler\"?"), "{err}");
    assert!(err.contains(&format!("{}:5:", f.path())), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn dry_run_prints_the_table_in_ipvsadm_save_format() {
    let f = Scratch::new("dry", TWO_VIRTUALS);
    let out = lvsd(&["--dry-run", "-c", f.path()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "-A -t 203.0.113.10:80 -s wrr\n\
         -a -t 203.0.113.10:80 -r 192.0.2.11:80 -g -w 3\n\
         -A -u 203.0.113.11:53 -s wlc\n\
         -a -u 203.0.113.11:53 -r 192.0.2.21:53 -g -w 1\n"
    );
}

#[test]
fn dry_run_refuses_a_bad_file() {
    let f = Scratch::new("drybad", "virtual web {\n    active = 1\n");
    let out = lvsd(&["--dry-run", "-c", f.path()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("error"));
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = lvsd(&["--check", "-c", "/nonexistent/lvs.cf"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("failed to open /nonexistent/lvs.cf"), "{err}");
}

#[test]
fn bad_arguments_exit_1_like_the_original() {
    let out = lvsd(&["--no-such-option"]);
    assert_eq!(out.status.code(), Some(1));
    let out = lvsd(&["--version"]);
    assert!(out.status.success());
}

#[test]
fn the_sample_config_checks_clean() {
    let sample = repo().join("etc/lvs.cf");
    let out = lvsd(&["--check", "-c", sample.to_str().expect("path")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("ok: "));
    assert!(
        !text(&out.stderr).contains("error"),
        "{}",
        text(&out.stderr)
    );
}
