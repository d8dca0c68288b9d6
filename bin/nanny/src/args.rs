//! nanny's command line, parsed the way piranha's nanny (popt) parsed it.
//!
//! popt's behaviour, not clap's, is the contract: lvsd and admin scripts
//! build these argv, and the error texts and exit codes are the original's:
//! `--opt=value`, `--opt value`, `-x value`, `-xvalue`, clustered flags
//! (`-cv`), numbers read like `strtol(s, _, 0)` (so `010` is octal and `0x10`
//! hex), `--` ends the options; an unknown option gives
//! `nanny: bad argument <opt>: unknown option`, a non-option argument
//! `nanny: unexpected arguments`, both exit status 1.
//!
//! Shared mode (an extension, started only by lvsd): `--shared` with one
//! `--server RIP:RPORT:WEIGHT` per real server instead of `-h`/`-r`/`-w`.
//! `--server` stays the original's long name of `-h` without `--shared`
//! (scripts use `--server=IP`); only a value of the shared form is then an
//! error, since it can only mean a forgotten `--shared`.

use std::fmt;

use values::{Seconds, SecondsError};

/// Everything the original accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// `-t`, in milliseconds (whole seconds as the original, or a decimal
    /// fraction: our extension, for lvs.cf's fractional `timeout`).
    pub interval_ms: i64,
    pub ipvsadm: String,
    pub loadcmd: String,
    pub method: String,
    pub nodaemon: bool,
    pub nofork: bool,
    pub port: i64,
    pub rport: Option<i64>,
    /// `-a`, in milliseconds (as `-t`).
    pub reentry_ms: i64,
    pub scale: i64,
    pub server: Option<String>,
    pub send_program: Option<String>,
    pub send: Option<String>,
    pub expect: Option<String>,
    pub regex: bool,
    pub suppress: bool,
    pub quiesce: bool,
    pub udp: bool,
    pub verbose: bool,
    pub virtual_address: Option<String>,
    pub fwmark: i64,
    pub weight: i64,
    pub test_start: bool,
    pub version: bool,
    pub fos: bool,
    pub lvs: bool,
    /// `-w` was given (it may not be, with `--shared`).
    pub weight_given: bool,
    /// `--shared`: many servers in one process.
    pub shared: bool,
    /// `--server` values in order, with `--shared` (index = position).
    pub servers: Vec<String>,
}

impl Default for Args {
    fn default() -> Args {
        Args {
            interval_ms: 10_000,
            ipvsadm: "/sbin/ipvsadm".into(),
            loadcmd: "none".into(),
            method: "-m".into(),
            nodaemon: false,
            nofork: false,
            port: 80,
            rport: None,
            reentry_ms: 0,
            scale: 10,
            server: None,
            send_program: None,
            send: None,
            expect: None,
            regex: false,
            suppress: false,
            quiesce: false,
            udp: false,
            verbose: false,
            virtual_address: None,
            fwmark: 0,
            weight: 1,
            test_start: false,
            version: false,
            fos: false,
            lvs: false,
            weight_given: false,
            shared: false,
            servers: Vec::new(),
        }
    }
}

/// What parsing produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Run(Box<Args>),
    /// `-?` / `--help`: print [`HELP`], exit 0.
    Help,
    /// `--usage`: print [`USAGE`], exit 0.
    Usage,
}

/// A command-line error; `Display` is the whole stderr line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgError {
    /// `nanny: bad argument <opt>: <popt error>`.
    Bad { arg: String, kind: PoptError },
    /// `nanny: unexpected arguments`.
    Unexpected,
    /// A misuse of the shared-mode options; the text after `nanny: `.
    Shared(&'static str),
}

/// popt's error texts (`poptStrerror`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoptError {
    MissingArgument,
    UnknownOption,
    BadNumber,
    Overflow,
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::Bad { arg, kind } => {
                let text = match kind {
                    PoptError::MissingArgument => "missing argument",
                    PoptError::UnknownOption => "unknown option",
                    PoptError::BadNumber => "invalid numeric value",
                    PoptError::Overflow => "number too large or too small",
                };
                write!(f, "nanny: bad argument {arg}: {text}")
            }
            ArgError::Unexpected => f.write_str("nanny: unexpected arguments"),
            ArgError::Shared(text) => write!(f, "nanny: {text}"),
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Flag,
    Int,
    Str,
}

