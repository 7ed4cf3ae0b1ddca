//! Who is calling. [`Identity`] is the profile Bink's user endpoint returns; a
//! [`Principal`] is one the proxy has verified and shares between requests; a [`Caller`] is
//! the principal of one request, with how it authenticated and the credential it used.

pub mod assertion;
#[cfg(test)]
pub mod fixtures;
pub mod wire;

use std::ops::{Deref, Range};
use std::sync::{Arc, OnceLock};

use http::HeaderValue;
use serde::{Deserialize, Serialize};

use wire::IdentityHeaders;

/// A Bink account's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Plan {
    Free,
    Verified,
    Business,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "FREE",
            Plan::Verified => "VERIFIED",
            Plan::Business => "BUSINESS",
        }
    }

    pub fn parse(s: &str) -> Option<Plan> {
        match s {
            "FREE" => Some(Plan::Free),
            "VERIFIED" => Some(Plan::Verified),
            "BUSINESS" => Some(Plan::Business),
            _ => None,
        }
    }
}

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    Bearer,
    Session,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Bearer => "bearer",
            AuthMethod::Session => "session",
        }
    }
}

/// The documented body of `GET /api/oauth/user`. Unknown fields are ignored; anything that
/// does not fit this shape is treated as an identity-provider failure, never as a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub username: Option<String>,
    #[serde(default)]
    pub avatar: Option<String>,
    pub plan: Plan,
    #[serde(rename = "verificationLevel", deserialize_with = "verification_level")]
    pub verification_level: u8,
}

fn verification_level<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let v = u8::deserialize(d)?;
    if v <= 2 {
        Ok(v)
    } else {
        Err(serde::de::Error::custom(
            "verificationLevel must be 0, 1 or 2",
        ))
    }
}

impl Identity {
    /// Parses Bink's user-endpoint body; `None` when it is not the documented JSON.
    pub fn from_bink_json(body: &[u8]) -> Option<Identity> {
        let identity: Identity = serde_json::from_slice(body).ok()?;
        (!identity.id.is_empty()).then_some(identity)
    }

    /// The name shown to the upstream as `X-Auth-Request-User`: username, else id.
    pub fn user(&self) -> &str {
        self.username.as_deref().unwrap_or(&self.id)
    }

    /// The lower-cased domain of the email, if there is an email with exactly one `@`.
    pub fn email_domain(&self) -> Option<String> {
        let email = self.email.as_deref()?;
        let (local, domain) = email.rsplit_once('@')?;
        (!local.is_empty() && !domain.is_empty() && !local.contains('@'))
            .then(|| domain.to_ascii_lowercase())
    }
}

/// A verified identity as the proxy holds it: the profile, plus the upstream header values
/// derived from it, built on first use and then shared by every request of that identity
/// (a cached bearer token's requests encode nothing).
#[derive(Debug)]
pub struct Principal {
    identity: Identity,
    header_values: OnceLock<IdentityHeaders>,
}

impl Principal {
    pub fn header_values(&self) -> &IdentityHeaders {
        self.header_values
            .get_or_init(|| IdentityHeaders::of(&self.identity))
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }
}

impl From<Identity> for Principal {
    fn from(identity: Identity) -> Principal {
        Principal {
            identity,
            header_values: OnceLock::new(),
        }
    }
}

impl Deref for Principal {
    type Target = Identity;

    fn deref(&self) -> &Identity {
        &self.identity
    }
}

/// Who is calling, verified: every authenticated route and the access log read this one
/// type, whichever way the caller proved itself.
#[derive(Debug, Clone)]
pub struct Caller {
    pub identity: Arc<Principal>,
    pub credential: Credential,
}

impl Caller {
    pub fn method(&self) -> AuthMethod {
        match self.credential {
            Credential::Bearer { .. } => AuthMethod::Bearer,
            Credential::Session(_) => AuthMethod::Session,
        }
    }

