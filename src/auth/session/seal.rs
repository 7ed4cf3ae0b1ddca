//! Authenticated encryption for everything the proxy hands a browser to keep: session
//! cookies, per-login CSRF cookies and server-side session records.
//!
//! XChaCha20-Poly1305 (RustCrypto) under a subkey derived from `session.cookie_secret`
//! with HKDF-SHA256, one subkey per *purpose*: a CSRF cookie can never be decrypted as a
//! session, or the reverse. The cookie name goes into the associated data, so a value
//! cannot be moved to another cookie either. A fresh random 192-bit nonce per seal.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;

const NONCE_LEN: usize = 24;

/// What a sealed value is for; each purpose has its own key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Session,
    Csrf,
    /// Session records kept in Redis.
    StoredSession,
}

impl Purpose {
    fn info(self) -> &'static [u8] {
        match self {
            Purpose::Session => b"bink-proxy v1 session cookie",
            Purpose::Csrf => b"bink-proxy v1 csrf cookie",
            Purpose::StoredSession => b"bink-proxy v1 stored session",
        }
    }
}

#[derive(Clone)]
pub struct Sealer {
    session: XChaCha20Poly1305,
    csrf: XChaCha20Poly1305,
    stored: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    /// `secret` is the 32-byte `cookie_secret`.
    pub fn new(secret: &[u8; 32]) -> Sealer {
        let hkdf = Hkdf::<Sha256>::new(Some(b"bink-proxy"), secret);
        let derive = |purpose: Purpose| {
            let mut key = [0u8; 32];
            // 32 bytes is far below HKDF-SHA256's 8160-byte limit.
            let _ = hkdf.expand(purpose.info(), &mut key);
            XChaCha20Poly1305::new(&key.into())
        };
        Sealer {
            session: derive(Purpose::Session),
            csrf: derive(Purpose::Csrf),
            stored: derive(Purpose::StoredSession),
        }
    }

    fn cipher(&self, purpose: Purpose) -> &XChaCha20Poly1305 {
        match purpose {
            Purpose::Session => &self.session,
            Purpose::Csrf => &self.csrf,
            Purpose::StoredSession => &self.stored,
        }
    }

    /// base64url(nonce ‖ ciphertext), bound to `context` (the cookie name or record key).
    pub fn seal(&self, purpose: Purpose, context: &str, plaintext: &[u8]) -> String {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = self
            .cipher(purpose)
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The plaintext, or `None` for anything tampered, truncated, foreign or misplaced.
    pub fn open(&self, purpose: Purpose, context: &str, sealed: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed.as_bytes()).ok()?;
        if bytes.len() < NONCE_LEN + 16 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        self.cipher(purpose)
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(b: u8) -> Sealer {
        Sealer::new(&[b; 32])
    }

    #[test]
    fn round_trips_and_uses_a_fresh_nonce() {
        let s = sealer(1);
        let a = s.seal(Purpose::Session, "c", b"hello");
        let b = s.seal(Purpose::Session, "c", b"hello");
        assert_ne!(a, b);
        assert_eq!(s.open(Purpose::Session, "c", &a).unwrap(), b"hello");
    }

    #[test]
    fn purpose_context_and_key_are_all_bound() {
        let s = sealer(1);
        let v = s.seal(Purpose::Csrf, "c", b"x");
        assert!(
            s.open(Purpose::Session, "c", &v).is_none(),
            "csrf cookie replayed as a session"
        );
        assert!(
            s.open(Purpose::Csrf, "other", &v).is_none(),
            "moved to another cookie"
        );
        assert!(
            sealer(2).open(Purpose::Csrf, "c", &v).is_none(),
            "foreign secret"
        );
    }

    #[test]
    fn tampered_and_truncated_values_are_rejected() {
        let s = sealer(1);
        let v = s.seal(Purpose::Session, "c", b"payload");
        let mut bytes = URL_SAFE_NO_PAD.decode(&v).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(s
            .open(Purpose::Session, "c", &URL_SAFE_NO_PAD.encode(&bytes))
            .is_none());
        assert!(s.open(Purpose::Session, "c", &v[..v.len() - 4]).is_none());
        assert!(s.open(Purpose::Session, "c", "").is_none());
        assert!(s.open(Purpose::Session, "c", "not base64 !!").is_none());
    }
}
