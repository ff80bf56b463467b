//! [`Flat`]: the common GET read straight into the message, with no JSON in between.

use std::borrow::Cow;

use serde::de::value::{BorrowedStrDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::Deserializer;

use super::object::Scalar;
use super::{Cardinality, QueryField};

/// The message made of path variables and query parameters that all name top-level singular
/// or repeated scalar fields outside any oneof (the common GET), as a serde `Deserializer`
/// that hands the message each value as [`to_json`] would have put it in the JSON: the message
/// is read with no [`Value`] tree and no JSON text in between.
pub struct Flat<'a> {
    members: Vec<(&'static str, Member<'a>)>,
}

enum Member<'a> {
    One(Scalar<'a>),
    Many(Vec<Scalar<'a>>),
}

impl<'a> Flat<'a> {
    /// `None` for anything else (a nested or map parameter, a oneof member, a field given
    /// twice, a bad value, an unknown parameter when those are rejected): [`to_json`] and
    /// [`set_path`] then build the message and word the error.
    pub(crate) fn new(
        fields: &'static [QueryField],
        query: &'a str,
        bindings: &'a [(&'static str, String)],
        reject_unknown: bool,
    ) -> Option<Self> {
        Self::beside(fields, query, bindings, reject_unknown, None)
    }

    /// [`Flat::new`] for a request whose body sets the top-level field `body_field` (proto
    /// name): query parameters naming it are skipped, as [`to_json`] skips what is bound.
    pub(crate) fn beside_body(
        fields: &'static [QueryField],
        query: &'a str,
        bindings: &'a [(&'static str, String)],
        reject_unknown: bool,
        body_field: &str,
    ) -> Option<Self> {
        Self::beside(fields, query, bindings, reject_unknown, Some(body_field))
    }

    fn beside(
        fields: &'static [QueryField],
        query: &'a str,
        bindings: &'a [(&'static str, String)],
        reject_unknown: bool,
        body_field: Option<&str>,
    ) -> Option<Self> {
        if fields.len() > 64 {
            return None;
        }
        let simple = |index: usize| {
            let field = &fields[index];
            field.oneof.is_none() && field.cardinality != Cardinality::Map
        };
        let find = |name: &str| {
            fields
                .iter()
                .position(|f| f.proto_name == name || f.json_name == name)
        };
        let mut members = Vec::with_capacity(fields.len());
        // Fields set so far, by index: path variables, then singular query parameters.
        let mut set = 0u64;
        for (name, value) in bindings {
            let index = find(name)?;
            let field = &fields[index];
            if !simple(index) || field.cardinality != Cardinality::Singular {
                return None;
            }
            set |= 1 << index;
            let value = Scalar::parse(field.kind, Cow::Borrowed(value), name).ok()?;
            members.push((field.json_name, Member::One(value)));
        }
        let mut bound = set;
        if let Some(body_field) = body_field {
            bound |= 1 << fields.iter().position(|f| f.proto_name == body_field)?;
        }
        let mut values = Vec::with_capacity(8);
        for (key, value) in super::pairs(query) {
            if key.bytes().any(|b| b == b'.' || b == b'[') {
                return None;
            }
            let Some(index) = find(&key) else {
                if reject_unknown {
                    return None;
                }
                continue;
            };
            if bound & (1 << index) != 0 {
                continue;
            }
            let field = &fields[index];
            if !simple(index) {
                return None;
            }
            if field.cardinality == Cardinality::Singular {
                if set & (1 << index) != 0 {
                    return None;
                }
                set |= 1 << index;
            }
            values.push((index, Scalar::parse(field.kind, value, &key).ok()?));
        }
        // Repeated values stay in the order sent; each field becomes one member.
        values.sort_by_key(|(index, _)| *index);
        let mut values = values.into_iter().peekable();
        while let Some((index, value)) = values.next() {
            let field = &fields[index];
            let member = match field.cardinality {
                Cardinality::Repeated => {
                    let mut list = Vec::with_capacity(4);
                    list.push(value);
                    while let Some((_, value)) = values.next_if(|(next, _)| *next == index) {
                        list.push(value);
                    }
                    Member::Many(list)
                }
                _ => Member::One(value),
            };
            members.push((field.json_name, member));
        }
        Some(Flat { members })
    }
}

impl Flat<'_> {
    /// Writes each member as `"jsonName":value,` (the JSON [`to_json`] and [`set_path`] would
    /// have built), for a message text that goes on with more members.
    pub(crate) fn write_members(self, out: &mut Vec<u8>) {
        for (name, member) in self.members {
            write_string(out, name);
            out.push(b':');
            match member {
                Member::One(value) => write_scalar(out, value),
                Member::Many(values) => {
                    out.push(b'[');
                    for (i, value) in values.into_iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        write_scalar(out, value);
                    }
                    out.push(b']');
                }
            }
            out.push(b',');
        }
    }
}

fn write_scalar(out: &mut Vec<u8>, value: Scalar<'_>) {
    match value {
        Scalar::Bool(true) => out.extend_from_slice(b"true"),
        Scalar::Bool(false) => out.extend_from_slice(b"false"),
        Scalar::Text(text) => write_string(out, &text),
        Scalar::Number(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
    }
}

fn write_string(out: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(out, text).expect("a string writes to memory");
}

type FlatError = serde::de::value::Error;

impl<'de> Deserializer<'de> for Flat<'de> {
    type Error = FlatError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FlatError> {
        visitor.visit_map(Members {
            members: self.members.into_iter(),
            value: None,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct Members<'de> {
    members: std::vec::IntoIter<(&'static str, Member<'de>)>,
    value: Option<Member<'de>>,
}

impl<'de> MapAccess<'de> for Members<'de> {
    type Error = FlatError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, FlatError> {
        let Some((name, value)) = self.members.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(BorrowedStrDeserializer::new(name))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, FlatError> {
        match self.value.take() {
            Some(value) => seed.deserialize(value),
            None => Err(de::Error::custom("a value before its key")),
        }
    }
}

/// A member reads as its JSON (what `serde_json::Value` hands a reader): a value or an array of
/// them, a number as `u64` or `i64`, and `Some` of an `Option`.
impl<'de> Deserializer<'de> for Member<'de> {
    type Error = FlatError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FlatError> {
        match self {
            Member::One(Scalar::Bool(b)) => visitor.visit_bool(b),
            Member::One(Scalar::Text(Cow::Borrowed(text))) => visitor.visit_borrowed_str(text),
            Member::One(Scalar::Text(Cow::Owned(text))) => visitor.visit_string(text),
            Member::One(Scalar::Number(n)) => match u64::try_from(n) {
                Ok(n) => visitor.visit_u64(n),
                Err(_) => visitor.visit_i64(n.into()),
            },
            Member::Many(list) => {
                visitor.visit_seq(SeqDeserializer::new(list.into_iter().map(Member::One)))
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FlatError> {
        visitor.visit_some(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, FlatError> for Member<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}
