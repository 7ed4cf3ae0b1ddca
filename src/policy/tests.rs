//! What the typed `[access]` policy decides: email/domain/username/plan/level checks, rule
//! precedence, and `skip_auth` matching. The policies are built directly, in the form
//! `config::access` gives them (lists lower-cased, rules already laid over `[access]`);
//! reading them from the file is tested in `config/tests/access.rs`.

use http::Method;

use super::*;
use crate::identity::fixtures::{user, with_plan, with_username};

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A policy made of `[access]` alone.
fn policy(base: Requirements) -> AccessPolicy {
    AccessPolicy {
        base,
        ..AccessPolicy::default()
    }
}

/// `allowed_email_domains = list`.
fn domains(list: &[&str]) -> AccessPolicy {
    policy(Requirements {
        allowed_email_domains: strings(list),
        ..Requirements::default()
    })
}

fn rule(path: &str, requirements: Requirements) -> Rule {
    Rule {
        path: Regex::new(path).unwrap(),
        requirements,
    }
}

fn skip(method: Option<Method>, path: &str) -> AccessPolicy {
    AccessPolicy {
        skip_auth: vec![SkipAuth {
            method,
            path: Regex::new(path).unwrap(),
        }],
        ..AccessPolicy::default()
    }
}

// ---- no restrictions ------------------------------------------------------------------

#[test]
fn empty_access_admits_everyone_including_null_email() {
    let p = AccessPolicy::default();
    for identity in [
        user(None),
        user(Some("anyone@anywhere.example")),
        with_username(None),
    ] {
        assert!(p.allows(&identity, "/"), "{identity:?}");
    }
}

// ---- email domains --------------------------------------------------------------------

#[test]
fn domain_allow_list_admits_exact_domain_in_any_case() {
    let p = domains(&["acme.com"]);
    for email in ["x@acme.com", "X@ACME.COM", "first.last+tag@Acme.Com"] {
        assert!(p.allows(&user(Some(email)), "/"), "{email}");
    }
}

#[test]
fn domain_allow_list_rejects_lookalike_suffix() {
    let p = domains(&["acme.com"]);
    assert!(!p.allows(&user(Some("x@evilacme.com")), "/"));
}

#[test]
fn domain_allow_list_rejects_domain_used_as_prefix() {
    let p = domains(&["acme.com"]);
    assert!(!p.allows(&user(Some("x@acme.com.evil.io")), "/"));
}

#[test]
fn domain_allow_list_rejects_subdomain() {
    let p = domains(&["acme.com"]);
    assert!(!p.allows(&user(Some("x@sub.acme.com")), "/"));
}

#[test]
fn domain_allow_list_rejects_null_email() {
    let p = domains(&["acme.com"]);
    assert!(!p.allows(&user(None), "/"));
}

#[test]
fn domain_allow_list_rejects_malformed_addresses() {
    let p = domains(&["acme.com"]);
    for email in ["acme.com", "@acme.com", "x@evil.io@acme.com", "x@", ""] {
        assert!(!p.allows(&user(Some(email)), "/"), "{email:?}");
    }
}

#[test]
fn domain_allow_list_with_several_domains_admits_each() {
    let p = domains(&["acme.com", "example.org"]);
    assert!(p.allows(&user(Some("a@acme.com")), "/"));
    assert!(p.allows(&user(Some("b@example.org")), "/"));
    assert!(!p.allows(&user(Some("c@example.com")), "/"));
}

// ---- exact emails ---------------------------------------------------------------------

#[test]
fn email_allow_list_is_exact_and_case_insensitive() {
    // Lower-cased, as `config::access` stores `"Alice@Acme.com"`.
    let p = policy(Requirements {
        allowed_emails: strings(&["alice@acme.com"]),
        ..Requirements::default()
    });
    assert!(p.allows(&user(Some("alice@acme.com")), "/"));
    assert!(p.allows(&user(Some("ALICE@ACME.COM")), "/"));
    for email in [
        "alice@acme.com.evil.io",
        "malice@acme.com",
        "alice@acme.co",
        "bob@acme.com",
    ] {
        assert!(!p.allows(&user(Some(email)), "/"), "{email}");
    }
    assert!(!p.allows(&user(None), "/"));
}

