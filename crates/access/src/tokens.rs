//! API tokens for automation (Ansible, scripts): the JSON API takes
//! `Authorization: Bearer TOKEN` instead of a login.
//!
//! The tokens file ([`TOKENS_FILE`]) holds one `name role sha256-hex`
//! line per token: only the SHA-256 of a token is stored, so reading the
//! file gives no usable token. A token is [`TOKEN_PREFIX`] and 64 hex
//! digits (256 random bits), shown once when made ([`generate`]); the
//! prefix lets secret scanners recognise a leaked one.
//!
//! [`TokenFile::lookup`] hashes the presented token and compares it with
//! every entry in constant time, without stopping at a match.

use std::fmt;

use subtle::{ConditionallySelectable as _, ConstantTimeEq as _};

use crate::located::{LineError, numbered_lines, words};
use crate::roles::Role;
use crate::secret::{RandomError, hex, random_bytes, sha256, unhex};

/// Where the tokens live.
pub const TOKENS_FILE: &str = "/etc/sysconfig/ha/conf/lvs-web.tokens";

/// The start of every token.
pub const TOKEN_PREFIX: &str = "lvsweb_";

/// One token's line.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenEntry {
    /// Its name (for audit lines and revocation).
    pub name: String,
    /// What it may do.
    pub role: Role,
    hash: [u8; 32],
}

impl fmt::Debug for TokenEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEntry")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl TokenEntry {
    /// The line for the tokens file.
    pub fn line(&self) -> String {
        format!("{} {} {}", self.name, self.role, hex(&self.hash))
    }
}

/// The tokens file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenFile {
    entries: Vec<TokenEntry>,
}

impl TokenFile {
    /// Parses `text` (`#` comment lines and blank lines ignored); `file`
    /// names it in errors. Every problem is reported.
    pub fn parse(text: &str, file: &str) -> Result<TokenFile, Vec<LineError>> {
        let mut entries: Vec<TokenEntry> = Vec::new();
        let mut errors = Vec::new();
        for (n, line) in numbered_lines(text) {
            let w = words(line);
            match w.as_slice() {
                [] => {}
                [(_, first), ..] if first.starts_with('#') => {}
                [(c1, name), (c2, role), (c3, digest)] => {
                    if let Err(e) = check_name(name) {
                        errors.push(LineError::at(file, n, *c1, e));
                        continue;
                    }
                    if entries.iter().any(|e| e.name == *name) {
                        errors.push(LineError::at(
                            file,
                            n,
                            *c1,
                            format!("token \"{name}\" is listed twice"),
                        ));
                        continue;
                    }
                    let role = match role.parse::<Role>() {
                        Ok(r) => r,
                        Err(e) => {
                            errors.push(LineError::at(file, n, *c2, e.to_string()));
                            continue;
                        }
                    };
                    let Some(hash) = unhex::<32>(digest) else {
                        errors.push(LineError::at(
                            file,
                            n,
                            *c3,
                            "a SHA-256 in hex expected (64 digits)",
                        ));
                        continue;
                    };
                    entries.push(TokenEntry {
                        name: (*name).to_owned(),
                        role,
                        hash,
                    });
                }
                _ => errors.push(LineError::new(file, n, "a line is `name role sha256-hex`")),
            }
        }
        if errors.is_empty() {
            Ok(TokenFile { entries })
        } else {
            Err(errors)
        }
    }

    /// Every token, in file order.
    pub fn entries(&self) -> &[TokenEntry] {
        &self.entries
    }

    /// The entry of the presented token, if it is one. Anything without
    /// the prefix or of the wrong length is no token (and not hashed).
    pub fn lookup(&self, presented: &str) -> Option<&TokenEntry> {
        let presented = presented.trim();
        if presented.len() != TOKEN_PREFIX.len() + 64 || !presented.starts_with(TOKEN_PREFIX) {
            return None;
        }
        let digest = sha256(presented.as_bytes());
        // Visit every entry whatever matches, selecting the index in
        // constant time.
        let mut found = subtle::Choice::from(0);
        let mut index = 0u64;
        for (i, e) in self.entries.iter().enumerate() {
            let hit = e.hash.ct_eq(&digest);
            let i = u64::try_from(i).unwrap_or(u64::MAX);
            index = u64::conditional_select(&index, &i, hit & !found);
            found |= hit;
        }
        if bool::from(found) {
            self.entries.get(usize::try_from(index).ok()?)
        } else {
            None
        }
    }
}

/// A token just made.
#[derive(Clone, PartialEq, Eq)]
pub struct NewToken {
    /// The token, to show once.
    pub secret: String,
    /// Its entry (append [`TokenEntry::line`] to the file).
    pub entry: TokenEntry,
}

impl fmt::Debug for NewToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewToken")
            .field("entry", &self.entry)
            .finish_non_exhaustive()
    }
}

