//! Reading the password: on a terminal asked twice without echo, as the
//! original's `read -rs` did; otherwise one line from standard input.

use std::io::{self, BufRead, Read as _, Write as _};
use std::os::fd::AsFd;

use anyhow::{Context, Result, bail};
use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};

/// Longest line read; a password is far shorter, and a runaway input
/// must not fill memory.
const MAX_LINE: u64 = 4096;

/// The password from the terminal or standard input.
pub fn read_password() -> Result<String> {
    let stdin = io::stdin();
    if nix::unistd::isatty(stdin.as_fd()).unwrap_or(false) {
        let first = ask("New Password: ")?;
        let second = ask("\nVerify: ")?;
        println!();
        if first != second {
            bail!("Passwords do not match.");
        }
        Ok(first)
    } else {
        let line = read_line()?;
        line.ok_or_else(|| anyhow::anyhow!("no password on standard input"))
    }
}

/// Reads a line with echo off, prompting on stdout. Echo goes off before
/// the prompt shows (dropping anything typed ahead, which was echoed), so
/// nothing typed after the prompt is ever seen.
fn ask(prompt: &str) -> Result<String> {
    let stdin = io::stdin();
    let saved = tcgetattr(stdin.as_fd()).context("cannot read the terminal settings")?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    tcsetattr(stdin.as_fd(), SetArg::TCSAFLUSH, &quiet).context("cannot turn echo off")?;
    print!("{prompt}");
    io::stdout().flush().ok();
    let line = read_line();
    // Echo back on whatever the read did.
    let restored = tcsetattr(stdin.as_fd(), SetArg::TCSAFLUSH, &saved);
    let line = line?;
    restored.context("cannot turn echo back on")?;
    Ok(line.unwrap_or_default())
}

/// One line of standard input without its line ending; `None` at end of
/// input before any byte.
fn read_line() -> Result<Option<String>> {
    let mut buf = Vec::new();
    let n = io::stdin()
        .lock()
        .take(MAX_LINE + 1)
        .read_until(b'\n', &mut buf)
        .context("cannot read standard input")?;
    if n == 0 {
        return Ok(None);
    }
    if buf.len() as u64 > MAX_LINE {
        bail!("the password line is longer than {MAX_LINE} bytes");
    }
    if buf.ends_with(b"\n") {
        buf.pop();
        if buf.ends_with(b"\r") {
            buf.pop();
        }
    }
    String::from_utf8(buf)
        .map(Some)
        .context("the password is not UTF-8 text")
}
