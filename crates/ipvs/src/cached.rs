//! A table that remembers what it read and wrote, so that a reconcile does
//! not dump the whole kernel table every time.
//!
//! [`CachedTable`] wraps any [`IpvsTable`]. Its [`list`](IpvsTable::list)
//! answers from memory: the last real dump, with every change since that the
//! inner table accepted applied to it the way the kernel applies it. A real
//! dump is made only
//!
//! * on the first `list()`,
//! * after [`invalidate_cache`](IpvsTable::invalidate_cache) (the owner's
//!   periodic drift check, or anyone who wants the kernel's own counters),
//! * after any write that failed or was not answered: the kernel may then
//!   hold something else than what was asked, so memory is not trusted;
//! * when the last real dump is older than the maximum age, if one is set
//!   ([`CachedTable::with_max_age`]): a bound on how long a change behind
//!   the owner's back can go unseen, whatever the owner does.
//!
//! What the memory cannot know: changes made behind the owner's back (by
//! `ipvsadm`, another daemon) until the next real dump, and counters
//! (connections, traffic), which stay as of the last real dump. Everything
//! else passes straight through.

use crate::IpvsTable;
use crate::error::IpvsError;
use crate::model::{
    Change, DestinationEntry, Info, ServiceEntry, ServiceKey, Stats, SyncDaemon, Timeouts,
};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The kernel's table as last dumped plus every accepted change since.
#[derive(Debug, Clone, Default)]
struct Mirror {
    services: Vec<ServiceEntry>,
    /// Position of each service in `services`.
    index: HashMap<ServiceKey, usize>,
}

impl Mirror {
    fn new(services: Vec<ServiceEntry>) -> Self {
        let mut m = Mirror {
            services,
            index: HashMap::new(),
        };
        m.reindex();
        m
    }

    fn reindex(&mut self) {
        self.index = self
            .services
            .iter()
            .enumerate()
            .map(|(i, e)| (e.service.key, i))
            .collect();
    }

    fn get_mut(&mut self, key: &ServiceKey) -> Option<&mut ServiceEntry> {
        let i = *self.index.get(key)?;
        self.services.get_mut(i)
    }

    /// Apply one change the kernel accepted. `false` when the mirror cannot
    /// follow it (the kernel accepted something the mirror thinks is
    /// impossible, e.g. a destination of a service it does not know): then
    /// the mirror is wrong and must be dropped.
    fn apply(&mut self, change: &Change) -> bool {
        match change {
            Change::AddService(service) => {
                if self.index.contains_key(&service.key) {
                    return false;
                }
                self.index.insert(service.key, self.services.len());
                self.services.push(ServiceEntry {
                    service: service.clone(),
                    stats: Stats::default(),
                    destinations: Vec::new(),
                });
            }
            Change::EditService(service) => {
                let Some(e) = self.get_mut(&service.key) else {
                    return false;
                };
                e.service = service.clone();
            }
            Change::DeleteService(key) => {
                let Some(i) = self.index.get(key).copied() else {
                    return false;
                };
                self.services.remove(i);
                self.reindex();
            }
            Change::AddDestination {
                service,
                destination,
            } => {
                let Some(e) = self.get_mut(service) else {
                    return false;
                };
                let key = destination.key();
                if e.destinations.iter().any(|d| d.destination.key() == key) {
                    return false;
                }
                // Newest first, as the kernel lists them (`list_add_rcu`).
                e.destinations.insert(
                    0,
                    DestinationEntry {
                        destination: destination.clone(),
                        active_conns: 0,
                        inactive_conns: 0,
                        persist_conns: 0,
                        stats: Stats::default(),
                    },
                );
            }
            Change::EditDestination {
                service,
                destination,
            } => {
                let key = destination.key();
                let Some(d) = self.get_mut(service).and_then(|e| {
                    e.destinations
                        .iter_mut()
                        .find(|d| d.destination.key() == key)
                }) else {
                    return false;
                };
                // Settings change; counters and connections stay.
                d.destination = destination.clone();
            }
            Change::DeleteDestination {
                service,
                destination,
            } => {
                let Some(e) = self.get_mut(service) else {
                    return false;
                };
                let Some(j) = e
                    .destinations
                    .iter()
                    .position(|d| d.destination.key() == *destination)
                else {
                    return false;
                };
                e.destinations.remove(j);
            }
            Change::Flush => {
                self.services.clear();
                self.index.clear();
            }
            Change::Zero(which) => {
                for e in &mut self.services {
                    if which.is_none_or(|k| k == e.service.key) {
                        e.stats = Stats::default();
                        for d in &mut e.destinations {
                            d.stats = Stats::default();
                        }
                    }
                }
            }
            // Not part of the listing.
            Change::SetTimeouts(_) | Change::StartDaemon(_) | Change::StopDaemon(_) => {}
        }
        true
    }
}

/// An [`IpvsTable`] whose `list()` answers from memory; see the module docs.
#[derive(Debug)]
pub struct CachedTable<T> {
    inner: T,
    /// The mirror and when its dump was made.
    mirror: Option<(Mirror, Instant)>,
    max_age: Option<Duration>,
    dumps: u64,
}

