//! `lvsd --set/--unset/--add/--remove/--rename -c FILE` as an admin runs
//! it: in-place edits that keep every other byte, the atomic replacement
//! (mode and owner kept, a failed write leaves the old file), refusals.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

fn lvsd(args: &[&str]) -> Output {
    Command::new(LVSD).args(args).output().expect("run lvsd")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A scratch directory holding one lvs.cf, removed when dropped.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str, content: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("lvsd-edit-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch dir");
        fs::write(dir.join("lvs.cf"), content).expect("scratch file");
        Scratch { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.join("lvs.cf")
    }

    fn arg(&self) -> String {
        self.path().to_str().expect("utf-8 temp path").to_owned()
    }

    fn read(&self) -> String {
        fs::read_to_string(self.path()).expect("read back")
    }

    /// Every entry of the directory (to see that no temporary file stayed).
    fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.dir)
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

const WEB: &str = "\
# Router pair of the web farm.
serial_no = 7
network = direct   # gatewaying

virtual web {
     active = 1
     address = 203.0.113.10 eth0:1
     port = 80
     # web1 takes most of the load.
     server web1 {
         address = 192.0.2.11
         active = 1
         weight = 10
     }
     server web2 {
         address = 192.0.2.12
         active = 1
     }
}
";

fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[test]
fn set_changes_only_the_value_bytes() {
    let s = Scratch::new("set", WEB);
    let out = lvsd(&["-c", &s.arg(), "--set", "virtual.web.server.web1.weight=3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    assert_eq!(s.read(), WEB.replace("weight = 10", "weight = 3"));
    assert_eq!(s.entries(), ["lvs.cf"]);
}

#[test]
fn warnings_the_edit_brings_in_are_shown() {
    let s = Scratch::new("warn", WEB);
    let out = lvsd(&["-c", &s.arg(), "--set", "virtual.web.server.web1.weight=0"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "{}:13:19: warning: weight = 0 behaves as weight 1 (as in piranha)\n",
            s.arg()
        )),
        "{err}"
    );
    assert_eq!(s.read(), WEB.replace("weight = 10", "weight = 0"));
    // Not again for a warning the file had before.
    let out = lvsd(&["-c", &s.arg(), "--set", "serial_no=8"]);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn one_command_line_is_one_transaction() {
    let s = Scratch::new("transaction", WEB);
    let out = lvsd(&[
        "-c",
        &s.arg(),
        "--rename",
        "virtual.web=www",
        "--add",
        "virtual.web.server.web3",
        "--set",
        "virtual.www.server.web3.address=192.0.2.13",
        "--unset",
        "network",
        "--remove",
        "virtual.www.server.web2",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        s.read(),
        "\
# Router pair of the web farm.
serial_no = 7

virtual www {
     active = 1
     address = 203.0.113.10 eth0:1
     port = 80
     # web1 takes most of the load.
     server web1 {
         address = 192.0.2.11
         active = 1
         weight = 10
     }
     server web3 {
         address = 192.0.2.13
     }
}
"
    );
}

#[test]
fn refused_edit_prints_diagnostics_and_leaves_the_file() {
    let s = Scratch::new("refused", WEB);
    let before = fs::metadata(s.path()).expect("meta");
    for args in [
        vec!["--set", "virtual.web.port=0"],
        // A server without an address does not load.
        vec!["--add", "virtual.web.server.web3"],
    ] {
        let file = s.arg();
        let mut all = vec!["-c", file.as_str()];
        all.extend(args);
        let out = lvsd(&all);
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("{}:", s.arg())) && err.contains(": error: "),
            "{err}"
        );
        assert!(
            err.ends_with(&format!("lvsd: edit refused, {} unchanged\n", s.arg())),
            "{err}"
        );
        assert_eq!(s.read(), WEB);
    }
    let out = lvsd(&["-c", &s.arg(), "--set", "virtual.web.port=0"]);
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "{}:8:13: error: port must be between 1 and 65535, found 0\n",
            s.arg()
        )),
        "{err}"
    );
    let after = fs::metadata(s.path()).expect("meta");
    assert_eq!(after.ino(), before.ino());
    assert_eq!(s.entries(), ["lvs.cf"]);
}

