//! The man page documents every option the usage text names.

const PAGE: &str = include_str!("../man/piranha-passwd.8");

#[test]
fn every_option_of_the_usage_is_in_the_man_page() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_piranha-passwd"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let usage = String::from_utf8(out.stdout).unwrap();
    let options: Vec<&str> = usage
        .split(|c: char| c.is_whitespace() || ",[]()".contains(c))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .collect();
    assert!(options.len() >= 4, "{options:?}");
    // groff writes a minus as \-.
    let page = PAGE.replace("\\-", "-");
    for o in options {
        assert!(
            page.contains(&format!("B {o}")) || page.contains(&format!("BI {o}")),
            "{o} is not in the man page"
        );
    }
}
