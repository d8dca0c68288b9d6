//! pulse's command line, parsed the way piranha's pulse (popt) parsed it.
//!
//! popt's behaviour is the contract, as for nanny (`bin/nanny/src/args.rs`):
//! `--opt=value`, `--opt value`, `-x value`, `-xvalue`, clustered flags
//! (`-nv`), `--` ends the options; an unknown option gives
//! `pulse: bad argument <opt>: unknown option`, a non-option argument
//! `pulse: unexpected arguments`, both exit status 1. pulse's few options do
//! not need nanny's engine; the table below is the only list of them.

use std::fmt;
use std::path::PathBuf;

/// Where piranha keeps the file, and so do we.
pub const DEFAULT_CONFIG: &str = "/etc/sysconfig/ha/lvs.cf";
/// The original's pid file.
pub const DEFAULT_PIDFILE: &str = "/var/run/pulse.pid";
/// The status socket (ours).
pub const DEFAULT_SOCKET: &str = "/run/pulse.sock";

/// Everything the command line sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// `-c`, `--configfile`.
    pub configfile: PathBuf,
    /// `-n`, `--nodaemon`: foreground, log to stdout.
    pub nodaemon: bool,
    /// `-t`, `--test-start`, `--norun`: no lvsd, no active/inactive command.
    pub test_start: bool,
    /// `-v`, `--verbose`.
    pub verbose: bool,
    /// `--forceactive`.
    pub forceactive: bool,
    /// `--lvsd`, `--lvs`: lvsd's path; `None` = beside pulse, else /usr/sbin.
    pub lvsd: Option<PathBuf>,
    /// `--fos`: accepted, FOS is not supported.
    pub fos: Option<PathBuf>,
    /// `--status`: ask the running pulse.
    pub status: bool,
    /// `--json`, with `--status`.
    pub json: bool,
    /// `--pidfile`.
    pub pidfile: PathBuf,
    /// `--socket`.
    pub socket: PathBuf,
    /// `--lvsd-pidfile`: where lvsd keeps its pid (default lvsd's own,
    /// `/var/run/lvs.pid`); given, lvsd is started with `--pidfile PATH`.
    pub lvsd_pidfile: Option<PathBuf>,
}

impl Default for Args {
    fn default() -> Args {
        Args {
            configfile: DEFAULT_CONFIG.into(),
            nodaemon: false,
            test_start: false,
            verbose: false,
            forceactive: false,
            lvsd: None,
            fos: None,
            status: false,
            json: false,
            pidfile: DEFAULT_PIDFILE.into(),
            socket: DEFAULT_SOCKET.into(),
            lvsd_pidfile: None,
        }
    }
}

/// What parsing produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Run (the daemon or `--status`).
    Run(Box<Args>),
    /// `-?`/`--help`: print [`HELP`], exit 0.
    Help,
    /// `--usage`: print [`USAGE`], exit 0.
    Usage,
    /// `--version`: print the version, exit 0.
    Version,
}

