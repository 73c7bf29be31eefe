//! Grouping, as Alertmanager's `group_by`: the alerts of one SQS batch bound for one receiver
//! with equal values of the receiver's `group_by` fields go out as one notification listing
//! them. Triggers and resolves never share a notification (the status is part of the key).
//! Pure: the handler sends each group once and marks each member delivered.

use super::AlertView;

/// The group key of `view` under `fields` (`None`: the receiver never groups, so every alert
/// is its own group). A field with several values (`tag`) contributes them all, in order.
pub fn key(view: &AlertView, fields: Option<&[String]>) -> String {
    let Some(fields) = fields else {
        return format!("event={}", view.event_id);
    };
    let values = crate::silences::values(view);
    let mut key = format!("status={}", view.status.as_str());
    for f in fields {
        key.push('\u{1f}');
        key.push_str(f);
        key.push('=');
        key.push_str(&values(f).join(","));
    }
    key
}

/// Indexes of `keys` grouped by equal key, groups in order of first appearance and members in
/// their order.
pub fn groups<K: PartialEq>(keys: &[K]) -> Vec<Vec<usize>> {
    let mut out: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        match out.iter_mut().find(|(first, _)| keys[*first] == *k) {
            Some((_, members)) => members.push(i),
            None => out.push((i, vec![i])),
        }
    }
    out.into_iter().map(|(_, members)| members).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::fixtures::{alert, event, resolved};
    use pulse_core::event::{AlertRule, Severity};

    fn fields(f: &[&str]) -> Vec<String> {
        f.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rule_and_key_group_one_incident_and_split_the_rest() {
        let by = fields(&["rule", "key"]);
        let a = alert(AlertRule::PegDeviation, Severity::Critical, "ethereum");
        let mut b = a.clone();
        b.event_id = uuid::Uuid::from_u128(43);
        b.level = 3;
        let mut other_key = a.clone();
        other_key.key = "price:coingecko:tether".into();
        let other_rule = alert(AlertRule::PriceMove, Severity::Warning, "ethereum");
        let resolve = AlertView::from_event(
            &resolved(event(
                AlertRule::PegDeviation,
                Severity::Critical,
                "ethereum",
            )),
            Severity::Info,
        );
        let keys: Vec<String> = [&a, &other_key, &b, &other_rule, &resolve]
            .iter()
            .map(|v| key(v, Some(&by)))
            .collect();
        assert_eq!(
            groups(&keys),
            vec![vec![0, 2], vec![1], vec![3], vec![4]],
            "two alerts of one (rule, key) are one group; a resolve is apart"
        );
        // By rule only, the two keys of the same rule share one notification.
        let by_rule = fields(&["rule"]);
        let keys: Vec<String> = [&a, &other_key, &other_rule]
            .iter()
            .map(|v| key(v, Some(&by_rule)))
            .collect();
        assert_eq!(groups(&keys), vec![vec![0, 1], vec![2]]);
        // No grouping: every alert alone, even two of one event key.
        let keys: Vec<String> = [&a, &b].iter().map(|v| key(v, None)).collect();
        assert_eq!(groups(&keys), vec![vec![0], vec![1]]);
    }

    #[test]
    fn an_empty_group_by_puts_everything_of_a_status_together() {
        let a = alert(AlertRule::PegDeviation, Severity::Critical, "ethereum");
        let b = alert(AlertRule::PriceMove, Severity::Info, "base");
        assert_eq!(key(&a, Some(&[])), key(&b, Some(&[])));
        assert!(groups::<u8>(&[]).is_empty());
    }
}
