//! `check-config`'s output: the effective configuration printed back as TOML, every
//! secret shown as `[redacted]` and any password in a URL replaced, so that the text parses
//! back to the same configuration once the hidden secrets are given again.

use std::time::Duration;

use url::Url;

use crate::policy::{AccessPolicy, Requirements};

use super::{Config, OrganizationMode, SessionStore};

impl Config {
    /// The effective configuration as TOML, every secret shown as `[redacted]`.
    pub fn redacted_toml(&self) -> String {
        let s = &self.server;
        let b = &self.bink;
        let t = &self.tokens;
        let h = &self.headers;
        let q = |v: &str| toml::Value::String(v.to_string()).to_string();
        let dur = |d: Duration| q(&humantime::format_duration(d).to_string());
        let mut out = String::new();
        out += "[server]\n";
        out += &format!("listen = {}\n", q(&s.listen.to_string()));
        out += &format!("public_url = {}\n", q(s.public_url.as_str()));
        out += &format!("upstream = {}\n", q(s.upstream.as_str()));
        let (cert, key) = match &s.tls {
            Some(tls) => (
                tls.cert.display().to_string(),
                tls.key.display().to_string(),
            ),
            None => (String::new(), String::new()),
        };
        out += &format!("tls_cert_file = {}\ntls_key_file = {}\n", q(&cert), q(&key));
        out += &format!("trusted_proxy_hops = {}\n", s.trusted_proxy_hops);
        out += &format!("upstream_timeout = {}\n", dur(s.upstream_timeout));
        out += &format!("shutdown_grace = {}\n", dur(s.shutdown_grace));
        out += &format!("header_read_timeout = {}\n", dur(s.header_read_timeout));
        let metrics = s.metrics_listen.map(|a| a.to_string()).unwrap_or_default();
        out += &format!("metrics_listen = {}\n\n", q(&metrics));
        out += "[bink]\n";
        out += &format!("base_url = {}\n", q(b.base_url.as_str()));
        out += &format!("client_id = {}\n", q(b.client_id.as_deref().unwrap_or("")));
        let secret = if b.client_secret.is_some() {
            "[redacted]"
        } else {
            ""
        };
        out += &format!("client_secret = {}\n", q(secret));
        out += &format!("timeout = {}\n", dur(b.timeout));
        out += &format!("max_concurrent_calls = {}\n\n", b.max_concurrent_calls);
        let se = &self.session;
        out += "[session]\n";
        out += &format!("cookie_name = {}\n", q(&se.cookie_name));
        let secret = if se.cookie_secret.is_some() {
            "[redacted]"
        } else {
            ""
        };
        out += &format!("cookie_secret = {}\n", q(secret));
        out += &format!("cookie_secure = {}\n", se.cookie_secure);
        out += &format!(
            "cookie_domain = {}\n",
            q(se.cookie_domain.as_deref().unwrap_or(""))
        );
        out += &format!("lifetime = {}\n", dur(se.lifetime));
        out += &format!("revalidate_after = {}\n", dur(se.revalidate_after));
        match &se.store {
            SessionStore::Cookie => out += "store = \"cookie\"\n\n",
            SessionStore::Redis { .. } => {
                out += "store = \"redis\"\nredis_url = \"[redacted]\"\n\n"
            }
        }
        out += "[tokens]\n";
        out += &format!("accept_bearer = {}\n", t.accept_bearer);
        out += &format!("cache_ttl = {}\n", dur(t.cache_ttl));
        out += &format!("negative_cache_ttl = {}\n", dur(t.negative_cache_ttl));
        out += &format!("cache_max_entries = {}\n", t.cache_max_entries);
        out += &format!("stale_if_error = {}\n\n", dur(t.stale_if_error));
        out += &access_toml(&self.access);
        out += "\n[headers]\n";
        out += &format!("pass_authorization = {}\n", h.pass_authorization);
        out += &format!("pass_access_token = {}\n", h.pass_access_token);
        out += &format!("identity_jwt = {}\n", h.identity_jwt);
        let key_file = h
            .identity_jwt_key_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        out += &format!("identity_jwt_key_file = {}\n", q(&key_file));
        let i = &self.integrations;
        out += "\n[integrations]\n";
        out += &format!("enabled = {}\n", i.enabled);
        out += &format!(
            "database_url = {}\n",
            q(&redact_url(i.database_url.expose()))
        );
        let key = if i.encryption_key.is_some() {
            "[redacted]"
        } else {
            ""
        };
        out += &format!("encryption_key = {}\n", q(key));
        out += &format!(
            "previous_encryption_keys = [{}]\n",
            vec!["\"[redacted]\""; i.previous_encryption_keys.len()].join(", ")
        );
        out += &format!("provider_timeout = {}\n", dur(i.provider_timeout));
        let org = match i.organization {
            OrganizationMode::User => "user",
            OrganizationMode::EmailDomain => "email_domain",
        };
        out += &format!("organization = {}\n", q(org));
        for (name, p) in [("bindbee", &i.bindbee), ("kombo", &i.kombo)] {
            out += &format!("\n[integrations.{name}]\n");
            let key = if p.api_key.is_some() {
                "[redacted]"
            } else {
                ""
            };
            out += &format!("api_key = {}\n", q(key));
            out += &format!("base_url = {}\n", q(p.base_url.as_str()));
            out += &format!("sdk_url = {}\n", q(&p.sdk_url));
            out += &format!(
                "sdk_integrity = {}\n",
                q(p.sdk_integrity.as_deref().unwrap_or(""))
            );
            let secret = if p.webhook_secret.is_some() {
                "[redacted]"
            } else {
                ""
            };
            out += &format!("webhook_secret = {}\n", q(secret));
            out += &format!(
                "webhook_forward_path = {}\n",
                q(p.webhook_forward_path.as_deref().unwrap_or(""))
            );
        }
        let g = &i.gateway;
        out += "\n[integrations.gateway]\n";
        out += &format!("enabled = {}\n", g.enabled);
        out += &format!(
            "service_keys = [{}]\n",
            vec!["\"[redacted]\""; g.service_keys.len()].join(", ")
        );
        out += &format!("max_request_body = {}\n", q(&size(g.max_request_body)));
        out += &format!("timeout = {}\n", dur(g.timeout));
        out
    }
}

