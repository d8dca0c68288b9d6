//! The command line and what it means: [`Args`] is what the admin typed,
//! [`Settings::from_args`] checks it without any I/O (TLS required off
//! loopback, refresh interval floor, origins) and gives the settings the
//! server runs with.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Where the piranha tree keeps its configuration (SG §2.2:
/// piranha.passwd lives there); lvs-web reads its tokens file there.
pub const CONF_DIR: &str = "/etc/sysconfig/ha/conf";

/// lvs-web's own state: the generated certificate and key. Not CONF_DIR,
/// which is root's and read-only to the web user.
pub const STATE_DIR: &str = "/var/lib/lvs-web";

/// The original tool's port (SG §2.3.1).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3636";

/// The original's default auto-update interval (SG §4.3).
pub const DEFAULT_REFRESH_SECS: u64 = 10;

/// Below this a page refreshing itself makes the tool unusable (the
/// guide's own warning, SG §4.3); the original forced 10, we allow 2.
pub const MIN_REFRESH_SECS: u64 = 2;

/// lvs-web: the web configuration tool for lvs.cf (the Piranha
/// Configuration Tool's replacement). Runs unprivileged; everything
/// privileged, password checks included, goes through lvs-admin's socket
/// (the password file and PAM are configured on lvs-admin serve).
#[derive(Debug, Clone, Parser)]
#[command(name = "lvs-web", version)]
pub struct Args {
    /// Address and port to listen on. Anything but a loopback address
    /// requires TLS.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// Serve HTTPS on a loopback address too (always on elsewhere).
    #[arg(long)]
    pub tls: bool,

    /// PEM certificate chain for TLS; generated (self-signed) on first
    /// start when absent.
    #[arg(long, default_value_t = format!("{STATE_DIR}/lvs-web.crt"))]
    pub tls_cert: String,

    /// PEM private key for TLS; generated with the certificate, mode 0600.
    #[arg(long, default_value_t = format!("{STATE_DIR}/lvs-web.key"))]
    pub tls_key: String,

    /// The lvs-admin helper's socket.
    #[arg(long, default_value = "/run/lvs-admin.sock")]
    pub admin_socket: PathBuf,

    /// API tokens for /api/v1/ (Bearer).
    #[arg(long, default_value_t = format!("{CONF_DIR}/lvs-web.tokens"))]
    pub tokens: String,

    /// Origin a browser's POST may come from (repeatable); default: the
    /// listen address's own origin (and localhost's on loopback).
    #[arg(long = "origin", value_name = "ORIGIN")]
    pub origins: Vec<String>,

    /// The status page's refresh interval in seconds (at least 2).
    #[arg(long, default_value_t = DEFAULT_REFRESH_SECS)]
    pub refresh: u64,

    /// Log out a session idle for this many seconds.
    #[arg(long, default_value_t = 900)]
    pub idle_timeout: u64,

    /// Also write the audit lines to stdout (they always go to syslog,
    /// so the journal): for foreground runs and tests.
    #[arg(long)]
    pub audit_stdout: bool,
}

/// Whether and how the listener speaks TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Plain HTTP: only on loopback.
    Plain,
    /// HTTPS with this certificate and key (generated when absent).
    Tls { cert: PathBuf, key: PathBuf },
}

/// The checked settings the server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub transport: Transport,
    pub admin_socket: PathBuf,
    pub tokens: PathBuf,
    pub origins: Vec<String>,
    pub refresh: Duration,
    pub idle_timeout: Duration,
    pub audit_stdout: bool,
}

/// A command line that cannot be run, with the flag at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

