//! Writer: [`Config`] → lvs.cf text.
//!
//! Layout and key order are those of the piranha GUI (globals first, then
//! `failover` blocks, then `virtual` blocks; 5 spaces before virtual keys, 9
//! before server keys). Keys the GUI always wrote are always written; the
//! others only when they differ from the default, so a file that uses no
//! extension feature in its values loads on piranha 0.8.6 too. `parse`
//! of the output gives back an equal [`Config`].

use std::fmt::Write as _;
use std::time::Duration;

use crate::model::*;

const VKEY: &str = "     ";
const SKEY: &str = "         ";

/// Writes `config` as lvs.cf text.
pub fn write(config: &Config) -> String {
    let mut w = Writer::default();
    w.globals(config);
    for f in &config.failovers {
        w.failover(f);
    }
    for v in &config.virtuals {
        w.virtual_server(v);
    }
    w.out
}

impl Config {
    /// This config as lvs.cf text (see [`write()`]).
    pub fn to_lvs_cf(&self) -> String {
        write(self)
    }
}

/// A plain string value: bare when that reads back the same, else
/// double-quoted with `\` and `"` escaped.
fn string(s: &str) -> String {
    let bare = !s.is_empty()
        && !s.starts_with(['"', '\'', '#'])
        && !s.chars().any(|c| c == ' ' || c == '\t' || c.is_control());
    if bare {
        return s.to_owned();
    }
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// A block name; `=` first would read as an assignment.
fn name(s: &str) -> String {
    if s.starts_with('=') || s.contains(['{', '}', '#']) {
        let mut q = string(&format!(" {s}"));
        // `string` quoted it because of the leading blank we added; remove
        // that blank again.
        q.replace_range(1..2, "");
        q
    } else {
        string(s)
    }
}

/// A heartbeat timer (kept as a `Duration` for pulse) in the timer
/// syntax. A duration finer than the millisecond cannot be written in it:
/// it is written to the nanosecond, which the parser then refuses at its
/// place rather than reading back a different value.
fn duration(d: Duration) -> String {
    match Seconds::try_from(d) {
        Ok(s) => s.to_string(),
        Err(_) => {
            let frac = format!("{:09}", d.subsec_nanos());
            format!("{}.{}", d.as_secs(), frac.trim_end_matches('0'))
        }
    }
}

fn flag(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

fn addr_dev(a: &InterfaceAddress) -> String {
    format!("{} {}", a.addr, string(&a.device))
}

#[derive(Default)]
struct Writer {
    out: String,
}

impl Writer {
    fn kv(&mut self, indent: &str, key: &str, value: impl std::fmt::Display) {
        let _ = writeln!(self.out, "{indent}{key} = {value}");
    }

    fn globals(&mut self, c: &Config) {
        let d = Config::default();
        self.kv("", "serial_no", c.serial_no);
        if let Some(ip) = c.primary {
            self.kv("", "primary", ip);
        }
        // Always explicit: without it the original's forcing rule would
        // override backup_private on reading.
        if let Some(ip) = c.primary_private {
            self.kv("", "primary_private", ip);
        }
        if let Some(s) = &c.primary_shared {
            self.kv("", "primary_shared", string(s));
        }
        self.kv("", "service", c.service.as_str());
        if c.rsh_command != d.rsh_command {
            self.kv("", "rsh_command", string(&c.rsh_command));
        }
        self.kv("", "backup_active", flag(c.backup_active));
        if let Some(ip) = c.backup {
            self.kv("", "backup", ip);
        }
        if let Some(ip) = c.backup_private {
            self.kv("", "backup_private", ip);
        }
        if let Some(s) = &c.backup_shared {
            self.kv("", "backup_shared", string(s));
        }
        self.kv("", "heartbeat", flag(c.heartbeat));
        self.kv("", "heartbeat_port", c.heartbeat_port);
        self.kv("", "keepalive", duration(c.keepalive));
        self.kv("", "deadtime", duration(c.deadtime));
        self.kv("", "network", c.network.as_str());
        if let Some(a) = &c.nat_router {
            self.kv("", "nat_router", addr_dev(a));
        }
        if let Some(m) = c.nat_nmask {
            self.kv("", "nat_nmask", m);
        }
        if let Some(s) = &c.reservation_conflict_action {
            self.kv("", "reservation_conflict_action", string(s));
        }
        if c.debug_level != d.debug_level {
            self.kv("", "debug_level", string(&c.debug_level));
        }
        if let Some(s) = &c.active_cmd {
            self.kv("", "active_cmd", string(s));
        }
        if let Some(s) = &c.inactive_cmd {
            self.kv("", "inactive_cmd", string(s));
        }
        if c.monitor_links {
            self.kv("", "monitor_links", 1);
        }
        if c.syncdaemon {
            self.kv("", "syncdaemon", 1);
        }
        if c.syncd_iface != d.syncd_iface {
            self.kv("", "syncd_iface", string(&c.syncd_iface));
        }
        if c.syncd_id != 0 {
            self.kv("", "syncd_id", c.syncd_id);
        }
        for (k, v) in [
            ("tcp_timeout", c.tcp_timeout),
            ("tcpfin_timeout", c.tcpfin_timeout),
            ("udp_timeout", c.udp_timeout),
        ] {
            if v != 0 {
                self.kv("", k, v);
            }
        }
        if c.hard_shutdown != d.hard_shutdown {
            self.kv("", "hard_shutdown", flag(c.hard_shutdown));
        }
        if c.ipvsadm != d.ipvsadm {
            self.kv("", "ipvsadm", string(&c.ipvsadm));
        }
        if c.sync {
            self.kv("", "sync", 1);
        }
        if c.nanny_mode != d.nanny_mode {
            self.kv("", "nanny_mode", c.nanny_mode.as_str());
        }
        self.pulse_extensions(c, &d);
    }

    /// pulse's extension keys, only when they differ from the default (so
    /// a file without them stays loadable by the original).
    fn pulse_extensions(&mut self, c: &Config, d: &Config) {
        if let Some(p) = &c.heartbeat_key_file {
            self.kv("", "heartbeat_key_file", string(p));
        }
        if c.arp_count != d.arp_count {
            self.kv("", "arp_count", c.arp_count);
        }
        if c.arp_interval != d.arp_interval {
            self.kv("", "arp_interval", duration(c.arp_interval));
        }
        if c.hot_standby {
            self.kv("", "hot_standby", 1);
        }
    }

    fn failover(&mut self, f: &FailoverService) {
        let _ = writeln!(self.out, "failover {} {{", name(&f.name));
        self.kv(VKEY, "active", flag(f.active));
        if let Some(a) = &f.address {
            self.kv(VKEY, "address", addr_dev(a));
        }
        if let Some(m) = f.vip_nmask {
            self.kv(VKEY, "vip_nmask", m);
        }
        self.kv(VKEY, "port", f.port);
        if let Some(s) = &f.send {
            self.kv(VKEY, "send", &s.raw);
        }
        if let Some(s) = &f.expect {
            self.kv(VKEY, "expect", &s.raw);
        }
        if let Some(s) = &f.send_program {
            self.kv(VKEY, "send_program", string(s));
        }
        self.kv(VKEY, "protocol", f.protocol.as_str());
        self.kv(VKEY, "timeout", f.timeout.to_string());
        if let Some(s) = &f.start_cmd {
            self.kv(VKEY, "start_cmd", string(s));
        }
        if let Some(s) = &f.stop_cmd {
            self.kv(VKEY, "stop_cmd", string(s));
        }
        self.out.push_str("}\n");
    }

    fn virtual_server(&mut self, v: &VirtualServer) {
        let _ = writeln!(self.out, "virtual {} {{", name(&v.name));
        self.kv(VKEY, "active", flag(v.active));
        if let Some(a) = &v.address {
            self.kv(VKEY, "address", addr_dev(a));
        }
        if let Some(ip) = v.sorry_server {
            self.kv(VKEY, "sorry_server", ip);
        }
        if let Some(m) = v.vip_nmask {
            self.kv(VKEY, "vip_nmask", m);
        }
        if let Some(m) = v.fwmark {
            self.kv(VKEY, "fwmark", m);
        }
        self.kv(VKEY, "port", v.port);
        if v.persistent != 0 {
            self.kv(VKEY, "persistent", v.persistent);
        }
        if let Some(m) = v.pmask {
            self.kv(VKEY, "pmask", m);
        }
        if let Some(s) = &v.send {
            self.kv(VKEY, "send", &s.raw);
        }
        if let Some(s) = &v.expect {
            self.kv(VKEY, "expect", &s.raw);
        }
        if v.use_regex {
            self.kv(VKEY, "use_regex", 1);
        }
        if let Some(s) = &v.send_program {
            self.kv(VKEY, "send_program", string(s));
        }
        if v.client_monitor != DEFAULT_CLIENT_MONITOR {
            self.kv(VKEY, "client_monitor", string(&v.client_monitor));
        }
        if let Some(l) = &v.load_monitor {
            self.kv(VKEY, "load_monitor", string(l.as_str()));
        }
        self.kv(VKEY, "scheduler", v.scheduler.as_str());
        self.kv(VKEY, "protocol", v.protocol.as_str());
        self.kv(VKEY, "timeout", v.timeout.to_string());
        self.kv(VKEY, "reentry", v.reentry.to_string());
        self.kv(VKEY, "quiesce_server", flag(v.quiesce_server));
        if let Some(ip) = v.master {
            self.kv(VKEY, "master", ip);
        }
        if !v.dirs.is_empty() {
            let list: Vec<String> = v.dirs.iter().map(|d| string(d)).collect();
            self.kv(VKEY, "dirs", format!("[ {} ]", list.join(" ")));
        }
        for s in &v.servers {
            let _ = writeln!(self.out, "{VKEY}server {} {{", name(&s.name));
            self.kv(SKEY, "address", s.address);
            self.kv(SKEY, "active", flag(s.active));
            // Servers take the virtual's port by default, and `port` is
            // written above them, so only a different port is written.
            if s.port != v.port {
                self.kv(SKEY, "port", s.port);
            }
            self.kv(SKEY, "weight", s.weight);
            let _ = writeln!(self.out, "{VKEY}}}");
        }
        self.out.push_str("}\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings() {
        assert_eq!(string("abc"), "abc");
        assert_eq!(string("a b"), "\"a b\"");
        assert_eq!(string(""), "\"\"");
        assert_eq!(string("#x"), "\"#x\"");
        assert_eq!(string("say \"hi\" \\"), "\"say \\\"hi\\\" \\\\\"");
        assert_eq!(name("web"), "web");
        assert_eq!(name("a{b"), "\"a{b\"");
        assert_eq!(name("=x"), "\"=x\"");
    }

    #[test]
    fn timers() {
        assert_eq!(duration(Duration::from_secs(6)), "6");
        assert_eq!(duration(Duration::from_millis(500)), "0.5");
        assert_eq!(duration(Duration::new(1, 1)), "1.000000001");
    }
}
