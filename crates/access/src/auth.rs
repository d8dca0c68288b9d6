//! Logging in: one trait ([`Authenticator`]) with two implementations,
//! the piranha.passwd file ([`PasswdAuthenticator`]) and PAM
//! ([`crate::pam::PamAuthenticator`]), so that the web is tested with the
//! file and runs with either.
//!
//! Both are blocking (a password hash takes about 0.1 s, a PAM stack may
//! wait seconds on a failure delay): an async caller runs them on a
//! blocking thread. Neither applies the rate limit; the caller checks
//! [`crate::ratelimit`] first and counts the outcome.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::passwd::{PASSWD_FILE, PasswdFile};
use crate::roles::{Role, USERS_FILE, UsersFile, passwd_user_role};

/// Who logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The user (as the backend names them: PAM may map the name typed).
    pub user: String,
    /// Their role.
    pub role: Role,
}

/// Why a login did not succeed. A page shows the same words for
/// [`AuthError::Rejected`] and [`AuthError::NoRole`] ("wrong user name or
/// password"); the detail is for the audit line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// Unknown user, wrong or empty password, account refused.
    Rejected(String),
    /// The password is right but the user has no role here.
    NoRole(String),
    /// The check could not be made (file unreadable or wrong, PAM broken).
    Unavailable(String),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Rejected(why) => write!(f, "rejected: {why}"),
            AuthError::NoRole(why) => write!(f, "no role: {why}"),
            AuthError::Unavailable(why) => write!(f, "cannot check: {why}"),
        }
    }
}

impl std::error::Error for AuthError {}

/// Checks a user name and password.
pub trait Authenticator: Send + Sync {
    /// `passwd` or `pam`, for audit lines.
    fn method(&self) -> &'static str;

    /// Whether `password` is `user`'s and what role they have; `source`
    /// is the client's address (PAM passes it on as `PAM_RHOST`).
    fn login(&self, user: &str, password: &str, source: &str) -> Result<Authenticated, AuthError>;
}

/// The piranha.passwd file and the users file, both read at every login
/// (as the original's Apache read its `AuthUserFile` per request), so a
/// password set with `piranha-passwd` works at once.
#[derive(Debug, Clone)]
pub struct PasswdAuthenticator {
    passwd: PathBuf,
    users: PathBuf,
}

impl Default for PasswdAuthenticator {
    /// [`PASSWD_FILE`] and [`USERS_FILE`].
    fn default() -> Self {
        PasswdAuthenticator::new(PASSWD_FILE, USERS_FILE)
    }
}

impl PasswdAuthenticator {
    /// Users from `passwd`, roles from `users` (which may be absent: then
    /// `piranha` alone is admin).
    pub fn new(passwd: impl Into<PathBuf>, users: impl Into<PathBuf>) -> Self {
        PasswdAuthenticator {
            passwd: passwd.into(),
            users: users.into(),
        }
    }
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

impl Authenticator for PasswdAuthenticator {
    fn method(&self) -> &'static str {
        "passwd"
    }

