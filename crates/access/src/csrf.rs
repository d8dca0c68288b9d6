//! Cross-site request forgery: the one check every state-changing request
//! of a browser session passes ([`check_post`]), in two independent parts.
//!
//! 1. **Where the request comes from.** `Sec-Fetch-Site`, when the browser
//!    sends it, must be `same-origin` (or `none`: typed by the user);
//!    `Origin`, when sent, must be one of the configured origins; with
//!    neither, a `Referer` must be. A request with none of the three is
//!    let through to the token check unless the policy requires an origin
//!    ([`OriginPolicy::require_origin`]): every browser that can be made
//!    to forge a cross-site POST sends `Origin` with it, while text
//!    browsers (lynx, links, w3m), which the tool must work in, send none.
//! 2. **The session's token.** The form (or `X-CSRF-Token` header) must
//!    carry the session's [`CsrfToken`], compared in constant time.
//!
//! The login form has no session yet: the web calls [`check_origin`]
//! alone for it. Requests authenticated by an API token carry no cookie,
//! so no browser can forge them; they skip this check.

use std::fmt;

use crate::secret::ct_eq;
use crate::session::CsrfToken;

/// A web origin: scheme, host and port (`https://lb1.example.net:3636`).
/// Parsed and compared case-insensitively, with the scheme's default port
/// made explicit, as browsers serialise `Origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

/// Text that is not an origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginError(pub String);

impl fmt::Display for OriginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\"{}\" is not an origin (expected http[s]://HOST[:PORT])",
            self.0
        )
    }
}

impl std::error::Error for OriginError {}

impl Origin {
    /// Parses `scheme://host[:port]`, with nothing after it but an
    /// optional `/`. IPv6 hosts are bracketed (`http://[::1]:3636`).
    pub fn parse(s: &str) -> Result<Origin, OriginError> {
        let bad = || OriginError(s.to_owned());
        let (scheme, rest) = s.split_once("://").ok_or_else(bad)?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err(bad()),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
            return Err(bad());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(bad)?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(bad)?),
            };
            (format!("[{}]", h.to_ascii_lowercase()), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_ascii_lowercase(), Some(p)),
                None => (authority.to_ascii_lowercase(), None),
            }
        };
        if host.is_empty() || host == "[]" || host.contains(':') && !host.starts_with('[') {
            return Err(bad());
        }
        let port = match port {
            None => default_port,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().map_err(|_| bad())?
            }
            Some(_) => return Err(bad()),
        };
        Ok(Origin { scheme, host, port })
    }

    /// The origin part of a URL (`Referer`), if it has one.
    pub fn of_url(url: &str) -> Option<Origin> {
        let (scheme, rest) = url.split_once("://")?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        Origin::parse(&format!("{scheme}://{}", &rest[..end])).ok()
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// The origins the tool is served from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPolicy {
    allowed: Vec<Origin>,
    require_origin: bool,
}

impl OriginPolicy {
    /// Requests may come from `allowed` (the URLs admins open the tool
    /// at, e.g. `http://127.0.0.1:3636` and `http://localhost:3636`).
    pub fn new(allowed: Vec<Origin>) -> OriginPolicy {
        OriginPolicy {
            allowed,
            require_origin: false,
        }
    }

    /// Refuse requests that carry no `Origin`, `Sec-Fetch-Site` or
    /// `Referer` at all (locks out text browsers; for sites that serve
    /// graphical browsers only).
    pub fn require_origin(mut self, yes: bool) -> OriginPolicy {
        self.require_origin = yes;
        self
    }

    /// The configured origins.
    pub fn allowed(&self) -> &[Origin] {
        &self.allowed
    }

    fn allows(&self, o: &Origin) -> bool {
        self.allowed.contains(o)
    }
}

/// The request headers the check reads (absent = `None`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PostHeaders<'a> {
    /// `Origin`.
    pub origin: Option<&'a str>,
    /// `Sec-Fetch-Site`.
    pub sec_fetch_site: Option<&'a str>,
    /// `Referer`.
    pub referer: Option<&'a str>,
}

