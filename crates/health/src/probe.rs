//! What one check does, built once at start-up from nanny's options
//! (`-s`, `-x`, `-e`, `--regex`, `-T`, `-u`, `-p`).
//!
//! All validation happens here, so a configuration nanny cannot check is
//! refused before the daemon starts (the original spun forever on an unknown
//! escape, or failed every check after a regex compile error).

use std::fmt;
use std::net::SocketAddr;

use regex::bytes::{Regex, RegexBuilder};

use crate::escape::{EscapeError, unescape};
use crate::ipvs::Protocol;

/// How the reply is judged.
#[derive(Debug, Clone)]
pub enum Expect {
    /// No expect string: TCP passes once connected (and the send string
    /// written); UDP passes on any datagram.
    Nothing,
    /// `expect = "*"`: any one byte.
    AnyByte,
    /// The reply must start with these bytes; read until that many arrived
    /// (over any number of segments), EOF, or the timeout.
    Prefix(Vec<u8>),
    /// `--regex`: the reply, read until it matches, EOF, the buffer is full
    /// or the timeout, must contain a match.
    Regex(Regex),
}

/// One check.
#[derive(Debug, Clone)]
pub enum Probe {
    /// Connect to RIP:RPORT, optionally send, optionally read a reply.
    Socket {
        protocol: Protocol,
        send: Option<Vec<u8>>,
        expect: Expect,
    },
    /// Run a program (no shell); it passes when it exits 0 and, with an
    /// expect string, its whole output (less one trailing newline) equals it.
    Program {
        /// argv, `%h` / `%p` already substituted.
        argv: Vec<String>,
        expect: Option<Vec<u8>>,
    },
}

/// Options as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct ProbeOptions<'a> {
    pub send: Option<&'a str>,
    pub expect: Option<&'a str>,
    pub program: Option<&'a str>,
    pub regex: bool,
    /// `-T`: no backslash translation.
    pub suppress: bool,
    pub udp: bool,
    /// Virtual port (`-p`): 80 with nothing configured means an HTTP check.
    pub virtual_port: u16,
}

/// A line the original logged while setting up the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupNote {
    /// `-e` given together with `-s`.
    SendIgnored { program: String, send: String },
    /// Port 80 and nothing configured.
    DefaultHttp,
}

impl fmt::Display for SetupNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupNote::SendIgnored { program, send } => write!(
                f,
                "External program use requested: ({program}), IGNORING send string option ({send})"
            ),
            SetupNote::DefaultHttp => {
                f.write_str("nanny: no monitor configured, assuming web service on port 80")
            }
        }
    }
}

/// Why a check cannot be set up.
#[derive(Debug, Clone)]
pub enum ProbeError {
    Escape {
        what: &'static str,
        err: EscapeError,
    },
    Regex(String),
    EmptyProgram,
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeError::Escape { what, err } => write!(f, "bad {what} string: {err}"),
            ProbeError::Regex(e) => write!(f, "bad expect regular expression: {e}"),
            ProbeError::EmptyProgram => f.write_str("send_program is empty"),
        }
    }
}

impl std::error::Error for ProbeError {}

/// The original's default check on virtual port 80.
const HTTP_SEND: &str = "GET / HTTP/1.0\\r\\n\\r\\n";
const HTTP_EXPECT: &str = "HTTP";

/// Largest reply kept for a regex match or a program's output.
pub const REPLY_LIMIT: usize = 4096;

impl Probe {
    /// Builds the check for real server `target`.
    pub fn build(
        opts: &ProbeOptions<'_>,
        target: SocketAddr,
    ) -> Result<(Probe, Vec<SetupNote>), ProbeError> {
        let mut notes = Vec::new();
        let translate = |what: &'static str, s: &str| -> Result<Vec<u8>, ProbeError> {
            if opts.suppress {
                Ok(s.as_bytes().to_vec())
            } else {
                unescape(s).map_err(|err| ProbeError::Escape { what, err })
            }
        };

        if let Some(program) = opts.program {
            if let Some(send) = opts.send {
                notes.push(SetupNote::SendIgnored {
                    program: program.to_string(),
                    send: send.to_string(),
                });
            }
            let argv = split_program(program, target);
            if argv.is_empty() {
                return Err(ProbeError::EmptyProgram);
            }
            // Program output is compared as plain text even with --regex,
            // as the original did.
            let expect = opts.expect.map(|e| translate("expect", e)).transpose()?;
            return Ok((Probe::Program { argv, expect }, notes));
        }

        let (send, expect, default_http) =
            if opts.virtual_port == 80 && opts.send.is_none() && opts.expect.is_none() {
                notes.push(SetupNote::DefaultHttp);
                (Some(HTTP_SEND), Some(HTTP_EXPECT), true)
            } else {
                (opts.send, opts.expect, false)
            };
        let send = send.map(|s| translate("send", s)).transpose()?;
        let expect = match expect {
            None => Expect::Nothing,
            Some("*") => Expect::AnyByte,
            Some(e) if opts.regex && !default_http => {
                // The expression goes to the regex engine unchanged: it
                // knows \n \r \t \\ itself, and \. etc. mean what the user
                // meant.
                Expect::Regex(compile_regex(e)?)
            }
            Some(e) => Expect::Prefix(translate("expect", e)?),
        };
        let protocol = if opts.udp {
            Protocol::Udp
        } else {
            Protocol::Tcp
        };
        Ok((
            Probe::Socket {
                protocol,
                send,
                expect,
            },
            notes,
        ))
    }
}

