//! [`PanelId`]: which panel, and its path form (the one way a panel is
//! named in a URL, written and read back here).

use std::fmt;

use lvscf::BlockRef;

/// One panel of the configuration tool.
///
/// CONTROL/MONITORING is not here: it shows the daemons' runtime status,
/// not lvs.cf.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PanelId {
    /// GLOBAL SETTINGS: the primary router, the network type, the NAT
    /// router, IPVS timeouts and the commands pulse and lvsd run.
    Global,
    /// REDUNDANCY: the backup router, the heartbeat, link monitoring, the
    /// connection-sync daemon and the takeover announcements.
    Redundancy,
    /// VIRTUAL SERVERS: the list of `virtual` blocks.
    Virtuals,
    /// VIRTUAL SERVER: one `virtual` block's service settings.
    Virtual(String),
    /// REAL SERVER: the list of `server` blocks of one virtual.
    Reals(String),
    /// EDIT REAL SERVER: one `server` block.
    Real {
        /// The virtual it belongs to.
        virtual_name: String,
        /// The server's name.
        name: String,
    },
    /// EDIT MONITORING SCRIPTS: one virtual's health check.
    Monitoring(String),
    /// FAILOVER: the list of legacy `failover` blocks (`service = fos`).
    Failovers,
    /// One `failover` block.
    Failover(String),
}

impl PanelId {
    /// The panel's path: `global`, `redundancy`, `virtuals`,
    /// `virtual/NAME`, `virtual/NAME/servers`, `virtual/NAME/server/NAME`,
    /// `virtual/NAME/monitoring`, `failovers`, `failover/NAME`; each NAME
    /// percent-encoded (every byte but ASCII letters, digits and `-._~`),
    /// so any block name fits one path segment. [`PanelId::from_path`]
    /// reads it back.
    pub fn path(&self) -> String {
        match self {
            PanelId::Global => "global".into(),
            PanelId::Redundancy => "redundancy".into(),
            PanelId::Virtuals => "virtuals".into(),
            PanelId::Virtual(v) => format!("virtual/{}", encode(v)),
            PanelId::Reals(v) => format!("virtual/{}/servers", encode(v)),
            PanelId::Real { virtual_name, name } => {
                format!("virtual/{}/server/{}", encode(virtual_name), encode(name))
            }
            PanelId::Monitoring(v) => format!("virtual/{}/monitoring", encode(v)),
            PanelId::Failovers => "failovers".into(),
            PanelId::Failover(f) => format!("failover/{}", encode(f)),
        }
    }

    /// Reads [`PanelId::path`]'s form back; `None` for anything else
    /// (including a name that is not UTF-8 once decoded, or empty).
    pub fn from_path(path: &str) -> Option<PanelId> {
        let segs: Vec<&str> = path.split('/').collect();
        let name = |s: &str| decode(s).filter(|n| !n.is_empty());
        Some(match segs.as_slice() {
            ["global"] => PanelId::Global,
            ["redundancy"] => PanelId::Redundancy,
            ["virtuals"] => PanelId::Virtuals,
            ["failovers"] => PanelId::Failovers,
            ["virtual", v] => PanelId::Virtual(name(v)?),
            ["virtual", v, "servers"] => PanelId::Reals(name(v)?),
            ["virtual", v, "monitoring"] => PanelId::Monitoring(name(v)?),
            ["virtual", v, "server", s] => PanelId::Real {
                virtual_name: name(v)?,
                name: name(s)?,
            },
            ["failover", f] => PanelId::Failover(name(f)?),
            _ => return None,
        })
    }

    /// The block this panel edits, if it edits one.
    pub fn block(&self) -> Option<BlockRef> {
        match self {
            PanelId::Virtual(v) | PanelId::Monitoring(v) => Some(BlockRef::Virtual(v.clone())),
            PanelId::Real { virtual_name, name } => Some(BlockRef::Server {
                virtual_name: virtual_name.clone(),
                name: name.clone(),
            }),
            PanelId::Failover(f) => Some(BlockRef::Failover(f.clone())),
            PanelId::Reals(v) => Some(BlockRef::Virtual(v.clone())),
            PanelId::Global | PanelId::Redundancy | PanelId::Virtuals | PanelId::Failovers => None,
        }
    }

    /// The panel's heading, in the original's words (`VIRTUAL SERVER: web`).
    pub fn title(&self) -> String {
        match self {
            PanelId::Global => "GLOBAL SETTINGS".into(),
            PanelId::Redundancy => "REDUNDANCY".into(),
            PanelId::Virtuals => "VIRTUAL SERVERS".into(),
            PanelId::Virtual(v) => format!("VIRTUAL SERVER: {v}"),
            PanelId::Reals(v) => format!("REAL SERVER: {v}"),
            PanelId::Real { virtual_name, name } => {
                format!("EDIT REAL SERVER: {name} ({virtual_name})")
            }
            PanelId::Monitoring(v) => format!("EDIT MONITORING SCRIPTS: {v}"),
            PanelId::Failovers => "FAILOVER".into(),
            PanelId::Failover(f) => format!("FAILOVER: {f}"),
        }
    }
}

/// The path form ([`PanelId::path`]).
impl fmt::Display for PanelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(seg: &str) -> Option<String> {
    let bytes = seg.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = seg.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(a: String, b: String) -> Vec<PanelId> {
        vec![
            PanelId::Global,
            PanelId::Redundancy,
            PanelId::Virtuals,
            PanelId::Failovers,
            PanelId::Virtual(a.clone()),
            PanelId::Reals(a.clone()),
            PanelId::Monitoring(a.clone()),
            PanelId::Real {
                virtual_name: a.clone(),
                name: b,
            },
            PanelId::Failover(a),
        ]
    }

    #[test]
    fn paths() {
        let id = PanelId::Real {
            virtual_name: "web site".into(),
            name: "a/b".into(),
        };
        assert_eq!(id.path(), "virtual/web%20site/server/a%2Fb");
        assert_eq!(PanelId::from_path(&id.path()), Some(id));
        for bad in [
            "",
            "virtual",
            "virtual/",
            "virtual/a/b",
            "virtual/%zz",
            "virtual/%C3",
            "global/x",
        ] {
            assert_eq!(PanelId::from_path(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn path_round_trips(a in "\\PC{1,12}", b in "\\PC{1,12}") {
            for id in ids(a.clone(), b.clone()) {
                let p = id.path();
                prop_assert!(!p.contains(' ') && p.split('/').count() <= 4, "{}", p);
                prop_assert_eq!(PanelId::from_path(&p), Some(id));
            }
        }
    }
}
