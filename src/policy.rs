//! `[access]`: who may pass once authenticated, and which paths need no authentication.
//!
//! Every decision is made on the normalised path (see `proxy::path`), the same path the
//! upstream receives, so a matcher can never be fooled by an encoding the upstream undoes.

use http::Method;
use regex::Regex;

use crate::config::Problems;
use crate::identity::{Identity, Plan};

/// The checks applied to an authenticated identity. Empty lists impose nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Requirements {
    /// Lower-cased exact addresses.
    pub allowed_emails: Vec<String>,
    /// Lower-cased exact domains (`acme.com` does not admit `evilacme.com`).
    pub allowed_email_domains: Vec<String>,
    pub allowed_usernames: Vec<String>,
    pub allowed_plans: Vec<Plan>,
    pub min_verification_level: u8,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub path: Regex,
    /// `[access]` with this rule's keys laid over it, merged once at start-up.
    pub requirements: Requirements,
}

#[derive(Debug, Clone)]
pub struct SkipAuth {
    pub method: Option<Method>,
    pub path: Regex,
}

#[derive(Debug, Clone, Default)]
pub struct AccessPolicy {
    pub base: Requirements,
    pub rules: Vec<Rule>,
    pub skip_auth: Vec<SkipAuth>,
}

impl AccessPolicy {
    /// True when `method path` matches a `skip_auth` entry.
    pub fn skips_auth(&self, method: &Method, path: &str) -> bool {
        self.skip_auth
            .iter()
            .any(|s| s.method.as_ref().is_none_or(|m| m == method) && s.path.is_match(path))
    }

    /// The requirements for `path`: the first matching rule, else `[access]`.
    pub fn requirements_for(&self, path: &str) -> &Requirements {
        self.rules
            .iter()
            .find(|r| r.path.is_match(path))
            .map_or(&self.base, |r| &r.requirements)
    }

    pub fn allows(&self, identity: &Identity, path: &str) -> bool {
        self.requirements_for(path).admit(identity)
    }

    pub fn from_raw(raw: &crate::config::RawAccess, p: &mut Problems) -> Option<AccessPolicy> {
        let before = p.len();
        let base = Requirements::default().overlay(&raw.policy(), "access", p);
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
                let requirements = base.overlay(&r.policy(), &key, p);
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

    /// `[access]` as TOML, for `check-config`.
    pub fn to_toml(&self) -> String {
        let mut out = String::from("[access]\n");
        out += &self.base.to_toml();
        let skip: Vec<String> = self
            .skip_auth
            .iter()
            .map(|s| match &s.method {
                Some(m) => format!("{m} {}", s.path.as_str()),
                None => s.path.as_str().to_string(),
            })
            .collect();
        out += &format!("skip_auth = {}\n", toml_list(&skip));
        for r in &self.rules {
            out += "\n[[access.rules]]\n";
            out += &format!(
                "path = {}\n",
                toml::Value::String(r.path.as_str().to_string())
            );
            out += &r.requirements.to_toml();
        }
        out
    }
}

impl Requirements {
    /// Whether `identity` meets every requirement. Emails and domains form one requirement
    /// (an address listed by itself or in a listed domain passes), as in oauth2-proxy.
    pub fn admit(&self, identity: &Identity) -> bool {
        self.email_admitted(identity)
            && (self.allowed_usernames.is_empty()
                || identity.username.as_deref().is_some_and(|u| {
                    self.allowed_usernames
                        .iter()
                        .any(|a| a.eq_ignore_ascii_case(u))
                }))
            && (self.allowed_plans.is_empty() || self.allowed_plans.contains(&identity.plan))
            && identity.verification_level >= self.min_verification_level
    }

    fn email_admitted(&self, identity: &Identity) -> bool {
        if self.allowed_emails.is_empty() && self.allowed_email_domains.is_empty() {
            return true;
        }
        let Some(email) = identity.email.as_deref() else {
            return false;
        };
        let by_address = self
            .allowed_emails
            .iter()
            .any(|a| a.eq_ignore_ascii_case(email));
        let by_domain = identity
            .email_domain()
            .is_some_and(|d| self.allowed_email_domains.contains(&d));
        by_address || by_domain
    }

    /// A copy with every key that `raw` sets replaced.
    fn overlay(&self, raw: &crate::config::RawPolicy, key: &str, p: &mut Problems) -> Requirements {
        let lower = |v: &Vec<String>| -> Vec<String> {
            v.iter()
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let mut out = self.clone();
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

    fn to_toml(&self) -> String {
        let plans: Vec<String> = self
            .allowed_plans
            .iter()
            .map(|p| p.as_str().to_string())
            .collect();
        format!(
            "allowed_emails = {}\nallowed_email_domains = {}\nallowed_usernames = {}\nallowed_plans = {}\nmin_verification_level = {}\n",
            toml_list(&self.allowed_emails),
            toml_list(&self.allowed_email_domains),
            toml_list(&self.allowed_usernames),
            toml_list(&plans),
            self.min_verification_level
        )
    }
}

fn toml_list(items: &[String]) -> String {
    toml::Value::Array(items.iter().cloned().map(toml::Value::String).collect()).to_string()
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

#[cfg(test)]
mod tests;
