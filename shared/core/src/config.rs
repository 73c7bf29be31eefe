//! Every threshold, window and list the engine uses, in one place.
//!
//! Built-in defaults are the product's defaults; a TOML file (`pulse.example.toml` documents
//! each setting) overrides any part of them. [`Config::validate`] names the setting at fault.

use serde::{Deserialize, Serialize};

pub use crate::time::Secs;

/// How the relative threshold and the absolute floor combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdMode {
    /// Both must pass (default): no firehose on big values, no noise on tiny ones.
    Both,
    /// Either one passes (the first version's behaviour, kept as an option).
    Either,
}

/// When an update event is published for one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRule {
    /// Relative change from the last published value, in percent.
    pub relative_percent: f64,
    /// Absolute change from the last published value, in USD (0 = no floor).
    pub absolute_floor: f64,
    pub mode: ThresholdMode,
}

/// Update events (Redis pub/sub).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublishConfig {
    pub price: PublishRule,
    pub tvl: PublishRule,
    /// A value unchanged for this long is re-published anyway.
    pub heartbeat: Secs,
}

impl Default for PublishConfig {
    fn default() -> Self {
        PublishConfig {
            price: PublishRule {
                relative_percent: 0.1,
                absolute_floor: 0.0,
                mode: ThresholdMode::Both,
            },
            tvl: PublishRule {
                relative_percent: 1.0,
                absolute_floor: 10_000.0,
                mode: ThresholdMode::Both,
            },
            heartbeat: Secs::hours(1),
        }
    }
}

/// One window of a window rule: a move of `warning_percent` within `window` is a warning,
/// `critical_percent` is critical.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowThreshold {
    pub window: Secs,
    pub warning_percent: f64,
    pub critical_percent: f64,
}

/// Price alerts: a move up or down within a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PriceAlertConfig {
    pub windows: Vec<WindowThreshold>,
}

impl Default for PriceAlertConfig {
    fn default() -> Self {
        PriceAlertConfig {
            windows: vec![
                WindowThreshold {
                    window: Secs::hours(1),
                    warning_percent: 5.0,
                    critical_percent: 15.0,
                },
                WindowThreshold {
                    window: Secs::hours(24),
                    warning_percent: 10.0,
                    critical_percent: 25.0,
                },
            ],
        }
    }
}

/// TVL alerts: a drop within a window, of at least `min_drop_usd`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TvlAlertConfig {
    pub windows: Vec<WindowThreshold>,
    pub min_drop_usd: f64,
}

impl Default for TvlAlertConfig {
    fn default() -> Self {
        TvlAlertConfig {
            windows: vec![
                WindowThreshold {
                    window: Secs::hours(1),
                    warning_percent: 10.0,
                    critical_percent: 25.0,
                },
                WindowThreshold {
                    window: Secs::hours(24),
                    warning_percent: 20.0,
                    critical_percent: 40.0,
                },
            ],
            min_drop_usd: 1_000_000.0,
        }
    }
}

/// Pegged assets, judged against their peg from the first record on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PegConfig {
    /// Coingecko ids (`usd-coin`) or token ids (`ethereum:0xa0b8...`) of pegged assets.
    pub assets: Vec<String>,
    /// The peg, in USD.
    pub peg: f64,
    /// Deviation levels in percent; crossing each one alerts. The first is a warning.
    pub levels_percent: Vec<f64>,
    /// From this level on (1-based) the alert is critical.
    pub critical_level: usize,
    /// Back within this deviation (percent) after an alert: an `info` recovery.
    pub recovery_percent: f64,
}

impl Default for PegConfig {
    fn default() -> Self {
        PegConfig {
            assets: [
                "usd-coin",
                "tether",
                "dai",
                "terrausd",
                "binance-usd",
                "frax",
                "true-usd",
            ]
            .map(String::from)
            .to_vec(),
            peg: 1.0,
            levels_percent: vec![2.0, 5.0, 10.0, 25.0],
            critical_level: 2,
            recovery_percent: 1.0,
        }
    }
}

