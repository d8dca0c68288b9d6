//! A submitted form → the minimal edits, or the field errors that stop it.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use lvscf::edit::EditError;
use lvscf::{Address, Document, Edit, Resolver, Seconds, SecondsError, Value};

use crate::id::PanelId;
use crate::panel::{build, spec_choices};
use crate::spec::{self, Opts, Part, Spec, Ty};
use crate::tree::{Tree, locate_owner};
use crate::{Field, FieldKind, Panel};

/// Why a submitted value, or a whole submission, was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The form name of the field it is about; `None` when it is about no
    /// field of the panel (an error elsewhere in the file, say).
    pub field: Option<String>,
    /// What is wrong, in the admin's words.
    pub message: String,
}

impl FieldError {
    pub(crate) fn at(field: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    pub(crate) fn general(message: impl Into<String>) -> Self {
        FieldError {
            field: None,
            message: message.into(),
        }
    }
}

/// `FIELD: MESSAGE`, or the message alone.
impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(n) => write!(f, "{n}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The edits a submitted form of panel `id` makes.
///
/// `form` holds `(name, value)` pairs; of a name given twice the last
/// counts (a hidden `0` before a checkbox's `1`). A field not in the form
/// is left as it is; a field submitted with its current
/// [`Field::value`] makes no edit; a blank optional field unsets its key;
/// a name that is no field of the panel is an error. The edits are in an
/// order [`Document::apply`] takes (a rename last), and have been tried on
/// a copy of `doc`: what would not load is returned as errors at the
/// fields they fall on, all of them at once.
pub fn edits<R: Resolver>(
    doc: &Document<R>,
    id: &PanelId,
    form: &[(String, String)],
) -> Result<Vec<Edit>, Vec<FieldError>> {
    let tree = Tree::new(doc.text());
    let p = build(&tree, id, &[], &[]).map_err(|e| vec![FieldError::general(e.to_string())])?;
    let mut errors = Vec::new();
    let mut submitted: HashMap<&str, &str> = HashMap::new();
    for (name, value) in form {
        if p.field(name).is_some() {
            submitted.insert(name.as_str(), value.as_str());
        } else if p.table.is_some() {
            errors.push(FieldError::at(
                name,
                format!("{} has no fields; use its buttons", id.title()),
            ));
        } else {
            errors.push(FieldError::at(
                name,
                format!("no such field on {}", id.title()),
            ));
        }
    }
    let specs = specs_for(id);
    // (spec, field, new value: None = unset)
    let mut changes: Vec<(&Spec, &Field, Option<String>)> = Vec::new();
    for s in specs {
        let Some(f) = p.field(s.name) else { continue };
        let Some(v) = submitted.get(s.name) else {
            continue;
        };
        match normalize(s, f, v) {
            Ok(Some(new)) => changes.push((s, f, new)),
            Ok(None) => {}
            Err(m) => errors.push(FieldError::at(s.name, m)),
        }
    }
    let mut out = Vec::new();
    let mut rename = None;
    let mut pairs_done: Vec<&Address> = Vec::new();
    for (s, f, new) in &changes {
        match s.part {
            Part::Name => {
                if let (Some(b), Some(n)) = (id.block(), new) {
                    rename = Some(Edit::Rename {
                        block: b,
                        name: n.clone(),
                    });
                }
            }
            Part::First | Part::Second => {
                if pairs_done.contains(&&f.address) {
                    continue;
                }
                pairs_done.push(&f.address);
                match pair_edit(&p, &changes, &f.address) {
                    Ok(e) => out.push(e),
                    Err(e) => errors.push(e),
                }
            }
            Part::List => out.push(match new {
                Some(v) => Edit::Set {
                    at: f.address.clone(),
                    value: Value::tokens(
                        std::iter::once("[")
                            .chain(v.split_whitespace())
                            .chain(std::iter::once("]")),
                    ),
                },
                None => Edit::Unset(f.address.clone()),
            }),
            Part::Whole => out.push(match new {
                Some(v) => Edit::Set {
                    at: f.address.clone(),
                    value: Value::new(v.clone()),
                },
                None => Edit::Unset(f.address.clone()),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Edits name the block by its old name; the rename goes last.
    let renamed = match (&rename, id) {
        (Some(Edit::Rename { name, .. }), _) => renamed_id(id, name),
        _ => id.clone(),
    };
    out.extend(rename);
    trial(doc, &out, &[id, &renamed])?;
    Ok(out)
}

fn renamed_id(id: &PanelId, new: &str) -> PanelId {
    match id {
        PanelId::Virtual(_) => PanelId::Virtual(new.to_owned()),
        PanelId::Failover(_) => PanelId::Failover(new.to_owned()),
        PanelId::Real { virtual_name, .. } => PanelId::Real {
            virtual_name: virtual_name.clone(),
            name: new.to_owned(),
        },
        other => other.clone(),
    }
}

pub(crate) fn specs_for(id: &PanelId) -> &'static [Spec] {
    match id {
        PanelId::Global => spec::GLOBAL,
        PanelId::Redundancy => spec::REDUNDANCY,
        PanelId::Virtual(_) => spec::VIRTUAL,
        PanelId::Monitoring(_) => spec::MONITORING,
        PanelId::Real { .. } => spec::REAL,
        PanelId::Failover(_) => spec::FAILOVER,
        PanelId::Virtuals | PanelId::Reals(_) | PanelId::Failovers => &[],
    }
}

/// The one edit of an `IP DEVICE` key whose parts were submitted.
fn pair_edit(
    p: &Panel,
    changes: &[(&Spec, &Field, Option<String>)],
    at: &Address,
) -> Result<Edit, FieldError> {
    let parts: Vec<&Field> = p.fields().filter(|f| f.address == *at).collect();
    let value_of = |f: &Field| {
        changes
            .iter()
            .find(|(_, c, _)| c.name == f.name)
            .map_or_else(
                || f.value.clone(),
                |(_, _, v)| v.clone().unwrap_or_default(),
            )
    };
    let (Some(first), Some(second)) = (parts.first(), parts.get(1)) else {
        return Err(FieldError::general(format!(
            "{at}: no fields for both parts"
        )));
    };
    let (a, b) = (value_of(first), value_of(second));
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ok(Edit::Unset(at.clone())),
        (false, false) => Ok(Edit::Set {
            at: at.clone(),
            value: Value::tokens([a, b]),
        }),
        (true, false) => Err(FieldError::at(
            first.name,
            format!("needed with {} \"{b}\"", second.label),
        )),
        (false, true) => Err(FieldError::at(
            second.name,
            format!("needed with {} \"{a}\"", first.label),
        )),
    }
}

/// A submitted value: `Ok(None)` no change, `Ok(Some(None))` unset,
/// `Ok(Some(Some(v)))` set to `v` (as lvs.cf is to hold it).
fn normalize(s: &Spec, f: &Field, v: &str) -> Result<Option<Option<String>>, String> {
    if v == f.value {
        return Ok(None);
    }
    if s.read_only {
        return Err(format!("{} is read-only here", s.label));
    }
    if v.contains(['\n', '\r']) {
        return Err("must be on one line".into());
    }
    let v = match s.ty {
        Ty::Text | Ty::Check => v,
        _ => v.trim_matches([' ', '\t']),
    };
    let new = if v.is_empty() {
        let blank_choice = match &f.kind {
            FieldKind::Select(c) | FieldKind::Radio(c) => c.iter().any(|c| c.value.is_empty()),
            FieldKind::Checkbox => false,
            FieldKind::Text | FieldKind::Number { .. } => true,
        };
        if s.required {
            return Err("is required".into());
        }
        if !blank_choice {
            return Err("choose a value".into());
        }
        None
    } else {
        Some(check(s, f, v)?)
    };
    // " 6 " or "6.0" for 6 is no change either.
    if new.as_deref().unwrap_or("") == f.value {
        return Ok(None);
    }
    Ok(Some(new))
}

fn is_hostname(s: &str) -> bool {
    s.len() <= 253
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// A real host address: an IP address (not the unspecified one) or a host
/// name (resolved when the file is loaded).
pub(crate) fn host(v: &str) -> Result<String, String> {
    match v.parse::<IpAddr>() {
        Ok(ip) if ip.is_unspecified() => Err(format!("{ip} is not a usable address")),
        Ok(ip) => Ok(ip.to_string()),
        Err(_) if v.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            Err(format!("\"{v}\" is not an IP address"))
        }
        Err(_) if is_hostname(v) => Ok(v.to_owned()),
        Err(_) => Err(format!("\"{v}\" is not an IP address or a host name")),
    }
}

/// Checks a non-blank value of a field's type; returns it as lvs.cf is
/// to hold it.
fn check(s: &Spec, f: &Field, v: &str) -> Result<String, String> {
    let one_word = || {
        if v.contains([' ', '\t', '"', '\'', '#']) {
            Err(format!("\"{v}\": no blanks, quotes or # here"))
        } else {
            Ok(v.to_owned())
        }
    };
    match s.ty {
        Ty::Host => host(v),
        Ty::HostOrAny => match v.parse::<IpAddr>() {
            Ok(ip) => Ok(ip.to_string()),
            Err(_) => host(v),
        },
        Ty::Ip => match v.parse::<IpAddr>() {
            Ok(ip) if !ip.is_unspecified() => Ok(ip.to_string()),
            _ => Err(format!(
                "\"{v}\" is not an IP address (a host name is not allowed here)"
            )),
        },
        Ty::Device => one_word(),
        Ty::Netmask => {
            if v.parse::<Ipv4Addr>().is_ok()
                || v.parse::<u8>().is_ok_and(|p| p <= 128) && !v.starts_with('+')
            {
                Ok(v.to_owned())
            } else {
                Err(format!(
                    "\"{v}\" is not a netmask (write 255.255.255.0, or a prefix length for IPv6)"
                ))
            }
        }
        Ty::Port => {
            if v.bytes().all(|b| b.is_ascii_digit()) {
                match v.parse::<u32>() {
                    Ok(p @ 1..=65535) => Ok(p.to_string()),
                    _ => Err(format!("port {v} is out of range 1 to 65535")),
                }
            } else if v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
            {
                // A service name; the file's loading resolves it.
                Ok(v.to_owned())
            } else {
                Err(format!("\"{v}\" is not a port number or a service name"))
            }
        }
        Ty::Int(min, max) => {
            let body = v.strip_prefix('-').unwrap_or(v);
            let n = if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
                v.parse::<i64>().ok()
            } else {
                None
            };
            match n {
                Some(n) if (min..=max).contains(&n) => Ok(n.to_string()),
                Some(_) => Err(format!("{v} is out of range {min} to {max}")),
                None => Err(format!(
                    "\"{v}\" is not a whole number (from {min} to {max})"
                )),
            }
        }
        Ty::Timer => match v.parse::<Seconds>() {
            Ok(t) => Ok(t.to_string()),
            Err(SecondsError::Zero) => Err("must be greater than 0".into()),
            Err(e) => Err(format!("\"{v}\" {e}")),
        },
        Ty::Bool if !s.radio => match v {
            "0" | "1" => Ok(v.to_owned()),
            _ => Err(format!("\"{v}\": 1 (checked) or 0 expected")),
        },
        Ty::Bool | Ty::Choice(_) => {
            let known = match &f.kind {
                FieldKind::Select(c) | FieldKind::Radio(c) => c.iter().any(|c| c.value == v),
                _ => false,
            };
            let program = s.ty == Ty::Choice(Opts::LoadMonitor) && v.starts_with('/');
            if known || program {
                Ok(v.to_owned())
            } else {
                let names: Vec<String> = spec_choices(s)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|c| !c.value.is_empty())
                    .map(|c| c.value)
                    .collect();
                let what = match s.ty {
                    Ty::Choice(Opts::Scheduler) => "scheduler",
                    Ty::Choice(Opts::Protocol) => "protocol",
                    Ty::Choice(Opts::Network) => "network type",
                    _ => "value",
                };
                Err(format!(
                    "unknown {what} \"{v}\"; choose one of {}",
                    names.join(", ")
                ))
            }
        }
        Ty::Text | Ty::Check | Ty::Name | Ty::Dirs => Ok(v.to_owned()),
    }
}

/// Parses with the document's own resolver.
struct Same<'r, R>(&'r R);

impl<R: Resolver> Resolver for Same<'_, R> {
    fn host(&self, name: &str) -> Option<IpAddr> {
        self.0.host(name)
    }
    fn service(&self, name: &str) -> Option<u16> {
        self.0.service(name)
    }
    fn program(&self, path: &str) -> Option<bool> {
        self.0.program(path)
    }
}

