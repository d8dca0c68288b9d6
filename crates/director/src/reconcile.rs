//! From the kernel's table to the desired one, changing only what differs.
//!
//! [`plan`] is pure: it compares a [`DesiredTable`] with a dump of the
//! kernel and lists the writes. It touches only services this router owns:
//! those in the desired table, plus those the caller says it installed
//! earlier (so a virtual removed from `lvs.cf` is deleted). Any other service
//! in the kernel belongs to someone else and is never written. Inside an
//! owned service every destination is ours: one nobody wants is removed.
//!
//! Order of the writes: services that are gone, then per kept service its
//! settings, removed, changed and new destinations, then new services with
//! their destinations. A changed scheduler or persistence is one edit in
//! place, never delete and re-add, so connections and templates survive.

use std::collections::{HashMap, HashSet};

use ipvs::{Change, Destination, DestinationKey, IpvsError, IpvsTable, ServiceEntry, ServiceKey};

use crate::desired::{DesiredDestination, DesiredTable};

/// The writes that turn the kernel's table into the desired one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Each write, with the virtual server it is for (`None` when the
    /// virtual is no longer in `lvs.cf`).
    pub steps: Vec<Step>,
}

/// One write of a [`Plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The write.
    pub change: Change,
    /// Name of the virtual server it belongs to, if still configured.
    pub virtual_name: Option<String>,
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Number of writes.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// The writes alone.
    pub fn changes(&self) -> Vec<Change> {
        self.steps.iter().map(|s| s.change.clone()).collect()
    }
}

/// The writes that make `current` (a kernel dump) into `desired`.
///
/// `previously_owned` are the services this router installed before (from
/// an earlier configuration); those no longer desired are deleted. Timeouts
/// are written only when `desired` sets them and `current_timeouts` differs
/// in a value the configuration sets.
pub fn plan(
    desired: &DesiredTable,
    current: &[ServiceEntry],
    previously_owned: &HashSet<ServiceKey>,
    current_timeouts: Option<ipvs::Timeouts>,
) -> Plan {
    let mut steps = Vec::new();
    let by_key: HashMap<ServiceKey, &ServiceEntry> =
        current.iter().map(|e| (e.service.key, e)).collect();
    let wanted = desired.keys();

    if let Some(t) = desired.timeouts {
        let differs = match current_timeouts {
            None => true,
            Some(c) => {
                (t.tcp != 0 && t.tcp != c.tcp)
                    || (t.tcp_fin != 0 && t.tcp_fin != c.tcp_fin)
                    || (t.udp != 0 && t.udp != c.udp)
            }
        };
        if differs {
            steps.push(Step {
                change: Change::SetTimeouts(t),
                virtual_name: None,
            });
        }
    }

    // Services we installed and no longer want, in the kernel's order.
    for entry in current {
        let key = entry.service.key;
        if previously_owned.contains(&key) && !wanted.contains(&key) {
            steps.push(Step {
                change: Change::DeleteService(key),
                virtual_name: None,
            });
        }
    }

    let mut new_services = Vec::new();
    for ds in &desired.services {
        let name = Some(ds.virtual_name.clone());
        let key = ds.service.key;
        let step = |change| Step {
            change,
            virtual_name: name.clone(),
        };
        let Some(entry) = by_key.get(&key) else {
            new_services.push(step(Change::AddService(ds.service.clone())));
            for d in &ds.destinations {
                if let DesiredDestination::Present { destination, .. } = d {
                    new_services.push(step(Change::AddDestination {
                        service: key,
                        destination: destination.clone(),
                    }));
                }
            }
            continue;
        };

        if entry.service != ds.service {
            steps.push(step(Change::EditService(ds.service.clone())));
        }
        let have: HashMap<DestinationKey, &Destination> = entry
            .destinations
            .iter()
            .map(|d| (d.destination.key(), &d.destination))
            .collect();
        let keep: HashSet<DestinationKey> = ds.destinations.iter().map(|d| d.key()).collect();
        for d in &entry.destinations {
            let dk = d.destination.key();
            if !keep.contains(&dk) {
                steps.push(step(Change::DeleteDestination {
                    service: key,
                    destination: dk,
                }));
            }
        }
        for d in &ds.destinations {
            let DesiredDestination::Present { destination, .. } = d else {
                continue;
            };
            match have.get(&destination.key()) {
                Some(current) if *current == destination => {}
                Some(_) => steps.push(step(Change::EditDestination {
                    service: key,
                    destination: destination.clone(),
                })),
                None => steps.push(step(Change::AddDestination {
                    service: key,
                    destination: destination.clone(),
                })),
            }
        }
    }
    steps.extend(new_services);
    Plan { steps }
}

/// What applying a plan did.
#[derive(Debug)]
pub struct ApplyReport {
    /// Each step with its result, in plan order.
    pub results: Vec<(Step, Result<(), IpvsError>)>,
}

impl ApplyReport {
    /// Writes the kernel accepted.
    pub fn succeeded(&self) -> usize {
        self.results.iter().filter(|(_, r)| r.is_ok()).count()
    }

    /// Steps that failed, with their errors.
    pub fn failures(&self) -> impl Iterator<Item = (&Step, &IpvsError)> {
        self.results
            .iter()
            .filter_map(|(s, r)| r.as_ref().err().map(|e| (s, e)))
    }

