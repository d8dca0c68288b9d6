//! Building a [`Panel`] from a document: values, choices, rows and the
//! placing of diagnostics.

use std::fmt;

use lvscf::syntax::{BlockKind, Item};
use lvscf::{Address, BlockRef, Diagnostic, Document, Resolver, Scheduler, Severity};

use crate::id::PanelId;
use crate::spec::{self, Opts, Part, Spec, Ty};
use crate::tree::{Owner, Tree, block_name, blocks, last, locate_owner, owners, part_text};
use crate::{Button, Choice, Field, FieldKind, Panel, Row, Section, Table};

/// The panel asked for names a block the file does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelError {
    /// The block asked for.
    pub block: BlockRef,
}

impl fmt::Display for PanelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no {} named \"{}\"",
            self.block.keyword(),
            self.block.name()
        )?;
        if let BlockRef::Server { virtual_name, .. } = &self.block {
            write!(f, " in virtual \"{virtual_name}\"")?;
        }
        Ok(())
    }
}

impl std::error::Error for PanelError {}

/// The panel `id` of `doc`, with the file's current values and the
/// diagnostics of its text placed on the fields they fall on (the same
/// parser and messages as `lvsd --check`).
///
/// A file with errors has panels too (so that a field can repair it).
pub fn panel<R: Resolver>(doc: &Document<R>, id: &PanelId) -> Result<Panel, PanelError> {
    let tree = Tree::new(doc.text());
    let diags = &doc.parsed().diagnostics;
    let places: Vec<(usize, usize)> = diags.iter().map(|d| (d.line, d.col)).collect();
    let owned = owners(&tree, &places);
    build(&tree, id, diags, &owned)
}

pub(crate) fn build(
    tree: &Tree<'_>,
    id: &PanelId,
    diags: &[Diagnostic],
    owned: &[Owner],
) -> Result<Panel, PanelError> {
    if let Some(b) = id.block()
        && tree.find(&b).is_none()
    {
        return Err(PanelError { block: b });
    }
    let mut p = Panel {
        id: id.clone(),
        title: id.title(),
        help: help(id),
        links: links(id),
        sections: Vec::new(),
        table: None,
        buttons: Vec::new(),
        diagnostics: Vec::new(),
    };
    let specs: &[Spec] = match id {
        PanelId::Global => spec::GLOBAL,
        PanelId::Redundancy => spec::REDUNDANCY,
        PanelId::Virtual(_) => spec::VIRTUAL,
        PanelId::Monitoring(_) => spec::MONITORING,
        PanelId::Real { .. } => spec::REAL,
        PanelId::Failover(_) => spec::FAILOVER,
        PanelId::Virtuals | PanelId::Reals(_) | PanelId::Failovers => &[],
    };
    let block = id.block();
    for s in specs {
        let mut field = field(tree, block.as_ref(), s);
        if let PanelId::Real { virtual_name, name } = id
            && s.key == "port"
        {
            field.default = inherited_port(tree, virtual_name, name);
        }
        match p.sections.last_mut() {
            Some(sec) if sec.title == s.section => sec.fields.push(field),
            _ => p.sections.push(Section {
                title: s.section,
                fields: vec![field],
            }),
        }
    }
    for (d, o) in diags.iter().zip(owned) {
        if o.panel != *id {
            continue;
        }
        let target = o.field.and_then(|n| {
            p.sections
                .iter_mut()
                .flat_map(|s| s.fields.iter_mut())
                .find(|f| f.name == n)
        });
        match target {
            Some(f) => f.diagnostics.push(d.clone()),
            None => p.diagnostics.push(d.clone()),
        }
    }
    p.table = match id {
        PanelId::Virtuals => Some(virtual_table(&rows_of_virtuals(tree, diags, owned))),
        PanelId::Reals(v) => Some(real_table(v, &rows_of_reals(tree, v, diags, owned)?)),
        PanelId::Failovers => Some(failover_table(&rows_of_failovers(tree, diags, owned))),
        _ => None,
    };
    p.buttons = match id {
        PanelId::Virtuals => vec![Button::AddVirtual],
        PanelId::Reals(_) => vec![Button::AddReal],
        PanelId::Failovers => vec![Button::AddFailover],
        PanelId::Redundancy => vec![
            Button::Accept,
            Button::Enable,
            Button::Disable,
            Button::Reset,
        ],
        _ => vec![Button::Accept],
    };
    Ok(p)
}