/// Compiles an expect regex with POSIX `regexec` semantics where the regex
/// crate allows: `.` matches a newline, `^`/`$` anchor the whole reply,
/// and the reply is bytes, not necessarily UTF-8.
pub fn compile_regex(pattern: &str) -> Result<Regex, ProbeError> {
    RegexBuilder::new(pattern)
        .dot_matches_new_line(true)
        .unicode(false)
        .build()
        .map_err(|e| ProbeError::Regex(e.to_string()))
}

/// Splits a `send_program` like the original: on spaces only (runs of spaces
/// count as one; no quoting, no shell), then replaces `%h` with the real
/// server's address and `%p` with its port, also inside a word.
pub fn split_program(program: &str, target: SocketAddr) -> Vec<String> {
    let host = target.ip().to_string();
    let port = target.port().to_string();
    program
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| w.replace("%h", &host).replace("%p", &port))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> SocketAddr {
        "192.0.2.11:8080".parse().unwrap()
    }

    fn build(opts: ProbeOptions<'_>) -> Result<(Probe, Vec<SetupNote>), ProbeError> {
        Probe::build(&opts, target())
    }

    #[test]
    fn default_http_check_on_port_80_only() {
        let (probe, notes) = build(ProbeOptions {
            virtual_port: 80,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(notes, vec![SetupNote::DefaultHttp]);
        match probe {
            Probe::Socket {
                protocol: Protocol::Tcp,
                send: Some(send),
                expect: Expect::Prefix(expect),
            } => {
                assert_eq!(send, b"GET / HTTP/1.0\r\n\r\n");
                assert_eq!(expect, b"HTTP");
            }
            other => panic!("{other:?}"),
        }
        let (probe, notes) = build(ProbeOptions {
            virtual_port: 443,
            ..Default::default()
        })
        .unwrap();
        assert!(notes.is_empty());
        assert!(matches!(
            probe,
            Probe::Socket {
                send: None,
                expect: Expect::Nothing,
                ..
            }
        ));
    }

    #[test]
    fn star_is_any_byte_and_escapes_apply() {
        let (probe, _) = build(ProbeOptions {
            send: Some(r"PING\r\n"),
            expect: Some("*"),
            virtual_port: 6379,
            ..Default::default()
        })
        .unwrap();
        match probe {
            Probe::Socket {
                send: Some(s),
                expect: Expect::AnyByte,
                ..
            } => assert_eq!(s, b"PING\r\n"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_escape_rejected_but_not_in_regex_mode() {
        let err = build(ProbeOptions {
            expect: Some(r"HTTP/1\.1"),
            virtual_port: 80,
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("bad expect string: unknown escape")
        );
        let (probe, _) = build(ProbeOptions {
            expect: Some(r"HTTP/1\.1 200"),
            regex: true,
            virtual_port: 80,
            ..Default::default()
        })
        .unwrap();
        let Probe::Socket {
            expect: Expect::Regex(re),
            ..
        } = probe
        else {
            panic!()
        };
        assert!(re.is_match(b"HTTP/1.1 200 OK"));
        assert!(!re.is_match(b"HTTP/1x1 200 OK"));
        // -T: no translation at all.
        let (probe, _) = build(ProbeOptions {
            send: Some(r"a\qb"),
            suppress: true,
            virtual_port: 1,
            ..Default::default()
        })
        .unwrap();
        assert!(matches!(probe, Probe::Socket { send: Some(s), .. } if s == br"a\qb"));
    }

    #[test]
    fn bad_regex_rejected_at_start() {
        let err = build(ProbeOptions {
            expect: Some("HTTP(1"),
            regex: true,
            virtual_port: 80,
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(err, ProbeError::Regex(_)));
    }

    #[test]
    fn regex_has_posix_newline_semantics() {
        let re = compile_regex("^HTTP.*200").unwrap();
        assert!(re.is_match(b"HTTP/1.0\r\n200"));
        assert!(!re.is_match(b"xHTTP 200"));
        // Bytes that are not UTF-8 do not stop the match.
        assert!(compile_regex("OK").unwrap().is_match(b"\xff\xfeOK"));
    }

    #[test]
    fn program_split_and_substitution() {
        assert_eq!(
            split_program("/bin/check  -H %h --port=%p host=%h:%p", target()),
            vec![
                "/bin/check",
                "-H",
                "192.0.2.11",
                "--port=8080",
                "host=192.0.2.11:8080"
            ]
        );
        let (probe, notes) = build(ProbeOptions {
            program: Some("/bin/true %h"),
            send: Some("x"),
            expect: Some(r"OK\n"),
            virtual_port: 80,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            notes,
            vec![SetupNote::SendIgnored {
                program: "/bin/true %h".into(),
                send: "x".into()
            }]
        );
        match probe {
            Probe::Program { argv, expect } => {
                assert_eq!(argv, vec!["/bin/true", "192.0.2.11"]);
                assert_eq!(expect.unwrap(), b"OK\n");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            build(ProbeOptions {
                program: Some("   "),
                ..Default::default()
            }),
            Err(ProbeError::EmptyProgram)
        ));
    }
}
