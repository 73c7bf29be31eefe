//! TVL records: the protocol total, its chains and the opted-in sections each run as a
//! series (update events, drop alerts; [`crate::rules::tvl`] says which may speak), then the
//! chain list is compared for `chain_added` / `chain_removed`.

use super::Engine;
use super::emit::{Emit, Subject, alert_event, fixed, push_magnitude, tag, tvl_key, tvl_key_parts};
use crate::event::{
    self, AlertRule, Breakdown, Event, FieldChange, Payload, ProtocolUpdate, TvlChange, UpdateType,
};
use crate::record::{Text, TvlRecord};
use crate::rules::publish::{self, PublishDecision, Published};
use crate::rules::tvl::{self as rules, Role};
use crate::rules::window;
use crate::state::{EntityState, SeriesState};

/// One TVL series to run: the total, a chain or a section.
struct TvlSeries<'a> {
    protocol_id: &'a str,
    /// The chain or section key of the series; `None` for the protocol total.
    part: Option<&'a str>,
    /// The chain the update event carries (the series' own chain, or the protocol's only chain
    /// on the total).
    chain: Option<&'a str>,
    value: f64,
    breakdown: Option<&'a [(Text, f64)]>,
    role: Role,
}

impl Engine {
    fn tvl_series(
        &self,
        emit: &mut Emit<'_>,
        state: &mut SeriesState,
        s: TvlSeries<'_>,
        out: &mut Vec<Event>,
    ) {
        let cfg = &self.config;
        let t = emit.record.time;
        let (protocol_id, value) = (s.protocol_id, s.value);
        match publish::decide(
            &cfg.publish.tvl,
            cfg.publish.heartbeat,
            state.published,
            value,
            t,
        ) {
            PublishDecision::Seed => state.published = Some(Published { value, time: t }),
            PublishDecision::Hold => {}
            PublishDecision::Publish { .. } if !s.role.events => {
                state.published = Some(Published { value, time: t });
            }
            PublishDecision::Publish {
                previous,
                heartbeat,
            } => {
                let change = publish::change_percent(previous.value, value);
                let mut tags = Vec::with_capacity(5);
                tags.extend([fixed("type:tvl"), tag("protocol:", protocol_id)]);
                if let Some(c) = s.chain {
                    tags.push(tag("chain:", c));
                }
                if heartbeat {
                    tags.push(fixed("heartbeat"));
                }
                push_magnitude(&mut tags, change);
                let data = TvlChange {
                    protocol_id: Text::from(protocol_id),
                    protocol_name: Text::from(protocol_id),
                    chain: s.chain.map(Text::from),
                    previous_tvl: previous.value,
                    current_tvl: value,
                    change_percent: event::stated_percent(change),
                    change_absolute: value - previous.value,
                    breakdown: s.breakdown.map(|b| {
                        if b.windows(2).all(|w| w[0].0 < w[1].0) {
                            Breakdown(b.to_vec())
                        } else {
                            Breakdown::from_pairs(b.iter().cloned())
                        }
                    }),
                };
                let id = emit.id(&tvl_key_parts(protocol_id, s.part), "tvl_change");
                out.push(emit.event(id, change, tags, Payload::TvlChange(data)));
                state.published = Some(Published { value, time: t });
            }
        }
        if !s.role.alerts {
            return;
        }
        let windows = &cfg.tvl_alerts.windows;
        let (extremes, gaps) = state.window_extremes(windows, &cfg.windows, t);
        emit.window_gaps += gaps;
        let hit = window::tvl_drop(windows, &extremes, value, cfg.tvl_alerts.min_drop_usd);
        state.push_window_value(t, value);
        let describe = || {
            let name = match s.part {
                Some(c) => format!("{protocol_id} on {c}"),
                None => protocol_id.to_string(),
            };
            (tvl_key(protocol_id, s.part), name)
        };
        if let Some(f) =
            self.window_finding(AlertRule::TvlDrop, state, hit, windows, value, t, describe)
        {
            let who = Subject {
                protocol_id: Some(protocol_id),
                chain: rules::chain_of(&self.sections, s.part),
                ..Subject::default()
            };
            out.push(alert_event(emit, f, &who));
        }
    }

