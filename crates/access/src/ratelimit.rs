//! The login rate limit: per source address and per user name, so that
//! neither one machine trying many names nor many machines trying one
//! name get more than a few guesses.
//!
//! [`LoginLimits::max_failures`] failed logins within
//! [`LoginLimits::window`] lock that address (or name) for
//! [`LoginLimits::lockout`]; by default 5 in 5 minutes lock for 5
//! minutes. While locked, a login is refused before its password is
//! looked at, so a locked attacker learns nothing, not even from timing.
//! A successful login forgets the failures of its address and name.
//!
//! IPv6 sources count per /64 (one host usually has a whole /64 to pick
//! addresses from); IPv4-mapped IPv6 addresses count as the IPv4 address.
//!
//! Memory is bounded: each table holds at most
//! [`LoginLimits::capacity`] entries; when full, entries with nothing
//! left to remember go first, then the one idle longest that is not
//! locked. Pure over time: every call takes `now`.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

/// The limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failures within `window` that lock.
    pub max_failures: u32,
    /// The window failures are counted in, from the first.
    pub window: Duration,
    /// How long a lock lasts.
    pub lockout: Duration,
    /// Most addresses (and, apart, most names) tracked.
    pub capacity: usize,
}

impl Default for LoginLimits {
    /// 5 failures in 5 minutes lock for 5 minutes; 4096 entries a table.
    fn default() -> LoginLimits {
        LoginLimits {
            max_failures: 5,
            window: Duration::from_secs(300),
            lockout: Duration::from_secs(300),
            capacity: 4096,
        }
    }
}

/// Whether a login may be tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allowed,
    /// Refuse without checking the password.
    Locked {
        /// What is locked.
        by: LockedBy,
        /// Until the lock ends.
        retry_after: Duration,
    },
}

/// Which limit locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockedBy {
    /// The source address (or its /64).
    Source,
    /// The user name.
    User,
}

#[derive(Debug, Clone, Copy)]
struct Track {
    window_start: Instant,
    failures: u32,
    locked_until: Option<Instant>,
    last: Instant,
}

impl Track {
    fn locked(&self, now: Instant) -> Option<Duration> {
        self.locked_until
            .filter(|&t| now < t)
            .map(|t| t.duration_since(now))
    }

    /// Nothing to remember at `now`: no lock, no failure in a window.
    fn idle(&self, limits: &LoginLimits, now: Instant) -> bool {
        self.locked(now).is_none()
            && now.saturating_duration_since(self.window_start) >= limits.window
    }
}

#[derive(Debug)]
struct Table<K> {
    map: HashMap<K, Track>,
}

impl<K: Eq + Hash + Clone> Table<K> {
    fn new() -> Self {
        Table {
            map: HashMap::new(),
        }
    }

    fn locked(&self, k: &K, now: Instant) -> Option<Duration> {
        self.map.get(k).and_then(|t| t.locked(now))
    }

    /// Counts a failure; whether it locked `k` now.
    fn fail(&mut self, k: &K, limits: &LoginLimits, now: Instant) -> bool {
        if !self.map.contains_key(k) && self.map.len() >= limits.capacity {
            self.make_room(limits, now);
        }
        let t = self.map.entry(k.clone()).or_insert(Track {
            window_start: now,
            failures: 0,
            locked_until: None,
            last: now,
        });
        t.last = now;
        if t.locked(now).is_some() {
            return false;
        }
        if now.saturating_duration_since(t.window_start) >= limits.window {
            t.window_start = now;
            t.failures = 0;
        }
        t.failures = t.failures.saturating_add(1);
        if t.failures >= limits.max_failures {
            t.locked_until = Some(now + limits.lockout);
            t.failures = 0;
            t.window_start = now;
            return true;
        }
        false
    }

    fn forget(&mut self, k: &K) {
        self.map.remove(k);
    }

