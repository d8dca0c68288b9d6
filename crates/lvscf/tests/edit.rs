//! Lossless editing (`lvscf::edit`): byte-identical round trips over the
//! corpus, value-only changes, placement and style of new text, refusals,
//! and a property test of random edit sequences checked against the same
//! edits applied to the model.

use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use lvscf::edit::{EditError, unified_diff};
use lvscf::syntax::{Assign, Item, parse_tree};
use lvscf::{
    Address, BlockRef, Config, Document, Edit, InterfaceAddress, OfflineResolver, RealServer,
    Scheduler, Seconds, Value, VirtualServer, parse_with,
};
use proptest::prelude::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every valid corpus file and the shipped sample, with their text.
fn valid_files() -> Vec<(String, String)> {
    let dir = repo().join("tests/corpus/valid");
    let mut v: Vec<(String, String)> = fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "cf"))
        .map(|p| {
            let text = fs::read_to_string(&p).expect("corpus file is UTF-8");
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                text,
            )
        })
        .collect();
    v.sort();
    let sample = fs::read_to_string(repo().join("etc/lvs.cf")).expect("etc/lvs.cf");
    v.push(("etc/lvs.cf".into(), sample));
    assert!(v.len() >= 10, "corpus not found");
    v
}

fn doc(text: &str) -> Document<OfflineResolver> {
    Document::open_with(text, OfflineResolver)
}

fn config(text: &str) -> Config {
    let p = parse_with(text, &OfflineResolver);
    match p.config.clone() {
        Some(c) => c,
        None => panic!("{}\n{text}", p.render("edited", text)),
    }
}

fn virt(name: &str) -> BlockRef {
    BlockRef::Virtual(name.into())
}

fn server(v: &str, s: &str) -> BlockRef {
    BlockRef::Server {
        virtual_name: v.into(),
        name: s.into(),
    }
}

/// The value of a token as [`Value`] takes it back: the text between the
/// quotes for send/expect, the plain value otherwise.
fn value_text(a: &Assign<'_>, check: bool) -> Value {
    Value::tokens(a.values.iter().map(|v| {
        if check {
            v.value.inner().to_owned()
        } else {
            v.value.text()
        }
    }))
}

