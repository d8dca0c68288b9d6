//! Random field changes on random panels of the corpus: every line the
//! change does not name stays byte for byte, and the file parses to the
//! old model with that one value changed.

mod common;

use std::net::IpAddr;

use common::*;
use lvscf::{Config, Forwarding, OfflineResolver, Protocol, Scheduler, Seconds, parse_with};
use panels::{Field, FieldKind, PanelId, edits};
use proptest::prelude::*;

/// A value for a field, from `seed`: blank sometimes, else one its kind
/// takes (and sometimes one it refuses).
fn value_for(f: &Field, seed: u32) -> String {
    let k = seed as usize;
    if seed.is_multiple_of(11) {
        return String::new();
    }
    match &f.kind {
        FieldKind::Checkbox => ["0", "1"][k % 2].to_owned(),
        FieldKind::Select(c) | FieldKind::Radio(c) => c[k % c.len()].value.clone(),
        FieldKind::Number { min, step, .. } => {
            // Every editable number starts at 0, 0.001 or 1.
            let n = i64::from(*min >= 1.0) + i64::from(seed % 500);
            if *step < 1.0 && seed.is_multiple_of(3) {
                format!("{n}.25")
            } else {
                n.to_string()
            }
        }
        FieldKind::Text => {
            let pick = |v: &[&str]| v[k % v.len()].to_owned();
            match f.name {
                "primary" | "primary_private" | "backup" | "backup_private" | "nat_router"
                | "address" | "master" | "sorry_server" => {
                    pick(&["192.0.2.7", "198.51.100.9", "2001:db8::5", "192.0.2.300"])
                }
                "device" | "nat_router_device" | "syncd_iface" => {
                    pick(&["eth1:3", "eth0", "bad dev"])
                }
                "port" | "heartbeat_port" => pick(&["443", "8080", "http", "0"]),
                "name" => pick(&["n1", "two words", "x.y"]),
                "dirs" => pick(&["a b", "c"]),
                "send" | "expect" => pick(&["GET / HTTP/1.0\\r\\n", "OK", "a \"q\"", "bad\\d"]),
                "weight" | "tcp_timeout" | "syncd_id" | "arp_count" | "fwmark" | "persistent" => {
                    pick(&["3", "12", "-4"])
                }
                "keepalive" | "deadtime" | "timeout" | "reentry" | "arp_interval" => {
                    pick(&["4", "0.5", "0"])
                }
                _ => pick(&["/usr/local/bin/x", "/bin/echo hello", "plain"]),
            }
        }
    }
}

fn secs(v: &str) -> Option<Seconds> {
    v.parse().ok()
}

/// The old model with one field set (`None` = unset), for the fields whose
/// model value is plain; `None` for the others (their panel is compared
/// instead).
fn expected(c: &Config, id: &PanelId, field: &str, v: Option<&str>) -> Option<Config> {
    let mut c = c.clone();
    let d = Config::default();
    match id {
        PanelId::Global | PanelId::Redundancy => match field {
            "keepalive" => {
                c.keepalive = v.map_or(Some(d.keepalive), |v| secs(v).map(|s| s.as_duration()))?
            }
            "deadtime" => {
                c.deadtime = v.map_or(Some(d.deadtime), |v| secs(v).map(|s| s.as_duration()))?
            }
            "arp_interval" => {
                c.arp_interval =
                    v.map_or(Some(d.arp_interval), |v| secs(v).map(|s| s.as_duration()))?
            }
            "heartbeat_port" => c.heartbeat_port = v.map_or(Some(539), |v| v.parse().ok())?,
            "tcp_timeout" => c.tcp_timeout = v.map_or(Some(0), |v| v.parse().ok())?,
            "tcpfin_timeout" => c.tcpfin_timeout = v.map_or(Some(0), |v| v.parse().ok())?,
            "udp_timeout" => c.udp_timeout = v.map_or(Some(0), |v| v.parse().ok())?,
            "syncd_id" => c.syncd_id = v.map_or(Some(0), |v| v.parse().ok())?,
            "arp_count" => c.arp_count = v.map_or(Some(d.arp_count), |v| v.parse().ok())?,
            "syncdaemon" => c.syncdaemon = v == Some("1"),
            "hot_standby" => c.hot_standby = v == Some("1"),
            "monitor_links" => c.monitor_links = v == Some("1"),
            "hard_shutdown" => c.hard_shutdown = v.is_none_or(|v| v == "1"),
            "syncd_iface" => c.syncd_iface = v.unwrap_or(&d.syncd_iface).to_owned(),
            "rsh_command" => c.rsh_command = v.unwrap_or(&d.rsh_command).to_owned(),
            "network" => c.network = Forwarding::from_keyword(v.unwrap_or("nat"))?,
            _ => return None,
        },
        PanelId::Virtual(name) => {
            let vs = c.virtuals.iter_mut().find(|x| x.name == *name)?;
            let dv = lvscf::VirtualServer::new("");
            match field {
                "scheduler" => vs.scheduler = Scheduler::from_keyword(v.unwrap_or("wlc"))?,
                "protocol" => vs.protocol = Protocol::from_keyword(v.unwrap_or("tcp"))?,
                "persistent" => vs.persistent = v.map_or(Some(0), |v| v.parse().ok())?,
                "timeout" => vs.timeout = v.map_or(Some(dv.timeout), secs)?,
                "reentry" => vs.reentry = v.map_or(Some(dv.reentry), secs)?,
                "active" => vs.active = v == Some("1"),
                "quiesce_server" => vs.quiesce_server = v == Some("1"),
                "fwmark" => {
                    vs.fwmark = match v {
                        None => None,
                        Some(v) => Some(v.parse::<u32>().ok()?).filter(|m| *m != 0),
                    }
                }
                "sorry_server" => {
                    vs.sorry_server = v.map(|v| v.parse::<IpAddr>()).transpose().ok()?
                }
                "client_monitor" => vs.client_monitor = v.unwrap_or(&dv.client_monitor).to_owned(),
                _ => return None,
            }
        }
        PanelId::Real { virtual_name, name } => {
            let vs = c.virtuals.iter_mut().find(|x| x.name == *virtual_name)?;
            let s = vs.servers.iter_mut().find(|x| x.name == *name)?;
            match field {
                "weight" => s.weight = v.map_or(Some(1), |v| v.parse().ok())?,
                "active" => s.active = v == Some("1"),
                "address" => s.address = v?.parse().ok()?,
                "port" => s.port = v?.parse().ok()?,
                _ => return None,
            }
        }
        _ => return None,
    }
    Some(c)
}

