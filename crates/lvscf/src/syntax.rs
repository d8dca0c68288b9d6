//! The located syntax tree of an lvs.cf, and the nom lexer that builds it.
//!
//! lvs.cf is line-oriented: every line is blank, a comment, `key = values`,
//! a block opener (`virtual NAME {`), a lone `{` or a `}`. This module turns
//! lines into [`Item`]s with [`Span`]s and knows nothing about which keys
//! exist or what values mean; that is `lower`'s job.
//!
//! The file is handed out as a stream of [`Event`]s ([`Events`]): top-level
//! items, and the items of a `virtual`/`failover` block one by one (each
//! `server` block whole), so that a large file is never held as a whole
//! tree next to its model. [`parse_tree`] builds the complete tree.

use std::collections::VecDeque;

use nom::bytes::complete::{escaped, is_not, take_while, take_while1};
use nom::character::complete::{anychar, char};
use nom::combinator::{opt, recognize};
use nom::{IResult, Parser};

use crate::diag::Diagnostic;
use crate::ext;

/// A place in the source: byte offset, 1-based line and column (characters)
/// and length in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// Byte offset from the start of the file.
    pub offset: usize,
    /// 1-based physical line.
    pub line: usize,
    /// 1-based column in characters.
    pub col: usize,
    /// Length in characters.
    pub len: usize,
}

/// A value with the place it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it is.
    pub span: Span,
}

/// How a token was quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    /// Not quoted.
    Bare,
    /// `"…"`.
    Double,
    /// `'…'`.
    Single,
}

/// One value token, borrowed from the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// The token exactly as written, quotes included.
    pub raw: &'a str,
    /// Quoting.
    pub quote: Quote,
}

impl<'a> Token<'a> {
    /// The token without its enclosing quotes (no escape processing).
    pub fn inner(&self) -> &'a str {
        match self.quote {
            Quote::Bare => self.raw,
            Quote::Double | Quote::Single => {
                let end = self.raw.len().saturating_sub(1).max(1);
                self.raw.get(1..end).unwrap_or("")
            }
        }
    }

    /// The value of a plain (non send/expect) token: quotes removed, and
    /// inside quotes `\\` and a backslash-escaped quote character decoded.
    pub fn text(&self) -> String {
        let inner = self.inner();
        let q = match self.quote {
            Quote::Bare => return inner.to_owned(),
            Quote::Double => '"',
            Quote::Single => '\'',
        };
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some(n) if n == q || n == '\\' => out.push(n),
                    Some(n) => {
                        out.push('\\');
                        out.push(n);
                    }
                    None => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// `key = value…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assign<'a> {
    /// The key.
    pub key: Spanned<&'a str>,
    /// The values after `=` (usually one; `address` has two).
    pub values: Vec<Spanned<Token<'a>>>,
    /// The whole line (from the key to the last value).
    pub span: Span,
}

/// Kind of block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// `virtual NAME {`.
    Virtual,
    /// `server NAME {`.
    Server,
    /// `failover NAME {`.
    Failover,
}

impl BlockKind {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockKind::Virtual => "virtual",
            BlockKind::Server => "server",
            BlockKind::Failover => "failover",
        }
    }

    fn from_keyword(s: &str) -> Option<Self> {
        Some(match s {
            "virtual" => BlockKind::Virtual,
            "server" => BlockKind::Server,
            "failover" => BlockKind::Failover,
            _ => return None,
        })
    }
}

/// `KIND NAME { items }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block<'a> {
    /// The keyword.
    pub kind: Spanned<BlockKind>,
    /// The name, `None` when it was missing (already reported).
    pub name: Option<Spanned<Token<'a>>>,
    /// Contents in file order.
    pub items: Vec<Item<'a>>,
    /// The closing brace; `None` when the block was cut short (reported).
    pub close: Option<Span>,
}

