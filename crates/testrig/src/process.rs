//! The processes a test starts: spawned with a name for the messages,
//! killed by pid when dropped, waited for with a bound; and where the
//! workspace's binaries are.

use std::fs;
use std::io::{BufRead as _, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A child process, killed (SIGKILL to its pid) and reaped when dropped,
/// so a failing test leaves nothing running.
#[derive(Debug)]
pub struct Running {
    what: String,
    child: Child,
    /// How it ended, once reaped.
    ended: Option<ExitStatus>,
}

impl Running {
    /// Spawn `cmd`, panicking with `what` and the command line if it cannot
    /// start.
    pub fn spawn(what: &str, cmd: &mut Command) -> Running {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {what} ({cmd:?}): {e}"));
        Running {
            what: what.to_owned(),
            child,
            ended: None,
        }
    }

    /// What this process is, as the messages name it.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// Its pid (the program's own: wrappers the tests use exec it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its stdout, when the command was given `Stdio::piped()` (once).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// How it ended, if it has (reaping it), without waiting.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.ended.is_none() {
            self.ended = self.child.try_wait().ok().flatten();
        }
        self.ended
    }

    /// Whether it is stopped (state `T` in /proc: SIGSTOP, or the
    /// fault-injection stop of a helper).
    pub fn is_stopped(&self) -> bool {
        proc_state(self.pid()) == Some('T')
    }

    /// SIGKILL and reap; nothing when it is already gone.
    pub fn kill(&mut self) {
        if self.ended.is_none() {
            let _ = self.child.kill();
            self.ended = self.child.wait().ok();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The process state letter of `pid`, read after the command name's
/// closing parenthesis (a name may hold spaces and parentheses).
fn proc_state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// The lines a child writes, gathered by a thread of their own as they
/// come, so a test can wait for one while the child runs on.
#[derive(Debug, Clone, Default)]
pub struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    /// Starts reading `from` (a child's stdout) until its end; join the
    /// thread to have every line once the child has exited.
    pub fn read_from(from: impl Read + Send + 'static) -> (Lines, thread::JoinHandle<()>) {
        let lines = Lines::default();
        let reader = {
            let lines = lines.clone();
            thread::spawn(move || {
                for line in BufReader::new(from).lines() {
                    let Ok(line) = line else { break };
                    lines.0.lock().expect("lock").push(line);
                }
            })
        };
        (lines, reader)
    }

    /// How many lines are exactly `line`.
    pub fn count(&self, line: &str) -> usize {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .filter(|l| *l == line)
            .count()
    }

    /// How many lines so far.
    pub fn len(&self) -> usize {
        self.0.lock().expect("lock").len()
    }

    /// Whether there is none yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every line so far.
    pub fn all(&self) -> Vec<String> {
        self.0.lock().expect("lock").clone()
    }
}

/// A log file to give a child as stdout or stderr.
pub fn log_file(path: &Path) -> fs::File {
    fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()))
}

/// A file's text, empty when it is not there (yet): for failure messages.
pub fn read_log(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

/// Poll `cond` every 20 ms; after `limit`, panic naming `what` and adding
/// what `context` says then (the logs of the processes involved).
pub fn wait_with(
    what: &str,
    limit: Duration,
    mut cond: impl FnMut() -> bool,
    context: impl FnOnce() -> String,
) -> Duration {
    let start = Instant::now();
    loop {
        if cond() {
            return start.elapsed();
        }
        if start.elapsed() >= limit {
            panic!(
                "timed out after {limit:?} waiting for {what}\n{}",
                context()
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A TCP port free on loopback now (the kernel's pick; a test binds it
/// soon after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The workspace binary `name` beside `anchor` (a binary of the test's own
/// package, `env!("CARGO_BIN_EXE_…")`): cargo puts every package's
/// binaries in one directory. Panics, naming the build to run, when it is
/// not there.
pub fn bin_beside(anchor: &str, name: &str) -> PathBuf {
    let p = Path::new(anchor).with_file_name(name);
    assert!(
        p.exists(),
        "{} missing: build the workspace binaries first (cargo build --bins)",
        p.display()
    );
    p
}

/// Binary `name` of workspace package `package` beside `anchor`, built
/// with `cargo build -p PACKAGE --bin NAME` when it is not there (a test
/// run of one package alone does not build the others' binaries).
pub fn build_bin(anchor: &str, package: &str, name: &str) -> PathBuf {
    let p = Path::new(anchor).with_file_name(name);
    if !p.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let ok = Command::new(cargo)
            .args(["build", "-p", package, "--bin", name])
            .status()
            .unwrap_or_else(|e| panic!("cargo build -p {package}: {e}"));
        assert!(ok.success(), "cargo build -p {package} --bin {name} failed");
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Stdio;

    #[test]
    fn lines_are_gathered_as_the_child_writes_them() {
        let mut cmd = Command::new("printf");
        cmd.arg("a\\nb\\na\\n").stdout(Stdio::piped());
        let mut child = Running::spawn("printf", &mut cmd);
        let (lines, reader) = Lines::read_from(child.take_stdout().expect("stdout"));
        reader.join().expect("reader");
        assert_eq!(lines.all(), ["a", "b", "a"]);
        assert_eq!((lines.count("a"), lines.len()), (2, 3));
        assert!(child.take_stdout().is_none());
    }

    #[test]
    fn a_running_child_is_killed_and_reaped_on_drop() {
        let mut cmd = Command::new("sleep");
        cmd.arg("600").stdin(Stdio::null());
        let running = Running::spawn("sleep", &mut cmd);
        let pid = running.pid();
        assert_eq!(proc_state(pid).map(|s| s != 'Z'), Some(true));
        drop(running);
        // Reaped: no process, not even a zombie, holds the pid.
        assert_eq!(proc_state(pid), None);
    }

    #[test]
    fn a_stopped_child_is_seen_stopped() {
        let mut cmd = Command::new("sleep");
        cmd.arg("600");
        let running = Running::spawn("sleep", &mut cmd);
        assert!(!running.is_stopped());
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(running.pid() as i32),
            nix::sys::signal::Signal::SIGSTOP,
        )
        .expect("SIGSTOP");
        wait_with(
            "sleep to stop",
            Duration::from_secs(5),
            || running.is_stopped(),
            String::new,
        );
    }

    #[test]
    #[should_panic(expected = "timed out after 50ms waiting for nothing\nthe log")]
    fn a_wait_names_what_it_waited_for_and_the_context() {
        wait_with(
            "nothing",
            Duration::from_millis(50),
            || false,
            || "the log".into(),
        );
    }
}
