//! `[headers]`: what the upstream receives besides the identity headers (the client's
//! `Authorization`, the caller's token, a signed identity assertion).

use std::path::PathBuf;

use super::parse::non_empty;
use super::raw::RawHeaders;

#[derive(Debug, Clone, Default)]
pub struct HeaderConfig {
    pub pass_authorization: bool,
    pub pass_access_token: bool,
    pub identity_jwt: bool,
    pub identity_jwt_key_file: Option<PathBuf>,
}

/// Every key is optional and none can be wrong once it has the right type.
pub(super) fn validate_headers(r: &RawHeaders) -> HeaderConfig {
    HeaderConfig {
        pass_authorization: r.pass_authorization.unwrap_or(false),
        pass_access_token: r.pass_access_token.unwrap_or(false),
        identity_jwt: r.identity_jwt.unwrap_or(false),
        identity_jwt_key_file: non_empty(&r.identity_jwt_key_file).map(PathBuf::from),
    }
}
