//! From a monitor's reports to the [`Health`] the table is built from.
//!
//! Pure bookkeeping, one [`ServerHealth`] per real server, fed by the daemon
//! with what each monitor said. It knows two kinds of monitor:
//!
//! * our nanny, which reports `want` lines on the report pipe: lvsd installs
//!   what it wants;
//! * anything else (a site's `client_monitor`, the original nanny), which
//!   programs IPVS itself: lvsd leaves the entry alone and only reads its
//!   `[ active ]`/`[inactive]` log lines, for the sorry server, as piranha did.
//!
//! A monitor that (re)starts knows nothing of its server: our nanny starts
//! it "out of service", ramps its weight up from `weight / 32` after the
//! first passing check, and reports a failing first check only as
//! `check fail`. lvsd knows more: whether the entry is in the kernel, and
//! whether it was serving. So, until the new monitor's first verdict, the
//! server is unknown, and unknown is decided here:
//!
//! * an entry that is in the kernel (lvsd restarted and adopted it, or its
//!   monitor died and was restarted) keeps its kernel weight; the monitor's
//!   ramp-up reports are not allowed below that weight (capped at the
//!   configured one) until the monitor itself reaches it. Slow start is only
//!   for a server that (re-)enters service;
//! * a reload that restarts the monitor carries a serving server over at
//!   its new configured weight; a raise waits for the first verdict, so a
//!   server that died just before the reload never gets it;
//! * the first verdict wins: a `want`, or a failed check (or forced-down
//!   mode) before any `want`, which takes the server out.

use std::collections::HashMap;

use crate::health::{Health, HealthView, ServerId};

/// What lvsd knows of one real server from its monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerHealth {
    health: Health,
    /// Lowest weight to install while a restarted monitor ramps up.
    floor: Option<u32>,
    /// The monitor has spoken the report protocol.
    reporting: bool,
    /// The current monitor has given its first verdict (a `want`, or a
    /// failure before any `want`).
    verdict: bool,
    /// Unknown with an entry in the kernel, at this weight: it is kept.
    held: Option<u32>,
}

impl Default for ServerHealth {
    fn default() -> Self {
        ServerHealth::new()
    }
}

impl ServerHealth {
    /// A server whose monitor has not said anything yet.
    pub fn new() -> Self {
        ServerHealth {
            health: Health::Unknown,
            floor: None,
            reporting: false,
            verdict: false,
            held: None,
        }
    }

    /// The state of a server whose monitor is restarted with a new
    /// configured weight: a serving server keeps serving, at once at a
    /// lower weight, at a higher one only after the new monitor's first
    /// verdict (it may have died just before the reload).
    pub fn carried_over(previous: &ServerHealth, configured_weight: u32) -> Self {
        let (health, floor) = match previous.health {
            Health::Up { weight } => (
                Health::Up {
                    weight: weight.min(configured_weight),
                },
                Some(configured_weight),
            ),
            other => (other, None),
        };
        ServerHealth {
            health,
            floor,
            reporting: previous.reporting,
            verdict: false,
            held: previous.held,
        }
    }

    /// Current health.
    pub fn health(&self) -> Health {
        self.health
    }

    /// Whether the monitor speaks the report protocol.
    pub fn reporting(&self) -> bool {
        self.reporting
    }

    /// The monitor's report stream began (`nanny-report 1`).
    pub fn on_header(&mut self) {
        self.reporting = true;
    }

    /// `want W` / `want none`. Returns whether the health changed.
    pub fn on_want(&mut self, want: Option<u32>, quiesce: bool) -> bool {
        self.reporting = true;
        self.verdict = true;
        self.held = None;
        let next = match want {
            None => {
                self.floor = None;
                Health::Down
            }
            Some(0) => {
                self.floor = None;
                if quiesce {
                    Health::Quiesced
                } else {
                    Health::Down
                }
            }
            Some(w) => match self.floor {
                Some(f) if w < f => Health::Up { weight: f },
                _ => {
                    self.floor = None;
                    Health::Up { weight: w }
                }
            },
        };
        self.set(next)
    }

