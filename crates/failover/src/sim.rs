//! A pure two-router simulation: two routers (ours, [`Machine`], or a model
//! of the original pulse, [`Original`]), a simulated clock and a wire that
//! can drop heartbeats per direction. Used by the tests of this crate to
//! check cold starts, kills, partitions and interoperation; no sockets, no
//! threads, no real time.
//!
//! The simulated "kernel" of each router is the floating addresses it holds
//! ([`Node::holds`]): that is what a client sees, whatever the router
//! believes. A killed router ([`Sim::kill`], like kill -9 plus its link
//! down) keeps its addresses but sends and receives nothing.

use std::time::{Duration, Instant};

use crate::heartbeat::Heartbeat;
use crate::state::{Action, Event, Machine, Path};

/// Something that decides like pulse.
pub trait Router {
    /// Applies one event.
    fn on(&mut self, now: Instant, event: Event) -> Vec<Action>;
    /// When to tick next.
    fn next_wakeup(&self) -> Instant;
}

impl Router for Machine {
    fn on(&mut self, now: Instant, event: Event) -> Vec<Action> {
        Machine::on(self, now, event)
    }
    fn next_wakeup(&self) -> Instant {
        Machine::next_wakeup(self)
    }
}

/// A model of piranha 0.8.6 pulse in LVS mode, written from piranha.md
/// §4.3–4.4 and the observations of anchors/heartbeat-frames.txt: first
/// heartbeat `keepalive` after start and then every `keepalive` (never on a
/// change), STOPPED activates master and backup alike at once, the backup
/// yields to RUNNING with one extra RUNNING, the master re-ARPs, the dead
/// timer is re-armed every `deadtime`, and SIGTERM sends nothing. lvsd is
/// taken as ready at once (the original blocked until it was).
#[derive(Debug, Clone)]
pub struct Original {
    master: bool,
    keepalive: Duration,
    deadtime: Duration,
    active: bool,
    send_at: Instant,
    need: Instant,
    exited: bool,
}

impl Original {
    /// An original pulse; it starts with [`Event::Start`].
    pub fn new(master: bool, keepalive: Duration, deadtime: Duration, now: Instant) -> Original {
        Original {
            master,
            keepalive,
            deadtime,
            active: false,
            send_at: now + keepalive,
            need: now + deadtime,
            exited: false,
        }
    }

    fn activate(&mut self, out: &mut Vec<Action>) {
        self.active = true;
        out.push(Action::AddFloating(Vec::new()));
    }

    fn deactivate(&mut self, out: &mut Vec<Action>) {
        self.active = false;
        out.push(Action::RemoveFloating(Vec::new()));
    }
}

impl Router for Original {
    fn on(&mut self, now: Instant, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        if self.exited {
            return out;
        }
        match event {
            Event::Start => {
                self.send_at = now + self.keepalive;
                self.need = now + self.deadtime;
            }
            Event::Tick => {
                if now >= self.send_at {
                    out.push(Action::SendHeartbeat(if self.active {
                        Heartbeat::Running
                    } else {
                        Heartbeat::Stopped
                    }));
                    self.send_at = now + self.keepalive;
                }
                if now >= self.need {
                    self.need = now + self.deadtime;
                    if !self.active {
                        self.activate(&mut out);
                    }
                }
            }
            Event::Heartbeat { beat, .. } => {
                self.need = now + self.deadtime;
                match beat {
                    Heartbeat::Running if self.active && !self.master => {
                        out.push(Action::SendHeartbeat(Heartbeat::Running));
                        self.deactivate(&mut out);
                    }
                    Heartbeat::Running if self.active => {
                        out.push(Action::AddFloating(Vec::new()));
                    }
                    Heartbeat::Stopped if !self.active => self.activate(&mut out),
                    _ => {}
                }
            }
            Event::Terminate { .. } => {
                if self.active {
                    self.deactivate(&mut out);
                }
                self.exited = true;
                out.push(Action::Exit(0));
            }
            _ => {}
        }
        out
    }

    fn next_wakeup(&self) -> Instant {
        self.send_at.min(self.need)
    }
}

/// One simulated router.
pub struct Node {
    /// Its decisions.
    pub router: Box<dyn Router>,
    /// The process runs (not killed, not exited).
    pub up: bool,
    /// Started (a node can start later than the other).
    pub started: bool,
    /// It holds its floating addresses (the kernel's view).
    pub holds: bool,
    /// When it last added them (the takeover time).
    pub took_over_at: Option<Instant>,
    /// Every action with its time, for the assertions.
    pub actions: Vec<(Instant, Action)>,
    /// Heartbeats it sent.
    pub sent: Vec<(Instant, Heartbeat)>,
}

