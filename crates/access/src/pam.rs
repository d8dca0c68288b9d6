//! Logging in through PAM (the host's own accounts, LDAP, SSSD, …),
//! restricted to the Unix groups of a [`GroupMap`]: a user in none of
//! them may not log in, whatever their password.
//!
//! The PAM service is [`DEFAULT_SERVICE`] (`/etc/pam.d/lvs-web`). A login
//! runs `pam_authenticate` and `pam_acct_mgmt` (expired or locked
//! accounts are refused) with the client's address as `PAM_RHOST`; the
//! role is then the highest of the user's groups.
//!
//! `pam_unix` checks other users' passwords only when its caller is
//! root (unprivileged callers go through `unix_chkpwd`, which checks the
//! caller's own password only); stacks such as `pam_sss` work from any
//! user. So PAM is behind the `pam` cargo feature, which only the root
//! helper (`lvs-admin`, its `login` verb) turns on: the web process does
//! not link libpam, and without the feature every PAM login is refused as
//! unavailable, saying so.

use std::ffi::CString;

use nix::unistd::{Group, User, getgrouplist};
#[cfg(feature = "pam")]
use pam_client::conv_mock::Conversation;
#[cfg(feature = "pam")]
use pam_client::{Context, ErrorCode, Flag};

use crate::auth::{AuthError, Authenticated, Authenticator};
use crate::roles::GroupMap;

/// The PAM service name of the configuration tool.
pub const DEFAULT_SERVICE: &str = "lvs-web";

/// PAM, with roles from Unix groups.
#[derive(Debug, Clone)]
pub struct PamAuthenticator {
    service: String,
    groups: GroupMap,
}

impl PamAuthenticator {
    /// Logins through PAM service `service`, roles from `groups`.
    pub fn new(service: &str, groups: GroupMap) -> PamAuthenticator {
        PamAuthenticator {
            service: service.to_owned(),
            groups,
        }
    }
}

impl Default for PamAuthenticator {
    /// [`DEFAULT_SERVICE`] and the default groups (`lvs-viewer` …
    /// `lvs-admin`).
    fn default() -> Self {
        PamAuthenticator::new(DEFAULT_SERVICE, GroupMap::default())
    }
}

/// Whether a PAM error means "no" rather than "cannot tell".
#[cfg(feature = "pam")]
fn is_refusal(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::AUTH_ERR
            | ErrorCode::USER_UNKNOWN
            | ErrorCode::MAXTRIES
            | ErrorCode::CRED_INSUFFICIENT
            | ErrorCode::PERM_DENIED
            | ErrorCode::ACCT_EXPIRED
            | ErrorCode::NEW_AUTHTOK_REQD
            | ErrorCode::AUTHTOK_EXPIRED
    )
}

#[cfg(feature = "pam")]
fn pam_error(step: &str, e: &pam_client::Error) -> AuthError {
    let text = format!("{step}: {}", e.message().unwrap_or("PAM error"));
    if is_refusal(e.code()) {
        AuthError::Rejected(text)
    } else {
        AuthError::Unavailable(text)
    }
}

/// The names of `user`'s groups (primary and supplementary).
pub fn unix_groups(user: &str) -> Result<Vec<String>, AuthError> {
    let unavailable = |e: String| AuthError::Unavailable(format!("groups of {user}: {e}"));
    let u = User::from_name(user)
        .map_err(|e| unavailable(e.to_string()))?
        .ok_or_else(|| AuthError::NoRole(format!("{user} is not a Unix user here")))?;
    let name = CString::new(user).map_err(|_| unavailable("NUL in the name".into()))?;
    let gids = getgrouplist(&name, u.gid).map_err(|e| unavailable(e.to_string()))?;
    let mut names = Vec::with_capacity(gids.len());
    for gid in gids {
        if let Ok(Some(g)) = Group::from_gid(gid) {
            names.push(g.name);
        }
    }
    Ok(names)
}

impl Authenticator for PamAuthenticator {
    fn method(&self) -> &'static str {
        "pam"
    }

    fn login(&self, user: &str, password: &str, source: &str) -> Result<Authenticated, AuthError> {
        if password.is_empty() {
            return Err(AuthError::Rejected("empty password".into()));
        }
        if user.is_empty() || user.contains('\0') || password.contains('\0') {
            return Err(AuthError::Rejected("bad user name or password".into()));
        }
        self.pam_login(user, password, source)
    }
}

impl PamAuthenticator {
    #[cfg(not(feature = "pam"))]
    fn pam_login(&self, _: &str, _: &str, _: &str) -> Result<Authenticated, AuthError> {
        Err(AuthError::Unavailable(format!(
            "PAM service {} (groups {}): this program is built without PAM; PAM \
             logins go through lvs-admin's login verb",
            self.service,
            self.groups.groups().collect::<Vec<_>>().join(", ")
        )))
    }

    #[cfg(feature = "pam")]
    fn pam_login(
        &self,
        user: &str,
        password: &str,
        source: &str,
    ) -> Result<Authenticated, AuthError> {
        let conv = Conversation::with_credentials(user, password);
        let mut ctx = Context::new(&self.service, Some(user), conv)
            .map_err(|e| AuthError::Unavailable(format!("PAM service {}: {e}", self.service)))?;
        // Only for the modules' own logs; a refusal here changes nothing.
        let _ = ctx.set_rhost(Some(source));
        ctx.authenticate(Flag::DISALLOW_NULL_AUTHTOK)
            .map_err(|e| pam_error("authentication", &e))?;
        ctx.acct_mgmt(Flag::DISALLOW_NULL_AUTHTOK)
            .map_err(|e| pam_error("account", &e))?;
        let name = ctx.user().unwrap_or_else(|_| user.to_owned());
        let groups = unix_groups(&name)?;
        match self.groups.role_for(&groups) {
            Some(role) => Ok(Authenticated { user: name, role }),
            None => Err(AuthError::NoRole(format!(
                "{name} is in none of the groups {}",
                self.groups.groups().collect::<Vec<_>>().join(", ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_passwords_never_reach_pam() {
        let a = PamAuthenticator::new("lvs-web-no-such-service", GroupMap::default());
        assert_eq!(
            a.login("root", "", "::1"),
            Err(AuthError::Rejected("empty password".into()))
        );
        assert!(matches!(
            a.login("ro\0ot", "x", "::1"),
            Err(AuthError::Rejected(_))
        ));
        assert_eq!(a.method(), "pam");
    }

    #[cfg(not(feature = "pam"))]
    #[test]
    fn without_the_feature_pam_logins_are_unavailable() {
        let a = PamAuthenticator::new("lvs-web", GroupMap::default());
        match a.login("root", "x", "::1") {
            Err(AuthError::Unavailable(why)) => assert!(why.contains("lvs-admin"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_groups_of_root_include_root() {
        assert!(unix_groups("root").unwrap().contains(&"root".to_owned()));
        assert!(matches!(
            unix_groups("lvs-web-no-such-user"),
            Err(AuthError::NoRole(_))
        ));
    }
}