impl<T: IpvsTable> CachedTable<T> {
    /// Wrap `inner`; the first `list()` dumps it.
    pub fn new(inner: T) -> Self {
        CachedTable {
            inner,
            mirror: None,
            max_age: None,
            dumps: 0,
        }
    }

    /// Dump again on the first `list()` once the last dump is older than
    /// `age`.
    pub fn with_max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// The wrapped table.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped table, for changes the cache must not see (tests that
    /// play someone else writing behind the owner's back).
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Real dumps of the inner table made so far.
    pub fn dumps(&self) -> u64 {
        self.dumps
    }

    /// Whether the next `list()` is answered from memory.
    pub fn is_cached(&self) -> bool {
        self.mirror.is_some()
    }
}

impl<T: IpvsTable> IpvsTable for CachedTable<T> {
    fn info(&mut self) -> Result<Info, IpvsError> {
        self.inner.info()
    }

    fn list(&mut self) -> Result<Vec<ServiceEntry>, IpvsError> {
        if let Some((m, at)) = &self.mirror
            && self.max_age.is_none_or(|age| at.elapsed() < age)
        {
            return Ok(m.services.clone());
        }
        self.mirror = None;
        self.dumps += 1;
        let at = Instant::now();
        let services = self.inner.list()?;
        self.mirror = Some((Mirror::new(services.clone()), at));
        Ok(services)
    }

    fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        self.inner.timeouts()
    }

    fn daemons(&mut self) -> Result<Vec<SyncDaemon>, IpvsError> {
        self.inner.daemons()
    }

    fn apply(&mut self, batch: &[Change]) -> Vec<Result<(), IpvsError>> {
        let results = self.inner.apply(batch);
        // Anything but one success per change: the kernel's table is not
        // known any more (a failed write may have been half done, a missing
        // answer may hide a success).
        let all_ok = results.len() == batch.len() && results.iter().all(Result::is_ok);
        if !all_ok {
            self.mirror = None;
            return results;
        }
        if let Some((m, _)) = &mut self.mirror {
            for change in batch {
                if !m.apply(change) {
                    self.mirror = None;
                    break;
                }
            }
        }
        results
    }

    fn invalidate_cache(&mut self) {
        self.mirror = None;
        self.inner.invalidate_cache();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Destination, Forwarding, Scheduler, Service};
    use crate::{DestinationKey, MemoryIpvs};
    use std::net::{IpAddr, Ipv4Addr};

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, last))
    }

    fn key(port: u16) -> ServiceKey {
        ServiceKey::tcp(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), port)
    }

    /// Two services with two destinations each, written through the cache.
    fn filled() -> CachedTable<MemoryIpvs> {
        let mut t = CachedTable::new(MemoryIpvs::new());
        t.list().expect("list");
        let mut batch = Vec::new();
        for port in [80, 443] {
            batch.push(Change::AddService(Service::new(key(port), Scheduler::WLC)));
            for last in [2, 3] {
                batch.push(Change::AddDestination {
                    service: key(port),
                    destination: Destination::new(ip(last), port, Forwarding::Masq, 1),
                });
            }
        }
        assert!(t.apply(&batch).iter().all(Result::is_ok));
        t
    }

    /// What the cache says equals what the wrapped table says.
    fn assert_agrees(t: &mut CachedTable<MemoryIpvs>) {
        let cached = t.list().expect("cached list");
        let real = t.inner_mut().list().expect("real list");
        assert_eq!(cached, real);
    }

    #[test]
    fn list_after_writes_needs_no_dump_and_matches_the_table() {
        let mut t = filled();
        assert_eq!(t.dumps(), 1);
        assert_agrees(&mut t);
        let dest = Destination::new(ip(2), 80, Forwarding::Masq, 7);
        let batch = [
            Change::EditDestination {
                service: key(80),
                destination: dest,
            },
            Change::DeleteDestination {
                service: key(443),
                destination: DestinationKey {
                    addr: ip(3),
                    port: 443,
                },
            },
            Change::AddDestination {
                service: key(443),
                destination: Destination::new(ip(9), 443, Forwarding::Masq, 2),
            },
            Change::EditService(Service::new(key(443), Scheduler::RR)),
            Change::AddService(Service::new(key(8080), Scheduler::SH)),
            Change::DeleteService(key(80)),
            Change::Zero(None),
        ];
        assert!(t.apply(&batch).iter().all(Result::is_ok));
        assert_agrees(&mut t);
        assert_eq!(
            t.dumps(),
            1,
            "every list() after the first came from memory"
        );
        assert!(t.apply(&[Change::Flush]).iter().all(Result::is_ok));
        assert_agrees(&mut t);
        assert_eq!(t.dumps(), 1);
    }

    #[test]
    fn a_change_behind_its_back_is_seen_at_the_drift_check_and_repaired() {
        let mut t = filled();
        // Someone else (ipvsadm) lowers a weight and removes a destination.
        let behind = [
            Change::EditDestination {
                service: key(80),
                destination: Destination::new(ip(2), 80, Forwarding::Masq, 9),
            },
            Change::DeleteDestination {
                service: key(443),
                destination: DestinationKey {
                    addr: ip(2),
                    port: 443,
                },
            },
        ];
        assert!(t.inner_mut().apply(&behind).iter().all(Result::is_ok));
        let wanted = t.list().expect("cached");
        assert_ne!(
            wanted,
            t.inner_mut().list().expect("real"),
            "the cache must not see what happened behind it (or this test proves nothing)"
        );
        // The drift check: a real dump shows the change...
        t.invalidate_cache();
        let seen = t.list().expect("fresh");
        assert_eq!(t.dumps(), 2);
        let d80 = &seen.iter().find(|e| e.service.key == key(80)).expect("80");
        assert!(d80.destinations.iter().any(|d| d.destination.weight == 9));
        // ...and writing the difference (what reconcile's plan does) repairs it.
        let repair: Vec<Change> = vec![
            Change::EditDestination {
                service: key(80),
                destination: Destination::new(ip(2), 80, Forwarding::Masq, 1),
            },
            Change::AddDestination {
                service: key(443),
                destination: Destination::new(ip(2), 443, Forwarding::Masq, 1),
            },
        ];
        assert!(t.apply(&repair).iter().all(Result::is_ok));
        let after = t.list().expect("cached");
        let sorted = |v: Vec<ServiceEntry>| {
            v.into_iter()
                .map(|mut e| {
                    e.destinations.sort_by_key(|d| d.destination.key());
                    e
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(sorted(after.clone()), sorted(wanted));
        assert_eq!(after, t.inner_mut().list().expect("real"));
        assert_eq!(t.dumps(), 2);
    }

    #[test]
    fn a_dump_older_than_the_maximum_age_is_not_used() {
        let mut t = CachedTable::new(MemoryIpvs::new()).with_max_age(Duration::ZERO);
        t.list().expect("list");
        t.list().expect("list");
        assert_eq!(t.dumps(), 2);
        let mut t = CachedTable::new(MemoryIpvs::new()).with_max_age(Duration::from_secs(3600));
        t.list().expect("list");
        t.list().expect("list");
        assert_eq!(t.dumps(), 1);
    }

    #[test]
    fn a_failed_write_invalidates_the_cache() {
        let mut t = filled();
        // A destination of a service that does not exist: ESRCH.
        let results = t.apply(&[
            Change::EditDestination {
                service: key(80),
                destination: Destination::new(ip(3), 80, Forwarding::Masq, 4),
            },
            Change::AddDestination {
                service: key(9999),
                destination: Destination::new(ip(2), 9999, Forwarding::Masq, 1),
            },
        ]);
        assert!(results[0].is_ok());
        assert!(results[1].is_err());
        assert!(!t.is_cached());
        assert_agrees(&mut t);
        assert_eq!(t.dumps(), 2, "the list() after the failure read the table");
    }

    #[test]
    fn a_write_the_mirror_cannot_follow_invalidates_the_cache() {
        let mut t = filled();
        // Behind its back a service appears; then the owner writes into it.
        // The inner table accepts, the mirror does not know the service.
        let svc = Change::AddService(Service::new(key(25), Scheduler::RR));
        assert!(t.inner_mut().apply(&[svc]).iter().all(Result::is_ok));
        let add = Change::AddDestination {
            service: key(25),
            destination: Destination::new(ip(4), 25, Forwarding::Masq, 1),
        };
        assert!(t.apply(&[add]).iter().all(Result::is_ok));
        assert!(!t.is_cached());
        assert_agrees(&mut t);
    }

    /// A table that answers fewer results than changes (a lost ack).
    struct Short(MemoryIpvs);

    impl IpvsTable for Short {
        fn info(&mut self) -> Result<Info, IpvsError> {
            self.0.info()
        }
        fn list(&mut self) -> Result<Vec<ServiceEntry>, IpvsError> {
            self.0.list()
        }
        fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
            self.0.timeouts()
        }
        fn daemons(&mut self) -> Result<Vec<SyncDaemon>, IpvsError> {
            self.0.daemons()
        }
        fn apply(&mut self, batch: &[Change]) -> Vec<Result<(), IpvsError>> {
            let mut r = self.0.apply(batch);
            r.pop();
            r
        }
    }

    #[test]
    fn a_missing_answer_invalidates_the_cache() {
        let mut t = CachedTable::new(Short(MemoryIpvs::new()));
        t.list().expect("list");
        let r = t.apply(&[Change::AddService(Service::new(key(80), Scheduler::WLC))]);
        assert!(r.is_empty());
        assert!(!t.is_cached());
        assert_eq!(t.list().expect("list").len(), 1, "the real table has it");
    }

    #[test]
    fn writes_before_the_first_list_are_not_remembered_as_a_table() {
        let mut t = CachedTable::new(MemoryIpvs::new());
        let add = Change::AddService(Service::new(key(80), Scheduler::WLC));
        assert!(t.apply(&[add]).iter().all(Result::is_ok));
        assert!(!t.is_cached());
        assert_eq!(t.list().expect("list").len(), 1);
        assert_eq!(t.dumps(), 1);
    }
}
