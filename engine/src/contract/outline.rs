//! The outline of plain block-style YAML, read line by line without a YAML parser.
//!
//! Placing a contract's findings needs the line of a few keys and sequence items. Most
//! contracts are written in the plainest block style: one `key: value` or `- item` per
//! line, one-line `{…}`/`[…]` values, `|` text. For those, the keys and items are found
//! from indentation alone, about ten times faster than with the parser's event stream.
//!
//! Anything else (multi-line plain or quoted scalars, a node on the line after its `-`,
//! anchors, aliases, tags, explicit keys, tabs, CR line breaks, directives) is
//! [`Unsupported`]: the caller then reads the document with the parser. A one-line flow
//! collection is one value, its insides are not outlined: a lookup of a path inside it
//! falls back to the collection's own line, which is the same line.
//!
//! The outline is exact for a document the YAML parser accepts; for one it rejects, it may
//! place keys the parser would not reach (contracts that do not parse have no findings to
//! place).

/// A node of the outline, in document order, with its 1-based line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Node<'a> {
    /// A block mapping starts (the line of its first key).
    Mapping(u32),
    /// A block sequence starts (the line of its first `-`).
    Sequence(u32),
    /// The innermost open mapping or sequence ends.
    End,
    /// A mapping's key.
    Key(&'a str, u32),
    /// A value that opens no block: a scalar, a one-line flow collection, a null.
    Value(u32),
}

/// The document is not in the subset [`outline`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unsupported;

/// An open block collection and the column of its keys or dashes.
#[derive(Clone, Copy)]
struct Block {
    indent: usize,
    mapping: bool,
}

/// What the previous line left open.
#[derive(Clone, Copy)]
enum Open {
    Nothing,
    /// A key with no value on its line, in the mapping at this column: its value is the
    /// block below (or null).
    Key(usize),
    /// A `|` or `>` scalar under the mapping at this column: lines more indented are its text.
    Text(usize),
}

/// Feeds the outline of the first document of `text` to `sink`, which returns `false`
/// to stop early.
///
/// # Errors
/// [`Unsupported`] at the first construct outside the subset; the nodes fed so far are
/// then not the whole document, and the caller starts over with the parser.
pub(crate) fn outline<'a>(
    text: &'a str,
    sink: &mut impl FnMut(Node<'a>) -> bool,
) -> Result<(), Unsupported> {
    if text.starts_with('\u{feff}') || memchr::memchr2(b'\t', b'\r', text.as_bytes()).is_some() {
        return Err(Unsupported);
    }
    let mut reader = Reader {
        blocks: Vec::new(),
        open: Open::Nothing,
        started: false,
        number: 0,
        sink,
    };
    for (i, line) in text.split('\n').enumerate() {
        reader.number = u32::try_from(i + 1).map_err(|_| Unsupported)?;
        let indent = line.bytes().take_while(|&b| b == b' ').count();
        let content = &line[indent..];
        if let Open::Text(parent) = reader.open {
            if content.is_empty() || indent > parent {
                continue;
            }
            reader.open = Open::Nothing;
        }
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if indent == 0 && (marker(content, "---") || marker(content, "...")) {
            if reader.started {
                break;
            }
            if content.starts_with("---") {
                continue;
            }
            return Err(Unsupported);
        }
        if !reader.line(content, indent)? {
            return Ok(());
        }
    }
    if let Open::Key(_) = reader.open {
        (reader.sink)(Node::Value(0));
    }
    for _ in reader.blocks.drain(..) {
        (reader.sink)(Node::End);
    }
    Ok(())
}

/// `content` is the document marker `marker`, alone or before a comment.
fn marker(content: &str, marker: &str) -> bool {
    content
        .strip_prefix(marker)
        .is_some_and(|rest| rest.trim_start_matches(' ').is_empty() || rest.starts_with(" #"))
}