/// Why a token cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The name is not `[A-Za-z0-9._-]{1,64}`.
    BadName(String),
    /// The file already has a token of that name.
    Exists(String),
    /// No randomness.
    Random(RandomError),
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::BadName(why) => f.write_str(why),
            TokenError::Exists(n) => write!(f, "a token named \"{n}\" exists already"),
            TokenError::Random(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TokenError {}

/// A new token `name` with `role`, not yet in `file` (pass the current
/// file so that names stay unique).
pub fn generate(file: &TokenFile, name: &str, role: Role) -> Result<NewToken, TokenError> {
    check_name(name).map_err(TokenError::BadName)?;
    if file.entries.iter().any(|e| e.name == name) {
        return Err(TokenError::Exists(name.to_owned()));
    }
    let secret = format!(
        "{TOKEN_PREFIX}{}",
        hex(&random_bytes().map_err(TokenError::Random)?)
    );
    let entry = TokenEntry {
        name: name.to_owned(),
        role,
        hash: sha256(secret.as_bytes()),
    };
    Ok(NewToken { secret, entry })
}

/// A token name: 1 to 64 of `[A-Za-z0-9._-]`.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "token name \"{name}\": 1 to 64 letters, digits, '.', '_' or '-' expected"
        ))
    }
}

/// `text` with `line` appended as its last line (a newline added first
/// when `text` does not end with one).
pub fn append_line(text: &str, line: &str) -> String {
    let mut out = text.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(line);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_panic(text in "(\\PC|\n|\r|\t){0,200}", token in "\\PC{0,80}") {
            if let Ok(f) = TokenFile::parse(&text, "f") {
                let _ = f.lookup(&token);
            }
        }
    }

    #[test]
    fn a_generated_token_is_found_and_its_file_line_parses_back() {
        let empty = TokenFile::default();
        let t = generate(&empty, "ansible", Role::Editor).unwrap();
        assert!(t.secret.starts_with(TOKEN_PREFIX));
        assert_eq!(t.secret.len(), TOKEN_PREFIX.len() + 64);
        let other = generate(&empty, "ci", Role::Viewer).unwrap();
        let text = append_line(
            &append_line("# tokens\n", &t.entry.line()),
            &other.entry.line(),
        );
        let file = TokenFile::parse(&text, "lvs-web.tokens").unwrap();
        assert_eq!(file.entries().len(), 2);
        let found = file.lookup(&t.secret).unwrap();
        assert_eq!((found.name.as_str(), found.role), ("ansible", Role::Editor));
        assert_eq!(file.lookup(&other.secret).unwrap().name, "ci");
        // The file holds no token.
        assert!(!text.contains(&t.secret[TOKEN_PREFIX.len()..]));
        // Debug shows no secret.
        assert!(!format!("{t:?}").contains(&t.secret));
    }

    #[test]
    fn anything_else_is_no_token() {
        let empty = TokenFile::default();
        let t = generate(&empty, "a", Role::Admin).unwrap();
        let file = TokenFile::parse(&t.entry.line(), "f").unwrap();
        let mut flipped = t.secret.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert!(file.lookup(&flipped).is_none());
        assert!(file.lookup(&t.secret[TOKEN_PREFIX.len()..]).is_none());
        assert!(file.lookup("").is_none());
        assert!(file.lookup(&format!("{}0", t.secret)).is_none());
    }

    #[test]
    fn names_are_unique_and_checked() {
        let t = generate(&TokenFile::default(), "a", Role::Admin).unwrap();
        let file = TokenFile::parse(&t.entry.line(), "f").unwrap();
        assert_eq!(
            generate(&file, "a", Role::Viewer).unwrap_err(),
            TokenError::Exists("a".into())
        );
        assert!(matches!(
            generate(&file, "a b", Role::Viewer),
            Err(TokenError::BadName(_))
        ));
        assert!(matches!(
            generate(&file, "", Role::Viewer),
            Err(TokenError::BadName(_))
        ));
    }

    #[test]
    fn file_errors_are_located() {
        let h = "ab".repeat(32);
        let text = format!(
            "ok admin {h}\nok viewer {h}\nx boss {h}\ny admin 1234\nz admin\nb@d admin {h}\n"
        );
        let errs: Vec<String> = TokenFile::parse(&text, "lvs-web.tokens")
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            errs,
            [
                "lvs-web.tokens:2:1: token \"ok\" is listed twice",
                "lvs-web.tokens:3:3: unknown role \"boss\" (expected viewer, operator, editor or admin)",
                "lvs-web.tokens:4:9: a SHA-256 in hex expected (64 digits)",
                "lvs-web.tokens:5: a line is `name role sha256-hex`",
                "lvs-web.tokens:6:1: token name \"b@d\": 1 to 64 letters, digits, '.', '_' or '-' expected",
            ]
        );
    }

    #[test]
    fn append_adds_a_missing_newline() {
        assert_eq!(append_line("", "x"), "x\n");
        assert_eq!(append_line("a", "x"), "a\nx\n");
        assert_eq!(append_line("a\n", "x"), "a\nx\n");
    }
}
