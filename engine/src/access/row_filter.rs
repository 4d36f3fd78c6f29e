//! Row filters: the Rego rule `data.charter.access.row_filters`, compiled once per
//! pack revision, and the SQL predicates built from what it returns.
//!
//! The rule returns a set of objects `{"column", "op", "value", "reason"?}`; it never
//! writes SQL. The engine quotes the column as an identifier and every value as a
//! literal, so a principal attribute such as `eu' OR '1'='1` stays one string.
//!
//! Each evaluation runs under a wall-clock limit (`access_decisions.row_filter_time_limit_ms`,
//! 100 ms by default). Whatever goes wrong (an evaluation error, the limit reached, a
//! result that is not a set of well-formed filters) is an error the engine turns into a
//! denial with it as the reason.

use std::num::NonZeroU32;
use std::time::Duration;

use regorus::utils::limits::{ExecutionTimerConfig, LimitError};
use regorus::{Rc, Value};
use serde_json::Value as Json;

use super::decision::RowFilter;
use super::entities::ProductEntry;
use super::error::AccessError;
use super::mask::{quote_identifier, quote_literal};
use super::request::AccessRequest;
use super::row_filter_memo::deterministic;
use super::settings::SETTINGS_KEY;
use crate::pack::PolicyPack;

/// The rule a pack's row filters are read from.
pub const ROW_FILTERS_RULE: &str = "data.charter.access.row_filters";
const ROW_FILTERS_PACKAGE: &str = "data.charter.access";

/// Work units between two reads of the clock while the rule runs.
const TIME_CHECK_INTERVAL: NonZeroU32 = NonZeroU32::MIN.saturating_add(31);

/// The compiled row-filter rule.
#[derive(Debug, Clone)]
pub(crate) struct RowFilterRule {
    /// Policies and data loaded and analysed once, with the time limit set; each
    /// evaluation runs on its own clone (a few reference counts).
    engine: regorus::Engine,
    /// Wall-clock budget of one evaluation.
    time_limit: Duration,
    /// Whether its answers may be remembered per input shape (no module loaded calls a
    /// builtin whose result can change between calls; see `row_filter_memo.rs`).
    memoizable: bool,
}

impl RowFilterRule {
    /// Compiles the pack's Rego with the central settings as `data.charter.settings`;
    /// `None` when no module declares package `charter.access`. Each evaluation may run
    /// for `time_limit`; past it, it fails (and the request is denied).
    pub fn compile(pack: &PolicyPack, time_limit: Duration) -> Result<Option<Self>, AccessError> {
        // Contract and mesh rules (`charter.rules.*`, `charter.mesh.*`) are not needed
        // here, and every module loaded makes each evaluation dearer.
        let mut engine = regorus::Engine::new();
        let mut has_package = false;
        let mut loaded = Vec::new();
        for file in pack.rego() {
            let mut probe = regorus::Engine::new();
            let package = probe
                .add_policy(file.path.clone(), file.text.clone())
                .map_err(|e| AccessError::RowFilters(format!("{}: {e}", file.path)))?;
            if package.starts_with("data.charter.rules.")
                || package.starts_with("data.charter.mesh.")
            {
                continue;
            }
            has_package |= package == ROW_FILTERS_PACKAGE;
            loaded.push(file.text.as_str());
            engine
                .add_policy(file.path.clone(), file.text.clone())
                .map_err(|e| AccessError::RowFilters(format!("{}: {e}", file.path)))?;
        }
        if !has_package {
            return Ok(None);
        }
        let data = serde_json::json!({"charter": {"settings": pack.settings()}});
        engine
            .add_data(Value::from(data))
            .map_err(|e| AccessError::RowFilters(e.to_string()))?;
        // Analyses the modules once (what every clone then shares), and refuses a pack
        // whose rule cannot be evaluated at all.
        engine
            .compile_with_entrypoint(&Rc::from(ROW_FILTERS_RULE))
            .map_err(|e| AccessError::RowFilters(e.to_string()))?;
        engine.set_execution_timer_config(ExecutionTimerConfig {
            limit: time_limit,
            check_interval: TIME_CHECK_INTERVAL,
        });
        let memoizable = deterministic(loaded.into_iter());
        Ok(Some(Self {
            engine,
            time_limit,
            memoizable,
        }))
    }

