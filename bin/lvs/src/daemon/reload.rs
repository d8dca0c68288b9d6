//! Reading lvs.cf for a reload, off the event loop.
//!
//! Reading the file and parsing it can block: host names in it are looked
//! up (a DNS server that never answers holds `getaddrinfo` for as long as
//! the resolver's timeouts allow). On the loop thread that froze health
//! handling, `--status` and signals, so the read and the parse run on a
//! blocking thread, and the loop only waits for the outcome, at most
//! [`DEADLINE`]. What is not a regular file of a sane size is refused by
//! [`lvscf::parse_file`] before any byte is read.
//!
//! A refused reload is logged as one summary line and at most
//! [`MAX_LOGGED`] of its errors (the rest are `lvsd --check`'s to list),
//! not one line per error.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use lvscf::{Config, ParsedFile, ReadError, Severity};

/// Longest a reload may take to read and parse the file.
pub const DEADLINE: Duration = Duration::from_secs(15);
/// Errors of a refused file logged one by one.
pub const MAX_LOGGED: usize = 20;

/// What a reload read.
#[derive(Debug)]
pub enum Outcome {
    /// A configuration to switch to, and the digest of the bytes it was
    /// read from ([`digest_hex`]).
    Loaded(Box<Config>, String),
    /// The file cannot be used; the running configuration stays. The lines
    /// to log, in order.
    Refused(Vec<String>),
}

