//! The message contract between the two routers' helpers: the one module
//! that both writes and parses every message.
//!
//! Each message is one frame, all integers big-endian:
//!
//! ```text
//! magic "LVSY" | version 1 (u8) | kind (u8) | body length (u32) | body
//! ```
//!
//! The length comes first so a receiver refuses an oversized message from
//! its 10-byte header alone, without reading (or buffering) the body.
//! Inside a body: `u8`, `u32`, `u64`, `i64` as they are; a bool is one
//! byte 0 or 1; a string or a byte string is a `u32` length then the
//! bytes (strings UTF-8); an optional value is a tag byte 0 (absent) or 1
//! then the value; a digest is its 32 bytes. A body must be used up
//! exactly: trailing bytes are an error, like a missing field.
//!
//! Requests (primary → backup): `Push` (kind 1) and `Status` (kind 2,
//! empty body). Replies (backup → primary): `Accepted` (0x81), `Refused`
//! (0x82), `Status` (0x83) and `Error` (0x84, the request itself was
//! malformed). One request and one reply per connection.
//!
//! Nothing but the file and what describes it is ever sent: there is no
//! message that names a command, a path or a reload.

use std::fmt;

use lvscf::Severity;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::digest::Digest;

/// First bytes of every frame.
pub const MAGIC: [u8; 4] = *b"LVSY";
/// The format described here.
pub const VERSION: u8 = 1;
/// Magic, version, kind, body length.
pub const HEADER_LEN: usize = 10;
/// What a push carries besides the file: sender name, digests, serial
/// and flags, with room to spare. Added to the file limit to get the
/// frame limit.
pub const ENVELOPE: u64 = 4096;
/// Longest sender name (a host name fits).
pub const MAX_SENDER: usize = 255;
/// Largest reply a client reads: diagnostics are capped at
/// [`MAX_FINDINGS`], each message a line or two.
pub const MAX_REPLY: u64 = 1 << 20;
/// Diagnostics carried in a refusal; the rest are counted in `omitted`
/// (`lvsd --check` on the file lists them all).
pub const MAX_FINDINGS: usize = 100;
/// Longest message, hint or reason string in a reply.
pub const MAX_TEXT: usize = 4096;

const KIND_PUSH: u8 = 1;
const KIND_STATUS: u8 = 2;
const KIND_ACCEPTED: u8 = 0x81;
const KIND_REFUSED: u8 = 0x82;
const KIND_STATUS_REPLY: u8 = 0x83;
const KIND_ERROR: u8 = 0x84;

/// A request from the primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Store this file.
    Push(Push),
    /// What do you have?
    Status,
}

/// The file and what describes it.
#[derive(Clone, PartialEq, Eq)]
pub struct Push {
    /// The sending router's name (for the backup's records and logs).
    pub sender: String,
    /// Overwrite a backup whose file is not the base (edited by hand).
    pub force: bool,
    /// `serial_no` of the file as the sender read it ([`crate::check`]);
    /// `None` when the sender could not read one.
    pub serial_no: Option<i64>,
    /// SHA-256 of `file`.
    pub digest: Digest,
    /// The backup's digest as the sender last saw it; `None` on first
    /// contact.
    pub base: Option<Digest>,
    /// lvs.cf, byte for byte.
    pub file: Vec<u8>,
}

impl fmt::Debug for Push {
    // The file is long; its digest and size say which one it is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Push")
            .field("sender", &self.sender)
            .field("force", &self.force)
            .field("serial_no", &self.serial_no)
            .field("digest", &self.digest)
            .field("base", &self.base)
            .field("file_len", &self.file.len())
            .finish()
    }
}

/// The backup's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The backup now holds the pushed file.
    Accepted(Accepted),
    /// The backup kept its file.
    Refused(Refusal),
    /// The answer to [`Request::Status`].
    Status(Status),
    /// The request could not be read (garbage, truncated, wrong version).
    Error(String),
}

/// A push the backup took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The backup's digest now (the primary's next base).
    pub digest: Digest,
    /// Whether the file was written; `false` when the backup already held
    /// exactly these bytes.
    pub written: bool,
}

