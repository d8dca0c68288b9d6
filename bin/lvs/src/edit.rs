//! `lvsd --set / --unset / --add / --remove / --rename`: edits lvs.cf in
//! place through [`lvscf::edit`], so that comments and layout stay, and
//! replaces the file atomically.
//!
//! The edits of one command line are one transaction, applied in a fixed
//! order whatever the order of the flags: `--add`, `--rename`, `--set`,
//! `--unset`, `--remove` (so a new server's keys can be set on the same
//! line, and a renamed block is addressed by its new name). If the result
//! would not load, the diagnostics are printed as `lvsd --check` prints
//! them and the file is not touched (exit 1).

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use lvscf::edit::{Address, Document, Edit, EditError, block_of, unified_diff};

/// What to do with the edited text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Replace the file.
    InPlace,
    /// Write the edited text to stdout; the file stays.
    Print,
    /// Write a unified diff of the change to stdout; the file stays.
    Preview,
}

/// The edit flags of one command line.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    /// `--add BLOCK`.
    pub add: &'a [String],
    /// `--rename BLOCK=NAME`.
    pub rename: &'a [String],
    /// `--set ADDRESS=VALUE`.
    pub set: &'a [String],
    /// `--unset ADDRESS`.
    pub unset: &'a [String],
    /// `--remove BLOCK`.
    pub remove: &'a [String],
}

impl Request<'_> {
    /// The edits, in the documented order.
    pub fn edits(&self) -> Result<Vec<Edit>, EditError> {
        let mut out = Vec::new();
        for a in self.add {
            out.push(Edit::Add(block_of(Address::parse(a)?)?));
        }
        for r in self.rename {
            out.push(Edit::parse_rename(r)?);
        }
        for s in self.set {
            out.push(Edit::parse_set(s)?);
        }
        for u in self.unset {
            out.push(Edit::Unset(Address::parse(u)?));
        }
        for r in self.remove {
            out.push(Edit::Remove(block_of(Address::parse(r)?)?));
        }
        Ok(out)
    }

    /// Whether any edit flag was given.
    pub fn any(&self) -> bool {
        !(self.add.is_empty()
            && self.rename.is_empty()
            && self.set.is_empty()
            && self.unset.is_empty()
            && self.remove.is_empty())
    }
}

