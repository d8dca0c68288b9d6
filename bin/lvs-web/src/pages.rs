//! The HTML pages: login, CONTROL/MONITORING, the panels, changes, history.
//! Handlers decode, check who may, call the helper, and render a template;
//! the decisions they make are in [`crate::guard`], [`crate::staging`] and
//! the crates they call.

use std::sync::Arc;
use std::time::Instant;

use access::Action;
use admin::client::ClientError;
use admin::proto::{self, Digest, IpvsPreview};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as S};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use access::audit::Event;

use crate::app::{Fail, PeerX, State, Who, html, lock, poster, source, viewer};
use crate::decode::{self, Form};
use crate::serve::Peer;
use crate::staging::Staged;
use crate::views::status::{BackupView, DaemonView, PathView, PulseView, StatusView};
use crate::views::{DiffLine, Nav, Notice, diff_lines, now, utc};

// ---- login ---------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    title: &'static str,
    nav: Option<Nav>,
    notices: Vec<Notice>,
    user: String,
}

pub async fn login_form(S(st): S<Arc<State>>, headers: HeaderMap) -> Response {
    if crate::app::who(&st, &headers).is_some() {
        return Redirect::to("/status").into_response();
    }
    html(&LoginPage {
        title: "Login",
        nav: None,
        notices: Vec::new(),
        user: String::new(),
    })
}

pub async fn login(
    S(st): S<Arc<State>>,
    peer: Option<axum::Extension<Peer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fail> {
    // No session yet, so no token: the Origin check alone guards the
    // login form (a forged login could only log the victim in as the
    // forger, and SameSite=Strict keeps that cookie off other sites).
    access::csrf::check_origin(&st.origins, &crate::app::post_headers(&headers))
        .map_err(|r| Fail::Forbidden(r.to_string()))?;
    let form = Form::parse(&body)?;
    let l = decode::Login::from_form(&form)?;
    let peer = peer.map(|p| p.0.0.ip());
    // The helper rate-limits, checks and writes the audit line.
    let outcome = crate::auth::login(&st, &l.user, &l.password, peer).await;
    match outcome {
        Ok(a) => {
            let id = st
                .sessions()
                .create(&a.user, a.role, Instant::now())
                .map_err(|e| Fail::Internal(e.to_string()))?;
            let mut r = Redirect::to("/status").into_response();
            let cookie = access::session::set_cookie(&id, st.secure());
            r.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_str(&cookie).map_err(|e| Fail::Internal(e.to_string()))?,
            );
            Ok(r)
        }
        Err(e) => {
            let status = e.status();
            Ok((
                status,
                html(&LoginPage {
                    title: "Login",
                    nav: None,
                    notices: vec![Notice::error(e.to_string())],
                    user: l.user,
                }),
            )
                .into_response())
        }
    }
}

