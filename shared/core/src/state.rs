//! Per-key state the engine reads and returns: baselines, window extremes, alert cooldowns.
//! It is plain serialisable data; where it is kept (memory, Redis) is behind
//! [`crate::ports::state::CheckpointStore`].

use crate::config::{WindowThreshold, WindowsConfig};
use crate::record::UnixSecs;
use crate::rules::cooldown::RuleState;
use crate::rules::publish::Published;
use crate::window::{self, Extremes, Reach, WindowTracker};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Extremes of each configured window, in config order (inline for up to four windows).
pub type WindowExtremes = smallvec::SmallVec<[Option<Extremes>; 4]>;

/// One series: a price, a protocol's total TVL, or one chain of it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SeriesState {
    /// The last published value: the baseline for update events.
    pub published: Option<Published>,
    /// Window extremes, one per configured window, tagged with the window's length.
    pub windows: Vec<(i64, WindowTracker)>,
    /// Cooldown of the window rule (price move or TVL drop).
    pub alert: RuleState,
}

impl SeriesState {
    /// Extremes of every configured window at `now`, in config order (`None` where a window
    /// has nothing usable), and how many windows had values but none usable (gaps). Trackers
    /// are rebuilt when the configured windows changed since the state was written.
    pub fn window_extremes(
        &mut self,
        windows: &[WindowThreshold],
        reach: &WindowsConfig,
        now: UnixSecs,
    ) -> (WindowExtremes, u32) {
        let matches = self.windows.len() == windows.len()
            && self
                .windows
                .iter()
                .zip(windows)
                .all(|((len, _), w)| *len == w.window.0);
        if !matches {
            self.windows = windows
                .iter()
                .map(|w| (w.window.0, WindowTracker::default()))
                .collect();
        }
        let mut gaps = 0;
        // Pushed one by one: `collect` into a SmallVec costs more than the pushes here.
        let mut extremes = WindowExtremes::new();
        for (len, tracker) in &mut self.windows {
            extremes.push(match tracker.extremes(now, *len, reach.max_age(*len)) {
                Reach::Usable(e) => Some(e),
                Reach::Gap => {
                    gaps += 1;
                    None
                }
                Reach::Empty => None,
            });
        }
        (extremes, gaps)
    }

    /// Forgets everything stamped after `limit`; returns whether anything was.
    fn forget_after(&mut self, limit: UnixSecs) -> bool {
        let mut poisoned = false;
        if self.published.is_some_and(|p| p.time > limit) {
            self.published = None;
            poisoned = true;
        }
        for (len, tracker) in &mut self.windows {
            poisoned |= tracker.forget_after(limit, window::resolution(*len));
        }
        poisoned |= self.alert.forget_after(limit);
        poisoned
    }

    pub fn push_window_value(&mut self, time: UnixSecs, value: f64) {
        for (len, tracker) in &mut self.windows {
            tracker.push(time, value, window::resolution(*len));
        }
    }
}

/// Everything kept for one state key (`price:{tokenId}` or `tvl:{protocolId}`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EntityState {
    /// Time of the newest record applied; older or equal records are skipped as stale.
    pub last_time: Option<UnixSecs>,
    /// The price, or the protocol's total TVL.
    pub main: SeriesState,
    /// Peg rule cooldown, for pegged assets.
    pub peg: RuleState,
    /// Per-chain TVL series (kept when a chain disappears, in case it returns).
    pub chains: BTreeMap<String, SeriesState>,
    /// Chains present in the newest TVL record, sorted (sections are not chains).
    pub present_chains: Vec<String>,
    /// TVL sections whose drops alert (`tvl.section_alerts`), by key (`ethereum-borrowed`).
    #[serde(default)]
    pub sections: BTreeMap<String, SeriesState>,
}

impl EntityState {
    /// Heals a state poisoned by a record stamped in the future (written before the time guard
    /// existed, or under a clock that was wrong): every baseline, window value and cooldown
    /// stamped after `limit` is forgotten, and so is `last_time`, so the key is no longer
    /// muted as stale. Returns whether anything was healed.
    pub fn heal_after(&mut self, limit: UnixSecs) -> bool {
        if self.last_time.is_none_or(|t| t <= limit) {
            return false;
        }
        self.last_time = None;
        self.main.forget_after(limit);
        self.peg.forget_after(limit);
        for series in self.chains.values_mut().chain(self.sections.values_mut()) {
            series.forget_after(limit);
        }
        true
    }
}

/// States by key, as loaded for a batch (foldhash: a fast hasher with a random seed).
pub type StateMap = HashMap<String, EntityState, foldhash::fast::RandomState>;
