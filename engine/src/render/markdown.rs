//! Markdown escaping, shared by every Markdown renderer (reports, impact, the rule catalogue):
//! text taken from contracts cannot break a table, open HTML or links, or end a code span
//! early; Markdown a policy author wrote keeps its formatting but stays in its table cell.

/// At most this many findings are listed: a GitHub comment holds at most 65,536 characters.
pub(super) const MAX_ROWS: usize = 250;

/// Text for a table cell: pipes escaped, line breaks as `<br>`, no HTML or links.
pub(super) fn cell(s: &str) -> String {
    let mut escaped = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '|' => escaped.push_str("\\|"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '[' => escaped.push_str("\\["),
            ']' => escaped.push_str("\\]"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' => escaped.push_str("<br>"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A code span around `s`, with a fence longer than any run of backticks in it; in a table,
/// pipes are escaped (GitHub unescapes them inside code spans of table cells).
pub(super) fn code(s: &str, in_table: bool) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let mut body: String = s
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    if in_table {
        body = body.replace('|', "\\|");
    }
    let pad = if longest > 0 || body.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// A table cell of Markdown a policy author wrote (a rule's title): kept as Markdown, pipes
/// escaped so it stays in its cell. Text taken from contracts goes through [`cell`].
pub(super) fn author_cell(s: &str) -> String {
    s.replace('|', "\\|")
}
