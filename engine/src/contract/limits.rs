//! Limits on the shape of a contract's YAML, checked before anything is built from it.
//!
//! Contracts are written by many teams and arrive through pull requests: a file may be
//! built to exhaust the checker. The file size is checked before a file is read
//! ([`crate::mesh::read_limited`]) and again on the bytes handed to the reader; the rest
//! limits what a small file can still expand to: very long lines, deep nesting, and many
//! nodes — counted *after* alias expansion, so a "billion laughs" document is refused
//! after reading its few hundred bytes, in one pass over the parser's events, without
//! building anything.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, Span};

use super::read::ParseError;

/// Limits on one contract file's YAML. Each error names the limit and the flag that sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractLimits {
    /// The largest file, in bytes.
    pub max_file_size: u64,
    /// The longest line, in bytes.
    pub max_line_length: usize,
    /// The deepest nesting of mappings and sequences.
    pub max_depth: usize,
    /// The most YAML nodes (keys, values, items), counting every alias as the nodes it
    /// stands for.
    pub max_nodes: usize,
}

impl Default for ContractLimits {
    fn default() -> Self {
        Self {
            max_file_size: 1024 * 1024,
            max_line_length: 64 * 1024,
            max_depth: 64,
            max_nodes: 100_000,
        }
    }
}

/// An open mapping or sequence.
struct Open {
    /// Its anchor (0: none).
    anchor: usize,
    /// Nodes counted before it started.
    nodes_before: usize,
    /// Its depth (1 for the root collection).
    depth: usize,
    /// The deepest depth reached inside it so far.
    deepest: usize,
}

/// What an anchored node expands to wherever an alias repeats it.
#[derive(Clone, Copy)]
struct Anchored {
    nodes: usize,
    /// Levels of nesting inside it (0 for a scalar).
    height: usize,
}

impl ContractLimits {
    /// Checks a file's size (`len` bytes) against the limit.
    ///
    /// # Errors
    /// What to say of a file over the limit.
    pub fn check_size(&self, len: u64) -> Result<(), String> {
        if len > self.max_file_size {
            return Err(format!(
                "file is {len} bytes, over the limit of {} bytes for a contract (--max-file-size)",
                self.max_file_size
            ));
        }
        Ok(())
    }

    /// Checks `text` against the limits.
    ///
    /// A document that is not valid YAML passes: the reader reports the syntax error
    /// itself, with its own message.
    ///
    /// # Errors
    /// The first limit exceeded, at the line where it was exceeded.
    pub fn check(&self, text: &str) -> Result<(), ParseError> {
        if self.check_lines(text)? {
            return Ok(());
        }
        self.check_structure(text)
    }

    /// Checks every line's length, and tells whether a cheap scan of the same lines
    /// proves the text within the depth and node limits, so that the parser's pass can
    /// be skipped (most contracts: no aliases, modest nesting).
    ///
    /// Without aliases a node needs at least half a byte of text (`?,` in a flow sequence
    /// makes three), and nesting needs structure: in block style at most two levels per
    /// indentation column (a sequence may sit at its key's indentation) plus one per
    /// indicator on the line, in flow style one per bracket. Every bracket opened in the
    /// file is counted, closed or not, so the bound never falls short.
    fn check_lines(&self, text: &str) -> Result<bool, ParseError> {
        let mut within =
            !text.contains('*') && text.len().saturating_add(1).saturating_mul(2) <= self.max_nodes;
        let mut flow = 0usize;
        for (i, line) in super::lines::lines(text.as_bytes()).enumerate() {
            if line.len() > self.max_line_length {
                return Err(ParseError::new(
                    u32::try_from(i + 1).unwrap_or(u32::MAX),
                    format!(
                        "line is {} bytes long, over the limit of {} bytes (--max-line-length)",
                        line.len(),
                        self.max_line_length
                    ),
                ));
            }
            if within {
                let indent = line
                    .iter()
                    .take_while(|&&b| b == b' ' || b == b'\t')
                    .count();
                // Counted without branches, so that the loops vectorize.
                let indicators = count(line, |b| matches!(b, b'-' | b'?' | b':'));
                flow += count(line, |b| matches!(b, b'[' | b'{'));
                within = 2 * (indent + 1) + indicators + flow <= self.max_depth;
            }
        }
        Ok(within)
    }

