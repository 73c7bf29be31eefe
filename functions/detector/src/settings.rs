//! The detector's settings, from the environment variables named in [`pulse_core::env`]. Read
//! once at cold start; a missing or bad variable is an error that names it.

use crate::handler::TickBudget;
use pulse_adapters::dynamodb::{KeysMode, ReadMode};
use pulse_core::env;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("missing environment variable {name} ({help})")]
    Missing {
        name: &'static str,
        help: &'static str,
    },
    #[error("environment variable {name}={value:?} is invalid: {why}")]
    Invalid {
        name: &'static str,
        value: String,
        why: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsMode {
    /// EMF log lines (Lambda).
    Emf,
    /// CloudWatch PutMetricData (the local stack).
    Api,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub events_table: String,
    pub coins_table: String,
    pub read_mode: ReadMode,
    pub alerts_queue_url: String,
    pub redis_url: String,
    pub redis_auth_parameter: Option<String>,
    pub thresholds_file: Option<PathBuf>,
    pub metrics_namespace: String,
    pub metrics_mode: MetricsMode,
    pub scan_overlap_secs: i64,
    pub initial_lookback_secs: i64,
    pub budget: TickBudget,
}

fn help_of(name: &str) -> &'static str {
    env::DETECTOR
        .iter()
        .find(|v| v.name == name)
        .map_or("", |v| v.help)
}

