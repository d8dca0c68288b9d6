//! nanny's command line as one typed value: lvsd builds a [`MonitorArgs`]
//! and writes it with [`MonitorArgs::to_argv`]; nanny's popt-compatible
//! parser (`bin/nanny/src/args.rs`) reads the words back into the same
//! type, with the value rules of this module ([`strtol_int`],
//! [`seconds_arg`], [`parse_host`], [`SharedServer`]). Whatever lvsd can
//! write, nanny reads back equal (a round-trip test in `bin/nanny` holds
//! the two ends together).
//!
//! The order of the words is piranha 0.8.6 lvsd's, byte for byte for the
//! options it knew, so a site's own `client_monitor` and the original
//! nanny keep working.
//!
//! What this module does not own: the option table, popt's spellings and
//! error texts (nanny's), or the mapping from lvs.cf to these values
//! (`director`).

use std::ffi::OsString;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use values::{Seconds, SecondsError};

/// Everything nanny's command line can say, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorArgs {
    /// `--shared`: many servers ([`MonitorArgs::servers`]) in one process.
    pub shared: bool,
    /// `-c`: do not fork (but detach).
    pub nofork: bool,
    /// `-h`: the real server (without `--shared`).
    pub server: Option<IpAddr>,
    /// `-p`: the virtual service's port (default 80).
    pub port: u16,
    /// `-r`: the port to check (default: `-p`).
    pub rport: Option<u16>,
    /// `-f`: the virtual's firewall mark (`None` for 0).
    pub fwmark: Option<u32>,
    /// `-u`: UDP.
    pub udp: bool,
    /// `-e`: an external check program (`%h`, `%p` substituted).
    pub send_program: Option<String>,
    /// `-s`: what to send (nanny's escapes not yet translated).
    pub send: Option<String>,
    /// `-x`: what to expect (as `-s`).
    pub expect: Option<String>,
    /// `-q`: quiesce (weight 0) instead of removing.
    pub quiesce: bool,
    /// `--regex`: `-x` is a regular expression.
    pub regex: bool,
    /// `-v`: debug logging.
    pub verbose: bool,
    /// `-a`: time a server must pass before it re-enters (`None`: `-a 0`
    /// or absent, nanny's default).
    pub reentry: Option<Seconds>,
    /// `-I`: the ipvsadm path (log lines only).
    pub ipvsadm: Option<String>,
    /// `-t`: the check interval and timeout (`None`: 10 s).
    pub interval: Option<Seconds>,
    /// `-w`: the server's weight (default 1).
    pub weight: Option<i32>,
    /// `-V`: the virtual address.
    pub virtual_address: Option<IpAddr>,
    /// `-M`: the forwarding method letter (`m`, `g`, `i`).
    pub method: Option<String>,
    /// `-U`: the load command (`none`, `rup`, `ruptime`, `rsh`, `ssh`).
    pub loadcmd: Option<String>,
    /// `-n`/`--nodaemon`: stay in the foreground, log to stdout too.
    pub nodaemon: bool,
    /// `-S`: maximum load scale.
    pub scale: Option<i32>,
    /// `-T`: no escape translation in `-s`/`-x`.
    pub suppress: bool,
    /// `--test-start`/`--norun`: log the ipvsadm lines, change nothing.
    pub test_start: bool,
    /// `--version`.
    pub version: bool,
    /// `--fos`: a failover service monitor.
    pub fos: bool,
    /// `--lvs`: a real server monitor.
    pub lvs: bool,
    /// `--server RIP:RPORT:WEIGHT`, in order, with `--shared` (the n-th is
    /// server index n of the `nanny-report 2` stream).
    pub servers: Vec<SharedServer>,
}

impl Default for MonitorArgs {
    /// nanny's defaults: the value of an empty command line.
    fn default() -> MonitorArgs {
        MonitorArgs {
            shared: false,
            nofork: false,
            server: None,
            port: 80,
            rport: None,
            fwmark: None,
            udp: false,
            send_program: None,
            send: None,
            expect: None,
            quiesce: false,
            regex: false,
            verbose: false,
            reentry: None,
            ipvsadm: None,
            interval: None,
            weight: None,
            virtual_address: None,
            method: None,
            loadcmd: None,
            nodaemon: false,
            scale: None,
            suppress: false,
            test_start: false,
            version: false,
            fos: false,
            lvs: false,
            servers: Vec::new(),
        }
    }
}

