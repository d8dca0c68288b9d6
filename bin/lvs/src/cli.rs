//! Command line, compatible with piranha's lvsd (popt: `-c FILE`,
//! `--configfile=FILE`, `--configfile FILE`) plus our own modes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Where piranha keeps the file, and so do we.
pub const DEFAULT_CONFIG: &str = "/etc/sysconfig/ha/lvs.cf";

/// lvsd: programs the kernel IPVS table from lvs.cf and runs one nanny per
/// real server.
#[derive(Parser, Debug)]
#[command(name = "lvsd", version, about, long_about = None)]
#[command(group(
    clap::ArgGroup::new("edit")
        .multiple(true)
        .conflicts_with_all(["check", "dry_run", "diff", "status", "control"])
))]
pub struct Args {
    /// Configuration file.
    #[arg(short = 'c', long = "configfile", value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub configfile: PathBuf,

    /// Log more; passed on to the nannies.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,

    /// Stay in the foreground and log to stdout.
    #[arg(short = 'n', long = "nodaemon")]
    pub nodaemon: bool,

    /// Log every write that would be made; touch no kernel table, start no nanny.
    #[arg(short = 't', long = "test-start")]
    pub test_start: bool,

    /// Run as a daemon without forking (how pulse starts lvsd).
    #[arg(long = "nofork")]
    pub nofork: bool,

    /// Validate the file, print every error and warning, and a summary; exit 1 on errors.
    #[arg(long = "check", conflicts_with_all = ["dry_run", "status"])]
    pub check: bool,

    /// Print the IPVS table the file means once every real server is healthy,
    /// in `ipvsadm -S -n` format.
    #[arg(long = "dry-run", conflicts_with_all = ["diff", "status"])]
    pub dry_run: bool,

    /// Print the writes a reload of the file would make against the running
    /// kernel table, as ipvsadm command lines, without making them.
    #[arg(long = "diff", conflicts_with_all = ["status", "check"])]
    pub diff: bool,

    /// Ask the running lvsd for every virtual and real server's state.
    #[arg(long = "status")]
    pub status: bool,

    /// Force one real server down, up, or back to normal checking (what
    /// SIGUSR1, SIGUSR2 and SIGHUP do to its nanny; also for shared nannies),
    /// or drain it: weight 0, whatever its checks say, until one of the
    /// others. Runtime only: nothing is saved to lvs.cf.
    #[arg(long = "control", num_args = 2, value_names = ["down|up|normal|drain", "VIRTUAL/SERVER"], conflicts_with_all = ["status", "check", "dry_run", "diff"])]
    pub control: Option<Vec<String>>,

    /// With --status: JSON instead of text.
    #[arg(long = "json", requires = "status")]
    pub json: bool,

    /// Set a key of the file in place (comments and layout kept), e.g.
    /// virtual.web.server.web1.weight=3, virtual.web.port=443, keepalive=6.
    /// Quote a name holding "." or blanks: virtual."my web".port=80.
    #[arg(
        long = "set",
        value_name = "ADDRESS=VALUE",
        group = "edit",
        help_heading = "Editing lvs.cf"
    )]
    pub set: Vec<String>,

    /// Remove a key from the file (it takes its default).
    #[arg(
        long = "unset",
        value_name = "ADDRESS",
        group = "edit",
        help_heading = "Editing lvs.cf"
    )]
    pub unset: Vec<String>,

    /// Add an empty block: virtual.NAME, failover.NAME or
    /// virtual.NAME.server.NAME (set its keys with --set on the same line).
    #[arg(
        long = "add",
        value_name = "BLOCK",
        group = "edit",
        help_heading = "Editing lvs.cf"
    )]
    pub add: Vec<String>,

    /// Remove a block and everything in it.
    #[arg(
        long = "remove",
        value_name = "BLOCK",
        group = "edit",
        help_heading = "Editing lvs.cf"
    )]
    pub remove: Vec<String>,

    /// Rename a block: BLOCK=NEWNAME (e.g. virtual.web=www).
    #[arg(
        long = "rename",
        value_name = "BLOCK=NAME",
        group = "edit",
        help_heading = "Editing lvs.cf"
    )]
    pub rename: Vec<String>,

    /// With edits: write the edited file to stdout instead of replacing it.
    #[arg(
        long = "print",
        requires = "edit",
        conflicts_with = "preview",
        help_heading = "Editing lvs.cf"
    )]
    pub print: bool,

    /// With edits: show the change as a unified diff on stdout; write nothing.
    #[arg(long = "preview", requires = "edit", help_heading = "Editing lvs.cf")]
    pub preview: bool,

    /// Status socket of the running daemon.
    #[arg(
        long = "socket",
        value_name = "PATH",
        default_value = "/run/lvsd.sock",
        hide = true
    )]
    pub socket: PathBuf,

    /// Pid file written when running as a daemon.
    #[arg(
        long = "pidfile",
        value_name = "PATH",
        default_value = "/var/run/lvs.pid",
        hide = true
    )]
    pub pidfile: PathBuf,
}

/// What this invocation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--check`.
    Check,
    /// `--dry-run`.
    DryRun,
    /// `--diff`.
    Diff,
    /// `--status`.
    Status,
    /// `--control`.
    Control,
    /// `--set`, `--unset`, `--add`, `--remove`, `--rename`.
    Edit,
    /// Run the daemon.
    Daemon,
}

impl Args {
    /// Parse `std::env::args`. `Err` carries the exit status after usage,
    /// help or version has been printed: 1 for bad arguments, as the
    /// original's popt did, 0 for `--help` and `--version`.
    pub fn parse_args() -> Result<Self, ExitCode> {
        Args::try_parse().map_err(|e| {
            let _ = e.print();
            if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        })
    }

    /// The edit flags.
    pub fn edit_request(&self) -> crate::edit::Request<'_> {
        crate::edit::Request {
            add: &self.add,
            rename: &self.rename,
            set: &self.set,
            unset: &self.unset,
            remove: &self.remove,
        }
    }

    /// Where edits go (`--print`, `--preview`, else the file).
    pub fn edit_output(&self) -> crate::edit::Output {
        if self.print {
            crate::edit::Output::Print
        } else if self.preview {
            crate::edit::Output::Preview
        } else {
            crate::edit::Output::InPlace
        }
    }

    /// The mode the flags select.
    pub fn mode(&self) -> Mode {
        if self.check {
            Mode::Check
        } else if self.dry_run {
            Mode::DryRun
        } else if self.diff {
            Mode::Diff
        } else if self.status {
            Mode::Status
        } else if self.control.is_some() {
            Mode::Control
        } else if self.edit_request().any() {
            Mode::Edit
        } else {
            Mode::Daemon
        }
    }
}
