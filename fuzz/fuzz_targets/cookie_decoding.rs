//! Sealed cookies: nothing but an untouched value we sealed ever opens.
//!
//! 1. An arbitrary string never opens as a session cookie.
//! 2. Sealing arbitrary bytes and changing any one character of the sealed string makes
//!    `open` fail; the untouched value opens to exactly the plaintext, and only for the
//!    purpose, cookie name and key it was sealed for.
#![no_main]

use std::sync::OnceLock;

use bink_proxy::auth::session::seal::{Purpose, Sealer};
use libfuzzer_sys::fuzz_target;

const COOKIE: &str = "_bink_session";

/// The key arbitrary input is opened with.
fn sealer() -> &'static Sealer {
    static SEALER: OnceLock<Sealer> = OnceLock::new();
    SEALER.get_or_init(|| Sealer::new(&[7; 32]))
}

/// A different key for the seal/tamper half. libFuzzer's compare hooks (trace-cmp,
/// memcmp) copy strings the target compares into its dictionary, so a value sealed here
/// comes back as a later input. Under the same key it would (rightly) open in part 1 and
/// look like a forgery; under another key it must not.
fn tamper_sealer() -> &'static Sealer {
    static SEALER: OnceLock<Sealer> = OnceLock::new();
    SEALER.get_or_init(|| Sealer::new(&[9; 32]))
}

fuzz_target!(|data: &[u8]| {
    let sealer = sealer();

    // 1. Forgery from scratch.
    let s = String::from_utf8_lossy(data);
    assert_eq!(
        sealer.open(Purpose::Session, COOKIE, &s),
        None,
        "arbitrary string opened: {s:?}"
    );

    // 2. Tampering: data = position (2 bytes) ‖ replacement char (1 byte) ‖ plaintext.
    if data.len() < 3 {
        return;
    }
    let pos = u16::from_le_bytes([data[0], data[1]]) as usize;
    let replacement = data[2];
    let plaintext = &data[3..];
    let sealer = tamper_sealer();

    let sealed = sealer.seal(Purpose::Session, COOKIE, plaintext);
    assert_eq!(
        sealer.open(Purpose::Session, COOKIE, &sealed).as_deref(),
        Some(plaintext),
        "round trip failed"
    );
    assert_eq!(
        sealer.open(Purpose::Csrf, COOKIE, &sealed),
        None,
        "purpose not bound"
    );
    assert_eq!(
        sealer.open(Purpose::Session, "_bink_csrf", &sealed),
        None,
        "name not bound"
    );
    assert_eq!(
        self::sealer().open(Purpose::Session, COOKIE, &sealed),
        None,
        "opened under a foreign key"
    );

    // The sealed value is base64url (ASCII), so byte positions are char positions.
    let mut bytes = sealed.clone().into_bytes();
    let i = pos % bytes.len();
    // Half the time another base64url char (still decodes, so the AEAD tag has to catch
    // it), otherwise any other printable ASCII char.
    const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let c = if replacement < 0x80 {
        let mut k = replacement as usize % 64;
        if B64URL[k] == bytes[i] {
            k = (k + 1) % 64;
        }
        B64URL[k]
    } else {
        let mut c = 0x21 + (replacement - 0x80) % 0x5e;
        if c == bytes[i] {
            c = if c == b'~' { b'!' } else { c + 1 };
        }
        c
    };
    bytes[i] = c;
    let tampered = String::from_utf8(bytes).unwrap();
    assert_ne!(tampered, sealed);
    assert_eq!(
        sealer.open(Purpose::Session, COOKIE, &tampered),
        None,
        "tampered value opened: {sealed:?} -> {tampered:?} (position {i})"
    );
});
