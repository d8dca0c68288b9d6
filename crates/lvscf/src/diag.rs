//! Diagnostics: what the parser reports, and how it is printed.

use std::fmt;

use serde::Serialize;

use crate::syntax::Span;

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file must not be used.
    Error,
    /// The file loads, but probably not as its author meant, or it behaves
    /// differently from piranha 0.8.6.
    Warning,
    /// The file uses an extension piranha 0.8.6 would reject (see
    /// [`crate::EXTENSIONS`]).
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

/// One finding about the file, with its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error, warning or note.
    pub severity: Severity,
    /// 1-based line number (physical lines).
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// Length of the span in characters (0 = a point).
    pub len: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when we know.
    pub hint: Option<String>,
    /// Identifier of the extension in [`crate::EXTENSIONS`] a note is about.
    pub extension: Option<&'static str>,
}

impl Diagnostic {
    pub(crate) fn new(severity: Severity, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            line: span.line,
            col: span.col,
            len: span.len,
            message: message.into(),
            hint: None,
            extension: None,
        }
    }

    pub(crate) fn error(span: Span, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Error, span, message)
    }

    pub(crate) fn warning(span: Span, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Warning, span, message)
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Prints the diagnostic rustc-style:
    ///
    /// ```text
    /// lvs.cf:12:18: error: unknown scheduler "wlcc"
    ///    |
    /// 12 |      scheduler = wlcc
    ///    |                  ^^^^
    ///    = hint: did you mean "wlc"?
    /// ```
    ///
    /// `src` is the text the file was parsed from; it supplies the line.
    /// Finding the line scans `src`: to render many diagnostics use
    /// [`crate::Parsed::render`] or [`Diagnostic::render_line`] with the
    /// lines split once (one call per diagnostic made `lvsd --check`
    /// quadratic: 8,000 errors took 2 s).
    pub fn render(&self, file_name: &str, src: &str) -> String {
        let text = src
            .split('\n')
            .nth(self.line.saturating_sub(1))
            .unwrap_or("");
        self.render_line(file_name, text)
    }

    /// [`Diagnostic::render`] given the text of the diagnostic's line
    /// (line [`Diagnostic::line`] of the source, without its `\n`).
    pub fn render_line(&self, file_name: &str, text: &str) -> String {
        let mut out = format!(
            "{file_name}:{}:{}: {}: {}\n",
            self.line, self.col, self.severity, self.message
        );
        let text = text.strip_suffix('\r').unwrap_or(text);
        let num = self.line.to_string();
        let pad = " ".repeat(num.len());
        out.push_str(&format!("{pad} |\n{num} | {text}\n{pad} | "));
        // Copy tabs from the source so the carets line up in any terminal.
        for c in text.chars().take(self.col.saturating_sub(1)) {
            out.push(if c == '\t' { '\t' } else { ' ' });
        }
        out.push_str(&"^".repeat(self.len.max(1)));
        out.push('\n');
        if let Some(hint) = &self.hint {
            out.push_str(&format!("{pad} = hint: {hint}\n"));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.col, self.severity, self.message
        )?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

/// Levenshtein distance, for "did you mean" hints.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate to `word`, if it is close enough to be a typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let len = word.chars().count();
    // Keys and keywords are short; a long word is no typo of one.
    if len > 40 {
        return None;
    }
    let limit = (len / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| c.len().abs_diff(len) <= limit || c.eq_ignore_ascii_case(word))
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= limit || c.eq_ignore_ascii_case(word))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance() {
        assert_eq!(edit_distance("schedular", "scheduler"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestion() {
        assert_eq!(
            did_you_mean("schedular", ["scheduler", "server"]),
            Some("scheduler")
        );
        assert_eq!(did_you_mean("TCP", ["tcp", "udp"]), Some("tcp"));
        assert_eq!(did_you_mean("zzzzzz", ["tcp", "udp"]), None);
    }

    #[test]
    fn render_layout() {
        let src = "a = 1\n\tscheduler = wlcc\n";
        let d = Diagnostic::error(
            Span {
                offset: 0,
                line: 2,
                col: 14,
                len: 4,
            },
            "unknown scheduler \"wlcc\"",
        )
        .with_hint("did you mean \"wlc\"?");
        assert_eq!(
            d.render("lvs.cf", src),
            "lvs.cf:2:14: error: unknown scheduler \"wlcc\"\n  |\n2 | \tscheduler = wlcc\n  | \t            ^^^^\n  = hint: did you mean \"wlc\"?\n"
        );
    }
}
