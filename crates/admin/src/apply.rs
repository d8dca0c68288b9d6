//! The apply pipeline as a sequence of steps over a small trait of side
//! effects ([`Effects`]: the file, the revision store, the daemons), so the
//! tests drive it in memory and the helper carries it out
//! ([`crate::system::System`]).
//!
//! Apply = refuse on any error → refuse a changed command key naming an
//! unsafe program → compare the base digest with the file on disk → raise
//! `serial_no` past the one on disk when the candidate's is not above it
//! (one line, [`Rules::serial`]) → write a temp file beside it, fsync, keep mode and owner, rename, fsync the
//! directory → record the revision → SIGHUP (pulse if it runs, it re-reads
//! lvs.cf and signals lvsd; else lvsd) → wait for lvsd's `reloads` counter
//! (no wait when pulse runs and lvsd does not: a backup router, whose pulse
//! starts lvsd with the new file on takeover) → if lvsd refused, write the
//! previous revision back the same way and return lvsd's diagnostics.
//!
//! The caller serializes applies (one at a time); within one, the base
//! comparison and the rename are not atomic against a hand edit made in
//! between, which is the window of any editor that saves by rename.

use crate::proto::{
    Applied, CheckReport, Daemon, DaemonState, Digest, Error, PulseRole, ReloadOutcome,
    RevisionInfo,
};

/// The steps of an apply, in order; the number is what the fault-injection
/// hook counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// The check passed.
    Checked = 1,
    /// The file on disk is the base.
    BaseMatched = 2,
    /// The temp file is written and fsynced, with the old mode and owner.
    TempWritten = 3,
    /// Renamed over the file.
    Renamed = 4,
    /// The directory is fsynced.
    DirSynced = 5,
    /// The revision is recorded.
    Recorded = 6,
    /// The daemon is signalled.
    Signalled = 7,
    /// lvsd's reload result is in (or the wait gave up).
    ReloadSeen = 8,
}

/// What lvsd's status socket says about reloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadState {
    /// Its `reloads` counter.
    pub reloads: u64,
    /// Whether the last one was refused.
    pub failed: bool,
    /// Why (the lines lvsd logged).
    pub error: Option<String>,
    /// Writes the last one made.
    pub writes: usize,
    /// The digest of the file lvsd's running table came from (`None`: an
    /// lvsd that does not say).
    pub config_digest: Option<Digest>,
}

/// Whether lvsd's state `now` is the outcome of a reload of the file with
/// digest `want`, lvsd having counted `before` reloads when it was
/// signalled. A reload counted since is ours when it loaded `want`, or
/// when it was refused (lvsd keeps its table, and the digest of the file
/// it runs). A reload that loaded another file is someone else's SIGHUP
/// that read the file before ours was renamed into place: ours is still to
/// come. An lvsd that reports no digest is judged by its counter alone.
pub fn reload_seen(before: u64, want: Digest, now: &ReloadState) -> bool {
    if now.reloads <= before {
        return false;
    }
    match now.config_digest {
        None => true,
        Some(running) => running == want || now.failed,
    }
}

/// A revision to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRevision {
    /// Who.
    pub user: String,
    /// The caller's uid.
    pub uid: Option<u32>,
    /// Why.
    pub reason: String,
    /// When (seconds since the epoch).
    pub time: u64,
    /// The revision it restores.
    pub restored_from: Option<u64>,
}

