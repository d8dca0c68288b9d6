//! Logging in. The password file is root's (mode 0600) and `pam_unix`
//! checks other users' passwords only for root, so this process never
//! reads a hash or runs PAM: it asks the helper (`login` verb), which
//! applies the rate limit per source and per name before any password is
//! looked at, tries piranha.passwd then PAM, and writes the audit line of
//! every attempt. Here the answer becomes a role or the page's message.

use std::fmt;
use std::net::IpAddr;

use access::Role;
use admin::proto::LoginOutcome;
use axum::http::StatusCode;

use crate::app::State;

/// Who logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedIn {
    /// The user as the helper names them (PAM may map the name typed).
    pub user: String,
    pub role: Role,
}

/// Why a login is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// Too many failures from this address or for this name.
    Locked { retry_after: u64 },
    /// Wrong name or password, or no role (never says which).
    Refused,
    /// The check could not be made (helper down, a broken file).
    Unavailable(String),
}

impl LoginError {
    pub fn status(&self) -> StatusCode {
        match self {
            LoginError::Locked { .. } => StatusCode::TOO_MANY_REQUESTS,
            LoginError::Refused => StatusCode::UNAUTHORIZED,
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
                (*retry_after).max(1)
            ),
            LoginError::Refused => f.write_str("Login failed: wrong user name or password."),
            LoginError::Unavailable(why) => write!(f, "Login unavailable: {why}"),
        }
    }
}

/// The page's verdict on the helper's answer. "No role" reads as a wrong
/// password (the helper's audit line says which it was), so that a page
/// does not confirm which names have passwords.
pub fn verdict(outcome: LoginOutcome) -> Result<LoggedIn, LoginError> {
    match outcome {
        LoginOutcome::LoggedIn { user, role, .. } => {
            let role = role.parse::<Role>().map_err(|e| {
                LoginError::Unavailable(format!("lvs-admin answered an unknown role: {e}"))
            })?;
            Ok(LoggedIn { user, role })
        }
        LoginOutcome::Rejected { .. } | LoginOutcome::NoRole { .. } => Err(LoginError::Refused),
        LoginOutcome::Locked { retry_after } => Err(LoginError::Locked { retry_after }),
        LoginOutcome::Unavailable { message } => Err(LoginError::Unavailable(message)),
    }
}

/// Checks `user`/`password` through the helper; `peer` is the client's
/// address (the rate limit's key).
pub async fn login(
    st: &State,
    user: &str,
    password: &str,
    peer: Option<IpAddr>,
) -> Result<LoggedIn, LoginError> {
    let source = peer.map_or_else(|| "-".to_owned(), |p| p.to_string());
    match st.admin.login(user, password, &source).await {
        Ok(outcome) => verdict(outcome),
        Err(e) => Err(LoginError::Unavailable(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert_eq!(
            verdict(LoginOutcome::LoggedIn {
                user: "ed".into(),
                role: "editor".into(),
                method: "passwd".into()
            }),
            Ok(LoggedIn {
                user: "ed".into(),
                role: Role::Editor
            })
        );
        assert_eq!(
            verdict(LoginOutcome::NoRole { reason: "x".into() }),
            Err(LoginError::Refused)
        );
        let e = verdict(LoginOutcome::Locked { retry_after: 300 }).unwrap_err();
        assert_eq!(e.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(e.to_string().contains("300 seconds"));
        assert!(matches!(
            verdict(LoginOutcome::LoggedIn {
                user: "x".into(),
                role: "root".into(),
                method: "pam".into()
            }),
            Err(LoginError::Unavailable(_))
        ));
    }
}
