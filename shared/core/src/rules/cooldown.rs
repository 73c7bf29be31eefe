//! Alert repetition per (key, rule): an alert fires when its level rises above the level the
//! current episode already reached, unless the same or a higher level fired within the
//! cooldown period. A reached level stays until the rule clears (hysteresis): a value
//! wobbling around one threshold alerts once, not on every crossing.
//!
//! An episode is *announced* once one of its alerts was actually sent (not suppressed). Only
//! an announced episode gets a resolve when it clears ([`Decision::Recovered`]): nobody is
//! told "recovered" about something they were never told.

use crate::config::Secs;
use crate::record::UnixSecs;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RuleState {
    /// The level the current episode reached (0 = no episode).
    pub active: u8,
    /// The highest level of the current episode that was sent (0 = none was: every alert of
    /// the episode so far was suppressed). Decides whether the episode's end is announced.
    #[serde(default)]
    pub announced: u8,
    pub last_alert_at: Option<UnixSecs>,
    pub last_alert_level: u8,
}

impl RuleState {
    /// Whether an alert of the current episode was sent.
    pub fn is_announced(&self) -> bool {
        self.announced > 0
    }

    /// Forgets an alert stamped after `limit` (a state poisoned by a future record): the
    /// cooldown it started would otherwise mute the rule until then. Returns whether it did.
    pub fn forget_after(&mut self, limit: UnixSecs) -> bool {
        if self.last_alert_at.is_some_and(|t| t > limit) {
            *self = RuleState::default();
            true
        } else {
            false
        }
    }
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
    /// Back to normal after an announced episode: send the resolve.
    Recovered,
    /// Back to normal after an episode that was never announced (all suppressed): say nothing.
    Ended,
}

pub fn decide(state: &mut RuleState, seen: Observation, now: UnixSecs, period: Secs) -> Decision {
    match seen {
        Observation::Hold => Decision::Quiet,
        Observation::Clear | Observation::Level(0) => {
            if state.active == 0 {
                return Decision::Quiet;
            }
            let announced = state.is_announced();
            state.active = 0;
            state.announced = 0;
            if announced {
                Decision::Recovered
            } else {
                Decision::Ended
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
                state.announced = level;
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
            Decision::Ended,
            "the suppressed episode was never announced: no recovery for it"
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
    fn only_announced_episodes_recover() {
        // The defect: one warning, then three "recovered" for episodes whose alert was
        // suppressed.
        let mut s = RuleState::default();
        let mut decisions = Vec::new();
        for (i, seen) in [
            Observation::Level(1),
            Observation::Clear,
            Observation::Level(1),
            Observation::Clear,
            Observation::Level(1),
            Observation::Clear,
            Observation::Level(1),
            Observation::Clear,
        ]
        .into_iter()
        .enumerate()
        {
            decisions.push(decide(&mut s, seen, i as i64 * 60, HOUR));
        }
        let sent = |d: Decision| decisions.iter().filter(|x| **x == d).count();
        assert_eq!((sent(Decision::Fire), sent(Decision::Recovered)), (1, 1));
        assert_eq!(sent(Decision::Suppressed), 3);
        // An escalation during a suppressed episode announces it.
        let mut s = RuleState::default();
        decide(&mut s, Observation::Level(1), 0, HOUR);
        decide(&mut s, Observation::Clear, 10, HOUR);
        assert_eq!(
            decide(&mut s, Observation::Level(1), 20, HOUR),
            Decision::Suppressed
        );
        assert!(!s.is_announced());
        assert_eq!(
            decide(&mut s, Observation::Level(2), 30, HOUR),
            Decision::Fire
        );
        assert_eq!(
            decide(&mut s, Observation::Clear, 40, HOUR),
            Decision::Recovered
        );
    }

    #[test]
    fn a_future_alert_time_is_forgotten() {
        let mut s = RuleState::default();
        decide(&mut s, Observation::Level(1), 4_000_000_000, HOUR);
        assert!(s.forget_after(1_700_000_000));
        assert_eq!(s, RuleState::default());
        assert!(!s.forget_after(1_700_000_000));
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
