//! lvs-web against a real `lvs-admin serve` on a temporary directory:
//! authentication, no state change on GET, CSRF, escaping, the command-key
//! rule, staged edit → diff → apply with the exact bytes on disk, two
//! applies from one base, the login rate limit, and the API's tokens.
//!
//! lvs-web refuses to run as root: when the test runs as root (CI), it
//! starts lvs-web as `nobody` (uid and gid 65534, no supplementary
//! groups), and the helper with the group `nogroup`, as the packaged units
//! do with `lvs-web`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use testrig::admin::Helper;
use testrig::process::build_bin;
use testrig::web::{Resp, Session, Web, form_field, is_root, urlencode};

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

/// lvs-admin serve with the login files, and lvs-web over it; lvs-web
/// is killed first (fields drop in order), then the helper, then their
/// directory.
struct Rig {
    web: Web,
    helper: Helper,
}

impl Rig {
    fn start() -> Rig {
        let mut passwd = String::new();
        for u in ["piranha", "ed", "op", "vi", "ed2"] {
            let h = access::passwd::hash_password_with_rounds(&format!("{u}-pw"), 4).expect("hash");
            passwd.push_str(&format!("{u}:{h}\n"));
        }
        // lvs-admin is another package's binary: built when this test runs
        // alone (`cargo test --workspace` builds it anyway).
        let admin = build_bin(env!("CARGO_BIN_EXE_lvs-web"), "lvs-admin", "lvs-admin");
        // The hashes and roles are the helper's (root's) alone, mode 0600;
        // the web reads only the tokens.
        let mut setup = Helper::builder(admin).config(CF).logins(
            &passwd,
            "piranha admin\ned editor\ned2 editor\nop operator\nvi viewer\n",
        );
        if is_root() {
            setup = setup.group("nogroup");
        }
        let d = setup.dir().to_owned();
        // lvs-web runs as nobody under root: it must reach its files.
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::set_permissions(setup.config_path(), fs::Permissions::from_mode(0o644)).expect("chmod");
        let helper = setup.start();
        let sha = |t: &str| access::secret::hex(&access::secret::sha256(t.as_bytes()));
        let tokens = format!(
            "ansible editor {}\nboss admin {}\n",
            sha(EDITOR_TOKEN),
            sha(ADMIN_TOKEN)
        );
        let web = Web::start(
            Path::new(env!("CARGO_BIN_EXE_lvs-web")),
            &d,
            &helper.socket(),
            &tokens,
            Duration::from_secs(20),
        );
        Rig { web, helper }
    }

    fn cf(&self) -> String {
        fs::read_to_string(self.helper.config()).expect("lvs.cf")
    }

    /// lvs-web's audit lines and the helper's (logins are checked and
    /// logged there).
    fn audit(&self) -> String {
        self.web.audit() + &self.helper.log()
    }

    fn origin(&self) -> String {
        self.web.http().origin()
    }

    fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
        self.web.http().req(method, path, headers, body)
    }

    fn get(&self, path: &str, cookie: Option<&str>) -> Resp {
        self.web.http().get(path, cookie)
    }

    /// A form POST from this origin with the session's cookie.
    fn post(&self, path: &str, s: &Session, fields: &[(&str, &str)]) -> Resp {
        let mut all = vec![("csrf", s.csrf.as_str())];
        all.extend_from_slice(fields);
        self.web.http().form(path, Some(&s.cookie), &all)
    }

    fn try_login(&self, user: &str, password: &str) -> Resp {
        self.web
            .http()
            .form("/login", None, &[("user", user), ("password", password)])
    }

    fn login(&self, user: &str) -> Session {
        let s = self
            .web
            .http()
            .login(user, &format!("{user}-pw"))
            .unwrap_or_else(|r| panic!("login {user}: {} {}", r.status, r.body));
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(s.set_cookie.contains(attr), "{} lacks {attr}", s.set_cookie);
        }
        s
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
    let base = form_field(&r.body, "base").expect("base field");
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
    let base =
        |s: &Session| form_field(&rig.get("/changes", Some(&s.cookie)).body, "base").expect("base");
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
    let base = form_field(&r.body, "base").expect("base field");
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
        rig.helper.config(),
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
