//! Web logins checked by the helper, as root: the piranha.passwd file is
//! mode 0600, and `pam_unix` checks other users' passwords only for root,
//! so the unprivileged web process asks the helper (`login` verb) and
//! never reads a hash or runs PAM itself.
//!
//! [`Login`] is the helper's end: the rate limit ([`access::ratelimit`],
//! per source and per user) before any password is looked at, the
//! backends in order (the first that says yes wins), and one audit line
//! per attempt ([`access::audit`]). [`HelperAuthenticator`] is the web's
//! end: an [`access::auth::Authenticator`] over [`AsyncClient`].

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::Instant;

use access::audit::{Actor, AuditLog, Event};
use access::auth::{AuthError, Authenticated, Authenticator};
use access::ratelimit::{LoginLimiter, LoginLimits, Verdict};

use crate::client::{AsyncClient, ClientError};
use crate::proto::LoginOutcome;

/// The helper's login check.
pub struct Login {
    backends: Vec<Box<dyn Authenticator>>,
    limiter: Mutex<LoginLimiter>,
    audit: Mutex<AuditLog>,
    limits: LoginLimits,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Login {
    /// Checks with `backends` in order, under `limits`, audit lines to
    /// `audit`.
    pub fn new(
        backends: Vec<Box<dyn Authenticator>>,
        limits: LoginLimits,
        audit: AuditLog,
    ) -> Login {
        Login {
            backends,
            limiter: Mutex::new(LoginLimiter::new(limits)),
            audit: Mutex::new(audit),
            limits,
        }
    }

    fn audit(&self, user: &str, source: &str, event: &Event<'_>) {
        lock(&self.audit).record(&Actor { user, source }, event);
    }

    /// One login attempt (blocking: a hash or a PAM stack takes time).
    pub fn login(&self, user: &str, password: &str, source: &str) -> LoginOutcome {
        // A source that is no address (a local client) counts as one.
        let addr: IpAddr = source.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        if let Verdict::Locked { retry_after, .. } =
            lock(&self.limiter).check(addr, user, Instant::now())
        {
            self.audit(
                user,
                source,
                &Event::LoginFailed {
                    method: "-",
                    reason: "locked",
                },
            );
            return LoginOutcome::Locked {
                retry_after: retry_after.as_secs().max(1),
            };
        }
        let mut last = AuthError::Unavailable("no login backend configured".into());
        let mut method = "-";
        for b in &self.backends {
            match b.login(user, password, source) {
                Ok(ok) => {
                    lock(&self.limiter).succeeded(addr, user);
                    self.audit(&ok.user, source, &Event::LoginOk { method: b.method() });
                    return LoginOutcome::LoggedIn {
                        user: ok.user,
                        role: ok.role.as_str().to_owned(),
                        method: b.method().to_owned(),
                    };
                }
                Err(e) => {
                    method = b.method();
                    last = e;
                }
            }
        }
        let counted = matches!(last, AuthError::Rejected(_) | AuthError::NoRole(_));
        let locked = counted
            && matches!(
                lock(&self.limiter).failed(addr, user, Instant::now()),
                Verdict::Locked { .. }
            );
        let why = last.to_string();
        self.audit(
            user,
            source,
            &Event::LoginFailed {
                method,
                reason: &why,
            },
        );
        match last {
            AuthError::Rejected(_) if locked => LoginOutcome::Locked {
                retry_after: self.limits.lockout.as_secs(),
            },
            AuthError::Rejected(reason) => LoginOutcome::Rejected { reason },
            AuthError::NoRole(reason) => LoginOutcome::NoRole { reason },
            AuthError::Unavailable(message) => LoginOutcome::Unavailable { message },
        }
    }
}

/// Logins through the helper, for the web process: an
/// [`Authenticator`] (blocking, as the trait is: call it from a blocking
/// thread, e.g. `tokio::task::spawn_blocking`) over [`AsyncClient`] on
/// `runtime`.
#[derive(Debug, Clone)]
pub struct HelperAuthenticator {
    client: AsyncClient,
    runtime: tokio::runtime::Handle,
}

impl HelperAuthenticator {
    /// Through `client`, driven by `runtime`.
    pub fn new(client: AsyncClient, runtime: tokio::runtime::Handle) -> HelperAuthenticator {
        HelperAuthenticator { client, runtime }
    }
}

/// The [`Authenticator`] form of a helper's answer.
pub fn verdict(answer: Result<LoginOutcome, ClientError>) -> Result<Authenticated, AuthError> {
    match answer {
        Ok(LoginOutcome::LoggedIn { user, role, .. }) => {
            let role = role
                .parse()
                .map_err(|e| AuthError::Unavailable(format!("lvs-admin's answer: {e}")))?;
            Ok(Authenticated { user, role })
        }
        Ok(LoginOutcome::Rejected { reason }) => Err(AuthError::Rejected(reason)),
        Ok(LoginOutcome::NoRole { reason }) => Err(AuthError::NoRole(reason)),
        Ok(LoginOutcome::Locked { retry_after }) => Err(AuthError::Rejected(format!(
            "locked by lvs-admin for {retry_after} s"
        ))),
        Ok(LoginOutcome::Unavailable { message }) => Err(AuthError::Unavailable(message)),
        Err(e) => Err(AuthError::Unavailable(e.to_string())),
    }
}

impl Authenticator for HelperAuthenticator {
    fn method(&self) -> &'static str {
        "lvs-admin"
    }

