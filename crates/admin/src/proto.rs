//! The helper's socket protocol, written and parsed here only (the helper
//! and every client use this module).
//!
//! One request per connection: the client writes one JSON [`Request`] and
//! shuts down its sending side; the helper answers with one JSON
//! [`Reply`] and closes. Reading stops at a byte limit ([`MAX_REQUEST`],
//! [`MAX_REPLY`]) and a deadline, so a client that sends without end, or
//! never finishes, costs the helper a bounded amount of memory and time.
//! Malformed, oversized or truncated input is a [`FrameError`], never a
//! panic.
//!
//! lvs.cf travels as [`Bytes`] (base64 in the JSON): the file need not be
//! UTF-8 (piranha read bytes, and old comments hold Latin-1), and its
//! digest is over the bytes as they are on disk.

use std::fmt;
use std::io::{self, Read};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

/// Largest request: an lvs.cf of 2,300 virtuals with 16 servers each is
/// about 4 MiB, base64 makes it 5.4 MiB; 16 MiB leaves room and still
/// bounds what one client costs.
pub const MAX_REQUEST: usize = 16 << 20;
/// Largest reply: a revision's bytes (lvsd reads files up to 64 MiB, 86
/// MiB in base64), or lvsd's status of every real server (2,300 × 16
/// servers is about 12 MiB of JSON).
pub const MAX_REPLY: usize = 128 << 20;
/// Longest `user` a request may carry.
pub const MAX_USER: usize = 256;
/// Longest `reason`.
pub const MAX_REASON: usize = 4096;
/// How long a client may take to send its request.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
/// How long a client waits for the reply: an apply waits for lvsd's
/// reload (up to its 15 s read deadline) and may revert, so this is longer.
pub const REPLY_DEADLINE: Duration = Duration::from_secs(90);

/// The SHA-256 of a file's bytes: the ETag an editor starts from.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(sha2::Sha256::digest(bytes).into())
    }

    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::with_capacity(64);
        for b in self.0 {
            let _ = write!(s, "{b:02x}");
        }
        s
    }

    /// From 64 hex digits (either case).
    pub fn from_hex(s: &str) -> Result<Digest, String> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(format!(
                "digest {s:?}: expected 64 hex digits, got {}",
                s.len()
            ));
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let hex = std::str::from_utf8(pair).ok();
            out[i] = hex
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("digest {s:?}: not hex at {}", 2 * i + 1))?;
        }
        Ok(Digest(out))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl std::str::FromStr for Digest {
    type Err = String;
    fn from_str(s: &str) -> Result<Digest, String> {
        Digest::from_hex(s)
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let s = String::deserialize(d)?;
        Digest::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// File contents, as base64 in the JSON.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// The text, when it is UTF-8 (an editor needs text; a file with other
    /// bytes is shown read-only or lossily).
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The digest of these bytes.
    pub fn digest(&self) -> Digest {
        Digest::of(&self.0)
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Bytes {
        Bytes(v)
    }
}

impl From<&[u8]> for Bytes {
    fn from(v: &[u8]) -> Bytes {
        Bytes(v.to_vec())
    }
}

impl From<&str> for Bytes {
    fn from(v: &str) -> Bytes {
        Bytes(v.as_bytes().to_vec())
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) if s.len() <= 200 => write!(f, "Bytes({s:?})"),
            _ => write!(f, "Bytes({} bytes)", self.0.len()),
        }
    }
}

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map(Bytes)
            .map_err(|e| serde::de::Error::custom(format!("not base64: {e}")))
    }
}

/// A password on its way to the helper's `login`: plain text in the JSON
/// (the socket is local and `SO_PEERCRED`-checked), never in a log or a
/// `Debug` line.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(hidden)")
    }
}

/// Longest password `login` takes.
pub const MAX_PASSWORD: usize = 4096;

/// `login`'s answer. Every outcome is audited by the helper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum LoginOutcome {
    /// The password is right and the user has a role.
    LoggedIn {
        /// The user as the backend names them (PAM may map the name).
        user: String,
        /// `viewer`, `operator`, `editor` or `admin` (`access::Role`).
        role: String,
        /// `passwd` or `pam`.
        method: String,
    },
    /// Unknown user, wrong or empty password, account refused.
    Rejected {
        /// For the audit line; a page shows "wrong user name or password".
        reason: String,
    },
    /// The password is right but the user has no role here.
    NoRole {
        /// Why.
        reason: String,
    },
    /// Too many failures from that source or for that user: refused
    /// before the password was looked at.
    Locked {
        /// Seconds until the lock ends.
        retry_after: u64,
    },
    /// The check could not be made (passwd file unreadable, PAM broken, no
    /// backend configured).
    Unavailable {
        /// What is wrong, naming the file or service.
        message: String,
    },
}

impl LoginOutcome {
    /// One line for the helper's log (never the password).
    pub fn summary(&self) -> String {
        match self {
            LoginOutcome::LoggedIn { user, role, method } => {
                format!("logged in {user:?} as {role} ({method})")
            }
            LoginOutcome::Rejected { reason } => format!("rejected: {reason}"),
            LoginOutcome::NoRole { reason } => format!("no role: {reason}"),
            LoginOutcome::Locked { retry_after } => format!("locked for {retry_after} s"),
            LoginOutcome::Unavailable { message } => format!("cannot check: {message}"),
        }
    }
}