/// Why the backup kept its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The file has errors (the same as `lvsd --check` reports).
    DoesNotParse {
        /// The first [`MAX_FINDINGS`] errors.
        errors: Vec<Finding>,
        /// Errors not carried.
        omitted: u32,
    },
    /// The file's `serial_no` is below the backup's.
    OlderSerial {
        /// The backup's.
        current: i64,
        /// The pushed file's.
        pushed: i64,
    },
    /// The backup's file is not the one the primary last saw there (it was
    /// edited by hand): push with force to overwrite it.
    Conflict {
        /// The backup's digest (`None`: it has no file).
        current: Option<Digest>,
        /// The base the push named.
        base: Option<Digest>,
    },
    /// The message is larger than the backup takes.
    TooLarge {
        /// The body length the message declared.
        size: u64,
        /// The largest body the backup reads.
        limit: u64,
    },
    /// The file's bytes do not have the digest the push declared.
    DigestMismatch {
        /// Declared.
        declared: Digest,
        /// Computed by the backup.
        actual: Digest,
    },
    /// The declared `serial_no` is not the one in the file.
    SerialMismatch {
        /// Declared.
        declared: Option<i64>,
        /// Read by the backup.
        actual: Option<i64>,
    },
    /// The backup still runs piranha 0.8.6, which rejects these
    /// extensions (lvscf's notes).
    Extensions {
        /// The first [`MAX_FINDINGS`] notes.
        notes: Vec<Finding>,
        /// Notes not carried.
        omitted: u32,
    },
    /// The file was acceptable but writing it failed on the backup.
    NotStored {
        /// The backup's error.
        reason: String,
    },
}

/// One lvscf diagnostic as carried on the wire (the receiver's copy of
/// the file is the sender's, so the sender can render it with its line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error, warning or note.
    pub severity: Severity,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub col: u32,
    /// Span length in characters.
    pub len: u32,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
    /// The extension identifier of a note.
    pub extension: Option<String>,
}

impl Finding {
    /// From lvscf's diagnostic (texts cut to [`MAX_TEXT`] bytes).
    pub fn from_diagnostic(d: &lvscf::Diagnostic) -> Finding {
        let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Finding {
            severity: d.severity,
            line: n(d.line),
            col: n(d.col),
            len: n(d.len),
            message: cut(&d.message),
            hint: d.hint.as_deref().map(cut),
            extension: d.extension.map(str::to_owned),
        }
    }

    /// Back to lvscf's diagnostic, to render it against the file
    /// ([`lvscf::Diagnostic::render_line`]). An extension identifier this
    /// build does not know is dropped.
    pub fn to_diagnostic(&self) -> lvscf::Diagnostic {
        lvscf::Diagnostic {
            severity: self.severity,
            line: self.line as usize,
            col: self.col as usize,
            len: self.len as usize,
            message: self.message.clone(),
            hint: self.hint.clone(),
            extension: self
                .extension
                .as_deref()
                .and_then(lvscf::extension)
                .map(|e| e.id),
        }
    }
}

fn cut(s: &str) -> String {
    if s.len() <= MAX_TEXT {
        return s.to_owned();
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// What the backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Digest of its lvs.cf (`None`: no file).
    pub digest: Option<Digest>,
    /// Its `serial_no` (`None`: no file, or one that does not parse).
    pub serial_no: Option<i64>,
    /// The last write a push made.
    pub last_write: Option<WriteRecord>,
}

/// A write made by a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRecord {
    /// When, in seconds since the Unix epoch.
    pub at_unix: u64,
    /// The sender named in the push.
    pub by: String,
    /// The digest written (differs from [`Status::digest`] once the file
    /// was edited since).
    pub digest: Digest,
}

