//! Waivers: governed, expiring exceptions to rules.
//!
//! A `waivers.yaml` at the repository root lists entries:
//!
//! ```yaml
//! waivers:
//!   - rule: pii/masking_required          # a rule id (globs allowed: `pii/*`)
//!     product: customer-engagement.*      # a product id glob
//!     reason: tokenized upstream; masking lands in Q3
//!     approved_by: governance@acme.example
//!     expires: 2027-03-31
//! ```
//!
//! A finding a live waiver matches is shown as waived: counted apart, never failing the
//! run. An expired waiver is an error (`waiver/expired`) and waives nothing; a waiver
//! that matches nothing is a warning (`waiver/unused`); an entry without reason, approver
//! or expiry, or one that expires further out than the settings allow
//! (`waivers.max_days`, 180 by default), is an error. All at the entry's line.

use globset::{Glob, GlobMatcher};
use jiff::civil::Date;
use serde::Deserialize;

use crate::contract::LineIndex;
use crate::report::{Finding, Report, Severity, Waived, WaiverStatus};

/// The longest a waiver may run, from the central settings (`waivers.max_days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaiverSettings {
    /// Days from today an expiry may be at most.
    pub max_days: i64,
    /// Days before expiry a waiver is reported as expiring soon.
    pub warn_days: i64,
}

impl Default for WaiverSettings {
    fn default() -> Self {
        Self {
            max_days: 180,
            warn_days: 30,
        }
    }
}

impl WaiverSettings {
    /// Reads `waivers.max_days` and `waivers.warn_days` from the settings, with defaults.
    #[must_use]
    pub fn from_settings(settings: &serde_json::Value) -> Self {
        let get = |key: &str, default: i64| {
            settings
                .pointer(&format!("/waivers/{key}"))
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(default)
        };
        let d = Self::default();
        Self {
            max_days: get("max_days", d.max_days),
            warn_days: get("warn_days", d.warn_days),
        }
    }
}

/// Rule ids of the waiver checks.
pub mod rules {
    /// The waivers file is not valid.
    pub const INVALID: &str = "waiver/invalid";
    /// An entry lacks reason, approver or expiry.
    pub const INCOMPLETE: &str = "waiver/incomplete";
    /// An entry expired.
    pub const EXPIRED: &str = "waiver/expired";
    /// An entry expires further out than allowed.
    pub const TOO_LONG: &str = "waiver/too_long";
    /// A live entry matches no finding.
    pub const UNUSED: &str = "waiver/unused";
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `waivers`, a list of waivers"
)]
struct File {
    #[serde(default)]
    waivers: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a waiver: `rule`, `product`, `reason`, `approved_by`, `expires`"
)]
struct Entry {
    rule: String,
    #[serde(default = "any_product")]
    product: String,
    reason: Option<String>,
    approved_by: Option<String>,
    expires: Option<yaml_serde::Value>,
}

fn any_product() -> String {
    "*".into()
}

/// Today's date in UTC, as `YYYY-MM-DD`.
#[must_use]
pub fn today() -> String {
    jiff::tz::TimeZone::UTC
        .to_datetime(jiff::Timestamp::now())
        .date()
        .to_string()
}

/// Reports a waivers file that was not read (`why`: not a regular file, a symlink out of
/// the repository, over the size limit, not UTF-8) as a `waiver/invalid` error at its
/// line 1: no waiver applies, and the run says why.
pub fn unreadable(report: &mut Report, file: &str, why: &str) {
    report.add_findings(vec![Finding {
        rule: rules::INVALID.to_owned(),
        severity: Severity::Error,
        message: format!("the waivers file was not read: {why}; no waiver applies"),
        product: None,
        domain: None,
        file: file.to_owned(),
        line: 1,
        waiver: None,
    }]);
}

