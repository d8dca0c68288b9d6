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

use health::argv::{
    MonitorArgs, NumberError, SecondsArgError, SharedServer, parse_host, seconds_arg, split_entry,
    strtol_int, strtol_mark,
};

/// What a command line says: the typed value lvsd writes
/// ([`MonitorArgs`]).
pub type Args = MonitorArgs;

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
    /// A value popt took but nanny refuses (a bad address, port, interval,
    /// or a misuse of the shared-mode options); the text after `nanny: `.
    Value(String),
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
            ArgError::Value(text) => write!(f, "nanny: {text}"),
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
///
/// popt's errors (an unknown option, a missing or non-numeric value) stop
/// at once, as popt did; a value nanny refuses (an address, a port, an
/// interval) is reported only when the whole line parsed, the first one
/// in argv order, so popt's errors keep coming first.
pub fn parse<S: AsRef<str>>(argv: &[S]) -> Result<Parsed, ArgError> {
    let mut p = Parser::default();
    let mut leftovers = false;
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
            p.set(opt, kind, value)?;
        } else if word.len() > 1 && word.starts_with('-') {
            let cluster = &word[1..];
            for (at, c) in cluster.char_indices() {
                let Some(&(_, _, kind, opt)) = TABLE.iter().find(|e| e.1 == Some(c)) else {
                    return Err(bad(word, PoptError::UnknownOption));
                };
                if let Kind::Flag = kind {
                    p.set(opt, kind, None)?;
                    continue;
                }
                p.short_host |= matches!(opt, Opt::Server);
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
                p.set(opt, kind, Some(value))?;
                break;
            }
        } else {
            leftovers = true;
        }
    }
    if leftovers {
        return Err(ArgError::Unexpected);
    }
    match p.special {
        Some(Opt::Help) => return Ok(Parsed::Help),
        Some(_) => return Ok(Parsed::Usage),
        None => {}
    }
    p.finish_servers()?;
    if let Some(e) = p.refused {
        return Err(ArgError::Value(e));
    }
    Ok(Parsed::Run(Box::new(p.args)))
}

/// The parse in progress.
#[derive(Default)]
struct Parser {
    args: Args,
    /// `-?`/`--usage`, once seen.
    special: Option<Opt>,
    /// `-h` given (as opposed to `--server`): an error with `--shared`.
    short_host: bool,
    /// `--server` values: entries with `--shared` (which may come after
    /// them), the host otherwise.
    server_long: Vec<String>,
    /// The first value nanny refuses (reported once popt is done).
    refused: Option<String>,
}

impl Parser {
    fn refuse(&mut self, text: String) {
        self.refused.get_or_insert(text);
    }

