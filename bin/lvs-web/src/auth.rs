//! Logging in through `access`'s backends (the rate limit first, then
//! piranha.passwd, then PAM when configured), with an audit line for each
//! outcome.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use access::Role;
use access::audit::Event;
use access::auth::{AuthError, Authenticated, Authenticator, PasswdAuthenticator};
use access::pam::PamAuthenticator;
use access::ratelimit::Verdict;
use access::roles::GroupMap;
use axum::http::StatusCode;

use crate::app::{State, lock};

/// Why a login is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// Too many failures from this address or for this name.
    Locked { retry_after: Duration },
    /// Wrong name or password (never says which).
    Refused,
    /// The password is right but the user has no role.
    NoRole,
    /// A file could not be read or has errors.
    Unavailable(String),
}

impl LoginError {
    pub fn status(&self) -> StatusCode {
        match self {
            LoginError::Locked { .. } => StatusCode::TOO_MANY_REQUESTS,
            LoginError::Refused | LoginError::NoRole => StatusCode::UNAUTHORIZED,
            LoginError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl fmt::Display for LoginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginError::Locked { retry_after } => write!(
                f,
                "Too many failed logins: try again in {} seconds.",
                retry_after.as_secs().max(1)
            ),
            LoginError::Refused => f.write_str("Login failed: wrong user name or password."),
            LoginError::NoRole => f.write_str(
                "Login failed: this user has no role in lvs-web.users (viewer, operator, editor or admin).",
            ),
            LoginError::Unavailable(why) => write!(f, "Login unavailable: {why}"),
        }
    }
}

/// The login backends in the order tried: piranha.passwd (and the users
/// file), then PAM when `--pam-service` is given.
pub fn authenticators(settings: &crate::cli::Settings) -> Vec<Box<dyn Authenticator>> {
    let mut out: Vec<Box<dyn Authenticator>> = vec![Box::new(PasswdAuthenticator::new(
        settings.passwd.clone(),
        settings.users.clone(),
    ))];
    if let Some(service) = &settings.pam_service {
        let groups =
            if settings.pam_groups.is_empty() {
                GroupMap::default()
            } else {
                GroupMap::new(settings.pam_groups.iter().filter_map(|(role, group)| {
                    role.parse::<Role>().ok().map(|r| (group.clone(), r))
                }))
            };
        out.push(Box::new(PamAuthenticator::new(service, groups)));
    }
    out
}

/// Checks `user`/`password` against each backend in turn; the user's
/// role on success. Rate-limited per source address and per name before
/// any password is looked at; every outcome is an audit line.
pub async fn login(
    st: &Arc<State>,
    user: &str,
    password: &str,
    peer: Option<IpAddr>,
) -> Result<Authenticated, LoginError> {
    let source = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let src = peer.map_or_else(|| "-".to_owned(), |p| p.to_string());
    if let Verdict::Locked { retry_after, .. } =
        lock(&st.limiter).check(source, user, Instant::now())
    {
        st.audit(
            user,
            &src,
            &Event::LoginFailed {
                method: "-",
                reason: "locked",
            },
        );
        return Err(LoginError::Locked { retry_after });
    }
    let (u, p, s) = (user.to_owned(), password.to_owned(), src.clone());
    let state = Arc::clone(st);
    // Hash checks cost a tenth of a second of CPU, PAM may sleep on a
    // failure: off the async workers.
    let verdict = tokio::task::spawn_blocking(move || {
        let mut last = AuthError::Rejected("no login backend".into());
        for a in &state.authenticators {
            match a.login(&u, &p, &s) {
                Ok(ok) => return (a.method(), Ok(ok)),
                Err(e) => last = e,
            }
        }
        ("-", Err(last))
    })
    .await
    .unwrap_or_else(|e| {
        (
            "-",
            Err(AuthError::Unavailable(format!("login check failed: {e}"))),
        )
    });
    let (method, verdict) = verdict;
    let mut limiter = lock(&st.limiter);
    match verdict {
        Ok(a) => {
            limiter.succeeded(source, user);
            drop(limiter);
            st.audit(&a.user, &src, &Event::LoginOk { method });
            Ok(a)
        }
        Err(e) => {
            let counted = matches!(e, AuthError::Rejected(_) | AuthError::NoRole(_));
            let locked = counted
                && matches!(
                    limiter.failed(source, user, Instant::now()),
                    Verdict::Locked { .. }
                );
            drop(limiter);
            let why = e.to_string();
            st.audit(
                user,
                &src,
                &Event::LoginFailed {
                    method,
                    reason: &why,
                },
            );
            Err(match e {
                AuthError::Unavailable(why) => LoginError::Unavailable(why),
                AuthError::NoRole(_) => LoginError::NoRole,
                AuthError::Rejected(_) if locked => LoginError::Locked {
                    retry_after: access::ratelimit::LoginLimits::default().lockout,
                },
                AuthError::Rejected(_) => LoginError::Refused,
            })
        }
    }
}
