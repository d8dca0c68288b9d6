//! The routes, who may use each, and the state they share.
//!
//! Rules every route follows:
//! - nothing changes on a GET: every change is a POST;
//! - a browser POST passes the Origin / `Sec-Fetch-Site` check and carries
//!   its session's CSRF token (`access::csrf`), else 403;
//! - without a session, pages redirect to `/login` (GET) or answer 401
//!   (POST); only `/login` and `/static/` are open;
//! - each route checks the role its action needs (`access::Role::may`);
//! - the JSON API (`/api/v1/`, [`crate::api`]) takes a Bearer token and
//!   refuses any request that carries a cookie, so a browser cannot be
//!   made to call it with the user's session (no CSRF surface);
//! - bodies are bounded ([`FORM_LIMIT`], [`API_LIMIT`]) and every request
//!   has a deadline ([`REQUEST_TIMEOUT`]).

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use access::audit::{Actor, AuditLog, Event};
use access::csrf::{Origin, OriginPolicy, PostHeaders};
use access::session::{CsrfToken, SessionConfig, SessionStore};
use access::{Action, Role};
use admin::client::{AsyncClient, ClientError};
use askama::Template;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::cli::Settings;
use crate::staging;
use crate::views::{Nav, Notice};

/// Largest form body (the largest panel posts a few KiB).
pub const FORM_LIMIT: usize = 256 * 1024;
/// Largest API body (a whole lvs.cf in JSON).
pub const API_LIMIT: usize = crate::decode::MAX_JSON;
/// Every request's deadline: an apply waits for lvsd's reload and a
/// possible revert (the helper's own reply deadline is 90 s).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(100);
/// Largest password or users file read.
const SMALL_FILE: u64 = 1 << 20;

/// What the routes share.
pub struct State {
    pub settings: Settings,
    pub admin: AsyncClient,
    pub origins: OriginPolicy,
    sessions: Mutex<SessionStore>,
    pub staged: Mutex<staging::Store>,
    audit: Mutex<AuditLog>,
}

/// Locks a mutex; a poisoned one (a panic while held) is still usable:
/// every critical section here leaves its data consistent.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    /// The state for `settings`; checks the origins.
    pub fn new(settings: Settings) -> anyhow::Result<Arc<State>> {
        let mut logger = daemon::log::Logger::new("lvs-web", "lvs-web")
            .with_syslog(daemon::syslog::Syslog::new("lvs-web"));
        if settings.audit_stdout {
            logger = logger.with_stdout();
        }
        State::with_audit(settings, AuditLog::new(logger))
    }

    /// The state with audit lines going to `audit`.
    pub fn with_audit(settings: Settings, audit: AuditLog) -> anyhow::Result<Arc<State>> {
        let mut allowed = Vec::new();
        for o in &settings.origins {
            allowed.push(Origin::parse(o).map_err(|e| anyhow::anyhow!("--origin {o:?}: {}", e.0))?);
        }
        let sessions = SessionStore::new(SessionConfig {
            idle: settings.idle_timeout,
            ..SessionConfig::default()
        });
        Ok(Arc::new(State {
            admin: AsyncClient::new(settings.admin_socket.clone()),
            origins: OriginPolicy::new(allowed),
            sessions: Mutex::new(sessions),
            staged: Mutex::new(staging::Store::default()),
            audit: Mutex::new(audit),
            settings,
        }))
    }

    /// Whether cookies are `Secure` (served over TLS).
    pub fn secure(&self) -> bool {
        self.settings.tls()
    }

    pub fn sessions(&self) -> MutexGuard<'_, SessionStore> {
        lock(&self.sessions)
    }

    /// Writes an audit line.
    pub fn audit(&self, user: &str, source: &str, event: &Event<'_>) {
        lock(&self.audit).record(&Actor { user, source }, event);
    }
}

/// The connection's peer, when the accept loop gave one.
pub type PeerX = Option<axum::Extension<crate::serve::Peer>>;

/// The peer's address for audit lines (`-` when unknown).
pub fn source(p: &PeerX) -> String {
    p.as_ref()
        .map_or_else(|| "-".to_owned(), |p| p.0.0.ip().to_string())
}

/// A logged-in browser user, from the session cookie.
#[derive(Debug, Clone)]
pub struct Who {
    pub user: String,
    pub role: Role,
    pub csrf: CsrfToken,
    /// The session id as the cookie carries it (for logout).
    pub session: String,
    /// Its SHA-256: the staged copy's key.
    pub key: [u8; 32],
}