    /// `value` = (the option's value, the argv word popt would blame for it).
    fn set(&mut self, opt: Opt, kind: Kind, value: Option<(&str, &str)>) -> Result<(), ArgError> {
        let (text, blame) = value.unwrap_or(("", ""));
        let int = || -> Result<i64, ArgError> {
            match kind {
                Kind::Int => strtol_int(text).map_err(|e| bad(blame, popt(e))),
                _ => Ok(0),
            }
        };
        let a = &mut self.args;
        match opt {
            Opt::Interval => match seconds_arg(text) {
                Ok(Some(t)) => a.interval = Some(t),
                Ok(None) => self.refuse("bad interval -- 0 (must be more than 0)".into()),
                Err(SecondsArgError::Negative(n)) => {
                    self.refuse(format!("bad interval -- {n} (must be more than 0)"));
                }
                Err(SecondsArgError::Number(e)) => return Err(bad(blame, popt(e))),
            },
            Opt::Reentry => match seconds_arg(text) {
                Ok(t) => a.reentry = t,
                Err(SecondsArgError::Negative(n)) => {
                    self.refuse(format!("bad reentry time -- {n} (must not be negative)"));
                }
                Err(SecondsArgError::Number(e)) => return Err(bad(blame, popt(e))),
            },
            Opt::Ipvsadm => a.ipvsadm = Some(text.into()),
            Opt::Loadcmd => a.loadcmd = Some(text.into()),
            Opt::Method => a.method = Some(text.into()),
            Opt::Nodaemon => a.nodaemon = true,
            Opt::Nofork => a.nofork = true,
            Opt::Port | Opt::Rport => {
                let v = int()?;
                match u16::try_from(v) {
                    Ok(port) if matches!(opt, Opt::Port) => a.port = port,
                    Ok(port) => a.rport = Some(port),
                    Err(_) => self.refuse(format!("bad port -- {v}")),
                }
            }
            // popt's `int`: always within i32 (strtol_int checked).
            Opt::Scale => a.scale = i32::try_from(int()?).ok(),
            Opt::Weight => a.weight = i32::try_from(int()?).ok(),
            Opt::Server => match parse_host(text) {
                Some(ip) => a.server = Some(ip),
                None => self.refuse(format!("bad IP address -- {text}")),
            },
            Opt::ServerLong => self.server_long.push(text.into()),
            Opt::SendProgram => a.send_program = Some(text.into()),
            Opt::Send => a.send = Some(text.into()),
            Opt::Expect => a.expect = Some(text.into()),
            Opt::Regex => a.regex = true,
            Opt::Suppress => a.suppress = true,
            Opt::Quiesce => a.quiesce = true,
            Opt::Udp => a.udp = true,
            Opt::Verbose => a.verbose = true,
            Opt::Virtual => match parse_host(text) {
                Some(ip) => a.virtual_address = Some(ip),
                None => self.refuse(format!("bad virtual address -- {text}")),
            },
            Opt::Fwmark => {
                let v = strtol_mark(text).map_err(|e| bad(blame, popt(e)))?;
                match u32::try_from(v) {
                    Ok(0) => a.fwmark = None,
                    Ok(m) => a.fwmark = Some(m),
                    Err(_) => self.refuse(format!("bad firewall mark -- {v}")),
                }
            }
            Opt::TestStart | Opt::Norun => a.test_start = true,
            Opt::Version => a.version = true,
            Opt::Fos => a.fos = true,
            Opt::Lvs => a.lvs = true,
            Opt::Shared => a.shared = true,
            Opt::Help | Opt::Usage => {
                self.special.get_or_insert(opt);
            }
        }
        Ok(())
    }

    /// The shared-mode rules, once the whole line is read (`--shared` may
    /// come after the `--server`s): the `--server` values become entries,
    /// or (without `--shared`) the host, as the original's long `-h`.
    fn finish_servers(&mut self) -> Result<(), ArgError> {
        let values = std::mem::take(&mut self.server_long);
        let a = &mut self.args;
        if a.shared {
            if self.short_host || a.rport.is_some() || a.weight.is_some() {
                return Err(ArgError::Value(
                    "--shared takes --server RIP:RPORT:WEIGHT, not -h, -r or -w".into(),
                ));
            }
            if values.is_empty() {
                return Err(ArgError::Value(
                    "--shared needs at least one --server RIP:RPORT:WEIGHT".into(),
                ));
            }
            for v in &values {
                let entry = v
                    .parse::<SharedServer>()
                    .map_err(|e| ArgError::Value(e.to_string()))?;
                a.servers.push(entry);
            }
            // An earlier `-h` value error is moot: -h itself is refused above.
            return Ok(());
        }
        if values.iter().any(|v| split_entry(v).is_some()) {
            return Err(ArgError::Value(
                "--server RIP:RPORT:WEIGHT needs --shared".into(),
            ));
        }
        // `--server` is the long `-h`; given both ways, the `--server` wins.
        if let Some(v) = values.last() {
            match parse_host(v) {
                Some(ip) => a.server = Some(ip),
                None => self.refuse(format!("bad IP address -- {v}")),
            }
        }
        Ok(())
    }
}

fn bad(arg: &str, kind: PoptError) -> ArgError {
    ArgError::Bad {
        arg: arg.to_string(),
        kind,
    }
}