    fn make_room(&mut self, limits: &LoginLimits, now: Instant) {
        self.map.retain(|_, t| !t.idle(limits, now));
        while self.map.len() >= limits.capacity.max(1) {
            // Linear, but only when full, and the table is bounded.
            let victim = self
                .map
                .iter()
                .min_by_key(|(_, t)| (t.locked(now).is_some(), t.last))
                .map(|(k, _)| k.clone());
            match victim {
                Some(k) => self.map.remove(&k),
                None => break,
            };
        }
    }
}

/// What an address counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SourceKey {
    V4([u8; 4]),
    /// The /64.
    V6([u8; 8]),
}

fn source_key(addr: IpAddr) -> SourceKey {
    match addr {
        IpAddr::V4(a) => SourceKey::V4(a.octets()),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => SourceKey::V4(v4.octets()),
            None => SourceKey::V6(prefix64(a)),
        },
    }
}

fn prefix64(a: Ipv6Addr) -> [u8; 8] {
    let o = a.octets();
    [o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]]
}

/// Longest user name kept as a key; longer ones count as their first
/// 256 bytes (names are short; a client sending megabytes gets nothing).
const MAX_NAME: usize = 256;

fn user_key(user: &str) -> String {
    let mut end = user.len().min(MAX_NAME);
    while !user.is_char_boundary(end) {
        end -= 1;
    }
    user[..end].to_owned()
}

/// Failed logins per source and per user.
#[derive(Debug)]
pub struct LoginLimiter {
    limits: LoginLimits,
    by_source: Table<SourceKey>,
    by_user: Table<String>,
}

impl LoginLimiter {
    /// An empty limiter.
    pub fn new(limits: LoginLimits) -> LoginLimiter {
        LoginLimiter {
            limits,
            by_source: Table::new(),
            by_user: Table::new(),
        }
    }

    /// Whether a login of `user` from `source` may be tried at `now`.
    pub fn check(&self, source: IpAddr, user: &str, now: Instant) -> Verdict {
        if let Some(d) = self.by_source.locked(&source_key(source), now) {
            return Verdict::Locked {
                by: LockedBy::Source,
                retry_after: d,
            };
        }
        if let Some(d) = self.by_user.locked(&user_key(user), now) {
            return Verdict::Locked {
                by: LockedBy::User,
                retry_after: d,
            };
        }
        Verdict::Allowed
    }

    /// Counts a failed login; the verdict for the next try.
    pub fn failed(&mut self, source: IpAddr, user: &str, now: Instant) -> Verdict {
        self.by_source.fail(&source_key(source), &self.limits, now);
        self.by_user.fail(&user_key(user), &self.limits, now);
        self.check(source, user, now)
    }

    /// A login succeeded: forget the failures of its source and name.
    pub fn succeeded(&mut self, source: IpAddr, user: &str) {
        self.by_source.forget(&source_key(source));
        self.by_user.forget(&user_key(user));
    }

    /// Entries held (sources, users).
    pub fn len(&self) -> (usize, usize) {
        (self.by_source.map.len(), self.by_user.map.len())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn sec(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn five_failures_lock_the_source_for_five_minutes() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(LoginLimits::default());
        let a = ip("192.0.2.7");
        for i in 0..4 {
            // Different names: only the address adds up.
            assert_eq!(l.failed(a, &format!("u{i}"), t0 + sec(i)), Verdict::Allowed);
        }
        assert_eq!(
            l.failed(a, "u4", t0 + sec(4)),
            Verdict::Locked {
                by: LockedBy::Source,
                retry_after: sec(300)
            }
        );
        assert!(matches!(
            l.check(a, "anyone", t0 + sec(303)),
            Verdict::Locked {
                by: LockedBy::Source,
                ..
            }
        ));
        assert_eq!(
            l.check(ip("192.0.2.8"), "anyone", t0 + sec(5)),
            Verdict::Allowed
        );
        assert_eq!(l.check(a, "anyone", t0 + sec(304)), Verdict::Allowed);
    }

    #[test]
    fn five_failures_lock_the_name_from_any_address() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(LoginLimits::default());
        for i in 0..5u8 {
            l.failed(IpAddr::from([198, 51, 100, i]), "piranha", t0);
        }
        assert!(matches!(
            l.check(ip("203.0.113.1"), "piranha", t0 + sec(1)),
            Verdict::Locked {
                by: LockedBy::User,
                ..
            }
        ));
        assert_eq!(
            l.check(ip("203.0.113.1"), "alice", t0 + sec(1)),
            Verdict::Allowed
        );
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(LoginLimits::default());
        let a = ip("192.0.2.7");
        for i in 0..4 {
            l.failed(a, "u", t0 + sec(i));
        }
        // The window started at t0; this one starts a new one.
        assert_eq!(l.failed(a, "u", t0 + sec(301)), Verdict::Allowed);
        for i in 0..3 {
            assert_eq!(l.failed(a, "u", t0 + sec(302 + i)), Verdict::Allowed);
        }
        assert!(matches!(
            l.failed(a, "u", t0 + sec(310)),
            Verdict::Locked { .. }
        ));
    }

