//! Lowering: the located syntax tree → the validated [`Config`].
//!
//! Every check that needs to know what a key means lives here. Each bad
//! value is reported and skipped (the default stays), so one run reports
//! every problem of the file.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use values::{Seconds, SecondsError};

use crate::diag::{Diagnostic, did_you_mean};
use crate::ext;
use crate::model::*;
use crate::resolve::{BUILTIN_SERVICES, Resolver, builtin_service};
use crate::syntax::{Assign, Block, BlockKind, Event, Events, Item, Quote, Span, Spanned, Token};

/// Keys accepted at top level.
pub const GLOBAL_KEYS: &[&str] = &[
    "serial_no",
    "primary",
    "primary_private",
    "primary_shared",
    "backup",
    "backup_private",
    "backup_shared",
    "backup_active",
    "service",
    "heartbeat",
    "heartbeat_port",
    "keepalive",
    "deadtime",
    "network",
    "nat_router",
    "nat_nmask",
    "reservation_conflict_action",
    "debug_level",
    "monitor_links",
    "syncdaemon",
    "syncd_iface",
    "syncd_id",
    "tcp_timeout",
    "tcpfin_timeout",
    "udp_timeout",
    "hard_shutdown",
    "active_cmd",
    "inactive_cmd",
    "rsh_command",
    "ipvsadm",
    "sync",
    "nanny_mode",
    "heartbeat_key_file",
    "arp_count",
    "arp_interval",
    "hot_standby",
];

/// Keys accepted in `virtual` and `failover` blocks (one parser in the
/// original; keys a failover does not use are warned about).
pub const VIRTUAL_KEYS: &[&str] = &[
    "active",
    "address",
    "vip_nmask",
    "sorry_server",
    "fwmark",
    "protocol",
    "port",
    "scheduler",
    "persistent",
    "pmask",
    "send",
    "expect",
    "use_regex",
    "send_program",
    "load_monitor",
    "timeout",
    "reentry",
    "quiesce_server",
    "client_monitor",
    "start_cmd",
    "stop_cmd",
    "master",
    "dirs",
];

/// Keys of a `failover` block the original `fos` daemon used.
const FAILOVER_USED: &[&str] = &[
    "active",
    "address",
    "vip_nmask",
    "port",
    "protocol",
    "send",
    "expect",
    "send_program",
    "timeout",
    "start_cmd",
    "stop_cmd",
];

/// Keys accepted in `server` blocks.
pub const SERVER_KEYS: &[&str] = &["address", "active", "weight", "port"];

/// Keys documented in lvs.cf(5) but never implemented by piranha.
const NEVER_IMPLEMENTED: &[&str] = &["mode", "heartbeat_dev", "debug"];

/// A timer as written: a value, or 0 (whose meaning depends on the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    Zero,
    Set(Seconds),
}

/// Lowers `src` into a config; `None` iff an error was reported.
pub(crate) fn lower(
    src: &str,
    resolver: &dyn Resolver,
    diags: &mut Vec<Diagnostic>,
) -> Option<Config> {
    if src.trim().is_empty() {
        diags.push(
            Diagnostic::error(
                Span {
                    offset: 0,
                    line: 1,
                    col: 1,
                    len: 0,
                },
                "empty configuration",
            )
            .with_hint("piranha refuses an empty lvs.cf too; see etc/lvs.cf for a sample"),
        );
        return None;
    }
    let mut syntax_diags = Vec::new();
    let mut lw = Lower {
        resolver,
        diags: Vec::new(),
        config: Config::default(),
        seen: HashMap::new(),
        primary_private_set: false,
        backup_private_at: None,
        virtual_names: HashMap::new(),
        failover_names: HashMap::new(),
    };
    // Top-level blocks are lowered while they stream in, so a block of any
    // size is never held whole as a tree (only one server block at a time).
    let mut open: Option<(Box<Block<'_>>, VState<'_>)> = None;
    for event in Events::new(src, &mut syntax_diags) {
        match event {
            Event::Item(Item::Assign(a)) => lw.global(&a),
            Event::Item(Item::Block(b)) => lw.top_block(&b),
            Event::Open(header) => {
                let st = lw.v_start(&header);
                open = Some((header, st));
            }
            Event::Inner(item) => {
                if let Some((header, st)) = open.as_mut() {
                    lw.v_item(header, st, &item);
                }
            }
            Event::Close(_) => {
                if let Some((header, st)) = open.take() {
                    let out = lw.v_end(&header, st);
                    lw.register(&header, out);
                }
            }
        }
    }
    lw.finish();
    diags.append(&mut syntax_diags);
    diags.append(&mut lw.diags);
    if diags.iter().any(|d| d.severity == crate::Severity::Error) {
        None
    } else {
        Some(lw.config)
    }
}

struct Lower<'r> {
    resolver: &'r dyn Resolver,
    diags: Vec<Diagnostic>,
    config: Config,
    /// Global keys already set, for "duplicate key" warnings.
    seen: HashMap<&'static str, Span>,
    primary_private_set: bool,
    backup_private_at: Option<Span>,
    virtual_names: HashMap<String, usize>,
    failover_names: HashMap<String, usize>,
}

/// How an integer was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IntForm {
    Decimal,
    Hex,
    /// Leading zero: the original's strtol read it as octal (`None` when
    /// it is not valid octal, which the original rejected).
    LeadingZero(Option<i64>),
}

/// Parses an integer the way we accept it: decimal (a leading zero stays
/// decimal) or `0x` hex, with an optional sign.
fn parse_int(s: &str) -> Option<(i64, IntForm)> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (mag, form) = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X"))
    {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        (i128::from_str_radix(hex, 16).ok()?, IntForm::Hex)
    } else {
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let dec: i128 = body.parse().ok()?;
        let form = if body.len() > 1 && body.starts_with('0') {
            IntForm::LeadingZero(i64::from_str_radix(body, 8).ok())
        } else {
            IntForm::Decimal
        };
        (dec, form)
    };
    // i128 so that i64::MIN, written out, reads back.
    let v = i64::try_from(if neg { -mag } else { mag }).ok()?;
    Some((v, form))
}

