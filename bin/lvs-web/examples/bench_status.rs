//! The status page's budget (issue 13 item 8): 100 virtual servers × 10
//! real servers render in < 50 ms, and lvs-web's RSS stays < 20 MB under
//! that load.
//!
//! Two measurements:
//! 1. in process: the status page built from a synthetic snapshot and
//!    rendered (`pages::status_view` + the template), 200 times;
//! 2. the real (release) lvs-web binary, fed by a stand-in helper socket
//!    that answers `status` with the same snapshot: 200 GETs of /status
//!    over HTTP (helper round trip, JSON decode, view, render, send), then
//!    the process's VmRSS and VmHWM from /proc.
//!
//! Run: `bash bench/web/run.sh` (builds this in release). Exit status 1
//! when a budget is missed.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use admin::proto::{self, DaemonState, Digest, FileState, Reply, Request, Response, StatusReport};
use askama::Template;
use director::status::{ServerStatus, Status, VirtualStatus};

const VIRTUALS: usize = 100;
const SERVERS: usize = 10;
const ROUNDS: usize = 200;
const RENDER_BUDGET_MS: f64 = 50.0;
const RSS_BUDGET_KB: u64 = 20 * 1024;

fn snapshot() -> StatusReport {
    let now = lvs_web::views::now();
    let virtuals: Vec<VirtualStatus> = (0..VIRTUALS)
        .map(|v| VirtualStatus {
            name: format!("service{v:03}"),
            service: Some(format!(
                "-A -t 203.0.113.{}:{} -s wlc -p 300",
                v % 250,
                8000 + v
            )),
            installed: true,
            refused: None,
            sorry_server_active: false,
            servers: (0..SERVERS)
                .map(|s| ServerStatus {
                    name: format!("rs{s:02}"),
                    address: format!("192.0.2.{}:{}", 10 + s, 8000 + v),
                    health: if s == 3 { "down" } else { "up" }.into(),
                    weight: (s != 3).then_some(u32::try_from(s).unwrap_or(0) + 1),
                    monitor_pid: Some(i32::try_from(10_000 + v * SERVERS + s).unwrap_or(0)),
                    last_check_ok: Some(s != 3),
                    last_check: Some(if s == 3 {
                        "connect: connection refused".into()
                    } else {
                        String::new()
                    }),
                    last_check_at: Some(now - 2),
                    active_conns: Some(u32::try_from(s * 7).unwrap_or(0)),
                    inactive_conns: Some(u32::try_from(s * 3).unwrap_or(0)),
                    total_conns: Some(u64::try_from(v * 1000 + s).unwrap_or(0)),
                })
                .collect(),
        })
        .collect();
    StatusReport {
        file: FileState {
            path: "/etc/sysconfig/ha/lvs.cf".into(),
            digest: Digest::of(b"bench"),
            size: 120_000,
            serial_no: Some(42),
        },
        lvsd: DaemonState::Running {
            // Through JSON, as lvsd sends it: fields lvsd added later
            // have serde defaults, so the snapshot stays an old lvsd's.
            status: serde_json::from_value::<Status>(serde_json::json!({
                "pid": 4242,
                "configfile": "/etc/sysconfig/ha/lvs.cf",
                "last_reload_writes": 1,
                "total_writes": 1100,
                "reloads": 3,
                "last_reload_failed": false,
                "virtuals": virtuals,
            }))
            .expect("an lvsd snapshot"),
        },
        pulse: DaemonState::Running {
            status: failover::status::Status {
                pid: 4000,
                role: "master".into(),
                active: true,
                flags: Vec::new(),
                test_start: false,
                paths: vec![failover::status::PathStatus {
                    name: "public".into(),
                    local: "203.0.113.2".into(),
                    partner: "203.0.113.3".into(),
                    last_heartbeat_age: Some(0.7),
                    last_heartbeat: Some("STOPPED".into()),
                }],
                floating: (0..VIRTUALS)
                    .map(|v| format!("203.0.113.{}/24 eth0:{v}", v % 250))
                    .collect(),
                lvsd_pid: Some(4242),
                configfile: "/etc/sysconfig/ha/lvs.cf".into(),
            },
        },
    }
}

fn render_once(report: &StatusReport) -> (Duration, usize) {
    let t = Instant::now();
    let page = lvs_web::pages::StatusPage {
        title: "CONTROL/MONITORING",
        nav: Some(lvs_web::views::Nav {
            user: "piranha".into(),
            role: "admin",
            csrf: "0".repeat(64),
            tab: "status",
            pending: 0,
            renumbered: false,
            fos: false,
        }),
        notices: Vec::new(),
        refresh_secs: 10,
        s: lvs_web::pages::status_view(
            report,
            lvs_web::pages::backup_view(&Ok(sync_state(report))),
            lvs_web::views::now(),
        ),
        may_control: true,
        may_sync: true,
        csrf: "0".repeat(64),
    };
    let html = page.render().expect("render");
    (t.elapsed(), html.len())
}