    /// A `[ active ]` (true) or `[inactive]` (false) line from a monitor that
    /// does not report; ignored once the monitor reports.
    pub fn on_legacy_state(&mut self, up: bool) -> bool {
        if self.reporting {
            return false;
        }
        self.set(Health::Managed { up: Some(up) })
    }

    /// The monitor is known not to report (it is not our nanny): its
    /// server's entry is its own business.
    pub fn on_unmanaged(&mut self) -> bool {
        if self.reporting || matches!(self.health, Health::Managed { .. }) {
            return false;
        }
        self.set(Health::Managed { up: None })
    }

    /// Its monitor could not be started (a `client_monitor` that does not
    /// exist or cannot run): nobody checks the server, so it takes no
    /// traffic until a monitor runs and passes it. Returns whether the
    /// health changed.
    pub fn on_monitor_failed(&mut self) -> bool {
        self.verdict = true;
        self.floor = None;
        self.held = None;
        self.set(Health::Down)
    }

    /// A monitor (re)starts for this server: its verdict is still to come.
    pub fn on_monitor_start(&mut self) {
        self.verdict = false;
    }

    /// What the kernel has for this server (`None`: no entry), seen before
    /// planning. An unknown server's entry is kept at its weight until the
    /// first verdict, and the monitor's ramp is not allowed below it (nor
    /// above `configured`, so that a ramp that ends at the configured
    /// weight always lifts the floor).
    pub fn adopt(&mut self, kernel_weight: Option<u32>, configured: u32) {
        if self.health != Health::Unknown || self.verdict {
            return;
        }
        self.held = kernel_weight;
        self.floor = kernel_weight.map(|w| w.min(configured)).filter(|w| *w > 0);
    }

    /// `check ok` / `check fail`. A failure before the monitor's first
    /// `want` is its verdict: the server is out (quiesced at weight 0 when
    /// its entry is there and `quiesce_server` is set). Our nanny starts a
    /// server as out of service and only says `want none` when it leaves
    /// service, so this is the only word lvsd gets of a server that died
    /// while nobody watched it. Returns whether the health changed.
    pub fn on_check(&mut self, ok: bool, quiesce: bool) -> bool {
        if ok || self.verdict || !self.reporting {
            return false;
        }
        self.verdict = true;
        self.floor = None;
        let present = match self.health {
            Health::Up { .. } | Health::Quiesced => true,
            Health::Unknown => self.held.is_some(),
            // No monitor reports a drain; it is never stored here.
            Health::Down | Health::Drained | Health::Managed { .. } => false,
        };
        self.held = None;
        self.set(if quiesce && present {
            Health::Quiesced
        } else {
            Health::Down
        })
    }

    /// `mode …`. Forced down before the first `want` takes the server out
    /// (nanny says `want none` only when it thought the server in service).
    /// Returns whether the health changed.
    pub fn on_mode(&mut self, mode: health::state::Mode, quiesce: bool) -> bool {
        let _ = quiesce;
        if mode != health::state::Mode::ForcedDown || self.verdict || !self.reporting {
            return false;
        }
        self.verdict = true;
        self.floor = None;
        self.held = None;
        self.set(Health::Down)
    }

    /// The monitor is gone and will not be replaced (for example its server
    /// was deactivated): nothing is known any more.
    pub fn on_monitor_gone(&mut self) -> bool {
        // Its entry stays as it is; whatever monitor comes next starts from
        // that weight (refreshed from the kernel before the next plan).
        let (floor, held) = match self.health {
            Health::Up { weight } => (Some(weight).filter(|w| *w > 0), Some(weight)),
            Health::Quiesced => (None, Some(0)),
            _ => (None, None),
        };
        self.floor = floor;
        self.held = held;
        self.verdict = false;
        self.set(Health::Unknown)
    }

    fn set(&mut self, next: Health) -> bool {
        let changed = self.health != next;
        self.health = next;
        changed
    }
}