/// Alert repetition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CooldownConfig {
    /// After an alert, the same (key, rule) stays quiet this long unless the level rises.
    pub period: Secs,
}

impl Default for CooldownConfig {
    fn default() -> Self {
        CooldownConfig {
            period: Secs::hours(1),
        }
    }
}

/// How far back a window may reach for its reference value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WindowsConfig {
    /// A window of W compares with every value in (t - W, t] and with the newest value at or
    /// before t - W only when that value is at most W × (1 + tolerance) old. 0.25: a 24h window
    /// accepts a reference up to 30h old (daily data with some jitter), never one 48h old.
    pub tolerance: f64,
}

impl Default for WindowsConfig {
    fn default() -> Self {
        WindowsConfig { tolerance: 0.25 }
    }
}

impl WindowsConfig {
    /// The oldest a reference value may be for a window of `window` seconds.
    pub fn max_age(&self, window: i64) -> i64 {
        let max = window as f64 * (1.0 + self.tolerance);
        if max >= i64::MAX as f64 {
            i64::MAX
        } else {
            max.floor() as i64
        }
    }
}

/// DefiLlama's TVL *sections*: numeric keys of a TVL row that are parts of the TVL, not chains
/// (DefiLlama's `extraSections` plus the double-counting keys). A key is a section when it is
/// one of `sections` (`borrowed`) or a chain followed by `-` and one of them (`ethereum-borrowed`).
pub const DEFAULT_SECTIONS: [&str; 10] = [
    "staking",
    "pool2",
    "borrowed",
    "offers",
    "masterchef",
    "treasury",
    "vesting",
    "doublecounted",
    "liquidstaking",
    "dcAndLsOverlap",
];

/// How TVL rows are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TvlConfig {
    /// Section names (see [`DEFAULT_SECTIONS`]). Sections travel in `tvl_change.breakdown`; they
    /// get no events of their own and never count as chains (no chain_added / chain_removed).
    pub sections: Vec<String>,
    /// Sections whose drops raise `tvl_drop` alerts (the bare section and every
    /// `<chain>-<section>`), e.g. `["borrowed"]` for lending protocols. None by default:
    /// `borrowed` falls when loans are repaid, which is not value leaving the protocol.
    pub section_alerts: Vec<String>,
}

impl Default for TvlConfig {
    fn default() -> Self {
        TvlConfig {
            sections: DEFAULT_SECTIONS.map(String::from).to_vec(),
            section_alerts: Vec::new(),
        }
    }
}

/// Bounds beyond which a record is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidationConfig {
    /// Above this, `absurd_magnitude`.
    pub max_tvl_usd: f64,
    /// Above this, `absurd_magnitude`.
    pub max_price_usd: f64,
    /// A price above 0 but below this is `tiny_price` (0 is `zero_price`): subnormal and
    /// astronomically small prices are feed errors, and a percentage measured from them is
    /// meaningless.
    pub min_price_usd: f64,
    /// A record stamped more than this after the detection clock is `future_time`.
    pub max_future_skew: Secs,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        ValidationConfig {
            max_tvl_usd: 1e12,
            max_price_usd: 1e9,
            min_price_usd: 1e-12,
            max_future_skew: Secs(300),
        }
    }
}

/// The whole engine configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub publish: PublishConfig,
    pub price_alerts: PriceAlertConfig,
    pub tvl_alerts: TvlAlertConfig,
    pub windows: WindowsConfig,
    pub tvl: TvlConfig,
    pub peg: PegConfig,
    pub cooldown: CooldownConfig,
    pub validation: ValidationConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file is not valid TOML for pulse: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("config setting `{setting}`: {problem}")]
    Invalid { setting: String, problem: String },
}