/// The side effects of an apply. Errors are messages naming the place.
pub trait Effects {
    /// The bytes of the file on disk.
    fn read_file(&mut self) -> Result<Vec<u8>, String>;
    /// Write `bytes` to a new file in the file's directory, fsync it, give
    /// it the current file's mode and owner.
    fn write_temp(&mut self, bytes: &[u8]) -> Result<(), String>;
    /// Rename the temp file over the file.
    fn rename_temp(&mut self) -> Result<(), String>;
    /// Remove the temp file after a failure.
    fn discard_temp(&mut self);
    /// fsync the file's directory.
    fn sync_dir(&mut self) -> Result<(), String>;
    /// The newest revision recorded, if any.
    fn latest(&mut self) -> Result<Option<RevisionInfo>, String>;
    /// Record `bytes` as a new revision (numbered one past the newest),
    /// then drop the oldest beyond the number kept.
    fn record(&mut self, bytes: &[u8], meta: NewRevision) -> Result<RevisionInfo, String>;
    /// A revision and its bytes.
    fn revision(&mut self, rev: u64) -> Result<Option<(RevisionInfo, Vec<u8>)>, String>;
    /// lvsd's reload state; `NotRunning` when no lvsd process runs (the
    /// status verb's test: its pid file names a live process called
    /// lvsd), `Unreachable` when one runs and its status socket does not
    /// answer.
    fn reload_state(&mut self) -> DaemonState<ReloadState>;
    /// pulse's role and whether it is active, when its status socket
    /// answers.
    fn pulse_role(&mut self) -> Option<PulseRole>;
    /// SIGHUP pulse if it runs, else lvsd; `None` when neither runs.
    fn signal_reload(&mut self) -> Option<Daemon>;
    /// Wait (bounded) until [`reload_seen`] of `before` and `want` (the
    /// digest of the file written); `Err` says why it did not.
    fn wait_reload(&mut self, before: u64, want: Digest) -> Result<ReloadState, String>;
    /// The clock, seconds since the epoch.
    fn now(&mut self) -> u64;
    /// Called after each step (the helper's fault-injection hook).
    fn reached(&mut self, _step: Step) {}
}

/// What an apply is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The digest the edit started from; `None` for a restore (the user
    /// chose a revision, whatever the file is now).
    pub base: Option<Digest>,
    /// The new bytes.
    pub text: Vec<u8>,
    /// Why.
    pub reason: String,
    /// Who.
    pub user: String,
    /// The caller's uid.
    pub uid: Option<u32>,
    /// The revision restored.
    pub restored_from: Option<u64>,
}

/// The command-key rule: old bytes, new bytes, a refusal naming the key.
pub type CommandRule = dyn Fn(&[u8], &[u8]) -> Result<(), String>;

/// The verdicts an apply needs about a candidate (the check and the
/// command-key rule), passed in so the pipeline stays free of both.
pub struct Rules<'a> {
    /// `lvsd --check` of the bytes.
    pub check: &'a dyn Fn(&[u8]) -> CheckReport,
    /// The command-key rule: old bytes, new bytes.
    pub commands: &'a CommandRule,
    /// The `serial_no` rule ([`crate::verdict::raise_serial`]).
    pub serial: &'a SerialRule,
}

/// The `serial_no` rule: old bytes, new bytes; the raised value and the
/// bytes to write instead, or `None` to write the new bytes as they are.
pub type SerialRule = dyn Fn(&[u8], &[u8]) -> Result<Option<(i64, Vec<u8>)>, String>;

fn internal(message: String) -> Error {
    Error::Internal { message }
}

/// The file as it is on disk, recorded as a revision first if it is not
/// the newest one (before the very first apply, or after a hand edit), so a
/// revert and a restore always have it.
pub(crate) fn record_disk(
    fx: &mut dyn Effects,
    disk: &[u8],
    uid: Option<u32>,
) -> Result<RevisionInfo, Error> {
    let digest = Digest::of(disk);
    if let Some(latest) = fx.latest().map_err(internal)?
        && latest.digest == digest
    {
        return Ok(latest);
    }
    let time = fx.now();
    fx.record(
        disk,
        NewRevision {
            user: "(on disk)".into(),
            uid,
            reason: "the file as found on disk".into(),
            time,
            restored_from: None,
        },
    )
    .map_err(internal)
}

/// Write `bytes` over the file: temp, fsync, rename, fsync the directory.
pub(crate) fn write(fx: &mut dyn Effects, bytes: &[u8]) -> Result<(), Error> {
    if let Err(e) = fx.write_temp(bytes) {
        fx.discard_temp();
        return Err(internal(e));
    }
    fx.reached(Step::TempWritten);
    if let Err(e) = fx.rename_temp() {
        fx.discard_temp();
        return Err(internal(e));
    }
    fx.reached(Step::Renamed);
    fx.sync_dir().map_err(internal)?;
    fx.reached(Step::DirSynced);
    Ok(())
}

/// Signal and wait: what the reload did.
enum Reload {
    Outcome(ReloadOutcome),
    Refused(ReloadState),
}

