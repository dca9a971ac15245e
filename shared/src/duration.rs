//! Durations in the Go notation Teleport's users already write: `15m`, `1h30m`, `12h0m0s`, `90s`.
//!
//! [`GoDuration`] parses the units `h`, `m`, `s`, `ms` (and a plain `0`), prints the canonical
//! `XhYmZs` form Teleport prints (`8h0m0s`), and (de)serialises as that string in resources.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written the Go way, e.g. `8h0m0s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GoDuration(pub Duration);

/// Why a duration string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason} (write it like 30s, 15m, 12h or 1h30m)")]
pub struct DurationError {
    input: String,
    reason: &'static str,
}

impl FromStr for GoDuration {
    type Err = DurationError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| DurationError { input: input.to_string(), reason };
        let s = input.trim();
        if s.is_empty() {
            return Err(err("it is empty"));
        }
        if s == "0" {
            return Ok(GoDuration(Duration::ZERO));
        }
        let mut total_ms: u128 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            // A number: digits, with an optional fraction (Go's `1.5h`, `.5s`, `0.250s`).
            let whole_len = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            let (whole, after) = rest.split_at(whole_len);
            let (frac, after) = match after.strip_prefix('.') {
                Some(tail) => tail.split_at(tail.find(|c: char| !c.is_ascii_digit()).unwrap_or(tail.len())),
                None => ("", after),
            };
            if whole.is_empty() && frac.is_empty() {
                return Err(err("expected a number"));
            }
            if frac.len() > 9 {
                return Err(err("too many decimals"));
            }
            let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
            let (unit, tail) = after.split_at(unit_len);
            let per_unit_ms: u128 = match unit {
                "h" => 3_600_000,
                "m" => 60_000,
                "s" => 1_000,
                "ms" => 1,
                "" => return Err(err("a number needs a unit (h, m, s or ms)")),
                _ => return Err(err("unknown unit (use h, m, s or ms)")),
            };
            rest = tail;
            let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| err("number too large"))? };
            // The fraction's share of the unit, truncated to a millisecond (Go truncates too).
            let frac_ms = if frac.is_empty() {
                0
            } else {
                let digits: u128 = frac.parse().map_err(|_| err("expected a number"))?;
                let scale = 10u128.pow(u32::try_from(frac.len()).unwrap_or(9));
                digits * per_unit_ms / scale
            };
            total_ms = whole
                .checked_mul(per_unit_ms)
                .and_then(|v| v.checked_add(frac_ms))
                .and_then(|v| v.checked_add(total_ms))
                .ok_or_else(|| err("duration too large"))?;
        }
        let ms = u64::try_from(total_ms).map_err(|_| err("duration too large"))?;
        Ok(GoDuration(Duration::from_millis(ms)))
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total_ms = self.0.as_millis();
        if total_ms == 0 {
            return f.write_str("0s");
        }
        let h = total_ms / 3_600_000;
        let m = (total_ms / 60_000) % 60;
        let s = (total_ms / 1000) % 60;
        let ms = total_ms % 1000;
        if h > 0 {
            write!(f, "{h}h{m}m")?;
        } else if m > 0 {
            write!(f, "{m}m")?;
        }
        if h == 0 && m == 0 && s == 0 {
            // Under a second, as Go prints it.
            return write!(f, "{ms}ms");
        }
        if ms == 0 {
            return write!(f, "{s}s");
        }
        let fraction = format!("{ms:03}");
        write!(f, "{s}.{}s", fraction.trim_end_matches('0'))
    }
}

impl GoDuration {
    /// Words for a person: `15 minutes`, `1 hour`, `36 hours`, or the Go form when uneven.
    pub fn human(&self) -> String {
        let secs = self.0.as_secs();
        let plural = |n: u64, unit: &str| if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") };
        match secs {
            0 => "0 seconds".into(),
            s if s % 3600 == 0 => plural(s / 3600, "hour"),
            s if s % 60 == 0 => plural(s / 60, "minute"),
            s if s < 60 => plural(s, "second"),
            _ => self.to_string(),
        }
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_forms() {
        let d = |s: &str| s.parse::<GoDuration>().unwrap().0;
        assert_eq!(d("15m"), Duration::from_secs(900));
        assert_eq!(d("1h30m"), Duration::from_secs(5400));
        assert_eq!(d("12h0m0s"), Duration::from_secs(43200));
        assert_eq!(d("90s"), Duration::from_secs(90));
        assert_eq!(d("250ms"), Duration::from_millis(250));
        assert_eq!(d("0"), Duration::ZERO);
    }

    #[test]
    fn prints_canonical_form() {
        assert_eq!(GoDuration(Duration::from_secs(8 * 3600)).to_string(), "8h0m0s");
        assert_eq!(GoDuration(Duration::from_secs(300)).to_string(), "5m0s");
        assert_eq!(GoDuration(Duration::from_secs(48)).to_string(), "48s");
        assert_eq!(GoDuration(Duration::from_millis(1500)).to_string(), "1.5s");
        assert_eq!(GoDuration(Duration::from_millis(61_020)).to_string(), "1m1.02s");
        assert_eq!(GoDuration(Duration::from_millis(250)).to_string(), "250ms");
    }

    #[test]
    fn human_words() {
        let h = |s: u64| GoDuration(Duration::from_secs(s)).human();
        assert_eq!(h(900), "15 minutes");
        assert_eq!(h(3600), "1 hour");
        assert_eq!(h(60), "1 minute");
        assert_eq!(h(45), "45 seconds");
        assert_eq!(h(90), "1m30s");
    }

    /// Found by the `limits` fuzz target: `250ms` printed as `0.250s`, which did not parse back
    /// (only serde took it). Go's decimal forms parse now, and what prints parses back.
    #[test]
    fn decimals_parse_and_what_prints_parses_back() {
        let d = |s: &str| s.parse::<GoDuration>().unwrap().0;
        let printed = GoDuration(d("250ms")).to_string();
        assert_eq!((printed.as_str(), d(&printed)), ("250ms", Duration::from_millis(250)));
        assert_eq!(d("0.250s"), Duration::from_millis(250));
        assert_eq!(d("1.5h"), Duration::from_secs(5400));
        assert_eq!(d(".5s"), Duration::from_millis(500));
        assert_eq!(d("1.0001s"), Duration::from_millis(1000));
        assert_eq!(d("1m1.02s"), Duration::from_millis(61_020));
        for bad in [".s", "1..5s", "1.5", "1.0000000001s"] {
            assert!(bad.parse::<GoDuration>().is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "h", "10", "10x", "1h-5m", "99999999999999999999h"] {
            let err = bad.parse::<GoDuration>().unwrap_err().to_string();
            assert!(err.contains("invalid duration"), "{bad}: {err}");
        }
    }

    proptest::proptest! {
        #[test]
        fn display_parses_back(ms in 0u64..10_000_000_000) {
            let d = GoDuration(Duration::from_millis(ms));
            let json = serde_json::to_string(&d).unwrap();
            let back: GoDuration = serde_json::from_str(&json).unwrap();
            proptest::prop_assert_eq!(back, d);
            proptest::prop_assert_eq!(d.to_string().parse::<GoDuration>().ok(), Some(d));
        }
    }
}
