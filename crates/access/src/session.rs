//! Logged-in sessions, in memory, and the cookie that names one.
//!
//! - An id is 256 random bits from the kernel, sent as 64 hex digits in
//!   the cookie and never stored: the store is keyed by its SHA-256, so a
//!   lookup's timing says nothing about a live id, and a dump of the
//!   process holds no usable cookie.
//! - A session ends after [`SessionConfig::idle`] without a request
//!   (default 15 minutes), after [`SessionConfig::lifetime`] whatever the
//!   activity (default 8 hours), at logout, or when its user's password or
//!   role changes ([`SessionStore::remove_user`]).
//! - Each session has its own CSRF token ([`CsrfToken`]) for the forms
//!   it is shown ([`crate::csrf`] checks it).
//! - The store holds at most [`SessionConfig::capacity`] sessions; a new
//!   one past that evicts the one idle longest, so memory stays bounded
//!   whatever clients do.
//!
//! Pure over time: every call takes `now`, so tests drive the clock.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use crate::roles::Role;
use crate::secret::{RandomError, hex, random_bytes, sha256, unhex};

/// Timeouts and the size bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// A session with no request for this long is gone.
    pub idle: Duration,
    /// A session older than this is gone, busy or not.
    pub lifetime: Duration,
    /// Most sessions held at once.
    pub capacity: usize,
}

impl Default for SessionConfig {
    /// 15 minutes idle, 8 hours in all, 1024 sessions.
    fn default() -> SessionConfig {
        SessionConfig {
            idle: Duration::from_secs(15 * 60),
            lifetime: Duration::from_secs(8 * 3600),
            capacity: 1024,
        }
    }
}

/// A session's id as the cookie carries it (64 hex digits). Its `Debug`
/// hides the value so that it never lands in a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId(String);

impl SessionId {
    /// The cookie value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(…)")
    }
}

/// A session's CSRF token, put in every form as a hidden field and
/// compared in constant time ([`crate::csrf::check_post`]).
#[derive(Clone, PartialEq, Eq)]
pub struct CsrfToken(String);

impl CsrfToken {
    /// A new random token.
    pub fn generate() -> Result<CsrfToken, RandomError> {
        Ok(CsrfToken(hex(&random_bytes()?)))
    }

    /// The value to put in a form (64 hex digits).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfToken(…)")
    }
}

/// One logged-in user.
#[derive(Debug, Clone)]
pub struct Session {
    user: String,
    role: Role,
    csrf: CsrfToken,
    created: Instant,
    last_seen: Instant,
}

impl Session {
    /// Who logged in.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Their role at login.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The token this session's forms carry.
    pub fn csrf(&self) -> &CsrfToken {
        &self.csrf
    }

    /// When it was made.
    pub fn created(&self) -> Instant {
        self.created
    }

    /// The last request it made.
    pub fn last_seen(&self) -> Instant {
        self.last_seen
    }

    fn expired(&self, config: &SessionConfig, now: Instant) -> bool {
        now.saturating_duration_since(self.last_seen) >= config.idle
            || now.saturating_duration_since(self.created) >= config.lifetime
    }
}

/// The key a session is stored under: SHA-256 of its id.
type Key = [u8; 32];

/// Every live session.
#[derive(Debug)]
pub struct SessionStore {
    config: SessionConfig,
    sessions: HashMap<Key, Session>,
}

impl SessionStore {
    /// An empty store. A capacity of 0 is taken as 1.
    pub fn new(config: SessionConfig) -> SessionStore {
        let config = SessionConfig {
            capacity: config.capacity.max(1),
            ..config
        };
        SessionStore {
            config,
            sessions: HashMap::new(),
        }
    }

    /// The timeouts and bound in force.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Sessions held (expired ones included until a sweep or lookup).
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// A new session for `user` with `role` (always a new id: a login
    /// never reuses one, so a planted cookie is worthless). Evicts the
    /// expired sessions, then the longest idle one, when full.
    pub fn create(
        &mut self,
        user: &str,
        role: Role,
        now: Instant,
    ) -> Result<SessionId, RandomError> {
        let id = hex(&random_bytes()?);
        let csrf = CsrfToken::generate()?;
        self.insert(id, csrf, user, role, now)
    }

