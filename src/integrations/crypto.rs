//! Encryption at rest for integration credentials: XChaCha20-Poly1305 (RustCrypto), a
//! fresh random nonce per write, the record's organization, provider and remote id bound
//! as associated data (a ciphertext moved to another row fails to decrypt), and a key id
//! stored beside it so older keys keep decrypting until records are rewritten.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use crate::config::SecretKey;

const NONCE_LEN: usize = 24;

/// What a credential is bound to.
pub struct Binding<'a> {
    pub organization: &'a str,
    pub provider: &'a str,
    pub remote_id: &'a str,
}

impl Binding<'_> {
    /// Length-prefixed, so no two different bindings serialise alike.
    fn associated_data(&self) -> Vec<u8> {
        let mut out = b"bink-proxy integration v1".to_vec();
        for part in [self.organization, self.provider, self.remote_id] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

struct Keyed {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// The current key (for writing) and every key accepted for reading.
pub struct CredentialCipher {
    current: Keyed,
    previous: Vec<Keyed>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("record was sealed with key {0}, which is not configured (integrations.encryption_key / previous_encryption_keys)")]
    UnknownKey(String),
    #[error("record does not decrypt: wrong key, or moved from another row")]
    Corrupt,
}

/// A short, stable, non-secret name for a key.
pub fn key_id(key: &SecretKey) -> String {
    let digest = Sha256::digest([b"bink-proxy key id".as_slice(), &key.0].concat());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

impl CredentialCipher {
    pub fn new(current: &SecretKey, previous: &[SecretKey]) -> CredentialCipher {
        let keyed = |k: &SecretKey| Keyed {
            id: key_id(k),
            cipher: XChaCha20Poly1305::new(&k.0.into()),
        };
        CredentialCipher {
            current: keyed(current),
            previous: previous.iter().map(keyed).collect(),
        }
    }

    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    pub fn knows(&self, key_id: &str) -> bool {
        self.current.id == key_id || self.previous.iter().any(|k| k.id == key_id)
    }

    /// (nonce ‖ ciphertext, key id) under the current key.
    pub fn seal(&self, binding: &Binding<'_>, plaintext: &str) -> (Vec<u8>, String) {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let aad = binding.associated_data();
        let sealed = self
            .current
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        (out, self.current.id.clone())
    }

    pub fn open(
        &self,
        binding: &Binding<'_>,
        sealed: &[u8],
        key_id: &str,
    ) -> Result<String, CryptoError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == key_id)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.to_string()))?;
        if sealed.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Corrupt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Corrupt)?;
        let aad = binding.associated_data();
        let plain = key
            .cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding<'a>(org: &'a str, remote: &'a str) -> Binding<'a> {
        Binding {
            organization: org,
            provider: "bindbee",
            remote_id: remote,
        }
    }

    #[test]
    fn round_trip_with_fresh_nonces() {
        let c = CredentialCipher::new(&SecretKey([1; 32]), &[]);
        let (a, id) = c.seal(&binding("org", "r1"), "ct_secret");
        let (b, _) = c.seal(&binding("org", "r1"), "ct_secret");
        assert_ne!(a, b);
        assert_eq!(c.open(&binding("org", "r1"), &a, &id).unwrap(), "ct_secret");
        assert!(!a.windows(9).any(|w| w == b"ct_secret"));
    }

    #[test]
    fn moved_ciphertext_fails_to_decrypt() {
        let c = CredentialCipher::new(&SecretKey([1; 32]), &[]);
        let (sealed, id) = c.seal(&binding("org-a", "r1"), "ct");
        assert_eq!(
            c.open(&binding("org-b", "r1"), &sealed, &id),
            Err(CryptoError::Corrupt)
        );
        assert_eq!(
            c.open(&binding("org-a", "r2"), &sealed, &id),
            Err(CryptoError::Corrupt)
        );
        // Length prefixes keep ("ab","c") and ("a","bc") apart.
        assert_eq!(
            c.open(&binding("org-a", "r1"), &sealed[..sealed.len() - 1], &id),
            Err(CryptoError::Corrupt)
        );
    }

    #[test]
    fn previous_keys_still_decrypt_and_unknown_keys_are_named() {
        let old = SecretKey([1; 32]);
        let new = SecretKey([2; 32]);
        let (sealed, old_id) = CredentialCipher::new(&old, &[]).seal(&binding("o", "r"), "v");
        let rotated = CredentialCipher::new(&new, std::slice::from_ref(&old));
        assert_eq!(
            rotated.open(&binding("o", "r"), &sealed, &old_id).unwrap(),
            "v"
        );
        assert_ne!(rotated.current_key_id(), old_id);
        let without_old = CredentialCipher::new(&new, &[]);
        assert_eq!(
            without_old.open(&binding("o", "r"), &sealed, &old_id),
            Err(CryptoError::UnknownKey(old_id.clone()))
        );
    }
}
