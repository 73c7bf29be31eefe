//! Downsampling a series for drawing: a stream of points folded into a bounded number of
//! time buckets (each keeps its minimum and maximum), then buckets merged into at most one
//! column per pixel, each drawn by its minimum and maximum. Pinned points (alerts) are always
//! kept exactly, so a marker sits on the line.

/// One point of a series: time in unix seconds, value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t: i64,
    pub v: f64,
}

impl Point {
    pub fn new(t: i64, v: f64) -> Self {
        Point { t, v }
    }
}

/// The minimum and maximum of the points of one bucket (or column).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    /// Index from the series' first time, in bucket widths.
    idx: i64,
    min: Point,
    max: Point,
}

impl Bucket {
    fn of(idx: i64, p: Point) -> Self {
        Bucket {
            idx,
            min: p,
            max: p,
        }
    }

    fn add(&mut self, p: Point) {
        if p.v < self.min.v {
            self.min = p;
        }
        if p.v > self.max.v {
            self.max = p;
        }
    }

    fn merge(&mut self, other: &Bucket) {
        self.add(other.min);
        self.add(other.max);
    }
}

/// A series folded as it streams in: at most `cap` buckets of equal width (seconds, a power of
/// two); when the span outgrows them the width doubles and neighbours merge. Memory is
/// bounded by `cap` whatever the number of points. Points must come in increasing time (the
/// engine applies a key's records in time order; older ones are stale and never get here).
#[derive(Debug, Clone)]
pub struct Series {
    cap: usize,
    t0: Option<i64>,
    width: i64,
    buckets: Vec<Bucket>,
    count: u64,
    last: Option<Point>,
}

impl Series {
    /// A series keeping at most `cap` buckets (at least 2).
    pub fn new(cap: usize) -> Self {
        Series {
            cap: cap.max(2),
            t0: None,
            width: 1,
            buckets: Vec::new(),
            count: 0,
            last: None,
        }
    }

    /// Adds a point. A point older than the last one is folded into the last bucket (never
    /// lost from the extremes, never reordering the line).
    pub fn push(&mut self, t: i64, v: f64) {
        if !v.is_finite() {
            return;
        }
        self.count += 1;
        let t0 = *self.t0.get_or_insert(t);
        let t = t.max(self.last.map_or(t, |l| l.t));
        let p = Point::new(t, v);
        self.last = Some(p);
        let mut idx = (t - t0).div_euclid(self.width);
        while idx >= self.cap as i64 {
            self.coarsen();
            idx = (t - t0).div_euclid(self.width);
        }
        match self.buckets.last_mut() {
            Some(b) if b.idx == idx => b.add(p),
            _ => self.buckets.push(Bucket::of(idx, p)),
        }
    }

    /// Doubles the bucket width, merging neighbours.
    fn coarsen(&mut self) {
        self.width = self.width.saturating_mul(2);
        let mut merged: Vec<Bucket> = Vec::with_capacity(self.buckets.len() / 2 + 1);
        for b in &self.buckets {
            let idx = b.idx / 2;
            match merged.last_mut() {
                Some(m) if m.idx == idx => m.merge(b),
                _ => merged.push(Bucket { idx, ..*b }),
            }
        }
        self.buckets = merged;
    }

    /// Points pushed (finite values).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Buckets held now (at most the cap).
    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// First and last time, if any point was pushed.
    pub fn span(&self) -> Option<(i64, i64)> {
        Some((self.t0?, self.last?.t))
    }

    /// Lowest and highest value.
    pub fn range(&self) -> Option<(f64, f64)> {
        let lo = self.buckets.iter().map(|b| b.min.v).reduce(f64::min)?;
        let hi = self.buckets.iter().map(|b| b.max.v).reduce(f64::max)?;
        Some((lo, hi))
    }

    /// The column width (seconds) when drawn in at most `max_columns` columns: a whole number
    /// of bucket widths, so every bucket falls in exactly one column.
    pub fn column_width(&self, max_columns: usize) -> i64 {
        let buckets_spanned = self.buckets.last().map_or(1, |b| b.idx + 1);
        let per_column =
            (buckets_spanned + max_columns.max(1) as i64 - 1) / max_columns.max(1) as i64;
        self.width.saturating_mul(per_column.max(1))
    }

    /// The line to draw with at most `max_columns` columns: in each column its minimum and its
    /// maximum, in time order, plus every pinned point (exactly as given), sorted by time.
    pub fn downsample(&self, pinned: &[Point], max_columns: usize) -> Vec<Point> {
        if self.t0.is_none() {
            return sorted(pinned.to_vec());
        }
        let per_column = (self.column_width(max_columns) / self.width).max(1);
        let mut columns: Vec<Bucket> = Vec::new();
        for b in &self.buckets {
            let idx = b.idx / per_column;
            match columns.last_mut() {
                Some(c) if c.idx == idx => c.merge(b),
                _ => columns.push(Bucket { idx, ..*b }),
            }
        }
        let mut out = Vec::with_capacity(columns.len() * 2 + pinned.len());
        for c in &columns {
            let (a, b) = if c.min.t <= c.max.t {
                (c.min, c.max)
            } else {
                (c.max, c.min)
            };
            out.push(a);
            if b != a {
                out.push(b);
            }
        }
        out.extend_from_slice(pinned);
        sorted(out)
    }
}

