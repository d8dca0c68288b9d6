//! When to announce: piranha's pulse sends each address's gratuitous ARP
//! 5 times, 1 s apart, the first at once (`sendArps`: `send_arp` then
//! `sleep(1)`, five times). [`Schedule`] is that policy, [`Announcer`] one
//! run of it. Both are pure: the caller passes the current time and does
//! the sending, so pulse drives them from its own loop and tests need no
//! clock.

use std::time::{Duration, Instant};

/// How many announcements, how far apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    count: u32,
    interval: Duration,
}

impl Default for Schedule {
    /// The original's 5 × 1 s.
    fn default() -> Schedule {
        Schedule::ORIGINAL
    }
}

impl Schedule {
    /// piranha's pulse: 5 announcements, 1 s apart.
    pub const ORIGINAL: Schedule = Schedule {
        count: 5,
        interval: Duration::from_secs(1),
    };

    /// `count` announcements (0 means none), the first at once and each
    /// next one `interval` after the previous.
    pub const fn new(count: u32, interval: Duration) -> Schedule {
        Schedule { count, interval }
    }

    /// Number of announcements.
    pub const fn count(&self) -> u32 {
        self.count
    }

    /// Time between two announcements.
    pub const fn interval(&self) -> Duration {
        self.interval
    }

    /// The planned send times as offsets from the start: 0, interval,
    /// 2 × interval, … (`count` values).
    pub fn offsets(&self) -> impl Iterator<Item = Duration> + '_ {
        (0..self.count).map(|n| self.interval * n)
    }

    /// Starts one run of the schedule at `now`: the first announcement is
    /// due at once.
    pub fn start(self, now: Instant) -> Announcer {
        Announcer {
            schedule: self,
            sent: 0,
            next: now,
        }
    }
}

/// What the caller should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Send the announcement now (the [`Announcer`] counts it as sent).
    Send,
    /// Nothing before this instant; poll again then.
    WaitUntil(Instant),
    /// All announcements sent.
    Done,
}

/// One run of a [`Schedule`]: which announcement is next and when.
///
/// The next one is due `interval` after the previous one was actually
/// sent (as the original's `sleep(1)`), so a late poll delays the rest
/// instead of sending a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announcer {
    schedule: Schedule,
    sent: u32,
    next: Instant,
}

impl Announcer {
    /// Decides at `now`: [`Step::Send`] (and counts it) when the next
    /// announcement is due, else when to come back, or that all are done.
    pub fn poll(&mut self, now: Instant) -> Step {
        if self.sent >= self.schedule.count {
            return Step::Done;
        }
        if now < self.next {
            return Step::WaitUntil(self.next);
        }
        self.sent += 1;
        self.next = now + self.schedule.interval;
        Step::Send
    }

    /// When the next announcement is due, `None` once all are sent.
    pub fn next_due(&self) -> Option<Instant> {
        (self.sent < self.schedule.count).then_some(self.next)
    }

    /// How many have been sent.
    pub fn sent(&self) -> u32 {
        self.sent
    }

    /// True once all are sent.
    pub fn is_done(&self) -> bool {
        self.sent >= self.schedule.count
    }

    /// The schedule this run follows.
    pub fn schedule(&self) -> Schedule {
        self.schedule
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn default_is_five_one_second_apart_first_at_once() {
        let s = Schedule::default();
        assert_eq!((s.count(), s.interval()), (5, S));
        let offsets: Vec<_> = s.offsets().collect();
        assert_eq!(offsets, [0, 1, 2, 3, 4].map(|n| S * n));
    }

    #[test]
    fn announcer_follows_the_schedule() {
        let t0 = Instant::now();
        let mut a = Schedule::default().start(t0);
        let mut sent_at = Vec::new();
        // Poll every 100 ms for 10 s: exactly the five planned sends.
        for tick in 0..100u32 {
            let now = t0 + Duration::from_millis(100) * tick;
            match a.poll(now) {
                Step::Send => sent_at.push(now - t0),
                Step::WaitUntil(t) => assert!(t > now),
                Step::Done => {}
            }
        }
        assert_eq!(sent_at, [0, 1, 2, 3, 4].map(|n| S * n));
        assert!(a.is_done());
        assert_eq!(a.next_due(), None);
        assert_eq!(a.poll(t0 + S * 60), Step::Done);
    }

    #[test]
    fn waits_report_the_due_time_and_late_polls_do_not_burst() {
        let t0 = Instant::now();
        let mut a = Schedule::new(3, Duration::from_millis(200)).start(t0);
        assert_eq!(a.next_due(), Some(t0));
        assert_eq!(a.poll(t0), Step::Send);
        let due = t0 + Duration::from_millis(200);
        assert_eq!(a.poll(t0), Step::WaitUntil(due));
        assert_eq!(a.next_due(), Some(due));
        // Polled 1 s late: one send now, the next a full interval later.
        let late = t0 + Duration::from_millis(1200);
        assert_eq!(a.poll(late), Step::Send);
        assert_eq!(
            a.poll(late),
            Step::WaitUntil(late + Duration::from_millis(200))
        );
        assert_eq!(a.sent(), 2);
    }

    #[test]
    fn zero_count_sends_nothing() {
        let t0 = Instant::now();
        let mut a = Schedule::new(0, S).start(t0);
        assert_eq!(a.poll(t0), Step::Done);
        assert_eq!(Schedule::new(0, S).offsets().count(), 0);
    }
}