impl Settings {
    /// Checks the command line; no I/O.
    pub fn from_args(args: &Args) -> Result<Settings, UsageError> {
        let transport = if args.tls || !args.listen.ip().is_loopback() {
            Transport::Tls {
                cert: PathBuf::from(&args.tls_cert),
                key: PathBuf::from(&args.tls_key),
            }
        } else {
            Transport::Plain
        };
        if args.refresh < MIN_REFRESH_SECS {
            return Err(UsageError(format!(
                "--refresh {}: at least {MIN_REFRESH_SECS} seconds (a page reloading faster loses what is typed into it)",
                args.refresh
            )));
        }
        if args.idle_timeout < 60 {
            return Err(UsageError(format!(
                "--idle-timeout {}: at least 60 seconds",
                args.idle_timeout
            )));
        }
        let tls = matches!(transport, Transport::Tls { .. });
        let origins = if args.origins.is_empty() {
            default_origins(args.listen, tls)
        } else {
            for o in &args.origins {
                check_origin(o)?;
            }
            args.origins.clone()
        };
        Ok(Settings {
            listen: args.listen,
            transport,
            admin_socket: args.admin_socket.clone(),
            tokens: PathBuf::from(&args.tokens),
            origins,
            refresh: Duration::from_secs(args.refresh),
            idle_timeout: Duration::from_secs(args.idle_timeout),
            audit_stdout: args.audit_stdout,
        })
    }

    /// Whether the listener speaks TLS (and so cookies are `Secure`).
    pub fn tls(&self) -> bool {
        matches!(self.transport, Transport::Tls { .. })
    }
}

/// The origins a browser sends for pages served on `listen`: its own, and
/// `localhost`'s on a loopback address. An unspecified address (0.0.0.0)
/// has no origin of its own: the admin names it with --origin.
pub fn default_origins(listen: SocketAddr, tls: bool) -> Vec<String> {
    let scheme = if tls { "https" } else { "http" };
    let port = listen.port();
    let mut out = Vec::new();
    if !listen.ip().is_unspecified() {
        out.push(match listen {
            SocketAddr::V4(a) => format!("{scheme}://{}:{port}", a.ip()),
            SocketAddr::V6(a) => format!("{scheme}://[{}]:{port}", a.ip()),
        });
    }
    if listen.ip().is_loopback() {
        out.push(format!("{scheme}://localhost:{port}"));
    }
    out
}

/// An origin is `scheme://host[:port]`, nothing after it.
fn check_origin(o: &str) -> Result<(), UsageError> {
    let rest = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
        .ok_or_else(|| {
            UsageError(format!(
                "--origin {o:?}: expected http://HOST[:PORT] or https://HOST[:PORT]"
            ))
        })?;
    if rest.is_empty() || rest.contains('/') || rest.contains(char::is_whitespace) {
        return Err(UsageError(format!(
            "--origin {o:?}: an origin is scheme://host[:port] with no path"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut v = vec!["lvs-web"];
        v.extend_from_slice(extra);
        Args::try_parse_from(v).unwrap()
    }

    #[test]
    fn loopback_is_plain_http_by_default() {
        let s = Settings::from_args(&args(&[])).unwrap();
        assert_eq!(s.transport, Transport::Plain);
        assert_eq!(s.listen.port(), 3636);
        assert_eq!(
            s.origins,
            vec!["http://127.0.0.1:3636", "http://localhost:3636"]
        );
        assert_eq!(s.refresh, Duration::from_secs(10));
    }

    #[test]
    fn anywhere_else_requires_tls() {
        let s = Settings::from_args(&args(&["--listen", "192.0.2.1:3636"])).unwrap();
        assert!(matches!(s.transport, Transport::Tls { .. }));
        assert_eq!(s.origins, vec!["https://192.0.2.1:3636"]);
        let s = Settings::from_args(&args(&["--listen", "0.0.0.0:3636"])).unwrap();
        assert!(s.tls());
        assert!(s.origins.is_empty());
        let s = Settings::from_args(&args(&["--tls"])).unwrap();
        assert!(s.tls());
        assert_eq!(s.origins[0], "https://127.0.0.1:3636");
    }

    #[test]
    fn refresh_floor() {
        let e = Settings::from_args(&args(&["--refresh", "1"])).unwrap_err();
        assert!(e.0.contains("--refresh 1"), "{e}");
        assert!(Settings::from_args(&args(&["--refresh", "2"])).is_ok());
    }

    #[test]
    fn origins_are_checked() {
        let e = Settings::from_args(&args(&["--origin", "https://a/b"])).unwrap_err();
        assert!(e.0.contains("no path"), "{e}");
        let e = Settings::from_args(&args(&["--origin", "a.example"])).unwrap_err();
        assert!(e.0.contains("expected"), "{e}");
    }
}
