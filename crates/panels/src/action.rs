//! The buttons of the list panels and of REDUNDANCY → edits.

use lvscf::{Address, BlockRef, Document, Edit, Resolver, Value};

use crate::form::{FieldError, host, trial};
use crate::id::PanelId;
use crate::panel::int_of;
use crate::spec::Part;
use crate::tree::{Tree, last, part_text};

/// A button of a list panel (per row or ADD) or of REDUNDANCY.
///
/// Activation is given as the state wanted, not as a toggle, so that a
/// page left open does not undo someone else's click.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// ADD on VIRTUAL SERVERS: an empty, inactive virtual of that name.
    AddVirtual {
        /// Its name.
        name: String,
    },
    /// DELETE a virtual and its real servers.
    DeleteVirtual {
        /// Its name.
        name: String,
    },
    /// (DE)ACTIVATE a virtual.
    SetVirtualActive {
        /// Its name.
        name: String,
        /// `active` wanted.
        active: bool,
    },
    /// ADD on REAL SERVER: an inactive server (weight 1) of that name and
    /// address.
    AddReal {
        /// The virtual.
        virtual_name: String,
        /// The server's name.
        name: String,
        /// Its address (a server needs one).
        address: String,
    },
    /// DELETE a real server.
    DeleteReal {
        /// The virtual.
        virtual_name: String,
        /// The server.
        name: String,
    },
    /// (DE)ACTIVATE a real server.
    SetRealActive {
        /// The virtual.
        virtual_name: String,
        /// The server.
        name: String,
        /// `active` wanted.
        active: bool,
    },
    /// Rename a real server.
    RenameReal {
        /// The virtual.
        virtual_name: String,
        /// The server.
        name: String,
        /// Its new name.
        new_name: String,
    },
    /// ADD on FAILOVER: an empty, inactive failover block.
    AddFailover {
        /// Its name.
        name: String,
    },
    /// DELETE a failover block.
    DeleteFailover {
        /// Its name.
        name: String,
    },
    /// (DE)ACTIVATE a failover block.
    SetFailoverActive {
        /// Its name.
        name: String,
        /// `active` wanted.
        active: bool,
    },
    /// ENABLE on REDUNDANCY: `backup_active = 1`.
    EnableRedundancy,
    /// DISABLE on REDUNDANCY: `backup_active = 0`.
    DisableRedundancy,
    /// RESET on REDUNDANCY: the backup's addresses and the heartbeat
    /// timers and port removed, so the daemon's defaults apply
    /// (keepalive 2 s, deadtime 5 s, port 539). The original wrote its own
    /// defaults instead (keepalive 6, deadtime 18, backup 0.0.0.0), which
    /// were not the daemon's.
    ResetRedundancy,
}

impl Action {
    /// The panel the button is on (where its errors are shown).
    pub fn panel(&self) -> PanelId {
        match self {
            Action::AddVirtual { .. }
            | Action::DeleteVirtual { .. }
            | Action::SetVirtualActive { .. } => PanelId::Virtuals,
            Action::AddReal { virtual_name, .. }
            | Action::DeleteReal { virtual_name, .. }
            | Action::SetRealActive { virtual_name, .. }
            | Action::RenameReal { virtual_name, .. } => PanelId::Reals(virtual_name.clone()),
            Action::AddFailover { .. }
            | Action::DeleteFailover { .. }
            | Action::SetFailoverActive { .. } => PanelId::Failovers,
            Action::EnableRedundancy | Action::DisableRedundancy | Action::ResetRedundancy => {
                PanelId::Redundancy
            }
        }
    }
}

/// The edits an action makes (none when the file is already so), tried on
/// a copy of `doc` like [`edits`](crate::edits)' (errors about the name or
/// address typed for ADD are at the fields `name` and `address`).
pub fn action<R: Resolver>(doc: &Document<R>, a: &Action) -> Result<Vec<Edit>, Vec<FieldError>> {
    let tree = Tree::new(doc.text());
    let out = plan(&tree, a)?;
    // Errors on the block an ADD makes are at its ADD form's fields.
    let made = match a {
        Action::AddVirtual { name } => Some(PanelId::Virtual(name.clone())),
        Action::AddFailover { name } => Some(PanelId::Failover(name.clone())),
        Action::AddReal {
            virtual_name, name, ..
        } => Some(PanelId::Real {
            virtual_name: virtual_name.clone(),
            name: name.clone(),
        }),
        _ => None,
    };
    let id = a.panel();
    let ids: Vec<&PanelId> = std::iter::once(&id).chain(made.as_ref()).collect();
    trial(doc, &out, &ids)?;
    Ok(out)
}

/// `serial_no` one higher than the file's (1 when it has none or an
/// unreadable one), as the original tool did on every save. The editor
/// never renumbers by itself; whoever saves decides.
pub fn bump_serial<R: Resolver>(doc: &Document<R>) -> Edit {
    let tree = Tree::new(doc.text());
    let now = last(&tree.items, "serial_no")
        .and_then(|a| int_of(&part_text(a, Part::Whole)))
        .unwrap_or(0);
    Edit::Set {
        at: Address::global("serial_no"),
        value: Value::from(now.saturating_add(1).max(1)),
    }
}