/// Applies the waivers in `text` (the file `file`, as the report shows it) to `report`
/// on the date `today` (`YYYY-MM-DD`): marks waived findings, adds `waiver/*` findings
/// and the waiver statuses, and recomputes the figures.
pub fn apply(report: &mut Report, file: &str, text: &str, settings: &WaiverSettings, today: &str) {
    let mut problems = Problems {
        file,
        findings: Vec::new(),
    };
    let Some((today, parsed)) = parse(text, today, &mut problems) else {
        report.add_findings(problems.findings);
        return;
    };
    let index = LineIndex::build(text);
    let mut statuses = Vec::new();
    for (i, entry) in parsed.waivers.iter().enumerate() {
        let place = Place {
            index: &index,
            i,
            line: index.line(&format!("waivers[{i}]")).unwrap_or(1),
        };
        let Some(checked) = check_entry(entry, &place, today, settings, &mut problems) else {
            continue;
        };
        let mut status = checked.status;
        if let Some((rule, product)) = checked.live {
            status.matched = mark(report, &rule, &product, &status);
            if status.matched == 0 {
                problems.add(
                    rules::UNUSED,
                    Severity::Warning,
                    place.line,
                    format!("{} matches no finding; remove it", label(entry)),
                );
            }
        }
        statuses.push(status);
    }
    report.waivers = statuses;
    describe_rules(report);
    report.add_findings(problems.findings);
}

/// The `waiver/*` findings of one waivers file, as they are found.
struct Problems<'a> {
    file: &'a str,
    findings: Vec<Finding>,
}

impl Problems<'_> {
    fn add(&mut self, rule: &str, severity: Severity, line: u32, message: String) {
        self.findings.push(Finding {
            rule: rule.to_owned(),
            severity,
            message,
            product: None,
            domain: None,
            file: self.file.to_owned(),
            line,
            waiver: None,
        });
    }
}

/// Where entry `i` is in the file: its own line, and the line of one of its keys.
struct Place<'a> {
    index: &'a LineIndex,
    i: usize,
    line: u32,
}

impl Place<'_> {
    fn at(&self, key: &str) -> u32 {
        self.index
            .line(&format!("waivers[{}].{key}", self.i))
            .unwrap_or(self.line)
    }
}

/// An entry that passed its checks: its status, and its rule and product matchers when
/// it is live (neither expired nor too long).
struct Checked {
    status: WaiverStatus,
    live: Option<(GlobMatcher, GlobMatcher)>,
}

fn label(entry: &Entry) -> String {
    format!("waiver for `{}` on `{}`", entry.rule, entry.product)
}

/// Today's date and the file's entries, or `None` with the problem recorded.
fn parse(text: &str, today: &str, problems: &mut Problems<'_>) -> Option<(Date, File)> {
    let Ok(date) = today.parse::<Date>() else {
        problems.add(
            rules::INVALID,
            Severity::Error,
            1,
            format!("cannot tell today's date from `{today}`"),
        );
        return None;
    };
    match yaml_serde::from_str(text) {
        Ok(file) => Some((date, file)),
        Err(e) => {
            let e = crate::contract::yaml_error(&e, "not a valid waivers file");
            problems.add(rules::INVALID, Severity::Error, e.line, e.message);
            None
        }
    }
}

/// The keys an entry lacks of `reason`, `approved_by` and `expires`.
fn missing_keys(entry: &Entry) -> Vec<&'static str> {
    let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
    [
        ("reason", blank(&entry.reason)),
        ("approved_by", blank(&entry.approved_by)),
        ("expires", entry.expires.is_none()),
    ]
    .into_iter()
    .filter_map(|(key, absent)| absent.then_some(key))
    .collect()
}

/// The entry's expiry as written (a YAML date may come back as a string or a scalar).
fn expiry_text(entry: &Entry) -> String {
    match &entry.expires {
        Some(yaml_serde::Value::String(s)) => s.clone(),
        Some(other) => yaml_serde::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_owned(),
        None => String::new(),
    }
}