fn reload(fx: &mut dyn Effects, want: Digest) -> Reload {
    let before = fx.reload_state();
    let Some(signalled) = fx.signal_reload() else {
        fx.reached(Step::Signalled);
        return Reload::Outcome(ReloadOutcome::NotRunning);
    };
    fx.reached(Step::Signalled);
    let before = match (before, signalled) {
        (DaemonState::Running { status }, _) => status,
        // No lvsd to wait for: pulse re-read the file, and the lvsd it
        // starts when this router takes over reads the file written (the
        // rename came before this look).
        // An active pulse with no lvsd (lvsd died, or pulse -t) is not a
        // backup: nothing put the file in the table, so it is a warning.
        (DaemonState::NotRunning, Daemon::Pulse) => {
            let pulse = fx.pulse_role();
            if pulse.as_ref().is_some_and(|p| p.active) {
                return Reload::Outcome(ReloadOutcome::Unconfirmed {
                    signalled,
                    reason: "pulse is active but no lvsd runs on this router: \
                             nothing loaded the file into the IPVS table"
                        .into(),
                });
            }
            return Reload::Outcome(ReloadOutcome::PulseOnly { pulse });
        }
        // An lvsd that runs and does not answer: a real warning.
        (DaemonState::Unreachable { .. }, _) => {
            return Reload::Outcome(ReloadOutcome::Unconfirmed {
                signalled,
                reason: "lvsd's status socket did not answer before the signal".into(),
            });
        }
        // An lvsd that started between the look and the signal.
        (DaemonState::NotRunning, Daemon::Lvsd) => {
            return Reload::Outcome(ReloadOutcome::Unconfirmed {
                signalled,
                reason: "lvsd was not running before the signal".into(),
            });
        }
    };
    let seen = fx.wait_reload(before.reloads, want);
    fx.reached(Step::ReloadSeen);
    match seen {
        Ok(state) if state.failed => Reload::Refused(state),
        Ok(state) => Reload::Outcome(ReloadOutcome::Reloaded {
            signalled,
            writes: state.writes,
        }),
        Err(reason) => Reload::Outcome(ReloadOutcome::Unconfirmed { signalled, reason }),
    }
}

/// The apply pipeline (see the module doc). Restores come here too, with
/// no base.
pub fn apply(
    fx: &mut dyn Effects,
    rules: &Rules<'_>,
    mut change: Change,
) -> Result<Applied, Error> {
    let check = (rules.check)(&change.text);
    if !check.ok {
        return Err(Error::CheckFailed { report: check });
    }
    fx.reached(Step::Checked);
    let disk = fx.read_file().map_err(internal)?;
    if let Some(base) = change.base {
        let current = Digest::of(&disk);
        if current != base {
            return Err(Error::Conflict {
                current_digest: current,
            });
        }
    }
    (rules.commands)(&disk, &change.text).map_err(|message| Error::CommandPolicy { message })?;
    let raised = match (rules.serial)(&disk, &change.text).map_err(internal)? {
        Some((to, bytes)) => {
            change.text = bytes;
            Some(to)
        }
        None => None,
    };
    fx.reached(Step::BaseMatched);
    let previous = record_disk(fx, &disk, change.uid)?;
    write(fx, &change.text)?;
    let time = fx.now();
    let revision = fx
        .record(
            &change.text,
            NewRevision {
                user: change.user.clone(),
                uid: change.uid,
                reason: change.reason.clone(),
                time,
                restored_from: change.restored_from,
            },
        )
        .map_err(internal)?;
    fx.reached(Step::Recorded);
    let refused = match reload(fx, revision.digest) {
        Reload::Outcome(reload) => {
            return Ok(Applied {
                revision,
                reload,
                check,
                raised_serial_no: raised,
                sync: None,
            });
        }
        Reload::Refused(state) => state,
    };
    // lvsd kept its running table; put the file it runs from back.
    let diagnostics: Vec<String> = refused
        .error
        .as_deref()
        .unwrap_or("lvsd refused the file (no reason given)")
        .lines()
        .map(str::to_owned)
        .collect();
    let back = revert(fx, &previous, &revision, &change);
    let current_digest = fx
        .read_file()
        .map(|b| Digest::of(&b))
        .unwrap_or(revision.digest);
    Err(match back {
        Ok((rev, message)) => Error::ReloadRefused {
            diagnostics,
            reverted_to: Some(rev.rev),
            current_digest,
            message,
        },
        Err(message) => Error::ReloadRefused {
            diagnostics,
            reverted_to: None,
            current_digest,
            message,
        },
    })
}

