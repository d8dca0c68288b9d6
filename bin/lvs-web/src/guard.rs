//! Who may make which change to lvs.cf: the command-key rule
//! (`access::policy::may_set`) applied to a list of edits (a panel's
//! ACCEPT, the API's stage) and to a whole new text (the API's apply),
//! where every key that names a program run as root is compared with the
//! file the change started from. Pure; the helper checks the program's
//! location again before writing.

use std::collections::BTreeMap;

use access::Role;
use access::policy::{is_command_key, may_set};
use lvscf::Edit;
use lvscf::syntax::{Item, parse_tree};

/// A change the role may not make: the key (as an address) at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAllowed {
    pub key: String,
    pub role: Role,
}

impl std::fmt::Display for NotAllowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: names a program run as root; only an admin may set or remove it (you are {})",
            self.key,
            self.role.as_str()
        )
    }
}

/// The first edit `role` may not make, if any. Removing a block is an
/// edit of its keys: a block holding a command key may be removed only by
/// an admin (its program would stop running), so removals are checked
/// against `text`, the file they apply to.
pub fn check_edits(role: Role, edits: &[Edit], text: &str) -> Result<(), NotAllowed> {
    let commands = command_values(text);
    for e in edits {
        let key = match e {
            Edit::Set { at, .. } | Edit::Unset(at) => at.to_string(),
            Edit::Remove(b) => {
                let prefix = block_prefix(b.keyword(), b.name(), b);
                match commands.keys().find(|k| k.starts_with(&prefix)) {
                    Some(k) => k.clone(),
                    None => continue,
                }
            }
            // A rename leaves every program as it was.
            Edit::Add(_) | Edit::Rename { .. } => continue,
        };
        if !may_set(role, &key) {
            return Err(NotAllowed { key, role });
        }
    }
    Ok(())
}

fn block_prefix(keyword: &str, name: &str, b: &lvscf::BlockRef) -> String {
    match b {
        lvscf::BlockRef::Server { virtual_name, name } => {
            format!("virtual.{virtual_name}.server.{name}.")
        }
        _ => format!("{keyword}.{name}."),
    }
}

/// The first command key whose values differ between `old` and `new`
/// that `role` may not change, if any.
pub fn check_text(role: Role, old: &str, new: &str) -> Result<(), NotAllowed> {
    let (a, b) = (command_values(old), command_values(new));
    for key in a.keys().chain(b.keys()) {
        if a.get(key) != b.get(key) && !may_set(role, key) {
            return Err(NotAllowed {
                key: key.clone(),
                role,
            });
        }
    }
    Ok(())
}

/// Every command key of a text with its values (every occurrence, in
/// order), by address (`virtual.web.send_program`).
pub fn command_values(text: &str) -> BTreeMap<String, Vec<String>> {
    let (items, _) = parse_tree(text);
    let mut out = BTreeMap::new();
    walk(&items, "", &mut out);
    out
}

fn walk(items: &[Item<'_>], prefix: &str, out: &mut BTreeMap<String, Vec<String>>) {
    for item in items {
        match item {
            Item::Assign(a) => {
                if is_command_key(a.key.value) {
                    let v = a
                        .values
                        .iter()
                        .map(|t| t.value.raw)
                        .collect::<Vec<_>>()
                        .join(" ");
                    out.entry(format!("{prefix}{}", a.key.value))
                        .or_default()
                        .push(v);
                }
            }
            Item::Block(b) => {
                let name = b.name.as_ref().map_or("", |n| n.value.raw);
                let p = format!("{prefix}{}.{name}.", b.kind.value.as_str());
                walk(&b.items, &p, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CF: &str = "primary = 192.0.2.1\nvirtual web {\n  address = 203.0.113.10 eth0:1\n  send_program = \"/usr/local/sbin/check %h\"\n  port = 80\n  server web1 {\n    address = 192.0.2.11\n  }\n}\n";

    fn edit(s: &str) -> Edit {
        Edit::parse_set(s).unwrap()
    }

    #[test]
    fn editor_may_not_set_a_command_key_admin_may() {
        let e = [edit("virtual.web.send_program=/bin/sh")];
        let err = check_edits(Role::Editor, &e, CF).unwrap_err();
        assert_eq!(err.key, "virtual.web.send_program");
        assert!(check_edits(Role::Admin, &e, CF).is_ok());
        assert!(check_edits(Role::Editor, &[edit("virtual.web.port=81")], CF).is_ok());
        assert!(check_edits(Role::Viewer, &[edit("virtual.web.port=81")], CF).is_err());
    }

    #[test]
    fn removing_a_block_with_a_command_key_is_admin_only() {
        let rm = Edit::Remove(lvscf::BlockRef::Virtual("web".into()));
        assert!(check_edits(Role::Editor, std::slice::from_ref(&rm), CF).is_err());
        assert!(check_edits(Role::Admin, &[rm], CF).is_ok());
        let mv = Edit::Rename {
            block: lvscf::BlockRef::Virtual("web".into()),
            name: "www".into(),
        };
        assert!(check_edits(Role::Editor, &[mv], CF).is_ok());
        let rm = Edit::Remove(lvscf::BlockRef::Server {
            virtual_name: "web".into(),
            name: "web1".into(),
        });
        assert!(check_edits(Role::Editor, &[rm], CF).is_ok());
    }

    #[test]
    fn whole_text_changes_compare_command_keys() {
        let weight = CF.replace("port = 80", "port = 81");
        assert!(check_text(Role::Editor, CF, &weight).is_ok());
        let sneaky = CF.replace("/usr/local/sbin/check", "/tmp/evil");
        assert_eq!(
            check_text(Role::Editor, CF, &sneaky).unwrap_err().key,
            "virtual.web.send_program"
        );
        assert!(check_text(Role::Admin, CF, &sneaky).is_ok());
        let added = CF.replace(
            "primary = 192.0.2.1\n",
            "primary = 192.0.2.1\nrsh_command = ssh\n",
        );
        assert_eq!(
            check_text(Role::Editor, CF, &added).unwrap_err().key,
            "rsh_command"
        );
    }
}
