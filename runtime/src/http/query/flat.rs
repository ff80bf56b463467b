//! [`Flat`]: the common GET read straight into the message, with no JSON in between.

use std::borrow::Cow;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserializer;

use super::object::Scalar;
use super::{Cardinality, QueryField, QueryKind, QuerySchema};

/// The message made of path variables and query parameters that all name top-level singular
/// or repeated scalar fields outside any oneof (the common GET), as a serde `Deserializer`
/// that hands the message each value as [`to_json`](super::to_json) would have put it in the JSON: the message
/// is read with no [`Value`](serde_json::Value) tree and no JSON text in between.
pub struct Flat<'a> {
    fields: &'static [QueryField],
    /// `(field index, value)` by field; a repeated field's values in the order sent. Each
    /// field (each run of one index) is one member of the message.
    values: Vec<(usize, Scalar<'a>)>,
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
        let mut values = Vec::with_capacity(bindings.len() + 8);
        let each = |index, value, _| {
            values.push((index, value));
            true
        };
        read(fields, query, bindings, reject_unknown, body_field, each)?;
        // A stable sort: repeated values stay in the order sent. Parameters usually come in
        // field order already.
        if !values.is_sorted_by_key(|(index, _)| *index) {
            values.sort_by_key(|(index, _)| *index);
        }
        Some(Flat { fields, values })
    }

    /// The message `T` with every top-level value set directly through
    /// [`QuerySchema::set_field`] as it is read, in one pass with no list of values and no
    /// serde in between; `None` where [`Flat::new`] is, and when some field is not set that way
    /// (a field with no arm, a value that does not fit): [`Flat`] and serde then read it.
    ///
    /// A path variable of a text field moves into the message once nothing else can fail (it
    /// is checked first by setting an empty text); `bindings` keeps the others, and all of them
    /// when this returns `None`.
    pub(crate) fn set<T: QuerySchema + Default>(
        query: &str,
        bindings: &mut [(&'static str, String)],
        reject_unknown: bool,
    ) -> Option<T> {
        let fields = T::query_fields();
        let mut message = T::default();
        // The fields whose path variable moves in at the end.
        let mut moved = 0u64;
        let each = |index: usize, mut value: Scalar<'_>, from_path: bool| {
            if from_path && matches!(fields[index].kind, QueryKind::Text) {
                moved |= 1 << index;
                value = Scalar::Text(Cow::Borrowed(""));
            }
            message.set_field(index, &mut value)
        };
        read(fields, query, bindings, reject_unknown, None, each)?;
        if moved != 0 {
            for (name, text) in bindings.iter_mut() {
                let Some(index) = find(fields, name).filter(|i| moved & (1 << i) != 0) else {
                    continue;
                };
                let mut value = Scalar::Text(Cow::Owned(std::mem::take(text)));
                // The field took an empty text above, so it takes this one (see `set_field`).
                if !message.set_field(index, &mut value) {
                    if let Scalar::Text(Cow::Owned(back)) = value {
                        *text = back;
                    }
                    return None;
                }
            }
        }
        Some(message)
    }
}

/// The index of the field `name` (proto or JSON name) in `fields`.
#[inline]
fn find(fields: &[QueryField], name: &str) -> Option<usize> {
    fields
        .iter()
        .position(|f| same(f.proto_name, name) || same(f.json_name, name))
}

/// Checks the path variables `bindings`, then the parameters of `query`, and hands each value
/// to `each` with its field's index and whether it is a path variable, path variables first, then parameters in the order sent
/// (parameters naming a bound field, or `body_field`, are skipped); `None` on what only the
/// general way binds (see [`Flat::new`]) or when `each` refuses a value.
fn read<'a>(
    fields: &'static [QueryField],
    query: &'a str,
    bindings: &'a [(&'static str, String)],
    reject_unknown: bool,
    body_field: Option<&str>,
    mut each: impl FnMut(usize, Scalar<'a>, bool) -> bool,
) -> Option<()> {
    if fields.len() > 64 {
        return None;
    }
    let simple = |index: usize| {
        let field = &fields[index];
        field.oneof.is_none() && field.cardinality != Cardinality::Map
    };
    let find = |name: &str| find(fields, name);
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
        if !each(index, value, true) {
            return None;
        }
    }
    let mut bound = set;
    if let Some(body_field) = body_field {
        bound |= 1 << fields.iter().position(|f| f.proto_name == body_field)?;
    }
    for pair in super::pairs(query) {
        // The general way reports an undecodable pair.
        let (key, value) = pair.ok()?;
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
        if !each(index, Scalar::parse(field.kind, value, &key).ok()?, false) {
            return None;
        }
    }
    Some(())
}