/// Why a POST is refused with 403.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `Sec-Fetch-Site` says another site (or origin) made the request.
    CrossSite(String),
    /// `Origin` is not a configured origin.
    ForeignOrigin(String),
    /// `Referer` is not from a configured origin.
    ForeignReferer(String),
    /// No `Origin`, `Sec-Fetch-Site` or `Referer`, and the policy wants one.
    NoOrigin,
    /// The request carries no CSRF token.
    NoToken,
    /// The token is not this session's.
    BadToken,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::CrossSite(v) => write!(f, "cross-site request (Sec-Fetch-Site: {v})"),
            Refusal::ForeignOrigin(v) => write!(f, "request from another origin ({v})"),
            Refusal::ForeignReferer(v) => write!(f, "request from another page ({v})"),
            Refusal::NoOrigin => f.write_str("request without Origin or Referer"),
            Refusal::NoToken => f.write_str("form without its CSRF token"),
            Refusal::BadToken => f.write_str("CSRF token does not match the session"),
        }
    }
}

impl std::error::Error for Refusal {}

/// Where the request comes from (part 1 above).
pub fn check_origin(policy: &OriginPolicy, h: &PostHeaders<'_>) -> Result<(), Refusal> {
    if let Some(site) = h.sec_fetch_site {
        let site = site.trim();
        if !site.eq_ignore_ascii_case("same-origin") && !site.eq_ignore_ascii_case("none") {
            return Err(Refusal::CrossSite(shorten(site)));
        }
    }
    if let Some(origin) = h.origin {
        let origin = origin.trim();
        return match Origin::parse(origin) {
            Ok(o) if policy.allows(&o) => Ok(()),
            // "null" (sandboxed frames, some redirects) and garbage alike.
            _ => Err(Refusal::ForeignOrigin(shorten(origin))),
        };
    }
    if let Some(referer) = h.referer {
        return match Origin::of_url(referer.trim()) {
            Some(o) if policy.allows(&o) => Ok(()),
            _ => Err(Refusal::ForeignReferer(shorten(referer.trim()))),
        };
    }
    if h.sec_fetch_site.is_none() && policy.require_origin {
        return Err(Refusal::NoOrigin);
    }
    Ok(())
}

/// The session's token (part 2 above).
pub fn check_token(expected: &CsrfToken, submitted: Option<&str>) -> Result<(), Refusal> {
    match submitted {
        None | Some("") => Err(Refusal::NoToken),
        Some(t) if ct_eq(t.trim().as_bytes(), expected.as_str().as_bytes()) => Ok(()),
        Some(_) => Err(Refusal::BadToken),
    }
}

/// Every POST of a browser session: both parts, origin first.
pub fn check_post(
    policy: &OriginPolicy,
    headers: &PostHeaders<'_>,
    expected: &CsrfToken,
    submitted: Option<&str>,
) -> Result<(), Refusal> {
    check_origin(policy, headers)?;
    check_token(expected, submitted)
}

