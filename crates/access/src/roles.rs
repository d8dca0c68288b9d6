//! Roles and how users get them.
//!
//! Four roles, each allowed what the one below may do and more:
//!
//! | role | may |
//! |---|---|
//! | `viewer` | read the configuration, the status pages, the history |
//! | `operator` | also runtime actions: down / up / normal a real server (not saved to lvs.cf) |
//! | `editor` | also edit, check and apply lvs.cf, except keys that name a program run as root |
//! | `admin` | also those keys ([`crate::policy`]), restore a revision, sync to the backup |
//!
//! Where a role comes from:
//! - a user of the piranha.passwd file: the users file
//!   ([`USERS_FILE`], lines `user role`); without that file the
//!   original's single user `piranha` is admin and nobody else has a role,
//!   so an existing router works unchanged ([`passwd_user_role`]);
//! - a PAM user: the highest role of their Unix groups through a
//!   [`GroupMap`] (by default `lvs-viewer`, `lvs-operator`, `lvs-editor`,
//!   `lvs-admin`).

use std::fmt;
use std::str::FromStr;

use crate::located::{LineError, numbered_lines, words};

/// Where the users file of the passwd-file login lives.
pub const USERS_FILE: &str = "/etc/sysconfig/ha/conf/lvs-web.users";

/// The original's one user, admin when there is no users file.
pub const PIRANHA_USER: &str = "piranha";

/// What a user may do; ordered, each role includes those below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Read only.
    Viewer,
    /// Runtime actions on real servers.
    Operator,
    /// Edit and apply lvs.cf (no command-bearing keys).
    Editor,
    /// Everything.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Operator, Role::Editor, Role::Admin];

    /// The name used in files, the UI and audit lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    /// Whether this role may do `action`.
    pub fn may(self, action: Action) -> bool {
        self >= action.needs()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRole(pub String);

impl fmt::Display for UnknownRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown role \"{}\" (expected viewer, operator, editor or admin)",
            self.0
        )
    }
}

impl std::error::Error for UnknownRole {}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// Something a request does, for the check [`Role::may`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Any page, the status, the history, a diff or check of a draft.
    View,
    /// down / up / normal a real server at runtime.
    Control,
    /// Stage edits of lvs.cf and apply them (command-bearing keys excepted).
    Edit,
    /// Set a key that names a program run as root ([`crate::policy`]).
    SetCommandKey,
    /// Restore an earlier revision (it may carry any key).
    Restore,
    /// Push the file to the backup router.
    Sync,
}

impl Action {
    /// The lowest role allowed to do it.
    pub fn needs(self) -> Role {
        match self {
            Action::View => Role::Viewer,
            Action::Control => Role::Operator,
            Action::Edit => Role::Editor,
            Action::SetCommandKey | Action::Restore | Action::Sync => Role::Admin,
        }
    }
}

/// The users file: `user role` per line; `#` starts a comment line;
/// blank lines are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsersFile {
    entries: Vec<(String, Role)>,
}

impl UsersFile {
    /// Parses `text`; `file` names it in errors. Every problem is
    /// reported (a wrong file gives no roles at all rather than some).
    pub fn parse(text: &str, file: &str) -> Result<UsersFile, Vec<LineError>> {
        let mut entries: Vec<(String, Role)> = Vec::new();
        let mut errors = Vec::new();
        for (n, line) in numbered_lines(text) {
            let w = words(line);
            match w.as_slice() {
                [] => {}
                [(_, first), ..] if first.starts_with('#') => {}
                [(_, user), (col, role)] => match role.parse::<Role>() {
                    Ok(role) if !entries.iter().any(|(u, _)| u == user) => {
                        entries.push(((*user).to_owned(), role));
                    }
                    Ok(_) => errors.push(LineError::new(
                        file,
                        n,
                        format!("user \"{user}\" is listed twice"),
                    )),
                    Err(e) => errors.push(LineError::at(file, n, *col, e.to_string())),
                },
                [(col, _)] => errors.push(LineError::at(
                    file,
                    n,
                    col + line.trim().len(),
                    "a role expected after the user name",
                )),
                [_, _, (col, extra), ..] => errors.push(LineError::at(
                    file,
                    n,
                    *col,
                    format!("unexpected \"{extra}\": a line is `user role`"),
                )),
            }
        }
        if errors.is_empty() {
            Ok(UsersFile { entries })
        } else {
            Err(errors)
        }
    }

    /// `user`'s role, if listed.
    pub fn role_of(&self, user: &str) -> Option<Role> {
        self.entries
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, r)| *r)
    }

    /// Every entry, in file order.
    pub fn entries(&self) -> &[(String, Role)] {
        &self.entries
    }
}

/// The role of a piranha.passwd user: from the users file when there is
/// one (unlisted users have none), else admin for `piranha` alone.
pub fn passwd_user_role(users: Option<&UsersFile>, user: &str) -> Option<Role> {
    match users {
        Some(u) => u.role_of(user),
        None => (user == PIRANHA_USER).then_some(Role::Admin),
    }
}

/// Unix groups → roles, for PAM users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMap {
    entries: Vec<(String, Role)>,
}

