//! `lvsd --status`: the running daemon's view, over a Unix socket only root
//! can open (`/run/lvsd.sock`, mode 0600).
//!
//! Request: one line, `status`, `status json` or `control ACTION
//! VIRTUAL/SERVER`, at most [`MAX_REQUEST`] bytes. Reply: the text (or
//! JSON, or `ok`, or `error: …`) and end of stream. Each client is served
//! by a task of its own ([`serve`]); the loop only answers [`Query`]s.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tracing::warn;

use super::Daemon;
use director::ServerId;

pub use director::status::{ServerStatus, Status, VirtualStatus, render_at};

/// The human-readable form, as of now.
pub fn render(s: &Status) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    render_at(s, now)
}

pub(super) fn collect(d: &mut Daemon) -> Status {
    // The kernel's own counters and entries, not lvsd's remembered copy.
    d.table.invalidate_cache();
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
                health: director::status::health_word(d.lvsd.health(&id)).to_owned(),
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
        test_start: d.opts.test_start,
        last_reload_writes: d.lvsd.counters().last_reload_writes,
        total_writes: d.lvsd.counters().total_writes,
        reloads: d.lvsd.counters().reloads,
        last_reload_failed: d.lvsd.counters().last_reload_failed,
        last_reload_error: d.last_reload_error.clone(),
        config_digest: d.config_digest.clone(),
        virtuals,
    }
}

/// Most clients served at once; one more gets `error: busy` and is
/// closed, so idle connections cannot use up lvsd's descriptors or hold
/// others out.
pub const MAX_CLIENTS: usize = 64;
/// Longest request line, its newline included: the longest real one
/// (`control normal VIRTUAL/SERVER`) is far shorter, and a client sending
/// without end must not grow lvsd.
pub const MAX_REQUEST: usize = 4096;
/// How long a client may take to send its request, and again to read the
/// answer.
pub const CLIENT_DEADLINE: Duration = Duration::from_secs(5);
/// How long a client waits for the loop to answer.
const ANSWER_DEADLINE: Duration = Duration::from_secs(10);

/// Bind the socket, mode 0600 from the moment it can be reached (bound in
/// a private directory, then renamed into place). A failure is logged, not
/// fatal: the director works without it.
pub fn listen(path: &Path) -> Option<UnixListener> {
    // A stale socket from a killed lvsd: only remove it if nobody answers.
    if path.exists() && StdUnixStream::connect(path).is_err() {
        let _ = std::fs::remove_file(path);
    }
    let bound = bind_private(path).and_then(|l| {
        l.set_nonblocking(true)?;
        UnixListener::from_std(l)
    });
    match bound {
        Ok(l) => Some(l),
        Err(e) => {
            warn!("status socket {}: {e}", path.display());
            None
        }
    }
}

/// Binds in a new mode-0700 directory beside `path`, sets the socket's
/// mode to 0600 there, then renames it to `path`: nobody can connect in
/// between, whatever the umask.
fn bind_private(path: &Path) -> std::io::Result<std::os::unix::net::UnixListener> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "lvsd.sock".into(), |n| n.to_string_lossy());
    let private = dir.join(format!(".{name}.{}", std::process::id()));
    // Left over from a killed lvsd with our pid: ours to remove.
    let _ = std::fs::remove_file(private.join("socket"));
    let _ = std::fs::remove_dir(&private);
    std::fs::DirBuilder::new().mode(0o700).create(&private)?;
    let inner = private.join("socket");
    let result = (|| {
        let listener = std::os::unix::net::UnixListener::bind(&inner)?;
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o600))?;
        if path.exists() {
            // A live lvsd's: rename would take it over.
            return Err(std::io::Error::from(std::io::ErrorKind::AddrInUse));
        }
        std::fs::rename(&inner, path)?;
        Ok(listener)
    })();
    let _ = std::fs::remove_file(&inner);
    let _ = std::fs::remove_dir(&private);
    result
}

