//! What a pack's rules need of a value: all of it, or some of its keys and what they need
//! of each. [`reads`](super::reads) works it out from the policies; a contract is then
//! converted, and a product kept, as its [projection](Need::project), which the rules
//! cannot tell from the whole value.

use std::collections::BTreeMap;

use regorus::Value;

use super::shared::Shared;

/// One step below the value followed (an element of `data.charter.products`, or `input`):
/// a key, or any element or key (`p[i]`, `some x in p`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Step {
    /// A literal key (`p.id`, `p["id"]`, `object.get(p, "id", …)`).
    Key(String),
    /// Any key or element.
    Any,
}

/// How the rules use the value at a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// As a value: compared, passed to a builtin, returned, collected.
    Whole,
    /// Its keys: iterated, or indexed with a computed key.
    Keys,
}

/// What the rules need of a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Need {
    /// All of it.
    whole: bool,
    /// Every key of an object (its values projected by `each`, or kept empty).
    every_key: bool,
    /// What they need of a literal key's value.
    keys: BTreeMap<String, Need>,
    /// What they need of every element or value.
    each: Option<Box<Need>>,
}

/// All of a value ([`Need::kept`] below a whole need).
static WHOLE: Need = Need {
    whole: true,
    every_key: false,
    keys: BTreeMap::new(),
    each: None,
};

/// Nothing of a value but its shape: an object's keys go, an array keeps its length (its
/// elements as shapes), a scalar stays (see [`Need::project`]).
static NOTHING: Need = Need {
    whole: false,
    every_key: false,
    keys: BTreeMap::new(),
    each: None,
};

impl Need {
    /// Everything: the projection is the value itself.
    pub(crate) fn whole() -> Self {
        Self {
            whole: true,
            ..Self::default()
        }
    }

    /// Everything, as a reference that lives as long as the program.
    pub(crate) fn all() -> &'static Need {
        &WHOLE
    }

    /// Whether the projection is the value itself.
    pub(crate) fn is_whole(&self) -> bool {
        self.whole
    }

    /// Records that the rules use the value at `path` (below this one) as `how`.
    pub(crate) fn mark(&mut self, path: &[Step], how: Use) {
        if self.whole {
            return;
        }
        match path.split_first() {
            None => match how {
                Use::Whole => *self = Self::whole(),
                Use::Keys => self.every_key = true,
            },
            Some((Step::Key(key), rest)) => {
                self.keys.entry(key.clone()).or_default().mark(rest, how);
            }
            Some((Step::Any, rest)) => {
                // Reaching any element means iterating, or indexing with a computed key.
                self.every_key = true;
                self.each.get_or_insert_default().mark(rest, how);
            }
        }
    }

    /// What the rules need of the element at `key` (or of each element, for `None`).
    pub(crate) fn child(&self, key: Option<&str>) -> Option<&Need> {
        key.and_then(|key| self.keys.get(key))
            .or(self.each.as_deref())
    }

    /// Folds what the rules need of every element into each literal key's need, so that a
    /// key's need is complete on its own ([`Need::project`] looks up one need per key).
    pub(crate) fn settle(&mut self) {
        if self.whole {
            self.keys.clear();
            self.each = None;
            return;
        }
        if let Some(each) = &mut self.each {
            each.settle();
            for need in self.keys.values_mut() {
                need.merge(each);
            }
        }
        for need in self.keys.values_mut() {
            need.settle();
        }
    }

    /// What either `self` or `other` needs (both settled), settled.
    pub(crate) fn union(mut self, other: &Need) -> Self {
        self.merge(other);
        self.settle();
        self
    }

    /// What the projection keeps of an object's value at `key` (a non-string key:
    /// `None`): the need to project it with, or `None` when the key goes.
    pub(crate) fn kept(&self, key: Option<&str>) -> Option<&Need> {
        if self.whole {
            return Some(&WHOLE);
        }
        match self.child(key) {
            Some(need) => Some(need),
            None if self.every_key => Some(&NOTHING),
            None => None,
        }
    }

    /// The need to project each element of an array with.
    pub(crate) fn element(&self) -> &Need {
        if self.whole {
            &WHOLE
        } else {
            self.each.as_deref().unwrap_or(&NOTHING)
        }
    }

    fn merge(&mut self, other: &Need) {
        if self.whole || other.whole {
            *self = Self::whole();
            return;
        }
        self.every_key |= other.every_key;
        for (key, need) in &other.keys {
            self.keys.entry(key.clone()).or_default().merge(need);
        }
        if let Some(each) = &other.each {
            self.each.get_or_insert_default().merge(each);
        }
    }

    /// The part of `value` the rules can observe. Objects keep the keys the rules read (or
    /// every key, when they iterate them); arrays keep every element (their length and
    /// order are observable), each projected; sets and scalars are kept whole (projecting
    /// a set's elements could merge two of them). Every part below `value` is stored once
    /// across the values projected with `shared`.
    pub(crate) fn project(&self, value: &Value, shared: &Shared) -> Value {
        if self.whole {
            return value.clone();
        }
        let part = |need: &Need, item: &Value| shared.share(need.project(item, shared));
        match value {
            Value::Object(object) => {
                let mut kept = BTreeMap::new();
                for (key, item) in object.iter() {
                    let name = key.as_string().ok().map(AsRef::as_ref);
                    if let Some(need) = self.kept(name) {
                        kept.insert(key.clone(), part(need, item));
                    }
                }
                Value::from(kept)
            }
            Value::Array(items) => Value::from(
                items
                    .iter()
                    .map(|item| part(self.element(), item))
                    .collect::<Vec<_>>(),
            ),
            _ => value.clone(),
        }
    }

    /// How many values the projection of `value` holds (objects, arrays and sets count
    /// their entries too): what rules with this need can visit of it, a measure of what
    /// evaluating them costs.
    pub(crate) fn weight(&self, value: &Value) -> usize {
        if self.whole {
            return size(value);
        }
        1 + match value {
            Value::Object(object) => object
                .iter()
                .map(|(key, item)| {
                    let name = key.as_string().ok().map(AsRef::as_ref);
                    self.kept(name).map_or(0, |need| need.weight(item))
                })
                .sum(),
            Value::Array(items) => items.iter().map(|item| self.element().weight(item)).sum(),
            Value::Set(items) => items.iter().map(size).sum(),
            _ => 0,
        }
    }
}

