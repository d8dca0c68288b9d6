//! Every check type against real listeners and programs on loopback.
//!
//! Each test drives a [`Checker`] with `poll`, as the daemon does, and is
//! bounded twice: by the check's own timeout and by a guard in `drive`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use health::check::{Checker, Outcome, Reason, Step};
use health::probe::{Probe, ProbeOptions};
use health::program::Exit;

const TIMEOUT: Duration = Duration::from_millis(700);

/// Runs one check to its end with poll; panics if it outlives its timeout
/// by more than two seconds.
fn drive(checker: &mut Checker) -> (Outcome, Duration) {
    let start = Instant::now();
    let mut step = checker.start(start);
    loop {
        let wait = match step {
            Step::Done(o) => return (o, start.elapsed()),
            Step::Wait(w) => w,
        };
        assert!(
            start.elapsed() < TIMEOUT + Duration::from_secs(2),
            "check did not respect its timeout"
        );
        let now = Instant::now();
        let ms = wait.wake.saturating_duration_since(now).as_millis() + 1;
        let mut pfd = nix::libc::pollfd {
            fd: wait.fd,
            events: wait.events,
            revents: 0,
        };
        // SAFETY: one valid pollfd, count 1.
        unsafe { nix::libc::poll(&mut pfd, 1, i32::try_from(ms).unwrap()) };
        step = checker.resume(pfd.revents, Instant::now());
    }
}

fn socket_check(target: SocketAddr, opts: ProbeOptions<'_>) -> (Outcome, Duration) {
    let (probe, _) = Probe::build(&opts, target).unwrap();
    let mut c = Checker::new(target, probe, TIMEOUT);
    drive(&mut c)
}

fn opts<'a>(send: Option<&'a str>, expect: Option<&'a str>) -> ProbeOptions<'a> {
    ProbeOptions {
        send,
        expect,
        virtual_port: 1,
        ..Default::default()
    }
}

/// A TCP listener whose every connection is handed to `serve` in a thread.
fn listener<F>(serve: F) -> SocketAddr
where
    F: Fn(TcpStream) + Send + Sync + Clone + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        for conn in l.incoming().flatten() {
            let serve = serve.clone();
            thread::spawn(move || serve(conn));
        }
    });
    addr
}

fn read_request(s: &mut TcpStream) {
    let mut buf = [0u8; 256];
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = s.read(&mut buf);
}

#[test]
fn connect_passes_on_accept_and_close() {
    let addr = listener(drop);
    let (o, _) = socket_check(addr, opts(None, None));
    assert_eq!(
        o,
        Outcome {
            ok: true,
            reason: Reason::Connected
        }
    );
}

#[test]
fn connect_over_ipv6_loopback() {
    let Ok(l) = TcpListener::bind("[::1]:0") else {
        return; // no IPv6 on this host
    };
    let addr = l.local_addr().unwrap();
    let (o, _) = socket_check(addr, opts(None, None));
    assert!(o.ok, "{o:?}");
}

#[test]
fn refused_fails_at_once() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (o, took) = socket_check(addr, opts(None, None));
    assert!(!o.ok);
    assert!(matches!(o.reason, Reason::ConnectFailed(_)), "{o:?}");
    assert!(took < TIMEOUT);
}

#[test]
fn connect_timeout_when_backlog_full() {
    // A listener that never accepts, its queue filled: further SYNs are
    // dropped, so connect() hangs until our deadline.
    let l = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    l.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    l.listen(0).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    let mut held = vec![];
    for _ in 0..4 {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let _ = s.connect(&addr.into());
        held.push(s);
    }
    thread::sleep(Duration::from_millis(100));
    let (o, took) = socket_check(addr, opts(None, None));
    if o.reason == Reason::Connected {
        // The kernel accepted anyway (syncookies etc.): nothing to test here.
        return;
    }
    assert_eq!(
        o,
        Outcome {
            ok: false,
            reason: Reason::ConnectTimeout
        }
    );
    assert!(took >= TIMEOUT && took < TIMEOUT + Duration::from_secs(1));
}

