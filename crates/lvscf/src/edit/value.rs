//! [`Value`]: what an edit writes after `key =`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::{
    CheckString, Forwarding, InterfaceAddress, LoadMonitor, NannyMode, Netmask, Protocol,
    Scheduler, Seconds, ServiceKind,
};

use super::address::{Address, BlockRef};

/// The value of a key, as the tokens after `=`, each the text the parser
/// reads (quotes are added by the editor where needed).
///
/// Most keys take one token. `address` of a virtual or failover and
/// `nat_router` take two (`IP DEVICE`), `dirs` a list (`[ a b ]`).
///
/// For `send` and `expect` the token is the text between the quotes as the
/// file holds it: nanny's escapes stay written (`GET / HTTP/1.0\r\n`), as in
/// [`CheckString::raw`]. For every other key it is the plain value (a `"`
/// in it is escaped by the editor).
///
/// The model's own types convert with `From`, so
/// `doc.set(&addr, Scheduler::Rr)` writes `rr`, a [`Seconds`] writes the
/// timer syntax, a `bool` writes `0`/`1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    tokens: Vec<String>,
}

impl Value {
    /// A value of one token.
    pub fn new(text: impl Into<String>) -> Self {
        Value {
            tokens: vec![text.into()],
        }
    }

    /// A value of several tokens (`address = IP DEVICE`).
    pub fn tokens<I, S>(tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Value {
            tokens: tokens.into_iter().map(Into::into).collect(),
        }
    }

    /// A value given as text for the key at `at`, e.g. on a command line:
    /// for the keys that take several tokens the text is split at blanks,
    /// for every other key it is one token (blanks included).
    pub fn for_key(at: &Address, text: &str) -> Self {
        if takes_several(at) {
            Value::tokens(text.split([' ', '\t']).filter(|t| !t.is_empty()))
        } else {
            Value::new(text)
        }
    }

    /// The tokens.
    pub fn as_tokens(&self) -> &[String] {
        &self.tokens
    }
}

/// Keys whose value is more than one token.
fn takes_several(at: &Address) -> bool {
    let key = at.key.as_deref().unwrap_or("");
    match &at.block {
        None => key == "nat_router",
        Some(BlockRef::Virtual(_) | BlockRef::Failover(_)) => matches!(key, "address" | "dirs"),
        Some(BlockRef::Server { .. }) => false,
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::new(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::new(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::new(if b { "1" } else { "0" })
    }
}

macro_rules! display_value {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::new(v.to_string())
            }
        }
    )*};
}

display_value!(
    u8, u16, u32, u64, i64, IpAddr, Ipv4Addr, Ipv6Addr, Netmask, Scheduler, Seconds
);

impl From<Protocol> for Value {
    fn from(p: Protocol) -> Self {
        Value::new(p.as_str())
    }
}

impl From<Forwarding> for Value {
    fn from(f: Forwarding) -> Self {
        Value::new(f.as_str())
    }
}

impl From<ServiceKind> for Value {
    fn from(s: ServiceKind) -> Self {
        Value::new(s.as_str())
    }
}

impl From<NannyMode> for Value {
    fn from(m: NannyMode) -> Self {
        Value::new(m.as_str())
    }
}

impl From<&LoadMonitor> for Value {
    fn from(l: &LoadMonitor) -> Self {
        Value::new(l.as_str())
    }
}

impl From<&InterfaceAddress> for Value {
    fn from(a: &InterfaceAddress) -> Self {
        Value::tokens([a.addr.to_string(), a.device.clone()])
    }
}

/// The check string as written, without its enclosing quotes.
impl From<&CheckString> for Value {
    fn from(c: &CheckString) -> Self {
        let raw = c.raw.as_str();
        let inner = ['"', '\'']
            .iter()
            .find_map(|q| {
                raw.strip_prefix(*q)
                    .and_then(|r| r.strip_suffix(*q))
                    .filter(|_| raw.len() >= 2)
            })
            .unwrap_or(raw);
        Value::new(inner)
    }
}
