//! Config sync: lvs.cf from the active router's `lvs-admin` to the backup
//! router's, replacing the manual `scp` step of the admin guide (§4.7).
//!
//! What it owns:
//!
//! * the message contract ([`wire`]): a push carries the file's bytes, its
//!   SHA-256, its `serial_no`, the base (the digest the primary last saw
//!   on the backup), a force flag and the sender's name; the replies are
//!   accepted, refused with a typed reason, or a status. Nothing but the
//!   file is ever sent, and the receiver runs nothing on receipt: no
//!   reload (lvsd runs only on the active router), no command;
//! * the acceptance rules as a pure function ([`decide`], rules listed in
//!   [`rules`]): a file that does not parse, an older `serial_no`, or a
//!   backup edited by hand since the primary last saw it (unless forced)
//!   is refused;
//! * the transport ([`tls`] and [`net`]): TCP with mutual TLS 1.3, each
//!   router with its own self-signed certificate ([`Identity`]) and the
//!   peer's pinned by its SHA-256 fingerprint (no CA, no host name);
//!   bounded on the backup (connection count, deadline, size read from the
//!   header before any body);
//! * the backup's write through a [`Store`] (lvs-admin's atomic writer
//!   and revision history: the one writer of lvs.cf).
//!
//! What it does not own: when to push (lvs-admin, after an apply and on
//! demand), the command line, and where the files live.
//!
//! Pairing, once per pair of routers (default port [`DEFAULT_PORT`]):
//!
//! 1. on each router, print its fingerprint ([`Identity::pairing_text`];
//!    the key pair is made on first use in the state directory);
//! 2. give each router the other's fingerprint as its peer's. From then
//!    on each side accepts exactly that one certificate: a router whose
//!    identity is made anew must be paired again.

#![deny(missing_docs)]

pub mod digest;
pub mod identity;
pub mod net;
pub mod rules;
pub mod store;
pub mod tls;
pub mod wire;

pub use digest::{Digest, Fingerprint, HexError};
pub use identity::{Identity, IdentityError, IdentityErrorKind};
pub use net::{
    BaseFile, DEFAULT_PORT, PeerConfig, ServeOptions, Server, Step, SyncError, push, push_file,
    query_status, serve, sync,
};
pub use rules::{Checked, Current, Decision, Policy, check, decide};
pub use store::{Store, StoreError};
pub use wire::{Accepted, Finding, Push, Refusal, Reply, Request, Status, WriteRecord};

/// One line saying why a push was refused, in the admin's words.
pub fn describe(refusal: &Refusal) -> String {
    match refusal {
        Refusal::DoesNotParse { errors, omitted } => {
            let n = errors.len() + *omitted as usize;
            format!(
                "the file does not parse on the backup ({n} error{})",
                plural(n)
            )
        }
        Refusal::OlderSerial { current, pushed } => format!(
            "serial_no {pushed} is older than the backup's {current} (raise serial_no to replace it)"
        ),
        Refusal::Conflict {
            current: Some(c),
            base: Some(b),
        } => format!(
            "the backup's lvs.cf ({c}) is not the one last synced ({b}): it was edited there; \
             push with force to replace it"
        ),
        Refusal::Conflict {
            current: Some(c),
            base: None,
        } => format!(
            "the backup has its own lvs.cf ({c}) and none was synced yet; \
             push with force to replace it"
        ),
        Refusal::Conflict {
            current: None,
            base: _,
        } => "the backup's lvs.cf is gone since the last sync; push with force to write it".into(),
        Refusal::TooLarge { size, limit } => {
            format!("the message ({size} bytes) is larger than the backup takes ({limit})")
        }
        Refusal::DigestMismatch { declared, actual } => {
            format!("the file arrived with digest {actual}, not the declared {declared}")
        }
        Refusal::SerialMismatch { declared, actual } => format!(
            "declared serial_no {} but the file has {}",
            opt(declared),
            opt(actual)
        ),
        Refusal::Extensions { notes, omitted } => {
            let n = notes.len() + *omitted as usize;
            format!(
                "the backup still runs piranha 0.8.6 and the file uses {n} extension{} it rejects",
                plural(n)
            )
        }
        Refusal::NotStored { reason } => format!("the backup could not store it: {reason}"),
    }
}

/// [`describe`], then the carried diagnostics rendered against `file`
/// (the pushed bytes, which the backup parsed) as `lvsd --check` prints
/// them, named `file_name`.
pub fn render(refusal: &Refusal, file_name: &str, file: &[u8]) -> String {
    let mut out = describe(refusal);
    out.push('\n');
    let (list, omitted) = match refusal {
        Refusal::DoesNotParse { errors, omitted } => (errors, *omitted),
        Refusal::Extensions { notes, omitted } => (notes, *omitted),
        _ => return out,
    };
    let text = String::from_utf8_lossy(file);
    let lines: Vec<&str> = text.split('\n').collect();
    for f in list {
        let d = f.to_diagnostic();
        if d.line == 0 {
            out.push_str(&format!("{file_name}: {}: {}\n", d.severity, d.message));
            continue;
        }
        let line = lines.get(d.line.saturating_sub(1)).copied().unwrap_or("");
        out.push_str(&d.render_line(file_name, line));
    }
    if omitted > 0 {
        out.push_str(&format!(
            "... and {omitted} more (lvsd --check lists them all)\n"
        ));
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn opt(v: &Option<i64>) -> String {
    v.map_or_else(|| "none".to_owned(), |v| v.to_string())
}
