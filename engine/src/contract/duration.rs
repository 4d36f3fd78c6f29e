//! Durations as contracts write them (`15m`, `24h`, `400d`, `1y`).

use super::model::Duration;

/// Parses a duration such as `15m`, `1h 30m`, `400d` or `2y` (humantime's syntax).
///
/// ```
/// let d = charter_engine::contract::parse_duration("15m").unwrap();
/// assert_eq!(d.seconds, 900);
/// ```
///
/// # Errors
/// A message saying what was expected.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    humantime::parse_duration(trimmed)
        .map(|d| Duration {
            text: trimmed.to_owned(),
            seconds: d.as_secs(),
        })
        .map_err(|e| {
            format!("`{trimmed}` is not a duration ({e}); expected e.g. `15m`, `24h` or `400d`")
        })
}

/// A duration from an amount and a unit, as ODCS SLA properties give it (`value: 4, unit: d`).
///
/// # Errors
/// An unknown unit or a negative amount.
pub(crate) fn from_amount(amount: f64, unit: &str) -> Result<Duration, String> {
    let per_unit: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "week" | "weeks" => 7.0 * 86_400.0,
        "mo" | "month" | "months" => 30.0 * 86_400.0,
        "y" | "yr" | "yrs" | "year" | "years" => 365.0 * 86_400.0,
        other => {
            return Err(format!(
                "unknown unit `{other}`; expected s, m (minutes), h, d, w, mo (months) or y"
            ));
        }
    };
    if !amount.is_finite() || amount < 0.0 {
        return Err(format!("`{amount}` is not a valid amount of time"));
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked finite and non-negative"
    )]
    let seconds = (amount * per_unit).round() as u64;
    Ok(Duration {
        text: format!("{amount}{}", unit.trim()),
        seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_contract_durations() {
        assert_eq!(parse_duration("15m").unwrap().seconds, 900);
        assert_eq!(parse_duration(" 400d ").unwrap().seconds, 400 * 86_400);
        assert!(parse_duration("soon").unwrap_err().contains("expected"));
        assert_eq!(from_amount(4.0, "d").unwrap().seconds, 4 * 86_400);
        assert_eq!(from_amount(3.0, "y").unwrap().seconds, 3 * 365 * 86_400);
        assert!(from_amount(1.0, "fortnight").is_err());
    }
}
