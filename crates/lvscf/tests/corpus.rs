//! Golden tests over `tests/corpus/`.
//!
//! Every `*.cf` has a sibling `*.expected` holding the rendered
//! diagnostics (empty when there are none). Files under `valid/` must parse
//! without errors and survive write → parse unchanged; files under
//! `invalid/` must report at least one error. Run with `LVSCF_BLESS=1` to
//! rewrite the `.expected` files after a deliberate change.
//!
//! Parsing uses `OfflineResolver`, so results do not depend on the
//! machine's `/etc/hosts` or `/etc/services`.

use std::fs;
use std::path::{Path, PathBuf};

use lvscf::{OfflineResolver, parse_with, write};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus")
}

fn files(sub: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(corpus_dir().join(sub))
        .expect("corpus directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "cf"))
        .collect();
    v.sort();
    v
}

/// Compares (or, with LVSCF_BLESS=1, rewrites) the golden file; returns a
/// failure description.
fn golden(path: &Path, sub: &str) -> (String, Option<String>) {
    let src = String::from_utf8_lossy(&fs::read(path).expect("read corpus file")).into_owned();
    let parsed = parse_with(&src, &OfflineResolver);
    let name = format!(
        "{sub}/{}",
        path.file_name().expect("file name").to_string_lossy()
    );
    let rendered = parsed.render(&name, &src);
    let expected_path = path.with_extension("expected");
    if std::env::var_os("LVSCF_BLESS").is_some() {
        fs::write(&expected_path, &rendered).expect("write .expected");
        return (src, None);
    }
    let expected = fs::read_to_string(&expected_path).unwrap_or_default();
    let fail = (expected != rendered).then(|| {
        format!("{name}: diagnostics differ\n--- expected\n{expected}\n--- got\n{rendered}")
    });
    (src, fail)
}

#[test]
fn valid_corpus() {
    let mut failures = Vec::new();
    let all = files("valid");
    assert!(!all.is_empty());
    for path in all {
        let (src, fail) = golden(&path, "valid");
        failures.extend(fail);
        let parsed = parse_with(&src, &OfflineResolver);
        let Some(config) = parsed.config else {
            failures.push(format!("{}: has errors", path.display()));
            continue;
        };
        let text = write(&config);
        let again = parse_with(&text, &OfflineResolver);
        if again.has_errors() || again.config.as_ref() != Some(&config) {
            failures.push(format!(
                "{}: write → parse differs\n{text}\n{:?}",
                path.display(),
                again.diagnostics
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn invalid_corpus() {
    let mut failures = Vec::new();
    let all = files("invalid");
    assert!(!all.is_empty());
    for path in all {
        let (src, fail) = golden(&path, "invalid");
        failures.extend(fail);
        let parsed = parse_with(&src, &OfflineResolver);
        if !parsed.has_errors() || parsed.config.is_some() {
            failures.push(format!("{}: no error reported", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The shipped sample must load (warnings and notes allowed).
#[test]
fn sample_config_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc/lvs.cf");
    let src = fs::read_to_string(&path).expect("etc/lvs.cf");
    let parsed = parse_with(&src, &OfflineResolver);
    assert!(
        !parsed.has_errors(),
        "{}",
        parsed.render("etc/lvs.cf", &src)
    );
    let config = parsed.config.expect("config");
    let again = parse_with(&write(&config), &OfflineResolver);
    assert_eq!(again.config, Some(config));
}
