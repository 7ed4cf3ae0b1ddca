//! `[access]` and `[[access.rules]]` as written become the typed policy: lists lower-cased,
//! plans typed, rules laid over `[access]`, `skip_auth` entries split into method and
//! pattern, and every mistake a problem naming its key. (What the typed policy then
//! decides is tested in `policy/tests.rs`.)

use http::Method;

use super::*;
use crate::config::redact::access_toml;
use crate::identity::fixtures::{user, with_plan};
use crate::identity::{Identity, Plan};
use crate::policy::AccessPolicy;

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

// ---- lists and plans ------------------------------------------------------------------

#[test]
fn access_lists_are_lower_cased_and_plans_typed() {
    let c = ok(&with(
        "[access]\nallowed_emails = [\" Bob@Acme.COM \"]\nallowed_email_domains = [\"ACME.com\", \"\"]\nallowed_plans = [\"VERIFIED\", \"BUSINESS\"]\n",
    ));
    assert_eq!(c.access.base.allowed_emails, ["bob@acme.com"]);
    assert_eq!(c.access.base.allowed_email_domains, ["acme.com"]);
    assert_eq!(
        c.access.base.allowed_plans,
        [Plan::Verified, Plan::Business]
    );
}

// ---- email domains --------------------------------------------------------------------

#[test]
fn domain_allow_list_written_in_upper_case_still_matches() {
    let p = policy("[access]\nallowed_email_domains = [\"ACME.COM\"]\n");
    assert!(p.allows(&user(Some("x@acme.com")), "/"));
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

// ---- plans and verification level -----------------------------------------------------

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
fn min_verification_level_above_two_is_a_config_error() {
    assert_eq!(
        problem_keys("[access]\nmin_verification_level = 3\n"),
        ["access.min_verification_level"]
    );
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

// ---- printed back ---------------------------------------------------------------------

#[test]
fn to_toml_round_trips_through_the_config_parser() {
    let p = policy(RULES);
    let back = policy(&access_toml(&p));
    assert_eq!(back.base, p.base);
    assert_eq!(back.rules.len(), p.rules.len());
    for (a, b) in back.rules.iter().zip(&p.rules) {
        assert_eq!(a.path.as_str(), b.path.as_str());
        assert_eq!(a.requirements, b.requirements);
    }
}