/// Checks one entry: complete, a date, valid globs (else `None`, the problem recorded);
/// expired or too long (a status that waives nothing); or live.
fn check_entry(
    entry: &Entry,
    place: &Place<'_>,
    today: Date,
    settings: &WaiverSettings,
    problems: &mut Problems<'_>,
) -> Option<Checked> {
    let label = label(entry);
    let missing = missing_keys(entry);
    if !missing.is_empty() {
        problems.add(
            rules::INCOMPLETE,
            Severity::Error,
            place.line,
            format!(
                "{label} has no {}; every waiver needs a reason, an approver and an expiry date",
                missing.join(", ")
            ),
        );
        return None;
    }
    let expires_text = expiry_text(entry);
    let Ok(expires) = expires_text.parse::<Date>() else {
        problems.add(
            rules::INVALID,
            Severity::Error,
            place.at("expires"),
            format!("{label}: expiry `{expires_text}` is not a date (expected `YYYY-MM-DD`)"),
        );
        return None;
    };
    let matchers = match (glob(&entry.rule), glob(&entry.product)) {
        (Ok(rule), Ok(product)) => (rule, product),
        (Err(e), _) | (_, Err(e)) => {
            problems.add(
                rules::INVALID,
                Severity::Error,
                place.line,
                format!("{label}: {e}"),
            );
            return None;
        }
    };
    let days_left = i64::from((expires - today).get_days());
    let status = WaiverStatus {
        rule: entry.rule.clone(),
        product: entry.product.clone(),
        reason: entry.reason.clone().unwrap_or_default(),
        approved_by: entry.approved_by.clone().unwrap_or_default(),
        expires: expires.to_string(),
        days_left,
        matched: 0,
        file: problems.file.to_owned(),
        line: place.line,
    };
    let refusal = if days_left < 0 {
        Some((
            rules::EXPIRED,
            format!(
                "{label} expired on {expires} ({} days ago); renew it with a new approval or fix the findings",
                -days_left
            ),
        ))
    } else if days_left > settings.max_days {
        Some((
            rules::TOO_LONG,
            format!(
                "{label} expires on {expires}, {days_left} days out; waivers may run at most {} days",
                settings.max_days
            ),
        ))
    } else {
        None
    };
    let live = match refusal {
        Some((rule, message)) => {
            problems.add(rule, Severity::Error, place.at("expires"), message);
            None
        }
        None => Some(matchers),
    };
    Some(Checked { status, live })
}

/// Marks the findings a live waiver matches (not already waived, not `waiver/*`) and
/// returns how many it matched.
fn mark(
    report: &mut Report,
    rule: &GlobMatcher,
    product: &GlobMatcher,
    status: &WaiverStatus,
) -> usize {
    let waived = Waived {
        reason: status.reason.clone(),
        approved_by: status.approved_by.clone(),
        expires: status.expires.clone(),
    };
    let mut matched = 0;
    for finding in &mut report.findings {
        let waivable = finding.waiver.is_none() && !finding.rule.starts_with("waiver/");
        if waivable
            && rule.is_match(&finding.rule)
            && finding
                .product
                .as_deref()
                .is_some_and(|p| product.is_match(p))
        {
            finding.waiver = Some(waived.clone());
            matched += 1;
        }
    }
    matched
}

/// Titles and remediations of the `waiver/*` rules, for SARIF and the HTML report.
fn describe_rules(report: &mut Report) {
    let described = [
        (
            rules::INVALID,
            Severity::Error,
            "Waivers file is not valid",
            "Fix the waivers file at the reported line: a `waivers` list of `{rule, product, reason, approved_by, expires}`.",
        ),
        (
            rules::INCOMPLETE,
            Severity::Error,
            "Waiver without reason, approver or expiry",
            "Every waiver needs a reason, the approver and an expiry date (`YYYY-MM-DD`).",
        ),
        (
            rules::EXPIRED,
            Severity::Error,
            "Waiver expired",
            "Fix the findings it covered, or renew the waiver with a new approval and expiry.",
        ),
        (
            rules::TOO_LONG,
            Severity::Error,
            "Waiver runs too long",
            "Set an expiry within the allowed window (`waivers.max_days`) and renew it when it runs out.",
        ),
        (
            rules::UNUSED,
            Severity::Warning,
            "Waiver matches no finding",
            "Remove the waiver: what it covered is fixed, or its rule or product glob is wrong.",
        ),
    ];
    for (id, severity, title, remediation) in described {
        report.rules.entry(id.to_owned()).or_insert_with(|| crate::report::RuleInfo {
            id: id.to_owned(),
            severity: Some(severity),
            title: Some(title.to_owned()),
            description: Some(format!("{title}. Waivers are governed exceptions: each names a rule, a product glob, a reason, an approver and an expiry.")),
            remediation: Some(remediation.to_owned()),
        });
    }
}

fn glob(pattern: &str) -> Result<GlobMatcher, String> {
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("invalid glob `{pattern}`: {e}"))
}
