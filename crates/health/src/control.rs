//! lvsd's control lines to a shared nanny (`docs/protocol.md`, version 2):
//! `down N`, `up N`, `normal N` on the nanny's stdin, one per line.
//!
//! Both ends use this module: lvsd writes a [`ControlLine`] with its
//! `Display`, nanny reads it with [`ControlLine::parse`]. A per-server
//! nanny gets the same three commands as signals ([`Command::signal`]).

use std::fmt;
use std::str::FromStr;

use nix::sys::signal::Signal;

/// What lvsd asks of one server's monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Force the server out (SIGUSR1; the original's "opaque glasses").
    Down,
    /// Force the server in at full weight (SIGUSR2, "rose-colored glasses").
    Up,
    /// Back to normal checking (SIGHUP).
    Normal,
}

impl Command {
    /// Every command, in the order `--control` lists them.
    pub const ALL: [Command; 3] = [Command::Down, Command::Up, Command::Normal];

    /// The word on the control line and on lvsd's command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Down => "down",
            Command::Up => "up",
            Command::Normal => "normal",
        }
    }

    /// The signal that means the same to a per-server nanny (and to the
    /// original's).
    pub fn signal(self) -> Signal {
        match self {
            Command::Down => Signal::SIGUSR1,
            Command::Up => Signal::SIGUSR2,
            Command::Normal => Signal::SIGHUP,
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A word that is not a [`Command`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCommand(pub String);

impl fmt::Display for UnknownCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown action {:?} (down, up, normal)", self.0)
    }
}

impl std::error::Error for UnknownCommand {}

impl FromStr for Command {
    type Err = UnknownCommand;

    fn from_str(s: &str) -> Result<Command, UnknownCommand> {
        Command::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCommand(s.to_owned()))
    }
}

/// One control line: a command for server `index` of a shared nanny (the
/// n-th `--server` of its command line, as in the report lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlLine {
    /// What to do.
    pub command: Command,
    /// To which server.
    pub index: usize,
}

impl fmt::Display for ControlLine {
    /// The line without its `\n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.command, self.index)
    }
}

impl ControlLine {
    /// Reads one line (without its `\n`) for a nanny of `servers` servers;
    /// `None` when it is not a line of this protocol or names no server.
    /// The index is canonical decimal only (`0`, `17`; not `01`, `+1`).
    pub fn parse(line: &str, servers: usize) -> Option<ControlLine> {
        let (verb, index) = line.split_once(' ')?;
        let command = verb.parse().ok()?;
        let canonical = !index.is_empty()
            && index.bytes().all(|b| b.is_ascii_digit())
            && (index == "0" || !index.starts_with('0'));
        let index: usize = index.parse().ok().filter(|_| canonical)?;
        (index < servers).then_some(ControlLine { command, index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        for command in Command::ALL {
            for index in [0, 1, 9, 10, 4095] {
                let line = ControlLine { command, index };
                let text = line.to_string();
                assert_eq!(ControlLine::parse(&text, 4096), Some(line), "{text}");
            }
        }
        // The wire text itself, as docs/protocol.md shows it.
        let down = ControlLine {
            command: Command::Down,
            index: 1,
        };
        assert_eq!(down.to_string(), "down 1");
    }

    #[test]
    fn what_nanny_refuses() {
        assert_eq!(
            ControlLine::parse("normal 2", 3),
            Some(ControlLine {
                command: Command::Normal,
                index: 2
            })
        );
        for bad in [
            "down 3",
            "down",
            "down ",
            "down -1",
            "down 01",
            "down +1",
            "down 1 ",
            "sideways 1",
            "",
            "DOWN 1",
        ] {
            assert_eq!(ControlLine::parse(bad, 3), None, "{bad:?}");
        }
    }

    #[test]
    fn commands() {
        assert_eq!("up".parse(), Ok(Command::Up));
        assert_eq!(
            "explode".parse::<Command>().map_err(|e| e.to_string()),
            Err("unknown action \"explode\" (down, up, normal)".to_owned())
        );
        assert_eq!(Command::Down.signal(), Signal::SIGUSR1);
        assert_eq!(Command::Up.signal(), Signal::SIGUSR2);
        assert_eq!(Command::Normal.signal(), Signal::SIGHUP);
    }
}