fn popt(e: NumberError) -> PoptError {
    match e {
        NumberError::Bad => PoptError::BadNumber,
        NumberError::Overflow => PoptError::Overflow,
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use proptest::prelude::*;
    use values::Seconds;

    use super::*;

    fn run(argv: &[&str]) -> Args {
        match parse(argv) {
            Ok(Parsed::Run(a)) => *a,
            other => panic!("{other:?}"),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn secs(s: &str) -> Option<Seconds> {
        Some(s.parse().expect("seconds"))
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
        assert_eq!(a.server, Some(ip("192.0.2.11")));
        assert_eq!(
            (a.port, a.rport, a.reentry, a.interval),
            (80, Some(8080), secs("15"), secs("6"))
        );
        assert_eq!(a.send.as_deref(), Some(r"GET / HTTP/1.0\r\n\r\n"));
        assert_eq!(a.method.as_deref(), Some("g"));
        assert_eq!(a.loadcmd.as_deref(), Some("rup"));
        assert_eq!(a.virtual_address, Some(ip("203.0.113.10")));
    }

    #[test]
    fn fractional_seconds() {
        let a = run(&["-t", "0.5", "-a", "2.5"]);
        assert_eq!((a.interval, a.reentry), (secs("0.5"), secs("2.5")));
        assert_eq!(run(&["-t", "0.001"]).interval, secs("0.001"));
        assert_eq!(
            run(&["-t", "010"]).interval,
            secs("8"),
            "integers stay popt's"
        );
        assert_eq!(run(&["-a", "0"]).reentry, None, "0 = the default");
        let err = |argv: &[&str]| parse(argv).unwrap_err().to_string();
        // Finer than nanny's millisecond: refused, not read as `-t 0`.
        assert_eq!(
            err(&["-t", "0.0004"]),
            "nanny: bad argument 0.0004: invalid numeric value"
        );
        assert_eq!(
            err(&["-t", "1.5s"]),
            "nanny: bad argument 1.5s: invalid numeric value"
        );
        assert_eq!(
            err(&["-t", "0.0"]),
            "nanny: bad interval -- 0 (must be more than 0)"
        );
        assert_eq!(
            err(&["-t", "-5"]),
            "nanny: bad interval -- -5 (must be more than 0)"
        );
        assert_eq!(
            err(&["-a", "-5"]),
            "nanny: bad reentry time -- -5 (must not be negative)"
        );
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
        assert_eq!(a.interval, secs("3"));
        assert_eq!(a.port, 443);
        assert!(a.nofork && a.nodaemon && a.verbose);
        assert_eq!(a.weight, Some(8));
        assert_eq!(a.fwmark, Some(16));
        // A value may start with a dash.
        let a = run(&["-s", "-x", "-M", "-i"]);
        assert_eq!(a.send.as_deref(), Some("-x"));
        assert_eq!(a.method.as_deref(), Some("-i"));
        assert!(run(&["--test-start"]).test_start);
        assert!(run(&["--norun"]).test_start);
        assert_eq!(run(&["-p", ""]).port, 0);
        assert_eq!(run(&["-f", "0"]).fwmark, None);
        assert_eq!(run(&["-h", "127.1"]).server, Some(ip("127.0.0.1")));
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
        // ... and before a value nanny refuses.
        assert_eq!(
            err(&["-h", "web1", "--bogus"]),
            "nanny: bad argument --bogus: unknown option"
        );
        // The man page's names the code never accepted.
        assert_eq!(
            err(&["--quiesce-server"]),
            "nanny: bad argument --quiesce-server: unknown option"
        );
        assert_eq!(err(&["-h", "web1"]), "nanny: bad IP address -- web1");
        assert_eq!(err(&["-p", "99999"]), "nanny: bad port -- 99999");
        assert_eq!(err(&["-r", "-1"]), "nanny: bad port -- -1");
        assert_eq!(err(&["-f", "-1"]), "nanny: bad firewall mark -- -1");
        // Any mark lvs.cf takes; popt's int stopped at 2^31 - 1.
        assert_eq!(run(&["-f", "4294967295"]).fwmark, Some(u32::MAX));
        assert_eq!(err(&["-V", "x"]), "nanny: bad virtual address -- x");
    }

    #[test]
    fn help_and_usage() {
        assert_eq!(parse(&["--help"]).unwrap(), Parsed::Help);
        assert_eq!(parse(&["-?"]).unwrap(), Parsed::Help);
        assert_eq!(parse(&["--usage"]).unwrap(), Parsed::Usage);
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
        let entry = |addr: &str, port, weight| SharedServer {
            addr: ip(addr),
            port,
            weight,
        };
        assert_eq!(
            a.servers,
            [
                entry("192.0.2.11", 80, 1),
                entry("2001:db8::11", 8080, 3),
                entry("192.0.2.13", 80, 0)
            ]
        );
        assert_eq!(a.server, None);
        // --shared may come last.
        let a = run(&["--server", "192.0.2.11:80:1", "--lvs", "--shared"]);
        assert!(a.shared);
        assert_eq!(a.servers, [entry("192.0.2.11", 80, 1)]);
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
        assert_eq!(
            err(&["--shared", "--lvs", "--server", "192.0.2.1:99999:1"]),
            "nanny: bad server -- 192.0.2.1:99999:1 (want RIP:RPORT:WEIGHT)"
        );
        assert_eq!(
            err(&["--shared", "--lvs", "--server", "web1:80:1"]),
            "nanny: bad IP address -- web1"
        );
    }

    #[test]
    fn server_keeps_its_original_meaning_without_shared() {
        let a = run(&["--server=192.0.2.1", "--lvs"]);
        assert_eq!(a.server, Some(ip("192.0.2.1")));
        assert!(a.servers.is_empty() && !a.shared);
        let a = run(&["--server", "2001:db8::1", "--lvs"]);
        assert_eq!(a.server, Some(ip("2001:db8::1")));
    }

    fn seconds() -> impl Strategy<Value = Option<Seconds>> {
        proptest::option::of(
            (1u64..=Seconds::MAX.as_millis()).prop_map(|ms| Seconds::from_millis(ms).ok()),
        )
        .prop_map(Option::flatten)
    }

    fn addr() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u16; 8]>().prop_map(IpAddr::from),
        ]
    }

    /// Option values as lvsd writes them: any text that is one argv word
    /// (popt takes a word after an option whatever it starts with).
    fn word() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("[ -~]{0,12}")
    }

    fn monitor_args() -> impl Strategy<Value = MonitorArgs> {
        let flags = proptest::collection::vec(any::<bool>(), 12);
        let numbers = (
            any::<u16>(),
            proptest::option::of(any::<u16>()),
            proptest::option::of(1u32..), // every mark lvs.cf accepts
            proptest::option::of(any::<i32>()),
            proptest::option::of(any::<i32>()),
            seconds(),
            seconds(),
        );
        let texts = (word(), word(), word(), word(), word(), word());
        let hosts = (
            proptest::option::of(addr()),
            proptest::option::of(addr()),
            proptest::collection::vec((addr(), any::<u16>(), any::<i32>()), 1..4),
        );
        (flags, numbers, texts, hosts).prop_map(|(f, n, t, h)| {
            let shared = f[0];
            MonitorArgs {
                shared,
                nofork: f[1],
                // -h, -r and -w belong to the per-server form only.
                server: if shared { None } else { h.0 },
                port: n.0,
                rport: if shared { None } else { n.1 },
                fwmark: n.2,
                udp: f[2],
                send_program: t.0,
                send: t.1,
                expect: t.2,
                quiesce: f[3],
                regex: f[4],
                verbose: f[5],
                reentry: n.5,
                ipvsadm: t.3,
                interval: n.6,
                weight: if shared { None } else { n.3 },
                virtual_address: h.1,
                method: t.4,
                loadcmd: t.5,
                nodaemon: f[6],
                scale: n.4,
                suppress: f[7],
                test_start: f[8],
                version: f[9],
                fos: f[10],
                lvs: f[11],
                servers: if shared {
                    h.2.into_iter()
                        .map(|(addr, port, weight)| SharedServer { addr, port, weight })
                        .collect()
                } else {
                    Vec::new()
                },
            }
        })
    }

    proptest! {
        /// What lvsd writes (`MonitorArgs::to_argv`), nanny reads back
        /// equal: the two ends of the command line cannot drift apart.
        #[test]
        fn what_lvsd_writes_nanny_reads(args in monitor_args()) {
            let words: Vec<String> = args
                .to_argv()
                .into_iter()
                .map(|w| w.into_string().expect("UTF-8"))
                .collect();
            match parse(&words) {
                Ok(Parsed::Run(back)) => prop_assert_eq!(*back, args, "{:?}", words),
                other => prop_assert!(false, "{:?} -> {:?}", words, other),
            }
        }
    }
}
