//! The panels of the shipped sample: every panel builds, shows the file's
//! values and places the file's diagnostics.

mod common;

use std::collections::HashSet;
use std::path::Path;

use lvscf::{Document, OfflineResolver};
use panels::{FieldKind, PanelId, panel, real_rows, virtual_rows};

fn sample() -> Document<OfflineResolver> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc/lvs.cf");
    Document::open_with(
        std::fs::read_to_string(p).expect("etc/lvs.cf"),
        OfflineResolver,
    )
}

#[test]
fn sample_panels_show_the_file() {
    let doc = sample();
    let g = panel(&doc, &PanelId::Global).expect("global");
    let primary = g.field("primary").expect("primary");
    assert_eq!(primary.value, "203.0.113.2");
    assert_eq!(primary.label, "Primary server public IP");
    assert!(g.field("serial_no").expect("serial").read_only);
    assert_eq!(g.field("nat_router").expect("ip").value, "192.0.2.254");
    assert_eq!(g.field("nat_router_device").expect("dev").value, "eth1:1");
    assert!(g.field("active_cmd").expect("cmd").command);
    assert!(matches!(
        g.field("network").expect("net").kind,
        FieldKind::Radio(_)
    ));

    let rows = virtual_rows(&doc);
    assert!(!rows.is_empty());
    for r in &rows {
        for id in [
            PanelId::Virtual(r.name.clone()),
            PanelId::Monitoring(r.name.clone()),
            PanelId::Reals(r.name.clone()),
        ] {
            let p = panel(&doc, &id).expect("panel");
            let names: HashSet<&str> = p.fields().map(|f| f.name).collect();
            assert_eq!(names.len(), p.fields().count(), "{id}: duplicate names");
        }
        for s in real_rows(&doc, &r.name).expect("reals") {
            let id = PanelId::Real {
                virtual_name: r.name.clone(),
                name: s.name.clone(),
            };
            let p = panel(&doc, &id).expect("real");
            assert_eq!(p.field("address").expect("address").value, s.address);
        }
    }
    let missing = panel(&doc, &PanelId::Virtual("nope".into())).expect_err("no such virtual");
    assert_eq!(missing.to_string(), "no virtual named \"nope\"");
}

/// A large file (1,000 virtuals of 10 servers) lists and edits in one
/// parse per call: no per-field re-parse.
#[test]
fn large_file() {
    let mut text = String::from("primary = 203.0.113.2\n");
    for v in 0..1000 {
        text.push_str(&format!(
            "virtual v{v} {{\n active = 1\n address = 203.0.113.{} eth0:{v}\n",
            v % 250 + 1
        ));
        for s in 0..10 {
            text.push_str(&format!(
                " server s{s} {{\n  address = 192.0.2.{}\n  active = 1\n }}\n",
                s + 1
            ));
        }
        text.push_str("}\n");
    }
    let doc = Document::open_with(text.clone(), OfflineResolver);
    let t = std::time::Instant::now();
    assert_eq!(virtual_rows(&doc).len(), 1000);
    let p = panel(&doc, &PanelId::Virtual("v999".into())).expect("panel");
    let form = vec![("port".to_owned(), "8080".to_owned())];
    let e = panels::edits(&doc, &p.id, &form).expect("edit");
    assert_eq!(e.len(), 1);
    eprintln!("large file: rows, panel and edit in {:?}", t.elapsed());
}

/// Each field's value is what lvscf's own `Document::get` reads for its
/// key (the part of it the field holds).
#[test]
fn values_agree_with_document_get() {
    let mut checked = 0;
    for (name, text) in common::valid_files()
        .into_iter()
        .chain(common::invalid_files())
    {
        let d = common::doc(&text);
        for id in common::panel_ids(&d) {
            let p = common::get(&d, &id);
            for f in p.fields() {
                if f.address.key.is_none() {
                    assert_eq!(
                        Some(f.value.as_str()),
                        f.address.block.as_ref().map(|b| b.name())
                    );
                    continue;
                }
                let Ok(Some(v)) = d.get(&f.address) else {
                    continue;
                };
                let t = v.as_tokens();
                let server = matches!(f.address.block, Some(lvscf::BlockRef::Server { .. }));
                let want = match (f.name, t.len()) {
                    ("device" | "nat_router_device", _) => t.get(1).cloned().unwrap_or_default(),
                    ("address" | "nat_router", 2..) if !server => t[0].clone(),
                    ("dirs", 2..) if t[0] == "[" && t[t.len() - 1] == "]" => {
                        t[1..t.len() - 1].join(" ")
                    }
                    _ => t.join(" "),
                };
                match f.kind {
                    FieldKind::Checkbox => {
                        assert_eq!(
                            f.value,
                            if want == "0" { "0" } else { "1" },
                            "{name} {id} {}",
                            f.name
                        )
                    }
                    FieldKind::Radio(_) if f.name == "quiesce_server" => {}
                    _ => assert_eq!(f.value, want, "{name} {id} {}", f.name),
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 300, "{checked}");
}

#[test]
fn free_text_fields_are_wide_addresses_are_not() {
    let doc = sample();
    let g = panel(&doc, &PanelId::Global).expect("global");
    for name in ["active_cmd", "rsh_command", "ipvsadm"] {
        assert!(g.field(name).expect(name).wide, "{name}");
    }
    for name in ["primary", "nat_router", "nat_router_device", "serial_no"] {
        assert!(!g.field(name).expect(name).wide, "{name}");
    }
    let v = virtual_rows(&doc)[0].name.clone();
    let m = panel(&doc, &PanelId::Monitoring(v)).expect("monitoring");
    for name in ["send", "expect", "send_program"] {
        assert!(m.field(name).expect(name).wide, "{name}");
    }
}
