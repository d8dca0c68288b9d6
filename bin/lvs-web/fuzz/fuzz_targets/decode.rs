//! Drives every decoder of client input with arbitrary bytes: the form
//! decoder (and the typed forms over it) and the JSON API's bodies and
//! edit lines. Each must answer a value or a typed error, never panic;
//! a decoded form must survive encode → decode unchanged and keep the
//! limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvs_web::decode::{self, Form};

fn encode(pairs: &[(String, String)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(f) = Form::parse(body) {
                assert!(f.pairs().len() <= decode::MAX_FIELDS);
                for (k, v) in f.pairs() {
                    assert!(k.len() <= decode::MAX_NAME && v.len() <= decode::MAX_VALUE);
                }
                // Empty names are dropped only when the whole part was empty.
                let again = Form::parse(encode(f.pairs()).as_bytes()).expect("re-encoded form");
                let keep: Vec<_> = f
                    .pairs()
                    .iter()
                    .filter(|(k, v)| !(k.is_empty() && v.is_empty()))
                    .cloned()
                    .collect();
                let again: Vec<_> = again
                    .pairs()
                    .iter()
                    .filter(|(k, v)| !(k.is_empty() && v.is_empty()))
                    .cloned()
                    .collect();
                assert_eq!(again, keep);
                let _ = decode::Login::from_form(&f);
                let _ = decode::Control::from_form(&f);
                let _ = decode::reason(&f);
            }
        }
        1 => {
            let _ = decode::json::<decode::ApiApply>(body);
            let _ = decode::json::<decode::ApiStage>(body);
            let _ = decode::json::<decode::ApiControl>(body);
        }
        2 => {
            let _ = decode::json::<decode::ApiRestore>(body);
            let _ = decode::json::<decode::ApiText>(body);
            let _ = decode::json::<decode::ApiSync>(body);
        }
        _ => {
            let text = String::from_utf8_lossy(body);
            for (i, line) in text.lines().enumerate().take(16) {
                if let Ok(e) = decode::edit(i, line) {
                    // What decodes prints as the same command line.
                    let printed = e.to_string();
                    let again = decode::edit(i, &printed).expect("printed edit decodes");
                    assert_eq!(again, e, "{printed}");
                }
            }
        }
    }
});
