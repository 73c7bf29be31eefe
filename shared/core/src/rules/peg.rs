//! Pegged assets: how far a price is off its peg, judged from the first record on.

use crate::config::PegConfig;
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
