//! Decoders for everything a client sends: `application/x-www-form-urlencoded`
//! bodies ([`Form`]) and the JSON API's bodies ([`json`]), each with a
//! typed error naming the place. They allocate at most what the limits
//! allow and never panic (the fuzz target `bin/lvs-web/fuzz` drives them).

use std::fmt;

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Most fields a form may carry (the largest panel has a few dozen).
pub const MAX_FIELDS: usize = 512;
/// Longest field name.
pub const MAX_NAME: usize = 256;
/// Longest field value (a send string or a reason; lvs.cf itself is not
/// posted through forms).
pub const MAX_VALUE: usize = 16 * 1024;

/// What is wrong with a form body, or with a field in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// `%` not followed by two hex digits, at this byte offset.
    BadPercent { offset: usize },
    /// A name or value that is not UTF-8 once decoded.
    NotUtf8 { field: String },
    /// More than [`MAX_FIELDS`] fields.
    TooManyFields,
    /// A name longer than [`MAX_NAME`], at this byte offset.
    NameTooLong { offset: usize },
    /// A value longer than [`MAX_VALUE`].
    ValueTooLong { field: String },
    /// A field the action needs is absent.
    Missing { field: String },
    /// A field that may appear once appears more often.
    Repeated { field: String },
    /// A field whose value is not one the action takes.
    Invalid { field: String, reason: String },
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormError::BadPercent { offset } => {
                write!(f, "form body, byte {offset}: '%' needs two hex digits")
            }
            FormError::NotUtf8 { field } => write!(f, "field {field:?}: not UTF-8"),
            FormError::TooManyFields => write!(f, "form body: more than {MAX_FIELDS} fields"),
            FormError::NameTooLong { offset } => {
                write!(
                    f,
                    "form body, byte {offset}: a field name longer than {MAX_NAME} bytes"
                )
            }
            FormError::ValueTooLong { field } => {
                write!(f, "field {field:?}: longer than {MAX_VALUE} bytes")
            }
            FormError::Missing { field } => write!(f, "field {field:?} is missing"),
            FormError::Repeated { field } => write!(f, "field {field:?} given more than once"),
            FormError::Invalid { field, reason } => write!(f, "field {field:?}: {reason}"),
        }
    }
}

impl std::error::Error for FormError {}

/// A decoded form: its fields in the order sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Decodes a urlencoded body (`+` is a space, `%XX` a byte).
    pub fn parse(body: &[u8]) -> Result<Form, FormError> {
        let mut pairs = Vec::new();
        let mut offset = 0;
        for part in body.split(|&b| b == b'&') {
            let here = offset;
            offset += part.len() + 1;
            if part.is_empty() {
                continue;
            }
            if pairs.len() == MAX_FIELDS {
                return Err(FormError::TooManyFields);
            }
            let eq = part.iter().position(|&b| b == b'=');
            let (raw_name, raw_value) = match eq {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &[][..]),
            };
            if raw_name.len() > MAX_NAME * 3 {
                return Err(FormError::NameTooLong { offset: here });
            }
            let name = percent_decode(raw_name, here)?;
            if name.len() > MAX_NAME {
                return Err(FormError::NameTooLong { offset: here });
            }
            let name = String::from_utf8(name).map_err(|e| FormError::NotUtf8 {
                field: String::from_utf8_lossy(e.as_bytes()).into_owned(),
            })?;
            if raw_value.len() > MAX_VALUE * 3 {
                return Err(FormError::ValueTooLong { field: name });
            }
            let value_at = here + raw_name.len() + usize::from(eq.is_some());
            let value = percent_decode(raw_value, value_at)?;
            if value.len() > MAX_VALUE {
                return Err(FormError::ValueTooLong { field: name });
            }
            let value = String::from_utf8(value).map_err(|_| FormError::NotUtf8 {
                field: name.clone(),
            })?;
            pairs.push((name, value));
        }
        Ok(Form { pairs })
    }

    /// Every field, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The field's value when it appears exactly once (absent: None;
    /// repeated: an error, so that a smuggled second value cannot win).
    pub fn get(&self, name: &str) -> Result<Option<&str>, FormError> {
        let mut it = self.pairs.iter().filter(|(n, _)| n == name);
        let first = it.next().map(|(_, v)| v.as_str());
        if it.next().is_some() {
            return Err(FormError::Repeated { field: name.into() });
        }
        Ok(first)
    }

    /// The field's value; absent is an error.
    pub fn one(&self, name: &str) -> Result<&str, FormError> {
        self.get(name)?
            .ok_or_else(|| FormError::Missing { field: name.into() })
    }

    /// Every value of a repeatable field.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn percent_decode(raw: &[u8], base: usize) -> Result<Vec<u8>, FormError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                let (Some(h), Some(l)) = (
                    raw.get(i + 1).copied().and_then(hex),
                    raw.get(i + 2).copied().and_then(hex),
                ) else {
                    return Err(FormError::BadPercent { offset: base + i });
                };
                // Both digits are < 16, so this fits a byte.
                out.push(u8::try_from(h * 16 + l).unwrap_or(0));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Ok(out)
}