impl Default for GroupMap {
    /// `lvs-viewer`, `lvs-operator`, `lvs-editor`, `lvs-admin`.
    fn default() -> GroupMap {
        GroupMap {
            entries: Role::ALL
                .into_iter()
                .map(|r| (format!("lvs-{}", r.as_str()), r))
                .collect(),
        }
    }
}

impl GroupMap {
    /// A map from (group, role) pairs; a group named twice keeps its
    /// highest role.
    pub fn new(pairs: impl IntoIterator<Item = (String, Role)>) -> GroupMap {
        let mut entries: Vec<(String, Role)> = Vec::new();
        for (g, r) in pairs {
            match entries.iter_mut().find(|(eg, _)| *eg == g) {
                Some((_, er)) => *er = (*er).max(r),
                None => entries.push((g, r)),
            }
        }
        GroupMap { entries }
    }

    /// Parses `group role` lines (the same syntax as the users file; a
    /// group listed twice is an error there too).
    pub fn parse(text: &str, file: &str) -> Result<GroupMap, Vec<LineError>> {
        UsersFile::parse(text, file).map(|u| GroupMap::new(u.entries))
    }

    /// The highest role any of `groups` maps to; `None` when no group
    /// is mapped (that user may not log in).
    pub fn role_for<S: AsRef<str>>(&self, groups: &[S]) -> Option<Role> {
        groups
            .iter()
            .filter_map(|g| {
                self.entries
                    .iter()
                    .find(|(eg, _)| eg == g.as_ref())
                    .map(|(_, r)| *r)
            })
            .max()
    }

    /// The mapped group names (PAM login is restricted to these).
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(g, _)| g.as_str())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_panic(text in "(\\PC|\n|\r|\t){0,200}") {
            let _ = UsersFile::parse(&text, "f");
            let _ = GroupMap::parse(&text, "f");
        }
    }

    #[test]
    fn roles_are_ordered_and_actions_need_the_documented_role() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Editor);
        assert!(Role::Editor < Role::Admin);
        assert!(Role::Viewer.may(Action::View));
        assert!(!Role::Viewer.may(Action::Control));
        assert!(Role::Operator.may(Action::Control));
        assert!(!Role::Operator.may(Action::Edit));
        assert!(Role::Editor.may(Action::Edit));
        for a in [Action::SetCommandKey, Action::Restore, Action::Sync] {
            assert!(!Role::Editor.may(a), "{a:?}");
            assert!(Role::Admin.may(a), "{a:?}");
        }
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!(
            "Admin".parse::<Role>(),
            Err(UnknownRole("Admin".to_owned()))
        );
    }

    #[test]
    fn users_file_parses_comments_blank_lines_and_crlf() {
        let u = UsersFile::parse("# who\n\npiranha admin\r\n  alice\toperator\n", "u").unwrap();
        assert_eq!(u.role_of("piranha"), Some(Role::Admin));
        assert_eq!(u.role_of("alice"), Some(Role::Operator));
        assert_eq!(u.role_of("bob"), None);
        assert_eq!(u.entries().len(), 2);
    }

    #[test]
    fn users_file_errors_are_located_and_all_reported() {
        let text = "piranha admin\nalice boss\nbob\ncarol editor extra\npiranha viewer\n";
        let errs = UsersFile::parse(text, "lvs-web.users").unwrap_err();
        let shown: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            shown,
            [
                "lvs-web.users:2:7: unknown role \"boss\" (expected viewer, operator, editor or admin)",
                "lvs-web.users:3:4: a role expected after the user name",
                "lvs-web.users:4:14: unexpected \"extra\": a line is `user role`",
                "lvs-web.users:5: user \"piranha\" is listed twice",
            ]
        );
    }

    #[test]
    fn without_a_users_file_only_piranha_is_admin() {
        assert_eq!(passwd_user_role(None, "piranha"), Some(Role::Admin));
        assert_eq!(passwd_user_role(None, "root"), None);
        let u = UsersFile::parse("alice editor\n", "u").unwrap();
        assert_eq!(passwd_user_role(Some(&u), "alice"), Some(Role::Editor));
        // With a users file, piranha needs a line like everyone else.
        assert_eq!(passwd_user_role(Some(&u), "piranha"), None);
    }

    #[test]
    fn groups_map_to_the_highest_role() {
        let m = GroupMap::default();
        assert_eq!(m.role_for(&["users", "lvs-operator"]), Some(Role::Operator));
        assert_eq!(m.role_for(&["lvs-admin", "lvs-viewer"]), Some(Role::Admin));
        assert_eq!(m.role_for(&["wheel", "users"]), None);
        assert_eq!(m.role_for::<&str>(&[]), None);
        let custom = GroupMap::parse("netops operator\nlbadmins admin\n", "g").unwrap();
        assert_eq!(custom.role_for(&["netops"]), Some(Role::Operator));
        assert_eq!(custom.role_for(&["netops", "lbadmins"]), Some(Role::Admin));
        assert_eq!(custom.groups().collect::<Vec<_>>(), ["netops", "lbadmins"]);
        assert!(GroupMap::parse("netops operator\nnetops admin\n", "g").is_err());
        let twice = GroupMap::new([
            ("g".to_owned(), Role::Editor),
            ("g".to_owned(), Role::Viewer),
        ]);
        assert_eq!(twice.role_for(&["g"]), Some(Role::Editor));
    }
}