/// Every key of a file with its address (block names from the tree).
/// (Of each key, the last occurrence: the one that counts.)
fn every_key(text: &str) -> Vec<(Address, Value)> {
    let (items, _) = parse_tree(text);
    let mut out = Vec::new();
    for item in &items {
        match item {
            Item::Assign(a) => out.push((Address::global(a.key.value), value_text(a, false))),
            Item::Block(b) => {
                let name = b.name.as_ref().expect("named").value.text();
                let block = match b.kind.value {
                    lvscf::syntax::BlockKind::Failover => BlockRef::Failover(name.clone()),
                    _ => virt(&name),
                };
                for inner in &b.items {
                    match inner {
                        Item::Assign(a) => {
                            let check = matches!(a.key.value, "send" | "expect");
                            out.push((
                                Address::key(block.clone(), a.key.value),
                                value_text(a, check),
                            ));
                        }
                        Item::Block(s) => {
                            let sname = s.name.as_ref().expect("named").value.text();
                            for si in &s.items {
                                if let Item::Assign(a) = si {
                                    out.push((
                                        Address::key(server(&name, &sname), a.key.value),
                                        value_text(a, false),
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let mut last: Vec<(Address, Value)> = Vec::new();
    for (at, v) in out {
        last.retain(|(a, _)| *a != at);
        last.push((at, v));
    }
    last
}

#[test]
fn round_trip_is_byte_identical_for_every_valid_file() {
    for (name, text) in valid_files() {
        let mut d = doc(&text);
        assert!(!d.parsed().has_errors(), "{name}");
        d.apply(&[]).expect("no edit");
        assert_eq!(d.text(), text, "{name}");
        assert_eq!(d.into_text().as_bytes(), text.as_bytes(), "{name}");
    }
}

/// Setting every key to the value it has rewrites nothing: the editor
/// writes a value back with the quoting it had.
#[test]
fn setting_every_key_to_its_own_value_changes_no_byte() {
    for (name, text) in valid_files() {
        let mut d = doc(&text);
        for (at, value) in every_key(&text) {
            assert_eq!(d.get(&at), Ok(Some(value.clone())), "{name}: {at}");
            d.edit(Edit::Set {
                at: at.clone(),
                value,
            })
            .unwrap_or_else(|e| panic!("{name}: {at}: {e}"));
            assert_eq!(d.text(), text, "{name}: {at}");
        }
    }
}

/// Asserts that `new` is `old` with exactly the bytes `range` replaced by
/// `with`.
fn assert_only(old: &str, new: &str, range: std::ops::Range<usize>, with: &str, what: &str) {
    let expected = format!("{}{with}{}", &old[..range.start], &old[range.end..]);
    assert_eq!(new, expected, "{what}");
}

#[test]
fn one_changed_field_changes_only_its_value_bytes() {
    let mut checked = 0;
    for (name, text) in valid_files() {
        let (items, _) = parse_tree(&text);
        let cfg = config(&text);
        // Every server's weight, every virtual's scheduler.
        for v in &cfg.virtuals {
            for s in &v.servers {
                let w = if s.weight == 7 { 8 } else { 7 };
                let mut d = doc(&text);
                let at = Address::key(server(&v.name, &s.name), "weight");
                d.edit(Edit::Set {
                    at: at.clone(),
                    value: w.into(),
                })
                .unwrap_or_else(|e| panic!("{name}: {e}"));
                let old = find_assign(&items, &at);
                match old {
                    Some(range) => assert_only(&text, d.text(), range, &w.to_string(), &name),
                    None => {
                        // Added: one line more, every old line kept.
                        assert_eq!(d.text().lines().count(), text.lines().count() + 1);
                    }
                }
                let mut want = cfg.clone();
                set_server(&mut want, &v.name, &s.name, |s| s.weight = w);
                assert_eq!(config(d.text()), want, "{name}");
                checked += 1;
            }
            let at = Address::key(virt(&v.name), "scheduler");
            let sch = if v.scheduler == Scheduler::Sh {
                Scheduler::Dh
            } else {
                Scheduler::Sh
            };
            let mut d = doc(&text);
            d.edit(Edit::Set {
                at: at.clone(),
                value: sch.into(),
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            if let Some(range) = find_assign(&items, &at) {
                assert_only(&text, d.text(), range, "sh", &name);
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "only {checked} fields checked");
}

/// The byte range of the (last) value(s) of the key at `at`.
fn find_assign(items: &[Item<'_>], at: &Address) -> Option<std::ops::Range<usize>> {
    let key = at.key.as_deref()?;
    fn block_items<'a>(
        items: &[Item<'a>],
        kind: lvscf::syntax::BlockKind,
        n: &str,
    ) -> Option<Vec<Item<'a>>> {
        items.iter().find_map(|i| match i {
            Item::Block(b)
                if b.kind.value == kind && b.name.as_ref().is_some_and(|x| x.value.text() == n) =>
            {
                Some(b.items.clone())
            }
            _ => None,
        })
    }
    use lvscf::syntax::BlockKind as K;
    let scope: Vec<Item<'_>> = match &at.block {
        None => items.to_vec(),
        Some(BlockRef::Virtual(v)) => block_items(items, K::Virtual, v)?,
        Some(BlockRef::Failover(v)) => block_items(items, K::Failover, v)?,
        Some(BlockRef::Server { virtual_name, name }) => {
            let vi = block_items(items, K::Virtual, virtual_name)?;
            block_items(&vi, K::Server, name)?
        }
    };
    let a = scope
        .iter()
        .filter_map(|i| match i {
            Item::Assign(a) if a.key.value == key => Some(a),
            _ => None,
        })
        .next_back()?;
    let first = a.values.first()?;
    let last = a.values.last()?;
    Some(first.span.offset..last.span.offset + last.value.raw.len())
}

fn set_server(c: &mut Config, v: &str, s: &str, f: impl FnOnce(&mut RealServer)) {
    let vs = c
        .virtuals
        .iter_mut()
        .find(|x| x.name == v)
        .expect("virtual");
    f(vs.servers.iter_mut().find(|x| x.name == s).expect("server"));
}

const WEB: &str = "\
# globals
serial_no = 3
network = direct   # routing

virtual web {
     active = 1
     address = 203.0.113.10 eth0:1
     # the servers
     server a {
         address = 192.0.2.11
         active = 1 # on
     }

     server b {
         address = 192.0.2.12
     }
}
";

fn applied(src: &str, edits: &[Edit]) -> String {
    let mut d = doc(src);
    d.apply(edits).unwrap_or_else(|e| panic!("{e}"));
    d.into_text()
}

fn set(at: &str, value: impl Into<Value>) -> Edit {
    Edit::Set {
        at: Address::parse(at).expect("address"),
        value: value.into(),
    }
}

#[test]
fn new_keys_go_after_the_last_key_line_of_their_block() {
    let out = applied(
        WEB,
        &[
            set("virtual.web.scheduler", Scheduler::Rr),
            set("virtual.web.server.b.weight", 5u32),
            set("keepalive", Seconds::from_millis(1500).expect("timer")),
        ],
    );
    assert_eq!(
        out,
        "\
# globals
serial_no = 3
network = direct   # routing
keepalive = 1.5

virtual web {
     active = 1
     address = 203.0.113.10 eth0:1
     scheduler = rr
     # the servers
     server a {
         address = 192.0.2.11
         active = 1 # on
     }

     server b {
         address = 192.0.2.12
         weight = 5
     }
}
"
    );
}

#[test]
fn setting_keeps_trailing_comments_and_blanks() {
    let out = applied(
        WEB,
        &[
            set("network", "nat"),
            set("virtual.web.server.a.active", false),
        ],
    );
    assert_eq!(
        out,
        WEB.replace("direct   # routing", "nat   # routing")
            .replace("active = 1 # on", "active = 0 # on")
    );
}

#[test]
fn unset_removes_the_whole_line_and_every_duplicate() {
    let src = "backup_active = 0\n# keep me\nbackup_active = 1\nserial_no = 1\n";
    assert_eq!(
        applied(src, &[Edit::Unset(Address::global("backup_active"))]),
        "# keep me\nserial_no = 1\n"
    );
    // Absent: nothing to do.
    assert_eq!(
        applied(src, &[Edit::Unset(Address::global("keepalive"))]),
        src
    );
}

#[test]
fn add_remove_rename_blocks_keep_every_other_line() {
    let out = applied(
        WEB,
        &[
            Edit::Add(server("web", "c")),
            set(
                "virtual.web.server.c.address",
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 13)),
            ),
            Edit::Add(virt("dns")),
            Edit::Rename {
                block: server("web", "a"),
                name: "a one".into(),
            },
        ],
    );
    assert_eq!(
        out,
        "\
# globals
serial_no = 3
network = direct   # routing

virtual web {
     active = 1
     address = 203.0.113.10 eth0:1
     # the servers
     server \"a one\" {
         address = 192.0.2.11
         active = 1 # on
     }

     server b {
         address = 192.0.2.12
     }

     server c {
         address = 192.0.2.13
     }
}

virtual dns {
}
"
    );
    let back = applied(
        &out,
        &[
            Edit::Remove(server("web", "c")),
            Edit::Remove(virt("dns")),
            Edit::Rename {
                block: server("web", "a one"),
                name: "a".into(),
            },
        ],
    );
    // The blank lines the adds brought stay: remove takes only the block.
    // A name that was quoted stays quoted.
    let want = WEB
        .replace("     }\n}\n", "     }\n\n}\n")
        .replace("server a {", "server \"a\" {");
    assert_eq!(back, want + "\n");
}

#[test]
fn new_blocks_follow_their_siblings_style() {
    // Tabs, `{` on its own line, no blank line between blocks.
    let src = "virtual a\n{\n\tactive = 0\n\tserver s\n\t{\n\t\taddress = 192.0.2.1\n\t}\n}\n";
    let out = applied(
        src,
        &[
            Edit::Add(server("a", "t")),
            set("virtual.a.server.t.address", "192.0.2.2"),
            Edit::Add(virt("b")),
            set("virtual.b.port", 443u16),
        ],
    );
    assert_eq!(
        out,
        "virtual a\n{\n\tactive = 0\n\tserver s\n\t{\n\t\taddress = 192.0.2.1\n\t}\n\tserver t\n\t{\n\t\taddress = 192.0.2.2\n\t}\n}\nvirtual b\n{\n\tport = 443\n}\n"
    );
    // `name{` glued, and `key=value` written the file's way.
    let src = "virtual a{\n  port=80\n}\n";
    let out = applied(src, &[Edit::Add(virt("b")), set("virtual.b.port", 81u16)]);
    assert_eq!(out, "virtual a{\n  port=80\n}\nvirtual b{\n  port=81\n}\n");
}

#[test]
fn a_file_without_a_final_line_ending_keeps_it_so() {
    let src = "virtual a {\n}\nserial_no = 1";
    assert_eq!(
        applied(src, &[set("keepalive", 3u32)]),
        "virtual a {\n}\nserial_no = 1\nkeepalive = 3"
    );
    let src = "serial_no = 1\nvirtual a {\n}";
    assert_eq!(
        applied(src, &[Edit::Add(virt("b"))]),
        "serial_no = 1\nvirtual a {\n}\nvirtual b {\n}"
    );
}

#[test]
fn crlf_files_stay_crlf() {
    let (_, text) = valid_files()
        .into_iter()
        .find(|(n, _)| n == "crlf.cf")
        .expect("crlf.cf in the corpus");
    let out = applied(
        &text,
        &[
            set("keepalive", 3u32),
            set("virtual.web.scheduler", "rr"),
            Edit::Add(server("web", "s9")),
            set("virtual.web.server.s9.address", "192.0.2.9"),
            Edit::Add(virt("w2")),
            Edit::Rename {
                block: virt("web"),
                name: "www".into(),
            },
            Edit::Unset(Address::global("primary")),
        ],
    );
    assert!(out.contains("keepalive = 3\r\n") && out.contains("server s9 {\r\n"));
    assert_eq!(
        out.matches('\n').count(),
        out.matches("\r\n").count(),
        "{out:?}"
    );
}

#[test]
fn quoting_follows_the_file_and_the_old_value() {
    // A value that needs quotes gets the file's quote character.
    let src = "rsh_command = 'ssh -q'\nvirtual web {\n     send = 'GET'\n}\n";
    let out = applied(
        src,
        &[
            set("debug_level", "a b"),
            set("rsh_command", "ssh -x 'y'"),
            set("virtual.web.expect", r#"HTTP/1.1 "200""#),
            set("virtual.web.send", "HEAD"),
        ],
    );
    assert_eq!(
        out,
        "rsh_command = 'ssh -x \\'y\\''\ndebug_level = 'a b'\nvirtual web {\n     send = 'HEAD'\n     expect = \"HTTP/1.1 \\\"200\\\"\"\n}\n"
    );
    let c = config(&out);
    assert_eq!(c.rsh_command, "ssh -x 'y'");
    assert_eq!(c.debug_level, "a b");
    assert_eq!(
        c.virtuals[0].expect.as_ref().map(|e| e.text.as_str()),
        Some("HTTP/1.1 \"200\"")
    );
    // A quoted value stays quoted even when it needs no quotes.
    let out = applied("debug_level = \"ALL\"\n", &[set("debug_level", "NONE")]);
    assert_eq!(out, "debug_level = \"NONE\"\n");
    // Names too.
    let out = applied(
        "virtual \"my web\" {\n}\n",
        &[Edit::Rename {
            block: virt("my web"),
            name: "web".into(),
        }],
    );
    assert_eq!(out, "virtual \"web\" {\n}\n");
}

#[test]
fn typed_values() {
    let addr = InterfaceAddress {
        addr: "203.0.113.99".parse().expect("ip"),
        device: "eth0:9".into(),
    };
    let out = applied(
        WEB,
        &[
            set("virtual.web.address", &addr),
            set("virtual.web.quiesce_server", true),
            set("virtual.web.timeout", Seconds::from_secs(6).expect("timer")),
            set("virtual.web.protocol", lvscf::Protocol::Udp),
        ],
    );
    let c = config(&out);
    let v = &c.virtuals[0];
    assert_eq!(v.address.as_ref(), Some(&addr));
    assert!(v.quiesce_server);
    assert_eq!(v.timeout, Seconds::from_secs(6).expect("timer"));
    assert_eq!(v.protocol, lvscf::Protocol::Udp);
    // The two tokens of `address` are replaced one by one.
    assert!(out.contains("     address = 203.0.113.99 eth0:9\n"));
}

#[test]
fn refused_edits_leave_the_bytes_unchanged() {
    let mut d = doc(WEB);
    let before = d.text().to_owned();
    for edits in [
        vec![set("virtual.web.server.a.weight", 70000u32)],
        vec![set("virtual.web.port", "htttp")],
        // A server needs an address: refused unless set in the same
        // transaction.
        vec![Edit::Add(server("web", "c"))],
        vec![
            set("virtual.web.server.a.weight", 2u32),
            set("virtual.web.active", "yes"),
        ],
    ] {
        let e = d.apply(&edits).expect_err("invalid");
        let EditError::Refused(r) = &e else {
            panic!("{e}")
        };
        assert!(!r.diagnostics.is_empty());
        assert_eq!(d.text(), before);
    }
    let e = d
        .apply(&[set("virtual.web.server.a.weight", 70000u32)])
        .expect_err("out of range");
    let EditError::Refused(r) = e else { panic!() };
    let rendered = r.render("lvs.cf");
    assert!(
        rendered
            .starts_with("lvs.cf:12:19: error: weight must be between 0 and 65535, found 70000\n"),
        "{rendered}"
    );
    assert!(
        rendered.contains("12 |          weight = 70000\n"),
        "{rendered}"
    );
}

#[test]
fn address_errors_name_the_place() {
    let mut d = doc(WEB);
    let msg = |e: EditError| e.to_string();
    assert_eq!(
        msg(d.set("virtual.wbe.port", 80u16).expect_err("typo")),
        "no virtual named \"wbe\" (did you mean \"web\"?)"
    );
    assert_eq!(
        msg(d
            .set("virtual.web.server.c.weight", 1u32)
            .expect_err("absent")),
        "no server named \"c\" in virtual \"web\""
    );
    assert_eq!(
        msg(d
            .set("virtual.web.server.a.wieght", 1u32)
            .expect_err("typo")),
        "unknown key \"wieght\" in a server (did you mean \"weight\"?)"
    );
    assert_eq!(
        msg(d.set("keepalive.x", 1u32).expect_err("bad")),
        "bad address \"keepalive.x\": expected a global key, or virtual.NAME… / failover.NAME…"
    );
    assert_eq!(
        msg(d.add("virtual.web").expect_err("exists")),
        "virtual.web exists already"
    );
    assert_eq!(
        msg(d.set("debug_level", "a\nb").expect_err("newline")),
        "debug_level: a value cannot contain a line break"
    );
    assert_eq!(d.text(), WEB);
}

#[test]
fn preview_diff_is_one_line_for_one_field() {
    let out = applied(WEB, &[set("virtual.web.server.b.address", "192.0.2.99")]);
    assert_eq!(
        unified_diff(WEB, &out, "a/lvs.cf", "b/lvs.cf"),
        "--- a/lvs.cf\n+++ b/lvs.cf\n@@ -12,6 +12,6 @@\n      }\n \n      server b {\n-         address = 192.0.2.12\n+         address = 192.0.2.99\n      }\n }\n"
    );
}

#[test]
fn a_file_with_errors_can_be_repaired_by_an_edit() {
    let broken = "virtual web {\n     scheduler = wlcc # typo\n}\n";
    let mut d = doc(broken);
    assert!(d.parsed().has_errors() && d.config().is_none());
    // Any edit that leaves the error is refused…
    let e = d.set("virtual.web.port", 81u16).expect_err("still broken");
    assert!(e.to_string().contains("unknown scheduler \"wlcc\""), "{e}");
    assert_eq!(d.text(), broken);
    // …the one that fixes it is taken.
    d.set("virtual.web.scheduler", Scheduler::Wlc)
        .expect("repaired");
    assert_eq!(d.text(), "virtual web {\n     scheduler = wlc # typo\n}\n");
    assert!(d.config().is_some());
}

// ---- property: random edit sequences ---------------------------------------

/// An edit chosen at random; indices are taken modulo what exists.
#[derive(Debug, Clone)]
enum Op {
    Weight(usize, usize, u32),
    ServerActive(usize, usize, bool),
    ServerPort(usize, usize, u16),
    Scheduler(usize, Scheduler),
    Persistent(usize, u32),
    Timeout(usize, Seconds),
    Quiesce(usize, bool),
    GlobalText(usize, String),
    TcpTimeout(u32),
    Keepalive(Seconds),
    UnsetVirtual(usize, usize),
    UnsetServer(usize, usize, usize),
    UnsetGlobal(usize),
    AddServer(usize, String, Ipv4Addr, u16),
    RemoveServer(usize, usize),
    RenameServer(usize, usize, String),
    AddVirtual(String),
    RemoveVirtual(usize),
    RenameVirtual(usize, String),
    BadWeight(usize, usize),
    Address(usize, u8, String),
    FailoverTimeout(usize, Seconds),
    RenameFailover(usize, String),
}

const GLOBAL_TEXT: [&str; 3] = ["debug_level", "rsh_command", "syncd_iface"];
const VIRTUAL_UNSET: [&str; 4] = ["persistent", "scheduler", "timeout", "quiesce_server"];
const SERVER_UNSET: [&str; 2] = ["weight", "active"];
const GLOBAL_UNSET: [&str; 5] = [
    "tcp_timeout",
    "debug_level",
    "rsh_command",
    "syncd_iface",
    "keepalive",
];

fn timer() -> impl Strategy<Value = Seconds> {
    (1u64..200_000).prop_map(|ms| Seconds::from_millis(ms).expect("in range"))
}

/// Names with the characters that need quoting.
fn name() -> impl Strategy<Value = String> {
    "[a-z0-9 .#{}=\"'\\\\]{1,8}"
}

fn op() -> impl Strategy<Value = Op> {
    let i = || 0usize..8;
    prop_oneof![
        (i(), i(), 1u32..=65535).prop_map(|(v, s, w)| Op::Weight(v, s, w)),
        (i(), i(), any::<bool>()).prop_map(|(v, s, b)| Op::ServerActive(v, s, b)),
        (i(), i(), 1u16..=65535).prop_map(|(v, s, p)| Op::ServerPort(v, s, p)),
        (i(), proptest::sample::select(Scheduler::ALL.to_vec()))
            .prop_map(|(v, s)| Op::Scheduler(v, s)),
        (i(), any::<u32>()).prop_map(|(v, n)| Op::Persistent(v, n)),
        (i(), timer()).prop_map(|(v, t)| Op::Timeout(v, t)),
        (i(), any::<bool>()).prop_map(|(v, b)| Op::Quiesce(v, b)),
        (0usize..3, "[ -~\t]{0,12}").prop_map(|(k, t)| Op::GlobalText(k, t)),
        any::<u32>().prop_map(Op::TcpTimeout),
        timer().prop_map(Op::Keepalive),
        (i(), 0usize..4).prop_map(|(v, k)| Op::UnsetVirtual(v, k)),
        (i(), i(), 0usize..2).prop_map(|(v, s, k)| Op::UnsetServer(v, s, k)),
        (0usize..5).prop_map(Op::UnsetGlobal),
        (i(), name(), any::<u8>(), 1u16..=65535).prop_map(|(v, n, h, p)| Op::AddServer(
            v,
            n,
            Ipv4Addr::new(198, 51, 100, h.max(1)),
            p
        )),
        (i(), i()).prop_map(|(v, s)| Op::RemoveServer(v, s)),
        (i(), i(), name()).prop_map(|(v, s, n)| Op::RenameServer(v, s, n)),
        name().prop_map(Op::AddVirtual),
        i().prop_map(Op::RemoveVirtual),
        (i(), name()).prop_map(|(v, n)| Op::RenameVirtual(v, n)),
        (i(), i()).prop_map(|(v, s)| Op::BadWeight(v, s)),
        (i(), any::<u8>(), "[a-z0-9:. #]{1,6}").prop_map(|(v, h, d)| Op::Address(v, h, d)),
        (i(), timer()).prop_map(|(f, t)| Op::FailoverTimeout(f, t)),
        (i(), name()).prop_map(|(f, n)| Op::RenameFailover(f, n)),
    ]
}

/// What an op does: the edits, the model after them (`None` = the editor
/// must refuse), the old lines it may change, and how many lines it adds.
struct Plan {
    edits: Vec<Edit>,
    model: Option<Config>,
    /// Addresses whose lines are replaced or removed.
    targets: Vec<Target>,
    /// Lines added: exact, or a range for a new block (blank line, lone
    /// brace).
    added: std::ops::RangeInclusive<usize>,
}

enum Target {
    /// The line of the key that counts (a set replaces only it).
    LastKey(Address),
    /// Every line of the key (an unset removes duplicates too).
    Key(Address),
    Block(BlockRef),
    Header(BlockRef),
}

fn pick<T>(v: &[T], i: usize) -> Option<&T> {
    (!v.is_empty()).then(|| &v[i % v.len()])
}

fn plan(c: &Config, op: &Op) -> Option<Plan> {
    let key_set = |at: Address, value: Value, model: Config| Plan {
        edits: vec![Edit::Set {
            at: at.clone(),
            value,
        }],
        model: Some(model),
        targets: vec![Target::LastKey(at)],
        // Replaced, or added.
        added: 1..=1,
    };
    let vs = |i: usize| pick(&c.virtuals, i);
    let srv = |vi: usize, si: usize| vs(vi).and_then(|v| pick(&v.servers, si).map(|s| (v, s)));
    let mut m = c.clone();
    let vidx = |m: &mut Config, name: &str| -> usize {
        m.virtuals
            .iter()
            .position(|v| v.name == name)
            .expect("virtual")
    };
    Some(match op {
        Op::Weight(vi, si, w) => {
            let (v, s) = srv(*vi, *si)?;
            set_server(&mut m, &v.name, &s.name, |s| s.weight = *w);
            key_set(
                Address::key(server(&v.name, &s.name), "weight"),
                (*w).into(),
                m,
            )
        }
        Op::ServerActive(vi, si, b) => {
            let (v, s) = srv(*vi, *si)?;
            set_server(&mut m, &v.name, &s.name, |s| s.active = *b);
            key_set(
                Address::key(server(&v.name, &s.name), "active"),
                (*b).into(),
                m,
            )
        }
        Op::ServerPort(vi, si, p) => {
            let (v, s) = srv(*vi, *si)?;
            set_server(&mut m, &v.name, &s.name, |s| s.port = *p);
            key_set(
                Address::key(server(&v.name, &s.name), "port"),
                (*p).into(),
                m,
            )
        }
        Op::Scheduler(vi, sch) => {
            let v = vs(*vi)?;
            let i = vidx(&mut m, &v.name);
            m.virtuals[i].scheduler = *sch;
            key_set(Address::key(virt(&v.name), "scheduler"), (*sch).into(), m)
        }
        Op::Persistent(vi, n) => {
            let v = vs(*vi)?;
            let i = vidx(&mut m, &v.name);
            m.virtuals[i].persistent = *n;
            key_set(Address::key(virt(&v.name), "persistent"), (*n).into(), m)
        }
        Op::Timeout(vi, t) => {
            let v = vs(*vi)?;
            let i = vidx(&mut m, &v.name);
            m.virtuals[i].timeout = *t;
            key_set(Address::key(virt(&v.name), "timeout"), (*t).into(), m)
        }
        Op::Quiesce(vi, b) => {
            let v = vs(*vi)?;
            let i = vidx(&mut m, &v.name);
            m.virtuals[i].quiesce_server = *b;
            key_set(
                Address::key(virt(&v.name), "quiesce_server"),
                (*b).into(),
                m,
            )
        }
        Op::GlobalText(k, t) => {
            match *k {
                0 => m.debug_level = t.clone(),
                1 => m.rsh_command = t.clone(),
                _ => m.syncd_iface = t.clone(),
            }
            key_set(Address::global(GLOBAL_TEXT[*k]), t.as_str().into(), m)
        }
        Op::TcpTimeout(n) => {
            m.tcp_timeout = *n;
            key_set(Address::global("tcp_timeout"), (*n).into(), m)
        }
        Op::Keepalive(t) => {
            m.keepalive = t.as_duration();
            key_set(Address::global("keepalive"), (*t).into(), m)
        }
        Op::UnsetVirtual(vi, k) => {
            let v = vs(*vi)?;
            let i = vidx(&mut m, &v.name);
            let d = VirtualServer::new("");
            let x = &mut m.virtuals[i];
            match *k {
                0 => x.persistent = d.persistent,
                1 => x.scheduler = d.scheduler,
                2 => x.timeout = d.timeout,
                _ => x.quiesce_server = d.quiesce_server,
            }
            let at = Address::key(virt(&v.name), VIRTUAL_UNSET[*k]);
            Plan {
                edits: vec![Edit::Unset(at.clone())],
                model: Some(m),
                targets: vec![Target::Key(at)],
                added: 0..=0,
            }
        }
        Op::UnsetServer(vi, si, k) => {
            let (v, s) = srv(*vi, *si)?;
            set_server(&mut m, &v.name, &s.name, |s| {
                if *k == 0 {
                    s.weight = 1;
                } else {
                    s.active = false;
                }
            });
            let at = Address::key(server(&v.name, &s.name), SERVER_UNSET[*k]);
            Plan {
                edits: vec![Edit::Unset(at.clone())],
                model: Some(m),
                targets: vec![Target::Key(at)],
                added: 0..=0,
            }
        }
        Op::UnsetGlobal(k) => {
            let d = Config::default();
            match *k {
                0 => m.tcp_timeout = d.tcp_timeout,
                1 => m.debug_level = d.debug_level,
                2 => m.rsh_command = d.rsh_command,
                3 => m.syncd_iface = d.syncd_iface,
                _ => m.keepalive = d.keepalive,
            }
            let at = Address::global(GLOBAL_UNSET[*k]);
            Plan {
                edits: vec![Edit::Unset(at.clone())],
                model: Some(m),
                targets: vec![Target::Key(at)],
                added: 0..=0,
            }
        }
        Op::AddServer(vi, name, ip, port) => {
            let v = vs(*vi)?;
            let r = server(&v.name, name);
            let exists = v.servers.iter().any(|s| s.name == *name);
            let i = vidx(&mut m, &v.name);
            let mut s = RealServer::new(name.clone(), IpAddr::V4(*ip), *port);
            s.port = *port;
            m.virtuals[i].servers.push(s);
            Plan {
                edits: vec![
                    Edit::Add(r.clone()),
                    Edit::Set {
                        at: Address::key(r.clone(), "address"),
                        value: IpAddr::V4(*ip).into(),
                    },
                    Edit::Set {
                        at: Address::key(r, "port"),
                        value: (*port).into(),
                    },
                ],
                model: (!exists).then_some(m),
                targets: vec![],
                added: 4..=6,
            }
        }
        Op::RemoveServer(vi, si) => {
            let (v, s) = srv(*vi, *si)?;
            let i = vidx(&mut m, &v.name);
            m.virtuals[i].servers.retain(|x| x.name != s.name);
            let r = server(&v.name, &s.name);
            Plan {
                edits: vec![Edit::Remove(r.clone())],
                model: Some(m),
                targets: vec![Target::Block(r)],
                added: 0..=0,
            }
        }
        Op::RenameServer(vi, si, name) => {
            let (v, s) = srv(*vi, *si)?;
            let clash = *name != s.name && v.servers.iter().any(|x| x.name == *name);
            set_server(&mut m, &v.name, &s.name, |s| s.name = name.clone());
            let r = server(&v.name, &s.name);
            Plan {
                edits: vec![Edit::Rename {
                    block: r.clone(),
                    name: name.clone(),
                }],
                model: (!clash).then_some(m),
                targets: vec![Target::Header(r)],
                added: usize::from(*name != s.name)..=1,
            }
        }
        Op::AddVirtual(name) => {
            let exists = c.virtuals.iter().any(|v| v.name == *name);
            m.virtuals.push(VirtualServer::new(name.clone()));
            Plan {
                edits: vec![Edit::Add(virt(name))],
                model: (!exists).then_some(m),
                targets: vec![],
                added: 2..=4,
            }
        }
        Op::RemoveVirtual(vi) => {
            let v = vs(*vi)?;
            m.virtuals.retain(|x| x.name != v.name);
            Plan {
                edits: vec![Edit::Remove(virt(&v.name))],
                model: Some(m),
                targets: vec![Target::Block(virt(&v.name))],
                added: 0..=0,
            }
        }
        Op::RenameVirtual(vi, name) => {
            let v = vs(*vi)?;
            let clash = *name != v.name && c.virtuals.iter().any(|x| x.name == *name);
            let i = vidx(&mut m, &v.name);
            m.virtuals[i].name = name.clone();
            Plan {
                edits: vec![Edit::Rename {
                    block: virt(&v.name),
                    name: name.clone(),
                }],
                model: (!clash).then_some(m),
                targets: vec![Target::Header(virt(&v.name))],
                added: usize::from(*name != v.name)..=1,
            }
        }
        Op::Address(vi, h, device) => {
            let v = vs(*vi)?;
            let i = vidx(&mut m, &v.name);
            let a = InterfaceAddress {
                addr: IpAddr::V4(Ipv4Addr::new(203, 0, 113, (*h).max(1))),
                device: device.clone(),
            };
            m.virtuals[i].address = Some(a.clone());
            key_set(Address::key(virt(&v.name), "address"), (&a).into(), m)
        }
        Op::FailoverTimeout(fi, t) => {
            let f = pick(&c.failovers, *fi)?;
            let i = m
                .failovers
                .iter()
                .position(|x| x.name == f.name)
                .expect("failover");
            m.failovers[i].timeout = *t;
            key_set(
                Address::key(BlockRef::Failover(f.name.clone()), "timeout"),
                (*t).into(),
                m,
            )
        }
        Op::RenameFailover(fi, name) => {
            let f = pick(&c.failovers, *fi)?;
            let clash = *name != f.name && c.failovers.iter().any(|x| x.name == *name);
            let i = m
                .failovers
                .iter()
                .position(|x| x.name == f.name)
                .expect("failover");
            m.failovers[i].name = name.clone();
            let r = BlockRef::Failover(f.name.clone());
            Plan {
                edits: vec![Edit::Rename {
                    block: r.clone(),
                    name: name.clone(),
                }],
                model: (!clash).then_some(m),
                targets: vec![Target::Header(r)],
                added: usize::from(*name != f.name)..=1,
            }
        }
        Op::BadWeight(vi, si) => {
            let (v, s) = srv(*vi, *si)?;
            Plan {
                edits: vec![Edit::Set {
                    at: Address::key(server(&v.name, &s.name), "weight"),
                    value: "heavy".into(),
                }],
                model: None,
                targets: vec![],
                added: 0..=0,
            }
        }
    })
}

/// 0-based line numbers of the lines of the text a target covers.
fn target_lines(text: &str, t: &Target) -> Vec<usize> {
    let (items, _) = parse_tree(text);
    let line_of = |off: usize| text[..off].matches('\n').count();
    let find_block = |r: &BlockRef| -> Option<lvscf::syntax::Block<'_>> {
        use lvscf::syntax::BlockKind as K;
        let top = |kind: K, n: &str| {
            items.iter().find_map(|i| match i {
                Item::Block(b)
                    if b.kind.value == kind
                        && b.name.as_ref().is_some_and(|x| x.value.text() == n) =>
                {
                    Some((**b).clone())
                }
                _ => None,
            })
        };
        match r {
            BlockRef::Virtual(n) => top(K::Virtual, n),
            BlockRef::Failover(n) => top(K::Failover, n),
            BlockRef::Server { virtual_name, name } => top(K::Virtual, virtual_name)?
                .items
                .into_iter()
                .find_map(|i| match i {
                    Item::Block(b) if b.name.as_ref().is_some_and(|x| x.value.text() == *name) => {
                        Some(*b)
                    }
                    _ => None,
                }),
        }
    };
    match t {
        Target::LastKey(at) => {
            let mut all = target_lines(text, &Target::Key(at.clone()));
            all.drain(..all.len().saturating_sub(1));
            all
        }
        Target::Key(at) => {
            let key = at.key.as_deref().expect("key");
            let scope: Vec<Item<'_>> = match &at.block {
                None => items.clone(),
                Some(r) => match find_block(r) {
                    Some(b) => b.items,
                    None => return vec![],
                },
            };
            scope
                .iter()
                .filter_map(|i| match i {
                    Item::Assign(a) if a.key.value == key => Some(line_of(a.key.span.offset)),
                    _ => None,
                })
                .collect()
        }
        Target::Block(r) => match find_block(r) {
            Some(b) => {
                let close = b.close.expect("closed").offset;
                (line_of(b.kind.span.offset)..=line_of(close)).collect()
            }
            None => vec![],
        },
        Target::Header(r) => find_block(r)
            .map(|b| line_of(b.kind.span.offset))
            .into_iter()
            .collect(),
    }
}

/// `new` keeps every line of `old` outside `targets` byte for byte and in
/// order, and has `added` more lines than those.
fn check_untouched(
    old: &str,
    new: &str,
    targets: &[usize],
    added: &std::ops::RangeInclusive<usize>,
) -> Result<(), String> {
    let kept: Vec<&str> = old
        .split_inclusive('\n')
        .enumerate()
        .filter(|(i, _)| !targets.contains(i))
        .map(|(_, l)| l)
        .collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    // `kept` must be a subsequence of `new_lines`.
    let mut it = new_lines.iter();
    for k in &kept {
        // A last line without a line ending may gain one when a line is
        // added after it.
        if !it.any(|n| {
            n == k
                || (!k.ends_with('\n')
                    && n.strip_suffix('\n')
                        .map(|n| n.strip_suffix('\r').unwrap_or(n))
                        == Some(k))
        }) {
            return Err(format!("line {k:?} was changed or moved"));
        }
    }
    let n_added = new_lines.len() - kept.len();
    if !added.contains(&n_added) {
        return Err(format!("{n_added} lines added, expected {added:?}"));
    }
    Ok(())
}

fn base_files() -> Vec<String> {
    let mut v: Vec<String> = valid_files().into_iter().map(|(_, t)| t).collect();
    // The same files with CRLF endings.
    let crlf: Vec<String> = v
        .iter()
        .filter(|t| !t.contains('\r'))
        .map(|t| t.replace('\n', "\r\n"))
        .collect();
    v.extend(crlf);
    // And without their final line ending.
    let unterminated: Vec<String> = v
        .iter()
        .step_by(3)
        .map(|t| t.trim_end_matches(['\r', '\n']).to_owned())
        .collect();
    v.extend(unterminated);
    v
}

/// `text` with comments and layout added, chosen per line by `bits`: a
/// comment line above (1), a trailing comment (2), a blank line below (4),
/// a tab instead of the leading spaces (8). Empty `bits`: unchanged.
fn decorate(text: &str, bits: &[u8]) -> String {
    if bits.is_empty() {
        return text.to_owned();
    }
    let file_eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = String::new();
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let b = bits[i % bits.len()];
        let (body, eol) = match line.strip_suffix("\r\n") {
            Some(l) => (l, "\r\n"),
            None => match line.strip_suffix('\n') {
                Some(l) => (l, "\n"),
                None => (line, ""),
            },
        };
        let rest = body.trim_start_matches(' ');
        let indent = &body[..body.len() - rest.len()];
        let indent = if b & 8 != 0 && !indent.is_empty() {
            "\t"
        } else {
            indent
        };
        if b & 1 != 0 {
            out.push_str(&format!(
                "{indent}# above {i}{}",
                if eol.is_empty() { file_eol } else { eol }
            ));
        }
        out.push_str(indent);
        out.push_str(rest);
        if b & 2 != 0 && !rest.trim().is_empty() {
            out.push_str(&format!(" # after {i}"));
        }
        out.push_str(eol);
        if b & 4 != 0 && !eol.is_empty() {
            out.push_str(eol);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_edit_sequences(
        file in 0usize..128,
        deco in prop_oneof![Just(vec![]), proptest::collection::vec(any::<u8>(), 1..8)],
        ops in proptest::collection::vec(op(), 1..10),
    ) {
        let bases = base_files();
        let base = &decorate(&bases[file % bases.len()], &deco);
        // Comments and layout change nothing in the model.
        prop_assert_eq!(config(base), config(&bases[file % bases.len()]));
        let crlf = base.contains("\r\n");
        let mut d = doc(base);
        let mut model = config(base);
        for op in &ops {
            let Some(p) = plan(&model, op) else { continue };
            let old = d.text().to_owned();
            let targets: Vec<usize> = p.targets.iter().flat_map(|t| target_lines(&old, t)).collect();
            // Addresses print and parse back.
            for e in &p.edits {
                if let Edit::Set { at, .. } = e {
                    prop_assert_eq!(&Address::parse(&at.to_string()).expect("parses"), at);
                }
            }
            let result = d.apply(&p.edits);
            match (&p.model, result) {
                (Some(want), Ok(())) => {
                    let new = d.text();
                    // (a) every other line byte-identical.
                    if let Err(e) = check_untouched(&old, new, &targets, &p.added) {
                        prop_assert!(false, "{:?}: {}\n{}", op, e, unified_diff(&old, new, "old", "new"));
                    }
                    // A set of an existing key changes only its value's bytes.
                    if let [Edit::Set { at, .. }] = &p.edits[..] {
                        let (items, _) = parse_tree(&old);
                        if let Some(r) = find_assign(&items, at) {
                            prop_assert!(new.starts_with(&old[..r.start]), "{:?}", op);
                            prop_assert!(new.ends_with(&old[r.end..]), "{:?}", op);
                        }
                    }
                    if crlf {
                        prop_assert_eq!(new.matches('\n').count(), new.matches("\r\n").count());
                    }
                    // (b) the model with exactly these edits.
                    prop_assert_eq!(&config(new), want, "{:?}", op);
                    model = want.clone();
                }
                (None, Err(_)) => prop_assert_eq!(d.text(), old.as_str()),
                // Removing the last block of a file of nothing else leaves
                // an empty file, which does not load.
                (Some(_), Err(EditError::Refused(r)))
                    if r.text.trim().is_empty()
                        && r.diagnostics.iter().any(|d| d.message == "empty configuration") =>
                {
                    prop_assert_eq!(d.text(), old.as_str());
                }
                (Some(_), Err(e)) => prop_assert!(false, "{:?} refused: {}", op, e),
                (None, Ok(())) => prop_assert!(false, "{:?} accepted, must be refused", op),
            }
        }
    }
}
