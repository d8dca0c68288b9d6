//! nanny's decision logic as a pure function: `transition(state, event)`.
//!
//! Everything that decides whether the real server is in IPVS, and with what
//! weight, lives here and does no I/O; [`crate::monitor`] runs the checks and
//! signals that produce [`Event`]s and carries out the returned [`Action`]s.
//! The rules follow piranha 0.8.6 nanny (piranha.md §6.1, §6.4, §3.3):
//!
//! * a success increments a counter; a server that is not active becomes
//!   active once the counter reaches `reentry / interval` (so the first
//!   success after start adds it at once, and after a failure `reentry`
//!   seconds of consecutive successes are needed);
//! * a failure resets the counter and takes an active server out (deleted, or
//!   weight 0 with quiesce);
//! * a server enters with weight `max(1, weight >> 5)`, doubled at each weight
//!   adjustment (about every 20 s) until it reaches the configured weight;
//!   after that a load monitor may raise it above the configured weight;
//! * SIGUSR1 / SIGUSR2 force it down / up and suspend checking; SIGHUP resumes.
//!
//! Deliberate differences, each fixing a bug of the original: presence of the
//! IPVS entry is tracked exactly (the original could `-a` an entry that a
//! quiesce left behind, or `-e` one that SIGUSR1 had deleted, and then exit);
//! a forced-up server's weight is known (the original ramped from a stale 0);
//! SIGTERM removes a quiesced (weight 0) entry too.

use crate::ipvs::IpvsOp;

/// What the monitored service is: a real server of a virtual service, or
/// (legacy `--fos`) the partner of a failover service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--lvs`: keep the real server's IPVS entry in line with its health.
    Lvs,
    /// `--fos`: watch the partner; exit when it fails (pulse then takes over).
    Fos,
}

/// Fixed parameters of one monitor, from the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub kind: Kind,
    /// Configured weight (`-w`), as given.
    pub weight: i32,
    /// Consecutive successes needed to (re-)enter: `reentry / interval`.
    pub count_thresh: u32,
    /// Check interval in seconds (never 0).
    pub interval: u32,
    /// Maximum multiple of `weight` the load monitor may set (`-S`).
    pub scale: i32,
    /// `-q`: on failure set weight 0 instead of deleting the entry.
    pub quiesce: bool,
    /// A load command other than `none` is configured.
    pub load_monitor: bool,
}

impl Params {
    /// The weight a server enters with: `weight / 32`, at least 1.
    pub fn initial_weight(&self) -> u32 {
        u32::try_from((self.weight >> 5).max(1)).unwrap_or(1)
    }

    /// The configured weight as an IPVS weight (negative becomes 0).
    pub fn full_weight(&self) -> u32 {
        u32::try_from(self.weight.max(0)).unwrap_or(0)
    }

    /// Whether the weight is adjusted after a check with this counter
    /// (about every 20 s, as the original).
    fn adjust_due(&self, count: u32) -> bool {
        self.interval > 20 || count.is_multiple_of(20 / self.interval)
    }
}

/// Whether checking runs, or a signal forced the server up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// SIGUSR1 ("opaque glasses"): out of IPVS, no checks.
    ForcedDown,
    /// SIGUSR2 ("rose-colored glasses"): in IPVS with full weight, no checks.
    ForcedUp,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::ForcedDown => "forced-down",
            Mode::ForcedUp => "forced-up",
        }
    }
}

/// The changing part of a monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub mode: Mode,
    /// In service: in IPVS with a weight above 0 (the original's `isActive`).
    pub active: bool,
    /// The IPVS entry exists (possibly quiesced at weight 0).
    pub present: bool,
    /// Weight last given to IPVS.
    pub weight: u32,
    /// Consecutive successes (the original's `currCount`).
    pub count: u32,
    /// `--fos` only: failures counted while the partner was never seen up.
    pub fos_failures: u32,
}

impl State {
    pub fn new(params: &Params) -> State {
        State {
            mode: Mode::Normal,
            active: false,
            present: false,
            weight: 0,
            count: params.count_thresh,
            fos_failures: 0,
        }
    }
}

/// Something that happened to a monitor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    CheckPassed,
    CheckFailed,
    /// Result of the load command: the 1-minute load average, or `None` when
    /// the command failed or printed something unreadable.
    Load(Option<f32>),
    /// SIGUSR1.
    ForceDown,
    /// SIGUSR2.
    ForceUp,
    /// SIGHUP.
    Resume,
    /// SIGTERM / SIGINT, with the signal number for the log line.
    Terminate(i32),
}

