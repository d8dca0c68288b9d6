//! lvs-web against a real `lvs-admin serve` on a temporary directory:
//! authentication, no state change on GET, CSRF, escaping, the command-key
//! rule, staged edit → diff → apply with the exact bytes on disk, two
//! applies from one base, the login rate limit, and the API's tokens.
//!
//! lvs-web refuses to run as root: when the test runs as root (CI), it
//! starts lvs-web as `nobody` through `setpriv`, and the helper with the
//! group `nogroup`, as the packaged units do with `lvs-web`.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CF: &str = "\
serial_no = 1
primary = 192.0.2.1
service = lvs
network = direct
# a comment the editor keeps
virtual web {
    active = 1
    address = 203.0.113.10 eth0:1
    port = 80
    send = \"<script>alert(1)</script>\"
    expect = \"HTTP\"
    server web1 {
        address = 192.0.2.11
        active = 1
        weight = 1
    }
}
";

const EDITOR_TOKEN: &str =
    "lvsweb_1111111111111111111111111111111111111111111111111111111111111111";
const ADMIN_TOKEN: &str = "lvsweb_2222222222222222222222222222222222222222222222222222222222222222";

fn target_bin(name: &str) -> PathBuf {
    // tests run from target/debug/deps; the binaries are in target/debug.
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    dir.join(name)
}

/// lvs-admin is another package's binary: build it when this test runs
/// alone (`cargo test --workspace` builds it anyway).
fn lvs_admin() -> PathBuf {
    let p = target_bin("lvs-admin");
    if !p.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let ok = Command::new(cargo)
            .args(["build", "-p", "lvs-admin", "--bin", "lvs-admin"])
            .status()
            .expect("cargo build -p lvs-admin");
        assert!(ok.success(), "cargo build -p lvs-admin failed");
    }
    p
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

struct Rig {
    dir: tempfile::TempDir,
    admin: Child,
    web: Child,
    port: u16,
}

