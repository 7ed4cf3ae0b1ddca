//! Who is calling `/integrations`: the authenticated caller within its organization, and
//! the rule a cookie-authenticated write must also pass (same origin, JSON).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::HeaderMap;

use super::Integrations;
use crate::auth::context::Context;
use crate::error::ProxyError;
use crate::identity::{AuthMethod, Caller};

/// The caller (admitted by the auth layer) and the organization its integrations belong to.
#[derive(Debug, Clone)]
pub struct Member {
    pub caller: Caller,
    pub organization: String,
}

impl FromRequestParts<Arc<Integrations>> for Member {
    type Rejection = ProxyError;

    async fn from_request_parts(
        parts: &mut Parts,
        integrations: &Arc<Integrations>,
    ) -> Result<Member, ProxyError> {
        let ctx = Context::from_request_parts(parts, integrations).await?;
        // A skip_auth rule covering /integrations passes requests without identity: refuse.
        let caller = ctx.caller().cloned().ok_or(ProxyError::Unauthenticated)?;
        let organization = integrations
            .organization_of(&caller.identity)
            .ok_or(ProxyError::NoOrganization)?;
        Ok(Member {
            caller,
            organization,
        })
    }
}

/// Cookie-authenticated writes must come from our origin (`Origin`, else
/// `Sec-Fetch-Site: same-origin`) and, with a body, be JSON. Bearer callers are exempt:
/// a browser never attaches a bearer token on its own.
pub fn check_csrf(
    public_origin: &str,
    caller: &Caller,
    headers: &HeaderMap,
    with_body: bool,
) -> Result<(), ProxyError> {
    if caller.method() != AuthMethod::Session {
        return Ok(());
    }
    let same_origin = match headers.get(http::header::ORIGIN) {
        Some(sent) => sent.as_bytes() == public_origin.as_bytes(),
        None => headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"same-origin"),
    };
    let json = !with_body
        || headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
    if same_origin && json {
        Ok(())
    } else {
        Err(ProxyError::CsrfRejected)
    }
}