    /// Whether the rule's answers may be remembered per input shape.
    pub fn memoizable(&self) -> bool {
        self.memoizable
    }

    /// Evaluates the rule for a request and renders its filters as SQL. An error, a run
    /// past the time limit, or a result that is not a set of well-formed filters is an
    /// `Err` (the request is then denied, with it as the reason).
    ///
    /// `columns` are the contract's names of the columns the request resolved to.
    pub fn evaluate(
        &self,
        request: &AccessRequest,
        product: &ProductEntry,
        product_input: &Value,
        columns: &[&str],
    ) -> Result<Vec<RowFilter>, String> {
        let input = request_input(request, product_input, columns);
        let mut engine = self.engine.clone();
        engine.set_input(input);
        let value = engine.eval_rule(ROW_FILTERS_RULE.to_owned()).map_err(|e| {
            let over_time = e.chain().any(|cause| {
                matches!(
                    cause.downcast_ref::<LimitError>(),
                    Some(LimitError::TimeLimitExceeded { .. })
                )
            });
            self.failure(over_time, &e.to_string())
        })?;
        let items: Vec<Value> = match value {
            // No rule body held: no filter.
            Value::Undefined => return Ok(Vec::new()),
            Value::Set(set) => set.iter().cloned().collect(),
            Value::Array(items) => items.iter().cloned().collect(),
            other => {
                return Err(format!(
                    "rule returned {}, expected a set of filters",
                    kind(&other)
                ));
            }
        };
        items.iter().map(|item| filter_of(item, product)).collect()
    }

    /// Why an evaluation failed, for the decision's reasons.
    fn failure(&self, over_time: bool, error: &str) -> String {
        if over_time || error.contains("exceeded time limit") {
            format!(
                "rule did not finish within its time limit of {} ms (`{SETTINGS_KEY}.row_filter_time_limit_ms`)",
                self.time_limit.as_secs_f64() * 1000.0
            )
        } else {
            format!("rule failed: {error}")
        }
    }
}

fn request_input(request: &AccessRequest, product_input: &Value, columns: &[&str]) -> Value {
    let strings = |items: &[String]| {
        Value::from(
            items
                .iter()
                .map(|s| Value::from(s.as_str()))
                .collect::<Vec<_>>(),
        )
    };
    let mut principal = std::collections::BTreeMap::new();
    principal.insert(
        Value::from("id"),
        Value::from(request.principal.id.as_str()),
    );
    principal.insert(Value::from("roles"), strings(&request.principal.roles));
    principal.insert(Value::from("groups"), strings(&request.principal.groups));
    let attributes: std::collections::BTreeMap<Value, Value> = request
        .principal
        .attributes
        .iter()
        .map(|(k, v)| (Value::from(k.as_str()), Value::from(v.as_str())))
        .collect();
    principal.insert(Value::from("attributes"), Value::from(attributes));
    let mut input = std::collections::BTreeMap::new();
    input.insert(Value::from("principal"), Value::from(principal));
    input.insert(Value::from("product"), product_input.clone());
    input.insert(
        Value::from("columns"),
        Value::from(columns.iter().map(|c| Value::from(*c)).collect::<Vec<_>>()),
    );
    input.insert(
        Value::from("purpose"),
        request.purpose.as_deref().map_or(Value::Null, Value::from),
    );
    Value::from(input)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Set(_) => "a set",
        Value::Object(_) => "an object",
        Value::Undefined => "undefined",
    }
}

