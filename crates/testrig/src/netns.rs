//! Named network namespaces for the tests that run as root on the host
//! (`tests/netns/run.sh`) or in the guest, and `ip` that must succeed.
//!
//! A test makes its namespaces with [`Netns::new`], wires them with
//! [`Netns::veth`] and [`Netns::ip`], and runs its own code inside one with
//! [`Netns::run`] (sockets it opens there stay there) or a program with
//! [`Netns::exec`] / [`Netns::command`]. Every namespace is deleted when
//! its `Netns` drops, also when the test panics; the kernel removes the
//! veth ends inside it along with it.

use std::ffi::OsStr;
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

    /// `f`'s result, `f` run on a thread of its own that entered this
    /// namespace, so the caller's thread stays where it is. Sockets `f`
    /// opens belong to this namespace, whichever thread uses them later. A
    /// panic in `f` goes on as the caller's panic, with its message.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|s| {
            s.spawn(|| {
                self.enter();
                f()
            })
            .join()
        })
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    /// `ip netns exec NAME PROGRAM`, to be given its arguments and run as
    /// the caller needs (spawned, its output checked).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }

    /// `PROGRAM ARGS…` inside it, which must succeed (a panic shows its
    /// stderr); its stdout.
    pub fn exec(&self, program: &str, args: &[&str]) -> String {
        let out = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("ip netns exec {} {program}: {e}", self.name));
        assert!(
            out.status.success(),
            "in {}: {program} {}: {}\n{}",
            self.name,
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A veth pair, `name` here and `peer_name` in `peer` (which may be
    /// this namespace), both ends up. A test that needs an end down, or a
    /// MAC set before the link comes up, makes its pair with [`Netns::ip`].
    pub fn veth(&self, name: &str, peer: &Netns, peer_name: &str) {
        self.ip(&veth_args(name, peer.name(), peer_name));
        self.ip(&["link", "set", name, "up"]);
        peer.ip(&["link", "set", peer_name, "up"]);
    }
}

/// `ip -n A` arguments that add veth `name` with its peer `peer_name` in
/// namespace `peer_ns` (a name `ip` resolves under /run/netns, so the
/// same namespace works too).
fn veth_args<'a>(name: &'a str, peer_ns: &'a str, peer_name: &'a str) -> [&'a str; 10] {
    [
        "link", "add", name, "type", "veth", "peer", "name", peer_name, "netns", peer_ns,
    ]
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_veth_pair_puts_its_peer_in_the_named_namespace() {
        assert_eq!(
            veth_args("s1", "cfsync-7-r2", "s2").join(" "),
            "link add s1 type veth peer name s2 netns cfsync-7-r2"
        );
    }

    #[test]
    fn a_command_runs_the_program_in_the_namespace() {
        // Not made with `new` (that needs root): only the command line is
        // looked at, and nothing is there to delete.
        let ns = std::mem::ManuallyDrop::new(Netns {
            name: "t-7-x".to_owned(),
        });
        let mut cmd = ns.command("cat");
        cmd.arg("/proc/sys/net/ipv4/ip_forward");
        assert_eq!(cmd.get_program(), "ip");
        let args: Vec<_> = cmd.get_args().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(
            args,
            [
                "netns",
                "exec",
                "t-7-x",
                "cat",
                "/proc/sys/net/ipv4/ip_forward"
            ]
        );
    }
}