impl Who {
    pub fn may(&self, a: Action) -> bool {
        self.role.may(a)
    }

    /// The navigation part of a page.
    /// The file the tabs follow (`service = fos` makes the fourth tab
    /// FAILOVER) is the session's working copy, else the file on disk; a
    /// helper that does not answer leaves the usual tabs (the page itself
    /// reports the failure).
    pub async fn nav(&self, state: &State, tab: &'static str) -> Nav {
        let (pending, renumbered, text) =
            lock(&state.staged)
                .get(&self.key)
                .map_or((0, false, None), |s| {
                    let (n, r) = if s.changed() {
                        s.user_edits()
                    } else {
                        (0, false)
                    };
                    (n, r, Some(s.text.clone()))
                });
        let text = match text {
            Some(t) => Some(t),
            None => state
                .admin
                .read()
                .await
                .ok()
                .map(|(b, _)| String::from_utf8_lossy(&b).into_owned()),
        };
        let fos = text.as_deref().is_some_and(crate::views::is_fos);
        Nav {
            user: self.user.clone(),
            role: self.role.as_str(),
            csrf: self.csrf.as_str().to_owned(),
            tab,
            pending,
            renumbered,
            fos,
        }
    }
}

/// Why a request gets no page of its own.
#[derive(Debug)]
pub enum Fail {
    /// No session: redirect (GET) or 401 (POST).
    NoSession { get: bool },
    /// Refused: 403 with the reason.
    Forbidden(String),
    /// Bad input: 400.
    BadRequest(String),
    /// No such thing: 404.
    NotFound(String),
    /// The file changed meanwhile: 409.
    Conflict(String),
    /// The helper failed or refused.
    Admin(ClientError),
    /// Our own failure: 500.
    Internal(String),
}

impl From<ClientError> for Fail {
    fn from(e: ClientError) -> Fail {
        Fail::Admin(e)
    }
}

impl From<crate::decode::FormError> for Fail {
    fn from(e: crate::decode::FormError) -> Fail {
        Fail::BadRequest(e.to_string())
    }
}

impl Fail {
    /// The status code for this failure.
    pub fn status(&self) -> StatusCode {
        match self {
            Fail::NoSession { .. } => StatusCode::UNAUTHORIZED,
            Fail::Forbidden(_) => StatusCode::FORBIDDEN,
            Fail::BadRequest(_) => StatusCode::BAD_REQUEST,
            Fail::NotFound(_) => StatusCode::NOT_FOUND,
            Fail::Conflict(_) => StatusCode::CONFLICT,
            Fail::Admin(e) => admin_status(e),
            Fail::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Fail::NoSession { .. } => "not logged in".into(),
            Fail::Forbidden(m)
            | Fail::BadRequest(m)
            | Fail::NotFound(m)
            | Fail::Conflict(m)
            | Fail::Internal(m) => m.clone(),
            Fail::Admin(e) => e.to_string(),
        }
    }
}

/// The HTTP status for a helper failure.
pub fn admin_status(e: &ClientError) -> StatusCode {
    use admin::proto::Error as E;
    match e {
        ClientError::Refused(r) => match r {
            E::BadRequest { .. } => StatusCode::BAD_REQUEST,
            E::CheckFailed { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            E::Conflict { .. } => StatusCode::CONFLICT,
            E::CommandPolicy { .. } => StatusCode::FORBIDDEN,
            E::ReloadRefused { .. } => StatusCode::CONFLICT,
            E::NoSuchRevision { .. } => StatusCode::NOT_FOUND,
            E::Daemon { .. } | E::NoSyncPeer => StatusCode::SERVICE_UNAVAILABLE,
            E::Internal { .. } => StatusCode::BAD_GATEWAY,
        },
        _ => StatusCode::BAD_GATEWAY,
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: String,
    nav: Option<Nav>,
    notices: Vec<Notice>,
    message: String,
    back: &'static str,
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        if let Fail::NoSession { get: true } = self {
            return Redirect::to("/login").into_response();
        }
        let status = self.status();
        let page = ErrorPage {
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            nav: None,
            notices: Vec::new(),
            message: self.message(),
            back: if matches!(self, Fail::NoSession { .. }) {
                "/login"
            } else {
                "/status"
            },
        };
        (status, html(&page)).into_response()
    }
}

/// A rendered page (a template that fails to render is our bug: 500).
pub fn html<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!("template: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "template failure").into_response()
        }
    }
}

