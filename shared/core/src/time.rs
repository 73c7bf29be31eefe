//! Time written for people, one grammar for every setting, request and flag: durations
//! (`250ms`, `90s`, `5m`, `1h`, `7d`, or combined `1h30m`; `sec`, `min`, `hour`, `day` and
//! their plurals too) and points in time (RFC 3339 such as `2026-12-01T00:00:00Z`, an offset
//! like `+02:00` allowed, or unix seconds). Two duration types by precision: [`Secs`] (whole
//! seconds, the engine's windows and periods) and [`HumanDuration`] (milliseconds, timeouts).

use serde::{Deserialize, Deserializer, Serialize, de};
use std::fmt;
use std::time::Duration;

fn unit_ms(unit: &str) -> Option<u128> {
    Some(match unit {
        "ms" => 1,
        "s" | "sec" | "secs" => 1_000,
        "m" | "min" | "mins" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        _ => return None,
    })
}

/// Parses a duration; a bare number (`45`) is taken in `bare_unit` when one is given.
pub fn parse_duration(text: &str, bare_unit: Option<&str>) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration: write it like 90s, 5m, 1h or 7d".into());
    }
    if let Some(unit) = bare_unit
        && text.bytes().all(|b| b.is_ascii_digit())
    {
        return parse_duration(&format!("{text}{unit}"), None);
    }
    let mut total_ms: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("`{text}` is not a duration like 90s, 5m, 1h or 7d"));
        }
        let n: u128 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{text}`: number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = rest[..unit_len].trim();
        let scale = match unit {
            "" => return Err(format!("`{text}`: missing unit (ms, s, m, h or d)")),
            u => unit_ms(u)
                .ok_or_else(|| format!("`{text}`: unknown unit `{u}` (use ms, s, m, h or d)"))?,
        };
        rest = &rest[unit_len..];
        total_ms = total_ms
            .checked_add(n.saturating_mul(scale))
            .ok_or_else(|| format!("`{text}`: too long"))?;
    }
    let ms = u64::try_from(total_ms).map_err(|_| format!("`{text}`: too long"))?;
    Ok(Duration::from_millis(ms))
}

/// Whole seconds, written in TOML as `"90s"`, `"5m"`, `"1h"`, `"7d"` or a plain number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Secs(pub i64);

impl Secs {
    pub const fn hours(h: i64) -> Self {
        Secs(h * 3600)
    }

    /// A duration of whole seconds; a bare number is seconds.
    pub fn parse(text: &str) -> Result<Self, String> {
        let d = parse_duration(text, Some("s"))?;
        if d.subsec_millis() != 0 {
            return Err(format!("`{}`: whole seconds only", text.trim()));
        }
        i64::try_from(d.as_secs())
            .map(Secs)
            .map_err(|_| format!("`{}`: too long", text.trim()))
    }

    /// Seconds as unsigned (an age, a TTL).
    pub fn as_u64(self) -> u64 {
        u64::try_from(self.0).unwrap_or(0)
    }
}

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s != 0 && s % 86_400 == 0 {
            write!(f, "{}d", s / 86_400)
        } else if s != 0 && s % 3600 == 0 {
            write!(f, "{}h", s / 3600)
        } else if s != 0 && s % 60 == 0 {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

impl Serialize for Secs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Secs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(Secs(n)),
            Raw::Text(t) => Secs::parse(&t).map_err(de::Error::custom),
        }
    }
}

impl std::str::FromStr for Secs {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Secs::parse(s)
    }
}

/// A [`Duration`] read from text such as `250ms`, `1h` or `1h30m` (a unit is required).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn parse(text: &str) -> Result<Self, String> {
        parse_duration(text, None).map(HumanDuration)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        HumanDuration::parse(&s).map_err(de::Error::custom)
    }
}

/// A point in time, in milliseconds since the unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`.
    pub fn parse_rfc3339(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}`: expected RFC 3339 such as 2026-12-01T00:00:00Z");
        let b = text.trim().as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return Err(bad());
        }
        if b[13] != b':' || b[16] != b':' {
            return Err(bad());
        }
        let num = |range: std::ops::Range<usize>| -> Result<i64, String> {
            std::str::from_utf8(&b[range])
                .ok()
                .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
                .and_then(|s| s.parse().ok())
                .ok_or_else(bad)
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
            return Err(bad());
        }
        let mut i = 19;
        let mut millis = 0i64;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let frac = std::str::from_utf8(&b[start..i]).map_err(|_| bad())?;
            let padded = format!("{frac:0<3}");
            millis = padded[..3].parse().map_err(|_| bad())?;
        }
        let offset_secs = match b.get(i) {
            Some(b'Z' | b'z') if i + 1 == b.len() => 0,
            Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
                let oh = num(i + 1..i + 3)?;
                let om = num(i + 4..i + 6)?;
                let o = oh * 3600 + om * 60;
                if *sign == b'+' { o } else { -o }
            }
            _ => return Err(bad()),
        };
        let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset_secs;
        Ok(Timestamp(secs * 1000 + millis))
    }

    /// `2026-12-01T00:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        let secs = self.0.div_euclid(1000);
        let ms = self.0.rem_euclid(1000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        )
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an RFC 3339 time or unix seconds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp(v.saturating_mul(1000)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                i64::try_from(v)
                    .map(|v| Timestamp(v.saturating_mul(1000)))
                    .map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse_rfc3339(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Unix time in seconds.
pub type UnixSecs = i64;

/// (year, month, day) of a day count since 1970-01-01, proleptic Gregorian
/// (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DD HH:MM` in UTC, for summaries and logs (no date library needed).
pub fn format_utc(secs: UnixSecs) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// A span of time as alert messages state it: `45s`, `12m`, `1h`, `24h`, `25h30m`, `3d`, `3d6h`.
pub fn format_span(secs: i64) -> String {
    let secs = secs.max(0);
    if secs < 60 {
        return format!("{secs}s");
    }
    let mins = (secs + 30) / 60;
    if mins < 60 {
        return format!("{mins}m");
    }
    let (h, m) = (mins / 60, mins % 60);
    if h < 48 {
        return if m == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{m:02}m")
        };
    }
    let (d, h) = (h / 24, h % 24);
    if h == 0 {
        format!("{d}d")
    } else {
        format!("{d}d{h}h")
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of [`civil_from_days`]).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A point in time given as unix seconds (`1678543259`) or RFC 3339
/// (`2023-03-11T14:00:59Z`, `2023-03-11T15:00:59+01:00`, fractions of a second ignored).
pub fn parse_time(text: &str) -> Result<UnixSecs, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    Timestamp::parse_rfc3339(text)
        .map(|t| t.0.div_euclid(1000))
        .map_err(|_| {
            format!("`{text}` is not unix seconds or an RFC 3339 time such as 2023-03-11T14:00:00Z")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds() {
        assert_eq!(Secs::parse("90s"), Ok(Secs(90)));
        assert_eq!(Secs::parse("15m"), Ok(Secs(900)));
        assert_eq!(Secs::parse("2 hours"), Ok(Secs(7200)));
        assert_eq!(Secs::parse("3d"), Ok(Secs(259_200)));
        assert_eq!(Secs::parse("45"), Ok(Secs(45)));
        assert!(Secs::parse("1500ms").is_err());
        assert!(Secs::parse("2w").is_err());
        assert!(Secs::parse("h").is_err());
        assert_eq!(Secs(86_400).to_string(), "1d");
    }

    #[test]
    fn durations_parse() {
        let ms = |s: &str| HumanDuration::parse(s).map(|d| d.0.as_millis());
        assert_eq!(ms("250ms"), Ok(250));
        assert_eq!(ms("90s"), Ok(90_000));
        assert_eq!(ms("1h30m"), Ok(5_400_000));
        assert_eq!(ms("1d"), Ok(86_400_000));
        assert!(ms("10").is_err());
        assert!(ms("h").is_err());
        assert!(ms("5w").is_err());
    }

    #[test]
    fn timestamps_round_trip() {
        let t = Timestamp::parse_rfc3339("2026-12-01T00:00:00Z").map(|t| t.0);
        assert_eq!(t, Ok(1_796_083_200_000));
        assert_eq!(
            Timestamp::parse_rfc3339("2026-12-01T02:00:00.5+02:00").map(|t| t.0),
            Ok(1_796_083_200_500)
        );
        assert_eq!(
            Timestamp(1_796_083_200_500).to_rfc3339(),
            "2026-12-01T00:00:00.500Z"
        );
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00.000Z");
        assert!(Timestamp::parse_rfc3339("2026-13-01T00:00:00Z").is_err());
        assert!(Timestamp::parse_rfc3339("yesterday").is_err());
    }

    #[test]
    fn parses_times() {
        assert_eq!(parse_time("1678543259"), Ok(1_678_543_259));
        assert_eq!(parse_time("2023-03-11T14:00:59Z"), Ok(1_678_543_259));
        assert_eq!(
            parse_time("2023-03-11T15:00:59.250+01:00"),
            Ok(1_678_543_259)
        );
        assert_eq!(parse_time("2000-02-29T00:00:00Z"), Ok(951_782_400));
        for bad in [
            "",
            "yesterday",
            "2023-03-11",
            "2023-13-11T00:00:00Z",
            "2023-03-11T00:00:00",
        ] {
            let err = parse_time(bad).unwrap_err();
            assert!(err.contains("RFC 3339"), "{err}");
        }
        for days in [-1000, 0, 19_000, 50_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(format_span(45), "45s");
        assert_eq!(format_span(12 * 60 + 10), "12m");
        assert_eq!(format_span(3600), "1h");
        assert_eq!(format_span(86_400), "24h");
        assert_eq!(format_span(25 * 3600 + 30 * 60), "25h30m");
        assert_eq!(format_span(3 * 86_400), "3d");
        assert_eq!(format_span(3 * 86_400 + 6 * 3600), "3d6h");
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_utc(1_678_543_259), "2023-03-11 14:00");
        assert_eq!(format_utc(0), "1970-01-01 00:00");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00");
    }
}