/// A frame that cannot be read. Every variant names what was wrong;
/// decoding never panics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The first four bytes are not [`MAGIC`].
    BadMagic([u8; 4]),
    /// A version this build does not speak.
    BadVersion(u8),
    /// A kind that is not a request (or not a reply) of this version.
    UnknownKind(u8),
    /// The body is longer than the receiver takes; it was not read.
    TooLarge {
        /// Declared body length.
        size: u64,
        /// Largest accepted.
        limit: u64,
    },
    /// The message ended inside this field.
    Truncated(&'static str),
    /// Bytes after the last field.
    Trailing(usize),
    /// A bool that is neither 0 nor 1, or an unknown tag.
    BadTag {
        /// Which field.
        field: &'static str,
        /// The byte found.
        value: u8,
    },
    /// A string that is not UTF-8.
    BadUtf8(&'static str),
    /// A string longer than its limit.
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: u64,
    },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::BadMagic(m) => write!(f, "not a sync message (starts with {m:02x?})"),
            WireError::BadVersion(v) => {
                write!(f, "message version {v}, this build speaks {VERSION}")
            }
            WireError::UnknownKind(k) => write!(f, "unknown message kind 0x{k:02x}"),
            WireError::TooLarge { size, limit } => {
                write!(
                    f,
                    "message body of {size} bytes, more than the {limit} taken"
                )
            }
            WireError::Truncated(field) => write!(f, "message truncated in {field}"),
            WireError::Trailing(n) => write!(f, "{n} bytes after the end of the message"),
            WireError::BadTag { field, value } => write!(f, "{field}: invalid byte 0x{value:02x}"),
            WireError::BadUtf8(field) => write!(f, "{field}: not UTF-8"),
            WireError::TooLong { field, len } => write!(f, "{field}: {len} bytes, too long"),
        }
    }
}

impl std::error::Error for WireError {}

/// A frame's header: which message, how long its body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The kind byte.
    pub kind: u8,
    /// Body length.
    pub len: u64,
}

/// Reads a header; the kind is checked by the decoder of the body.
pub fn parse_header(bytes: &[u8; HEADER_LEN]) -> Result<Header, WireError> {
    let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if magic != MAGIC {
        return Err(WireError::BadMagic(magic));
    }
    if bytes[4] != VERSION {
        return Err(WireError::BadVersion(bytes[4]));
    }
    let len = u32::from_be_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]);
    Ok(Header {
        kind: bytes[5],
        len: u64::from(len),
    })
}

// --- writing -------------------------------------------------------------

struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn new(kind: u8) -> Writer {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&MAGIC);
        buf.push(VERSION);
        buf.push(kind);
        buf.extend_from_slice(&[0; 4]);
        Writer { buf }
    }
    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }
    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        // Callers keep every field far below 4 GiB (the file by the
        // sender's limit, texts by MAX_TEXT); saturating keeps the frame
        // self-consistent enough for the receiver to refuse it.
        self.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        self.buf.extend_from_slice(v);
    }
    fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
    fn digest(&mut self, d: &Digest) {
        self.buf.extend_from_slice(&d.0);
    }
    fn opt<T>(&mut self, v: Option<T>, f: impl FnOnce(&mut Self, T)) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                f(self, v);
            }
        }
    }
    fn findings(&mut self, list: &[Finding], omitted: u32) {
        let carried = &list[..list.len().min(MAX_FINDINGS)];
        let dropped = u32::try_from(list.len() - carried.len()).unwrap_or(u32::MAX);
        self.u32(u32::try_from(carried.len()).unwrap_or(0));
        for d in carried {
            self.u8(match d.severity {
                Severity::Error => 0,
                Severity::Warning => 1,
                Severity::Note => 2,
            });
            self.u32(d.line);
            self.u32(d.col);
            self.u32(d.len);
            self.str(&d.message);
            self.opt(d.hint.as_deref(), |w, h| w.str(h));
            self.opt(d.extension.as_deref(), |w, e| w.str(e));
        }
        self.u32(omitted.saturating_add(dropped));
    }
    fn finish(mut self) -> Vec<u8> {
        let len = u32::try_from(self.buf.len() - HEADER_LEN).unwrap_or(u32::MAX);
        self.buf[6..10].copy_from_slice(&len.to_be_bytes());
        self.buf
    }
}