    #[test]
    fn success_forgets_failures() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(LoginLimits::default());
        let a = ip("192.0.2.7");
        for _ in 0..4 {
            l.failed(a, "piranha", t0);
        }
        l.succeeded(a, "piranha");
        assert_eq!(l.failed(a, "piranha", t0), Verdict::Allowed);
        assert_eq!(l.len(), (1, 1));
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(LoginLimits::default());
        for i in 0..5u16 {
            l.failed(
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, i)),
                &format!("u{i}"),
                t0,
            );
        }
        assert!(matches!(
            l.check(ip("2001:db8:0:1::ffff"), "x", t0),
            Verdict::Locked { .. }
        ));
        assert_eq!(l.check(ip("2001:db8:0:2::1"), "x", t0), Verdict::Allowed);
        for i in 0..5 {
            l.failed(ip("::ffff:192.0.2.9"), &format!("v{i}"), t0);
        }
        assert!(matches!(
            l.check(ip("192.0.2.9"), "x", t0),
            Verdict::Locked { .. }
        ));
    }

    #[test]
    fn a_full_table_keeps_locked_entries() {
        let t0 = Instant::now();
        let limits = LoginLimits {
            capacity: 4,
            ..LoginLimits::default()
        };
        let mut l = LoginLimiter::new(limits);
        for _ in 0..5 {
            l.failed(ip("192.0.2.1"), "piranha", t0);
        }
        // Many other names and addresses, once each.
        for i in 0..50u8 {
            l.failed(
                IpAddr::from([198, 51, 100, i]),
                &format!("n{i}"),
                t0 + sec(1),
            );
        }
        assert!(l.len().0 <= 4 && l.len().1 <= 4);
        assert!(matches!(
            l.check(ip("203.0.113.5"), "piranha", t0 + sec(2)),
            Verdict::Locked { .. }
        ));
        assert!(matches!(
            l.check(ip("192.0.2.1"), "x", t0 + sec(2)),
            Verdict::Locked { .. }
        ));
    }

    #[test]
    fn long_names_count_as_their_prefix() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(LoginLimits::default());
        let base = "é".repeat(200);
        for i in 0..5 {
            l.failed(IpAddr::from([198, 51, 100, i]), &format!("{base}{i}"), t0);
        }
        assert!(matches!(
            l.check(ip("203.0.113.5"), &format!("{base}zz"), t0),
            Verdict::Locked { .. }
        ));
    }

    proptest! {
        // Whatever the failures, neither table outgrows its capacity.
        #[test]
        fn bounded(capacity in 1usize..16, steps in proptest::collection::vec((any::<u8>(), 0u8..40, 0u64..30), 1..300)) {
            let t0 = Instant::now();
            let mut l = LoginLimiter::new(LoginLimits { capacity, ..LoginLimits::default() });
            let mut now = t0;
            for (a, u, dt) in steps {
                now += Duration::from_secs(dt);
                l.failed(IpAddr::from([192, 0, 2, a]), &format!("u{u}"), now);
                let (s, n) = l.len();
                prop_assert!(s <= capacity && n <= capacity);
            }
        }
    }
}