/// One filter object of the rule, checked and rendered.
fn filter_of(item: &Value, product: &ProductEntry) -> Result<RowFilter, String> {
    let json: Json = serde_json::to_value(item)
        .map_err(|e| format!("rule returned a value that is not JSON: {e}"))?;
    let Json::Object(map) = &json else {
        return Err(format!(
            "rule returned {json}, expected objects {{column, op, value}}"
        ));
    };
    // A key Charter does not know (`negate`, a misspelt `vaule`) would be a filter other
    // than the one the rule's author meant: refused, not ignored.
    if let Some(unknown) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "column" | "op" | "value" | "reason"))
    {
        return Err(format!(
            "filter {json} has key `{unknown}`; a filter has `column`, `op`, `value` and `reason`"
        ));
    }
    let column = map
        .get("column")
        .and_then(Json::as_str)
        .ok_or_else(|| format!("filter {json} has no `column` string"))?;
    // No `op` is `=`; an `op` that is not a string is not silently read as `=`.
    let op = match map.get("op") {
        None => "=".to_owned(),
        Some(Json::String(op)) => op.trim().to_ascii_lowercase(),
        Some(other) => {
            return Err(format!(
                "filter {json} has an `op` that is not a string: {other}"
            ));
        }
    };
    let value = map
        .get("value")
        .cloned()
        .ok_or_else(|| format!("filter {json} has no `value`"))?;
    let reason = map.get("reason").and_then(Json::as_str).map(str::to_owned);
    let index = product.column(column).ok_or_else(|| {
        format!(
            "filter names column `{column}`, which product `{}` does not have",
            product.id
        )
    })?;
    let name = &product.columns[index].name;
    let sql = predicate(name, &op, &value)?;
    Ok(RowFilter {
        column: name.clone(),
        op,
        value,
        sql,
        reason,
    })
}

/// `"column" = 'value'`, `"column" IN ('a', 'b')`… with the column quoted and values escaped.
/// Trino and ANSI SQL quote identifiers and literals alike, so the predicate is the same
/// in every dialect.
pub(crate) fn predicate(column: &str, op: &str, value: &Json) -> Result<String, String> {
    let col = quote_identifier(column);
    match op {
        "=" | "<>" | "!=" => {
            let sql_op = if op == "=" { "=" } else { "<>" };
            Ok(format!("{col} {sql_op} {}", literal(value)?))
        }
        "in" | "not in" => {
            let items = value
                .as_array()
                .ok_or_else(|| format!("`{op}` needs a list value, got {value}"))?;
            if items.is_empty() {
                // Nothing is in an empty list.
                return Ok(if op == "in" { "FALSE" } else { "TRUE" }.to_owned());
            }
            let list = items
                .iter()
                .map(literal)
                .collect::<Result<Vec<_>, _>>()?
                .join(", ");
            Ok(format!("{col} {} ({list})", op.to_ascii_uppercase()))
        }
        other => Err(format!(
            "unknown operator `{other}` (expected =, <>, in, not in)"
        )),
    }
}

fn literal(value: &Json) -> Result<String, String> {
    match value {
        Json::String(s) => Ok(quote_literal(s)),
        Json::Number(n) => Ok(n.to_string()),
        Json::Bool(b) => Ok(if *b { "TRUE" } else { "FALSE" }.to_owned()),
        other => Err(format!("value {other} is not a string, number or boolean")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn injection_stays_one_literal() {
        let sql = predicate("region", "=", &json!("eu' OR '1'='1")).unwrap();
        assert_eq!(sql, r#""region" = 'eu'' OR ''1''=''1'"#);
    }

    #[test]
    fn lists_numbers_and_booleans() {
        assert_eq!(
            predicate("tier", "in", &json!(["a", "b'c"])).unwrap(),
            r#""tier" IN ('a', 'b''c')"#
        );
        assert_eq!(
            predicate("n", "not in", &json!([1, 2.5])).unwrap(),
            r#""n" NOT IN (1, 2.5)"#
        );
        assert_eq!(
            predicate("flag", "!=", &json!(true)).unwrap(),
            r#""flag" <> TRUE"#
        );
        assert_eq!(predicate("x", "in", &json!([])).unwrap(), "FALSE");
    }

    #[test]
    fn malformed_filters_are_errors() {
        assert!(predicate("x", "like", &json!("a%")).is_err());
        assert!(predicate("x", "=", &json!(null)).is_err());
        assert!(predicate("x", "=", &json!({"a": 1})).is_err());
        assert!(predicate("x", "in", &json!("a")).is_err());
        assert!(predicate("x", "in", &json!([["a"]])).is_err());
    }
}
