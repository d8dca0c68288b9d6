//! What the backup does with a push: a pure decision over what it holds,
//! what was pushed and what the parser said about it. The server only
//! carries the decision out.
//!
//! The rules, in the order they are applied (the first that matches
//! decides):
//!
//! 1. a file larger than the limit is refused (`TooLarge`);
//! 2. bytes whose SHA-256 is not the declared digest are refused
//!    (`DigestMismatch`: damaged or forged in the sender);
//! 3. a file with errors is refused with the errors (`DoesNotParse`), the
//!    same set `lvsd --check` reports;
//! 4. a declared `serial_no` that is not the file's is refused
//!    (`SerialMismatch`);
//! 5. when the backup still runs piranha 0.8.6, a file using extensions
//!    is refused with the notes (`Extensions`);
//! 6. bytes equal to the backup's are accepted without a write;
//! 7. a `serial_no` below the backup's is refused (`OlderSerial`; equal is
//!    fine, hand edits seldom bump it). Force does not override this: an
//!    older file is a stale primary, not a hand edit;
//! 8. a backup whose digest is not the push's base (its file was edited
//!    since the primary last saw it, or the primary never saw it) is
//!    refused (`Conflict`) unless the push is forced;
//! 9. anything else is written.

use lvscf::{Diagnostic, Severity};

use crate::digest::Digest;
use crate::wire::{Finding, Push, Refusal};

/// What the parser says about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Its `serial_no` (`None` when the file has errors).
    pub serial_no: Option<i64>,
    /// Its errors.
    pub errors: Vec<Diagnostic>,
    /// Its notes: extensions piranha 0.8.6 would reject.
    pub notes: Vec<Diagnostic>,
}

/// Checks lvs.cf bytes as `lvsd --check` does on this router
/// ([`director::check::check`]: the parser's diagnostics, and whether the
/// monitors lvsd would start fit under this process's hard open-file
/// limit). Host and service names are resolved on this system, so this
/// may block: call it off the async threads.
///
/// Bytes that are not UTF-8 are refused with one error at the first such
/// byte: `lvsd --check` only warns about such bytes inside a comment, but
/// a file moved between routers should be text both read the same way.
pub fn check(bytes: &[u8]) -> Checked {
    let hard = daemon::rlimit::nofile_hard_limit().ok();
    check_with(bytes, &lvscf::SystemResolver::new(), hard)
}

/// [`check`] with the given resolver ([`lvscf::OfflineResolver`] in tests)
/// and hard open-file limit (`None`: not checked).
pub fn check_with(
    bytes: &[u8],
    resolver: &dyn lvscf::Resolver,
    nofile_hard: Option<u64>,
) -> Checked {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => return not_utf8(bytes, e.valid_up_to()),
    };
    // What lvscf::parse_file makes of UTF-8 bytes (it only adds findings
    // about bytes that are not UTF-8, refused above).
    let file = lvscf::ParsedFile {
        path: "lvs.cf".into(),
        source: text.to_owned(),
        parsed: lvscf::parse_with(text, resolver),
    };
    let host = director::check::Host {
        settings: director::check::HostSettings::default(),
        nofile_hard,
    };
    let report = director::check::check(&file, "lvs.cf", &host);
    let of = |s: Severity| {
        report
            .diagnostics
            .iter()
            .filter(|d| d.severity == s)
            .cloned()
            .collect::<Vec<_>>()
    };
    let mut errors = of(Severity::Error);
    if let Some(e) = &report.file_error {
        // About the whole file: no line (rendered as `lvs.cf: error: …`).
        errors.push(Diagnostic {
            severity: Severity::Error,
            line: 0,
            col: 0,
            len: 0,
            message: e.clone(),
            hint: None,
            extension: None,
        });
    }
    Checked {
        serial_no: report.config.as_ref().map(|c| c.serial_no),
        errors,
        notes: of(Severity::Note),
    }
}

fn not_utf8(bytes: &[u8], at: usize) -> Checked {
    let before = String::from_utf8_lossy(&bytes[..at]);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let byte = bytes.get(at).copied().unwrap_or(0);
    Checked {
        serial_no: None,
        errors: vec![Diagnostic {
            severity: Severity::Error,
            line,
            col,
            len: 1,
            message: format!("byte 0x{byte:02X} is not UTF-8"),
            hint: Some("save the file as UTF-8 (or ASCII)".into()),
            extension: None,
        }],
        notes: Vec::new(),
    }
}

/// The backup's file, as the rules need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Current {
    /// SHA-256 of its bytes.
    pub digest: Digest,
    /// Its `serial_no` (`None` when it does not parse: then no serial
    /// rule applies).
    pub serial_no: Option<i64>,
}

/// The backup's settings for the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Largest file taken, in bytes.
    pub max_file: u64,
    /// The backup still runs piranha 0.8.6: refuse extension syntax.
    pub refuse_extensions: bool,
}

/// What to do with a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Write the file.
    Write,
    /// The backup already holds exactly these bytes.
    Unchanged,
    /// Keep the backup's file.
    Refuse(Refusal),
}