fn help(id: &PanelId) -> &'static str {
    match id {
        PanelId::Global => {
            "The networking details of the primary LVS router's public and private interfaces, \
             the NAT router, and settings that apply to every virtual server."
        }
        PanelId::Redundancy => {
            "The backup LVS router and the heartbeat with which it watches the primary."
        }
        PanelId::Virtuals => {
            "Every virtual server: its status (the active flag, not its health), name, address, \
             netmask, port, protocol and interface."
        }
        PanelId::Virtual(_) => {
            "One virtual server. Complete this page and ACCEPT before its subsections."
        }
        PanelId::Reals(_) => "The real servers of one virtual server.",
        PanelId::Real { .. } => "One real server.",
        PanelId::Monitoring(_) => {
            "How each real server is checked: a send/expect string pair, or a program of yours. \
             To find the strings, connect to the server's port with telnet and look at what it \
             says (FTP: send quit, expect 220)."
        }
        PanelId::Failovers => "The legacy failover services (LVS type fos).",
        PanelId::Failover(_) => "One legacy failover service.",
    }
}

fn links(id: &PanelId) -> Vec<PanelId> {
    match id {
        PanelId::Virtual(v) | PanelId::Reals(v) | PanelId::Monitoring(v) => vec![
            PanelId::Virtuals,
            PanelId::Virtual(v.clone()),
            PanelId::Reals(v.clone()),
            PanelId::Monitoring(v.clone()),
        ],
        PanelId::Real { virtual_name, .. } => vec![
            PanelId::Virtuals,
            PanelId::Virtual(virtual_name.clone()),
            PanelId::Reals(virtual_name.clone()),
            PanelId::Monitoring(virtual_name.clone()),
            id.clone(),
        ],
        PanelId::Failover(_) => vec![PanelId::Failovers, id.clone()],
        PanelId::Global | PanelId::Redundancy | PanelId::Virtuals | PanelId::Failovers => {
            vec![id.clone()]
        }
    }
}

/// The address a spec edits in a block.
pub(crate) fn address_of(s: &Spec, block: Option<&BlockRef>) -> Address {
    match (s.part, block) {
        (Part::Name, Some(b)) => Address::block(b.clone()),
        (_, Some(b)) => Address::key(b.clone(), s.key),
        (_, None) => Address::global(s.key),
    }
}

/// The file's text of a spec's value, `None` when the key is absent.
pub(crate) fn raw_value(tree: &Tree<'_>, block: Option<&BlockRef>, s: &Spec) -> Option<String> {
    if s.part == Part::Name {
        return block.map(|b| b.name().to_owned());
    }
    let items = tree.scope(block)?;
    last(items, s.key).map(|a| part_text(a, s.part))
}

/// Reads an integer as lvscf does (decimal, `0x` hex, a sign).
pub(crate) fn int_of(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        if h.is_empty() || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        i64::from_str_radix(h, 16).ok()?
    } else {
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        body.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// A checkbox's value from the file's text: `1`/`0`, `None` when the text
/// is no boolean (the field is then shown as text, to be repaired).
fn bool_of(key: &str, raw: &str) -> Option<&'static str> {
    match int_of(raw)? {
        0 => Some("0"),
        1 => Some("1"),
        // monitor_links: any non-zero value was "on".
        _ if key == "monitor_links" => Some("1"),
        _ => None,
    }
}

/// Whether `raw` is what a number field of this type shows unchanged.
fn plain_number(ty: Ty, raw: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let no_lead = |t: &str| t == "0" || !t.starts_with('0');
    match ty {
        Ty::Timer => {
            let (w, f) = raw.split_once('.').unwrap_or((raw, "0"));
            digits(w) && no_lead(w) && digits(f) && f.len() <= 3
        }
        _ => {
            let body = raw.strip_prefix('-').unwrap_or(raw);
            digits(body) && no_lead(body)
        }
    }
}