impl MonitorArgs {
    /// `-t` when not given.
    pub const DEFAULT_INTERVAL: Seconds = Seconds::whole(10);

    /// `-I` when not given.
    pub const DEFAULT_IPVSADM: &'static str = "/sbin/ipvsadm";

    /// The ipvsadm path (`-I`, or its default).
    pub fn ipvsadm_path(&self) -> &str {
        self.ipvsadm.as_deref().unwrap_or(Self::DEFAULT_IPVSADM)
    }

    /// The check interval (`-t`, or its default).
    pub fn interval(&self) -> Seconds {
        self.interval.unwrap_or(Self::DEFAULT_INTERVAL)
    }

    /// The words after the program name, in the original lvsd's order
    /// (options it never wrote come where nanny's table lists them).
    pub fn to_argv(&self) -> Vec<OsString> {
        let mut argv: Vec<OsString> = Vec::with_capacity(32);
        let mut push = |s: &str| argv.push(OsString::from(s));
        let flag = |on: bool, s: &'static str| on.then_some(s);
        if self.shared {
            push("--shared");
        }
        if self.nofork {
            push("-c");
        }
        if let Some(h) = self.server {
            push("-h");
            push(&h.to_string());
        }
        push("-p");
        push(&self.port.to_string());
        if let Some(r) = self.rport {
            push("-r");
            push(&r.to_string());
        }
        if let Some(f) = self.fwmark {
            push("-f");
            push(&f.to_string());
        }
        if let Some(f) = flag(self.udp, "-u") {
            push(f);
        }
        for (opt, value) in [
            ("-e", &self.send_program),
            ("-s", &self.send),
            ("-x", &self.expect),
        ] {
            if let Some(v) = value {
                push(opt);
                push(v);
            }
        }
        for f in [
            flag(self.quiesce, "-q"),
            flag(self.regex, "--regex"),
            flag(self.verbose, "-v"),
        ]
        .into_iter()
        .flatten()
        {
            push(f);
        }
        if let Some(a) = self.reentry {
            push("-a");
            push(&a.to_string());
        }
        if let Some(i) = &self.ipvsadm {
            push("-I");
            push(i);
        }
        if let Some(t) = self.interval {
            push("-t");
            push(&t.to_string());
        }
        if let Some(w) = self.weight {
            push("-w");
            push(&w.to_string());
        }
        if let Some(v) = self.virtual_address {
            push("-V");
            push(&v.to_string());
        }
        if let Some(m) = &self.method {
            push("-M");
            push(m);
        }
        if let Some(u) = &self.loadcmd {
            push("-U");
            push(u);
        }
        if let Some(s) = self.scale {
            push("-S");
            push(&s.to_string());
        }
        for f in [
            flag(self.suppress, "-T"),
            flag(self.nodaemon, "--nodaemon"),
            flag(self.test_start, "--test-start"),
            flag(self.version, "--version"),
            flag(self.fos, "--fos"),
            flag(self.lvs, "--lvs"),
        ]
        .into_iter()
        .flatten()
        {
            push(f);
        }
        for s in &self.servers {
            push("--server");
            push(&s.to_string());
        }
        argv
    }
}

/// One server of a shared nanny: `RIP:RPORT:WEIGHT`, an IPv6 RIP in
/// brackets (`[2001:db8::11]:80:3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedServer {
    /// The real server's address.
    pub addr: IpAddr,
    /// The port checked.
    pub port: u16,
    /// Its weight.
    pub weight: i32,
}

impl fmt::Display for SharedServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}:{}", self.port, self.weight),
            IpAddr::V6(a) => write!(f, "[{a}]:{}:{}", self.port, self.weight),
        }
    }
}

/// Why a `--server` value is not a [`SharedServer`]; `Display` is nanny's
/// message after `nanny: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedServerError {
    /// Not of the form `RIP:RPORT:WEIGHT`, or a bad port or weight.
    Form(String),
    /// The RIP is not an address.
    Address(String),
}

