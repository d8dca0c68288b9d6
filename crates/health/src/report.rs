//! The nanny → lvsd report protocol (`docs/protocol.md`), both directions.
//!
//! Under our lvsd a nanny never touches IPVS: it writes one line per event to
//! the pipe named by `LVSD_REPORT_FD`, and lvsd (the single writer of the IPVS
//! table) applies the `want` lines. The types here are shared: nanny emits
//! them, lvsd parses them. Both directions borrow from the line, so neither
//! allocates.
//!
//! ```
//! use health::report::{Line, parse_line};
//! let line = Line::Want(Some(3));
//! assert_eq!(line.to_string(), "want 3");
//! assert_eq!(parse_line("want 3").unwrap(), line);
//! assert_eq!(parse_line("check fail CONNECT to 192.0.2.1:80 timed out").unwrap(),
//!            Line::Check { ok: false, reason: "CONNECT to 192.0.2.1:80 timed out" });
//! ```

use std::fmt;

use crate::state::Mode;

/// Protocol version written in the header line.
pub const VERSION: u32 = 1;

/// The environment variable holding the number of the report pipe's write end.
pub const FD_ENV: &str = "LVSD_REPORT_FD";

/// One line of the report stream (without its `\n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// `nanny-report <version>`: always the first line.
    Header { version: u32 },
    /// `monitor <real> <virtual> <pid>`: what this stream is about; `real` is
    /// `RIP:RPORT`, `virtual` is `tcp/VIP:VPORT`, `udp/VIP:VPORT` or
    /// `fwmark/MARK` (VIP `-` when unknown).
    Monitor {
        real: &'a str,
        virt: &'a str,
        pid: u32,
    },
    /// `check ok|fail <reason>`: one line per completed check.
    Check { ok: bool, reason: &'a str },
    /// `state active|inactive`: the server entered or left service (the
    /// original's `[ active ]` / `[inactive]` log lines).
    State { active: bool },
    /// `want <weight>` / `want none`: the IPVS entry this server should have
    /// from now on (weight 0 = quiesced, `none` = no entry).
    Want(Option<u32>),
    /// `mode normal|forced-down|forced-up`: signal-forced state (SIGUSR1,
    /// SIGUSR2, SIGHUP).
    Mode(Mode),
    /// `exit <status>`: the last line before nanny exits on its own.
    Exit { status: i32 },
    /// A line with a verb this version does not know; readers must skip it.
    Other(&'a str),
}

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Line::Header { version } => write!(f, "nanny-report {version}"),
            Line::Monitor { real, virt, pid } => write!(f, "monitor {real} {virt} {pid}"),
            Line::Check { ok, reason } => {
                f.write_str(if ok { "check ok " } else { "check fail " })?;
                write_text(f, reason)
            }
            Line::State { active } => f.write_str(if active {
                "state active"
            } else {
                "state inactive"
            }),
            Line::Want(Some(w)) => write!(f, "want {w}"),
            Line::Want(None) => f.write_str("want none"),
            Line::Mode(m) => write!(f, "mode {}", m.as_str()),
            Line::Exit { status } => write!(f, "exit {status}"),
            Line::Other(s) => write_text(f, s),
        }
    }
}

/// Free text must stay on one line: control characters become `?`.
fn write_text(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    if !text.chars().any(char::is_control) {
        return f.write_str(text);
    }
    for c in text.chars() {
        if c.is_control() {
            f.write_str("?")?;
        } else {
            fmt::Write::write_char(f, c)?;
        }
    }
    Ok(())
}

/// Why a line could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: String,
    pub kind: ParseErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A known verb with missing or malformed fields.
    BadFields,
    /// The header names a version this reader does not speak.
    UnsupportedVersion(u32),
    /// The stream did not start with `nanny-report`.
    MissingHeader,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ParseErrorKind::BadFields => write!(f, "malformed report line {:?}", self.line),
            ParseErrorKind::UnsupportedVersion(v) => {
                write!(
                    f,
                    "unsupported nanny-report version {v} (this reader speaks {VERSION})"
                )
            }
            ParseErrorKind::MissingHeader => {
                write!(
                    f,
                    "report stream starts with {:?}, not nanny-report",
                    self.line
                )
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses one line (a trailing `\n` or `\r\n` is ignored).
pub fn parse_line(line: &str) -> Result<Line<'_>, ParseError> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let bad = || ParseError {
        line: line.to_string(),
        kind: ParseErrorKind::BadFields,
    };
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let parsed = match verb {
        "nanny-report" => Line::Header {
            version: rest.parse().map_err(|_| bad())?,
        },
        "monitor" => {
            let mut it = rest.split(' ');
            let (Some(real), Some(virt), Some(pid), None) =
                (it.next(), it.next(), it.next(), it.next())
            else {
                return Err(bad());
            };
            Line::Monitor {
                real,
                virt,
                pid: pid.parse().map_err(|_| bad())?,
            }
        }
        "check" => {
            let (result, reason) = rest.split_once(' ').unwrap_or((rest, ""));
            let ok = match result {
                "ok" => true,
                "fail" => false,
                _ => return Err(bad()),
            };
            Line::Check { ok, reason }
        }
        "state" => match rest {
            "active" => Line::State { active: true },
            "inactive" => Line::State { active: false },
            _ => return Err(bad()),
        },
        "want" => match rest {
            "none" => Line::Want(None),
            w => Line::Want(Some(w.parse().map_err(|_| bad())?)),
        },
        "mode" => Line::Mode(match rest {
            "normal" => Mode::Normal,
            "forced-down" => Mode::ForcedDown,
            "forced-up" => Mode::ForcedUp,
            _ => return Err(bad()),
        }),
        "exit" => Line::Exit {
            status: rest.parse().map_err(|_| bad())?,
        },
        _ => Line::Other(line),
    };
    Ok(parsed)
}