/// What a client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `status` / `status json`.
    Status {
        /// JSON instead of text.
        json: bool,
    },
    /// `control ACTION VIRTUAL/SERVER`: force a server down, up, drain it,
    /// or back to normal.
    Control {
        /// `down`, `up`, `normal` or `drain` (checked by
        /// `director::lvsd::parse_command`).
        action: String,
        /// The server.
        server: ServerId,
    },
}

/// One client's request, handed to the loop, and where its answer goes.
#[derive(Debug)]
pub struct Query {
    /// What the client asked.
    pub request: Request,
    /// The answer text (the client closes after it).
    pub answer: oneshot::Sender<String>,
}

/// Serves the clients of `listener`, each in a task of its own, at most
/// [`MAX_CLIENTS`] at once. Their requests reach the loop on `queries`;
/// the loop only computes answers (from its own state), so no client can
/// hold it up, however slowly it sends or reads.
///
/// When every slot is taken, a new client evicts the oldest one still
/// silent (it had its chance to send its line): a crowd of idle
/// connections cannot keep `lvsd --status` out. Evicted clients, and a new
/// one when no client is silent, get `error: busy`.
pub fn serve(listener: UnixListener, queries: mpsc::Sender<Query>) -> tokio::task::JoinHandle<()> {
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    let silent: Silent = Arc::new(Mutex::new(VecDeque::new()));
    tokio::spawn(async move {
        let mut next_id = 0u64;
        loop {
            let stream = match listener.accept().await {
                Ok((s, _)) => s,
                Err(e) => {
                    // Out of descriptors: let some clients finish first.
                    warn!("status socket: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let slot = match slots.clone().try_acquire_owned() {
                Ok(slot) => Some(slot),
                Err(_) => {
                    let oldest = silent.lock().ok().and_then(|mut q| q.pop_front());
                    match oldest {
                        Some((_, evict)) => {
                            let _ = evict.send(());
                            tokio::time::timeout(
                                Duration::from_millis(100),
                                slots.clone().acquire_owned(),
                            )
                            .await
                            .ok()
                            .and_then(Result::ok)
                        }
                        None => None,
                    }
                }
            };
            let Some(slot) = slot else {
                // A fresh socket's send buffer is empty: this never blocks.
                let _ = stream.try_write(b"error: busy\n");
                continue;
            };
            next_id += 1;
            let (evict, evicted) = oneshot::channel();
            if let Ok(mut q) = silent.lock() {
                q.push_back((next_id, evict));
            }
            let (queries, silent) = (queries.clone(), silent.clone());
            tokio::spawn(async move {
                client(stream, queries, next_id, silent, evicted).await;
                drop(slot);
            });
        }
    })
}

/// Clients that have not sent their request line yet, oldest first, with
/// the sender that evicts each.
type Silent = Arc<Mutex<VecDeque<(u64, oneshot::Sender<()>)>>>;

/// One connection: read the request, wait for the loop's answer, write it.
async fn client(
    stream: UnixStream,
    queries: mpsc::Sender<Query>,
    id: u64,
    silent: Silent,
    evicted: oneshot::Receiver<()>,
) {
    let (mut read, mut write) = stream.into_split();
    let line = tokio::select! {
        line = tokio::time::timeout(CLIENT_DEADLINE, read_line(&mut read)) => Some(line),
        _ = evicted => None,
    };
    if let Ok(mut q) = silent.lock() {
        q.retain(|(i, _)| *i != id);
    }
    let answer = match line {
        None => "error: busy\n".to_owned(),
        Some(Err(_)) => return,
        Some(Ok(Err(refusal))) => refusal,
        Some(Ok(Ok(line))) => match parse_request(&line) {
            Err(e) => format!("error: {e}\n"),
            Ok(request) => {
                let (answer, rx) = oneshot::channel();
                if queries.send(Query { request, answer }).await.is_err() {
                    return;
                }
                match tokio::time::timeout(ANSWER_DEADLINE, rx).await {
                    Ok(Ok(text)) => text,
                    _ => return,
                }
            }
        },
    };
    let _ = tokio::time::timeout(CLIENT_DEADLINE, write.write_all(answer.as_bytes())).await;
}

/// Reads one request line, at most [`MAX_REQUEST`] bytes (end of stream
/// ends it too); `Err` is the answer refusing it.
async fn read_line(read: &mut (impl AsyncReadExt + Unpin)) -> Result<String, String> {
    let mut line = Vec::with_capacity(64);
    let mut chunk = [0u8; 512];
    loop {
        let n = read.read(&mut chunk).await.map_err(|_| String::new())?;
        let got = &chunk[..n];
        if let Some(end) = got.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&got[..end]);
        } else {
            line.extend_from_slice(got);
        }
        if line.len() >= MAX_REQUEST {
            return Err(format!("error: request longer than {MAX_REQUEST} bytes\n"));
        }
        if n == 0 || got.contains(&b'\n') {
            break;
        }
    }
    String::from_utf8(line).map_err(|_| "error: the request is not UTF-8 text\n".to_owned())
}

