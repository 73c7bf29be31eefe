//! Alert repetition per (key, rule): an alert fires when its level rises above the level
//! already announced, unless the same or a higher level fired within the cooldown period.
//! An announced level stays announced until the rule clears (hysteresis): a value wobbling
//! around one threshold alerts once, not on every crossing.

use crate::config::Secs;
use crate::record::UnixSecs;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RuleState {
    /// The level currently announced (0 = nothing is).
    pub active: u8,
    pub last_alert_at: Option<UnixSecs>,
    pub last_alert_level: u8,
}

/// What a rule sees on one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    /// A threshold level is reached (1 = the first).
    Level(u8),
    /// Between recovery and the first level: nothing changes.
    Hold,
    /// Back to normal.
    Clear,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Quiet,
    Fire,
    /// Would fire, but the same or a higher level fired within the cooldown.
    Suppressed,
    /// Back to normal after an announced level.
    Recovered,
}

pub fn decide(state: &mut RuleState, seen: Observation, now: UnixSecs, period: Secs) -> Decision {
    match seen {
        Observation::Hold => Decision::Quiet,
        Observation::Clear | Observation::Level(0) => {
            if state.active > 0 {
                state.active = 0;
                Decision::Recovered
            } else {
                Decision::Quiet
            }
        }
        Observation::Level(level) if level <= state.active => Decision::Quiet,
        Observation::Level(level) => {
            state.active = level;
            let cooling = state.last_alert_at.is_some_and(|t| now - t < period.0);
            if cooling && level <= state.last_alert_level {
                Decision::Suppressed
            } else {
                state.last_alert_at = Some(now);
                state.last_alert_level = level;
                Decision::Fire
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Secs = Secs(3600);

    #[test]
    fn fires_once_per_episode_and_on_escalation() {
        let mut s = RuleState::default();
        assert_eq!(
            decide(&mut s, Observation::Level(1), 0, HOUR),
            Decision::Fire
        );
        assert_eq!(
            decide(&mut s, Observation::Level(1), 60, HOUR),
            Decision::Quiet
        );
        assert_eq!(
            decide(&mut s, Observation::Level(2), 120, HOUR),
            Decision::Fire,
            "a rise breaks the cooldown"
        );
        assert_eq!(
            decide(&mut s, Observation::Level(2), 99_999, HOUR),
            Decision::Quiet,
            "an ongoing level is not repeated"
        );
    }

    #[test]
    fn flapping_within_the_cooldown_is_suppressed() {
        let mut s = RuleState::default();
        assert_eq!(
            decide(&mut s, Observation::Level(1), 0, HOUR),
            Decision::Fire
        );
        assert_eq!(
            decide(&mut s, Observation::Clear, 60, HOUR),
            Decision::Recovered
        );
        assert_eq!(
            decide(&mut s, Observation::Level(1), 120, HOUR),
            Decision::Suppressed
        );
        assert_eq!(
            decide(&mut s, Observation::Clear, 180, HOUR),
            Decision::Recovered
        );
        assert_eq!(
            decide(&mut s, Observation::Level(1), 3600, HOUR),
            Decision::Fire,
            "cooldown over"
        );
    }

    #[test]
    fn wobbling_around_a_level_alerts_once_per_episode() {
        let mut s = RuleState::default();
        assert_eq!(
            decide(&mut s, Observation::Level(3), 0, HOUR),
            Decision::Fire
        );
        assert_eq!(
            decide(&mut s, Observation::Level(2), 60, HOUR),
            Decision::Quiet
        );
        assert_eq!(
            decide(&mut s, Observation::Level(3), 4000, HOUR),
            Decision::Quiet,
            "still the announced episode"
        );
        assert_eq!(
            decide(&mut s, Observation::Clear, 5000, HOUR),
            Decision::Recovered
        );
        assert_eq!(
            decide(&mut s, Observation::Level(3), 9000, HOUR),
            Decision::Fire,
            "a new episode"
        );
    }

    #[test]
    fn hold_changes_nothing() {
        let mut s = RuleState::default();
        decide(&mut s, Observation::Level(1), 0, HOUR);
        let before = s;
        assert_eq!(decide(&mut s, Observation::Hold, 10, HOUR), Decision::Quiet);
        assert_eq!(s, before);
    }
}
