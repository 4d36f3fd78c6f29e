//! The pack's Cedar policies, parsed and validated strictly against its schema by the
//! access engine ([`AccessPolicies::from_pack`]), its errors and warnings as problems.

use super::problem::{Check, Problem};
use crate::access::{AccessError, AccessPolicies};
use crate::pack::PolicyPack;

/// What Cedar validation found, and how many policies validated.
pub(crate) struct CedarCheck {
    pub problems: Vec<Problem>,
    pub policies: usize,
}

/// Validates the Cedar side of the pack, when it has one (`cedar/*.cedar`,
/// `cedar/*.cedarschema`); a Rego-only pack has nothing to validate.
///
/// `rego_failed`: the Rego modules already have errors, so a row-filter rule that does not
/// compile is not reported twice.
pub(crate) fn check(pack: &PolicyPack, rego_failed: bool) -> CedarCheck {
    let has_cedar = pack.files_in("cedar", ".cedar").next().is_some()
        || pack.files_in("cedar", ".cedarschema").next().is_some();
    if !has_cedar {
        return CedarCheck {
            problems: Vec::new(),
            policies: 0,
        };
    }
    match AccessPolicies::from_pack(pack) {
        Ok(policies) => CedarCheck {
            problems: policies.warnings().iter().map(|w| warning(w)).collect(),
            policies: policies.policies().len(),
        },
        Err(error) => CedarCheck {
            problems: problem(&error, rego_failed).into_iter().collect(),
            policies: 0,
        },
    }
}

fn problem(error: &AccessError, rego_failed: bool) -> Option<Problem> {
    Some(match error {
        AccessError::NoSchema => Problem::error(
            Check::CedarSchema,
            "cedar",
            "the Cedar policies have no schema to be validated against: add `cedar/<name>.cedarschema`",
        ),
        AccessError::Schema {
            file,
            line,
            message,
        } => Problem::error(Check::CedarSchema, file, message.clone()).at(*line, None),
        AccessError::Parse {
            file,
            line,
            message,
        } => Problem::error(Check::CedarParse, file, message.clone()).at(*line, None),
        AccessError::PolicyId {
            file,
            line,
            message,
        } => Problem::error(Check::CedarPolicyId, file, message.clone()).at(*line, None),
        AccessError::Validation {
            file,
            line,
            policy,
            message,
        } => {
            let message = message
                .strip_prefix(&format!("for policy `{policy}`, "))
                .unwrap_or(message);
            Problem::error(
                Check::CedarValidation,
                file,
                format!("policy `{policy}` does not validate against the schema: {message}"),
            )
            .at(*line, None)
        }
        AccessError::Entities(_) => Problem::error(Check::CedarSchema, "cedar", error.to_string()),
        AccessError::Settings { .. } => Problem::error(Check::Access, "data", error.to_string()),
        AccessError::RowFilters(_) if rego_failed => return None,
        AccessError::RowFilters(_) => Problem::error(Check::Access, "rego", error.to_string()),
    })
}

/// A validator warning, `file:line: policy `id`: message`, as a problem.
fn warning(text: &str) -> Problem {
    let mut parts = text.splitn(3, ':');
    let (file, line, rest) = (parts.next(), parts.next(), parts.next());
    match (file, line.and_then(|l| l.trim().parse::<u32>().ok()), rest) {
        (Some(file), Some(line), Some(rest)) => {
            Problem::warning(Check::CedarWarning, file, rest.trim()).at(line, None)
        }
        _ => Problem::warning(Check::CedarWarning, "cedar", text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_keep_their_location() {
        let p = warning("cedar/a.cedar:7: policy `x`: impossible policy");
        assert_eq!((p.file.as_str(), p.line), ("cedar/a.cedar", Some(7)));
        assert_eq!(p.message, "policy `x`: impossible policy");
    }
}
