//! Lossless editing of an lvs.cf: changes are made on the bytes of the
//! file at the places the located syntax tree ([`crate::syntax`]) points
//! to, so everything an edit does not name stays byte for byte: comments,
//! blank lines, indentation, key order, quoting, trailing comments and the
//! line endings (LF or CRLF).
//!
//! A [`Document`] keeps the file's text and what it parses to. Edits
//! ([`Edit`]) name a key or a block by an [`Address`]
//! (`virtual.web.server.web1.weight`) and are applied as one transaction
//! ([`Document::apply`]): the edited text is parsed and lowered again, and
//! if it has any error the edit is refused with the diagnostics
//! ([`Refusal`]) and the document stays as it was.
//!
//! Where new text goes, and how it looks:
//!
//! * a key that is set and already present gets only its value's bytes
//!   replaced (of the last occurrence, the one that counts); a value that
//!   was quoted stays quoted with the same quote character;
//! * a new key goes after the last key line of its block (in a `virtual`,
//!   the last one above the first `server`, so that a new `port` reaches
//!   the servers as the admin expects), or after the block's `{` line, with
//!   the indentation of its sibling keys (else of the same level elsewhere
//!   in the file) and the `=` spacing of the file;
//! * a value that needs quotes (empty, blanks, `#`, a leading quote) is
//!   quoted with the quote character the file uses most (`"` when none;
//!   always `"` for `send`/`expect`, whose single quotes piranha passed on
//!   to nanny as part of the string); a bare value stays bare while it
//!   reads back the same;
//! * a new block goes after the last block of its kind, with the
//!   indentation, brace placement and blank-line separation of its
//!   siblings; it is created empty (a `server` needs an `address` set in the
//!   same transaction);
//! * unset removes every line of the key (duplicates included, else an
//!   earlier one would take over); remove takes the block's lines from its
//!   header to its `}`; rename replaces only the name's bytes.
//!
//! Values are given as text, as the parser reads it ([`Value`]), with
//! `From` conversions from the model's types; [`Document::get`] reads a
//! key's value back in the same form. [`unified_diff`] shows a change.
//!
//! What this module does not do: it never writes files (the caller does,
//! atomically), never renumbers `serial_no`, and does not reformat.

mod address;
mod diff;
mod value;

use std::fmt;
use std::ops::Range;

pub use address::{Address, AddressError, BlockRef};
pub use diff::unified_diff;
pub use value::Value;

use crate::diag::{Diagnostic, edit_distance};
use crate::lower::{GLOBAL_KEYS, SERVER_KEYS, VIRTUAL_KEYS};
use crate::model::Config;
use crate::resolve::{Resolver, SystemResolver};
use crate::syntax::{Assign, Block, BlockKind, Item, Quote, parse_tree};
use crate::{Parsed, Severity, parse_with};

/// One change to the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Sets a key (adding it when absent).
    Set {
        /// The key.
        at: Address,
        /// Its new value.
        value: Value,
    },
    /// Removes a key (every line of it); nothing when it is absent.
    Unset(Address),
    /// Adds an empty block.
    Add(BlockRef),
    /// Removes a block and everything in it.
    Remove(BlockRef),
    /// Renames a block.
    Rename {
        /// The block.
        block: BlockRef,
        /// Its new name.
        name: String,
    },
}

impl Edit {
    /// `Set` from `ADDRESS=VALUE` (the first `=` outside a quoted name
    /// separates them), the value read by [`Value::for_key`].
    pub fn parse_set(text: &str) -> Result<Edit, EditError> {
        let (at, value) = split_assignment(text).ok_or_else(|| {
            EditError::Address(AddressError {
                address: text.to_owned(),
                reason: "expected ADDRESS=VALUE".into(),
            })
        })?;
        let at = Address::parse(at)?;
        let value = Value::for_key(&at, value);
        Ok(Edit::Set { at, value })
    }

    /// `Rename` from `BLOCK=NEWNAME`.
    pub fn parse_rename(text: &str) -> Result<Edit, EditError> {
        let (at, name) = split_assignment(text).ok_or_else(|| {
            EditError::Address(AddressError {
                address: text.to_owned(),
                reason: "expected BLOCK=NEWNAME".into(),
            })
        })?;
        let block = block_of(Address::parse(at)?)?;
        Ok(Edit::Rename {
            block,
            name: name.to_owned(),
        })
    }
}

/// The command-line form: `set ADDRESS=VALUE`, `unset ADDRESS`,
/// `add BLOCK`, `remove BLOCK`, `rename BLOCK=NAME` (for logs and history).
impl fmt::Display for Edit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edit::Set { at, value } => write!(f, "set {at}={}", value.as_tokens().join(" ")),
            Edit::Unset(at) => write!(f, "unset {at}"),
            Edit::Add(b) => write!(f, "add {b}"),
            Edit::Remove(b) => write!(f, "remove {b}"),
            Edit::Rename { block, name } => write!(f, "rename {block}={name}"),
        }
    }
}

/// The block an address names; an error when it names a key.
pub fn block_of(at: Address) -> Result<BlockRef, EditError> {
    match at {
        Address {
            block: Some(b),
            key: None,
        } => Ok(b),
        other => Err(EditError::NotABlock(other)),
    }
}

/// Splits `ADDRESS=VALUE` at the first `=` outside double quotes.
fn split_assignment(text: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '=' if !quoted => return Some((&text[..i], &text[i + 1..])),
            _ => {}
        }
    }
    None
}

