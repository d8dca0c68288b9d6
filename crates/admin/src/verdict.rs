//! What the helper says about a candidate lvs.cf before writing it: the
//! check (`lvsd --check`'s, [`director::check`]) and the command-key rule
//! (`access::policy`), whoever the caller.

use std::collections::BTreeMap;
use std::path::Path;

use director::check::{Host, HostSettings};
use lvscf::syntax::{Item, parse_tree};

use crate::proto::{CheckReport, Diagnostic};

/// The name diagnostics carry (the helper has one file).
pub const NAME: &str = "lvs.cf";

/// `lvsd --check` of `bytes`, as this host sees it.
///
/// The bytes go through [`lvscf::parse_bytes`], what lvsd's own reader
/// ([`lvscf::parse_file`]) does after reading (UTF-8 handling; the size
/// limit is checked here), so the diagnostics are exactly those `lvsd
/// --check` prints for the same file.
pub fn check(bytes: &[u8]) -> CheckReport {
    let host = Host {
        settings: HostSettings::read(),
        nofile_hard: nofile_hard(),
    };
    check_with(bytes, &host)
}

/// [`check`] with the host given (tests).
pub fn check_with(bytes: &[u8], host: &Host) -> CheckReport {
    check_config_with(bytes, host).0
}

/// [`check`], and the configuration when the file passes.
pub fn check_config(bytes: &[u8]) -> (CheckReport, Option<lvscf::Config>) {
    let host = Host {
        settings: HostSettings::read(),
        nofile_hard: nofile_hard(),
    };
    check_config_with(bytes, &host)
}

fn check_config_with(bytes: &[u8], host: &Host) -> (CheckReport, Option<lvscf::Config>) {
    match parse_bytes(bytes) {
        Ok(file) => {
            let r = director::check::check(&file, NAME, host);
            let report = report(&r, &file.source);
            (report, r.config.filter(|_| r.file_error.is_none()))
        }
        Err(e) => (
            CheckReport {
                ok: false,
                diagnostics: Vec::new(),
                file_warnings: Vec::new(),
                file_errors: vec![e.clone()],
                rendered: format!("error: {e}\n"),
            },
            None,
        ),
    }
}

fn nofile_hard() -> Option<u64> {
    daemon::rlimit::nofile_hard_limit().ok()
}

/// The protocol's form of a [`director::check::Report`].
pub fn report(r: &director::check::Report, src: &str) -> CheckReport {
    CheckReport {
        ok: r.ok(),
        diagnostics: r.diagnostics.iter().map(Diagnostic::from).collect(),
        file_warnings: r.file_warnings.clone(),
        file_errors: r.file_error.iter().cloned().collect(),
        rendered: r.stderr(src) + &r.stdout(),
    }
}

/// `bytes` parsed as [`lvscf::parse_file`] parses a file (lvsd's reader:
/// the same size limit, bytes that are not UTF-8 reported at their place).
fn parse_bytes(bytes: &[u8]) -> Result<lvscf::ParsedFile, String> {
    if bytes.len() as u64 > lvscf::MAX_FILE_SIZE {
        return Err(format!("larger than {} MiB", lvscf::MAX_FILE_SIZE >> 20));
    }
    Ok(lvscf::parse_bytes(NAME, bytes))
}

