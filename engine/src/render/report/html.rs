//! `html`: a self-contained audit report, for a governance lead to read on screen or on paper.
//!
//! One HTML5 document with its CSS inline: no script, no font, no image, nothing fetched from
//! the network. In order: the summary (score and figures), the compliance of each domain (a
//! table of its products), the findings per rule (with the rule's description and
//! remediation), the waivers that have expired or expire within [`EXPIRING_DAYS`] days, and
//! every finding with its file and line; the header names the policy revision and the time of
//! the run ([`Options::generated_at`](super::Options::generated_at)).
//!
//! Every piece of text that comes from a contract, a waiver or a policy goes through
//! [`escape`], so a message such as `<script>` is shown as text, never parsed as markup. The
//! escaping is a small tested function rather than a template engine: the document is written
//! straight to the writer, and five characters are all HTML text and attribute values need.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};

use super::findings_count;
use super::group::{Grouped, group};
use crate::render::Options;
use crate::render::text::count;
use crate::report::{Finding, Severity};
use crate::report::{Report, WaiverStatus};

/// Waivers that expire within this many days (or have expired) are listed.
pub(super) const EXPIRING_DAYS: i64 = 30;

/// The style sheet: readable on screen, sober on paper (no backgrounds needed, tables not split
/// mid-row, headings kept with what follows). Colours meet WCAG AA contrast on white.
const STYLE: &str = r"
:root { --fg: #1b1f24; --muted: #4a525c; --line: #d0d7de; --head: #f3f5f7;
  --error: #a4161a; --error-bg: #fde8e8; --warning: #6b4a00; --warning-bg: #fff4d6;
  --ok: #1a6334; --ok-bg: #e3f5e8; --accent: #0b4f8a; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 72rem; padding: 1.5rem 2rem 3rem; color: var(--fg);
  background: #fff; font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif; }
header { border-bottom: 3px solid var(--accent); margin-bottom: 1.5rem; padding-bottom: .75rem; }
h1 { font-size: 1.75rem; margin: 0 0 .25rem; }
h2 { font-size: 1.35rem; margin: 2.25rem 0 .75rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
h3 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
.meta { color: var(--muted); margin: 0; }
code { font: .9em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', monospace; overflow-wrap: break-word; }
.figures { display: flex; flex-wrap: wrap; gap: .75rem; margin: 0; }
.figure { flex: 1 1 7rem; border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; margin: 0; }
.figure dt { color: var(--muted); font-size: .85rem; text-transform: uppercase; letter-spacing: .04em; }
.figure dd { margin: 0; font-size: 2rem; font-weight: 700; line-height: 1.2; font-variant-numeric: tabular-nums; }
.figure.score { flex: 2 1 11rem; }
.figure.score dd { font-size: 2.75rem; color: var(--accent); }
.figure.bad dd { color: var(--error); }
.figure.warn dd { color: var(--warning); }
.verdict { font-size: 1.05rem; margin: .75rem 0 0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .92rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; color: var(--muted); }
th, td { border: 1px solid var(--line); padding: .35rem .55rem; text-align: left; vertical-align: top; }
thead th { background: var(--head); }
th[scope=row] { font-weight: 600; }
td time { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.msg, .prose { white-space: pre-line; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 3px; font-size: .82rem; font-weight: 700; white-space: nowrap; border: 1px solid currentColor; }
.badge.error { color: var(--error); background: var(--error-bg); }
.badge.warning { color: var(--warning); background: var(--warning-bg); }
.badge.ok { color: var(--ok); background: var(--ok-bg); }
.badge.waived { color: var(--muted); background: #fff; }
tr.waived td { color: var(--muted); }
.rule { border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; margin: .75rem 0; }
.rule h3 { margin: 0 0 .25rem; }
.rule dl { margin: .25rem 0 0; }
.rule dt { font-weight: 600; margin-top: .35rem; }
.rule dd { margin: 0; }
.none { color: var(--muted); font-style: italic; }
footer { margin-top: 3rem; color: var(--muted); font-size: .85rem; border-top: 1px solid var(--line); padding-top: .5rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  header { border-bottom-color: #000; }
  .figure, .rule { border-color: #888; }
  .badge { background: none !important; }
  thead { display: table-header-group; }
  tr, .figure, .rule { break-inside: avoid; page-break-inside: avoid; }
  h2, h3, caption { break-after: avoid; page-break-after: avoid; }
  #findings-per-rule, #all-findings { break-before: page; page-break-before: always; }
  a { color: inherit; text-decoration: none; }
}
";

pub(super) fn render(report: &Report, options: &Options, out: &mut dyn Write) -> io::Result<()> {
    let grouped = group(report);
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(out, "<html lang=\"en\">")?;
    writeln!(out, "<head>")?;
    writeln!(out, "<meta charset=\"utf-8\">")?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(
        out,
        "<meta name=\"generator\" content=\"Charter {}\">",
        escape(&options.tool_version)
    )?;
    writeln!(out, "<title>Charter compliance report</title>")?;
    writeln!(out, "<style>{STYLE}</style>")?;
    writeln!(out, "</head>")?;
    writeln!(out, "<body>")?;
    write_header(report, options, out)?;
    writeln!(out, "<main>")?;
    write_summary(report, out)?;
    write_domains(report, &grouped, out)?;
    write_rules(report, out)?;
    write_waivers(report, out)?;
    write_findings(&grouped, out)?;
    writeln!(out, "</main>")?;
    writeln!(
        out,
        "<footer>Generated by Charter {} · policy revision <code>{}</code></footer>",
        escape(&options.tool_version),
        escape(&report.revision)
    )?;
    writeln!(out, "</body>")?;
    writeln!(out, "</html>")
}

fn write_header(report: &Report, options: &Options, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<header>")?;
    writeln!(out, "<h1>Charter compliance report</h1>")?;
    write!(
        out,
        "<p class=\"meta\">Policy revision <code>{}</code>",
        escape(&report.revision)
    )?;
    if let Some(time) = &options.generated_at {
        write!(
            out,
            " · run at <time datetime=\"{0}\">{0}</time>",
            escape(time)
        )?;
    }
    writeln!(out, " · Charter {}</p>", escape(&options.tool_version))?;
    writeln!(out, "</header>")
}

fn write_summary(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    writeln!(out, "<section aria-labelledby=\"summary\">")?;
    writeln!(out, "<h2 id=\"summary\">Summary</h2>")?;
    writeln!(out, "<dl class=\"figures\">")?;
    let figure = |out: &mut dyn Write, class: &str, label: &str, value: &str| {
        writeln!(
            out,
            "<div class=\"figure{}{class}\"><dt>{label}</dt><dd>{value}</dd></div>",
            if class.is_empty() { "" } else { " " }
        )
    };
    figure(out, "score", "Score", &format!("{:.1}%", s.score))?;
    figure(out, "", "Products", &s.products.to_string())?;
    figure(out, "", "Compliant", &s.compliant.to_string())?;
    figure(
        out,
        if s.errors > 0 { "bad" } else { "" },
        "Errors",
        &s.errors.to_string(),
    )?;
    figure(
        out,
        if s.warnings > 0 { "warn" } else { "" },
        "Warnings",
        &s.warnings.to_string(),
    )?;
    figure(out, "", "Waived", &s.waived.to_string())?;
    if s.unreadable > 0 {
        figure(out, "bad", "Unreadable", &s.unreadable.to_string())?;
    }
    writeln!(out, "</dl>")?;
    let verdict = if s.errors > 0 {
        ("error", "Not compliant")
    } else if s.warnings > 0 {
        ("warning", "Compliant, with warnings")
    } else {
        ("ok", "Compliant")
    };
    writeln!(
        out,
        "<p class=\"verdict\"><span class=\"badge {}\">{}</span> {} of {} compliant: {}{}.</p>",
        verdict.0,
        verdict.1,
        s.compliant,
        count(s.products, "product", "products"),
        findings_count(s.errors, s.warnings),
        if s.waived > 0 {
            format!(", {} waived", count(s.waived, "finding", "findings"))
        } else {
            String::new()
        }
    )?;
    writeln!(out, "</section>")
}

fn write_domains(report: &Report, grouped: &Grouped<'_>, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<section aria-labelledby=\"domains\">")?;
    writeln!(out, "<h2 id=\"domains\">Domains</h2>")?;
    if report.domains.is_empty() {
        writeln!(out, "<p class=\"none\">No products were read.</p>")?;
        return writeln!(out, "</section>");
    }
    writeln!(out, "<table class=\"overview\">")?;
    writeln!(out, "<caption>Compliance per domain</caption>")?;
    writeln!(
        out,
        "<thead><tr><th scope=\"col\">Domain</th><th scope=\"col\" class=\"num\">Products</th><th scope=\"col\" class=\"num\">Compliant</th><th scope=\"col\" class=\"num\">Errors</th><th scope=\"col\" class=\"num\">Warnings</th><th scope=\"col\" class=\"num\">Score</th></tr></thead>"
    )?;
    writeln!(out, "<tbody>")?;
    for d in &report.domains {
        writeln!(
            out,
            "<tr><th scope=\"row\"><a href=\"#{}\">{}</a></th><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}%</td></tr>",
            anchor("domain", &d.name),
            escape(&d.name),
            d.products,
            d.compliant,
            d.errors,
            d.warnings,
            d.score
        )?;
    }
    writeln!(out, "</tbody>")?;
    writeln!(out, "</table>")?;

    let compliant: BTreeMap<(&str, &str), bool> = report
        .products
        .iter()
        .map(|p| ((p.id.as_str(), p.file.as_str()), p.compliant))
        .collect();
    for domain in &grouped.domains {
        let summary = report.domains.iter().find(|d| d.name == domain.name);
        writeln!(
            out,
            "<section class=\"domain\" id=\"{}\" aria-labelledby=\"{0}-h\">",
            anchor("domain", domain.name)
        )?;
        writeln!(
            out,
            "<h3 id=\"{}-h\">{}</h3>",
            anchor("domain", domain.name),
            escape(domain.name)
        )?;
        writeln!(out, "<table class=\"products\">")?;
        match summary {
            Some(d) => writeln!(
                out,
                "<caption>{}: {} of {} compliant ({:.1}%)</caption>",
                escape(domain.name),
                d.compliant,
                count(d.products, "product", "products"),
                d.score
            )?,
            None => writeln!(out, "<caption>{}</caption>", escape(domain.name))?,
        }
        writeln!(
            out,
            "<thead><tr><th scope=\"col\">Product</th><th scope=\"col\">File</th><th scope=\"col\">Status</th><th scope=\"col\" class=\"num\">Errors</th><th scope=\"col\" class=\"num\">Warnings</th><th scope=\"col\" class=\"num\">Waived</th></tr></thead>"
        )?;
        writeln!(out, "<tbody>")?;
        for product in &domain.products {
            let tally = Tally::of(&product.findings);
            let ok = compliant
                .get(&(product.id, product.file))
                .copied()
                .unwrap_or(tally.errors == 0);
            let status = if ok {
                "<span class=\"badge ok\">compliant</span>"
            } else {
                "<span class=\"badge error\">not compliant</span>"
            };
            writeln!(
                out,
                "<tr><th scope=\"row\"><code>{}</code></th><td><code>{}</code></td><td>{status}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                breakable(product.id),
                breakable(product.file),
                tally.errors,
                tally.warnings,
                tally.waived
            )?;
        }
        writeln!(out, "</tbody>")?;
        writeln!(out, "</table>")?;
        writeln!(out, "</section>")?;
    }
    writeln!(out, "</section>")
}

/// Errors, warnings (both not waived) and waived findings.
#[derive(Debug, Default)]
struct Tally {
    errors: usize,
    warnings: usize,
    waived: usize,
}

impl Tally {
    fn of<'a>(findings: impl IntoIterator<Item = &'a &'a Finding>) -> Self {
        let mut tally = Self::default();
        for f in findings {
            tally.add(f);
        }
        tally
    }

    fn add(&mut self, f: &Finding) {
        match (f.counts(), f.severity) {
            (false, _) => self.waived += 1,
            (true, Severity::Error) => self.errors += 1,
            (true, Severity::Warning) => self.warnings += 1,
        }
    }
}

fn write_rules(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<section aria-labelledby=\"findings-per-rule\">")?;
    writeln!(out, "<h2 id=\"findings-per-rule\">Findings per rule</h2>")?;
    let mut rules: BTreeMap<&str, (Tally, Severity)> = BTreeMap::new();
    for f in &report.findings {
        let entry = rules
            .entry(f.rule.as_str())
            .or_insert_with(|| (Tally::default(), f.severity));
        entry.0.add(f);
        entry.1 = entry.1.max(f.severity);
    }
    if rules.is_empty() {
        writeln!(out, "<p class=\"none\">No findings.</p>")?;
        return writeln!(out, "</section>");
    }
    writeln!(out, "<table class=\"rules\">")?;
    writeln!(out, "<caption>Findings by rule</caption>")?;
    writeln!(
        out,
        "<thead><tr><th scope=\"col\">Rule</th><th scope=\"col\">Title</th><th scope=\"col\" class=\"num\">Errors</th><th scope=\"col\" class=\"num\">Warnings</th><th scope=\"col\" class=\"num\">Waived</th></tr></thead>"
    )?;
    writeln!(out, "<tbody>")?;
    for (id, (tally, _)) in &rules {
        let title = report
            .rules
            .get(*id)
            .and_then(|r| r.title.as_deref())
            .unwrap_or("");
        writeln!(
            out,
            "<tr><th scope=\"row\"><a href=\"#{}\"><code>{}</code></a></th><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            anchor("rule", id),
            breakable(id),
            escape(title),
            tally.errors,
            tally.warnings,
            tally.waived
        )?;
    }
    writeln!(out, "</tbody>")?;
    writeln!(out, "</table>")?;
    for (id, (tally, worst)) in &rules {
        let info = report.rules.get(*id);
        let severity = info.and_then(|r| r.severity).unwrap_or(*worst);
        writeln!(
            out,
            "<article class=\"rule\" id=\"{}\" aria-labelledby=\"{0}-h\">",
            anchor("rule", id)
        )?;
        write!(
            out,
            "<h3 id=\"{}-h\"><code>{}</code>",
            anchor("rule", id),
            escape(id)
        )?;
        if let Some(title) = info.and_then(|r| r.title.as_deref()) {
            write!(out, ": {}", escape(title))?;
        }
        writeln!(out, "</h3>")?;
        let total = tally.errors + tally.warnings + tally.waived;
        write!(
            out,
            "<p><span class=\"badge {severity}\">{severity}</span> {}",
            count(total, "finding", "findings"),
            severity = severity.as_str()
        )?;
        if tally.waived > 0 {
            write!(out, " ({} waived)", tally.waived)?;
        }
        writeln!(out, "</p>")?;
        let description = info.and_then(|r| r.description.as_deref());
        let remediation = info.and_then(|r| r.remediation.as_deref());
        if description.is_some() || remediation.is_some() {
            writeln!(out, "<dl>")?;
            if let Some(text) = description {
                writeln!(
                    out,
                    "<dt>What it checks</dt><dd class=\"prose\">{}</dd>",
                    escape(text.trim())
                )?;
            }
            if let Some(text) = remediation {
                writeln!(
                    out,
                    "<dt>How to fix</dt><dd class=\"prose\">{}</dd>",
                    escape(text.trim())
                )?;
            }
            writeln!(out, "</dl>")?;
        }
        writeln!(out, "</article>")?;
    }
    writeln!(out, "</section>")
}

fn write_waivers(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<section aria-labelledby=\"waivers\">")?;
    writeln!(
        out,
        "<h2 id=\"waivers\">Waivers expiring within {EXPIRING_DAYS} days</h2>"
    )?;
    let mut expiring: Vec<&WaiverStatus> = report
        .waivers
        .iter()
        .filter(|w| w.days_left <= EXPIRING_DAYS)
        .collect();
    expiring.sort_by(|a, b| {
        (a.days_left, &a.rule, &a.product).cmp(&(b.days_left, &b.rule, &b.product))
    });
    if expiring.is_empty() {
        let text = if report.waivers.is_empty() {
            "No waivers.".to_owned()
        } else {
            format!(
                "None of the {} expires within {EXPIRING_DAYS} days.",
                count(report.waivers.len(), "waiver", "waivers")
            )
        };
        writeln!(out, "<p class=\"none\">{text}</p>")?;
        return writeln!(out, "</section>");
    }
    writeln!(out, "<table class=\"waivers\">")?;
    writeln!(
        out,
        "<caption>{} of {} expired or expiring soon</caption>",
        expiring.len(),
        count(report.waivers.len(), "waiver", "waivers")
    )?;
    writeln!(
        out,
        "<thead><tr><th scope=\"col\">Rule</th><th scope=\"col\">Products</th><th scope=\"col\">Expires</th><th scope=\"col\">Status</th><th scope=\"col\">Approved by</th><th scope=\"col\">Reason</th><th scope=\"col\" class=\"num\">Findings covered</th><th scope=\"col\">Entry</th></tr></thead>"
    )?;
    writeln!(out, "<tbody>")?;
    for w in expiring {
        let status = match w.days_left {
            d if d < 0 => format!(
                "<span class=\"badge error\">expired</span> {} ago",
                count(usize::try_from(-d).unwrap_or(usize::MAX), "day", "days")
            ),
            0 => "<span class=\"badge warning\">expires today</span>".to_owned(),
            d => format!(
                "<span class=\"badge warning\">expiring</span> in {}",
                count(usize::try_from(d).unwrap_or(usize::MAX), "day", "days")
            ),
        };
        writeln!(
            out,
            "<tr><th scope=\"row\"><code>{}</code></th><td><code>{}</code></td><td><time datetime=\"{expires}\">{expires}</time></td><td>{status}</td><td>{}</td><td class=\"msg\">{}</td><td class=\"num\">{}</td><td><code>{}:{}</code></td></tr>",
            breakable(&w.rule),
            breakable(&w.product),
            escape(&w.approved_by),
            escape(&w.reason),
            w.matched,
            escape(&w.file),
            w.line,
            expires = escape(&w.expires)
        )?;
    }
    writeln!(out, "</tbody>")?;
    writeln!(out, "</table>")?;
    writeln!(out, "</section>")
}

fn write_findings(grouped: &Grouped<'_>, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<section aria-labelledby=\"all-findings\">")?;
    writeln!(out, "<h2 id=\"all-findings\">All findings</h2>")?;
    let mut any = false;
    for domain in grouped.domains.iter().filter(|d| d.has_findings()) {
        any = true;
        let findings: Vec<&Finding> = domain
            .products
            .iter()
            .flat_map(|p| p.findings.iter().copied())
            .collect();
        write_finding_table(
            out,
            &format!("Domain {}", escape(domain.name)),
            &findings,
            true,
        )?;
    }
    if !grouped.unreadable.is_empty() {
        any = true;
        let findings: Vec<&Finding> = grouped
            .unreadable
            .iter()
            .flat_map(|g| g.findings.iter().copied())
            .collect();
        write_finding_table(out, "Unreadable files", &findings, false)?;
    }
    if !any {
        writeln!(out, "<p class=\"none\">No findings.</p>")?;
    }
    writeln!(out, "</section>")
}

/// A table of findings; `caption` is already escaped.
fn write_finding_table(
    out: &mut dyn Write,
    caption: &str,
    findings: &[&Finding],
    with_product: bool,
) -> io::Result<()> {
    writeln!(out, "<table class=\"findings\">")?;
    writeln!(out, "<caption>{caption}</caption>")?;
    write!(out, "<thead><tr><th scope=\"col\">Severity</th>")?;
    if with_product {
        write!(out, "<th scope=\"col\">Product</th>")?;
    }
    writeln!(
        out,
        "<th scope=\"col\">Location</th><th scope=\"col\">Rule</th><th scope=\"col\">Message</th></tr></thead>"
    )?;
    writeln!(out, "<tbody>")?;
    for f in findings {
        let severity = f.severity.as_str();
        match &f.waiver {
            None => write!(
                out,
                "<tr><td><span class=\"badge {severity}\">{severity}</span></td>"
            )?,
            Some(_) => write!(
                out,
                "<tr class=\"waived\"><td><span class=\"badge waived\">{severity}, waived</span></td>"
            )?,
        }
        if with_product {
            write!(
                out,
                "<td><code>{}</code></td>",
                breakable(f.product.as_deref().unwrap_or(""))
            )?;
        }
        write!(
            out,
            "<td><code>{}:{}</code></td><td><a href=\"#{}\"><code>{}</code></a></td><td class=\"msg\">{}",
            breakable(&f.file),
            f.line,
            anchor("rule", &f.rule),
            breakable(&f.rule),
            escape(&f.message)
        )?;
        if let Some(w) = &f.waiver {
            write!(
                out,
                "\n<small>Waived until {} by {}: {}</small>",
                escape(&w.expires),
                escape(&w.approved_by),
                escape(&w.reason)
            )?;
        }
        writeln!(out, "</td></tr>")?;
    }
    writeln!(out, "</tbody>")?;
    writeln!(out, "</table>")
}

/// An `id` for a domain or rule: `prefix-` and the name with every character that is not an
/// ASCII letter, digit, `-` or `_` written as `.XX` (its UTF-8 bytes in hex), so two names never
/// share an id and the id needs no escaping.
fn anchor(prefix: &str, name: &str) -> String {
    let mut id = String::with_capacity(prefix.len() + 1 + name.len());
    id.push_str(prefix);
    id.push('-');
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            id.push(char::from(b));
        } else {
            id.push_str(&format!(".{b:02x}"));
        }
    }
    id
}

/// [`escape`]d text with a line-break opportunity (`<wbr>`) after every `/`, `.` and `_`, so
/// long paths and ids wrap at their separators rather than mid-word.
fn breakable(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut buf = [0; 4];
    for c in s.chars() {
        out.push_str(&escape(c.encode_utf8(&mut buf)));
        if matches!(c, '/' | '.' | '_') {
            out.push_str("<wbr>");
        }
    }
    out
}

/// Escapes text for HTML element content and quoted attribute values: `&`, `<`, `>`, `"` and
/// `'` become character references, and control characters other than tab and line breaks
/// (which HTML does not allow) are shown as `\u{…}`.
///
/// ```text
/// escape("<script>alert('x')</script> & \"more\"")
///   == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;"
/// ```
pub(super) fn escape(s: &str) -> Cow<'_, str> {
    let needs = |c: char| {
        matches!(c, '&' | '<' | '>' | '"' | '\'')
            || (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    };
    if !s.chars().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut escaped = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c if needs(c) => escaped.extend(c.escape_unicode()),
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::{anchor, breakable, escape};

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"more\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;"
        );
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }

    #[test]
    fn leaves_plain_text_borrowed() {
        assert!(matches!(
            escape("orders.checkout: field `email`\nnext line"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn shows_control_characters() {
        assert_eq!(escape("a\u{1b}[31mb\u{0}"), "a\\u{1b}[31mb\\u{0}");
        assert_eq!(escape("tab\tand\r\nbreaks"), "tab\tand\r\nbreaks");
    }

    #[test]
    fn breakable_escapes_and_breaks_at_separators() {
        assert_eq!(breakable("a/b.c_d"), "a/<wbr>b.<wbr>c_<wbr>d");
        assert_eq!(breakable("<x>/"), "&lt;x&gt;/<wbr>");
    }

    #[test]
    fn anchors_are_distinct_and_safe() {
        assert_eq!(
            anchor("rule", "pii/masking_required"),
            "rule-pii.2fmasking_required"
        );
        assert_ne!(anchor("domain", "a b"), anchor("domain", "a.20b"));
        assert_eq!(anchor("domain", "\"><x"), "domain-.22.3e.3cx");
    }
}