/// Why an edit was not made. The document is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EditError {
    /// The address does not parse.
    Address(AddressError),
    /// A key was expected (`Set`, `Unset`).
    NotAKey(Address),
    /// A block was expected (`Add`, `Remove`, `Rename`).
    NotABlock(Address),
    /// No such key in that place.
    UnknownKey {
        /// The key given.
        key: String,
        /// `"at top level"`, `"in a virtual"`…
        place: &'static str,
        /// The closest valid key, if any.
        suggestion: Option<&'static str>,
    },
    /// The block does not exist.
    NoBlock {
        /// The block asked for.
        block: BlockRef,
        /// The closest existing name, if any.
        suggestion: Option<String>,
    },
    /// `Add` or `Rename` to a name that exists.
    Exists(BlockRef),
    /// The block has no closing `}`; the file is broken there.
    Unclosed(BlockRef),
    /// A value or name that cannot be written on one line, or is empty.
    BadText {
        /// What it was for.
        what: String,
        /// Why.
        reason: &'static str,
    },
    /// The edited file would not load.
    Refused(Refusal),
}

/// An edit whose result does not load: the text it would have produced and
/// its errors, whose lines and columns refer to that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The edited text that was refused.
    pub text: String,
    /// Its errors (warnings and notes left out).
    pub diagnostics: Vec<Diagnostic>,
}

