//! Parser, typed model, validator and writer for `/etc/sysconfig/ha/lvs.cf`,
//! the configuration file shared by `pulse`, `lvsd` and `nanny`.
//!
//! What it does:
//!
//! * reads lvs.cf as piranha 0.8.6 did (same keys, defaults and quirks,
//!   see `docs/lvs.cf.md`), plus a listed set of [`EXTENSIONS`] that are
//!   each reported as a note, so an admin knows whether a file still loads
//!   on a router running the original daemons;
//! * builds a located syntax tree ([`syntax`]) and lowers it into the typed
//!   [`Config`] ([`model`]), reporting *every* problem with its line and
//!   column ([`Diagnostic`]), rendered rustc-style;
//! * writes a [`Config`] back in the layout of the piranha GUI ([`write()`]);
//! * edits a file in place without touching what the edit does not name
//!   ([`edit::Document`]: comments, layout and quoting stay byte for byte).
//!
//! What it does not do: it runs nothing, configures no interface and talks
//! to no kernel. The only I/O is reading the file ([`parse_file`]) and the
//! host/service name lookups of [`SystemResolver`], which the original did
//! while parsing too; [`parse_with`] and [`OfflineResolver`] avoid even that.
//!
//! ```
//! let parsed = lvscf::parse_with(
//!     "virtual web {\n active = 1\n address = 203.0.113.10 eth0:1\n}\n",
//!     &lvscf::OfflineResolver,
//! );
//! assert!(!parsed.has_errors());
//! let config = parsed.config.unwrap();
//! assert_eq!(config.virtuals[0].port, 80);
//! ```

#![deny(missing_docs)]

mod diag;
pub mod edit;
mod ext;
mod lower;
pub mod model;
mod resolve;
pub mod syntax;
mod write;

use std::fmt;
use std::path::{Path, PathBuf};

pub use diag::{Diagnostic, Severity};
pub use edit::{Address, BlockRef, Document, Edit, EditError, Value};
pub use ext::{EXTENSIONS, Extension, extension};
pub use lower::{GLOBAL_KEYS, SERVER_KEYS, VIRTUAL_KEYS};
pub use model::{
    CheckString, Config, FailoverService, Forwarding, InterfaceAddress, LoadMonitor, NannyMode,
    Netmask, PersistenceMask, Protocol, RealServer, Scheduler, ServiceKind, VirtualServer,
};
pub use resolve::{BUILTIN_SERVICES, OfflineResolver, Resolver, SystemResolver, builtin_service};
pub use values::{Seconds, SecondsError};
pub use write::write;

/// The outcome of parsing: the config (when there was no error) and every
/// diagnostic, sorted by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The config; `None` iff [`Parsed::has_errors`].
    pub config: Option<Config>,
    /// Errors, warnings and notes in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    /// Whether any diagnostic is an error (the file must not be used).
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// Diagnostics of one severity.
    pub fn of(&self, severity: Severity) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(move |d| d.severity == severity)
    }

    /// All diagnostics rendered (see [`Diagnostic::render`]), each followed
    /// by a blank line.
    pub fn render(&self, file_name: &str, src: &str) -> String {
        let lines: Vec<&str> = src.split('\n').collect();
        let mut out = String::new();
        for d in &self.diagnostics {
            let text = lines.get(d.line.saturating_sub(1)).copied().unwrap_or("");
            out.push_str(&d.render_line(file_name, text));
            out.push('\n');
        }
        out
    }
}

/// Parses lvs.cf text, resolving host and service names on this system
/// (as the original did).
pub fn parse(src: &str) -> Parsed {
    parse_with(src, &SystemResolver::new())
}

/// Parses lvs.cf text with the given name resolver.
pub fn parse_with(src: &str, resolver: &dyn Resolver) -> Parsed {
    let mut diagnostics = Vec::new();
    let config = lower::lower(src, resolver, &mut diagnostics);
    diagnostics.sort_by_key(|d| (d.line, d.col));
    Parsed {
        config,
        diagnostics,
    }
}

/// A file read and parsed by [`parse_file`]; derefs to [`Parsed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFile {
    /// The path read.
    pub path: PathBuf,
    /// Its text (invalid UTF-8 replaced by U+FFFD), for rendering.
    pub source: String,
    /// The outcome.
    pub parsed: Parsed,
}

impl ParsedFile {
    /// All diagnostics rendered with the file's path.
    pub fn render(&self) -> String {
        self.parsed
            .render(&self.path.display().to_string(), &self.source)
    }
}

impl std::ops::Deref for ParsedFile {
    type Target = Parsed;
    fn deref(&self) -> &Parsed {
        &self.parsed
    }
}

/// The file could not be read.
#[derive(Debug)]
pub struct ReadError {
    /// The path.
    pub path: PathBuf,
    /// Why: the system's error, or (kind `InvalidInput`) that the path is
    /// not a regular file or is larger than [`MAX_FILE_SIZE`].
    pub source: std::io::Error,
}