#[test]
fn expect_over_two_segments_passes() {
    // The original compared only the first segment and failed this.
    let addr = listener(|mut s| {
        read_request(&mut s);
        s.set_nodelay(true).unwrap();
        s.write_all(b"HT").unwrap();
        thread::sleep(Duration::from_millis(150));
        s.write_all(b"TP/1.0 200 OK\r\n").unwrap();
    });
    let (o, _) = socket_check(
        addr,
        opts(Some(r"GET / HTTP/1.0\r\n\r\n"), Some("HTTP/1.0 200")),
    );
    assert_eq!(
        o,
        Outcome {
            ok: true,
            reason: Reason::Replied
        }
    );
}

#[test]
fn wrong_answer_fails() {
    let addr = listener(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"SSH-2.0-OpenSSH\r\n");
    });
    let (o, _) = socket_check(addr, opts(Some("GET /\\r\\n"), Some("HTTP")));
    assert_eq!(
        o,
        Outcome {
            ok: false,
            reason: Reason::Mismatch
        }
    );
}

#[test]
fn never_answering_server_times_out() {
    let addr = listener(|s| {
        thread::sleep(Duration::from_secs(3));
        drop(s);
    });
    let (o, took) = socket_check(addr, opts(Some("hello\\n"), Some("OK")));
    assert_eq!(
        o,
        Outcome {
            ok: false,
            reason: Reason::ReadTimeout
        }
    );
    assert!(took >= TIMEOUT && took < TIMEOUT + Duration::from_secs(1));
}

#[test]
fn slow_server_fails_with_whole_check_timeout() {
    // Connect and send are quick, the reply comes after the deadline: the
    // check ends at its deadline, not later.
    let addr = listener(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"HT");
        thread::sleep(TIMEOUT * 2);
        let _ = s.write_all(b"TP");
    });
    let (o, took) = socket_check(addr, opts(Some("x\\n"), Some("HTTP")));
    assert_eq!(
        o,
        Outcome {
            ok: false,
            reason: Reason::TooShort { got: 2, want: 4 }
        }
    );
    assert!(took < TIMEOUT + Duration::from_millis(500));
}

#[test]
fn close_before_full_reply_is_too_short() {
    let addr = listener(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"HT");
    });
    let (o, took) = socket_check(addr, opts(Some("x\\n"), Some("HTTP")));
    assert_eq!(
        o,
        Outcome {
            ok: false,
            reason: Reason::TooShort { got: 2, want: 4 }
        }
    );
    assert!(took < TIMEOUT);
}

#[test]
fn star_needs_one_byte() {
    let addr = listener(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"+PONG\r\n");
    });
    let (o, _) = socket_check(addr, opts(Some("PING\\r\\n"), Some("*")));
    assert!(o.ok, "{o:?}");
    // accept and close: no byte arrives.
    let addr = listener(drop);
    let (o, _) = socket_check(addr, opts(None, Some("*")));
    assert_eq!(
        o,
        Outcome {
            ok: false,
            reason: Reason::TooShort { got: 0, want: 1 }
        }
    );
}

#[test]
fn regex_reads_until_match() {
    let addr = listener(|mut s| {
        read_request(&mut s);
        s.set_nodelay(true).unwrap();
        let _ = s.write_all(b"HTTP/1.1 ");
        thread::sleep(Duration::from_millis(100));
        let _ = s.write_all(b"200 OK\r\n\r\n");
    });
    let mut o = opts(
        Some("GET / HTTP/1.1\\r\\n\\r\\n"),
        Some(r"^HTTP/1\.[01] 200"),
    );
    o.regex = true;
    let (out, _) = socket_check(addr, o.clone());
    assert_eq!(
        out,
        Outcome {
            ok: true,
            reason: Reason::Replied
        }
    );
    let addr = listener(|mut s| {
        read_request(&mut s);
        let _ = s.write_all(b"HTTP/1.1 503 Unavailable\r\n\r\n");
    });
    let (out, _) = socket_check(addr, o);
    assert_eq!(
        out,
        Outcome {
            ok: false,
            reason: Reason::NoMatch
        }
    );
}