pub async fn logout(
    S(st): S<Arc<State>>,
    peer: PeerX,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fail> {
    let form = Form::parse(&body)?;
    let who = poster(&st, &headers, &peer, &form, Action::View)?;
    st.sessions().remove(&who.session);
    lock(&st.staged).remove(&who.key);
    st.audit(&who.user, &source(&peer), &Event::Logout);
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&access::session::clear_cookie(st.secure())) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

// ---- HELP ----------------------------------------------------------------

#[derive(Template)]
#[template(path = "help.html")]
struct HelpPage {
    title: &'static str,
    nav: Option<Nav>,
    notices: Vec<Notice>,
}

/// HELP: static text, open without a session like the login page (it
/// says nothing about this router).
pub async fn help(S(st): S<Arc<State>>, headers: HeaderMap) -> Response {
    let nav = match crate::app::who(&st, &headers) {
        Some(w) => Some(w.nav(&st, "help").await),
        None => None,
    };
    html(&HelpPage {
        title: "HELP",
        nav,
        notices: Vec::new(),
    })
}

// ---- CONTROL/MONITORING -------------------------------------------------

#[derive(Template)]
#[template(path = "status.html")]
pub struct StatusPage {
    pub title: &'static str,
    pub nav: Option<Nav>,
    pub notices: Vec<Notice>,
    pub refresh_secs: u64,
    pub s: StatusView,
    pub may_control: bool,
    pub may_sync: bool,
    pub csrf: String,
}

/// The status page's view of the helper's answers (pure, for the
/// benchmark too).
pub fn status_view(report: &proto::StatusReport, backup: BackupView, now: u64) -> StatusView {
    let mut v = StatusView {
        file_path: report.file.path.clone(),
        digest: report.file.digest.to_hex(),
        serial_no: report
            .file
            .serial_no
            .map_or_else(|| "-".to_owned(), |n| n.to_string()),
        file_size: report.file.size,
        backup,
        ..StatusView::default()
    };
    match &report.lvsd {
        proto::DaemonState::Running { status } => {
            let (d, virtuals, block) = crate::views::status::lvsd(status, now);
            v.lvsd = d;
            v.virtuals = virtuals;
            v.ipvs_block = block;
        }
        proto::DaemonState::NotRunning => {
            v.lvsd = DaemonView {
                state: "not running",
                ..DaemonView::default()
            };
            v.ipvs_block = "(lvsd is not running: no table of its own)".into();
        }
        proto::DaemonState::Unreachable { reason } => {
            v.lvsd = DaemonView {
                state: "unreachable",
                reason: reason.clone(),
                ..DaemonView::default()
            };
            v.ipvs_block = "(lvsd does not answer: no table to show)".into();
        }
    }
    v.pulse = match &report.pulse {
        proto::DaemonState::Running { status: p } => PulseView {
            running: true,
            state: if p.test_start {
                "running --test-start: starts no lvsd"
            } else {
                "running"
            },
            reason: String::new(),
            other_file: if p.configfile == report.file.path {
                String::new()
            } else {
                p.configfile.clone()
            },
            role: format!(
                "{} ({}){}{}",
                p.role,
                if p.active { "active" } else { "inactive" },
                if p.flags.is_empty() { "" } else { " " },
                p.flags.join(" ")
            ),
            paths: p
                .paths
                .iter()
                .map(|h| PathView {
                    name: h.name.clone(),
                    partner: h.partner.clone(),
                    age: h.last_heartbeat_age.map_or_else(
                        || "no heartbeat yet".to_owned(),
                        |a| format!("{a:.1} s ago"),
                    ),
                    said: h.last_heartbeat.clone().unwrap_or_default(),
                })
                .collect(),
            floating: p.floating.clone(),
        },
        proto::DaemonState::NotRunning => PulseView {
            state: "not running",
            ..PulseView::default()
        },
        proto::DaemonState::Unreachable { reason } => PulseView {
            state: "unreachable",
            reason: reason.clone(),
            ..PulseView::default()
        },
    };
    v
}

/// The backup's line of the status page from `sync-status`'s answer.
pub fn backup_view(r: &Result<proto::SyncState, ClientError>) -> BackupView {
    let s = match r {
        Ok(s) => s,
        Err(ClientError::Refused(proto::Error::NoSyncPeer)) => {
            return BackupView {
                summary: "no sync peer configured (lvs-admin serve --peer)".into(),
                no_peer: true,
                ..BackupView::default()
            };
        }
        Err(e) => {
            return BackupView {
                summary: e.to_string(),
                ..BackupView::default()
            };
        }
    };
    let serial = |n: &Option<i64>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
    let mut v = BackupView {
        summary: s.summary(),
        peer: s.peer.clone(),
        ..BackupView::default()
    };
    match &s.remote {
        proto::PeerFile::Known {
            digest,
            serial_no,
            last_write,
        } => {
            v.digest = digest.map_or_else(|| "(no file)".to_owned(), |d| d.to_hex());
            v.serial_no = serial(serial_no);
            v.state = if s.in_sync() { "in sync" } else { "differs" };
            v.last_write = last_write
                .as_ref()
                .map(|w| format!("{} by {} ({})", utc(w.at), w.by, w.digest))
                .unwrap_or_default();
        }
        proto::PeerFile::Unreachable { reason } => {
            v.state = "unreachable";
            v.digest = reason.clone();
        }
    }
    v
}

/// `?msg=CODE`: which fixed notice a redirect asks for.
#[derive(serde::Deserialize)]
pub struct Msg {
    #[serde(default)]
    msg: String,
}

impl Msg {
    pub fn msg(&self) -> &str {
        &self.msg
    }
}

/// The fixed texts a redirect may ask for (never text from the query).
fn message(code: &str) -> Option<Notice> {
    Some(match code {
        "control" => Notice {
            class: "runtime",
            text: "Runtime action done (not saved to lvs.cf).".into(),
        },
        "discarded" => Notice::info("Staged edits discarded."),
        _ => return None,
    })
}

pub async fn status(
    S(st): S<Arc<State>>,
    headers: HeaderMap,
    Query(q): Query<Msg>,
) -> Result<Response, Fail> {
    let who = viewer(&st, &headers)?;
    let (report, backup) = tokio::join!(st.admin.status(), st.admin.sync_state());
    let report = report?;
    let backup = backup_view(&backup);
    let page = StatusPage {
        title: "CONTROL/MONITORING",
        nav: Some(who.nav(&st, "status").await),
        notices: message(&q.msg).into_iter().collect(),
        refresh_secs: st.settings.refresh.as_secs(),
        s: status_view(&report, backup, now()),
        may_control: who.may(Action::Control),
        may_sync: who.may(Action::Sync),
        csrf: who.csrf.as_str().to_owned(),
    };
    Ok(html(&page))
}

pub async fn control(
    S(st): S<Arc<State>>,
    peer: PeerX,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fail> {
    let form = Form::parse(&body)?;
    let who = poster(&st, &headers, &peer, &form, Action::Control)?;
    let c = decode::Control::from_form(&form)?;
    let r = st
        .admin
        .control(c.action, &c.virtual_name, &c.server, &who.user)
        .await;
    audit_control(
        &st,
        &who.user,
        &source(&peer),
        c.action,
        &c.virtual_name,
        &c.server,
        &r,
    );
    r?;
    Ok(Redirect::to("/status?msg=control").into_response())
}

pub async fn sync(
    S(st): S<Arc<State>>,
    peer: PeerX,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fail> {
    let form = Form::parse(&body)?;
    let who = poster(&st, &headers, &peer, &form, Action::Sync)?;
    let force = form.get("force")? == Some("1");
    let r = st.admin.sync_push(force, &who.user).await;
    audit_sync(&st, &who.user, &source(&peer), &r);
    let message = r?;
    Ok(html(&ResultPage {
        title: "Sync to the backup router".into(),
        nav: Some(who.nav(&st, "status").await),
        notices: Vec::new(),
        lines: vec![message],
        diagnostics: Vec::new(),
        next: "/status",
        next_label: "Back to CONTROL/MONITORING",
    }))
}

// ---- changes --------------------------------------------------------------

/// A diagnostic as the pages list it.
pub struct DiagView {
    pub severity: &'static str,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub hint: String,
}

pub fn diag_view(d: &proto::Diagnostic) -> DiagView {
    DiagView {
        severity: match d.severity {
            proto::Severity::Error => "error",
            proto::Severity::Warning => "warning",
            proto::Severity::Note => "note",
        },
        line: d.line,
        col: d.col,
        message: d.message.clone(),
        hint: d.hint.clone().unwrap_or_default(),
    }
}

/// The check's findings that have no line: about the file as a whole or
/// about this host (`net.ipv4.ip_forward`, the open-file limit), with
/// their own severity (a host's setting is a warning, never a file
/// error), after the file's diagnostics.
pub fn unplaced_findings(check: &proto::CheckReport) -> Vec<DiagView> {
    let view = |severity, m: &String| DiagView {
        severity,
        line: 0,
        col: 0,
        message: m.clone(),
        hint: String::new(),
    };
    check
        .file_errors
        .iter()
        .map(|m| view("error", m))
        .chain(check.file_warnings.iter().map(|m| view("warning", m)))
        .collect()
}

/// The same as notices at the top of a page (GLOBAL SETTINGS).
pub fn unplaced_notices(check: &proto::CheckReport) -> Vec<Notice> {
    unplaced_findings(check)
        .into_iter()
        .map(|d| Notice {
            class: if d.severity == "error" {
                "error"
            } else {
                "diag-warning"
            },
            text: format!(
                "{} (lvs.cf as a whole or this host): {}",
                d.severity, d.message
            ),
        })
        .collect()
}

pub struct ConflictView {
    pub base: String,
    pub current: String,
    pub edits: usize,
}

#[derive(Template)]
#[template(path = "changes.html")]
struct ChangesPage {
    title: &'static str,
    nav: Option<Nav>,
    notices: Vec<Notice>,
    csrf: String,
    staged: bool,
    base: String,
    edits: Vec<String>,
    text_diff: String,
    diff_lines: Vec<DiffLine>,
    ipvs: Option<Vec<String>>,
    ipvs_note: String,
    diagnostics: Vec<DiagView>,
    /// Findings without a line (the whole file, the host).
    unplaced: Vec<DiagView>,
    conflict: Option<ConflictView>,
    may_apply: bool,
}

async fn changes_page(st: &State, who: &Who, notices: Vec<Notice>) -> Result<Response, Fail> {
    let staged = lock(&st.staged).get(&who.key).cloned();
    let mut page = ChangesPage {
        title: "Changes",
        nav: Some(who.nav(st, "changes").await),
        notices,
        csrf: who.csrf.as_str().to_owned(),
        staged: false,
        base: String::new(),
        edits: Vec::new(),
        text_diff: String::new(),
        diff_lines: Vec::new(),
        ipvs: None,
        ipvs_note: String::new(),
        diagnostics: Vec::new(),
        unplaced: Vec::new(),
        conflict: None,
        may_apply: who.may(Action::Edit),
    };
    if let Some(s) = staged {
        page.staged = true;
        page.base = s.base.to_hex();
        page.edits = s.edits.iter().map(ToString::to_string).collect();
        // The diff below is against the file on disk: if that is no
        // longer the base, say so before anyone reads it (it would show
        // the other change undone) and before an apply finds out.
        let (_, on_disk) = st.admin.read().await?;
        let current = s.conflict.or((on_disk != s.base).then_some(on_disk));
        page.conflict = current.map(|c| ConflictView {
            base: s.base.to_hex(),
            current: c.to_hex(),
            edits: s.edits.len(),
        });
        let d = st.admin.diff(s.text.as_bytes()).await?;
        page.diff_lines = diff_lines(&d.text_diff);
        page.text_diff = d.text_diff;
        match d.ipvs {
            IpvsPreview::Writes { lines } => page.ipvs = Some(lines),
            IpvsPreview::Unavailable { reason } => {
                page.ipvs_note = format!("No preview: {reason}.");
            }
            IpvsPreview::Invalid { errors } => {
                page.ipvs_note = format!("No preview: the file has {errors} error(s).");
            }
        }
        page.diagnostics = d.check.diagnostics.iter().map(diag_view).collect();
        page.unplaced = unplaced_findings(&d.check);
    }
    Ok(html(&page))
}

pub async fn changes(
    S(st): S<Arc<State>>,
    headers: HeaderMap,
    Query(q): Query<Msg>,
) -> Result<Response, Fail> {
    let who = viewer(&st, &headers)?;
    changes_page(&st, &who, message(&q.msg).into_iter().collect()).await
}

#[derive(Template)]
#[template(path = "result.html")]
struct ResultPage {
    title: String,
    nav: Option<Nav>,
    notices: Vec<Notice>,
    lines: Vec<String>,
    diagnostics: Vec<DiagView>,
    next: &'static str,
    next_label: &'static str,
}

/// What an apply or restore did, as lines for the result page.
pub fn applied_lines(a: &proto::Applied) -> Vec<String> {
    let mut out = vec![format!(
        "Revision {} recorded (digest {}).",
        a.revision.rev, a.revision.digest
    )];
    out.push(match &a.reload {
        proto::ReloadOutcome::NotRunning => {
            "No daemon runs: the file is written, nothing was reloaded.".into()
        }
        proto::ReloadOutcome::Reloaded { signalled, writes } => format!(
            "{} reloaded it: {writes} IPVS write(s).",
            match signalled {
                proto::Daemon::Pulse => "pulse (and lvsd)",
                proto::Daemon::Lvsd => "lvsd",
            }
        ),
        proto::ReloadOutcome::Unconfirmed { reason, .. } => {
            format!("Signalled, but the reload is unconfirmed: {reason}.")
        }
        proto::ReloadOutcome::PulseOnly { pulse } => format!(
            "pulse re-reads lvs.cf; no lvsd runs on this router{}: \
             the new file is used when pulse starts lvsd.",
            pulse.as_ref().map_or_else(String::new, |p| format!(
                " ({}, {})",
                p.role,
                if p.active { "active" } else { "inactive" }
            ))
        ),
    });
    out
}

pub async fn apply(
    S(st): S<Arc<State>>,
    peer: PeerX,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fail> {
    let form = Form::parse(&body)?;
    let who = poster(&st, &headers, &peer, &form, Action::Edit)?;
    let reason = decode::reason(&form)?;
    let staged = lock(&st.staged)
        .get(&who.key)
        .cloned()
        .ok_or_else(|| Fail::BadRequest("nothing staged to apply".into()))?;
    // The page's base must be the staged one: a second tab's older page
    // must not apply edits its user has not seen.
    if form.get("base")? != Some(staged.base.to_hex().as_str()) {
        return Err(Fail::Conflict(
            "the staged edits changed since this page was shown: review them again".into(),
        ));
    }
    let r = st
        .admin
        .apply(staged.base, staged.text.as_bytes(), &reason, &who.user)
        .await;
    audit_apply(&st, &who.user, &source(&peer), &reason, &r);
    match r {
        Ok(a) => {
            lock(&st.staged).remove(&who.key);
            Ok(html(&ResultPage {
                title: "Applied".into(),
                nav: Some(who.nav(&st, "changes").await),
                notices: Vec::new(),
                lines: applied_lines(&a),
                diagnostics: a.check.diagnostics.iter().map(diag_view).collect(),
                next: "/status",
                next_label: "CONTROL/MONITORING",
            }))
        }
        Err(ClientError::Refused(proto::Error::Conflict { current_digest })) => {
            let mut s = staged;
            s.conflict = Some(current_digest);
            lock(&st.staged).put(who.key, s, Instant::now());
            let page = changes_page(
                &st,
                &who,
                vec![Notice::error(
                    "Conflict: lvs.cf was changed on disk since your edits began; nothing was written.",
                )],
            )
            .await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(ClientError::Refused(proto::Error::ReloadRefused {
            diagnostics,
            message,
            ..
        })) => {
            lock(&st.staged).remove(&who.key);
            let mut lines = vec![format!(
                "lvsd refused the new file; the previous revision was written back ({message})."
            )];
            lines.extend(diagnostics);
            Ok((
                StatusCode::CONFLICT,
                html(&ResultPage {
                    title: "Reload refused".into(),
                    nav: Some(who.nav(&st, "changes").await),
                    notices: Vec::new(),
                    lines,
                    diagnostics: Vec::new(),
                    next: "/status",
                    next_label: "CONTROL/MONITORING",
                }),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn discard(
    S(st): S<Arc<State>>,
    peer: PeerX,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fail> {
    let form = Form::parse(&body)?;
    let who = poster(&st, &headers, &peer, &form, Action::View)?;
    lock(&st.staged).remove(&who.key);
    Ok(Redirect::to("/changes?msg=discarded").into_response())
}

pub async fn rebase(
    S(st): S<Arc<State>>,
    peer: PeerX,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Fail> {
    let form = Form::parse(&body)?;
    let who = poster(&st, &headers, &peer, &form, Action::Edit)?;
    let staged = lock(&st.staged)
        .get(&who.key)
        .cloned()
        .ok_or_else(|| Fail::BadRequest("nothing staged to rebase".into()))?;
    let (bytes, digest) = st.admin.read().await?;
    let text = utf8(bytes)?;
    match staged.rebase(digest, text) {
        Ok(next) => {
            lock(&st.staged).put(who.key, next, Instant::now());
            Ok(Redirect::to("/changes").into_response())
        }
        Err(e) => {
            let page = changes_page(
                &st,
                &who,
                vec![Notice::error(format!(
                    "Your edits no longer apply to the file on disk: {e}. Discard them and edit again."
                ))],
            )
            .await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
    }
}

/// lvs.cf as text (the editor needs UTF-8; a file with other bytes is
/// edited by hand).
pub fn utf8(bytes: Vec<u8>) -> Result<String, Fail> {
    String::from_utf8(bytes).map_err(|e| {
        Fail::Conflict(format!(
            "lvs.cf is not UTF-8 (byte {}): edit it by hand, or convert it, to use the panels",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// The session's working copy, or a new one from the file on disk.
pub async fn working_copy(st: &State, who: &Who) -> Result<Staged, Fail> {
    if let Some(s) = lock(&st.staged).get(&who.key).cloned() {
        return Ok(s);
    }
    let (bytes, digest) = st.admin.read().await?;
    Ok(Staged::new(digest, utf8(bytes)?))
}

// ---- history ----------------------------------------------------------------

pub struct RevisionView {
    pub rev: u64,
    pub time: String,
    pub user: String,
    pub reason: String,
    pub digest_short: String,
    pub size: u64,
    pub restored_from: String,
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    title: &'static str,
    nav: Option<Nav>,
    notices: Vec<Notice>,
    revisions: Vec<RevisionView>,
}

pub async fn history(S(st): S<Arc<State>>, headers: HeaderMap) -> Result<Response, Fail> {
    let who = viewer(&st, &headers)?;
    let revs = st.admin.history().await?;
    Ok(html(&HistoryPage {
        title: "History",
        nav: Some(who.nav(&st, "history").await),
        notices: Vec::new(),
        revisions: revs
            .iter()
            .map(|r| RevisionView {
                rev: r.rev,
                time: utc(r.time),
                user: r.user.clone(),
                reason: r.reason.clone(),
                digest_short: r.digest.to_hex()[..12].to_owned(),
                size: r.size,
                restored_from: r.restored_from.map(|n| n.to_string()).unwrap_or_default(),
            })
            .collect(),
    }))
}

#[derive(Template)]
#[template(path = "revision.html")]
struct RevisionPage {
    title: String,
    nav: Option<Nav>,
    notices: Vec<Notice>,
    csrf: String,
    rev: u64,
    time: String,
    user: String,
    reason: String,
    digest: String,
    /// What the diff compares: `previous` (the revision before, so the
    /// diff is what this apply changed), `first` (there is none) or
    /// `disk` (the file as it is now).
    against: &'static str,
    /// The revision compared with, for `previous`.
    previous: u64,
    text_diff: String,
    diff_lines: Vec<DiffLine>,
    may_restore: bool,
}

/// `?against=disk`: compare a revision with the file on disk instead of
/// the revision before it.
#[derive(serde::Deserialize)]
pub struct Against {
    #[serde(default)]
    against: String,
}

/// The revision `rev` is compared with by default: the newest one kept
/// before it (what that apply changed), if any.
pub fn previous_revision(revs: impl IntoIterator<Item = u64>, rev: u64) -> Option<u64> {
    revs.into_iter().filter(|&r| r < rev).max()
}

pub async fn revision(
    S(st): S<Arc<State>>,
    headers: HeaderMap,
    Path(rev): Path<u64>,
    Query(q): Query<Against>,
) -> Result<Response, Fail> {
    let who = viewer(&st, &headers)?;
    let (info, bytes) = st.admin.show(rev).await?;
    let this = String::from_utf8_lossy(&bytes).into_owned();
    let this_label = format!("b/lvs.cf (revision {rev})");
    let (against, previous, diff) = if q.against == "disk" {
        let (current, _) = st.admin.read().await?;
        let d = lvscf::edit::unified_diff(
            &String::from_utf8_lossy(&current),
            &this,
            "a/lvs.cf (on disk)",
            &this_label,
        );
        ("disk", 0, d)
    } else {
        match previous_revision(st.admin.history().await?.iter().map(|r| r.rev), rev) {
            Some(p) => {
                let (_, before) = st.admin.show(p).await?;
                let d = lvscf::edit::unified_diff(
                    &String::from_utf8_lossy(&before),
                    &this,
                    &format!("a/lvs.cf (revision {p})"),
                    &this_label,
                );
                ("previous", p, d)
            }
            None => ("first", 0, String::new()),
        }
    };
    Ok(html(&RevisionPage {
        title: format!("Revision {rev}"),
        nav: Some(who.nav(&st, "history").await),
        notices: Vec::new(),
        csrf: who.csrf.as_str().to_owned(),
        rev,
        time: utc(info.time),
        user: info.user,
        reason: info.reason,
        digest: info.digest.to_hex(),
        against,
        previous,
        diff_lines: diff_lines(&diff),
        text_diff: diff,
        may_restore: who.may(Action::Restore),
    }))
}

pub async fn restore(
    S(st): S<Arc<State>>,
    peer: PeerX,
    headers: HeaderMap,
    Path(rev): Path<u64>,
    body: Bytes,
) -> Result<Response, Fail> {
    let form = Form::parse(&body)?;
    let who = poster(&st, &headers, &peer, &form, Action::Restore)?;
    let reason = decode::reason(&form)?;
    let r = st.admin.restore(rev, &reason, &who.user).await;
    audit_restore(&st, &who.user, &source(&peer), rev, &r);
    let a = r?;
    Ok(html(&ResultPage {
        title: format!("Revision {rev} restored"),
        nav: Some(who.nav(&st, "history").await),
        notices: Vec::new(),
        lines: applied_lines(&a),
        diagnostics: a.check.diagnostics.iter().map(diag_view).collect(),
        next: "/history",
        next_label: "HISTORY",
    }))
}

/// The digest a form names (`base`), checked.
pub fn form_digest(form: &Form, field: &str) -> Result<Digest, Fail> {
    let v = form.one(field)?;
    v.parse::<Digest>().map_err(Fail::BadRequest)
}

pub use crate::panel_pages::{panel, panel_post};

// ---- audit lines of the helper's actions (pages and API alike) -------------

pub fn audit_control<T>(
    st: &State,
    user: &str,
    src: &str,
    action: decode::ControlAction,
    virtual_name: &str,
    server: &str,
    r: &Result<T, ClientError>,
) {
    let target = format!("{virtual_name}/{server}");
    match r {
        Ok(_) => st.audit(
            user,
            src,
            &Event::Control {
                action: action.word(),
                target: &target,
            },
        ),
        Err(e) => st.audit(
            user,
            src,
            &Event::Refused {
                action: "control",
                reason: &format!("{} {target}: {e}", action.word()),
            },
        ),
    }
}

pub fn audit_apply(
    st: &State,
    user: &str,
    src: &str,
    reason: &str,
    r: &Result<proto::Applied, ClientError>,
) {
    match r {
        Ok(a) => st.audit(
            user,
            src,
            &Event::Apply {
                revision: &a.revision.rev.to_string(),
                reason,
            },
        ),
        Err(e) => st.audit(
            user,
            src,
            &Event::Refused {
                action: "apply",
                reason: &e.to_string(),
            },
        ),
    }
}

pub fn audit_restore(
    st: &State,
    user: &str,
    src: &str,
    rev: u64,
    r: &Result<proto::Applied, ClientError>,
) {
    match r {
        Ok(_) => st.audit(
            user,
            src,
            &Event::Restore {
                revision: &rev.to_string(),
            },
        ),
        Err(e) => st.audit(
            user,
            src,
            &Event::Refused {
                action: "restore",
                reason: &format!("revision {rev}: {e}"),
            },
        ),
    }
}

pub fn audit_sync(st: &State, user: &str, src: &str, r: &Result<String, ClientError>) {
    let result = match r {
        Ok(m) => format!("ok: {m}"),
        Err(e) => e.to_string(),
    };
    st.audit(
        user,
        src,
        &Event::Sync {
            peer: "backup",
            result: &result,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_page(backup: BackupView) -> String {
        StatusPage {
            title: "CONTROL/MONITORING",
            nav: None,
            notices: Vec::new(),
            refresh_secs: 10,
            s: StatusView {
                backup,
                ..StatusView::default()
            },
            may_control: false,
            may_sync: true,
            csrf: "t".into(),
        }
        .render()
        .expect("render")
    }

    #[test]
    fn every_reload_outcome_has_its_line() {
        let applied = |reload| proto::Applied {
            revision: proto::RevisionInfo {
                rev: 7,
                digest: Digest::of(b"x"),
                size: 1,
                user: "alice".into(),
                uid: None,
                reason: "why".into(),
                time: 0,
                restored_from: None,
            },
            reload,
            check: proto::CheckReport {
                ok: true,
                diagnostics: vec![],
                file_warnings: vec![],
                file_errors: vec![],
                rendered: String::new(),
            },
            raised_serial_no: None,
            sync: None,
        };
        let line = |reload| applied_lines(&applied(reload))[1].clone();
        assert_eq!(
            line(proto::ReloadOutcome::PulseOnly {
                pulse: Some(proto::PulseRole {
                    role: "backup".into(),
                    active: false,
                }),
            }),
            "pulse re-reads lvs.cf; no lvsd runs on this router (backup, inactive): \
             the new file is used when pulse starts lvsd."
        );
        let bare = line(proto::ReloadOutcome::PulseOnly { pulse: None });
        assert!(bare.starts_with("pulse re-reads lvs.cf; no lvsd runs on this router: "));
        assert!(!bare.contains("unconfirmed"), "{bare}");
        let silent = line(proto::ReloadOutcome::Unconfirmed {
            signalled: proto::Daemon::Pulse,
            reason: "lvsd's status socket did not answer before the signal".into(),
        });
        assert!(silent.contains("unconfirmed"), "{silent}");
        let page = ResultPage {
            title: "Applied".into(),
            nav: None,
            notices: Vec::new(),
            lines: applied_lines(&applied(proto::ReloadOutcome::PulseOnly { pulse: None })),
            diagnostics: Vec::new(),
            next: "/changes",
            next_label: "CHANGES",
        }
        .render()
        .expect("render");
        assert!(
            page.contains("<p>pulse re-reads lvs.cf; no lvsd runs"),
            "{page}"
        );
    }

    #[test]
    fn the_sync_button_only_with_a_peer() {
        let paired = status_page(BackupView {
            peer: "198.51.100.3:3637".into(),
            state: "in sync",
            ..BackupView::default()
        });
        assert!(paired.contains("Sync lvs.cf to the backup now"), "{paired}");
        assert!(!paired.contains("PAIRING"), "{paired}");
        let unpaired = status_page(backup_view(&Err(ClientError::Refused(
            proto::Error::NoSyncPeer,
        ))));
        assert!(
            !unpaired.contains("Sync lvs.cf to the backup now"),
            "{unpaired}"
        );
        assert!(unpaired.contains("PAIRING in lvs-admin(8)"), "{unpaired}");
        // A helper that does not answer: neither (the row says why).
        let unknown = status_page(BackupView {
            summary: "no answer".into(),
            ..BackupView::default()
        });
        assert!(!unknown.contains("Sync lvs.cf") && !unknown.contains("PAIRING"));
    }

    #[test]
    fn host_findings_are_warnings_not_file_errors() {
        let check = proto::CheckReport {
            ok: true,
            diagnostics: Vec::new(),
            file_warnings: vec!["network = nat but net.ipv4.ip_forward = 0".into()],
            file_errors: vec!["too many open files".into()],
            rendered: String::new(),
        };
        let f = unplaced_findings(&check);
        let sev: Vec<_> = f.iter().map(|d| d.severity).collect();
        assert_eq!(sev, ["error", "warning"]);
        let n = unplaced_notices(&check);
        assert_eq!(n[1].class, "diag-warning");
        assert!(
            n[1].text
                .starts_with("warning (lvs.cf as a whole or this host): network = nat")
        );
        assert_eq!(n[0].class, "error");
        // CHANGES' check names them, not "No errors, warnings or notes".
        let page = ChangesPage {
            title: "Changes",
            nav: None,
            notices: Vec::new(),
            csrf: "t".into(),
            staged: true,
            base: "b".into(),
            edits: Vec::new(),
            text_diff: String::new(),
            diff_lines: Vec::new(),
            ipvs: Some(Vec::new()),
            ipvs_note: String::new(),
            diagnostics: Vec::new(),
            unplaced: unplaced_findings(&proto::CheckReport {
                file_errors: Vec::new(),
                ..check
            }),
            conflict: None,
            may_apply: false,
        }
        .render()
        .expect("render");
        assert!(!page.contains("No errors, warnings or notes."), "{page}");
        assert!(
            page.contains("1 about the file as a whole or this host"),
            "{page}"
        );
        assert!(
            page.contains(
                "<li class=\"diag-warning\">warning (lvs.cf as a whole or this host): network = nat"
            ),
            "{page}"
        );
    }
}