/// A byte count the way `max_request_body` is written: exact, in the largest binary unit
/// that divides it (`10MiB`, `512KiB`, `1000B`).
fn size(bytes: u64) -> String {
    match bytes {
        b if b % (1 << 30) == 0 => format!("{}GiB", b >> 30),
        b if b % (1 << 20) == 0 => format!("{}MiB", b >> 20),
        b if b % (1 << 10) == 0 => format!("{}KiB", b >> 10),
        b => format!("{b}B"),
    }
}

/// `[access]` as TOML, in the form `[access]` is written (`skip_auth` entries as
/// `"METHOD regex"`).
pub(super) fn access_toml(access: &AccessPolicy) -> String {
    let mut out = String::from("[access]\n");
    out += &requirements_toml(&access.base);
    let skip: Vec<String> = access
        .skip_auth
        .iter()
        .map(|s| match &s.method {
            Some(m) => format!("{m} {}", s.path.as_str()),
            None => s.path.as_str().to_string(),
        })
        .collect();
    out += &format!("skip_auth = {}\n", toml_list(&skip));
    for r in &access.rules {
        out += "\n[[access.rules]]\n";
        out += &format!(
            "path = {}\n",
            toml::Value::String(r.path.as_str().to_string())
        );
        out += &requirements_toml(&r.requirements);
    }
    out
}

fn requirements_toml(r: &Requirements) -> String {
    let plans: Vec<String> = r
        .allowed_plans
        .iter()
        .map(|p| p.as_str().to_string())
        .collect();
    format!(
        "allowed_emails = {}\nallowed_email_domains = {}\nallowed_usernames = {}\nallowed_plans = {}\nmin_verification_level = {}\n",
        toml_list(&r.allowed_emails),
        toml_list(&r.allowed_email_domains),
        toml_list(&r.allowed_usernames),
        toml_list(&plans),
        r.min_verification_level
    )
}

fn toml_list(items: &[String]) -> String {
    toml::Value::Array(items.iter().cloned().map(toml::Value::String).collect()).to_string()
}

/// A URL with any password (`user:password@`, or a `password=` query parameter, which
/// sqlx's PostgreSQL driver also reads) replaced, for printing.
fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            let in_userinfo = u.password().is_some();
            let in_query = u.query_pairs().any(|(k, _)| k == "password");
            if !in_userinfo && !in_query {
                return url.to_string();
            }
            if in_userinfo {
                let _ = u.set_password(Some("redacted"));
            }
            if in_query {
                let pairs: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k == "password" {
                            "redacted".into()
                        } else {
                            v
                        };
                        (k.into_owned(), v.into_owned())
                    })
                    .collect();
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}