/// Where a key sits: `key`, `virtual.NAME.key`, `failover.NAME.key`.
fn command_values(src: &str) -> BTreeMap<String, Vec<(String, usize)>> {
    let (items, _) = parse_tree(src);
    let mut out: BTreeMap<String, Vec<(String, usize)>> = BTreeMap::new();
    fn walk(items: &[Item<'_>], prefix: &str, out: &mut BTreeMap<String, Vec<(String, usize)>>) {
        for item in items {
            match item {
                Item::Assign(a) => {
                    if access::policy::is_command_key(a.key.value) {
                        let value: Vec<String> = a.values.iter().map(|t| t.value.text()).collect();
                        out.entry(format!("{prefix}{}", a.key.value))
                            .or_default()
                            .push((value.join(" "), a.key.span.line));
                    }
                }
                Item::Block(b) => {
                    let name = b.name.as_ref().map_or(String::new(), |n| n.value.text());
                    let prefix = format!("{prefix}{}.{name}.", b.kind.value.as_str());
                    walk(&b.items, &prefix, out);
                }
            }
        }
    }
    walk(&items, "", &mut out);
    out
}

/// The command-key rule between the file on disk (`old`) and the
/// candidate (`new`): every command-bearing key whose value is new or
/// changed must name a program [`access::policy::check_executable`]
/// accepts (absolute, regular, executable, in root-owned directories
/// writable by neither group nor others). Unchanged values pass: the
/// helper refuses what an edit introduces, not what was already there.
pub fn command_policy(old: &[u8], new: &[u8]) -> Result<(), String> {
    command_policy_with(old, new, &|p| {
        access::policy::check_executable(p).map_err(|e| e.to_string())
    })
}

/// [`command_policy`] with the program check given (tests).
pub fn command_policy_with(
    old: &[u8],
    new: &[u8],
    program_ok: &dyn Fn(&Path) -> Result<(), String>,
) -> Result<(), String> {
    let old = command_values(&String::from_utf8_lossy(old));
    let new = command_values(&String::from_utf8_lossy(new));
    let mut refusals = Vec::new();
    for (key, values) in &new {
        let before = old.get(key);
        for (value, line) in values {
            if before.is_some_and(|b| b.iter().any(|(v, _)| v == value)) {
                continue;
            }
            let bare = key.rsplit('.').next().unwrap_or(key);
            let Some(program) = access::policy::program_of(bare, value) else {
                if bare == "load_monitor" && !value.trim().is_empty() {
                    continue;
                }
                refusals.push(format!("{NAME}:{line}: {key}: a program expected"));
                continue;
            };
            if let Err(e) = program_ok(Path::new(program)) {
                refusals.push(format!("{NAME}:{line}: {key} = {value}: {e}"));
            }
        }
    }
    if refusals.is_empty() {
        Ok(())
    } else {
        Err(refusals.join("; "))
    }
}

/// The file's `serial_no` as written (the last top-level `serial_no`
/// line, decimal or `0x` hex, as lvscf reads it); `None` when there is no
/// such line or its value is not a number. Read from the syntax tree, so a
/// file with errors elsewhere (a hand edit on disk) still has one.
pub fn serial_no_of(bytes: &[u8]) -> Option<i64> {
    let text = String::from_utf8_lossy(bytes);
    let (items, _) = parse_tree(&text);
    let value = items
        .iter()
        .rev()
        .find_map(|i| match i {
            Item::Assign(a) if a.key.value == "serial_no" => a.values.first(),
            _ => None,
        })?
        .value
        .text();
    let v = value.trim();
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// The `serial_no` an apply writes instead of the candidate's, when the
/// candidate's would not be above the one on disk: the one on disk plus
/// one (the original tool raised it on every save; the backup refuses an
/// older one). `None`: the candidate's stands (it is newer, or the file on
/// disk has none to compare with).
pub fn raised_serial(on_disk: Option<i64>, candidate: Option<i64>) -> Option<i64> {
    let disk = on_disk?;
    if candidate.is_some_and(|c| c > disk) {
        return None;
    }
    disk.checked_add(1)
}

/// The candidate with `serial_no` raised past the file on disk's, when
/// [`raised_serial`] says so: the new value and the bytes. The change is
/// lvscf's lossless edit (the value's bytes on its line, or one line added
/// when the candidate has none); every other byte stays, including bytes
/// that are not UTF-8 on other lines.
pub fn raise_serial(on_disk: &[u8], candidate: &[u8]) -> Result<Option<(i64, Vec<u8>)>, String> {
    let Some(to) = raised_serial(serial_no_of(on_disk), serial_no_of(candidate)) else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(candidate);
    let mut doc = lvscf::edit::Document::open(text.as_ref());
    doc.set("serial_no", to.to_string())
        .map_err(|e| format!("cannot raise serial_no to {to}: {e}"))?;
    Ok(Some((to, splice_lines(candidate, &text, doc.text()))))
}

/// `edited` is `lossy` (the UTF-8 reading of `bytes`) with some lines
/// changed: the same change made to `bytes`, so lines the edit did not
/// touch keep their exact bytes.
fn splice_lines(bytes: &[u8], lossy: &str, edited: &str) -> Vec<u8> {
    let old: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    let was: Vec<&str> = lossy.split_inclusive('\n').collect();
    let now: Vec<&str> = edited.split_inclusive('\n').collect();
    if old.len() != was.len() {
        // Cannot happen (U+FFFD never replaces a newline); the edit as made.
        return edited.as_bytes().to_vec();
    }
    let head = was.iter().zip(&now).take_while(|(a, b)| a == b).count();
    let tail = was[head..]
        .iter()
        .rev()
        .zip(now[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = Vec::with_capacity(bytes.len() + 16);
    for line in &old[..head] {
        out.extend_from_slice(line);
    }
    for line in &now[head..now.len() - tail] {
        out.extend_from_slice(line.as_bytes());
    }
    for line in &old[old.len() - tail..] {
        out.extend_from_slice(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Severity;

    #[test]
    fn a_bad_file_reports_lvsd_checks_diagnostics() {
        // A Latin-1 byte in a comment: lvsd's reader warns at its place.
        let bytes = b"virtual web {\n active = 1\n address = 192.0.2.1 eth0:1\n port = nosuch\n}\n# caf\xe9\n";
        let r = check_with(bytes, &Host::default());
        assert!(!r.ok);
        let found: Vec<_> = r
            .diagnostics
            .iter()
            .map(|d| (d.severity, d.line, d.col))
            .collect();
        assert_eq!(
            found,
            [(Severity::Error, 4, 9), (Severity::Warning, 6, 6)],
            "{r:?}"
        );
        assert!(
            r.rendered
                .contains("lvs.cf:4:9: error: port: unknown service name \"nosuch\""),
            "{}",
            r.rendered
        );
        assert!(
            r.rendered
                .ends_with("error: lvs.cf not loaded: 1 error, 1 warning\n"),
            "{}",
            r.rendered
        );
    }

    #[test]
    fn a_good_file_passes_with_its_summary() {
        let r = check_with(
            b"virtual web {\n active = 1\n address = 203.0.113.10 eth0:1\n server a {\n  address = 192.0.2.11\n  active = 1\n }\n}\n",
            &Host::default(),
        );
        assert!(r.ok, "{r:?}");
        assert_eq!(
            r.rendered,
            "ok: 1 virtual server (1 active), 1 real server\n"
        );
    }

    #[test]
    fn only_new_or_changed_commands_are_checked() {
        let only_sbin = |p: &Path| {
            if p.starts_with("/usr/sbin") {
                Ok(())
            } else {
                Err("writable by others".to_owned())
            }
        };
        let old =
            b"active_cmd = /tmp/x\nvirtual web {\n send_program = \"/usr/sbin/check %h\"\n}\n";
        // Unchanged: passes even though /tmp is refused.
        assert_eq!(command_policy_with(old, old, &only_sbin), Ok(()));
        let new = b"active_cmd = /tmp/x\nvirtual web {\n send_program = \"/tmp/evil %h\"\n}\n";
        let e = command_policy_with(old, new, &only_sbin).expect_err("refused");
        assert_eq!(
            e,
            "lvs.cf:3: virtual.web.send_program = /tmp/evil %h: writable by others"
        );
        // A new virtual's command is new.
        let new = b"active_cmd = /tmp/x\nvirtual web {\n send_program = \"/usr/sbin/check %h\"\n}\nvirtual b {\n client_monitor = /home/u/m\n}\n";
        let e = command_policy_with(old, new, &only_sbin).expect_err("refused");
        assert!(e.starts_with("lvs.cf:6: virtual.b.client_monitor"), "{e}");
        // Built-in load monitors are no program; other keys are not looked at.
        let new = b"active_cmd = /tmp/x\nvirtual web {\n send_program = \"/usr/sbin/check %h\"\n load_monitor = uptime\n weight = 9\n}\n";
        assert_eq!(command_policy_with(old, new, &only_sbin), Ok(()));
        // The real rule: /tmp is world-writable.
        assert!(command_policy(b"", b"active_cmd = /tmp/x\n").is_err());
    }

    #[test]
    fn serial_no_is_raised_only_when_not_newer() {
        assert_eq!(raised_serial(Some(4), Some(4)), Some(5));
        assert_eq!(raised_serial(Some(4), Some(2)), Some(5));
        assert_eq!(raised_serial(Some(4), None), Some(5));
        assert_eq!(raised_serial(Some(4), Some(5)), None);
        assert_eq!(raised_serial(None, Some(1)), None);
        assert_eq!(raised_serial(Some(i64::MAX), Some(1)), None);
        assert_eq!(serial_no_of(b"serial_no = 0x10\n"), Some(16));
        assert_eq!(serial_no_of(b"serial_no = 3\nserial_no = 7\n"), Some(7));
        assert_eq!(serial_no_of(b"serial_no = x\n"), None);
        assert_eq!(serial_no_of(b"virtual a {\n serial_no = 9\n}\n"), None);
    }

    #[test]
    fn raising_serial_no_changes_one_line_only() {
        let disk = b"serial_no = 7\nprimary = 192.0.2.1\n";
        // A Latin-1 comment, CRLF and a trailing comment stay as they are.
        let new = b"# caf\xe9\r\nserial_no   =  3   # bumped by hand\r\nprimary = 192.0.2.1\r\nservice = lvs\r\n";
        let (to, bytes) = raise_serial(disk, new).expect("edit").expect("raised");
        assert_eq!(to, 8);
        assert_eq!(
            bytes,
            b"# caf\xe9\r\nserial_no   =  8   # bumped by hand\r\nprimary = 192.0.2.1\r\nservice = lvs\r\n"
        );
        // Newer already: untouched.
        let newer = b"serial_no = 9\nprimary = 192.0.2.1\n";
        assert_eq!(raise_serial(disk, newer), Ok(None));
        // None in the candidate: one line added, the rest byte for byte.
        let none = b"primary = 192.0.2.1\nservice = lvs\n";
        let (to, bytes) = raise_serial(disk, none).expect("edit").expect("raised");
        assert_eq!(to, 8);
        let text = String::from_utf8(bytes).expect("utf-8");
        assert_eq!(serial_no_of(text.as_bytes()), Some(8));
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            text.contains("primary = 192.0.2.1\nservice = lvs\n")
                || text.starts_with("primary = 192.0.2.1\n"),
            "{text}"
        );
    }
}
