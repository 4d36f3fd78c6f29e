//! Any serializable model straight into a regorus value, with no JSON text in between.
//!
//! The value is the one `serde_json` text parsed by regorus gives (a test holds the two to
//! it on every sample contract and on generated products): structs and maps are objects,
//! `None` and unit are `null`, a unit variant is its name, other variants are
//! `{name: content}`, map keys are strings (numbers become their decimal text, as in JSON),
//! a non-finite float is `null`.

use std::collections::BTreeMap;
use std::fmt::Display;

use regorus::Value;
use serde::Serialize;
use serde::ser::{self, Impossible};

/// Converts `value` to a regorus value.
///
/// # Errors
/// A type JSON cannot hold (a map key that is not a string or a number), or the model's own
/// serialization error.
pub(crate) fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, String> {
    value.serialize(Serializer).map_err(|e| e.0)
}

/// Why a value could not be converted.
#[derive(Debug)]
pub(crate) struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(message: T) -> Self {
        Self(message.to_string())
    }
}

struct Serializer;

/// A struct's field name as a key: one shared string per name and thread, as regorus's
/// own JSON reader shares keys (ten thousand products hold the same few dozen names).
fn field_key(name: &'static str) -> Value {
    thread_local! {
        static KEYS: std::cell::RefCell<std::collections::HashMap<&'static str, Value>> =
            std::cell::RefCell::default();
    }
    KEYS.with_borrow_mut(|keys| {
        keys.entry(name)
            .or_insert_with(|| Value::from(name))
            .clone()
    })
}

fn object(map: BTreeMap<Value, Value>) -> Value {
    Value::from(map)
}

fn variant(name: &str, content: Value) -> Value {
    object(BTreeMap::from([(Value::from(name), content)]))
}

impl ser::Serializer for Serializer {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = Seq;
    type SerializeTuple = Seq;
    type SerializeTupleStruct = Seq;
    type SerializeTupleVariant = Variant<Seq>;
    type SerializeMap = Map;
    type SerializeStruct = Map;
    type SerializeStructVariant = Variant<Map>;

    fn serialize_bool(self, v: bool) -> Result<Value, Error> {
        Ok(Value::Bool(v))
    }

    fn serialize_i8(self, v: i8) -> Result<Value, Error> {
        Ok(Value::from(i64::from(v)))
    }

    fn serialize_i16(self, v: i16) -> Result<Value, Error> {
        Ok(Value::from(i64::from(v)))
    }

    fn serialize_i32(self, v: i32) -> Result<Value, Error> {
        Ok(Value::from(i64::from(v)))
    }

    fn serialize_i64(self, v: i64) -> Result<Value, Error> {
        Ok(Value::from(v))
    }

    fn serialize_u8(self, v: u8) -> Result<Value, Error> {
        Ok(Value::from(u64::from(v)))
    }

    fn serialize_u16(self, v: u16) -> Result<Value, Error> {
        Ok(Value::from(u64::from(v)))
    }

    fn serialize_u32(self, v: u32) -> Result<Value, Error> {
        Ok(Value::from(u64::from(v)))
    }

    fn serialize_u64(self, v: u64) -> Result<Value, Error> {
        Ok(Value::from(v))
    }

    fn serialize_f32(self, v: f32) -> Result<Value, Error> {
        // JSON writes an f32 in its own shortest form (`0.1`), which reads back as that
        // f64, not as the f32 widened (`0.10000000149011612`).
        Ok(v.to_string()
            .parse::<f64>()
            .map_or(Value::Null, Value::from))
    }

    fn serialize_f64(self, v: f64) -> Result<Value, Error> {
        Ok(Value::from(v))
    }

    fn serialize_char(self, v: char) -> Result<Value, Error> {
        Ok(Value::from(v.to_string()))
    }

    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        Ok(Value::from(v))
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Error> {
        Ok(Value::from(
            v.iter()
                .map(|b| Value::from(u64::from(*b)))
                .collect::<Vec<_>>(),
        ))
    }

