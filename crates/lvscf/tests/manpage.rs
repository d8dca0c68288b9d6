//! `man/lvs.cf.5` documents every keyword the parser knows: each key of
//! [`GLOBAL_KEYS`], [`VIRTUAL_KEYS`] and [`SERVER_KEYS`] has an entry in
//! its section (`.TP`, then `.BI "key = " value`), with a default and an
//! example; each extension of [`EXTENSIONS`] is named, and so is it in the
//! entry of every key its description mentions. A key added to the parser
//! without a man-page entry fails here.

use std::collections::BTreeMap;

use lvscf::{EXTENSIONS, GLOBAL_KEYS, SERVER_KEYS, VIRTUAL_KEYS};

const PAGE: &str = include_str!("../../../man/lvs.cf.5");

/// Section title → (key → entry text up to the next entry or section).
fn entries(page: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut section = String::new();
    let mut current: Option<String> = None;
    let mut lines = page.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(title) = line.strip_prefix(".SH ") {
            section = title.trim_matches('"').to_owned();
            current = None;
            continue;
        }
        if line == ".TP" || line == ".PP" {
            current = None;
            if line == ".TP"
                && let Some(tag) = lines.peek()
                && let Some(rest) = tag.strip_prefix(".BI \"")
                && let Some((key, _)) = rest.split_once(" = ")
            {
                let key = key.to_owned();
                let previous = out
                    .entry(section.clone())
                    .or_default()
                    .insert(key.clone(), String::new());
                assert!(previous.is_none(), "{key} documented twice in {section}");
                current = Some(key);
                lines.next();
            }
            continue;
        }
        if let Some(key) = &current
            && let Some(text) = out.get_mut(&section).and_then(|s| s.get_mut(key))
        {
            text.push_str(line);
            text.push('\n');
        }
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `word` occurs in `text` with no word character on either side.
fn mentions(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

/// `description` (of an extension) names `key` as a keyword, not as an
/// English word: "the global key X", "keys X and Y", "for X, Y or Z",
/// "X = value".
fn names_key(description: &str, key: &str) -> bool {
    const BEFORE: [&str; 6] = ["key ", "keys ", "and ", "for ", ", ", "or "];
    description.match_indices(key).any(|(at, _)| {
        let head = &description[..at];
        let tail = &description[at + key.len()..];
        let whole = !tail.chars().next().is_some_and(is_word_char)
            && !head.chars().next_back().is_some_and(is_word_char);
        whole && (BEFORE.iter().any(|b| head.ends_with(b)) || tail.starts_with(" = "))
    })
}

fn check_section(
    all: &BTreeMap<String, BTreeMap<String, String>>,
    section: &str,
    keys: &[&str],
) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(documented) = all.get(section) else {
        return vec![format!("no section {section:?} in man/lvs.cf.5")];
    };
    for key in keys {
        let Some(text) = documented.get(*key) else {
            problems.push(format!("{section}: no entry for {key}"));
            continue;
        };
        if !text.contains("Default:") {
            problems.push(format!("{section}: {key} has no \"Default:\""));
        }
        if !text.contains("Example:") || !text.contains(&format!("\"{key} = ")) {
            problems.push(format!("{section}: {key} has no \"Example:\" of it"));
        }
        for ext in EXTENSIONS {
            if names_key(ext.description, key) && !mentions(text, ext.id) {
                problems.push(format!(
                    "{section}: {key} does not name extension {} ({})",
                    ext.id, ext.description
                ));
            }
        }
    }
    for key in documented.keys() {
        if !keys.contains(&key.as_str()) {
            problems.push(format!("{section}: {key} is documented but not a keyword"));
        }
    }
    problems
}

#[test]
fn every_keyword_has_an_entry_with_default_and_example() {
    let all = entries(PAGE);
    let mut problems = check_section(&all, "GLOBAL KEYWORDS", GLOBAL_KEYS);
    problems.extend(check_section(&all, "VIRTUAL SERVER KEYWORDS", VIRTUAL_KEYS));
    problems.extend(check_section(&all, "REAL SERVER KEYWORDS", SERVER_KEYS));
    assert!(
        problems.is_empty(),
        "man/lvs.cf.5:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_extension_is_named() {
    let missing: Vec<&str> = EXTENSIONS
        .iter()
        .map(|e| e.id)
        .filter(|id| !mentions(PAGE, id))
        .collect();
    assert!(
        missing.is_empty(),
        "extensions not in man/lvs.cf.5: {missing:?}"
    );
}

#[test]
fn extension_keys_are_marked_as_such() {
    // A key whose whole existence is an extension ("the global key X").
    let all = entries(PAGE);
    let globals = &all["GLOBAL KEYWORDS"];
    for ext in EXTENSIONS {
        for key in GLOBAL_KEYS {
            if ext.description.starts_with("the global key") && names_key(ext.description, key) {
                let text = &globals[*key];
                assert!(
                    text.contains(".B Extension"),
                    "{key} ({}) is not marked Extension",
                    ext.id
                );
            }
        }
    }
}

#[test]
fn the_parser_in_this_test_sees_entries() {
    // Guard against a test that passes because it read nothing.
    let all = entries(PAGE);
    assert!(all["GLOBAL KEYWORDS"].contains_key("primary"));
    assert!(all["REAL SERVER KEYWORDS"].contains_key("weight"));
    let broken = PAGE.replace(".BI \"hot_standby = \" bool", ".BI \"hot_stand = \" bool");
    let broken = entries(&broken);
    assert!(!check_section(&broken, "GLOBAL KEYWORDS", GLOBAL_KEYS).is_empty());
    assert!(names_key(
        "the global keys arp_count and arp_interval",
        "arp_interval"
    ));
    assert!(names_key("protocol = sctp", "protocol"));
    assert!(!names_key("the global key heartbeat_key_file", "heartbeat"));
    assert!(!names_key("a service name as a real server port", "port"));
}
