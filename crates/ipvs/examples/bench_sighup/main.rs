//! Tools for the side-by-side reload benchmark of lvsd and keepalived
//! (`bench/lvsd/run.sh --keepalived`, which runs `bench/lvsd/guest.sh` in
//! the qemu guest). Not part of CI.
//!
//! ```text
//! bench_sighup lvs-cf V S INTERVAL NANNY WEIGHT OUT   # lvs.cf, shared nannies
//! bench_sighup keepalived-conf V S INTERVAL WEIGHT OUT
//! bench_sighup listen V S SECONDS      # the real servers' listeners
//! bench_sighup wait V S WEIGHT SECONDS # until the kernel has the whole table
//! bench_sighup hup PID V S WEIGHT NEW FILE SECONDS
//! ```
//!
//! `hup` is the measurement: it renames NEW over FILE (the daemon's
//! configuration, which differs from the running one in one weight), takes
//! the time, sends SIGHUP to PID, and polls the kernel with one netlink
//! `GET_DEST` dump of the watched service every 2 ms until the watched real
//! server shows WEIGHT. It prints the milliseconds from the signal to that
//! poll, then checks that the rest of the table is intact.

mod table;

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ipvs::{IpvsTable, NetlinkIpvs, ServiceEntry, ServiceKey};
use nix::sys::signal::{Signal, kill};
use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, SockaddrIn, bind, setsockopt, socket, sockopt,
};
use nix::unistd::Pid;
use table::{FIRST_PORT, Table};

/// Time between two polls of the watched destination.
const POLL: Duration = Duration::from_millis(2);

/// Time between two full dumps while waiting for the table (a dump of
/// 36,800 destinations is seconds of guest CPU).
const WAIT_POLL: Duration = Duration::from_secs(10);

/// Accept queue of each listener: a burst of checks to one port must not
/// overflow it while the listener waits for CPU (std's default is 128).
const BACKLOG: i32 = 4096;

fn num<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> Result<T, String> {
    let a = args.get(i).ok_or_else(|| format!("missing {what}"))?;
    a.parse().map_err(|_| format!("{what}: not a number: {a}"))
}

fn arg<'a>(args: &'a [String], i: usize, what: &str) -> Result<&'a str, String> {
    args.get(i)
        .map(String::as_str)
        .ok_or_else(|| format!("missing {what}"))
}

fn shape(args: &[String], interval: u32) -> Result<Table, String> {
    Ok(Table {
        virtuals: num(args, 1, "VIRTUALS")?,
        servers: num(args, 2, "SERVERS")?,
        interval,
    })
}

fn write(path: &str, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{path}: {e}"))
}

/// Whether the kernel holds the whole table (every destination present,
/// the watched one at `weight`); a one-line description of what it holds.
/// Other weights are reported, not required: a check that failed under the
/// guest's load quiesces its server (weight 0) until the next one passes.
fn complete(list: &[ServiceEntry], t: &Table, weight: u32) -> (bool, String) {
    let ((vip, vport), (rip, rport)) = t.watched();
    let dests: usize = list.iter().map(|e| e.destinations.len()).sum();
    let watched = list
        .iter()
        .find(|e| e.service.key == ServiceKey::tcp(vip, vport))
        .and_then(|e| {
            e.destinations
                .iter()
                .find(|d| d.destination.addr == rip && d.destination.port == rport)
        })
        .map(|d| d.destination.weight);
    let quiesced = list
        .iter()
        .flat_map(|e| &e.destinations)
        .filter(|d| d.destination.weight == 0)
        .count();
    let ok = list.len() == t.virtuals
        && list.iter().all(|e| e.destinations.len() == t.servers)
        && watched == Some(weight);
    (
        ok,
        format!(
            "{} services, {dests} destinations ({quiesced} at weight 0), watched weight {watched:?}",
            list.len()
        ),
    )
}

fn listener(port: u16) -> nix::Result<TcpListener> {
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)),
    )?;
    nix::sys::socket::listen(&fd, Backlog::new(BACKLOG)?)?;
    Ok(TcpListener::from(fd))
}

