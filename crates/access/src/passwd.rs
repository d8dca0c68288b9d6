//! The piranha.passwd file ([`PASSWD_FILE`]): Apache htpasswd format,
//! one `user:hash` per line, as the original `piranha-passwd` (a wrapper
//! of `htpasswd`) wrote it and its Apache read it.
//!
//! Reading follows Apache's `mod_authn_file`: lines that are empty or
//! start with `#` are skipped, the user is everything before the first
//! `:`, the hash everything after it (trailing white space dropped), and
//! the first line of a user counts.
//!
//! Every hash an existing router can hold verifies ([`HashKind`]):
//! `$apr1$` (htpasswd's default since Apache 2.2.18), `{SHA}`, crypt(3)
//! `$1$` MD5, `$5$`/`$6$` SHA-crypt, bcrypt `$2y$`/`$2a$`/`$2b$`
//! (`htpasswd -B`), and traditional DES crypt (13 characters, htpasswd's
//! default on Unix before 2.2.18, so on RHEL 5 routers). Computed hashes
//! are compared in constant time; bcrypt's own verify does the same.
//!
//! New hashes ([`hash_password`]) are SHA-512 crypt (`$6$`, 16-character
//! random salt, [`NEW_HASH_ROUNDS`] rounds). Why not bcrypt: a router
//! rolled back to the original package runs Apache 2.2 (RHEL 5/6), whose
//! APR-util verifies `$6$` through glibc's crypt(3) but knows no bcrypt
//! (that came with APR-util 1.5 / Apache 2.4), so the admin would be
//! locked out of the old tool. SHA-512 crypt with many rounds is also the
//! format of the host's own /etc/shadow.
//!
//! Rewriting keeps every line the change does not name byte for byte
//! ([`PasswdFile::set`], [`PasswdFile::to_bytes`]).

use std::fmt;

use md5::{Digest as _, Md5};
use sha1::Sha1;

use crate::located::LineError;
use crate::secret::{RandomError, ct_eq, random_bytes};

/// Where the original keeps it.
pub const PASSWD_FILE: &str = "/etc/sysconfig/ha/conf/piranha.passwd";

/// SHA-512 crypt rounds of a new hash: about 0.1 s per login on a
/// router's core, 20 times glibc's default of 5000.
pub const NEW_HASH_ROUNDS: usize = 100_000;

/// The hash formats that verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashKind {
    /// `$apr1$`: Apache's MD5 (htpasswd `-m`, its default).
    Apr1,
    /// `{SHA}`: base64 of SHA-1, unsalted (htpasswd `-s`).
    Sha1,
    /// `$1$`: crypt(3) MD5.
    Md5Crypt,
    /// `$5$`: SHA-256 crypt.
    Sha256Crypt,
    /// `$6$`: SHA-512 crypt (what we write).
    Sha512Crypt,
    /// `$2y$`, `$2a$`, `$2b$`: bcrypt (htpasswd `-B`).
    Bcrypt,
    /// 13 characters: traditional DES crypt (htpasswd `-d`).
    DesCrypt,
}

impl HashKind {
    /// The format of `hash`, by its prefix (or shape, for DES).
    pub fn of(hash: &str) -> Option<HashKind> {
        if hash.starts_with("$apr1$") {
            Some(HashKind::Apr1)
        } else if hash.starts_with("{SHA}") {
            Some(HashKind::Sha1)
        } else if hash.starts_with("$1$") {
            Some(HashKind::Md5Crypt)
        } else if hash.starts_with("$5$") {
            Some(HashKind::Sha256Crypt)
        } else if hash.starts_with("$6$") {
            Some(HashKind::Sha512Crypt)
        } else if ["$2y$", "$2a$", "$2b$"].iter().any(|p| hash.starts_with(p)) {
            Some(HashKind::Bcrypt)
        } else if hash.len() == 13 && hash.bytes().all(is_crypt_char) {
            Some(HashKind::DesCrypt)
        } else {
            None
        }
    }

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            HashKind::Apr1 => "Apache MD5 ($apr1$)",
            HashKind::Sha1 => "SHA-1 ({SHA})",
            HashKind::Md5Crypt => "MD5 crypt ($1$)",
            HashKind::Sha256Crypt => "SHA-256 crypt ($5$)",
            HashKind::Sha512Crypt => "SHA-512 crypt ($6$)",
            HashKind::Bcrypt => "bcrypt ($2y$)",
            HashKind::DesCrypt => "DES crypt",
        }
    }
}