/// Applies `edits` to a copy of `doc`; what would not load, as errors at
/// the fields (of the panels `ids`) they fall on.
pub(crate) fn trial<R: Resolver>(
    doc: &Document<R>,
    edits: &[Edit],
    ids: &[&PanelId],
) -> Result<(), Vec<FieldError>> {
    if edits.is_empty() {
        return Ok(());
    }
    let mut copy = Document::open_with(doc.text().to_owned(), Same(doc.resolver()));
    match copy.apply(edits) {
        Ok(()) => Ok(()),
        Err(EditError::Refused(r)) => Err(r
            .diagnostics
            .iter()
            .map(|d| {
                let o = locate_owner(&r.text, d.line, d.col);
                let message = match &d.hint {
                    Some(h) => format!("{}; {h}", d.message),
                    None => d.message.clone(),
                };
                match o.field {
                    Some(f) if ids.contains(&&o.panel) => FieldError::at(f, message),
                    _ => FieldError::general(format!(
                        "line {}: {message} (on {})",
                        d.line,
                        o.panel.title()
                    )),
                }
            })
            .collect()),
        Err(EditError::Exists(b)) => Err(vec![FieldError::at(
            "name",
            format!("a {} named \"{}\" exists already", b.keyword(), b.name()),
        )]),
        Err(e) => Err(vec![FieldError::general(e.to_string())]),
    }
}
