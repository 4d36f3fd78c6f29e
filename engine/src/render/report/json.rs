//! `json`: the report model as a stable, versioned, pretty-printed document.
//!
//! `{"version":1, "revision", "summary":{…}, "domains":[…], "products":[…], "findings":[…]}`;
//! fields are those of [`Report`] (its rule metadata is not part of the document).

use std::io::{self, Write};

use crate::report::Report;

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