    fn login(&self, user: &str, password: &str, _source: &str) -> Result<Authenticated, AuthError> {
        let bytes = std::fs::read(&self.passwd).map_err(|e| {
            let hint = if e.kind() == io::ErrorKind::NotFound {
                " (set a password with piranha-passwd, as root)"
            } else {
                ""
            };
            AuthError::Unavailable(format!("{}: {e}{hint}", display(&self.passwd)))
        })?;
        // Read the roles before the password, so a broken users file
        // fails every login alike and says so.
        let users = match std::fs::read_to_string(&self.users) {
            Ok(text) => Some(
                UsersFile::parse(&text, &display(&self.users)).map_err(|errs| {
                    AuthError::Unavailable(
                        errs.iter()
                            .map(|e| e.to_string())
                            .collect::<Vec<_>>()
                            .join("; "),
                    )
                })?,
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(AuthError::Unavailable(format!(
                    "{}: {e}",
                    display(&self.users)
                )));
            }
        };
        if password.is_empty() {
            return Err(AuthError::Rejected("empty password".into()));
        }
        let file = PasswdFile::parse(&bytes);
        let known = file.find(user).is_some();
        match file.verify(user, password, &display(&self.passwd)) {
            Ok(true) => {}
            Ok(false) if known => return Err(AuthError::Rejected("wrong password".into())),
            Ok(false) => return Err(AuthError::Rejected("unknown user".into())),
            Err(e) => return Err(AuthError::Unavailable(e.to_string())),
        }
        match passwd_user_role(users.as_ref(), user) {
            Some(role) => Ok(Authenticated {
                user: user.to_owned(),
                role,
            }),
            None => Err(AuthError::NoRole(match users {
                Some(_) => format!("not in {}", display(&self.users)),
                None => format!("only piranha may log in without {}", display(&self.users)),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passwd::hash_password_with_rounds;

    fn setup(passwd: &str, users: Option<&str>) -> (tempfile::TempDir, PasswdAuthenticator) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("piranha.passwd"), passwd).unwrap();
        if let Some(u) = users {
            std::fs::write(dir.path().join("lvs-web.users"), u).unwrap();
        }
        let a = PasswdAuthenticator::new(
            dir.path().join("piranha.passwd"),
            dir.path().join("lvs-web.users"),
        );
        (dir, a)
    }

    #[test]
    fn the_original_single_user_is_admin() {
        // htpasswd -nbm piranha secret
        let (_d, a) = setup("piranha:$apr1$sCK2n7sR$tOt4Scdb9nCHGBBYAHikh.\n", None);
        assert_eq!(
            a.login("piranha", "secret", "192.0.2.1"),
            Ok(Authenticated {
                user: "piranha".into(),
                role: Role::Admin
            })
        );
        assert_eq!(
            a.login("piranha", "wrong", "192.0.2.1"),
            Err(AuthError::Rejected("wrong password".into()))
        );
        assert_eq!(
            a.login("root", "secret", "192.0.2.1"),
            Err(AuthError::Rejected("unknown user".into()))
        );
        assert_eq!(
            a.login("piranha", "", "192.0.2.1"),
            Err(AuthError::Rejected("empty password".into()))
        );
        assert_eq!(a.method(), "passwd");
    }

    #[test]
    fn roles_come_from_the_users_file() {
        let h = hash_password_with_rounds("pw", 1000).unwrap();
        let (_d, a) = setup(&format!("alice:{h}\nbob:{h}\n"), Some("alice operator\n"));
        assert_eq!(
            a.login("alice", "pw", "::1").map(|x| x.role),
            Ok(Role::Operator)
        );
        assert!(matches!(
            a.login("bob", "pw", "::1"),
            Err(AuthError::NoRole(_))
        ));
        // Without the file, only piranha has a role.
        let (_d2, b) = setup(&format!("alice:{h}\n"), None);
        assert!(matches!(
            b.login("alice", "pw", "::1"),
            Err(AuthError::NoRole(_))
        ));
    }

    #[test]
    fn broken_files_fail_closed_and_say_where() {
        let (_d, a) = setup("piranha:plaintext\n", None);
        let Err(AuthError::Unavailable(why)) = a.login("piranha", "plaintext", "::1") else {
            panic!("a plain-text password must not log in");
        };
        assert!(
            why.ends_with("piranha.passwd:1:9: unknown hash format"),
            "{why}"
        );
        let (_d, b) = setup(
            "piranha:$apr1$sCK2n7sR$tOt4Scdb9nCHGBBYAHikh.\n",
            Some("piranha boss\n"),
        );
        let Err(AuthError::Unavailable(why)) = b.login("piranha", "secret", "::1") else {
            panic!("a broken users file must not log in");
        };
        assert!(why.contains("lvs-web.users:1:9: unknown role"), "{why}");
        let c = PasswdAuthenticator::new("/nonexistent/piranha.passwd", "/nonexistent/u");
        assert!(matches!(
            c.login("piranha", "x", "::1"),
            Err(AuthError::Unavailable(_))
        ));
    }
}