/// Why a hash cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashError {
    /// No known prefix or shape.
    UnknownFormat,
    /// A known prefix with a broken body.
    Malformed(HashKind, String),
    /// The system's crypt(3) refused (DES only).
    Crypt(String),
}

impl fmt::Display for HashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HashError::UnknownFormat => f.write_str("unknown hash format"),
            HashError::Malformed(k, why) => write!(f, "malformed {} hash: {why}", k.name()),
            HashError::Crypt(why) => write!(f, "crypt(3) failed: {why}"),
        }
    }
}

impl std::error::Error for HashError {}

/// Whether `password` matches `hash` (any [`HashKind`]).
pub fn verify_hash(password: &str, hash: &str) -> Result<bool, HashError> {
    let kind = HashKind::of(hash).ok_or(HashError::UnknownFormat)?;
    let malformed = |why: &str| HashError::Malformed(kind, why.to_owned());
    match kind {
        HashKind::Apr1 | HashKind::Md5Crypt => {
            let magic = if kind == HashKind::Apr1 {
                "$apr1$"
            } else {
                "$1$"
            };
            let rest = &hash[magic.len()..];
            let (salt, _) = rest
                .split_once('$')
                .ok_or_else(|| malformed("no '$' after the salt"))?;
            let salt = &salt.as_bytes()[..salt.len().min(8)];
            let computed = md5_crypt(password.as_bytes(), salt, magic.as_bytes());
            Ok(ct_eq(&computed, hash.as_bytes()))
        }
        HashKind::Sha1 => {
            use base64::Engine as _;
            let want = base64::engine::general_purpose::STANDARD
                .decode(&hash[5..])
                .map_err(|_| malformed("not base64"))?;
            let got = Sha1::digest(password.as_bytes());
            Ok(ct_eq(&got, &want))
        }
        HashKind::Sha256Crypt | HashKind::Sha512Crypt => {
            let computed = sha_crypt(kind, password, hash).map_err(|w| malformed(&w))?;
            Ok(ct_eq(&computed, hash.as_bytes()))
        }
        HashKind::Bcrypt => bcrypt::verify(password, hash).map_err(|e| malformed(&e.to_string())),
        HashKind::DesCrypt => {
            let computed = crate::crypt::crypt(password, hash)
                .ok_or_else(|| HashError::Crypt("the setting is refused".into()))?;
            Ok(ct_eq(computed.as_bytes(), hash.as_bytes()))
        }
    }
}

/// Characters of the crypt(3) base-64 alphabet.
const CRYPT_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn is_crypt_char(b: u8) -> bool {
    CRYPT_ALPHABET.contains(&b)
}