/// Log lines; the text of each is in [`crate::monitor`], verbatim from the
/// original where it had one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Log {
    MakingAvailable,
    ShuttingDown,
    NoServiceAvailable,
    OpaqueGlasses,
    RoseGlasses,
    RemovingGlasses,
    Terminating(i32),
    AdjustingWeight(u32),
    ComputedWeight { new: i64, last: u32, load: f32 },
    FosAvailable,
    FosExiting,
    FosTimeout,
}

impl Log {
    /// Lines the original printed only with `-v`.
    pub fn is_debug(&self) -> bool {
        matches!(
            self,
            Log::AdjustingWeight(_) | Log::ComputedWeight { .. } | Log::NoServiceAvailable
        )
    }
}

/// What the monitor must do, in order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Change the real server's IPVS entry (or, in report mode, tell lvsd).
    Ipvs(IpvsOp),
    Log(Log),
    /// Tell lvsd whether the server is in service (`state` line).
    ReportActive(bool),
    /// Tell lvsd the signal-forced mode changed (`mode` line).
    ReportMode(Mode),
    /// Run the load command and feed back [`Event::Load`].
    QueryLoad,
    /// Run the next check now instead of after the interval.
    CheckNow,
    /// Exit with this status after the actions before it.
    Exit(i32),
}

/// Applies one event. Pure: same input, same output.
pub fn transition(params: &Params, state: &State, event: Event) -> (State, Vec<Action>) {
    let mut s = state.clone();
    let mut out = Vec::new();
    match event {
        Event::CheckPassed | Event::CheckFailed => {
            // A result that arrives after a signal suspended checking is void.
            if s.mode == Mode::Normal {
                let passed = event == Event::CheckPassed;
                match params.kind {
                    Kind::Lvs => lvs_check(params, &mut s, passed, &mut out),
                    Kind::Fos => fos_check(params, &mut s, passed, &mut out),
                }
            }
        }
        Event::Load(load) => {
            if s.mode == Mode::Normal
                && s.active
                && params.kind == Kind::Lvs
                && let Some(load) = load
            {
                load_adjust(params, &mut s, load, &mut out);
            }
        }
        Event::ForceDown => {
            out.push(Action::Log(Log::OpaqueGlasses));
            set_mode(&mut s, Mode::ForcedDown, &mut out);
            if s.active {
                s.active = false;
                if params.kind == Kind::Lvs && s.present {
                    out.push(Action::Ipvs(IpvsOp::Delete));
                    s.present = false;
                    s.weight = 0;
                }
                out.push(Action::ReportActive(false));
            }
        }
        Event::ForceUp => {
            out.push(Action::Log(Log::RoseGlasses));
            set_mode(&mut s, Mode::ForcedUp, &mut out);
            if !s.active {
                s.active = true;
                if params.kind == Kind::Lvs {
                    let w = params.full_weight();
                    out.push(Action::Ipvs(if s.present {
                        IpvsOp::Edit { weight: w }
                    } else {
                        IpvsOp::Add { weight: w }
                    }));
                    s.present = true;
                    s.weight = w;
                }
                out.push(Action::ReportActive(true));
            }
        }
        Event::Resume => {
            out.push(Action::Log(Log::RemovingGlasses));
            set_mode(&mut s, Mode::Normal, &mut out);
            s.count = params.count_thresh;
            out.push(Action::CheckNow);
        }
        Event::Terminate(signal) => {
            out.push(Action::Log(Log::Terminating(signal)));
            if params.kind == Kind::Lvs && s.present {
                out.push(Action::Ipvs(IpvsOp::Delete));
                s.present = false;
                s.weight = 0;
            }
            if s.active {
                s.active = false;
                out.push(Action::ReportActive(false));
            }
            out.push(Action::Exit(0));
        }
    }
    (s, out)
}

fn set_mode(s: &mut State, mode: Mode, out: &mut Vec<Action>) {
    if s.mode != mode {
        s.mode = mode;
        out.push(Action::ReportMode(mode));
    }
}