#[derive(Clone, Copy)]
enum Opt {
    Interval,
    Ipvsadm,
    Loadcmd,
    Method,
    Nodaemon,
    Nofork,
    Port,
    Rport,
    Reentry,
    Scale,
    Server,
    /// `--server` (long form of `-h`, or a shared-mode entry).
    ServerLong,
    SendProgram,
    Send,
    Expect,
    Regex,
    Suppress,
    Quiesce,
    Udp,
    Verbose,
    Virtual,
    Fwmark,
    Weight,
    TestStart,
    Norun,
    Version,
    Fos,
    Lvs,
    Shared,
    Help,
    Usage,
}

/// (long name, short letter, kind, option), as the original's table.
const TABLE: &[(&str, Option<char>, Kind, Opt)] = &[
    ("interval", Some('t'), Kind::Int, Opt::Interval),
    ("ipvsadm", Some('I'), Kind::Str, Opt::Ipvsadm),
    ("loadcmd", Some('U'), Kind::Str, Opt::Loadcmd),
    ("method", Some('M'), Kind::Str, Opt::Method),
    ("nodaemon", Some('n'), Kind::Flag, Opt::Nodaemon),
    ("nofork", Some('c'), Kind::Flag, Opt::Nofork),
    ("port", Some('p'), Kind::Int, Opt::Port),
    ("rport", Some('r'), Kind::Int, Opt::Rport),
    ("reentrytime", Some('a'), Kind::Int, Opt::Reentry),
    ("scale", Some('S'), Kind::Int, Opt::Scale),
    ("server", Some('h'), Kind::Str, Opt::Server),
    ("send_program", Some('e'), Kind::Str, Opt::SendProgram),
    ("send_string", Some('s'), Kind::Str, Opt::Send),
    ("expect_string", Some('x'), Kind::Str, Opt::Expect),
    ("regex", None, Kind::Flag, Opt::Regex),
    ("suppress", Some('T'), Kind::Flag, Opt::Suppress),
    ("quiesce_server", Some('q'), Kind::Flag, Opt::Quiesce),
    ("udp", Some('u'), Kind::Flag, Opt::Udp),
    ("verbose", Some('v'), Kind::Flag, Opt::Verbose),
    ("virtaddress", Some('V'), Kind::Str, Opt::Virtual),
    ("fwmark", Some('f'), Kind::Int, Opt::Fwmark),
    ("weight", Some('w'), Kind::Int, Opt::Weight),
    ("test-start", None, Kind::Flag, Opt::TestStart),
    ("norun", None, Kind::Flag, Opt::Norun),
    ("version", None, Kind::Flag, Opt::Version),
    ("fos", None, Kind::Flag, Opt::Fos),
    ("lvs", None, Kind::Flag, Opt::Lvs),
    ("shared", None, Kind::Flag, Opt::Shared),
    ("help", Some('?'), Kind::Flag, Opt::Help),
    ("usage", None, Kind::Flag, Opt::Usage),
];

pub const USAGE: &str = "Usage: nanny [-ncTquv?] [-t|--interval=INT] [-I|--ipvsadm=STRING] \
[-U|--loadcmd=STRING] [-M|--method=STRING] [-p|--port=INT] [-r|--rport=INT] \
[-a|--reentrytime=INT] [-S|--scale=INT] [-h|--server=STRING] [-e|--send_program=STRING] \
[-s|--send_string=STRING] [-x|--expect_string=STRING] [--regex] [-V|--virtaddress=STRING] \
[-f|--fwmark=INT] [-w|--weight=INT] [--test-start] [--norun] [--version] [--fos] [--lvs] \
[--shared] [--usage]\n";

