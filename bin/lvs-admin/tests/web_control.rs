//! The runtime actions through the whole chain, on the real IPVS table in
//! the qemu guest (`tests/vm/ci.sh`; feature `kernel-tests`): a browser's
//! form POST to lvs-web (unprivileged, uid 65534 with the helper socket's
//! group), the helper's `control` verb, lvsd's status socket, the kernel.
//!
//! lvsd runs on an lvs.cf with two virtuals, one with `quiesce_server`,
//! whose real servers answer in a network namespace (documentation
//! addresses); the helper checks the logins against a piranha.passwd
//! written with `access::passwd`, as piranha-passwd writes it. Everything
//! started is killed by pid on drop, the namespace and the table go with
//! `testrig::Network`.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use testrig::{Network, kernel_table, wait_for};

/// nobody/nogroup in the guest's /etc/passwd and /etc/group.
const NOBODY: u32 = 65534;
const NOGROUP: &str = "nogroup";

fn exe(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_lvs-admin")).with_file_name(name);
    assert!(
        p.exists(),
        "{} missing: build the workspace binaries first (cargo build --bins)",
        p.display()
    );
    p
}

fn config_text() -> String {
    let nanny = exe("nanny");
    format!(
        "serial_no = 1
network = nat
virtual web {{
    active = 1
    address = 203.0.113.10 eth0:1
    port = 80
    timeout = 1
    reentry = 2
    client_monitor = {nanny}
    server a {{
        address = 192.0.2.11
        active = 1
        weight = 1
    }}
    server b {{
        address = 192.0.2.12
        active = 1
        weight = 2
    }}
}}
virtual alt {{
    active = 1
    address = 203.0.113.11 eth0:2
    port = 80
    scheduler = wrr
    timeout = 1
    reentry = 2
    quiesce_server = 1
    client_monitor = {nanny}
    server c {{
        address = 192.0.2.13
        active = 1
        weight = 3
    }}
}}
",
        nanny = nanny.display()
    )
}

/// lvsd, the helper and lvs-web, killed by pid on drop.
struct Rig {
    net: Network,
    dir: PathBuf,
    children: Vec<Child>,
    lvsd_pid: u32,
    port: u16,
}

fn spawn(cmd: &mut Command, log: &Path) -> Child {
    let out = fs::File::create(log).expect("log");
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone().expect("log"))
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

impl Rig {
    fn start(net: Network) -> Rig {
        let dir = std::env::temp_dir().join("lvs-admin-kernel-web");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("ha")).expect("dir");
        // lvs-web (uid 65534) must reach the helper's socket and its tokens.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod");
        let d = dir.as_path();
        let config = d.join("ha/lvs.cf");
        fs::write(&config, config_text()).expect("lvs.cf");
        let mut passwd = String::new();
        for u in ["op", "vi"] {
            let h = access::passwd::hash_password_with_rounds(&format!("{u}-pw"), 4).expect("hash");
            passwd.push_str(&format!("{u}:{h}\n"));
        }
        fs::write(d.join("piranha.passwd"), passwd).expect("passwd");
        fs::write(d.join("users"), "op operator\nvi viewer\n").expect("users");
        fs::write(d.join("tokens"), "").expect("tokens");
        for (f, mode) in [
            ("piranha.passwd", 0o600),
            ("users", 0o600),
            ("tokens", 0o644),
        ] {
            fs::set_permissions(d.join(f), fs::Permissions::from_mode(mode)).expect("chmod");
        }
        let mut rig = Rig {
            net,
            dir: dir.clone(),
            children: Vec::new(),
            lvsd_pid: 0,
            port: 0,
        };
        let lvsd_sock = d.join("lvsd.sock");
        let lvsd = spawn(
            Command::new(exe("lvsd"))
                .args(["-n", "-c"])
                .arg(&config)
                .arg("--socket")
                .arg(&lvsd_sock),
            &d.join("lvsd.log"),
        );
        rig.lvsd_pid = lvsd.id();
        // lvsd -n writes no pid file; the helper finds it by this one.
        fs::write(d.join("lvs.pid"), format!("{}\n", lvsd.id())).expect("pid file");
        rig.children.push(lvsd);
        wait_for("lvsd's status socket", Duration::from_secs(10), || {
            lvsd_sock.exists()
        });
        let socket = d.join("admin.sock");
        let helper = spawn(
            Command::new(exe("lvs-admin"))
                .arg("--socket")
                .arg(&socket)
                .arg("serve")
                .arg("-c")
                .arg(&config)
                .args(["--group", NOGROUP])
                .arg("--state-dir")
                .arg(d.join("state"))
                .arg("--lvsd-socket")
                .arg(&lvsd_sock)
                .arg("--lvsd-pidfile")
                .arg(d.join("lvs.pid"))
                .arg("--pulse-socket")
                .arg(d.join("pulse.sock"))
                .arg("--pulse-pidfile")
                .arg(d.join("pulse.pid"))
                .arg("--passwd-file")
                .arg(d.join("piranha.passwd"))
                .arg("--users-file")
                .arg(d.join("users")),
            &d.join("helper.log"),
        );
        rig.children.push(helper);
        wait_for("the helper's socket", Duration::from_secs(10), || {
            socket.exists()
        });
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        // As the unit runs it (setpriv to the web user with the socket's
        // group): std drops the supplementary groups with the uid.
        let web = spawn(
            Command::new(exe("lvs-web"))
                .uid(NOBODY)
                .gid(NOBODY)
                .arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--admin-socket")
                .arg(&socket)
                .arg("--tokens")
                .arg(d.join("tokens"))
                .arg("--audit-stdout"),
            &d.join("web.log"),
        );
        let web_pid = web.id();
        rig.children.push(web);
        rig.port = port;
        wait_for("lvs-web to listen", Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        let status = fs::read_to_string(format!("/proc/{web_pid}/status")).expect("status");
        assert!(
            status.lines().any(|l| l.starts_with("Uid:")
                && l.split_whitespace().all(|w| w == "Uid:" || w == "65534")),
            "lvs-web is not uid 65534: {status}"
        );
        rig
    }