fn invalid(setting: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.into(),
        problem: problem.into(),
    }
}

impl Config {
    /// Parses a TOML override (missing settings keep their defaults) and validates it.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every setting; the error names the one at fault.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(invalid(name, format!("must be a positive number, got {v}")))
            }
        };
        let non_negative = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(invalid(name, format!("must be zero or more, got {v}")))
            }
        };
        for (name, rule) in [
            ("publish.price", &self.publish.price),
            ("publish.tvl", &self.publish.tvl),
        ] {
            non_negative(&format!("{name}.relative_percent"), rule.relative_percent)?;
            non_negative(&format!("{name}.absolute_floor"), rule.absolute_floor)?;
        }
        if self.publish.heartbeat.0 <= 0 {
            return Err(invalid("publish.heartbeat", "must be longer than 0s"));
        }
        for (name, windows) in [
            ("price_alerts.windows", &self.price_alerts.windows),
            ("tvl_alerts.windows", &self.tvl_alerts.windows),
        ] {
            for (i, w) in windows.iter().enumerate() {
                let at = format!("{name}[{i}]");
                if w.window.0 <= 0 {
                    return Err(invalid(format!("{at}.window"), "must be longer than 0s"));
                }
                positive(&format!("{at}.warning_percent"), w.warning_percent)?;
                positive(&format!("{at}.critical_percent"), w.critical_percent)?;
                if w.critical_percent < w.warning_percent {
                    return Err(invalid(
                        at,
                        "critical_percent must not be below warning_percent",
                    ));
                }
                if windows[..i].iter().any(|o| o.window == w.window) {
                    return Err(invalid(
                        format!("{at}.window"),
                        format!("window {} is listed twice", w.window),
                    ));
                }
            }
        }
        non_negative("tvl_alerts.min_drop_usd", self.tvl_alerts.min_drop_usd)?;
        positive("peg.peg", self.peg.peg)?;
        positive("peg.recovery_percent", self.peg.recovery_percent)?;
        let levels = &self.peg.levels_percent;
        if levels.is_empty()
            || levels.windows(2).any(|p| p[0] >= p[1])
            || levels.iter().any(|l| !(l.is_finite() && *l > 0.0))
        {
            return Err(invalid(
                "peg.levels_percent",
                "must be positive and strictly increasing, e.g. [2, 5, 10, 25]",
            ));
        }
        if self.peg.recovery_percent >= levels[0] {
            return Err(invalid(
                "peg.recovery_percent",
                "must be below the first level, or recovery and alert would flap",
            ));
        }
        if self.peg.critical_level == 0 || self.peg.critical_level > levels.len() {
            return Err(invalid(
                "peg.critical_level",
                format!("must be between 1 and {}", levels.len()),
            ));
        }
        if self.cooldown.period.0 < 0 {
            return Err(invalid("cooldown.period", "must not be negative"));
        }
        let tolerance = self.windows.tolerance;
        if !(tolerance.is_finite() && (0.0..=10.0).contains(&tolerance)) {
            return Err(invalid(
                "windows.tolerance",
                format!("must be between 0 and 10 (0.25 = 25 % of the window), got {tolerance}"),
            ));
        }
        for (i, s) in self.tvl.sections.iter().enumerate() {
            if s.is_empty() || s.contains('-') {
                return Err(invalid(
                    format!("tvl.sections[{i}]"),
                    format!("`{s}` must be a bare section name such as `borrowed` (no `-`)"),
                ));
            }
        }
        for (i, s) in self.tvl.section_alerts.iter().enumerate() {
            if !self.tvl.sections.contains(s) {
                return Err(invalid(
                    format!("tvl.section_alerts[{i}]"),
                    format!("`{s}` is not listed in tvl.sections"),
                ));
            }
        }
        positive("validation.max_tvl_usd", self.validation.max_tvl_usd)?;
        positive("validation.max_price_usd", self.validation.max_price_usd)?;
        positive("validation.min_price_usd", self.validation.min_price_usd)?;
        if self.validation.min_price_usd >= self.validation.max_price_usd {
            return Err(invalid(
                "validation.min_price_usd",
                "must be below validation.max_price_usd",
            ));
        }
        if self.validation.max_future_skew.0 < 0 {
            return Err(invalid(
                "validation.max_future_skew",
                "must not be negative",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = Config::default();
        assert_eq!(c.publish.price.relative_percent, 0.1);
        assert_eq!(c.publish.price.absolute_floor, 0.0);
        assert_eq!(c.publish.tvl.relative_percent, 1.0);
        assert_eq!(c.publish.tvl.absolute_floor, 10_000.0);
        assert_eq!(c.publish.tvl.mode, ThresholdMode::Both);
        assert_eq!(c.publish.heartbeat, Secs(3600));
        assert_eq!(c.cooldown.period, Secs(3600));
        assert!(c.peg.assets.iter().any(|a| a == "terrausd"));
        c.validate().unwrap();
    }

    #[test]
    fn example_file_parses_to_the_defaults() {
        let text = include_str!("../../../pulse.example.toml");
        assert_eq!(Config::from_toml(text).unwrap(), Config::default());
    }

    #[test]
    fn partial_override_keeps_other_defaults() {
        let c = Config::from_toml(
            "[publish.tvl]\nrelative_percent = 2\nabsolute_floor = 0\nmode = \"either\"\n",
        )
        .unwrap();
        assert_eq!(c.publish.tvl.mode, ThresholdMode::Either);
        assert_eq!(c.publish.price, PublishConfig::default().price);
    }

    #[test]
    fn errors_name_the_setting() {
        let err = Config::from_toml("[peg]\nlevels_percent = [5, 2]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("peg.levels_percent"), "{err}");
        let err = Config::from_toml("[publish]\nheartbeat = \"1y\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown unit"), "{err}");
        let err = Config::from_toml("[publish]\nheartbeet = \"1h\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("heartbeet"), "{err}");
    }

    #[test]
    fn issue_10_settings_validate() {
        let c = Config::default();
        assert_eq!(c.windows.max_age(86_400), 108_000, "24h reaches back 30h");
        assert_eq!(c.windows.max_age(3600), 4500);
        assert_eq!(c.validation.max_future_skew, Secs(300));
        assert_eq!(c.tvl.sections.len(), 10);
        for (text, setting) in [
            ("[windows]\ntolerance = -0.1\n", "windows.tolerance"),
            (
                "[tvl]\nsection_alerts = [\"loans\"]\n",
                "tvl.section_alerts[0]",
            ),
            (
                "[tvl]\nsections = [\"ethereum-borrowed\"]\n",
                "tvl.sections[0]",
            ),
            (
                "[validation]\nmin_price_usd = 0\n",
                "validation.min_price_usd",
            ),
            (
                "[validation]\nmax_future_skew = \"-5m\"\n",
                "max_future_skew",
            ),
        ] {
            let err = Config::from_toml(text).unwrap_err().to_string();
            assert!(err.contains(setting), "{text}: {err}");
        }
        let c = Config::from_toml("[tvl]\nsection_alerts = [\"borrowed\"]\n").unwrap();
        assert_eq!(c.tvl.section_alerts, vec!["borrowed".to_string()]);
    }

    #[test]
    fn durations_round_trip() {
        for (text, secs) in [
            ("90s", 90),
            ("5m", 300),
            ("1h", 3600),
            ("7d", 604_800),
            ("45", 45),
        ] {
            assert_eq!(Secs::parse(text).unwrap(), Secs(secs));
        }
        assert_eq!(Secs(86_400).to_string(), "1d");
        assert_eq!(Secs(3600).to_string(), "1h");
        assert_eq!(Secs(61).to_string(), "61s");
    }
}
