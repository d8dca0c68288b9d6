//! Audit lines: every login, logout, apply, restore, runtime control,
//! sync and refusal, with who did it and from where, in one format that
//! both the writer ([`format_line`]) and readers ([`parse_line`], tests,
//! a site's log tooling) share.
//!
//! A line is `audit: EVENT key=value …`, always `user=` and `source=`
//! first, then the event's own fields in a fixed order:
//!
//! ```text
//! audit: login-ok user=piranha source=192.0.2.10 method=passwd
//! audit: apply user=alice source=192.0.2.10 revision=12 reason="raise web1 to 3"
//! ```
//!
//! A value of letters, digits and `._:/@%+,-` is written bare; any other
//! is quoted, with `"`, `\` and control characters escaped (`\"`, `\\`,
//! `\xNN`), so a user name like `x\naudit: login-ok` cannot forge a line.
//!
//! Lines go through the daemons' own sink ([`daemon::log::Logger`]:
//! syslog datagrams to `/dev/log`, which journald keeps, and stdout in the
//! foreground) at info level, which that sink never rate-limits.

use std::fmt::{self, Write as _};

use daemon::log::{Level, Logger};
use daemon::syslog::Syslog;

/// Who acted: the user (or token name) and where from (an address, or
/// `uid N` for a local caller of the helper).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    /// User name, `token:NAME` for an API token, `-` when unknown.
    pub user: &'a str,
    /// Source address or local peer.
    pub source: &'a str,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A login succeeded (`passwd`, `pam` or `token`).
    LoginOk {
        /// How.
        method: &'a str,
    },
    /// A login failed.
    LoginFailed {
        /// How it was tried.
        method: &'a str,
        /// Why (wrong password, unknown user, locked, no role).
        reason: &'a str,
    },
    /// A session ended at the user's request.
    Logout,
    /// A new lvs.cf was applied.
    Apply {
        /// The revision recorded.
        revision: &'a str,
        /// The user's reason.
        reason: &'a str,
    },
    /// An earlier revision was applied again.
    Restore {
        /// The revision restored.
        revision: &'a str,
    },
    /// A runtime action on a real server (not saved to lvs.cf).
    Control {
        /// `down`, `up` or `normal`.
        action: &'a str,
        /// `VIRTUAL/SERVER`.
        target: &'a str,
    },
    /// The file was pushed to the backup router.
    Sync {
        /// The peer.
        peer: &'a str,
        /// `ok`, `conflict`, or the error.
        result: &'a str,
    },
    /// A request refused (CSRF, role, command-key policy).
    Refused {
        /// What was tried.
        action: &'a str,
        /// Why it was refused.
        reason: &'a str,
    },
}

impl Event<'_> {
    /// The event's name in the line.
    pub fn name(&self) -> &'static str {
        match self {
            Event::LoginOk { .. } => "login-ok",
            Event::LoginFailed { .. } => "login-failed",
            Event::Logout => "logout",
            Event::Apply { .. } => "apply",
            Event::Restore { .. } => "restore",
            Event::Control { .. } => "control",
            Event::Sync { .. } => "sync",
            Event::Refused { .. } => "refused",
        }
    }

    fn fields(&self) -> Vec<(&'static str, &str)> {
        match *self {
            Event::LoginOk { method } => vec![("method", method)],
            Event::LoginFailed { method, reason } => vec![("method", method), ("reason", reason)],
            Event::Logout => vec![],
            Event::Apply { revision, reason } => vec![("revision", revision), ("reason", reason)],
            Event::Restore { revision } => vec![("revision", revision)],
            Event::Control { action, target } => vec![("action", action), ("target", target)],
            Event::Sync { peer, result } => vec![("peer", peer), ("result", result)],
            Event::Refused { action, reason } => vec![("action", action), ("reason", reason)],
        }
    }
}

/// What every line starts with.
pub const PREFIX: &str = "audit: ";

/// The line for `actor` doing `event`.
pub fn format_line(actor: &Actor<'_>, event: &Event<'_>) -> String {
    let mut out = String::from(PREFIX);
    out.push_str(event.name());
    let mut fields = vec![("user", actor.user), ("source", actor.source)];
    fields.extend(event.fields());
    for (k, v) in fields {
        out.push(' ');
        out.push_str(k);
        out.push('=');
        push_value(&mut out, v);
    }
    out
}

fn is_bare(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._:/@%+,-".contains(c)
}

