//! Source lines of every key in a YAML document.
//!
//! `yaml_serde` reads the values but keeps no positions; this index, built from the
//! event stream of `saphyr-parser` (or, to place a few findings in a block-style file,
//! from its outline: see [`super::outline`]), maps each YAML path
//! (`spec.schema.fields[2].name`) to the 1-based line where it is written, so findings can
//! point at `file:line`.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use saphyr_parser::{Event, Parser, Span};

use super::outline::{Node, outline};

/// YAML path → line of the key (for mapping entries) or of the item (for sequence items).
#[derive(Debug, Default, Clone)]
pub struct LineIndex {
    /// Hashed with foldhash rather than SipHash: every node of the document is hashed as the
    /// index is built (a few hundred a contract). Its seed is still random per process.
    lines: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    top: HashMap<String, String>,
    error: Option<(u32, String)>,
    root: Root,
}

/// What the document's root node is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Root {
    /// No node at all (an empty file, or only comments).
    #[default]
    Empty,
    Mapping,
    Other,
}

/// An open mapping or sequence. Paths live in one buffer: a frame's path is its first
/// `len` bytes (a value under a key that is not a scalar starts again from the root, as
/// it always has, and `saved` holds the path to go back to).
enum Frame {
    Mapping {
        len: usize,
        /// The length of the current key's path, once the key is read.
        key: Option<usize>,
        expect_key: bool,
        saved: Option<String>,
    },
    Sequence {
        len: usize,
        index: usize,
        saved: Option<String>,
    },
}

/// Building the index: the open frames and the current path.
#[derive(Default)]
struct Builder<'a> {
    index: LineIndex,
    stack: Vec<Frame>,
    path: String,
    /// Only these paths are indexed, when given ([`LineIndex::build_for`]).
    wanted: Option<&'a HashSet<String>>,
    /// How many of `wanted` the document has not shown yet.
    missing: usize,
}

impl LineIndex {
    /// Index the first document of `text`. A document that does not parse gives an
    /// empty index (the caller reports the parse error; lines then fall back to 1).
    #[must_use]
    pub fn build(text: &str) -> Self {
        Self::index(text, Builder::default())
    }

    /// An index of the `wanted` paths only (those the document has), for placing a few
    /// findings: the file is read no further than the last of them, and no other path is
    /// stored. A lookup of a wanted path, or of one whose ancestors are all wanted, gives the
    /// line [`LineIndex::build`]'s index gives. The top-level scalars are not kept. A
    /// block-style file is read from its outline, without the parser; a path inside a
    /// one-line flow collection is then not indexed, and its lookup gives the collection's
    /// line, which is the same.
    #[must_use]
    pub(crate) fn build_for(text: &str, wanted: &HashSet<String>) -> Self {
        let builder = || Builder {
            wanted: Some(wanted),
            missing: wanted.len(),
            ..Builder::default()
        };
        let mut outlined = builder();
        match outline(text, &mut |node| outlined.node(node)) {
            Ok(()) => outlined.index,
            Err(_) => Self::index(text, builder()),
        }
    }

    fn index(text: &str, mut builder: Builder<'_>) -> Self {
        for event in Parser::new_from_str(text) {
            if builder.missing == 0 && builder.wanted.is_some() {
                break;
            }
            let (event, span) = match event {
                Ok(ok) => ok,
                Err(e) => {
                    let line = u32::try_from(e.marker().line()).unwrap_or(u32::MAX);
                    builder.index.error = Some((line, e.info().to_owned()));
                    break;
                }
            };
            match event {
                Event::DocumentEnd => break,
                Event::MappingStart(..) => builder.open(line_of(&span), true),
                Event::SequenceStart(..) => builder.open(line_of(&span), false),
                Event::MappingEnd | Event::SequenceEnd => builder.close(),
                Event::Scalar(value, ..) => builder.scalar(&value, line_of(&span)),
                Event::Alias(_) => builder.value(line_of(&span)),
                _ => {}
            }
        }
        builder.index
    }

    /// The line of `path`, or of its nearest indexed ancestor.
    #[must_use]
    pub fn line(&self, path: &str) -> Option<u32> {
        let mut current = path;
        loop {
            if let Some(line) = self.lines.get(current) {
                return Some(*line);
            }
            let cut = current.rfind(['.', '['])?;
            current = &current[..cut];
        }
    }

    /// The line of `path` exactly, if the document has that key.
    #[must_use]
    pub fn exact(&self, path: &str) -> Option<u32> {
        self.lines.get(path).copied()
    }

    /// A scalar value at the top level of the document (`apiVersion`, `kind`).
    #[must_use]
    pub fn top_scalar(&self, key: &str) -> Option<&str> {
        self.top.get(key).map(String::as_str)
    }

    /// The document's root is a mapping.
    #[must_use]
    pub fn is_mapping(&self) -> bool {
        self.root == Root::Mapping
    }