    fn serialize_none(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, Error> {
        Ok(Value::Null)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, Error> {
        Ok(Value::from(variant))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        name: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        Ok(variant(name, value.serialize(self)?))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Seq, Error> {
        Ok(Seq(Vec::with_capacity(len.unwrap_or(0))))
    }

    fn serialize_tuple(self, len: usize) -> Result<Seq, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        name: &'static str,
        len: usize,
    ) -> Result<Variant<Seq>, Error> {
        Ok(Variant {
            name,
            inner: self.serialize_seq(Some(len))?,
        })
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Map, Error> {
        Ok(Map::default())
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Map, Error> {
        Ok(Map::default())
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        name: &'static str,
        _len: usize,
    ) -> Result<Variant<Map>, Error> {
        Ok(Variant {
            name,
            inner: Map::default(),
        })
    }
}

/// An array being built.
pub(crate) struct Seq(Vec<Value>);

impl Seq {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.0.push(value.serialize(Serializer)?);
        Ok(())
    }

    fn finish(self) -> Value {
        Value::from(self.0)
    }
}

impl ser::SerializeSeq for Seq {
    type Ok = Value;
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for Seq {
    type Ok = Value;
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for Seq {
    type Ok = Value;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

/// An object being built; `key` waits for its value.
#[derive(Default)]
pub(crate) struct Map {
    entries: BTreeMap<Value, Value>,
    key: Option<Value>,
}

impl Map {
    fn insert<T: Serialize + ?Sized>(&mut self, key: Value, value: &T) -> Result<(), Error> {
        self.entries.insert(key, value.serialize(Serializer)?);
        Ok(())
    }
}

impl ser::SerializeMap for Map {
    type Ok = Value;
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error("a map value came before its key".to_owned()))?;
        self.insert(key, value)
    }

    fn end(self) -> Result<Value, Error> {
        Ok(object(self.entries))
    }
}

impl ser::SerializeStruct for Map {
    type Ok = Value;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.insert(field_key(key), value)
    }

    fn end(self) -> Result<Value, Error> {
        Ok(object(self.entries))
    }
}

/// The content of a tuple or struct variant, to be wrapped in `{name: content}`.
pub(crate) struct Variant<T> {
    name: &'static str,
    inner: T,
}

impl ser::SerializeTupleVariant for Variant<Seq> {
    type Ok = Value;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.inner.push(value)
    }

    fn end(self) -> Result<Value, Error> {
        Ok(variant(self.name, self.inner.finish()))
    }
}

impl ser::SerializeStructVariant for Variant<Map> {
    type Ok = Value;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.inner.insert(field_key(key), value)
    }

    fn end(self) -> Result<Value, Error> {
        Ok(variant(self.name, object(self.inner.entries)))
    }
}

/// Serializer methods that write a key as its text (`1` → `"1"`), as JSON does.
macro_rules! keys_as_text {
    ($($method:ident: $type:ty),* $(,)?) => {
        $(
            fn $method(self, v: $type) -> Result<Value, Error> {
                Ok(Value::from(v.to_string()))
            }
        )*
    };
}

/// Map keys as JSON writes them: strings, and numbers, booleans and unit variants as text.
struct KeySerializer;

fn key_error() -> Error {
    Error("a map key must be a string".to_owned())
}

impl ser::Serializer for KeySerializer {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = Impossible<Value, Error>;
    type SerializeTuple = Impossible<Value, Error>;
    type SerializeTupleStruct = Impossible<Value, Error>;
    type SerializeTupleVariant = Impossible<Value, Error>;
    type SerializeMap = Impossible<Value, Error>;
    type SerializeStruct = Impossible<Value, Error>;
    type SerializeStructVariant = Impossible<Value, Error>;

    keys_as_text! {
        serialize_bool: bool,
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_char: char,
    }

    fn serialize_f32(self, _v: f32) -> Result<Value, Error> {
        Err(key_error())
    }