/// What a request line asks for (`status`, `status json`,
/// `control ACTION VIRTUAL/SERVER`).
pub fn parse_request(line: &str) -> Result<Request, String> {
    let words: Vec<&str> = line.trim().split(' ').collect();
    match words.as_slice() {
        ["status"] | [""] => Ok(Request::Status { json: false }),
        ["status", "json"] => Ok(Request::Status { json: true }),
        ["control", action, target] => {
            let (v, s) = target
                .split_once('/')
                .filter(|(v, s)| !v.is_empty() && !s.is_empty())
                .ok_or_else(|| format!("{target}: expected VIRTUAL/SERVER"))?;
            Ok(Request::Control {
                action: (*action).to_owned(),
                server: ServerId::new(v, s),
            })
        }
        _ => Err(format!(
            "unknown request {:?} (status, status json, control ACTION VIRTUAL/SERVER)",
            line.trim()
        )),
    }
}

/// Answer a status request.
pub fn status_reply(status: &Status, json: bool) -> String {
    if json {
        director::status::to_json(status)
    } else {
        render(status)
    }
}

/// How long `--status` and `--control` wait for lvsd's answer.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The client side: send one request line (`status`, `status json`,
/// `control ACTION VIRTUAL/SERVER`), return the reply.
pub fn query(path: &Path, request: &str) -> Result<String> {
    let mut stream = StdUnixStream::connect(path)
        .with_context(|| format!("cannot reach lvsd at {} (is it running?)", path.display()))?;
    stream.set_read_timeout(Some(QUERY_TIMEOUT))?;
    stream.set_write_timeout(Some(QUERY_TIMEOUT))?;
    let timed_out = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )
    };
    let no_answer = || {
        anyhow::anyhow!(
            "lvsd at {} did not answer within {} s",
            path.display(),
            QUERY_TIMEOUT.as_secs()
        )
    };
    if let Err(e) = stream.write_all(format!("{request}\n").as_bytes()) {
        return Err(if timed_out(&e) {
            no_answer()
        } else {
            anyhow::Error::new(e).context(format!("cannot send to lvsd at {}", path.display()))
        });
    }
    let mut reply = String::new();
    if let Err(e) = stream.read_to_string(&mut reply) {
        return Err(if timed_out(&e) {
            no_answer()
        } else {
            anyhow::Error::new(e)
                .context(format!("cannot read lvsd's answer at {}", path.display()))
        });
    }
    if reply.is_empty() {
        return Err(anyhow::anyhow!(
            "lvsd at {} closed the connection without an answer",
            path.display()
        ));
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn socket_path(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lvsd-status-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let p = dir.join(name);
        let _ = std::fs::remove_file(&p);
        p
    }

    /// A loop stand-in: answers every query with its request.
    async fn answer_all(mut queries: mpsc::Receiver<Query>) {
        while let Some(q) = queries.recv().await {
            let _ = q.answer.send(format!("{:?}\n", q.request));
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn requests() {
        assert_eq!(parse_request("status"), Ok(Request::Status { json: false }));
        assert_eq!(
            parse_request("status json\r"),
            Ok(Request::Status { json: true })
        );
        assert_eq!(
            parse_request("control down web/web1"),
            Ok(Request::Control {
                action: "down".into(),
                server: ServerId::new("web", "web1")
            })
        );
        assert_eq!(
            parse_request("control drain web/web1"),
            Ok(Request::Control {
                action: "drain".into(),
                server: ServerId::new("web", "web1")
            })
        );
        assert_eq!(
            parse_request("control down noslash"),
            Err("noslash: expected VIRTUAL/SERVER".into())
        );
        assert_eq!(
            parse_request("bogus"),
            Err(
                "unknown request \"bogus\" (status, status json, control ACTION VIRTUAL/SERVER)"
                    .into()
            )
        );
    }

    #[test]
    fn the_socket_is_private_from_the_start() {
        let path = socket_path("mode.sock");
        let rt = runtime();
        rt.block_on(async {
            // Even with a permissive umask the socket is 0600 when it appears.
            let old = nix::sys::stat::umask(nix::sys::stat::Mode::empty());
            let listener = listen(&path);
            nix::sys::stat::umask(old);
            assert!(listener.is_some());
            let mode = std::fs::metadata(&path)
                .expect("socket")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
                .expect("dir")
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with(".mode.sock"))
                .collect();
            assert!(leftovers.is_empty(), "{leftovers:?}");
        });
        let _ = std::fs::remove_file(&path);
    }

    /// The status socket served (every query answered by `answer_all`) on
    /// a runtime driven by its own thread, while the test plays clients.
    struct Served {
        stop: tokio::sync::oneshot::Sender<()>,
        driver: std::thread::JoinHandle<()>,
    }

    impl Served {
        fn start(path: &Path) -> Served {
            let rt = runtime();
            let (tx, rx) = mpsc::channel(MAX_CLIENTS);
            let server = {
                let _guard = rt.enter();
                let listener = listen(path).expect("listen");
                rt.spawn(answer_all(rx));
                serve(listener, tx)
            };
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let driver = std::thread::spawn(move || {
                rt.block_on(async {
                    let _ = stopped.await;
                });
                server.abort();
            });
            Served { stop, driver }
        }

        fn stop(self) {
            let _ = self.stop.send(());
            self.driver.join().expect("driver");
        }
    }

    #[test]
    fn idle_clients_do_not_delay_a_status_query() {
        let path = socket_path("idle.sock");
        let served = Served::start(&path);
        // 500 clients that connect and never send a byte.
        let idle: Vec<StdUnixStream> = (0..500)
            .map(|_| StdUnixStream::connect(&path).expect("connect"))
            .collect();
        let started = Instant::now();
        let reply = query(&path, "status json").expect("status");
        let took = started.elapsed();
        assert_eq!(reply, "Status { json: true }\n");
        assert!(took < Duration::from_secs(2), "{took:?}");
        // Those beyond MAX_CLIENTS were told so and closed at once.
        let busy = idle
            .iter()
            .filter(|c| {
                c.set_read_timeout(Some(Duration::from_millis(20))).ok();
                let mut b = [0u8; 16];
                matches!((&mut &**c).read(&mut b), Ok(n) if &b[..n] == b"error: busy\n")
            })
            .count();
        assert!(busy >= 500 - MAX_CLIENTS - 1, "{busy} busy replies");
        drop(idle);
        served.stop();
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn an_endless_line_is_cut_off() {
        let path = socket_path("long.sock");
        let served = Served::start(&path);
        let mut c = StdUnixStream::connect(&path).expect("connect");
        c.set_write_timeout(Some(Duration::from_secs(5))).ok();
        // Up to 100 MB without a newline; lvsd stops reading at 4096 bytes.
        let chunk = vec![b'x'; 1 << 16];
        let mut sent = 0usize;
        while sent < 100 << 20 {
            match c.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        assert!(sent < 100 << 20, "lvsd read {sent} bytes of one request");
        let mut reply = String::new();
        c.set_read_timeout(Some(Duration::from_secs(5))).ok();
        let _ = c.read_to_string(&mut reply);
        assert_eq!(reply, "error: request longer than 4096 bytes\n");
        served.stop();
        let _ = std::fs::remove_file(&path);
    }
}
