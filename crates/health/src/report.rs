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

/// Protocol version written in the header line by a nanny checking one
/// server.
pub const VERSION: u32 = 1;

/// Protocol version of a shared nanny (`--shared`): every line after the
/// header carries the index of the server it is about (`docs/protocol.md`).
pub const SHARED_VERSION: u32 = 2;

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
    /// Version 2: the server index is missing, malformed (`01`, `+1`, `-1`),
    /// or of the wrong kind for the verb (`-` on a server's line, a number on
    /// `exit`); version 1: the line carries an index.
    BadIndex,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ParseErrorKind::BadFields => write!(f, "malformed report line {:?}", self.line),
            ParseErrorKind::UnsupportedVersion(v) => {
                write!(
                    f,
                    "unsupported nanny-report version {v} (this reader speaks {VERSION} and {SHARED_VERSION})"
                )
            }
            ParseErrorKind::MissingHeader => {
                write!(
                    f,
                    "report stream starts with {:?}, not nanny-report",
                    self.line
                )
            }
            ParseErrorKind::BadIndex => {
                write!(f, "bad server index in report line {:?}", self.line)
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

/// A version 2 line: a [`Line`] about server `server` (`None`: about the
/// whole process, written `-`). `Display` writes `<INDEX> <line>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Indexed<'a> {
    pub server: Option<u32>,
    pub line: Line<'a>,
}

impl fmt::Display for Indexed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.server {
            Some(i) => write!(f, "{i} {}", self.line),
            None => write!(f, "- {}", self.line),
        }
    }
}

/// Parses one version 2 line (after the header): `<INDEX> <v1 line>`. The
/// index is canonical decimal (no sign, no leading zero) or `-`; lines about
/// a server need a number, `exit` needs `-`, and a header may not repeat.
/// Unknown verbs may carry either.
pub fn parse_indexed(line: &str) -> Result<Indexed<'_>, ParseError> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let bad_index = || ParseError {
        line: line.to_string(),
        kind: ParseErrorKind::BadIndex,
    };
    let (index, rest) = line.split_once(' ').ok_or_else(bad_index)?;
    let server = if index == "-" {
        None
    } else {
        Some(parse_index(index).ok_or_else(bad_index)?)
    };
    let parsed = parse_line(rest).map_err(|e| ParseError {
        line: line.to_string(),
        kind: e.kind,
    })?;
    let fits = match parsed {
        Line::Header { .. } => false,
        Line::Monitor { .. }
        | Line::Check { .. }
        | Line::State { .. }
        | Line::Want(_)
        | Line::Mode(_) => server.is_some(),
        Line::Exit { .. } => server.is_none(),
        Line::Other(_) => true,
    };
    if !fits {
        return Err(bad_index());
    }
    Ok(Indexed {
        server,
        line: parsed,
    })
}

/// A server index as nanny writes it: decimal digits, no sign, no leading
/// zero; so every index has exactly one spelling.
fn parse_index(s: &str) -> Option<u32> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

/// Does a version 1 line start with what looks like a version 2 index? Then
/// a v2 stream lost its header or a writer mixed the forms: an error, not an
/// unknown verb to skip.
fn looks_indexed(line: &str) -> bool {
    let first = line.split(' ').next().unwrap_or("");
    first == "-" || (!first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()))
}

/// Splits a byte stream into lines and checks the header; for a reader of
/// a non-blocking pipe. Feed it whatever `read` returned, then take lines:
/// [`Decoder::next_line`] speaks version 1 only (and refuses a version 2
/// header), [`Decoder::next_report`] speaks both.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    start: usize,
    /// The version of the header seen, `None` before it.
    version: Option<u32>,
}

