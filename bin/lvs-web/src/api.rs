//! The JSON API under `/api/v1/`: the pages' actions for automation.
//!
//! Authentication is `Authorization: Bearer TOKEN` only (the tokens file,
//! `access::tokens`), with the token's role and the same role rules as
//! the pages. A request carrying a `Cookie` header is refused (400)
//! before anything else: a browser always sends its cookies, so no page
//! of another site can make a browser call the API with its user's
//! session, and the API needs no CSRF token.
//!
//! | method | path | role | body → answer |
//! |---|---|---|---|
//! | GET | `/status` | viewer | → `{status, sync}` (the helper's status and sync-status) |
//! | GET | `/config` | viewer | → `{text, digest}` |
//! | POST | `/check` | viewer | `{text}` → check report |
//! | POST | `/stage` | editor | `{text?, edits[]}` → `{base_digest, text, text_diff, ipvs, check}` |
//! | POST | `/apply` | editor | `{base_digest, text, reason}` → the revision and reload |
//! | GET | `/history` | viewer | → `{revisions}` |
//! | GET | `/history/{rev}` | viewer | → `{revision, text}` |
//! | POST | `/restore` | admin | `{revision, reason}` → the revision and reload |
//! | POST | `/control` | operator | `{virtual, server, action}` (`down`, `up`, `normal`, `drain`) → `{}` |
//! | POST | `/sync` | admin | `{force}` → `{message}` |
//! | GET | `/sync` | viewer | → both routers' digests and `serial_no`s |
//!
//! Errors are `{"error": KIND, "message": TEXT, …}` with the helper's
//! typed refusal when there is one (a conflict carries `current_digest`).

use std::net::IpAddr;
use std::sync::Arc;

use access::tokens::TokenFile;
use access::{Action, Role};
use admin::client::ClientError;
use admin::proto::Digest;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as S};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::app::{State, admin_status, read_small};
use crate::decode::{self, ApiApply, ApiControl, ApiRestore, ApiStage, ApiSync, ApiText};
use crate::serve::Peer;

/// A token's holder.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `token:NAME`, as the history and the audit log record it.
    pub user: String,
    pub role: Role,
    pub peer: Option<IpAddr>,
}

impl Caller {
    /// The source for audit lines.
    pub fn src(&self) -> String {
        self.peer.map_or_else(|| "-".to_owned(), |p| p.to_string())
    }
}

/// An API failure as JSON.
#[derive(Debug)]
pub struct ApiFail {
    pub status: StatusCode,
    pub body: Value,
}

impl ApiFail {
    fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> ApiFail {
        ApiFail {
            status,
            body: json!({"error": kind, "message": message.into()}),
        }
    }
}

impl IntoResponse for ApiFail {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

impl From<ClientError> for ApiFail {
    fn from(e: ClientError) -> ApiFail {
        let status = admin_status(&e);
        let message = e.to_string();
        let body = match &e {
            ClientError::Refused(r) => {
                let mut v = serde_json::to_value(r).unwrap_or_else(|_| json!({}));
                if let Some(o) = v.as_object_mut() {
                    o.insert("message".into(), Value::String(message));
                }
                v
            }
            _ => json!({"error": "helper", "message": message}),
        };
        ApiFail { status, body }
    }
}

impl From<decode::JsonError> for ApiFail {
    fn from(e: decode::JsonError) -> ApiFail {
        ApiFail::new(StatusCode::BAD_REQUEST, "bad-request", e.to_string())
    }
}

/// The caller of an API request: no cookie, a valid Bearer token, a role
/// that may do `action`.
pub fn caller(
    st: &State,
    headers: &HeaderMap,
    peer: Option<axum::Extension<Peer>>,
    action: Action,
) -> Result<Caller, ApiFail> {
    if headers.contains_key(header::COOKIE) {
        return Err(ApiFail::new(
            StatusCode::BAD_REQUEST,
            "cookie-refused",
            "the API takes no cookies: authenticate with Authorization: Bearer TOKEN",
        ));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            ApiFail::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authorization: Bearer TOKEN required",
            )
        })?;
    // Read at each request: a token added or revoked takes effect at once.
    let path = &st.settings.tokens;
    let name = path.display().to_string();
    let text = read_small(path).map_err(|e| {
        ApiFail::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            format!("no API tokens ({name}: {e})"),
        )
    })?;
    let file = TokenFile::parse(&String::from_utf8_lossy(&text), &name).map_err(|errors| {
        let msg: Vec<String> = errors.iter().map(ToString::to_string).collect();
        ApiFail::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "tokens-file",
            msg.join("; "),
        )
    })?;
    let entry = file.lookup(token).ok_or_else(|| {
        ApiFail::new(StatusCode::UNAUTHORIZED, "unauthenticated", "unknown token")
    })?;
    let c = Caller {
        user: format!("token:{}", entry.name),
        role: entry.role,
        peer: peer.map(|p| p.0.0.ip()),
    };
    if !c.role.may(action) {
        return Err(ApiFail::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "{} ({}) may not do this: it needs the {} role",
                c.user,
                c.role.as_str(),
                action.needs().as_str()
            ),
        ));
    }
    Ok(c)
}

