//! `lvsd --status`: the running daemon's view, over a Unix socket only root
//! can open (`/run/lvsd.sock`, mode 0600).
//!
//! Request: one line, `status` or `status json`. Reply: the text (or JSON)
//! and end of stream.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tracing::warn;

use super::Daemon;
use director::{Health, ServerId};

/// Everything `--status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// lvsd's pid.
    pub pid: u32,
    /// Configuration file.
    pub configfile: String,
    /// Netlink writes made by the last start or reload.
    pub last_reload_writes: usize,
    /// Netlink writes since start.
    pub total_writes: u64,
    /// Reloads since start.
    pub reloads: u64,
    /// Whether the last reload was refused.
    pub last_reload_failed: bool,
    /// Active virtual servers.
    pub virtuals: Vec<VirtualStatus>,
}

/// One active virtual server.
#[derive(Debug, Clone, Serialize)]
pub struct VirtualStatus {
    /// Block name.
    pub name: String,
    /// The service, as `ipvsadm -S -n` writes it; `None` if not mappable.
    pub service: Option<String>,
    /// Whether the kernel has it.
    pub installed: bool,
    /// Why it is not installed, if the kernel refused it.
    pub refused: Option<String>,
    /// Whether its sorry server is in the table.
    pub sorry_server_active: bool,
    /// Its active real servers.
    pub servers: Vec<ServerStatus>,
}

/// One real server.
#[derive(Debug, Clone, Serialize)]
pub struct ServerStatus {
    /// Block name.
    pub name: String,
    /// `address:port`.
    pub address: String,
    /// `up`, `quiesced`, `down`, `unknown`, `managed` (programmed by a
    /// monitor that does not report to lvsd).
    pub health: String,
    /// Weight in the kernel table, `None` when not in it.
    pub weight: Option<u32>,
    /// Monitor pid.
    pub monitor_pid: Option<i32>,
    /// Last check: passed?
    pub last_check_ok: Option<bool>,
    /// Last check: what it said.
    pub last_check: Option<String>,
    /// Last check: when (seconds since the epoch).
    pub last_check_at: Option<u64>,
    /// Kernel counters.
    pub active_conns: Option<u32>,
    /// Kernel counters.
    pub inactive_conns: Option<u32>,
    /// Kernel counters.
    pub total_conns: Option<u64>,
}

fn health_word(h: Health) -> &'static str {
    match h {
        Health::Unknown => "unknown",
        Health::Up { .. } => "up",
        Health::Quiesced => "quiesced",
        Health::Down => "down",
        Health::Managed { .. } => "managed",
    }
}

pub(super) fn collect(d: &mut Daemon) -> Status {
    let kernel = d.table.list().unwrap_or_default();
    let mut virtuals = Vec::new();
    let now = (SystemTime::now(), std::time::Instant::now());
    for vs in d.lvsd.config().active_virtuals() {
        let service = director::desired::service_of(vs).ok();
        let entry = service
            .as_ref()
            .and_then(|s| kernel.iter().find(|e| e.service.key == s.key));
        let sorry_server_active = match (vs.sorry_server, entry) {
            (Some(addr), Some(e)) => e
                .destinations
                .iter()
                .any(|x| x.destination.addr == addr && x.destination.port == vs.port),
            _ => false,
        };
        let mut servers = Vec::new();
        for rs in vs.active_servers() {
            let id = ServerId::new(&vs.name, &rs.name);
            let dest = entry.and_then(|e| {
                e.destinations
                    .iter()
                    .find(|x| x.destination.addr == rs.address && x.destination.port == rs.port)
            });
            let check = d.lvsd.check(&id);
            servers.push(ServerStatus {
                name: rs.name.clone(),
                address: ipvs::save::sockaddr(rs.address, rs.port),
                health: health_word(d.lvsd.health(&id)).to_owned(),
                weight: dest.map(|x| x.destination.weight),
                monitor_pid: d.lvsd.monitor_of(&id).and_then(|(m, _)| d.monitors.pid(m)),
                last_check_ok: check.map(|c| c.ok),
                last_check: check.map(|c| c.reason.clone()),
                // The step keeps monotonic time; shown as wall-clock time.
                last_check_at: check
                    .map(|c| now.0 - now.1.saturating_duration_since(c.at))
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|t| t.as_secs()),
                active_conns: dest.map(|x| x.active_conns),
                inactive_conns: dest.map(|x| x.inactive_conns),
                total_conns: dest.map(|x| x.stats.conns),
            });
        }
        virtuals.push(VirtualStatus {
            name: vs.name.clone(),
            service: service.as_ref().map(ipvs::save::service_line),
            installed: entry.is_some(),
            refused: d.lvsd.refused(&vs.name).map(str::to_owned),
            sorry_server_active,
            servers,
        });
    }
    Status {
        pid: std::process::id(),
        configfile: d.opts.configfile.display().to_string(),
        last_reload_writes: d.lvsd.counters().last_reload_writes,
        total_writes: d.lvsd.counters().total_writes,
        reloads: d.lvsd.counters().reloads,
        last_reload_failed: d.lvsd.counters().last_reload_failed,
        virtuals,
    }
}