/// `control`'s action, as `lvsd --control` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ControlAction {
    /// Force the server out of the table.
    Down,
    /// Force it in.
    Up,
    /// Back to normal checking (ends a drain).
    Normal,
    /// Keep it at weight 0, whatever its checks say, until one of the
    /// others (lvsd's own; its nanny keeps checking).
    Drain,
}

impl ControlAction {
    /// The word lvsd's status socket takes.
    pub fn word(self) -> &'static str {
        match self {
            ControlAction::Down => "down",
            ControlAction::Up => "up",
            ControlAction::Normal => "normal",
            ControlAction::Drain => "drain",
        }
    }
}

impl std::str::FromStr for ControlAction {
    type Err = String;
    fn from_str(s: &str) -> Result<ControlAction, String> {
        match s {
            "down" => Ok(ControlAction::Down),
            "up" => Ok(ControlAction::Up),
            "normal" => Ok(ControlAction::Normal),
            "drain" => Ok(ControlAction::Drain),
            _ => Err(format!("{s:?}: expected down, up, normal or drain")),
        }
    }
}

/// What a client asks. `user` is the web user the calling process vouches
/// for; it goes into the revision and the log next to the caller's uid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verb", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// The file on disk and its digest.
    Read,
    /// `lvsd --check` of these bytes.
    Check {
        /// Candidate lvs.cf.
        text: Bytes,
    },
    /// The text diff against the file on disk, and the IPVS writes a reload
    /// of these bytes would make (`lvsd --diff`).
    Diff {
        /// Candidate lvs.cf.
        text: Bytes,
    },
    /// Check, write, record, reload, and revert if lvsd refuses.
    Apply {
        /// The digest of the file the edit started from.
        base_digest: Digest,
        /// The new lvs.cf.
        text: Bytes,
        /// Why (goes into the history).
        reason: String,
        /// Who.
        user: String,
    },
    /// The revisions kept, newest first.
    History,
    /// One revision's bytes.
    Show {
        /// Revision number.
        rev: u64,
    },
    /// Apply a revision's bytes again (from the file on disk, whatever it
    /// is: the restore is the user's decision, not an edit of a page).
    Restore {
        /// Revision number.
        rev: u64,
        /// Why.
        reason: String,
        /// Who.
        user: String,
    },
    /// `lvsd --control ACTION VIRTUAL/SERVER`: runtime only, not saved.
    Control {
        /// Down, up, normal or drain.
        action: ControlAction,
        /// The virtual server's block name.
        virtual_name: String,
        /// The real server's block name.
        server: String,
        /// Who.
        user: String,
    },
    /// lvsd's and pulse's snapshots and the file's digest.
    Status,
    /// Send the file to the backup router.
    SyncPush {
        /// Overwrite a backup that was edited by hand.
        force: bool,
        /// Who.
        user: String,
    },
    /// The backup's digest as last seen.
    SyncStatus,
    /// Check a web user's password (piranha.passwd, or PAM restricted to
    /// groups), under the login rate limit; the user's role if right.
    Login {
        /// The name typed.
        user: String,
        /// The password typed.
        password: Password,
        /// The client's address (the rate limit's key, PAM's `PAM_RHOST`).
        source: String,
    },
}

impl Request {
    /// The verb, for logs.
    pub fn verb(&self) -> &'static str {
        match self {
            Request::Read => "read",
            Request::Check { .. } => "check",
            Request::Diff { .. } => "diff",
            Request::Apply { .. } => "apply",
            Request::History => "history",
            Request::Show { .. } => "show",
            Request::Restore { .. } => "restore",
            Request::Control { .. } => "control",
            Request::Status => "status",
            Request::SyncPush { .. } => "sync-push",
            Request::SyncStatus => "sync-status",
            Request::Login { .. } => "login",
        }
    }
}

/// How serious a diagnostic is (lvscf's severities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file must not be used.
    Error,
    /// Loads, but probably not as meant.
    Warning,
    /// An extension piranha 0.8.6 would reject.
    Note,
}

impl From<lvscf::Severity> for Severity {
    fn from(s: lvscf::Severity) -> Severity {
        match s {
            lvscf::Severity::Error => Severity::Error,
            lvscf::Severity::Warning => Severity::Warning,
            lvscf::Severity::Note => Severity::Note,
        }
    }
}

/// One finding at a place in the file, as `lvsd --check` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Error, warning or note.
    pub severity: Severity,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// Length in characters (0 = a point).
    pub len: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when known.
    pub hint: Option<String>,
    /// The extension a note is about.
    pub extension: Option<String>,
}

impl From<&lvscf::Diagnostic> for Diagnostic {
    fn from(d: &lvscf::Diagnostic) -> Diagnostic {
        Diagnostic {
            severity: d.severity.into(),
            line: d.line,
            col: d.col,
            len: d.len,
            message: d.message.clone(),
            hint: d.hint.clone(),
            extension: d.extension.map(str::to_owned),
        }
    }
}