    fn serialize_f64(self, _v: f64) -> Result<Value, Error> {
        Err(key_error())
    }

    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        Ok(Value::from(v))
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<Value, Error> {
        Err(key_error())
    }

    fn serialize_none(self) -> Result<Value, Error> {
        Err(key_error())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<Value, Error> {
        Err(key_error())
    }

    fn serialize_unit(self) -> Result<Value, Error> {
        Err(key_error())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, Error> {
        Err(key_error())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, Error> {
        Ok(Value::from(variant))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<Value, Error> {
        Err(key_error())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error())
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error())
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error())
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error())
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error())
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_error())
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What regorus makes of the JSON text of `value`: the value to match.
    fn through_json<T: Serialize>(value: &T) -> Value {
        Value::from_json_str(&serde_json::to_string(value).expect("serializes"))
            .expect("regorus reads JSON")
    }

    #[test]
    fn every_sample_product_converts_as_its_json_text_does() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
        let settings = crate::contract::ReaderSettings::default();
        let mut compared = 0;
        for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
            let entry = entry.expect("a readable tree");
            if entry.path().extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let bytes = std::fs::read(entry.path()).expect("readable");
            let Ok(contract) = crate::contract::read_bytes("c.yaml", &bytes, &settings) else {
                continue;
            };
            let direct = to_value(&contract.product).expect("converts");
            assert_eq!(
                direct,
                through_json(&contract.product),
                "{}",
                entry.path().display()
            );
            compared += 1;
        }
        assert!(compared >= 20, "only {compared} products compared");
    }

    #[test]
    fn scalars_and_shapes_convert_as_json_does() {
        #[derive(Serialize)]
        enum Shape {
            Unit,
            Newtype(u8),
            Tuple(i8, f32),
            Struct { a: Option<bool> },
        }
        #[derive(Serialize)]
        struct All {
            small: f32,
            big: f64,
            nan: f64,
            negative: i64,
            large: u64,
            letter: char,
            bytes: serde_bytes_like::Bytes,
            none: Option<u8>,
            unit: (),
            shapes: Vec<Shape>,
            keys: BTreeMap<u32, &'static str>,
            json: serde_json::Value,
        }
        mod serde_bytes_like {
            pub struct Bytes(pub Vec<u8>);
            impl serde::Serialize for Bytes {
                fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    s.serialize_bytes(&self.0)
                }
            }
        }
        let value = All {
            small: 0.1,
            big: 1e300,
            nan: f64::NAN,
            negative: -7,
            large: u64::MAX,
            letter: 'é',
            bytes: serde_bytes_like::Bytes(vec![0, 255]),
            none: None,
            unit: (),
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(3),
                Shape::Tuple(-1, 2.5),
                Shape::Struct { a: Some(true) },
            ],
            keys: BTreeMap::from([(10, "ten"), (2, "two")]),
            json: serde_json::json!({"x": [1, 2.5, "s", null, {"y": false}]}),
        };
        assert_eq!(to_value(&value).expect("converts"), through_json(&value));
    }

    // Generated products (the fuzz targets' structured inputs), when the feature is on: it
    // is in a workspace build, where the fuzz harness asks for it.
    #[cfg(feature = "arbitrary")]
    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]

        #[test]
        fn generated_products_convert_as_their_json_text_does(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096)
        ) {
            use arbitrary::Arbitrary as _;
            let Ok(product) =
                crate::contract::Product::arbitrary_take_rest(arbitrary::Unstructured::new(&bytes))
            else {
                return Ok(());
            };
            proptest::prop_assert_eq!(to_value(&product).expect("converts"), through_json(&product));
        }
    }

    #[test]
    fn a_key_json_cannot_hold_is_an_error() {
        let map = BTreeMap::from([(vec![1u8], 1u8)]);
        assert!(to_value(&map).is_err());
        assert!(serde_json::to_string(&map).is_err());
    }
}
