//! TVL series: which series of a TVL record run and what each may say. A row holds the
//! protocol total, its chains and its sections (parts of the TVL that are not chains); the
//! total always speaks, a chain speaks unless the total already says the same, a section
//! only feeds the breakdown unless its drops are asked for (`tvl.section_alerts`). Also the
//! chain-list comparison behind `chain_added` / `chain_removed`.

use crate::record::Sections;

/// What a series may publish: `tvl_change` events (else its baseline moves silently) and
/// `tvl_drop` alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    pub events: bool,
    pub alerts: bool,
}

/// The protocol total: events and alerts.
pub const TOTAL: Role = Role {
    events: true,
    alerts: true,
};

/// Whether a chain's value is the protocol's whole TVL.
pub fn is_whole(value: f64, total: f64) -> bool {
    (value - total).abs() <= 1e-9 * total.abs().max(1.0)
}

/// The protocol's only chain when it holds the whole TVL: the total's event carries it, so
/// a single-chain protocol gets one event per change, not two.
pub fn sole_chain<'a>(chains: &[(&'a str, f64)], total: f64) -> Option<&'a str> {
    match chains {
        [(chain, value)] if is_whole(*value, total) => Some(*chain),
        _ => None,
    }
}

/// A chain's role. The sole chain publishes no event of its own (the total's carries it), but
/// its baseline still moves, so a second chain appearing later is not measured from a stale
/// one. A chain that is the whole protocol raises no alert: it would repeat the total's.
pub fn chain_role(sole_chain: bool, value: f64, total: f64) -> Role {
    Role {
        events: !sole_chain,
        alerts: !is_whole(value, total),
    }
}

/// A section's role, or `None` when the section does not run at all: sections publish no
/// events (they are in the total's breakdown) and alert only when opted in.
pub fn section_role(sections: &Sections, section_alerts: &[String], key: &str) -> Option<Role> {
    let opted_in = sections
        .section_of(key)
        .is_some_and(|s| section_alerts.iter().any(|a| a == s));
    opted_in.then_some(Role {
        events: false,
        alerts: true,
    })
}

/// The chain an alert on a TVL series is about: the chain itself, `ethereum` for
/// `ethereum-borrowed`, none for a bare section (`borrowed`) or the total (`None`).
pub fn chain_of<'a>(sections: &Sections, part: Option<&'a str>) -> Option<&'a str> {
    let part = part?;
    match sections.section_of(part) {
        Some(section) => part.strip_suffix(section).and_then(|c| c.strip_suffix('-')),
        None => Some(part),
    }
}

/// Names only in `now` (added) and only in `before` (removed), for two lists sorted
/// ascending without duplicates: one pass over both, so a row of many keys costs linear time.
pub fn diff_sorted<T: Ord + Copy>(before: &[T], now: &[T]) -> (Vec<T>, Vec<T>) {
    use std::cmp::Ordering;
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < before.len() && j < now.len() {
        match before[i].cmp(&now[j]) {
            Ordering::Less => {
                removed.push(before[i]);
                i += 1;
            }
            Ordering::Greater => {
                added.push(now[j]);
                j += 1;
            }
            Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    removed.extend_from_slice(&before[i..]);
    added.extend_from_slice(&now[j..]);
    (added, removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cell::Cell;

    /// A name whose comparisons are counted.
    #[derive(Clone, Copy, PartialEq, Eq)]
    struct Counted<'a>(u32, &'a Cell<u64>);

    impl PartialOrd for Counted<'_> {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }

    impl Ord for Counted<'_> {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.1.set(self.1.get() + 1);
            self.0.cmp(&other.0)
        }
    }

    fn sections() -> Sections {
        Sections::new(&["borrowed".to_string(), "staking".to_string()])
    }

    #[test]
    fn roles_of_the_total_chains_and_sections() {
        assert_eq!(sole_chain(&[("ethereum", 10.0)], 10.0), Some("ethereum"));
        assert_eq!(sole_chain(&[("ethereum", 6.0)], 10.0), None, "a part");
        assert_eq!(sole_chain(&[("a", 5.0), ("b", 5.0)], 10.0), None);
        assert_eq!(
            chain_role(true, 10.0, 10.0),
            Role {
                events: false,
                alerts: false
            }
        );
        assert_eq!(
            chain_role(false, 6.0, 10.0),
            Role {
                events: true,
                alerts: true
            }
        );
        let s = sections();
        assert_eq!(section_role(&s, &[], "borrowed"), None, "not opted in");
        let opted = ["borrowed".to_string()];
        assert_eq!(
            section_role(&s, &opted, "ethereum-borrowed"),
            Some(Role {
                events: false,
                alerts: true
            })
        );
        assert_eq!(section_role(&s, &opted, "staking"), None);
        assert_eq!(section_role(&s, &opted, "ethereum"), None, "a chain");
    }

    #[test]
    fn the_chain_an_alert_is_about() {
        let s = sections();
        assert_eq!(chain_of(&s, None), None);
        assert_eq!(chain_of(&s, Some("ethereum")), Some("ethereum"));
        assert_eq!(chain_of(&s, Some("ethereum-borrowed")), Some("ethereum"));
        assert_eq!(chain_of(&s, Some("borrowed")), None);
        assert_eq!(chain_of(&s, Some("polygon-zkevm")), Some("polygon-zkevm"));
    }

    #[test]
    fn chain_comparison_is_linear() {
        // Two rows of 60,000 distinct keys took 10.4 s when each key was looked up in the
        // other row's list.
        let count = Cell::new(0);
        let before: Vec<Counted> = (0..60_000).map(|i| Counted(2 * i, &count)).collect();
        let now: Vec<Counted> = (0..60_000).map(|i| Counted(2 * i + 1, &count)).collect();
        let (added, removed) = diff_sorted(&before, &now);
        assert_eq!((added.len(), removed.len()), (60_000, 60_000));
        assert!(count.get() <= 120_000, "{} comparisons", count.get());
    }

    proptest! {
        #[test]
        fn diff_matches_the_definition(
            before in proptest::collection::btree_set(0u8..40, 0..30),
            now in proptest::collection::btree_set(0u8..40, 0..30),
        ) {
            let b: Vec<u8> = before.iter().copied().collect();
            let n: Vec<u8> = now.iter().copied().collect();
            let (added, removed) = diff_sorted(&b, &n);
            prop_assert_eq!(added, now.difference(&before).copied().collect::<Vec<_>>());
            prop_assert_eq!(removed, before.difference(&now).copied().collect::<Vec<_>>());
        }
    }
}