#[test]
fn default_http_check_on_virtual_port_80() {
    let addr = listener(|mut s| {
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap_or(0);
        if &buf[..n] == b"GET / HTTP/1.0\r\n\r\n" {
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\n");
        }
    });
    let (o, _) = socket_check(
        addr,
        ProbeOptions {
            virtual_port: 80,
            ..Default::default()
        },
    );
    assert_eq!(
        o,
        Outcome {
            ok: true,
            reason: Reason::Replied
        }
    );
}

#[test]
fn tcp_send_without_expect_passes_once_written() {
    let addr = listener(|mut s| read_request(&mut s));
    let (o, _) = socket_check(addr, opts(Some("QUIT\\r\\n"), None));
    assert_eq!(
        o,
        Outcome {
            ok: true,
            reason: Reason::Sent
        }
    );
}

#[test]
fn udp_send_expect() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    thread::spawn(move || {
        let mut buf = [0u8; 64];
        while let Ok((n, from)) = server.recv_from(&mut buf) {
            let reply: &[u8] = if &buf[..n] == b"ping\n" {
                b"pong\n"
            } else {
                b"what"
            };
            let _ = server.send_to(reply, from);
        }
    });
    let mut o = opts(Some("ping\\n"), Some("pong"));
    o.udp = true;
    let (out, _) = socket_check(addr, o.clone());
    assert_eq!(
        out,
        Outcome {
            ok: true,
            reason: Reason::Replied
        }
    );
    o.send = Some("hello");
    let (out, _) = socket_check(addr, o);
    assert_eq!(
        out,
        Outcome {
            ok: false,
            reason: Reason::Mismatch
        }
    );
}

#[test]
fn udp_closed_port_fails_fast() {
    let addr = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut o = opts(Some("ping"), None);
    o.udp = true;
    let (out, took) = socket_check(addr, o);
    assert!(!out.ok);
    assert!(matches!(out.reason, Reason::ReadError(_)), "{out:?}");
    assert!(took < TIMEOUT);
}

fn program_check(program: &str, expect: Option<&str>) -> (Outcome, Duration) {
    let target: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let (probe, _) = Probe::build(
        &ProbeOptions {
            program: Some(program),
            expect,
            virtual_port: 80,
            ..Default::default()
        },
        target,
    )
    .unwrap();
    let mut c = Checker::new(target, probe, TIMEOUT);
    drive(&mut c)
}

#[test]
fn program_output_compared_whole() {
    // Without a newline: the original chopped the last byte ("O").
    let (o, _) = program_check("printf OK", Some("OK"));
    assert_eq!(
        o,
        Outcome {
            ok: true,
            reason: Reason::ProgramPassed
        }
    );
    // With one: ignored.
    let (o, _) = program_check("echo OK", Some("OK"));
    assert!(o.ok);
    let (o, _) = program_check("echo FAIL", Some("OK"));
    assert_eq!(
        o,
        Outcome {
            ok: false,
            reason: Reason::ProgramMismatch
        }
    );
    // No expect: exit status alone decides.
    let (o, _) = program_check("true", None);
    assert!(o.ok);
}

#[test]
fn program_substitutes_host_and_port_without_shell() {
    let (o, _) = program_check(
        "echo host=%h port=%p;$(id)",
        Some("host=127.0.0.1 port=8080;$(id)"),
    );
    assert!(o.ok, "{o:?}");
}

