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
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use testrig::admin::{Helper, Lvsd};
use testrig::process::bin_beside;
use testrig::web::{Http, NOBODY, Resp, Session, Web};
use testrig::{Network, kernel_table, wait_for};

/// nogroup in the guest's /etc/group (nobody's, the web's group).
const NOGROUP: &str = "nogroup";

fn exe(name: &str) -> PathBuf {
    bin_beside(env!("CARGO_BIN_EXE_lvs-admin"), name)
}

/// Two virtuals, `alt` with `quiesce_server`.
fn config_text() -> String {
    testrig::two_virtuals_cf(
        &exe("nanny"),
        1,
        "192.0.2.13",
        3,
        "    quiesce_server = 1\n",
    )
}

/// lvsd, the helper and lvs-web, killed by pid on drop in that order of
/// fields: lvs-web, the helper, then lvsd (which removes its services),
/// then the network and table.
struct Rig {
    web: Web,
    helper: Helper,
    lvsd: Lvsd,
    net: Network,
}

impl Rig {
    fn start(net: Network) -> Rig {
        let mut passwd = String::new();
        for u in ["op", "vi"] {
            let h = access::passwd::hash_password_with_rounds(&format!("{u}-pw"), 4).expect("hash");
            passwd.push_str(&format!("{u}:{h}\n"));
        }
        let setup = Helper::builder(exe("lvs-admin"))
            .config(&config_text())
            .group(NOGROUP)
            .logins(&passwd, "op operator\nvi viewer\n");
        // lvs-web (uid 65534) must reach the helper's socket and its tokens.
        fs::set_permissions(setup.dir(), fs::Permissions::from_mode(0o755)).expect("chmod");
        let lvsd = Lvsd::start(&exe("lvsd"), setup.dir(), &[] as &[&str]);
        let helper = setup.start();
        // As the unit runs it (the web user with the socket's group).
        let web = Web::start(
            &exe("lvs-web"),
            helper.dir(),
            &helper.socket(),
            "",
            Duration::from_secs(10),
        );
        let status = fs::read_to_string(format!("/proc/{}/status", web.pid())).expect("status");
        assert!(
            status.lines().any(|l| l.starts_with("Uid:")
                && l.split_whitespace()
                    .all(|w| w == "Uid:" || w == NOBODY.to_string())),
            "lvs-web is not uid 65534: {status}"
        );
        Rig {
            web,
            helper,
            lvsd,
            net,
        }
    }

    fn logs(&self) -> String {
        format!(
            "--- lvsd ---\n{}\n--- helper ---\n{}\n{}",
            self.lvsd.log(),
            self.helper.log(),
            self.web.log()
        )
    }

    fn http(&self) -> &Http {
        self.web.http()
    }

    fn login(&self, user: &str) -> Session {
        self.http()
            .login(user, &format!("{user}-pw"))
            .unwrap_or_else(|r| panic!("login {user}: {} {}\n{}", r.status, r.body, self.logs()))
    }

    fn status(&self, cookie: &str) -> String {
        let r = self.http().get("/status", Some(cookie));
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// The status page's Drain/Down/Up/Normal button for `v/s`, as a
    /// browser posts it.
    fn control(&self, s: &Session, action: &str, v: &str, server: &str) -> Resp {
        self.http().form(
            "/control",
            Some(&s.cookie),
            &[
                ("csrf", &s.csrf),
                ("virtual", v),
                ("server", server),
                ("action", action),
            ],
        )
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
    }
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
        page.contains(&format!("pid {},", rig.lvsd.pid())),
        "no lvsd pid {} on the page:\n{page}",
        rig.lvsd.pid()
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
