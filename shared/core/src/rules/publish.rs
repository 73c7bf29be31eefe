//! Update events: publish when a value moved far enough from the last *published* value
//! (relative threshold and absolute floor), or when it has been silent for a heartbeat.

use crate::config::{PublishRule, Secs, ThresholdMode};
use crate::record::UnixSecs;
use serde::{Deserialize, Serialize};

/// The last value published for a series: the baseline for the next change.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Published {
    pub value: f64,
    pub time: UnixSecs,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PublishDecision {
    /// First sighting: the value becomes the baseline, nothing is published.
    Seed,
    /// Publish; `previous` is the baseline the change is measured from.
    Publish {
        previous: Published,
        heartbeat: bool,
    },
    /// Not enough change yet; the baseline stays.
    Hold,
}

/// Signed change in percent from `previous` to `current`; from 0 to anything is +100 %.
pub fn change_percent(previous: f64, current: f64) -> f64 {
    if previous == 0.0 {
        if current == 0.0 { 0.0 } else { 100.0 }
    } else {
        (current - previous) / previous * 100.0
    }
}

pub fn decide(
    rule: &PublishRule,
    heartbeat: Secs,
    baseline: Option<Published>,
    value: f64,
    time: UnixSecs,
) -> PublishDecision {
    let Some(previous) = baseline else {
        return PublishDecision::Seed;
    };
    let absolute = (value - previous.value).abs();
    let relative = if previous.value == 0.0 {
        if value == 0.0 { 0.0 } else { f64::INFINITY }
    } else {
        absolute / previous.value.abs() * 100.0
    };
    let passes_relative = relative >= rule.relative_percent && absolute > 0.0;
    let passes_floor = absolute >= rule.absolute_floor && absolute > 0.0;
    let moved = match rule.mode {
        ThresholdMode::Both => passes_relative && passes_floor,
        ThresholdMode::Either => passes_relative || passes_floor,
    };
    if moved {
        PublishDecision::Publish {
            previous,
            heartbeat: false,
        }
    } else if time - previous.time >= heartbeat.0 {
        PublishDecision::Publish {
            previous,
            heartbeat: true,
        }
    } else {
        PublishDecision::Hold
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PublishConfig;

    fn at(value: f64, time: UnixSecs) -> Option<Published> {
        Some(Published { value, time })
    }

    #[test]
    fn first_sighting_seeds_silently() {
        // SPEC fault: a missing baseline compared as 0 gave a false +100 %.
        let rules = PublishConfig::default();
        assert_eq!(
            decide(&rules.price, rules.heartbeat, None, 60_000.0, 0),
            PublishDecision::Seed
        );
    }

    #[test]
    fn tvl_needs_both_percent_and_floor() {
        let rules = PublishConfig::default();
        // $10,000 on a $10 bn protocol is 0.0001 %: not an event (SPEC fault: "either" fired every tick).
        assert_eq!(
            decide(
                &rules.tvl,
                rules.heartbeat,
                at(10e9, 0),
                10e9 + 10_000.0,
                60
            ),
            PublishDecision::Hold
        );
        // 5 % of $100,000 is $5,000, under the floor.
        assert_eq!(
            decide(&rules.tvl, rules.heartbeat, at(100_000.0, 0), 105_000.0, 60),
            PublishDecision::Hold
        );
        assert!(matches!(
            decide(&rules.tvl, rules.heartbeat, at(10e9, 0), 10.2e9, 60),
            PublishDecision::Publish {
                heartbeat: false,
                ..
            }
        ));
    }

    #[test]
    fn either_mode_is_available() {
        let mut rules = PublishConfig::default();
        rules.tvl.mode = ThresholdMode::Either;
        assert!(matches!(
            decide(
                &rules.tvl,
                rules.heartbeat,
                at(10e9, 0),
                10e9 + 10_000.0,
                60
            ),
            PublishDecision::Publish { .. }
        ));
    }

    #[test]
    fn price_cent_on_expensive_asset_does_not_fire() {
        // SPEC fault: $0.01 on a $60,000 asset fired on every tick.
        let rules = PublishConfig::default();
        assert_eq!(
            decide(
                &rules.price,
                rules.heartbeat,
                at(60_000.0, 0),
                60_000.01,
                60
            ),
            PublishDecision::Hold
        );
        assert!(matches!(
            decide(&rules.price, rules.heartbeat, at(60_000.0, 0), 60_060.0, 60),
            PublishDecision::Publish { .. }
        ));
    }

    #[test]
    fn slow_drift_fires_against_the_published_baseline() {
        // SPEC fault: comparing with the last *observed* value, 0.05 % a minute never fired.
        let rules = PublishConfig::default();
        let baseline = at(1.0, 0);
        let mut value = 1.0;
        let mut fired_at = None;
        for minute in 1..10 {
            value *= 1.0005;
            if let PublishDecision::Publish { .. } =
                decide(&rules.price, rules.heartbeat, baseline, value, minute * 60)
            {
                fired_at = Some(minute);
                break;
            }
        }
        assert_eq!(
            fired_at,
            Some(2),
            "0.05 %/min crosses 0.1 % at the second minute"
        );
    }

    #[test]
    fn heartbeat_republishes_an_unchanged_value() {
        let rules = PublishConfig::default();
        assert_eq!(
            decide(&rules.price, rules.heartbeat, at(1.0, 0), 1.0, 3599),
            PublishDecision::Hold
        );
        assert!(matches!(
            decide(&rules.price, rules.heartbeat, at(1.0, 0), 1.0, 3600),
            PublishDecision::Publish {
                heartbeat: true,
                ..
            }
        ));
    }

    #[test]
    fn change_from_zero() {
        assert_eq!(change_percent(0.0, 5.0), 100.0);
        assert_eq!(change_percent(0.0, 0.0), 0.0);
        assert_eq!(change_percent(200.0, 150.0), -25.0);
    }
}
