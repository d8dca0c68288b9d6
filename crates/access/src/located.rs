//! The one error shape of every file this crate reads (piranha.passwd,
//! the users file, the tokens file): `FILE:LINE[:COL]: message`, the
//! way `lvsd --check` reports lvs.cf.

use std::fmt;

/// A problem at a place in a text file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// The file as the caller named it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in bytes), when the problem has one.
    pub col: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl LineError {
    /// A problem on `line` (no column).
    pub fn new(file: &str, line: usize, message: impl Into<String>) -> LineError {
        LineError {
            file: file.to_owned(),
            line,
            col: None,
            message: message.into(),
        }
    }

    /// A problem at `line`:`col`.
    pub fn at(file: &str, line: usize, col: usize, message: impl Into<String>) -> LineError {
        LineError {
            file: file.to_owned(),
            line,
            col: Some(col),
            message: message.into(),
        }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.col {
            Some(col) => write!(f, "{}:{}:{}: {}", self.file, self.line, col, self.message),
            None => write!(f, "{}:{}: {}", self.file, self.line, self.message),
        }
    }
}

impl std::error::Error for LineError {}

/// The lines of `text` with their 1-based numbers, each without its line
/// ending (`\n` or `\r\n`).
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l))
}

/// Splits a line into whitespace-separated words with their 1-based
/// byte columns.
pub(crate) fn words(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s + 1, &line[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s + 1, &line[s..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_with_and_without_column() {
        assert_eq!(
            LineError::new("piranha.passwd", 3, "unknown hash format").to_string(),
            "piranha.passwd:3: unknown hash format"
        );
        assert_eq!(
            LineError::at("lvs-web.users", 2, 7, "unknown role \"boss\"").to_string(),
            "lvs-web.users:2:7: unknown role \"boss\""
        );
    }

    #[test]
    fn words_carry_columns() {
        assert_eq!(words("  alice\t admin "), vec![(3, "alice"), (10, "admin")]);
        assert_eq!(words(""), Vec::<(usize, &str)>::new());
        assert_eq!(
            numbered_lines("a\r\nb\n").collect::<Vec<_>>(),
            vec![(1, "a"), (2, "b")]
        );
    }
}