impl Refusal {
    /// The errors rendered rustc-style (`FILE:LINE:COL: error: …`, the
    /// edited line, a caret), as `lvsd --check` prints them.
    pub fn render(&self, file_name: &str) -> String {
        Parsed {
            config: None,
            diagnostics: self.diagnostics.clone(),
        }
        .render(file_name, &self.text)
    }
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::Address(e) => e.fmt(f),
            EditError::NotAKey(a) => write!(f, "{a} names a block, not a key"),
            EditError::NotABlock(a) => write!(f, "{a} does not name a block"),
            EditError::UnknownKey {
                key,
                place,
                suggestion,
            } => {
                write!(f, "unknown key \"{key}\" {place}")?;
                if let Some(s) = suggestion {
                    write!(f, " (did you mean \"{s}\"?)")?;
                }
                Ok(())
            }
            EditError::NoBlock { block, suggestion } => {
                write!(f, "no {} named \"{}\"", block.keyword(), block.name())?;
                if let BlockRef::Server { virtual_name, .. } = block {
                    write!(f, " in virtual \"{virtual_name}\"")?;
                }
                if let Some(s) = suggestion {
                    write!(f, " (did you mean \"{s}\"?)")?;
                }
                Ok(())
            }
            EditError::Exists(b) => write!(f, "{b} exists already"),
            EditError::Unclosed(b) => write!(f, "{b} has no closing \"}}\""),
            EditError::BadText { what, reason } => write!(f, "{what}: {reason}"),
            EditError::Refused(r) => {
                write!(f, "the edited file would not load")?;
                if let Some(d) = r.diagnostics.first() {
                    write!(f, ": {}:{}: error: {}", d.line, d.col, d.message)?;
                    if r.diagnostics.len() > 1 {
                        write!(f, " (and {} more errors)", r.diagnostics.len() - 1)?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for EditError {}

impl From<AddressError> for EditError {
    fn from(e: AddressError) -> Self {
        EditError::Address(e)
    }
}

/// An lvs.cf open for editing: its exact text and what it parses to.
///
/// A file with errors can be opened (so that an edit can repair it), but
/// every edit must leave a file without errors.
#[derive(Debug)]
pub struct Document<R: Resolver = SystemResolver> {
    text: String,
    parsed: Parsed,
    resolver: R,
}

impl Document<SystemResolver> {
    /// Opens text, resolving names on this system (as lvsd does).
    pub fn open(text: impl Into<String>) -> Self {
        Document::open_with(text, SystemResolver::new())
    }
}

impl<R: Resolver> Document<R> {
    /// Opens text with the given resolver.
    pub fn open_with(text: impl Into<String>, resolver: R) -> Self {
        let text = text.into();
        let parsed = parse_with(&text, &resolver);
        Document {
            text,
            parsed,
            resolver,
        }
    }

    /// The current text (byte-identical to what was opened until an edit).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The current text, consuming the document.
    pub fn into_text(self) -> String {
        self.text
    }

    /// What the current text parses to.
    pub fn parsed(&self) -> &Parsed {
        &self.parsed
    }

    /// The current config (`None` while the opened file has errors).
    pub fn config(&self) -> Option<&Config> {
        self.parsed.config.as_ref()
    }

    /// The resolver the document parses with, so that a caller can parse
    /// a variant of the text (a trial of edits) the same way.
    pub fn resolver(&self) -> &R {
        &self.resolver
    }

    /// Applies `edits` in order as one transaction: all of them, or (on
    /// any error, including a result that does not load) none.
    pub fn apply(&mut self, edits: &[Edit]) -> Result<(), EditError> {
        let mut text = self.text.clone();
        for e in edits {
            text = patch(&text, e)?;
        }
        if text == self.text {
            return Ok(());
        }
        let parsed = parse_with(&text, &self.resolver);
        if parsed.has_errors() {
            let diagnostics = parsed
                .diagnostics
                .into_iter()
                .filter(|d| d.severity == Severity::Error)
                .collect();
            return Err(EditError::Refused(Refusal { text, diagnostics }));
        }
        self.text = text;
        self.parsed = parsed;
        Ok(())
    }

    /// The value of the key at `at` as the file holds it (the last
    /// occurrence; `None` when the key is absent), in the form [`Value`]
    /// takes, so that `set(at, get(at))` changes nothing.
    pub fn get(&self, at: &Address) -> Result<Option<Value>, EditError> {
        let (items, _) = parse_tree(&self.text);
        let p = Patcher {
            text: &self.text,
            items: &items,
            style: Style::of(&self.text, &items),
        };
        let key = p.key_of(at)?;
        let check = is_check_string(at, key);
        let (scope, _) = p.scope(at)?;
        Ok(assigns(scope)
            .filter(|a| a.key.value == key)
            .last()
            .map(|a| {
                Value::tokens(a.values.iter().map(|v| {
                    if check {
                        v.value.inner().to_owned()
                    } else {
                        v.value.text()
                    }
                }))
            }))
    }

    /// Applies one edit (see [`Document::apply`]).
    pub fn edit(&mut self, edit: Edit) -> Result<(), EditError> {
        self.apply(std::slice::from_ref(&edit))
    }

    /// Sets the key at `at` (address text, e.g. `virtual.web.port`).
    pub fn set(&mut self, at: &str, value: impl Into<Value>) -> Result<(), EditError> {
        let at = Address::parse(at)?;
        self.edit(Edit::Set {
            at,
            value: value.into(),
        })
    }

    /// Removes the key at `at`.
    pub fn unset(&mut self, at: &str) -> Result<(), EditError> {
        self.edit(Edit::Unset(Address::parse(at)?))
    }

    /// Adds the (empty) block at `at`, e.g. `virtual.web.server.web3`.
    pub fn add(&mut self, at: &str) -> Result<(), EditError> {
        self.edit(Edit::Add(block_of(Address::parse(at)?)?))
    }

    /// Removes the block at `at`.
    pub fn remove(&mut self, at: &str) -> Result<(), EditError> {
        self.edit(Edit::Remove(block_of(Address::parse(at)?)?))
    }

    /// Renames the block at `at`.
    pub fn rename(&mut self, at: &str, name: &str) -> Result<(), EditError> {
        self.edit(Edit::Rename {
            block: block_of(Address::parse(at)?)?,
            name: name.to_owned(),
        })
    }
}

// ---- the patcher ----------------------------------------------------------

/// One edit on `text`, not yet validated.
fn patch(text: &str, edit: &Edit) -> Result<String, EditError> {
    let (items, _) = parse_tree(text);
    let p = Patcher {
        text,
        items: &items,
        style: Style::of(text, &items),
    };
    let changes = match edit {
        Edit::Set { at, value } => p.set(at, value)?,
        Edit::Unset(at) => p.unset(at)?,
        Edit::Add(b) => p.add(b)?,
        Edit::Remove(b) => p.remove(b)?,
        Edit::Rename { block, name } => p.rename(block, name)?,
    };
    Ok(splice(text, changes))
}

/// Replaces byte ranges (non-overlapping) by text.
fn splice(text: &str, mut changes: Vec<(Range<usize>, String)>) -> String {
    changes.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    let mut out = text.to_owned();
    for (r, s) in changes {
        out.replace_range(r, &s);
    }
    out
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Start of the line holding byte `off`.
fn line_start(text: &str, off: usize) -> usize {
    text[..off].rfind('\n').map_or(0, |i| i + 1)
}

/// Just after the line ending of the line holding byte `off` (or the end
/// of the text on a last line without one).
fn line_end(text: &str, off: usize) -> usize {
    text[off..].find('\n').map_or(text.len(), |i| off + i + 1)
}

/// The blanks before byte `off` on its line (`off` is a line's first token).
fn indent_at(text: &str, off: usize) -> &str {
    &text[line_start(text, off)..off]
}

fn is_comment_or_blank(line: &str) -> bool {
    let t = line.trim_start_matches(is_blank).trim_end();
    t.is_empty() || t.starts_with('#')
}

/// The previous line before a line starting at `start`, if any.
fn prev_line(text: &str, start: usize) -> Option<(usize, &str)> {
    if start == 0 {
        return None;
    }
    let s = line_start(text, start - 1);
    Some((s, &text[s..start]))
}

/// Whether the lines above `start`, past any comment lines directly above
/// it, begin with a blank line.
fn blank_above(text: &str, mut start: usize) -> bool {
    while let Some((s, line)) = prev_line(text, start) {
        let t = line.trim();
        if t.is_empty() {
            return true;
        }
        if !t.starts_with('#') {
            return false;
        }
        start = s;
    }
    false
}

fn name_end(b: &Block<'_>) -> usize {
    match &b.name {
        Some(n) => n.span.offset + n.value.raw.len(),
        None => b.kind.span.offset + b.kind.value.as_str().len(),
    }
}

/// Just after the line that holds the block's `{`.
fn brace_line_end(text: &str, b: &Block<'_>) -> usize {
    let header_end = line_end(text, b.kind.span.offset);
    let after_name = &text[name_end(b)..header_end];
    if after_name.trim_start_matches(is_blank).starts_with('{') {
        return header_end;
    }
    let mut pos = header_end;
    while pos < text.len() {
        let end = line_end(text, pos);
        let line = text[pos..end].trim_start_matches(is_blank);
        if line.starts_with('{') {
            return end;
        }
        if !is_comment_or_blank(line) {
            break;
        }
        pos = end;
    }
    header_end
}

/// How the file writes things, for new text.
struct Style {
    eol: &'static str,
    quote: char,
    /// `key = value` (true) or `key=value`, whichever the file uses more.
    spaced_eq: bool,
    /// First indentation seen per level: globals and top blocks, keys of a
    /// virtual and server headers, keys of a server.
    indent: [Option<String>; 3],
    /// For blocks with keys: (header indentation, first key's indentation).
    children: Vec<(String, String)>,
    /// Brace placement of the first block seen of each kind, and of any.
    brace: [Option<Brace>; 4],
}

#[derive(Debug, Clone)]
enum Brace {
    /// `{` on the header line, after this gap.
    SameLine(String),
    /// `{` alone on the next line (indented as the header).
    NextLine,
}

fn kind_index(k: BlockKind) -> usize {
    match k {
        BlockKind::Virtual => 0,
        BlockKind::Server => 1,
        BlockKind::Failover => 2,
    }
}

impl Style {
    fn of(text: &str, items: &[Item<'_>]) -> Style {
        let crlf = text.matches("\r\n").count();
        let lf = text.matches('\n').count() - crlf;
        let mut st = Style {
            eol: if crlf > lf { "\r\n" } else { "\n" },
            quote: '"',
            spaced_eq: true,
            indent: [None, None, None],
            children: Vec::new(),
            brace: [None, None, None, None],
        };
        let (mut double, mut single) = (0usize, 0usize);
        let (mut spaced, mut unspaced) = (0usize, 0usize);
        let mut visit_assign = |st: &mut Style, a: &Assign<'_>, level: usize| {
            if eq_unspaced(text, a) {
                unspaced += 1;
            } else {
                spaced += 1;
            }
            if st.indent[level].is_none() {
                st.indent[level] = Some(indent_at(text, a.key.span.offset).to_owned());
            }
            for v in &a.values {
                match v.value.quote {
                    Quote::Double => double += 1,
                    Quote::Single => single += 1,
                    Quote::Bare => {}
                }
            }
        };
        for item in items {
            match item {
                Item::Assign(a) => visit_assign(&mut st, a, 0),
                Item::Block(b) => {
                    st.block_seen(text, b, 0);
                    for inner in &b.items {
                        match inner {
                            Item::Assign(a) => visit_assign(&mut st, a, 1),
                            Item::Block(s) => {
                                st.block_seen(text, s, 1);
                                for a in assigns(&s.items) {
                                    visit_assign(&mut st, a, 2);
                                }
                            }
                        }
                    }
                }
            }
        }
        if single > double {
            st.quote = '\'';
        }
        st.spaced_eq = spaced >= unspaced;
        st
    }

    fn block_seen(&mut self, text: &str, b: &Block<'_>, level: usize) {
        let header = indent_at(text, b.kind.span.offset).to_owned();
        if let Some(a) = assigns(&b.items).next() {
            let key = indent_at(text, a.key.span.offset).to_owned();
            self.children.push((header.clone(), key));
        }
        if self.indent[level].is_none() {
            self.indent[level] = Some(header);
        }
        let k = kind_index(b.kind.value);
        if self.brace[k].is_none() {
            self.brace[k] = brace_of(text, b);
        }
        if self.brace[3].is_none() {
            self.brace[3] = brace_of(text, b);
        }
    }

    /// Brace placement for a new block of `kind` without a sibling.
    fn brace_for(&self, kind: BlockKind) -> Brace {
        self.brace[kind_index(kind)]
            .clone()
            .or_else(|| self.brace[3].clone())
            .unwrap_or(Brace::SameLine(" ".into()))
    }

    /// Indentation of the keys of a block whose header is indented by
    /// `header`, when the block has none: as in another block with the same
    /// header indentation, else one step further (the step of the file's
    /// nesting, a tab in a tab-indented file, piranha's GUI's 5 spaces at
    /// the first level).
    fn child_indent(&self, header: &str, parent_header: Option<&str>) -> String {
        if let Some((_, k)) = self.children.iter().find(|(h, _)| h == header) {
            return k.clone();
        }
        let step = match parent_header {
            Some(p) if header.len() > p.len() && header.starts_with(p) => {
                header[p.len()..].to_owned()
            }
            _ if header.contains('\t') => "\t".to_owned(),
            _ if header.is_empty() => "     ".to_owned(),
            _ => "    ".to_owned(),
        };
        format!("{header}{step}")
    }
}

fn eq_unspaced(text: &str, a: &Assign<'_>) -> bool {
    let key_end = a.key.span.offset + a.key.value.len();
    let rest = &text[key_end..line_end(text, key_end)];
    !rest.starts_with(is_blank) && rest.starts_with('=') && !rest[1..].starts_with(is_blank)
}

fn brace_of(text: &str, b: &Block<'_>) -> Option<Brace> {
    b.name.as_ref()?;
    let end = name_end(b);
    let rest = &text[end..line_end(text, end)];
    let trimmed = rest.trim_start_matches(is_blank);
    if trimmed.starts_with('{') {
        Some(Brace::SameLine(
            rest[..rest.len() - trimmed.len()].to_owned(),
        ))
    } else {
        Some(Brace::NextLine)
    }
}

fn assigns<'t, 'a>(items: &'t [Item<'a>]) -> impl Iterator<Item = &'t Assign<'a>> {
    items.iter().filter_map(|i| match i {
        Item::Assign(a) => Some(a),
        Item::Block(_) => None,
    })
}

fn blocks<'t, 'a>(items: &'t [Item<'a>], kind: BlockKind) -> impl Iterator<Item = &'t Block<'a>> {
    items.iter().filter_map(move |i| match i {
        Item::Block(b) if b.kind.value == kind => Some(&**b),
        _ => None,
    })
}

fn block_name(b: &Block<'_>) -> Option<String> {
    b.name.as_ref().map(|n| n.value.text())
}

/// Text that may be written as a bare value token.
fn bare_ok(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(['"', '\''])
        && !s.contains('#')
        && !s.chars().any(|c| is_blank(c) || c.is_control())
}

/// A plain value or a name between quotes `q`: `\` is doubled only where
/// the reader would take it as an escape (before `\`, before `q`, at the
/// end), so other backslashes read the same by piranha's parser too.
fn quote_plain(s: &str, q: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let escape = c == q || (c == '\\' && chars.peek().is_none_or(|n| *n == '\\' || *n == q));
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out.push(q);
    out
}

/// A `send`/`expect` value between quotes `q`: the text stays as written
/// (nanny decodes its escapes); only a quote not already escaped gets a `\`.
fn quote_check(s: &str, q: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push(c);
            if let Some(n) = chars.next() {
                out.push(n);
            }
            continue;
        }
        if c == q {
            out.push('\\');
        }
        out.push(c);
    }
    out.push(q);
    out
}

fn check_no_newline(what: &dyn fmt::Display, s: &str) -> Result<(), EditError> {
    if s.contains(['\n', '\r']) {
        return Err(EditError::BadText {
            what: what.to_string(),
            reason: "a value cannot contain a line break",
        });
    }
    Ok(())
}

/// The closest candidate within typo distance: two edits, or a third of
/// the word for long words (`wbe` → `web`, `weigth` → `weight`), short of
/// replacing the whole word.
fn suggest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let len = word.chars().count();
    let limit = (len / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        // Not a word replaced whole (`c` is no typo of `a`).
        .filter(|(d, _)| *d <= limit && *d < len)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `send`/`expect` of a virtual or failover: written as nanny reads them.
fn is_check_string(at: &Address, key: &str) -> bool {
    at.block
        .as_ref()
        .is_some_and(|b| !matches!(b, BlockRef::Server { .. }))
        && matches!(key, "send" | "expect")
}

fn keys_for(block: Option<&BlockRef>) -> (&'static [&'static str], &'static str) {
    match block {
        None => (GLOBAL_KEYS, "at top level"),
        Some(BlockRef::Virtual(_)) => (VIRTUAL_KEYS, "in a virtual"),
        Some(BlockRef::Failover(_)) => (VIRTUAL_KEYS, "in a failover"),
        Some(BlockRef::Server { .. }) => (SERVER_KEYS, "in a server"),
    }
}

struct Patcher<'t, 'a> {
    text: &'a str,
    items: &'t [Item<'a>],
    style: Style,
}

