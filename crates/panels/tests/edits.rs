//! Forms and buttons → edits over the corpus: no change is no byte, one
//! field is one line, every button leaves a file that loads with the
//! change, and every key lvscf knows has a field.

mod common;

use std::collections::HashSet;

use common::*;
use lvscf::{GLOBAL_KEYS, SERVER_KEYS, Severity, VIRTUAL_KEYS, parse_with};
use lvscf::{OfflineResolver, Protocol, Scheduler};
use panels::{Action, FieldKind, PanelId, action, edits, locate, locate_panel, panel};

#[test]
fn submitting_every_panel_unchanged_makes_no_edit() {
    let mut panels_seen = 0;
    for (name, text) in valid_files().into_iter().chain(invalid_files()) {
        let mut d = doc(&text);
        for id in panel_ids(&d) {
            let p = get(&d, &id);
            let form = current_form(&p);
            let e = edits(&d, &id, &form).unwrap_or_else(|e| panic!("{name} {id}: {e:?}"));
            assert!(e.is_empty(), "{name} {id}: {e:?}");
            panels_seen += 1;
        }
        d.apply(&[]).expect("nothing to apply");
        assert_eq!(d.text(), text, "{name}");
    }
    assert!(panels_seen > 100, "{panels_seen}");
}

const NUMERIC: &[&str] = &[
    "weight",
    "tcp_timeout",
    "tcpfin_timeout",
    "udp_timeout",
    "keepalive",
    "deadtime",
    "syncd_id",
    "arp_count",
    "arp_interval",
    "fwmark",
    "persistent",
    "timeout",
    "reentry",
];

/// A valid value different from the field's, for the one-field test.
fn other_value(f: &panels::Field) -> Option<String> {
    let pick = |a: &str, b: &str| {
        if f.value == a {
            b.to_owned()
        } else {
            a.to_owned()
        }
    };
    Some(match &f.kind {
        FieldKind::Checkbox => pick("1", "0"),
        FieldKind::Select(c) | FieldKind::Radio(c) => c
            .iter()
            .map(|c| c.value.clone())
            .find(|v| !v.is_empty() && *v != f.value && v != "fos")?,
        FieldKind::Number { .. } => {
            if f.name == "serial_no" {
                return None;
            }
            pick("7", "8")
        }
        FieldKind::Text => match f.name {
            n if NUMERIC.contains(&n) => pick("7", "8"),
            "primary" | "primary_private" | "backup" | "backup_private" | "nat_router"
            | "address" | "master" | "sorry_server" => pick("192.0.2.77", "192.0.2.78"),
            "device" | "nat_router_device" => pick("eth7:7", "eth7:8"),
            "syncd_iface" => pick("eth7", "eth8"),
            "port" | "heartbeat_port" => pick("8081", "8082"),
            "name" => format!("{}-2", f.value),
            "dirs" => pick("a b", "c"),
            "send" | "expect" => pick("changed", "changed again"),
            _ => pick("/usr/local/sbin/changed", "/usr/local/sbin/other"),
        },
    })
}

