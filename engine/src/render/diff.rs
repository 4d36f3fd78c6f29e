//! The comparison of two versions of a contract (`charter diff`): as text, the changes
//! grouped by class (breaking, governance-breaking, compatible), the versioning findings
//! and the counts, coloured when asked; as JSON, the [`DiffDocument`] as it is.

use std::io::{self, Write};

use owo_colors::{OwoColorize, Style};

use super::text::clean;
use super::{Format, Options, Render, json, unsupported};
use crate::diff::{ChangeClass, DiffDocument, LocatedChange, Side};

impl Render for DiffDocument {
    const DOCUMENT: &'static str = "a contract diff";
    const FORMATS: &'static [Format] = &[Format::Text, Format::Json];

    fn write(&self, format: Format, options: &Options, out: &mut dyn Write) -> io::Result<()> {
        match format {
            Format::Text => text(self, options.color, out),
            Format::Json => json(self, out),
            other => Err(unsupported::<Self>(other)),
        }
    }
}

fn text(doc: &DiffDocument, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let paint = |s: &str, style: Style| {
        if color {
            s.style(style).to_string()
        } else {
            s.to_owned()
        }
    };
    let (o, n) = (&doc.old, &doc.new);
    writeln!(
        out,
        "{} ({} {}) → {} ({} {})",
        clean(&o.file),
        clean(&o.id),
        clean(&o.version),
        clean(&n.file),
        clean(&n.id),
        clean(&n.version)
    )?;
    if doc.changes.is_empty() {
        writeln!(out, "\nno changes")?;
    }
    let groups = [
        (ChangeClass::Breaking, "breaking", Style::new().red().bold()),
        (
            ChangeClass::Governance,
            "governance-breaking",
            Style::new().magenta().bold(),
        ),
        (
            ChangeClass::Compatible,
            "compatible",
            Style::new().green().bold(),
        ),
    ];
    for (class, title, style) in groups {
        let group: Vec<&LocatedChange> = doc
            .changes
            .iter()
            .filter(|c| c.change.class == class)
            .collect();
        if group.is_empty() {
            continue;
        }
        writeln!(out, "\n{} ({})", paint(title, style), group.len())?;
        let width = group
            .iter()
            .map(|c| c.change.kind.as_str().len())
            .max()
            .unwrap_or(0);
        for c in group {
            let file = match c.change.side {
                Side::Old => &o.file,
                Side::New => &n.file,
            };
            writeln!(
                out,
                "  {:<width$}  {}  {}:{}",
                c.change.kind.as_str(),
                clean(&c.change.message),
                paint(&clean(file), Style::new().dimmed()),
                c.line,
            )?;
        }
    }
    if !doc.findings.is_empty() {
        writeln!(out, "\n{}", paint("versioning", Style::new().bold()))?;
        for f in &doc.findings {
            writeln!(
                out,
                "  {}:{}: {} {}: {}",
                clean(&f.file),
                f.line,
                paint(f.severity.as_str(), Style::new().red().bold()),
                clean(&f.rule),
                clean(&f.message)
            )?;
        }
    }
    let s = &doc.summary;
    writeln!(
        out,
        "\n{} breaking, {} governance-breaking, {} compatible change(s)",
        s.breaking, s.governance, s.compatible
    )
}
