//! The IPVS connection-sync daemon (`syncdaemon = 1`), pulse's only use of
//! IPVS: master on the active router, backup on the other. Through this
//! narrow trait, so pulse can never change a service or a destination
//! (lvsd stays the only writer of the table).

use ipvs::{DaemonState, IpvsTable, SyncDaemon};

/// Start and stop the sync daemon, nothing else.
pub trait SyncDaemons {
    /// Stop both, then start one as `state` on `iface` with `syncid`, as
    /// the original's three `ipvsadm` calls. An error is the first failure
    /// of the start (stopping one that does not run is not a failure).
    fn restart(&mut self, state: DaemonState, iface: &str, syncid: u8) -> Result<(), String>;
}

/// Over the kernel's IPVS (or `None`: IPVS unavailable, e.g. `-t` on a
/// host without the module; every restart then fails with that reason).
pub struct Kernel(pub Option<Box<dyn IpvsTable>>);

impl SyncDaemons for Kernel {
    fn restart(&mut self, state: DaemonState, iface: &str, syncid: u8) -> Result<(), String> {
        let Some(table) = self.0.as_mut() else {
            return Err("IPVS is not available".to_owned());
        };
        let _ = table.stop_daemon(DaemonState::Backup);
        let _ = table.stop_daemon(DaemonState::Master);
        table
            .start_daemon(&SyncDaemon::new(state, iface, u32::from(syncid)))
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_leaves_exactly_the_asked_daemon() {
        let table = ipvs::MemoryIpvs::new().with_interfaces(["eth0", "eth1"]);
        let mut k = Kernel(Some(Box::new(table)));
        k.restart(DaemonState::Backup, "eth0", 7).expect("backup");
        k.restart(DaemonState::Master, "eth1", 7).expect("master");
        let daemons = k.0.as_mut().expect("table").daemons().expect("list");
        assert_eq!(daemons.len(), 1, "{daemons:?}");
        assert_eq!(daemons[0].state, DaemonState::Master);
        assert_eq!(daemons[0].mcast_ifn, "eth1");
        assert_eq!(daemons[0].syncid, 7);
    }

    #[test]
    fn without_ipvs_it_fails_with_the_reason() {
        let err = Kernel(None)
            .restart(DaemonState::Master, "eth0", 0)
            .unwrap_err();
        assert!(err.contains("IPVS"));
    }
}