    /// The Bink token the caller proved itself with (for `pass_access_token`): the bearer
    /// token it sent, or the one its session holds.
    pub fn token(&self) -> &str {
        self.credential.token()
    }
}

/// The credential a caller was verified with.
#[derive(Clone)]
pub enum Credential {
    /// The `Authorization` value as sent, shared rather than copied (a clone is a
    /// reference-count bump), and where the token sits in it.
    Bearer {
        header: HeaderValue,
        token: Range<usize>,
    },
    /// The Bink token the session holds.
    Session(Arc<str>),
}

impl Credential {
    /// `token` must lie inside `header`'s bytes (it is the part of the header the caller
    /// validated); `None` when it does not.
    pub fn bearer(header: &HeaderValue, token: &str) -> Option<Credential> {
        let bytes = header.as_bytes();
        let start = (token.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
        let end = start.checked_add(token.len())?;
        (end <= bytes.len()).then(|| Credential::Bearer {
            header: header.clone(),
            token: start..end,
        })
    }

    pub fn token(&self) -> &str {
        match self {
            // The range was cut from a `&str` of these very bytes, so it is UTF-8.
            Credential::Bearer { header, token } => header
                .as_bytes()
                .get(token.clone())
                .and_then(|t| std::str::from_utf8(t).ok())
                .unwrap_or(""),
            Credential::Session(token) => token,
        }
    }
}

/// Never the token itself, in a log line or a panic message.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Bearer { .. } => f.write_str("Bearer([redacted])"),
            Credential::Session(_) => f.write_str("Session([redacted])"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_credential_is_the_token_inside_the_header_and_never_debug_printed() {
        let header = HeaderValue::from_static("Bearer  bink_pat_abc ");
        let text = header.to_str().unwrap();
        let credential = Credential::bearer(&header, &text[8..20]).unwrap();
        assert_eq!(credential.token(), "bink_pat_abc");
        assert!(!format!("{credential:?}").contains("bink_pat"));
        // A token from some other buffer is refused, not read out of bounds.
        let elsewhere = String::from("bink_pat_abc");
        assert!(Credential::bearer(&header, &elsewhere).is_none());
    }

    #[test]
    fn parses_the_documented_body_and_ignores_unknown_fields() {
        let body = br#"{"id":"u1","name":"Zo\u00eb","email":null,"username":"zoe","avatar":null,
            "plan":"BUSINESS","verificationLevel":2,"newField":{"x":1}}"#;
        let id = Identity::from_bink_json(body).unwrap();
        assert_eq!(id.id, "u1");
        assert_eq!(id.name.as_deref(), Some("Zoë"));
        assert_eq!(id.email, None);
        assert_eq!(id.plan, Plan::Business);
        assert_eq!(id.user(), "zoe");
    }

    #[test]
    fn rejects_bodies_that_are_not_the_documented_json() {
        for body in [
            &b"<html>oops</html>"[..],
            br#"{"id":"u1"}"#,
            br#"{"id":"","name":null,"email":null,"username":null,"plan":"FREE","verificationLevel":0}"#,
            br#"{"id":"u1","name":null,"email":null,"username":null,"plan":"GOLD","verificationLevel":0}"#,
            br#"{"id":"u1","name":null,"email":null,"username":null,"plan":"FREE","verificationLevel":7}"#,
            br#"[]"#,
        ] {
            assert!(Identity::from_bink_json(body).is_none(), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn email_domain_is_lower_cased_and_needs_one_at_sign() {
        let mut id = Identity::from_bink_json(
            br#"{"id":"u","name":null,"email":"A@ACME.com","username":null,"plan":"FREE","verificationLevel":0}"#,
        )
        .unwrap();
        assert_eq!(id.email_domain().as_deref(), Some("acme.com"));
        id.email = Some("a@b@acme.com".into());
        assert_eq!(id.email_domain(), None);
        id.email = None;
        assert_eq!(id.email_domain(), None);
    }
}