    fn insert(
        &mut self,
        id: String,
        csrf: CsrfToken,
        user: &str,
        role: Role,
        now: Instant,
    ) -> Result<SessionId, RandomError> {
        if self.sessions.len() >= self.config.capacity {
            self.sweep(now);
        }
        while self.sessions.len() >= self.config.capacity {
            // Linear, but only when full, and the store is bounded.
            let oldest = self
                .sessions
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| *k);
            match oldest {
                Some(k) => self.sessions.remove(&k),
                None => break,
            };
        }
        self.sessions.insert(
            sha256(id.as_bytes()),
            Session {
                user: user.to_owned(),
                role,
                csrf,
                created: now,
                last_seen: now,
            },
        );
        Ok(SessionId(id))
    }

    /// The live session named by the cookie value `id`, marked as seen at
    /// `now`; an expired one is dropped and `None` returned. Anything that
    /// is not 64 hex digits is no session.
    pub fn get(&mut self, id: &str, now: Instant) -> Option<&Session> {
        let key = key_of(id)?;
        let expired = self.sessions.get(&key)?.expired(&self.config, now);
        if expired {
            self.sessions.remove(&key);
            return None;
        }
        let s = self.sessions.get_mut(&key)?;
        s.last_seen = s.last_seen.max(now);
        Some(s)
    }

    /// Ends the session `id` (logout); what it was, if it existed.
    pub fn remove(&mut self, id: &str) -> Option<Session> {
        self.sessions.remove(&key_of(id)?)
    }

    /// Ends every session of `user` (password or role changed); how many.
    pub fn remove_user(&mut self, user: &str) -> usize {
        let before = self.sessions.len();
        self.sessions.retain(|_, s| s.user != user);
        before - self.sessions.len()
    }

    /// Drops every session expired at `now`; how many.
    pub fn sweep(&mut self, now: Instant) -> usize {
        let before = self.sessions.len();
        let config = self.config;
        self.sessions.retain(|_, s| !s.expired(&config, now));
        before - self.sessions.len()
    }
}

fn key_of(id: &str) -> Option<Key> {
    // Normalise to the form `create` hashed (lower-case hex).
    let bytes = unhex::<32>(id)?;
    Some(sha256(hex(&bytes).as_bytes()))
}

/// The cookie's name: with `Secure`, the `__Host-` prefix, which browsers
/// accept only from a secure origin with `Path=/` and no `Domain`, so
/// another host or plain-HTTP page cannot set or shadow it.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-lvs_session"
    } else {
        "lvs_session"
    }
}

/// The `Set-Cookie` value that starts session `id`: `HttpOnly` (no
/// script reads it), `SameSite=Strict` (no other site's page sends it),
/// `Path=/`, and `Secure` when the tool is served over TLS. Without TLS
/// (the loopback default) `Secure` is left out: text browsers do not send
/// a Secure cookie back over plain HTTP, even to 127.0.0.1. No `Max-Age`:
/// the browser drops it at exit, and the store enforces the timeouts.
pub fn set_cookie(id: &SessionId, secure: bool) -> String {
    format!(
        "{}={}; {}",
        cookie_name(secure),
        id.as_str(),
        attributes(secure)
    )
}

/// The `Set-Cookie` value that deletes the cookie (logout).
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{}=; {}; Max-Age=0",
        cookie_name(secure),
        attributes(secure)
    )
}

fn attributes(secure: bool) -> &'static str {
    if secure {
        "Path=/; HttpOnly; Secure; SameSite=Strict"
    } else {
        "Path=/; HttpOnly; SameSite=Strict"
    }
}

