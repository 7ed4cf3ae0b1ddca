//! `X-Bink-Assertion`: an ES256 JWT the proxy signs for every authenticated request, so an
//! upstream can check that a request really came through the proxy (the public key is at
//! `/.well-known/jwks.json`).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use p256::SecretKey;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::identity::Identity;

/// Lifetime of an assertion: long enough for one request to reach the upstream.
pub const ASSERTION_TTL_SECS: u64 = 60;

pub struct AssertionSigner {
    key: EncodingKey,
    header: Header,
    issuer: String,
    audience: String,
    jwks: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0} is not a PKCS#8 PEM P-256 private key")]
    Parse(String),
    #[error("key encoding failed: {0}")]
    Encode(String),
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    iat: u64,
    exp: u64,
    email: Option<&'a str>,
    username: Option<&'a str>,
    plan: &'static str,
    verification_level: u8,
}

impl AssertionSigner {
    /// Loads the key from `key_file`, or generates one for this process when `None`.
    pub fn new(
        key_file: Option<&Path>,
        issuer: String,
        audience: String,
    ) -> Result<Self, KeyError> {
        let secret = match key_file {
            Some(path) => {
                let name = path.display().to_string();
                let pem =
                    std::fs::read_to_string(path).map_err(|e| KeyError::Read(name.clone(), e))?;
                SecretKey::from_pkcs8_pem(&pem).map_err(|_| KeyError::Parse(name))?
            }
            None => SecretKey::random(&mut rand::rngs::OsRng),
        };
        let pem = secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| KeyError::Encode(e.to_string()))?;
        let key = EncodingKey::from_ec_pem(pem.as_bytes())
            .map_err(|e| KeyError::Encode(e.to_string()))?;
        let public = secret.public_key();
        let kid = key_id(&public);
        let mut jwk: serde_json::Value = serde_json::from_str(&public.to_jwk_string())
            .map_err(|e| KeyError::Encode(e.to_string()))?;
        jwk["kid"] = kid.clone().into();
        jwk["use"] = "sig".into();
        jwk["alg"] = "ES256".into();
        let jwks = serde_json::json!({ "keys": [jwk] }).to_string();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid);
        Ok(AssertionSigner {
            key,
            header,
            issuer,
            audience,
            jwks,
        })
    }

    /// The JWKS document served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> &str {
        &self.jwks
    }

    pub fn sign(&self, identity: &Identity) -> Option<String> {
        let iat = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
        let claims = Claims {
            iss: &self.issuer,
            aud: &self.audience,
            sub: &identity.id,
            iat,
            exp: iat + ASSERTION_TTL_SECS,
            email: identity.email.as_deref(),
            username: identity.username.as_deref(),
            plan: identity.plan.as_str(),
            verification_level: identity.verification_level,
        };
        jsonwebtoken::encode(&self.header, &claims, &self.key).ok()
    }
}

/// RFC 7638-style thumbprint of the public key, shortened: stable for a given key.
fn key_id(public: &p256::PublicKey) -> String {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let digest = Sha256::digest(public.to_encoded_point(false).as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..12])
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn assertion_verifies_with_the_published_jwk() {
        let signer =
            AssertionSigner::new(None, "http://proxy".into(), "http://app".into()).unwrap();
        let identity = Identity::from_bink_json(
            br#"{"id":"u1","name":null,"email":"a@b.c","username":"ada","plan":"FREE","verificationLevel":1}"#,
        )
        .unwrap();
        let jwt = signer.sign(&identity).unwrap();
        let jwks: serde_json::Value = serde_json::from_str(signer.jwks()).unwrap();
        let jwk = &jwks["keys"][0];
        let key =
            DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())
                .unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&["http://app"]);
        validation.set_issuer(&["http://proxy"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(&jwt, &key, &validation).unwrap();
        assert_eq!(data.claims["sub"], "u1");
        assert_eq!(data.claims["username"], "ada");
        assert_eq!(data.claims["verification_level"], 1);
        assert_eq!(data.header.kid.as_deref(), jwk["kid"].as_str());
        let exp = data.claims["exp"].as_u64().unwrap();
        assert_eq!(
            exp - data.claims["iat"].as_u64().unwrap(),
            ASSERTION_TTL_SECS
        );
    }

    #[test]
    fn a_key_file_that_is_not_a_p256_key_is_an_error() {
        let dir = std::env::temp_dir().join(format!("bink-key-{}", std::process::id()));
        std::fs::write(&dir, "not a key").unwrap();
        let err = AssertionSigner::new(Some(&dir), "i".into(), "a".into())
            .err()
            .unwrap();
        assert!(matches!(err, KeyError::Parse(_)));
        let _ = std::fs::remove_file(dir);
    }
}