pub(crate) fn choices(o: Opts) -> Vec<Choice> {
    let c = |v: &str, l: &str| Choice {
        value: v.to_owned(),
        label: l.to_owned(),
        extension: None,
    };
    match o {
        Opts::Network => vec![
            c("nat", "NAT"),
            c("direct", "Direct Routing"),
            c("tunnel", "Tunneling"),
        ],
        Opts::Service => vec![c("lvs", "lvs"), c("fos", "fos (failover services)")],
        Opts::Protocol => vec![
            c("tcp", "TCP"),
            c("udp", "UDP"),
            Choice {
                extension: Some("sctp"),
                ..c("sctp", "SCTP")
            },
        ],
        Opts::Scheduler => Scheduler::ALL
            .iter()
            .map(|s| Choice {
                value: s.as_str().to_owned(),
                label: scheduler_label(*s).to_owned(),
                extension: (!s.known_to_original()).then_some("new-scheduler"),
            })
            .collect(),
        Opts::LoadMonitor => vec![
            c("", "(not set: none)"),
            c("none", "none"),
            c("rup", "rup"),
            c("ruptime", "ruptime"),
            c("uptime", "uptime"),
        ],
        Opts::NannyMode => vec![
            c("process", "one nanny per real server"),
            c("shared", "one shared checker"),
        ],
        Opts::ReservationConflict => vec![
            c("", "(not set)"),
            c("nothing", "nothing"),
            c("preempt", "preempt"),
        ],
        Opts::YesNo => vec![c("1", "Yes"), c("0", "No")],
    }
}

fn scheduler_label(s: Scheduler) -> &'static str {
    match s {
        Scheduler::Rr => "Round robin",
        Scheduler::Wrr => "Weighted round robin",
        Scheduler::Lc => "Least-connection",
        Scheduler::Wlc => "Weighted least-connection",
        Scheduler::Lblc => "Locality-Based Least-Connection",
        Scheduler::Lblcr => "Locality-Based Least-Connection Scheduling with Replication",
        Scheduler::Dh => "Destination Hashing",
        Scheduler::Sh => "Source Hashing",
        Scheduler::Sed => "Shortest Expected Delay",
        Scheduler::Nq => "Never Queue",
        Scheduler::Fo => "Weighted Failover",
        Scheduler::Ovf => "Weighted Overflow",
        Scheduler::Mh => "Maglev Hashing",
        Scheduler::Twos => "Weighted Random Twos Choice",
        // A scheduler lvscf learns later: its kernel name.
        other => other.as_str(),
    }
}

pub(crate) fn netmask_choices() -> Vec<Choice> {
    let mut v = vec![Choice {
        value: String::new(),
        label: "(none)".into(),
        extension: None,
    }];
    for prefix in (8..=32u32).rev() {
        let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
        let dotted = std::net::Ipv4Addr::from(mask).to_string();
        v.push(Choice {
            label: format!("{dotted} (/{prefix})"),
            value: dotted,
            extension: None,
        });
    }
    v
}

/// The choices of a spec (for [`Ty::Choice`], [`Ty::Netmask`] and radio
/// booleans), `None` for other kinds.
pub(crate) fn spec_choices(s: &Spec) -> Option<Vec<Choice>> {
    match s.ty {
        Ty::Choice(o) => Some(choices(o)),
        Ty::Netmask => Some(netmask_choices()),
        Ty::Bool if s.radio => Some(choices(Opts::YesNo)),
        _ => None,
    }
}

