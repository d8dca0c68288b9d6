//! Shared helpers of the panels tests: the corpus, every panel of a file,
//! and a form holding a panel's current values.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use lvscf::{Document, OfflineResolver};
use panels::{Field, FieldKind, Panel, PanelId, failover_rows, panel, real_rows, virtual_rows};

pub type Doc = Document<OfflineResolver>;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cf_files(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = fs::read_dir(dir)
        .expect("corpus directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "cf"))
        .map(|p| {
            let text = String::from_utf8_lossy(&fs::read(&p).expect("corpus file")).into_owned();
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                text,
            )
        })
        .collect();
    v.sort();
    v
}

/// The valid corpus files and the shipped sample.
pub fn valid_files() -> Vec<(String, String)> {
    let mut v = cf_files(&repo().join("tests/corpus/valid"));
    let sample = fs::read_to_string(repo().join("etc/lvs.cf")).expect("etc/lvs.cf");
    v.push(("etc/lvs.cf".into(), sample));
    assert!(v.len() >= 10, "corpus not found");
    v
}

/// The invalid corpus files.
pub fn invalid_files() -> Vec<(String, String)> {
    let v = cf_files(&repo().join("tests/corpus/invalid"));
    assert!(v.len() >= 5, "corpus not found");
    v
}

pub fn doc(text: &str) -> Doc {
    Document::open_with(text, OfflineResolver)
}

/// Every panel of a file.
pub fn panel_ids(d: &Doc) -> Vec<PanelId> {
    let mut ids = vec![
        PanelId::Global,
        PanelId::Redundancy,
        PanelId::Virtuals,
        PanelId::Failovers,
    ];
    let mut seen = std::collections::HashSet::new();
    for v in virtual_rows(d) {
        if !seen.insert(v.name.clone()) {
            continue;
        }
        ids.push(PanelId::Virtual(v.name.clone()));
        ids.push(PanelId::Monitoring(v.name.clone()));
        ids.push(PanelId::Reals(v.name.clone()));
        let mut servers = std::collections::HashSet::new();
        for s in real_rows(d, &v.name).expect("reals") {
            if servers.insert(s.name.clone()) {
                ids.push(PanelId::Real {
                    virtual_name: v.name.clone(),
                    name: s.name,
                });
            }
        }
    }
    let mut fos = std::collections::HashSet::new();
    for f in failover_rows(d) {
        if fos.insert(f.name.clone()) {
            ids.push(PanelId::Failover(f.name));
        }
    }
    ids
}

pub fn get(d: &Doc, id: &PanelId) -> Panel {
    panel(d, id).unwrap_or_else(|e| panic!("{id}: {e}"))
}

/// The form a browser submits for an untouched panel.
pub fn current_form(p: &Panel) -> Vec<(String, String)> {
    let mut form = Vec::new();
    for f in p.fields() {
        if f.kind == FieldKind::Checkbox {
            // The hidden 0, then the box when checked.
            form.push((f.name.to_owned(), "0".to_owned()));
            if f.value == "1" {
                form.push((f.name.to_owned(), "1".to_owned()));
            }
        } else {
            form.push((f.name.to_owned(), f.value.clone()));
        }
    }
    form
}

/// The choices of a field, if it has any.
pub fn choices(f: &Field) -> Vec<String> {
    match &f.kind {
        FieldKind::Select(c) | FieldKind::Radio(c) => c.iter().map(|c| c.value.clone()).collect(),
        _ => Vec::new(),
    }
}
