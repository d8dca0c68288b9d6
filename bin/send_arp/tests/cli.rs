//! send_arp's argument errors, messages and exit codes, as the original's
//! (reference anchors/send_arp-frame.txt §3, recorded with piranha 0.8.6's
//! send_arp). None of these needs root: arguments and the device are
//! checked before the packet socket is opened.

use std::process::{Command, Output};

fn send_arp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_send_arp"))
        .args(args)
        .output()
        .expect("run send_arp")
}

const USAGE: &str = "send_arp: sends out custom ARP packet. Yuri Volobuev '97\n\
                     \tusage: send_arp [-i dev] src_ip_addr src_hw_addr targ_ip_addr \
                     tar_hw_addr\n\n\n";

fn assert_fails(args: &[&str], stderr: &str) {
    let out = send_arp(args);
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), stderr, "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?}");
}

#[test]
fn wrong_argument_counts_print_the_usage() {
    for args in [
        &[][..],
        &["1.2.3.4"],
        &["-i", "lo", "203.0.113.10", "00005E005301", "203.0.113.255"],
        &[
            "-x",
            "lo",
            "203.0.113.10",
            "00005E005301",
            "203.0.113.255",
            "ffffffffffff",
        ],
        &["-i", "lo", "203.0.113.10", "00005E005301"],
    ] {
        assert_fails(args, USAGE);
    }
}

#[test]
fn bad_hardware_addresses() {
    for mac in ["00005E00530", "00005E00530G", "", "00-00-5e-00-53-01"] {
        let args = [
            "-i",
            "lo",
            "203.0.113.10",
            mac,
            "203.0.113.255",
            "ffffffffffff",
        ];
        assert_fails(&args, "Invalid hardware address\n");
    }
    // The target MAC is checked too (first, as in the original).
    let args = [
        "-i",
        "lo",
        "203.0.113.10",
        "00005E005301",
        "x",
        "fffffffffff",
    ];
    assert_fails(&args, "Invalid hardware address\n");
}

#[test]
fn unknown_host() {
    let args = [
        "-i",
        "lo",
        "no.such.host.invalid",
        "00005E005301",
        "x",
        "ffffffffffff",
    ];
    assert_fails(&args, "send_arp: unknown host no.such.host.invalid\n");
}

#[test]
fn no_such_device() {
    for dev in ["nosuch0", "nosuch0:1", "a-name-far-too-long-for-linux"] {
        let args = [
            "-i",
            dev,
            "203.0.113.10",
            "00005E005301",
            "203.0.113.255",
            "ffffffffffff",
        ];
        assert_fails(&args, "sendto: No such device\n");
    }
}

#[test]
fn help_and_version_succeed() {
    let out = send_arp(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("send_arp: sends out custom ARP"));
    let out = send_arp(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("send_arp {}\n", env!("CARGO_PKG_VERSION"))
    );
}
