//! Addresses of keys and blocks: `keepalive`, `virtual.web.port`,
//! `virtual.web.server.web1.weight`, `failover.ftp.timeout`.
//!
//! Segments are separated by `.`. A block name that contains a `.`, a blank
//! or a quote is written in double quotes, with `\"` and `\\` inside
//! (`virtual."www.example".port`). Keys are never quoted.

use std::fmt;

/// A `virtual`, `failover` or `server` block, by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BlockRef {
    /// `virtual NAME`.
    Virtual(String),
    /// `failover NAME`.
    Failover(String),
    /// `server NAME` inside `virtual VIRTUAL`.
    Server {
        /// The enclosing virtual's name.
        virtual_name: String,
        /// The server's name.
        name: String,
    },
}

impl BlockRef {
    /// The block's own name.
    pub fn name(&self) -> &str {
        match self {
            BlockRef::Virtual(n) | BlockRef::Failover(n) => n,
            BlockRef::Server { name, .. } => name,
        }
    }

    /// The block keyword (`virtual`, `failover`, `server`).
    pub fn keyword(&self) -> &'static str {
        match self {
            BlockRef::Virtual(_) => "virtual",
            BlockRef::Failover(_) => "failover",
            BlockRef::Server { .. } => "server",
        }
    }
}

impl fmt::Display for BlockRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockRef::Virtual(n) => write!(f, "virtual.{}", Segment(n)),
            BlockRef::Failover(n) => write!(f, "failover.{}", Segment(n)),
            BlockRef::Server { virtual_name, name } => {
                write!(
                    f,
                    "virtual.{}.server.{}",
                    Segment(virtual_name),
                    Segment(name)
                )
            }
        }
    }
}

/// A key (`block` `None` = a global key), or a whole block (`key` `None`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    /// The block; `None` for the top level.
    pub block: Option<BlockRef>,
    /// The key; `None` when the address names the block itself.
    pub key: Option<String>,
}

impl Address {
    /// A global key.
    pub fn global(key: impl Into<String>) -> Self {
        Address {
            block: None,
            key: Some(key.into()),
        }
    }

    /// A key in a block.
    pub fn key(block: BlockRef, key: impl Into<String>) -> Self {
        Address {
            block: Some(block),
            key: Some(key.into()),
        }
    }

    /// A whole block.
    pub fn block(block: BlockRef) -> Self {
        Address {
            block: Some(block),
            key: None,
        }
    }

    /// Parses the text form (see the module docs).
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        if text.is_empty() {
            return Err(AddressError {
                address: String::new(),
                reason: "empty address".into(),
            });
        }
        let segs = split(text)?;
        let err = |reason: &str| AddressError {
            address: text.to_owned(),
            reason: reason.to_owned(),
        };
        let key_at = |i: usize| -> Result<Option<String>, AddressError> {
            match segs.get(i) {
                None => Ok(None),
                Some(s) if s.quoted => Err(err("keys are written without quotes")),
                Some(s) => Ok(Some(s.text.clone())),
            }
        };
        let name_at = |i: usize, kind: &str| -> Result<String, AddressError> {
            match segs.get(i) {
                Some(s) if !s.text.is_empty() => Ok(s.text.clone()),
                _ => Err(err(&format!("a {kind} name must follow \"{kind}\""))),
            }
        };
        let Some(first) = segs.first() else {
            return Err(err("empty address"));
        };
        let head = if first.quoted {
            ""
        } else {
            first.text.as_str()
        };
        let (block, rest) = match head {
            "virtual" => {
                let v = name_at(1, "virtual")?;
                if segs.get(2).is_some_and(|s| !s.quoted && s.text == "server") {
                    let name = name_at(3, "server")?;
                    (
                        BlockRef::Server {
                            virtual_name: v,
                            name,
                        },
                        4,
                    )
                } else {
                    (BlockRef::Virtual(v), 2)
                }
            }
            "failover" => (BlockRef::Failover(name_at(1, "failover")?), 2),
            "server" => {
                return Err(err(
                    "a server is addressed inside its virtual: virtual.NAME.server.NAME",
                ));
            }
            _ => {
                if segs.len() > 1 {
                    return Err(err(
                        "expected a global key, or virtual.NAME… / failover.NAME…",
                    ));
                }
                return match key_at(0)? {
                    Some(k) if !k.is_empty() => Ok(Address::global(k)),
                    _ => Err(err("empty key")),
                };
            }
        };
        if segs.len() > rest + 1 {
            return Err(err("too many segments after the key"));
        }
        let key = key_at(rest)?;
        if key.as_deref() == Some("") {
            return Err(err("empty key"));
        }
        Ok(Address {
            block: Some(block),
            key,
        })
    }
}

