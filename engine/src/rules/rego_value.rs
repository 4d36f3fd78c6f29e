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

use crate::projection::Need;

/// Converts `value` to a regorus value.
///
/// # Errors
/// A type JSON cannot hold (a map key that is not a string or a number), or the model's own
/// serialization error.
pub(crate) fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, String> {
    to_value_projected(value, Need::all())
}

/// Converts only what `need` keeps of `value`: the [projection](Need::project) of
/// [`to_value`]'s value, without converting the rest (a test holds the two equal).
///
/// # Errors
/// As [`to_value`], for the parts converted.
pub(crate) fn to_value_projected<T: Serialize + ?Sized>(
    value: &T,
    need: &Need,
) -> Result<Value, String> {
    value.serialize(Serializer(need)).map_err(|e| e.0)
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

/// Converts what its need keeps of a value.
struct Serializer<'n>(&'n Need);

/// A struct's field name as a key: one shared string per name and thread, as regorus's
/// own JSON reader shares keys (ten thousand products hold the same few dozen names).
fn field_key(name: &'static str) -> Value {
    thread_local! {
        // foldhash, not SipHash: the names are the model's own, and this runs for every key
        // of every value converted.
        static KEYS: std::cell::RefCell<foldhash::HashMap<&'static str, Value>> =
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

impl<'n> ser::Serializer for Serializer<'n> {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = Seq<'n>;
    type SerializeTuple = Seq<'n>;
    type SerializeTupleStruct = Seq<'n>;
    type SerializeTupleVariant = Variant<Seq<'n>>;
    type SerializeMap = Map<'n>;
    type SerializeStruct = Map<'n>;
    type SerializeStructVariant = Variant<Map<'n>>;

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
        // `{name: content}`: an object, which keeps `name` only if the need does.
        Ok(match self.0.kept(Some(name)) {
            Some(need) => variant(name, value.serialize(Serializer(need))?),
            None => object(BTreeMap::new()),
        })
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Seq<'n>, Error> {
        Ok(Seq {
            items: Vec::with_capacity(len.unwrap_or(0)),
            need: self.0.element(),
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Seq<'n>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq<'n>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        name: &'static str,
        len: usize,
    ) -> Result<Variant<Seq<'n>>, Error> {
        let inner = match self.0.kept(Some(name)) {
            Some(need) => Some(Serializer(need).serialize_seq(Some(len))?),
            None => None,
        };
        Ok(Variant { name, inner })
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Map<'n>, Error> {
        Ok(Map::new(self.0))
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Map<'n>, Error> {
        Ok(Map::new(self.0))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        name: &'static str,
        _len: usize,
    ) -> Result<Variant<Map<'n>>, Error> {
        let inner = self.0.kept(Some(name)).map(Map::new);
        Ok(Variant { name, inner })
    }
}

/// An array being built; `need` is what is kept of each element.
pub(crate) struct Seq<'n> {
    items: Vec<Value>,
    need: &'n Need,
}

impl Seq<'_> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.items.push(value.serialize(Serializer(self.need))?);
        Ok(())
    }

    fn finish(self) -> Value {
        Value::from(self.items)
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = Value;
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = Value;
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = Value;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

/// An object being built; `key` waits for its value, `need` says which keys are kept.
pub(crate) struct Map<'n> {
    entries: BTreeMap<Value, Value>,
    key: Option<Value>,
    need: &'n Need,
}

impl<'n> Map<'n> {
    fn new(need: &'n Need) -> Self {
        Self {
            entries: BTreeMap::new(),
            key: None,
            need,
        }
    }

    /// Adds `value` at `key` if the need keeps that key (a value not kept is not converted).
    fn insert<T: Serialize + ?Sized>(&mut self, key: Value, value: &T) -> Result<(), Error> {
        let name = key.as_string().ok().map(AsRef::as_ref);
        if let Some(value) = self.kept(name, value)? {
            self.entries.insert(key, value);
        }
        Ok(())
    }

    /// [`Map::insert`] for a struct's field: its key is made only if it is kept.
    fn insert_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        if let Some(value) = self.kept(Some(name), value)? {
            self.entries.insert(field_key(name), value);
        }
        Ok(())
    }

    /// `value` converted, if the need keeps the key `name`.
    fn kept<T: Serialize + ?Sized>(
        &self,
        name: Option<&str>,
        value: &T,
    ) -> Result<Option<Value>, Error> {
        self.need
            .kept(name)
            .map(|need| value.serialize(Serializer(need)))
            .transpose()
    }
}

impl ser::SerializeMap for Map<'_> {
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

impl ser::SerializeStruct for Map<'_> {
    type Ok = Value;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.insert_field(key, value)
    }

    fn end(self) -> Result<Value, Error> {
        Ok(object(self.entries))
    }
}

