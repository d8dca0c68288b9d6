//! PAM logins against real PAM stacks, as root: each test writes its own
//! service file to /etc/pam.d/ and, for pam_unix, creates a user and a
//! group, and removes all of it when done (also when it fails).
//!
//! Run with `cargo test -p access --features root-tests -- --test-threads=1`
//! as root; without the feature they are ignored.

use std::process::Command;

use access::Role;
use access::auth::{AuthError, Authenticator};
use access::pam::PamAuthenticator;
use access::roles::GroupMap;

/// What a test made, removed on drop.
struct Made {
    service_file: Option<std::path::PathBuf>,
    user: Option<String>,
    groups: Vec<String>,
}

impl Made {
    fn new() -> Made {
        Made {
            service_file: None,
            user: None,
            groups: Vec::new(),
        }
    }

    /// A PAM service `name` with `stack` as its text.
    fn service(&mut self, name: &str, stack: &str) -> String {
        let path = std::path::PathBuf::from("/etc/pam.d").join(name);
        assert!(!path.exists(), "{} exists already", path.display());
        std::fs::write(&path, stack).unwrap();
        self.service_file = Some(path);
        name.to_owned()
    }

    fn group(&mut self, name: &str) {
        run("groupadd", &[name]);
        self.groups.push(name.to_owned());
    }

    fn user(&mut self, name: &str, password: &str, groups: &str) {
        run(
            "useradd",
            &["-M", "-N", "-s", "/usr/sbin/nologin", "-G", groups, name],
        );
        self.user = Some(name.to_owned());
        let mut c = Command::new("chpasswd")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        writeln!(c.stdin.take().unwrap(), "{name}:{password}").unwrap();
        assert!(c.wait().unwrap().success(), "chpasswd");
    }
}

impl Drop for Made {
    fn drop(&mut self) {
        if let Some(p) = &self.service_file {
            let _ = std::fs::remove_file(p);
        }
        if let Some(u) = &self.user {
            let _ = Command::new("userdel").arg(u).status();
        }
        for g in &self.groups {
            let _ = Command::new("groupdel").arg(g).status();
        }
    }
}

fn run(cmd: &str, args: &[&str]) {
    let s = Command::new(cmd).args(args).status().unwrap();
    assert!(s.success(), "{cmd} {args:?}");
}

#[test]
#[cfg_attr(not(feature = "root-tests"), ignore)]
fn pam_permit_and_pam_deny_decide() {
    let mut made = Made::new();
    let pid = std::process::id();
    let root_viewer = GroupMap::new([("root".to_owned(), Role::Viewer)]);
    let permit = made.service(
        &format!("lvs-web-test-{pid}-permit"),
        "auth required pam_permit.so\naccount required pam_permit.so\n",
    );
    let a = PamAuthenticator::new(&permit, root_viewer.clone());
    let ok = a.login("root", "anything", "192.0.2.1").unwrap();
    assert_eq!((ok.user.as_str(), ok.role), ("root", Role::Viewer));
    // Right password, but root is in none of the default groups.
    let nogroup = PamAuthenticator::new(&permit, GroupMap::default());
    assert!(matches!(
        nogroup.login("root", "anything", "192.0.2.1"),
        Err(AuthError::NoRole(_))
    ));
    drop(made);

    let mut made = Made::new();
    let deny = made.service(
        &format!("lvs-web-test-{pid}-deny"),
        "auth required pam_deny.so\naccount required pam_permit.so\n",
    );
    let d = PamAuthenticator::new(&deny, root_viewer);
    assert!(matches!(
        d.login("root", "anything", "192.0.2.1"),
        Err(AuthError::Rejected(_))
    ));
}

#[test]
#[cfg_attr(not(feature = "root-tests"), ignore)]
fn pam_unix_checks_a_real_password_and_the_group() {
    let mut made = Made::new();
    let pid = std::process::id();
    let service = made.service(
        &format!("lvs-web-test-{pid}-unix"),
        "auth required pam_unix.so nodelay\naccount required pam_unix.so\n",
    );
    let editors = format!("lvst{pid}e");
    let other = format!("lvst{pid}o");
    made.group(&editors);
    made.group(&other);
    let user = format!("lvst{pid}u");
    made.user(&user, "correct horse", &other);
    let map = GroupMap::new([(editors.clone(), Role::Editor)]);
    let a = PamAuthenticator::new(&service, map);
    // In no mapped group: refused even with the right password.
    assert!(matches!(
        a.login(&user, "correct horse", "192.0.2.1"),
        Err(AuthError::NoRole(_))
    ));
    run("usermod", &["-a", "-G", &editors, &user]);
    let ok = a.login(&user, "correct horse", "192.0.2.1").unwrap();
    assert_eq!((ok.user.as_str(), ok.role), (user.as_str(), Role::Editor));
    assert!(matches!(
        a.login(&user, "wrong horse", "192.0.2.1"),
        Err(AuthError::Rejected(_))
    ));
    assert!(matches!(
        a.login("lvs-web-no-such-user", "x", "192.0.2.1"),
        Err(AuthError::Rejected(_))
    ));
}