/// Applies the rules of the module doc. `checked` is [`check`] of
/// `push.file`; `current` is `None` when the backup has no file.
pub fn decide(
    current: Option<&Current>,
    push: &Push,
    checked: &Checked,
    policy: &Policy,
) -> Decision {
    let size = push.file.len() as u64;
    if size > policy.max_file {
        return Decision::Refuse(Refusal::TooLarge {
            size,
            limit: policy.max_file,
        });
    }
    let actual = Digest::of(&push.file);
    if actual != push.digest {
        return Decision::Refuse(Refusal::DigestMismatch {
            declared: push.digest,
            actual,
        });
    }
    if !checked.errors.is_empty() {
        let (errors, omitted) = findings(&checked.errors);
        return Decision::Refuse(Refusal::DoesNotParse { errors, omitted });
    }
    if push.serial_no != checked.serial_no {
        return Decision::Refuse(Refusal::SerialMismatch {
            declared: push.serial_no,
            actual: checked.serial_no,
        });
    }
    if policy.refuse_extensions && !checked.notes.is_empty() {
        let (notes, omitted) = findings(&checked.notes);
        return Decision::Refuse(Refusal::Extensions { notes, omitted });
    }
    if current.is_some_and(|c| c.digest == actual) {
        return Decision::Unchanged;
    }
    if let (Some(now), Some(pushed)) = (current.and_then(|c| c.serial_no), checked.serial_no)
        && pushed < now
    {
        return Decision::Refuse(Refusal::OlderSerial {
            current: now,
            pushed,
        });
    }
    let current_digest = current.map(|c| c.digest);
    if current_digest != push.base && !push.force {
        return Decision::Refuse(Refusal::Conflict {
            current: current_digest,
            base: push.base,
        });
    }
    Decision::Write
}

