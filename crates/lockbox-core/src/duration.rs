//! Human durations: `45s`, `90m`, `2h30m`, `7d`, `1d12h`.

use crate::{Error, Result};

/// Parse a duration into whole seconds. Units: d, h, m, s; each at most once,
/// in that order; at least one component; the total must be positive.
pub fn parse_duration(input: &str) -> Result<i64> {
    let s = input.trim();
    let bad = || {
        Error::input(format!(
            "'{input}' is not a duration: use a number with a unit, like 45s, 90m, 2h30m or 7d"
        ))
    };
    if s.is_empty() {
        return Err(bad());
    }
    let order = ['d', 'h', 'm', 's'];
    let mut next_unit = 0usize;
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let Some(pos) = order.iter().position(|u| *u == c.to_ascii_lowercase()) else {
            return Err(bad());
        };
        if digits.is_empty() || pos < next_unit || digits.len() > 9 {
            return Err(bad());
        }
        let n: i64 = digits.parse().map_err(|_| bad())?;
        let mult = [86_400, 3_600, 60, 1][pos];
        total = total.checked_add(n * mult).ok_or_else(bad)?;
        next_unit = pos + 1;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    if total <= 0 {
        return Err(Error::input(format!(
            "'{input}' is zero: a duration must be positive"
        )));
    }
    Ok(total)
}

/// Format whole seconds compactly: 9000 -> "2h30m", 0 -> "0s".
pub fn format_duration(secs: i64) -> String {
    if secs <= 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        let n = rest / size;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
            rest -= n * size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_examples() {
        for (s, v) in [
            ("45s", 45),
            ("90m", 5400),
            ("2h30m", 9000),
            ("7d", 604_800),
            ("1d12h", 129_600),
            (" 4H ", 14_400),
            ("1h0m5s", 3605),
        ] {
            assert_eq!(parse_duration(s).unwrap(), v, "{s}");
        }
    }

    #[test]
    fn rejects_bad_input() {
        for s in [
            "",
            "5",
            "h",
            "5x",
            "30m2h",
            "1h1h",
            "-5m",
            "0s",
            "1.5h",
            "99999999999d",
        ] {
            let e = parse_duration(s).unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::InvalidInput, "{s}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for v in [1, 59, 60, 3600, 9000, 86_400, 129_661] {
            assert_eq!(parse_duration(&format_duration(v)).unwrap(), v);
        }
        assert_eq!(format_duration(9000), "2h30m");
    }
}