/// Reading the lines: the open blocks, what the previous line left open, and where the
/// nodes go.
struct Reader<'s, S> {
    blocks: Vec<Block>,
    open: Open,
    /// The root node has started.
    started: bool,
    /// The 1-based number of the line being read.
    number: u32,
    sink: &'s mut S,
}

impl<'a, S: FnMut(Node<'a>) -> bool> Reader<'_, S> {
    /// Feeds `node` on the current line's number; `false`: the sink stopped.
    fn feed(&mut self, node: impl FnOnce(u32) -> Node<'a>) -> bool {
        (self.sink)(node(self.number))
    }

    /// One line holding something, `indent` columns in. `Ok(false)`: the sink stopped.
    fn line(&mut self, content: &'a str, indent: usize) -> Result<bool, Unsupported> {
        let item = is_item(content);
        if let Open::Key(parent) = self.open {
            self.open = Open::Nothing;
            // The key's value is the block that starts here, or else null.
            if indent > parent || (indent == parent && item) {
                return self.start(content, indent, item);
            }
            if !self.feed(Node::Value) {
                return Ok(false);
            }
        }
        while let Some(block) = self.blocks.last() {
            let closes =
                block.indent > indent || (!block.mapping && block.indent == indent && !item);
            if !closes {
                break;
            }
            self.blocks.pop();
            if !self.feed(|_| Node::End) {
                return Ok(false);
            }
        }
        match self.blocks.last() {
            None if !self.started => self.start(content, indent, item),
            Some(block) if block.indent == indent => {
                if block.mapping {
                    self.entry(content, indent)
                } else if item {
                    self.item(content, indent)
                } else {
                    Err(Unsupported)
                }
            }
            // A line more indented than its block with nothing open: a plain scalar's
            // next line; or a second root node.
            _ => Err(Unsupported),
        }
    }

    /// A block collection starts at `indent` with this line: a sequence if the line is an
    /// item, a mapping if it is a key.
    fn start(&mut self, content: &'a str, indent: usize, item: bool) -> Result<bool, Unsupported> {
        self.started = true;
        self.blocks.push(Block {
            indent,
            mapping: !item,
        });
        if item {
            if !self.feed(Node::Sequence) {
                return Ok(false);
            }
            self.item(content, indent)
        } else {
            // Checked before the node is fed: a line that is no key opens nothing.
            key(content)?;
            if !self.feed(Node::Mapping) {
                return Ok(false);
            }
            self.entry(content, indent)
        }
    }

    /// A sequence item, `- …`, whose dash is at `indent`.
    fn item(&mut self, content: &'a str, indent: usize) -> Result<bool, Unsupported> {
        let after = &content[1..];
        let spaces = after.bytes().take_while(|&b| b == b' ').count();
        let node = &after[spaces..];
        let column = indent + 1 + spaces;
        if node.is_empty() || node.starts_with('#') || node.starts_with(['|', '>']) {
            // The item's node starts on a later line (or is null), or is text on the
            // lines below: left to the parser.
            return Err(Unsupported);
        }
        if is_item(node) || key(node).is_ok() {
            self.start(node, column, is_item(node))
        } else {
            value(node)?;
            Ok(self.feed(Node::Value))
        }
    }

    /// A mapping entry, `key: …`, whose key is at `indent`.
    fn entry(&mut self, content: &'a str, indent: usize) -> Result<bool, Unsupported> {
        let (name, rest) = key(content)?;
        if !self.feed(|line| Node::Key(name, line)) {
            return Ok(false);
        }
        let rest = rest.trim_start_matches(' ');
        if rest.is_empty() || rest.starts_with('#') {
            self.open = Open::Key(indent);
            return Ok(true);
        }
        if value(rest)? == Kind::Text {
            self.open = Open::Text(indent);
        }
        Ok(self.feed(Node::Value))
    }
}

/// The line is a block sequence item: a dash alone or before a space.
fn is_item(content: &str) -> bool {
    content == "-" || content.starts_with("- ")
}

