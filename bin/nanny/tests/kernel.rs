//! nanny on its own (no lvsd, no report pipe) against the real kernel, in
//! the qemu guest (`tests/vm/ci.sh`): it adds, removes and quiesces its real
//! server in IPVS itself, as the original did.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use testrig::{Network, has_server, kernel_table, sh, wait_for};

const SERVICE: &str = "-t 203.0.113.10:80";

fn dest_line(weight: u32) -> String {
    format!("-a {SERVICE} -r 192.0.2.11:80 -m -w {weight}")
}

/// A standalone nanny for 192.0.2.11:80, killed on drop.
struct Nanny(Child);

impl Nanny {
    fn start(extra: &[&str]) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_nanny"))
            .args([
                "-c",
                "-n",
                "-h",
                "192.0.2.11",
                "-p",
                "80",
                "-r",
                "80",
                "-a",
                "2",
                "-t",
                "1",
                "-w",
                "1",
                "-V",
                "203.0.113.10",
                "-M",
                "m",
            ])
            .args(extra)
            .arg("--lvs")
            .env_remove("LVSD_REPORT_FD")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start nanny");
        Nanny(child)
    }

    fn terminate(mut self) -> Option<i32> {
        sh(&format!("kill -TERM {}", self.0.id()));
        let status = self.0.wait().ok()?;
        status.code()
    }
}

impl Drop for Nanny {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn adds_removes_and_readds_its_server() {
    let net = Network::new("nanny-rs");
    let listener = net.listen("192.0.2.11");
    sh(&format!("ipvsadm -A {SERVICE} -s wlc"));
    let nanny = Nanny::start(&[]);
    wait_for("the server to be added", Duration::from_secs(10), || {
        kernel_table().contains(&dest_line(1))
    });

    drop(listener);
    let gone = wait_for("the server to leave", Duration::from_secs(10), || {
        !has_server("192.0.2.11")
    });
    eprintln!("left after {gone:?}");
    // timeout = 1 s: within the next check plus its timeout, with margin.
    assert!(gone <= Duration::from_millis(3500), "{gone:?}");

    let _listener = net.listen("192.0.2.11");
    let back = wait_for("the server to return", Duration::from_secs(15), || {
        has_server("192.0.2.11")
    });
    eprintln!("back after {back:?}");
    assert!(back >= Duration::from_millis(1500), "{back:?}");

    // SIGTERM removes its entry and exits 0, as the original.
    assert_eq!(nanny.terminate(), Some(0));
    assert!(!has_server("192.0.2.11"));
    assert!(
        kernel_table()
            .iter()
            .any(|l| l.starts_with(&format!("-A {SERVICE}")))
    );
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn quiesce_keeps_the_entry_at_weight_zero() {
    let net = Network::new("nanny-rs");
    let listener = net.listen("192.0.2.11");
    sh(&format!("ipvsadm -A {SERVICE} -s wlc"));
    let _nanny = Nanny::start(&["-q"]);
    wait_for("the server to be added", Duration::from_secs(10), || {
        kernel_table().contains(&dest_line(1))
    });
    drop(listener);
    wait_for("weight 0", Duration::from_secs(10), || {
        kernel_table().contains(&dest_line(0))
    });
    let _listener = net.listen("192.0.2.11");
    wait_for("weight 1 again", Duration::from_secs(15), || {
        kernel_table().contains(&dest_line(1))
    });
}