/// The content of a tuple or struct variant, to be wrapped in `{name: content}`; `None`
/// when the need does not keep `name` (the variant is then `{}`).
pub(crate) struct Variant<T> {
    name: &'static str,
    inner: Option<T>,
}

impl ser::SerializeTupleVariant for Variant<Seq<'_>> {
    type Ok = Value;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.inner
            .as_mut()
            .map_or(Ok(()), |inner| inner.push(value))
    }

    fn end(self) -> Result<Value, Error> {
        Ok(match self.inner {
            Some(inner) => variant(self.name, inner.finish()),
            None => object(BTreeMap::new()),
        })
    }
}

impl ser::SerializeStructVariant for Variant<Map<'_>> {
    type Ok = Value;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.inner
            .as_mut()
            .map_or(Ok(()), |inner| inner.insert_field(key, value))
    }

    fn end(self) -> Result<Value, Error> {
        Ok(match self.inner {
            Some(inner) => variant(self.name, object(inner.entries)),
            None => object(BTreeMap::new()),
        })
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

    /// Every product the sample files hold, by file.
    fn sample_products() -> Vec<(String, crate::contract::Product)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
        let settings = crate::contract::ReaderSettings::default();
        let mut products = Vec::new();
        for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
            let entry = entry.expect("a readable tree");
            if entry.path().extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let bytes = std::fs::read(entry.path()).expect("readable");
            if let Ok(contract) = crate::contract::read_bytes("c.yaml", &bytes, &settings) {
                products.push((entry.path().display().to_string(), contract.product));
            }
        }
        assert!(products.len() >= 20, "only {} products", products.len());
        products
    }

    #[test]
    fn every_sample_product_converts_as_its_json_text_does() {
        for (file, product) in sample_products() {
            let direct = to_value(&product).expect("converts");
            assert_eq!(direct, through_json(&product), "{file}");
        }
    }

    /// A value of every shape serde gives a serializer.
    fn shapes() -> impl Serialize {
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
        All {
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
        }
    }

    #[test]
    fn scalars_and_shapes_convert_as_json_does() {
        let value = shapes();
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
            assert_projects(&product, "a generated product");
        }
    }

    /// Needs to project with: the default pack's (its rules' reads of `input` and of each
    /// product), and some of every kind (keys, every key, each element, whole below).
    fn needs() -> Vec<Need> {
        use crate::projection::need::{Step, Use};
        let key = |k: &str| Step::Key(k.to_owned());
        let marked = |marks: &[(&[Step], Use)]| {
            let mut need = Need::default();
            for (path, how) in marks {
                need.mark(path, *how);
            }
            need.settle();
            need
        };
        let pack = crate::pack::PolicyPack::from_files(charter_policies::files())
            .expect("the default pack");
        let rules = crate::rules::RuleSet::compile(&pack, crate::rules::RuleSetOptions::default())
            .expect("compiles");
        vec![
            (**rules
                .input_need()
                .expect("the default pack reads part of a product"))
            .clone(),
            Need::default(),
            marked(&[(&[], Use::Keys)]),
            marked(&[(&[key("fields"), Step::Any, key("name")], Use::Whole)]),
            marked(&[
                (&[key("lineage")], Use::Whole),
                (&[key("sla"), key("availability")], Use::Whole),
                (&[key("quality")], Use::Keys),
            ]),
            marked(&[
                (&[key("shapes"), Step::Any, key("Newtype")], Use::Whole),
                (
                    &[key("shapes"), Step::Any, key("Struct"), key("a")],
                    Use::Whole,
                ),
                (&[key("keys"), key("10")], Use::Whole),
                (&[key("json"), key("x"), Step::Any], Use::Keys),
            ]),
        ]
    }

    /// The conversion of what a need keeps is the need's projection of the whole value (as
    /// its JSON text gives it).
    fn assert_projects<T: Serialize>(value: &T, what: &str) {
        let whole = through_json(value);
        for need in needs() {
            let shared = crate::projection::shared::Shared::default();
            assert_eq!(
                to_value_projected(value, &need).expect("converts"),
                need.project(&whole, &shared),
                "{what} under {need:?}"
            );
        }
    }

    #[test]
    fn a_projected_conversion_is_the_projection_of_the_whole() {
        for (file, product) in sample_products() {
            assert_projects(&product, &file);
        }
        assert_projects(&shapes(), "every shape");
    }

    #[test]
    fn a_key_json_cannot_hold_is_an_error() {
        let map = BTreeMap::from([(vec![1u8], 1u8)]);
        assert!(to_value(&map).is_err());
        assert!(serde_json::to_string(&map).is_err());
    }
}