/// The session cookie's value in a request's `Cookie` header
/// (`a=1; lvs_session=…`), if present.
pub fn from_cookie_header(header: &str, secure: bool) -> Option<&str> {
    let name = cookie_name(secure);
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn store(idle: u64, lifetime: u64, capacity: usize) -> SessionStore {
        SessionStore::new(SessionConfig {
            idle: Duration::from_secs(idle),
            lifetime: Duration::from_secs(lifetime),
            capacity,
        })
    }

    #[test]
    fn a_session_is_found_by_its_id_only() {
        let t0 = Instant::now();
        let mut s = SessionStore::new(SessionConfig::default());
        let id = s.create("piranha", Role::Admin, t0).unwrap();
        assert_eq!(id.as_str().len(), 64);
        let got = s.get(id.as_str(), t0).unwrap();
        assert_eq!((got.user(), got.role()), ("piranha", Role::Admin));
        assert_eq!(got.csrf().as_str().len(), 64);
        // Upper-case hex is the same id; anything else is none.
        assert!(s.get(&id.as_str().to_uppercase(), t0).is_some());
        assert!(s.get(&"0".repeat(64), t0).is_none());
        assert!(s.get("piranha", t0).is_none());
        assert!(s.get(&id.as_str()[..63], t0).is_none());
    }

    #[test]
    fn ids_and_tokens_are_fresh_per_session() {
        let t0 = Instant::now();
        let mut s = SessionStore::new(SessionConfig::default());
        let a = s.create("u", Role::Viewer, t0).unwrap();
        let b = s.create("u", Role::Viewer, t0).unwrap();
        assert_ne!(a, b);
        let ta = s.get(a.as_str(), t0).unwrap().csrf().clone();
        let tb = s.get(b.as_str(), t0).unwrap().csrf().clone();
        assert_ne!(ta, tb);
        assert_ne!(ta.as_str(), a.as_str());
    }

    #[test]
    fn idle_timeout_is_pushed_back_by_activity() {
        let t0 = Instant::now();
        let mut s = store(60, 3600, 10);
        let id = s.create("u", Role::Viewer, t0).unwrap();
        let sec = Duration::from_secs;
        assert!(s.get(id.as_str(), t0 + sec(59)).is_some());
        assert!(s.get(id.as_str(), t0 + sec(118)).is_some());
        assert!(s.get(id.as_str(), t0 + sec(178)).is_none());
        // Dropped, not merely hidden.
        assert!(s.is_empty());
    }

    #[test]
    fn lifetime_ends_a_busy_session() {
        let t0 = Instant::now();
        let mut s = store(60, 300, 10);
        let id = s.create("u", Role::Viewer, t0).unwrap();
        for m in 1..5 {
            assert!(
                s.get(id.as_str(), t0 + Duration::from_secs(m * 59))
                    .is_some()
            );
        }
        assert!(s.get(id.as_str(), t0 + Duration::from_secs(300)).is_none());
    }

    #[test]
    fn logout_and_remove_user() {
        let t0 = Instant::now();
        let mut s = store(60, 300, 10);
        let a = s.create("alice", Role::Editor, t0).unwrap();
        let b = s.create("alice", Role::Editor, t0).unwrap();
        let c = s.create("bob", Role::Viewer, t0).unwrap();
        assert_eq!(
            s.remove(a.as_str()).map(|x| x.user().to_owned()),
            Some("alice".into())
        );
        assert!(s.remove(a.as_str()).is_none());
        assert_eq!(s.remove_user("alice"), 1);
        assert!(s.get(b.as_str(), t0).is_none());
        assert!(s.get(c.as_str(), t0).is_some());
    }

    #[test]
    fn a_full_store_evicts_the_longest_idle() {
        let t0 = Instant::now();
        let sec = Duration::from_secs;
        let mut s = store(600, 3600, 3);
        let a = s.create("a", Role::Viewer, t0).unwrap();
        let b = s.create("b", Role::Viewer, t0 + sec(1)).unwrap();
        let c = s.create("c", Role::Viewer, t0 + sec(2)).unwrap();
        // a is used again, so b is now the longest idle.
        assert!(s.get(a.as_str(), t0 + sec(3)).is_some());
        let d = s.create("d", Role::Viewer, t0 + sec(4)).unwrap();
        assert_eq!(s.len(), 3);
        assert!(s.get(b.as_str(), t0 + sec(5)).is_none());
        for id in [&a, &c, &d] {
            assert!(s.get(id.as_str(), t0 + sec(5)).is_some());
        }
    }

    #[test]
    fn a_full_store_drops_expired_sessions_before_live_ones() {
        let t0 = Instant::now();
        let sec = Duration::from_secs;
        let mut s = store(10, 3600, 2);
        let _old = s.create("old", Role::Viewer, t0).unwrap();
        let live = s.create("live", Role::Viewer, t0 + sec(5)).unwrap();
        let _ = s.get(live.as_str(), t0 + sec(11));
        let _new = s.create("new", Role::Viewer, t0 + sec(12)).unwrap();
        assert!(s.get(live.as_str(), t0 + sec(12)).is_some());
        assert_eq!(s.sweep(t0 + sec(12)), 0);
        assert_eq!(s.sweep(t0 + sec(30)), 2);
    }

    #[test]
    fn cookie_attributes() {
        let id = SessionId("ab".repeat(32));
        assert_eq!(
            set_cookie(&id, true),
            format!(
                "__Host-lvs_session={}; Path=/; HttpOnly; Secure; SameSite=Strict",
                id.as_str()
            )
        );
        assert_eq!(
            set_cookie(&id, false),
            format!(
                "lvs_session={}; Path=/; HttpOnly; SameSite=Strict",
                id.as_str()
            )
        );
        assert_eq!(
            clear_cookie(true),
            "__Host-lvs_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0"
        );
        assert_eq!(format!("{id:?}"), "SessionId(…)");
    }

    #[test]
    fn cookie_header_lookup() {
        let h = "theme=dark; lvs_session=abc; __Host-lvs_session=def";
        assert_eq!(from_cookie_header(h, false), Some("abc"));
        assert_eq!(from_cookie_header(h, true), Some("def"));
        assert_eq!(from_cookie_header("xlvs_session=1", false), None);
        assert_eq!(from_cookie_header("", false), None);
    }

    proptest! {
        // Whatever the sequence of logins, lookups and clock steps, the
        // store never holds more than its capacity, and a session it
        // returns is never past its idle time or lifetime.
        #[test]
        fn bounded_and_never_returns_expired(
            capacity in 1usize..8,
            steps in proptest::collection::vec((0u8..3, 0u64..40, 0usize..16), 1..200),
        ) {
            let t0 = Instant::now();
            let config = SessionConfig {
                idle: Duration::from_secs(30),
                lifetime: Duration::from_secs(100),
                capacity,
            };
            let mut s = SessionStore::new(config);
            let mut now = t0;
            let mut ids: Vec<SessionId> = Vec::new();
            for (op, dt, pick) in steps {
                now += Duration::from_secs(dt);
                match op {
                    0 => ids.push(s.create("u", Role::Viewer, now).unwrap()),
                    1 if !ids.is_empty() => {
                        let id = ids[pick % ids.len()].clone();
                        if let Some(got) = s.get(id.as_str(), now) {
                            prop_assert!(now.duration_since(got.created()) < config.lifetime);
                        }
                    }
                    _ => { s.sweep(now); }
                }
                prop_assert!(s.len() <= capacity);
            }
        }
    }
}