    pub(super) fn observe_tvl(
        &self,
        emit: &mut Emit<'_>,
        t: &TvlRecord,
        state: &mut EntityState,
        first: bool,
        out: &mut Vec<Event>,
    ) {
        let pid = t.protocol_id.as_str();
        let parts = t.split(&self.sections);
        let sole_chain = rules::sole_chain(&parts.chains, t.tvl);
        self.tvl_series(
            emit,
            &mut state.main,
            TvlSeries {
                protocol_id: pid,
                part: None,
                chain: sole_chain,
                value: t.tvl,
                breakdown: Some(&t.chains),
                role: rules::TOTAL,
            },
            out,
        );

        for &(chain, value) in &parts.chains {
            let series = match state.chains.get_mut(chain) {
                Some(s) => s,
                None => state.chains.entry(chain.to_string()).or_default(),
            };
            self.tvl_series(
                emit,
                series,
                TvlSeries {
                    protocol_id: pid,
                    part: Some(chain),
                    chain: Some(chain),
                    value,
                    breakdown: None,
                    role: rules::chain_role(sole_chain.is_some(), value, t.tvl),
                },
                out,
            );
        }

        // Sections: only in the breakdown, unless their drops are asked for.
        if !self.config.tvl.section_alerts.is_empty() {
            for &(key, value) in &parts.sections {
                let Some(role) =
                    rules::section_role(&self.sections, &self.config.tvl.section_alerts, key)
                else {
                    continue;
                };
                let series = match state.sections.get_mut(key) {
                    Some(s) => s,
                    None => state.sections.entry(key.to_string()).or_default(),
                };
                self.tvl_series(
                    emit,
                    series,
                    TvlSeries {
                        protocol_id: pid,
                        part: Some(key),
                        chain: None,
                        value,
                        breakdown: None,
                        role,
                    },
                    out,
                );
            }
        }

        let changed = parts
            .chains
            .iter()
            .map(|(c, _)| *c)
            .ne(state.present_chains.iter().map(String::as_str));
        if !changed {
            return;
        }
        let now_present: Vec<&str> = parts.chains.iter().map(|(c, _)| *c).collect();
        // A state written before sections were told apart lists them as chains: they were
        // never chains, so they are neither "removed" now nor kept as chain series.
        let legacy_sections = state
            .present_chains
            .iter()
            .any(|c| self.sections.section_of(c).is_some());
        if legacy_sections {
            let sections = &self.sections;
            state.chains.retain(|k, _| sections.section_of(k).is_none());
        }
        if !first {
            let before: Vec<&str> = state
                .present_chains
                .iter()
                .map(String::as_str)
                .filter(|c| !legacy_sections || self.sections.section_of(c).is_none())
                .collect();
            let (added, removed) = rules::diff_sorted(&before, &now_present);
            let key = tvl_key_parts(pid, None);
            for (update_type, chains, rule) in [
                (UpdateType::ChainAdded, &added, "chain_added"),
                (UpdateType::ChainRemoved, &removed, "chain_removed"),
            ] {
                if chains.is_empty() {
                    continue;
                }
                let changes = chains
                    .iter()
                    .map(|c| {
                        let (previous_value, current_value) = match update_type {
                            UpdateType::ChainAdded => {
                                (serde_json::Value::Null, serde_json::Value::from(*c))
                            }
                            _ => (serde_json::Value::from(*c), serde_json::Value::Null),
                        };
                        FieldChange {
                            field: "chain".to_string(),
                            previous_value,
                            current_value,
                        }
                    })
                    .collect();
                let tags = vec![
                    fixed("type:protocol"),
                    tag("protocol:", pid),
                    tag("update:", rule),
                ];
                let data = ProtocolUpdate {
                    protocol_id: pid.to_string(),
                    protocol_name: pid.to_string(),
                    update_type,
                    changes,
                };
                let id = emit.id(&key, rule);
                out.push(emit.event(id, 0.0, tags, Payload::ProtocolUpdate(data)));
            }
        }
        state.present_chains = now_present.iter().map(|c| c.to_string()).collect();
    }
}
