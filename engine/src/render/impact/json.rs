//! `json`: the impact as a stable, versioned, pretty-printed document.
//!
//! `{"version":1, "old_revision", "new_revision", "before":{…}, "after":{…}, "totals":{…},
//! "rules":[…], "domains":[{"name", "before", "after", "totals", "changes":[{"kind", "rule",
//! "severity", "previous_severity"?, "message", "product", "file", "line", "waived"}]}]}`;
//! fields are those of [`Impact`]. `kind` is `added`, `removed` or `severity_changed`.

use std::io::{self, Write};

use crate::impact::Impact;

pub(super) fn render(impact: &Impact, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, impact)?;
    writeln!(out)
}