/// The daemon's own map is the view the table is built from; servers
/// missing from it are [`Health::Unknown`].
impl HealthView for HashMap<ServerId, ServerHealth> {
    fn health(&self, id: &ServerId, _configured_weight: u32) -> Health {
        self.get(id).map_or(Health::Unknown, ServerHealth::health)
    }
}

/// Classify a line a non-reporting monitor printed: `Some(true)` for the
/// original nanny's `[ active ]`, `Some(false)` for `[inactive]`.
pub fn legacy_state(line: &str) -> Option<bool> {
    if line.contains("[ active ]") {
        Some(true)
    } else if line.contains("[inactive]") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wants_become_health() {
        let mut h = ServerHealth::new();
        assert_eq!(h.health(), Health::Unknown);
        assert!(h.on_want(Some(3), false));
        assert_eq!(h.health(), Health::Up { weight: 3 });
        assert!(!h.on_want(Some(3), false), "same want, no change");
        assert!(h.on_want(Some(0), true));
        assert_eq!(h.health(), Health::Quiesced);
        assert!(h.on_want(None, true));
        assert_eq!(h.health(), Health::Down);
        // Weight 0 without quiesce is down, which it already is.
        assert!(!h.on_want(Some(0), false));
        assert_eq!(h.health(), Health::Down);
    }

    #[test]
    fn restart_keeps_a_serving_server_at_its_new_weight() {
        let mut before = ServerHealth::new();
        before.on_want(Some(100), false);
        let mut h = ServerHealth::carried_over(&before, 50);
        assert_eq!(h.health(), Health::Up { weight: 50 });
        // The new nanny ramps 1, 3, 6, … : no change below the floor.
        for w in [1, 3, 6, 12, 24, 48] {
            assert!(!h.on_want(Some(w), false), "ramp step {w}");
            assert_eq!(h.health(), Health::Up { weight: 50 });
        }
        // It reaches the weight: the floor is gone, later load changes pass.
        assert!(!h.on_want(Some(50), false));
        assert!(h.on_want(Some(40), false));
        assert_eq!(h.health(), Health::Up { weight: 40 });
    }

    #[test]
    fn a_failure_during_ramp_up_is_not_hidden() {
        let mut before = ServerHealth::new();
        before.on_want(Some(10), false);
        let mut h = ServerHealth::carried_over(&before, 10);
        assert!(h.on_want(None, false));
        assert_eq!(h.health(), Health::Down);
        assert!(h.on_want(Some(1), false));
        assert_eq!(h.health(), Health::Up { weight: 1 });
    }

    #[test]
    fn down_and_unknown_are_carried_as_they_are() {
        let mut down = ServerHealth::new();
        down.on_want(None, false);
        assert_eq!(ServerHealth::carried_over(&down, 5).health(), Health::Down);
        assert_eq!(
            ServerHealth::carried_over(&ServerHealth::new(), 5).health(),
            Health::Unknown
        );
    }

    #[test]
    fn legacy_monitors_only_feed_the_sorry_server() {
        let mut h = ServerHealth::new();
        assert!(h.on_unmanaged());
        assert_eq!(h.health(), Health::Managed { up: None });
        assert_eq!(
            legacy_state("nanny: [inactive] shutting down 192.0.2.11:80 due to connection failure"),
            Some(false)
        );
        assert!(h.on_legacy_state(false));
        assert_eq!(h.health(), Health::Managed { up: Some(false) });
        assert!(h.on_legacy_state(true));
        assert!(!h.on_unmanaged(), "stays managed, keeps what it said");
        assert_eq!(
            legacy_state("nanny: [ active ] making 192.0.2.11:80 available"),
            Some(true)
        );
        assert_eq!(legacy_state("nanny: starting LVS client monitor"), None);

        // A reporting monitor's log lines do not override its reports.
        let mut ours = ServerHealth::new();
        ours.on_header();
        assert!(!ours.on_legacy_state(true));
        assert!(!ours.on_unmanaged());
        assert_eq!(ours.health(), Health::Unknown);
    }
}