impl std::str::FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, AddressError> {
        Address::parse(s)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.block, &self.key) {
            (Some(b), Some(k)) => write!(f, "{b}.{k}"),
            (Some(b), None) => write!(f, "{b}"),
            (None, Some(k)) => f.write_str(k),
            (None, None) => Ok(()),
        }
    }
}

/// An address that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressError {
    /// The text given.
    pub address: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad address \"{}\": {}", self.address, self.reason)
    }
}

impl std::error::Error for AddressError {}

/// A name as a segment: bare when it reads back the same, else quoted.
struct Segment<'a>(&'a str);

impl fmt::Display for Segment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let bare = !s.is_empty()
            && !s.contains(['.', '"', '\\', '=', '/'])
            && !s.chars().any(char::is_whitespace);
        if bare {
            return f.write_str(s);
        }
        f.write_str("\"")?;
        for c in s.chars() {
            if c == '"' || c == '\\' {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        f.write_str("\"")
    }
}

struct Seg {
    text: String,
    quoted: bool,
}

fn split(text: &str) -> Result<Vec<Seg>, AddressError> {
    let err = |reason: &str| AddressError {
        address: text.to_owned(),
        reason: reason.to_owned(),
    };
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut seg = Seg {
            text: String::new(),
            quoted: false,
        };
        if chars.peek() == Some(&'"') {
            chars.next();
            seg.quoted = true;
            loop {
                match chars.next() {
                    None => return Err(err("unterminated quote")),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => seg.text.push(c),
                        None => return Err(err("unterminated quote")),
                    },
                    Some(c) => seg.text.push(c),
                }
            }
            match chars.peek() {
                None | Some('.') => {}
                Some(_) => return Err(err("a \".\" must follow a closing quote")),
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' {
                    break;
                }
                if c == '"' {
                    return Err(err("a quote may only start a segment"));
                }
                seg.text.push(c);
                chars.next();
            }
            if seg.text.is_empty() {
                return Err(err("empty segment"));
            }
        }
        out.push(seg);
        match chars.next() {
            None => return Ok(out),
            Some(_) => {
                if chars.peek().is_none() {
                    return Err(err("empty segment at the end"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Address {
        Address::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn forms() {
        assert_eq!(p("keepalive"), Address::global("keepalive"));
        assert_eq!(
            p("virtual.web.port"),
            Address::key(BlockRef::Virtual("web".into()), "port")
        );
        assert_eq!(
            p("virtual.web"),
            Address::block(BlockRef::Virtual("web".into()))
        );
        let s = BlockRef::Server {
            virtual_name: "web".into(),
            name: "web1".into(),
        };
        assert_eq!(
            p("virtual.web.server.web1.weight"),
            Address::key(s.clone(), "weight")
        );
        assert_eq!(p("virtual.web.server.web1"), Address::block(s));
        assert_eq!(
            p("failover.ftp.timeout"),
            Address::key(BlockRef::Failover("ftp".into()), "timeout")
        );
        let q = p(r#"virtual."www.example \"x\"".port"#);
        assert_eq!(
            q.block.as_ref().map(BlockRef::name),
            Some("www.example \"x\"")
        );
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "keepalive",
            "virtual.web.port",
            "virtual.web.server.web1.weight",
            r#"virtual."a.b".server."c d""#,
            r#"virtual."q\"\\".active"#,
        ] {
            assert_eq!(p(s).to_string(), s);
        }
    }

    #[test]
    fn errors() {
        for (s, why) in [
            ("", "empty address"),
            ("virtual", "a virtual name must follow"),
            ("virtual.web.server", "a server name must follow"),
            ("server.a", "inside its virtual"),
            ("keepalive.x", "expected a global key"),
            ("virtual.web.port.x", "too many segments"),
            ("virtual..port", "empty segment"),
            ("virtual.web.", "empty segment at the end"),
            ("virtual.\"web", "unterminated quote"),
            ("virtual.\"web\"x.port", "must follow a closing quote"),
            ("virtual.web.\"port\"", "without quotes"),
        ] {
            let e = Address::parse(s).expect_err(s);
            assert!(e.reason.contains(why), "{s}: {e}");
        }
    }
}