/// An element of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item<'a> {
    /// `key = value…`.
    Assign(Assign<'a>),
    /// A block (boxed: blocks are rare, assignments many, and an item is
    /// as large as its largest variant).
    Block(Box<Block<'a>>),
}

/// What one physical line holds.
#[derive(Debug)]
enum Line<'a> {
    Blank,
    Assign(Assign<'a>),
    Open {
        kind: Spanned<BlockKind>,
        name: Option<Spanned<Token<'a>>>,
        brace: bool,
    },
    LoneOpen(Span),
    Close(Span),
    /// Unusable; the reason has been reported.
    Bad,
}

type Res<'a, T> = IResult<&'a str, T>;

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn blanks(i: &str) -> Res<'_, &str> {
    take_while(is_blank)(i)
}

/// A quoted token, quotes included. A backslash escapes the next
/// character, so `\"` does not end a `"…"` token (extension).
fn quoted(q: char) -> impl FnMut(&str) -> Res<'_, &str> {
    move |i| {
        let stop: &str = if q == '"' { "\"\\" } else { "'\\" };
        recognize((char(q), opt(escaped(is_not(stop), '\\', anychar)), char(q))).parse(i)
    }
}

fn bare(i: &str) -> Res<'_, &str> {
    take_while1(|c: char| !is_blank(c))(i)
}

/// A key or block keyword: stops at blanks and at the punctuation that may
/// follow it without a blank (`port=80`, `virtual{`).
fn word(i: &str) -> Res<'_, &str> {
    take_while1(|c: char| !is_blank(c) && !matches!(c, '=' | '{' | '}' | '#' | '"' | '\''))(i)
}

/// A bare block name: stops at blanks, `{` and `#`.
fn name_word(i: &str) -> Res<'_, &str> {
    take_while1(|c: char| !is_blank(c) && c != '{' && c != '#')(i)
}

/// Lexer state for one physical line.
struct LineLexer<'a, 'd> {
    text: &'a str,
    offset: usize,
    line: usize,
    ascii: bool,
    /// Last (byte, column) computed on a non-ASCII line: spans are asked
    /// for left to right, so counting on from there keeps long lines linear.
    cursor: std::cell::Cell<(usize, usize)>,
    diags: &'d mut Vec<Diagnostic>,
}

