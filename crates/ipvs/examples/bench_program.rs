//! Programs a large IPVS table with this crate and with `ipvsadm -R`, in the
//! same kernel, and prints both times.  Run as root in the qemu guest via
//! `bench/ipvs/run.sh`; not part of CI except its `--smoke` size.
//!
//! Usage: bench_program [--services N] [--dests M] [--edits K] [--smoke] [--ipvsadm-first]
//!
//! Each contestant starts from a freshly loaded `ip_vs` module (see
//! `fresh_kernel`), so it needs root and a modular IPVS.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ipvs::conformance::{generated_table, program_changes};
use ipvs::save;
use ipvs::{Change, Destination, IpvsTable, NetlinkIpvs, Service};

struct Args {
    services: usize,
    dests: usize,
    edits: usize,
    ipvsadm_first: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        services: 10_000,
        dests: 4,
        edits: 1_000,
        ipvsadm_first: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(opt) = it.next() {
        let mut val = |name: &str| -> Result<usize, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{name} needs a number"))
        };
        match opt.as_str() {
            "--services" => a.services = val("--services")?,
            "--dests" => a.dests = val("--dests")?,
            "--edits" => a.edits = val("--edits")?,
            "--ipvsadm-first" => a.ipvsadm_first = true,
            "--smoke" => {
                a.services = 100;
                a.edits = 100;
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(a)
}

fn ipvsadm_restore(text: &str) -> Result<Duration, String> {
    let start = Instant::now();
    let mut child = Command::new("ipvsadm")
        .arg("-R")
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("ipvsadm: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(text.as_bytes())
        .map_err(|e| format!("write to ipvsadm: {e}"))?;
    let status = child.wait().map_err(|e| format!("ipvsadm: {e}"))?;
    let took = start.elapsed();
    if !status.success() {
        return Err(format!("ipvsadm -R: {status}"));
    }
    Ok(took)
}

/// A fresh IPVS: flush, unload and reload the module.  Deleted destinations
/// sit in the kernel's destination trash for a while and every later
/// NEW_DEST walks that list, so without this the second contestant would
/// pay for the first one's 40,000 deleted destinations.
fn fresh_kernel(t: NetlinkIpvs) -> Result<NetlinkIpvs, String> {
    let mut t = t;
    t.flush().map_err(|e| e.to_string())?;
    drop(t);
    let loaded = std::fs::read_to_string("/proc/modules").map_err(|e| e.to_string())?;
    let mut mods: Vec<&str> = loaded
        .lines()
        .filter_map(|l| l.split(' ').next())
        .filter(|m| m.starts_with("ip_vs_"))
        .collect();
    mods.push("ip_vs");
    let ok = Command::new("rmmod")
        .args(&mods)
        .status()
        .map_err(|e| format!("rmmod: {e}"))?;
    let ok2 = Command::new("modprobe")
        .arg("ip_vs")
        .status()
        .map_err(|e| format!("modprobe: {e}"))?;
    if !ok.success() || !ok2.success() {
        return Err(format!("reloading ip_vs failed ({ok}, {ok2})"));
    }
    NetlinkIpvs::new().map_err(|e| e.to_string())
}

fn count(t: &mut NetlinkIpvs) -> Result<(usize, usize), String> {
    let l = t.list().map_err(|e| e.to_string())?;
    Ok((l.len(), l.iter().map(|e| e.destinations.len()).sum()))
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let mut t = fresh_kernel(NetlinkIpvs::new().map_err(|e| e.to_string())?)?;
    let table = generated_table(args.services, args.dests);
    let changes = program_changes(&table);
    let want = (args.services, args.services * args.dests);
    println!(
        "table: {} services x {} destinations = {} requests; batch size {}",
        args.services,
        args.dests,
        changes.len(),
        t.max_batch()
    );

    let restore = save::save(table.iter().map(|(s, d)| (s, d.as_slice())));
    let mut ours = Duration::ZERO;
    let mut theirs = Duration::ZERO;
    let mut io = (0, 0);
    let order: [bool; 2] = if args.ipvsadm_first {
        [false, true]
    } else {
        [true, false]
    };
    for (i, crate_turn) in order.into_iter().enumerate() {
        if i > 0 {
            t = fresh_kernel(t)?;
        }
        if crate_turn {
            let (s0, r0) = t.syscalls();
            let start = Instant::now();
            let results = t.apply(&changes);
            ours = start.elapsed();
            let (s1, r1) = t.syscalls();
            io = (s1 - s0, r1 - r0);
            if let Some(e) = results.iter().find_map(|r| r.as_ref().err()) {
                return Err(format!("crate: {e}"));
            }
        } else {
            // The same rules in ipvsadm-save format, through `ipvsadm -R`.
            theirs = ipvsadm_restore(&restore)?;
        }
        let got = count(&mut t)?;
        if got != want {
            return Err(format!(
                "{} programmed {got:?}, want {want:?}",
                if crate_turn { "crate" } else { "ipvsadm" }
            ));
        }
    }

    // Weight edits, each way, on the table the second contestant left.
    let targets: Vec<(&Service, &Destination)> = table
        .iter()
        .filter_map(|(s, d)| d.first().map(|d| (s, d)))
        .cycle()
        .take(args.edits)
        .collect();
    let edits: Vec<Change> = targets
        .iter()
        .enumerate()
        .map(|(i, (s, d))| Change::EditDestination {
            service: s.key,
            destination: Destination {
                weight: 2 + u32::try_from(i % 50).unwrap_or(0),
                ..(*d).clone()
            },
        })
        .collect();
    let start = Instant::now();
    let results = t.apply(&edits);
    let ours_edit = start.elapsed();
    if let Some(e) = results.iter().find_map(|r| r.as_ref().err()) {
        return Err(format!("crate edit: {e}"));
    }
    let edit_lines: String = targets
        .iter()
        .enumerate()
        .map(|(i, (s, d))| {
            let d = Destination {
                weight: 100 + u32::try_from(i % 50).unwrap_or(0),
                ..(*d).clone()
            };
            // The save line of the edited destination, as an edit.
            format!("-e{}\n", &save::destination_line(&s.key, &d)[2..])
        })
        .collect();
    let theirs_edit = ipvsadm_restore(&edit_lines)?;
    let listed = t.list().map_err(|e| e.to_string())?;
    let edited = listed
        .iter()
        .flat_map(|e| &e.destinations)
        .filter(|d| d.destination.weight >= 100)
        .count();
    if edited != args.edits.min(args.services) {
        return Err(format!("ipvsadm edits applied: {edited}"));
    }
    t.flush().map_err(|e| e.to_string())?;

    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "program ({} first): crate {:.3} s ({} sendmsg, {} recvmsg), ipvsadm -R {:.3} s, ratio {:.3}",
        if args.ipvsadm_first {
            "ipvsadm"
        } else {
            "crate"
        },
        secs(ours),
        io.0,
        io.1,
        secs(theirs),
        secs(ours) / secs(theirs)
    );
    println!(
        "weight edits x{}: crate {:.3} s, ipvsadm -R (-e lines) {:.3} s, ratio {:.3}",
        args.edits,
        secs(ours_edit),
        secs(theirs_edit),
        secs(ours_edit) / secs(theirs_edit)
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_program: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
