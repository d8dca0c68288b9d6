//! Reload benchmark: what lvsd does on SIGHUP (parse lvs.cf, compute the
//! desired table, dump the kernel, diff, apply), timed, on a generated
//! configuration of VIRTUALS virtual servers with SERVERS real servers each.
//!
//! `bench_reload [--memory] VIRTUALS SERVERS`
//!
//! Steps: install the whole table (as a first start would), reload the
//! unchanged file, reload with one changed weight. Each reload reports its
//! wall time split into parse / desired+dump+plan / apply, and its writes.
//! Without `--memory` it programs the running kernel (run it in the guest:
//! bench/lvsd/run.sh); the table is flushed before and after.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::Instant;

use director::{AllHealthy, apply, desired_table, plan};
use ipvs::{IpvsTable, MemoryIpvs, NetlinkIpvs};

fn config(virtuals: usize, servers: usize, changed_weight: Option<u32>) -> String {
    let mut s = String::with_capacity(virtuals * (200 + servers * 90));
    s.push_str("network = direct\n");
    for v in 0..virtuals {
        // 203.0.113.0/24 has 254 hosts; spread virtuals over ports too.
        let vip = format!("203.0.113.{}", 1 + v % 250);
        let port = 1000 + v / 250;
        let _ = write!(
            s,
            "virtual v{v} {{\n    active = 1\n    address = {vip} eth0:1\n    port = {port}\n    scheduler = wlc\n"
        );
        for r in 0..servers {
            // A real server is unique within its virtual only, so every
            // virtual reuses 198.51.100.0/24, spread over ports past 250.
            let addr = format!("198.51.100.{}", 1 + r % 250);
            let weight = match changed_weight {
                Some(w) if v == virtuals / 2 && r == 0 => w,
                _ => 1,
            };
            let _ = write!(
                s,
                "    server r{r} {{\n        address = {addr}\n        active = 1\n        weight = {weight}\n        port = {}\n    }}\n",
                8000 + r / 250
            );
        }
        s.push_str("}\n");
    }
    s
}

struct Reload {
    parse_ms: f64,
    decide_ms: f64,
    apply_ms: f64,
    writes: usize,
    failed: usize,
}

fn reload(table: &mut dyn IpvsTable, text: &str, owned: &HashSet<ipvs::ServiceKey>) -> Reload {
    let t0 = Instant::now();
    let cfg = lvscf::parse_with(text, &lvscf::OfflineResolver)
        .config
        .expect("generated config is valid");
    let t1 = Instant::now();
    let desired = desired_table(&cfg, &AllHealthy);
    let current = table.list().expect("list");
    let timeouts = table.timeouts().ok();
    let p = plan(&desired, &current, owned, timeouts);
    let t2 = Instant::now();
    let report = apply(table, &p);
    let t3 = Instant::now();
    Reload {
        parse_ms: (t1 - t0).as_secs_f64() * 1e3,
        decide_ms: (t2 - t1).as_secs_f64() * 1e3,
        apply_ms: (t3 - t2).as_secs_f64() * 1e3,
        writes: p.len(),
        failed: report.failures().count(),
    }
}

fn print(label: &str, r: &Reload) {
    println!(
        "{label:<28} total {:>9.1} ms  (parse {:>8.1}, desired+dump+plan {:>8.1}, apply {:>8.1})  writes {:>6}  failed {}",
        r.parse_ms + r.decide_ms + r.apply_ms,
        r.parse_ms,
        r.decide_ms,
        r.apply_ms,
        r.writes,
        r.failed
    );
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let memory = args.first().is_some_and(|a| a == "--memory");
    if memory {
        args.remove(0);
    }
    let n = |i: usize, d: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    let (virtuals, servers) = (n(0, 1000), n(1, 4));
    let mut table: Box<dyn IpvsTable> = if memory {
        Box::new(MemoryIpvs::new())
    } else {
        Box::new(NetlinkIpvs::new().expect("IPVS"))
    };
    table.flush().expect("flush");
    println!(
        "{} virtual servers x {} real servers ({} table)",
        virtuals,
        servers,
        if memory { "in-memory" } else { "kernel" }
    );
    let base = config(virtuals, servers, None);
    let changed = config(virtuals, servers, Some(7));
    println!(
        "lvs.cf: {} lines, {} bytes",
        base.lines().count(),
        base.len()
    );

    let first = reload(table.as_mut(), &base, &HashSet::new());
    print("start (empty table)", &first);
    let owned: HashSet<ipvs::ServiceKey> = table
        .list()
        .expect("list")
        .into_iter()
        .map(|e| e.service.key)
        .collect();
    let same = reload(table.as_mut(), &base, &owned);
    print("reload, unchanged file", &same);
    let one = reload(table.as_mut(), &changed, &owned);
    print("reload, one weight changed", &one);
    table.flush().expect("flush");
}