/// One field of a block (or of the top level).
pub(crate) fn field(tree: &Tree<'_>, block: Option<&BlockRef>, s: &Spec) -> Field {
    let raw = raw_value(tree, block, s);
    let mut kind = match s.ty {
        Ty::Int(min, max) => FieldKind::Number {
            min: min as f64,
            max: max as f64,
            step: 1.0,
        },
        Ty::Timer => FieldKind::Number {
            min: 0.001,
            max: lvscf::Seconds::MAX_SECS as f64,
            step: 0.001,
        },
        Ty::Bool if !s.radio => FieldKind::Checkbox,
        _ => match spec_choices(s) {
            Some(c) if s.radio => FieldKind::Radio(c),
            Some(c) => FieldKind::Select(c),
            None => FieldKind::Text,
        },
    };
    let blank_choice = |k: &FieldKind| match k {
        FieldKind::Select(c) | FieldKind::Radio(c) => c.iter().any(|c| c.value.is_empty()),
        _ => false,
    };
    let value = match (&raw, &mut kind) {
        (None, FieldKind::Text | FieldKind::Number { .. }) => String::new(),
        (None, k) if blank_choice(k) => String::new(),
        (None, _) => s.default.unwrap_or_default().to_owned(),
        (Some(r), FieldKind::Number { .. }) => {
            if !plain_number(s.ty, r) {
                // 0x10, 010, a service name…: a number input would lose it.
                kind = FieldKind::Text;
            }
            r.clone()
        }
        (Some(r), FieldKind::Checkbox) => match bool_of(s.key, r) {
            Some(b) => b.to_owned(),
            None => {
                kind = FieldKind::Text;
                r.clone()
            }
        },
        (Some(r), FieldKind::Select(c) | FieldKind::Radio(c)) => {
            let v = match s.ty {
                Ty::Bool => bool_of(s.key, r).map_or_else(|| r.clone(), str::to_owned),
                _ => r.clone(),
            };
            if !c.iter().any(|c| c.value == v) {
                // Kept selectable, or submitting the page would change it.
                c.push(Choice {
                    label: format!("{v} (as in the file)"),
                    value: v.clone(),
                    extension: None,
                });
            }
            v
        }
        (Some(r), FieldKind::Text) => r.clone(),
    };
    Field {
        name: s.name,
        label: s.label,
        help: s.help,
        kind,
        value,
        default: s.default.map(str::to_owned),
        address: address_of(s, block),
        required: s.required,
        read_only: s.read_only,
        // The one list of keys that name a program run as root.
        command: access::policy::is_command_key(s.key),
        extension: s.extension,
        diagnostics: Vec::new(),
        wide: matches!(s.ty, Ty::Text | Ty::Check | Ty::Dirs),
    }
}

/// The port a server without its own `port` gets: the virtual's `port` as
/// read up to the server's block (the original's rule), else 80.
fn inherited_port(tree: &Tree<'_>, virtual_name: &str, server: &str) -> Option<String> {
    let v = tree.find(&BlockRef::Virtual(virtual_name.to_owned()))?;
    let mut port = "80".to_owned();
    for item in &v.items {
        match item {
            Item::Assign(a) if a.key.value == "port" => port = part_text(a, Part::Whole),
            Item::Block(b) if block_name(b).as_deref() == Some(server) => break,
            _ => {}
        }
    }
    Some(port)
}

// ---- lists ------------------------------------------------------------

/// One row of the VIRTUAL SERVERS list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualRow {
    /// NAME.
    pub name: String,
    /// STATUS: the `active` flag (configuration, not health).
    pub active: bool,
    /// VIP (empty when unset).
    pub address: String,
    /// NETMASK (empty when unset).
    pub netmask: String,
    /// PORT (the default 80 when unset).
    pub port: String,
    /// PROTOCOL (the default tcp when unset).
    pub protocol: String,
    /// INTERFACE: the device of `address`.
    pub device: String,
    /// Firewall mark (empty when unset).
    pub fwmark: String,
    /// Scheduler (the default wlc when unset).
    pub scheduler: String,
    /// Number of real servers.
    pub servers: usize,
    /// Errors of the file in this block, its servers included.
    pub errors: usize,
    /// Warnings of the file in this block, its servers included.
    pub warnings: usize,
}

/// One row of a REAL SERVER list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealRow {
    /// Name.
    pub name: String,
    /// The `active` flag.
    pub active: bool,
    /// Address.
    pub address: String,
    /// Port: its own, else the virtual's (as the daemons read it).
    pub port: String,
    /// Weight (the default 1 when unset).
    pub weight: String,
    /// Errors of the file in this block.
    pub errors: usize,
    /// Warnings of the file in this block.
    pub warnings: usize,
}

/// One row of the FAILOVER list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverRow {
    /// Name.
    pub name: String,
    /// The `active` flag.
    pub active: bool,
    /// Address (empty when unset).
    pub address: String,
    /// Device of the address.
    pub device: String,
    /// Port (the default 80 when unset).
    pub port: String,
    /// Protocol (the default tcp when unset).
    pub protocol: String,
    /// Errors of the file in this block.
    pub errors: usize,
    /// Warnings of the file in this block.
    pub warnings: usize,
}

