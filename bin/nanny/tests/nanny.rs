//! The `nanny` binary end to end on loopback: command-line errors, the
//! `--test-start` log, the report protocol and the signals.
//!
//! Every wait is bounded; a child still running when a test ends is killed.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const NANNY: &str = env!("CARGO_BIN_EXE_nanny");
const WAIT: Duration = Duration::from_secs(10);

fn nanny(args: &[&str]) -> Command {
    let mut c = Command::new(NANNY);
    c.args(args).env_remove("LVSD_REPORT_FD");
    c
}

/// A running nanny whose output lines arrive on a channel.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = channel();
        let out = child.stdout.take().unwrap();
        let tx2 = tx.clone();
        thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        let err = child.stderr.take().unwrap();
        thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx2.send(format!("stderr: {l}"));
            }
        });
        Running {
            child,
            lines,
            seen: vec![],
        }
    }

    /// Waits for a line containing `needle`; panics with what was seen.
    fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(needle) {
                        return l;
                    }
                }
                Err(_) => panic!("no line with {needle:?}; seen: {:#?}", self.seen),
            }
        }
    }

    fn signal(&self, sig: Signal) {
        kill(Pid::from_raw(i32::try_from(self.child.id()).unwrap()), sig).unwrap();
    }

    fn wait_exit(&mut self) -> i32 {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "nanny did not exit; seen {:#?}",
                self.seen
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Accepts and closes connections until dropped; then the port refuses.
struct Listener {
    stop: Arc<AtomicBool>,
    done: Option<thread::JoinHandle<()>>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.done.take() {
            let _ = t.join();
        }
    }
}

