//! `piranha-passwd`: the original's command, which set the password of
//! the configuration tool's user `piranha` in
//! `/etc/sysconfig/ha/conf/piranha.passwd` through Apache's `htpasswd`.
//! Same command line and prompts; the hash is SHA-512 crypt (see
//! `access::passwd`), the file is rewritten atomically with every other
//! line kept byte for byte. Also makes API tokens (`--token NAME ROLE`).
//! Glue only: formats and hashing are in `access`.

mod args;
mod files;
mod prompt;

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use args::Mode;

/// Exit status of a failure (as the original's `exit 1`).
const EXIT_FAILURE: u8 = 1;
/// Exit status of a wrong command line.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let mode = match args::parse(std::env::args().skip(1)) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("piranha-passwd: {e}\n{}", args::USAGE);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run(mode) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("piranha-passwd: {e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn run(mode: Mode) -> Result<()> {
    match mode {
        Mode::Help => {
            print!("{}", args::USAGE);
            Ok(())
        }
        Mode::Version => {
            println!("piranha-passwd {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Mode::Password {
            user,
            password,
            file,
        } => {
            need_root(&file, access::passwd::PASSWD_FILE)?;
            let password = match password {
                Some(p) => {
                    eprintln!("Warning: sensitive information entered on command line.");
                    p
                }
                None => prompt::read_password()?,
            };
            if password.is_empty() {
                bail!("an empty password is refused");
            }
            set_password(&file, &user, &password)
        }
        Mode::Token { name, role, file } => {
            need_root(&file, access::tokens::TOKENS_FILE)?;
            add_token(&file, &name, role)
        }
    }
}

/// The real files are root's to write; another `--file` is the caller's.
fn need_root(file: &std::path::Path, default: &str) -> Result<()> {
    if file == std::path::Path::new(default) && !nix::unistd::Uid::effective().is_root() {
        bail!("must be run as root (it writes {default})");
    }
    Ok(())
}

fn set_password(file: &std::path::Path, user: &str, password: &str) -> Result<()> {
    let hash = access::passwd::hash_password(password).context("cannot hash the password")?;
    let locked = files::lock(file)?;
    let existing = locked.read()?;
    let mut passwd = access::passwd::PasswdFile::parse(existing.as_deref().unwrap_or_default());
    let name = file.display().to_string();
    // Other lines are kept as they are, but the admin should know.
    for p in passwd.problems(&name) {
        if passwd.find(user).is_none_or(|e| e.line != p.line) {
            eprintln!("piranha-passwd: warning: {p}");
        }
    }
    let existed = passwd.set(user, &hash);
    let (owner, note) = files::owner();
    locked.replace(&passwd.to_bytes(), owner, 0o600)?;
    if existing.is_none() {
        eprintln!("Created {name}");
    }
    eprintln!(
        "{} password for user {user}",
        if existed { "Updating" } else { "Adding" }
    );
    if let Some(n) = note {
        eprintln!("piranha-passwd: {n}");
    }
    Ok(())
}

fn add_token(file: &std::path::Path, name: &str, role: access::Role) -> Result<()> {
    let locked = files::lock(file)?;
    let existing = locked.read()?.unwrap_or_default();
    let text = String::from_utf8(existing)
        .with_context(|| format!("{} is not UTF-8 text", file.display()))?;
    let tokens =
        access::tokens::TokenFile::parse(&text, &file.display().to_string()).map_err(|errs| {
            anyhow::anyhow!(
                "{}",
                errs.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })?;
    let new = access::tokens::generate(&tokens, name, role)?;
    let (owner, mode, note) = files::token_owner(file);
    locked.replace(
        access::tokens::append_line(&text, &new.entry.line()).as_bytes(),
        owner,
        mode,
    )?;
    println!("{}", new.secret);
    eprintln!(
        "token {name} ({role}) added to {}; it is shown only now",
        file.display()
    );
    if let Some(n) = note {
        eprintln!("piranha-passwd: {n}");
    }
    Ok(())
}
