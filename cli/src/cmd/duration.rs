//! Duration flags (`--timeout 500ms`, `--mesh-timeout 2m`): humantime's syntax with
//! sub-second precision kept, and a time limit of zero refused.

use std::time::Duration;

/// Parses a time limit such as `2s`, `500ms` or `1m 30s`; zero is refused, since a limit of
/// nothing would time out every evaluation.
pub fn time_limit(s: &str) -> Result<Duration, String> {
    let limit = humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration ({e}); expected e.g. `2s` or `500ms`"))?;
    if limit.is_zero() {
        return Err(format!(
            "`{s}` is no time at all; give a limit above zero, e.g. `2s`"
        ));
    }
    Ok(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_sub_second_precision() {
        assert_eq!(time_limit("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(time_limit("1s 250ms"), Ok(Duration::from_millis(1250)));
        assert_eq!(time_limit(" 2s "), Ok(Duration::from_secs(2)));
        assert_eq!(time_limit("1m"), Ok(Duration::from_secs(60)));
    }

    #[test]
    fn refuses_zero_and_nonsense() {
        assert!(time_limit("0s").unwrap_err().contains("above zero"));
        assert!(time_limit("0ms").unwrap_err().contains("above zero"));
        assert!(time_limit("soon").unwrap_err().contains("not a duration"));
        assert!(time_limit("5").unwrap_err().contains("not a duration"));
    }
}