/// How many values `value` holds, itself included.
fn size(value: &Value) -> usize {
    1 + match value {
        Value::Object(object) => object.values().map(size).sum(),
        Value::Array(items) => items.iter().map(size).sum(),
        Value::Set(items) => items.iter().map(size).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Value {
        Value::from_json_str(text).expect("valid JSON")
    }

    fn key(k: &str) -> Step {
        Step::Key(k.to_owned())
    }

    /// The projection of `value` after marking `marks`.
    fn projected(marks: &[(&[Step], Use)], value: &str) -> Value {
        let mut need = Need::default();
        for (path, how) in marks {
            need.mark(path, *how);
        }
        need.settle();
        need.project(&json(value), &Shared::default())
    }

    #[test]
    fn the_weight_is_what_the_projection_holds() {
        let value = json(r#"{"id": "a", "fields": [{"name": "x", "type": "t"}, {"name": "y"}]}"#);
        let mut need = Need::default();
        need.mark(&[key("fields"), Step::Any, key("name")], Use::Whole);
        need.settle();
        // The product, its list of fields, and each field with its name.
        assert_eq!(need.weight(&value), 6);
        assert_eq!(Need::whole().weight(&value), 8);
        assert_eq!(Need::default().weight(&value), 1);
    }

    #[test]
    fn keeps_what_is_read_and_every_key_of_what_is_iterated() {
        type Case<'a> = (&'a str, &'a [(&'a [Step], Use)], &'a str, &'a str);
        let cases: &[Case<'_>] = &[
            (
                "only the keys read, whole values below them",
                &[
                    (&[key("id")], Use::Whole),
                    (&[key("lineage"), key("upstream")], Use::Whole),
                ],
                r#"{"id": "a", "owner": "x", "lineage": {"upstream": ["b", {"c": 1}], "downstream": ["d"]}}"#,
                r#"{"id": "a", "lineage": {"upstream": ["b", {"c": 1}]}}"#,
            ),
            (
                "every key and element of what is iterated",
                &[
                    (&[key("fields"), Step::Any, key("name")], Use::Whole),
                    (&[key("tags")], Use::Keys),
                ],
                r#"{"fields": [{"name": "a", "type": "t"}, {"type": "u"}], "tags": {"x": [1], "y": 2}}"#,
                r#"{"fields": [{"name": "a"}, {}], "tags": {"x": [1], "y": 2}}"#,
            ),
            (
                "a literal key also gets what every element needs",
                &[
                    (&[Step::Any, key("a")], Use::Whole),
                    (&[key("k"), key("b")], Use::Whole),
                ],
                r#"{"k": {"a": 1, "b": 2, "c": 3}, "l": {"a": 4, "b": 5}}"#,
                r#"{"k": {"a": 1, "b": 2}, "l": {"a": 4}}"#,
            ),
        ];
        for (case, marks, value, expected) in cases {
            assert_eq!(projected(marks, value), json(expected), "{case}");
        }
    }

    #[test]
    fn a_whole_use_anywhere_above_keeps_everything_below() {
        let marks: &[(&[Step], Use)] = &[
            (&[key("a"), key("b")], Use::Whole),
            (&[key("a")], Use::Whole),
            (&[key("a"), key("c")], Use::Keys),
        ];
        let value = r#"{"a": {"b": 1, "c": {"d": 2}}, "e": 3}"#;
        assert_eq!(
            projected(marks, value),
            json(r#"{"a": {"b": 1, "c": {"d": 2}}}"#)
        );
        assert!(Need::whole().project(&json(value), &Shared::default()) == json(value));
    }
}
