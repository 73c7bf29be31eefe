//! Rate limiting and time-budget arithmetic, kept pure so it is tested without clocks.

use std::time::Duration;

/// Paces sends to at most `rate` messages per second: a batch that starts after `sent`
/// messages may begin `sent / rate` seconds after the first send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacer {
    rate: Option<f64>,
}

impl Pacer {
    /// `None`, zero, negative or non-finite rates mean "unlimited".
    pub fn new(rate_per_second: Option<f64>) -> Self {
        Pacer {
            rate: rate_per_second.filter(|r| r.is_finite() && *r > 0.0),
        }
    }

    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// How long to wait, `elapsed` after the first send, before sending the next batch when
    /// `sent` messages have gone already.
    pub fn delay(&self, elapsed: Duration, sent: u64) -> Duration {
        let Some(rate) = self.rate else {
            return Duration::ZERO;
        };
        let due = Duration::from_secs_f64(sent as f64 / rate);
        due.saturating_sub(elapsed)
    }

    /// Messages per batch: 10 (the SQS maximum), fewer for rates below 10 per second so the
    /// pace stays even.
    pub fn batch_size(&self) -> usize {
        match self.rate {
            None => 10,
            Some(r) => (r.floor() as usize).clamp(1, 10),
        }
    }
}

/// Whether another step fits before `remaining` runs out, given how long the longest step took
/// so far (plus the time to release held messages, which `reserve` covers).
pub fn fits(remaining: Duration, longest_step: Duration, reserve: Duration) -> bool {
    remaining > longest_step.saturating_add(reserve)
}

/// Visibility timeout (seconds) for messages held during a run: long enough to outlast the
/// run, so a held message is not received twice, within SQS's 0..=43,200 s.
pub fn hold_secs(remaining: Option<Duration>) -> i32 {
    match remaining {
        Some(r) => (r.as_secs().saturating_add(30)).clamp(30, 43_200) as i32,
        None => 900,
    }
}

/// Messages per second achieved.
pub fn per_second(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        0.0
    } else {
        count as f64 / secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_waits() {
        let p = Pacer::new(None);
        assert_eq!(p.delay(Duration::ZERO, 1_000_000), Duration::ZERO);
        assert_eq!(p.batch_size(), 10);
        assert_eq!(Pacer::new(Some(0.0)).rate(), None);
        assert_eq!(Pacer::new(Some(f64::NAN)).rate(), None);
    }

    #[test]
    fn fifty_per_second_spaces_batches_of_ten_by_200ms() {
        let p = Pacer::new(Some(50.0));
        assert_eq!(p.batch_size(), 10);
        assert_eq!(p.delay(Duration::ZERO, 0), Duration::ZERO);
        assert_eq!(
            p.delay(Duration::from_millis(50), 10),
            Duration::from_millis(150)
        );
        assert_eq!(p.delay(Duration::from_millis(250), 10), Duration::ZERO);
        // 1,000 messages: the last batch starts at 19.8 s, so the rate stays within 1 % of 50/s.
        let last_start = p.delay(Duration::ZERO, 990);
        assert_eq!(last_start, Duration::from_millis(19_800));
        let rate = per_second(1_000, last_start + Duration::from_millis(20));
        assert!((rate - 50.0).abs() / 50.0 < 0.02, "{rate}");
    }

    #[test]
    fn slow_rates_send_small_batches() {
        assert_eq!(Pacer::new(Some(2.5)).batch_size(), 2);
        assert_eq!(Pacer::new(Some(0.5)).batch_size(), 1);
        assert_eq!(
            Pacer::new(Some(0.5)).delay(Duration::ZERO, 1),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn budget_arithmetic() {
        assert!(fits(
            Duration::from_secs(5),
            Duration::from_secs(1),
            Duration::from_secs(1)
        ));
        assert!(!fits(
            Duration::from_secs(2),
            Duration::from_secs(1),
            Duration::from_secs(1)
        ));
        assert_eq!(hold_secs(Some(Duration::from_secs(600))), 630);
        assert_eq!(hold_secs(Some(Duration::ZERO)), 30);
        assert_eq!(hold_secs(Some(Duration::from_secs(100_000))), 43_200);
        assert_eq!(hold_secs(None), 900);
        assert_eq!(per_second(100, Duration::from_secs(4)), 25.0);
        assert_eq!(per_second(100, Duration::ZERO), 0.0);
    }
}
