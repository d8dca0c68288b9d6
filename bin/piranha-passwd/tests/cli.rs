//! piranha-passwd as an admin runs it, on files in a temporary directory
//! (`--file`, `--tokens-file`).

use std::io::{Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use access::passwd::{HashKind, PasswdFile, verify_hash};
use access::tokens::TokenFile;

const BIN: &str = env!("CARGO_BIN_EXE_piranha-passwd");

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = Command::new(BIN)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(s) = stdin {
        c.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    c.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn hash_of(file: &Path, user: &str) -> String {
    let f = PasswdFile::parse(&std::fs::read(file).unwrap());
    f.find(user).unwrap().hash.to_owned()
}

#[test]
fn a_password_on_the_command_line_creates_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("piranha.passwd");
    let f = file.to_str().unwrap();
    let out = run(&["--file", f, "s3cret pass"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("Warning: sensitive information entered on command line."),
        "{err}"
    );
    assert!(err.contains("Adding password for user piranha"), "{err}");
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let h = hash_of(&file, "piranha");
    assert_eq!(HashKind::of(&h), Some(HashKind::Sha512Crypt));
    assert_eq!(verify_hash("s3cret pass", &h), Ok(true));
    assert_eq!(verify_hash("s3cret Pass", &h), Ok(false));
    // Nothing else in the directory: the temporary file is gone.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn apache_htpasswd_verifies_what_it_writes() {
    // The original's Apache (APR) checks $6$ through crypt(3): a rollback
    // to piranha keeps the password working.
    if Command::new("htpasswd").arg("-h").output().is_err() {
        eprintln!("skipped: htpasswd (apache2-utils) is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("piranha.passwd");
    let f = file.to_str().unwrap();
    assert!(run(&["--file", f, "rollback"], None).status.success());
    let ok = Command::new("htpasswd")
        .args(["-vb", f, "piranha", "rollback"])
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let bad = Command::new("htpasswd")
        .args(["-vb", f, "piranha", "Rollback"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[test]
fn without_a_terminal_one_line_of_stdin_is_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("piranha.passwd");
    let f = file.to_str().unwrap();
    let out = run(
        &["--file", f, "--user", "alice"],
        Some("from stdin\r\nignored\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("Warning"), "no argv warning");
    assert_eq!(
        verify_hash("from stdin", &hash_of(&file, "alice")),
        Ok(true)
    );
    // No input at all is an error, and nothing is written.
    let file2 = dir.path().join("other");
    let out = run(&["--file", file2.to_str().unwrap()], Some(""));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no password on standard input"));
    assert!(!file2.exists());
}

#[test]
fn an_empty_password_is_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("piranha.passwd");
    let before = b"piranha:$apr1$sCK2n7sR$tOt4Scdb9nCHGBBYAHikh.\n";
    std::fs::write(&file, before).unwrap();
    let out = run(&["--file", file.to_str().unwrap()], Some("\n"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("an empty password is refused"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[test]
fn the_users_line_is_replaced_in_place_and_every_other_line_kept() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("piranha.passwd");
    let before = "# managed by hand\r\nalice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\r\npiranha:$apr1$sCK2n7sR$tOt4Scdb9nCHGBBYAHikh.\r\n\r\nbob:$2y$04$5uvDxJnV4ZJ/aXqlcrIMUeVG5qA4yiPO64WBt5qP5NVsWu4DdAuHW";
    std::fs::write(&file, before).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&["--file", file.to_str().unwrap(), "new one"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("Updating password for user piranha"));
    let after = String::from_utf8(std::fs::read(&file).unwrap()).unwrap();
    let h = hash_of(&file, "piranha");
    assert_eq!(
        after,
        before.replace("$apr1$sCK2n7sR$tOt4Scdb9nCHGBBYAHikh.", &h)
    );
    assert_eq!(verify_hash("new one", &h), Ok(true));
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn tokens_are_printed_once_and_stored_as_digests() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lvs-web.tokens");
    let f = file.to_str().unwrap();
    let out = run(&["--tokens-file", f, "--token", "ansible", "editor"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_owned();
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(
        !stored.contains(&token[7..]),
        "the token itself is not stored"
    );
    let tokens = TokenFile::parse(&stored, f).unwrap();
    let e = tokens.lookup(&token).unwrap();
    assert_eq!((e.name.as_str(), e.role), ("ansible", access::Role::Editor));
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A second token is appended; the same name again is refused.
    assert!(
        run(&["--tokens-file", f, "--token", "ci", "viewer"], None)
            .status
            .success()
    );
    let again = run(&["--tokens-file", f, "--token", "ansible", "admin"], None);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("a token named \"ansible\" exists already"));
    let tokens = TokenFile::parse(&std::fs::read_to_string(&file).unwrap(), f).unwrap();
    assert_eq!(tokens.entries().len(), 2);
    assert!(tokens.lookup(&token).is_some());
}

#[test]
fn bad_command_lines_exit_2_with_the_usage() {
    let out = run(&["--token", "x", "boss"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown role \"boss\""));
    assert!(text(&out.stderr).contains("usage: piranha-passwd"));
}

/// Reads the pty master until `want` has appeared in what was read (or
/// 30 s passed); everything read so far.
fn read_until(master: &mut std::fs::File, seen: &mut String, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 256];
    while !seen.contains(want) {
        assert!(Instant::now() < deadline, "no {want:?} in {seen:?}");
        match master.read(&mut buf) {
            Ok(0) => std::thread::sleep(Duration::from_millis(20)),
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("pty: {e} after {seen:?}"),
        }
    }
}

/// Runs the command on a terminal, typing each of `lines` after its
/// prompt; the exit status and everything the terminal showed.
fn on_terminal(file: &Path, lines: &[&str]) -> (std::process::ExitStatus, String) {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave = std::fs::File::from(pty.slave);
    let mut child = Command::new(BIN)
        .args(["--file", file.to_str().unwrap()])
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave)
        .spawn()
        .unwrap();
    let mut master = std::fs::File::from(pty.master);
    fcntl(&master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
    let mut seen = String::new();
    for (line, prompt) in lines.iter().zip(["New Password: ", "Verify: "]) {
        read_until(&mut master, &mut seen, prompt);
        master.write_all(format!("{line}\n").as_bytes()).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "piranha-passwd did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut buf = [0u8; 4096];
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    (status, seen)
}

#[test]
fn on_a_terminal_the_password_is_asked_twice_without_echo() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("piranha.passwd");
    let (status, screen) = on_terminal(&file, &["typed secret", "typed secret"]);
    assert!(status.success(), "{screen}");
    assert!(!screen.contains("typed secret"), "echoed: {screen:?}");
    assert!(
        screen.contains("Adding password for user piranha"),
        "{screen:?}"
    );
    assert_eq!(
        verify_hash("typed secret", &hash_of(&file, "piranha")),
        Ok(true)
    );
}

#[test]
fn on_a_terminal_two_different_passwords_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("piranha.passwd");
    let (status, screen) = on_terminal(&file, &["one", "two"]);
    assert_eq!(status.code(), Some(1), "{screen}");
    assert!(screen.contains("Passwords do not match."), "{screen:?}");
    assert!(!file.exists());
}

#[test]
#[cfg_attr(not(feature = "root-tests"), ignore)]
fn the_file_belongs_to_piranha_when_that_user_exists() {
    let exists = Command::new("id")
        .arg("piranha")
        .output()
        .unwrap()
        .status
        .success();
    assert!(
        !exists,
        "a user piranha exists on this host; this test creates and removes it"
    );
    let made = Command::new("useradd")
        .args(["-M", "-U", "-s", "/usr/sbin/nologin", "piranha"])
        .status()
        .unwrap();
    assert!(made.success());
    struct Remove;
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = Command::new("userdel").arg("piranha").status();
            let _ = Command::new("groupdel").arg("piranha").status();
        }
    }
    let _remove = Remove;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("piranha.passwd");
    let out = run(&["--file", file.to_str().unwrap(), "pw"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("owned by root"));
    let meta = std::fs::metadata(&file).unwrap();
    let user = nix::unistd::User::from_name("piranha").unwrap().unwrap();
    let group = nix::unistd::Group::from_name("piranha").unwrap().unwrap();
    assert_eq!(
        (meta.uid(), meta.gid()),
        (user.uid.as_raw(), group.gid.as_raw())
    );
}

#[test]
#[cfg_attr(not(feature = "root-tests"), ignore)]
fn the_tokens_file_is_readable_by_the_web_group_and_keeps_an_admins_mode() {
    // lvs-web (user and group lvs-web) reads the tokens file itself.
    let had_group = nix::unistd::Group::from_name("lvs-web").unwrap().is_some();
    struct Remove(bool);
    impl Drop for Remove {
        fn drop(&mut self) {
            if self.0 {
                let _ = Command::new("groupdel").arg("lvs-web").status();
            }
        }
    }
    let _remove = Remove(!had_group);
    if !had_group {
        let made = Command::new("groupadd")
            .args(["-r", "lvs-web"])
            .status()
            .unwrap();
        assert!(made.success());
    }
    let group = nix::unistd::Group::from_name("lvs-web").unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lvs-web.tokens");
    let f = file.to_str().unwrap();
    let out = run(&["--tokens-file", f, "--token", "ansible", "editor"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (0, group.gid.as_raw()));
    assert_eq!(meta.mode() & 0o777, 0o640);

    // An admin's own choice of mode and group survives the next token.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    nix::unistd::chown(&file, None, Some(nix::unistd::Gid::from_raw(0))).unwrap();
    let out = run(&["--tokens-file", f, "--token", "ci", "viewer"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!((meta.gid(), meta.mode() & 0o777), (0, 0o600));
}