    /// The document has no content.
    #[must_use]
    pub fn is_empty_document(&self) -> bool {
        self.root == Root::Empty
    }

    /// The line and message of the first syntax error, if the document does not parse.
    #[must_use]
    pub fn syntax_error(&self) -> Option<(u32, &str)> {
        self.error
            .as_ref()
            .map(|(line, message)| (*line, message.as_str()))
    }
}

impl Builder<'_> {
    /// One node of a block-style outline; `false` once every wanted path is placed.
    fn node(&mut self, node: Node<'_>) -> bool {
        match node {
            Node::Mapping(line) => self.open(line, true),
            Node::Sequence(line) => self.open(line, false),
            Node::End => self.close(),
            Node::Key(key, line) => self.scalar(key, line),
            Node::Value(line) => self.value(line),
        }
        self.wanted.is_none() || self.missing > 0
    }

    /// A mapping or sequence starts.
    fn open(&mut self, line: u32, mapping: bool) {
        if self.stack.is_empty() && self.index.root == Root::Empty {
            self.index.root = if mapping { Root::Mapping } else { Root::Other };
        }
        let saved = self.enter(line);
        let len = self.path.len();
        self.stack.push(if mapping {
            Frame::Mapping {
                len,
                key: None,
                expect_key: true,
                saved,
            }
        } else {
            Frame::Sequence {
                len,
                index: 0,
                saved,
            }
        });
    }

    /// A mapping or sequence ends: back to its parent's path.
    fn close(&mut self) {
        if let Some(
            Frame::Mapping {
                saved: Some(saved), ..
            }
            | Frame::Sequence {
                saved: Some(saved), ..
            },
        ) = self.stack.pop()
        {
            self.path = saved;
        }
        self.finish_value();
    }

    /// A scalar: a mapping's key, or a value.
    fn scalar(&mut self, value: &str, line: u32) {
        if self.stack.is_empty() && self.index.root == Root::Empty {
            self.index.root = if value.is_empty() {
                Root::Empty
            } else {
                Root::Other
            };
        }
        if let [
            Frame::Mapping {
                key: Some(key),
                expect_key: false,
                ..
            },
        ] = self.stack.as_slice()
            && self.wanted.is_none()
            && let Some(name) = self.path.get(..*key)
        {
            self.index
                .top
                .entry(name.to_owned())
                .or_insert_with(|| value.to_owned());
        }
        if let Some(Frame::Mapping {
            len,
            key,
            expect_key,
            ..
        }) = self.stack.last_mut()
            && *expect_key
        {
            self.path.truncate(*len);
            if *len > 0 {
                self.path.push('.');
            }
            self.path.push_str(value);
            *key = Some(self.path.len());
            *expect_key = false;
            self.record(line);
            return;
        }
        self.value(line);
    }

    /// A scalar or alias value: recorded if it is a sequence item, then complete.
    fn value(&mut self, line: u32) {
        if let Some(saved) = self.enter(line) {
            self.path = saved;
        }
        self.finish_value();
    }

    /// Starts a value (scalar, mapping or sequence) in the innermost frame: the path
    /// becomes the value's (a sequence item's line is recorded). Under a key that is not a
    /// scalar the path starts again from the root; the path to go back to is returned.
    fn enter(&mut self, line: u32) -> Option<String> {
        match self.stack.last_mut() {
            None => {
                self.path.clear();
                None
            }
            Some(Frame::Mapping { key: Some(key), .. }) => {
                self.path.truncate(*key);
                None
            }
            Some(Frame::Mapping { key: None, .. }) => Some(std::mem::take(&mut self.path)),
            Some(Frame::Sequence { len, index, .. }) => {
                self.path.truncate(*len);
                // Writing to a String cannot fail.
                let _ = write!(self.path, "[{index}]");
                self.record(line);
                None
            }
        }
    }

    /// The current path is at `line`, unless it was seen before (a key written twice in a
    /// mapping is placed where it first appears) or is not wanted.
    fn record(&mut self, line: u32) {
        if self
            .wanted
            .is_some_and(|wanted| !wanted.contains(self.path.as_str()))
            || self.index.lines.contains_key(self.path.as_str())
        {
            return;
        }
        self.index.lines.insert(self.path.as_str().into(), line);
        self.missing = self.missing.saturating_sub(1);
    }

    /// A value is complete: the enclosing mapping expects a key next, the sequence its next item.
    fn finish_value(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Mapping {
                expect_key, key, ..
            }) => {
                *expect_key = true;
                *key = None;
            }
            Some(Frame::Sequence { index, .. }) => *index += 1,
            None => {}
        }
    }
}

