//! Rate limits as the generic cell rate algorithm (GCRA), with no I/O: a limit of `per_second`
//! messages with bursts of `burst`, and the one decision, [`reserve`]: given the stored
//! theoretical arrival time (the next free slot, in ms), may a send go now, after a short
//! wait, or not within the wait the caller accepts. The alert consumer keeps the slot in Redis
//! (`consumer:rate:{receiver}`, one Lua script running this same arithmetic) so concurrent
//! invocations share a receiver's limit; `MemoryAlertStore` runs this function.

use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// At most `per_second` messages a second on average, `burst` of them back to back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

impl RateLimit {
    pub const fn new(per_second: f64, burst: u32) -> Self {
        RateLimit { per_second, burst }
    }

    /// The time between two slots, in ms (at least 1).
    pub fn interval_ms(&self) -> i64 {
        if self.per_second <= 0.0 || !self.per_second.is_finite() {
            return i64::MAX / 4;
        }
        ((1000.0 / self.per_second).ceil() as i64).max(1)
    }

    /// How far ahead of now the next slot may be and still be taken at once: `burst - 1`
    /// intervals.
    pub fn tolerance_ms(&self) -> i64 {
        self.interval_ms()
            .saturating_mul(i64::from(self.burst.max(1) - 1))
    }

    /// `"1/s"`, `"30/m"`, `"120/min"`, `"2/h"`, or a plain number per second (`"0.5"`).
    pub fn parse_rate(text: &str) -> Result<f64, String> {
        let text = text.trim();
        let (count, per) = text.split_once('/').unwrap_or((text, "s"));
        let count: f64 = count
            .trim()
            .parse()
            .map_err(|_| format!("rate {text:?}: expected a number, like \"1/s\" or \"30/m\""))?;
        let secs = match per.trim() {
            "s" | "sec" | "second" => 1.0,
            "m" | "min" | "minute" => 60.0,
            "h" | "hour" => 3600.0,
            other => return Err(format!("rate {text:?}: unknown unit {other:?} (s, m or h)")),
        };
        if !(count > 0.0 && count.is_finite()) {
            return Err(format!("rate {text:?}: must be more than zero"));
        }
        Ok(count / secs)
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s (burst {})", self.per_second, self.burst)
    }
}

/// A rate as the routes file writes it (`"1/s"`, `"30/m"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(pub f64);

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) if n > 0.0 && n.is_finite() => Ok(Rate(n)),
            Raw::Number(n) => Err(serde::de::Error::custom(format!(
                "rate {n}: must be more than zero"
            ))),
            Raw::Text(t) => RateLimit::parse_rate(&t)
                .map(Rate)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// What [`reserve`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// A slot is reserved: send after this wait (zero: now).
    Reserved(Duration),
    /// No slot within the accepted wait; nothing reserved. The next one frees in this long.
    Full(Duration),
}

/// GCRA with reservation. `tat_ms`: the stored next free slot (none: never used).
/// Returns the decision and, when a slot was reserved, the new value to store.
pub fn reserve(
    tat_ms: Option<i64>,
    now_ms: i64,
    limit: RateLimit,
    max_wait: Duration,
) -> (Slot, Option<i64>) {
    let start = tat_ms.unwrap_or(now_ms).max(now_ms);
    let wait_ms = (start - limit.tolerance_ms() - now_ms).max(0);
    let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0));
    if wait > max_wait {
        return (Slot::Full(wait), None);
    }
    (
        Slot::Reserved(wait),
        Some(start.saturating_add(limit.interval_ms())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_WAIT: Duration = Duration::ZERO;

    /// Sends `n` at `now` through a manual clock, waiting up to `max_wait`; the waits.
    fn run(tat: &mut Option<i64>, now: i64, limit: RateLimit, max_wait: Duration) -> Slot {
        let (slot, next) = reserve(*tat, now, limit, max_wait);
        if let Some(n) = next {
            *tat = Some(n);
        }
        slot
    }

    #[test]
    fn one_a_second_spaces_sends_a_second_apart() {
        let limit = RateLimit::new(1.0, 1);
        let mut tat = None;
        let t0 = 1_000_000;
        assert_eq!(
            run(&mut tat, t0, limit, NO_WAIT),
            Slot::Reserved(Duration::ZERO)
        );
        // At the same instant, no slot without waiting, and nothing reserved by asking.
        assert_eq!(
            run(&mut tat, t0, limit, NO_WAIT),
            Slot::Full(Duration::from_secs(1))
        );
        assert_eq!(tat, Some(t0 + 1000));
        // Accepting a wait reserves the slots one second apart, in order.
        let ten = Duration::from_secs(10);
        for k in 1..=3u64 {
            assert_eq!(
                run(&mut tat, t0, limit, ten),
                Slot::Reserved(Duration::from_secs(k))
            );
        }
        // A manual clock past the reserved slots: free again.
        assert_eq!(
            run(&mut tat, t0 + 10_000, limit, NO_WAIT),
            Slot::Reserved(Duration::ZERO)
        );
    }

    #[test]
    fn a_burst_goes_at_once_then_the_rate_holds() {
        let limit = RateLimit::new(0.5, 5); // Discord: 5 per 2 s... here 5 then one per 2 s
        let mut tat = None;
        let t0 = 0;
        for _ in 0..5 {
            assert_eq!(
                run(&mut tat, t0, limit, NO_WAIT),
                Slot::Reserved(Duration::ZERO)
            );
        }
        assert_eq!(
            run(&mut tat, t0, limit, NO_WAIT),
            Slot::Full(Duration::from_secs(2))
        );
        assert_eq!(
            run(&mut tat, t0 + 2000, limit, NO_WAIT),
            Slot::Reserved(Duration::ZERO)
        );
        // Over 60 s of steady demand, at most burst + 60 × rate sends go out.
        let mut sent = 0;
        let mut tat = None;
        for ms in (0..60_000).step_by(100) {
            if matches!(run(&mut tat, ms, limit, NO_WAIT), Slot::Reserved(_)) {
                sent += 1;
            }
        }
        assert_eq!(sent, 5 + 29, "a burst of 5, then one per 2 s");
    }

    #[test]
    fn rates_parse() {
        assert_eq!(RateLimit::parse_rate("1/s"), Ok(1.0));
        assert_eq!(RateLimit::parse_rate("30/m"), Ok(0.5));
        assert_eq!(RateLimit::parse_rate("120/min"), Ok(2.0));
        assert_eq!(RateLimit::parse_rate("0.5"), Ok(0.5));
        assert!(RateLimit::parse_rate("0/s").is_err());
        assert!(RateLimit::parse_rate("3/day").is_err_and(|e| e.contains("unit")));
        assert_eq!(RateLimit::new(3.0, 1).interval_ms(), 334);
        assert_eq!(RateLimit::new(1.0, 3).tolerance_ms(), 2000);
    }
}