    fn login(&self, user: &str, password: &str, source: &str) -> Result<Authenticated, AuthError> {
        verdict(
            self.runtime
                .block_on(self.client.login(user, password, source)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use access::Role;
    use std::sync::Arc;
    use std::time::Duration;

    /// Says yes to `alice`/`right` only.
    struct One;

    impl Authenticator for One {
        fn method(&self) -> &'static str {
            "passwd"
        }
        fn login(&self, user: &str, password: &str, _: &str) -> Result<Authenticated, AuthError> {
            match (user, password) {
                ("alice", "right") => Ok(Authenticated {
                    user: "alice".into(),
                    role: Role::Editor,
                }),
                ("alice", _) => Err(AuthError::Rejected("wrong password".into())),
                _ => Err(AuthError::Rejected("unknown user".into())),
            }
        }
    }

    fn audit() -> (AuditLog, Arc<Mutex<Vec<u8>>>) {
        #[derive(Clone)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                lock(&self.0).extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Arc::new(Mutex::new(Vec::new()));
        let logger = daemon::log::Logger::new("lvs-admin", "lvs-admin")
            .with_writer(Box::new(Buf(buf.clone())));
        (AuditLog::new(logger), buf)
    }

    #[test]
    fn right_wrong_lockout_and_every_attempt_audited() {
        let (log, buf) = audit();
        let limits = LoginLimits {
            max_failures: 3,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(60),
            capacity: 16,
        };
        let login = Login::new(vec![Box::new(One)], limits, log);
        assert_eq!(
            login.login("alice", "right", "192.0.2.10"),
            LoginOutcome::LoggedIn {
                user: "alice".into(),
                role: "editor".into(),
                method: "passwd".into()
            }
        );
        assert!(matches!(
            login.login("alice", "wrong-1", "192.0.2.10"),
            LoginOutcome::Rejected { .. }
        ));
        assert!(matches!(
            login.login("alice", "wrong-2", "192.0.2.10"),
            LoginOutcome::Rejected { .. }
        ));
        // The third failure locks; then even the right password is refused
        // without being checked.
        assert_eq!(
            login.login("alice", "wrong-3", "192.0.2.10"),
            LoginOutcome::Locked { retry_after: 60 }
        );
        assert!(matches!(
            login.login("alice", "right", "192.0.2.10"),
            LoginOutcome::Locked { .. }
        ));
        let text = String::from_utf8(lock(&buf).clone()).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(
            lines[0].contains("audit: login-ok user=alice source=192.0.2.10 method=passwd"),
            "{text}"
        );
        assert!(lines[4].contains("reason=locked"), "{text}");
        for secret in ["right", "wrong-1", "wrong-2", "wrong-3"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }

    #[test]
    fn no_backend_is_unavailable_and_answers_map_to_the_trait() {
        let (log, _) = audit();
        let login = Login::new(vec![], LoginLimits::default(), log);
        assert!(matches!(
            login.login("alice", "x", "-"),
            LoginOutcome::Unavailable { .. }
        ));
        assert_eq!(
            verdict(Ok(LoginOutcome::LoggedIn {
                user: "bob".into(),
                role: "operator".into(),
                method: "pam".into()
            })),
            Ok(Authenticated {
                user: "bob".into(),
                role: Role::Operator
            })
        );
        assert!(matches!(
            verdict(Ok(LoginOutcome::Locked { retry_after: 5 })),
            Err(AuthError::Rejected(_))
        ));
        assert!(matches!(
            verdict(Ok(LoginOutcome::LoggedIn {
                user: "bob".into(),
                role: "root".into(),
                method: "pam".into()
            })),
            Err(AuthError::Unavailable(_))
        ));
    }
}
