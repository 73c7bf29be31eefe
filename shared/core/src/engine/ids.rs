//! The pegged-asset ids, looked up for every price record: a few short strings, so they
//! are kept by length and compared with word loads (no hashing, no `memcmp` call).

/// A set of ids, bucketed by length.
#[derive(Debug, Clone, Default)]
pub(super) struct IdSet {
    by_len: Vec<Vec<Box<[u8]>>>,
}

impl IdSet {
    pub(super) fn new(ids: &[String]) -> Self {
        let mut by_len: Vec<Vec<Box<[u8]>>> = Vec::new();
        for id in ids {
            if by_len.len() <= id.len() {
                by_len.resize(id.len() + 1, Vec::new());
            }
            let bucket = &mut by_len[id.len()];
            if !bucket.iter().any(|b| **b == *id.as_bytes()) {
                bucket.push(id.as_bytes().into());
            }
        }
        IdSet { by_len }
    }

    pub(super) fn contains(&self, id: &str) -> bool {
        let id = id.as_bytes();
        self.by_len
            .get(id.len())
            .is_some_and(|bucket| bucket.iter().any(|b| same_bytes(b, id)))
    }
}

/// `a == b` for slices of the same length: up to 16 bytes as two overlapping word compares.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() <= 16
        && let Some(same) = same_ends::<8>(a, b).or_else(|| same_ends::<4>(a, b))
    {
        return same;
    }
    a == b
}

/// Whether the first and the last `N` bytes agree; `None` when shorter than `N`.
fn same_ends<const N: usize>(a: &[u8], b: &[u8]) -> Option<bool> {
    Some(
        a.first_chunk::<N>()? == b.first_chunk::<N>()?
            && a.last_chunk::<N>()? == b.last_chunk::<N>()?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_exactly_its_ids() {
        let set = IdSet::new(&["usd-coin", "dai", "tether", "true-usd", "dai"].map(String::from));
        for id in ["usd-coin", "dai", "tether", "true-usd"] {
            assert!(set.contains(id), "{id}");
        }
        for id in [
            "",
            "usd-coim",
            "usd-coin ",
            "sd-coin",
            "da",
            "daj",
            "tethe",
            "terrausd",
        ] {
            assert!(!set.contains(id), "{id}");
        }
        assert!(!IdSet::default().contains("dai"));
    }

    proptest! {
        /// Ids of 0 to 40 bytes over a small alphabet (so that near misses are common): the
        /// set answers as a `HashSet` does.
        #[test]
        fn answers_as_a_hash_set_does(
            ids in prop::collection::vec("[ab]{0,20}|[ab]{21,40}", 0..12),
            probes in prop::collection::vec("[ab]{0,20}|[ab]{21,40}", 0..40),
        ) {
            let set = IdSet::new(&ids);
            let reference: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
            for p in probes.iter().chain(&ids) {
                prop_assert_eq!(set.contains(p), reference.contains(p.as_str()), "{}", p);
            }
        }
    }
}