/// The frame of a request.
pub fn encode_request(req: &Request) -> Vec<u8> {
    match req {
        Request::Status => Writer::new(KIND_STATUS).finish(),
        Request::Push(p) => {
            let mut w = Writer::new(KIND_PUSH);
            w.buf.reserve(p.file.len() + 128);
            w.str(&p.sender);
            w.bool(p.force);
            w.opt(p.serial_no, Writer::i64);
            w.digest(&p.digest);
            w.opt(p.base.as_ref(), Writer::digest);
            w.bytes(&p.file);
            w.finish()
        }
    }
}

/// The frame of a reply.
pub fn encode_reply(reply: &Reply) -> Vec<u8> {
    match reply {
        Reply::Accepted(a) => {
            let mut w = Writer::new(KIND_ACCEPTED);
            w.digest(&a.digest);
            w.bool(a.written);
            w.finish()
        }
        Reply::Refused(r) => {
            let mut w = Writer::new(KIND_REFUSED);
            match r {
                Refusal::DoesNotParse { errors, omitted } => {
                    w.u8(1);
                    w.findings(errors, *omitted);
                }
                Refusal::OlderSerial { current, pushed } => {
                    w.u8(2);
                    w.i64(*current);
                    w.i64(*pushed);
                }
                Refusal::Conflict { current, base } => {
                    w.u8(3);
                    w.opt(current.as_ref(), Writer::digest);
                    w.opt(base.as_ref(), Writer::digest);
                }
                Refusal::TooLarge { size, limit } => {
                    w.u8(4);
                    w.u64(*size);
                    w.u64(*limit);
                }
                Refusal::DigestMismatch { declared, actual } => {
                    w.u8(5);
                    w.digest(declared);
                    w.digest(actual);
                }
                Refusal::SerialMismatch { declared, actual } => {
                    w.u8(6);
                    w.opt(*declared, Writer::i64);
                    w.opt(*actual, Writer::i64);
                }
                Refusal::Extensions { notes, omitted } => {
                    w.u8(7);
                    w.findings(notes, *omitted);
                }
                Refusal::NotStored { reason } => {
                    w.u8(8);
                    w.str(&cut(reason));
                }
            }
            w.finish()
        }
        Reply::Status(s) => {
            let mut w = Writer::new(KIND_STATUS_REPLY);
            w.opt(s.digest.as_ref(), Writer::digest);
            w.opt(s.serial_no, Writer::i64);
            w.opt(s.last_write.as_ref(), |w, r| {
                w.u64(r.at_unix);
                w.str(&r.by);
                w.digest(&r.digest);
            });
            w.finish()
        }
        Reply::Error(message) => {
            let mut w = Writer::new(KIND_ERROR);
            w.str(&cut(message));
            w.finish()
        }
    }
}

// --- reading -------------------------------------------------------------

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], WireError> {
        if self.rest.len() < n {
            return Err(WireError::Truncated(field));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], WireError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, WireError> {
        Ok(self.take(1, field)?[0])
    }
    fn bool(&mut self, field: &'static str) -> Result<bool, WireError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(WireError::BadTag { field, value }),
        }
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, WireError> {
        self.array(field).map(u32::from_be_bytes)
    }
    fn u64(&mut self, field: &'static str) -> Result<u64, WireError> {
        self.array(field).map(u64::from_be_bytes)
    }
    fn i64(&mut self, field: &'static str) -> Result<i64, WireError> {
        self.array(field).map(i64::from_be_bytes)
    }
    fn digest(&mut self, field: &'static str) -> Result<Digest, WireError> {
        self.array(field).map(Digest)
    }
    fn bytes(&mut self, field: &'static str) -> Result<&'a [u8], WireError> {
        let len = self.u32(field)? as usize;
        self.take(len, field)
    }
    fn str(&mut self, field: &'static str, max: usize) -> Result<String, WireError> {
        let b = self.bytes(field)?;
        if b.len() > max {
            return Err(WireError::TooLong {
                field,
                len: b.len() as u64,
            });
        }
        String::from_utf8(b.to_vec()).map_err(|_| WireError::BadUtf8(field))
    }
    fn opt<T>(
        &mut self,
        field: &'static str,
        f: impl FnOnce(&mut Self) -> Result<T, WireError>,
    ) -> Result<Option<T>, WireError> {
        match self.u8(field)? {
            0 => Ok(None),
            1 => f(self).map(Some),
            value => Err(WireError::BadTag { field, value }),
        }
    }
    fn findings(&mut self) -> Result<(Vec<Finding>, u32), WireError> {
        let n = self.u32("diagnostic count")? as usize;
        if n > MAX_FINDINGS {
            return Err(WireError::TooLong {
                field: "diagnostic count",
                len: n as u64,
            });
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let severity = match self.u8("severity")? {
                0 => Severity::Error,
                1 => Severity::Warning,
                2 => Severity::Note,
                value => {
                    return Err(WireError::BadTag {
                        field: "severity",
                        value,
                    });
                }
            };
            out.push(Finding {
                severity,
                line: self.u32("line")?,
                col: self.u32("column")?,
                len: self.u32("span length")?,
                message: self.str("message", MAX_TEXT)?,
                hint: self.opt("hint", |r| r.str("hint", MAX_TEXT))?,
                extension: self.opt("extension", |r| r.str("extension", MAX_TEXT))?,
            });
        }
        let omitted = self.u32("omitted count")?;
        Ok((out, omitted))
    }
    fn end(self) -> Result<(), WireError> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(WireError::Trailing(n)),
        }
    }
}