/// `lvsd --check` of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    /// Whether lvsd would load it (no error of any kind).
    pub ok: bool,
    /// Findings with a place, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// Findings about the whole file or the host (no place).
    pub file_warnings: Vec<String>,
    /// Errors about the whole file (e.g. the open-file limit).
    pub file_errors: Vec<String>,
    /// `lvsd --check`'s output as it would print it (stderr, then the
    /// summary line).
    pub rendered: String,
}

impl CheckReport {
    /// The error diagnostics and file errors.
    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
            + self.file_errors.len()
    }
}

/// What `diff` says the kernel would see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum IpvsPreview {
    /// The writes a reload would make, as ipvsadm command lines (empty:
    /// the reload changes nothing).
    Writes {
        /// One line per write, `lvsd --diff`'s output.
        lines: Vec<String>,
    },
    /// The kernel's table could not be read (no IPVS module, not root):
    /// there is no preview, which is not the same as no change.
    Unavailable {
        /// Why.
        reason: String,
    },
    /// The candidate has errors: no table to compare.
    Invalid {
        /// Its errors.
        errors: usize,
    },
}

/// One recorded revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionInfo {
    /// Number, counting up from 1.
    pub rev: u64,
    /// SHA-256 of its bytes.
    pub digest: Digest,
    /// Size in bytes.
    pub size: u64,
    /// Who (`(on disk)` for the file found before the first apply).
    pub user: String,
    /// The caller's uid as the kernel reported it.
    pub uid: Option<u32>,
    /// Why.
    pub reason: String,
    /// When, seconds since the epoch.
    pub time: u64,
    /// The revision this one restored, if it was a restore or a revert.
    pub restored_from: Option<u64>,
}

/// Which daemon a SIGHUP went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Daemon {
    /// pulse (it re-reads lvs.cf and signals lvsd).
    Pulse,
    /// lvsd itself.
    Lvsd,
}

/// What happened after the write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ReloadOutcome {
    /// No daemon runs: the file is written and recorded, nothing reloaded.
    NotRunning,
    /// lvsd loaded the file.
    Reloaded {
        /// Who was signalled.
        signalled: Daemon,
        /// IPVS writes lvsd made at the reload itself. A checked
        /// server's changed weight is written later, at the first verdict
        /// of its restarted monitor: compare `status` afterwards.
        writes: usize,
    },
    /// Signalled, but lvsd's status showed no reload within the wait (or
    /// its status socket did not answer): the file stays, its effect is
    /// unknown.
    Unconfirmed {
        /// Who was signalled.
        signalled: Daemon,
        /// Why there is no answer.
        reason: String,
    },
    /// pulse runs and was signalled (it re-reads lvs.cf), and no lvsd
    /// runs: pulse starts lvsd only when this router becomes the active
    /// one (a backup), and that lvsd reads the file written. Nothing was
    /// waited for, nothing is wrong.
    PulseOnly {
        /// pulse's role and whether it is the active router, as its
        /// status socket said; `None`: it did not answer.
        #[serde(default)]
        pulse: Option<PulseRole>,
    },
}

/// pulse's own view of this router, from its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PulseRole {
    /// `master` or `backup` (`failover::status::Status::role`).
    pub role: String,
    /// Whether this router is the active one.
    pub active: bool,
}

/// An apply's or restore's success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The revision recorded.
    pub revision: RevisionInfo,
    /// The reload.
    pub reload: ReloadOutcome,
    /// The check's warnings and notes (the file had no errors).
    pub check: CheckReport,
    /// The `serial_no` the helper wrote when the file's was not above the
    /// one on disk (see the crate doc); `None`: written as sent.
    #[serde(default)]
    pub raised_serial_no: Option<i64>,
    /// The push to the sync peer that followed; `None`: no peer
    /// configured (or lvsd refused the file, which was written back).
    #[serde(default)]
    pub sync: Option<SyncOutcome>,
}

/// How a push to the other router went. A push never fails an apply: it
/// is reported here, and `sync-push` repeats it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum SyncOutcome {
    /// The peer holds the file now.
    Accepted {
        /// The peer's digest now (the file's).
        peer_digest: Digest,
        /// `false`: the peer already held these bytes.
        written: bool,
    },
    /// The peer kept its own file.
    Refused {
        /// Why, in one line.
        message: String,
        /// The line, then the diagnostics the peer carried back, as
        /// `lvsd --check` prints them.
        rendered: String,
        /// The peer's file was edited there (or never synced): a push
        /// with `force` replaces it.
        conflict: bool,
    },
    /// No answer from the peer (unreachable, or the TLS handshake failed:
    /// not paired with this router).
    Failed {
        /// What failed, naming the peer and the step.
        message: String,
    },
}