#[test]
fn address_errors_suggest_the_name() {
    let s = Scratch::new("typo", WEB);
    let out = lvsd(&["-c", &s.arg(), "--set", "virtual.wbe.port=443"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "lvsd: no virtual named \"wbe\" (did you mean \"web\"?)\n"
    );
    let out = lvsd(&["-c", &s.arg(), "--set", "virtual.web.server.web1.wieght=2"]);
    assert_eq!(
        text(&out.stderr),
        "lvsd: unknown key \"wieght\" in a server (did you mean \"weight\"?)\n"
    );
    let missing = s.dir.join("missing.cf");
    let out = lvsd(&[
        "-c",
        missing.to_str().expect("utf-8"),
        "--set",
        "serial_no=1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with(&format!("lvsd: failed to open {}", missing.display())),
        "{}",
        text(&out.stderr)
    );
    let out = lvsd(&["-c", &s.arg(), "--set", "keepalive"]);
    assert_eq!(
        text(&out.stderr),
        "lvsd: bad address \"keepalive\": expected ADDRESS=VALUE\n"
    );
    assert_eq!(s.read(), WEB);
}

#[test]
fn print_and_preview_write_nothing() {
    let s = Scratch::new("print", WEB);
    let out = lvsd(&["-c", &s.arg(), "--print", "--set", "virtual.web.port=8080"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), WEB.replace("port = 80", "port = 8080"));
    let out = lvsd(&[
        "-c",
        &s.arg(),
        "--preview",
        "--set",
        "virtual.web.port=8080",
    ]);
    assert!(out.status.success());
    let a = s.arg();
    assert_eq!(
        text(&out.stdout),
        format!(
            "--- a/{a}\n+++ b/{a}\n@@ -5,7 +5,7 @@\n virtual web {{\n      active = 1\n      address = 203.0.113.10 eth0:1\n-     port = 80\n+     port = 8080\n      # web1 takes most of the load.\n      server web1 {{\n          address = 192.0.2.11\n"
        )
    );
    assert_eq!(s.read(), WEB);
    // --print and --preview need an edit.
    let out = lvsd(&["-c", &s.arg(), "--print"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn in_place_keeps_mode_and_owner() {
    let s = Scratch::new("owner", WEB);
    fs::set_permissions(s.path(), fs::Permissions::from_mode(0o640)).expect("chmod");
    // As root, an owner that is not ours shows that it is copied.
    let (uid, gid) = if is_root() {
        (1234, 5678)
    } else {
        let m = fs::metadata(s.path()).expect("meta");
        (m.uid(), m.gid())
    };
    if is_root() {
        std::os::unix::fs::chown(s.path(), Some(uid), Some(gid)).expect("chown");
    }
    let old_ino = fs::metadata(s.path()).expect("meta").ino();
    let out = lvsd(&["-c", &s.arg(), "--set", "virtual.web.active=0"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let m = fs::metadata(s.path()).expect("meta");
    assert_eq!(m.mode() & 0o7777, 0o640);
    assert_eq!((m.uid(), m.gid()), (uid, gid));
    assert_ne!(
        m.ino(),
        old_ino,
        "replaced by rename, not rewritten in place"
    );
    assert!(s.read().contains("     active = 0\n"));
    assert_eq!(s.entries(), ["lvs.cf"]);
}

#[test]
fn a_failed_write_leaves_the_old_file() {
    let s = Scratch::new("efbig", WEB);
    // A file size limit below the edited file's size makes the write of the
    // temporary file fail (EFBIG; SIGXFSZ ignored so lvsd sees the error).
    let long = "x".repeat(4000);
    let set = format!("debug_level={long}");
    let out = Command::new("sh")
        .args([
            "-c",
            "trap '' XFSZ; ulimit -f 2 || exit 99; exec \"$0\" \"$@\"",
            LVSD,
            "-c",
            &s.arg(),
            "--set",
            &set,
        ])
        .output()
        .expect("run sh");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!("lvsd: cannot write {}; it is unchanged", s.arg())),
        "{err}"
    );
    assert_eq!(s.read(), WEB);
    assert_eq!(s.entries(), ["lvs.cf"], "the temporary file was removed");
}

#[test]
fn a_symlinked_file_stays_a_symlink() {
    let s = Scratch::new("link", WEB);
    let link: &Path = &s.dir.join("current.cf");
    std::os::unix::fs::symlink("lvs.cf", link).expect("symlink");
    let out = lvsd(&["-c", link.to_str().expect("utf-8"), "--set", "serial_no=8"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        fs::symlink_metadata(link)
            .expect("meta")
            .file_type()
            .is_symlink()
    );
    assert_eq!(s.read(), WEB.replace("serial_no = 7", "serial_no = 8"));
}

#[test]
fn not_utf8_is_refused_untouched() {
    let s = Scratch::new("latin1", "");
    let bytes = b"# caf\xe9\nserial_no = 1\n";
    fs::write(s.path(), bytes).expect("write");
    let out = lvsd(&["-c", &s.arg(), "--set", "serial_no=2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is not valid UTF-8 (byte 5)"));
    assert_eq!(fs::read(s.path()).expect("read"), bytes);
}

#[test]
fn help_documents_the_edit_flags() {
    let out = lvsd(&["--help"]);
    let help = text(&out.stdout);
    for flag in [
        "--set <ADDRESS=VALUE>",
        "--unset <ADDRESS>",
        "--add <BLOCK>",
        "--remove <BLOCK>",
        "--rename <BLOCK=NAME>",
        "--print",
        "--preview",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }
    let out = lvsd(&["--check", "--set", "serial_no=1"]);
    assert_eq!(out.status.code(), Some(1), "edits are a mode of their own");
}