    fn check_structure(&self, text: &str) -> Result<(), ParseError> {
        let mut open: Vec<Open> = Vec::new();
        let mut anchors: HashMap<usize, Anchored> = HashMap::new();
        let mut nodes: usize = 0;
        for event in Parser::new_from_str(text) {
            let Ok((event, span)) = event else {
                return Ok(());
            };
            let depth = open.len();
            match event {
                Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                    nodes = nodes.saturating_add(1);
                    self.within(nodes, depth + 1, &span)?;
                    if let Some(parent) = open.last_mut() {
                        parent.deepest = parent.deepest.max(depth + 1);
                    }
                    open.push(Open {
                        anchor,
                        nodes_before: nodes - 1,
                        depth: depth + 1,
                        deepest: depth + 1,
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    if let Some(closed) = open.pop() {
                        if let Some(parent) = open.last_mut() {
                            parent.deepest = parent.deepest.max(closed.deepest);
                        }
                        if closed.anchor != 0 {
                            anchors.insert(
                                closed.anchor,
                                Anchored {
                                    nodes: nodes - closed.nodes_before,
                                    height: closed.deepest - closed.depth + 1,
                                },
                            );
                        }
                    }
                }
                Event::Scalar(_, _, anchor, _) => {
                    nodes = nodes.saturating_add(1);
                    self.within(nodes, depth, &span)?;
                    if anchor != 0 {
                        anchors.insert(
                            anchor,
                            Anchored {
                                nodes: 1,
                                height: 0,
                            },
                        );
                    }
                }
                Event::Alias(anchor) => {
                    let Some(target) = anchors.get(&anchor).copied() else {
                        // An alias to an unknown anchor: the reader reports it.
                        return Ok(());
                    };
                    nodes = nodes.saturating_add(target.nodes);
                    let reached = depth + target.height;
                    self.within(nodes, reached, &span)?;
                    if let Some(parent) = open.last_mut() {
                        parent.deepest = parent.deepest.max(reached);
                    }
                }
                Event::DocumentEnd => break,
                _ => {}
            }
        }
        Ok(())
    }

    fn within(&self, nodes: usize, depth: usize, span: &Span) -> Result<(), ParseError> {
        let line = u32::try_from(span.start.line()).unwrap_or(u32::MAX).max(1);
        if depth > self.max_depth {
            return Err(ParseError::new(
                line,
                format!(
                    "nesting is deeper than the limit of {} levels (--max-depth)",
                    self.max_depth
                ),
            ));
        }
        if nodes > self.max_nodes {
            return Err(ParseError::new(
                line,
                format!(
                    "document has more than the limit of {} YAML nodes, aliases expanded (--max-nodes)",
                    self.max_nodes
                ),
            ));
        }
        Ok(())
    }
}

/// How many bytes of `line` are one of `wanted`.
fn count(line: &[u8], wanted: impl Fn(u8) -> bool) -> usize {
    line.iter().map(|&b| usize::from(wanted(b))).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_depth: usize, max_nodes: usize) -> ContractLimits {
        ContractLimits {
            max_file_size: 1024,
            max_line_length: 80,
            max_depth,
            max_nodes,
        }
    }

    #[test]
    fn counts_nodes_with_aliases_expanded() {
        // a: 3 nodes (the sequence and two items); b repeats them twice; keys count too.
        let text = "a: &x [1, 2]\nb: [*x, *x]\n";
        // map(1) + a(1) + seq(3) + b(1) + seq(1) + 2×3 = 13
        assert!(limits(10, 13).check(text).is_ok());
        let e = limits(10, 12).check(text).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("--max-nodes"), "{}", e.message);
    }

    #[test]
    fn depth_includes_what_an_alias_nests() {
        let text = "a: &x [[[1]]]\nb: [*x]\n";
        // a's value reaches depth 4 (map, seq, seq, seq); b's list adds one level above x.
        assert!(limits(5, 100).check(text).is_ok());
        let e = limits(4, 100).check(text).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("--max-depth"), "{}", e.message);
        let e = limits(3, 100).check(text).unwrap_err();
        assert_eq!(e.line, 1);
    }

    #[test]
    fn long_lines_name_their_line() {
        let text = format!("a: 1\nb: {}\n", "x".repeat(100));
        let e = limits(10, 100).check(&text).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("--max-line-length"), "{}", e.message);
    }

    proptest::proptest! {
        /// The cheap scan never lets through what the parser's pass would refuse.
        #[test]
        fn the_fast_path_is_sound(text in "[-?:,\\[\\]{}a \n]{0,120}", depth in 1usize..32, nodes in 1usize..300) {
            let l = ContractLimits { max_line_length: 1000, ..limits(depth, nodes) };
            if l.check_lines(&text) == Ok(true) {
                proptest::prop_assert!(l.check_structure(&text).is_ok(), "{:?}", text);
            }
        }
    }

    #[test]
    fn invalid_yaml_is_left_to_the_reader() {
        assert!(limits(10, 100).check("a: [1, 2\n").is_ok());
        assert!(limits(10, 100).check("a: *missing\n").is_ok());
    }
}
