//! Parses arbitrary bytes; whatever parses must survive write → parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvscf::{OfflineResolver, parse_with, write};

fuzz_target!(|data: &[u8]| {
    let src = String::from_utf8_lossy(data);
    // Offline: no DNS or /etc/services lookups, so runs are fast and
    // reproducible.
    let parsed = parse_with(&src, &OfflineResolver);
    let _ = parsed.render("fuzz.cf", &src);
    if let Some(config) = parsed.config {
        let text = write(&config);
        let again = parse_with(&text, &OfflineResolver);
        assert!(!again.has_errors(), "written config has errors:\n{text}\n{:?}", again.diagnostics);
        assert_eq!(again.config.as_ref(), Some(&config), "round trip differs:\n{text}");
    }
});