type Peer_ = Option<axum::Extension<Peer>>;
type Answer = Result<Json<Value>, ApiFail>;

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

async fn status(S(st): S<Arc<State>>, h: HeaderMap, p: Peer_) -> Answer {
    caller(&st, &h, p, Action::View)?;
    let (report, backup) = tokio::join!(st.admin.status(), st.admin.sync_state());
    let backup = match backup {
        Ok(s) => to_json(&s),
        Err(e) => json!({"error": e.to_string()}),
    };
    Ok(Json(json!({"status": to_json(&report?), "sync": backup})))
}

async fn config(S(st): S<Arc<State>>, h: HeaderMap, p: Peer_) -> Answer {
    caller(&st, &h, p, Action::View)?;
    let (bytes, digest) = st.admin.read().await?;
    Ok(Json(json!({
        "text": String::from_utf8_lossy(&bytes),
        "utf8": std::str::from_utf8(&bytes).is_ok(),
        "digest": digest.to_hex(),
    })))
}

async fn check(S(st): S<Arc<State>>, h: HeaderMap, p: Peer_, body: Bytes) -> Answer {
    caller(&st, &h, p, Action::View)?;
    let req: ApiText = decode::json(&body)?;
    Ok(Json(to_json(&st.admin.check(req.text.as_bytes()).await?)))
}

async fn stage(S(st): S<Arc<State>>, h: HeaderMap, p: Peer_, body: Bytes) -> Answer {
    let c = caller(&st, &h, p, Action::Edit)?;
    let req: ApiStage = decode::json(&body)?;
    let edits = req
        .edits
        .iter()
        .enumerate()
        .map(|(i, e)| decode::edit(i, e))
        .collect::<Result<Vec<_>, _>>()?;
    let (base_text, base_digest) = match req.text {
        Some(t) => {
            let d = Digest::of(t.as_bytes());
            (t, d)
        }
        None => {
            let (bytes, digest) = st.admin.read().await?;
            let text = String::from_utf8(bytes).map_err(|_| {
                ApiFail::new(
                    StatusCode::CONFLICT,
                    "not-utf8",
                    "lvs.cf is not UTF-8: send text",
                )
            })?;
            (text, digest)
        }
    };
    crate::guard::check_edits(c.role, &edits, &base_text)
        .map_err(|e| ApiFail::new(StatusCode::FORBIDDEN, "command-key", e.to_string()))?;
    let mut staged = crate::staging::Staged::new(base_digest, base_text);
    let mut edits = edits;
    // serial_no one up, as the panels' staging (and the original tool's
    // save) does, unless the edits set it.
    let serial = lvscf::Address::global("serial_no");
    if !edits
        .iter()
        .any(|e| matches!(e, lvscf::Edit::Set { at, .. } if *at == serial))
    {
        edits.push(panels::bump_serial(&staged.document()));
    }
    staged.stage(edits).map_err(|e| {
        ApiFail::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "edit-refused",
            e.to_string(),
        )
    })?;
    let d = st.admin.diff(staged.text.as_bytes()).await?;
    Ok(Json(json!({
        "base_digest": staged.base.to_hex(),
        "text": staged.text,
        "text_diff": d.text_diff,
        "ipvs": to_json(&d.ipvs),
        "check": to_json(&d.check),
    })))
}