/// A field type [`QuerySchema::set_field`] sets directly: what the field's proto3 JSON codec
/// reads from the value [`Scalar`] stands for. A list appends, an `Option` becomes `Some`.
#[doc(hidden)]
pub trait FlatField {
    /// Sets (or appends) `value`, taking its text when it owns it; `false` when it is not this
    /// type's (an integer out of range), `value` then untouched.
    fn set_flat(&mut self, value: &mut Scalar<'_>) -> bool;
}

impl FlatField for String {
    fn set_flat(&mut self, value: &mut Scalar<'_>) -> bool {
        let Scalar::Text(text) = value else {
            return false;
        };
        *self = match text {
            // Decoded text (or a path variable) moves in.
            Cow::Owned(text) => std::mem::take(text),
            // One allocation of the exact size (growing an empty string costs more).
            Cow::Borrowed(text) => String::from(*text),
        };
        true
    }
}

impl FlatField for bool {
    fn set_flat(&mut self, value: &mut Scalar<'_>) -> bool {
        let Scalar::Bool(b) = value else {
            return false;
        };
        *self = *b;
        true
    }
}

/// The integer `text` holds (optional `-`, digits, checked by [`Scalar`]), as the JSON integer
/// codec reads a string: leading zeros and `-0` are fine, a value out of range is not.
fn integer<T: TryFrom<i128>>(value: &Scalar<'_>) -> Option<T> {
    let Scalar::Text(text) = value else {
        return None;
    };
    text.parse::<i128>().ok().and_then(|n| T::try_from(n).ok())
}

impl FlatField for i32 {
    fn set_flat(&mut self, value: &mut Scalar<'_>) -> bool {
        // An enum field (prost keeps enums as `i32`) gets the number its name stands for.
        let read = match value {
            Scalar::Number(n) => Some(*n),
            _ => integer(value),
        };
        read.map(|n| *self = n).is_some()
    }
}

macro_rules! flat_integer {
    ($($t:ty),*) => {$(
        impl FlatField for $t {
            fn set_flat(&mut self, value: &mut Scalar<'_>) -> bool {
                integer(value).map(|n| *self = n).is_some()
            }
        }
    )*};
}

flat_integer!(i64, u32, u64);

impl<T: FlatField + Default> FlatField for Option<T> {
    fn set_flat(&mut self, value: &mut Scalar<'_>) -> bool {
        let mut read = T::default();
        read.set_flat(value) && {
            *self = Some(read);
            true
        }
    }
}

/// A field prost boxes (the `boxed` option).
impl<T: FlatField> FlatField for Box<T> {
    fn set_flat(&mut self, value: &mut Scalar<'_>) -> bool {
        T::set_flat(self, value)
    }
}

impl<T: FlatField + Default> FlatField for Vec<T> {
    fn set_flat(&mut self, value: &mut Scalar<'_>) -> bool {
        let mut read = T::default();
        read.set_flat(value) && {
            self.push(read);
            true
        }
    }
}

/// `a == b` for short names, compared in place rather than through a `memcmp` call; inlined,
/// so most names are told apart by their length with no call.
#[inline(always)]
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

impl Flat<'_> {
    /// Writes each member as `"jsonName":value,` (the JSON [`to_json`] and [`set_path`] would
    /// have built), for a message text that goes on with more members.
    pub(crate) fn write_members(self, out: &mut Vec<u8>) {
        let mut values = self.values.into_iter().peekable();
        while let Some((index, value)) = values.next() {
            let field = &self.fields[index];
            write_string(out, field.json_name);
            out.push(b':');
            if field.cardinality == Cardinality::Repeated {
                out.push(b'[');
                write_scalar(out, value);
                while let Some((_, value)) = values.next_if(|(next, _)| *next == index) {
                    out.push(b',');
                    write_scalar(out, value);
                }
                out.push(b']');
            } else {
                write_scalar(out, value);
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
            fields: self.fields,
            values: self.values.into_iter().peekable(),
            value: None,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

type Values<'de> = std::iter::Peekable<std::vec::IntoIter<(usize, Scalar<'de>)>>;

struct Members<'de> {
    fields: &'static [QueryField],
    values: Values<'de>,
    /// The first value of the member whose key was read.
    value: Option<(usize, Scalar<'de>)>,
}

impl<'de> MapAccess<'de> for Members<'de> {
    type Error = FlatError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, FlatError> {
        let Some((index, value)) = self.values.next() else {
            return Ok(None);
        };
        self.value = Some((index, value));
        seed.deserialize(BorrowedStrDeserializer::new(self.fields[index].json_name))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, FlatError> {
        let Some((index, first)) = self.value.take() else {
            return Err(de::Error::custom("a value before its key"));
        };
        if self.fields[index].cardinality != Cardinality::Repeated {
            return seed.deserialize(One(first));
        }
        let read = seed.deserialize(Run {
            index,
            first: Some(first),
            rest: &mut self.values,
        });
        // What the reader left of the run is not the next member.
        while self.values.next_if(|(next, _)| *next == index).is_some() {}
        read
    }
}

/// One value, read as its JSON (what `serde_json::Value` hands a reader): a number as `u64`
/// or `i64`, and `Some` of an `Option`.
struct One<'de>(Scalar<'de>);

impl<'de> Deserializer<'de> for One<'de> {
    type Error = FlatError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FlatError> {
        match self.0 {
            Scalar::Bool(b) => visitor.visit_bool(b),
            Scalar::Text(Cow::Borrowed(text)) => visitor.visit_borrowed_str(text),
            Scalar::Text(Cow::Owned(text)) => visitor.visit_string(text),
            Scalar::Number(n) => match u64::try_from(n) {
                Ok(n) => visitor.visit_u64(n),
                Err(_) => visitor.visit_i64(n.into()),
            },
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

/// A repeated field's values, read as a JSON array straight from the run of its index.
struct Run<'a, 'de> {
    index: usize,
    first: Option<Scalar<'de>>,
    rest: &'a mut Values<'de>,
}

impl<'de> Deserializer<'de> for Run<'_, 'de> {
    type Error = FlatError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FlatError> {
        visitor.visit_seq(self)
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

impl<'de> SeqAccess<'de> for Run<'_, 'de> {
    type Error = FlatError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, FlatError> {
        let index = self.index;
        let next = match self.first.take() {
            Some(first) => Some(first),
            None => self
                .rest
                .next_if(|(next, _)| *next == index)
                .map(|(_, value)| value),
        };
        next.map(|value| seed.deserialize(One(value))).transpose()
    }
}