/// The MD5-based crypt of FreeBSD (`$1$`) and Apache (`$apr1$`): the same
/// algorithm with a different magic string (Poul-Henning Kamp's
/// `crypt-md5.c`, which APR's `apr_md5_encode` copies). No maintained
/// crate implements `$apr1$`; vectors from htpasswd and openssl pin it.
fn md5_crypt(pw: &[u8], salt: &[u8], magic: &[u8]) -> Vec<u8> {
    let mut alt = Md5::new();
    alt.update(pw);
    alt.update(salt);
    alt.update(pw);
    let alt = alt.finalize();

    let mut ctx = Md5::new();
    ctx.update(pw);
    ctx.update(magic);
    ctx.update(salt);
    let mut left = pw.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alt[..n]);
        left -= n;
    }
    // The original's odd use of the length's bits: a zero byte for a 1
    // bit, the password's first byte for a 0 bit.
    let mut i = pw.len();
    while i != 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&pw[..1]);
        }
        i >>= 1;
    }
    let mut fin = ctx.finalize();

    for round in 0..1000 {
        let mut c = Md5::new();
        if round & 1 == 1 {
            c.update(pw);
        } else {
            c.update(fin);
        }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(pw);
        }
        if round & 1 == 1 {
            c.update(fin);
        } else {
            c.update(pw);
        }
        fin = c.finalize();
    }

    let mut out = Vec::with_capacity(magic.len() + salt.len() + 23);
    out.extend_from_slice(magic);
    out.extend_from_slice(salt);
    out.push(b'$');
    let f = |i: usize| u32::from(fin[i]);
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        to64(&mut out, (f(a) << 16) | (f(b) << 8) | f(c), 4);
    }
    to64(&mut out, f(11), 2);
    out
}

fn to64(out: &mut Vec<u8>, mut v: u32, n: usize) {
    for _ in 0..n {
        out.push(CRYPT_ALPHABET[(v & 0x3f) as usize]);
        v >>= 6;
    }
}

/// Recomputes a `$5$`/`$6$` hash the way glibc reads one: optional
/// `rounds=N$` (clamped to 1000..=999999999, and then always written),
/// salt up to 16 characters, the rest the hash.
fn sha_crypt(kind: HashKind, password: &str, hash: &str) -> Result<Vec<u8>, String> {
    let magic = if kind == HashKind::Sha512Crypt {
        "$6$"
    } else {
        "$5$"
    };
    let rest = &hash[3..];
    let (rounds, rest) = match rest.strip_prefix("rounds=") {
        Some(r) => {
            let (n, after) = r.split_once('$').ok_or("no '$' after rounds")?;
            let n: u64 = n.parse().map_err(|_| "rounds is not a number")?;
            let n = n.clamp(1000, 999_999_999);
            (
                Some(usize::try_from(n).map_err(|_| "rounds too large")?),
                after,
            )
        }
        None => (None, rest),
    };
    let (salt, _) = rest.split_once('$').ok_or("no '$' after the salt")?;
    // Bytes, as glibc counts them (a cut may split a character).
    let salt = &salt.as_bytes()[..salt.len().min(16)];
    let body = if kind == HashKind::Sha512Crypt {
        let params =
            sha_crypt::Sha512Params::new(rounds.unwrap_or(5000)).map_err(|e| format!("{e:?}"))?;
        sha_crypt::sha512_crypt_b64(password.as_bytes(), salt, &params)
            .map_err(|e| format!("{e:?}"))?
    } else {
        let params =
            sha_crypt::Sha256Params::new(rounds.unwrap_or(5000)).map_err(|e| format!("{e:?}"))?;
        sha_crypt::sha256_crypt_b64(password.as_bytes(), salt, &params)
            .map_err(|e| format!("{e:?}"))?
    };
    let mut out = magic.as_bytes().to_vec();
    if let Some(r) = rounds {
        out.extend_from_slice(format!("rounds={r}$").as_bytes());
    }
    out.extend_from_slice(salt);
    out.push(b'$');
    out.extend_from_slice(body.as_bytes());
    Ok(out)
}

/// A new SHA-512 crypt hash of `password` with a random salt and
/// [`NEW_HASH_ROUNDS`] rounds.
pub fn hash_password(password: &str) -> Result<String, RandomError> {
    hash_password_with_rounds(password, NEW_HASH_ROUNDS)
}

/// [`hash_password`] with `rounds` (clamped to what glibc accepts); for
/// tests, which cannot wait for the real count in a debug build.
pub fn hash_password_with_rounds(password: &str, rounds: usize) -> Result<String, RandomError> {
    let rounds = rounds.clamp(1000, 999_999_999);
    let random = random_bytes()?;
    // 256 is a multiple of 64: every character equally likely.
    let salt: String = random[..16]
        .iter()
        .map(|b| char::from(CRYPT_ALPHABET[usize::from(b & 0x3f)]))
        .collect();
    let params = sha_crypt::Sha512Params::new(rounds)
        .map_err(|e| RandomError(format!("SHA-512 crypt parameters: {e:?}")))?;
    let body = sha_crypt::sha512_crypt_b64(password.as_bytes(), salt.as_bytes(), &params)
        .map_err(|e| RandomError(format!("SHA-512 crypt: {e:?}")))?;
    Ok(format!("$6$rounds={rounds}${salt}${body}"))
}