/// Sorted by time (stable: equal times keep their order), exact duplicates dropped.
fn sorted(mut points: Vec<Point>) -> Vec<Point> {
    points.sort_by_key(|p| p.t);
    points.dedup_by(|a, b| a == b);
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Index of the column holding time `t`, for a series starting at `t0`.
    fn column_of(t0: i64, width: i64, t: i64) -> i64 {
        (t - t0).div_euclid(width)
    }

    #[test]
    fn few_points_are_kept_as_they_are() {
        let mut s = Series::new(16);
        for (t, v) in [(0, 1.0), (10, 3.0), (20, 2.0)] {
            s.push(t, v);
        }
        assert_eq!(
            s.downsample(&[], 100),
            vec![Point::new(0, 1.0), Point::new(10, 3.0), Point::new(20, 2.0)]
        );
    }

    #[test]
    fn memory_stays_bounded() {
        let mut s = Series::new(64);
        for t in 0..100_000 {
            s.push(t * 60, (t as f64).sin());
        }
        assert!(s.buckets() <= 64, "{}", s.buckets());
        assert_eq!(s.count(), 100_000);
        assert!(s.downsample(&[], 32).len() <= 64);
    }

    #[test]
    fn a_spike_inside_a_column_survives() {
        let mut s = Series::new(8);
        for t in 0..10_000 {
            s.push(t, if t == 4321 { 99.0 } else { 1.0 });
        }
        let line = s.downsample(&[], 4);
        assert!(line.contains(&Point::new(4321, 99.0)), "{line:?}");
    }

    fn series_strategy() -> impl Strategy<Value = (Vec<(i64, f64)>, usize, usize)> {
        (
            prop::collection::vec((1i64..5_000, -1e6f64..1e6), 1..600),
            2usize..200,
            1usize..120,
        )
            .prop_map(|(steps, cap, columns)| {
                let mut t = 1_600_000_000;
                let points = steps
                    .into_iter()
                    .map(|(dt, v)| {
                        t += dt;
                        (t, v)
                    })
                    .collect();
                (points, cap, columns)
            })
    }

    proptest! {
        /// Every pinned point is in the line, exactly; and the line is in time order.
        #[test]
        fn every_pinned_point_is_kept((points, cap, columns) in series_strategy(), picks in prop::collection::vec(any::<prop::sample::Index>(), 0..20)) {
            let mut s = Series::new(cap);
            for &(t, v) in &points {
                s.push(t, v);
            }
            let pinned: Vec<Point> = picks.iter().map(|i| {
                let (t, v) = points[i.index(points.len())];
                Point::new(t, v)
            }).collect();
            let line = s.downsample(&pinned, columns);
            for p in &pinned {
                prop_assert!(line.contains(p), "pinned {p:?} missing");
            }
            prop_assert!(line.windows(2).all(|w| w[0].t <= w[1].t));
        }

        /// In every column the line keeps the column's minimum and maximum of the raw points,
        /// has no more than two points besides pinned ones, and has at most `columns` columns.
        #[test]
        fn min_and_max_of_every_column_are_kept((points, cap, columns) in series_strategy()) {
            let mut s = Series::new(cap);
            for &(t, v) in &points {
                s.push(t, v);
            }
            prop_assert!(s.buckets() <= cap.max(2));
            let line = s.downsample(&[], columns);
            let width = s.column_width(columns);
            let t0 = points[0].0;
            let mut raw: std::collections::BTreeMap<i64, (f64, f64)> = Default::default();
            for &(t, v) in &points {
                let e = raw.entry(column_of(t0, width, t)).or_insert((v, v));
                e.0 = e.0.min(v);
                e.1 = e.1.max(v);
            }
            prop_assert!(raw.len() <= columns, "{} columns for at most {columns}", raw.len());
            let mut drawn: std::collections::BTreeMap<i64, Vec<f64>> = Default::default();
            for p in &line {
                drawn.entry(column_of(t0, width, p.t)).or_default().push(p.v);
            }
            for (col, (lo, hi)) in &raw {
                let vs = drawn.get(col).cloned().unwrap_or_default();
                prop_assert!(vs.contains(lo), "column {col}: min {lo} missing from {vs:?}");
                prop_assert!(vs.contains(hi), "column {col}: max {hi} missing from {vs:?}");
                prop_assert!(vs.len() <= 2);
            }
            prop_assert_eq!(drawn.len(), raw.len());
        }
    }
}
