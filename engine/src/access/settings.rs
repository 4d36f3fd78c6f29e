//! The access-decision settings of a pack (`data.charter.settings.access_decisions`,
//! from `data/access.yaml`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value as Json;

use super::error::AccessError;
use super::mask::{Dialect, MaskMethod};

/// The settings key of access decisions.
pub(crate) const SETTINGS_KEY: &str = "access_decisions";

/// The time limit of one row-filter evaluation when the settings name none.
pub(crate) const DEFAULT_ROW_FILTER_TIME_LIMIT: Duration = Duration::from_millis(100);

/// The largest time limit the settings may name (`row_filter_time_limit_ms`): a decision
/// is on a query's hot path.
const MAX_ROW_FILTER_TIME_LIMIT_MS: f64 = 60_000.0;

/// What the engine reads from `access_decisions` in the central settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccessSettings {
    /// Masking methods as contracts write them (lowercased) → the method Charter expresses.
    pub masking_aliases: BTreeMap<String, MaskMethod>,
    /// Columns the row-filter rules look at; `None`: evaluate the rules for every product.
    pub row_filter_columns: Option<Vec<String>>,
    /// Dialect of requests that name none.
    pub default_dialect: Dialect,
    /// Wall-clock budget of one evaluation of the row-filter rule; past it the request
    /// is denied (`row_filter_time_limit_ms`).
    pub row_filter_time_limit: Duration,
}

impl Default for AccessSettings {
    fn default() -> Self {
        Self {
            masking_aliases: BTreeMap::new(),
            row_filter_columns: None,
            default_dialect: Dialect::default(),
            row_filter_time_limit: DEFAULT_ROW_FILTER_TIME_LIMIT,
        }
    }
}

impl AccessSettings {
    /// Reads `masking_aliases`, `row_filter_columns`, `default_dialect` and
    /// `row_filter_time_limit_ms` under `access_decisions`; every key is optional.
    pub fn from_settings(settings: &Json) -> Result<Self, AccessError> {
        let mut out = Self::default();
        let Some(access) = settings.get(SETTINGS_KEY) else {
            return Ok(out);
        };
        let bad = |key: &str, message: String| AccessError::Settings {
            key: format!("{SETTINGS_KEY}.{key}"),
            message,
        };
        if let Some(aliases) = access.get("masking_aliases") {
            let map = aliases.as_object().ok_or_else(|| {
                bad(
                    "masking_aliases",
                    "expected a mapping of method names to methods".into(),
                )
            })?;
            for (alias, target) in map {
                let method = target.as_str().and_then(MaskMethod::from_canonical).ok_or_else(|| {
                    bad(
                        "masking_aliases",
                        format!("`{alias}` maps to `{target}`, expected one of hash, redact, nullify, last4"),
                    )
                })?;
                out.masking_aliases
                    .insert(alias.trim().to_ascii_lowercase(), method);
            }
        }
        if let Some(columns) = access.get("row_filter_columns") {
            let list = columns
                .as_array()
                .and_then(|items| {
                    items
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| {
                    bad(
                        "row_filter_columns",
                        "expected a list of column names".into(),
                    )
                })?;
            out.row_filter_columns = Some(list);
        }
        if let Some(dialect) = access.get("default_dialect") {
            out.default_dialect = dialect
                .as_str()
                .ok_or_else(|| bad("default_dialect", "expected `trino` or `ansi`".into()))?
                .parse()
                .map_err(|e: super::mask::UnknownDialect| bad("default_dialect", e.to_string()))?;
        }
        if let Some(limit) = access.get("row_filter_time_limit_ms") {
            out.row_filter_time_limit = limit
                .as_f64()
                .filter(|ms| (1.0..=MAX_ROW_FILTER_TIME_LIMIT_MS).contains(ms))
                .map(|ms| Duration::from_secs_f64(ms / 1000.0))
                .ok_or_else(|| {
                    bad(
                        "row_filter_time_limit_ms",
                        format!(
                            "expected a number of milliseconds from 1 to {MAX_ROW_FILTER_TIME_LIMIT_MS}, got {limit}"
                        ),
                    )
                })?;
        }
        Ok(out)
    }

    /// The method a contract's masking value names: canonical or an alias; `None` when unknown.
    pub fn mask_method(&self, written: &str) -> Option<MaskMethod> {
        MaskMethod::from_canonical(written).or_else(|| {
            self.masking_aliases
                .get(&written.trim().to_ascii_lowercase())
                .copied()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_key() {
        let settings = serde_json::json!({"access_decisions": {
            "masking_aliases": {"SHA256": "hash", "show-last-4": "last4"},
            "row_filter_columns": ["region"],
            "default_dialect": "duckdb",
            "row_filter_time_limit_ms": 250,
        }});
        let s = AccessSettings::from_settings(&settings).unwrap();
        assert_eq!(s.mask_method("sha256"), Some(MaskMethod::Hash));
        assert_eq!(s.mask_method("Show-Last-4"), Some(MaskMethod::Last4));
        assert_eq!(s.mask_method("HASH"), Some(MaskMethod::Hash));
        assert_eq!(s.mask_method("tokenize"), None);
        assert_eq!(s.row_filter_columns, Some(vec!["region".to_owned()]));
        assert_eq!(s.default_dialect, Dialect::Ansi);
        assert_eq!(s.row_filter_time_limit, Duration::from_millis(250));
    }

    #[test]
    fn row_filter_time_limit_has_a_default_and_bounds() {
        let s =
            AccessSettings::from_settings(&serde_json::json!({"access_decisions": {}})).unwrap();
        assert_eq!(s.row_filter_time_limit, DEFAULT_ROW_FILTER_TIME_LIMIT);
        for bad in [
            serde_json::json!(0),
            serde_json::json!(0.5),
            serde_json::json!(-5),
            serde_json::json!(600_000),
            serde_json::json!("100ms"),
            serde_json::json!(null),
        ] {
            let settings =
                serde_json::json!({"access_decisions": {"row_filter_time_limit_ms": bad}});
            let err = AccessSettings::from_settings(&settings)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("access_decisions.row_filter_time_limit_ms"),
                "{err}"
            );
        }
    }

    #[test]
    fn absent_settings_are_defaults() {
        let s = AccessSettings::from_settings(&serde_json::json!({})).unwrap();
        assert_eq!(s, AccessSettings::default());
    }

    #[test]
    fn bad_alias_is_refused() {
        let settings =
            serde_json::json!({"access_decisions": {"masking_aliases": {"x": "scramble"}}});
        let err = AccessSettings::from_settings(&settings)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("access_decisions.masking_aliases") && err.contains("scramble"),
            "{err}"
        );
    }
}