/// Header values end up in the 403 page and the log: at most 100
/// characters of them.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(100).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        // Header values are the client's: any of them is decided, never
        // a panic.
        #[test]
        fn any_header_is_decided_without_panic(
            origin in proptest::option::of("\\PC{0,60}"),
            site in proptest::option::of("\\PC{0,20}"),
            referer in proptest::option::of("\\PC{0,60}"),
        ) {
            let h = PostHeaders {
                origin: origin.as_deref(),
                sec_fetch_site: site.as_deref(),
                referer: referer.as_deref(),
            };
            let _ = check_origin(&policy(), &h);
            if let Some(o) = &origin {
                let _ = Origin::parse(o);
                let _ = Origin::of_url(o);
            }
        }
    }

    fn policy() -> OriginPolicy {
        OriginPolicy::new(vec![
            Origin::parse("http://127.0.0.1:3636").unwrap(),
            Origin::parse("https://LB1.example.net").unwrap(),
        ])
    }

    fn h<'a>(
        origin: Option<&'a str>,
        site: Option<&'a str>,
        referer: Option<&'a str>,
    ) -> PostHeaders<'a> {
        PostHeaders {
            origin,
            sec_fetch_site: site,
            referer,
        }
    }

    #[test]
    fn origins_parse_and_normalise() {
        let o = Origin::parse("HTTPS://LB1.Example.NET/").unwrap();
        assert_eq!(o.to_string(), "https://lb1.example.net:443");
        assert_eq!(Origin::parse("https://lb1.example.net:443").unwrap(), o);
        assert_eq!(
            Origin::parse("http://[2001:DB8::1]:3636")
                .unwrap()
                .to_string(),
            "http://[2001:db8::1]:3636"
        );
        for bad in [
            "lb1",
            "ftp://lb1",
            "http://",
            "http://lb1:x",
            "http://lb1:",
            "http://lb1/path",
            "http://u@lb1",
            "http://2001:db8::1",
            "http://lb1:99999",
            "null",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Origin::of_url("http://127.0.0.1:3636/virtual/web?x=1")
                .unwrap()
                .to_string(),
            "http://127.0.0.1:3636"
        );
    }

    #[test]
    fn same_origin_requests_pass() {
        let p = policy();
        assert_eq!(
            check_origin(
                &p,
                &h(Some("http://127.0.0.1:3636"), Some("same-origin"), None)
            ),
            Ok(())
        );
        assert_eq!(
            check_origin(&p, &h(Some("https://lb1.example.net"), None, None)),
            Ok(())
        );
        assert_eq!(check_origin(&p, &h(None, Some("none"), None)), Ok(()));
        assert_eq!(
            check_origin(&p, &h(None, None, Some("http://127.0.0.1:3636/global"))),
            Ok(())
        );
        // A text browser sends none of them.
        assert_eq!(check_origin(&p, &h(None, None, None)), Ok(()));
    }

    #[test]
    fn foreign_requests_are_refused() {
        let p = policy();
        assert_eq!(
            check_origin(&p, &h(Some("http://198.51.100.7"), None, None)),
            Err(Refusal::ForeignOrigin("http://198.51.100.7".into()))
        );
        assert_eq!(
            check_origin(&p, &h(Some("null"), None, None)),
            Err(Refusal::ForeignOrigin("null".into()))
        );
        // Another port of the same host is another origin.
        assert!(check_origin(&p, &h(Some("http://127.0.0.1:8080"), None, None)).is_err());
        assert_eq!(
            check_origin(
                &p,
                &h(Some("http://127.0.0.1:3636"), Some("cross-site"), None)
            ),
            Err(Refusal::CrossSite("cross-site".into()))
        );
        assert!(check_origin(&p, &h(None, Some("same-site"), None)).is_err());
        assert_eq!(
            check_origin(&p, &h(None, None, Some("http://203.0.113.9/x"))),
            Err(Refusal::ForeignReferer("http://203.0.113.9/x".into()))
        );
        // Origin wins over a matching Referer.
        assert!(
            check_origin(
                &p,
                &h(
                    Some("http://203.0.113.9"),
                    None,
                    Some("http://127.0.0.1:3636/")
                )
            )
            .is_err()
        );
        let strict = policy().require_origin(true);
        assert_eq!(
            check_origin(&strict, &h(None, None, None)),
            Err(Refusal::NoOrigin)
        );
        assert_eq!(
            check_origin(&strict, &h(None, Some("same-origin"), None)),
            Ok(())
        );
    }

    #[test]
    fn token_must_be_the_sessions() {
        let t = CsrfToken::generate().unwrap();
        let other = CsrfToken::generate().unwrap();
        let p = policy();
        let ok = h(Some("http://127.0.0.1:3636"), None, None);
        assert_eq!(check_post(&p, &ok, &t, Some(t.as_str())), Ok(()));
        assert_eq!(check_post(&p, &ok, &t, None), Err(Refusal::NoToken));
        assert_eq!(check_post(&p, &ok, &t, Some("")), Err(Refusal::NoToken));
        assert_eq!(
            check_post(&p, &ok, &t, Some(other.as_str())),
            Err(Refusal::BadToken)
        );
        assert_eq!(
            check_post(&p, &ok, &t, Some(&t.as_str()[..63])),
            Err(Refusal::BadToken)
        );
        // A right token from a foreign origin is still refused.
        let bad = h(Some("http://198.51.100.7"), None, None);
        assert!(matches!(
            check_post(&p, &bad, &t, Some(t.as_str())),
            Err(Refusal::ForeignOrigin(_))
        ));
    }

    #[test]
    fn long_header_values_are_cut_in_the_reason() {
        let long = format!("http://{}", "a".repeat(300));
        let Err(Refusal::ForeignOrigin(v)) = check_origin(&policy(), &h(Some(&long), None, None))
        else {
            panic!("not refused");
        };
        assert_eq!(v.chars().count(), 101);
    }
}
