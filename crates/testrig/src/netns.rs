//! Named network namespaces for the tests that run as root on the host
//! (`tests/netns/run.sh`) or in the guest, and `ip` that must succeed.

use std::fs;
use std::process::{Command, Stdio};

/// `ip ARGS…`, which must succeed (a panic shows its stderr); its stdout.
pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A named network namespace, deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Namespace `PREFIX-PID-TAG` (this process's pid, so parallel runs do
    /// not meet, and a leftover of a killed earlier run with the same pid
    /// is removed first).
    pub fn new(prefix: &str, tag: &str) -> Netns {
        let name = format!("{prefix}-{}-{tag}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        ip(&["netns", "add", &name]);
        Netns { name }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NAME ARGS…`, which must succeed; its stdout.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// Enter it (the calling thread only).
    pub fn enter(&self) {
        let ns = fs::File::open(format!("/run/netns/{}", self.name))
            .unwrap_or_else(|e| panic!("open namespace {}: {e}", self.name));
        nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET)
            .unwrap_or_else(|e| panic!("setns {}: {e}", self.name));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
