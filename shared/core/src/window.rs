//! Sliding extremes over a time window, in amortised O(1) per value and bounded memory.
//!
//! A window of W at time t covers every value seen in (t - W, t) plus the newest value at or
//! before t - W (the "anchor"), but the anchor only while it is at most `max_age` old
//! (W × (1 + tolerance), see [`crate::config::WindowsConfig`]): minute data is compared with
//! the hour before, daily data with the day before in a 24h window, and never with yesterday
//! in a 1h window. Two monotonic deques keep the minimum and maximum of that set. Each entry
//! remembers when the next value arrived: an entry is expired once a newer value is itself at
//! or before the window's start, or once it is the anchor and older than `max_age` (time only
//! moves forward, so it can never be usable again).
//!
//! Memory is bounded by time, not by the number of values: the window is cut into
//! [`BUCKETS`] buckets ([`resolution`]: 5 minutes for 24h, 12 s for 1h), and a deque keeps at
//! most one entry per bucket. A value that would be the deque's second entry in a bucket is
//! folded into the first (which holds the more extreme value) and extends its life to its own.
//! So a window also sees, for each value it covers, the earlier values of the same bucket: its
//! minimum may be up to one bucket older than exact, never newer (a 24h window of minute data
//! reaches back at most 5 minutes more). Entries per deque: at most W / resolution + 2.

use crate::record::UnixSecs;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Buckets per window: the bound on the entries one deque keeps.
pub const BUCKETS: i64 = 288;

