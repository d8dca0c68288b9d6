//! The load monitor (`-U`, lvs.cf `load_monitor`): which command to run and
//! how to read the 1-minute load average out of its output.

use std::net::IpAddr;

/// The argv of the load command for real server `rip`, or `None` for `none`.
///
/// As the original: the command is one word (no splitting), followed by the
/// server's address, and by `uptime` when the command is exactly `rsh` or
/// `ssh` (lvsd passes `rsh_command` for `load_monitor = uptime`). `rup` and
/// `ruptime` take the host as their argument; any other program is called
/// the same way.
pub fn load_argv(command: &str, rip: IpAddr) -> Option<Vec<String>> {
    if command == "none" {
        return None;
    }
    let mut argv = vec![command.to_string(), rip.to_string()];
    if command == "rsh" || command == "ssh" {
        argv.push("uptime".to_string());
    }
    Some(argv)
}

/// Finds the 1-minute load average in the output of `uptime`, `rup` or
/// `ruptime`: the number after the last `load` (and an optional
/// ` average` and `:`), ended by `,`, a blank or the end.
///
/// ```
/// use health::load::parse_load;
/// assert_eq!(parse_load(b" 10:01:02 up 3 days,  2:01,  2 users,  load average: 0.25, 0.10, 0.05\n"), Some(0.25));
/// assert_eq!(parse_load(b"web1   up  3+02:01,  2 users,  load 1.50, 0.80, 0.41\n"), Some(1.5));
/// assert_eq!(parse_load(b"no numbers here"), None);
/// ```
pub fn parse_load(output: &[u8]) -> Option<f32> {
    let text = std::str::from_utf8(output).ok()?;
    let at = text.rfind("load")?;
    let rest = &text[at + "load".len()..];
    let rest = rest.strip_prefix(" average").unwrap_or(rest);
    let rest = rest.trim_start_matches([':', ' ', '\t']);
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, after) = rest.split_at(end);
    if number.is_empty() || !(after.is_empty() || after.starts_with([',', ' ', '\n', '\t'])) {
        return None;
    }
    number.parse::<f32>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_as_the_original() {
        let ip: IpAddr = "192.0.2.11".parse().unwrap();
        assert_eq!(load_argv("none", ip), None);
        assert_eq!(
            load_argv("rsh", ip).unwrap(),
            vec!["rsh", "192.0.2.11", "uptime"]
        );
        assert_eq!(
            load_argv("ssh", ip).unwrap(),
            vec!["ssh", "192.0.2.11", "uptime"]
        );
        assert_eq!(load_argv("rup", ip).unwrap(), vec!["rup", "192.0.2.11"]);
        assert_eq!(
            load_argv("/usr/local/bin/load", ip).unwrap(),
            vec!["/usr/local/bin/load", "192.0.2.11"]
        );
    }

    #[test]
    fn parses_the_three_formats() {
        // rup
        assert_eq!(
            parse_load(b"web1.example.com    up  3 days,  2:01,  load average: 0.00, 0.01, 0.05"),
            Some(0.0)
        );
        // uptime via rsh/ssh
        assert_eq!(
            parse_load(b" 12:00:00 up 1 day, 3 users, load average: 2.35, 1.00, 0.50\n"),
            Some(2.35)
        );
        // ruptime (the original could not read this one)
        assert_eq!(
            parse_load(b"web1 up 1+02:03, 2 users, load 0.07, 0.05, 0.01"),
            Some(0.07)
        );
        // a host name containing "load" does not confuse it
        assert_eq!(
            parse_load(b"loadtest1 up 2:00, load average: 3.00, 2.00, 1.00"),
            Some(3.0)
        );
        assert_eq!(parse_load(b"load average: 1.5"), Some(1.5));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse_load(b""), None);
        assert_eq!(parse_load(b"load average: high"), None);
        assert_eq!(parse_load(b"load average: 1.5x, 2"), None);
        assert_eq!(parse_load(b"\xff\xfe"), None);
    }
}