/// A block found, with its enclosing virtual for a server.
struct Found<'t, 'a> {
    block: &'t Block<'a>,
    parent: Option<&'t Block<'a>>,
}

impl<'t, 'a> Patcher<'t, 'a> {
    fn no_block(block: &BlockRef, names: Vec<String>) -> EditError {
        let suggestion = suggest(block.name(), names.iter().map(String::as_str)).map(str::to_owned);
        EditError::NoBlock {
            block: block.clone(),
            suggestion,
        }
    }

    fn find_top(&self, kind: BlockKind, name: &str) -> Result<&'t Block<'a>, Vec<String>> {
        let mut names = Vec::new();
        for b in blocks(self.items, kind) {
            match block_name(b) {
                Some(n) if n == name => return Ok(b),
                Some(n) => names.push(n),
                None => {}
            }
        }
        Err(names)
    }

    fn find(&self, r: &BlockRef) -> Result<Found<'t, 'a>, EditError> {
        let top = |kind, name: &str, r: &BlockRef| {
            self.find_top(kind, name)
                .map_err(|names| Self::no_block(r, names))
        };
        match r {
            BlockRef::Virtual(n) => Ok(Found {
                block: top(BlockKind::Virtual, n, r)?,
                parent: None,
            }),
            BlockRef::Failover(n) => Ok(Found {
                block: top(BlockKind::Failover, n, r)?,
                parent: None,
            }),
            BlockRef::Server { virtual_name, name } => {
                let v = top(
                    BlockKind::Virtual,
                    virtual_name,
                    &BlockRef::Virtual(virtual_name.clone()),
                )?;
                let mut names = Vec::new();
                for s in blocks(&v.items, BlockKind::Server) {
                    match block_name(s) {
                        Some(n) if n == *name => {
                            return Ok(Found {
                                block: s,
                                parent: Some(v),
                            });
                        }
                        Some(n) => names.push(n),
                        None => {}
                    }
                }
                Err(Self::no_block(r, names))
            }
        }
    }