impl<'a> LineLexer<'a, '_> {
    fn span(&self, s: &str) -> Span {
        let start = (s.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        let start = start.min(self.text.len());
        let (col, len) = if self.ascii {
            (start + 1, s.len())
        } else {
            let (from, mut col) = self.cursor.get();
            let from = if from <= start { from } else { 0 };
            if from == 0 {
                col = 1;
            }
            col += self.text.get(from..start).unwrap_or("").chars().count();
            self.cursor.set((start, col));
            (col, s.chars().count())
        };
        Span {
            offset: self.offset + start,
            line: self.line,
            col,
            len,
        }
    }

    /// Span of the rest of the line starting at `rest`, trailing blanks cut.
    fn rest_span(&self, rest: &str) -> Span {
        self.span(rest.trim_end_matches(is_blank))
    }

    fn lex(&mut self) -> Line<'a> {
        let text = self.text;
        let (rest, _) = blanks(text).unwrap_or((text, ""));
        if rest.is_empty() || rest.starts_with('#') {
            return Line::Blank;
        }
        if let Some(after) = rest.strip_prefix('}') {
            let brace = self.span(&rest[..1]);
            self.end_of_line(after, "a closing brace");
            return Line::Close(brace);
        }
        if let Some(after) = rest.strip_prefix('{') {
            let brace = self.span(&rest[..1]);
            self.end_of_line(after, "an opening brace");
            return Line::LoneOpen(brace);
        }
        let Ok((after_word, key)) = word(rest) else {
            let sp = self.rest_span(rest);
            let mut d = Diagnostic::error(sp, "expected a key or a block");
            if rest.starts_with(['"', '\'']) {
                d = d.with_hint("keys are written without quotes");
            }
            self.diags.push(d);
            return Line::Bad;
        };
        let (after_blank, gap) = blanks(after_word).unwrap_or((after_word, ""));
        if let Some(kind) = BlockKind::from_keyword(key)
            && !after_blank.starts_with('=')
        {
            let kind = Spanned {
                value: kind,
                span: self.span(key),
            };
            return self.opener(kind, after_blank);
        }
        let key = Spanned {
            value: key,
            span: self.span(key),
        };
        let Some(after_eq) = after_blank.strip_prefix('=') else {
            let sp = if after_blank.is_empty() {
                key.span
            } else {
                self.rest_span(after_blank)
            };
            self.diags.push(
                Diagnostic::error(sp, format!("expected \"=\" after \"{}\"", key.value))
                    .with_hint(format!("write \"{} = VALUE\"", key.value)),
            );
            return Line::Bad;
        };
        let eq = self.span(&after_blank[..1]);
        if gap.is_empty() || after_eq.starts_with(|c: char| !is_blank(c)) {
            self.diags.push(ext::note("no-blanks-around-equal", eq));
        }
        match self.values(after_eq) {
            Some(values) => {
                let end = values.last().map_or(eq, |v| v.span);
                let span = Span {
                    len: (end.col + end.len).saturating_sub(key.span.col),
                    ..key.span
                };
                Line::Assign(Assign { key, values, span })
            }
            None => Line::Bad,
        }
    }

    /// After a brace only blanks or a comment may follow.
    fn end_of_line(&mut self, after: &'a str, what: &str) {
        let (rest, _) = blanks(after).unwrap_or((after, ""));
        if !rest.is_empty() && !rest.starts_with('#') {
            let sp = self.rest_span(rest);
            self.diags.push(
                Diagnostic::error(sp, format!("unexpected text after {what}"))
                    .with_hint("put it on a line of its own"),
            );
        }
    }

    fn opener(&mut self, kind: Spanned<BlockKind>, rest: &'a str) -> Line<'a> {
        let name_res = if rest.starts_with('"') || rest.starts_with('\'') {
            self.quoted_token(rest)
        } else {
            name_word(rest).ok().map(|(r, t)| {
                (
                    r,
                    Spanned {
                        value: Token {
                            raw: t,
                            quote: Quote::Bare,
                        },
                        span: self.span(t),
                    },
                )
            })
        };
        let Some((after_name, name)) = name_res else {
            if rest.starts_with('"') || rest.starts_with('\'') {
                return Line::Bad;
            }
            self.diags.push(
                Diagnostic::error(kind.span, format!("missing {} name", kind.value.as_str()))
                    .with_hint(format!("write \"{} NAME {{\"", kind.value.as_str())),
            );
            return Line::Bad;
        };
        let (after_gap, gap) = blanks(after_name).unwrap_or((after_name, ""));
        let mut brace = false;
        let mut rest = after_gap;
        if let Some(r) = after_gap.strip_prefix('{') {
            brace = true;
            if gap.is_empty() {
                let sp = self.span(&after_gap[..1]);
                self.diags.push(ext::note("brace-placement", sp));
            }
            rest = r;
        }
        let (tail, _) = blanks(rest).unwrap_or((rest, ""));
        if tail.starts_with('#') {
            if !brace {
                // `virtual x # comment` then `{` on the next line.
                return Line::Open {
                    kind,
                    name: Some(name),
                    brace,
                };
            }
            let sp = self.rest_span(tail);
            self.diags.push(ext::note("trailing-comment", sp));
        } else if !tail.is_empty() {
            let sp = self.rest_span(tail);
            self.diags.push(
                Diagnostic::error(
                    sp,
                    format!("unexpected text after {} name", kind.value.as_str()),
                )
                .with_hint("quote a name that contains blanks"),
            );
            return Line::Bad;
        }
        Line::Open {
            kind,
            name: Some(name),
            brace,
        }
    }

    /// A quoted token at the start of `i`; reports unterminated quotes and
    /// text glued to the closing quote.
    fn quoted_token(&mut self, i: &'a str) -> Option<(&'a str, Spanned<Token<'a>>)> {
        let (q, quote) = if i.starts_with('"') {
            ('"', Quote::Double)
        } else {
            ('\'', Quote::Single)
        };
        let Ok((rest, raw)) = quoted(q)(i) else {
            let sp = self.rest_span(i);
            self.diags.push(
                Diagnostic::error(sp, format!("unterminated quote {q}…{q}"))
                    .with_hint("a quoted value must end on the same line"),
            );
            return None;
        };
        let span = self.span(raw);
        let inner = &raw[1..raw.len() - 1];
        if inner.contains(&format!("\\{q}")[..]) {
            self.diags.push(ext::note("escaped-quote", span));
        }
        if !rest.is_empty() && !rest.starts_with(is_blank) {
            let sp = self.span(bare(rest).map_or(rest, |(_, t)| t));
            self.diags.push(
                Diagnostic::error(sp, "unexpected text right after a closing quote")
                    .with_hint("quote the whole value"),
            );
            return None;
        }
        Some((
            rest,
            Spanned {
                value: Token { raw, quote },
                span,
            },
        ))
    }

    fn values(&mut self, mut i: &'a str) -> Option<Vec<Spanned<Token<'a>>>> {
        let mut out: Vec<Spanned<Token<'a>>> = Vec::with_capacity(1);
        loop {
            let (rest, gap) = blanks(i).unwrap_or((i, ""));
            if rest.is_empty() {
                if let Some(last) = out.last()
                    && !gap.is_empty()
                    && last.value.quote != Quote::Bare
                    && !last.value.inner().contains(is_blank)
                {
                    let sp = self.span(gap);
                    self.diags.push(ext::note("blank-after-quote", sp));
                }
                return Some(out);
            }
            // `#` after at least one value starts a comment; as the first
            // value it is data, as in the original (`expect = #`).
            if rest.starts_with('#') && !out.is_empty() && !gap.is_empty() {
                let sp = self.rest_span(rest);
                self.diags.push(ext::note("trailing-comment", sp));
                return Some(out);
            }
            if rest.starts_with('"') || rest.starts_with('\'') {
                let (r, tok) = self.quoted_token(rest)?;
                out.push(tok);
                i = r;
            } else {
                let Ok((r, t)) = bare(rest) else {
                    return Some(out);
                };
                out.push(Spanned {
                    value: Token {
                        raw: t,
                        quote: Quote::Bare,
                    },
                    span: self.span(t),
                });
                i = r;
            }
        }
    }
}

/// Open block on the builder's stack.
struct Open<'a> {
    block: Block<'a>,
    /// Still waiting for `{` on a following line.
    awaiting_brace: bool,
    /// A top-level `virtual`/`failover` block: its items are handed out as
    /// [`Event::Inner`] instead of being collected.
    streaming: bool,
}