/// Decodes a request body of the given kind.
pub fn decode_request(kind: u8, body: &[u8]) -> Result<Request, WireError> {
    let mut r = Reader { rest: body };
    let req = match kind {
        KIND_STATUS => Request::Status,
        KIND_PUSH => Request::Push(Push {
            sender: r.str("sender", MAX_SENDER)?,
            force: r.bool("force")?,
            serial_no: r.opt("serial_no", |r| r.i64("serial_no"))?,
            digest: r.digest("digest")?,
            base: r.opt("base", |r| r.digest("base"))?,
            file: r.bytes("file")?.to_vec(),
        }),
        other => return Err(WireError::UnknownKind(other)),
    };
    r.end()?;
    Ok(req)
}

/// Decodes a reply body of the given kind.
pub fn decode_reply(kind: u8, body: &[u8]) -> Result<Reply, WireError> {
    let mut r = Reader { rest: body };
    let reply = match kind {
        KIND_ACCEPTED => Reply::Accepted(Accepted {
            digest: r.digest("digest")?,
            written: r.bool("written")?,
        }),
        KIND_REFUSED => Reply::Refused(match r.u8("reason")? {
            1 => {
                let (errors, omitted) = r.findings()?;
                Refusal::DoesNotParse { errors, omitted }
            }
            2 => Refusal::OlderSerial {
                current: r.i64("current serial_no")?,
                pushed: r.i64("pushed serial_no")?,
            },
            3 => Refusal::Conflict {
                current: r.opt("current digest", |r| r.digest("current digest"))?,
                base: r.opt("base", |r| r.digest("base"))?,
            },
            4 => Refusal::TooLarge {
                size: r.u64("size")?,
                limit: r.u64("limit")?,
            },
            5 => Refusal::DigestMismatch {
                declared: r.digest("declared digest")?,
                actual: r.digest("actual digest")?,
            },
            6 => Refusal::SerialMismatch {
                declared: r.opt("declared serial_no", |r| r.i64("declared serial_no"))?,
                actual: r.opt("actual serial_no", |r| r.i64("actual serial_no"))?,
            },
            7 => {
                let (notes, omitted) = r.findings()?;
                Refusal::Extensions { notes, omitted }
            }
            8 => Refusal::NotStored {
                reason: r.str("reason", MAX_TEXT)?,
            },
            value => {
                return Err(WireError::BadTag {
                    field: "reason",
                    value,
                });
            }
        }),
        KIND_STATUS_REPLY => Reply::Status(Status {
            digest: r.opt("digest", |r| r.digest("digest"))?,
            serial_no: r.opt("serial_no", |r| r.i64("serial_no"))?,
            last_write: r.opt("last write", |r| {
                Ok(WriteRecord {
                    at_unix: r.u64("write time")?,
                    by: r.str("writer", MAX_SENDER)?,
                    digest: r.digest("written digest")?,
                })
            })?,
        }),
        KIND_ERROR => Reply::Error(r.str("error message", MAX_TEXT)?),
        other => return Err(WireError::UnknownKind(other)),
    };
    r.end()?;
    Ok(reply)
}

