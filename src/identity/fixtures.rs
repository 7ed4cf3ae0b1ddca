//! Identities the unit tests share, so each test module does not grow its own copy.

use super::{Identity, Plan};

/// A full profile, non-ASCII name included.
pub fn zoe() -> Identity {
    Identity {
        id: "u-42".into(),
        name: Some("Zoë Example".into()),
        email: Some("zoe@acme.com".into()),
        username: Some("zoe".into()),
        avatar: None,
        plan: Plan::Business,
        verification_level: 2,
    }
}

/// A free, unverified user with the given email (or none).
pub fn user(email: Option<&str>) -> Identity {
    Identity {
        id: "u-1".into(),
        name: Some("Test User".into()),
        email: email.map(str::to_string),
        username: Some("tester".into()),
        avatar: None,
        plan: Plan::Free,
        verification_level: 0,
    }
}

pub fn with_username(username: Option<&str>) -> Identity {
    Identity {
        username: username.map(str::to_string),
        ..user(Some("x@acme.com"))
    }
}

pub fn with_plan(plan: Plan, verification_level: u8) -> Identity {
    Identity {
        plan,
        verification_level,
        ..user(Some("x@acme.com"))
    }
}