fn lvs_check(params: &Params, s: &mut State, passed: bool, out: &mut Vec<Action>) {
    if passed {
        s.count = s.count.saturating_add(1);
    }
    if passed && !s.active && s.count >= params.count_thresh {
        s.active = true;
        out.push(Action::Log(Log::MakingAvailable));
        let w = params.initial_weight();
        // Only a quiesced entry can still exist here.
        out.push(Action::Ipvs(if s.present {
            IpvsOp::Edit { weight: w }
        } else {
            IpvsOp::Add { weight: w }
        }));
        s.present = true;
        s.weight = w;
        out.push(Action::ReportActive(true));
    } else if !passed && s.active {
        s.count = 0;
        s.active = false;
        out.push(Action::Log(Log::ShuttingDown));
        if params.quiesce && s.present {
            out.push(Action::Ipvs(IpvsOp::Edit { weight: 0 }));
            s.weight = 0;
        } else {
            out.push(Action::Ipvs(IpvsOp::Delete));
            s.present = false;
            s.weight = 0;
        }
        out.push(Action::ReportActive(false));
    } else if !passed && s.count > 0 {
        s.count = 0;
        out.push(Action::Log(Log::NoServiceAvailable));
    }

    if s.active && params.adjust_due(s.count) {
        let full = params.full_weight();
        if s.weight < full {
            // Ramp-up: one doubling per adjustment.
            let w = s.weight.saturating_mul(2).min(full);
            out.push(Action::Log(Log::AdjustingWeight(w)));
            out.push(Action::Ipvs(IpvsOp::Edit { weight: w }));
            s.weight = w;
        } else if params.load_monitor {
            out.push(Action::QueryLoad);
        }
    }
}

/// The original's load formula (piranha.md §6.4), in its own arithmetic:
/// `float` load, `double` products truncated to `int`.
#[allow(clippy::cast_possible_truncation)] // C's double -> int truncation, on purpose
pub fn weight_for_load(weight: i32, scale: i32, last: u32, load: f32) -> Option<i64> {
    if load.is_nan() || load < 0.0 || load == 1.0 {
        return None;
    }
    let weight = i64::from(weight);
    let last = i64::from(last);
    let scale_factor = weight as f64 / 2.0;
    let load = f64::from(load);
    let new = if load < 1.0 {
        // `as` truncates toward zero, as C's double -> int conversion.
        let new = (last as f64 + scale_factor * (1.0 - load).powf(1.0 / 3.0)) as i64;
        new.min(i64::from(scale) * weight)
    } else {
        let new = (last as f64 - scale_factor * (load - 1.0).powf(1.0 / 3.0)) as i64;
        new.max(weight)
    };
    Some(new)
}

fn load_adjust(params: &Params, s: &mut State, load: f32, out: &mut Vec<Action>) {
    let Some(new) = weight_for_load(params.weight, params.scale, s.weight, load) else {
        return;
    };
    out.push(Action::Log(Log::ComputedWeight {
        new,
        last: s.weight,
        load,
    }));
    let diff_thresh = params.weight as f32 / 4.0;
    let diff = (new - i64::from(s.weight)).abs();
    // The original also re-issued an unchanged weight when the threshold
    // was 0; an edit to the same weight changes nothing, so skip it.
    if diff as f32 >= diff_thresh && diff != 0 {
        let w = u32::try_from(new.max(0)).unwrap_or(u32::MAX);
        out.push(Action::Log(Log::AdjustingWeight(w)));
        out.push(Action::Ipvs(IpvsOp::Edit { weight: w }));
        s.weight = w;
    }
}