#[test]
fn email_and_domain_lists_admit_either() {
    let p = policy(Requirements {
        allowed_emails: strings(&["contractor@gmail.com"]),
        allowed_email_domains: strings(&["acme.com"]),
        ..Requirements::default()
    });
    assert!(p.allows(&user(Some("contractor@gmail.com")), "/"));
    assert!(p.allows(&user(Some("staff@acme.com")), "/"));
    assert!(!p.allows(&user(Some("someone@gmail.com")), "/"));
    assert!(!p.allows(&user(None), "/"));
}

// ---- usernames ------------------------------------------------------------------------

#[test]
fn username_allow_list_admits_listed_names_case_insensitively() {
    let p = policy(Requirements {
        allowed_usernames: strings(&["alice", "Bob"]),
        ..Requirements::default()
    });
    assert!(p.allows(&with_username(Some("alice")), "/"));
    assert!(p.allows(&with_username(Some("ALICE")), "/"));
    assert!(p.allows(&with_username(Some("bob")), "/"));
}

#[test]
fn username_allow_list_rejects_others_and_null_username() {
    let p = policy(Requirements {
        allowed_usernames: strings(&["alice"]),
        ..Requirements::default()
    });
    assert!(!p.allows(&with_username(Some("alicex")), "/"));
    assert!(!p.allows(&with_username(Some("mallory")), "/"));
    assert!(!p.allows(&with_username(None), "/"));
}

#[test]
fn username_allow_list_does_not_match_the_user_id() {
    let p = policy(Requirements {
        allowed_usernames: strings(&["u-1"]),
        ..Requirements::default()
    });
    // The identity's id is "u-1" but its username is null: ids are not usernames.
    assert!(!p.allows(&with_username(None), "/"));
}

#[test]
fn username_and_domain_lists_must_both_pass() {
    let p = policy(Requirements {
        allowed_usernames: strings(&["alice"]),
        allowed_email_domains: strings(&["acme.com"]),
        ..Requirements::default()
    });
    let alice_at_acme = Identity {
        username: Some("alice".into()),
        ..user(Some("alice@acme.com"))
    };
    let alice_elsewhere = Identity {
        username: Some("alice".into()),
        ..user(Some("alice@gmail.com"))
    };
    let bob_at_acme = Identity {
        username: Some("bob".into()),
        ..user(Some("bob@acme.com"))
    };
    assert!(p.allows(&alice_at_acme, "/"));
    assert!(!p.allows(&alice_elsewhere, "/"));
    assert!(!p.allows(&bob_at_acme, "/"));
}

// ---- plans and verification level -----------------------------------------------------

#[test]
fn plan_allow_list_admits_only_listed_plans() {
    let p = policy(Requirements {
        allowed_plans: vec![Plan::Verified, Plan::Business],
        ..Requirements::default()
    });
    assert!(!p.allows(&with_plan(Plan::Free, 2), "/"));
    assert!(p.allows(&with_plan(Plan::Verified, 0), "/"));
    assert!(p.allows(&with_plan(Plan::Business, 0), "/"));
}

#[test]
fn min_verification_level_admits_that_level_and_above() {
    let p = policy(Requirements {
        min_verification_level: 1,
        ..Requirements::default()
    });
    assert!(!p.allows(&with_plan(Plan::Business, 0), "/"));
    assert!(p.allows(&with_plan(Plan::Free, 1), "/"));
    assert!(p.allows(&with_plan(Plan::Free, 2), "/"));
}

#[test]
fn plan_and_level_must_both_pass() {
    let p = policy(Requirements {
        allowed_plans: vec![Plan::Business],
        min_verification_level: 2,
        ..Requirements::default()
    });
    assert!(p.allows(&with_plan(Plan::Business, 2), "/"));
    assert!(!p.allows(&with_plan(Plan::Business, 1), "/"));
    assert!(!p.allows(&with_plan(Plan::Verified, 2), "/"));
}