fn push_value(out: &mut String, v: &str) {
    if !v.is_empty() && v.chars().all(is_bare) {
        out.push_str(v);
        return;
    }
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A line read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The event's name.
    pub event: String,
    /// Every field, in line order (`user` and `source` first).
    pub fields: Vec<(String, String)>,
}

impl Record {
    /// The value of field `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A line that is not an audit line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset of the problem.
    pub at: usize,
    /// What is wrong.
    pub message: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audit line, byte {}: {}", self.at, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Reads a line made by [`format_line`].
pub fn parse_line(line: &str) -> Result<Record, ParseError> {
    let err = |at: usize, message| ParseError { at, message };
    let rest = line
        .strip_prefix(PREFIX)
        .ok_or(err(0, "does not start with \"audit: \""))?;
    let base = PREFIX.len();
    let (event, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
    if event.is_empty() || !event.chars().all(is_bare) {
        return Err(err(base, "bad event name"));
    }
    let mut fields = Vec::new();
    while !rest.is_empty() {
        let at = line.len() - rest.len();
        let (key, after) = rest
            .split_once('=')
            .ok_or(err(at, "a key=value expected"))?;
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(err(at, "bad key"));
        }
        let (value, after) = if let Some(q) = after.strip_prefix('"') {
            let mut v = Vec::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, '"')) => v.push(b'"'),
                        Some((_, '\\')) => v.push(b'\\'),
                        Some((j, 'x')) => {
                            let hex = q.get(j + 1..j + 3).ok_or(err(at, "short \\x escape"))?;
                            let b = u8::from_str_radix(hex, 16)
                                .map_err(|_| err(at, "bad \\x escape"))?;
                            v.push(b);
                            chars.next();
                            chars.next();
                        }
                        _ => return Err(err(at, "bad escape")),
                    },
                    c => {
                        let mut buf = [0u8; 4];
                        v.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                }
            }
            let end = end.ok_or(err(at, "unterminated quote"))?;
            let v = String::from_utf8(v).map_err(|_| err(at, "escapes are not UTF-8"))?;
            (v, &q[end..])
        } else {
            let (v, after) = after.split_once(' ').map_or((after, ""), |(v, a)| (v, a));
            if v.is_empty() || !v.chars().all(is_bare) {
                return Err(err(
                    at,
                    "a bare value has only letters, digits and ._:/@%+,-",
                ));
            }
            // The separator was consumed by the split.
            fields.push((key.to_owned(), v.to_owned()));
            rest = after;
            continue;
        };
        fields.push((key.to_owned(), value));
        rest = match after {
            "" => "",
            a => a
                .strip_prefix(' ')
                .ok_or(err(line.len() - a.len(), "a space expected"))?,
        };
    }
    Ok(Record {
        event: event.to_owned(),
        fields,
    })
}

/// Where audit lines go.
#[derive(Debug)]
pub struct AuditLog {
    logger: Logger,
}

impl AuditLog {
    /// Lines through `logger` (the process's own sink).
    pub fn new(logger: Logger) -> AuditLog {
        AuditLog { logger }
    }

    /// Lines to syslog (`/dev/log`, so the journal) as `ident`.
    pub fn syslog(ident: &str) -> AuditLog {
        AuditLog::new(Logger::new(ident, ident).with_syslog(Syslog::new(ident)))
    }

    /// Writes the line for `actor` doing `event`.
    pub fn record(&mut self, actor: &Actor<'_>, event: &Event<'_>) {
        self.logger
            .log(Level::Info, "audit", &format_line(actor, event));
    }

    /// The sink (e.g. to read the syslog drop count).
    pub fn logger(&self) -> &Logger {
        &self.logger
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::net::UnixDatagram;
    use std::sync::{Arc, Mutex};

    use proptest::prelude::*;

    use super::*;

    const WHO: Actor<'static> = Actor {
        user: "piranha",
        source: "192.0.2.10",
    };

    #[test]
    fn lines_have_the_documented_shape() {
        assert_eq!(
            format_line(&WHO, &Event::LoginOk { method: "passwd" }),
            "audit: login-ok user=piranha source=192.0.2.10 method=passwd"
        );
        assert_eq!(
            format_line(
                &WHO,
                &Event::Apply {
                    revision: "12",
                    reason: "raise web1 to 3"
                }
            ),
            "audit: apply user=piranha source=192.0.2.10 revision=12 reason=\"raise web1 to 3\""
        );
        assert_eq!(
            format_line(
                &Actor {
                    user: "token:ansible",
                    source: "uid 0"
                },
                &Event::Control {
                    action: "down",
                    target: "web/web1"
                }
            ),
            "audit: control user=token:ansible source=\"uid 0\" action=down target=web/web1"
        );
        assert_eq!(
            format_line(&WHO, &Event::Logout),
            "audit: logout user=piranha source=192.0.2.10"
        );
        assert_eq!(
            format_line(
                &Actor {
                    user: "",
                    source: "::1"
                },
                &Event::Logout
            ),
            "audit: logout user=\"\" source=::1"
        );
    }