async fn apply(S(st): S<Arc<State>>, h: HeaderMap, p: Peer_, body: Bytes) -> Answer {
    let c = caller(&st, &h, p, Action::Edit)?;
    let req: ApiApply = decode::json(&body)?;
    let base: Digest = req
        .base_digest
        .parse()
        .map_err(|e: String| ApiFail::new(StatusCode::BAD_REQUEST, "bad-request", e))?;
    // The command-key rule over the whole text: compared with the file it
    // replaces (if that is not the base, the helper refuses a conflict).
    let (current, _) = st.admin.read().await?;
    crate::guard::check_text(c.role, &String::from_utf8_lossy(&current), &req.text)
        .map_err(|e| ApiFail::new(StatusCode::FORBIDDEN, "command-key", e.to_string()))?;
    let r = st
        .admin
        .apply(base, req.text.as_bytes(), &req.reason, &c.user)
        .await;
    crate::pages::audit_apply(&st, &c.user, &c.src(), &req.reason, &r);
    Ok(Json(to_json(&r?)))
}

async fn history(S(st): S<Arc<State>>, h: HeaderMap, p: Peer_) -> Answer {
    caller(&st, &h, p, Action::View)?;
    Ok(Json(
        json!({"revisions": to_json(&st.admin.history().await?)}),
    ))
}

async fn show(S(st): S<Arc<State>>, h: HeaderMap, p: Peer_, Path(rev): Path<u64>) -> Answer {
    caller(&st, &h, p, Action::View)?;
    let (info, bytes) = st.admin.show(rev).await?;
    Ok(Json(json!({
        "revision": to_json(&info),
        "text": String::from_utf8_lossy(&bytes),
    })))
}

async fn restore(S(st): S<Arc<State>>, h: HeaderMap, p: Peer_, body: Bytes) -> Answer {
    let c = caller(&st, &h, p, Action::Restore)?;
    let req: ApiRestore = decode::json(&body)?;
    let r = st.admin.restore(req.revision, &req.reason, &c.user).await;
    crate::pages::audit_restore(&st, &c.user, &c.src(), req.revision, &r);
    Ok(Json(to_json(&r?)))
}

async fn control(S(st): S<Arc<State>>, h: HeaderMap, p: Peer_, body: Bytes) -> Answer {
    let c = caller(&st, &h, p, Action::Control)?;
    let req: ApiControl = decode::json(&body)?;
    let r = st
        .admin
        .control(req.action, &req.virtual_name, &req.server, &c.user)
        .await;
    crate::pages::audit_control(
        &st,
        &c.user,
        &c.src(),
        req.action,
        &req.virtual_name,
        &req.server,
        &r,
    );
    r?;
    Ok(Json(json!({"saved_to_lvs_cf": false})))
}

async fn sync_push(S(st): S<Arc<State>>, h: HeaderMap, p: Peer_, body: Bytes) -> Answer {
    let c = caller(&st, &h, p, Action::Sync)?;
    let req: ApiSync = if body.is_empty() {
        ApiSync { force: false }
    } else {
        decode::json(&body)?
    };
    let r = st.admin.sync_push(req.force, &c.user).await;
    crate::pages::audit_sync(&st, &c.user, &c.src(), &r);
    Ok(Json(json!({"message": r?})))
}

async fn sync_status(S(st): S<Arc<State>>, h: HeaderMap, p: Peer_) -> Answer {
    caller(&st, &h, p, Action::View)?;
    Ok(Json(to_json(&st.admin.sync_state().await?)))
}

/// The API's routes (nested under `/api/v1`).
pub fn router() -> Router<Arc<State>> {
    Router::new()
        .route("/status", get(status))
        .route("/config", get(config))
        .route("/check", post(check))
        .route("/stage", post(stage))
        .route("/apply", post(apply))
        .route("/history", get(history))
        .route("/history/{rev}", get(show))
        .route("/restore", post(restore))
        .route("/control", post(control))
        .route("/sync", post(sync_push).get(sync_status))
        .fallback(|| async {
            ApiFail::new(StatusCode::NOT_FOUND, "not-found", "no such API route")
        })
}