/// One step of a streamed parse (see [`Events`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// A complete top-level item: `key = value`, or a (misplaced) top-level
    /// `server` block.
    Item(Item<'a>),
    /// A `virtual`/`failover` block opens. Its `items` are empty: they
    /// follow as [`Event::Inner`] until [`Event::Close`].
    Open(Box<Block<'a>>),
    /// One item of the open `virtual`/`failover` block: an assignment or a
    /// complete `server` block.
    Inner(Item<'a>),
    /// The open block ends; `None` when it was cut short (already reported).
    Close(Option<Span>),
}

/// Reads a file line by line and hands out its structure as [`Event`]s, so
/// that no block has to be held whole; [`parse_tree`] assembles the tree.
pub struct Events<'a, 'd> {
    rest: &'a str,
    offset: usize,
    line: usize,
    crlf_noted: bool,
    eof: bool,
    stack: Vec<Open<'a>>,
    queue: VecDeque<Event<'a>>,
    diags: &'d mut Vec<Diagnostic>,
}

impl<'a, 'd> Events<'a, 'd> {
    /// Starts reading `src`; diagnostics are appended to `diags`.
    pub fn new(src: &'a str, diags: &'d mut Vec<Diagnostic>) -> Self {
        Events {
            rest: src,
            offset: 0,
            line: 0,
            crlf_noted: false,
            eof: false,
            stack: Vec::new(),
            queue: VecDeque::new(),
            diags,
        }
    }

    fn next_line(&mut self) -> Option<(&'a str, usize)> {
        if self.rest.is_empty() {
            return None;
        }
        let (mut text, rest) = match self.rest.find('\n') {
            Some(n) => (&self.rest[..n], &self.rest[n + 1..]),
            None => (self.rest, ""),
        };
        let offset = self.offset;
        self.offset += self.rest.len() - rest.len();
        self.rest = rest;
        self.line += 1;
        if let Some(t) = text.strip_suffix('\r') {
            text = t;
            if !self.crlf_noted {
                self.crlf_noted = true;
                let span = Span {
                    offset: offset + t.len(),
                    line: self.line,
                    col: t.chars().count() + 1,
                    len: 0,
                };
                self.diags.push(ext::note("crlf", span));
            }
        }
        Some((text, offset))
    }

    /// Closes the innermost block.
    fn pop(&mut self, close: Option<Span>) {
        let Some(mut open) = self.stack.pop() else {
            return;
        };
        if open.streaming {
            self.queue.push_back(Event::Close(close));
            return;
        }
        open.block.close = close;
        self.push_item(Item::Block(Box::new(open.block)));
    }

    /// Hands an item to its parent block, or out.
    fn push_item(&mut self, item: Item<'a>) {
        match self.stack.last_mut() {
            Some(parent) if parent.streaming => self.queue.push_back(Event::Inner(item)),
            Some(parent) => parent.block.items.push(item),
            None => self.queue.push_back(Event::Item(item)),
        }
    }

    fn block_label(b: &Block<'_>) -> String {
        match &b.name {
            Some(n) => format!("{} \"{}\"", b.kind.value.as_str(), n.value.text()),
            None => b.kind.value.as_str().to_owned(),
        }
    }

    /// A line that is not `{` while an opener waits for its brace.
    fn missing_brace(&mut self) {
        if let Some(top) = self.stack.last_mut()
            && top.awaiting_brace
        {
            top.awaiting_brace = false;
            let sp = top
                .block
                .name
                .as_ref()
                .map_or(top.block.kind.span, |n| n.span);
            let label = Self::block_label(&top.block);
            self.diags.push(
                Diagnostic::error(sp, format!("missing \"{{\" after {label}"))
                    .with_hint("write the opening brace at the end of this line"),
            );
        }
    }

    fn open(&mut self, kind: Spanned<BlockKind>, name: Option<Spanned<Token<'a>>>, brace: bool) {
        // Nesting: virtual/failover at top level, server inside them.
        let depth_ok = match kind.value {
            BlockKind::Server => self.stack.len() == 1,
            BlockKind::Virtual | BlockKind::Failover => self.stack.is_empty(),
        };
        if !depth_ok {
            if kind.value == BlockKind::Server && self.stack.is_empty() {
                self.diags.push(
                    Diagnostic::error(
                        kind.span,
                        "server block outside a virtual or failover block",
                    )
                    .with_hint("move it into a \"virtual NAME { … }\" block"),
                );
            } else if let Some(top) = self.stack.last() {
                let label = Self::block_label(&top.block);
                let sp = top.block.kind.span;
                let d = Diagnostic::error(
                    kind.span,
                    format!("{} block inside {label}", kind.value.as_str()),
                )
                .with_hint(format!(
                    "{label} (line {}) is probably missing its \"}}\"",
                    sp.line
                ));
                self.diags.push(d);
                // Recover: close blocks (cut short, reported above) until
                // this one may open here.
                let depth = usize::from(kind.value == BlockKind::Server);
                while self.stack.len() > depth {
                    self.pop(None);
                }
            }
        }
        let streaming = self.stack.is_empty() && kind.value != BlockKind::Server;
        let block = Block {
            kind,
            name,
            items: Vec::new(),
            close: None,
        };
        if streaming {
            self.queue.push_back(Event::Open(Box::new(block.clone())));
        }
        self.stack.push(Open {
            block,
            awaiting_brace: !brace,
            streaming,
        });
    }

    fn line(&mut self, text: &'a str, offset: usize) {
        let line = {
            let mut lx = LineLexer {
                text,
                offset,
                line: self.line,
                ascii: text.is_ascii(),
                cursor: std::cell::Cell::new((0, 1)),
                diags: self.diags,
            };
            lx.lex()
        };
        if matches!(line, Line::Blank) {
            return;
        }
        if let Line::LoneOpen(sp) = line {
            match self.stack.last_mut() {
                Some(top) if top.awaiting_brace => {
                    top.awaiting_brace = false;
                    self.diags.push(ext::note("brace-placement", sp));
                }
                _ => self
                    .diags
                    .push(Diagnostic::error(sp, "unexpected \"{\"").with_hint(
                        "an opening brace belongs after \"virtual NAME\" or \"server NAME\"",
                    )),
            }
            return;
        }
        self.missing_brace();
        match line {
            Line::Blank | Line::LoneOpen(_) | Line::Bad => {}
            Line::Assign(a) => self.push_item(Item::Assign(a)),
            Line::Open { kind, name, brace } => self.open(kind, name, brace),
            Line::Close(sp) => {
                if self.stack.is_empty() {
                    self.diags.push(
                        Diagnostic::error(sp, "unmatched \"}\"").with_hint("no block is open here"),
                    );
                } else {
                    self.pop(Some(sp));
                }
            }
        }
    }

    /// End of file: whatever is still open was cut short.
    fn end(&mut self) {
        self.missing_brace();
        if let Some(first) = self.stack.first() {
            let label = Self::block_label(&first.block);
            let sp = first.block.kind.span;
            let innermost = self.stack.last().map(|o| Self::block_label(&o.block));
            let mut d = Diagnostic::error(sp, format!("{label} is not closed at end of file"))
                .with_hint("a truncated file must not be loaded; add the missing \"}\"");
            if self.stack.len() > 1
                && let Some(inner) = innermost
            {
                d.message = format!("{label} is not closed at end of file (nor is {inner})");
            }
            self.diags.push(d);
        }
        while !self.stack.is_empty() {
            self.pop(None);
        }
    }
}

impl<'a> Iterator for Events<'a, '_> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return Some(ev);
            }
            if self.eof {
                return None;
            }
            match self.next_line() {
                Some((text, offset)) => self.line(text, offset),
                None => {
                    self.eof = true;
                    self.end();
                }
            }
        }
    }
}

