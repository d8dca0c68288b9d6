//! `lvs-web` as the tests run it, and the browser's side: requests over
//! plain HTTP/1.1 on loopback, form logins, the session cookie and the
//! CSRF field of the status page.

use std::ffi::OsStr;
use std::fs;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::{Running, free_port, log_file, read_log, wait_with};

/// nobody and nogroup, the unprivileged user tests run lvs-web as under root.
pub const NOBODY: u32 = 65534;

/// Whether this process is root (lvs-web refuses to run as root).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// `exe` as an unprivileged user: itself when not root, else uid and gid
/// 65534 with no supplementary groups (std clears them with the uid), as
/// the packaged unit runs lvs-web.
pub fn unprivileged(exe: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(exe);
    if is_root() {
        cmd.uid(NOBODY).gid(NOBODY);
    }
    cmd
}

/// Wait (`limit` at most) until something accepts connections on
/// loopback port `port`.
pub fn wait_listening(what: &str, port: u16, limit: Duration, context: impl FnOnce() -> String) {
    wait_with(
        &format!("{what} to listen on 127.0.0.1:{port}"),
        limit,
        || TcpStream::connect(("127.0.0.1", port)).is_ok(),
        context,
    );
}

/// A running lvs-web on loopback over a helper's socket, unprivileged,
/// with its audit lines on stdout (`web.log`) and its stderr in
/// `web.err`; killed by pid when dropped.
#[derive(Debug)]
pub struct Web {
    child: Running,
    http: Http,
    dir: PathBuf,
}

impl Web {
    /// Start `exe` (`env!("CARGO_BIN_EXE_lvs-web")`) in `dir` on a free
    /// port, with `--admin-socket socket` and a `tokens` file (mode 0644:
    /// the web reads it) holding `tokens`; wait `limit` at most for it to
    /// listen.
    pub fn start(exe: &Path, dir: &Path, socket: &Path, tokens: &str, limit: Duration) -> Web {
        let token_file = dir.join("tokens");
        fs::write(&token_file, tokens)
            .unwrap_or_else(|e| panic!("write {}: {e}", token_file.display()));
        fs::set_permissions(&token_file, fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", token_file.display()));
        let port = free_port();
        let mut cmd = unprivileged(exe);
        cmd.arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--admin-socket")
            .arg(socket)
            .arg("--tokens")
            .arg(&token_file)
            .arg("--audit-stdout")
            .stdin(Stdio::null())
            .stdout(log_file(&dir.join("web.log")))
            .stderr(log_file(&dir.join("web.err")));
        let child = Running::spawn("lvs-web", &mut cmd);
        let web = Web {
            child,
            http: Http { port },
            dir: dir.to_owned(),
        };
        wait_listening("lvs-web", port, limit, || web.log());
        web
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// A browser's view of it.
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// Its audit lines (stdout) so far.
    pub fn audit(&self) -> String {
        read_log(&self.dir.join("web.log"))
    }

    /// Its stdout and stderr so far, for failure messages.
    pub fn log(&self) -> String {
        format!(
            "--- lvs-web stdout ---\n{}\n--- lvs-web stderr ---\n{}",
            self.audit(),
            read_log(&self.dir.join("web.err"))
        )
    }
}

/// Requests to a web server on loopback port `port`, one connection each.
#[derive(Debug, Clone, Copy)]
pub struct Http {
    /// The port.
    pub port: u16,
}

/// A logged-in browser: its session cookie and the CSRF token its pages carry.
#[derive(Debug, Clone)]
pub struct Session {
    /// `name=value` of the session cookie.
    pub cookie: String,
    /// The whole `Set-Cookie` header that set it (its attributes).
    pub set_cookie: String,
    /// The `csrf` field of the status page.
    pub csrf: String,
}

impl Http {
    /// `http://127.0.0.1:PORT`, what a browser sends as `Origin`.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One HTTP/1.1 request (`Connection: close`, 30 s read timeout).
    pub fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))
            .unwrap_or_else(|e| panic!("connect to 127.0.0.1:{}: {e}", self.port));
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
        s.read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{method} {path}: read the answer: {e}"));
        Resp::parse(&out)
    }

    /// A GET, with the session cookie `cookie` if any.
    pub fn get(&self, path: &str, cookie: Option<&str>) -> Resp {
        match cookie {
            Some(c) => self.req("GET", path, &[("Cookie", c)], ""),
            None => self.req("GET", path, &[], ""),
        }
    }

    /// A browser's form POST from this origin, with the session cookie
    /// `cookie` if any.
    pub fn form(&self, path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Resp {
        let origin = self.origin();
        let mut headers = vec![
            ("Origin", origin.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        if let Some(c) = cookie {
            headers.insert(0, ("Cookie", c));
        }
        self.req("POST", path, &headers, &urlencode(fields))
    }

    /// Log in with the login form; the answer itself when it is not the
    /// 303 of a login. The session's CSRF token is read from the status
    /// page (which must answer 200).
    pub fn login(&self, user: &str, password: &str) -> Result<Session, Resp> {
        let r = self.form("/login", None, &[("user", user), ("password", password)]);
        if r.status != 303 {
            return Err(r);
        }
        let set_cookie = r.header("set-cookie").expect("a session cookie").to_owned();
        let cookie = set_cookie.split(';').next().expect("name=value").to_owned();
        let page = self.get("/status", Some(&cookie));
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = form_field(&page.body, "csrf").expect("a csrf field on the status page");
        Ok(Session {
            cookie,
            set_cookie,
            csrf,
        })
    }
}

/// An HTTP answer: status, headers (names in lower case), body (de-chunked).
#[derive(Debug)]
pub struct Resp {
    /// The status code, 0 when there was no status line.
    pub status: u16,
    /// The headers, names in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Resp {
    /// Parse a whole answer as read off the connection.
    pub fn parse(raw: &[u8]) -> Resp {
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

    /// The first header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// The value of the first form field `name` of a page (`name="NAME"
/// value="…"`, as the templates write hidden fields).
pub fn form_field(page: &str, name: &str) -> Option<String> {
    page.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
}

/// A chunked body's data.
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

/// `application/x-www-form-urlencoded`: every byte but the unreserved ones
/// as `%XX`.
pub fn urlencode(fields: &[(&str, &str)]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_answer_is_parsed_and_dechunked() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=b; HttpOnly\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        let r = Resp::parse(raw);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("set-cookie"), Some("a=b; HttpOnly"));
        assert_eq!(r.body, "hello world");
    }

    #[test]
    fn a_form_field_is_found_by_name() {
        let page = r#"<input name="csrf" value="c1"><input name="base" value="b2">"#;
        assert_eq!(form_field(page, "base").as_deref(), Some("b2"));
        assert_eq!(form_field(page, "csrf").as_deref(), Some("c1"));
        assert_eq!(form_field(page, "none"), None);
    }

    #[test]
    fn form_fields_are_percent_encoded() {
        assert_eq!(
            urlencode(&[("user", "op"), ("password", "a b&c=d-é")]),
            "user=op&password=a%20b%26c%3Dd-%C3%A9"
        );
    }
}