impl fmt::Display for SharedServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SharedServerError::Form(v) => write!(f, "bad server -- {v} (want RIP:RPORT:WEIGHT)"),
            SharedServerError::Address(a) => write!(f, "bad IP address -- {a}"),
        }
    }
}

impl std::error::Error for SharedServerError {}

impl FromStr for SharedServer {
    type Err = SharedServerError;

    /// The RIP as `-h` reads it ([`parse_host`]), RPORT and WEIGHT as
    /// popt's integers ([`strtol_int`]).
    fn from_str(value: &str) -> Result<SharedServer, SharedServerError> {
        let form = || SharedServerError::Form(value.to_owned());
        let (host, port, weight) = split_entry(value).ok_or_else(form)?;
        let addr = parse_host(host).ok_or_else(|| SharedServerError::Address(host.to_owned()))?;
        let port = strtol_int(port)
            .ok()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(form)?;
        let weight = strtol_int(weight)
            .ok()
            .and_then(|w| i32::try_from(w).ok())
            .ok_or_else(form)?;
        Ok(SharedServer { addr, port, weight })
    }
}

/// Splits a `--server RIP:RPORT:WEIGHT` value into its three texts (the
/// RIP without brackets); `None` when the value does not have that form. A
/// plain address, IPv6 included, never has (so `--server 2001:db8::1`
/// keeps meaning `-h` without `--shared`).
pub fn split_entry(value: &str) -> Option<(&str, &str, &str)> {
    let mut it = value.rsplitn(3, ':');
    let (weight, rport, rip) = (it.next()?, it.next()?, it.next()?);
    let rip = match rip.strip_prefix('[') {
        Some(v6) => v6.strip_suffix(']').filter(|a| a.contains(':'))?,
        None if rip.contains([':', '[', ']']) => return None,
        None => rip,
    };
    if rip.is_empty() {
        return None;
    }
    Some((rip, rport, weight))
}

/// Why a number is not one (popt's two number errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberError {
    /// Not a number (`invalid numeric value`).
    Bad,
    /// Outside `int` (`number too large or too small`).
    Overflow,
}

/// popt's `POPT_ARG_INT`: `strtol(s, &end, 0)` (so `010` is octal, `0x10`
/// hex, leading blanks and a sign allowed), the whole string consumed (an
/// empty string is 0), the value within `int`.
pub fn strtol_int(s: &str) -> Result<i64, NumberError> {
    strtol(s, i64::from(i32::MAX))
}

/// [`strtol_int`] up to `u32::MAX`: for `-f`, a firewall mark being
/// unsigned 32 bits (lvs.cf takes any; popt's `int` stopped at 2³¹ − 1,
/// so a larger mark never reached the original nanny).
pub fn strtol_mark(s: &str) -> Result<i64, NumberError> {
    strtol(s, i64::from(u32::MAX))
}

fn strtol(s: &str, max: i64) -> Result<i64, NumberError> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (16, h)
    } else if t.len() > 1 && t.starts_with('0') {
        (8, &t[1..])
    } else {
        (10, t)
    };
    if s.is_empty() {
        return Ok(0);
    }
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(NumberError::Bad);
    }
    let magnitude = u64::from_str_radix(digits, radix).map_err(|_| NumberError::Overflow)?;
    let value = i64::try_from(magnitude).map_err(|_| NumberError::Overflow)?;
    let value = if negative { -value } else { value };
    if value > max || value < i64::from(i32::MIN) {
        return Err(NumberError::Overflow);
    }
    Ok(value)
}