fn listen(t: &Table, seconds: u64) -> Result<(), String> {
    let mut threads = Vec::new();
    for i in 0..t.ports() {
        let port = FIRST_PORT + u16::try_from(i).map_err(|_| "too many ports")?;
        let l = listener(port).map_err(|e| format!("listen on port {port}: {e}"))?;
        threads.push(std::thread::spawn(move || {
            // Accept and close: a TCP check only needs the handshake.
            for conn in l.incoming() {
                drop(conn);
            }
        }));
    }
    println!("listening on {} ports from {FIRST_PORT}", threads.len());
    // Bounded: the process ends by itself even if nobody stops it.
    std::thread::sleep(Duration::from_secs(seconds));
    Ok(())
}

fn wait(t: &Table, weight: u32, seconds: u64) -> Result<(), String> {
    let mut nl = NetlinkIpvs::new().map_err(|e| format!("IPVS: {e}"))?;
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < Duration::from_secs(seconds) {
        let list = nl.list().map_err(|e| format!("list: {e}"))?;
        let (ok, what) = complete(&list, t, weight);
        if ok {
            println!(
                "table complete after {:.1} s: {what}",
                start.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        last = what;
        std::thread::sleep(WAIT_POLL);
    }
    Err(format!("table not complete after {seconds} s: {last}"))
}

fn hup(args: &[String]) -> Result<(), String> {
    let pid: i32 = num(args, 1, "PID")?;
    let t = Table {
        virtuals: num(args, 2, "VIRTUALS")?,
        servers: num(args, 3, "SERVERS")?,
        interval: 0,
    };
    let weight: u32 = num(args, 4, "WEIGHT")?;
    let new = arg(args, 5, "NEW")?;
    let file = arg(args, 6, "FILE")?;
    let seconds: u64 = num(args, 7, "SECONDS")?;
    let ((vip, vport), (rip, rport)) = t.watched();
    let service = ServiceKey::tcp(vip, vport);
    let mut nl = NetlinkIpvs::new().map_err(|e| format!("IPVS: {e}"))?;
    let weight_now = |nl: &mut NetlinkIpvs| -> Result<Option<u32>, String> {
        let dests = nl
            .destinations(&service)
            .map_err(|e| format!("GET_DEST: {e}"))?;
        Ok(dests
            .iter()
            .find(|d| d.destination.addr == rip && d.destination.port == rport)
            .map(|d| d.destination.weight))
    };
    let before = weight_now(&mut nl)?;
    if before == Some(weight) {
        return Err(format!("watched weight is already {weight}"));
    }
    std::fs::rename(new, file).map_err(|e| format!("rename {new} {file}: {e}"))?;
    let t0 = Instant::now();
    kill(Pid::from_raw(pid), Signal::SIGHUP).map_err(|e| format!("kill -HUP {pid}: {e}"))?;
    let mut polls = 0u64;
    let limit = Duration::from_secs(seconds);
    loop {
        polls += 1;
        let w = weight_now(&mut nl)?;
        let elapsed = t0.elapsed();
        if w == Some(weight) {
            println!(
                "reload_ms {:.1} polls {polls} (weight {before:?} -> {weight})",
                elapsed.as_secs_f64() * 1e3
            );
            break;
        }
        if elapsed > limit {
            return Err(format!(
                "weight still {w:?} (want {weight}) {seconds} s after SIGHUP ({polls} polls)"
            ));
        }
        std::thread::sleep(POLL);
    }
    let (ok, what) = complete(&nl.list().map_err(|e| format!("list: {e}"))?, &t, weight);
    println!("after reload: {what}");
    if ok {
        Ok(())
    } else {
        Err("the rest of the table changed".to_owned())
    }
}

fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("lvs-cf") => {
            let t = shape(args, num(args, 3, "INTERVAL")?)?;
            let nanny = arg(args, 4, "NANNY")?;
            let weight = num(args, 5, "WEIGHT")?;
            write(arg(args, 6, "OUT")?, &t.lvs_cf(weight, Some(nanny), true))
        }
        Some("keepalived-conf") => {
            let t = shape(args, num(args, 3, "INTERVAL")?)?;
            let weight = num(args, 4, "WEIGHT")?;
            write(arg(args, 5, "OUT")?, &t.keepalived_conf(weight))
        }
        Some("listen") => listen(&shape(args, 0)?, num(args, 3, "SECONDS")?),
        Some("wait") => wait(
            &shape(args, 0)?,
            num(args, 3, "WEIGHT")?,
            num(args, 4, "SECONDS")?,
        ),
        Some("hup") => hup(args),
        _ => Err("usage: see the doc comment of crates/ipvs/examples/bench_sighup/main.rs".into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_sighup: {e}");
            ExitCode::FAILURE
        }
    }
}