/// A command-line error; `Display` is the whole stderr line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgError {
    /// `pulse: bad argument <opt>: unknown option` (or `missing argument`).
    Bad { arg: String, missing: bool },
    /// `pulse: unexpected arguments`.
    Unexpected,
    /// `--json` without `--status`.
    JsonWithoutStatus,
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::Bad { arg, missing } => {
                let text = if *missing {
                    "missing argument"
                } else {
                    "unknown option"
                };
                write!(f, "pulse: bad argument {arg}: {text}")
            }
            ArgError::Unexpected => f.write_str("pulse: unexpected arguments"),
            ArgError::JsonWithoutStatus => f.write_str("pulse: --json needs --status"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Opt {
    Config,
    Nodaemon,
    TestStart,
    Verbose,
    Forceactive,
    Lvsd,
    Fos,
    Version,
    Status,
    Json,
    Pidfile,
    Socket,
    LvsdPidfile,
    Help,
    Usage,
}

/// (long name, short letter, takes a value, option).
const TABLE: &[(&str, Option<char>, bool, Opt)] = &[
    ("configfile", Some('c'), true, Opt::Config),
    ("nodaemon", Some('n'), false, Opt::Nodaemon),
    ("test-start", Some('t'), false, Opt::TestStart),
    ("norun", None, false, Opt::TestStart),
    ("verbose", Some('v'), false, Opt::Verbose),
    ("forceactive", None, false, Opt::Forceactive),
    ("lvsd", None, true, Opt::Lvsd),
    // The man page's spelling, which 0.8.6 itself rejected.
    ("lvs", None, true, Opt::Lvsd),
    ("fos", None, true, Opt::Fos),
    ("version", None, false, Opt::Version),
    ("status", None, false, Opt::Status),
    ("json", None, false, Opt::Json),
    ("pidfile", None, true, Opt::Pidfile),
    ("socket", None, true, Opt::Socket),
    ("lvsd-pidfile", None, true, Opt::LvsdPidfile),
    ("help", Some('?'), false, Opt::Help),
    ("usage", None, false, Opt::Usage),
];

/// `--usage`.
pub const USAGE: &str = "Usage: pulse [-ntv?] [-c|--configfile=STRING] [--test-start] [--norun] \
[--forceactive] [--lvsd=STRING] [--lvs=STRING] [--fos=STRING] [--version] [--status] [--json] \
[--pidfile=STRING] [--socket=STRING] [--lvsd-pidfile=STRING] [--usage]\n";

/// `--help`.
pub const HELP: &str = "Usage: pulse [OPTION...]
  -c, --configfile=STRING      Configuration file (default /etc/sysconfig/ha/lvs.cf)
  -n, --nodaemon               Don't run as a daemon
  -t, --test-start             Don't start lvsd or run active/inactive commands
      --norun                  Same as --test-start
  -v, --verbose                Log debugging information
      --forceactive            Start in the active state
      --lvsd=STRING            Path to lvsd (default: beside pulse, else /usr/sbin/lvsd)
      --lvs=STRING             Same as --lvsd
      --fos=STRING             Path to fos (accepted; FOS is not supported)
      --version                Display program version
      --status                 Ask the running pulse for its state
      --json                   With --status: JSON
      --pidfile=STRING         Pid file (default /var/run/pulse.pid)
      --socket=STRING          Status socket (default /run/pulse.sock)
      --lvsd-pidfile=STRING    lvsd's pid file (default /var/run/lvs.pid)

Help options:
  -?, --help                   Show this help message
      --usage                  Display brief usage message
";

/// Parses `argv` without the program name.
pub fn parse<S: AsRef<str>>(argv: &[S]) -> Result<Parsed, ArgError> {
    let mut args = Args::default();
    let mut special = None;
    let mut leftovers = false;
    let mut i = 0;
    let bad = |arg: &str, missing| ArgError::Bad {
        arg: arg.to_owned(),
        missing,
    };
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
            let Some(&(_, _, takes, opt)) = TABLE.iter().find(|e| e.0 == name) else {
                return Err(bad(word, false));
            };
            let value = match (takes, inline) {
                (false, _) => None,
                (true, Some(v)) => Some(v),
                (true, None) => {
                    let v = argv.get(i).ok_or_else(|| bad(word, true))?;
                    i += 1;
                    Some(v.as_ref())
                }
            };
            set(&mut args, &mut special, opt, value);
        } else if word.len() > 1 && word.starts_with('-') {
            let cluster = &word[1..];
            for (at, c) in cluster.char_indices() {
                let Some(&(_, _, takes, opt)) = TABLE.iter().find(|e| e.1 == Some(c)) else {
                    return Err(bad(word, false));
                };
                if !takes {
                    set(&mut args, &mut special, opt, None);
                    continue;
                }
                let rest = &cluster[at + c.len_utf8()..];
                let value = if rest.is_empty() {
                    let v = argv.get(i).ok_or_else(|| bad(word, true))?;
                    i += 1;
                    v.as_ref()
                } else {
                    rest
                };
                set(&mut args, &mut special, opt, Some(value));
                break;
            }
        } else {
            leftovers = true;
        }
    }
    if leftovers {
        return Err(ArgError::Unexpected);
    }
    match special {
        Some(Opt::Help) => Ok(Parsed::Help),
        Some(Opt::Usage) => Ok(Parsed::Usage),
        Some(_) => Ok(Parsed::Version),
        None if args.json && !args.status => Err(ArgError::JsonWithoutStatus),
        None => Ok(Parsed::Run(Box::new(args))),
    }
}

