//! The sandbox's Bink accounts: every plan and verification level, a user without email
//! and a non-ASCII name, each with its personal access token.

use crate::identity::{Identity, Plan};

/// A sample account: its personal access token and profile.
pub struct SampleUser {
    pub pat: &'static str,
    pub id: &'static str,
    pub username: Option<&'static str>,
    pub name: Option<&'static str>,
    pub email: Option<&'static str>,
    pub plan: Plan,
    pub verification_level: u8,
}

/// Every plan and verification level, a user without email and a non-ASCII name.
pub const SAMPLE_USERS: &[SampleUser] = &[
    SampleUser {
        pat: "bink_pat_sandbox_ada_free",
        id: "usr_ada",
        username: Some("ada"),
        name: Some("Ada Lovelace"),
        email: Some("ada@example.com"),
        plan: Plan::Free,
        verification_level: 0,
    },
    SampleUser {
        pat: "bink_pat_sandbox_ben_verified",
        id: "usr_ben",
        username: Some("ben"),
        name: Some("Ben Okafor"),
        email: Some("ben@acme.com"),
        plan: Plan::Verified,
        verification_level: 1,
    },
    SampleUser {
        pat: "bink_pat_sandbox_cleo_business",
        id: "usr_cleo",
        username: Some("cleo"),
        name: Some("Cleo Park"),
        email: Some("cleo@acme.com"),
        plan: Plan::Business,
        verification_level: 2,
    },
    SampleUser {
        pat: "bink_pat_sandbox_zoe_unicode",
        id: "usr_zoe",
        username: Some("zoe"),
        name: Some("Zoë Ångström"),
        email: Some("zoe@example.org"),
        plan: Plan::Business,
        verification_level: 1,
    },
    SampleUser {
        pat: "bink_pat_sandbox_ghost_noemail",
        id: "usr_ghost",
        username: None,
        name: None,
        email: None,
        plan: Plan::Verified,
        verification_level: 2,
    },
];

impl SampleUser {
    pub fn identity(&self) -> Identity {
        Identity {
            id: self.id.into(),
            name: self.name.map(Into::into),
            email: self.email.map(Into::into),
            username: self.username.map(Into::into),
            avatar: None,
            plan: self.plan,
            verification_level: self.verification_level,
        }
    }
}
