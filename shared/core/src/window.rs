//! Sliding extremes over a time window, in amortised O(1) per value.
//!
//! A window of W at time t covers every value seen in (t - W, t) plus the newest value at or
//! before t - W (the "anchor"), so daily data is compared with the day before and minute data
//! with the hour before. Two monotonic deques keep the minimum and maximum of that set.
//! Each entry remembers when the next value arrived: an entry is expired only once a newer
//! value is itself at or before the window's start, which keeps the anchor.

use crate::record::UnixSecs;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Point {
    t: UnixSecs,
    v: f64,
    /// Time of the value that followed this one, once it has arrived.
    next: Option<UnixSecs>,
}

/// The extremes of one window, for one series.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WindowTracker {
    mins: VecDeque<Point>,
    maxs: VecDeque<Point>,
}

/// What a window held just before the newest value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extremes {
    pub min: f64,
    pub min_at: UnixSecs,
    pub max: f64,
    pub max_at: UnixSecs,
}

impl WindowTracker {
    /// Drops what a window of `window` seconds ending at `now` no longer covers and returns
    /// the extremes of what remains (`None` before the first value).
    pub fn extremes(&mut self, now: UnixSecs, window: i64) -> Option<Extremes> {
        let start = now - window;
        let expired = |p: &Point| p.next.is_some_and(|n| n <= start);
        while self.mins.front().is_some_and(expired) {
            self.mins.pop_front();
        }
        while self.maxs.front().is_some_and(expired) {
            self.maxs.pop_front();
        }
        let (min, max) = (self.mins.front()?, self.maxs.front()?);
        Some(Extremes {
            min: min.v,
            min_at: min.t,
            max: max.v,
            max_at: max.t,
        })
    }

    /// Adds the newest value (times must not go backwards; the engine skips older records).
    pub fn push(&mut self, t: UnixSecs, v: f64) {
        for deque in [&mut self.mins, &mut self.maxs] {
            if let Some(last) = deque.back_mut() {
                last.next = Some(t);
            }
        }
        let point = Point { t, v, next: None };
        while self.mins.back().is_some_and(|p| p.v >= v) {
            self.mins.pop_back();
        }
        self.mins.push_back(point);
        while self.maxs.back().is_some_and(|p| p.v <= v) {
            self.maxs.pop_back();
        }
        self.maxs.push_back(point);
    }

    /// Entries held (for tests and state size figures).
    pub fn len(&self) -> usize {
        self.mins.len() + self.maxs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.mins.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition, by brute force: values in (now - w, now) and the newest at or before now - w.
    fn brute(points: &[(i64, f64)], now: i64, w: i64) -> Option<(f64, f64)> {
        let start = now - w;
        let anchor = points.iter().rev().find(|(t, _)| *t <= start);
        let inside = points.iter().filter(|(t, _)| *t > start);
        let all: Vec<f64> = anchor.into_iter().chain(inside).map(|(_, v)| *v).collect();
        if all.is_empty() {
            return None;
        }
        Some((
            all.iter().cloned().fold(f64::MAX, f64::min),
            all.iter().cloned().fold(f64::MIN, f64::max),
        ))
    }

    #[test]
    fn daily_values_compare_with_the_day_before() {
        let mut w = WindowTracker::default();
        w.push(0, 100.0);
        w.push(86_400, 90.0);
        let e = w.extremes(2 * 86_400, 3600).unwrap();
        assert_eq!(
            (e.min, e.max),
            (90.0, 90.0),
            "only the anchor, the newest at or before the start"
        );
    }

    #[test]
    fn anchor_survives_domination() {
        let mut w = WindowTracker::default();
        w.push(0, 5.0);
        w.push(10, 7.0);
        w.push(20, 6.0);
        // Window start 15: anchor is the value at 10 (7.0); inside is 6.0.
        let e = w.extremes(25, 10).unwrap();
        assert_eq!((e.min, e.max), (6.0, 7.0));
    }

    proptest! {
        #[test]
        fn matches_brute_force(steps in proptest::collection::vec((1i64..500, 0.0f64..100.0), 1..200), w in 1i64..2000) {
            let mut tracker = WindowTracker::default();
            let mut points = Vec::new();
            let mut t = 0;
            for (dt, v) in steps {
                t += dt;
                let got = tracker.extremes(t, w).map(|e| (e.min, e.max));
                prop_assert_eq!(got, brute(&points, t, w));
                tracker.push(t, v);
                points.push((t, v));
            }
        }
    }
}
