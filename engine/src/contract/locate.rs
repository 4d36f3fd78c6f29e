//! Source lines of every key in a YAML document.
//!
//! `yaml_serde` reads the values but keeps no positions; this index, built from the
//! event stream of `saphyr-parser`, maps each YAML path (`spec.schema.fields[2].name`)
//! to the 1-based line where it is written, so findings can point at `file:line`.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, Span};

/// YAML path → line of the key (for mapping entries) or of the item (for sequence items).
#[derive(Debug, Default, Clone)]
pub struct LineIndex {
    lines: HashMap<String, u32>,
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

enum Frame {
    Mapping {
        path: String,
        key: Option<String>,
        expect_key: bool,
    },
    Sequence {
        path: String,
        index: usize,
    },
}

impl LineIndex {
    /// Index the first document of `text`. A document that does not parse gives an
    /// empty index (the caller reports the parse error; lines then fall back to 1).
    #[must_use]
    pub fn build(text: &str) -> Self {
        let mut index = LineIndex::default();
        let mut stack: Vec<Frame> = Vec::new();
        for event in Parser::new_from_str(text) {
            let (event, span) = match event {
                Ok(ok) => ok,
                Err(e) => {
                    let line = u32::try_from(e.marker().line()).unwrap_or(u32::MAX);
                    index.error = Some((line, e.info().to_owned()));
                    break;
                }
            };
            match event {
                Event::DocumentEnd => break,
                Event::MappingStart(..) => {
                    if stack.is_empty() && index.root == Root::Empty {
                        index.root = Root::Mapping;
                    }
                    let path = index.enter(&mut stack, &span);
                    stack.push(Frame::Mapping {
                        path,
                        key: None,
                        expect_key: true,
                    });
                }
                Event::SequenceStart(..) => {
                    if stack.is_empty() && index.root == Root::Empty {
                        index.root = Root::Other;
                    }
                    let path = index.enter(&mut stack, &span);
                    stack.push(Frame::Sequence { path, index: 0 });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                    Self::finish_value(&mut stack);
                }
                Event::Scalar(value, ..) => {
                    if stack.is_empty() && index.root == Root::Empty {
                        index.root = if value.is_empty() {
                            Root::Empty
                        } else {
                            Root::Other
                        };
                    }
                    if stack.len() == 1
                        && let Some(Frame::Mapping {
                            key: Some(key),
                            expect_key: false,
                            ..
                        }) = stack.last()
                    {
                        index
                            .top
                            .entry(key.clone())
                            .or_insert_with(|| value.to_string());
                    }
                    if let Some(Frame::Mapping {
                        path,
                        key,
                        expect_key,
                    }) = stack.last_mut()
                        && *expect_key
                    {
                        let full = join(path, &value);
                        index.lines.insert(full.clone(), line_of(&span));
                        *key = Some(full);
                        *expect_key = false;
                        continue;
                    }
                    index.enter(&mut stack, &span);
                    Self::finish_value(&mut stack);
                }
                Event::Alias(_) => {
                    index.enter(&mut stack, &span);
                    Self::finish_value(&mut stack);
                }
                _ => {}
            }
        }
        index
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

    /// Starts a value (scalar, mapping or sequence) in the innermost frame and returns its path.
    fn enter(&mut self, stack: &mut [Frame], span: &Span) -> String {
        match stack.last_mut() {
            None => String::new(),
            Some(Frame::Mapping { key, .. }) => key.clone().unwrap_or_default(),
            Some(Frame::Sequence { path, index }) => {
                let item = format!("{path}[{index}]");
                self.lines
                    .entry(item.clone())
                    .or_insert_with(|| line_of(span));
                item
            }
        }
    }

    /// A value is complete: the enclosing mapping expects a key next, the sequence its next item.
    fn finish_value(stack: &mut [Frame]) {
        match stack.last_mut() {
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

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
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
}
