//! `[access]` and `[[access.rules]]` as written → the typed [`AccessPolicy`]: lists
//! lower-cased and checked, plans typed, each rule laid over `[access]` once, regexes
//! compiled, and `skip_auth` entries split into an optional method and a pattern.

use http::Method;
use regex::Regex;

use crate::identity::Plan;
use crate::policy::{AccessPolicy, Requirements, Rule, SkipAuth};

use super::raw::{RawAccess, RawPolicy};
use super::Problems;

pub(super) fn validate_access(raw: &RawAccess, p: &mut Problems) -> Option<AccessPolicy> {
    let before = p.len();
    let base = overlay(&Requirements::default(), &raw.policy(), "access", p);
    let rules = raw
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let key = format!("access.rules[{i}]");
            let path = match r.path.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => {
                    p.add(
                        format!("{key}.path"),
                        "required: a regex on the normalised path",
                    );
                    return None;
                }
                Some(s) => compile(p, &format!("{key}.path"), s)?,
            };
            let requirements = overlay(&base, &r.policy(), &key, p);
            Some(Rule { path, requirements })
        })
        .collect();
    let skip_auth = raw
        .skip_auth
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, entry)| parse_skip_auth(p, &format!("access.skip_auth[{i}]"), entry))
        .collect();
    (p.len() == before).then_some(AccessPolicy {
        base,
        rules,
        skip_auth,
    })
}

/// A copy of `base` with every key that `raw` sets replaced.
fn overlay(base: &Requirements, raw: &RawPolicy, key: &str, p: &mut Problems) -> Requirements {
    let lower = |v: &Vec<String>| -> Vec<String> {
        v.iter()
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let mut out = base.clone();
    if let Some(v) = &raw.allowed_emails {
        out.allowed_emails = lower(v);
    }
    if let Some(v) = &raw.allowed_email_domains {
        out.allowed_email_domains = lower(v);
        for d in &out.allowed_email_domains {
            if d.contains('@') || d.starts_with('.') {
                p.add(
                    format!("{key}.allowed_email_domains"),
                    format!("{d:?} must be a bare domain like \"acme.com\""),
                );
            }
        }
    }
    if let Some(v) = &raw.allowed_usernames {
        out.allowed_usernames = v.iter().map(|s| s.trim().to_string()).collect();
    }
    if let Some(v) = &raw.allowed_plans {
        out.allowed_plans = v
            .iter()
            .filter_map(|s| {
                let plan = Plan::parse(s.trim());
                if plan.is_none() {
                    p.add(
                        format!("{key}.allowed_plans"),
                        format!("{s:?} is not a plan (FREE, VERIFIED or BUSINESS)"),
                    );
                }
                plan
            })
            .collect();
    }
    if let Some(level) = raw.min_verification_level {
        if level > 2 {
            p.add(
                format!("{key}.min_verification_level"),
                format!("must be 0, 1 or 2 (got {level})"),
            );
        }
        out.min_verification_level = level.min(2) as u8;
    }
    out
}

fn compile(p: &mut Problems, key: &str, pattern: &str) -> Option<Regex> {
    match Regex::new(pattern) {
        Ok(r) => Some(r),
        Err(e) => {
            p.add(key, format!("not a valid regex: {e}"));
            None
        }
    }
}

const KNOWN_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

/// `"GET ^/healthz$"` → method GET; `"^/public/"` → any method.
fn parse_skip_auth(p: &mut Problems, key: &str, entry: &str) -> Option<SkipAuth> {
    // Only the start is trimmed before splitting: trimming the end first would turn
    // "GET " (a method with no pattern) into the method-less regex "GET".
    let entry = entry.trim_start();
    let (method, pattern) = match entry.split_once(' ') {
        Some((m, rest)) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()) => {
            (Some(Method::from_bytes(m.as_bytes()).ok()?), rest.trim())
        }
        Some((m, _)) if KNOWN_METHODS.iter().any(|k| k.eq_ignore_ascii_case(m)) => {
            // "get ^/x" would otherwise become a regex that never matches: say so.
            p.add(key, format!("method {m:?} must be upper case"));
            return None;
        }
        _ => (None, entry.trim_end()),
    };
    if pattern.is_empty() {
        p.add(key, "empty pattern");
        return None;
    }
    Some(SkipAuth {
        method,
        path: compile(p, key, pattern)?,
    })
}
