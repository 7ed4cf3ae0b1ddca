//! Environment overrides: `BINK_PROXY_<SECTION>__<KEY>=value` sets `[section] key = value`.
//!
//! The environment is read through [`Env`] so tests can pass a map instead of mutating the
//! process environment (the shape of linkerd2-proxy's `Strings`).

use std::collections::BTreeMap;

pub const PREFIX: &str = "BINK_PROXY_";

/// A source of environment variables.
pub trait Env {
    /// Every variable whose name starts with [`PREFIX`].
    fn prefixed(&self) -> Vec<(String, String)>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn prefixed(&self) -> Vec<(String, String)> {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| k.starts_with(PREFIX))
            .collect()
    }
}

impl Env for BTreeMap<String, String> {
    fn prefixed(&self) -> Vec<(String, String)> {
        self.iter()
            .filter(|(k, _)| k.starts_with(PREFIX))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// No environment at all (the `dev` command, tests).
pub struct NoEnv;

impl Env for NoEnv {
    fn prefixed(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn prefixed(&self) -> Vec<(String, String)> {
        self.iter()
            .filter(|(k, _)| k.starts_with(PREFIX))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

/// Writes every override into `table`. Variables without `__` (such as `BINK_PROXY_CONFIG`
/// or the test suite's `BINK_PROXY_TEST_POSTGRES`) are not overrides and are left alone.
/// Returns the keys that were overridden, in dotted form, for error messages.
pub fn apply_overrides(table: &mut toml::Table, env: &dyn Env) -> Result<Vec<String>, String> {
    let mut applied = Vec::new();
    let mut vars = env.prefixed();
    vars.sort();
    for (name, value) in vars {
        let rest = &name[PREFIX.len()..];
        if !rest.contains("__") {
            continue;
        }
        let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if path.iter().any(|p| p.is_empty()) {
            return Err(format!("{name}: malformed override name"));
        }
        set_path(table, &path, value).map_err(|e| format!("{name}: {e}"))?;
        applied.push(path.join("."));
    }
    Ok(applied)
}

fn set_path(table: &mut toml::Table, path: &[String], value: String) -> Result<(), String> {
    let (last, parents) = path.split_last().expect("path has at least two parts");
    let mut current = table;
    for part in parents {
        let entry = current
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{part}` is not a section"))?;
    }
    current.insert(last.clone(), toml::Value::String(value));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_sections_are_joined_by_double_underscore() {
        let mut t = toml::Table::new();
        let env = [
            ("BINK_PROXY_BINK__CLIENT_SECRET", "s3"),
            ("BINK_PROXY_INTEGRATIONS__BINDBEE__API_KEY", "k"),
            ("BINK_PROXY_CONFIG", "/etc/x.toml"),
            ("BINK_PROXY_TEST_POSTGRES", "postgres://"),
            ("OTHER__THING", "x"),
        ];
        let applied = apply_overrides(&mut t, &env).unwrap();
        assert_eq!(
            applied,
            vec!["bink.client_secret", "integrations.bindbee.api_key"]
        );
        assert_eq!(t["bink"]["client_secret"].as_str(), Some("s3"));
        assert_eq!(t["integrations"]["bindbee"]["api_key"].as_str(), Some("k"));
    }

    #[test]
    fn override_replaces_a_file_value() {
        let mut t: toml::Table = toml::from_str("[server]\nlisten = \"127.0.0.1:1\"").unwrap();
        let env = [("BINK_PROXY_SERVER__LISTEN", "127.0.0.1:2")];
        apply_overrides(&mut t, &env).unwrap();
        assert_eq!(t["server"]["listen"].as_str(), Some("127.0.0.1:2"));
    }
}