fn line_of(span: &Span) -> u32 {
    u32::try_from(span.start.line()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_keys_and_items() {
        let text = "a: 1\nb:\n  c: x\n  list:\n    - name: one\n    - name: two\n      k: [1, 2]\n";
        let index = LineIndex::build(text);
        assert_eq!(index.exact("a"), Some(1));
        assert_eq!(index.exact("b.c"), Some(3));
        assert_eq!(index.exact("b.list[0].name"), Some(5));
        assert_eq!(index.exact("b.list[1]"), Some(6));
        assert_eq!(index.exact("b.list[1].k"), Some(7));
        assert_eq!(index.line("b.list[1].k[1]"), Some(7));
        assert_eq!(index.line("b.list[1].missing"), Some(6));
        assert_eq!(index.line("nothing"), None);
    }

    /// Every path the parser's index has, with its ancestors and a few it does not have.
    fn every_path(parsed: &LineIndex) -> Vec<String> {
        let mut paths: Vec<String> = parsed.lines.keys().map(|k| k.to_string()).collect();
        paths.extend(["missing", "a.missing", "list[9]", "list[0].missing"].map(str::to_owned));
        paths.sort();
        paths
    }

    /// `path` and each of its ancestors: what a lookup of `path` may fall back to.
    fn with_ancestors(path: &str) -> Vec<String> {
        let mut all = vec![path.to_owned()];
        let mut current = path;
        while let Some(cut) = current.rfind(['.', '[']) {
            current = &current[..cut];
            all.push(current.to_owned());
        }
        all
    }

    /// The outline places every path where the parser does, for the whole document and
    /// for each path alone (where it may stop early).
    fn same_lines(text: &str) {
        let parsed = LineIndex::build(text);
        let paths = every_path(&parsed);
        let all: HashSet<String> = paths.iter().flat_map(|p| with_ancestors(p)).collect();
        let outlined = LineIndex::build_for(text, &all);
        for path in &paths {
            assert_eq!(
                outlined.line(path),
                parsed.line(path),
                "`{path}` in:\n{text}"
            );
            let alone = with_ancestors(path).into_iter().collect();
            assert_eq!(
                LineIndex::build_for(text, &alone).line(path),
                parsed.line(path),
                "`{path}` alone in:\n{text}"
            );
        }
    }

    #[test]
    fn the_outline_of_block_yaml_places_keys_and_items_as_the_parser_does() {
        let outlined = [
            "a: 1\nb:\n  c: x\n  list:\n    - name: one\n    - name: two\n      k: [1, 2]\n",
            "---\n# comment\nkind: X\nspec:\n  fields:\n  - name: a\n    tags: [x, \"y\"]\n  - name: b\n  other: 1\nlast:\n",
            "list:\n  - - a\n    - b\n  - - c\n  -   name: d\n      type: e\n  - 'q'\n  - \"r # s\"\n",
            "a: |\n  text\n\n   more: not a key\n  # not a comment\nb: >-\n    folded\nc: 'it''s'\nd: \"x\\\"y\" # c\n",
            "\"quoted key\": 1\n'single': 2\nurl: http://x.example/a:b\nhash#tag: 3\nk : v\n",
            "a:\n  b:\n    c:\n      - { x: 1, y: [2, 3] }\n      - [4, {z: 5}]\n  d: {}\nd: dup\nd: again\n",
            "- a: 1\n  tags:\n  - x\n  - y\n- b: 2\n",
            "a: 1\n---\nb: 2\n",
            "a:\n  x: 1\n  y:\nb: 2\n",
        ];
        for text in outlined {
            assert!(outline(text, &mut |_| true).is_ok(), "outlined:\n{text}");
            same_lines(text);
        }
        let parsed = [
            "a: multi\n  line\n",
            "a: \"multi\n  line\"\n",
            "- \n  a: 1\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "? a\n: 1\n",
            "a:\tb\n",
            "a: 1\r\nb: 2\r\n",
            "a: |2\n   x\n",
            "a: [1,\n  2]\n",
            "- |\n  text\n",
            "%YAML 1.2\n---\na: 1\n",
            "plain\n",
            "\"a\\tb\": 1\n",
        ];
        for text in parsed {
            assert!(
                outline(text, &mut |_| true).is_err(),
                "left to the parser:\n{text}"
            );
            same_lines(text);
        }
    }

    #[test]
    fn a_key_that_is_not_a_scalar_does_not_shift_the_paths_after_it() {
        // The nodes inside a mapping or sequence key are indexed from the root; once the
        // mapping holding it ends, paths are back where they were.
        let text = "a:\n  b:\n    ? {x: 1}\n    : v\n  c: 2\nd:\n  ? [k]\n  : w\ne:\n  - f: 3\n";
        let index = LineIndex::build(text);
        assert_eq!(index.exact("x"), Some(3));
        assert_eq!(index.exact("a.c"), Some(5));
        assert_eq!(index.exact("[0]"), Some(7));
        assert_eq!(index.exact("e[0].f"), Some(10));
        assert_eq!(index.top_scalar("d"), None);
    }
}