impl Settings {
    /// From the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From any lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| {
            get(name).ok_or(SettingsError::Missing {
                name,
                help: help_of(name),
            })
        };
        let number = |name: &'static str, default: i64, min: i64| match get(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if n >= min => Ok(n),
                _ => Err(SettingsError::Invalid {
                    name,
                    value: v,
                    why: format!("expected a whole number >= {min}"),
                }),
            },
        };
        let events_table = required(env::EVENTS_TABLE)?;
        let coins_table = required(env::COINS_TABLE)?;
        let alerts_queue_url = required(env::ALERTS_QUEUE_URL)?;
        let redis_url = required(env::REDIS_URL)?;
        if !(redis_url.starts_with("redis://") || redis_url.starts_with("rediss://")) {
            return Err(SettingsError::Invalid {
                name: env::REDIS_URL,
                value: pulse_adapters::redis::redact_url(&redis_url),
                why: "expected redis:// or rediss://".into(),
            });
        }
        let segments = number(env::SCAN_SEGMENTS, 4, 1)?;
        let bucket_index = get(env::TIME_BUCKET_INDEX);
        let mode_name = get(env::READ_MODE).unwrap_or_else(|| {
            // A bucket index alone keeps selecting its mode, as before read modes had names.
            if bucket_index.is_some() {
                "time-bucket"
            } else {
                "keys"
            }
            .to_string()
        });
        let read_mode = match mode_name.trim() {
            "keys" => {
                let defaults = KeysMode::default();
                ReadMode::Keys(
                    KeysMode {
                        discovery_period_secs: number(
                            env::DISCOVERY_PERIOD_SECS,
                            defaults.discovery_period_secs,
                            60,
                        )?,
                        first_pass_items: number(
                            env::DISCOVERY_FIRST_PASS_ITEMS,
                            defaults.first_pass_items,
                            1,
                        )?,
                        ..defaults
                    }
                    .with_watch_list(&get(env::WATCH_KEYS).unwrap_or_default()),
                )
            }
            "scan" => ReadMode::Scan {
                segments: i32::try_from(segments).map_err(|_| SettingsError::Invalid {
                    name: env::SCAN_SEGMENTS,
                    value: segments.to_string(),
                    why: "too large".into(),
                })?,
            },
            "time-bucket" => ReadMode::TimeBucketIndex {
                index: bucket_index.ok_or(SettingsError::Missing {
                    name: env::TIME_BUCKET_INDEX,
                    help: help_of(env::TIME_BUCKET_INDEX),
                })?,
            },
            other => {
                return Err(SettingsError::Invalid {
                    name: env::READ_MODE,
                    value: other.to_string(),
                    why: "expected keys, scan or time-bucket".into(),
                });
            }
        };
        let metrics_mode = match get(env::METRICS_MODE).as_deref() {
            None | Some("emf") => MetricsMode::Emf,
            Some("api") => MetricsMode::Api,
            Some(other) => {
                return Err(SettingsError::Invalid {
                    name: env::METRICS_MODE,
                    value: other.to_string(),
                    why: "expected emf or api".into(),
                });
            }
        };
        Ok(Settings {
            events_table,
            coins_table,
            read_mode,
            alerts_queue_url,
            redis_url,
            redis_auth_parameter: get(env::REDIS_AUTH_PARAMETER),
            thresholds_file: get(env::THRESHOLDS_FILE).map(PathBuf::from),
            metrics_namespace: get(env::METRICS_NAMESPACE)
                .unwrap_or_else(|| env::DEFAULT_METRICS_NAMESPACE.to_string()),
            metrics_mode,
            scan_overlap_secs: number(env::SCAN_OVERLAP_SECS, 300, 0)?,
            initial_lookback_secs: number(env::INITIAL_LOOKBACK_SECS, 3600, 0)?,
            budget: {
                let d = TickBudget::default();
                let size = |n: i64| usize::try_from(n).unwrap_or(usize::MAX);
                TickBudget {
                    max_records: size(number(env::TICK_MAX_RECORDS, d.max_records as i64, 1)?),
                    chunk_records: size(number(
                        env::TICK_CHUNK_RECORDS,
                        d.chunk_records as i64,
                        1,
                    )?),
                    time: std::time::Duration::from_secs(
                        u64::try_from(number(env::TICK_BUDGET_SECS, d.time.as_secs() as i64, 1)?)
                            .unwrap_or(1),
                    ),
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::collections::HashMap;

    fn base() -> HashMap<&'static str, String> {
        HashMap::from([
            (env::EVENTS_TABLE, "events".to_string()),
            (env::COINS_TABLE, "coins".to_string()),
            (env::ALERTS_QUEUE_URL, "http://q".to_string()),
            (env::REDIS_URL, "redis://127.0.0.1:6379".to_string()),
        ])
    }

    fn parse(map: &HashMap<&'static str, String>) -> Result<Settings, SettingsError> {
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let s = parse(&base()).unwrap();
        assert_eq!(s.read_mode, ReadMode::Keys(KeysMode::default()));
        assert_eq!(s.metrics_mode, MetricsMode::Emf);
        assert_eq!(s.scan_overlap_secs, 300);
        assert_eq!(s.metrics_namespace, "Pulse");
    }

    #[test]
    fn read_modes() {
        let mut map = base();
        map.insert(env::READ_MODE, "scan".into());
        assert_eq!(
            parse(&map).unwrap().read_mode,
            ReadMode::Scan { segments: 4 }
        );
        let mut map = base();
        map.insert(env::WATCH_KEYS, "coingecko#usd-coin, hourlyTvl#*,".into());
        map.insert(env::DISCOVERY_PERIOD_SECS, "3600".into());
        let ReadMode::Keys(keys) = parse(&map).unwrap().read_mode else {
            panic!("keys is the default mode")
        };
        assert_eq!(keys.watch_keys, ["coingecko#usd-coin"]);
        assert_eq!(keys.watch_prefixes, ["hourlyTvl#"]);
        assert_eq!(keys.discovery_period_secs, 3600);
        let mut map = base();
        map.insert(env::READ_MODE, "time-bucket".into());
        assert!(
            parse(&map)
                .unwrap_err()
                .to_string()
                .contains("PULSE_TIME_BUCKET_INDEX")
        );
        map.insert(env::READ_MODE, "gsi".into());
        assert!(
            parse(&map)
                .unwrap_err()
                .to_string()
                .contains("PULSE_READ_MODE")
        );
    }

    #[test]
    fn every_required_variable_is_named_when_missing() {
        for name in env::DETECTOR.iter().filter(|v| v.required).map(|v| v.name) {
            let mut map = base();
            map.remove(name);
            let err = parse(&map).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn bad_values_are_named() {
        let mut map = base();
        map.insert(env::METRICS_MODE, "statsd".into());
        assert!(
            parse(&map)
                .unwrap_err()
                .to_string()
                .contains("PULSE_METRICS_MODE")
        );
        let mut map = base();
        map.insert(env::REDIS_URL, "http://x".into());
        assert!(
            parse(&map)
                .unwrap_err()
                .to_string()
                .contains("PULSE_REDIS_URL")
        );
        let mut map = base();
        map.insert(env::TIME_BUCKET_INDEX, "byBucket".into());
        assert_eq!(
            parse(&map).unwrap().read_mode,
            ReadMode::TimeBucketIndex {
                index: "byBucket".into()
            }
        );
    }
}
