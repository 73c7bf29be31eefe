//! Pegged assets: how far a price is off its peg, judged from the first record on, and what
//! a level means (its threshold and severity).

use crate::config::PegConfig;
use crate::event::Severity;
use crate::rules::cooldown::Observation;

/// Deviation from the peg in percent (always positive).
pub fn deviation_percent(peg: &PegConfig, price: f64) -> f64 {
    (price - peg.peg).abs() / peg.peg * 100.0
}

/// The level reached (1-based), `Hold` between recovery and the first level, `Clear` within
/// the recovery band.
pub fn observe(peg: &PegConfig, price: f64) -> Observation {
    let d = deviation_percent(peg, price);
    let level = peg.levels_percent.iter().take_while(|l| d >= **l).count();
    if level > 0 {
        Observation::Level(level.min(u8::MAX as usize) as u8)
    } else if d < peg.recovery_percent {
        Observation::Clear
    } else {
        Observation::Hold
    }
}

/// The threshold of a level (1-based), in percent; 0 for level 0.
pub fn threshold_percent(peg: &PegConfig, level: u8) -> f64 {
    peg.levels_percent
        .get(usize::from(level).saturating_sub(1))
        .copied()
        .unwrap_or(0.0)
}

/// The severity of a deviation alert at a level: critical from `critical_level` on.
pub fn severity(peg: &PegConfig, level: u8) -> Severity {
    if usize::from(level) >= peg.critical_level {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_from_the_defaults() {
        let peg = PegConfig::default();
        assert_eq!(observe(&peg, 1.0), Observation::Clear);
        assert_eq!(observe(&peg, 0.985), Observation::Hold);
        assert_eq!(observe(&peg, 0.98), Observation::Level(1));
        assert_eq!(
            observe(&peg, 0.9121),
            Observation::Level(2),
            "USDC at the first depeg record"
        );
        assert_eq!(observe(&peg, 0.882), Observation::Level(3));
        assert_eq!(observe(&peg, 0.37), Observation::Level(4), "UST");
        assert_eq!(
            observe(&peg, 1.06),
            Observation::Level(2),
            "above the peg counts too"
        );
    }
}
