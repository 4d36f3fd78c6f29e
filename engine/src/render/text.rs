//! What every terminal renderer shares: plurals and the control-character escaper.

use std::borrow::Cow;

/// `3 errors`, `1 warning`.
pub(super) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Escapes control characters other than tab (`\u{1b}`), so that text taken from a contract
/// or a policy file cannot move the cursor or change colours. Messages are split into
/// lines before. The one escaper of every terminal renderer (reports, impact, authoring).
pub(super) fn clean(s: &str) -> Cow<'_, str> {
    let escape = |c: char| c.is_control() && c != '\t';
    if !s.chars().any(escape) {
        return Cow::Borrowed(s);
    }
    let mut escaped = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if escape(c) {
            escaped.extend(c.escape_unicode());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}