pub const HELP: &str = "Usage: nanny [OPTION...]
  -t, --interval=INT             seconds between connection attempts
  -I, --ipvsadm=STRING           path to ipvsadm (default /sbin/ipvsadm); accepted
                                 for compatibility, IPVS is programmed directly
  -U, --loadcmd=STRING           command to get remote load average (rup, rsh,
                                 ssh, ruptime, none)
  -M, --method=STRING            ipvsadm routing method (m, g or i; default m)
  -n, --nodaemon                 don't run as a daemon
  -c, --nofork                   don't fork, but do disassociate
  -p, --port=INT                 port on virtual service (default 80)
  -r, --rport=INT                port to check for availability (default: -p)
  -a, --reentrytime=INT          seconds to wait for before readmitting a machine
  -S, --scale=INT                maximum scale to weight load average by
  -h, --server=STRING            IP address of remote server
  -e, --send_program=STRING      Use an external program to test a service
  -s, --send_string=STRING       string to send to port to test connectivity
  -x, --expect_string=STRING     response string to receive after connecting
      --regex                    interpret expect_string as a regular expression
  -T, --suppress                 Suppress '\\' translation in send/expect strings
  -q, --quiesce_server           quiesce server when service monitoring timeouts
  -u, --udp                      Use UDP protocol instead of TCP
  -v, --verbose                  log debugging information
  -V, --virtaddress=STRING       IP of virtual service
  -f, --fwmark=INT               firewalling mark of virtual service
  -w, --weight=INT               weight of remote server
      --test-start               don't actually change IPVS; log what would be done
      --norun                    same as '--test-start'
      --version                  Display program version
      --fos                      Failover Service
      --lvs                      LVS Service
      --shared                   check many servers in one process (started by
                                 lvsd): --server RIP:RPORT:WEIGHT, repeated,
                                 instead of -h, -r, -w

Help options:
  -?, --help                     Show this help message
      --usage                    Display brief usage message
";

/// Parses `argv` without the program name.
pub fn parse<S: AsRef<str>>(argv: &[S]) -> Result<Parsed, ArgError> {
    let mut args = Args::default();
    let mut leftovers = false;
    let mut special = None;
    // `-h` given (as opposed to `--server`): an error with `--shared`.
    let mut short_host = false;
    let mut i = 0;
    while i < argv.len() {
        let word = argv[i].as_ref();
        i += 1;
        if word == "--" {
            leftovers |= i < argv.len();
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let Some(&(_, _, kind, opt)) = TABLE.iter().find(|e| e.0 == name) else {
                return Err(bad(word, PoptError::UnknownOption));
            };
            let opt = match opt {
                Opt::Server => Opt::ServerLong,
                other => other,
            };
            let value = match (kind, inline) {
                (Kind::Flag, _) => None,
                (_, Some(v)) => Some((v, word)),
                (_, None) => match argv.get(i) {
                    Some(v) => {
                        i += 1;
                        Some((v.as_ref(), v.as_ref()))
                    }
                    None => return Err(bad(word, PoptError::MissingArgument)),
                },
            };
            set(&mut args, &mut special, opt, kind, value)?;
        } else if word.len() > 1 && word.starts_with('-') {
            let cluster = &word[1..];
            for (at, c) in cluster.char_indices() {
                let Some(&(_, _, kind, opt)) = TABLE.iter().find(|e| e.1 == Some(c)) else {
                    return Err(bad(word, PoptError::UnknownOption));
                };
                if let Kind::Flag = kind {
                    set(&mut args, &mut special, opt, kind, None)?;
                    continue;
                }
                short_host |= matches!(opt, Opt::Server);
                let rest = &cluster[at + c.len_utf8()..];
                let value = if !rest.is_empty() {
                    (rest, word)
                } else {
                    match argv.get(i) {
                        Some(v) => {
                            i += 1;
                            (v.as_ref(), v.as_ref())
                        }
                        None => return Err(bad(word, PoptError::MissingArgument)),
                    }
                };
                set(&mut args, &mut special, opt, kind, Some(value))?;
                break;
            }
        } else {
            leftovers = true;
        }
    }
    if leftovers {
        return Err(ArgError::Unexpected);
    }
    if special.is_none() {
        check_shared(&mut args, short_host)?;
    }
    Ok(match special {
        Some(Opt::Help) => Parsed::Help,
        Some(_) => Parsed::Usage,
        None => Parsed::Run(Box::new(args)),
    })
}

/// The shared-mode rules, once the whole line is read (`--shared` may come
/// after the `--server`s).
fn check_shared(args: &mut Args, short_host: bool) -> Result<(), ArgError> {
    if args.shared {
        if short_host || args.rport.is_some() || args.weight_given {
            return Err(ArgError::Shared(
                "--shared takes --server RIP:RPORT:WEIGHT, not -h, -r or -w",
            ));
        }
        if args.servers.is_empty() {
            return Err(ArgError::Shared(
                "--shared needs at least one --server RIP:RPORT:WEIGHT",
            ));
        }
        // `--server` values are entries, not the per-server host.
        args.server = None;
    } else {
        if args.servers.iter().any(|s| split_entry(s).is_some()) {
            return Err(ArgError::Shared("--server RIP:RPORT:WEIGHT needs --shared"));
        }
        args.servers.clear();
    }
    Ok(())
}

