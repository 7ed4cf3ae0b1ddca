//! How an identity travels to the upstream: its identity headers (SPEC §6), encoded once
//! per identity so that a cached identity's requests encode nothing.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use super::assertion::AssertionSigner;
use super::{AuthMethod, Caller, Identity};
use crate::http::names::*;

/// Bytes that get percent-encoded in a header value: everything outside printable ASCII,
/// and `%` so the encoding can be undone unambiguously.
const HEADER_ENCODE: &AsciiSet = &CONTROLS.add(b'%');

/// A header value from profile text: non-ASCII percent-encoded as UTF-8 (`Zoë` →
/// `Zo%C3%AB`), CR/LF/NUL and every other control character encoded too, so no profile
/// can inject a header line.
pub fn encode_value(text: &str) -> HeaderValue {
    let mut encoded = Vec::with_capacity(text.len());
    append_encoded(&mut encoded, text);
    // Only printable ASCII remains, which HeaderValue always accepts.
    HeaderValue::from_maybe_shared(Bytes::from(encoded))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The headers whose values come from profile text, in the order they are added.
static PROFILE_HEADERS: [&HeaderName; 5] = [
    &X_AUTH_REQUEST_USER,
    &X_AUTH_REQUEST_EMAIL,
    &X_AUTH_REQUEST_PREFERRED_USERNAME,
    &X_BINK_USER_ID,
    &X_BINK_NAME,
];

/// The identity headers of one identity, encoded once. A cached identity keeps its own
/// (see [`crate::identity::Principal`]), so each request costs reference-count bumps
/// rather than encoding and an allocation per header.
#[derive(Debug, Clone)]
pub struct IdentityHeaders {
    /// The encoded values of `PROFILE_HEADERS`, back to back in one buffer: a cached
    /// identity holds one allocation here instead of one (and a shared-count block) per
    /// header, about half a kilobyte less per identity (benches/README.md).
    text: Bytes,
    /// Where each value ends in `text`; `None` when the profile lacks that field.
    ends: [Option<u32>; 5],
    plan: &'static str,
    verification_level: HeaderValue,
}

impl IdentityHeaders {
    pub fn of(identity: &Identity) -> IdentityHeaders {
        let values = [
            Some(identity.user()),
            identity.email.as_deref(),
            identity.username.as_deref(),
            Some(identity.id.as_str()),
            identity.name.as_deref(),
        ];
        let mut text = Vec::with_capacity(values.iter().flatten().map(|v| v.len()).sum());
        let mut ends = [None; 5];
        for (end, value) in ends.iter_mut().zip(values) {
            if let Some(value) = value {
                append_encoded(&mut text, value);
                *end = u32::try_from(text.len()).ok();
            }
        }
        IdentityHeaders {
            text: Bytes::from(text),
            ends,
            plan: identity.plan.as_str(),
            // The levels Bink uses need no allocation.
            verification_level: match identity.verification_level {
                0 => HeaderValue::from_static("0"),
                1 => HeaderValue::from_static("1"),
                2 => HeaderValue::from_static("2"),
                other => HeaderValue::from(u16::from(other)),
            },
        }
    }

    /// Sets every header, replacing any value already there.
    pub fn inject(&self, headers: &mut HeaderMap, method: AuthMethod) {
        let mut start = 0;
        for (name, end) in PROFILE_HEADERS.into_iter().zip(self.ends) {
            let Some(end) = end.map(|e| e as usize) else {
                continue;
            };
            // Shares `text`; the bytes were checked printable when encoded, and are
            // checked again here rather than trusted through `unsafe`.
            if let Ok(value) = HeaderValue::from_maybe_shared(self.text.slice(start..end)) {
                headers.insert(name, value);
            }
            start = end;
        }
        headers.insert(&X_BINK_PLAN, HeaderValue::from_static(self.plan));
        headers.insert(&X_BINK_VERIFICATION_LEVEL, self.verification_level.clone());
        headers.insert(
            &X_BINK_AUTH_METHOD,
            HeaderValue::from_static(method.as_str()),
        );
    }
}

/// Appends `text` encoded as [`encode_value`] describes.
fn append_encoded(out: &mut Vec<u8>, text: &str) {
    // Most profile text needs no encoding: copied as it is.
    if text.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'%') {
        out.extend_from_slice(text.as_bytes());
    } else {
        for piece in utf8_percent_encode(text, HEADER_ENCODE) {
            out.extend_from_slice(piece.as_bytes());
        }
    }
}

/// The identity headers of `caller`, and its signed assertion when a signer is configured:
/// what the upstream receives on the proxy path and what forward-auth answers with.
pub fn identity_headers(
    h: &mut http::HeaderMap,
    caller: &Caller,
    signer: Option<&AssertionSigner>,
) {
    caller.identity.header_values().inject(h, caller.method());
    if let Some(jwt) = signer
        .and_then(|s| s.sign(&caller.identity))
        .and_then(|j| HeaderValue::from_str(&j).ok())
    {
        h.insert(X_BINK_ASSERTION.clone(), jwt);
    }
}

#[cfg(test)]
mod tests;
