//! The one list of what we accept beyond piranha 0.8.6.
//!
//! Routers are upgraded one at a time, and both must load the same file.
//! Each use of an entry below is reported as a [`Severity::Note`] so that
//! `lvsd --check` can tell whether the file still loads on a router that
//! runs the original daemons.

use crate::diag::{Diagnostic, Severity};
use crate::syntax::Span;

/// One extension: something this parser accepts that piranha 0.8.6 rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension {
    /// Stable identifier (also in [`Diagnostic::extension`]).
    pub id: &'static str,
    /// What is accepted, in the admin's words.
    pub description: &'static str,
}

/// Every extension, in the order of `docs/lvs.cf.md`.
pub const EXTENSIONS: &[Extension] = &[
    Extension {
        id: "crlf",
        description: "CRLF (DOS) line endings; the original read only the first line of such a file",
    },
    Extension {
        id: "no-blanks-around-equal",
        description: "no blank around \"=\" (e.g. \"port=80\")",
    },
    Extension {
        id: "trailing-comment",
        description: "a \"# comment\" after a value",
    },
    Extension {
        id: "blank-after-quote",
        description: "a blank after a closing quote at the end of the line",
    },
    Extension {
        id: "escaped-quote",
        description: "a backslash-escaped quote inside a quoted value (\\\" or \\')",
    },
    Extension {
        id: "brace-placement",
        description: "an opening brace on the next line, or attached to the block name",
    },
    Extension {
        id: "leading-zero-decimal",
        description: "a number with a leading zero and a digit 8 or 9 (read as decimal)",
    },
    Extension {
        id: "fractional-timer",
        description: "a fractional number of seconds for keepalive, deadtime, timeout or reentry",
    },
    Extension {
        id: "service-name-real-port",
        description: "a service name (e.g. \"http\") as a real server port",
    },
    Extension {
        id: "builtin-service-name",
        description: "a service name not in /etc/services, resolved from the built-in table",
    },
    Extension {
        id: "ipv6",
        description: "an IPv6 address or an IPv6 prefix length",
    },
    Extension {
        id: "new-scheduler",
        description: "the schedulers sed, nq, fo, ovf, mh and twos",
    },
    Extension {
        id: "sctp",
        description: "protocol = sctp",
    },
    Extension {
        id: "nanny-mode",
        description: "the global key nanny_mode",
    },
    Extension {
        id: "heartbeat-auth",
        description: "the global key heartbeat_key_file (HMAC-SHA256 heartbeats)",
    },
    Extension {
        id: "arp-schedule",
        description: "the global keys arp_count and arp_interval",
    },
    Extension {
        id: "hot-standby",
        description: "the global key hot_standby",
    },
];

/// Looks up an extension by id.
pub fn extension(id: &str) -> Option<&'static Extension> {
    EXTENSIONS.iter().find(|e| e.id == id)
}

/// The note reported for one use of extension `id` at `span`.
pub(crate) fn note(id: &'static str, span: Span) -> Diagnostic {
    debug_assert!(extension(id).is_some(), "unregistered extension {id}");
    let description = extension(id).map_or(id, |e| e.description);
    let mut d = Diagnostic::new(
        Severity::Note,
        span,
        format!("the original 0.8.6 parser would reject this line: {description}"),
    );
    d.extension = Some(id);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_unique() {
        for (i, a) in EXTENSIONS.iter().enumerate() {
            for b in &EXTENSIONS[i + 1..] {
                assert_ne!(a.id, b.id);
            }
        }
    }
}