/// A runtime action on one real server (not saved to lvs.cf): the helper's
/// own type, so the form, the API and the socket read the same words.
pub use admin::proto::ControlAction;

/// The login form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub password: String,
}

impl Login {
    pub fn from_form(f: &Form) -> Result<Login, FormError> {
        let user = f.one("user")?.to_owned();
        if user.is_empty() || user.len() > 64 || user.chars().any(char::is_control) {
            return Err(FormError::Invalid {
                field: "user".into(),
                reason: "a user name of 1 to 64 printable characters".into(),
            });
        }
        Ok(Login {
            user,
            password: f.one("password")?.to_owned(),
        })
    }
}

/// A runtime action posted from the status page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    pub virtual_name: String,
    pub server: String,
    pub action: ControlAction,
}

impl Control {
    pub fn from_form(f: &Form) -> Result<Control, FormError> {
        let action = f.one("action")?;
        let action = action
            .parse::<ControlAction>()
            .map_err(|_| FormError::Invalid {
                field: "action".into(),
                reason: "one of down, up, normal, drain".into(),
            })?;
        Ok(Control {
            virtual_name: name_field(f, "virtual")?,
            server: name_field(f, "server")?,
            action,
        })
    }
}

/// A reason for an apply, restore or sync (for the history and the
/// audit log): one line, bounded.
pub fn reason(f: &Form) -> Result<String, FormError> {
    let r = f.get("reason")?.unwrap_or("").trim();
    check_reason(r).map_err(|reason| FormError::Invalid {
        field: "reason".into(),
        reason,
    })?;
    Ok(r.to_owned())
}

fn check_reason(r: &str) -> Result<(), String> {
    if r.len() > 500 {
        return Err("at most 500 bytes".into());
    }
    if r.chars().any(char::is_control) {
        return Err("one line, no control characters".into());
    }
    Ok(())
}

/// A virtual or server name: non-empty, at most 256 bytes, no control
/// characters (lvs.cf names are free text, quoted when needed).
fn name_field(f: &Form, field: &str) -> Result<String, FormError> {
    let v = f.one(field)?;
    if v.is_empty() || v.len() > 256 || v.chars().any(char::is_control) {
        return Err(FormError::Invalid {
            field: field.into(),
            reason: "a name of 1 to 256 printable bytes".into(),
        });
    }
    Ok(v.to_owned())
}

/// Largest JSON body the API takes (an lvs.cf of a few thousand virtuals).
pub const MAX_JSON: usize = 4 * 1024 * 1024;

/// What is wrong with a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "request body {}:{}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for JsonError {}

