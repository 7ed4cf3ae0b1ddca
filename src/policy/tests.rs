//! `[access]` decisions: email/domain/username/plan/level checks, rule precedence and
//! inheritance, and `skip_auth` matching.

use http::Method;

use super::*;
use crate::config::{Config, NoEnv};

/// The policy of a config made of `access` (TOML starting at `[access]` or `[[access.rules]]`).
fn policy(access: &str) -> AccessPolicy {
    let text = format!("[server]\nupstream = \"http://127.0.0.1:8080\"\n{access}");
    Config::from_toml(&text, &NoEnv)
        .unwrap_or_else(|e| panic!("expected a valid config: {e}"))
        .access
}

fn problem_keys(access: &str) -> Vec<String> {
    let text = format!("[server]\nupstream = \"http://127.0.0.1:8080\"\n{access}");
    match Config::from_toml(&text, &NoEnv) {
        Ok(_) => panic!("expected a config error for {access}"),
        Err(e) => e.problems.into_iter().map(|p| p.key).collect(),
    }
}

fn user(email: Option<&str>) -> Identity {
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

fn with_username(username: Option<&str>) -> Identity {
    Identity {
        username: username.map(str::to_string),
        ..user(Some("x@acme.com"))
    }
}

fn with_plan(plan: Plan, verification_level: u8) -> Identity {
    Identity {
        plan,
        verification_level,
        ..user(Some("x@acme.com"))
    }
}

// ---- no restrictions ------------------------------------------------------------------

#[test]
fn empty_access_admits_everyone_including_null_email() {
    let p = policy("");
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
    let p = policy("[access]\nallowed_email_domains = [\"acme.com\"]\n");
    for email in ["x@acme.com", "X@ACME.COM", "first.last+tag@Acme.Com"] {
        assert!(p.allows(&user(Some(email)), "/"), "{email}");
    }
}

#[test]
fn domain_allow_list_written_in_upper_case_still_matches() {
    let p = policy("[access]\nallowed_email_domains = [\"ACME.COM\"]\n");
    assert!(p.allows(&user(Some("x@acme.com")), "/"));
}

#[test]
fn domain_allow_list_rejects_lookalike_suffix() {
    let p = policy("[access]\nallowed_email_domains = [\"acme.com\"]\n");
    assert!(!p.allows(&user(Some("x@evilacme.com")), "/"));
}

#[test]
fn domain_allow_list_rejects_domain_used_as_prefix() {
    let p = policy("[access]\nallowed_email_domains = [\"acme.com\"]\n");
    assert!(!p.allows(&user(Some("x@acme.com.evil.io")), "/"));
}

#[test]
fn domain_allow_list_rejects_subdomain() {
    let p = policy("[access]\nallowed_email_domains = [\"acme.com\"]\n");
    assert!(!p.allows(&user(Some("x@sub.acme.com")), "/"));
}

#[test]
fn domain_allow_list_rejects_null_email() {
    let p = policy("[access]\nallowed_email_domains = [\"acme.com\"]\n");
    assert!(!p.allows(&user(None), "/"));
}

#[test]
fn domain_allow_list_rejects_malformed_addresses() {
    let p = policy("[access]\nallowed_email_domains = [\"acme.com\"]\n");
    for email in ["acme.com", "@acme.com", "x@evil.io@acme.com", "x@", ""] {
        assert!(!p.allows(&user(Some(email)), "/"), "{email:?}");
    }
}

#[test]
fn domain_allow_list_with_several_domains_admits_each() {
    let p = policy("[access]\nallowed_email_domains = [\"acme.com\", \"example.org\"]\n");
    assert!(p.allows(&user(Some("a@acme.com")), "/"));
    assert!(p.allows(&user(Some("b@example.org")), "/"));
    assert!(!p.allows(&user(Some("c@example.com")), "/"));
}

#[test]
fn domain_entry_with_at_sign_or_leading_dot_is_a_config_error() {
    assert_eq!(
        problem_keys("[access]\nallowed_email_domains = [\"@acme.com\"]\n"),
        ["access.allowed_email_domains"]
    );
    assert_eq!(
        problem_keys("[access]\nallowed_email_domains = [\".acme.com\"]\n"),
        ["access.allowed_email_domains"]
    );
}

// ---- exact emails ---------------------------------------------------------------------

#[test]
fn email_allow_list_is_exact_and_case_insensitive() {
    let p = policy("[access]\nallowed_emails = [\"Alice@Acme.com\"]\n");
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
    let p = policy(
        "[access]\nallowed_emails = [\"contractor@gmail.com\"]\nallowed_email_domains = [\"acme.com\"]\n",
    );
    assert!(p.allows(&user(Some("contractor@gmail.com")), "/"));
    assert!(p.allows(&user(Some("staff@acme.com")), "/"));
    assert!(!p.allows(&user(Some("someone@gmail.com")), "/"));
    assert!(!p.allows(&user(None), "/"));
}

// ---- usernames ------------------------------------------------------------------------

#[test]
fn username_allow_list_admits_listed_names_case_insensitively() {
    let p = policy("[access]\nallowed_usernames = [\"alice\", \"Bob\"]\n");
    assert!(p.allows(&with_username(Some("alice")), "/"));
    assert!(p.allows(&with_username(Some("ALICE")), "/"));
    assert!(p.allows(&with_username(Some("bob")), "/"));
}

#[test]
fn username_allow_list_rejects_others_and_null_username() {
    let p = policy("[access]\nallowed_usernames = [\"alice\"]\n");
    assert!(!p.allows(&with_username(Some("alicex")), "/"));
    assert!(!p.allows(&with_username(Some("mallory")), "/"));
    assert!(!p.allows(&with_username(None), "/"));
}

#[test]
fn username_allow_list_does_not_match_the_user_id() {
    let p = policy("[access]\nallowed_usernames = [\"u-1\"]\n");
    // The identity's id is "u-1" but its username is null: ids are not usernames.
    assert!(!p.allows(&with_username(None), "/"));
}

#[test]
fn username_and_domain_lists_must_both_pass() {
    let p = policy(
        "[access]\nallowed_usernames = [\"alice\"]\nallowed_email_domains = [\"acme.com\"]\n",
    );
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
    let p = policy("[access]\nallowed_plans = [\"VERIFIED\", \"BUSINESS\"]\n");
    assert!(!p.allows(&with_plan(Plan::Free, 2), "/"));
    assert!(p.allows(&with_plan(Plan::Verified, 0), "/"));
    assert!(p.allows(&with_plan(Plan::Business, 0), "/"));
}

#[test]
fn unknown_or_lower_case_plan_is_a_config_error() {
    assert_eq!(
        problem_keys("[access]\nallowed_plans = [\"GOLD\"]\n"),
        ["access.allowed_plans"]
    );
    assert_eq!(
        problem_keys("[access]\nallowed_plans = [\"business\"]\n"),
        ["access.allowed_plans"]
    );
}

#[test]
fn min_verification_level_admits_that_level_and_above() {
    let p = policy("[access]\nmin_verification_level = 1\n");
    assert!(!p.allows(&with_plan(Plan::Business, 0), "/"));
    assert!(p.allows(&with_plan(Plan::Free, 1), "/"));
    assert!(p.allows(&with_plan(Plan::Free, 2), "/"));
}

#[test]
fn min_verification_level_above_two_is_a_config_error() {
    assert_eq!(
        problem_keys("[access]\nmin_verification_level = 3\n"),
        ["access.min_verification_level"]
    );
}

#[test]
fn plan_and_level_must_both_pass() {
    let p = policy("[access]\nallowed_plans = [\"BUSINESS\"]\nmin_verification_level = 2\n");
    assert!(p.allows(&with_plan(Plan::Business, 2), "/"));
    assert!(!p.allows(&with_plan(Plan::Business, 1), "/"));
    assert!(!p.allows(&with_plan(Plan::Verified, 2), "/"));
}

// ---- [[access.rules]] -----------------------------------------------------------------

const RULES: &str = r#"
[access]
allowed_email_domains = ["acme.com"]
allowed_plans = ["VERIFIED", "BUSINESS"]

[[access.rules]]
path = "^/admin/"
min_verification_level = 2
allowed_plans = ["BUSINESS"]

[[access.rules]]
path = "^/admin/public/"
min_verification_level = 0

[[access.rules]]
path = "^/partners/"
allowed_email_domains = ["partner.io"]
"#;

#[test]
fn path_without_a_matching_rule_uses_access() {
    let p = policy(RULES);
    assert_eq!(p.requirements_for("/app"), &p.base);
    assert!(p.allows(&with_plan(Plan::Verified, 0), "/app"));
    assert!(!p.allows(&with_plan(Plan::Free, 2), "/app"));
}

#[test]
fn matching_rule_overrides_the_keys_it_sets() {
    let p = policy(RULES);
    assert!(p.allows(&with_plan(Plan::Business, 2), "/admin/users"));
    assert!(!p.allows(&with_plan(Plan::Business, 1), "/admin/users"));
    assert!(!p.allows(&with_plan(Plan::Verified, 2), "/admin/users"));
}

#[test]
fn matching_rule_inherits_the_keys_it_leaves_out() {
    let p = policy(RULES);
    // /admin/ sets no email keys: the domain list of [access] still applies.
    let outsider = Identity {
        plan: Plan::Business,
        verification_level: 2,
        ..user(Some("root@evil.io"))
    };
    assert!(!p.allows(&outsider, "/admin/users"));
    let r = p.requirements_for("/admin/users");
    assert_eq!(r.allowed_email_domains, ["acme.com"]);
    assert_eq!(r.allowed_plans, [Plan::Business]);
    assert_eq!(r.min_verification_level, 2);
}

#[test]
fn first_matching_rule_wins_even_when_a_later_one_is_more_specific() {
    let p = policy(RULES);
    // /admin/public/ also matches ^/admin/, which comes first: level 2 still required.
    assert_eq!(
        p.requirements_for("/admin/public/x").min_verification_level,
        2
    );
    assert!(!p.allows(&with_plan(Plan::Business, 0), "/admin/public/x"));
}

#[test]
fn rule_order_decides_which_rule_applies() {
    let p = policy(
        r#"
        [[access.rules]]
        path = "^/admin/public/"
        min_verification_level = 0
        [[access.rules]]
        path = "^/admin/"
        min_verification_level = 2
        "#,
    );
    assert_eq!(
        p.requirements_for("/admin/public/x").min_verification_level,
        0
    );
    assert_eq!(p.requirements_for("/admin/x").min_verification_level, 2);
}

#[test]
fn rule_replacing_the_domain_list_does_not_keep_the_access_one() {
    let p = policy(RULES);
    let partner = Identity {
        plan: Plan::Verified,
        ..user(Some("p@partner.io"))
    };
    let staff = Identity {
        plan: Plan::Verified,
        ..user(Some("s@acme.com"))
    };
    assert!(p.allows(&partner, "/partners/docs"));
    assert!(!p.allows(&staff, "/partners/docs"));
    // The rule left allowed_plans alone: FREE is still refused there.
    let free_partner = Identity {
        plan: Plan::Free,
        ..partner.clone()
    };
    assert!(!p.allows(&free_partner, "/partners/docs"));
}

#[test]
fn rule_setting_an_empty_list_lifts_that_restriction() {
    let p = policy(
        r#"
        [access]
        allowed_email_domains = ["acme.com"]
        [[access.rules]]
        path = "^/open/"
        allowed_email_domains = []
        "#,
    );
    assert!(p.allows(&user(None), "/open/x"));
    assert!(!p.allows(&user(None), "/closed"));
}

#[test]
fn rule_path_is_a_regex_and_unanchored_unless_anchored() {
    let p = policy("[[access.rules]]\npath = \"/admin/\"\nmin_verification_level = 2\n");
    assert_eq!(p.requirements_for("/x/admin/y").min_verification_level, 2);
}

#[test]
fn rule_without_path_or_with_bad_regex_is_a_config_error() {
    assert_eq!(
        problem_keys("[[access.rules]]\nmin_verification_level = 2\n"),
        ["access.rules[0].path"]
    );
    assert_eq!(
        problem_keys("[[access.rules]]\npath = \"^/(\"\n"),
        ["access.rules[0].path"]
    );
    assert_eq!(
        problem_keys("[[access.rules]]\npath = \"^/\"\nallowed_plans = [\"GOLD\"]\n"),
        ["access.rules[0].allowed_plans"]
    );
}

// ---- skip_auth ------------------------------------------------------------------------

#[test]
fn skip_auth_with_method_prefix_skips_only_that_method() {
    let p = policy("[access]\nskip_auth = [\"GET ^/healthz$\"]\n");
    assert!(p.skips_auth(&Method::GET, "/healthz"));
    assert!(!p.skips_auth(&Method::POST, "/healthz"));
    assert!(!p.skips_auth(&Method::HEAD, "/healthz"));
    assert!(!p.skips_auth(&Method::GET, "/healthz/x"));
    assert!(!p.skips_auth(&Method::GET, "/x/healthz"));
}

#[test]
fn skip_auth_without_method_prefix_skips_every_method() {
    let p = policy("[access]\nskip_auth = [\"^/public/\"]\n");
    for method in [Method::GET, Method::POST, Method::DELETE, Method::OPTIONS] {
        assert!(p.skips_auth(&method, "/public/logo.png"), "{method}");
    }
    assert!(!p.skips_auth(&Method::GET, "/private/public/"));
    assert!(!p.skips_auth(&Method::GET, "/public"));
}

#[test]
fn skip_auth_regex_containing_a_space_is_not_mistaken_for_a_method() {
    let p = policy("[access]\nskip_auth = [\"^/a b$\"]\n");
    assert_eq!(p.skip_auth[0].method, None);
    assert!(p.skips_auth(&Method::GET, "/a b"));
}

#[test]
fn skip_auth_accepts_extension_methods() {
    let p = policy("[access]\nskip_auth = [\"PROPFIND ^/dav/\"]\n");
    let propfind = Method::from_bytes(b"PROPFIND").unwrap();
    assert!(p.skips_auth(&propfind, "/dav/x"));
    assert!(!p.skips_auth(&Method::GET, "/dav/x"));
}

#[test]
fn empty_skip_auth_skips_nothing() {
    let p = policy("");
    assert!(!p.skips_auth(&Method::GET, "/"));
    assert!(!p.skips_auth(&Method::GET, "/healthz"));
}

#[test]
fn skip_auth_with_bad_regex_or_empty_pattern_is_a_config_error() {
    assert_eq!(
        problem_keys("[access]\nskip_auth = [\"^/ok$\", \"GET ^/(\"]\n"),
        ["access.skip_auth[1]"]
    );
    assert_eq!(
        problem_keys("[access]\nskip_auth = [\"GET \"]\n"),
        ["access.skip_auth[0]"]
    );
}

#[test]
fn to_toml_round_trips_through_the_config_parser() {
    let p = policy(RULES);
    let back = policy(&p.to_toml());
    assert_eq!(back.base, p.base);
    assert_eq!(back.rules.len(), p.rules.len());
    for (a, b) in back.rules.iter().zip(&p.rules) {
        assert_eq!(a.path.as_str(), b.path.as_str());
        assert_eq!(a.requirements, b.requirements);
    }
}

#[test]
fn lower_case_method_prefix_is_a_config_error() {
    let err = crate::config::Config::from_toml(
        "[server]\nupstream = \"http://127.0.0.1:1\"\n[access]\nskip_auth = [\"get ^/x\"]\n",
        &crate::config::NoEnv,
    )
    .unwrap_err();
    assert!(err
        .problems
        .iter()
        .any(|p| p.key == "access.skip_auth[0]" && p.message.contains("upper case")));
}
