//! `[access]`: who may pass once authenticated, and which paths need no authentication.
//!
//! Every decision is made on the normalised path (see `http::path`), the same path the
//! upstream receives, so a matcher can never be fooled by an encoding the upstream undoes.
//!
//! This module only decides: the typed policy is built and validated from the
//! configuration file by `config::access` (and printed back by `config::redact`).

use http::Method;
use regex::Regex;

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
}

#[cfg(test)]
mod tests;