/// Both routers' files as `sync-status` gives them (in sync).
fn sync_state(report: &StatusReport) -> proto::SyncState {
    proto::SyncState {
        peer: "203.0.113.3:3637".into(),
        peer_fingerprint: "AA:BB".into(),
        fingerprint: "CC:DD".into(),
        local_digest: report.file.digest,
        local_serial_no: report.file.serial_no,
        base: Some(report.file.digest),
        remote: proto::PeerFile::Known {
            digest: Some(report.file.digest),
            serial_no: report.file.serial_no,
            last_write: None,
        },
    }
}

/// A stand-in for lvs-admin's socket: `status` answers the snapshot,
/// `sync-status` both routers in sync, `login` piranha/bench as admin,
/// anything else an error. Only for this benchmark.
fn helper(listener: UnixListener, report: StatusReport) {
    for stream in listener.incoming() {
        let Ok(mut s) = stream else { continue };
        let mut buf = Vec::new();
        if s.read_to_end(&mut buf).is_err() {
            continue;
        }
        let reply = match proto::decode_request(&buf) {
            Ok(Request::Status) => Reply::Ok(Response::Status(Box::new(report.clone()))),
            Ok(Request::SyncStatus) => {
                Reply::Ok(Response::SyncStatus(Box::new(sync_state(&report))))
            }
            Ok(Request::Login { user, password, .. })
                if user == "piranha" && password.0 == "bench" =>
            {
                Reply::Ok(Response::Login(proto::LoginOutcome::LoggedIn {
                    user,
                    role: "admin".into(),
                    method: "passwd".into(),
                }))
            }
            _ => Reply::Error(proto::Error::Internal {
                message: "not in this benchmark".into(),
            }),
        };
        let _ = s.write_all(&proto::encode_reply(&reply));
    }
}

fn http(port: u16, req: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(req.as_bytes()).expect("send");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read");
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn proc_kb(pid: u32, key: &str) -> u64 {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Median, 99th percentile and maximum.
fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |percent: usize| v[(v.len() - 1) * percent / 100];
    (at(50), at(99), v[v.len() - 1])
}

fn main() -> ExitCode {
    let report = snapshot();
    println!("status page: {VIRTUALS} virtuals x {SERVERS} real servers, {ROUNDS} rounds");

    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..ROUNDS {
        let (t, n) = render_once(&report);
        times.push(t.as_secs_f64() * 1000.0);
        size = n;
    }
    let (med, p99, max) = stats(times);
    println!(
        "in process: view + render median {med:.2} ms, p99 {p99:.2} ms, max {max:.2} ms ({size} bytes of HTML)"
    );

    let web = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/release/lvs-web".into());
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    fs::set_permissions(d, fs::Permissions::from_mode(0o755)).expect("chmod");
    let sock = d.join("admin.sock");
    let listener = UnixListener::bind(&sock).expect("bind helper socket");
    fs::set_permissions(&sock, fs::Permissions::from_mode(0o666)).expect("chmod");
    let r2 = report.clone();
    std::thread::spawn(move || helper(listener, r2));
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let root = nix::unistd::geteuid().is_root();
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&web);
        c
    } else {
        Command::new(&web)
    };
    let mut child = cmd
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--admin-socket")
        .arg(&sock)
        .arg("--tokens")
        .arg(d.join("tokens"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{web}: {e} (build it: cargo build --release -p lvs-web)"));
    // setpriv execs lvs-web in place: the child's pid is lvs-web's.
    let pid = child.id();
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "lvs-web did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let rss_idle = proc_kb(pid, "VmRSS:");
    let body = "user=piranha&password=bench";
    let (code, head) = http(
        port,
        &format!(
            "POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nOrigin: http://127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(code, 303, "login: {head}");
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("cookie")
        .to_owned();
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let (code, text) = http(
            port,
            &format!(
                "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: {cookie}\r\n\r\n"
            ),
        );
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(code, 200);
        bytes = text.len();
    }
    let rss = proc_kb(pid, "VmRSS:");
    let hwm = proc_kb(pid, "VmHWM:");
    let _ = child.kill();
    let _ = child.wait();
    let (hmed, hp99, hmax) = stats(times);
    println!(
        "over HTTP (release lvs-web, helper round trip included): median {hmed:.2} ms, p99 {hp99:.2} ms, max {hmax:.2} ms ({bytes} bytes)"
    );
    println!("lvs-web RSS: {rss_idle} kB idle, {rss} kB after the load, peak {hwm} kB");
    let mut ok = true;
    if max > RENDER_BUDGET_MS || hp99 > RENDER_BUDGET_MS {
        println!("MISS: render budget {RENDER_BUDGET_MS} ms");
        ok = false;
    }
    if hwm > RSS_BUDGET_KB {
        println!("MISS: RSS budget {RSS_BUDGET_KB} kB");
        ok = false;
    }
    if ok {
        println!(
            "ok: within {RENDER_BUDGET_MS} ms and {} MB",
            RSS_BUDGET_KB / 1024
        );
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
