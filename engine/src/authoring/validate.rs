//! `charter validate`: every check of a pack, into one [`Validation`].

use super::problem::{Check, Checked, Problem, Validation};
use super::{cedar_check, conventions, portability, rego_check, settings_shape};
use crate::error::PackError;
use crate::pack::PolicyPack;
use crate::report::Severity;

/// How to validate a pack.
#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    /// Package prefixes allowed besides Charter's namespaces (`--allow-package acme.lib`
    /// allows `acme.lib` and `acme.lib.*`).
    pub allow_packages: Vec<String>,
}

/// Validates a pack: its Rego parses, compiles and follows Charter's conventions and
/// means the same in regorus and OPA; its Cedar policies validate strictly against the
/// schema; its settings have the shape the default pack reads.
///
/// ```
/// use charter_engine::PolicyPack;
/// use charter_engine::authoring::{Check, ValidateOptions, validate};
///
/// let pack = PolicyPack::from_files([(
///     "rego/rules/x.rego",
///     "package charter.rules.x\n\ndeny_x := {\"a\"}\n",
/// )])?;
/// let validation = validate(&pack, &ValidateOptions::default());
/// assert_eq!(validation.problems[0].check, Check::RegoRuleShape);
/// assert_eq!(validation.problems[0].location(), "rego/rules/x.rego:3:1");
/// # Ok::<(), charter_engine::PackError>(())
/// ```
#[must_use]
pub fn validate(pack: &PolicyPack, options: &ValidateOptions) -> Validation {
    let (modules, mut problems) = rego_check::parse_all(pack);
    problems.extend(rego_check::compile(pack, &modules));
    let catalog = crate::rules::catalog(pack);
    problems.extend(conventions::check(
        &modules,
        &options.allow_packages,
        &catalog,
    ));
    problems.extend(portability::check(&modules));
    let rego_failed = has_error(&problems);
    if !rego_failed {
        problems.extend(rego_check::compile_contract_rules(pack));
    }

    let (settings, settings_files) = settings_shape::check(pack, &modules);
    let settings_failed = has_error(&settings);
    problems.extend(settings);

    let cedar = cedar_check::check(pack, rego_failed);
    problems.extend(
        cedar
            .problems
            .into_iter()
            .filter(|p| !(p.check == Check::Access && p.file == "data" && settings_failed)),
    );

    let checked = Checked {
        rego_modules: pack.rego().count(),
        cedar_files: pack.files_in("cedar", ".cedar").count(),
        cedar_policies: cedar.policies,
        settings_files,
    };
    Validation::new(pack.revision(), checked, problems)
}

/// The validation of a pack that cannot be loaded because a settings file is not a YAML
/// mapping: that file's problem, found before anything else could be checked. `None` for
/// the other load errors (an unreadable folder), which stop validation altogether.
#[must_use]
pub fn unloadable(error: &PackError) -> Option<Validation> {
    let PackError::Settings {
        path,
        line,
        message,
    } = error
    else {
        return None;
    };
    let line = u32::try_from(*line).unwrap_or(u32::MAX);
    let problem = Problem::error(Check::SettingsSyntax, path, message.clone()).at(line, None);
    Some(Validation::new(
        String::new(),
        Checked::default(),
        vec![problem],
    ))
}

fn has_error(problems: &[Problem]) -> bool {
    problems.iter().any(|p| p.severity == Severity::Error)
}