/// A `-t`/`-a` value: a popt integer of seconds (the original's form,
/// `Ok(None)` for 0), or a decimal fraction in the one timer syntax
/// ([`Seconds`], which lvsd writes). `Err(Some(n))` for a negative
/// integer `n`, `Err(None)` for what is not a number.
pub fn seconds_arg(s: &str) -> Result<Option<Seconds>, SecondsArgError> {
    if !s.contains('.') {
        let n = match strtol_int(s) {
            Ok(n) => n,
            // popt's int stops at 2^31 - 1 s; lvs.cf allows up to
            // Seconds::MAX, and nanny must read what lvsd writes.
            Err(NumberError::Overflow) => {
                return s
                    .parse::<Seconds>()
                    .map(Some)
                    .map_err(|_| SecondsArgError::Number(NumberError::Overflow));
            }
            Err(e) => return Err(SecondsArgError::Number(e)),
        };
        return match u64::try_from(n) {
            Ok(0) => Ok(None),
            Ok(n) => Seconds::from_secs(n)
                .map(Some)
                .map_err(|_| SecondsArgError::Number(NumberError::Overflow)),
            Err(_) => Err(SecondsArgError::Negative(n)),
        };
    }
    match s.parse::<Seconds>() {
        Ok(v) => Ok(Some(v)),
        Err(SecondsError::Zero) => Ok(None),
        Err(SecondsError::TooLarge) => Err(SecondsArgError::Number(NumberError::Overflow)),
        Err(_) => Err(SecondsArgError::Number(NumberError::Bad)),
    }
}

/// Why a `-t`/`-a` value is not a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondsArgError {
    /// Not a number, or too large (popt's errors).
    Number(NumberError),
    /// A negative integer (a number to popt, not to nanny).
    Negative(i64),
}

/// An address as `inet_aton` reads it (`a.b.c.d`, `a.b.c`, `a.b`, `a`,
/// each part decimal, octal or hex), or an IPv6 literal (an extension).
pub fn parse_host(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        return s.parse().ok();
    }
    inet_aton(s).map(IpAddr::V4)
}

fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<u32> = s.split('.').map(aton_part).collect::<Option<_>>()?;
    let value = match parts.as_slice() {
        [a] => *a,
        [a, b] if *a <= 0xff && *b <= 0xff_ffff => a << 24 | b,
        [a, b, c] if *a <= 0xff && *b <= 0xff && *c <= 0xffff => a << 24 | b << 16 | c,
        [a, b, c, d] if [a, b, c, d].iter().all(|x| **x <= 0xff) => a << 24 | b << 16 | c << 8 | d,
        _ => return None,
    };
    Some(Ipv4Addr::from(value))
}

