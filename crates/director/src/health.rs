//! What the director knows of each real server's health.

use std::collections::{HashMap, HashSet};

/// A real server as `lvs.cf` names it: the `virtual` block and the `server`
/// block inside it. Names are unique in a valid file and stable across
/// reloads, which is what the health map needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerId {
    /// Name of the `virtual NAME { … }` block.
    pub virtual_name: String,
    /// Name of the `server NAME { … }` block.
    pub server: String,
}

impl ServerId {
    /// The id of `server` inside `virtual_name`.
    pub fn new(virtual_name: impl Into<String>, server: impl Into<String>) -> Self {
        ServerId {
            virtual_name: virtual_name.into(),
            server: server.into(),
        }
    }
}

impl std::fmt::Display for ServerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.virtual_name, self.server)
    }
}

/// The last word a health check gave on one real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// The server's monitor has given no verdict yet. The kernel entry, if
    /// any, is kept as it is (so a restarted lvsd adopts a running table
    /// without a flap); a server not in the kernel stays out until its
    /// first check passes. The first verdict, a failure included, ends it.
    Unknown,
    /// Passing, at this weight (the check may ramp it up or re-weight it by
    /// load; 0 is never reported as up).
    Up {
        /// Weight the check wants installed.
        weight: u32,
    },
    /// Failing with `quiesce_server = 1`: the entry stays at weight 0 so
    /// established connections finish.
    Quiesced,
    /// Failing: the entry is removed.
    Down,
    /// Passing (or not known yet), but drained by `lvsd --control drain`:
    /// the entry stays at weight 0 (established connections finish, no new
    /// ones) until `normal`, `up` or `down` ends the drain. Only [`drained`] makes it;
    /// no monitor reports it.
    Drained,
    /// Programmed by its own monitor (a site's `client_monitor` that does
    /// not report to lvsd, or the original nanny): lvsd leaves the entry
    /// alone. `up` is what its `[ active ]`/`[inactive]` lines said, if any;
    /// it only decides the sorry server.
    Managed {
        /// Whether the monitor last said the server is in service.
        up: Option<bool>,
    },
}

impl Health {
    /// Whether the server can take new connections.
    pub fn takes_traffic(self) -> bool {
        matches!(self, Health::Up { .. } | Health::Managed { up: Some(true) })
    }

    /// Whether the server is known not to take new connections (what the
    /// sorry server waits for).
    pub fn known_out_of_service(self) -> bool {
        matches!(
            self,
            Health::Down | Health::Quiesced | Health::Drained | Health::Managed { up: Some(false) }
        )
    }
}

/// What a drain makes of a server's health: a passing server, or one whose
/// monitor has not spoken yet (restarting), is held at weight 0 whatever
/// weight its check wants. The rest is left as it is, as an operator
/// expects of a drain: a drained server that fails its check leaves the
/// table (or is quiesced) like any other, and one that comes back while
/// still drained returns at weight 0; one programmed by its own monitor
/// stays its monitor's.
pub fn drained(h: Health) -> Health {
    match h {
        Health::Up { .. } | Health::Unknown => Health::Drained,
        other => other,
    }
}

/// A view with some servers drained (`lvsd --control drain`): the one place
/// where a drain meets health, for the table and for `--status` alike.
#[derive(Clone, Copy)]
pub struct Draining<'a> {
    /// Health as the monitors report it.
    pub health: &'a dyn HealthView,
    /// The drained servers.
    pub drained: &'a HashSet<ServerId>,
}

impl HealthView for Draining<'_> {
    fn health(&self, id: &ServerId, configured_weight: u32) -> Health {
        let h = self.health.health(id, configured_weight);
        if self.drained.contains(id) {
            drained(h)
        } else {
            h
        }
    }
}

/// Where [`crate::desired_table`] looks up health.
pub trait HealthView {
    /// Health of one real server; `configured_weight` is its `lvs.cf` weight.
    fn health(&self, id: &ServerId, configured_weight: u32) -> Health;
}

/// Every real server up at its configured weight: the converged table that
/// `lvsd --dry-run` prints.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllHealthy;

impl HealthView for AllHealthy {
    fn health(&self, _id: &ServerId, configured_weight: u32) -> Health {
        Health::Up {
            weight: configured_weight,
        }
    }
}

/// The daemon's map; servers missing from it are [`Health::Unknown`].
impl HealthView for HashMap<ServerId, Health> {
    fn health(&self, id: &ServerId, _configured_weight: u32) -> Health {
        self.get(id).copied().unwrap_or(Health::Unknown)
    }
}