/// Write `previous` back and reload it; the new revision and how its
/// reload went.
fn revert(
    fx: &mut dyn Effects,
    previous: &RevisionInfo,
    refused: &RevisionInfo,
    change: &Change,
) -> Result<(RevisionInfo, String), String> {
    let (_, bytes) = fx.revision(previous.rev)?.ok_or_else(|| {
        format!(
            "revision {} is no longer kept: the refused file stays",
            previous.rev
        )
    })?;
    write(fx, &bytes).map_err(|e| format!("writing revision {} back failed: {e}", previous.rev))?;
    let time = fx.now();
    let rev = fx.record(
        &bytes,
        NewRevision {
            user: change.user.clone(),
            uid: change.uid,
            reason: format!(
                "reverted: lvsd refused revision {} ({})",
                refused.rev, change.reason
            ),
            time,
            restored_from: Some(previous.rev),
        },
    )?;
    let message = match reload(fx, rev.digest) {
        Reload::Outcome(ReloadOutcome::Reloaded { .. }) => {
            format!("lvsd reloaded revision {} again", previous.rev)
        }
        Reload::Outcome(ReloadOutcome::NotRunning) => "no daemon runs any more".to_owned(),
        Reload::Outcome(ReloadOutcome::PulseOnly { .. }) => "no lvsd runs any more".to_owned(),
        Reload::Outcome(ReloadOutcome::Unconfirmed { reason, .. }) => {
            format!(
                "lvsd's reload of revision {} is unconfirmed: {reason}",
                previous.rev
            )
        }
        Reload::Refused(state) => format!(
            "lvsd refused revision {} too: {}",
            previous.rev,
            state.error.unwrap_or_default()
        ),
    };
    Ok((rev, message))
}