fn accept_and_close() -> (SocketAddr, Listener) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let addr = l.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let done = thread::spawn(move || {
        while !flag.load(Ordering::SeqCst) {
            match l.accept() {
                Ok((c, _)) => drop(c),
                Err(_) => thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (
        addr,
        Listener {
            stop,
            done: Some(done),
        },
    )
}

fn output(args: &[&str]) -> (i32, String, String, Duration) {
    let start = Instant::now();
    let mut child = nanny(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = start + WAIT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("nanny {args:?} did not exit");
        }
        thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        start.elapsed(),
    )
}

#[test]
fn bad_arguments_exit_1_with_popt_messages() {
    let (code, _, err, _) = output(&["--bogus"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "nanny: bad argument --bogus: unknown option\n")
    );
    let (code, _, err, _) = output(&["-h", "127.0.0.1", "--lvs", "stray"]);
    assert_eq!((code, err.as_str()), (1, "nanny: unexpected arguments\n"));
    let (code, _, err, _) = output(&["-t"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "nanny: bad argument -t: missing argument\n")
    );
    let (code, _, err, _) = output(&["--lvs"]);
    assert_eq!(code, 1);
    assert_eq!(err, "nanny: No address supplied. Use '--help' for help. \n");
    let (code, _, err, _) = output(&["-h", "not-an-ip", "--lvs"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "nanny: bad IP address -- not-an-ip\n")
    );
    let (code, _, err, _) = output(&["-h", "127.0.0.1"]);
    assert_eq!((code, err.as_str()), (1, "nanny: unknown service type\n"));
}

#[test]
fn version_and_help_exit_0() {
    let (code, out, _, _) = output(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("Program Version:\tnanny "));
    let (code, out, _, _) = output(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--quiesce_server"));
}

/// The original spun at 100 % CPU forever on this (piranha.md §2.6).
#[test]
fn unknown_escape_is_refused_at_start() {
    let (code, _, err, took) =
        output(&["-n", "-c", "-h", "127.0.0.1", "-x", r"HTTP/1\.1", "--lvs"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with(r#"nanny: bad expect string: unknown escape "\."#),
        "{err}"
    );
    assert!(took < Duration::from_secs(5));
    // In regex mode the same text is a valid expression.
    let (code, _, err, _) = output(&[
        "-n",
        "-c",
        "-h",
        "127.0.0.1",
        "-x",
        r"HTTP/1\.1(",
        "--regex",
        "--lvs",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("nanny: bad expect regular expression"),
        "{err}"
    );
}

#[test]
fn test_start_logs_ipvsadm_commands() {
    let (addr, listener) = accept_and_close();
    let port = addr.port().to_string();
    let mut n = Running::start(nanny(&[
        "-n",
        "-c",
        "--test-start",
        "-h",
        "127.0.0.1",
        "-p",
        "80",
        "-r",
        &port,
        "-s",
        "",
        "-t",
        "1",
        "-a",
        "0",
        "-w",
        "100",
        "-V",
        "192.0.2.10",
        "-M",
        "g",
        "-q",
        "--lvs",
    ]));
    n.expect(&format!(
        "starting LVS client monitor for 192.0.2.10:80 -> 127.0.0.1:{port}"
    ));
    n.expect(&format!("[ active ] making 127.0.0.1:{port} available"));
    assert_eq!(
        n.expect("running command"),
        format!(
            "nanny: running command /sbin/ipvsadm -a -t 192.0.2.10:80 -r 127.0.0.1:{port} -g -w 3"
        )
    );
    drop(listener); // nobody listens any more: refused
    n.expect(&format!(
        "[inactive] shutting down 127.0.0.1:{port} due to connection failure"
    ));
    // -q: quiesced, not deleted.
    assert_eq!(
        n.expect("running command"),
        format!(
            "nanny: running command /sbin/ipvsadm -e -t 192.0.2.10:80 -r 127.0.0.1:{port} -g -w 0"
        )
    );
    n.signal(Signal::SIGTERM);
    n.expect("Terminating due to signal 15");
    assert_eq!(
        n.expect("running command"),
        format!("nanny: running command /sbin/ipvsadm -d -t 192.0.2.10:80 -r 127.0.0.1:{port}")
    );
    assert_eq!(n.wait_exit(), 0);
}

/// Spawns nanny in report mode; returns it and the pipe's read end.
fn report_mode(args: &[&str]) -> (Running, Receiver<String>) {
    let (read, write): (OwnedFd, OwnedFd) = nix::unistd::pipe().unwrap();
    let mut cmd = nanny(args);
    cmd.env("LVSD_REPORT_FD", write.as_raw_fd().to_string());
    let n = Running::start(cmd);
    drop(write);
    let (tx, rx) = channel();
    thread::spawn(move || {
        for l in BufReader::new(std::fs::File::from(read))
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    (n, rx)
}

/// Collects report lines until `last` arrives.
fn report_until(rx: &Receiver<String>, last: &str) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    let mut lines = vec![];
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(l) => {
                let done = l == last;
                lines.push(l);
                if done {
                    return lines;
                }
            }
            Err(_) => panic!("no {last:?}; got {lines:#?}"),
        }
    }
}

#[test]
fn report_mode_speaks_the_protocol_and_obeys_signals() {
    let (addr, _listener) = accept_and_close();
    let port = addr.port().to_string();
    let (mut n, rx) = report_mode(&[
        "-n",
        "-c",
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "1",
        "-a",
        "0",
        "-w",
        "8",
        "-V",
        "192.0.2.10",
        "--lvs",
    ]);
    let lines = report_until(&rx, "want 1");
    assert_eq!(lines[0], "nanny-report 1");
    assert!(lines[1].starts_with(&format!("monitor 127.0.0.1:{port} tcp/192.0.2.10:{port} ")));
    assert_eq!(lines[2], format!("check ok connected to 127.0.0.1:{port}"));
    assert_eq!(lines[3..], ["want 1"]);
    assert_eq!(report_until(&rx, "state active"), ["state active"]);
    // Report mode never logs ipvsadm command lines.
    n.signal(Signal::SIGUSR1);
    n.expect("opaque glasses on");
    assert_eq!(
        report_until(&rx, "state inactive"),
        ["mode forced-down", "want none", "state inactive"]
    );
    n.signal(Signal::SIGUSR2);
    n.expect("rose-colored glasses on");
    assert_eq!(
        report_until(&rx, "state active"),
        ["mode forced-up", "want 8", "state active"]
    );
    n.signal(Signal::SIGHUP);
    n.expect("DEBUG -- removing glasses");
    assert_eq!(report_until(&rx, "mode normal"), ["mode normal"]);
    // Checks resume at once.
    let next = report_until(&rx, &format!("check ok connected to 127.0.0.1:{port}"));
    assert_eq!(next.len(), 1);
    n.signal(Signal::SIGTERM);
    let tail = report_until(&rx, "exit 0");
    assert_eq!(
        tail[tail.len() - 3..],
        ["want none", "state inactive", "exit 0"]
    );
    assert_eq!(n.wait_exit(), 0);
    assert!(!n.seen.iter().any(|l| l.contains("running command")));
}

#[test]
fn hung_check_program_does_not_hang_nanny() {
    let (mut n, rx) = report_mode(&[
        "-n",
        "-c",
        "-h",
        "127.0.0.1",
        "-p",
        "9",
        "-t",
        "1",
        "-e",
        "sleep 30",
        "-x",
        "OK",
        "--lvs",
    ]);
    let lines = report_until(&rx, "check fail timeout running the following: sleep");
    assert_eq!(lines[0], "nanny-report 1");
    n.expect("timeout running the following: sleep");
    // SIGTERM in the middle of the next (hung) check is served at once.
    thread::sleep(Duration::from_millis(1500));
    let start = Instant::now();
    n.signal(Signal::SIGTERM);
    assert_eq!(n.wait_exit(), 0);
    assert!(start.elapsed() < Duration::from_secs(2));
}

/// A check that fails at every interval (here: a check program that does
/// not exist) is logged a few times, then held back and counted, not once
/// per check forever; the count is written when nanny exits.
#[test]
fn a_check_failing_at_every_interval_is_rate_limited() {
    let mut n = Running::start(nanny(&[
        "-n",
        "-c",
        "--test-start",
        "-h",
        "127.0.0.1",
        "-p",
        "1",
        "-r",
        "1",
        "-t",
        "0.1",
        "-V",
        "203.0.113.10",
        "-M",
        "m",
        "-e",
        "/nonexistent/check",
        "--lvs",
    ]));
    // 3 s at a 0.1 s interval: about 30 failed checks.
    thread::sleep(Duration::from_secs(3));
    n.signal(Signal::SIGTERM);
    n.expect("Terminating due to signal 15");
    assert_eq!(n.wait_exit(), 0);
    while let Ok(l) = n.lines.recv_timeout(Duration::from_millis(500)) {
        n.seen.push(l);
    }
    let failed = n
        .seen
        .iter()
        .filter(|l| l.starts_with("nanny: cannot run /nonexistent/check"))
        .count();
    assert!((1..=5).contains(&failed), "{failed} lines: {:#?}", n.seen);
    let summary = n
        .seen
        .iter()
        .find(|l| l.starts_with("nanny: message repeated "))
        .unwrap_or_else(|| panic!("no summary: {:#?}", n.seen));
    let held: u32 = summary
        .trim_start_matches("nanny: message repeated ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(held >= 15, "{summary}");
}

#[test]
fn failing_check_program_keeps_server_out() {
    let (mut n, rx) = report_mode(&[
        "-n",
        "-c",
        "-h",
        "127.0.0.1",
        "-p",
        "9",
        "-t",
        "1",
        "-e",
        "false",
        "-x",
        "OK",
        "--lvs",
    ]);
    let lines = report_until(
        &rx,
        "check fail The following exited abnormally: false (exit status 1)",
    );
    assert!(!lines.iter().any(|l| l.starts_with("want")));
    let more = report_until(
        &rx,
        "check fail The following exited abnormally: false (exit status 1)",
    );
    assert!(!more.iter().any(|l| l.starts_with("want")));
    n.signal(Signal::SIGINT);
    n.expect("Terminating due to signal 2");
    assert_eq!(n.wait_exit(), 0);
}

#[test]
fn standalone_ipvs_failure_exits_255() {
    // No IPVS service 192.0.2.10:<port> exists (nor, on this host, IPVS):
    // adding the server fails, and nanny exits -1 as the original.
    let (addr, _listener) = accept_and_close();
    let port = addr.port().to_string();
    let mut n = Running::start(nanny(&[
        "-n",
        "-c",
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "1",
        "-V",
        "192.0.2.10",
        "--lvs",
    ]));
    n.expect("[ active ] making");
    n.expect("/sbin/ipvsadm command failed!");
    assert_eq!(n.wait_exit(), 255);
}

#[test]
fn shared_mode_usage_errors() {
    let (code, _, err, _) = output(&["--shared", "-c", "--lvs", "--server", "127.0.0.1:80:1"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "nanny: --shared needs a report pipe (LVSD_REPORT_FD)\n")
    );
    let (code, _, err, _) = output(&["--lvs", "--server", "127.0.0.1:80:1"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "nanny: --server RIP:RPORT:WEIGHT needs --shared\n")
    );
    let (code, _, err, _) = output(&[
        "--shared",
        "--lvs",
        "--server",
        "127.0.0.1:80:1",
        "-h",
        "127.0.0.1",
    ]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "nanny: --shared takes --server RIP:RPORT:WEIGHT, not -h, -r or -w\n"
        )
    );
    let (code, _, err, _) = output(&["--shared", "--lvs"]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "nanny: --shared needs at least one --server RIP:RPORT:WEIGHT\n"
        )
    );
}

/// Report lines of a shared nanny, each checked by lvsd's decoder.
struct SharedReport {
    rx: Receiver<String>,
    decoder: health::report::Decoder,
    seen: Vec<String>,
}

impl SharedReport {
    /// Reads lines until one equals `last` (or starts with it, when `last`
    /// ends with a space); returns the lines read.
    fn until(&mut self, last: &str) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        let mut lines = vec![];
        loop {
            let l = match self
                .rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(l) => l,
                Err(_) => panic!("no {last:?}; got {:#?}", self.seen),
            };
            self.decoder.push(l.as_bytes());
            self.decoder.push(b"\n");
            match self.decoder.next_report() {
                Some(Ok(_)) => {}
                other => panic!("{l:?} does not decode: {other:?}"),
            }
            self.seen.push(l.clone());
            lines.push(l.clone());
            if l == last || (last.ends_with(' ') && l.starts_with(last)) {
                return lines;
            }
        }
    }
}

#[test]
fn shared_mode_reports_each_server_and_obeys_control_lines() {
    use std::io::Write as _;

    let servers: Vec<(SocketAddr, Listener)> = (0..3).map(|_| accept_and_close()).collect();
    let entries: Vec<String> = servers
        .iter()
        .map(|(a, _)| format!("{}:{}:4", a.ip(), a.port()))
        .collect();
    let mut argv = vec![
        "--shared",
        "-c",
        "-p",
        "81",
        "-a",
        "0",
        "-t",
        "1",
        "-V",
        "192.0.2.10",
        "-M",
        "g",
        "--nodaemon",
        "--lvs",
    ];
    for e in &entries {
        argv.extend(["--server", e.as_str()]);
    }
    let (read, write): (OwnedFd, OwnedFd) = nix::unistd::pipe().unwrap();
    let mut cmd = nanny(&argv);
    cmd.env("LVSD_REPORT_FD", write.as_raw_fd().to_string())
        .stdin(Stdio::piped());
    let mut n = Running::start(cmd);
    drop(write);
    let mut control = n.child.stdin.take().unwrap();
    let (tx, rx) = channel();
    thread::spawn(move || {
        for l in BufReader::new(std::fs::File::from(read))
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    let mut r = SharedReport {
        rx,
        decoder: health::report::Decoder::new(),
        seen: vec![],
    };
    let pid = n.child.id();

    r.until("nanny-report 2");
    for (i, (addr, _)) in servers.iter().enumerate() {
        r.until(&format!("{i} monitor {addr} tcp/192.0.2.10:81 {pid}"));
    }
    // Weight 4 enters with max(1, 4/32) = 1; the indexes come in the order
    // the first checks were spread.
    for i in 0..3 {
        r.until(&format!("{i} want 1"));
    }

    // Control line for server 1 alone; junk is ignored.
    control.write_all(b"bogus\ndown 1\n").unwrap();
    let lines = r.until("1 want none");
    assert!(
        lines.contains(&"1 mode forced-down".to_string()),
        "{lines:#?}"
    );
    n.expect("ignoring control line from lvsd: \"bogus\"");
    n.expect("opaque glasses on");
    control.write_all(b"normal 1\n").unwrap();
    r.until("1 mode normal");
    r.until("1 want 1");

    // Stop server 1's listener: only index 1 goes out.
    let mut servers = servers;
    drop(servers.remove(1));
    let lines = r.until("1 want none");
    assert!(
        !lines
            .iter()
            .any(|l| l == "0 want none" || l == "2 want none"),
        "{lines:#?}"
    );
    // Two more rounds: the others stay in, server 1 stays out.
    let lines = r.until("1 check fail ");
    let lines2 = r.until("1 check fail ");
    for l in lines.iter().chain(&lines2) {
        assert!(!l.ends_with("want none") && !l.starts_with("1 want"), "{l}");
    }

    // EOF on stdin is no error; a signal applies to every server.
    drop(control);
    n.signal(Signal::SIGUSR2);
    let lines = r.until("2 mode forced-up");
    for want in ["0 mode forced-up", "1 mode forced-up", "1 want 4"] {
        assert!(lines.contains(&want.to_string()), "{lines:#?}");
    }
    // SIGTERM ends every server, then the process.
    n.signal(Signal::SIGTERM);
    let lines = r.until("- exit 0");
    for i in 0..3 {
        assert!(lines.contains(&format!("{i} want none")), "{lines:#?}");
    }
    assert_eq!(n.wait_exit(), 0);
}

/// Accepts and closes connections, counting them, until dropped.
fn counting_listener() -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>, Listener) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let addr = l.local_addr().unwrap();
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (flag, seen) = (stop.clone(), count.clone());
    let done = thread::spawn(move || {
        while !flag.load(Ordering::SeqCst) {
            match l.accept() {
                Ok((c, _)) => {
                    seen.fetch_add(1, Ordering::SeqCst);
                    drop(c);
                }
                Err(_) => thread::sleep(Duration::from_millis(2)),
            }
        }
    });
    (
        addr,
        count,
        Listener {
            stop,
            done: Some(done),
        },
    )
}

/// One real server in three virtuals, checked the same way, given to one
/// shared nanny three times (as lvsd does): one connection per interval,
/// and each of the three gets the result in its own state machine.
#[test]
fn shared_mode_checks_a_server_listed_three_times_once() {
    use std::io::Write as _;

    let (addr, count, _listener) = counting_listener();
    // Weights 32, 64, 96 enter at 1, 2, 3: three separate state machines.
    let entries: Vec<String> = [32, 64, 96]
        .iter()
        .map(|w| format!("{}:{}:{w}", addr.ip(), addr.port()))
        .collect();
    let mut argv = vec![
        "--shared",
        "-c",
        "-p",
        "81",
        "-a",
        "0",
        "-t",
        "0.5",
        "-V",
        "192.0.2.10",
        "--nodaemon",
        "--lvs",
    ];
    for e in &entries {
        argv.extend(["--server", e.as_str()]);
    }
    let (read, write): (OwnedFd, OwnedFd) = nix::unistd::pipe().unwrap();
    let mut cmd = nanny(&argv);
    cmd.env("LVSD_REPORT_FD", write.as_raw_fd().to_string())
        .stdin(Stdio::piped());
    let mut n = Running::start(cmd);
    drop(write);
    let mut control = n.child.stdin.take().unwrap();
    let (tx, rx) = channel();
    thread::spawn(move || {
        for l in BufReader::new(std::fs::File::from(read))
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    let mut r = SharedReport {
        rx,
        decoder: health::report::Decoder::new(),
        seen: vec![],
    };
    r.until("nanny-report 2");
    let mut lines = vec![];
    for want in ["0 want 1", "1 want 2", "2 want 3"] {
        if !lines.contains(&want.to_string()) {
            lines.extend(r.until(want));
        }
    }
    // Four rounds of results for all three...
    let start = count.load(Ordering::SeqCst);
    let t0 = Instant::now();
    for _ in 0..4 {
        r.until("2 check ok ");
    }
    let rounds = 4;
    let connections = count.load(Ordering::SeqCst) - start;
    // ... came from about one connection per round, not three.
    assert!(
        (rounds - 1..=rounds + 1).contains(&connections),
        "{connections} connections for {rounds} rounds in {:?}",
        t0.elapsed()
    );
    // Forcing the first down (the one whose checks the others take) stops
    // neither the checks nor the others' results.
    control.write_all(b"down 0\n").unwrap();
    r.until("0 mode forced-down");
    let before = count.load(Ordering::SeqCst);
    let lines = r.until("1 check ok ");
    let lines = [lines, r.until("1 check ok ")].concat();
    assert!(
        !lines.iter().any(|l| l.starts_with("0 check")),
        "{lines:#?}"
    );
    assert!(count.load(Ordering::SeqCst) > before);
    n.signal(Signal::SIGTERM);
    let lines = r.until("- exit 0");
    for i in 1..3 {
        assert!(lines.contains(&format!("{i} want none")), "{lines:#?}");
    }
    assert_eq!(n.wait_exit(), 0);
}
