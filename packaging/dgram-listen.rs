//! Stand in for systemd's notification socket or for syslog's /dev/log in
//! packaging/check.sh (on the host and in the test guest, which has no
//! python). Built there with plain rustc, std only:
//!
//!     dgram-listen SOCKET SECONDS
//!
//! Binds a Unix datagram socket at SOCKET, prints "listening", then each
//! datagram received within SECONDS as one line "SECS.MILLIS TEXT"
//! (newlines inside shown as "|"), and removes the socket.

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: dgram-listen SOCKET SECONDS");
        std::process::exit(2);
    }
    let path = &args[1];
    let seconds: f64 = args[2].parse().unwrap_or_else(|_| {
        eprintln!("dgram-listen: {}: not a number of seconds", args[2]);
        std::process::exit(2);
    });
    let socket = UnixDatagram::bind(path).unwrap_or_else(|e| {
        eprintln!("dgram-listen: bind {path}: {e}");
        std::process::exit(1);
    });
    let mut out = std::io::stdout();
    let _ = writeln!(out, "listening");
    let _ = out.flush();
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let mut buf = vec![0u8; 65536];
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let _ = socket.set_read_timeout(Some(end - now));
        match socket.recv(&mut buf) {
            Ok(n) => {
                let text = String::from_utf8_lossy(&buf[..n]).replace('\n', "|");
                let t = start.elapsed();
                let _ = writeln!(out, "{}.{:03} {text}", t.as_secs(), t.subsec_millis());
                let _ = out.flush();
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = std::fs::remove_file(path);
}