/// Decodes an API body into one of the request types below.
pub fn json<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, JsonError> {
    if body.len() > MAX_JSON {
        return Err(JsonError {
            line: 0,
            column: 0,
            message: format!("larger than {MAX_JSON} bytes"),
        });
    }
    let v: T = serde_json::from_slice(body).map_err(|e| JsonError {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    v.validate().map_err(|message| JsonError {
        line: 0,
        column: 0,
        message,
    })?;
    Ok(v)
}

/// Checks beyond the shape (lengths, one-line reasons).
pub trait Validate {
    fn validate(&self) -> Result<(), String>;
}

/// `POST /api/v1/check`: diagnostics for a whole file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiText {
    pub text: String,
}

impl Validate for ApiText {
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// `POST /api/v1/stage`: edits (`set A=V`, `unset A`, `add B`, `remove B`,
/// `rename B=N`, as `lvscf::edit::Edit` prints them) applied to the file
/// on disk, or to `text` when given; answers the new text, its diff and
/// the IPVS writes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiStage {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub edits: Vec<String>,
}

impl Validate for ApiStage {
    fn validate(&self) -> Result<(), String> {
        if self.edits.len() > MAX_FIELDS {
            return Err(format!("edits: more than {MAX_FIELDS}"));
        }
        if self.edits.iter().any(|e| e.len() > MAX_VALUE) {
            return Err(format!("edits: one longer than {MAX_VALUE} bytes"));
        }
        Ok(())
    }
}

/// `POST /api/v1/apply`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiApply {
    pub base_digest: String,
    pub text: String,
    #[serde(default)]
    pub reason: String,
}

impl Validate for ApiApply {
    fn validate(&self) -> Result<(), String> {
        check_digest(&self.base_digest)?;
        check_reason(&self.reason).map_err(|e| format!("reason: {e}"))
    }
}

/// `POST /api/v1/restore`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiRestore {
    pub revision: u64,
    #[serde(default)]
    pub reason: String,
}

impl Validate for ApiRestore {
    fn validate(&self) -> Result<(), String> {
        check_reason(&self.reason).map_err(|e| format!("reason: {e}"))
    }
}

/// `POST /api/v1/control`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiControl {
    #[serde(rename = "virtual")]
    pub virtual_name: String,
    pub server: String,
    pub action: ControlAction,
}

impl Validate for ApiControl {
    fn validate(&self) -> Result<(), String> {
        for (what, v) in [("virtual", &self.virtual_name), ("server", &self.server)] {
            if v.is_empty() || v.len() > 256 || v.chars().any(char::is_control) {
                return Err(format!("{what}: a name of 1 to 256 printable bytes"));
            }
        }
        Ok(())
    }
}

/// `POST /api/v1/sync`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSync {
    #[serde(default)]
    pub force: bool,
}