impl fmt::Display for ReadError {
    /// The original's wording: `failed to open PATH: REASON`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to open {}: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Largest lvs.cf [`parse_file`] reads: far above any real file (a
/// thousand virtuals of a hundred servers is about 10 MiB), and low enough
/// that a wrong path (`/dev/zero`, a log file) cannot fill a router's
/// memory.
pub const MAX_FILE_SIZE: u64 = 64 << 20;

/// Reads and parses a file (with [`SystemResolver`]).
///
/// The path must name a regular file (through symbolic links) of at most
/// [`MAX_FILE_SIZE`] bytes: a FIFO would block the reader until someone
/// writes to it, and a device or a growing file could be endless. It is
/// opened without blocking and checked again once open, so a FIFO put in
/// its place meanwhile is refused too.
///
/// Bytes that are not UTF-8 are replaced and reported as a warning at
/// their place; the original read bytes, and such bytes usually sit in
/// comments.
pub fn parse_file(path: impl AsRef<Path>) -> Result<ParsedFile, ReadError> {
    let path = path.as_ref();
    Ok(parse_bytes(path, &read_file(path)?))
}

/// The bytes of `path` as [`parse_file`] reads them (a regular file of at
/// most [`MAX_FILE_SIZE`] bytes, opened without blocking), for a caller
/// that needs the exact bytes too (their digest).
pub fn read_file(path: impl AsRef<Path>) -> Result<Vec<u8>, ReadError> {
    let path = path.as_ref();
    read_config_bytes(path).map_err(|source| ReadError {
        path: path.to_owned(),
        source,
    })
}

/// Parses lvs.cf bytes exactly as [`parse_file`] parses the file's
/// (bytes that are not UTF-8 reported at their place), `path` naming them
/// in the result; nothing is read.
pub fn parse_bytes(path: impl AsRef<Path>, bytes: &[u8]) -> ParsedFile {
    let path = path.as_ref();
    let (source, invalid) = decode(bytes);
    let mut parsed = parse(&source);
    let mut warned = false;
    for (at, byte) in invalid {
        // `at` is the U+FFFD's offset in the text that was parsed.
        let before = source.get(..at).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        let diagnostic = if in_comment(&before[line_start..]) {
            if std::mem::replace(&mut warned, true) {
                continue;
            }
            Diagnostic {
                severity: Severity::Warning,
                line,
                col,
                len: 1,
                message: "the file is not valid UTF-8; invalid bytes were replaced by U+FFFD"
                    .into(),
                hint: Some("save the file as UTF-8 (or ASCII)".into()),
                extension: None,
            }
        } else {
            // A value (a `send` string, a name, a command) would reach
            // nanny, the kernel or the logs as U+FFFD instead of the byte
            // piranha passed on: refuse it at its place.
            Diagnostic {
                severity: Severity::Error,
                line,
                col,
                len: 1,
                message: format!(
                    "byte 0x{byte:02X} is not UTF-8: outside a comment it would be passed on as U+FFFD, not as written"
                ),
                hint: Some("save the file as UTF-8 (or ASCII), or write the text in ASCII".into()),
                extension: None,
            }
        };
        parsed.diagnostics.push(diagnostic);
    }
    if parsed.has_errors() {
        parsed.config = None;
    }
    parsed.diagnostics.sort_by_key(|d| (d.line, d.col));
    ParsedFile {
        path: path.to_owned(),
        source,
        parsed,
    }
}

/// The bytes of `path` if it is a regular file of at most
/// [`MAX_FILE_SIZE`] bytes.
fn read_config_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};

    fn regular(meta: &std::fs::Metadata) -> std::io::Result<()> {
        let t = meta.file_type();
        let what = if t.is_file() {
            return Ok(());
        } else if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_char_device() {
            "a character device"
        } else if t.is_block_device() {
            "a block device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "of an unknown type"
        };
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a regular file ({what})"),
        ))
    }
    let too_large = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("larger than {} MiB", MAX_FILE_SIZE >> 20),
        )
    };
    // stat does not block on a FIFO; open would, without O_NONBLOCK (a
    // FIFO put in the file's place after the stat).
    regular(&std::fs::metadata(path)?)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    regular(&meta)?;
    if meta.len() > MAX_FILE_SIZE {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // A file growing while we read stops at the limit too.
    file.take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(too_large());
    }
    Ok(bytes)
}

/// `bytes` as text with each invalid sequence replaced by U+FFFD, and for
/// each: its offset in that text and its first byte.
fn decode(bytes: &[u8]) -> (String, Vec<(usize, u8)>) {
    let mut text = String::with_capacity(bytes.len());
    let mut invalid = Vec::new();
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        if let Some(&byte) = chunk.invalid().first() {
            invalid.push((text.len(), byte));
            text.push(char::REPLACEMENT_CHARACTER);
        }
    }
    (text, invalid)
}

/// Whether the end of `line_so_far` is inside a `#` comment (a `#` outside
/// double quotes).
fn in_comment(line_so_far: &str) -> bool {
    let mut quoted = false;
    let mut escaped = false;
    for c in line_so_far.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '#' if !quoted => return true,
            _ => {}
        }
    }
    false
}
