//! The command line, parsed without I/O.
//!
//! The original is a shell script whose only argument is the password
//! (`piranha-passwd [PASSWORD]`), so any word that is not one of our
//! options is the password, even one starting with `-`; `--` ends the
//! options.

use std::path::PathBuf;

use access::Role;
use access::passwd::PASSWD_FILE;
use access::tokens::TOKENS_FILE;

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Set `user`'s password (from argv, or prompted / read).
    Password {
        /// The user (`piranha` unless `--user`).
        user: String,
        /// Given on the command line.
        password: Option<String>,
        /// The passwd file.
        file: PathBuf,
    },
    /// Make an API token.
    Token {
        /// Its name.
        name: String,
        /// Its role.
        role: Role,
        /// The tokens file.
        file: PathBuf,
    },
    /// `--help`.
    Help,
    /// `--version`.
    Version,
}

/// The usage text.
pub const USAGE: &str = "\
usage: piranha-passwd [--user NAME] [PASSWORD]
       piranha-passwd --token NAME ROLE

Sets the password of the configuration tool's user (piranha unless --user)
in /etc/sysconfig/ha/conf/piranha.passwd, as SHA-512 crypt. Without
PASSWORD it is asked for twice on the terminal, or read as one line from
standard input. Run as root.

--token NAME ROLE  make an API token for the JSON API (ROLE: viewer,
                   operator, editor or admin), print it once and add its
                   SHA-256 to /etc/sysconfig/ha/conf/lvs-web.tokens
--user NAME        set NAME's password instead of piranha's
--help, --version
";

/// Parses the arguments after the program name.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Mode, String> {
    let mut user: Option<String> = None;
    let mut password: Option<String> = None;
    let mut token: Option<(String, String)> = None;
    let mut file: Option<PathBuf> = None;
    let mut tokens_file: Option<PathBuf> = None;
    let mut options = true;
    let mut it = args.into_iter();
    let value = |it: &mut dyn Iterator<Item = String>, opt: &str| {
        it.next().ok_or_else(|| format!("{opt} needs a value"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--" if options => options = false,
            "--help" | "-h" if options => return Ok(Mode::Help),
            "--version" if options => return Ok(Mode::Version),
            "--user" if options => user = Some(value(&mut it, "--user")?),
            "--token" if options => {
                let name = value(&mut it, "--token")?;
                let role = it.next().ok_or("--token needs a name and a role")?;
                token = Some((name, role));
            }
            // For tests and unusual layouts; not in the usage text.
            "--file" if options => file = Some(value(&mut it, "--file")?.into()),
            "--tokens-file" if options => {
                tokens_file = Some(value(&mut it, "--tokens-file")?.into());
            }
            _ if password.is_some() => {
                return Err("one password at most (quote one that has spaces)".into());
            }
            _ => password = Some(a),
        }
    }
    if let Some((name, role)) = token {
        if user.is_some() || password.is_some() {
            return Err("--token takes no user or password".into());
        }
        let role = role.parse::<Role>().map_err(|e| e.to_string())?;
        return Ok(Mode::Token {
            name,
            role,
            file: tokens_file.unwrap_or_else(|| TOKENS_FILE.into()),
        });
    }
    let user = user.unwrap_or_else(|| access::roles::PIRANHA_USER.to_owned());
    access::passwd::check_user_name(&user)?;
    Ok(Mode::Password {
        user,
        password,
        file: file.unwrap_or_else(|| PASSWD_FILE.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Mode, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    fn pw(user: &str, password: Option<&str>) -> Mode {
        Mode::Password {
            user: user.into(),
            password: password.map(Into::into),
            file: PASSWD_FILE.into(),
        }
    }

    #[test]
    fn the_originals_command_lines() {
        assert_eq!(p(&[]), Ok(pw("piranha", None)));
        assert_eq!(p(&["s3cret"]), Ok(pw("piranha", Some("s3cret"))));
        // The script took any word as the password.
        assert_eq!(p(&["-x"]), Ok(pw("piranha", Some("-x"))));
        assert_eq!(p(&["--", "--user"]), Ok(pw("piranha", Some("--user"))));
        assert_eq!(
            p(&["a", "b"]),
            Err("one password at most (quote one that has spaces)".into())
        );
    }

    #[test]
    fn options() {
        assert_eq!(p(&["--user", "alice", "pw"]), Ok(pw("alice", Some("pw"))));
        assert_eq!(
            p(&["--file", "/tmp/x", "pw"]),
            Ok(Mode::Password {
                user: "piranha".into(),
                password: Some("pw".into()),
                file: "/tmp/x".into()
            })
        );
        assert_eq!(
            p(&["--token", "ansible", "editor"]),
            Ok(Mode::Token {
                name: "ansible".into(),
                role: Role::Editor,
                file: TOKENS_FILE.into()
            })
        );
        assert!(
            p(&["--token", "ansible", "boss"])
                .unwrap_err()
                .contains("unknown role")
        );
        assert!(p(&["--token", "ansible"]).is_err());
        assert!(p(&["--token", "a", "admin", "pw"]).is_err());
        assert!(p(&["--user"]).is_err());
        assert!(p(&["--user", "a:b"]).is_err());
        assert_eq!(p(&["--help"]), Ok(Mode::Help));
        assert_eq!(p(&["--version"]), Ok(Mode::Version));
    }
}