fn findings(list: &[Diagnostic]) -> (Vec<Finding>, u32) {
    let carried: Vec<Finding> = list
        .iter()
        .take(crate::wire::MAX_FINDINGS)
        .map(Finding::from_diagnostic)
        .collect();
    let omitted = u32::try_from(list.len() - carried.len()).unwrap_or(u32::MAX);
    (carried, omitted)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        max_file: 1 << 20,
        refuse_extensions: false,
    };

    fn file(serial: i64) -> Vec<u8> {
        format!(
            "serial_no = {serial}\nprimary = 192.0.2.1\nservice = lvs\n\
             virtual web {{\n active = 1\n address = 203.0.113.10 eth0:1\n\
             server a {{\n address = 198.51.100.11\n active = 1\n }}\n}}\n"
        )
        .into_bytes()
    }

    fn checked(bytes: &[u8]) -> Checked {
        check_with(bytes, &lvscf::OfflineResolver, None)
    }

    fn push(bytes: Vec<u8>, base: Option<Digest>) -> Push {
        Push {
            sender: "r1".into(),
            force: false,
            serial_no: checked(&bytes).serial_no,
            digest: Digest::of(&bytes),
            base,
            file: bytes,
        }
    }

    fn current(bytes: &[u8]) -> Current {
        Current {
            digest: Digest::of(bytes),
            serial_no: checked(bytes).serial_no,
        }
    }

    fn run(current: Option<&Current>, p: &Push, policy: &Policy) -> Decision {
        decide(current, p, &checked(&p.file), policy)
    }

    #[test]
    fn a_push_on_the_base_with_a_newer_serial_is_written() {
        let old = file(4);
        let p = push(file(5), Some(Digest::of(&old)));
        assert_eq!(run(Some(&current(&old)), &p, &POLICY), Decision::Write);
    }

    #[test]
    fn the_same_serial_is_not_older() {
        let old = file(5);
        let mut new = file(5);
        new.extend_from_slice(b"# a comment\n");
        let p = push(new, Some(Digest::of(&old)));
        assert_eq!(run(Some(&current(&old)), &p, &POLICY), Decision::Write);
    }

    #[test]
    fn rule_1_too_large() {
        let p = push(file(5), None);
        let small = Policy {
            max_file: 10,
            ..POLICY
        };
        assert_eq!(
            run(None, &p, &small),
            Decision::Refuse(Refusal::TooLarge {
                size: p.file.len() as u64,
                limit: 10
            })
        );
    }

    #[test]
    fn rule_2_digest_mismatch() {
        let mut p = push(file(5), None);
        p.file.push(b'\n');
        assert_eq!(
            run(None, &p, &POLICY),
            Decision::Refuse(Refusal::DigestMismatch {
                declared: p.digest,
                actual: Digest::of(&p.file)
            })
        );
    }

    #[test]
    fn rule_3_does_not_parse_carries_located_errors() {
        let mut bytes = file(5);
        bytes.extend_from_slice(b"virtual bad {\n scheduler = wlcc\n}\n");
        let p = push(bytes, None);
        let Decision::Refuse(Refusal::DoesNotParse { errors, omitted }) = run(None, &p, &POLICY)
        else {
            panic!("not refused as unparsable");
        };
        assert_eq!(omitted, 0);
        // The same errors, at the same places, as lvscf reports.
        let want: Vec<Finding> = checked(&p.file)
            .errors
            .iter()
            .map(Finding::from_diagnostic)
            .collect();
        assert!(!want.is_empty());
        assert_eq!(errors, want);
        assert!(
            errors
                .iter()
                .any(|e| e.line == 13 && e.col == 14 && e.message.contains("wlcc")),
            "{errors:?}"
        );
    }

    #[test]
    fn rule_3_bytes_that_are_not_utf8_are_an_error_at_their_place() {
        let mut bytes = file(5);
        bytes.extend_from_slice(b"# caf\xe9\n");
        let c = checked(&bytes);
        assert_eq!(c.errors.len(), 1);
        assert_eq!((c.errors[0].line, c.errors[0].col), (12, 6));
        assert_eq!(c.serial_no, None);
    }

    #[test]
    fn rule_3_monitors_over_the_open_file_limit_are_an_error_of_the_whole_file() {
        let c = check_with(&file(5), &lvscf::OfflineResolver, Some(3));
        assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
        assert_eq!(c.errors[0].line, 0);
        let p = push(file(5), None);
        assert!(matches!(
            decide(None, &p, &c, &POLICY),
            Decision::Refuse(Refusal::DoesNotParse { .. })
        ));
        assert!(
            check_with(&file(5), &lvscf::OfflineResolver, Some(1 << 20))
                .errors
                .is_empty()
        );
    }

    #[test]
    fn rule_4_serial_mismatch() {
        let mut p = push(file(5), None);
        p.serial_no = Some(6);
        assert_eq!(
            run(None, &p, &POLICY),
            Decision::Refuse(Refusal::SerialMismatch {
                declared: Some(6),
                actual: Some(5)
            })
        );
    }

    #[test]
    fn rule_5_extensions_refused_only_for_a_piranha_backup() {
        let mut bytes = file(5);
        bytes.extend_from_slice(b"debug_level = NONE # trailing comment\n");
        let p = push(bytes, None);
        assert!(!checked(&p.file).notes.is_empty());
        let piranha = Policy {
            refuse_extensions: true,
            ..POLICY
        };
        let Decision::Refuse(Refusal::Extensions { notes, .. }) = run(None, &p, &piranha) else {
            panic!("extensions not refused");
        };
        assert_eq!(notes[0].extension.as_deref(), Some("trailing-comment"));
        assert_eq!(run(None, &p, &POLICY), Decision::Write);
    }

    #[test]
    fn rule_6_identical_bytes_are_unchanged_whatever_the_base() {
        let same = file(5);
        let p = push(same.clone(), Some(Digest::of(b"something else")));
        assert_eq!(run(Some(&current(&same)), &p, &POLICY), Decision::Unchanged);
    }

    #[test]
    fn rule_7_older_serial() {
        let newer = file(9);
        let p = push(file(8), Some(Digest::of(&newer)));
        let want = Decision::Refuse(Refusal::OlderSerial {
            current: 9,
            pushed: 8,
        });
        assert_eq!(run(Some(&current(&newer)), &p, &POLICY), want);
        let forced = Push { force: true, ..p };
        assert_eq!(run(Some(&current(&newer)), &forced, &POLICY), want);
    }

    #[test]
    fn rule_7_a_backup_that_does_not_parse_has_no_serial_to_compare() {
        let broken = b"serial_no = 99\nbogus\n".to_vec();
        let cur = current(&broken);
        assert_eq!(cur.serial_no, None);
        let p = push(file(1), Some(cur.digest));
        assert_eq!(run(Some(&cur), &p, &POLICY), Decision::Write);
    }

    #[test]
    fn rule_8_hand_edited_backup_is_a_conflict_unless_forced() {
        let seen = file(5);
        let mut edited = file(5);
        edited.extend_from_slice(b"# edited on the backup\n");
        let cur = current(&edited);
        let p = push(file(6), Some(Digest::of(&seen)));
        assert_eq!(
            run(Some(&cur), &p, &POLICY),
            Decision::Refuse(Refusal::Conflict {
                current: Some(cur.digest),
                base: Some(Digest::of(&seen))
            })
        );
        let forced = Push { force: true, ..p };
        assert_eq!(run(Some(&cur), &forced, &POLICY), Decision::Write);
    }

    #[test]
    fn rule_8_first_contact_with_a_backup_that_has_a_file_is_a_conflict() {
        let theirs = file(1);
        let p = push(file(2), None);
        assert_eq!(
            run(Some(&current(&theirs)), &p, &POLICY),
            Decision::Refuse(Refusal::Conflict {
                current: Some(Digest::of(&theirs)),
                base: None
            })
        );
    }

    #[test]
    fn rule_8_a_base_naming_a_file_the_backup_lost_is_a_conflict() {
        let p = push(file(2), Some(Digest::of(&file(1))));
        assert_eq!(
            run(None, &p, &POLICY),
            Decision::Refuse(Refusal::Conflict {
                current: None,
                base: p.base
            })
        );
    }

    #[test]
    fn rule_9_first_contact_with_an_empty_backup_is_written() {
        assert_eq!(run(None, &push(file(1), None), &POLICY), Decision::Write);
    }
}