#[test]
fn one_changed_field_changes_one_line() {
    let mut changed = 0;
    let mut refused = 0;
    let mut kinds = HashSet::new();
    for (name, text) in valid_files() {
        let d = doc(&text);
        for id in panel_ids(&d) {
            let p = get(&d, &id);
            for f in p.fields() {
                if f.read_only {
                    continue;
                }
                let Some(new) = other_value(f) else { continue };
                // One part of an absent IP DEVICE pair cannot be set alone.
                let pair = p
                    .fields()
                    .find(|g| g.address == f.address && g.name != f.name);
                if pair.is_some_and(|g| g.value.is_empty()) {
                    continue;
                }
                let form = vec![(f.name.to_owned(), new.clone())];
                let e = match edits(&d, &id, &form) {
                    Ok(e) => e,
                    Err(e) => {
                        // A change the rest of the file does not allow
                        // (use_regex off under a regular expression):
                        // refused at a field of this panel.
                        assert!(
                            e.iter()
                                .all(|e| e.field.as_deref().is_some_and(|n| p.field(n).is_some())),
                            "{name} {id} {}={new}: {e:?}",
                            f.name
                        );
                        refused += 1;
                        continue;
                    }
                };
                assert_eq!(e.len(), 1, "{name} {id} {}: {e:?}", f.name);
                let mut d2 = doc(&text);
                d2.apply(&e).expect("edits were tried");
                let old: Vec<&str> = text.split_inclusive('\n').collect();
                let now: Vec<&str> = d2.text().split_inclusive('\n').collect();
                if f.value.is_empty() && f.default.is_some() || f.kind == FieldKind::Checkbox {
                    // A key the file may lack: one line more, or one changed.
                    assert!(now.len() == old.len() || now.len() == old.len() + 1);
                }
                let differing = if now.len() == old.len() {
                    old.iter().zip(&now).filter(|(a, b)| a != b).count()
                } else {
                    assert_eq!(now.len(), old.len() + 1, "{name} {id} {}", f.name);
                    let mut extra = now.clone();
                    let at = old
                        .iter()
                        .zip(&now)
                        .position(|(a, b)| a != b)
                        .unwrap_or(old.len());
                    extra.remove(at);
                    assert_eq!(extra, old, "{name} {id} {}: more than one line", f.name);
                    1
                };
                assert_eq!(differing, 1, "{name} {id} {}:\n{}", f.name, d2.text());
                // The panel now shows the new value, and only it changed.
                let id2 = if f.name == "name" {
                    rename_id(&id, &new)
                } else {
                    id.clone()
                };
                let p2 = get(&d2, &id2);
                for g in p2.fields() {
                    let before = p.field(g.name).expect("same fields");
                    if g.name == f.name {
                        assert_eq!(g.value, new, "{name} {id} {}", f.name);
                    } else if g.address != f.address {
                        assert_eq!(
                            g.value, before.value,
                            "{name} {id} {} moved {}",
                            f.name, g.name
                        );
                    }
                }
                changed += 1;
                kinds.insert(f.name);
            }
        }
    }
    assert!(changed > 300, "{changed}");
    assert!(refused <= 3, "{refused} refused");
    assert!(kinds.len() > 60, "{kinds:?}");
}

fn rename_id(id: &PanelId, new: &str) -> PanelId {
    match id {
        PanelId::Virtual(_) => PanelId::Virtual(new.into()),
        PanelId::Failover(_) => PanelId::Failover(new.into()),
        PanelId::Real { virtual_name, .. } => PanelId::Real {
            virtual_name: virtual_name.clone(),
            name: new.into(),
        },
        other => other.clone(),
    }
}

fn sample() -> String {
    std::fs::read_to_string(repo().join("etc/lvs.cf")).expect("etc/lvs.cf")
}

fn config_after(text: &str, a: &Action) -> (String, lvscf::Config) {
    let mut d = doc(text);
    let e = action(&d, a).unwrap_or_else(|e| panic!("{a:?}: {e:?}"));
    assert!(!e.is_empty(), "{a:?} made no edit");
    d.apply(&e).expect("tried");
    let parsed = parse_with(d.text(), &OfflineResolver);
    assert!(
        !parsed.has_errors(),
        "{a:?}\n{}",
        parsed.render("x", d.text())
    );
    (d.text().to_owned(), parsed.config.expect("config"))
}

