//! `lvsd --check`, `lvsd --dry-run` and `lvsd --diff`: what a file means,
//! before anything touches the kernel. The verdicts are
//! [`director::check`]'s (the configuration tool's helper sends the same
//! ones); this module reads the file and prints them.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use director::check::{Host, HostSettings};
use lvscf::{ParsedFile, Severity};

fn load(path: &Path) -> Result<ParsedFile> {
    lvscf::parse_file(path)
        .map_err(|e| anyhow::anyhow!("failed to open {}: {}", e.path.display(), e.source))
}

/// This machine as the check sees it: the kernel settings, and the hard
/// open-file limit lvsd would inherit from this process.
pub fn host() -> Host {
    Host {
        settings: HostSettings::read(),
        nofile_hard: ::daemon::rlimit::nofile_hard_limit().ok(),
    }
}

/// `--check`: every diagnostic, the host warnings, then one summary line.
/// Exit 1 on any error, 0 with warnings only.
pub fn check(path: &Path) -> Result<ExitCode> {
    let file = load(path)?;
    let report = director::check::check(&file, &path.display().to_string(), &host());
    io::stderr()
        .lock()
        .write_all(report.stderr(&file.source).as_bytes())?;
    io::stdout().lock().write_all(report.stdout().as_bytes())?;
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// For the modes whose output is a table, not a lint report: only the
/// errors, and exit 1.
fn print_errors(file: &ParsedFile) -> Result<ExitCode> {
    let stderr = io::stderr();
    let mut err = stderr.lock();
    let name = file.path.display().to_string();
    for d in file
        .parsed
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
    {
        write!(err, "{}", d.render(&name, &file.source))?;
    }
    Ok(ExitCode::from(1))
}

/// `--dry-run`: the converged table in `ipvsadm -S -n` format.
pub fn dry_run(path: &Path) -> Result<ExitCode> {
    let file = load(path)?;
    let Some(config) = &file.parsed.config else {
        return print_errors(&file);
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    write!(out, "{}", director::check::table_text(config))?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `--diff`: the writes a reload of this file would make against the
/// running kernel table ([`director::check::diff`]), as ipvsadm command
/// lines, without making them.
pub fn diff(path: &Path) -> Result<ExitCode> {
    let file = load(path)?;
    let Some(config) = &file.parsed.config else {
        return print_errors(&file);
    };
    let mut table = ipvs::NetlinkIpvs::new()
        .map_err(|e| anyhow::anyhow!(e))
        .map_err(|e| e.context("cannot read the IPVS table"))?;
    let lines = director::check::diff(config, &mut table).map_err(|e| anyhow::anyhow!(e))?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for line in &lines {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    writeln!(
        io::stderr(),
        "{}",
        match lines.len() {
            0 => "no changes".to_owned(),
            1 => "1 write".to_owned(),
            n => format!("{n} writes"),
        }
    )?;
    Ok(ExitCode::SUCCESS)
}