    /// Virtual servers whose service could not be added (for example, a
    /// scheduler the running kernel lacks). Their destinations failed with
    /// them; the caller logs and skips these virtuals, the others run.
    pub fn failed_services(&self) -> Vec<(&str, &IpvsError)> {
        self.results
            .iter()
            .filter_map(|(s, r)| match (&s.change, r, &s.virtual_name) {
                (Change::AddService(_) | Change::EditService(_), Err(e), Some(name)) => {
                    Some((name.as_str(), e))
                }
                _ => None,
            })
            .collect()
    }
}

/// The services this router installed or adopted: what [`plan`] may delete
/// when they are no longer desired. Nothing else in the kernel is ever
/// written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ownership(HashSet<ServiceKey>);

impl Ownership {
    /// The owned services' keys, for [`plan`].
    pub fn keys(&self) -> &HashSet<ServiceKey> {
        &self.0
    }

    /// Whether `key` is owned.
    pub fn contains(&self, key: &ServiceKey) -> bool {
        self.0.contains(key)
    }

    /// Book what an applied plan did: a service added or edited is ours, a
    /// service deleted is not any more.
    pub fn record(&mut self, report: &ApplyReport) {
        for (step, result) in &report.results {
            if result.is_err() {
                continue;
            }
            match &step.change {
                Change::AddService(s) | Change::EditService(s) => {
                    self.0.insert(s.key);
                }
                Change::DeleteService(k) => {
                    self.0.remove(k);
                }
                _ => {}
            }
        }
    }

    /// Services that are desired and already in the kernel (`current`, the
    /// dump the plan was made against) are ours too: a restarted lvsd adopts
    /// them without a write.
    pub fn adopt(&mut self, desired: &DesiredTable, current: &[ServiceEntry]) {
        for s in &desired.services {
            if current.iter().any(|c| c.service.key == s.service.key) {
                self.0.insert(s.service.key);
            }
        }
    }
}

/// Apply a plan as one batch; one failing write does not stop the others.
pub fn apply(table: &mut dyn IpvsTable, plan: &Plan) -> ApplyReport {
    if plan.is_empty() {
        return ApplyReport {
            results: Vec::new(),
        };
    }
    let changes = plan.changes();
    let mut results = table.apply(&changes);
    // The trait promises one result per change; anything missing is an
    // error of the implementation, not a success.
    results.resize_with(changes.len(), || {
        Err(IpvsError::Io(std::io::Error::other(
            "no reply for this change",
        )))
    });
    ApplyReport {
        results: plan.steps.iter().cloned().zip(results).collect(),
    }
}

/// One change as the ipvsadm command line that makes it: what `lvsd -t`
/// logs and `lvsd --diff` prints.
pub fn ipvsadm_line(change: &Change) -> String {
    use ipvs::save::{destination_line, service_key, service_line, sockaddr};
    match change {
        Change::AddService(s) => service_line(s),
        Change::EditService(s) => format!("-E{}", &service_line(s)[2..]),
        Change::DeleteService(k) => format!("-D {}", service_key(k)),
        Change::AddDestination {
            service,
            destination,
        } => destination_line(service, destination),
        Change::EditDestination {
            service,
            destination,
        } => format!("-e{}", &destination_line(service, destination)[2..]),
        Change::DeleteDestination {
            service,
            destination,
        } => format!(
            "-d {} -r {}",
            service_key(service),
            sockaddr(destination.addr, destination.port)
        ),
        Change::Flush => "-C".to_owned(),
        Change::Zero(None) => "-Z".to_owned(),
        Change::Zero(Some(k)) => format!("-Z {}", service_key(k)),
        Change::SetTimeouts(t) => format!("--set {} {} {}", t.tcp, t.tcp_fin, t.udp),
        Change::StartDaemon(d) => format!(
            "--start-daemon {} --mcast-interface {} --syncid {}",
            state_word(d.state),
            d.mcast_ifn,
            d.syncid
        ),
        Change::StopDaemon(s) => format!("--stop-daemon {}", state_word(*s)),
    }
}

fn state_word(s: ipvs::DaemonState) -> &'static str {
    match s {
        ipvs::DaemonState::Master => "master",
        ipvs::DaemonState::Backup => "backup",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipvs::{Forwarding, Scheduler, Service};

    #[test]
    fn changes_as_ipvsadm_lines() {
        let key = ServiceKey::tcp("192.0.2.10".parse().expect("ip"), 80);
        let dest = Destination::new("198.51.100.2".parse().expect("ip"), 80, Forwarding::Masq, 3);
        let lines: Vec<String> = [
            Change::AddService(Service::new(key, Scheduler::WLC)),
            Change::EditService(Service::new(key, Scheduler::RR)),
            Change::AddDestination {
                service: key,
                destination: dest.clone(),
            },
            Change::EditDestination {
                service: key,
                destination: dest.clone(),
            },
            Change::DeleteDestination {
                service: key,
                destination: dest.key(),
            },
            Change::DeleteService(key),
            Change::DeleteService(ServiceKey::fwmark(ipvs::AddressFamily::Inet, 7)),
        ]
        .iter()
        .map(ipvsadm_line)
        .collect();
        assert_eq!(
            lines,
            [
                "-A -t 192.0.2.10:80 -s wlc",
                "-E -t 192.0.2.10:80 -s rr",
                "-a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 3",
                "-e -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 3",
                "-d -t 192.0.2.10:80 -r 198.51.100.2:80",
                "-D -t 192.0.2.10:80",
                "-D -f 7",
            ]
        );
    }
}