/// A mapping key at the start of `content`: its text and what follows the `:`.
fn key(content: &str) -> Result<(&str, &str), Unsupported> {
    let (name, after) = match content.as_bytes().first() {
        Some(b'"') => quoted(content, b'"').map(|end| (&content[1..end - 1], &content[end..]))?,
        Some(b'\'') => quoted(content, b'\'').map(|end| (&content[1..end - 1], &content[end..]))?,
        Some(first) if b"-?:,[]{}#&*!|>%@`".contains(first) => return Err(Unsupported),
        Some(_) => {
            let colon = separator(content).ok_or(Unsupported)?;
            let name = content[..colon].trim_end_matches(' ');
            if name.contains(" #") {
                return Err(Unsupported);
            }
            (name, &content[colon..])
        }
        None => return Err(Unsupported),
    };
    // A quoted key's text is used as written: one with an escape is left to the parser.
    if content.starts_with(['"', '\'']) && (name.contains('\\') || name.contains('\'')) {
        return Err(Unsupported);
    }
    let after = after.trim_start_matches(' ');
    let rest = after.strip_prefix(':').ok_or(Unsupported)?;
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return Err(Unsupported);
    }
    Ok((name, rest))
}

/// The first `:` that ends a plain key: followed by a space or the end of the line.
fn separator(content: &str) -> Option<usize> {
    let bytes = content.as_bytes();
    bytes
        .iter()
        .enumerate()
        .position(|(i, &b)| b == b':' && matches!(bytes.get(i + 1), None | Some(b' ')))
}

/// The end (one past the closing quote) of the quoted scalar that starts `content`, on
/// this line.
fn quoted(content: &str, quote: u8) -> Result<usize, Unsupported> {
    let bytes = content.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(Unsupported)
}

/// What a value on a key's or an item's line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Complete on its line.
    Inline,
    /// A `|` or `>` scalar: its text is on the lines below.
    Text,
}

/// Checks that a value is complete on its line (or is the header of a `|`/`>` scalar).
fn value(node: &str) -> Result<Kind, Unsupported> {
    let end = match node.as_bytes()[0] {
        b'"' | b'\'' => quoted(node, node.as_bytes()[0])?,
        b'[' | b'{' => flow_end(node)?,
        b'|' | b'>' => {
            // Chomping only: an explicit indentation is left to the parser.
            let header = node[1..].trim_start_matches(['-', '+']);
            return if header.trim_start_matches(' ').is_empty() || header.starts_with(" #") {
                Ok(Kind::Text)
            } else {
                Err(Unsupported)
            };
        }
        b'&' | b'*' | b'!' | b'?' | b':' | b',' | b']' | b'}' | b'%' | b'@' | b'`' | b'#' => {
            return Err(Unsupported);
        }
        _ => {
            // A plain scalar, up to a comment: no `: ` in it (that would be a key), no
            // dash-space start (a sequence cannot be a key's value on its line).
            let plain = node
                .split(" #")
                .next()
                .unwrap_or(node)
                .trim_end_matches(' ');
            return if is_item(node) || plain.ends_with(':') || plain.contains(": ") {
                Err(Unsupported)
            } else {
                Ok(Kind::Inline)
            };
        }
    };
    let rest = node[end..].trim_start_matches(' ');
    if rest.is_empty() || rest.starts_with('#') {
        Ok(Kind::Inline)
    } else {
        Err(Unsupported)
    }
}

/// The end of a flow collection that starts `node` and closes on this line.
fn flow_end(node: &str) -> Result<usize, Unsupported> {
    let bytes = node.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.checked_sub(1).ok_or(Unsupported)?;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            quote @ (b'"' | b'\'')
                if i > 0 && matches!(bytes[i - 1], b'[' | b'{' | b',' | b' ' | b':') =>
            {
                i += quoted(&node[i..], quote)?;
                continue;
            }
            b'#' if bytes[i - 1] == b' ' => return Err(Unsupported),
            b'&' | b'*' | b'!' => return Err(Unsupported),
            _ => {}
        }
        i += 1;
    }
    Err(Unsupported)
}
