//! Secret values (webhook URLs, bot tokens, the Redis AUTH token) and where they are read
//! from (SSM Parameter Store in production). A [`Secret`] never prints: its `Debug` and
//! `Display` show `***`.

use super::{PortError, lock};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// A secret value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(value: impl Into<Arc<str>>) -> Self {
        Secret(value.into())
    }
    /// The value, for the one place that must use it (a header, a URL, an HMAC key).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Reads secrets by full name (decrypted). Names that do not exist are absent from the answer;
/// the caller says which one it missed.
pub trait SecretSource {
    fn fetch(
        &self,
        names: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, Secret>, PortError>> + Send;
}

/// Secrets in memory, by name.
#[derive(Debug, Default)]
pub struct MemorySecrets {
    pub values: Mutex<BTreeMap<String, Secret>>,
}

impl MemorySecrets {
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        MemorySecrets {
            values: Mutex::new(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), Secret::new(v)))
                    .collect(),
            ),
        }
    }
}

impl SecretSource for MemorySecrets {
    async fn fetch(&self, names: &[String]) -> Result<BTreeMap<String, Secret>, PortError> {
        let values = lock(&self.values, "secrets")?;
        Ok(names
            .iter()
            .filter_map(|n| values.get(n).map(|v| (n.clone(), v.clone())))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
    }
}