/// Lines before and after: all equal but at most one on each side.
fn one_line_region(old: &str, new: &str) -> bool {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    a.len() - prefix - suffix <= 1 && b.len() - prefix - suffix <= 1
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_field_changes(file in 0usize..64, steps in prop::collection::vec((any::<u32>(), any::<u32>(), any::<u32>()), 1..4)) {
        let files = valid_files();
        let (fname, text) = &files[file % files.len()];
        let mut d = doc(text);
        for (pi, fi, vi) in steps {
            let ids: Vec<PanelId> = panel_ids(&d)
                .into_iter()
                .filter(|id| !matches!(id, PanelId::Virtuals | PanelId::Reals(_) | PanelId::Failovers))
                .collect();
            let id = &ids[pi as usize % ids.len()];
            let p = get(&d, id);
            let fields: Vec<&Field> = p.fields().filter(|f| !f.read_only).collect();
            let f = fields[fi as usize % fields.len()];
            let v = value_for(f, vi);
            let before = d.text().to_owned();
            let old_model = d.config().cloned();
            match edits(&d, id, &[(f.name.to_owned(), v.clone())]) {
                Err(errs) => {
                    prop_assert!(!errs.is_empty());
                    for e in &errs {
                        prop_assert!(!e.message.is_empty());
                    }
                }
                Ok(e) => {
                    d.apply(&e).map_err(|x| TestCaseError::fail(format!("{fname} {id} {}={v}: tried edits refused: {x}", f.name)))?;
                    let now = d.text().to_owned();
                    prop_assert!(one_line_region(&before, &now), "{fname} {id} {}={v}:\n{before}\n----\n{now}", f.name);
                    let parsed = parse_with(&now, &OfflineResolver);
                    prop_assert!(!parsed.has_errors());
                    let new_model = parsed.config.expect("loads");
                    if e.is_empty() {
                        prop_assert_eq!(&before, &now);
                        continue;
                    }
                    let set = (!v.trim().is_empty()).then_some(v.trim());
                    if let Some(old) = &old_model
                        && let Some(want) = expected(old, id, f.name, set)
                    {
                        prop_assert_eq!(&new_model, &want, "{} {} {}={}", fname, id, f.name, v);
                    }
                    // Every other field of the panel reads as before.
                    let id2 = match (f.name, id) {
                        ("name", PanelId::Virtual(_)) => PanelId::Virtual(v.clone()),
                        ("name", PanelId::Failover(_)) => PanelId::Failover(v.clone()),
                        ("name", PanelId::Real { virtual_name, .. }) => PanelId::Real { virtual_name: virtual_name.clone(), name: v.clone() },
                        _ => id.clone(),
                    };
                    let p2 = get(&d, &id2);
                    for g in p2.fields() {
                        let was = p.field(g.name).expect("same fields");
                        if g.address != f.address && g.name != "name" {
                            prop_assert_eq!(&g.value, &was.value, "{} {}: {} moved", fname, f.name, g.name);
                        }
                    }
                }
            }
        }
    }
}
