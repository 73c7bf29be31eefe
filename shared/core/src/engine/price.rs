//! Price records: update events when a change is worth publishing, peg deviation and
//! recovery alerts for pegged assets, window move alerts for the others.

use super::Engine;
use super::emit::{Emit, Finding, Subject, alert_event, fixed, price_text, push_magnitude, tag};
use crate::event::Event;
use crate::event::{self, AlertRule, AlertStatus, Payload, PriceUpdate, Severity};
use crate::record::{PriceRecord, Text};
use crate::rules::cooldown::{self, Decision};
use crate::rules::peg;
use crate::rules::publish::{self, PublishDecision, Published};
use crate::rules::window;
use crate::state::EntityState;

impl Engine {
    /// Ids and strings are built only when a price record yields an event.
    pub(super) fn observe_price(
        &self,
        emit: &mut Emit<'_>,
        p: &PriceRecord,
        state: &mut EntityState,
        out: &mut Vec<Event>,
    ) {
        let t = emit.record.time;
        emit.source_confidence = p.confidence;
        let cfg = &self.config;
        let pegged = self.is_pegged(p);
        let ids = || {
            let token_id = p.token.id_string();
            let key = ["price:", &token_id].concat();
            (token_id, key)
        };

        match publish::decide(
            &cfg.publish.price,
            cfg.publish.heartbeat,
            state.main.published,
            p.price,
            t,
        ) {
            PublishDecision::Seed => {
                state.main.published = Some(Published {
                    value: p.price,
                    time: t,
                })
            }
            PublishDecision::Hold => {}
            PublishDecision::Publish {
                previous,
                heartbeat,
            } => {
                let token_id = p.token.id_string();
                let change = publish::change_percent(previous.value, p.price);
                let mut tags = Vec::with_capacity(6);
                tags.extend([fixed("type:price"), tag("token:", &token_id)]);
                if let Some(chain) = p.token.chain() {
                    tags.push(tag("chain:", chain));
                }
                if pegged {
                    tags.push(fixed("stablecoin"));
                }
                if heartbeat {
                    tags.push(fixed("heartbeat"));
                }
                push_magnitude(&mut tags, change);
                let data = PriceUpdate {
                    token_id,
                    symbol: p.symbol.clone(),
                    chain: p.token.chain().map(Text::from),
                    previous_price: previous.value,
                    current_price: p.price,
                    change_percent: event::stated_percent(change),
                    change_absolute: p.price - previous.value,
                    decimals: p.decimals,
                };
                let id = emit.id(&["price:", &data.token_id], "price_update");
                out.push(emit.event(id, change, tags, Payload::PriceUpdate(data)));
                state.main.published = Some(Published {
                    value: p.price,
                    time: t,
                });
            }
        }

        let finding = if pegged {
            let peg_cfg = &cfg.peg;
            match cooldown::decide(
                &mut state.peg,
                peg::observe(peg_cfg, p.price),
                t,
                cfg.cooldown.period,
            ) {
                decision @ (Decision::Fire | Decision::Recovered) => {
                    let (token_id, key) = ids();
                    let name = p.symbol.as_ref().unwrap_or(&token_id).to_string();
                    let deviation = peg::deviation_percent(peg_cfg, p.price);
                    let mut f = Finding {
                        rule: AlertRule::PegDeviation,
                        severity: Severity::Warning,
                        status: AlertStatus::Firing,
                        key,
                        value: p.price,
                        reference: peg_cfg.peg,
                        change_percent: (p.price - peg_cfg.peg) / peg_cfg.peg * 100.0,
                        threshold_percent: 0.0,
                        window: None,
                        reference_time: None,
                        level: 0,
                        message: String::new(),
                    };
                    if decision == Decision::Fire {
                        let level = state.peg.active;
                        f.level = level;
                        f.threshold_percent = peg::threshold_percent(peg_cfg, level);
                        f.severity = peg::severity(peg_cfg, level);
                        f.message = format!(
                            "{name} is {deviation:.2}% off its ${} peg at ${} (past the {}% level)",
                            peg_cfg.peg,
                            price_text(p.price),
                            f.threshold_percent
                        );
                    } else {
                        // Only an announced episode recovers (see rules::cooldown).
                        f.rule = AlertRule::PegRecovery;
                        f.severity = Severity::Info;
                        f.status = AlertStatus::Resolved;
                        f.threshold_percent = peg_cfg.recovery_percent;
                        f.message = format!(
                            "{name} is back within {}% of its ${} peg at ${}",
                            peg_cfg.recovery_percent,
                            peg_cfg.peg,
                            price_text(p.price)
                        );
                    }
                    Some((f, token_id))
                }
                Decision::Quiet | Decision::Suppressed | Decision::Ended => None,
            }
        } else {
            let windows = &cfg.price_alerts.windows;
            let (extremes, gaps) = state.main.window_extremes(windows, &cfg.windows, t);
            emit.window_gaps += gaps;
            let hit = window::price_move(windows, &extremes, p.price);
            state.main.push_window_value(t, p.price);
            let mut token = None;
            let f = self.window_finding(
                AlertRule::PriceMove,
                &mut state.main,
                hit,
                windows,
                p.price,
                t,
                || {
                    let (token_id, key) = ids();
                    let name = p.symbol.as_ref().unwrap_or(&token_id).to_string();
                    token = Some(token_id);
                    (key, name)
                },
            );
            f.zip(token)
        };
        if let Some((f, token_id)) = finding {
            let who = Subject {
                token_id: Some(&token_id),
                chain: p.token.chain(),
                symbol: p.symbol.as_deref(),
                stablecoin: pegged,
                ..Subject::default()
            };
            out.push(alert_event(emit, f, &who));
        }
    }
}