fn aton_part(p: &str) -> Option<u32> {
    if p.is_empty() {
        return None;
    }
    let (radix, digits) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
        (16, h)
    } else if p.len() > 1 && p.starts_with('0') {
        (8, &p[1..])
    } else {
        (10, p)
    };
    if digits.is_empty() && radix == 16 {
        return Some(0);
    }
    u32::from_str_radix(digits, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(a: &MonitorArgs) -> String {
        a.to_argv()
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn the_original_order() {
        // piranha.md §3.2: the words 0.8.6's lvsd wrote, in its order.
        let a = MonitorArgs {
            nofork: true,
            server: Some("192.0.2.11".parse().expect("ip")),
            rport: Some(8080),
            fwmark: Some(5),
            udp: true,
            send: Some("GET / HTTP/1.0\\r\\n\\r\\n".into()),
            expect: Some("HTTP".into()),
            quiesce: true,
            regex: true,
            verbose: true,
            reentry: Some(Seconds::whole(15)),
            ipvsadm: Some("/sbin/ipvsadm".into()),
            interval: Some("2.5".parse().expect("seconds")),
            weight: Some(3),
            virtual_address: Some("203.0.113.10".parse().expect("ip")),
            method: Some("m".into()),
            loadcmd: Some("none".into()),
            nodaemon: true,
            lvs: true,
            ..MonitorArgs::default()
        };
        assert_eq!(
            words(&a),
            "-c -h 192.0.2.11 -p 80 -r 8080 -f 5 -u -s GET / HTTP/1.0\\r\\n\\r\\n -x HTTP \
             -q --regex -v -a 15 -I /sbin/ipvsadm -t 2.5 -w 3 -V 203.0.113.10 -M m -U none \
             --nodaemon --lvs"
        );
    }

    #[test]
    fn shared_servers() {
        let a = MonitorArgs {
            shared: true,
            lvs: true,
            servers: vec![
                "192.0.2.11:80:3".parse().expect("entry"),
                "[2001:db8::12]:8080:0x10".parse().expect("entry"),
            ],
            ..MonitorArgs::default()
        };
        assert_eq!(
            words(&a),
            "--shared -p 80 --lvs --server 192.0.2.11:80:3 --server [2001:db8::12]:8080:16"
        );
        let err = |v: &str| v.parse::<SharedServer>().unwrap_err().to_string();
        assert_eq!(
            err("192.0.2.1:99999:1"),
            "bad server -- 192.0.2.1:99999:1 (want RIP:RPORT:WEIGHT)"
        );
        assert_eq!(err("web1:80:1"), "bad IP address -- web1");
        assert_eq!(
            err("192.0.2.1:80:x"),
            "bad server -- 192.0.2.1:80:x (want RIP:RPORT:WEIGHT)"
        );
    }

    #[test]
    fn entry_forms() {
        assert_eq!(split_entry("10.0.0.1:80:5"), Some(("10.0.0.1", "80", "5")));
        assert_eq!(split_entry("[::1]:80:5"), Some(("::1", "80", "5")));
        assert_eq!(split_entry("192.0.2.1"), None);
        assert_eq!(split_entry("2001:db8::1"), None);
        assert_eq!(split_entry("::80:3"), None);
        assert_eq!(split_entry("[::1:80:3"), None);
        assert_eq!(split_entry("[10.0.0.1]:80:3"), None);
        assert_eq!(split_entry(":80:3"), None);
        assert_eq!(split_entry("10.0.0.1:80"), None);
    }

    #[test]
    fn strtol_rules() {
        assert_eq!(strtol_int("42"), Ok(42));
        assert_eq!(strtol_int(" -7"), Ok(-7));
        assert_eq!(strtol_int("0"), Ok(0));
        assert_eq!(strtol_int(""), Ok(0));
        assert_eq!(strtol_int("017"), Ok(15));
        assert_eq!(strtol_int("08"), Err(NumberError::Bad));
        assert_eq!(strtol_int("0x"), Err(NumberError::Bad));
        assert_eq!(strtol_int("2147483648"), Err(NumberError::Overflow));
        assert_eq!(strtol_int("-2147483648"), Ok(-2147483648));
        assert_eq!(strtol_mark("4294967295"), Ok(4294967295));
        assert_eq!(strtol_mark("0xffffffff"), Ok(4294967295));
        assert_eq!(strtol_mark("4294967296"), Err(NumberError::Overflow));
    }

    #[test]
    fn seconds_forms() {
        let ms = |s: &str| seconds_arg(s).map(|v| v.map(Seconds::as_millis));
        assert_eq!(ms("6"), Ok(Some(6000)));
        assert_eq!(ms("010"), Ok(Some(8000)), "integers stay popt's");
        assert_eq!(ms("0.5"), Ok(Some(500)));
        assert_eq!(ms("0"), Ok(None));
        assert_eq!(ms("0.000"), Ok(None));
        assert_eq!(ms("-5"), Err(SecondsArgError::Negative(-5)));
        // Finer than the millisecond: refused, not truncated to `-t 0`.
        assert_eq!(ms("0.0004"), Err(SecondsArgError::Number(NumberError::Bad)));
        assert_eq!(ms(".5"), Err(SecondsArgError::Number(NumberError::Bad)));
        assert_eq!(
            ms("99999999999.5"),
            Err(SecondsArgError::Number(NumberError::Overflow))
        );
        // Whole seconds above popt's int (2^31 - 1) up to what lvs.cf
        // allows: lvsd writes them, nanny reads them (found by the argv
        // round trip).
        assert_eq!(ms("4157497987"), Ok(Some(4_157_497_987_000)));
        assert_eq!(ms("4294967295"), Ok(Some(4_294_967_295_000)));
        assert_eq!(
            ms("4294967296"),
            Err(SecondsArgError::Number(NumberError::Overflow))
        );
    }

    #[test]
    fn inet_aton_forms() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert_eq!(parse_host("192.0.2.1"), Some(ip("192.0.2.1")));
        assert_eq!(parse_host("127.1"), Some(ip("127.0.0.1")));
        assert_eq!(parse_host("0x7f.0.0.01"), Some(ip("127.0.0.1")));
        assert_eq!(parse_host("::1"), Some(ip("::1")));
        assert_eq!(parse_host("256.0.0.1"), None);
        assert_eq!(parse_host("web1"), None);
        assert_eq!(parse_host("1.2.3.4.5"), None);
        assert_eq!(parse_host(""), None);
    }
}