/// The session of a request, if its cookie names a live one.
pub fn who(state: &State, headers: &HeaderMap) -> Option<Who> {
    let secure = state.secure();
    let id = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| access::session::from_cookie_header(h, secure))?
        .to_owned();
    let mut sessions = state.sessions();
    let s = sessions.get(&id, Instant::now())?;
    Some(Who {
        user: s.user().to_owned(),
        role: s.role(),
        csrf: s.csrf().clone(),
        key: access::secret::sha256(id.as_bytes()),
        session: id,
    })
}

/// A GET page's user, or the redirect to the login page.
pub fn viewer(state: &State, headers: &HeaderMap) -> Result<Who, Fail> {
    who(state, headers).ok_or(Fail::NoSession { get: true })
}

/// The request headers the Origin check reads.
pub fn post_headers(headers: &HeaderMap) -> PostHeaders<'_> {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    PostHeaders {
        origin: h("origin"),
        sec_fetch_site: h("sec-fetch-site"),
        referer: h("referer"),
    }
}

/// A browser POST: origin, session, token, role; in that order, so that a
/// cross-site request learns nothing about sessions. Each refusal is an
/// audit line.
pub fn poster(
    state: &State,
    headers: &HeaderMap,
    peer: &PeerX,
    form: &crate::decode::Form,
    action: Action,
) -> Result<Who, Fail> {
    let refuse = |user: &str, reason: String| {
        state.audit(
            user,
            &source(peer),
            &Event::Refused {
                action: action_name(action),
                reason: &reason,
            },
        );
        Fail::Forbidden(reason)
    };
    access::csrf::check_origin(&state.origins, &post_headers(headers))
        .map_err(|r| refuse("-", r.to_string()))?;
    let who = who(state, headers).ok_or(Fail::NoSession { get: false })?;
    access::csrf::check_token(&who.csrf, form.get("csrf")?)
        .map_err(|r| refuse(&who.user, r.to_string()))?;
    require(&who, action).map_err(|e| refuse(&who.user, e.message()))?;
    Ok(who)
}

/// An action's name in audit lines.
pub fn action_name(a: Action) -> &'static str {
    match a {
        Action::View => "view",
        Action::Control => "control",
        Action::Edit => "edit",
        Action::SetCommandKey => "set-command-key",
        Action::Restore => "restore",
        Action::Sync => "sync",
    }
}

/// 403 unless the role may.
pub fn require(who: &Who, action: Action) -> Result<(), Fail> {
    if who.may(action) {
        Ok(())
    } else {
        Err(Fail::Forbidden(format!(
            "{} ({}) may not do this: it needs the {} role",
            who.user,
            who.role.as_str(),
            action.needs().as_str()
        )))
    }
}

/// Reads a small file (passwords, users, tokens), bounded.
pub fn read_small(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(path)?;
    let mut out = Vec::new();
    f.take(SMALL_FILE + 1).read_to_end(&mut out)?;
    if out.len() as u64 > SMALL_FILE {
        return Err(std::io::Error::other(format!(
            "{}: larger than {SMALL_FILE} bytes",
            path.display()
        )));
    }
    Ok(out)
}

/// Every route.
pub fn router(state: Arc<State>) -> Router {
    use crate::{api, pages};
    let web = Router::new()
        .route("/", get(|| async { Redirect::to("/status") }))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/help", get(pages::help))
        .route("/logout", post(pages::logout))
        .route("/status", get(pages::status))
        .route("/control", post(pages::control))
        .route("/sync", post(pages::sync))
        .route("/panel/{*path}", get(pages::panel).post(pages::panel_post))
        .route("/changes", get(pages::changes))
        .route("/changes/apply", post(pages::apply))
        .route("/changes/discard", post(pages::discard))
        .route("/changes/rebase", post(pages::rebase))
        .route("/history", get(pages::history))
        .route("/history/{rev}", get(pages::revision))
        .route("/history/{rev}/restore", post(pages::restore))
        .route(
            "/static/{file}",
            get(
                |axum::extract::Path(f): axum::extract::Path<String>| async move {
                    crate::statics::file(&f)
                },
            ),
        )
        .layer(DefaultBodyLimit::max(FORM_LIMIT));
    let api = api::router().layer(DefaultBodyLimit::max(API_LIMIT));
    let app = Router::new()
        .merge(web)
        .nest("/api/v1", api)
        .fallback(|| async { Fail::NotFound("no such page".into()) })
        .with_state(state)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ));
    crate::headers::apply(app)
}