impl Drop for Rig {
    fn drop(&mut self) {
        for c in [&mut self.web, &mut self.admin] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

impl Rig {
    fn start() -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        // lvs-web runs as nobody under root: it must reach its files.
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::create_dir_all(d.join("ha")).expect("ha");
        fs::write(d.join("ha/lvs.cf"), CF).expect("lvs.cf");
        fs::set_permissions(d.join("ha/lvs.cf"), fs::Permissions::from_mode(0o644)).expect("chmod");
        let mut passwd = String::new();
        for u in ["piranha", "ed", "op", "vi", "ed2"] {
            let h = access::passwd::hash_password_with_rounds(&format!("{u}-pw"), 4).expect("hash");
            passwd.push_str(&format!("{u}:{h}\n"));
        }
        fs::write(d.join("piranha.passwd"), passwd).expect("passwd");
        fs::write(
            d.join("users"),
            "piranha admin\ned editor\ned2 editor\nop operator\nvi viewer\n",
        )
        .expect("users");
        let sha = |t: &str| access::secret::hex(&access::secret::sha256(t.as_bytes()));
        fs::write(
            d.join("tokens"),
            format!(
                "ansible editor {}\nboss admin {}\n",
                sha(EDITOR_TOKEN),
                sha(ADMIN_TOKEN)
            ),
        )
        .expect("tokens");
        // The hashes and roles are the helper's (root's) alone; the web
        // reads only the tokens.
        for (f, mode) in [
            ("piranha.passwd", 0o600),
            ("users", 0o600),
            ("tokens", 0o644),
        ] {
            fs::set_permissions(d.join(f), fs::Permissions::from_mode(mode)).expect("chmod");
        }
        let group = if is_root() {
            "nogroup".to_owned()
        } else {
            nix::unistd::Group::from_gid(nix::unistd::getgid())
                .expect("group")
                .expect("named group")
                .name
        };
        let socket = d.join("admin.sock");
        let admin = Command::new(lvs_admin())
            .arg("--socket")
            .arg(&socket)
            .arg("serve")
            .arg("-c")
            .arg(d.join("ha/lvs.cf"))
            .args(["--group", &group])
            .arg("--state-dir")
            .arg(d.join("state"))
            .arg("--lvsd-socket")
            .arg(d.join("lvsd.sock"))
            .arg("--lvsd-pidfile")
            .arg(d.join("lvs.pid"))
            .arg("--pulse-socket")
            .arg(d.join("pulse.sock"))
            .arg("--pulse-pidfile")
            .arg(d.join("pulse.pid"))
            .arg("--passwd-file")
            .arg(d.join("piranha.passwd"))
            .arg("--users-file")
            .arg(d.join("users"))
            .stdout(fs::File::create(d.join("admin.log")).expect("log"))
            .stderr(fs::File::create(d.join("admin.err")).expect("log"))
            .spawn()
            .expect("lvs-admin serve");
        wait_for(|| socket.exists(), "the helper's socket");
        let port = free_port();
        let web_bin = env!("CARGO_BIN_EXE_lvs-web");
        let mut cmd = if is_root() {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(web_bin);
            c
        } else {
            Command::new(web_bin)
        };
        cmd.arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--admin-socket")
            .arg(&socket)
            .arg("--tokens")
            .arg(d.join("tokens"))
            .arg("--audit-stdout")
            .stdin(Stdio::null())
            .stdout(fs::File::create(d.join("web.log")).expect("log"))
            .stderr(fs::File::create(d.join("web.err")).expect("log"));
        let web = cmd.spawn().expect("lvs-web");
        let rig = Rig {
            dir,
            admin,
            web,
            port,
        };
        wait_for(
            || TcpStream::connect(("127.0.0.1", port)).is_ok(),
            "lvs-web to listen",
        );
        rig
    }

    fn cf(&self) -> String {
        fs::read_to_string(self.dir.path().join("ha/lvs.cf")).expect("lvs.cf")
    }

    /// lvs-web's audit lines and the helper's (logins are checked and
    /// logged there).
    fn audit(&self) -> String {
        let d = self.dir.path();
        fs::read_to_string(d.join("web.log")).unwrap_or_default()
            + &fs::read_to_string(d.join("admin.err")).unwrap_or_default()
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

    fn get(&self, path: &str, cookie: Option<&str>) -> Resp {
        match cookie {
            Some(c) => self.req("GET", path, &[("Cookie", c)], ""),
            None => self.req("GET", path, &[], ""),
        }
    }

    /// A form POST from this origin with the session's cookie.
    fn post(&self, path: &str, s: &Session, fields: &[(&str, &str)]) -> Resp {
        let mut all = vec![("csrf", s.csrf.as_str())];
        all.extend_from_slice(fields);
        let origin = self.origin();
        self.req(
            "POST",
            path,
            &[
                ("Cookie", &s.cookie),
                ("Origin", &origin),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &urlencode(&all),
        )
    }

    fn try_login(&self, user: &str, password: &str) -> Resp {
        let origin = self.origin();
        self.req(
            "POST",
            "/login",
            &[
                ("Origin", &origin),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &urlencode(&[("user", user), ("password", password)]),
        )
    }

    fn login(&self, user: &str) -> Session {
        let r = self.try_login(user, &format!("{user}-pw"));
        assert_eq!(r.status, 303, "login {user}: {}", r.body);
        let set = r.header("set-cookie").expect("a cookie");
        let cookie = set.split(';').next().expect("name=value").to_owned();
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(set.contains(attr), "{set} lacks {attr}");
        }
        let page = self.get("/status", Some(&cookie));
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page
            .body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("a csrf field on the status page")
            .to_owned();
        Session { cookie, csrf }
    }

    fn api(&self, method: &str, path: &str, token: &str, body: &str) -> Resp {
        let auth = format!("Bearer {token}");
        self.req(
            method,
            &format!("/api/v1{path}"),
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body,
        )
    }
}

struct Session {
    cookie: String,
    csrf: String,
}

#[derive(Debug)]
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
        let mut r = Resp {
            status,
            headers,
            body: body.to_owned(),
        };
        if r.header("transfer-encoding") == Some("chunked") {
            r.body = dechunk(&r.body);
        }
        r
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
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

fn urlencode(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn wait_for(mut ok: impl FnMut() -> bool, what: &str) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

const REAL: &str = "/panel/virtual/web/server/web1";

/// `cf` is revision 1 (CF) again, but for a `serial_no` above `last`
/// (a restore counts up past every save, so the backup's sync takes it).
fn assert_restored(cf: &str, last: i64) {
    let serial: i64 = cf
        .lines()
        .find_map(|l| l.strip_prefix("serial_no = "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no serial_no in {cf}"));
    assert!(
        serial > last,
        "serial_no {serial} after a restore, last save {last}"
    );
    assert_eq!(
        cf.replace(&format!("serial_no = {serial}"), "serial_no = 1"),
        CF
    );
}

#[test]
fn unauthenticated_requests_go_to_login_except_login_and_static() {
    let rig = Rig::start();
    for path in [
        "/",
        "/status",
        "/panel/global",
        "/changes",
        "/history",
        "/history/1",
    ] {
        let r = rig.get(path, None);
        if path == "/" {
            assert_eq!(r.status, 303);
            continue;
        }
        assert_eq!(r.status, 303, "{path}: {}", r.body);
        assert_eq!(r.header("location"), Some("/login"), "{path}");
    }
    let r = rig.get("/login", None);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<form method=\"post\" action=\"/login\">"));
    assert!(r.body.contains("<label for=\"user\">"));
    let r = rig.get("/static/style.css", None);
    assert_eq!(r.status, 200);
    let origin = rig.origin();
    let r = rig.req(
        "POST",
        "/control",
        &[("Origin", &origin)],
        "virtual=web&server=web1&action=down",
    );
    assert_eq!(r.status, 401, "{}", r.body);
    let r = rig.get("/api/v1/status", None);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    // The security headers are on every answer.
    let r = rig.get("/login", None);
    let csp = r.header("content-security-policy").expect("CSP");
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("cache-control"), Some("no-store, no-cache"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    // Not no-referrer: Chromium would send `Origin: null` with forms.
    assert_eq!(r.header("referrer-policy"), Some("same-origin"));
}

#[test]
fn no_state_change_on_get() {
    let rig = Rig::start();
    let s = rig.login("piranha");
    let before = rig.cf();
    let paths = [
        "/",
        "/login",
        "/status",
        "/status?msg=control&action=down&virtual=web&server=web1",
        "/panel/global",
        "/panel/redundancy",
        "/panel/virtuals",
        "/panel/virtual/web",
        "/panel/virtual/web/servers",
        REAL,
        "/panel/virtual/web/server/web1?weight=9&button=accept",
        "/panel/virtual/web/monitoring",
        "/changes",
        "/changes/apply",
        "/changes/discard",
        "/history",
        "/history/1",
        "/history/1/restore",
        "/control?virtual=web&server=web1&action=down",
        "/sync",
        "/logout",
        "/static/app.js",
    ];
    for p in paths {
        let r = rig.get(p, Some(&s.cookie));
        assert!(r.status != 500 && r.status != 0, "{p}: {}", r.status);
    }
    for p in ["/status", "/config", "/history", "/history/1", "/sync"] {
        let r = rig.api("GET", p, ADMIN_TOKEN, "");
        assert!(r.status != 500 && r.status != 0, "{p}: {}", r.body);
    }
    assert_eq!(rig.cf(), before, "a GET changed lvs.cf");
    // Nothing was staged either, and the session still works (no logout).
    let r = rig.get("/changes", Some(&s.cookie));
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Nothing staged"), "{}", r.body);
    let h = rig.api("GET", "/history", ADMIN_TOKEN, "").json();
    assert!(
        h["revisions"].as_array().is_some_and(|r| r.len() <= 1),
        "a GET recorded a revision: {h}"
    );
}

#[test]
fn posts_need_origin_and_token() {
    let rig = Rig::start();
    let s = rig.login("piranha");
    let good = urlencode(&[("csrf", &s.csrf), ("button", "accept"), ("weight", "2")]);
    let no_token = urlencode(&[("button", "accept"), ("weight", "2")]);
    let bad_token = urlencode(&[("csrf", "0000"), ("button", "accept"), ("weight", "2")]);
    let origin = rig.origin();
    // (what, extra header, body)
    let cases = [
        ("foreign origin", ("Origin", "http://evil.example"), &good),
        ("cross-site fetch", ("Sec-Fetch-Site", "cross-site"), &good),
        (
            "foreign referer",
            ("Referer", "http://evil.example/x"),
            &good,
        ),
        ("no token", ("Origin", origin.as_str()), &no_token),
        ("wrong token", ("Origin", origin.as_str()), &bad_token),
    ];
    for (what, extra, body) in cases {
        let headers = [
            ("Cookie", s.cookie.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
            extra,
        ];
        let r = rig.req("POST", REAL, &headers, body);
        assert_eq!(r.status, 403, "{what}: {}", r.body);
    }
    let r = rig.get("/changes", Some(&s.cookie));
    assert!(r.body.contains("Nothing staged"), "a refused POST staged");
    // The same POST with both is accepted.
    let r = rig.post(REAL, &s, &[("button", "accept"), ("weight", "2")]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(rig.audit().contains("audit: refused"), "{}", rig.audit());
}

#[test]
fn values_are_escaped() {
    let rig = Rig::start();
    let s = rig.login("piranha");
    let r = rig.get("/panel/virtual/web/monitoring", Some(&s.cookie));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains("<script>alert"), "unescaped: {}", r.body);
    // askama escapes < and > as numeric references.
    assert!(
        r.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{}",
        r.body
    );
    // A name typed into a form comes back escaped too.
    let r = rig.post(
        "/panel/virtuals",
        &s,
        &[("button", "add"), ("name", "<script>x</script>")],
    );
    assert!(!r.body.contains("<script>x"), "{}", r.body);
    let r = rig.get("/panel/virtuals", Some(&s.cookie));
    assert!(!r.body.contains("<script>x"), "{}", r.body);
    let r = rig.get("/changes", Some(&s.cookie));
    assert!(!r.body.contains("<script>"), "{}", r.body);
}

#[test]
fn an_editor_cannot_set_a_command_key_an_admin_can() {
    let rig = Rig::start();
    let ed = rig.login("ed");
    let page = "/panel/virtual/web/monitoring";
    let r = rig.post(
        page,
        &ed,
        &[("button", "accept"), ("send_program", "/bin/true %h")],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("send_program"), "{}", r.body);
    let r = rig.get("/changes", Some(&ed.cookie));
    assert!(r.body.contains("Nothing staged"));
    // The field is shown locked to the editor.
    let r = rig.get(page, Some(&ed.cookie));
    assert!(r.body.contains("only an admin may change it"), "{}", r.body);
    // Over the API too, by edit and by whole text.
    let r = rig.api(
        "POST",
        "/stage",
        EDITOR_TOKEN,
        r#"{"edits":["set virtual.web.send_program=/bin/true"]}"#,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let cf = rig.cf();
    let digest = rig.api("GET", "/config", EDITOR_TOKEN, "").json()["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let sneaky = cf.replace(
        "port = 80\n",
        "port = 80\n    send_program = \"/bin/true\"\n",
    );
    let body = serde_json::json!({"base_digest": digest, "text": sneaky, "reason": "x"});
    let r = rig.api("POST", "/apply", EDITOR_TOKEN, &body.to_string());
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(rig.cf(), cf);
    // An admin may stage it (the helper then checks where the program lives).
    let admin = rig.login("piranha");
    let r = rig.post(
        page,
        &admin,
        &[("button", "accept"), ("send_program", "/bin/true %h")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let r = rig.get("/changes", Some(&admin.cookie));
    assert!(r.body.contains("send_program"), "{}", r.body);
}

#[test]
fn staged_edit_diff_apply_writes_exactly_the_edit() {
    let rig = Rig::start();
    let s = rig.login("ed");
    let r = rig.post(REAL, &s, &[("button", "accept"), ("weight", "3")]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(rig.cf(), CF, "ACCEPT must only stage");
    let r = rig.get("/status", Some(&s.cookie));
    assert!(r.body.contains("Pending changes"), "{}", r.body);
    let r = rig.get("/changes", Some(&s.cookie));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("-        weight = 1"), "{}", r.body);
    assert!(r.body.contains("+        weight = 3"), "{}", r.body);
    assert!(r.body.contains("+serial_no = 2"), "{}", r.body);
    let base = r
        .body
        .split("name=\"base\" value=\"")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .expect("base field")
        .to_owned();
    let r = rig.post(
        "/changes/apply",
        &s,
        &[("base", &base), ("reason", "raise web1 to 3")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Revision"), "{}", r.body);
    let expected = CF
        .replace("weight = 1", "weight = 3")
        .replace("serial_no = 1", "serial_no = 2");
    assert_eq!(rig.cf(), expected);
    let r = rig.get("/history", Some(&s.cookie));
    assert!(
        r.body.contains("raise web1 to 3") && r.body.contains("ed"),
        "{}",
        r.body
    );
    let a = rig.audit();
    assert!(a.contains("audit: apply user=ed"), "{a}");
    assert!(a.contains("audit: login-ok user=ed"), "{a}");
    // Restore is admin-only; the admin restores revision 1.
    let r = rig.post("/history/1/restore", &s, &[("reason", "back")]);
    assert_eq!(r.status, 403, "{}", r.body);
    let admin = rig.login("piranha");
    let r = rig.post("/history/1/restore", &admin, &[("reason", "back")]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_restored(&rig.cf(), 2);
    assert!(rig.audit().contains("audit: restore user=piranha"));
}

#[test]
fn two_applies_from_one_base_the_second_is_a_conflict() {
    let rig = Rig::start();
    let a = rig.login("ed");
    let b = rig.login("ed2");
    let r = rig.post(REAL, &a, &[("button", "accept"), ("weight", "3")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let r = rig.post(
        "/panel/virtual/web",
        &b,
        &[("button", "accept"), ("port", "8080")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let base = |s: &Session| {
        rig.get("/changes", Some(&s.cookie))
            .body
            .split("name=\"base\" value=\"")
            .nth(1)
            .and_then(|x| x.split('"').next())
            .expect("base")
            .to_owned()
    };
    let (ba, bb) = (base(&a), base(&b));
    assert_eq!(ba, bb, "both started from the same file");
    let r = rig.get("/changes", Some(&b.cookie));
    assert!(!r.body.contains("Conflict"), "{}", r.body);
    let r = rig.post("/changes/apply", &a, &[("base", &ba), ("reason", "a")]);
    assert_eq!(r.status, 200, "{}", r.body);
    let after_a = rig.cf();
    // b's CHANGES page says so before b tries.
    let r = rig.get("/changes", Some(&b.cookie));
    assert!(r.body.contains("Conflict"), "{}", r.body);
    let r = rig.post("/changes/apply", &b, &[("base", &bb), ("reason", "b")]);
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("Conflict"), "{}", r.body);
    assert!(r.body.contains("Rebase"), "{}", r.body);
    assert_eq!(rig.cf(), after_a, "the conflict wrote nothing");
    // Rebase replays b's edit on a's file; then it applies.
    let r = rig.post("/changes/rebase", &b, &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    let nb = base(&b);
    assert_ne!(nb, bb);
    let r = rig.post("/changes/apply", &b, &[("base", &nb), ("reason", "b")]);
    assert_eq!(r.status, 200, "{}", r.body);
    let cf = rig.cf();
    assert!(
        cf.contains("weight = 3") && cf.contains("port = 8080"),
        "{cf}"
    );
    assert!(cf.contains("serial_no = 3"), "{cf}");
}

#[test]
fn login_rate_limit() {
    let rig = Rig::start();
    for i in 0..5 {
        let r = rig.try_login("piranha", "wrong");
        assert!(r.status == 401 || r.status == 429, "try {i}: {}", r.status);
    }
    let r = rig.try_login("piranha", "piranha-pw");
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("Too many failed logins"));
    assert!(rig.audit().contains("reason=locked"), "{}", rig.audit());
    // A login without a valid Origin is refused before any password check.
    let r = rig.req(
        "POST",
        "/login",
        &[("Origin", "http://evil.example")],
        "user=vi&password=vi-pw",
    );
    assert_eq!(r.status, 403);
}

#[test]
fn api_tokens_and_no_cookies() {
    let rig = Rig::start();
    let r = rig.api("GET", "/status", EDITOR_TOKEN, "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.json()["status"]["file"]["digest"].is_string(),
        "{}",
        r.body
    );
    let r = rig.api("GET", "/status", "lvsweb_nope", "");
    assert_eq!(r.status, 401);
    // A browser session's cookie is refused on the API, even with a token.
    let s = rig.login("piranha");
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let r = rig.req(
        "GET",
        "/api/v1/status",
        &[("Cookie", &s.cookie), ("Authorization", &auth)],
        "",
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let r = rig.req("GET", "/api/v1/status", &[("Cookie", &s.cookie)], "");
    assert_eq!(r.status, 400, "{}", r.body);
    // stage → apply with the base digest; a second apply from it conflicts.
    let st = rig.api(
        "POST",
        "/stage",
        EDITOR_TOKEN,
        r#"{"edits":["set virtual.web.server.web1.weight=5"]}"#,
    );
    assert_eq!(st.status, 200, "{}", st.body);
    let st = st.json();
    assert!(
        st["text_diff"]
            .as_str()
            .unwrap()
            .contains("+        weight = 5")
    );
    let body = serde_json::json!({
        "base_digest": st["base_digest"], "text": st["text"], "reason": "api"
    });
    let r = rig.api("POST", "/apply", EDITOR_TOKEN, &body.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    // The API's stage raises serial_no as the panels do.
    assert_eq!(
        rig.cf(),
        CF.replace("weight = 1", "weight = 5")
            .replace("serial_no = 1", "serial_no = 2")
    );
    let r = rig.api("POST", "/apply", EDITOR_TOKEN, &body.to_string());
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.json()["error"], "conflict");
    // Roles: an editor token may not restore or sync.
    let r = rig.api("POST", "/restore", EDITOR_TOKEN, r#"{"revision":1}"#);
    assert_eq!(r.status, 403);
    let r = rig.api(
        "POST",
        "/restore",
        ADMIN_TOKEN,
        r#"{"revision":1,"reason":"undo"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_restored(&rig.cf(), 2);
    // Bad bodies are typed errors.
    let r = rig.api("POST", "/apply", EDITOR_TOKEN, "{\"base_digest\": 1");
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("request body")
    );
    assert!(
        rig.audit().contains("user=token:ansible"),
        "{}",
        rig.audit()
    );
}

#[test]
fn the_login_page_promises_no_system_account_and_help_is_everywhere() {
    let rig = Rig::start();
    // The helper does not say whether PAM is configured: the neutral words.
    let r = rig.get("/login", None);
    assert!(!r.body.contains("system account"), "{}", r.body);
    assert!(r.body.contains("user name and"), "{}", r.body);
    assert!(r.body.contains("href=\"/help\""), "{}", r.body);
    // HELP is static text, open like the login page.
    let r = rig.get("/help", None);
    assert_eq!(r.status, 200, "{}", r.body);
    for words in ["stages", "not saved to", "admin", "REDUNDANCY", "HISTORY"] {
        assert!(r.body.contains(words), "{words}: {}", r.body);
    }
    let s = rig.login("vi");
    for path in [
        "/status",
        "/panel/global",
        "/panel/redundancy",
        "/changes",
        "/history",
        "/help",
    ] {
        let r = rig.get(path, Some(&s.cookie));
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(r.body.contains("<a href=\"/help\""), "{path}: {}", r.body);
    }
}

#[test]
fn no_sync_button_without_a_peer_but_the_pairing_pointer() {
    let rig = Rig::start();
    let admin = rig.login("piranha");
    let r = rig.get("/status", Some(&admin.cookie));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !r.body.contains("Sync lvs.cf to the backup now"),
        "{}",
        r.body
    );
    assert!(r.body.contains("PAIRING in lvs-admin(8)"), "{}", r.body);
}

#[test]
fn the_banner_counts_the_users_edits_and_history_shows_what_each_apply_changed() {
    let rig = Rig::start();
    let s = rig.login("ed");
    let r = rig.post(REAL, &s, &[("button", "accept"), ("weight", "3")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let r = rig.get("/status", Some(&s.cookie));
    assert!(
        r.body
            .contains("Pending changes: 1 change (+ serial_no) staged"),
        "{}",
        r.body
    );
    let r = rig.get("/changes", Some(&s.cookie));
    let base = r
        .body
        .split("name=\"base\" value=\"")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .expect("base field")
        .to_owned();
    let r = rig.post(
        "/changes/apply",
        &s,
        &[("base", &base), ("reason", "web1 to 3")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // Revision 2 is the apply: its diff is from revision 1, not from the
    // file on disk (which it is).
    let r = rig.get("/history", Some(&s.cookie));
    assert!(
        r.body.contains("href=\"/history/2?against=disk\""),
        "{}",
        r.body
    );
    let r = rig.get("/history/2", Some(&s.cookie));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("diff from revision 1"), "{}", r.body);
    assert!(r.body.contains("-        weight = 1"), "{}", r.body);
    assert!(r.body.contains("+        weight = 3"), "{}", r.body);
    assert!(
        !r.body.contains("Identical to the file on disk"),
        "{}",
        r.body
    );
    let r = rig.get("/history/2?against=disk", Some(&s.cookie));
    assert!(
        r.body.contains("Identical to the file on disk"),
        "{}",
        r.body
    );
    let r = rig.get("/history/1", Some(&s.cookie));
    assert!(r.body.contains("no earlier one"), "{}", r.body);
    let r = rig.get("/history/1?against=disk", Some(&s.cookie));
    assert!(r.body.contains("+        weight = 1"), "{}", r.body);
}

#[test]
fn service_fos_makes_the_fourth_tab_failover() {
    let rig = Rig::start();
    let s = rig.login("vi");
    let r = rig.get("/status", Some(&s.cookie));
    assert!(r.body.contains(">VIRTUAL SERVERS</a>"), "{}", r.body);
    fs::write(
        rig.dir.path().join("ha/lvs.cf"),
        CF.replace("service = lvs", "service = fos"),
    )
    .expect("write");
    let r = rig.get("/status", Some(&s.cookie));
    assert!(
        r.body.contains("<a href=\"/panel/failovers\">FAILOVER</a>"),
        "{}",
        r.body
    );
    assert!(!r.body.contains(">VIRTUAL SERVERS</a>"), "{}", r.body);
}
