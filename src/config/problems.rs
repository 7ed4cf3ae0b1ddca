//! What validation reports: each [`Problem`] names its dotted key, [`Problems`] collects
//! them while every section is checked, and [`ConfigError`] reports them all together.

/// One problem with the configuration, named by its dotted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

/// Every problem found, reported together.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "invalid configuration ({} problem(s)):",
            self.problems.len()
        )?;
        for p in &self.problems {
            writeln!(f, "  {}: {}", p.key, p.message)?;
        }
        Ok(())
    }
}

impl ConfigError {
    pub(super) fn one(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            problems: vec![Problem {
                key: key.into(),
                message: message.into(),
            }],
        }
    }
}

/// Collects problems while validating, so one run reports all of them.
#[derive(Default)]
pub struct Problems(Vec<Problem>);

impl Problems {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    /// Runs `parse` on `value` (or on `default` when unset), recording a failure under `key`.
    pub fn parse<T, E: std::fmt::Display>(
        &mut self,
        key: &str,
        value: Option<&str>,
        default: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let v = value.unwrap_or(default);
        match parse(v) {
            Ok(t) => Some(t),
            Err(e) => {
                self.add(key, format!("{e} (got {v:?})"));
                None
            }
        }
    }
}

impl From<Problems> for ConfigError {
    fn from(p: Problems) -> Self {
        ConfigError { problems: p.0 }
    }
}
