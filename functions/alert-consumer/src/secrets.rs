//! Secrets: webhook URLs, bot tokens, routing keys, HMAC keys. A [`Secret`] never prints
//! (its `Debug` and `Display` show `***`); the routes file names where each one comes from
//! ([`SecretRef`]): an SSM SecureString parameter (production) or a plain value (local
//! runs). They are resolved once, at cold start, and kept for the container's life.

use pulse_core::ports::PortError;
pub use pulse_core::ports::{Secret, SecretSource};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Where a secret comes from: `{ ssm = "name" }` or `{ value = "..." }`.
///
/// An SSM name not starting with `/` is taken under `PULSE_SECRETS_PARAMETER_PATH`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum SecretRef {
    Ssm(String),
    Value(String),
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Ssm(name) => write!(f, "Ssm({name:?})"),
            SecretRef::Value(_) => f.write_str("Value(***)"),
        }
    }
}

/// A source for runs without SSM: every SSM reference is an error.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSsm;

impl SecretSource for NoSsm {
    async fn fetch(&self, names: &[String]) -> Result<BTreeMap<String, Secret>, PortError> {
        if names.is_empty() {
            Ok(BTreeMap::new())
        } else {
            Err(PortError::permanent(format!(
                "SSM parameters {names:?} are referenced but no SSM client is configured"
            )))
        }
    }
}

/// The full SSM parameter name of a reference.
pub fn full_name(name: &str, prefix: Option<&str>) -> String {
    match prefix {
        Some(p) if !name.starts_with('/') => format!("{}/{}", p.trim_end_matches('/'), name),
        _ => name.to_string(),
    }
}

/// Resolved secrets, looked up by their reference.
#[derive(Debug, Default, Clone)]
pub struct Secrets {
    by_ssm_name: BTreeMap<String, Secret>,
    prefix: Option<String>,
}

impl Secrets {
    /// Fetches every SSM reference among `refs` in one go.
    pub async fn resolve<'a>(
        refs: impl IntoIterator<Item = &'a SecretRef>,
        prefix: Option<&str>,
        source: &impl SecretSource,
    ) -> Result<Self, PortError> {
        let names: BTreeSet<String> = refs
            .into_iter()
            .filter_map(|r| match r {
                SecretRef::Ssm(n) => Some(full_name(n, prefix)),
                SecretRef::Value(_) => None,
            })
            .collect();
        let names: Vec<String> = names.into_iter().collect();
        let by_ssm_name = source.fetch(&names).await?;
        if let Some(missing) = names.iter().find(|n| !by_ssm_name.contains_key(*n)) {
            return Err(PortError::permanent(format!(
                "SSM parameter {missing} was not found"
            )));
        }
        Ok(Secrets {
            by_ssm_name,
            prefix: prefix.map(str::to_string),
        })
    }

    pub fn get(&self, r: &SecretRef) -> Result<Secret, PortError> {
        match r {
            SecretRef::Value(v) => Ok(Secret::new(v.as_str())),
            SecretRef::Ssm(n) => {
                let name = full_name(n, self.prefix.as_deref());
                self.by_ssm_name
                    .get(&name)
                    .cloned()
                    .ok_or_else(|| PortError::permanent(format!("SSM parameter {name} not loaded")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_refs_never_print() {
        let r = SecretRef::Value("hunter2".into());
        assert!(!format!("{r:?}").contains("hunter2"));
        assert_eq!(full_name("hook", Some("/pulse/prod/")), "/pulse/prod/hook");
        assert_eq!(full_name("/abs/hook", Some("/pulse/prod")), "/abs/hook");
    }
}