fn placed<R: Resolver>(doc: &Document<R>) -> (Tree<'_>, &[Diagnostic], Vec<Owner>) {
    let tree = Tree::new(doc.text());
    let diags = &doc.parsed().diagnostics[..];
    let places: Vec<(usize, usize)> = diags.iter().map(|d| (d.line, d.col)).collect();
    let owned = owners(&tree, &places);
    (tree, diags, owned)
}

/// The VIRTUAL SERVERS list.
pub fn virtual_rows<R: Resolver>(doc: &Document<R>) -> Vec<VirtualRow> {
    let (tree, diags, owned) = placed(doc);
    rows_of_virtuals(&tree, diags, &owned)
}

/// The REAL SERVER list of a virtual.
pub fn real_rows<R: Resolver>(
    doc: &Document<R>,
    virtual_name: &str,
) -> Result<Vec<RealRow>, PanelError> {
    let (tree, diags, owned) = placed(doc);
    rows_of_reals(&tree, virtual_name, diags, &owned)
}

/// The FAILOVER list.
pub fn failover_rows<R: Resolver>(doc: &Document<R>) -> Vec<FailoverRow> {
    let (tree, diags, owned) = placed(doc);
    rows_of_failovers(&tree, diags, &owned)
}

fn count(diags: &[Diagnostic], owned: &[Owner], on: impl Fn(&Owner) -> bool) -> (usize, usize) {
    let mut n = (0, 0);
    for (d, o) in diags.iter().zip(owned) {
        if !on(o) {
            continue;
        }
        match d.severity {
            Severity::Error => n.0 += 1,
            Severity::Warning => n.1 += 1,
            _ => {}
        }
    }
    n
}

