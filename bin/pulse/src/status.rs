//! `pulse --status`: the running pulse's view, over a Unix socket only root
//! can open (`/run/pulse.sock`, mode 0600), as lvsd's (`lvsd --status`).
//!
//! Request: one line, `status` or `status json`. Reply: the text (or JSON)
//! and end of stream. The reply is a snapshot taken when the client
//! connects, written by its own task, so a slow client never holds up the
//! heartbeat loop.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tracing::warn;

use crate::Fatal;

pub use failover::status::{PathStatus, Status, render};

/// Bind the socket (mode 0600). A failure is logged, not fatal.
pub fn listen(path: &Path) -> Option<UnixListener> {
    // A stale socket from a killed pulse: only remove it if nobody answers.
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

/// Answer one client with `snapshot` on a task of its own.
pub fn serve(stream: UnixStream, snapshot: Status) {
    tokio::spawn(async move {
        let (read, mut write) = stream.into_split();
        let mut line = String::new();
        let mut reader = BufReader::new(read);
        let limit = Duration::from_secs(2);
        if !matches!(
            tokio::time::timeout(limit, reader.read_line(&mut line)).await,
            Ok(Ok(_))
        ) {
            return;
        }
        let text = if line.trim() == "status json" {
            failover::status::to_json(&snapshot)
        } else {
            render(&snapshot)
        };
        let _ = tokio::time::timeout(limit, write.write_all(text.as_bytes())).await;
    });
}

/// The client side.
pub fn query(path: &Path, json: bool) -> Result<String, Fatal> {
    let fail = |e: std::io::Error| {
        Fatal::new(format!(
            "pulse: cannot reach pulse at {}: {e} (is it running?)",
            path.display()
        ))
    };
    let mut stream = StdUnixStream::connect(path).map_err(fail)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(fail)?;
    let request = if json { "status json\n" } else { "status\n" };
    stream.write_all(request.as_bytes()).map_err(fail)?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).map_err(fail)?;
    Ok(reply)
}