/// The human-readable form.
pub fn render(s: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "lvsd pid {} config {}: {} reloads, last reload {} writes{}, {} writes in all",
        s.pid,
        s.configfile,
        s.reloads,
        s.last_reload_writes,
        if s.last_reload_failed {
            " (last reload refused: bad file)"
        } else {
            ""
        },
        s.total_writes
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for v in &s.virtuals {
        let _ = writeln!(
            out,
            "virtual {}: {}{}{}",
            v.name,
            v.service.as_deref().unwrap_or("(no IPVS service)"),
            if v.installed { "" } else { " [not installed]" },
            if v.sorry_server_active {
                " [sorry server active]"
            } else {
                ""
            }
        );
        if let Some(r) = &v.refused {
            let _ = writeln!(out, "  refused by the kernel: {r}");
        }
        for rs in &v.servers {
            let weight = rs.weight.map_or("-".to_owned(), |w| w.to_string());
            let check = match (&rs.last_check_ok, &rs.last_check, rs.last_check_at) {
                (Some(ok), Some(text), Some(at)) => format!(
                    "{} {}s ago{}",
                    if *ok { "ok" } else { "fail" },
                    now.saturating_sub(at),
                    if text.is_empty() {
                        String::new()
                    } else {
                        format!(": {text}")
                    }
                ),
                _ => "no check yet".to_owned(),
            };
            let _ = writeln!(
                out,
                "  server {} {} {} weight {} conns {}/{} ({} total) pid {} last check {}",
                rs.name,
                rs.address,
                rs.health,
                weight,
                rs.active_conns.unwrap_or(0),
                rs.inactive_conns.unwrap_or(0),
                rs.total_conns.unwrap_or(0),
                rs.monitor_pid.map_or("-".to_owned(), |p| p.to_string()),
                check
            );
        }
    }
    out
}

/// Bind the socket (root only). A failure is logged, not fatal: the
/// director works without it.
pub fn listen(path: &Path) -> Option<UnixListener> {
    // A stale socket from a killed lvsd: only remove it if nobody answers.
    if path.exists() && StdUnixStream::connect(path).is_err() {
        let _ = std::fs::remove_file(path);
    }
    match UnixListener::bind(path) {
        Ok(l) => {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
            Some(l)
        }
        Err(e) => {
            warn!("status socket {}: {e}", path.display());
            None
        }
    }
}

/// Wait for the next client, or forever without a socket.
pub async fn accept(listener: Option<&UnixListener>) -> std::io::Result<UnixStream> {
    match listener {
        Some(l) => l.accept().await.map(|(s, _)| s),
        None => std::future::pending().await,
    }
}

/// What a client asked for.
pub enum Request {
    /// `status` / `status json`.
    Status {
        /// JSON instead of text.
        json: bool,
    },
    /// `control ACTION VIRTUAL/SERVER`: force a server down, up, or back to
    /// normal checking.
    Control {
        /// `down`, `up` or `normal`.
        action: String,
        /// The server.
        server: ServerId,
    },
}

/// Read one client's request line.
pub async fn read_request(stream: UnixStream) -> Option<(Request, OwnedWriteHalf)> {
    let (read, write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read);
    let request = tokio::time::timeout(Duration::from_secs(2), reader.read_line(&mut line)).await;
    if !matches!(request, Ok(Ok(_))) {
        return None;
    }
    let words: Vec<&str> = line.trim().splitn(3, ' ').collect();
    let request = match words.as_slice() {
        ["status", "json"] => Request::Status { json: true },
        ["control", action, target] => {
            let (v, s) = target.split_once('/')?;
            Request::Control {
                action: (*action).to_owned(),
                server: ServerId::new(v, s),
            }
        }
        _ => Request::Status { json: false },
    };
    Some((request, write))
}

/// Answer a status request.
pub fn status_reply(status: &Status, json: bool) -> String {
    if json {
        serde_json::to_string_pretty(status).unwrap_or_default() + "\n"
    } else {
        render(status)
    }
}

/// Write the reply and close.
pub async fn reply(mut write: OwnedWriteHalf, text: String) {
    let _ = tokio::time::timeout(Duration::from_secs(2), write.write_all(text.as_bytes())).await;
}

/// The client side: send one request line (`status`, `status json`,
/// `control ACTION VIRTUAL/SERVER`), return the reply.
pub fn query(path: &Path, request: &str) -> Result<String> {
    let mut stream = StdUnixStream::connect(path)
        .with_context(|| format!("cannot reach lvsd at {} (is it running?)", path.display()))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(format!("{request}\n").as_bytes())?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply)
}