/// Reading a frame from a stream failed.
#[derive(Debug)]
pub enum ReadError {
    /// The stream failed (or ended inside the frame:
    /// [`std::io::ErrorKind::UnexpectedEof`]).
    Io(std::io::Error),
    /// The bytes are not a valid frame.
    Wire(WireError),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                f.write_str("connection closed inside the message")
            }
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Wire(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            ReadError::Wire(e) => Some(e),
        }
    }
}

/// Reads one frame's header, and its body if it is at most `limit` bytes;
/// a longer one is [`WireError::TooLarge`] with the body left unread.
pub async fn read_frame(
    stream: &mut (impl AsyncRead + Unpin),
    limit: u64,
) -> Result<(u8, Vec<u8>), ReadError> {
    let mut head = [0u8; HEADER_LEN];
    stream.read_exact(&mut head).await.map_err(ReadError::Io)?;
    let header = parse_header(&head).map_err(ReadError::Wire)?;
    if header.len > limit {
        return Err(ReadError::Wire(WireError::TooLarge {
            size: header.len,
            limit,
        }));
    }
    // `len` is at most `limit`, which the caller sized to fit memory.
    let mut body = vec![0u8; usize::try_from(header.len).unwrap_or(usize::MAX)];
    stream.read_exact(&mut body).await.map_err(ReadError::Io)?;
    Ok((header.kind, body))
}

/// Reads a request of at most `limit` body bytes.
pub async fn read_request(
    stream: &mut (impl AsyncRead + Unpin),
    limit: u64,
) -> Result<Request, ReadError> {
    let (kind, body) = read_frame(stream, limit).await?;
    decode_request(kind, &body).map_err(ReadError::Wire)
}