    fn key_of<'k>(&self, at: &'k Address) -> Result<&'k str, EditError> {
        let Some(key) = at.key.as_deref() else {
            return Err(EditError::NotAKey(at.clone()));
        };
        let (table, place) = keys_for(at.block.as_ref());
        if !table.contains(&key) {
            return Err(EditError::UnknownKey {
                key: key.to_owned(),
                place,
                suggestion: suggest(key, table.iter().copied()),
            });
        }
        Ok(key)
    }

    /// The items of the scope of `at` and the block (if any).
    fn scope(&self, at: &Address) -> Result<(&'t [Item<'a>], Option<Found<'t, 'a>>), EditError> {
        match &at.block {
            None => Ok((self.items, None)),
            Some(b) => {
                let f = self.find(b)?;
                Ok((&f.block.items, Some(f)))
            }
        }
    }

    /// A value token; `old` is the quoting of the token it replaces, and
    /// `first` whether it is the first after `=` (where a bare `#` is data).
    fn render_token(&self, tok: &str, check: bool, old: Option<Quote>, first: bool) -> String {
        let q = match old {
            Some(Quote::Double) => Some('"'),
            Some(Quote::Single) => Some('\''),
            None if bare_ok(tok) => None,
            // A bare value stays bare as long as it reads back the same.
            Some(Quote::Bare) if bare_ok(tok) || (first && bare_ok(&tok.replace('#', "x"))) => None,
            // send/expect keep double quotes: single quotes reached nanny
            // as part of the string in piranha.
            _ if check => Some('"'),
            _ => Some(self.style.quote),
        };
        match q {
            None => tok.to_owned(),
            Some(q) if check => quote_check(tok, q),
            Some(q) => quote_plain(tok, q),
        }
    }

    fn render_name(&self, name: &str, old: Option<Quote>) -> String {
        let plain = bare_ok(name) && !name.contains(['{', '}']) && !name.starts_with('=');
        match old {
            Some(Quote::Double) => quote_plain(name, '"'),
            Some(Quote::Single) => quote_plain(name, '\''),
            _ if plain => name.to_owned(),
            _ => quote_plain(name, self.style.quote),
        }
    }

    fn set(&self, at: &Address, value: &Value) -> Result<Vec<(Range<usize>, String)>, EditError> {
        let key = self.key_of(at)?;
        let tokens = value.as_tokens();
        if tokens.is_empty() {
            return Err(EditError::BadText {
                what: at.to_string(),
                reason: "no value given (to remove the key, unset it)",
            });
        }
        for t in tokens {
            check_no_newline(at, t)?;
        }
        let check = at
            .block
            .as_ref()
            .is_some_and(|b| !matches!(b, BlockRef::Server { .. }))
            && matches!(key, "send" | "expect");
        let (items, found) = self.scope(at)?;
        // The last occurrence is the one that counts.
        if let Some(a) = assigns(items).filter(|a| a.key.value == key).last() {
            return Ok(self.replace_value(a, tokens, check));
        }
        let rendered: Vec<String> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| self.render_token(t, check, None, i == 0))
            .collect();
        let (pos, indent, spaced) = self.key_place(items, found.as_ref())?;
        let eq = if spaced { " = " } else { "=" };
        let line = format!("{indent}{key}{eq}{}", rendered.join(" "));
        Ok(vec![self.insert_lines(pos, &[line])])
    }

    fn replace_value(
        &self,
        a: &Assign<'a>,
        tokens: &[String],
        check: bool,
    ) -> Vec<(Range<usize>, String)> {
        let range_of = |v: &crate::syntax::Spanned<crate::syntax::Token<'_>>| {
            v.span.offset..v.span.offset + v.value.raw.len()
        };
        if a.values.len() == tokens.len() {
            // Token by token: the blanks between them stay.
            return a
                .values
                .iter()
                .zip(tokens)
                .enumerate()
                // A token that already reads as this value keeps its bytes.
                .filter(|(_, (v, t))| {
                    let now = if check {
                        v.value.inner().to_owned()
                    } else {
                        v.value.text()
                    };
                    now != **t
                })
                .map(|(i, (v, t))| {
                    (
                        range_of(v),
                        self.render_token(t, check, Some(v.value.quote), i == 0),
                    )
                })
                .collect();
        }
        let olds: Vec<Quote> = a.values.iter().map(|v| v.value.quote).collect();
        let rendered: Vec<String> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| self.render_token(t, check, olds.get(i).copied(), i == 0))
            .collect();
        let joined = rendered.join(" ");
        match (a.values.first(), a.values.last()) {
            (Some(first), Some(last)) => {
                vec![(range_of(first).start..range_of(last).end, joined)]
            }
            _ => {
                // `key =` with nothing after it: after the `=`.
                let key_end = a.key.span.offset + a.key.value.len();
                let line_to = line_end(self.text, key_end);
                let eq = self.text[key_end..line_to]
                    .find('=')
                    .map_or(key_end, |i| key_end + i + 1);
                vec![(eq..eq, format!(" {joined}"))]
            }
        }
    }

    /// Where a new key line of this scope goes, its indentation and `=`
    /// spacing.
    fn key_place(
        &self,
        items: &'t [Item<'a>],
        found: Option<&Found<'t, 'a>>,
    ) -> Result<(usize, String, bool), EditError> {
        let text = self.text;
        // Key lines above the first nested block (servers).
        let before_blocks: Vec<&Assign<'a>> = items
            .iter()
            .take_while(|i| matches!(i, Item::Assign(_)))
            .filter_map(|i| match i {
                Item::Assign(a) => Some(a),
                Item::Block(_) => None,
            })
            .collect();
        let sibling = match found {
            // Globals: the last global key line wherever it is.
            None => assigns(items).last(),
            Some(_) => before_blocks.last().copied(),
        };
        let spaced = match sibling.or_else(|| assigns(items).last()) {
            Some(a) => !eq_unspaced(text, a),
            None => self.style.spaced_eq,
        };
        // Indentation: sibling key lines, then sibling server headers (same
        // level), then other servers' keys, then the file's habit.
        let indent = if let Some(a) = sibling.or_else(|| assigns(items).last()) {
            indent_at(text, a.key.span.offset).to_owned()
        } else if let Some(b) = items.iter().find_map(|i| match i {
            Item::Block(b) => Some(b),
            Item::Assign(_) => None,
        }) {
            indent_at(text, b.kind.span.offset).to_owned()
        } else if let Some(f) = found {
            // Servers of the same virtual first, then the file's habit.
            let other_server = f.parent.and_then(|v| {
                blocks(&v.items, BlockKind::Server).find_map(|s| assigns(&s.items).next())
            });
            match other_server {
                Some(a) => indent_at(text, a.key.span.offset).to_owned(),
                None => self.style.child_indent(
                    indent_at(text, f.block.kind.span.offset),
                    f.parent.map(|v| indent_at(text, v.kind.span.offset)),
                ),
            }
        } else {
            String::new()
        };
        let pos = match (sibling, found) {
            (Some(a), _) => line_end(text, a.key.span.offset),
            (None, Some(f)) => {
                if f.block.close.is_none() {
                    return Err(EditError::Unclosed(self.block_ref_of(f)));
                }
                brace_line_end(text, f.block)
            }
            (None, None) => match items.iter().find_map(|i| match i {
                Item::Block(b) => Some(b),
                Item::Assign(_) => None,
            }) {
                // Above the first block and the comments on top of it.
                Some(b) => {
                    let mut start = line_start(text, b.kind.span.offset);
                    while let Some((s, line)) = prev_line(text, start) {
                        if !line.trim_start_matches(is_blank).starts_with('#') {
                            break;
                        }
                        start = s;
                    }
                    start
                }
                None => text.len(),
            },
        };
        Ok((pos, indent, spaced))
    }

    fn block_ref_of(&self, f: &Found<'t, 'a>) -> BlockRef {
        let name = block_name(f.block).unwrap_or_default();
        match (f.parent, f.block.kind.value) {
            (Some(v), _) => BlockRef::Server {
                virtual_name: block_name(v).unwrap_or_default(),
                name,
            },
            (None, BlockKind::Failover) => BlockRef::Failover(name),
            (None, _) => BlockRef::Virtual(name),
        }
    }

    /// The insertion of whole lines at a line start `pos`.
    fn insert_lines(&self, pos: usize, lines: &[String]) -> (Range<usize>, String) {
        let eol = self.style.eol;
        let mut s = String::new();
        let at_unterminated_end =
            pos == self.text.len() && !self.text.is_empty() && !self.text.ends_with('\n');
        if at_unterminated_end {
            s.push_str(eol);
        }
        for l in lines {
            s.push_str(l);
            s.push_str(eol);
        }
        if at_unterminated_end {
            // The file had no final line ending; neither has it now.
            s.truncate(s.len() - eol.len());
        }
        (pos..pos, s)
    }

    fn unset(&self, at: &Address) -> Result<Vec<(Range<usize>, String)>, EditError> {
        let key = self.key_of(at)?;
        let (items, _) = self.scope(at)?;
        Ok(assigns(items)
            .filter(|a| a.key.value == key)
            .map(|a| {
                let s = line_start(self.text, a.key.span.offset);
                (s..line_end(self.text, s), String::new())
            })
            .collect())
    }

    fn check_name(&self, r: &BlockRef, name: &str) -> Result<(), EditError> {
        check_no_newline(r, name)?;
        if name.is_empty() {
            return Err(EditError::BadText {
                what: r.to_string(),
                reason: "a block name cannot be empty",
            });
        }
        Ok(())
    }

    fn add(&self, r: &BlockRef) -> Result<Vec<(Range<usize>, String)>, EditError> {
        let text = self.text;
        self.check_name(r, r.name())?;
        if self.find(r).is_ok() {
            return Err(EditError::Exists(r.clone()));
        }
        let (kind, siblings_in, parent): (BlockKind, &'t [Item<'a>], Option<&'t Block<'a>>) =
            match r {
                BlockRef::Virtual(_) => (BlockKind::Virtual, self.items, None),
                BlockRef::Failover(_) => (BlockKind::Failover, self.items, None),
                BlockRef::Server { virtual_name, .. } => {
                    let v = self.find(&BlockRef::Virtual(virtual_name.clone()))?;
                    if v.block.close.is_none() {
                        return Err(EditError::Unclosed(BlockRef::Virtual(virtual_name.clone())));
                    }
                    (BlockKind::Server, &v.block.items[..], Some(v.block))
                }
            };
        let last_same = blocks(siblings_in, kind)
            .filter(|b| b.close.is_some())
            .last();
        let last_any = siblings_in
            .iter()
            .filter_map(|i| match i {
                Item::Block(b) if b.close.is_some() => Some(&**b),
                _ => None,
            })
            .next_back();
        let sibling = last_same.or(if parent.is_none() { last_any } else { None });
        let (pos, blank) = match (sibling, parent) {
            (Some(b), _) => {
                let close = b.close.map_or(b.kind.span.offset, |c| c.offset);
                (
                    line_end(text, close),
                    blank_above(text, line_start(text, b.kind.span.offset)),
                )
            }
            (None, Some(v)) => match assigns(&v.items).last() {
                Some(a) => (line_end(text, a.key.span.offset), false),
                None => (brace_line_end(text, v), false),
            },
            (None, None) => {
                let last_blank = text
                    .trim_end_matches(['\r', '\n'])
                    .rsplit('\n')
                    .next()
                    .is_none_or(|l| l.trim().is_empty());
                (text.len(), !text.is_empty() && !last_blank)
            }
        };
        let indent = match (sibling, parent) {
            (Some(b), _) => indent_at(text, b.kind.span.offset).to_owned(),
            (None, Some(v)) => match assigns(&v.items).last() {
                Some(a) => indent_at(text, a.key.span.offset).to_owned(),
                None => self
                    .style
                    .child_indent(indent_at(text, v.kind.span.offset), None),
            },
            (None, None) => self.style.indent[0].clone().unwrap_or_default(),
        };
        let brace = last_same
            .and_then(|b| brace_of(text, b))
            .unwrap_or_else(|| self.style.brace_for(kind));
        let name = self.render_name(r.name(), None);
        let brace = match brace {
            // `web{` may be glued, `"a b"{` may not.
            Brace::SameLine(gap) if gap.is_empty() && name.ends_with(['"', '\'']) => {
                Brace::SameLine(" ".into())
            }
            b => b,
        };
        let head = format!("{indent}{} {name}", kind.as_str());
        let mut lines = Vec::new();
        if blank {
            lines.push(String::new());
        }
        match brace {
            Brace::SameLine(gap) => lines.push(format!("{head}{gap}{{")),
            Brace::NextLine => {
                lines.push(head);
                lines.push(format!("{indent}{{"));
            }
        }
        lines.push(format!("{indent}}}"));
        Ok(vec![self.insert_lines(pos, &lines)])
    }

    fn remove(&self, r: &BlockRef) -> Result<Vec<(Range<usize>, String)>, EditError> {
        let f = self.find(r)?;
        let Some(close) = f.block.close else {
            return Err(EditError::Unclosed(r.clone()));
        };
        let start = line_start(self.text, f.block.kind.span.offset);
        Ok(vec![(
            start..line_end(self.text, close.offset),
            String::new(),
        )])
    }

    fn rename(&self, r: &BlockRef, name: &str) -> Result<Vec<(Range<usize>, String)>, EditError> {
        self.check_name(r, name)?;
        let f = self.find(r)?;
        if name == r.name() {
            return Ok(Vec::new());
        }
        let renamed = match r {
            BlockRef::Virtual(_) => BlockRef::Virtual(name.to_owned()),
            BlockRef::Failover(_) => BlockRef::Failover(name.to_owned()),
            BlockRef::Server { virtual_name, .. } => BlockRef::Server {
                virtual_name: virtual_name.clone(),
                name: name.to_owned(),
            },
        };
        if self.find(&renamed).is_ok() {
            return Err(EditError::Exists(renamed));
        }
        let Some(n) = &f.block.name else {
            return Err(Self::no_block(r, Vec::new()));
        };
        let range = n.span.offset..n.span.offset + n.value.raw.len();
        let mut new = self.render_name(name, Some(n.value.quote));
        // `web{` may stay glued, `"a b"{` may not.
        let glued = self.text[range.end..].starts_with(|c: char| !c.is_whitespace());
        if glued && new.ends_with(['"', '\'']) {
            new.push(' ');
        }
        Ok(vec![(range, new)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OfflineResolver;

    fn doc(s: &str) -> Document<OfflineResolver> {
        Document::open_with(s, OfflineResolver)
    }

    #[test]
    fn quoting() {
        assert!(bare_ok("abc"));
        assert!(!bare_ok(""));
        assert!(!bare_ok("a b"));
        assert!(!bare_ok("a#b"));
        assert!(!bare_ok("'a"));
        assert_eq!(quote_plain("a b", '"'), "\"a b\"");
        assert_eq!(quote_plain("say \"hi\"", '"'), r#""say \"hi\"""#);
        assert_eq!(quote_plain(r"a\d", '"'), r#""a\d""#);
        assert_eq!(quote_plain(r"a\", '"'), r#""a\\""#);
        assert_eq!(quote_plain(r"a\\b", '"'), r#""a\\\b""#);
        assert_eq!(quote_plain("it's", '\''), r"'it\'s'");
        assert_eq!(quote_check(r"GET / \r\n", '"'), r#""GET / \r\n""#);
        assert_eq!(quote_check(r#"a "b" \"c\""#, '"'), r#""a \"b\" \"c\"""#);
    }

    #[test]
    fn get_and_display() {
        let d = doc("virtual web {\n  send = \"GET /\\r\\n\"\n  address = 192.0.2.1 eth0:1\n}\n");
        let at = Address::parse("virtual.web.send").expect("address");
        assert_eq!(d.get(&at), Ok(Some(Value::new(r"GET /\r\n"))));
        let at = Address::parse("virtual.web.address").expect("address");
        assert_eq!(d.get(&at), Ok(Some(Value::tokens(["192.0.2.1", "eth0:1"]))));
        let at = Address::parse("virtual.web.port").expect("address");
        assert_eq!(d.get(&at), Ok(None));
        let e = Edit::parse_set("virtual.\"a.b\".address=192.0.2.1 eth0").expect("edit");
        assert_eq!(e.to_string(), "set virtual.\"a.b\".address=192.0.2.1 eth0");
        assert_eq!(Edit::parse_set(&e.to_string()[4..]), Ok(e));
    }

    #[test]
    fn split_at_first_unquoted_equal() {
        assert_eq!(split_assignment("a.b=c=d"), Some(("a.b", "c=d")));
        assert_eq!(
            split_assignment(r#"virtual."x=y".port=1"#),
            Some((r#"virtual."x=y".port"#, "1"))
        );
        assert_eq!(split_assignment("nothing"), None);
    }

    #[test]
    fn resolver_is_the_one_opened_with() {
        struct Hosts;
        impl Resolver for Hosts {
            fn host(&self, name: &str) -> Option<std::net::IpAddr> {
                (name == "rs1.example").then(|| [192, 0, 2, 1].into())
            }
            fn service(&self, _: &str) -> Option<u16> {
                None
            }
        }
        let text = "virtual web {\n  server a {\n    address = rs1.example\n  }\n}\n";
        let d = Document::open_with(text, Hosts);
        assert!(!d.parsed().has_errors());
        assert!(!crate::parse_with(d.text(), d.resolver()).has_errors());
        assert!(crate::parse_with(text, &OfflineResolver).has_errors());
    }

    #[test]
    fn no_edit_no_change_and_refusal_keeps_text() {
        let src = "virtual web {\n  active = 0 # off\n}\n";
        let mut d = doc(src);
        d.apply(&[]).expect("nothing to do");
        assert_eq!(d.text(), src);
        let e = d.set("virtual.web.active", "2").expect_err("not a boolean");
        let EditError::Refused(r) = &e else {
            panic!("{e}")
        };
        assert_eq!(d.text(), src);
        assert_eq!(r.diagnostics[0].line, 2);
        assert!(
            r.render("lvs.cf")
                .starts_with("lvs.cf:2:12: error: active: boolean expected (0 or 1), found \"2\"")
        );
    }
}
