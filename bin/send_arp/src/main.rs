//! `send_arp [-i DEV] src_ip src_hw targ_ip targ_hw`: piranha's tool that
//! sends one gratuitous ARP reply for `src_ip` at `src_hw` to the Ethernet
//! address `targ_hw` on DEV (default `eth0`), with the original's
//! arguments, frame, messages and exit codes (0, or 1 on any error). An
//! IPv6 `src_ip` sends an unsolicited neighbour advertisement instead.
//! The frames and the socket are the `arp` crate's; this is only the
//! command line. Differences from the original: docs/compat.md.

mod args;

use std::io::{self, Write};
use std::net::IpAddr;
use std::process::ExitCode;

use arp::Mac;
use arp::socket::{PacketSocket, base_device, interface};

use args::{Command, Request};

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let result = match args::parse(&argv) {
        None => Err(args::USAGE.to_owned()),
        Some(Command::Help) => {
            println!("{}", args::USAGE);
            Ok(())
        }
        Some(Command::Version) => {
            println!("send_arp {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some(Command::Send(request)) => send(&request),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Like the original's fprintf/perror: the message alone, on stderr.
            let _ = writeln!(io::stderr(), "{message}");
            ExitCode::from(1)
        }
    }
}

/// perror(3)'s text for an I/O error: the C library's description, without
/// Rust's " (os error N)" suffix.
fn describe(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_owned(),
        None => err.to_string(),
    }
}

/// Checks the arguments in the original's order (target MAC, own MAC,
/// address), then finds the device, opens the socket and sends one frame.
fn send(req: &Request<'_>) -> Result<(), String> {
    const BAD_MAC: &str = "Invalid hardware address";
    let targ_hw = Mac::parse_send_arp_hw(req.targ_hw).map_err(|_| BAD_MAC)?;
    let src_hw = Mac::parse_send_arp_hw(req.src_hw).map_err(|_| BAD_MAC)?;
    let ip = args::resolve(req.src_ip)
        .ok_or_else(|| format!("send_arp: unknown host {}", req.src_ip))?;
    let _ = req.targ_ip; // ignored, as by send_arp 0.8.x

    // The original learnt of a missing device from sendto(); so do its
    // messages. A label such as eth0:1 means its base device.
    let ifc = interface(base_device(req.device)).map_err(|e| match e.kind() {
        io::ErrorKind::InvalidInput => "sendto: No such device".to_owned(),
        _ => format!("sendto: {}", describe(&e)),
    })?;
    let socket = PacketSocket::open(ifc.index).map_err(|e| format!("socket: {}", describe(&e)))?;
    let sent = match ip {
        IpAddr::V4(v4) => socket.send(&arp::frame::gratuitous_reply(src_hw, v4, targ_hw)),
        IpAddr::V6(v6) => {
            let mut na = arp::ndisc::NeighborAdvert::unsolicited(src_hw, v6);
            // Broadcast (what pulse passes) means "everyone": for IPv6 that
            // is the all-nodes group; any other destination is kept.
            if targ_hw != Mac::BROADCAST {
                na.eth_dst = targ_hw;
            }
            let mut frame = [0u8; arp::ndisc::NA_FRAME_LEN];
            na.emit(&mut frame);
            socket.send(&frame)
        }
    };
    sent.map_err(|e| format!("sendto: {}", describe(&e)))
}