impl SyncOutcome {
    /// One line for a page or a log.
    pub fn summary(&self) -> String {
        match self {
            SyncOutcome::Accepted {
                peer_digest,
                written: true,
            } => format!("the peer stored lvs.cf {peer_digest}"),
            SyncOutcome::Accepted { peer_digest, .. } => {
                format!("the peer already held lvs.cf {peer_digest}")
            }
            SyncOutcome::Refused { message, .. } => format!("the peer refused: {message}"),
            SyncOutcome::Failed { message } => message.clone(),
        }
    }
}

/// What the peer answered to a status query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum PeerFile {
    /// It answered.
    Known {
        /// Its lvs.cf's digest (`None`: it has no file).
        digest: Option<Digest>,
        /// Its `serial_no` (`None`: no file, or one with errors).
        serial_no: Option<i64>,
        /// The last write a push made there.
        last_write: Option<SyncWrite>,
    },
    /// It did not (see `reason`).
    Unreachable {
        /// Why.
        reason: String,
    },
}

/// A write a push made on a router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncWrite {
    /// When, seconds since the epoch.
    pub at: u64,
    /// The sending router's name.
    pub by: String,
    /// The digest written.
    pub digest: Digest,
}

/// `sync-status`'s answer: this router's file and the peer's, side by
/// side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    /// The peer's sync address.
    pub peer: String,
    /// The fingerprint pinned for the peer.
    pub peer_fingerprint: String,
    /// This router's fingerprint (what the peer pins).
    pub fingerprint: String,
    /// This router's lvs.cf digest.
    pub local_digest: Digest,
    /// Its `serial_no` (`None`: it has errors).
    pub local_serial_no: Option<i64>,
    /// The peer's digest as last seen by a push or a push from it (the
    /// base of the next push; `None`: never synced).
    pub base: Option<Digest>,
    /// The peer's file now.
    pub remote: PeerFile,
}

impl SyncState {
    /// Whether the peer holds exactly this router's file.
    pub fn in_sync(&self) -> bool {
        matches!(&self.remote, PeerFile::Known { digest: Some(d), .. } if *d == self.local_digest)
    }

    /// One line: both digests and `serial_no`s.
    pub fn summary(&self) -> String {
        let serial = |s: &Option<i64>| s.map_or("-".to_owned(), |n| n.to_string());
        let local = format!(
            "local {} serial_no {}",
            self.local_digest,
            serial(&self.local_serial_no)
        );
        match &self.remote {
            PeerFile::Known {
                digest, serial_no, ..
            } => format!(
                "{local}; peer {} {} serial_no {}{}",
                self.peer,
                digest.map_or("(no file)".to_owned(), |d| d.to_hex()),
                serial(serial_no),
                if self.in_sync() {
                    " (in sync)"
                } else {
                    " (differs)"
                }
            ),
            PeerFile::Unreachable { reason } => {
                format!("{local}; peer {} unreachable: {reason}", self.peer)
            }
        }
    }
}

/// A daemon's snapshot, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum DaemonState<T> {
    /// It answered.
    Running {
        /// Its snapshot.
        status: T,
    },
    /// No process (no pid file, or a stale one).
    NotRunning,
    /// It runs, but its status socket did not answer.
    Unreachable {
        /// Why.
        reason: String,
    },
}

impl<T> DaemonState<T> {
    /// The same state with the snapshot made into `f`'s.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> DaemonState<U> {
        match self {
            DaemonState::Running { status } => DaemonState::Running { status: f(status) },
            DaemonState::NotRunning => DaemonState::NotRunning,
            DaemonState::Unreachable { reason } => DaemonState::Unreachable { reason },
        }
    }
}

/// The file on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    /// Its path (the one the helper was started with).
    pub path: String,
    /// SHA-256 of its bytes.
    pub digest: Digest,
    /// Size in bytes.
    pub size: u64,
    /// Its `serial_no`, when it parses.
    pub serial_no: Option<i64>,
}

/// `status`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The file.
    pub file: FileState,
    /// lvsd.
    pub lvsd: DaemonState<director::status::Status>,
    /// pulse.
    pub pulse: DaemonState<failover::status::Status>,
}

/// A success, per verb.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verb", rename_all = "kebab-case")]
pub enum Response {
    /// `read`.
    Read {
        /// The bytes on disk.
        text: Bytes,
        /// Their digest.
        digest: Digest,
    },
    /// `check`.
    Check(CheckReport),
    /// `diff`.
    Diff {
        /// Unified diff of the file on disk (`a/lvs.cf`) and the candidate
        /// (`b/lvs.cf`); empty when equal.
        text_diff: String,
        /// The IPVS writes.
        ipvs: IpvsPreview,
        /// The candidate's check.
        check: CheckReport,
    },
    /// `apply`.
    Apply(Box<Applied>),
    /// `history`, newest first.
    History {
        /// The revisions kept.
        revisions: Vec<RevisionInfo>,
    },
    /// `show`.
    Show {
        /// Which.
        revision: RevisionInfo,
        /// Its bytes.
        text: Bytes,
    },
    /// `restore`.
    Restore(Box<Applied>),
    /// `control`: lvsd accepted it.
    Control,
    /// `status`.
    Status(Box<StatusReport>),
    /// `sync-push`: the exchange with the peer took place (or failed to);
    /// whether the peer took the file is the outcome's.
    SyncPush(SyncOutcome),
    /// `sync-status`.
    SyncStatus(Box<SyncState>),
    /// `login`.
    Login(LoginOutcome),
}