    #[test]
    fn a_hostile_user_name_cannot_forge_a_line() {
        let evil = "x\naudit: login-ok user=root \"\\";
        let line = format_line(
            &Actor {
                user: evil,
                source: "198.51.100.1",
            },
            &Event::LoginFailed {
                method: "passwd",
                reason: "wrong password",
            },
        );
        assert!(!line.contains('\n'));
        assert_eq!(
            line,
            "audit: login-failed user=\"x\\x0aaudit: login-ok user=root \\\"\\\\\" source=198.51.100.1 method=passwd reason=\"wrong password\""
        );
        let r = parse_line(&line).unwrap();
        assert_eq!(r.get("user"), Some(evil));
        assert_eq!(r.fields.len(), 4);
    }

    #[test]
    fn every_event_round_trips() {
        let events = [
            Event::LoginOk { method: "pam" },
            Event::LoginFailed {
                method: "token",
                reason: "unknown token",
            },
            Event::Logout,
            Event::Apply {
                revision: "3",
                reason: "",
            },
            Event::Restore { revision: "2" },
            Event::Control {
                action: "normal",
                target: "ftp/a b",
            },
            Event::Sync {
                peer: "198.51.100.2:3637",
                result: "conflict: backup edited by hand",
            },
            Event::Refused {
                action: "set virtual.web.send_program",
                reason: "admin only",
            },
        ];
        for e in events {
            let line = format_line(&WHO, &e);
            let r = parse_line(&line).unwrap_or_else(|err| panic!("{line}: {err}"));
            assert_eq!(r.event, e.name());
            let mut want = vec![("user", "piranha"), ("source", "192.0.2.10")];
            want.extend(e.fields());
            let got: Vec<(&str, &str)> = r
                .fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(got, want, "{line}");
        }
    }

    #[test]
    fn other_lines_are_refused() {
        for bad in [
            "login-ok user=x",
            "audit: ",
            "audit: x user",
            "audit: x user=\"a",
            "audit: x user=a\"b",
            "audit: x user=\"a\"source=b",
            "audit: x user=\"\\q\"",
        ] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
    }

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_reach_syslog_and_stdout_and_are_never_held_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        server
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let out = Buf::default();
        let logger = Logger::new("lvs-web", "lvs-web")
            .with_writer(Box::new(out.clone()))
            .with_syslog(Syslog::with_path("lvs-web", &path));
        let mut audit = AuditLog::new(logger);
        // Far more than the sink's burst of repeated lines.
        for _ in 0..20 {
            audit.record(
                &WHO,
                &Event::LoginFailed {
                    method: "passwd",
                    reason: "wrong password",
                },
            );
        }
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 20);
        assert_eq!(
            text.lines().next(),
            Some(
                "lvs-web: audit: login-failed user=piranha source=192.0.2.10 method=passwd reason=\"wrong password\""
            )
        );
        let mut buf = [0u8; 1024];
        let n = server.recv(&mut buf).unwrap();
        let datagram = String::from_utf8_lossy(&buf[..n]);
        // <30> = facility daemon, severity info.
        assert!(datagram.starts_with("<30>"), "{datagram}");
        assert!(datagram.contains(" lvs-web["), "{datagram}");
        assert!(datagram.ends_with("]: audit: login-failed user=piranha source=192.0.2.10 method=passwd reason=\"wrong password\""), "{datagram}");
    }

    proptest! {
        #[test]
        fn any_line_is_read_or_refused_without_panic(rest in any::<String>()) {
            let _ = parse_line(&format!("audit: {rest}"));
        }

        #[test]
        fn any_values_round_trip(user in any::<String>(), source in "[ -~]{0,20}", reason in any::<String>()) {
            let line = format_line(&Actor { user: &user, source: &source }, &Event::Refused { action: "x", reason: &reason });
            prop_assert!(!line.contains('\n') && !line.contains('\r'));
            let r = parse_line(&line).unwrap();
            prop_assert_eq!(r.get("user"), Some(user.as_str()));
            prop_assert_eq!(r.get("source"), Some(source.as_str()));
            prop_assert_eq!(r.get("reason"), Some(reason.as_str()));
        }
    }
}