/// Splits a byte stream into lines and checks the header; for a reader of
/// a non-blocking pipe. Feed it whatever `read` returned, then take lines.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    start: usize,
    header_seen: bool,
}

/// Longest line a decoder keeps; a longer one is cut (a nanny never writes
/// one, so it can only come from something else writing to the pipe).
pub const MAX_LINE: usize = 4096;

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Appends bytes read from the pipe.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Returns the next complete line, parsed. `None` = need more bytes.
    /// Invalid UTF-8 is replaced, never fatal.
    pub fn next_line(&mut self) -> Option<Result<OwnedLine, ParseError>> {
        let pending = &self.buf[self.start..];
        let end = match pending.iter().position(|&b| b == b'\n') {
            Some(i) => i,
            None if pending.len() > MAX_LINE => MAX_LINE,
            None => return None,
        };
        let text = String::from_utf8_lossy(&pending[..end]).into_owned();
        self.start += (end + 1).min(pending.len());
        let result = match parse_line(&text) {
            Ok(Line::Header { version }) if version != VERSION => Err(ParseError {
                line: text.clone(),
                kind: ParseErrorKind::UnsupportedVersion(version),
            }),
            Ok(Line::Header { .. }) => {
                self.header_seen = true;
                Ok(())
            }
            Ok(_) if !self.header_seen => Err(ParseError {
                line: text.clone(),
                kind: ParseErrorKind::MissingHeader,
            }),
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        Some(result.map(|()| OwnedLine(text)))
    }
}

/// A line kept by the [`Decoder`]; [`OwnedLine::line`] parses it again
/// (cheap) to hand out the borrowed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedLine(String);

impl OwnedLine {
    pub fn text(&self) -> &str {
        &self.0
    }

    pub fn line(&self) -> Line<'_> {
        // The decoder only hands out lines that parsed.
        parse_line(&self.0).unwrap_or(Line::Other(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_round_trips() {
        let lines = [
            Line::Header { version: 1 },
            Line::Monitor {
                real: "192.0.2.11:80",
                virt: "tcp/203.0.113.10:80",
                pid: 4242,
            },
            Line::Check {
                ok: true,
                reason: "connected",
            },
            Line::Check {
                ok: false,
                reason: "READ from 192.0.2.11:80 was too short[2>=4]",
            },
            Line::State { active: true },
            Line::State { active: false },
            Line::Want(Some(0)),
            Line::Want(Some(100)),
            Line::Want(None),
            Line::Mode(Mode::Normal),
            Line::Mode(Mode::ForcedDown),
            Line::Mode(Mode::ForcedUp),
            Line::Exit { status: 255 },
            Line::Other("future-verb a b c"),
        ];
        for line in lines {
            let text = line.to_string();
            assert_eq!(parse_line(&text), Ok(line), "{text}");
        }
    }

    #[test]
    fn literal_texts() {
        assert_eq!(Line::Header { version: 1 }.to_string(), "nanny-report 1");
        assert_eq!(Line::Want(None).to_string(), "want none");
        assert_eq!(
            Line::Check {
                ok: false,
                reason: "a\nb"
            }
            .to_string(),
            "check fail a?b"
        );
    }

    #[test]
    fn malformed_lines_are_errors() {
        for bad in [
            "want",
            "want -1",
            "want x",
            "state up",
            "check maybe x",
            "mode on",
            "exit",
            "monitor a b",
            "nanny-report x",
        ] {
            assert_eq!(
                parse_line(bad).unwrap_err().kind,
                ParseErrorKind::BadFields,
                "{bad}"
            );
        }
    }

    #[test]
    fn decoder_splits_segments_and_checks_header() {
        let mut d = Decoder::new();
        d.push(b"nanny-report 1\nstate act");
        assert!(d.next_line().unwrap().is_ok());
        assert!(d.next_line().is_none());
        d.push(b"ive\nwant 3\n");
        assert_eq!(
            d.next_line().unwrap().unwrap().line(),
            Line::State { active: true }
        );
        assert_eq!(d.next_line().unwrap().unwrap().line(), Line::Want(Some(3)));
        assert!(d.next_line().is_none());

        let mut d = Decoder::new();
        d.push(b"want 3\n");
        assert_eq!(
            d.next_line().unwrap().unwrap_err().kind,
            ParseErrorKind::MissingHeader
        );
        let mut d = Decoder::new();
        d.push(b"nanny-report 2\n");
        assert_eq!(
            d.next_line().unwrap().unwrap_err().kind,
            ParseErrorKind::UnsupportedVersion(2)
        );
    }
}