// ---- [[access.rules]] -----------------------------------------------------------------

/// `[access]` for acme.com on VERIFIED or BUSINESS, then `^/admin/` (BUSINESS, level 2),
/// `^/admin/public/` (level 0) and `^/partners/` (partner.io), each rule already laid over
/// `[access]` the way `config::access` merges them.
fn rules() -> AccessPolicy {
    let base = Requirements {
        allowed_email_domains: strings(&["acme.com"]),
        allowed_plans: vec![Plan::Verified, Plan::Business],
        ..Requirements::default()
    };
    let admin = Requirements {
        allowed_plans: vec![Plan::Business],
        min_verification_level: 2,
        ..base.clone()
    };
    let admin_public = Requirements {
        min_verification_level: 0,
        ..base.clone()
    };
    let partners = Requirements {
        allowed_email_domains: strings(&["partner.io"]),
        ..base.clone()
    };
    AccessPolicy {
        rules: vec![
            rule("^/admin/", admin),
            rule("^/admin/public/", admin_public),
            rule("^/partners/", partners),
        ],
        ..policy(base)
    }
}

#[test]
fn path_without_a_matching_rule_uses_access() {
    let p = rules();
    assert_eq!(p.requirements_for("/app"), &p.base);
    assert!(p.allows(&with_plan(Plan::Verified, 0), "/app"));
    assert!(!p.allows(&with_plan(Plan::Free, 2), "/app"));
}

#[test]
fn first_matching_rule_wins_even_when_a_later_one_is_more_specific() {
    let p = rules();
    // /admin/public/ also matches ^/admin/, which comes first: level 2 still required.
    assert_eq!(
        p.requirements_for("/admin/public/x").min_verification_level,
        2
    );
    assert!(!p.allows(&with_plan(Plan::Business, 0), "/admin/public/x"));
}

#[test]
fn rule_order_decides_which_rule_applies() {
    let level = |min_verification_level| Requirements {
        min_verification_level,
        ..Requirements::default()
    };
    let p = AccessPolicy {
        rules: vec![
            rule("^/admin/public/", level(0)),
            rule("^/admin/", level(2)),
        ],
        ..AccessPolicy::default()
    };
    assert_eq!(
        p.requirements_for("/admin/public/x").min_verification_level,
        0
    );
    assert_eq!(p.requirements_for("/admin/x").min_verification_level, 2);
}

#[test]
fn rule_path_is_a_regex_and_unanchored_unless_anchored() {
    let p = AccessPolicy {
        rules: vec![rule(
            "/admin/",
            Requirements {
                min_verification_level: 2,
                ..Requirements::default()
            },
        )],
        ..AccessPolicy::default()
    };
    assert_eq!(p.requirements_for("/x/admin/y").min_verification_level, 2);
}

// ---- skip_auth ------------------------------------------------------------------------

#[test]
fn skip_auth_with_method_prefix_skips_only_that_method() {
    let p = skip(Some(Method::GET), "^/healthz$");
    assert!(p.skips_auth(&Method::GET, "/healthz"));
    assert!(!p.skips_auth(&Method::POST, "/healthz"));
    assert!(!p.skips_auth(&Method::HEAD, "/healthz"));
    assert!(!p.skips_auth(&Method::GET, "/healthz/x"));
    assert!(!p.skips_auth(&Method::GET, "/x/healthz"));
}

#[test]
fn skip_auth_without_method_prefix_skips_every_method() {
    let p = skip(None, "^/public/");
    for method in [Method::GET, Method::POST, Method::DELETE, Method::OPTIONS] {
        assert!(p.skips_auth(&method, "/public/logo.png"), "{method}");
    }
    assert!(!p.skips_auth(&Method::GET, "/private/public/"));
    assert!(!p.skips_auth(&Method::GET, "/public"));
}

#[test]
fn empty_skip_auth_skips_nothing() {
    let p = AccessPolicy::default();
    assert!(!p.skips_auth(&Method::GET, "/"));
    assert!(!p.skips_auth(&Method::GET, "/healthz"));
}