/// Reads a reply (at most [`MAX_REPLY`] bytes).
pub async fn read_reply(stream: &mut (impl AsyncRead + Unpin)) -> Result<Reply, ReadError> {
    let (kind, body) = read_frame(stream, MAX_REPLY).await?;
    decode_reply(kind, &body).map_err(ReadError::Wire)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(frame: &[u8]) -> (Header, &[u8]) {
        let head: [u8; HEADER_LEN] = frame[..HEADER_LEN].try_into().unwrap();
        let h = parse_header(&head).unwrap();
        assert_eq!(h.len, (frame.len() - HEADER_LEN) as u64);
        (h, &frame[HEADER_LEN..])
    }

    fn push() -> Push {
        let file = b"serial_no = 7\nprimary = 192.0.2.1\n".to_vec();
        Push {
            sender: "lvs1".into(),
            force: true,
            serial_no: Some(7),
            digest: Digest::of(&file),
            base: Some(Digest::of(b"old")),
            file,
        }
    }

    fn finding(severity: Severity) -> Finding {
        Finding {
            severity,
            line: 12,
            col: 18,
            len: 4,
            message: "unknown scheduler \"wlcc\"".into(),
            hint: Some("did you mean \"wlc\"?".into()),
            extension: None,
        }
    }

    fn every_request() -> Vec<Request> {
        let mut first = push();
        first.base = None;
        first.force = false;
        first.serial_no = None;
        let mut empty = push();
        empty.file.clear();
        vec![
            Request::Status,
            Request::Push(push()),
            Request::Push(first),
            Request::Push(empty),
        ]
    }

    fn every_reply() -> Vec<Reply> {
        let d = Digest::of(b"x");
        let e = Digest::of(b"y");
        let mut note = finding(Severity::Note);
        note.extension = Some("crlf".into());
        note.hint = None;
        vec![
            Reply::Accepted(Accepted {
                digest: d,
                written: true,
            }),
            Reply::Accepted(Accepted {
                digest: d,
                written: false,
            }),
            Reply::Refused(Refusal::DoesNotParse {
                errors: vec![finding(Severity::Error), finding(Severity::Warning)],
                omitted: 3,
            }),
            Reply::Refused(Refusal::OlderSerial {
                current: 9,
                pushed: -1,
            }),
            Reply::Refused(Refusal::Conflict {
                current: Some(d),
                base: None,
            }),
            Reply::Refused(Refusal::Conflict {
                current: None,
                base: Some(e),
            }),
            Reply::Refused(Refusal::TooLarge {
                size: 1 << 30,
                limit: 1 << 20,
            }),
            Reply::Refused(Refusal::DigestMismatch {
                declared: d,
                actual: e,
            }),
            Reply::Refused(Refusal::SerialMismatch {
                declared: Some(3),
                actual: None,
            }),
            Reply::Refused(Refusal::Extensions {
                notes: vec![note],
                omitted: 0,
            }),
            Reply::Refused(Refusal::NotStored {
                reason: "No space left on device".into(),
            }),
            Reply::Status(Status {
                digest: None,
                serial_no: None,
                last_write: None,
            }),
            Reply::Status(Status {
                digest: Some(d),
                serial_no: Some(i64::MAX),
                last_write: Some(WriteRecord {
                    at_unix: 1_700_000_000,
                    by: "lvs1".into(),
                    digest: e,
                }),
            }),
            Reply::Error("message truncated in file".into()),
        ]
    }

    #[test]
    fn requests_round_trip() {
        for req in every_request() {
            let frame = encode_request(&req);
            let (h, body) = split(&frame);
            assert_eq!(decode_request(h.kind, body), Ok(req.clone()), "{req:?}");
        }
    }

    #[test]
    fn replies_round_trip() {
        for reply in every_reply() {
            let frame = encode_reply(&reply);
            let (h, body) = split(&frame);
            assert_eq!(decode_reply(h.kind, body), Ok(reply.clone()), "{reply:?}");
        }
    }

    /// A push's bytes, field by field (the layout the module doc gives).
    #[test]
    fn push_layout_is_as_documented() {
        let p = Push {
            sender: "r1".into(),
            force: false,
            serial_no: Some(2),
            digest: Digest([0xaa; 32]),
            base: None,
            file: b"x\n".to_vec(),
        };
        let mut want = Vec::new();
        want.extend_from_slice(b"LVSY\x01\x01");
        want.extend_from_slice(&(6u32 + 1 + 9 + 32 + 1 + 6).to_be_bytes());
        want.extend_from_slice(b"\0\0\0\x02r1"); // sender
        want.push(0); // force
        want.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 2]); // serial_no
        want.extend_from_slice(&[0xaa; 32]); // digest
        want.push(0); // no base
        want.extend_from_slice(b"\0\0\0\x02x\n"); // file
        assert_eq!(encode_request(&Request::Push(p)), want);
    }

    /// Every strict prefix of every body is a typed error, never a panic
    /// and never a success.
    #[test]
    fn every_truncation_is_an_error() {
        for req in every_request() {
            let frame = encode_request(&req);
            let (h, body) = split(&frame);
            for n in 0..body.len() {
                assert!(
                    matches!(
                        decode_request(h.kind, &body[..n]),
                        Err(WireError::Truncated(_))
                    ),
                    "{req:?} cut at {n}"
                );
            }
        }
        for reply in every_reply() {
            let frame = encode_reply(&reply);
            let (h, body) = split(&frame);
            for n in 0..body.len() {
                assert!(
                    matches!(
                        decode_reply(h.kind, &body[..n]),
                        Err(WireError::Truncated(_))
                    ),
                    "{reply:?} cut at {n}"
                );
            }
        }
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let frame = encode_request(&Request::Push(push()));
        let (h, body) = split(&frame);
        let mut longer = body.to_vec();
        longer.push(0);
        assert_eq!(decode_request(h.kind, &longer), Err(WireError::Trailing(1)));
        assert_eq!(
            decode_request(KIND_STATUS, b"?"),
            Err(WireError::Trailing(1))
        );
    }

    #[test]
    fn garbage_headers_and_tags_are_named() {
        let mut head = *b"GET / HTTP";
        assert_eq!(parse_header(&head), Err(WireError::BadMagic(*b"GET ")));
        head = *b"LVSY\x02\x01\0\0\0\0";
        assert_eq!(parse_header(&head), Err(WireError::BadVersion(2)));
        assert_eq!(decode_request(0x81, b""), Err(WireError::UnknownKind(0x81)));
        assert_eq!(decode_reply(KIND_PUSH, b""), Err(WireError::UnknownKind(1)));
        // force = 2
        let frame = encode_request(&Request::Push(push()));
        let (h, body) = split(&frame);
        let mut bad = body.to_vec();
        bad[4 + 4] = 2;
        assert_eq!(
            decode_request(h.kind, &bad),
            Err(WireError::BadTag {
                field: "force",
                value: 2
            })
        );
        // A sender that is not UTF-8.
        bad = body.to_vec();
        bad[4] = 0xff;
        assert_eq!(
            decode_request(h.kind, &bad),
            Err(WireError::BadUtf8("sender"))
        );
        assert_eq!(
            decode_reply(KIND_REFUSED, &[9]),
            Err(WireError::BadTag {
                field: "reason",
                value: 9
            })
        );
    }

    /// A length field pointing far past the end (4 GiB) is a truncation,
    /// not an allocation of that size.
    #[test]
    fn huge_inner_lengths_do_not_allocate() {
        let mut body = Vec::new();
        body.extend_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            decode_request(KIND_PUSH, &body),
            Err(WireError::Truncated("sender"))
        );
        let body = [1u8, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(
            decode_reply(KIND_REFUSED, &body),
            Err(WireError::TooLong {
                field: "diagnostic count",
                len: u64::from(u32::MAX)
            })
        );
    }

    #[test]
    fn findings_beyond_the_cap_are_counted_not_sent() {
        let errors = vec![finding(Severity::Error); MAX_FINDINGS + 5];
        let frame = encode_reply(&Reply::Refused(Refusal::DoesNotParse {
            errors,
            omitted: 1,
        }));
        let (h, body) = split(&frame);
        match decode_reply(h.kind, body) {
            Ok(Reply::Refused(Refusal::DoesNotParse { errors, omitted })) => {
                assert_eq!(errors.len(), MAX_FINDINGS);
                assert_eq!(omitted, 6);
            }
            other => panic!("{other:?}"),
        }
        assert!((frame.len() as u64) < MAX_REPLY);
    }

    #[test]
    fn a_long_sender_is_refused() {
        let mut p = push();
        p.sender = "x".repeat(MAX_SENDER + 1);
        let frame = encode_request(&Request::Push(p));
        let (h, body) = split(&frame);
        assert_eq!(
            decode_request(h.kind, body),
            Err(WireError::TooLong {
                field: "sender",
                len: MAX_SENDER as u64 + 1
            })
        );
    }

    #[tokio::test]
    async fn an_oversized_frame_is_refused_from_its_header() {
        // The header promises 1 GiB; only the header is there. A reader
        // that tried to read the body would fail with an EOF instead.
        let mut head = Vec::from(*b"LVSY\x01\x01");
        head.extend_from_slice(&(1u32 << 30).to_be_bytes());
        let mut stream = &head[..];
        match read_request(&mut stream, 1 << 20).await {
            Err(ReadError::Wire(WireError::TooLarge { size, limit })) => {
                assert_eq!((size, limit), (1 << 30, 1 << 20));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_stream_cut_inside_the_body_is_an_eof() {
        let frame = encode_request(&Request::Push(push()));
        let mut stream = &frame[..frame.len() - 1];
        match read_request(&mut stream, 1 << 20).await {
            Err(ReadError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn findings_convert_back_to_lvscf() {
        let parsed = lvscf::parse_with("service = lvs\nbogus = 1\n", &lvscf::OfflineResolver);
        let d = parsed
            .diagnostics
            .iter()
            .find(|d| d.severity == Severity::Error)
            .unwrap();
        assert_eq!(&Finding::from_diagnostic(d).to_diagnostic(), d);
    }
}