fn server(virtual_name: &str, name: &str) -> BlockRef {
    BlockRef::Server {
        virtual_name: virtual_name.to_owned(),
        name: name.to_owned(),
    }
}

fn must_exist(tree: &Tree<'_>, b: &BlockRef) -> Result<(), Vec<FieldError>> {
    if tree.find(b).is_none() {
        let mut m = format!("no {} named \"{}\"", b.keyword(), b.name());
        if let BlockRef::Server { virtual_name, .. } = b {
            m.push_str(&format!(" in virtual \"{virtual_name}\""));
        }
        return Err(vec![FieldError::general(m)]);
    }
    Ok(())
}

fn new_name(tree: &Tree<'_>, b: &BlockRef) -> Result<(), Vec<FieldError>> {
    let name = b.name();
    if name.trim().is_empty() {
        return Err(vec![FieldError::at("name", "is required")]);
    }
    if name.contains(['\n', '\r']) {
        return Err(vec![FieldError::at("name", "must be on one line")]);
    }
    if tree.find(b).is_some() {
        return Err(vec![FieldError::at(
            "name",
            format!("a {} named \"{name}\" exists already", b.keyword()),
        )]);
    }
    Ok(())
}

/// `active` of a block as the daemons read it (absent = 0).
fn is_active(tree: &Tree<'_>, b: &BlockRef) -> bool {
    tree.scope(Some(b))
        .and_then(|items| last(items, "active"))
        .and_then(|a| int_of(&part_text(a, Part::Whole)))
        == Some(1)
}

fn set_active(tree: &Tree<'_>, b: BlockRef, active: bool) -> Result<Vec<Edit>, Vec<FieldError>> {
    must_exist(tree, &b)?;
    if is_active(tree, &b) == active {
        return Ok(Vec::new());
    }
    Ok(vec![Edit::Set {
        at: Address::key(b, "active"),
        value: Value::from(active),
    }])
}

fn plan(tree: &Tree<'_>, a: &Action) -> Result<Vec<Edit>, Vec<FieldError>> {
    Ok(match a {
        Action::AddVirtual { name } => {
            let b = BlockRef::Virtual(name.clone());
            new_name(tree, &b)?;
            // An inactive virtual needs nothing else to load; the
            // original's placeholders (0.0.0.0, timeout 6, reentry 15…)
            // were not valid or not the daemon's defaults.
            vec![Edit::Add(b)]
        }
        Action::AddFailover { name } => {
            let b = BlockRef::Failover(name.clone());
            new_name(tree, &b)?;
            vec![Edit::Add(b)]
        }
        Action::DeleteVirtual { name } => {
            let b = BlockRef::Virtual(name.clone());
            must_exist(tree, &b)?;
            vec![Edit::Remove(b)]
        }
        Action::DeleteFailover { name } => {
            let b = BlockRef::Failover(name.clone());
            must_exist(tree, &b)?;
            vec![Edit::Remove(b)]
        }
        Action::SetVirtualActive { name, active } => {
            set_active(tree, BlockRef::Virtual(name.clone()), *active)?
        }
        Action::SetFailoverActive { name, active } => {
            set_active(tree, BlockRef::Failover(name.clone()), *active)?
        }
        Action::AddReal {
            virtual_name,
            name,
            address,
        } => {
            must_exist(tree, &BlockRef::Virtual(virtual_name.clone()))?;
            let b = server(virtual_name, name);
            new_name(tree, &b)?;
            let address = address.trim();
            if address.is_empty() {
                return Err(vec![FieldError::at("address", "is required")]);
            }
            let address = host(address).map_err(|m| vec![FieldError::at("address", m)])?;
            // weight 1 and active 0 are the defaults: not written.
            vec![
                Edit::Add(b.clone()),
                Edit::Set {
                    at: Address::key(b, "address"),
                    value: Value::new(address),
                },
            ]
        }
        Action::DeleteReal { virtual_name, name } => {
            let b = server(virtual_name, name);
            must_exist(tree, &b)?;
            vec![Edit::Remove(b)]
        }
        Action::SetRealActive {
            virtual_name,
            name,
            active,
        } => set_active(tree, server(virtual_name, name), *active)?,
        Action::RenameReal {
            virtual_name,
            name,
            new_name: to,
        } => {
            let b = server(virtual_name, name);
            must_exist(tree, &b)?;
            if to == name {
                return Ok(Vec::new());
            }
            new_name(tree, &server(virtual_name, to))?;
            vec![Edit::Rename {
                block: b,
                name: to.clone(),
            }]
        }
        Action::EnableRedundancy | Action::DisableRedundancy => {
            let want = matches!(a, Action::EnableRedundancy);
            let now = last(&tree.items, "backup_active")
                .and_then(|a| int_of(&part_text(a, Part::Whole)))
                == Some(1);
            if now == want {
                Vec::new()
            } else {
                vec![Edit::Set {
                    at: Address::global("backup_active"),
                    value: Value::from(want),
                }]
            }
        }
        Action::ResetRedundancy => [
            "backup",
            "backup_private",
            "keepalive",
            "deadtime",
            "heartbeat_port",
        ]
        .into_iter()
        .filter(|k| last(&tree.items, k).is_some())
        .map(|k| Edit::Unset(Address::global(k)))
        .collect(),
    })
}