/// A hash no password matches quickly, checked when the user does not
/// exist so that a login takes as long as for a real user.
const DUMMY_HASH: &str = "$6$rounds=100000$lvsweblvsweblvsw$Qwj2w3uJ2y6KZl1o8JxSgYQ7b3Q1X4qTfH2JmPk9zVtC8eNsRr0aLd5uWbGcFh6Ti7Oy1Xn3Mp4Kq2Ej9Zs0Vu";

/// One user's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// 1-based line number.
    pub line: usize,
    /// The user name.
    pub user: &'a str,
    /// The hash as written (trailing white space dropped).
    pub hash: &'a str,
}

/// A piranha.passwd file, every line kept as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswdFile {
    /// Each line with its line ending (the last may have none).
    lines: Vec<Vec<u8>>,
}

impl PasswdFile {
    /// The file from its bytes. Never fails: lines that are not
    /// `user:hash` are kept as they are and reported by
    /// [`PasswdFile::problems`].
    pub fn parse(bytes: &[u8]) -> PasswdFile {
        let mut lines = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |i| i + 1);
            lines.push(rest[..end].to_vec());
            rest = &rest[end..];
        }
        PasswdFile { lines }
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.lines.concat()
    }

    /// Every `user:hash` line, in order (a non-UTF-8 line is skipped).
    pub fn entries(&self) -> impl Iterator<Item = Entry<'_>> {
        self.lines.iter().enumerate().filter_map(|(i, raw)| {
            let (user, hash) = split_entry(raw)?;
            Some(Entry {
                line: i + 1,
                user,
                hash,
            })
        })
    }

    /// `user`'s line (the first, as Apache reads it).
    pub fn find(&self, user: &str) -> Option<Entry<'_>> {
        self.entries().find(|e| e.user == user)
    }

    /// What is wrong with the file, `file` naming it: lines that are not
    /// `user:hash`, and hashes of no known format.
    pub fn problems(&self, file: &str) -> Vec<LineError> {
        let mut out = Vec::new();
        for (i, raw) in self.lines.iter().enumerate() {
            let n = i + 1;
            if is_skipped(raw) {
                continue;
            }
            match std::str::from_utf8(raw) {
                Err(_) => out.push(LineError::new(file, n, "not UTF-8 text")),
                Ok(_) => match split_entry(raw) {
                    None => out.push(LineError::new(file, n, "not a `user:hash` line")),
                    Some((user, hash)) => {
                        if HashKind::of(hash).is_none() {
                            out.push(LineError::at(
                                file,
                                n,
                                user.len() + 2,
                                "unknown hash format",
                            ));
                        }
                    }
                },
            }
        }
        out
    }

    /// Whether `user`'s password is `password`. A user that is not in the
    /// file costs the same work as one that is (no timing answer to
    /// "does this user exist"). A hash that cannot be checked is an
    /// error at its line (`piranha.passwd:3:10: unknown hash format`).
    pub fn verify(&self, user: &str, password: &str, file: &str) -> Result<bool, LineError> {
        match self.find(user) {
            None => {
                let _ = verify_hash(password, DUMMY_HASH);
                Ok(false)
            }
            Some(e) => verify_hash(password, e.hash)
                .map_err(|err| LineError::at(file, e.line, e.user.len() + 2, err.to_string())),
        }
    }

    /// Sets `user`'s hash: every line of that user is replaced in place
    /// (keeping its line ending), so no old hash stays valid; a new user
    /// is appended. Every other line stays byte for byte. Returns whether
    /// the user existed.
    pub fn set(&mut self, user: &str, hash: &str) -> bool {
        let mut found = false;
        for raw in &mut self.lines {
            if split_entry(raw).is_some_and(|(u, _)| u == user) {
                let ending: &[u8] = if raw.ends_with(b"\r\n") {
                    b"\r\n"
                } else if raw.ends_with(b"\n") {
                    b"\n"
                } else {
                    b""
                };
                let mut line = format!("{user}:{hash}").into_bytes();
                line.extend_from_slice(ending);
                *raw = line;
                found = true;
            }
        }
        if !found {
            if let Some(last) = self.lines.last_mut()
                && !last.ends_with(b"\n")
            {
                last.push(b'\n');
            }
            self.lines.push(format!("{user}:{hash}\n").into_bytes());
        }
        found
    }
}