/// Splits a shared-mode `--server` value into (RIP, RPORT, WEIGHT) texts;
/// an IPv6 RIP is in brackets (`[2001:db8::11]:80:3`), an IPv4 one has no
/// colon. `None` when the value does not have that form: a plain address,
/// IPv6 included, never has.
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

fn bad(arg: &str, kind: PoptError) -> ArgError {
    ArgError::Bad {
        arg: arg.to_string(),
        kind,
    }
}

/// `value` = (the option's value, the argv word popt would blame for it).
fn set(
    args: &mut Args,
    special: &mut Option<Opt>,
    opt: Opt,
    kind: Kind,
    value: Option<(&str, &str)>,
) -> Result<(), ArgError> {
    let text = value.map(|v| v.0).unwrap_or("");
    // Seconds: a popt integer, or a decimal fraction like `0.5`.
    let millis = || -> Result<i64, ArgError> {
        let (v, blame) = value.unwrap_or(("", ""));
        seconds_ms(v).map_err(|k| bad(blame, k))
    };
    let int = || -> Result<i64, ArgError> {
        match kind {
            Kind::Int => {
                let (v, blame) = value.unwrap_or(("", ""));
                strtol_int(v).map_err(|k| bad(blame, k))
            }
            _ => Ok(0),
        }
    };
    match opt {
        Opt::Interval => args.interval_ms = millis()?,
        Opt::Ipvsadm => args.ipvsadm = text.into(),
        Opt::Loadcmd => args.loadcmd = text.into(),
        Opt::Method => args.method = text.into(),
        Opt::Nodaemon => args.nodaemon = true,
        Opt::Nofork => args.nofork = true,
        Opt::Port => args.port = int()?,
        Opt::Rport => args.rport = Some(int()?),
        Opt::Reentry => args.reentry_ms = millis()?,
        Opt::Scale => args.scale = int()?,
        Opt::Server => args.server = Some(text.into()),
        Opt::ServerLong => {
            args.server = Some(text.into());
            args.servers.push(text.into());
        }
        Opt::SendProgram => args.send_program = Some(text.into()),
        Opt::Send => args.send = Some(text.into()),
        Opt::Expect => args.expect = Some(text.into()),
        Opt::Regex => args.regex = true,
        Opt::Suppress => args.suppress = true,
        Opt::Quiesce => args.quiesce = true,
        Opt::Udp => args.udp = true,
        Opt::Verbose => args.verbose = true,
        Opt::Virtual => args.virtual_address = Some(text.into()),
        Opt::Fwmark => args.fwmark = int()?,
        Opt::Weight => {
            args.weight = int()?;
            args.weight_given = true;
        }
        Opt::TestStart | Opt::Norun => args.test_start = true,
        Opt::Version => args.version = true,
        Opt::Fos => args.fos = true,
        Opt::Lvs => args.lvs = true,
        Opt::Shared => args.shared = true,
        Opt::Help | Opt::Usage => {
            special.get_or_insert(opt);
        }
    }
    Ok(())
}

/// A number of seconds as milliseconds: what popt's integer parsing
/// accepts (the original's form), or a decimal fraction (`0.5`, `2.25`) in
/// the one timer syntax lvsd writes ([`values::Seconds`]), for a fractional
/// lvs.cf timer. Zero stays zero (each option says what it means).
pub fn seconds_ms(s: &str) -> Result<i64, PoptError> {
    if !s.contains('.') {
        return strtol_int(s)?.checked_mul(1000).ok_or(PoptError::Overflow);
    }
    match s.parse::<Seconds>() {
        Ok(v) => i64::try_from(v.as_millis()).map_err(|_| PoptError::Overflow),
        Err(SecondsError::Zero) => Ok(0),
        Err(SecondsError::TooLarge) => Err(PoptError::Overflow),
        Err(_) => Err(PoptError::BadNumber),
    }
}

