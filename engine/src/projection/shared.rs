//! Equal parts of the kept products, stored once.
//!
//! A repository's products repeat most of what the repository-wide rules read: whole
//! field projections (`{"name": "customer_id", "pii": false}`) and lists of ids that many
//! products have in common. regorus values are immutable and reference-counted, so equal
//! values can be one allocation. A field projection with two keys and its column name
//! costs about 250 bytes (measured: the object, its entries and its strings), times
//! every field of every product, which would be most of what `charter report` keeps
//! between its stages.
//!
//! Only flat arrays and objects are looked up: those whose items are all strings,
//! booleans or null (a field's projection, a list of upstream ids). Those are what
//! products repeat; a string inside one is stored once with it. A scalar alone is not
//! worth a lookup (a boolean or null costs nothing to hold, a string alone, such as a
//! product id, seldom repeats), nor is a container of containers (a product's list of
//! fields is its own, and hashing it would hash every field again). Values with numbers
//! are never shared: a number could equal another of a different representation, which
//! `sprintf` would show.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Mutex;

use regorus::Value;

/// Values seen so far, by a hash of their contents. Sharing is most of what taking the
/// projections costs, and hashing every value a large part of it: foldhash, not SipHash.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    state: foldhash::fast::RandomState,
    seen: Mutex<foldhash::HashMap<u64, Vec<Value>>>,
}

impl Shared {
    /// `value`, or an equal value seen before.
    pub(crate) fn share(&self, value: Value) -> Value {
        let mut hasher = self.state.build_hasher();
        if !flat(&value, &mut hasher) {
            return value;
        }
        let Ok(mut seen) = self.seen.lock() else {
            // Another thread panicked while sharing: keep this value unshared.
            return value;
        };
        let bucket = seen.entry(hasher.finish()).or_default();
        if let Some(equal) = bucket.iter().find(|seen| **seen == value) {
            return equal.clone();
        }
        bucket.push(value.clone());
        value
    }
}

/// Hashes a flat array or object's contents; `false` for any other value, which is not
/// shared (see the module).
fn flat(value: &Value, hasher: &mut impl Hasher) -> bool {
    std::mem::discriminant(value).hash(hasher);
    match value {
        Value::Array(items) => {
            items.len().hash(hasher);
            items.iter().all(|item| scalar(item, hasher))
        }
        Value::Object(object) => {
            object.len().hash(hasher);
            object
                .iter()
                .all(|(key, item)| scalar(key, hasher) && scalar(item, hasher))
        }
        _ => false,
    }
}

/// Hashes a string, boolean or null; `false` for any other value.
fn scalar(value: &Value, hasher: &mut impl Hasher) -> bool {
    std::mem::discriminant(value).hash(hasher);
    match value {
        Value::Null => true,
        Value::Bool(b) => {
            b.hash(hasher);
            true
        }
        Value::String(s) => {
            s.hash(hasher);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Value {
        Value::from_json_str(text).expect("valid JSON")
    }

    #[test]
    fn equal_values_become_one_allocation() {
        let shared = Shared::default();
        let a = shared.share(json(r#"{"name": "email", "pii": true}"#));
        let b = shared.share(json(r#"{"name": "email", "pii": true}"#));
        let c = shared.share(json(r#"{"name": "email", "pii": false}"#));
        let (Value::Object(a), Value::Object(b), Value::Object(c)) = (a, b, c) else {
            panic!("objects");
        };
        assert!(std::sync::Arc::ptr_eq(&a, &b));
        assert!(!std::sync::Arc::ptr_eq(&a, &c));
    }

    #[test]
    fn only_flat_containers_are_shared() {
        let shared = Shared::default();
        let field = r#"{"name": "email", "pii": true}"#;
        let a = shared.share(json(&format!("[{field}]")));
        let b = shared.share(json(&format!("[{field}]")));
        let (Value::Array(a), Value::Array(b)) = (a, b) else {
            panic!("arrays");
        };
        assert!(
            !std::sync::Arc::ptr_eq(&a, &b),
            "a list of fields is not looked up"
        );
        let a = shared.share(json(r#""email""#));
        let b = shared.share(json(r#""email""#));
        let (Value::String(a), Value::String(b)) = (a, b) else {
            panic!("strings");
        };
        assert!(
            !std::sync::Arc::ptr_eq(&a, &b),
            "a string alone is not looked up"
        );
        let a = shared.share(json(r#"["orders.a", "orders.b"]"#));
        let b = shared.share(json(r#"["orders.a", "orders.b"]"#));
        let (Value::Array(a), Value::Array(b)) = (a, b) else {
            panic!("arrays");
        };
        assert!(std::sync::Arc::ptr_eq(&a, &b), "a flat list is shared");
    }

    #[test]
    fn numbers_are_never_shared() {
        let shared = Shared::default();
        let a = shared.share(json(r#"{"n": 1}"#));
        let b = shared.share(json(r#"{"n": 1}"#));
        let (Value::Object(a), Value::Object(b)) = (a, b) else {
            panic!("objects");
        };
        assert!(!std::sync::Arc::ptr_eq(&a, &b));
    }
}
