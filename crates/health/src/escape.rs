//! Backslash escapes in `send` / `expect` strings (`-s`, `-x`).
//!
//! The original translated `\n \r \t \\ \' \"` in place and looped forever
//! on any other escape (a regex such as `HTTP/1\.1` hung nanny at 100 % CPU
//! before its first check). Here an unknown escape, or a trailing lone
//! backslash, is an error reported at start-up, so the daemon never starts
//! with a check it cannot perform.

use std::fmt;

/// An escape sequence nanny does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscapeError {
    /// Byte offset of the backslash in the input.
    pub offset: usize,
    /// The character after the backslash; `None` for a trailing backslash.
    pub found: Option<char>,
}

impl fmt::Display for EscapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.found {
            Some(c) => write!(
                f,
                "unknown escape \"\\{c}\" at offset {} (allowed: \\n \\r \\t \\\\ \\' \\\")",
                self.offset
            ),
            None => write!(
                f,
                "trailing backslash at offset {} (write \\\\ for a backslash)",
                self.offset
            ),
        }
    }
}

impl std::error::Error for EscapeError {}

/// Translates the escapes nanny documents into bytes.
///
/// Like the original, a string of at most one character is taken as is
/// (so `-x '\'` still means one backslash).
pub fn unescape(input: &str) -> Result<Vec<u8>, EscapeError> {
    if input.chars().count() <= 1 {
        return Ok(input.as_bytes().to_vec());
    }
    let mut out = Vec::with_capacity(input.len());
    let mut chars = input.char_indices();
    while let Some((offset, c)) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let byte = match chars.next() {
            Some((_, 'n')) => b'\n',
            Some((_, 'r')) => b'\r',
            Some((_, 't')) => b'\t',
            Some((_, '\\')) => b'\\',
            Some((_, '\'')) => b'\'',
            Some((_, '"')) => b'"',
            Some((_, other)) => {
                return Err(EscapeError {
                    offset,
                    found: Some(other),
                });
            }
            None => {
                return Err(EscapeError {
                    offset,
                    found: None,
                });
            }
        };
        out.push(byte);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_escapes_translate() {
        assert_eq!(
            unescape(r"GET / HTTP/1.0\r\n\r\n").unwrap(),
            b"GET / HTTP/1.0\r\n\r\n"
        );
        assert_eq!(unescape(r#"a\tb\\c\'d\"e"#).unwrap(), b"a\tb\\c'd\"e");
    }

    #[test]
    fn single_character_is_literal() {
        assert_eq!(unescape("\\").unwrap(), b"\\");
        assert_eq!(unescape("*").unwrap(), b"*");
        assert_eq!(unescape("").unwrap(), b"");
    }

    /// The original spun forever on these (piranha.md §2.6, bug 2 in §7).
    #[test]
    fn unknown_escape_is_an_error_not_a_hang() {
        let err = unescape(r"HTTP/1\.1").unwrap_err();
        assert_eq!(
            err,
            EscapeError {
                offset: 6,
                found: Some('.')
            }
        );
        assert!(err.to_string().contains(r#""\.""#));
        let err = unescape(r"abc\").unwrap_err();
        assert_eq!(
            err,
            EscapeError {
                offset: 3,
                found: None
            }
        );
    }

    #[test]
    fn non_ascii_passes_through() {
        assert_eq!(unescape("é\\n").unwrap(), "é\n".as_bytes());
    }
}
