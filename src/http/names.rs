//! The header names the proxy sets or owns (SPEC §6), spelled once. Statics rather than
//! strings: inserting by `&str` parses the name again on every call.

use http::header::HeaderName;

pub static X_AUTH_REQUEST_USER: HeaderName = HeaderName::from_static("x-auth-request-user");
pub static X_AUTH_REQUEST_EMAIL: HeaderName = HeaderName::from_static("x-auth-request-email");
pub static X_AUTH_REQUEST_PREFERRED_USERNAME: HeaderName =
    HeaderName::from_static("x-auth-request-preferred-username");
pub static X_BINK_USER_ID: HeaderName = HeaderName::from_static("x-bink-user-id");
pub static X_BINK_NAME: HeaderName = HeaderName::from_static("x-bink-name");
pub static X_BINK_PLAN: HeaderName = HeaderName::from_static("x-bink-plan");
pub static X_BINK_VERIFICATION_LEVEL: HeaderName =
    HeaderName::from_static("x-bink-verification-level");
pub static X_BINK_AUTH_METHOD: HeaderName = HeaderName::from_static("x-bink-auth-method");
pub static X_BINK_ASSERTION: HeaderName = HeaderName::from_static("x-bink-assertion");
pub static X_FORWARDED_ACCESS_TOKEN: HeaderName =
    HeaderName::from_static("x-forwarded-access-token");
pub static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