    fn logs(&self) -> String {
        let read = |n: &str| fs::read_to_string(self.dir.join(n)).unwrap_or_default();
        format!(
            "--- lvsd ---\n{}\n--- helper ---\n{}\n--- lvs-web ---\n{}",
            read("lvsd.log"),
            read("helper.log"),
            read("web.log")
        )
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut r = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            r.push_str(&format!("{k}: {v}\r\n"));
        }
        r.push_str("\r\n");
        r.push_str(body);
        s.write_all(r.as_bytes()).expect("send");
        let mut out = Vec::new();
        s.read_to_end(&mut out).expect("read");
        Resp::parse(&out)
    }

    fn login(&self, user: &str) -> Session {
        let origin = self.origin();
        let r = self.req(
            "POST",
            "/login",
            &[
                ("Origin", &origin),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &format!("user={user}&password={user}-pw"),
        );
        assert_eq!(r.status, 303, "login {user}: {}\n{}", r.body, self.logs());
        let cookie = r
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_owned();
        let page = self.status(&cookie);
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("a csrf field on the status page")
            .to_owned();
        Session { cookie, csrf }
    }

    fn status(&self, cookie: &str) -> String {
        let r = self.req("GET", "/status", &[("Cookie", cookie)], "");
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// The status page's Drain/Down/Up/Normal button for `v/s`, as a
    /// browser posts it.
    fn control(&self, s: &Session, action: &str, v: &str, server: &str) -> Resp {
        let origin = self.origin();
        self.req(
            "POST",
            "/control",
            &[
                ("Cookie", &s.cookie),
                ("Origin", &origin),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &format!(
                "csrf={}&virtual={v}&server={server}&action={action}",
                s.csrf
            ),
        )
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        // lvs-web, the helper, then lvsd (which removes its services).
        while let Some(mut child) = self.children.pop() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

struct Session {
    cookie: String,
    csrf: String,
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn parse(raw: &[u8]) -> Resp {
        let text = String::from_utf8_lossy(raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut body = body.to_owned();
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        if chunked {
            body = dechunk(&body);
        }
        Resp {
            status,
            headers,
            body,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((len, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].strip_prefix("\r\n").unwrap_or(&tail[n..]);
    }
    out
}

/// The text of the cells of real server `server`'s row in virtual `v`'s
/// table on the status page.
fn row(page: &str, v: &str, server: &str) -> Vec<String> {
    let table = page
        .split("<caption>")
        .find(|t| t.starts_with(&format!("virtual {v}:")))
        .unwrap_or_else(|| panic!("no table for virtual {v}:\n{page}"));
    let first = format!("<td>{server}</td>");
    let tr = table
        .split("<tr>")
        .find(|r| r.starts_with(&first))
        .unwrap_or_else(|| panic!("no row for {v}/{server}:\n{table}"));
    tr.split("<td")
        .skip(1)
        .map(|cell| {
            let inner = cell.split_once('>').map_or("", |(_, rest)| rest);
            let text = inner.split("</td>").next().unwrap_or("");
            // Drop any markup inside the cell.
            let mut out = String::new();
            let mut in_tag = false;
            for ch in text.chars() {
                match ch {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => out.push(c),
                    _ => {}
                }
            }
            out.trim().to_owned()
        })
        .collect()
}

/// Health and weight as the status page shows them.
fn health_weight(page: &str, v: &str, server: &str) -> (String, String) {
    let cells = row(page, v, server);
    (cells[2].clone(), cells[3].clone())
}

fn in_kernel(line: &str) -> bool {
    kernel_table().contains(line)
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn drain_normal_and_down_from_the_status_page_reach_the_kernel() {
    let net = Network::new("web-ctl");
    let _servers = net.listen_all();
    let rig = Rig::start(net);
    let a = "-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 1";
    let b = "-a -t 203.0.113.10:80 -r 192.0.2.12:80 -m -w 2";
    let c = "-a -t 203.0.113.11:80 -r 192.0.2.13:80 -m -w 3";
    wait_for("the table to converge", Duration::from_secs(40), || {
        [a, b, c].iter().all(|l| in_kernel(l))
    });

    let op = rig.login("op");
    // The page reads the live table: health, weight, lvsd's pid.
    let page = rig.status(&op.cookie);
    assert!(
        page.contains(&format!("pid {},", rig.lvsd_pid)),
        "no lvsd pid {} on the page:\n{page}",
        rig.lvsd_pid
    );
    for (v, s, w) in [("web", "a", "1"), ("web", "b", "2"), ("alt", "c", "3")] {
        assert_eq!(
            health_weight(&page, v, s),
            ("up".to_owned(), w.to_owned()),
            "{v}/{s}"
        );
    }
    assert!(
        page.contains("<input type=\"submit\" name=\"action\" value=\"drain\">"),
        "no Drain button:\n{page}"
    );

    // Drain: weight 0 in the kernel, the nanny still checking.
    let r = rig.control(&op, "drain", "web", "b");
    assert_eq!(r.status, 303, "drain: {}\n{}", r.body, rig.logs());
    let b0 = "-a -t 203.0.113.10:80 -r 192.0.2.12:80 -m -w 0";
    wait_for("b at weight 0", Duration::from_secs(10), || in_kernel(b0));
    let page = rig.status(&op.cookie);
    assert_eq!(
        health_weight(&page, "web", "b"),
        ("drained".to_owned(), "0".to_owned())
    );
    assert!(in_kernel(a) && in_kernel(c), "only b is drained");
    // It stays drained while its checks keep passing (timeout 1 s).
    std::thread::sleep(Duration::from_secs(3));
    assert!(in_kernel(b0), "{:?}", kernel_table());

    // Normal: the weight its check wants is back.
    let r = rig.control(&op, "normal", "web", "b");
    assert_eq!(r.status, 303, "normal: {}", r.body);
    wait_for("b back at weight 2", Duration::from_secs(10), || {
        in_kernel(b)
    });
    let page = rig.status(&op.cookie);
    assert_eq!(
        health_weight(&page, "web", "b"),
        ("up".to_owned(), "2".to_owned())
    );

    // A drained server that fails its check leaves as usual, and comes
    // back at weight 0, still drained.
    let r = rig.control(&op, "drain", "web", "a");
    assert_eq!(r.status, 303, "drain: {}", r.body);
    let a0 = "-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 0";
    wait_for("a at weight 0", Duration::from_secs(10), || in_kernel(a0));
    rig.net.drop_replies("192.0.2.11");
    wait_for("a to fail and leave", Duration::from_secs(30), || {
        !kernel_table()
            .iter()
            .any(|l| l.contains("-r 192.0.2.11:80 "))
    });
    rig.net.answer("192.0.2.11");
    wait_for("a back, at weight 0", Duration::from_secs(30), || {
        in_kernel(a0)
    });
    let page = rig.status(&op.cookie);
    assert_eq!(
        health_weight(&page, "web", "a"),
        ("drained".to_owned(), "0".to_owned())
    );

    // Down: out of the table. A forced down deletes the entry under
    // quiesce_server too (what SIGUSR1 did to piranha's nanny).
    let r = rig.control(&op, "down", "web", "b");
    assert_eq!(r.status, 303, "down: {}", r.body);
    wait_for("b to leave", Duration::from_secs(10), || {
        !kernel_table()
            .iter()
            .any(|l| l.contains("-r 192.0.2.12:80 "))
    });
    let r = rig.control(&op, "down", "alt", "c");
    assert_eq!(r.status, 303, "down: {}", r.body);
    wait_for("c to leave", Duration::from_secs(10), || {
        !kernel_table()
            .iter()
            .any(|l| l.contains("-r 192.0.2.13:80 "))
    });

    // A viewer may look, not act.
    let vi = rig.login("vi");
    let page = rig.status(&vi.cookie);
    assert!(!page.contains("value=\"drain\""), "{page}");
    let table = kernel_table();
    for action in ["drain", "normal", "down"] {
        let r = rig.control(&vi, action, "web", "a");
        assert_eq!(r.status, 403, "viewer {action}: {}", r.body);
    }
    assert_eq!(kernel_table(), table, "a refused action changed the table");
}
