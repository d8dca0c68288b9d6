//! The benchmark table: VIRTUALS virtual servers of SERVERS real servers
//! each, as lvs.cf and as the equivalent keepalived.conf, so that lvsd and
//! keepalived program the same kernel table.
//!
//! Documentation addresses only. Virtual `v`: 203.0.113.(1 + v % 250), TCP
//! port 1000 + v / 250, scheduler wlc, NAT. Real server `n`
//! (n = v * SERVERS + r): 198.51.100.(1 + n % 250), port 10000 + n / 250, so
//! that 36,800 real servers are distinct (address, port) pairs on 148 ports.
//! Every weight is 1 except the watched one, real server 0 of virtual
//! VIRTUALS / 2, whose weight is the caller's. A server whose check fails
//! stays in the table at weight 0 on both sides (`quiesce_server = 1`,
//! `inhibit_on_failure`), so the table's size does not depend on how well
//! the checks keep up with a loaded guest.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

/// Where real servers start listening.
pub const FIRST_PORT: u16 = 10_000;

/// The generated table's shape.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub virtuals: usize,
    pub servers: usize,
    /// Health-check interval in seconds (nanny `timeout`, keepalived
    /// `delay_loop`).
    pub interval: u32,
}

impl Table {
    pub fn vip(v: usize) -> (Ipv4Addr, u16) {
        let last = u8::try_from(1 + v % 250).expect("1..=250");
        let port = u16::try_from(1000 + v / 250).expect("port");
        (Ipv4Addr::new(203, 0, 113, last), port)
    }

    pub fn real(n: usize) -> (Ipv4Addr, u16) {
        let last = u8::try_from(1 + n % 250).expect("1..=250");
        let port = FIRST_PORT + u16::try_from(n / 250).expect("port");
        (Ipv4Addr::new(198, 51, 100, last), port)
    }

    /// How many listening ports the real servers need.
    pub fn ports(&self) -> usize {
        (self.virtuals * self.servers).div_ceil(250)
    }

    /// The watched virtual and real server (address, port).
    pub fn watched(&self) -> ((IpAddr, u16), (IpAddr, u16)) {
        let v = self.virtuals / 2;
        let (vip, vport) = Self::vip(v);
        let (rip, rport) = Self::real(v * self.servers);
        ((IpAddr::V4(vip), vport), (IpAddr::V4(rip), rport))
    }

    fn weight(&self, v: usize, r: usize, watched: u32) -> u32 {
        if v == self.virtuals / 2 && r == 0 {
            watched
        } else {
            1
        }
    }

    /// lvs.cf. `nanny`: the monitor program (`client_monitor`), or `None`
    /// for the default; `shared`: `nanny_mode = shared`.
    pub fn lvs_cf(&self, watched: u32, nanny: Option<&str>, shared: bool) -> String {
        let mut s = String::with_capacity(self.virtuals * (300 + self.servers * 100));
        s.push_str("network = nat\n");
        if shared {
            s.push_str("nanny_mode = shared\n");
        }
        for v in 0..self.virtuals {
            let (vip, port) = Self::vip(v);
            let _ = write!(
                s,
                "virtual v{v} {{\n    active = 1\n    address = {vip} eth0:1\n    port = {port}\n    scheduler = wlc\n    timeout = {}\n    quiesce_server = 1\n",
                self.interval
            );
            if let Some(path) = nanny {
                let _ = writeln!(s, "    client_monitor = {path}");
            }
            for r in 0..self.servers {
                let (addr, rport) = Self::real(v * self.servers + r);
                let _ = write!(
                    s,
                    "    server r{r} {{\n        address = {addr}\n        active = 1\n        weight = {}\n        port = {rport}\n    }}\n",
                    self.weight(v, r, watched)
                );
            }
            s.push_str("}\n");
        }
        s
    }

    /// keepalived.conf with the same services and a TCP_CHECK per real
    /// server at the same interval (checker process only: no VRRP).
    pub fn keepalived_conf(&self, watched: u32) -> String {
        let mut s = String::with_capacity(self.virtuals * (200 + self.servers * 110));
        s.push_str("global_defs {\n    router_id lvsd-bench\n}\n");
        for v in 0..self.virtuals {
            let (vip, port) = Self::vip(v);
            let _ = write!(
                s,
                "virtual_server {vip} {port} {{\n    delay_loop {}\n    lb_algo wlc\n    lb_kind NAT\n    protocol TCP\n    inhibit_on_failure\n",
                self.interval
            );
            for r in 0..self.servers {
                let (addr, rport) = Self::real(v * self.servers + r);
                let _ = write!(
                    s,
                    "    real_server {addr} {rport} {{\n        weight {}\n        TCP_CHECK {{\n            connect_timeout 5\n        }}\n    }}\n",
                    self.weight(v, r, watched)
                );
            }
            s.push_str("}\n");
        }
        s
    }
}
