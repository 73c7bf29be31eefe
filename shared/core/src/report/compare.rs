//! What a second config changes: the alerts of two replays of the same input, matched by
//! event id (a UUID v8 of the XXH3 of key, record time and rule, so the same alert under both configs
//! has the same id). An alert only in the second run *appears*, only in the first
//! *disappears*; in both with another severity or level, it *changes*.

use super::AlertMark;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    pub before: AlertMark,
    pub after: AlertMark,
}

/// The difference between two runs' alerts; each list in time order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diff {
    /// Only under the other config.
    pub added: Vec<AlertMark>,
    /// Only under the base config.
    pub removed: Vec<AlertMark>,
    /// Under both, with another severity or level.
    pub changed: Vec<Changed>,
    /// Under both, the same.
    pub kept: usize,
}

/// Counts of one series' difference.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SeriesDiff {
    pub key: String,
    pub base: usize,
    pub other: usize,
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
}

impl SeriesDiff {
    pub fn is_same(&self) -> bool {
        self.added == 0 && self.removed == 0 && self.changed == 0
    }
}

/// Matches `base` and `other` by event id.
pub fn diff(base: &[AlertMark], other: &[AlertMark]) -> Diff {
    let in_other: HashMap<&str, &AlertMark> =
        other.iter().map(|a| (a.event_id.as_str(), a)).collect();
    let in_base: HashMap<&str, &AlertMark> =
        base.iter().map(|a| (a.event_id.as_str(), a)).collect();
    let mut d = Diff::default();
    for a in base {
        match in_other.get(a.event_id.as_str()) {
            None => d.removed.push(a.clone()),
            Some(b) if b.severity != a.severity || b.level != a.level => d.changed.push(Changed {
                before: a.clone(),
                after: (*b).clone(),
            }),
            Some(_) => d.kept += 1,
        }
    }
    d.added = other
        .iter()
        .filter(|a| !in_base.contains_key(a.event_id.as_str()))
        .cloned()
        .collect();
    d
}

/// Per series (by key), the counts under each config and what changed; series with a
/// difference first (most changes first), then the rest by key.
pub fn per_series(base: &[AlertMark], other: &[AlertMark], d: &Diff) -> Vec<SeriesDiff> {
    let mut by: BTreeMap<&str, SeriesDiff> = BTreeMap::new();
    for a in base {
        by.entry(&a.key).or_default().base += 1;
    }
    for a in other {
        by.entry(&a.key).or_default().other += 1;
    }
    for a in &d.added {
        by.entry(&a.key).or_default().added += 1;
    }
    for a in &d.removed {
        by.entry(&a.key).or_default().removed += 1;
    }
    for c in &d.changed {
        by.entry(&c.before.key).or_default().changed += 1;
    }
    let mut rows: Vec<SeriesDiff> = by
        .into_iter()
        .map(|(k, mut r)| {
            r.key = k.to_string();
            r
        })
        .collect();
    rows.sort_by(|a, b| {
        let moved = |r: &SeriesDiff| r.added + r.removed + r.changed;
        moved(b).cmp(&moved(a)).then_with(|| a.key.cmp(&b.key))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{AlertRule, Severity};

    fn mark(id: &str, key: &str, severity: Severity, level: u8) -> AlertMark {
        AlertMark {
            event_id: id.to_string(),
            t: 0,
            key: key.to_string(),
            rule: AlertRule::TvlDrop,
            severity,
            value: 1.0,
            reference: 2.0,
            reference_time: None,
            window: None,
            level,
            change_percent: -50.0,
            message: String::new(),
        }
    }

    #[test]
    fn added_removed_changed_and_kept() {
        let base = [
            mark("a", "tvl:x", Severity::Warning, 1),
            mark("b", "tvl:x", Severity::Warning, 1),
            mark("c", "tvl:y", Severity::Warning, 1),
        ];
        let other = [
            mark("a", "tvl:x", Severity::Warning, 1),
            mark("c", "tvl:y", Severity::Critical, 3),
            mark("d", "tvl:z", Severity::Warning, 1),
        ];
        let d = diff(&base, &other);
        let ids = |v: &[AlertMark]| v.iter().map(|a| a.event_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&d.added), ["d"]);
        assert_eq!(ids(&d.removed), ["b"]);
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].after.severity, Severity::Critical);
        assert_eq!(d.kept, 1);
        let rows = per_series(&base, &other, &d);
        let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["tvl:x", "tvl:y", "tvl:z"]);
        assert_eq!((rows[0].base, rows[0].other, rows[0].removed), (2, 1, 1));
        assert_eq!((rows[2].base, rows[2].other, rows[2].added), (0, 1, 1));
    }
}
