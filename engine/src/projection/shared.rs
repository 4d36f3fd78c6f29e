//! Equal parts of the kept products, stored once.
//!
//! A repository's products repeat most of what the repository-wide rules read: column
//! names, and whole field projections (`{"name": "customer_id", "pii": false}`) that many
//! products have in common. regorus values are immutable and reference-counted, so equal
//! values can be one allocation. A field projection with two keys and its column name
//! costs about 250 bytes (measured: the object, its entries and its strings), times
//! every field of every product, which would be most of what `charter report` keeps
//! between its stages.
//!
//! Only values whose equality is identity are shared: strings, booleans, null, and arrays
//! and objects of those (a number could equal another of a different representation,
//! which `sprintf` would show).

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
        if !fingerprint(&value, &mut hasher) {
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

/// Hashes `value`'s contents; `false` for a value that is not shared (see the module).
fn fingerprint(value: &Value, hasher: &mut impl Hasher) -> bool {
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
        Value::Array(items) => {
            items.len().hash(hasher);
            items.iter().all(|item| fingerprint(item, hasher))
        }
        Value::Object(object) => {
            object.len().hash(hasher);
            object
                .iter()
                .all(|(key, item)| fingerprint(key, hasher) && fingerprint(item, hasher))
        }
        Value::Number(_) | Value::Set(_) | Value::Undefined => false,
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