#[test]
fn row_actions_load_and_have_their_effect() {
    let text = sample();
    let before = parse_with(&text, &OfflineResolver).config.expect("sample");
    let v0 = before.virtuals[0].name.clone();
    let s0 = before.virtuals[0].servers[0].name.clone();
    let v0_active = before.virtuals[0].active;
    let s0_active = before.virtuals[0].servers[0].active;

    let (t, c) = config_after(
        &text,
        &Action::AddVirtual {
            name: "new web".into(),
        },
    );
    let v = c.virtuals.last().expect("added");
    assert_eq!(v.name, "new web");
    assert!(!v.active);
    assert_eq!(c.virtuals.len(), before.virtuals.len() + 1);
    assert!(t.starts_with(&text[..text.find("virtual ").expect("a virtual")]));

    let (_, c) = config_after(&text, &Action::DeleteVirtual { name: v0.clone() });
    assert!(c.virtuals.iter().all(|v| v.name != v0));
    assert_eq!(c.virtuals.len(), before.virtuals.len() - 1);

    let (_, c) = config_after(
        &text,
        &Action::SetVirtualActive {
            name: v0.clone(),
            active: !v0_active,
        },
    );
    assert_eq!(c.virtuals[0].active, !v0_active);
    // The state already there: nothing to do.
    let same = Action::SetVirtualActive {
        name: v0.clone(),
        active: v0_active,
    };
    assert_eq!(action(&doc(&text), &same), Ok(vec![]));

    let add = Action::AddReal {
        virtual_name: v0.clone(),
        name: "web9".into(),
        address: "192.0.2.99".into(),
    };
    let (_, c) = config_after(&text, &add);
    let s = c.virtuals[0].servers.last().expect("server");
    assert_eq!(
        (s.name.as_str(), s.address.to_string()),
        ("web9", "192.0.2.99".into())
    );
    assert_eq!((s.weight, s.active), (1, false));

    let (_, c) = config_after(
        &text,
        &Action::DeleteReal {
            virtual_name: v0.clone(),
            name: s0.clone(),
        },
    );
    assert!(c.virtuals[0].servers.iter().all(|s| s.name != s0));

    let (_, c) = config_after(
        &text,
        &Action::SetRealActive {
            virtual_name: v0.clone(),
            name: s0.clone(),
            active: !s0_active,
        },
    );
    assert_eq!(c.virtuals[0].servers[0].active, !s0_active);

    let (_, c) = config_after(
        &text,
        &Action::RenameReal {
            virtual_name: v0.clone(),
            name: s0.clone(),
            new_name: "renamed".into(),
        },
    );
    assert_eq!(c.virtuals[0].servers[0].name, "renamed");
    assert_eq!(
        c.virtuals[0].servers[0].address,
        before.virtuals[0].servers[0].address
    );

    assert!(before.backup_active);
    let (_, c) = config_after(&text, &Action::DisableRedundancy);
    assert!(!c.backup_active);
    assert_eq!(action(&doc(&text), &Action::EnableRedundancy), Ok(vec![]));
    let (t, _) = config_after(&text, &Action::DisableRedundancy);
    let (_, c) = config_after(&t, &Action::EnableRedundancy);
    assert!(c.backup_active);

    let (_, c) = config_after(&text, &Action::ResetRedundancy);
    let defaults = lvscf::Config::default();
    assert_eq!(c.keepalive, defaults.keepalive);
    assert_eq!(c.deadtime, defaults.deadtime);
    assert_eq!(c.heartbeat_port, defaults.heartbeat_port);
    assert_eq!(c.backup, None);

    // Refusals name the field.
    let e = action(&doc(&text), &Action::AddVirtual { name: v0.clone() }).expect_err("exists");
    assert_eq!(e[0].field.as_deref(), Some("name"));
    let bad = Action::AddReal {
        virtual_name: v0.clone(),
        name: "x".into(),
        address: "192.0.2.300".into(),
    };
    let e = action(&doc(&text), &bad).expect_err("bad address");
    assert_eq!(e[0].field.as_deref(), Some("address"), "{e:?}");
    let gone = Action::DeleteVirtual {
        name: "nope".into(),
    };
    assert!(action(&doc(&text), &gone).is_err());
}

#[test]
fn failover_actions() {
    let text = std::fs::read_to_string(repo().join("tests/corpus/valid/failover.cf"))
        .expect("failover.cf");
    let before = parse_with(&text, &OfflineResolver).config.expect("loads");
    let f0 = before.failovers[0].clone();
    let (_, c) = config_after(
        &text,
        &Action::AddFailover {
            name: "ftp2".into(),
        },
    );
    assert_eq!(c.failovers.last().map(|f| f.name.as_str()), Some("ftp2"));
    let (_, c) = config_after(
        &text,
        &Action::DeleteFailover {
            name: f0.name.clone(),
        },
    );
    assert!(c.failovers.iter().all(|f| f.name != f0.name));
    let (_, c) = config_after(
        &text,
        &Action::SetFailoverActive {
            name: f0.name.clone(),
            active: !f0.active,
        },
    );
    assert_eq!(c.failovers[0].active, !f0.active);
}