#[test]
fn program_exiting_non_zero_fails_even_with_expect() {
    // The original counted this as healthy.
    let (o, _) = program_check("false", Some("OK"));
    assert_eq!(
        o,
        Outcome {
            ok: false,
            reason: Reason::ProgramExit(Exit::Code(1))
        }
    );
    let (o, _) = program_check("sh -c kill${IFS}-9${IFS}$$", Some("OK"));
    assert_eq!(
        o,
        Outcome {
            ok: false,
            reason: Reason::ProgramExit(Exit::Signal(9))
        }
    );
}

#[test]
fn hung_program_is_killed_at_the_deadline() {
    // The original's timeout never fired: this hung nanny for 30 s.
    let (o, took) = program_check("sleep 30", Some("OK"));
    assert_eq!(
        o,
        Outcome {
            ok: false,
            reason: Reason::ProgramTimeout
        }
    );
    assert!(
        took >= TIMEOUT && took < TIMEOUT + Duration::from_secs(1),
        "{took:?}"
    );
}

/// Whether process `pid` still exists (a zombie counts as gone: it has
/// been killed and only waits to be reaped by init).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn a_background_child_holding_stdout_does_not_delay_the_check() {
    // The program exits 0 with "OK" at once, its background child keeps
    // stdout open: the program's exit counts, as piranha's waitpid did
    // (this used to be a timeout on every check).
    let (o, took) = program_check("sh -c sleep${IFS}30&echo${IFS}OK", Some("OK"));
    assert_eq!(
        o,
        Outcome {
            ok: true,
            reason: Reason::ProgramPassed
        }
    );
    assert!(took < TIMEOUT, "{took:?}");
}

#[test]
fn hung_grandchild_holding_stdout_is_killed_too() {
    // The program hangs, and so does the child it started: at the
    // deadline the whole process group dies, the child too.
    let pidfile = std::env::temp_dir().join(format!("health-grandchild-{}", std::process::id()));
    let _ = std::fs::remove_file(&pidfile);
    let script = format!(
        "sh -c sleep${{IFS}}30&echo${{IFS}}$!>{}&&sleep${{IFS}}30",
        pidfile.display()
    );
    let (o, took) = program_check(&script, Some("OK"));
    assert_eq!(
        o,
        Outcome {
            ok: false,
            reason: Reason::ProgramTimeout
        }
    );
    assert!(took < TIMEOUT + Duration::from_secs(1));
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .expect("the program wrote its child's pid")
        .trim()
        .parse()
        .expect("pid");
    let _ = std::fs::remove_file(&pidfile);
    // SIGKILL is delivered at once; allow the kernel a moment to tear down.
    let deadline = Instant::now() + Duration::from_secs(2);
    while alive(pid) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    if alive(pid) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        panic!("the program's child {pid} survived the timeout");
    }
}

#[test]
fn a_trickling_server_fails_at_the_whole_checks_deadline() {
    // One byte every third of the timeout: a deadline per read (or one
    // restarted after connect or send) would wait for all 15 bytes, about
    // five timeouts; the check's one deadline ends it at the first.
    let addr = listener(|mut s| {
        read_request(&mut s);
        for b in b"HTTP/1.0 200 OK" {
            if s.write_all(&[*b]).is_err() {
                return;
            }
            thread::sleep(TIMEOUT / 3);
        }
    });
    let (o, took) = socket_check(addr, opts(Some("x\\n"), Some("HTTP/1.0 200 OK")));
    assert!(!o.ok, "{o:?}");
    assert!(
        matches!(o.reason, Reason::TooShort { .. } | Reason::ReadTimeout),
        "{o:?}"
    );
    assert!(took < TIMEOUT + Duration::from_millis(400), "{took:?}");
}

#[test]
fn missing_program_fails() {
    let (o, _) = program_check("/nonexistent/check %h", Some("OK"));
    assert!(matches!(o.reason, Reason::ProgramSpawn(_)), "{o:?}");
}
