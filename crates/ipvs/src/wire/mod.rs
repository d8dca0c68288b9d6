//! The `IPVS` generic netlink wire format, without any socket.
//!
//! Layers: [`nla`] (netlink attributes, TLV), [`attrs`] (typed attribute enums
//! per nest, each with an `Other` escape hatch), [`msg`] (netlink + genetlink
//! headers, acks), and the model conversions in [`convert`].

use std::fmt;

/// A reply could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    what: String,
}

impl DecodeError {
    /// An error saying what was wrong.
    pub fn new(what: impl Into<String>) -> Self {
        DecodeError { what: what.into() }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl std::error::Error for DecodeError {}

pub mod attrs;
pub mod convert;
pub mod msg;
pub mod nla;

#[cfg(test)]
mod tests;