/// popt's `POPT_ARG_INT`: `strtol(s, &end, 0)`, the whole string consumed
/// (an empty string is 0), the value within `int`.
pub fn strtol_int(s: &str) -> Result<i64, PoptError> {
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
        return Err(PoptError::BadNumber);
    }
    let magnitude = u64::from_str_radix(digits, radix).map_err(|_| PoptError::Overflow)?;
    let value = i64::try_from(magnitude).map_err(|_| PoptError::Overflow)?;
    let value = if negative { -value } else { value };
    if value > i64::from(i32::MAX) || value < i64::from(i32::MIN) {
        return Err(PoptError::Overflow);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(argv: &[&str]) -> Args {
        match parse(argv) {
            Ok(Parsed::Run(a)) => *a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lvsd_argv_parses() {
        // The exact argv piranha's lvsd builds (piranha.md §3.2).
        let a = run(&[
            "-c",
            "-h",
            "192.0.2.11",
            "-p",
            "80",
            "-r",
            "8080",
            "-s",
            r"GET / HTTP/1.0\r\n\r\n",
            "-x",
            "HTTP",
            "-q",
            "--regex",
            "-v",
            "-a",
            "15",
            "-I",
            "/sbin/ipvsadm",
            "-t",
            "6",
            "-w",
            "1",
            "-V",
            "203.0.113.10",
            "-M",
            "g",
            "-U",
            "rup",
            "--nodaemon",
            "--lvs",
        ]);
        assert!(a.nofork && a.quiesce && a.regex && a.verbose && a.nodaemon && a.lvs);
        assert_eq!(a.server.as_deref(), Some("192.0.2.11"));
        assert_eq!(
            (a.port, a.rport, a.reentry_ms, a.interval_ms),
            (80, Some(8080), 15_000, 6_000)
        );
        assert_eq!(a.send.as_deref(), Some(r"GET / HTTP/1.0\r\n\r\n"));
        assert_eq!(a.method, "g");
        assert_eq!(a.loadcmd, "rup");
        assert_eq!(a.virtual_address.as_deref(), Some("203.0.113.10"));
    }

    #[test]
    fn fractional_seconds() {
        assert_eq!(seconds_ms("0.5"), Ok(500));
        assert_eq!(seconds_ms("2.25"), Ok(2250));
        assert_eq!(seconds_ms("0.001"), Ok(1));
        // Finer than nanny's millisecond: refused, not rounded to `-t 0`.
        assert_eq!(seconds_ms("0.0004"), Err(PoptError::BadNumber));
        assert_eq!(seconds_ms("1.0005"), Err(PoptError::BadNumber));
        assert_eq!(seconds_ms(".5"), Err(PoptError::BadNumber));
        assert_eq!(seconds_ms("010"), Ok(8000), "integers stay popt's");
        assert_eq!(seconds_ms("1.5s"), Err(PoptError::BadNumber));
        assert_eq!(seconds_ms("-1.5"), Err(PoptError::BadNumber));
        assert_eq!(seconds_ms("."), Err(PoptError::BadNumber));
        assert_eq!(run(&["-t", "0.5", "-a", "2.5"]).interval_ms, 500);
    }

    #[test]
    fn popt_forms() {
        let a = run(&[
            "--interval=5",
            "--port",
            "443",
            "-t3",
            "-cnv",
            "-w010",
            "-f",
            "0x10",
        ]);
        assert_eq!(a.interval_ms, 3000);
        assert_eq!(a.port, 443);
        assert!(a.nofork && a.nodaemon && a.verbose);
        assert_eq!(a.weight, 8);
        assert_eq!(a.fwmark, 16);
        // A value may start with a dash.
        let a = run(&["-s", "-x", "-M", "-i"]);
        assert_eq!(a.send.as_deref(), Some("-x"));
        assert_eq!(a.method, "-i");
        assert!(run(&["--test-start"]).test_start);
        assert!(run(&["--norun"]).test_start);
        assert_eq!(run(&["-p", ""]).port, 0);
    }

    #[test]
    fn errors_as_popt() {
        let err = |argv: &[&str]| parse(argv).unwrap_err().to_string();
        assert_eq!(
            err(&["--bogus"]),
            "nanny: bad argument --bogus: unknown option"
        );
        assert_eq!(
            err(&["--bogus=1"]),
            "nanny: bad argument --bogus=1: unknown option"
        );
        assert_eq!(err(&["-cz"]), "nanny: bad argument -cz: unknown option");
        assert_eq!(err(&["-h"]), "nanny: bad argument -h: missing argument");
        assert_eq!(
            err(&["--server"]),
            "nanny: bad argument --server: missing argument"
        );
        assert_eq!(
            err(&["-t", "abc"]),
            "nanny: bad argument abc: invalid numeric value"
        );
        assert_eq!(
            err(&["--interval=5s"]),
            "nanny: bad argument --interval=5s: invalid numeric value"
        );
        assert_eq!(
            err(&["-w", "99999999999"]),
            "nanny: bad argument 99999999999: number too large or too small"
        );
        assert_eq!(err(&["extra"]), "nanny: unexpected arguments");
        assert_eq!(err(&["--lvs", "--", "x"]), "nanny: unexpected arguments");
        // An option error is found before leftover arguments are.
        assert_eq!(
            err(&["extra", "--bogus"]),
            "nanny: bad argument --bogus: unknown option"
        );
        // The man page's names the code never accepted.
        assert_eq!(
            err(&["--quiesce-server"]),
            "nanny: bad argument --quiesce-server: unknown option"
        );
    }

    #[test]
    fn help_and_usage() {
        assert_eq!(parse(&["--help"]).unwrap(), Parsed::Help);
        assert_eq!(parse(&["-?"]).unwrap(), Parsed::Help);
        assert_eq!(parse(&["--usage"]).unwrap(), Parsed::Usage);
    }

    #[test]
    fn strtol_rules() {
        assert_eq!(strtol_int("42"), Ok(42));
        assert_eq!(strtol_int(" -7"), Ok(-7));
        assert_eq!(strtol_int("0"), Ok(0));
        assert_eq!(strtol_int("017"), Ok(15));
        assert_eq!(strtol_int("08"), Err(PoptError::BadNumber));
        assert_eq!(strtol_int("0x"), Err(PoptError::BadNumber));
        assert_eq!(strtol_int("2147483648"), Err(PoptError::Overflow));
        assert_eq!(strtol_int("-2147483648"), Ok(-2147483648));
    }

    #[test]
    fn shared_argv_parses() {
        // The argv lvsd builds for a shared nanny.
        let a = run(&[
            "--shared",
            "-c",
            "-p",
            "80",
            "-a",
            "15",
            "-t",
            "6",
            "-V",
            "203.0.113.10",
            "-M",
            "g",
            "--nodaemon",
            "--lvs",
            "--server",
            "192.0.2.11:80:1",
            "--server=[2001:db8::11]:8080:3",
            "--server",
            "192.0.2.13:80:0",
        ]);
        assert!(a.shared && a.nofork && a.nodaemon && a.lvs);
        assert_eq!(
            a.servers,
            [
                "192.0.2.11:80:1",
                "[2001:db8::11]:8080:3",
                "192.0.2.13:80:0"
            ]
        );
        assert_eq!(a.server, None);
        assert_eq!(split_entry(&a.servers[0]), Some(("192.0.2.11", "80", "1")));
        assert_eq!(
            split_entry(&a.servers[1]),
            Some(("2001:db8::11", "8080", "3"))
        );
        // --shared may come last.
        let a = run(&["--server", "192.0.2.11:80:1", "--lvs", "--shared"]);
        assert!(a.shared);
        assert_eq!(a.servers, ["192.0.2.11:80:1"]);
    }

    #[test]
    fn shared_usage_errors() {
        let err = |argv: &[&str]| parse(argv).unwrap_err().to_string();
        let mixed = "nanny: --shared takes --server RIP:RPORT:WEIGHT, not -h, -r or -w";
        assert_eq!(
            err(&["--shared", "--server", "192.0.2.1:80:1", "-h", "192.0.2.2"]),
            mixed
        );
        assert_eq!(
            err(&["--shared", "--server", "192.0.2.1:80:1", "-r", "81"]),
            mixed
        );
        assert_eq!(
            err(&["--shared", "--server", "192.0.2.1:80:1", "-w", "2"]),
            mixed
        );
        assert_eq!(
            err(&["--shared", "--lvs"]),
            "nanny: --shared needs at least one --server RIP:RPORT:WEIGHT"
        );
        assert_eq!(
            err(&["--server", "192.0.2.1:80:1", "--lvs"]),
            "nanny: --server RIP:RPORT:WEIGHT needs --shared"
        );
        assert_eq!(
            err(&["--server=[::1]:80:1", "--lvs"]),
            "nanny: --server RIP:RPORT:WEIGHT needs --shared"
        );
        assert_eq!(
            err(&["--shared", "--server"]),
            "nanny: bad argument --server: missing argument"
        );
    }

    #[test]
    fn server_keeps_its_original_meaning_without_shared() {
        let a = run(&["--server=192.0.2.1", "--lvs"]);
        assert_eq!(a.server.as_deref(), Some("192.0.2.1"));
        assert!(a.servers.is_empty() && !a.shared);
        let a = run(&["--server", "2001:db8::1", "--lvs"]);
        assert_eq!(a.server.as_deref(), Some("2001:db8::1"));
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
}