fn fos_check(params: &Params, s: &mut State, passed: bool, out: &mut Vec<Action>) {
    if passed {
        s.count = s.count.saturating_add(1);
    } else if s.fos_failures > 0 {
        s.fos_failures += 1;
        if s.fos_failures > 1 {
            out.push(Action::Log(Log::FosTimeout));
            out.push(Action::Exit(1));
            return;
        }
    }
    if passed && !s.active && s.count >= params.count_thresh {
        s.active = true;
        out.push(Action::Log(Log::FosAvailable));
        out.push(Action::ReportActive(true));
    } else if !passed && s.active {
        s.active = false;
        out.push(Action::Log(Log::FosExiting));
        out.push(Action::ReportActive(false));
        out.push(Action::Exit(0));
    } else if !passed && s.count > 0 {
        s.count = 0;
        out.push(Action::Log(Log::NoServiceAvailable));
        s.fos_failures += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(weight: i32, reentry: u32, interval: u32) -> Params {
        Params {
            kind: Kind::Lvs,
            weight,
            count_thresh: reentry / interval,
            interval,
            scale: 10,
            quiesce: false,
            load_monitor: false,
        }
    }

    fn run(p: &Params, s: &State, events: &[Event]) -> (State, Vec<Action>) {
        let mut s = s.clone();
        let mut all = Vec::new();
        for e in events {
            let (n, a) = transition(p, &s, *e);
            s = n;
            all.extend(a);
        }
        (s, all)
    }

    fn ipvs(actions: &[Action]) -> Vec<IpvsOp> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Ipvs(op) => Some(*op),
                _ => None,
            })
            .collect()
    }

    use Event::{CheckFailed as F, CheckPassed as P};

    #[test]
    fn first_success_adds_at_once() {
        let p = params(1, 180, 10);
        let (s, a) = transition(&p, &State::new(&p), P);
        assert!(s.active && s.present);
        assert_eq!(
            a,
            vec![
                Action::Log(Log::MakingAvailable),
                Action::Ipvs(IpvsOp::Add { weight: 1 }),
                Action::ReportActive(true),
            ]
        );
    }

    #[test]
    fn failure_removes_then_reentry_needs_thresh_successes() {
        // reentry 30 s at 10 s interval: 3 consecutive successes.
        let p = params(1, 30, 10);
        let s0 = State::new(&p);
        let (s, a) = run(&p, &s0, &[P, F]);
        assert!(!s.active && !s.present && s.count == 0);
        assert_eq!(ipvs(&a), vec![IpvsOp::Add { weight: 1 }, IpvsOp::Delete]);
        assert!(a.contains(&Action::Log(Log::ShuttingDown)));
        // Two successes are not enough, a failure resets the count.
        let (s, a) = run(&p, &s, &[P, P, F, P, P]);
        assert!(!s.active && ipvs(&a).is_empty());
        let (s, a) = run(&p, &s, &[P]);
        assert!(s.active);
        assert_eq!(ipvs(&a), vec![IpvsOp::Add { weight: 1 }]);
    }

    #[test]
    fn reentry_shorter_than_interval_readds_on_next_success() {
        let p = params(1, 5, 10);
        let (s, a) = run(&p, &State::new(&p), &[P, F, P]);
        assert!(s.active);
        assert_eq!(
            ipvs(&a),
            vec![
                IpvsOp::Add { weight: 1 },
                IpvsOp::Delete,
                IpvsOp::Add { weight: 1 }
            ]
        );
    }

    #[test]
    fn quiesce_sets_weight_zero_and_reweights() {
        let mut p = params(1, 0, 10);
        p.quiesce = true;
        let (s, a) = run(&p, &State::new(&p), &[P, F]);
        assert!(!s.active && s.present && s.weight == 0);
        assert_eq!(
            ipvs(&a),
            vec![IpvsOp::Add { weight: 1 }, IpvsOp::Edit { weight: 0 }]
        );
        let (s, a) = run(&p, &s, &[P]);
        assert!(s.active && s.present);
        assert_eq!(ipvs(&a), vec![IpvsOp::Edit { weight: 1 }]);
        // Termination removes the quiesced entry too.
        let (_, a) = run(&p, &s, &[F, Event::Terminate(15)]);
        assert_eq!(ipvs(&a), vec![IpvsOp::Edit { weight: 0 }, IpvsOp::Delete]);
    }

    #[test]
    fn ramp_up_doubles_every_20_seconds() {
        // weight 100, 10 s interval: adjust when count % 2 == 0.
        let p = params(100, 10, 10);
        let s0 = State::new(&p); // count starts at 1
        let (s, a) = run(&p, &s0, &[P]); // count 2: add 3, adjust -> 6
        assert_eq!(
            ipvs(&a),
            vec![IpvsOp::Add { weight: 3 }, IpvsOp::Edit { weight: 6 }]
        );
        let mut weights = vec![];
        let mut s = s;
        for _ in 0..12 {
            let (n, a) = transition(&p, &s, P);
            s = n;
            weights.extend(ipvs(&a).into_iter().map(|op| match op {
                IpvsOp::Edit { weight } => weight,
                other => panic!("{other:?}"),
            }));
        }
        assert_eq!(weights, vec![12, 24, 48, 96, 100]);
        assert_eq!(s.weight, 100);
    }

    #[test]
    fn ramp_up_at_one_second_interval_every_20_checks() {
        let p = params(64, 0, 1);
        let mut s = State::new(&p);
        let mut edits = vec![];
        for i in 1..=60u32 {
            let (n, a) = transition(&p, &s, P);
            s = n;
            for op in ipvs(&a) {
                edits.push((i, op));
            }
        }
        // count starts at 0: first check makes count 1, adds weight 2.
        assert_eq!(
            edits,
            vec![
                (1, IpvsOp::Add { weight: 2 }),
                (20, IpvsOp::Edit { weight: 4 }),
                (40, IpvsOp::Edit { weight: 8 }),
                (60, IpvsOp::Edit { weight: 16 }),
            ]
        );
    }

    #[test]
    fn load_queried_only_after_ramp_and_when_configured() {
        let mut p = params(4, 0, 20);
        p.load_monitor = true;
        // weight 4, adjusting after every check: 1 (+2), 4, then load.
        let (s, a) = run(&p, &State::new(&p), &[P, P]);
        assert_eq!(
            ipvs(&a),
            vec![
                IpvsOp::Add { weight: 1 },
                IpvsOp::Edit { weight: 2 },
                IpvsOp::Edit { weight: 4 }
            ]
        );
        assert!(!a.contains(&Action::QueryLoad));
        let (_, a) = transition(&p, &s, P);
        assert_eq!(a, vec![Action::QueryLoad]);
        p.load_monitor = false;
        let (_, a) = transition(&p, &s, P);
        assert!(a.is_empty());
    }

    #[test]
    fn load_formula_matches_original() {
        // weight 10 (S = 5, threshold 2.5), last 10.
        // load 0: 10 + 5 * 1 = 15.
        assert_eq!(weight_for_load(10, 10, 10, 0.0), Some(15));
        // load 0.5: 10 + 5 * 0.7937 = 13.97 -> 13.
        assert_eq!(weight_for_load(10, 10, 10, 0.5), Some(13));
        // capped at scale * weight.
        assert_eq!(weight_for_load(10, 2, 18, 0.0), Some(20));
        // load 9: 15 - 5 * 2 = 5, floored at weight 10.
        assert_eq!(weight_for_load(10, 10, 15, 9.0), Some(10));
        // load 2: 20 - 5 * 1 = 15.
        assert_eq!(weight_for_load(10, 10, 20, 2.0), Some(15));
        // exactly 1.0 or negative: unchanged.
        assert_eq!(weight_for_load(10, 10, 10, 1.0), None);
        assert_eq!(weight_for_load(10, 10, 10, -1.0), None);
        assert_eq!(weight_for_load(10, 10, 10, f32::NAN), None);
    }

    #[test]
    fn load_result_applied_only_above_threshold() {
        let mut p = params(10, 0, 30);
        p.load_monitor = true;
        let mut s = State::new(&p);
        s.active = true;
        s.present = true;
        s.weight = 10;
        // 0.99: 10 + 5 * 0.215 = 11.07 -> 11; |1| < 2.5: no edit.
        let (s1, a) = transition(&p, &s, Event::Load(Some(0.99)));
        assert!(ipvs(&a).is_empty());
        assert_eq!(s1.weight, 10);
        let (s2, a) = transition(&p, &s, Event::Load(Some(0.0)));
        assert_eq!(ipvs(&a), vec![IpvsOp::Edit { weight: 15 }]);
        assert_eq!(s2.weight, 15);
        // A failed load command leaves the weight as is.
        let (s3, a) = transition(&p, &s2, Event::Load(None));
        assert!(a.is_empty());
        assert_eq!(s3, s2);
        // High load brings it back towards, never below, the weight.
        let (s4, a) = transition(&p, &s2, Event::Load(Some(30.0)));
        assert_eq!(ipvs(&a), vec![IpvsOp::Edit { weight: 10 }]);
        assert_eq!(s4.weight, 10);
    }

    #[test]
    fn an_unchanged_load_weight_is_not_re_issued() {
        // Weight 0: the original's threshold is 0, so it re-issued the same
        // weight on every load report; an edit to the same weight is none.
        let mut p = params(0, 0, 30);
        p.load_monitor = true;
        let mut s = State::new(&p);
        s.active = true;
        s.present = true;
        s.weight = 0;
        for load in [0.5, 5.0] {
            let (s1, a) = transition(&p, &s, Event::Load(Some(load)));
            assert!(ipvs(&a).is_empty(), "{load}: {a:?}");
            assert_eq!(s1.weight, 0);
        }
    }

    #[test]
    fn resume_after_a_failure_readmits_at_the_next_success() {
        // reentry 180 s at 10 s: 18 passes to re-enter after a failure,
        // but SIGHUP (back to normal checking) counts as having passed them.
        let p = params(5, 180, 10);
        let (s, _) = run(&p, &State::new(&p), &[P, F]);
        assert!(!s.present);
        assert_eq!(s.count, 0);
        let (s, a) = transition(&p, &s, P);
        assert!(ipvs(&a).is_empty() && !s.present, "one pass is not 18");
        let (s, _) = transition(&p, &s, Event::Resume);
        assert_eq!(s.count, p.count_thresh);
        let (s, a) = transition(&p, &s, P);
        assert!(s.present);
        assert_eq!(ipvs(&a), vec![IpvsOp::Add { weight: 1 }]);
    }

    #[test]
    fn signals_force_and_resume() {
        let p = params(5, 180, 10);
        let s0 = State::new(&p);
        let (s, a) = transition(&p, &s0, Event::ForceUp);
        assert_eq!(s.mode, Mode::ForcedUp);
        assert!(s.active && s.present && s.weight == 5);
        assert_eq!(a[0], Action::Log(Log::RoseGlasses));
        assert_eq!(ipvs(&a), vec![IpvsOp::Add { weight: 5 }]);
        // Checks are ignored while forced.
        let (s, a) = transition(&p, &s, F);
        assert!(a.is_empty() && s.active);
        let (s, a) = transition(&p, &s, Event::ForceDown);
        assert_eq!(s.mode, Mode::ForcedDown);
        assert!(!s.active && !s.present);
        assert_eq!(a[0], Action::Log(Log::OpaqueGlasses));
        assert_eq!(ipvs(&a), vec![IpvsOp::Delete]);
        let (s, a) = transition(&p, &s, Event::Resume);
        assert_eq!(s.mode, Mode::Normal);
        assert_eq!(s.count, p.count_thresh);
        assert_eq!(
            a,
            vec![
                Action::Log(Log::RemovingGlasses),
                Action::ReportMode(Mode::Normal),
                Action::CheckNow
            ]
        );
        // After SIGHUP the next success re-adds at once.
        let (s, a) = transition(&p, &s, P);
        assert!(s.active);
        assert_eq!(ipvs(&a), vec![IpvsOp::Add { weight: 1 }]);
    }

    #[test]
    fn force_up_over_quiesced_entry_edits() {
        let mut p = params(5, 0, 10);
        p.quiesce = true;
        let (s, _) = run(&p, &State::new(&p), &[P, F]);
        let (_, a) = transition(&p, &s, Event::ForceUp);
        assert_eq!(ipvs(&a), vec![IpvsOp::Edit { weight: 5 }]);
    }

    #[test]
    fn terminate_removes_entry_and_exits_zero() {
        let p = params(1, 0, 10);
        let (s, _) = transition(&p, &State::new(&p), P);
        let (_, a) = transition(&p, &s, Event::Terminate(15));
        assert_eq!(
            a,
            vec![
                Action::Log(Log::Terminating(15)),
                Action::Ipvs(IpvsOp::Delete),
                Action::ReportActive(false),
                Action::Exit(0)
            ]
        );
        let (_, a) = transition(&p, &State::new(&p), Event::Terminate(2));
        assert_eq!(a, vec![Action::Log(Log::Terminating(2)), Action::Exit(0)]);
    }

    #[test]
    fn fos_exits_when_partner_fails() {
        let mut p = params(1, 10, 10);
        p.kind = Kind::Fos;
        let (s, a) = run(&p, &State::new(&p), &[P]);
        assert!(s.active);
        assert!(a.contains(&Action::Log(Log::FosAvailable)));
        let (_, a) = transition(&p, &s, F);
        assert_eq!(a.last(), Some(&Action::Exit(0)));
        // Never seen up: the second failure triggers failover.
        let (s, a) = transition(&p, &State::new(&p), F);
        assert!(!a.contains(&Action::Exit(1)));
        let (_, a) = transition(&p, &s, F);
        assert_eq!(a.last(), Some(&Action::Exit(1)));
        assert!(ipvs(&a).is_empty());
    }
}