/// A line kept by [`Decoder::next_report`]: which server it is about
/// (`None` in a version 1 stream, where the stream is about one server, and
/// for version 2's process-wide `-` lines) and the line without its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedReport {
    pub server: Option<u32>,
    pub line: OwnedLine,
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

    /// Takes the next complete line's text; `None` = need more bytes.
    /// Invalid UTF-8 is replaced, never fatal.
    fn take_text(&mut self) -> Option<String> {
        let pending = &self.buf[self.start..];
        let end = match pending.iter().position(|&b| b == b'\n') {
            Some(i) => i,
            None if pending.len() > MAX_LINE => MAX_LINE,
            None => return None,
        };
        let text = String::from_utf8_lossy(&pending[..end]).into_owned();
        self.start += (end + 1).min(pending.len());
        Some(text)
    }

    /// Returns the next complete line of a version 1 stream, parsed. `None`
    /// = need more bytes. A version 2 header is refused (use
    /// [`Decoder::next_report`] for those streams).
    pub fn next_line(&mut self) -> Option<Result<OwnedLine, ParseError>> {
        let text = self.take_text()?;
        let result = match parse_line(&text) {
            Ok(Line::Header { version }) if version != VERSION => Err(ParseError {
                line: text.clone(),
                kind: ParseErrorKind::UnsupportedVersion(version),
            }),
            Ok(Line::Header { version }) => {
                self.version = Some(version);
                Ok(())
            }
            Ok(_) if self.version.is_none() => Err(ParseError {
                line: text.clone(),
                kind: ParseErrorKind::MissingHeader,
            }),
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        Some(result.map(|()| OwnedLine(text)))
    }

    /// Returns the next complete line of a version 1 or version 2 stream,
    /// with the server it is about. `None` = need more bytes. The header
    /// line itself is returned too (server `None`). In a version 1 stream a
    /// line starting with an index is an error; in a version 2 stream a line
    /// without a valid one is (see [`parse_indexed`]).
    pub fn next_report(&mut self) -> Option<Result<OwnedReport, ParseError>> {
        let text = self.take_text()?;
        Some(self.decode_report(text))
    }

    fn decode_report(&mut self, text: String) -> Result<OwnedReport, ParseError> {
        let error = |kind| ParseError {
            line: text.clone(),
            kind,
        };
        match self.version {
            None => match parse_line(&text)? {
                Line::Header { version } if version == VERSION || version == SHARED_VERSION => {
                    self.version = Some(version);
                    Ok(OwnedReport {
                        server: None,
                        line: OwnedLine(text),
                    })
                }
                Line::Header { version } => Err(error(ParseErrorKind::UnsupportedVersion(version))),
                _ => Err(error(ParseErrorKind::MissingHeader)),
            },
            Some(SHARED_VERSION) => {
                let indexed = parse_indexed(&text)?;
                let server = indexed.server;
                // Keep only the v1 part: `OwnedLine::line` parses it again.
                let (_, rest) = text.split_once(' ').unwrap_or(("", ""));
                Ok(OwnedReport {
                    server,
                    line: OwnedLine(rest.to_string()),
                })
            }
            Some(_) => {
                if looks_indexed(&text) {
                    return Err(error(ParseErrorKind::BadIndex));
                }
                match parse_line(&text)? {
                    Line::Header { version } if version != VERSION => {
                        Err(error(ParseErrorKind::UnsupportedVersion(version)))
                    }
                    _ => Ok(OwnedReport {
                        server: None,
                        line: OwnedLine(text),
                    }),
                }
            }
        }
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

    #[test]
    fn indexed_lines_round_trip() {
        let lines = [
            Indexed {
                server: Some(0),
                line: Line::Monitor {
                    real: "192.0.2.11:80",
                    virt: "tcp/203.0.113.10:80",
                    pid: 4242,
                },
            },
            Indexed {
                server: Some(1),
                line: Line::Check {
                    ok: false,
                    reason: "CONNECT to 192.0.2.12:80 timed out",
                },
            },
            Indexed {
                server: Some(2),
                line: Line::State { active: true },
            },
            Indexed {
                server: Some(2),
                line: Line::Want(Some(1)),
            },
            Indexed {
                server: Some(4_000_000_000),
                line: Line::Want(None),
            },
            Indexed {
                server: Some(1),
                line: Line::Mode(Mode::ForcedDown),
            },
            Indexed {
                server: None,
                line: Line::Exit { status: 0 },
            },
            Indexed {
                server: None,
                line: Line::Other("future-verb x"),
            },
            Indexed {
                server: Some(7),
                line: Line::Other("future-verb y"),
            },
        ];
        for line in lines {
            let text = line.to_string();
            assert_eq!(parse_indexed(&text), Ok(line), "{text}");
        }
        assert_eq!(
            Indexed {
                server: Some(1),
                line: Line::Check {
                    ok: false,
                    reason: "CONNECT to 192.0.2.12:80 timed out"
                }
            }
            .to_string(),
            "1 check fail CONNECT to 192.0.2.12:80 timed out"
        );
        assert_eq!(
            Indexed {
                server: None,
                line: Line::Exit { status: 0 }
            }
            .to_string(),
            "- exit 0"
        );
    }

    #[test]
    fn bad_indexed_lines_are_errors() {
        for (bad, kind) in [
            ("want 3", ParseErrorKind::BadIndex),
            ("01 want 3", ParseErrorKind::BadIndex),
            ("+1 want 3", ParseErrorKind::BadIndex),
            ("-1 want 3", ParseErrorKind::BadIndex),
            ("1x want 3", ParseErrorKind::BadIndex),
            (" 1 want 3", ParseErrorKind::BadIndex),
            ("4294967296 want 3", ParseErrorKind::BadIndex),
            ("- want 3", ParseErrorKind::BadIndex),
            ("- check ok x", ParseErrorKind::BadIndex),
            ("3 exit 0", ParseErrorKind::BadIndex),
            ("- nanny-report 2", ParseErrorKind::BadIndex),
            ("0", ParseErrorKind::BadIndex),
            ("", ParseErrorKind::BadIndex),
            ("1 want x", ParseErrorKind::BadFields),
            ("1 state up", ParseErrorKind::BadFields),
        ] {
            assert_eq!(parse_indexed(bad).unwrap_err().kind, kind, "{bad:?}");
        }
    }

    fn reports(d: &mut Decoder) -> Vec<Result<(Option<u32>, String), ParseErrorKind>> {
        std::iter::from_fn(|| d.next_report())
            .map(|r| {
                r.map(|r| (r.server, r.line.text().to_string()))
                    .map_err(|e| e.kind)
            })
            .collect()
    }

    #[test]
    fn next_report_reads_version_2() {
        let mut d = Decoder::new();
        d.push(b"nanny-report 2\n0 monitor 192.0.2.11:80 tcp/203.0.113.10:80 42\n0 check ok");
        d.push(b" connected\n2 want 1\n1 mode forced-down\n- exit 0\n3 want");
        let got = reports(&mut d);
        assert_eq!(
            got,
            vec![
                Ok((None, "nanny-report 2".into())),
                Ok((
                    Some(0),
                    "monitor 192.0.2.11:80 tcp/203.0.113.10:80 42".into()
                )),
                Ok((Some(0), "check ok connected".into())),
                Ok((Some(2), "want 1".into())),
                Ok((Some(1), "mode forced-down".into())),
                Ok((None, "exit 0".into())),
            ]
        );
        d.push(b" none\n");
        let r = d.next_report().unwrap().unwrap();
        assert_eq!((r.server, r.line.line()), (Some(3), Line::Want(None)));

        // Mixed forms: a v1 line, a bad index, a second header.
        d.push(b"want 3\n01 want 3\nnanny-report 2\n1 state active\n");
        assert_eq!(
            reports(&mut d),
            vec![
                Err(ParseErrorKind::BadIndex),
                Err(ParseErrorKind::BadIndex),
                Err(ParseErrorKind::BadIndex),
                Ok((Some(1), "state active".into())),
            ]
        );
    }

    #[test]
    fn next_report_reads_version_1() {
        let mut d = Decoder::new();
        d.push(b"nanny-report 1\nmonitor 192.0.2.11:80 fwmark/7 42\nwant 3\nfuture x\n");
        d.push(b"0 want 3\n- exit 0\nexit 0\n");
        assert_eq!(
            reports(&mut d),
            vec![
                Ok((None, "nanny-report 1".into())),
                Ok((None, "monitor 192.0.2.11:80 fwmark/7 42".into())),
                Ok((None, "want 3".into())),
                Ok((None, "future x".into())),
                Err(ParseErrorKind::BadIndex),
                Err(ParseErrorKind::BadIndex),
                Ok((None, "exit 0".into())),
            ]
        );
    }

    #[test]
    fn next_report_checks_the_header() {
        for (first, kind) in [
            ("want 3\n", ParseErrorKind::MissingHeader),
            ("0 want 3\n", ParseErrorKind::MissingHeader),
            ("nanny-report 3\n", ParseErrorKind::UnsupportedVersion(3)),
            ("nanny-report x\n", ParseErrorKind::BadFields),
        ] {
            let mut d = Decoder::new();
            d.push(first.as_bytes());
            assert_eq!(d.next_report().unwrap().unwrap_err().kind, kind, "{first}");
        }
        // next_line stays version 1 only.
        let mut d = Decoder::new();
        d.push(b"nanny-report 2\n0 want 3\n");
        assert_eq!(
            d.next_line().unwrap().unwrap_err().kind,
            ParseErrorKind::UnsupportedVersion(2)
        );
    }
}