/// A refusal, typed so a client can act on it (a conflict shows the
/// current digest, a check failure its diagnostics).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
pub enum Error {
    /// The request could not be read (malformed, too large, truncated,
    /// too slow).
    BadRequest {
        /// What was wrong.
        message: String,
    },
    /// The file has errors; nothing was written.
    CheckFailed {
        /// The check.
        report: CheckReport,
    },
    /// The file on disk is not the one the edit started from.
    Conflict {
        /// The digest of the file on disk now.
        current_digest: Digest,
    },
    /// A key naming a program run as root was changed to a program outside
    /// a root-owned, not group- or world-writable directory.
    CommandPolicy {
        /// What was refused, with the key and its place.
        message: String,
    },
    /// lvsd refused the reload; the previous revision was written back.
    ReloadRefused {
        /// What lvsd said.
        diagnostics: Vec<String>,
        /// The revision written back (`None`: the revert failed too, see
        /// `message`).
        reverted_to: Option<u64>,
        /// The digest of the file on disk now.
        current_digest: Digest,
        /// How the revert went.
        message: String,
    },
    /// No such revision kept.
    NoSuchRevision {
        /// The number asked for.
        rev: u64,
    },
    /// lvsd is not running or refused a control request.
    Daemon {
        /// What it said, or why it could not be asked.
        message: String,
    },
    /// This helper has no sync peer (started without `--peer`).
    NoSyncPeer,
    /// The helper failed (a file it could not read or write).
    Internal {
        /// What failed, with the place.
        message: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadRequest { message } => write!(f, "bad request: {message}"),
            Error::CheckFailed { report } => {
                write!(
                    f,
                    "the file has {} error(s); nothing written",
                    report.errors()
                )
            }
            Error::Conflict { current_digest } => write!(
                f,
                "conflict: the file on disk changed since the edit began (now {current_digest})"
            ),
            Error::CommandPolicy { message } => write!(f, "refused: {message}"),
            Error::ReloadRefused {
                reverted_to,
                message,
                ..
            } => match reverted_to {
                Some(rev) => write!(
                    f,
                    "lvsd refused the reload; revision {rev} written back ({message})"
                ),
                None => write!(f, "lvsd refused the reload; {message}"),
            },
            Error::NoSuchRevision { rev } => write!(f, "no revision {rev} kept"),
            Error::Daemon { message } => write!(f, "{message}"),
            Error::NoSyncPeer => f.write_str("no sync peer configured"),
            Error::Internal { message } => write!(f, "helper failure: {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// The helper's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reply {
    /// Done.
    Ok(Response),
    /// Refused.
    Error(Error),
}

impl From<Result<Response, Error>> for Reply {
    fn from(r: Result<Response, Error>) -> Reply {
        match r {
            Ok(r) => Reply::Ok(r),
            Err(e) => Reply::Error(e),
        }
    }
}

impl From<Reply> for Result<Response, Error> {
    fn from(r: Reply) -> Self {
        match r {
            Reply::Ok(r) => Ok(r),
            Reply::Error(e) => Err(e),
        }
    }
}

/// Why a frame could not be read or decoded.
#[derive(Debug)]
pub enum FrameError {
    /// More than the limit arrived.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The peer stopped mid-message (the JSON ends early).
    Truncated,
    /// Not the JSON of this protocol.
    Malformed {
        /// serde's message, with line and column.
        message: String,
    },
    /// The deadline passed first.
    Timeout,
    /// The socket failed.
    Io(io::Error),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge { limit } => write!(f, "message larger than {limit} bytes"),
            FrameError::Truncated => f.write_str("message truncated (connection closed early)"),
            FrameError::Malformed { message } => write!(f, "malformed message: {message}"),
            FrameError::Timeout => f.write_str("timed out"),
            FrameError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FrameError {}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, FrameError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(FrameError::Truncated);
    }
    serde_json::from_slice(bytes).map_err(|e| {
        if e.classify() == serde_json::error::Category::Eof {
            FrameError::Truncated
        } else {
            FrameError::Malformed {
                message: e.to_string(),
            }
        }
    })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing these types cannot fail: no maps with non-string keys,
    // no custom Serialize that errors.
    serde_json::to_vec(value).unwrap_or_default()
}

/// A request's bytes on the wire.
pub fn encode_request(r: &Request) -> Vec<u8> {
    encode(r)
}

/// A request from the bytes a client sent (at most [`MAX_REQUEST`]).
pub fn decode_request(bytes: &[u8]) -> Result<Request, FrameError> {
    if bytes.len() > MAX_REQUEST {
        return Err(FrameError::TooLarge { limit: MAX_REQUEST });
    }
    decode(bytes)
}

/// A reply's bytes on the wire.
pub fn encode_reply(r: &Reply) -> Vec<u8> {
    encode(r)
}

/// A reply from the bytes the helper sent (at most [`MAX_REPLY`]).
pub fn decode_reply(bytes: &[u8]) -> Result<Reply, FrameError> {
    if bytes.len() > MAX_REPLY {
        return Err(FrameError::TooLarge { limit: MAX_REPLY });
    }
    decode(bytes)
}

/// Reads to end of stream from a blocking reader, at most `limit` bytes,
/// giving up at `deadline` (the reader's own timeout must be set so each
/// read returns: [`std::os::unix::net::UnixStream::set_read_timeout`]).
pub fn read_frame(
    r: &mut impl Read,
    limit: usize,
    deadline: Instant,
) -> Result<Vec<u8>, FrameError> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        if Instant::now() >= deadline {
            return Err(FrameError::Timeout);
        }
        match r.read(&mut chunk) {
            Ok(0) => return Ok(buf),
            Ok(n) => {
                if buf.len() + n > limit {
                    return Err(FrameError::TooLarge { limit });
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if Instant::now() >= deadline {
                    return Err(FrameError::Timeout);
                }
            }
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
}

/// [`read_frame`] for tokio: to end of stream, at most `limit` bytes,
/// within `deadline`.
pub async fn read_frame_async(
    r: &mut (impl tokio::io::AsyncRead + Unpin),
    limit: usize,
    deadline: Duration,
) -> Result<Vec<u8>, FrameError> {
    use tokio::io::AsyncReadExt;
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            let n = r.read(&mut chunk).await.map_err(FrameError::Io)?;
            if n == 0 {
                return Ok(buf);
            }
            if buf.len() + n > limit {
                return Err(FrameError::TooLarge { limit });
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(deadline, read)
        .await
        .unwrap_or(Err(FrameError::Timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> CheckReport {
        CheckReport {
            ok: false,
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                line: 3,
                col: 9,
                len: 7,
                message: "port: unknown service name \"nosuch\"".into(),
                hint: Some("a number".into()),
                extension: None,
            }],
            file_warnings: vec!["no active virtual server".into()],
            file_errors: vec![],
            rendered: "lvs.cf:3:9: error: …\n".into(),
        }
    }

    fn rev() -> RevisionInfo {
        RevisionInfo {
            rev: 7,
            digest: Digest::of(b"x"),
            size: 1,
            user: "alice".into(),
            uid: Some(990),
            reason: "weight".into(),
            time: 1_700_000_000,
            restored_from: Some(3),
        }
    }

    fn requests() -> Vec<Request> {
        let text = Bytes(b"serial_no = 1\n# caf\xe9\n".to_vec());
        vec![
            Request::Read,
            Request::Check { text: text.clone() },
            Request::Diff { text: text.clone() },
            Request::Apply {
                base_digest: Digest::of(b"old"),
                text,
                reason: "raise web1".into(),
                user: "alice".into(),
            },
            Request::History,
            Request::Show { rev: 3 },
            Request::Restore {
                rev: 3,
                reason: "back".into(),
                user: "bob".into(),
            },
            Request::Control {
                action: ControlAction::Down,
                virtual_name: "web".into(),
                server: "web1".into(),
                user: "carol".into(),
            },
            Request::Control {
                action: ControlAction::Drain,
                virtual_name: "web".into(),
                server: "web2".into(),
                user: "carol".into(),
            },
            Request::Status,
            Request::SyncPush {
                force: true,
                user: "alice".into(),
            },
            Request::SyncStatus,
            Request::Login {
                user: "alice".into(),
                password: Password("s3cret \"\\ é".into()),
                source: "192.0.2.10".into(),
            },
        ]
    }

    fn replies() -> Vec<Reply> {
        let applied = Applied {
            revision: rev(),
            reload: ReloadOutcome::Reloaded {
                signalled: Daemon::Pulse,
                writes: 1,
            },
            check: report(),
            raised_serial_no: Some(5),
            sync: Some(SyncOutcome::Accepted {
                peer_digest: Digest::of(b"x"),
                written: true,
            }),
        };
        vec![
            Reply::Ok(Response::Read {
                text: Bytes::from("a\n"),
                digest: Digest::of(b"a\n"),
            }),
            Reply::Ok(Response::Check(report())),
            Reply::Ok(Response::Diff {
                text_diff: "--- a/lvs.cf\n".into(),
                ipvs: IpvsPreview::Unavailable {
                    reason: "no IPVS".into(),
                },
                check: report(),
            }),
            Reply::Ok(Response::Diff {
                text_diff: String::new(),
                ipvs: IpvsPreview::Writes {
                    lines: vec!["-e -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 3".into()],
                },
                check: report(),
            }),
            Reply::Ok(Response::Apply(Box::new(applied.clone()))),
            Reply::Ok(Response::Restore(Box::new(Applied {
                reload: ReloadOutcome::NotRunning,
                raised_serial_no: None,
                sync: Some(SyncOutcome::Refused {
                    message: "conflict".into(),
                    rendered: "conflict\n".into(),
                    conflict: true,
                }),
                ..applied.clone()
            }))),
            Reply::Ok(Response::Apply(Box::new(Applied {
                sync: Some(SyncOutcome::Failed {
                    message: "config sync with 192.0.2.2:3637: connect: refused".into(),
                }),
                ..applied.clone()
            }))),
            Reply::Ok(Response::Apply(Box::new(Applied {
                reload: ReloadOutcome::Unconfirmed {
                    signalled: Daemon::Lvsd,
                    reason: "no answer".into(),
                },
                ..applied.clone()
            }))),
            Reply::Ok(Response::Apply(Box::new(Applied {
                reload: ReloadOutcome::PulseOnly {
                    pulse: Some(PulseRole {
                        role: "backup".into(),
                        active: false,
                    }),
                },
                ..applied.clone()
            }))),
            Reply::Ok(Response::Restore(Box::new(Applied {
                reload: ReloadOutcome::PulseOnly { pulse: None },
                ..applied
            }))),
            Reply::Ok(Response::History {
                revisions: vec![rev(), rev()],
            }),
            Reply::Ok(Response::Show {
                revision: rev(),
                text: Bytes(vec![0xff, 0, b'\n']),
            }),
            Reply::Ok(Response::Control),
            Reply::Ok(Response::Status(Box::new(StatusReport {
                file: FileState {
                    path: "/etc/sysconfig/ha/lvs.cf".into(),
                    digest: Digest::of(b""),
                    size: 0,
                    serial_no: Some(4),
                },
                lvsd: DaemonState::NotRunning,
                pulse: DaemonState::Unreachable {
                    reason: "refused".into(),
                },
            }))),
            Reply::Ok(Response::SyncPush(SyncOutcome::Accepted {
                peer_digest: Digest::of(b"a\n"),
                written: true,
            })),
            Reply::Ok(Response::SyncPush(SyncOutcome::Refused {
                message: "older".into(),
                rendered: "older\nlvs.cf:1:1: error: x\n".into(),
                conflict: false,
            })),
            Reply::Ok(Response::SyncPush(SyncOutcome::Failed {
                message: "handshake".into(),
            })),
            Reply::Ok(Response::SyncStatus(Box::new(SyncState {
                peer: "192.0.2.2:3637".into(),
                peer_fingerprint: "AB:CD".into(),
                fingerprint: "EF:01".into(),
                local_digest: Digest::of(b"a\n"),
                local_serial_no: Some(4),
                base: Some(Digest::of(b"a\n")),
                remote: PeerFile::Known {
                    digest: Some(Digest::of(b"a\n")),
                    serial_no: Some(4),
                    last_write: Some(SyncWrite {
                        at: 1_700_000_000,
                        by: "r1".into(),
                        digest: Digest::of(b"a\n"),
                    }),
                },
            }))),
            Reply::Ok(Response::SyncStatus(Box::new(SyncState {
                peer: "192.0.2.2:3637".into(),
                peer_fingerprint: "AB:CD".into(),
                fingerprint: "EF:01".into(),
                local_digest: Digest::of(b"a\n"),
                local_serial_no: None,
                base: None,
                remote: PeerFile::Unreachable {
                    reason: "refused".into(),
                },
            }))),
            Reply::Ok(Response::Login(LoginOutcome::LoggedIn {
                user: "alice".into(),
                role: "editor".into(),
                method: "passwd".into(),
            })),
            Reply::Ok(Response::Login(LoginOutcome::Rejected {
                reason: "wrong password".into(),
            })),
            Reply::Ok(Response::Login(LoginOutcome::NoRole {
                reason: "not in lvs-web.users".into(),
            })),
            Reply::Ok(Response::Login(LoginOutcome::Locked { retry_after: 300 })),
            Reply::Ok(Response::Login(LoginOutcome::Unavailable {
                message: "piranha.passwd: no such file".into(),
            })),
            Reply::Error(Error::BadRequest {
                message: "x".into(),
            }),
            Reply::Error(Error::CheckFailed { report: report() }),
            Reply::Error(Error::Conflict {
                current_digest: Digest::of(b"now"),
            }),
            Reply::Error(Error::CommandPolicy {
                message: "m".into(),
            }),
            Reply::Error(Error::ReloadRefused {
                diagnostics: vec!["lvs.cf:3:9: error".into()],
                reverted_to: Some(6),
                current_digest: Digest::of(b"old"),
                message: "ok".into(),
            }),
            Reply::Error(Error::NoSuchRevision { rev: 99 }),
            Reply::Error(Error::Daemon {
                message: "lvsd is not running".into(),
            }),
            Reply::Error(Error::NoSyncPeer),
            Reply::Error(Error::Internal {
                message: "m".into(),
            }),
        ]
    }

    #[test]
    fn every_request_round_trips() {
        for r in requests() {
            let bytes = encode_request(&r);
            assert_eq!(decode_request(&bytes).expect("decode"), r);
        }
    }

    /// The word the helper writes on lvsd's socket is one lvsd reads, as
    /// the same action.
    #[test]
    fn control_words_are_lvsds() {
        use director::lvsd::{Command, Control, parse_command};
        for (action, control) in [
            (ControlAction::Down, Control::Monitor(Command::Down)),
            (ControlAction::Up, Control::Monitor(Command::Up)),
            (ControlAction::Normal, Control::Monitor(Command::Normal)),
            (ControlAction::Drain, Control::Drain),
        ] {
            assert_eq!(action.word().parse(), Ok(action));
            assert_eq!(parse_command(action.word()), Ok(control));
        }
        assert_eq!(
            "sideways".parse::<ControlAction>(),
            Err("\"sideways\": expected down, up, normal or drain".to_owned())
        );
    }

    #[test]
    fn every_reply_round_trips() {
        for r in replies() {
            let bytes = encode_reply(&r);
            assert_eq!(
                decode_reply(&bytes).expect("decode"),
                r,
                "{}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }

    #[test]
    fn the_wire_names_are_stable() {
        // What a script or another client writes by hand.
        let r = decode_request(br#"{"verb":"show","rev":3}"#).expect("show");
        assert_eq!(r, Request::Show { rev: 3 });
        let r = decode_request(br#"{"verb":"sync-status"}"#).expect("sync");
        assert_eq!(r, Request::SyncStatus);
        let text =
            String::from_utf8(encode_reply(&Reply::Error(Error::NoSyncPeer))).expect("utf-8");
        assert_eq!(text, r#"{"error":{"error":"no-sync-peer"}}"#);
        let backup = ReloadOutcome::PulseOnly {
            pulse: Some(PulseRole {
                role: "backup".into(),
                active: false,
            }),
        };
        assert_eq!(
            serde_json::to_string(&backup).expect("json"),
            r#"{"state":"pulse-only","pulse":{"role":"backup","active":false}}"#
        );
        let bare: ReloadOutcome = serde_json::from_str(r#"{"state":"pulse-only"}"#).expect("bare");
        assert_eq!(bare, ReloadOutcome::PulseOnly { pulse: None });
    }

    #[test]
    fn a_password_is_never_in_a_debug_line() {
        let r = Request::Login {
            user: "alice".into(),
            password: Password("hunter2".into()),
            source: "::1".into(),
        };
        assert!(!format!("{r:?}").contains("hunter2"), "{r:?}");
        let wire = String::from_utf8(encode_request(&r)).expect("utf-8");
        assert_eq!(
            wire,
            r#"{"verb":"login","user":"alice","password":"hunter2","source":"::1"}"#
        );
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let good = encode_request(&requests()[3]);
        // Every strict prefix is truncated or malformed, never a panic or
        // a success.
        for cut in (0..good.len()).step_by(7) {
            match decode_request(&good[..cut]) {
                Err(FrameError::Truncated | FrameError::Malformed { .. }) => {}
                other => panic!("prefix of {cut} bytes: {other:?}"),
            }
        }
        assert!(matches!(decode_request(b""), Err(FrameError::Truncated)));
        assert!(matches!(
            decode_request(br#"{"verb":"apply"#),
            Err(FrameError::Truncated)
        ));
        assert!(matches!(
            decode_request(br#"{"verb":"rm -rf"}"#),
            Err(FrameError::Malformed { .. })
        ));
        assert!(matches!(
            decode_request(br#"{"verb":"show","rev":1,"path":"/etc/shadow"}"#),
            Err(FrameError::Malformed { .. })
        ));
        assert!(matches!(
            decode_request(br#"{"verb":"check","text":"!!!"}"#),
            Err(FrameError::Malformed { .. })
        ));
        let bad_digest = br#"{"verb":"apply","base_digest":"abc","text":"","reason":"","user":""}"#;
        match decode_request(bad_digest) {
            Err(FrameError::Malformed { message }) => {
                assert!(message.contains("expected 64 hex digits"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        let huge = vec![b' '; MAX_REQUEST + 1];
        assert!(matches!(
            decode_request(&huge),
            Err(FrameError::TooLarge { limit: MAX_REQUEST })
        ));
    }

    #[test]
    fn reading_stops_at_the_limit() {
        // An endless sender: the reader stops just past the limit.
        let mut endless = io::repeat(b'x');
        let far = Instant::now() + Duration::from_secs(10);
        match read_frame(&mut endless, 1 << 20, far) {
            Err(FrameError::TooLarge { limit }) => assert_eq!(limit, 1 << 20),
            other => panic!("{other:?}"),
        }
        let mut short: &[u8] = b"{\"verb\":\"read\"}";
        let bytes = read_frame(&mut short, 1 << 20, far).expect("read");
        assert_eq!(decode_request(&bytes).expect("decode"), Request::Read);
        let past = Instant::now() - Duration::from_secs(1);
        let mut short: &[u8] = b"{}";
        assert!(matches!(
            read_frame(&mut short, 10, past),
            Err(FrameError::Timeout)
        ));
    }

    #[test]
    fn digests() {
        let d = Digest::of(b"abc");
        assert_eq!(
            d.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Digest::from_hex(&d.to_hex().to_uppercase()), Ok(d));
        assert!(Digest::from_hex(&"g".repeat(64)).is_err());
        assert!(Digest::from_hex("é").is_err());
    }
}