/// Parses the whole tree at once (for tools and tests; [`crate::parse`]
/// lowers the [`Events`] as they come instead).
pub fn parse_tree(src: &str) -> (Vec<Item<'_>>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut items = Vec::new();
    let mut open: Option<Box<Block<'_>>> = None;
    for ev in Events::new(src, &mut diags) {
        match ev {
            Event::Item(i) => items.push(i),
            Event::Open(b) => open = Some(b),
            Event::Inner(i) => {
                if let Some(b) = open.as_mut() {
                    b.items.push(i);
                }
            }
            Event::Close(close) => {
                if let Some(mut b) = open.take() {
                    b.close = close;
                    items.push(Item::Block(b));
                }
            }
        }
    }
    (items, diags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Severity;

    fn errors(d: &[Diagnostic]) -> Vec<&str> {
        d.iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.message.as_str())
            .collect()
    }

    #[test]
    fn assignment_and_spans() {
        let (items, d) = parse_tree("\tport =  80\n");
        assert!(d.is_empty(), "{d:?}");
        let Item::Assign(a) = &items[0] else { panic!() };
        assert_eq!(a.key.value, "port");
        assert_eq!((a.key.span.line, a.key.span.col, a.key.span.len), (1, 2, 4));
        assert_eq!(a.values[0].value.raw, "80");
        assert_eq!(a.values[0].span.col, 10);
    }

    #[test]
    fn no_blanks_and_comment() {
        let (items, d) = parse_tree("port=80 # web\n");
        let Item::Assign(a) = &items[0] else { panic!() };
        assert_eq!(a.values.len(), 1);
        let ids: Vec<_> = d.iter().filter_map(|d| d.extension).collect();
        assert_eq!(ids, ["no-blanks-around-equal", "trailing-comment"]);
    }

    #[test]
    fn hash_as_first_value_is_data() {
        let (items, d) = parse_tree("expect = #\n");
        let Item::Assign(a) = &items[0] else { panic!() };
        assert_eq!(a.values[0].value.raw, "#");
        assert!(d.is_empty());
    }

    #[test]
    fn quotes() {
        let (items, d) = parse_tree("send = \"say \\\"hi\\\"\" \n");
        let Item::Assign(a) = &items[0] else { panic!() };
        assert_eq!(a.values[0].value.inner(), "say \\\"hi\\\"");
        assert_eq!(a.values[0].value.text(), "say \"hi\"");
        let ids: Vec<_> = d.iter().filter_map(|d| d.extension).collect();
        assert_eq!(ids, ["escaped-quote"]);
        let (_, d) = parse_tree("send = \"\\\"hi\\\"\" \n");
        let ids: Vec<_> = d.iter().filter_map(|d| d.extension).collect();
        assert_eq!(ids, ["escaped-quote", "blank-after-quote"]);
        let (_, d) = parse_tree("send = \"abc\n");
        assert_eq!(errors(&d), ["unterminated quote \"…\""]);
        let (_, d) = parse_tree("send = \"abc\"def\n");
        assert_eq!(errors(&d), ["unexpected text right after a closing quote"]);
        let (items, _) = parse_tree("x = \"\"\n");
        let Item::Assign(a) = &items[0] else { panic!() };
        assert_eq!(a.values[0].value.inner(), "");
    }

    #[test]
    fn blocks() {
        let src = "virtual \"my web\" {\n  port = 80\n  server a {\n    weight = 1\n  }\n}\n";
        let (items, d) = parse_tree(src);
        assert!(d.is_empty(), "{d:?}");
        let Item::Block(b) = &items[0] else { panic!() };
        assert_eq!(
            b.name.as_ref().map(|n| n.value.text()),
            Some("my web".into())
        );
        assert_eq!(b.items.len(), 2);
        assert!(b.close.is_some());
    }

    #[test]
    fn brace_placement() {
        let (items, d) = parse_tree("virtual web\n{\n}\nvirtual w2{\n}\n");
        assert_eq!(items.len(), 2);
        assert!(errors(&d).is_empty());
        assert_eq!(d.len(), 2);
        let (_, d) = parse_tree("virtual web\nport = 1\n}\n");
        assert_eq!(errors(&d), ["missing \"{\" after virtual \"web\""]);
    }

    #[test]
    fn structure_errors() {
        let (_, d) = parse_tree("virtual a {\n");
        assert_eq!(errors(&d), ["virtual \"a\" is not closed at end of file"]);
        let (_, d) = parse_tree("}\n");
        assert_eq!(errors(&d), ["unmatched \"}\""]);
        let (_, d) = parse_tree("virtual a {\n} x\n");
        assert_eq!(errors(&d), ["unexpected text after a closing brace"]);
        let (_, d) = parse_tree("virtual a {\n}}\n");
        assert_eq!(errors(&d), ["unexpected text after a closing brace"]);
        let (items, d) = parse_tree("virtual a {\nvirtual b {\n}\n");
        assert_eq!(errors(&d), ["virtual block inside virtual \"a\""]);
        assert_eq!(items.len(), 2);
        let (_, d) = parse_tree("server a {\n}\n");
        assert_eq!(
            errors(&d),
            ["server block outside a virtual or failover block"]
        );
        let (_, d) = parse_tree("port 80\n");
        assert_eq!(errors(&d), ["expected \"=\" after \"port\""]);
    }

    #[test]
    fn events_stream_block_contents() {
        let mut d = Vec::new();
        let src = "a = 1\nvirtual v {\n b = 2\n server s {\n  c = 3\n }\n}\n";
        let kinds: Vec<&str> = Events::new(src, &mut d)
            .map(|e| match e {
                Event::Item(_) => "item",
                Event::Open(_) => "open",
                Event::Inner(Item::Assign(_)) => "assign",
                Event::Inner(Item::Block(_)) => "server",
                Event::Close(Some(_)) => "close",
                Event::Close(None) => "cut",
            })
            .collect();
        assert_eq!(kinds, ["item", "open", "assign", "server", "close"]);
        let kinds: Vec<bool> = Events::new("virtual v {\n", &mut d)
            .map(|e| matches!(e, Event::Close(None)))
            .collect();
        assert_eq!(kinds, [false, true]);
    }

    #[test]
    fn crlf_noted_once() {
        let (items, d) = parse_tree("a = 1\r\nb = 2\r\n");
        assert_eq!(items.len(), 2);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].extension, Some("crlf"));
    }
}
