//! Source lines of the normalized model's values.

use std::collections::BTreeMap;

use serde::Serialize;

/// Model path (`owner`, `fields[2].masking`, `sla.availability`) → 1-based line in the file.
///
/// A lookup falls back to the nearest ancestor that has a line (`fields[2].masking` →
/// `fields[2]` → `fields`), and finally to line 1, so every finding has a line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Locations {
    lines: BTreeMap<String, u32>,
}

impl Locations {
    /// Records the line of a model path (the first record of a path wins).
    pub fn set(&mut self, path: impl Into<String>, line: Option<u32>) {
        if let Some(line) = line {
            self.lines.entry(path.into()).or_insert(line);
        }
    }

    /// The line of `path` or its nearest ancestor; 1 when nothing is known.
    #[must_use]
    pub fn line(&self, path: &str) -> u32 {
        let mut current = path;
        loop {
            if let Some(line) = self.lines.get(current) {
                return *line;
            }
            match current.rfind(['.', '[']) {
                Some(cut) => current = &current[..cut],
                None => return self.lines.get("id").copied().unwrap_or(1),
            }
        }
    }

    /// Every recorded path and line.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u32)> {
        self.lines.iter().map(|(k, v)| (k.as_str(), *v))
    }
}