impl Validate for ApiSync {
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// One edit in its command-line form (`set A=V`, `unset A`, `add B`,
/// `remove B`, `rename B=N`, as `lvscf::Edit` prints it); `index` is its
/// place in the request, for the error.
pub fn edit(index: usize, text: &str) -> Result<lvscf::Edit, JsonError> {
    let err = |message: String| JsonError {
        line: 0,
        column: 0,
        message: format!("edits[{index}]: {message}"),
    };
    let (verb, rest) = text
        .trim()
        .split_once(' ')
        .ok_or_else(|| err("expected VERB ARGUMENT (set, unset, add, remove, rename)".into()))?;
    let rest = rest.trim_start();
    let block = |rest: &str| {
        lvscf::edit::block_of(lvscf::Address::parse(rest).map_err(|e| err(e.to_string()))?)
            .map_err(|e| err(e.to_string()))
    };
    Ok(match verb {
        "set" => lvscf::Edit::parse_set(rest).map_err(|e| err(e.to_string()))?,
        "rename" => lvscf::Edit::parse_rename(rest).map_err(|e| err(e.to_string()))?,
        "unset" => lvscf::Edit::Unset(lvscf::Address::parse(rest).map_err(|e| err(e.to_string()))?),
        "add" => lvscf::Edit::Add(block(rest)?),
        "remove" => lvscf::Edit::Remove(block(rest)?),
        other => return Err(err(format!("unknown verb {other:?}"))),
    })
}

/// A SHA-256 digest as 64 lower-case hex digits.
pub fn check_digest(d: &str) -> Result<(), String> {
    if d.len() == 64
        && d.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err("base_digest: 64 lower-case hex digits (SHA-256)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decodes_plus_and_percent() {
        let f = Form::parse(b"user=pi%72anha&password=a+b%26c&&flag").unwrap();
        assert_eq!(f.one("user").unwrap(), "piranha");
        assert_eq!(f.one("password").unwrap(), "a b&c");
        assert_eq!(f.one("flag").unwrap(), "");
        assert_eq!(f.get("absent").unwrap(), None);
    }

    #[test]
    fn form_errors_name_the_place() {
        assert_eq!(
            Form::parse(b"a=1&b=%4").unwrap_err(),
            FormError::BadPercent { offset: 6 }
        );
        assert_eq!(
            Form::parse(b"a=%zz").unwrap_err(),
            FormError::BadPercent { offset: 2 }
        );
        assert_eq!(
            Form::parse(b"x=%ff").unwrap_err(),
            FormError::NotUtf8 { field: "x".into() }
        );
        let many = "a=1&".repeat(MAX_FIELDS + 1);
        assert_eq!(
            Form::parse(many.as_bytes()).unwrap_err(),
            FormError::TooManyFields
        );
        let long = format!("v={}", "x".repeat(MAX_VALUE + 1));
        assert_eq!(
            Form::parse(long.as_bytes()).unwrap_err(),
            FormError::ValueTooLong { field: "v".into() }
        );
        let f = Form::parse(b"a=1&a=2").unwrap();
        assert_eq!(
            f.get("a").unwrap_err(),
            FormError::Repeated { field: "a".into() }
        );
        assert_eq!(f.all("a").collect::<Vec<_>>(), vec!["1", "2"]);
    }

    #[test]
    fn control_and_login_forms() {
        let f = Form::parse(b"virtual=web&server=web1&action=normal").unwrap();
        let c = Control::from_form(&f).unwrap();
        assert_eq!(c.action, ControlAction::Normal);
        assert_eq!(c.server, "web1");
        for action in ["down", "up", "normal", "drain"] {
            let f =
                Form::parse(format!("virtual=web&server=web1&action={action}").as_bytes()).unwrap();
            assert_eq!(Control::from_form(&f).unwrap().action.word(), action);
        }
        let f = Form::parse(b"virtual=web&server=web1&action=reboot").unwrap();
        assert!(matches!(
            Control::from_form(&f),
            Err(FormError::Invalid { field, .. }) if field == "action"
        ));
        let f = Form::parse(b"user=&password=x").unwrap();
        assert!(Login::from_form(&f).is_err());
        let f = Form::parse(b"reason=line%0Abreak").unwrap();
        assert!(reason(&f).is_err());
    }

    #[test]
    fn json_bodies() {
        let a: ApiApply = json(
            format!(
                r#"{{"base_digest":"{}","text":"x","reason":"r"}}"#,
                "a".repeat(64)
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(a.reason, "r");
        let e = json::<ApiApply>(br#"{"base_digest":"zz","text":"x"}"#).unwrap_err();
        assert!(e.message.contains("64"), "{e}");
        let e = json::<ApiSync>(b"{\n \"forse\": true}").unwrap_err();
        assert_eq!(e.line, 2);
        let e = edit(0, "set virtual.web.server.web1.weight=3").unwrap();
        assert_eq!(e.to_string(), "set virtual.web.server.web1.weight=3");
        assert!(matches!(
            edit(1, "remove virtual.web").unwrap(),
            lvscf::Edit::Remove(_)
        ));
        assert!(
            edit(2, "explode virtual.web")
                .unwrap_err()
                .message
                .starts_with("edits[2]")
        );
        assert!(edit(3, "set").is_err());
        let c: ApiControl = json(br#"{"virtual":"web","server":"web1","action":"down"}"#).unwrap();
        assert_eq!(c.action, ControlAction::Down);
        let c: ApiControl = json(br#"{"virtual":"web","server":"web1","action":"drain"}"#).unwrap();
        assert_eq!(c.action, ControlAction::Drain);
        assert!(json::<ApiControl>(br#"{"virtual":"","server":"a","action":"up"}"#).is_err());
    }
}