/// Runs the edit mode on `path`.
pub fn run(path: &Path, request: &Request<'_>, output: Output) -> Result<ExitCode> {
    let edits = request.edits().map_err(|e| anyhow!("{e}"))?;
    let shown = path.display().to_string();
    // Edit the file the path leads to: a symlinked lvs.cf stays a symlink.
    let target = fs::canonicalize(path).with_context(|| format!("failed to open {shown}"))?;
    let bytes = fs::read(&target).with_context(|| format!("failed to open {shown}"))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow!(
            "{shown} is not valid UTF-8 (byte {}); it is edited only as UTF-8, so that no byte changes unseen",
            e.utf8_error().valid_up_to()
        )
    })?;
    let mut doc = Document::open(text.clone());
    let warned_before: Vec<String> = warnings(doc.parsed()).map(|d| d.message.clone()).collect();
    match doc.apply(&edits) {
        Ok(()) => {}
        Err(EditError::Refused(r)) => {
            let mut err = io::stderr().lock();
            let _ = err.write_all(r.render(&shown).as_bytes());
            let _ = writeln!(err, "lvsd: edit refused, {shown} unchanged");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(anyhow!("{e}")),
    }
    // What the edit brought in (e.g. `weight = 0` behaves as 1) is worth a
    // word; warnings the file already had are `--check`'s to show.
    let mut err = io::stderr().lock();
    for d in warnings(doc.parsed()).filter(|d| !warned_before.contains(&d.message)) {
        let _ = err.write_all(d.render(&shown, doc.text()).as_bytes());
    }
    drop(err);
    let new = doc.into_text();
    match output {
        Output::Print => io::stdout().write_all(new.as_bytes())?,
        Output::Preview => {
            let diff = unified_diff(&text, &new, &format!("a/{shown}"), &format!("b/{shown}"));
            io::stdout().write_all(diff.as_bytes())?;
        }
        Output::InPlace if new == text => {}
        Output::InPlace => write_back(&target, &text, &new, &shown)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn warnings(p: &lvscf::Parsed) -> impl Iterator<Item = &lvscf::Diagnostic> {
    p.of(lvscf::Severity::Warning)
}

/// Replaces the file at `target` (read as `old`) by `new`, unless it changed
/// since it was read: a hand edit meanwhile must not be overwritten with our
/// copy of the old text. (A change in the instant between this check and
/// the rename is not caught; lvsd has no lock that editors would honour.)
fn write_back(target: &Path, old: &str, new: &str, shown: &str) -> Result<()> {
    if fs::read(target).ok().as_deref() != Some(old.as_bytes()) {
        return Err(anyhow!(
            "{shown} changed while it was being edited; nothing written, try again"
        ));
    }
    replace_file(target, new.as_bytes())
        .with_context(|| format!("cannot write {shown}; it is unchanged"))
}

/// Removes the temporary file unless the rename took it.
struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

/// Replaces `path` (a regular file, not a symlink) by `bytes` so that a
/// crash at any point leaves either the old or the new file: a temporary
/// file in the same directory, written and fsynced with the old file's
/// owner and mode, renamed over it, then the directory fsynced so that the
/// rename itself is on disk.
pub fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let meta = fs::metadata(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut name = OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    name.push(format!(".{}.{nanos}.tmp", std::process::id()));
    let tmp_path = dir.join(name);
    let mut tmp = TempFile(None);
    // Readable by the owner only until it has the old file's mode.
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp_path)?;
    tmp.0 = Some(tmp_path.clone());
    f.write_all(bytes)?;
    // Owner first: chown clears set-id bits that chmod then restores.
    std::os::unix::fs::fchown(&f, Some(meta.uid()), Some(meta.gid()))?;
    f.set_permissions(fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp_path, path)?;
    tmp.0 = None;
    File::open(&dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_come_in_the_documented_order() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let (add, rename, set, unset, remove) = (
            s(&["virtual.web.server.c"]),
            s(&["virtual.web=www"]),
            s(&["virtual.www.server.c.address=192.0.2.3"]),
            s(&["keepalive"]),
            s(&["virtual.old"]),
        );
        let r = Request {
            add: &add,
            rename: &rename,
            set: &set,
            unset: &unset,
            remove: &remove,
        };
        let kinds: Vec<&str> = r
            .edits()
            .expect("valid")
            .iter()
            .map(|e| match e {
                Edit::Add(_) => "add",
                Edit::Rename { .. } => "rename",
                Edit::Set { .. } => "set",
                Edit::Unset(_) => "unset",
                Edit::Remove(_) => "remove",
            })
            .collect();
        assert_eq!(kinds, ["add", "rename", "set", "unset", "remove"]);
        let bad = s(&["virtual.web.port"]);
        let r = Request {
            remove: &bad,
            ..Request::default()
        };
        assert_eq!(
            r.edits().expect_err("a key").to_string(),
            "virtual.web.port does not name a block"
        );
    }

    #[test]
    fn a_file_changed_since_it_was_read_is_not_overwritten() {
        let dir = std::env::temp_dir().join(format!("lvsd-changed-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("dir");
        let p = dir.join("lvs.cf");
        fs::write(&p, "serial_no = 2\n").expect("write");
        let e = write_back(&p, "serial_no = 1\n", "serial_no = 3\n", "lvs.cf")
            .expect_err("changed meanwhile");
        assert_eq!(
            e.to_string(),
            "lvs.cf changed while it was being edited; nothing written, try again"
        );
        assert_eq!(fs::read_to_string(&p).expect("read"), "serial_no = 2\n");
        write_back(&p, "serial_no = 2\n", "serial_no = 3\n", "lvs.cf").expect("unchanged");
        assert_eq!(fs::read_to_string(&p).expect("read"), "serial_no = 3\n");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn replace_keeps_mode_and_leaves_no_temp_file() {
        let dir = std::env::temp_dir().join(format!("lvsd-replace-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("dir");
        let p = dir.join("lvs.cf");
        fs::write(&p, "old\n").expect("write");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).expect("chmod");
        let ino = fs::metadata(&p).expect("meta").ino();
        replace_file(&p, b"new\n").expect("replace");
        let m = fs::metadata(&p).expect("meta");
        assert_eq!(fs::read(&p).expect("read"), b"new\n");
        assert_eq!(m.mode() & 0o7777, 0o640);
        assert_ne!(m.ino(), ino, "renamed over, not rewritten in place");
        let left: Vec<_> = fs::read_dir(&dir).expect("ls").collect();
        assert_eq!(left.len(), 1);
        let _ = fs::remove_dir_all(&dir);
    }
}
