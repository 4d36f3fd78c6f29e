//! regorus' error messages taken apart into file, line, column and message.
//!
//! regorus formats a located error as
//!
//! ```text
//!
//! --> rego/rules/pii.rego:12:9
//!    |
//! 12 |     x := input.fields[
//!    |         ^
//! error: expecting expression
//! ```
//!
//! which is good on a terminal and unusable in a list of problems or a JSON document.

/// A located message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Diagnostic {
    /// The file, relative to the pack.
    pub file: String,
    /// 1-based line, when the message names one.
    pub line: Option<u32>,
    /// 1-based column, when the message names one.
    pub column: Option<u32>,
    /// The message alone.
    pub message: String,
}

impl Diagnostic {
    /// A message about a whole file.
    pub fn at_file(file: &str, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// Reads the location and message out of a regorus error; `file` when it names none.
    pub fn from_regorus(error: &str, file: &str) -> Self {
        let mut diagnostic = Self::at_file(file, error.trim());
        if let Some(arrow) = error.find("--> ") {
            let rest = &error[arrow + 4..];
            let location = rest.lines().next().unwrap_or_default().trim();
            let mut parts = location.rsplitn(3, ':');
            let column = parts.next().and_then(|c| c.parse::<u32>().ok());
            let line = parts.next().and_then(|l| l.parse::<u32>().ok());
            if let (Some(column), Some(line), Some(path)) = (column, line, parts.next()) {
                diagnostic.file = path.to_owned();
                diagnostic.line = Some(line);
                diagnostic.column = Some(column);
            }
            let message = match rest.rfind("\nerror: ") {
                Some(at) => &rest[at + "\nerror: ".len()..],
                None => rest.lines().last().unwrap_or_default(),
            };
            message.trim().clone_into(&mut diagnostic.message);
        }
        diagnostic
    }

    /// `file:line:col: message` (as much of the location as is known).
    pub fn located(&self) -> String {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                format!("{}:{line}:{column}: {}", self.file, self.message)
            }
            (Some(line), None) => format!("{}:{line}: {}", self.file, self.message),
            _ => format!("{}: {}", self.file, self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_located_errors() {
        let error = "\n--> rego/a.rego:4:1\n  |\n4 | \n  | ^\nerror: expecting expression";
        let d = Diagnostic::from_regorus(error, "fallback.rego");
        assert_eq!(d.file, "rego/a.rego");
        assert_eq!((d.line, d.column), (Some(4), Some(1)));
        assert_eq!(d.message, "expecting expression");
        assert_eq!(d.located(), "rego/a.rego:4:1: expecting expression");
    }

    #[test]
    fn keeps_unlocated_errors_whole() {
        let d = Diagnostic::from_regorus("rule conflict", "rego/b.rego");
        assert_eq!(d.file, "rego/b.rego");
        assert_eq!(d.line, None);
        assert_eq!(d.message, "rule conflict");
    }

    #[test]
    fn paths_with_colons_keep_them() {
        let d = Diagnostic::from_regorus("\n--> C:/x/a.rego:2:3\n |\nerror: bad", "f");
        assert_eq!(d.file, "C:/x/a.rego");
        assert_eq!((d.line, d.column), (Some(2), Some(3)));
    }
}