fn key_text(items: &[Item<'_>], key: &str, part: Part) -> Option<String> {
    last(items, key).map(|a| part_text(a, part))
}

fn active_of(items: &[Item<'_>]) -> bool {
    key_text(items, "active", Part::Whole).and_then(|t| int_of(&t)) == Some(1)
}

fn rows_of_virtuals(tree: &Tree<'_>, diags: &[Diagnostic], owned: &[Owner]) -> Vec<VirtualRow> {
    tree.blocks(BlockKind::Virtual)
        .filter_map(|b| {
            let name = block_name(b)?;
            let r = BlockRef::Virtual(name.clone());
            let (errors, warnings) = count(diags, owned, |o| o.top.as_ref() == Some(&r));
            let t = |k, p| key_text(&b.items, k, p);
            Some(VirtualRow {
                active: active_of(&b.items),
                address: t("address", Part::First).unwrap_or_default(),
                device: t("address", Part::Second).unwrap_or_default(),
                netmask: t("vip_nmask", Part::Whole).unwrap_or_default(),
                port: t("port", Part::Whole).unwrap_or_else(|| "80".into()),
                protocol: t("protocol", Part::Whole).unwrap_or_else(|| "tcp".into()),
                fwmark: t("fwmark", Part::Whole).unwrap_or_default(),
                scheduler: t("scheduler", Part::Whole).unwrap_or_else(|| "wlc".into()),
                servers: blocks(&b.items, BlockKind::Server).count(),
                errors,
                warnings,
                name,
            })
        })
        .collect()
}

fn rows_of_reals(
    tree: &Tree<'_>,
    virtual_name: &str,
    diags: &[Diagnostic],
    owned: &[Owner],
) -> Result<Vec<RealRow>, PanelError> {
    let vr = BlockRef::Virtual(virtual_name.to_owned());
    let Some(v) = tree.find(&vr) else {
        return Err(PanelError { block: vr });
    };
    let mut port = "80".to_owned();
    let mut rows = Vec::new();
    for item in &v.items {
        let s = match item {
            Item::Assign(a) => {
                if a.key.value == "port" {
                    port = part_text(a, Part::Whole);
                }
                continue;
            }
            Item::Block(s) if s.kind.value == BlockKind::Server => s,
            Item::Block(_) => continue,
        };
        let Some(name) = block_name(s) else { continue };
        let id = PanelId::Real {
            virtual_name: virtual_name.to_owned(),
            name: name.clone(),
        };
        let (errors, warnings) = count(diags, owned, |o| o.panel == id);
        let t = |k| key_text(&s.items, k, Part::Whole);
        rows.push(RealRow {
            active: active_of(&s.items),
            address: t("address").unwrap_or_default(),
            port: t("port").unwrap_or_else(|| port.clone()),
            weight: t("weight").unwrap_or_else(|| "1".into()),
            errors,
            warnings,
            name,
        });
    }
    Ok(rows)
}

fn rows_of_failovers(tree: &Tree<'_>, diags: &[Diagnostic], owned: &[Owner]) -> Vec<FailoverRow> {
    tree.blocks(BlockKind::Failover)
        .filter_map(|b| {
            let name = block_name(b)?;
            let r = BlockRef::Failover(name.clone());
            let (errors, warnings) = count(diags, owned, |o| o.top.as_ref() == Some(&r));
            let t = |k, p| key_text(&b.items, k, p);
            Some(FailoverRow {
                active: active_of(&b.items),
                address: t("address", Part::First).unwrap_or_default(),
                device: t("address", Part::Second).unwrap_or_default(),
                port: t("port", Part::Whole).unwrap_or_else(|| "80".into()),
                protocol: t("protocol", Part::Whole).unwrap_or_else(|| "tcp".into()),
                errors,
                warnings,
                name,
            })
        })
        .collect()
}

fn virtual_table(rows: &[VirtualRow]) -> Table {
    Table {
        columns: vec!["VIP", "NETMASK", "PORT", "PROTOCOL", "INTERFACE"],
        rows: rows
            .iter()
            .map(|r| Row {
                name: r.name.clone(),
                active: r.active,
                cells: vec![
                    r.address.clone(),
                    r.netmask.clone(),
                    r.port.clone(),
                    r.protocol.clone(),
                    r.device.clone(),
                ],
                panel: PanelId::Virtual(r.name.clone()),
                errors: r.errors,
                warnings: r.warnings,
            })
            .collect(),
    }
}

fn real_table(virtual_name: &str, rows: &[RealRow]) -> Table {
    Table {
        columns: vec!["ADDRESS", "PORT", "WEIGHT"],
        rows: rows
            .iter()
            .map(|r| Row {
                name: r.name.clone(),
                active: r.active,
                cells: vec![r.address.clone(), r.port.clone(), r.weight.clone()],
                panel: PanelId::Real {
                    virtual_name: virtual_name.to_owned(),
                    name: r.name.clone(),
                },
                errors: r.errors,
                warnings: r.warnings,
            })
            .collect(),
    }
}

fn failover_table(rows: &[FailoverRow]) -> Table {
    Table {
        columns: vec!["ADDRESS", "PORT", "PROTOCOL", "INTERFACE"],
        rows: rows
            .iter()
            .map(|r| Row {
                name: r.name.clone(),
                active: r.active,
                cells: vec![
                    r.address.clone(),
                    r.port.clone(),
                    r.protocol.clone(),
                    r.device.clone(),
                ],
                panel: PanelId::Failover(r.name.clone()),
                errors: r.errors,
                warnings: r.warnings,
            })
            .collect(),
    }
}

// ---- diagnostics to fields ---------------------------------------------

/// The panel and field a diagnostic at `line`, `column` (1-based, columns
/// in characters, as `lvsd --check` prints them) of `doc`'s text falls
/// on; `None` when it falls on no field: show it at the top of
/// [`locate_panel`]'s panel.
pub fn locate<R: Resolver>(
    doc: &Document<R>,
    line: usize,
    column: usize,
) -> Option<(PanelId, String)> {
    let o = locate_owner(doc.text(), line, column);
    o.field.map(|f| (o.panel, f.to_owned()))
}

/// The panel a place of `doc`'s text belongs to, field or not: the panel
/// of the block around it, else GLOBAL SETTINGS.
pub fn locate_panel<R: Resolver>(doc: &Document<R>, line: usize, column: usize) -> PanelId {
    locate_owner(doc.text(), line, column).panel
}
