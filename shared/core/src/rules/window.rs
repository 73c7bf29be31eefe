//! Window rules: the level a move reaches against the extremes of each configured window.
//! Prices alert on moves either way; TVL alerts on drops of at least a dollar floor.

use crate::config::WindowThreshold;
use crate::event::Severity;
use crate::record::UnixSecs;
use crate::window::Extremes;

/// The strongest threshold crossed, over all windows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowHit {
    /// 1 = warning, 2 = critical.
    pub level: u8,
    /// Index into the configured windows.
    pub window: usize,
    /// The value the move is measured from (a window extreme).
    pub reference: f64,
    /// When `reference` was seen.
    pub reference_time: UnixSecs,
    /// Signed change from `reference`, in percent.
    pub change_percent: f64,
    pub threshold_percent: f64,
}

/// The severity of a window level: 1 warns, 2 and above are critical.
pub fn severity(level: u8) -> Severity {
    if level >= 2 {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

fn level_of(threshold: &WindowThreshold, move_percent: f64) -> Option<(u8, f64)> {
    if move_percent >= threshold.critical_percent {
        Some((2, threshold.critical_percent))
    } else if move_percent >= threshold.warning_percent {
        Some((1, threshold.warning_percent))
    } else {
        None
    }
}

/// Keeps the higher level; on a tie, the larger move.
fn stronger(best: Option<WindowHit>, hit: WindowHit) -> Option<WindowHit> {
    match best {
        Some(b) if (b.level, b.change_percent.abs()) >= (hit.level, hit.change_percent.abs()) => {
            Some(b)
        }
        _ => Some(hit),
    }
}

/// A price move up or down: against the window's minimum (rise) and maximum (fall).
pub fn price_move(
    thresholds: &[WindowThreshold],
    extremes: &[Option<Extremes>],
    price: f64,
) -> Option<WindowHit> {
    let mut best = None;
    for (i, (threshold, e)) in thresholds.iter().zip(extremes).enumerate() {
        let Some(e) = e else { continue };
        for (reference, reference_time) in [(e.max, e.max_at), (e.min, e.min_at)] {
            if reference <= 0.0 {
                continue;
            }
            let change = (price - reference) / reference * 100.0;
            if let Some((level, threshold_percent)) = level_of(threshold, change.abs()) {
                best = stronger(
                    best,
                    WindowHit {
                        level,
                        window: i,
                        reference,
                        reference_time,
                        change_percent: change,
                        threshold_percent,
                    },
                );
            }
        }
    }
    best
}

/// A TVL drop from the window's maximum, of at least `min_drop_usd`.
pub fn tvl_drop(
    thresholds: &[WindowThreshold],
    extremes: &[Option<Extremes>],
    tvl: f64,
    min_drop_usd: f64,
) -> Option<WindowHit> {
    let mut best = None;
    for (i, (threshold, e)) in thresholds.iter().zip(extremes).enumerate() {
        let Some(e) = e else { continue };
        let drop = e.max - tvl;
        if e.max <= 0.0 || drop < min_drop_usd || drop <= 0.0 {
            continue;
        }
        let change = -drop / e.max * 100.0;
        if let Some((level, threshold_percent)) = level_of(threshold, -change) {
            best = stronger(
                best,
                WindowHit {
                    level,
                    window: i,
                    reference: e.max,
                    reference_time: e.max_at,
                    change_percent: change,
                    threshold_percent,
                },
            );
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PriceAlertConfig, TvlAlertConfig};

    fn ext(min: f64, max: f64) -> Option<Extremes> {
        Some(Extremes {
            min,
            min_at: 0,
            max,
            max_at: 0,
        })
    }

    #[test]
    fn price_thresholds_per_window() {
        let w = PriceAlertConfig::default().windows;
        // 1h: 5 % warning, 15 % critical; 24h: 10 % warning, 25 % critical.
        assert_eq!(
            price_move(&w, &[ext(100.0, 100.0), ext(100.0, 100.0)], 104.0),
            None
        );
        assert_eq!(
            price_move(&w, &[ext(100.0, 100.0), None], 95.0).map(|h| h.level),
            Some(1)
        );
        assert_eq!(
            price_move(&w, &[ext(100.0, 100.0), None], 85.0).map(|h| h.level),
            Some(2)
        );
        // 24h: +11.1 % from the day's low is a warning, though the hour moved 3 %.
        assert_eq!(
            price_move(&w, &[ext(97.0, 97.0), ext(90.0, 100.0)], 100.0)
                .map(|h| (h.level, h.window)),
            Some((1, 1))
        );
    }

    #[test]
    fn the_24h_window_catches_what_the_hour_misses() {
        let w = PriceAlertConfig::default().windows;
        let hit = price_move(&w, &[ext(96.0, 97.0), ext(96.0, 130.0)], 95.0).unwrap();
        assert_eq!((hit.level, hit.window), (2, 1));
        assert!((hit.change_percent - (-26.923)).abs() < 0.01);
    }

    #[test]
    fn tvl_drop_needs_the_dollar_floor() {
        let c = TvlAlertConfig::default();
        // 50 % of $1.5 M is $750k: under the $1 M floor.
        assert_eq!(
            tvl_drop(
                &c.windows,
                &[ext(1.5e6, 1.5e6), None],
                0.75e6,
                c.min_drop_usd
            ),
            None
        );
        let hit = tvl_drop(
            &c.windows,
            &[ext(28.6e9, 28.6e9), None],
            1.0e9,
            c.min_drop_usd,
        )
        .unwrap();
        assert_eq!(hit.level, 2);
        // A rise is never a TVL alert.
        assert_eq!(
            tvl_drop(&c.windows, &[ext(1e9, 1e9), None], 5e9, c.min_drop_usd),
            None
        );
        // 24h: a 20 % drop is a warning, 40 % critical.
        assert_eq!(
            tvl_drop(
                &c.windows,
                &[ext(1e9, 1e9), ext(1e9, 1.3e9)],
                1e9,
                c.min_drop_usd
            )
            .map(|h| (h.level, h.window)),
            Some((1, 1))
        );
    }
}