/// Byte index of the first backslash sequence nanny's `convert_str` did
/// not know (or of a trailing backslash).
fn first_unknown_escape(s: &str) -> Option<usize> {
    let mut it = s.char_indices();
    while let Some((i, c)) = it.next() {
        if c == '\\' {
            match it.next() {
                Some((_, 'n' | 'r' | 't' | '\\' | '\'' | '"')) => {}
                _ => return Some(i),
            }
        }
    }
    None
}

fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// Per-block bookkeeping for duplicate keys.
#[derive(Default)]
struct Seen(HashMap<&'static str, Span>);

/// The canonical `&'static str` of a known key (for maps keyed by key).
fn canonical(key: &str, table: &[&'static str]) -> Option<&'static str> {
    table.iter().copied().find(|k| *k == key)
}

/// A `virtual`/`failover` block being lowered.
struct VState<'a> {
    vs: VirtualServer,
    name_ok: bool,
    out_start: Option<String>,
    out_stop: Option<String>,
    seen: Seen,
    set: Vec<(&'static str, Span)>,
    server_spans: Vec<Span>,
    /// Server name → line of its block.
    server_names: HashMap<String, usize>,
    /// Servers whose port came from the virtual's port so far: a later
    /// `port =` does not reach them (original behaviour), so warn.
    defaulted: Vec<(String, usize, u16)>,
    /// Checked in [`Lower::v_end`]: `use_regex` may come after `expect`.
    send: Option<Spanned<Token<'a>>>,
    expect: Option<Spanned<Token<'a>>>,
    address_at: Option<Span>,
}

/// Result of lowering a `virtual`/`failover` block before it is split.
struct BlockOut {
    vs: VirtualServer,
    start_cmd: Option<String>,
    stop_cmd: Option<String>,
    set: Vec<(&'static str, Span)>,
    server_spans: Vec<Span>,
}

impl<'r> Lower<'r> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn error(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(span, msg));
    }

    fn note(&mut self, id: &'static str, span: Span) {
        self.diags.push(ext::note(id, span));
    }

    fn unknown_key(&mut self, a: &Assign<'_>, table: &[&str], place: &str) {
        let key = a.key.value;
        let mut d = Diagnostic::error(a.key.span, format!("unknown key \"{key}\" {place}"));
        if let Some(s) = did_you_mean(key, table.iter().copied()) {
            d.message = format!("unknown key \"{key}\" {place} — did you mean \"{s}\"?");
        } else if NEVER_IMPLEMENTED.contains(&key) {
            d = d.with_hint("lvs.cf(5) documents this key, but piranha never implemented it");
        } else if table.is_empty() {
            // nothing to suggest
        } else {
            d = d.with_hint(format!("valid keys here: {}", table.join(", ")));
        }
        self.push(d);
    }

    /// Records `key` as set in `seen`; warns about a duplicate.
    fn dup(
        diags: &mut Vec<Diagnostic>,
        seen: &mut HashMap<&'static str, Span>,
        key: &'static str,
        span: Span,
    ) {
        if let Some(prev) = seen.insert(key, span) {
            diags.push(
                Diagnostic::warning(
                    span,
                    format!(
                        "duplicate key \"{key}\"; this value replaces the one on line {}",
                        prev.line
                    ),
                )
                .with_hint("the last value wins, as in piranha; remove one of them"),
            );
        }
    }

    // ---- value helpers -------------------------------------------------

    /// Exactly one value.
    fn one<'a, 'b>(&mut self, a: &'b Assign<'a>) -> Option<&'b Spanned<Token<'a>>> {
        self.n_values(a, 1, "VALUE").map(|v| &v[0])
    }

    fn n_values<'a, 'b>(
        &mut self,
        a: &'b Assign<'a>,
        n: usize,
        form: &str,
    ) -> Option<&'b [Spanned<Token<'a>>]> {
        let key = a.key.value;
        if a.values.len() < n {
            let sp = a.values.last().map_or(a.span, |v| v.span);
            self.push(
                Diagnostic::error(sp, format!("missing value for \"{key}\""))
                    .with_hint(format!("write \"{key} = {form}\"")),
            );
            return None;
        }
        if a.values.len() > n {
            let first = a.values[n].span;
            let last = a.values[a.values.len() - 1].span;
            let sp = Span {
                len: (last.col + last.len).saturating_sub(first.col),
                ..first
            };
            self.push(
                Diagnostic::error(sp, format!("unexpected extra value for \"{key}\"")).with_hint(
                    format!("write \"{key} = {form}\"; quote a value that contains blanks"),
                ),
            );
            return None;
        }
        Some(&a.values[..n])
    }

    fn int(&mut self, t: &Spanned<Token<'_>>, what: &str) -> Option<i64> {
        let text = t.value.text();
        let Some((v, form)) = parse_int(&text) else {
            self.push(
                Diagnostic::error(
                    t.span,
                    format!("{what}: integer expected, found \"{text}\""),
                )
                .with_hint("write a decimal number, or hexadecimal with 0x"),
            );
            return None;
        };
        match form {
            IntForm::LeadingZero(Some(oct)) if oct != v => self.push(
                Diagnostic::warning(
                    t.span,
                    format!("leading zero: read as decimal {v}, but piranha 0.8.6 read \"{text}\" as octal, i.e. {oct}"),
                )
                .with_hint(format!("write {v} without the leading zero (or {oct} to keep the old value)")),
            ),
            IntForm::LeadingZero(None) => self.note("leading-zero-decimal", t.span),
            _ => {}
        }
        Some(v)
    }

    fn ranged(&mut self, t: &Spanned<Token<'_>>, what: &str, min: i64, max: i64) -> Option<i64> {
        let v = self.int(t, what)?;
        if v < min || v > max {
            self.error(
                t.span,
                format!("{what} must be between {min} and {max}, found {v}"),
            );
            return None;
        }
        Some(v)
    }

    fn u32_val(&mut self, t: &Spanned<Token<'_>>, what: &str) -> Option<u32> {
        self.ranged(t, what, 0, i64::from(u32::MAX))
            .and_then(|v| u32::try_from(v).ok())
    }

    fn boolean(&mut self, t: &Spanned<Token<'_>>, key: &str) -> Option<bool> {
        let text = t.value.text();
        match parse_int(&text) {
            Some((0, _)) => Some(false),
            Some((1, _)) => Some(true),
            _ => {
                self.push(Diagnostic::error(
                    t.span,
                    format!("{key}: boolean expected (0 or 1), found \"{text}\""),
                ));
                None
            }
        }
    }

    /// Seconds, integer or (extension) decimal fraction, through the one
    /// timer syntax nanny reads too ([`Seconds`]); what a written 0 means
    /// is each key's to say. `None` when an error was reported.
    fn timer(&mut self, t: &Spanned<Token<'_>>, key: &str) -> Option<Timer> {
        let text = t.value.text();
        let parsed = if text.contains('.') {
            let parsed = text.parse::<Seconds>();
            if parsed.is_ok() {
                self.note("fractional-timer", t.span);
            }
            parsed
        } else {
            // Integers as every other integer of the file (hex, the
            // leading-zero warning).
            let v = self.int(t, key)?;
            match u64::try_from(v) {
                Ok(s) => Seconds::from_secs(s),
                Err(_) => {
                    self.error(t.span, format!("{key} must not be negative"));
                    return None;
                }
            }
        };
        match parsed {
            Ok(s) => Some(Timer::Set(s)),
            Err(SecondsError::Zero) => Some(Timer::Zero),
            Err(SecondsError::Syntax) => {
                self.error(
                    t.span,
                    format!("{key}: number of seconds expected, found \"{text}\""),
                );
                None
            }
            Err(e) => {
                self.push(
                    Diagnostic::error(t.span, format!("{key} {text} {e}")).with_hint(
                        "timers run from 0.001 s, in steps of 1 ms, as nanny reads them",
                    ),
                );
                None
            }
        }
    }

    fn port(&mut self, t: &Spanned<Token<'_>>, key: &str, real: bool) -> Option<u16> {
        let text = t.value.text();
        if text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') {
            let v = self.int(t, key)?;
            return match u16::try_from(v) {
                Ok(p) if p > 0 => Some(p),
                _ => {
                    self.error(
                        t.span,
                        format!("{key} must be between 1 and 65535, found {v}"),
                    );
                    None
                }
            };
        }
        let found = match self.resolver.service(&text) {
            Some(p) => Some(p),
            None => {
                let p = builtin_service(&text);
                if p.is_some() {
                    self.note("builtin-service-name", t.span);
                }
                p
            }
        };
        match found {
            Some(p) if p > 0 => {
                if real {
                    self.note("service-name-real-port", t.span);
                }
                Some(p)
            }
            _ => {
                let mut d =
                    Diagnostic::error(t.span, format!("{key}: unknown service name \"{text}\""));
                d = match did_you_mean(&text, BUILTIN_SERVICES.iter().map(|(n, _)| *n)) {
                    Some(s) => {
                        d.with_hint(format!("did you mean \"{s}\"? or write the port number"))
                    }
                    None => d.with_hint("write the port number, or a name from /etc/services"),
                };
                self.push(d);
                None
            }
        }
    }

    fn ip_literal(&mut self, t: &Spanned<Token<'_>>) -> Option<IpAddr> {
        let ip: IpAddr = t.value.text().parse().ok()?;
        if ip.is_ipv6() {
            self.note("ipv6", t.span);
        }
        Some(ip)
    }

    /// An IP literal, or a host name resolved now (as the original did).
    fn host(&mut self, t: &Spanned<Token<'_>>, key: &str) -> Option<IpAddr> {
        if let Some(ip) = self.ip_literal(t) {
            return Some(ip);
        }
        let text = t.value.text();
        // All digits and dots: a mistyped address, not a host name.
        let numeric = text.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        if numeric || !is_hostname(&text) {
            self.push(
                Diagnostic::error(
                    t.span,
                    format!("{key}: invalid IP address or host name \"{text}\""),
                )
                .with_hint("write an IPv4 address such as 192.0.2.10"),
            );
            return None;
        }
        match self.resolver.host(&text) {
            Some(ip) => Some(ip),
            None => {
                self.push(
                    Diagnostic::error(t.span, format!("{key}: cannot resolve host name \"{text}\""))
                        .with_hint("host names are resolved once, when the file is loaded; write the IP address"),
                );
                None
            }
        }
    }

    /// A host address that must not be the unspecified address.
    fn set_host(&mut self, t: &Spanned<Token<'_>>, key: &str) -> Option<IpAddr> {
        let ip = self.host(t, key)?;
        if ip.is_unspecified() {
            self.error(t.span, format!("{key}: {ip} is not a usable address"));
            return None;
        }
        Some(ip)
    }

    /// `IP DEVICE`.
    fn addr_dev(&mut self, a: &Assign<'_>) -> Option<InterfaceAddress> {
        let key = a.key.value;
        if a.values.len() == 1 {
            let sp = a.values[0].span;
            self.push(
                Diagnostic::error(
                    sp,
                    format!("\"{key}\" needs an interface after the address"),
                )
                .with_hint(format!(
                    "write \"{key} = {} eth0:1\"",
                    a.values[0].value.text()
                )),
            );
            return None;
        }
        let v = self.n_values(a, 2, "IP DEVICE")?;
        let addr = self.set_host(&v[0], key)?;
        let device = v[1].value.text();
        if device.is_empty() {
            self.error(v[1].span, format!("{key}: empty interface name"));
            return None;
        }
        Some(InterfaceAddress { addr, device })
    }

    /// Netmask: dotted IPv4 mask, or (extension) a prefix length.
    fn netmask(&mut self, t: &Spanned<Token<'_>>, key: &str) -> Option<Option<Netmask>> {
        let text = t.value.text();
        if let Ok(m) = text.parse::<Ipv4Addr>() {
            return Some((!m.is_unspecified()).then_some(Netmask::V4(m)));
        }
        if !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit())
            && let Ok(p @ 0..=128) = text.parse::<u8>()
        {
            self.note("ipv6", t.span);
            return Some(Some(Netmask::Prefix(p)));
        }
        self.push(
            Diagnostic::error(t.span, format!("{key}: bad subnet mask \"{text}\"")).with_hint(
                "write a dotted mask such as 255.255.255.0 (or a prefix length for IPv6)",
            ),
        );
        None
    }

    fn string(t: &Spanned<Token<'_>>) -> String {
        t.value.text()
    }

    // ---- globals ------------------------------------------------------

    fn global(&mut self, a: &Assign<'_>) {
        let Some(key) = canonical(a.key.value, GLOBAL_KEYS) else {
            self.unknown_key(a, GLOBAL_KEYS, "at top level");
            return;
        };
        Self::dup(&mut self.diags, &mut self.seen, key, a.key.span);
        if key == "nat_router" {
            if let Some(v) = self.addr_dev(a) {
                self.config.nat_router = Some(v);
            }
            return;
        }
        let Some(t) = self.one(a) else { return };
        let c = &mut self.config;
        macro_rules! set {
            ($field:expr, $val:expr) => {
                if let Some(v) = $val {
                    $field = v;
                }
            };
        }
        match key {
            "serial_no" => {
                let v = self.int(t, key);
                set!(self.config.serial_no, v);
            }
            "primary" => {
                let v = self.set_host(t, key).map(Some);
                set!(self.config.primary, v);
            }
            "primary_private" => {
                self.primary_private_set = true;
                let v = self.set_host(t, key).map(Some);
                set!(self.config.primary_private, v);
            }
            "primary_shared" => c.primary_shared = Some(Self::string(t)),
            "backup" => {
                let v = self.host(t, key).map(Some);
                set!(self.config.backup, v);
            }
            "backup_private" => {
                self.backup_private_at = Some(a.key.span);
                let v = self.set_host(t, key).map(Some);
                set!(self.config.backup_private, v);
            }
            "backup_shared" => c.backup_shared = Some(Self::string(t)),
            "backup_active" => {
                let v = self.boolean(t, key);
                set!(self.config.backup_active, v);
            }
            "service" => match t.value.text().as_str() {
                "lvs" => c.service = ServiceKind::Lvs,
                "fos" => c.service = ServiceKind::Fos,
                other => {
                    let d = Diagnostic::error(
                        t.span,
                        format!("service must be \"lvs\" or \"fos\", found \"{other}\""),
                    );
                    self.push(d);
                }
            },
            "heartbeat" => {
                let v = self.boolean(t, key);
                set!(self.config.heartbeat, v);
            }
            "heartbeat_port" => {
                let v = self.port(t, key, false);
                set!(self.config.heartbeat_port, v);
            }
            "keepalive" | "deadtime" => match self.timer(t, key) {
                Some(Timer::Zero) => self.error(t.span, format!("{key} must be greater than 0")),
                Some(Timer::Set(v)) if key == "keepalive" => {
                    self.config.keepalive = v.as_duration()
                }
                Some(Timer::Set(v)) => self.config.deadtime = v.as_duration(),
                None => {}
            },
            "network" => {
                let text = t.value.text();
                match Forwarding::from_keyword(&text) {
                    Some(f) => c.network = f,
                    None => self.enum_error(t, key, &text, &["nat", "direct", "tunnel"]),
                }
            }
            "nat_nmask" => {
                let v = self.netmask(t, key);
                set!(self.config.nat_nmask, v);
            }
            "reservation_conflict_action" => {
                let text = Self::string(t);
                if text != "nothing" && text != "preempt" {
                    self.push(
                        Diagnostic::warning(t.span, format!("reservation_conflict_action \"{text}\" is neither \"nothing\" nor \"preempt\"")),
                    );
                }
                self.config.reservation_conflict_action = Some(text);
            }
            "debug_level" => c.debug_level = Self::string(t),
            "monitor_links" => {
                let v = self.int(t, key).map(|v| v != 0);
                set!(self.config.monitor_links, v);
            }
            "syncdaemon" => {
                let v = self.boolean(t, key);
                set!(self.config.syncdaemon, v);
            }
            "syncd_iface" => c.syncd_iface = Self::string(t),
            "syncd_id" => {
                if let Some(v) = self.int(t, key) {
                    let masked = u8::try_from(v & 0xff).unwrap_or_default();
                    if !(0..=255).contains(&v) {
                        self.push(
                            Diagnostic::warning(t.span, format!("syncd_id {v} is out of range 0–255; the sync daemon gets {masked} (its low 8 bits), as in piranha"))
                                .with_hint(format!("write {masked}")),
                        );
                    }
                    self.config.syncd_id = masked;
                }
            }
            "tcp_timeout" => {
                let v = self.u32_val(t, key);
                set!(self.config.tcp_timeout, v);
            }
            "tcpfin_timeout" => {
                let v = self.u32_val(t, key);
                set!(self.config.tcpfin_timeout, v);
            }
            "udp_timeout" => {
                let v = self.u32_val(t, key);
                set!(self.config.udp_timeout, v);
            }
            "hard_shutdown" => {
                let v = self.boolean(t, key);
                set!(self.config.hard_shutdown, v);
            }
            "active_cmd" => c.active_cmd = Some(Self::string(t)),
            "inactive_cmd" => c.inactive_cmd = Some(Self::string(t)),
            "rsh_command" => c.rsh_command = Self::string(t),
            "ipvsadm" => c.ipvsadm = Self::string(t),
            "sync" => {
                let v = self.boolean(t, key);
                set!(self.config.sync, v);
            }
            "nanny_mode" => {
                self.note("nanny-mode", a.key.span);
                match t.value.text().as_str() {
                    "process" => self.config.nanny_mode = NannyMode::Process,
                    "shared" => self.config.nanny_mode = NannyMode::Shared,
                    other => self.enum_error(t, key, other, &["process", "shared"]),
                }
            }
            "heartbeat_key_file" | "arp_count" | "arp_interval" | "hot_standby" => {
                self.pulse_extension(a, key, t);
            }
            _ => self.unknown_key(a, GLOBAL_KEYS, "at top level"),
        }
    }

    /// The global keys of pulse's extensions (each noted as one).
    fn pulse_extension(&mut self, a: &Assign<'_>, key: &'static str, t: &Spanned<Token<'_>>) {
        match key {
            "heartbeat_key_file" => {
                self.note("heartbeat-auth", a.key.span);
                let path = Self::string(t);
                if path.is_empty() {
                    self.error(t.span, "heartbeat_key_file: a file name expected");
                } else {
                    self.config.heartbeat_key_file = Some(path);
                }
            }
            "arp_count" => {
                self.note("arp-schedule", a.key.span);
                if let Some(v) = self.ranged(t, key, 1, 100) {
                    self.config.arp_count = u32::try_from(v).unwrap_or(DEFAULT_ARP_COUNT);
                }
            }
            "arp_interval" => {
                self.note("arp-schedule", a.key.span);
                match self.timer(t, key) {
                    Some(Timer::Set(v)) => self.config.arp_interval = v.as_duration(),
                    Some(Timer::Zero) => self.error(t.span, "arp_interval must be greater than 0"),
                    None => {}
                }
            }
            "hot_standby" => {
                self.note("hot-standby", a.key.span);
                if let Some(v) = self.boolean(t, key) {
                    self.config.hot_standby = v;
                }
            }
            _ => self.unknown_key(a, GLOBAL_KEYS, "at top level"),
        }
    }

    fn enum_error(&mut self, t: &Spanned<Token<'_>>, key: &str, found: &str, valid: &[&str]) {
        let mut d = Diagnostic::error(t.span, format!("unknown {key} \"{found}\""));
        d = match did_you_mean(found, valid.iter().copied()) {
            Some(s) => d.with_hint(format!("did you mean \"{s}\"?")),
            None => d.with_hint(format!("valid values: {}", valid.join(", "))),
        };
        self.push(d);
    }

    // ---- blocks -------------------------------------------------------

    /// A complete top-level block.
    fn top_block(&mut self, b: &Block<'_>) {
        if b.kind.value == BlockKind::Server {
            // Already reported by the syntax layer; check its contents
            // anyway so that every problem shows in one run.
            let _ = self.server(b, DEFAULT_PORT);
            return;
        }
        let out = self.vblock(b);
        self.register(b, out);
    }

    /// Adds a lowered `virtual`/`failover` block to the config.
    fn register(&mut self, b: &Block<'_>, out: Option<BlockOut>) {
        match b.kind.value {
            BlockKind::Server => {}
            BlockKind::Virtual => {
                let Some(out) = out else { return };
                if !self.unique_name(b, &out.vs.name, true) {
                    return;
                }
                for (key, sp) in &out.set {
                    if matches!(*key, "start_cmd" | "stop_cmd") {
                        self.push(Diagnostic::warning(
                            *sp,
                            format!(
                                "\"{key}\" is only used by failover blocks; ignored in a virtual"
                            ),
                        ));
                    }
                }
                self.config.virtuals.push(out.vs);
            }
            BlockKind::Failover => {
                let Some(out) = out else { return };
                for (key, sp) in &out.set {
                    if !FAILOVER_USED.contains(key) {
                        self.push(Diagnostic::warning(
                            *sp,
                            format!("\"{key}\" has no effect in a failover block"),
                        ));
                    }
                }
                for sp in &out.server_spans {
                    self.push(Diagnostic::warning(
                        *sp,
                        "server blocks have no effect in a failover block",
                    ));
                }
                if !self.unique_name(b, &out.vs.name, false) {
                    return;
                }
                let vs = out.vs;
                self.config.failovers.push(FailoverService {
                    name: vs.name,
                    active: vs.active,
                    address: vs.address,
                    vip_nmask: vs.vip_nmask,
                    port: vs.port,
                    protocol: vs.protocol,
                    send: vs.send,
                    expect: vs.expect,
                    send_program: vs.send_program,
                    timeout: vs.timeout,
                    start_cmd: out.start_cmd,
                    stop_cmd: out.stop_cmd,
                });
            }
        }
    }

    /// Registers a virtual/failover name; reports a duplicate.
    fn unique_name(&mut self, b: &Block<'_>, name: &str, virt: bool) -> bool {
        let line = b.kind.span.line;
        let map = if virt {
            &mut self.virtual_names
        } else {
            &mut self.failover_names
        };
        if let Some(first) = map.get(name).copied() {
            let sp = b.name.as_ref().map_or(b.kind.span, |n| n.span);
            self.push(
                Diagnostic::error(
                    sp,
                    format!("duplicate {} name \"{name}\"", b.kind.value.as_str()),
                )
                .with_hint(format!(
                    "the first one is on line {first}; names must be unique"
                )),
            );
            return false;
        }
        map.insert(name.to_owned(), line);
        true
    }

    fn block_name(&mut self, b: &Block<'_>) -> Option<String> {
        let n = b.name.as_ref()?;
        let name = n.value.text();
        if name.is_empty() {
            self.error(n.span, format!("empty {} name", b.kind.value.as_str()));
            return None;
        }
        Some(name)
    }

    /// A `virtual` or `failover` block (one parser in the original),
    /// given whole (see [`Lower::v_start`] for the streamed form).
    fn vblock<'a>(&mut self, b: &Block<'a>) -> Option<BlockOut> {
        let mut st = self.v_start(b);
        for item in &b.items {
            self.v_item(b, &mut st, item);
        }
        self.v_end(b, st)
    }

    /// Starts a `virtual`/`failover` block from its header; its items
    /// follow through [`Lower::v_item`], then [`Lower::v_end`].
    fn v_start<'a>(&mut self, b: &Block<'_>) -> VState<'a> {
        let name = self.block_name(b);
        VState {
            vs: VirtualServer::new(name.clone().unwrap_or_default()),
            name_ok: name.is_some(),
            out_start: None,
            out_stop: None,
            seen: Seen::default(),
            set: Vec::new(),
            server_spans: Vec::new(),
            server_names: HashMap::new(),
            defaulted: Vec::new(),
            send: None,
            expect: None,
            address_at: None,
        }
    }

    /// One item of a `virtual`/`failover` block.
    fn v_item<'a>(&mut self, b: &Block<'_>, st: &mut VState<'a>, item: &Item<'a>) {
        let VState {
            vs,
            out_start,
            out_stop,
            seen,
            set,
            server_spans,
            server_names,
            defaulted,
            send,
            expect,
            address_at,
            ..
        } = st;
        let a = match item {
            Item::Block(sb) => {
                server_spans.push(sb.kind.span);
                let Some((rs, port_set)) = self.server(sb, vs.port) else {
                    return;
                };
                if let Some(first) = server_names.get(&rs.name) {
                    let sp = sb.name.as_ref().map_or(sb.kind.span, |n| n.span);
                    self.push(
                        Diagnostic::error(
                            sp,
                            format!(
                                "duplicate server name \"{}\" in {} \"{}\"",
                                rs.name,
                                b.kind.value.as_str(),
                                vs.name
                            ),
                        )
                        .with_hint(format!(
                            "the first one is on line {first}; names must be unique within a block"
                        )),
                    );
                    return;
                }
                server_names.insert(rs.name.clone(), sb.kind.span.line);
                if !port_set {
                    defaulted.push((rs.name.clone(), sb.kind.span.line, rs.port));
                }
                vs.servers.push(rs);
                return;
            }
            Item::Assign(a) => a,
        };
        let Some(key) = canonical(a.key.value, VIRTUAL_KEYS) else {
            let place = format!("in {} \"{}\"", b.kind.value.as_str(), vs.name);
            self.unknown_key(a, VIRTUAL_KEYS, &place);
            return;
        };
        Self::dup(&mut self.diags, &mut seen.0, key, a.key.span);
        set.push((key, a.key.span));
        match key {
            "address" => {
                *address_at = Some(a.key.span);
                if let Some(v) = self.addr_dev(a) {
                    vs.address = Some(v);
                }
                return;
            }
            "dirs" => {
                if let Some(d) = self.dirs(a) {
                    vs.dirs = d;
                }
                return;
            }
            _ => {}
        }
        let Some(t) = self.one(a) else { return };
        match key {
            "active" => {
                if let Some(v) = self.boolean(t, key) {
                    vs.active = v;
                }
            }
            "vip_nmask" => {
                if let Some(v) = self.netmask(t, key) {
                    vs.vip_nmask = v;
                }
            }
            "sorry_server" => match self.ip_literal(t) {
                Some(ip) if !ip.is_unspecified() => vs.sorry_server = Some(ip),
                _ => self.push(
                    Diagnostic::error(
                        t.span,
                        format!("sorry_server: invalid IP address \"{}\"", t.value.text()),
                    )
                    .with_hint("sorry_server takes an IP address, not a host name (as in piranha)"),
                ),
            },
            "fwmark" => {
                if let Some(v) = self.u32_val(t, key) {
                    vs.fwmark = (v != 0).then_some(v);
                }
            }
            "protocol" => {
                let text = t.value.text();
                match Protocol::from_keyword(&text) {
                    Some(p) => {
                        if p == Protocol::Sctp {
                            self.note("sctp", t.span);
                        }
                        vs.protocol = p;
                    }
                    None => self.enum_error(t, key, &text, &["tcp", "udp", "sctp"]),
                }
            }
            "port" => {
                if let Some(p) = self.port(t, key, false) {
                    vs.port = p;
                    for (name, line, kept) in defaulted.iter() {
                        if *kept != p {
                            self.diags.push(
                                Diagnostic::warning(
                                    t.span,
                                    format!("port {p} does not apply to server \"{name}\" (line {line}) declared above it; that server keeps port {kept}, as in piranha"),
                                )
                                .with_hint("move \"port =\" above the server blocks, or set \"port\" in the server"),
                            );
                        }
                    }
                }
            }
            "scheduler" => {
                let text = t.value.text();
                match Scheduler::from_keyword(&text) {
                    Some(s) => {
                        if !s.known_to_original() {
                            self.note("new-scheduler", t.span);
                        }
                        vs.scheduler = s;
                    }
                    None => {
                        let names: Vec<&str> = Scheduler::ALL.iter().map(|s| s.as_str()).collect();
                        self.enum_error(t, key, &text, &names);
                    }
                }
            }
            "persistent" => {
                if let Some(v) = self.u32_val(t, key) {
                    vs.persistent = v;
                }
            }
            "pmask" => {
                if let Some(v) = self.netmask(t, key) {
                    // The original turned the all-ones mask into "none".
                    vs.pmask = v.filter(|m| *m != Netmask::V4(Ipv4Addr::BROADCAST));
                }
            }
            "send" => *send = Some(*t),
            "expect" => *expect = Some(*t),
            "use_regex" => {
                if let Some(v) = self.boolean(t, key) {
                    vs.use_regex = v;
                }
            }
            "send_program" => vs.send_program = Some(Self::string(t)),
            "load_monitor" => vs.load_monitor = Some(LoadMonitor::from_keyword(&Self::string(t))),
            "timeout" => match self.timer(t, key) {
                Some(Timer::Zero) => self.push(
                    Diagnostic::error(t.span, "timeout must be greater than 0")
                        .with_hint("piranha's nanny divided by it and crashed"),
                ),
                Some(Timer::Set(v)) => vs.timeout = v,
                None => {}
            },
            "reentry" => {
                if let Some(v) = self.timer(t, key) {
                    if let Timer::Set(v) = v {
                        vs.reentry = v;
                    } else {
                        self.push(
                            Diagnostic::warning(
                                t.span,
                                "reentry = 0 means the default, 180 seconds (as nanny read it)",
                            )
                            .with_hint("write 180, or leave the key out"),
                        );
                        vs.reentry = DEFAULT_REENTRY;
                    }
                }
            }
            "quiesce_server" => {
                if let Some(v) = self.boolean(t, key) {
                    vs.quiesce_server = v;
                }
            }
            "client_monitor" => {
                let p = Self::string(t);
                if !p.starts_with('/') {
                    self.push(
                        Diagnostic::warning(t.span, "client_monitor is not an absolute path")
                            .with_hint("lvsd runs it without a PATH search"),
                    );
                } else if self.resolver.program(&p) == Some(false) {
                    self.push(
                        Diagnostic::warning(
                            t.span,
                            format!("client_monitor {p} is not an executable file here"),
                        )
                        .with_hint(
                            "lvsd cannot start this virtual's monitors, and takes its servers \
                             out of the table until one runs",
                        ),
                    );
                }
                vs.client_monitor = p;
            }
            "start_cmd" => *out_start = Some(Self::string(t)),
            "stop_cmd" => *out_stop = Some(Self::string(t)),
            "master" => {
                if let Some(ip) = self.host(t, key) {
                    vs.master = Some(ip);
                }
            }
            _ => {
                let place = format!("in {} \"{}\"", b.kind.value.as_str(), vs.name);
                self.unknown_key(a, VIRTUAL_KEYS, &place);
            }
        }
    }

    /// Finishes a `virtual`/`failover` block.
    fn v_end(&mut self, b: &Block<'_>, st: VState<'_>) -> Option<BlockOut> {
        let VState {
            mut vs,
            name_ok,
            out_start,
            out_stop,
            set,
            server_spans,
            send,
            expect,
            address_at,
            ..
        } = st;
        // send/expect are checked once the block is complete: `use_regex`
        // may come after `expect`.
        if let Some(t) = send {
            vs.send = self.check_string(&t, "send", false);
        }
        if let Some(t) = expect {
            // use_regex has no effect in a failover block (fos had no regex).
            let regex = vs.use_regex && b.kind.value == BlockKind::Virtual;
            vs.expect = self.check_string(&t, "expect", regex);
        }
        if vs.send.is_some()
            && vs.send_program.is_some()
            && let Some(t) = send
        {
            {
                self.push(Diagnostic::warning(
                    t.span,
                    "send is ignored because send_program is set (nanny logs \"IGNORING send string\")",
                ));
            }
        }
        if vs.active
            && vs.address.is_none()
            && address_at.is_none()
            && b.kind.value == BlockKind::Virtual
        {
            let sp = b.name.as_ref().map_or(b.kind.span, |n| n.span);
            self.push(
                Diagnostic::error(sp, format!("active virtual \"{}\" has no address", vs.name))
                    .with_hint("add \"address = VIP DEVICE\", e.g. address = 203.0.113.10 eth0:1 (fwmark services need it too)"),
            );
        }
        if !name_ok {
            return None;
        }
        Some(BlockOut {
            vs,
            start_cmd: out_start,
            stop_cmd: out_stop,
            set,
            server_spans,
        })
    }

    /// `dirs = [ a b c ]`.
    fn dirs(&mut self, a: &Assign<'_>) -> Option<Vec<String>> {
        let v = &a.values;
        let ok = v.len() >= 2
            && v[0].value.raw == "["
            && v[v.len() - 1].value.raw == "]"
            && v[0].value.quote == Quote::Bare
            && v[v.len() - 1].value.quote == Quote::Bare;
        if !ok {
            self.push(
                Diagnostic::error(a.span, "dirs: list expected")
                    .with_hint("write \"dirs = [ DIR DIR … ]\" with blanks around the brackets"),
            );
            return None;
        }
        Some(v[1..v.len() - 1].iter().map(Self::string).collect())
    }

    /// Validates a send/expect value. With `regex`, the text is kept as
    /// written; otherwise nanny's escapes are decoded and any other
    /// backslash sequence is an error (it hung the original nanny).
    fn check_string(
        &mut self,
        t: &Spanned<Token<'_>>,
        key: &str,
        regex: bool,
    ) -> Option<CheckString> {
        if t.value.quote == Quote::Single {
            self.push(
                Diagnostic::warning(t.span, format!("single-quoted {key}: piranha 0.8.6 passed the quotes to nanny, which used them literally"))
                    .with_hint("use double quotes"),
            );
        }
        let inner = t.value.inner();
        let raw = t.value.raw.to_owned();
        if regex {
            if let Some(i) = first_unknown_escape(inner) {
                let q = usize::from(t.value.quote != Quote::Bare);
                let sp = Span {
                    offset: t.span.offset + q + i,
                    col: t.span.col + q + inner[..i].chars().count(),
                    len: 2,
                    ..t.span
                };
                self.push(
                    Diagnostic::warning(sp, "piranha 0.8.6's nanny hangs on this escape even with use_regex = 1; only routers running this nanny can use it")
                        .with_hint("for a literal dot, \"[.]\" works with both"),
                );
            }
            return Some(CheckString {
                text: inner.to_owned(),
                raw,
            });
        }
        // nanny left strings of one character alone.
        if inner.chars().count() <= 1 {
            return Some(CheckString {
                text: inner.to_owned(),
                raw,
            });
        }
        let mut text = String::with_capacity(inner.len());
        let mut chars = inner.char_indices();
        let mut bad = false;
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                text.push(c);
                continue;
            }
            let next = chars.next().map(|(_, n)| n);
            let decoded = match next {
                Some('n') => '\n',
                Some('r') => '\r',
                Some('t') => '\t',
                Some('\\') => '\\',
                Some('\'') => '\'',
                Some('"') => '"',
                other => {
                    bad = true;
                    let col_in = inner[..i].chars().count();
                    // +1 for the opening quote of a quoted token.
                    let q = usize::from(t.value.quote != Quote::Bare);
                    let sp = Span {
                        offset: t.span.offset + q + i,
                        col: t.span.col + q + col_in,
                        len: if other.is_some() { 2 } else { 1 },
                        ..t.span
                    };
                    let shown = other.map_or_else(|| "\\".to_owned(), |n| format!("\\{n}"));
                    let hint = if key == "expect" {
                        "allowed: \\n \\r \\t \\\\ \\' \\\"; for a regular expression set use_regex = 1"
                    } else {
                        "allowed: \\n \\r \\t \\\\ \\' \\\""
                    };
                    self.push(
                        Diagnostic::error(sp, format!("unknown escape \"{shown}\" in {key} (piranha's nanny hung forever on it)"))
                            .with_hint(hint),
                    );
                    continue;
                }
            };
            text.push(decoded);
        }
        (!bad).then_some(CheckString { text, raw })
    }

    /// A `server` block; returns the server and whether `port` was set in it.
    fn server(&mut self, b: &Block<'_>, vport: u16) -> Option<(RealServer, bool)> {
        let name = self.block_name(b);
        let mut seen = Seen::default();
        let mut address = None;
        let mut active = false;
        let mut weight = DEFAULT_WEIGHT;
        let mut port = vport;
        let mut port_set = false;
        let mut failed = false;
        for item in &b.items {
            let Item::Assign(a) = item else {
                // Nested blocks were reported by the syntax layer.
                continue;
            };
            let Some(key) = canonical(a.key.value, SERVER_KEYS) else {
                let place = format!("in server \"{}\"", name.as_deref().unwrap_or(""));
                self.unknown_key(a, SERVER_KEYS, &place);
                continue;
            };
            Self::dup(&mut self.diags, &mut seen.0, key, a.key.span);
            let Some(t) = self.one(a) else {
                failed |= key == "address";
                continue;
            };
            match key {
                "address" => match self.set_host(t, key) {
                    Some(ip) => address = Some(ip),
                    None => failed = true,
                },
                "active" => {
                    if let Some(v) = self.boolean(t, key) {
                        active = v;
                    }
                }
                "weight" => {
                    if let Some(v) = self.ranged(t, key, 0, 65535) {
                        weight = if v == 0 {
                            self.push(
                                Diagnostic::warning(
                                    t.span,
                                    "weight = 0 behaves as weight 1 (as in piranha)",
                                )
                                .with_hint("write 1; to take a server out, set active = 0"),
                            );
                            1
                        } else {
                            u32::try_from(v).unwrap_or(DEFAULT_WEIGHT)
                        };
                    }
                }
                "port" => {
                    if let Some(p) = self.port(t, key, true) {
                        port = p;
                        port_set = true;
                    }
                }
                _ => {}
            }
        }
        let name = name?;
        let Some(address) = address else {
            if !failed {
                let sp = b.name.as_ref().map_or(b.kind.span, |n| n.span);
                self.push(
                    Diagnostic::error(sp, format!("server \"{name}\" has no address"))
                        .with_hint("add \"address = IP\""),
                );
            }
            return None;
        };
        Some((
            RealServer {
                name,
                address,
                active,
                weight,
                port,
            },
            port_set,
        ))
    }

    // ---- whole-file rules ----------------------------------------------

    fn finish(&mut self) {
        let c = &mut self.config;
        // Original rule: with `primary` and no `primary_private`, the private
        // path is the public one on both sides, whatever backup_private says.
        if c.primary.is_some() && !self.primary_private_set {
            c.primary_private = c.primary;
            if let Some(sp) = self.backup_private_at
                && c.backup_private != c.backup
            {
                self.diags.push(
                    Diagnostic::warning(sp, "backup_private is ignored because primary_private is not set; the backup address is used (as in piranha)")
                        .with_hint("set primary_private as well"),
                );
            }
            c.backup_private = c.backup;
        }
        if c.deadtime <= c.keepalive {
            let sp = self
                .seen
                .get("deadtime")
                .or_else(|| self.seen.get("keepalive"))
                .copied();
            if let Some(sp) = sp {
                self.diags.push(
                    Diagnostic::warning(sp, format!("deadtime ({:?}) is not longer than keepalive ({:?}): the partner would be declared dead between two heartbeats", c.deadtime, c.keepalive)),
                );
            }
        }
        if c.backup_active
            && c.backup.is_none_or(|b| b.is_unspecified())
            && let Some(sp) = self.seen.get("backup_active").copied()
        {
            {
                self.diags.push(Diagnostic::warning(
                    sp,
                    "backup_active = 1 but no backup address; pulse ignores backup_active",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints() {
        assert_eq!(parse_int("10"), Some((10, IntForm::Decimal)));
        assert_eq!(parse_int("0x1F"), Some((31, IntForm::Hex)));
        assert_eq!(parse_int("010"), Some((10, IntForm::LeadingZero(Some(8)))));
        assert_eq!(parse_int("08"), Some((8, IntForm::LeadingZero(None))));
        assert_eq!(parse_int("-3"), Some((-3, IntForm::Decimal)));
        assert_eq!(parse_int("0"), Some((0, IntForm::Decimal)));
        assert_eq!(parse_int("0x"), None);
        assert_eq!(parse_int("1e3"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("99999999999999999999"), None);
    }
}