impl Node {
    /// A node that has not started.
    pub fn new(router: Box<dyn Router>) -> Node {
        Node {
            router,
            up: false,
            started: false,
            holds: false,
            took_over_at: None,
            actions: Vec::new(),
            sent: Vec::new(),
        }
    }

    /// The log texts so far.
    pub fn logs(&self) -> Vec<&str> {
        self.actions
            .iter()
            .filter_map(|(_, a)| match a {
                Action::Log { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// Two routers, a clock and a wire.
pub struct Sim {
    /// The simulated time.
    pub now: Instant,
    /// The routers: 0 and 1.
    pub nodes: [Node; 2],
    /// `deliver[i]`: beats sent by node `i` reach the other.
    pub deliver: [bool; 2],
    /// One-way delay of the wire.
    pub latency: Duration,
    /// Time lvsd takes to report ready after `StartLvsd`.
    pub lvsd_ready_after: Duration,
    in_flight: Vec<(Instant, usize, Event)>,
}

impl Sim {
    /// Two routers that have not started; the clock starts at `now`.
    pub fn new(a: Box<dyn Router>, b: Box<dyn Router>, now: Instant) -> Sim {
        Sim {
            now,
            nodes: [Node::new(a), Node::new(b)],
            deliver: [true, true],
            latency: Duration::from_micros(100),
            lvsd_ready_after: Duration::from_millis(50),
            in_flight: Vec::new(),
        }
    }

    /// Starts node `i` now.
    pub fn start(&mut self, i: usize) {
        self.nodes[i].up = true;
        self.nodes[i].started = true;
        self.deliver_event(i, Event::Start);
    }

    /// kill -9 of node `i` plus its link down: it stops at once, keeping
    /// whatever addresses it held.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].up = false;
        self.in_flight.retain(|(_, to, _)| *to != i);
    }

    /// Sends an event to node `i` now (e.g. a signal).
    pub fn signal(&mut self, i: usize, event: Event) {
        self.deliver_event(i, event);
    }

    /// How many running routers hold their addresses.
    pub fn active_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.up && n.holds).count()
    }

    /// Runs until `until`, processing every due event in time order.
    pub fn run_until(&mut self, until: Instant) {
        // Bounded: a runaway machine (a wakeup that never moves) fails
        // the test instead of hanging it.
        for _ in 0..1_000_000 {
            let mut next: Option<(Instant, Option<usize>)> = None;
            for (k, (t, _, _)) in self.in_flight.iter().enumerate() {
                if next.is_none_or(|(n, _)| *t < n) {
                    next = Some((*t, Some(k)));
                }
            }
            for n in &self.nodes {
                if n.up {
                    let t = n.router.next_wakeup().max(self.now);
                    if next.is_none_or(|(x, _)| t < x) {
                        next = Some((t, None));
                    }
                }
            }
            let Some((t, which)) = next else { break };
            if t > until {
                break;
            }
            self.now = t;
            match which {
                Some(k) => {
                    let (_, to, ev) = self.in_flight.remove(k);
                    if self.nodes[to].up {
                        self.deliver_event(to, ev);
                    }
                }
                None => {
                    for i in 0..2 {
                        if self.nodes[i].up && self.nodes[i].router.next_wakeup() <= self.now {
                            self.deliver_event(i, Event::Tick);
                        }
                    }
                }
            }
        }
        self.now = self.now.max(until);
    }

    fn deliver_event(&mut self, i: usize, event: Event) {
        let now = self.now;
        let actions = self.nodes[i].router.on(now, event);
        for a in actions {
            match &a {
                Action::SendHeartbeat(b) => {
                    self.nodes[i].sent.push((now, *b));
                    let other = 1 - i;
                    if self.deliver[i] && self.nodes[other].up {
                        self.in_flight.push((
                            now + self.latency,
                            other,
                            Event::Heartbeat {
                                path: Path::Public,
                                beat: *b,
                            },
                        ));
                    }
                }
                Action::AddFloating(_) => {
                    if !self.nodes[i].holds {
                        self.nodes[i].took_over_at = Some(now);
                    }
                    self.nodes[i].holds = true;
                }
                Action::RemoveFloating(_) => self.nodes[i].holds = false,
                Action::StartLvsd => {
                    self.in_flight
                        .push((now + self.lvsd_ready_after, i, Event::LvsdReady));
                }
                Action::Exit(_) => self.nodes[i].up = false,
                _ => {}
            }
            self.nodes[i].actions.push((now, a));
        }
    }
}