fn set(args: &mut Args, special: &mut Option<Opt>, opt: Opt, value: Option<&str>) {
    let path = || PathBuf::from(value.unwrap_or_default());
    match opt {
        Opt::Config => args.configfile = path(),
        Opt::Nodaemon => args.nodaemon = true,
        Opt::TestStart => args.test_start = true,
        Opt::Verbose => args.verbose = true,
        Opt::Forceactive => args.forceactive = true,
        Opt::Lvsd => args.lvsd = Some(path()),
        Opt::Fos => args.fos = Some(path()),
        Opt::Status => args.status = true,
        Opt::Json => args.json = true,
        Opt::Pidfile => args.pidfile = path(),
        Opt::Socket => args.socket = path(),
        Opt::LvsdPidfile => args.lvsd_pidfile = Some(path()),
        // The first of --help/--usage/--version wins, as popt's callbacks.
        Opt::Help | Opt::Usage | Opt::Version => {
            special.get_or_insert(opt);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(argv: &[&str]) -> Args {
        match parse(argv) {
            Ok(Parsed::Run(a)) => *a,
            other => panic!("{argv:?}: {other:?}"),
        }
    }

    #[test]
    fn defaults_are_the_originals() {
        let a = run(&[]);
        assert_eq!(a.configfile, PathBuf::from("/etc/sysconfig/ha/lvs.cf"));
        assert_eq!(a.pidfile, PathBuf::from("/var/run/pulse.pid"));
        assert!(!a.nodaemon && !a.test_start && !a.verbose && !a.forceactive);
        assert_eq!(a.lvsd, None);
    }

    #[test]
    fn every_spelling_of_the_options() {
        let a = run(&["-c", "/x.cf", "-nv", "--norun", "--forceactive", "--lvs=/l"]);
        assert_eq!(a.configfile, PathBuf::from("/x.cf"));
        assert!(a.nodaemon && a.verbose && a.test_start && a.forceactive);
        assert_eq!(a.lvsd, Some(PathBuf::from("/l")));
        let a = run(&["-c/y.cf", "-t", "--lvsd", "/m", "--fos=/f"]);
        assert_eq!(a.configfile, PathBuf::from("/y.cf"));
        assert!(a.test_start);
        assert_eq!(a.lvsd, Some(PathBuf::from("/m")));
        assert_eq!(a.fos, Some(PathBuf::from("/f")));
        let a = run(&["--configfile=/z.cf", "--test-start", "--status", "--json"]);
        assert_eq!(a.configfile, PathBuf::from("/z.cf"));
        assert!(a.status && a.json);
        let a = run(&["--pidfile", "/p", "--socket=/s", "--lvsd-pidfile=/l"]);
        assert_eq!(a.pidfile, PathBuf::from("/p"));
        assert_eq!(a.lvsd_pidfile, Some(PathBuf::from("/l")));
        assert_eq!(a.socket, PathBuf::from("/s"));
    }

    #[test]
    fn errors_are_popts() {
        let e = parse(&["--bogus"]).unwrap_err();
        assert_eq!(e.to_string(), "pulse: bad argument --bogus: unknown option");
        let e = parse(&["-nx"]).unwrap_err();
        assert_eq!(e.to_string(), "pulse: bad argument -nx: unknown option");
        let e = parse(&["-c"]).unwrap_err();
        assert_eq!(e.to_string(), "pulse: bad argument -c: missing argument");
        let e = parse(&["--configfile"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "pulse: bad argument --configfile: missing argument"
        );
        assert_eq!(parse(&["extra"]).unwrap_err(), ArgError::Unexpected);
        assert_eq!(parse(&["--", "x"]).unwrap_err(), ArgError::Unexpected);
        // popt does not abbreviate.
        assert!(parse(&["--config=/x"]).is_err());
        assert_eq!(parse(&["--json"]).unwrap_err(), ArgError::JsonWithoutStatus);
    }

    #[test]
    fn special_modes() {
        assert_eq!(parse(&["--version"]).unwrap(), Parsed::Version);
        assert_eq!(parse(&["-?"]).unwrap(), Parsed::Help);
        assert_eq!(parse(&["--usage", "--help"]).unwrap(), Parsed::Usage);
    }
}
