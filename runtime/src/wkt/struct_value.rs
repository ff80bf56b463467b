//! `Struct`, `Value`, `ListValue` and `NullValue`: any JSON.

use std::collections::btree_map::Entry as MapEntry;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::json::codec;

/// A JSON object.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Struct {
    /// The object's members.
    #[prost(btree_map = "string, message", tag = "1")]
    pub fields: BTreeMap<String, Value>,
}

/// Any JSON value. A `Value` with no kind set cannot be written as JSON.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Value {
    /// Which kind of value this is.
    #[prost(oneof = "value::Kind", tags = "1, 2, 3, 4, 5, 6")]
    pub kind: Option<value::Kind>,
}

/// Nested types of [`Value`].
pub mod value {
    /// The kinds of JSON value.
    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum Kind {
        /// `null` (the number is a [`NullValue`](super::NullValue), always 0).
        #[prost(enumeration = "super::NullValue", tag = "1")]
        NullValue(i32),
        /// A number; NaN and infinities cannot be written as JSON.
        #[prost(double, tag = "2")]
        NumberValue(f64),
        /// A string.
        #[prost(string, tag = "3")]
        StringValue(String),
        /// `true` or `false`.
        #[prost(bool, tag = "4")]
        BoolValue(bool),
        /// An object.
        #[prost(message, tag = "5")]
        StructValue(super::Struct),
        /// An array.
        #[prost(message, tag = "6")]
        ListValue(super::ListValue),
    }
}

/// A JSON array.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ListValue {
    /// The elements.
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<Value>,
}

/// JSON `null`, as an enum with the single value `NULL_VALUE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]
#[repr(i32)]
pub enum NullValue {
    /// `null`.
    NullValue = 0,
}

impl NullValue {
    /// The proto name of the value, `NULL_VALUE`.
    pub fn as_str_name(&self) -> &'static str {
        match self {
            Self::NullValue => "NULL_VALUE",
        }
    }

    /// The value with proto name `name`.
    pub fn from_str_name(name: &str) -> Option<Self> {
        match name {
            "NULL_VALUE" => Some(Self::NullValue),
            _ => None,
        }
    }
}

impl Serialize for Struct {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.fields.len()))?;
        for (key, value) in &self.fields {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl Serialize for ListValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.values.len()))?;
        for value in &self.values {
            seq.serialize_element(value)?;
        }
        seq.end()
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use value::Kind;
        match &self.kind {
            None => Err(ser::Error::custom(
                "cannot write google.protobuf.Value as JSON: no kind is set",
            )),
            Some(Kind::NullValue(_)) => s.serialize_unit(),
            Some(Kind::NumberValue(n)) if n.is_finite() => codec::write_number(*n, s),
            Some(Kind::NumberValue(n)) => Err(ser::Error::custom(format_args!(
                "cannot write google.protobuf.Value as JSON: {n} is not a JSON number"
            ))),
            Some(Kind::StringValue(v)) => s.serialize_str(v),
            Some(Kind::BoolValue(v)) => s.serialize_bool(*v),
            Some(Kind::StructValue(v)) => v.serialize(s),
            Some(Kind::ListValue(v)) => v.serialize(s),
        }
    }
}

impl Serialize for NullValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

fn read_struct<'de, A: MapAccess<'de>>(mut map: A) -> Result<Struct, A::Error> {
    let mut fields = BTreeMap::new();
    while let Some(key) = map.next_key::<String>()? {
        match fields.entry(key) {
            MapEntry::Occupied(e) => {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{}` in object",
                    e.key()
                )))
            }
            MapEntry::Vacant(e) => {
                e.insert(map.next_value::<Value>()?);
            }
        }
    }
    Ok(Struct { fields })
}

fn read_list<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<ListValue, A::Error> {
    let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
    while let Some(value) = seq.next_element::<Value>()? {
        values.push(value);
    }
    Ok(ListValue { values })
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(kind(value::Kind::NullValue(NullValue::NullValue as i32)))
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(kind(value::Kind::BoolValue(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(kind(value::Kind::NumberValue(v as f64)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(kind(value::Kind::NumberValue(v as f64)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(kind(value::Kind::NumberValue(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(kind(value::Kind::StringValue(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(kind(value::Kind::StringValue(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        read_list(seq).map(|list| kind(value::Kind::ListValue(list)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        read_struct(map).map(|s| kind(value::Kind::StructValue(s)))
    }
}

pub(super) fn kind(kind: value::Kind) -> Value {
    Value { kind: Some(kind) }
}

impl<'de> Deserialize<'de> for Value {
    /// Reads any JSON value; `null` is a [`NullValue`].
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

impl<'de> Deserialize<'de> for Struct {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Struct;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Struct, A::Error> {
                read_struct(map)
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for ListValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ListValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<ListValue, A::Error> {
                read_list(seq)
            }
        }
        d.deserialize_seq(V)
    }
}

impl<'de> Deserialize<'de> for NullValue {
    /// Reads `null`; also the enum's name `"NULL_VALUE"` and number `0`.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NullValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<NullValue, E> {
                Ok(NullValue::NullValue)
            }
            fn visit_none<E: de::Error>(self) -> Result<NullValue, E> {
                Ok(NullValue::NullValue)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NullValue, E> {
                NullValue::from_str_name(v)
                    .ok_or_else(|| E::custom(format_args!("unknown NullValue `{v}`")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NullValue, E> {
                match v {
                    0 => Ok(NullValue::NullValue),
                    _ => Err(E::custom(format_args!("unknown NullValue {v}"))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NullValue, E> {
                match v {
                    0 => Ok(NullValue::NullValue),
                    _ => Err(E::custom(format_args!("unknown NullValue {v}"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}