/// Bucket width in seconds for a window of `window` seconds (at least 1 s: windows shorter
/// than [`BUCKETS`] seconds are exact).
pub fn resolution(window: i64) -> i64 {
    (window / BUCKETS).max(1)
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Point {
    /// Time of the value.
    t: UnixSecs,
    v: f64,
    /// Time of the newest value folded into this entry (same bucket, less extreme), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<UnixSecs>,
    /// Time of the value that followed the newest one of this entry, once it has arrived.
    next: Option<UnixSecs>,
}

impl Point {
    /// The newest value this entry stands for: its life is that value's.
    fn newest(&self) -> UnixSecs {
        self.to.unwrap_or(self.t)
    }
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

/// What a window offers to compare with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reach {
    /// Nothing seen yet (a new series).
    Empty,
    /// Values were seen, but none inside the window and the newest before it is too old:
    /// no comparison for this window (counted as a window gap).
    Gap,
    Usable(Extremes),
}

impl Reach {
    pub fn extremes(self) -> Option<Extremes> {
        match self {
            Reach::Usable(e) => Some(e),
            Reach::Empty | Reach::Gap => None,
        }
    }
}

/// Which deque: the minimum keeps values rising from front to back, the maximum falling.
#[derive(Clone, Copy)]
enum Side {
    Min,
    Max,
}

impl Side {
    /// Whether `old` is no more extreme than `new` (so `new`, living longer, replaces it).
    fn dominated(self, old: f64, new: f64) -> bool {
        match self {
            Side::Min => old >= new,
            Side::Max => old <= new,
        }
    }
}

/// The buckets of `resolution` seconds that `p` falls in, as a range of times (one division,
/// made once for both deques).
fn bucket_of(p: &Point, resolution: i64) -> std::ops::Range<UnixSecs> {
    let start = p.t - p.t.rem_euclid(resolution);
    start..start + resolution
}

/// Appends `p` (newer than every entry) to a monotonic deque, folding it into the back entry
/// when both fall in one bucket (`bucket`, from [`bucket_of`]).
fn insert(deque: &mut VecDeque<Point>, side: Side, p: Point, bucket: &std::ops::Range<UnixSecs>) {
    while deque.back().is_some_and(|b| side.dominated(b.v, p.v)) {
        deque.pop_back();
    }
    match deque.back_mut() {
        Some(b) if bucket.contains(&b.t) => {
            b.to = Some(p.newest());
            b.next = p.next;
        }
        _ => deque.push_back(p),
    }
}

impl WindowTracker {
    /// Drops what a window of `window` seconds ending at `now` no longer covers (including an
    /// anchor older than `max_age`) and returns the extremes of what remains.
    pub fn extremes(&mut self, now: UnixSecs, window: i64, max_age: i64) -> Reach {
        if self.mins.is_empty() {
            return Reach::Empty;
        }
        let start = now.saturating_sub(window);
        let oldest = now.saturating_sub(max_age);
        let expired = |p: &Point| {
            p.next.is_some_and(|n| n <= start) || (p.newest() <= start && p.newest() < oldest)
        };
        while self.mins.front().is_some_and(expired) {
            self.mins.pop_front();
        }
        while self.maxs.front().is_some_and(expired) {
            self.maxs.pop_front();
        }
        match (self.mins.front(), self.maxs.front()) {
            (Some(min), Some(max)) => Reach::Usable(Extremes {
                min: min.v,
                min_at: min.t,
                max: max.v,
                max_at: max.t,
            }),
            _ => {
                // Both deques hold the newest value, so both empty out together.
                self.mins.clear();
                self.maxs.clear();
                Reach::Gap
            }
        }
    }

    /// Forgets every value stamped after `limit` (a state poisoned by a future record) and
    /// returns whether there was any. Values the forgotten ones had displaced from the deques
    /// are not recovered, and an entry keeps only its own value: the window then sees a subset
    /// of its past values, which can only make it less eager to alert, never more.
    pub fn forget_after(&mut self, limit: UnixSecs, resolution: i64) -> bool {
        let mut poisoned = false;
        for deque in [&mut self.mins, &mut self.maxs] {
            while deque.back().is_some_and(|p| p.t > limit) {
                deque.pop_back();
                poisoned = true;
            }
            if let Some(last) = deque.back_mut() {
                if last.to.is_some_and(|to| to > limit) {
                    last.to = None;
                    poisoned = true;
                }
                if last.next.is_some_and(|n| n > limit) {
                    last.next = None;
                    poisoned = true;
                }
            }
        }
        // The newest value left belongs in both deques (it may have been displaced from one
        // by a forgotten value): put it back, keeping that deque monotonic.
        let newest = match (self.mins.back(), self.maxs.back()) {
            (Some(a), Some(b)) if a.newest() != b.newest() => {
                Some(if a.newest() > b.newest() { *a } else { *b })
            }
            (Some(p), None) | (None, Some(p)) => Some(*p),
            _ => None,
        };
        if let Some(p) = newest {
            let bucket = bucket_of(&p, resolution);
            for (deque, side) in [(&mut self.mins, Side::Min), (&mut self.maxs, Side::Max)] {
                if deque.back().is_none_or(|b| b.newest() < p.newest()) {
                    insert(deque, side, p, &bucket);
                }
            }
        }
        poisoned
    }

    /// Adds the newest value (times must not go backwards; the engine skips older records),
    /// keeping at most one entry per bucket of `resolution` seconds in each deque.
    pub fn push(&mut self, t: UnixSecs, v: f64, resolution: i64) {
        let point = Point {
            t,
            v,
            to: None,
            next: None,
        };
        let bucket = bucket_of(&point, resolution);
        for (deque, side) in [(&mut self.mins, Side::Min), (&mut self.maxs, Side::Max)] {
            if let Some(last) = deque.back_mut() {
                last.next = Some(t);
            }
            insert(deque, side, point, &bucket);
        }
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

    const DAY: i64 = 86_400;
    const HOUR: i64 = 3600;

    /// The definition, by brute force: values in (now - w, now), and the newest at or before
    /// now - w when it is at most `max_age` old; each extreme with its time (the newest on ties).
    fn brute(points: &[(i64, f64)], now: i64, w: i64, max_age: i64) -> Reach {
        if points.is_empty() {
            return Reach::Empty;
        }
        let start = now - w;
        let anchor = points
            .iter()
            .rev()
            .find(|(t, _)| *t <= start)
            .filter(|(t, _)| now - t <= max_age);
        let inside = points.iter().filter(|(t, _)| *t > start);
        let all: Vec<(i64, f64)> = anchor.into_iter().chain(inside).copied().collect();
        let Some(&first) = all.first() else {
            return Reach::Gap;
        };
        let (mut min, mut max) = (first, first);
        for &(t, v) in &all[1..] {
            if v <= min.1 {
                min = (t, v);
            }
            if v >= max.1 {
                max = (t, v);
            }
        }
        Reach::Usable(Extremes {
            min: min.1,
            min_at: min.0,
            max: max.1,
            max_at: max.0,
        })
    }

    #[test]
    fn daily_values_never_reach_back_a_day_in_an_hour_window() {
        // The defect: a 1h window took "the newest value at or before its start" however old,
        // so daily data was judged against yesterday with the 1h thresholds.
        let mut w = WindowTracker::default();
        w.push(0, 100.0, 1);
        assert_eq!(w.extremes(DAY, HOUR, HOUR * 5 / 4), Reach::Gap);
        let mut w = WindowTracker::default();
        w.push(0, 100.0, 1);
        let e = w.extremes(DAY, DAY, DAY * 5 / 4).extremes().unwrap();
        assert_eq!(
            (e.max, e.max_at),
            (100.0, 0),
            "a 24h window takes yesterday"
        );
    }

    #[test]
    fn a_reference_older_than_the_tolerance_is_no_reference() {
        // A price printed 30 days after the previous one is compared with nothing.
        let mut w = WindowTracker::default();
        w.push(0, 1.0, 1);
        assert_eq!(w.extremes(30 * DAY, DAY, DAY * 5 / 4), Reach::Gap);
        assert!(w.is_empty(), "a reference too old is dropped for good");
        // Sampling jitter within the tolerance is fine: 26h old in a 24h window.
        let mut w = WindowTracker::default();
        w.push(0, 1.0, 1);
        assert!(matches!(
            w.extremes(26 * HOUR, DAY, DAY * 5 / 4),
            Reach::Usable(_)
        ));
        assert_eq!(WindowTracker::default().extremes(0, DAY, DAY), Reach::Empty);
    }

    #[test]
    fn anchor_survives_domination() {
        let mut w = WindowTracker::default();
        w.push(0, 5.0, 1);
        w.push(10, 7.0, 1);
        w.push(20, 6.0, 1);
        // Window start 15: anchor is the value at 10 (7.0); inside is 6.0.
        let e = w.extremes(25, 10, 20).extremes().unwrap();
        assert_eq!((e.min, e.max), (6.0, 7.0));
        assert_eq!((e.min_at, e.max_at), (20, 10));
    }

    #[test]
    fn forgetting_the_future_keeps_the_past() {
        let mut w = WindowTracker::default();
        w.push(10, 1.0, 1);
        w.push(20, 2.0, 1);
        w.push(4_000_000_000, 3.0, 1);
        assert!(!w.forget_after(4_000_000_000, 1));
        assert!(w.forget_after(20, 1));
        let e = w.extremes(30, 100, 125).extremes().unwrap();
        assert_eq!((e.min, e.max), (1.0, 2.0));
        assert!(w.forget_after(15, 1));
        let e = w.extremes(30, 100, 125).extremes().unwrap();
        assert_eq!((e.min, e.min_at, e.max), (1.0, 10, 1.0));
    }

    /// What a bucketed window may see: the exact set of [`brute`] plus, for each of its
    /// values, the earlier values of the same bucket. Returns (lowest, highest) of that set.
    fn bucketed_bounds(
        points: &[(i64, f64)],
        now: i64,
        w: i64,
        max_age: i64,
        res: i64,
    ) -> Option<(f64, f64)> {
        let start = now - w;
        let anchor = points
            .iter()
            .rev()
            .find(|(t, _)| *t <= start)
            .filter(|(t, _)| now - t <= max_age)
            .map(|p| p.0);
        let covered = |t: i64| t > start || Some(t) == anchor;
        let seen = points.iter().filter(|(t, _)| {
            points
                .iter()
                .any(|(u, _)| covered(*u) && u >= t && u.div_euclid(res) == t.div_euclid(res))
        });
        seen.fold(None, |acc, &(_, v)| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((f64::min(lo, v), f64::max(hi, v))),
        })
    }

    #[test]
    fn a_steady_rise_of_minutes_keeps_one_entry_per_bucket() {
        // The worst case before buckets: a price rising all day kept every minute in the
        // min deque (1,440 points for 24h).
        let (w, res) = (DAY, resolution(DAY));
        let mut tracker = WindowTracker::default();
        let mut most = 0;
        for m in 0..3 * 1440 {
            let t = m * 60;
            tracker.extremes(t, w, w * 5 / 4);
            tracker.push(t, 1.0 + m as f64 * 1e-4, res);
            most = most.max(tracker.len());
        }
        assert_eq!(res, 300);
        assert!(most <= (w / res + 2) as usize + 1, "held {most} entries");
        assert!(most >= 288, "the window still spans the day: {most}");
    }

    proptest! {
        #[test]
        fn matches_brute_force(
            steps in proptest::collection::vec((1i64..500, 0.0f64..100.0), 1..200),
            w in 1i64..2000,
            tolerance in 0.0f64..1.5,
        ) {
            let max_age = (w as f64 * (1.0 + tolerance)).floor() as i64;
            let mut tracker = WindowTracker::default();
            let mut points = Vec::new();
            let mut t = 0;
            for (dt, v) in steps {
                t += dt;
                let got = tracker.extremes(t, w, max_age);
                let want = brute(&points, t, w, max_age);
                match (got, want) {
                    (Reach::Usable(g), Reach::Usable(b)) => {
                        prop_assert_eq!((g.min, g.max), (b.min, b.max));
                        // Ties may keep either time; the value at that time is the extreme.
                        let at = |time: i64| points.iter().find(|(pt, _)| *pt == time).map(|p| p.1);
                        prop_assert_eq!(at(g.min_at), Some(g.min));
                        prop_assert_eq!(at(g.max_at), Some(g.max));
                    }
                    (g, b) => prop_assert_eq!(g, b),
                }
                tracker.push(t, v, 1);
                points.push((t, v));
            }
        }

        #[test]
        fn bucketed_extremes_are_exact_up_to_one_bucket(
            steps in proptest::collection::vec((1i64..120, 0.0f64..100.0), 1..150),
            w in 1i64..3000,
            res in 1i64..200,
            tolerance in 0.0f64..1.5,
        ) {
            let max_age = (w as f64 * (1.0 + tolerance)).floor() as i64;
            let mut tracker = WindowTracker::default();
            let mut points = Vec::new();
            let mut t = 0;
            for (dt, v) in steps {
                t += dt;
                let got = tracker.extremes(t, w, max_age);
                match (got, brute(&points, t, w, max_age)) {
                    (Reach::Usable(g), Reach::Usable(b)) => {
                        let Some((lo, hi)) = bucketed_bounds(&points, t, w, max_age, res) else {
                            return Err(TestCaseError::fail("no bounds for a usable window"));
                        };
                        // Never less than exact, never beyond the buckets the window touches.
                        prop_assert!(g.min <= b.min && g.min >= lo, "min {} not in [{lo}, {}]", g.min, b.min);
                        prop_assert!(g.max >= b.max && g.max <= hi, "max {} not in [{}, {hi}]", g.max, b.max);
                        let at = |time: i64| points.iter().find(|(pt, _)| *pt == time).map(|p| p.1);
                        prop_assert_eq!(at(g.min_at), Some(g.min));
                        prop_assert_eq!(at(g.max_at), Some(g.max));
                    }
                    (g, b) => prop_assert_eq!(g, b),
                }
                tracker.push(t, v, res);
                points.push((t, v));
                let bound = (w.max(max_age) / res + 3) as usize;
                prop_assert!(tracker.mins.len() <= bound && tracker.maxs.len() <= bound);
            }
        }

        #[test]
        fn forgetting_the_future_never_invents_values(
            steps in proptest::collection::vec((1i64..500, 0.0f64..100.0), 1..100),
            cut in 0usize..100,
            later in 1i64..2000,
            res in prop_oneof![Just(1i64), 1i64..200],
        ) {
            let mut tracker = WindowTracker::default();
            let mut points = Vec::new();
            let mut t = 0;
            for (dt, v) in steps {
                t += dt;
                tracker.extremes(t, 1000, 1250);
                tracker.push(t, v, res);
                points.push((t, v));
            }
            let limit = points[cut.min(points.len() - 1)].0;
            tracker.forget_after(limit, res);
            let kept: Vec<(i64, f64)> = points.iter().copied().filter(|p| p.0 <= limit).collect();
            let now = limit + later;
            if let Reach::Usable(e) = tracker.extremes(now, 1000, 1250) {
                // A subset of what the window may see: never below its lowest nor above its
                // highest (with res = 1, the true window).
                let Some((lo, hi)) = bucketed_bounds(&kept, now, 1000, 1250, res) else {
                    return Err(TestCaseError::fail("values where none are in reach"));
                };
                prop_assert!(e.min >= lo && e.max <= hi);
                prop_assert!(kept.contains(&(e.min_at, e.min)) && kept.contains(&(e.max_at, e.max)));
            }
            // The newest value kept is always there to compare with.
            tracker.push(now, 50.0, res);
            prop_assert!(matches!(tracker.extremes(now + 1, 1000, 1250), Reach::Usable(_)));
        }
    }
}