/// A user name we write: what htpasswd accepts (no `:`, not empty, at
/// most 255 bytes) and nothing that would break a line or a log.
pub fn check_user_name(user: &str) -> Result<(), String> {
    if user.is_empty() {
        return Err("the user name is empty".into());
    }
    if user.len() > 255 {
        return Err("the user name is longer than 255 bytes".into());
    }
    if user.contains(':') || user.starts_with('#') {
        return Err(format!(
            "the user name \"{user}\" may not contain ':' or start with '#'"
        ));
    }
    if user.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("the user name may not contain white space or control characters".into());
    }
    Ok(())
}

fn is_skipped(raw: &[u8]) -> bool {
    let line = trim_end(raw);
    line.is_empty() || line.starts_with(b"#")
}

fn trim_end(raw: &[u8]) -> &[u8] {
    let end = raw
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &raw[..end]
}

fn split_entry(raw: &[u8]) -> Option<(&str, &str)> {
    if is_skipped(raw) {
        return None;
    }
    let line = std::str::from_utf8(trim_end(raw)).ok()?;
    line.split_once(':')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// `COMMAND \t PASSWORD \t HASH` lines made by `make-hashes.sh`.
    const VECTORS: &str = include_str!("../tests/fixtures/hashes.tsv");

    fn vectors() -> Vec<(&'static str, &'static str, &'static str)> {
        VECTORS
            .lines()
            .map(|l| {
                let mut f = l.splitn(3, '\t');
                (f.next().unwrap(), f.next().unwrap(), f.next().unwrap())
            })
            .collect()
    }

    #[test]
    fn every_vector_verifies_and_a_wrong_password_does_not() {
        let v = vectors();
        assert!(v.len() >= 40, "{} vectors", v.len());
        let mut kinds = std::collections::HashSet::new();
        for (cmd, pw, hash) in v {
            let kind = HashKind::of(hash).unwrap_or_else(|| panic!("{cmd}: {hash}"));
            kinds.insert(kind);
            assert_eq!(verify_hash(pw, hash), Ok(true), "{cmd} {pw:?} {hash}");
            let wrong = format!("{pw}x");
            // DES crypt reads 8 characters and bcrypt 72 bytes: past
            // those a change is not seen, as in the original.
            let seen = match kind {
                HashKind::DesCrypt => pw.len() < 8,
                HashKind::Bcrypt => pw.len() < 72,
                _ => true,
            };
            assert_eq!(
                verify_hash(&wrong, hash),
                Ok(!seen),
                "{cmd} {wrong:?} {hash}"
            );
        }
        assert_eq!(kinds.len(), 7, "{kinds:?}");
    }

    #[test]
    fn md5_crypt_matches_the_reference_vectors() {
        // openssl passwd -1 -salt abcdefgh secret
        assert_eq!(
            md5_crypt(b"secret", b"abcdefgh", b"$1$"),
            b"$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1"
        );
        // openssl passwd -apr1 -salt sCK2n7sR secret (= htpasswd -nbm)
        assert_eq!(
            md5_crypt(b"secret", b"sCK2n7sR", b"$apr1$"),
            b"$apr1$sCK2n7sR$tOt4Scdb9nCHGBBYAHikh."
        );
    }

    #[test]
    fn unknown_and_malformed_hashes() {
        assert_eq!(verify_hash("x", "plaintext"), Err(HashError::UnknownFormat));
        assert_eq!(
            verify_hash("x", "$9$abc$def"),
            Err(HashError::UnknownFormat)
        );
        assert!(matches!(
            verify_hash("x", "$apr1$nodollar"),
            Err(HashError::Malformed(HashKind::Apr1, _))
        ));
        assert!(matches!(
            verify_hash("x", "{SHA}***"),
            Err(HashError::Malformed(HashKind::Sha1, _))
        ));
        assert!(matches!(
            verify_hash("x", "$6$rounds=x$s$h"),
            Err(HashError::Malformed(HashKind::Sha512Crypt, _))
        ));
        assert!(matches!(
            verify_hash("x", "$2y$04$short"),
            Err(HashError::Malformed(HashKind::Bcrypt, _))
        ));
    }

    #[test]
    fn new_hashes_are_sha512_crypt_and_verify() {
        let h = hash_password_with_rounds("s3cret pass", 1000).unwrap();
        assert!(h.starts_with("$6$rounds=1000$"), "{h}");
        assert_eq!(HashKind::of(&h), Some(HashKind::Sha512Crypt));
        assert_eq!(verify_hash("s3cret pass", &h), Ok(true));
        assert_eq!(verify_hash("s3cret pasS", &h), Ok(false));
        let h2 = hash_password_with_rounds("s3cret pass", 1000).unwrap();
        assert_ne!(h, h2, "salts must differ");
    }

    #[test]
    fn low_rounds_are_clamped_as_glibc_does() {
        // python3 crypt.crypt('secret', '$6$rounds=10$saltsalt') gives
        // rounds=1000; the same as openssl's explicit 1000.
        let with_1000 = vectors()
            .into_iter()
            .find(|(c, p, _)| c.contains("rounds=1000") && *p == "secret")
            .unwrap()
            .2;
        let with_10 = with_1000.replace("rounds=1000", "rounds=10");
        assert_eq!(
            sha_crypt(HashKind::Sha512Crypt, "secret", &with_10).unwrap(),
            with_1000.as_bytes()
        );
        // The stored text differs from the recomputed one: no match.
        assert_eq!(verify_hash("secret", &with_10), Ok(false));
    }

    const FILE: &[u8] = b"# kept\npiranha:$apr1$sCK2n7sR$tOt4Scdb9nCHGBBYAHikh.\r\n\nalice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=   \nbob:letmein\nbroken line\n";

    #[test]
    fn the_file_is_read_as_apache_reads_it() {
        let f = PasswdFile::parse(FILE);
        assert_eq!(f.to_bytes(), FILE);
        let users: Vec<_> = f.entries().map(|e| (e.line, e.user)).collect();
        assert_eq!(users, [(2, "piranha"), (4, "alice"), (5, "bob")]);
        assert_eq!(f.verify("piranha", "secret", "piranha.passwd"), Ok(true));
        assert_eq!(f.verify("piranha", "Secret", "piranha.passwd"), Ok(false));
        assert_eq!(f.verify("alice", "secret", "piranha.passwd"), Ok(true));
        assert_eq!(f.verify("nobody", "secret", "piranha.passwd"), Ok(false));
        assert_eq!(
            f.verify("bob", "letmein", "piranha.passwd")
                .unwrap_err()
                .to_string(),
            "piranha.passwd:5:5: unknown hash format"
        );
        let problems: Vec<String> = f
            .problems("piranha.passwd")
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            problems,
            [
                "piranha.passwd:5:5: unknown hash format",
                "piranha.passwd:6: not a `user:hash` line",
            ]
        );
    }

    #[test]
    fn set_replaces_in_place_and_keeps_the_rest() {
        let mut f = PasswdFile::parse(FILE);
        assert!(f.set("piranha", "$6$x$y"));
        let want = String::from_utf8(FILE.to_vec())
            .unwrap()
            .replace("$apr1$sCK2n7sR$tOt4Scdb9nCHGBBYAHikh.", "$6$x$y");
        assert_eq!(String::from_utf8(f.to_bytes()).unwrap(), want);
        // A new user goes at the end; a last line without newline gets one.
        let mut g = PasswdFile::parse(b"a:$1$s$h");
        assert!(!g.set("piranha", "$6$x$y"));
        assert_eq!(g.to_bytes(), b"a:$1$s$h\npiranha:$6$x$y\n");
        let mut e = PasswdFile::parse(b"");
        e.set("piranha", "$6$x$y");
        assert_eq!(e.to_bytes(), b"piranha:$6$x$y\n");
        // Duplicates are all replaced, so no old hash stays valid.
        let mut d = PasswdFile::parse(b"p:old1\nq:keep\np:old2\n");
        d.set("p", "new");
        assert_eq!(d.to_bytes(), b"p:new\nq:keep\np:new\n");
    }

    #[test]
    fn user_names_we_write() {
        assert!(check_user_name("piranha").is_ok());
        for bad in ["", "a:b", "#a", "a b", "a\nb", &"x".repeat(256)] {
            assert!(check_user_name(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        // Whatever a file holds, checking it neither panics nor matches a
        // hash that is not the password's. (Cheap rounds: the tail after
        // a `$6$` prefix may ask for a billion.)
        #[test]
        fn any_hash_text_is_checked_without_panic(
            prefix in prop_oneof![
                Just("$apr1$"), Just("$1$"), Just("{SHA}"), Just("$5$"), Just("$6$"),
                Just("$5$rounds=1000$"), Just("$6$rounds=1000$"), Just("$2y$04$"), Just(""),
            ],
            tail in "[^\\x00]{0,40}",
            password in "[^\\x00]{0,20}",
        ) {
            prop_assume!(!tail.contains("rounds="));
            let hash = format!("{prefix}{tail}");
            prop_assert_ne!(verify_hash(&password, &hash), Ok(true));
            let f = PasswdFile::parse(format!("u:{hash}\n{tail}\n").as_bytes());
            let _ = f.problems("f");
        }

        // Setting one user's hash changes that user's lines and nothing
        // else: every other line is byte-identical and in place.
        #[test]
        fn set_keeps_every_other_line(
            lines in proptest::collection::vec(
                prop_oneof![
                    "[a-e]{1,3}:[A-Za-z0-9$./]{0,12}",
                    "#[ -~]{0,10}",
                    "[ -~]{0,12}",
                    Just(String::new()),
                ],
                0..12,
            ),
            endings in proptest::collection::vec(prop_oneof![Just("\n"), Just("\r\n")], 12),
            last_newline: bool,
            user in "[a-e]{1,3}",
        ) {
            let mut text = String::new();
            for (i, l) in lines.iter().enumerate() {
                text.push_str(l);
                if i + 1 < lines.len() || last_newline {
                    text.push_str(endings[i]);
                }
            }
            let before = PasswdFile::parse(text.as_bytes());
            prop_assert_eq!(before.to_bytes(), text.as_bytes());
            let mut after = before.clone();
            let existed = after.set(&user, "$6$new$hash");
            prop_assert_eq!(after.find(&user).map(|e| e.hash), Some("$6$new$hash"));
            let old: Vec<_> = before.lines.iter().collect();
            let new: Vec<_> = after.lines.iter().collect();
            prop_assert_eq!(new.len(), old.len() + usize::from(!existed));
            for (i, o) in old.iter().enumerate() {
                let is_user = split_entry(o).is_some_and(|(u, _)| u == user);
                let replaced = format!("{user}:$6$new$hash");
                if is_user {
                    prop_assert!(new[i].starts_with(replaced.as_bytes()));
                } else if i + 1 == old.len() && !existed {
                    // The old last line, which may have gained a newline.
                    prop_assert!(new[i].starts_with(o));
                } else {
                    prop_assert_eq!(new[i], *o);
                }
            }
        }
    }
}