/// SHA-256 of `bytes`, 64 lower-case hex digits: the `config_digest` of
/// lvsd's status, as the configuration tool's helper computes it for the
/// file it wrote.
pub fn digest_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    use std::fmt::Write as _;
    let mut hex = String::with_capacity(64);
    for b in sha2::Sha256::digest(bytes) {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// [`lvscf::parse_file`] of `path`, and the digest of the very bytes it
/// parsed (one read: a rename in between cannot give the digest of one
/// file to the table of another).
pub fn read_digested(path: &Path) -> Result<(ParsedFile, String), ReadError> {
    let bytes = lvscf::read_file(path)?;
    Ok((lvscf::parse_bytes(path, &bytes), digest_hex(&bytes)))
}

/// Reads and parses `path` on a blocking thread ([`read_digested`]),
/// giving up after `deadline` (the thread then finishes on its own and its
/// result is dropped).
pub async fn read(path: PathBuf, deadline: Duration) -> Outcome {
    read_with(path, deadline, read_digested).await
}

/// [`read`] with another parser (tests: one that blocks).
pub async fn read_with(
    path: PathBuf,
    deadline: Duration,
    parse: impl FnOnce(&Path) -> Result<(ParsedFile, String), ReadError> + Send + 'static,
) -> Outcome {
    let name = path.display().to_string();
    let task = tokio::task::spawn_blocking(move || parse(&path));
    match tokio::time::timeout(deadline, task).await {
        Ok(Ok(Ok((file, digest)))) => outcome(&name, &file, digest),
        Ok(Ok(Err(e))) => Outcome::Refused(vec![e.to_string()]),
        Ok(Err(e)) => Outcome::Refused(vec![format!("{name}: reading it failed: {e}")]),
        Err(_) => Outcome::Refused(vec![format!(
            "{name}: reading it took longer than {} (a host name lookup?); \
             keeping the running configuration",
            lvscf::Seconds::try_from(deadline)
                .map_or_else(|_| format!("{deadline:?}"), |s| format!("{s} s"))
        )]),
    }
}

/// The reload in progress, if any, for the loop: SIGHUPs that come while
/// one runs make one more after it (they coalesce, as before), never a
/// second read at the same time.
pub struct Reloads {
    path: PathBuf,
    running: Option<Pin<Box<dyn Future<Output = Outcome>>>>,
    again: bool,
}

impl Reloads {
    /// Reloads of `path`.
    pub fn new(path: PathBuf) -> Reloads {
        Reloads {
            path,
            running: None,
            again: false,
        }
    }

    /// SIGHUP: start reading, or read again once the running read is done.
    pub fn request(&mut self) {
        if self.running.is_some() {
            self.again = true;
        } else {
            self.running = Some(Box::pin(read(self.path.clone(), DEADLINE)));
        }
    }

    /// The next outcome; pending while no reload runs.
    pub async fn next(&mut self) -> Outcome {
        let Some(running) = self.running.as_mut() else {
            return std::future::pending().await;
        };
        let outcome = running.await;
        self.running = None;
        if std::mem::take(&mut self.again) {
            self.request();
        }
        outcome
    }
}

/// `config` with the default `client_monitor` (`/usr/sbin/nanny`, when
/// lvs.cf sets none or that one) replaced by the `nanny` next to this
/// lvsd's own executable, if there is one: a build tree (`target/release/`)
/// then runs its own nanny, and an installed lvsd (`/usr/sbin/lvsd`) the
/// installed one.
pub fn with_local_nanny(config: Config) -> Config {
    match std::env::current_exe() {
        Ok(exe) => match exe.parent() {
            Some(dir) => with_nanny_in(config, dir),
            None => config,
        },
        Err(_) => config,
    }
}

/// [`with_local_nanny`] for an lvsd in `dir`.
fn with_nanny_in(mut config: Config, dir: &Path) -> Config {
    use std::os::unix::fs::PermissionsExt;
    let nanny = dir.join("nanny");
    let runs =
        std::fs::metadata(&nanny).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if runs {
        let local = nanny.to_string_lossy().into_owned();
        for vs in &mut config.virtuals {
            if vs.client_monitor == lvscf::model::DEFAULT_CLIENT_MONITOR {
                vs.client_monitor.clone_from(&local);
            }
        }
    }
    config
}

/// The configuration, or the lines that say why there is none.
fn outcome(name: &str, file: &ParsedFile, digest: String) -> Outcome {
    if let Some(config) = &file.parsed.config {
        return Outcome::Loaded(Box::new(with_local_nanny(config.clone())), digest);
    }
    let errors: Vec<_> = file.parsed.of(Severity::Error).collect();
    let mut lines = Vec::with_capacity(errors.len().min(MAX_LOGGED) + 2);
    if let Some(first) = errors.first() {
        // The original's line (the log's own `lvs: ` prefix comes from the
        // sink).
        lines.push(format!("error parsing {name} on line {}.", first.line));
    }
    lines.extend(
        errors
            .iter()
            .take(MAX_LOGGED)
            .map(|d| format!("{name}:{d}")),
    );
    if errors.len() > MAX_LOGGED {
        lines.push(format!(
            "{name}: {} more errors not logged (lvsd --check -c {name} lists them all)",
            errors.len() - MAX_LOGGED
        ));
    }
    Outcome::Refused(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    fn refused(o: Outcome) -> Vec<String> {
        match o {
            Outcome::Refused(lines) => lines,
            Outcome::Loaded(..) => panic!("loaded"),
        }
    }

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lvsd-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        dir.join(name)
    }

    #[test]
    fn a_stuck_parse_gives_up_at_the_deadline_and_the_loop_goes_on() {
        let rt = runtime();
        let (release, stuck) = std::sync::mpsc::channel::<()>();
        let started = Instant::now();
        let lines = rt.block_on(async {
            // A tick that must keep coming while the parse hangs: the loop
            // thread is free.
            let ticker = tokio::spawn(async {
                let mut n = 0;
                let mut t = tokio::time::interval(Duration::from_millis(20));
                loop {
                    t.tick().await;
                    n += 1;
                    if n == 10 {
                        return n;
                    }
                }
            });
            let reload = read_with(
                PathBuf::from("lvs.cf"),
                Duration::from_millis(500),
                move |_| {
                    // Blocks like getaddrinfo on a DNS that never answers.
                    let _ = stuck.recv_timeout(Duration::from_secs(30));
                    Err(ReadError {
                        path: PathBuf::from("lvs.cf"),
                        source: std::io::Error::other("released"),
                    })
                },
            );
            let (lines, ticks) = tokio::join!(reload, ticker);
            assert_eq!(ticks.expect("ticker"), 10);
            refused(lines)
        });
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert!(took >= Duration::from_millis(500), "{took:?}");
        assert_eq!(
            lines,
            [
                "lvs.cf: reading it took longer than 0.5 s (a host name lookup?); \
              keeping the running configuration"
            ]
        );
        drop(release);
    }

    #[test]
    fn the_default_monitor_is_the_nanny_beside_lvsd() {
        use std::os::unix::fs::PermissionsExt;
        let config = || {
            let mut config = Config::default();
            let mut own = lvscf::VirtualServer::new("own");
            own.client_monitor = "/usr/local/bin/check".into();
            config.virtuals = vec![lvscf::VirtualServer::new("web"), own];
            config
        };
        let dir = tmp("bin");
        std::fs::create_dir_all(&dir).expect("dir");
        let nanny = dir.join("nanny");
        let _ = std::fs::remove_file(&nanny);
        // No nanny beside lvsd: /usr/sbin/nanny, as installed.
        let c = with_nanny_in(config(), &dir);
        assert_eq!(c.virtuals[0].client_monitor, "/usr/sbin/nanny");
        // Not executable: not ours to run.
        std::fs::write(&nanny, "#!/bin/sh\n").expect("write");
        let c = with_nanny_in(config(), &dir);
        assert_eq!(c.virtuals[0].client_monitor, "/usr/sbin/nanny");
        std::fs::set_permissions(&nanny, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let c = with_nanny_in(config(), &dir);
        assert_eq!(c.virtuals[0].client_monitor, nanny.display().to_string());
        // A site's own monitor stays.
        assert_eq!(c.virtuals[1].client_monitor, "/usr/local/bin/check");
        let _ = std::fs::remove_file(&nanny);
    }

    #[test]
    fn a_fifo_is_refused_at_once() {
        let fifo = tmp("fifo.cf");
        let _ = std::fs::remove_file(&fifo);
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .expect("mkfifo");
        let started = Instant::now();
        let lines = refused(runtime().block_on(read(fifo.clone(), DEADLINE)));
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(
            lines,
            [format!(
                "failed to open {}: not a regular file (a FIFO)",
                fifo.display()
            )]
        );
        let _ = std::fs::remove_file(&fifo);
    }

    #[test]
    fn a_bad_file_is_one_summary_and_at_most_twenty_errors() {
        let path = tmp("bad.cf");
        let mut text = String::new();
        for i in 0..50 {
            text.push_str(&format!(
                "virtual v{i} {{\n address = 192.0.2.1 eth0:1\n port = nosuch{i}\n}}\n"
            ));
        }
        std::fs::write(&path, text).expect("write");
        let lines = refused(runtime().block_on(read(path.clone(), DEADLINE)));
        let name = path.display();
        assert_eq!(lines.len(), 1 + MAX_LOGGED + 1, "{lines:#?}");
        assert_eq!(lines[0], format!("error parsing {name} on line 3."));
        assert!(
            lines[1].starts_with(&format!(
                "{name}:3:9: error: port: unknown service name \"nosuch0\""
            )),
            "{}",
            lines[1]
        );
        assert_eq!(
            lines[21],
            format!("{name}: 30 more errors not logged (lvsd --check -c {name} lists them all)")
        );
        let good = "virtual v {\n address = 192.0.2.1 eth0:1\n}\n";
        std::fs::write(&path, good).expect("write");
        match runtime().block_on(read(path.clone(), DEADLINE)) {
            Outcome::Loaded(c, digest) => {
                assert_eq!(c.virtuals.len(), 1);
                // The digest of the bytes read, as the helper computes it.
                assert_eq!(digest, digest_hex(good.as_bytes()));
                assert_eq!(digest.len(), 64);
            }
            Outcome::Refused(l) => panic!("{l:?}"),
        }
        assert_eq!(
            digest_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let _ = std::fs::remove_file(&path);
    }
}
