//! Parses a generated 100,000-line lvs.cf and reports wall time and peak
//! heap relative to the file size. Run through `bench/lvscf/run.sh`.
//!
//! Goal: under 200 ms and a peak heap of at most 4× the file size.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Counts live and peak heap bytes. A global allocator has to be a
/// `static`; this one only exists in this measuring program.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters are only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            let now = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const LINES: usize = 100_000;
/// Real servers per virtual; `LVSCF_BENCH_SERVERS` overrides it (e.g. a
/// huge number puts the whole file in one block, the parser's worst case
/// for memory, as a block's syntax tree is held until its `}`).
fn servers_per_virtual() -> usize {
    std::env::var("LVSCF_BENCH_SERVERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15)
}

/// A GUI-style file of about `LINES` lines: globals, then virtuals with
/// [`servers_per_virtual`] real servers each (documentation addresses).
fn generate() -> String {
    let mut s = String::new();
    s.push_str(
        "serial_no = 7\nprimary = 203.0.113.2\nprimary_private = 198.51.100.2\nservice = lvs\n\
         backup_active = 1\nbackup = 203.0.113.3\nbackup_private = 198.51.100.3\nheartbeat = 1\n\
         heartbeat_port = 539\nkeepalive = 6\ndeadtime = 18\nnetwork = nat\n\
         nat_router = 192.0.2.254 eth1:1\nnat_nmask = 255.255.255.0\n",
    );
    let mut lines = s.lines().count();
    let mut v = 0usize;
    let per_virtual = servers_per_virtual();
    while lines < LINES {
        let vip = format!("203.0.113.{}", v % 250 + 1);
        let _ = write!(
            s,
            "virtual vs{v} {{\n     active = 1\n     address = {vip} eth0:{}\n     vip_nmask = 255.255.255.0\n     port = {}\n     persistent = 300\n     send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n     expect = \"HTTP\"\n     load_monitor = none\n     scheduler = wlc\n     protocol = tcp\n     timeout = 6\n     reentry = 15\n     quiesce_server = 0\n",
            v % 100,
            1000 + v,
        );
        lines += 14;
        for r in 0..per_virtual {
            if lines >= LINES - 1 {
                break;
            }
            let _ = write!(
                s,
                "     server rs{r} {{\n         address = 192.0.2.{}\n         active = 1\n         weight = {}\n     }}\n",
                (v * per_virtual + r) % 250 + 1,
                r + 1,
            );
            lines += 5;
        }
        s.push_str("}\n");
        lines += 1;
        v += 1;
    }
    s
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let src = generate();
    let size = src.len();
    let n_lines = src.lines().count();
    let hwm_before = vm_hwm_kib();

    // Heap growth caused by parsing alone (the source is already counted
    // in LIVE and excluded by resetting the peak to it).
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let t = Instant::now();
    let parsed = lvscf::parse_with(&src, &lvscf::OfflineResolver);
    let first = t.elapsed();
    let peak = PEAK.load(Ordering::Relaxed) - base;
    let model = LIVE.load(Ordering::Relaxed) - base;
    assert!(!parsed.has_errors(), "generated file has errors");
    let config = parsed.config.expect("config");
    let servers: usize = config.virtuals.iter().map(|v| v.servers.len()).sum();
    let virtuals = config.virtuals.len();
    let hwm_after = vm_hwm_kib();
    drop(config);

    let mut best = Duration::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let p = lvscf::parse_with(&src, &lvscf::OfflineResolver);
        best = best.min(t.elapsed());
        drop(p);
    }

    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    println!(
        "file:        {n_lines} lines, {size} bytes ({:.2} MiB)",
        mib(size)
    );
    println!("parsed:      {virtuals} virtuals, {servers} real servers");
    println!("time:        first {first:.1?}, best of 5 {best:.1?} (goal < 200 ms)");
    println!(
        "peak heap:   {peak} bytes ({:.2} MiB) = {:.2}x file size (goal <= 4x)",
        mib(peak),
        peak as f64 / size as f64
    );
    println!(
        "model heap:  {model} bytes ({:.2} MiB) = {:.2}x file size",
        mib(model),
        model as f64 / size as f64
    );
    if let (Some(b), Some(a)) = (hwm_before, hwm_after) {
        println!("VmHWM:       {b} KiB before parse, {a} KiB after");
    }
    let ok = best < Duration::from_millis(200) && peak <= 4 * size;
    println!("result:      {}", if ok { "PASS" } else { "FAIL" });
    if !ok {
        std::process::exit(1);
    }
}