/// Which of `revisions` (numbers, any order) to drop to keep the newest
/// `keep` (at least one is always kept).
pub fn to_prune(revisions: &[u64], keep: usize) -> Vec<u64> {
    let mut sorted = revisions.to_vec();
    sorted.sort_unstable();
    let keep = keep.max(1);
    let drop = sorted.len().saturating_sub(keep);
    sorted.truncate(drop);
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Severity;
    use std::collections::BTreeMap;

    /// The whole world of an apply, in memory.
    #[derive(Default)]
    struct Mem {
        file: Vec<u8>,
        temp: Option<Vec<u8>>,
        revisions: BTreeMap<u64, (RevisionInfo, Vec<u8>)>,
        keep: usize,
        /// None: lvsd not running (unless `lvsd_silent`).
        lvsd: Option<ReloadState>,
        /// lvsd runs, its status socket does not answer.
        lvsd_silent: bool,
        pulse: bool,
        /// What pulse's status says.
        pulse_role: Option<PulseRole>,
        /// Times pulse's status was asked.
        pulse_asked: usize,
        /// lvsd refuses files containing this.
        refuses: Option<&'static str>,
        /// A signal makes a reload of the file lvsd already runs.
        stale_reload: bool,
        steps: Vec<Step>,
        signals: Vec<Daemon>,
        clock: u64,
    }

    impl Mem {
        fn new(file: &str) -> Mem {
            Mem {
                file: file.as_bytes().to_vec(),
                keep: 50,
                clock: 1000,
                ..Mem::default()
            }
        }
    }

    impl Effects for Mem {
        fn read_file(&mut self) -> Result<Vec<u8>, String> {
            Ok(self.file.clone())
        }
        fn write_temp(&mut self, bytes: &[u8]) -> Result<(), String> {
            self.temp = Some(bytes.to_vec());
            Ok(())
        }
        fn rename_temp(&mut self) -> Result<(), String> {
            self.file = self.temp.take().ok_or("no temp")?;
            Ok(())
        }
        fn discard_temp(&mut self) {
            self.temp = None;
        }
        fn sync_dir(&mut self) -> Result<(), String> {
            Ok(())
        }
        fn latest(&mut self) -> Result<Option<RevisionInfo>, String> {
            Ok(self.revisions.values().next_back().map(|(i, _)| i.clone()))
        }
        fn record(&mut self, bytes: &[u8], meta: NewRevision) -> Result<RevisionInfo, String> {
            let rev = self.revisions.keys().next_back().map_or(1, |r| r + 1);
            let info = RevisionInfo {
                rev,
                digest: Digest::of(bytes),
                size: bytes.len() as u64,
                user: meta.user,
                uid: meta.uid,
                reason: meta.reason,
                time: meta.time,
                restored_from: meta.restored_from,
            };
            self.revisions.insert(rev, (info.clone(), bytes.to_vec()));
            let all: Vec<u64> = self.revisions.keys().copied().collect();
            for r in to_prune(&all, self.keep) {
                self.revisions.remove(&r);
            }
            Ok(info)
        }
        fn revision(&mut self, rev: u64) -> Result<Option<(RevisionInfo, Vec<u8>)>, String> {
            Ok(self.revisions.get(&rev).cloned())
        }
        fn reload_state(&mut self) -> DaemonState<ReloadState> {
            match (&self.lvsd, self.lvsd_silent) {
                (_, true) => DaemonState::Unreachable {
                    reason: "lvsd.sock: connection refused".into(),
                },
                (Some(status), false) => DaemonState::Running {
                    status: status.clone(),
                },
                (None, false) => DaemonState::NotRunning,
            }
        }
        fn pulse_role(&mut self) -> Option<PulseRole> {
            self.pulse_asked += 1;
            self.pulse_role.clone()
        }
        fn signal_reload(&mut self) -> Option<Daemon> {
            let who = if self.pulse {
                Daemon::Pulse
            } else if self.lvsd.is_some() || self.lvsd_silent {
                Daemon::Lvsd
            } else {
                return None;
            };
            self.signals.push(who);
            if self.stale_reload {
                if let Some(l) = self.lvsd.as_mut() {
                    l.reloads += 1;
                }
                return Some(who);
            }
            // The daemon reads the file as it now is.
            if let Some(l) = self.lvsd.as_mut() {
                l.reloads += 1;
                let text = String::from_utf8_lossy(&self.file);
                match self.refuses {
                    Some(bad) if text.contains(bad) => {
                        l.failed = true;
                        l.error = Some(format!(
                            "error parsing lvs.cf on line 1.\nlvs.cf:1:1: error: {bad}"
                        ));
                    }
                    _ => {
                        l.failed = false;
                        l.error = None;
                        l.writes = 1;
                        l.config_digest = Some(Digest::of(&self.file));
                    }
                }
            }
            Some(who)
        }
        fn wait_reload(&mut self, before: u64, want: Digest) -> Result<ReloadState, String> {
            match &self.lvsd {
                Some(l) if !self.lvsd_silent && reload_seen(before, want, l) => Ok(l.clone()),
                _ => Err("no reload within 30 s".into()),
            }
        }
        fn now(&mut self) -> u64 {
            self.clock += 1;
            self.clock
        }
        fn reached(&mut self, step: Step) {
            self.steps.push(step);
        }
    }

    const GOOD: &str =
        "serial_no = 1\nvirtual web {\n active = 1\n address = 203.0.113.10 eth0:1\n}\n";

    fn check(bytes: &[u8]) -> CheckReport {
        let text = String::from_utf8_lossy(bytes);
        let bad = text.contains("bogus");
        CheckReport {
            ok: !bad,
            diagnostics: if bad {
                vec![crate::proto::Diagnostic {
                    severity: Severity::Error,
                    line: 1,
                    col: 1,
                    len: 5,
                    message: "bogus".into(),
                    hint: None,
                    extension: None,
                }]
            } else {
                vec![]
            },
            file_warnings: vec![],
            file_errors: vec![],
            rendered: String::new(),
        }
    }

    fn no_commands(_: &[u8], new: &[u8]) -> Result<(), String> {
        if String::from_utf8_lossy(new).contains("/tmp/") {
            Err("lvs.cf:1: active_cmd = /tmp/x: writable by others".into())
        } else {
            Ok(())
        }
    }

    fn rules() -> Rules<'static> {
        Rules {
            check: &check,
            commands: &no_commands,
            serial: &crate::verdict::raise_serial,
        }
    }

    fn change(base: &[u8], text: &str) -> Change {
        Change {
            base: Some(Digest::of(base)),
            text: text.as_bytes().to_vec(),
            reason: "why".into(),
            user: "alice".into(),
            uid: Some(990),
            restored_from: None,
        }
    }

    #[test]
    fn an_apply_without_daemons_writes_and_records_the_old_file_first() {
        let mut fx = Mem::new(GOOD);
        let new = GOOD.replace("serial_no = 1", "serial_no = 2");
        let a = apply(&mut fx, &rules(), change(GOOD.as_bytes(), &new)).expect("apply");
        assert_eq!(fx.file, new.as_bytes());
        assert_eq!(a.reload, ReloadOutcome::NotRunning);
        assert_eq!(a.revision.rev, 2);
        assert_eq!(a.revision.user, "alice");
        let (first, bytes) = fx.revisions[&1].clone();
        assert_eq!(
            (first.user.as_str(), bytes.as_slice()),
            ("(on disk)", GOOD.as_bytes())
        );
        assert_eq!(
            fx.steps,
            [
                Step::Checked,
                Step::BaseMatched,
                Step::TempWritten,
                Step::Renamed,
                Step::DirSynced,
                Step::Recorded,
                Step::Signalled
            ]
        );
        // The next apply from the new file does not record it twice.
        let newer = new.replace("serial_no = 2", "serial_no = 3");
        let a = apply(&mut fx, &rules(), change(new.as_bytes(), &newer)).expect("apply");
        assert_eq!(a.revision.rev, 3);
        assert_eq!(fx.revisions.len(), 3);
    }

    #[test]
    fn an_error_refuses_before_anything_is_written() {
        let mut fx = Mem::new(GOOD);
        let e = apply(&mut fx, &rules(), change(GOOD.as_bytes(), "bogus\n")).expect_err("refused");
        match e {
            Error::CheckFailed { report } => assert_eq!(report.diagnostics[0].message, "bogus"),
            other => panic!("{other:?}"),
        }
        assert_eq!(fx.file, GOOD.as_bytes());
        assert!(fx.revisions.is_empty() && fx.steps.is_empty());
    }

    #[test]
    fn a_changed_base_is_a_conflict_carrying_the_current_digest() {
        let mut fx = Mem::new(GOOD);
        let hand = format!("{GOOD}# edited by hand\n");
        fx.file = hand.as_bytes().to_vec();
        let e = apply(&mut fx, &rules(), change(GOOD.as_bytes(), GOOD)).expect_err("conflict");
        assert_eq!(
            e,
            Error::Conflict {
                current_digest: Digest::of(hand.as_bytes())
            }
        );
        assert_eq!(fx.file, hand.as_bytes());
        assert_eq!(fx.steps, [Step::Checked]);
    }

    #[test]
    fn two_applies_from_one_base_one_wins() {
        let mut fx = Mem::new(GOOD);
        let a = GOOD.replace("serial_no = 1", "serial_no = 2");
        let b = GOOD.replace("serial_no = 1", "serial_no = 7");
        apply(&mut fx, &rules(), change(GOOD.as_bytes(), &a)).expect("first");
        let e = apply(&mut fx, &rules(), change(GOOD.as_bytes(), &b)).expect_err("second");
        assert_eq!(
            e,
            Error::Conflict {
                current_digest: Digest::of(a.as_bytes())
            }
        );
        assert_eq!(fx.file, a.as_bytes());
    }

    #[test]
    fn an_unsafe_command_is_refused_whoever_asks() {
        let mut fx = Mem::new(GOOD);
        let new = format!("active_cmd = /tmp/x\n{GOOD}");
        match apply(&mut fx, &rules(), change(GOOD.as_bytes(), &new)) {
            Err(Error::CommandPolicy { message }) => {
                assert!(message.contains("/tmp/x"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(fx.file, GOOD.as_bytes());
    }

    fn lvsd() -> Option<ReloadState> {
        Some(ReloadState {
            reloads: 4,
            failed: false,
            error: None,
            writes: 0,
            config_digest: Some(Digest::of(GOOD.as_bytes())),
        })
    }

    #[test]
    fn only_a_reload_of_the_file_written_is_taken_for_ours() {
        let ours = Digest::of(b"new");
        let old = Digest::of(b"old");
        let state = |reloads, failed, digest| ReloadState {
            reloads,
            failed,
            error: None,
            writes: 0,
            config_digest: digest,
        };
        // No reload counted since the signal.
        assert!(!reload_seen(4, ours, &state(4, false, Some(ours))));
        // Ours loaded.
        assert!(reload_seen(4, ours, &state(5, false, Some(ours))));
        // Someone else's SIGHUP read the file before ours was renamed in:
        // it loaded the old file; ours is still to come.
        assert!(!reload_seen(4, ours, &state(5, false, Some(old))));
        // Refused: lvsd kept the old table and says so.
        assert!(reload_seen(4, ours, &state(5, true, Some(old))));
        // An lvsd that reports no digest: the counter alone.
        assert!(reload_seen(4, ours, &state(5, false, None)));
    }

    #[test]
    fn a_reload_of_the_old_file_after_the_signal_is_not_taken_for_ours() {
        let mut fx = Mem::new(GOOD);
        fx.lvsd = lvsd();
        // The reload counted after the signal is someone else's, of the
        // file before ours was renamed in: the counter moves, the digest
        // stays the old file's. By the counter alone this was "reloaded".
        fx.stale_reload = true;
        let new = GOOD.replace("serial_no = 1", "serial_no = 2");
        let a = apply(&mut fx, &rules(), change(GOOD.as_bytes(), &new)).expect("apply");
        assert!(
            matches!(a.reload, ReloadOutcome::Unconfirmed { .. }),
            "{:?}",
            a.reload
        );
    }

    #[test]
    fn a_reload_is_waited_for_through_pulse() {
        let mut fx = Mem::new(GOOD);
        fx.lvsd = lvsd();
        fx.pulse = true;
        let new = GOOD.replace("serial_no = 1", "serial_no = 2");
        let a = apply(&mut fx, &rules(), change(GOOD.as_bytes(), &new)).expect("apply");
        assert_eq!(
            a.reload,
            ReloadOutcome::Reloaded {
                signalled: Daemon::Pulse,
                writes: 1
            }
        );
        assert_eq!(fx.signals, [Daemon::Pulse]);
        assert_eq!(fx.steps.last(), Some(&Step::ReloadSeen));
    }

    #[test]
    fn a_file_lvsd_refuses_is_reverted_with_its_diagnostics() {
        let mut fx = Mem::new(GOOD);
        fx.lvsd = lvsd();
        fx.refuses = Some("unresolvable.example");
        let new = format!("{GOOD}# unresolvable.example\n");
        let e = apply(&mut fx, &rules(), change(GOOD.as_bytes(), &new)).expect_err("refused");
        match e {
            Error::ReloadRefused {
                diagnostics,
                reverted_to,
                current_digest,
                message,
            } => {
                assert_eq!(diagnostics[1], "lvs.cf:1:1: error: unresolvable.example");
                // 1: the file found, 2: the refused one, 3: 1 written back.
                assert_eq!(reverted_to, Some(3));
                assert_eq!(current_digest, Digest::of(GOOD.as_bytes()));
                assert_eq!(message, "lvsd reloaded revision 1 again");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(fx.file, GOOD.as_bytes());
        assert_eq!(fx.signals, [Daemon::Lvsd, Daemon::Lvsd]);
        let (three, _) = &fx.revisions[&3];
        assert_eq!(three.restored_from, Some(1));
        assert!(
            three
                .reason
                .starts_with("reverted: lvsd refused revision 2"),
            "{}",
            three.reason
        );
        assert!(!fx.lvsd.as_ref().expect("lvsd").failed);
    }

    #[test]
    fn no_answer_after_the_signal_is_unconfirmed_not_success() {
        let mut fx = Mem::new(GOOD);
        fx.pulse = true; // pulse runs, lvsd does not answer
        fx.lvsd_silent = true;
        let new = GOOD.replace("serial_no = 1", "serial_no = 2");
        let a = apply(&mut fx, &rules(), change(GOOD.as_bytes(), &new)).expect("apply");
        assert!(
            matches!(
                a.reload,
                ReloadOutcome::Unconfirmed {
                    signalled: Daemon::Pulse,
                    ..
                }
            ),
            "{:?}",
            a.reload
        );
    }

    #[test]
    fn a_backup_whose_pulse_runs_without_lvsd_is_no_warning_and_no_wait() {
        let mut fx = Mem::new(GOOD);
        fx.pulse = true;
        fx.pulse_role = Some(PulseRole {
            role: "backup".into(),
            active: false,
        });
        let new = GOOD.replace("serial_no = 1", "serial_no = 2");
        let a = apply(&mut fx, &rules(), change(GOOD.as_bytes(), &new)).expect("apply");
        assert_eq!(
            a.reload,
            ReloadOutcome::PulseOnly {
                pulse: Some(PulseRole {
                    role: "backup".into(),
                    active: false,
                })
            }
        );
        assert_eq!(fx.file, new.as_bytes());
        assert_eq!(fx.signals, [Daemon::Pulse]);
        // Signalled, never waited.
        assert_eq!(fx.steps.last(), Some(&Step::Signalled));
        assert!(!fx.steps.contains(&Step::ReloadSeen));
        // A pulse that does not answer: the outcome all the same.
        fx.pulse_role = None;
        let newer = new.replace("serial_no = 2", "serial_no = 3");
        let a = apply(&mut fx, &rules(), change(new.as_bytes(), &newer)).expect("apply");
        assert_eq!(a.reload, ReloadOutcome::PulseOnly { pulse: None });
        assert_eq!(fx.pulse_asked, 2);
    }

    #[test]
    fn an_active_pulse_without_lvsd_is_a_warning() {
        let mut fx = Mem::new(GOOD);
        fx.pulse = true;
        fx.pulse_role = Some(PulseRole {
            role: "primary".into(),
            active: true,
        });
        let new = GOOD.replace("serial_no = 1", "serial_no = 2");
        let a = apply(&mut fx, &rules(), change(GOOD.as_bytes(), &new)).expect("apply");
        match &a.reload {
            ReloadOutcome::Unconfirmed {
                signalled: Daemon::Pulse,
                reason,
            } => assert!(reason.contains("no lvsd runs"), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(fx.file, new.as_bytes());
        assert!(!fx.steps.contains(&Step::ReloadSeen));
    }

    #[test]
    fn a_silent_lvsd_is_unconfirmed_with_pulse_or_without() {
        for pulse in [true, false] {
            let mut fx = Mem::new(GOOD);
            fx.pulse = pulse;
            fx.lvsd = lvsd();
            fx.lvsd_silent = true;
            let new = GOOD.replace("serial_no = 1", "serial_no = 2");
            let a = apply(&mut fx, &rules(), change(GOOD.as_bytes(), &new)).expect("apply");
            let want = if pulse { Daemon::Pulse } else { Daemon::Lvsd };
            assert_eq!(
                a.reload,
                ReloadOutcome::Unconfirmed {
                    signalled: want,
                    reason: "lvsd's status socket did not answer before the signal".into(),
                }
            );
            assert_eq!(fx.pulse_asked, 0, "pulse's role is not asked for");
        }
    }

    #[test]
    fn history_keeps_the_newest() {
        let mut fx = Mem::new(GOOD);
        fx.keep = 3;
        let mut base = GOOD.to_owned();
        for i in 2..10 {
            let new = GOOD.replace("serial_no = 1", &format!("serial_no = {i}"));
            apply(&mut fx, &rules(), change(base.as_bytes(), &new)).expect("apply");
            base = new;
        }
        assert_eq!(fx.revisions.keys().copied().collect::<Vec<_>>(), [7, 8, 9]);
        assert_eq!(to_prune(&[5, 1, 3, 2, 4], 2), [1, 2, 3]);
        assert_eq!(to_prune(&[1, 2], 0), [1]);
        assert!(to_prune(&[1, 2], 5).is_empty());
    }

    #[test]
    fn a_restore_ignores_the_base_and_names_its_source() {
        let mut fx = Mem::new(GOOD);
        let new = GOOD.replace("serial_no = 1", "serial_no = 2");
        apply(&mut fx, &rules(), change(GOOD.as_bytes(), &new)).expect("apply");
        let (_, bytes) = fx.revisions[&1].clone();
        let a = apply(
            &mut fx,
            &rules(),
            Change {
                base: None,
                text: bytes,
                reason: "back".into(),
                user: "bob".into(),
                uid: None,
                restored_from: Some(1),
            },
        )
        .expect("restore");
        // Revision 1's bytes, its serial_no raised past the file's 2 (the
        // backup takes no older one).
        assert_eq!(
            fx.file,
            GOOD.replace("serial_no = 1", "serial_no = 3").as_bytes()
        );
        assert_eq!(a.raised_serial_no, Some(3));
        assert_eq!(a.revision.restored_from, Some(1));
        assert_eq!(a.revision.digest, Digest::of(&fx.file));
    }

    #[test]
    fn a_serial_no_not_above_the_files_is_raised_by_one_line() {
        let mut fx = Mem::new(GOOD);
        let new = GOOD.replace("203.0.113.10", "203.0.113.11");
        let a = apply(&mut fx, &rules(), change(GOOD.as_bytes(), &new)).expect("apply");
        assert_eq!(a.raised_serial_no, Some(2));
        let want = new.replace("serial_no = 1", "serial_no = 2");
        assert_eq!(fx.file, want.as_bytes());
        assert_eq!(
            fx.revisions[&2].1,
            want.as_bytes(),
            "the raised bytes recorded"
        );
        // Above already: written as sent.
        let newer = want.replace("serial_no = 2", "serial_no = 10");
        let a = apply(&mut fx, &rules(), change(want.as_bytes(), &newer)).expect("apply");
        assert_eq!(
            (a.raised_serial_no, fx.file.as_slice()),
            (None, newer.as_bytes())
        );
    }
}