#[test]
fn every_key_lvscf_knows_has_a_field() {
    let text = "virtual v {\n address = 192.0.2.1 eth0:1\n server s {\n  address = 192.0.2.2\n }\n}\nfailover f {\n}\n";
    let d = doc(text);
    let keys = |ids: &[PanelId]| -> HashSet<String> {
        ids.iter()
            .flat_map(|id| {
                get(&d, id)
                    .fields()
                    .filter_map(|f| f.address.key.clone())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let global = keys(&[PanelId::Global, PanelId::Redundancy]);
    let virt = keys(&[
        PanelId::Virtual("v".into()),
        PanelId::Monitoring("v".into()),
        PanelId::Failover("f".into()),
    ]);
    let server = keys(&[PanelId::Real {
        virtual_name: "v".into(),
        name: "s".into(),
    }]);
    for k in GLOBAL_KEYS {
        assert!(global.contains(*k), "global key {k} has no field");
    }
    for k in VIRTUAL_KEYS {
        assert!(virt.contains(*k), "virtual key {k} has no field");
    }
    for k in SERVER_KEYS {
        assert!(server.contains(*k), "server key {k} has no field");
    }
    // And no field edits a key lvscf does not know.
    for k in &global {
        assert!(GLOBAL_KEYS.contains(&k.as_str()), "{k}");
    }
    // Exactly the keys that name a program run as root are marked (the
    // list of issue 13 and access::policy).
    let all = [
        PanelId::Global,
        PanelId::Redundancy,
        PanelId::Virtual("v".into()),
        PanelId::Monitoring("v".into()),
        PanelId::Failover("f".into()),
    ];
    let mut commands: Vec<String> = all
        .iter()
        .flat_map(|id| {
            get(&d, id)
                .fields()
                .filter(|f| f.command)
                .filter_map(|f| f.address.key.clone())
                .collect::<Vec<_>>()
        })
        .collect();
    commands.sort();
    commands.dedup();
    assert_eq!(
        commands,
        [
            "active_cmd",
            "client_monitor",
            "inactive_cmd",
            "ipvsadm",
            "load_monitor",
            "rsh_command",
            "send_program",
            "start_cmd",
            "stop_cmd"
        ]
    );
    // Every scheduler and protocol is offered.
    let p = get(&d, &PanelId::Virtual("v".into()));
    let sched = choices(p.field("scheduler").expect("scheduler"));
    for s in Scheduler::ALL {
        assert!(sched.contains(&s.as_str().to_owned()), "{s}");
    }
    let proto = choices(p.field("protocol").expect("protocol"));
    for pr in [Protocol::Tcp, Protocol::Udp, Protocol::Sctp] {
        assert!(proto.contains(&pr.as_str().to_owned()));
    }
    // Extensions are marked, on keys and on values.
    let r = get(&d, &PanelId::Redundancy);
    for (f, id) in [
        ("heartbeat_key_file", "heartbeat-auth"),
        ("arp_count", "arp-schedule"),
        ("arp_interval", "arp-schedule"),
        ("hot_standby", "hot-standby"),
    ] {
        assert_eq!(r.field(f).expect(f).extension, Some(id));
    }
    assert_eq!(r.field("keepalive").expect("keepalive").extension, None);
    let FieldKind::Select(c) = &p.field("scheduler").expect("s").kind else {
        panic!("scheduler is a drop-down")
    };
    for c in c {
        let s = Scheduler::from_keyword(&c.value).expect("a scheduler");
        assert_eq!(c.extension.is_some(), !s.known_to_original(), "{}", c.value);
    }
}

#[test]
fn field_errors_name_the_field_and_say_why() {
    let text = sample();
    let d = doc(&text);
    let v = PanelId::Virtual("http".into());
    let one = |id: &PanelId, k: &str, val: &str| edits(&d, id, &[(k.to_owned(), val.to_owned())]);
    let err = |id: &PanelId, k: &str, val: &str| {
        let e = one(id, k, val).expect_err(val);
        assert_eq!(e[0].field.as_deref(), Some(k), "{e:?}");
        e[0].message.clone()
    };
    assert!(err(&v, "scheduler", "wlcc").contains("unknown scheduler \"wlcc\""));
    assert!(err(&v, "port", "70000").contains("out of range"));
    assert!(err(&v, "address", "203.0.113.300").contains("not an IP address"));
    assert!(err(&v, "sorry_server", "sorry.example").contains("host name is not allowed"));
    assert!(err(&v, "timeout", "0").contains("greater than 0"));
    assert!(err(&v, "persistent", "-1").contains("out of range"));
    assert!(err(&v, "name", "").contains("required"));
    assert!(err(&PanelId::Global, "serial_no", "9").contains("read-only"));
    assert!(err(&PanelId::Global, "network", "dr").contains("unknown network type"));
    assert!(err(&PanelId::Redundancy, "keepalive", "abc").contains("not a number"));
    assert!(err(&PanelId::Redundancy, "hot_standby", "yes").contains("0 expected"));
    // Unknown names are errors, not ignored.
    let e = one(&v, "nonsense", "1").expect_err("unknown");
    assert_eq!(e[0].field.as_deref(), Some("nonsense"));
    // lvscf's own checks come back at the field: an unknown escape.
    let m = PanelId::Monitoring("http".into());
    let e = one(&m, "send", "GET \\d").expect_err("escape");
    assert_eq!(e[0].field.as_deref(), Some("send"), "{e:?}");
    assert!(e[0].message.contains("unknown escape"), "{e:?}");
    // A blank optional field unsets the key; a blank pair part is refused.
    let e = one(&v, "sorry_server", "").expect("unset");
    assert_eq!(
        e,
        vec![lvscf::Edit::Unset(
            "virtual.http.sorry_server".parse().expect("a")
        )]
    );
    assert!(err(&v, "device", "").contains("needed with"));
    // Several fields at once, a rename last.
    let form = [
        ("weight".to_owned(), "9".to_owned()),
        ("name".to_owned(), "w1".to_owned()),
    ];
    let r = PanelId::Real {
        virtual_name: "http".into(),
        name: "web1".into(),
    };
    let e = edits(&d, &r, &form).expect("two changes");
    assert_eq!(e.len(), 2);
    assert!(matches!(e[1], lvscf::Edit::Rename { .. }));
}

#[test]
fn diagnostics_fall_on_their_fields() {
    let mut placed = 0;
    for (name, text) in invalid_files().into_iter().chain(valid_files()) {
        let d = doc(&text);
        for diag in &d.parsed().diagnostics {
            let at = locate(&d, diag.line, diag.col);
            let home = locate_panel(&d, diag.line, diag.col);
            if let Some((id, field)) = &at {
                assert_eq!(*id, home);
                let p = get(&d, id);
                let f = p
                    .field(field)
                    .unwrap_or_else(|| panic!("{name}: {id} has no field {field}"));
                assert!(
                    f.diagnostics.contains(diag),
                    "{name}:{}: {}",
                    diag.line,
                    diag.message
                );
                placed += 1;
            } else if let Ok(p) = panel(&d, &home) {
                assert!(
                    p.diagnostics.contains(diag),
                    "{name}: {diag:?} not on {home}"
                );
            }
        }
    }
    assert!(placed > 50, "{placed}");
    // Specific places.
    let text = std::fs::read_to_string(repo().join("tests/corpus/invalid/bad-values.cf"))
        .expect("bad-values.cf");
    let d = doc(&text);
    let on = |needle: &str| {
        let diag = d
            .parsed()
            .diagnostics
            .iter()
            .find(|x| x.message.contains(needle) && x.severity == Severity::Error)
            .unwrap_or_else(|| panic!("{needle}"));
        locate(&d, diag.line, diag.col)
    };
    let web = PanelId::Virtual("web".into());
    assert_eq!(on("scheduler"), Some((web.clone(), "scheduler".into())));
    assert_eq!(on("sorry_server"), Some((web, "sorry_server".into())));
    assert_eq!(
        on("keepalive"),
        Some((PanelId::Redundancy, "keepalive".into()))
    );
    assert_eq!(on("nat_nmask"), Some((PanelId::Global, "nat_nmask".into())));
    let s1 = PanelId::Real {
        virtual_name: "web".into(),
        name: "s1".into(),
    };
    assert_eq!(on("weight must be"), Some((s1, "weight".into())));
}

#[test]
fn a_broken_value_is_shown_and_repaired_at_its_field() {
    let text = "virtual web {\n    scheduler = wlcc\n    weight_typo = 1\n}\n";
    let d = doc(text);
    let id = PanelId::Virtual("web".into());
    let p = get(&d, &id);
    let f = p.field("scheduler").expect("scheduler");
    // Kept selectable as it is, with its error on it.
    assert_eq!(f.value, "wlcc");
    assert!(choices(f).contains(&"wlcc".to_owned()));
    assert!(f.diagnostics.iter().any(|x| x.severity == Severity::Error));
    // The unknown key is on the panel, at no field.
    assert!(
        p.diagnostics
            .iter()
            .any(|x| x.message.contains("weight_typo"))
    );
    // Repairing one of two errors is refused with the other, at no field.
    let form = [("scheduler".to_owned(), "wlc".to_owned())];
    let e = edits(&d, &id, &form).expect_err("the unknown key remains");
    assert!(e.iter().all(|e| e.field.is_none()), "{e:?}");
    assert!(e[0].message.contains("weight_typo"), "{e:?}");
    let fixed = "virtual web {\n    scheduler = wlcc\n}\n";
    let mut d = doc(fixed);
    let e = edits(&d, &id, &form).expect("repaired");
    d.apply(&e).expect("loads");
    assert_eq!(d.text(), "virtual web {\n    scheduler = wlc\n}\n");
}
