//! Query parameters to a request message (docs/reference.md section 4, "Binding a request").
//!
//! Generated code describes each message's fields once ([`QuerySchema`]); the parameters are
//! checked against it and turned into the message's proto3 JSON, which the message's generated
//! `Deserialize` then reads, so every value is parsed by the same codecs as a JSON body:
//! - `a.b.c=v` reaches nested singular messages; proto and JSON names both work;
//! - a repeated field repeats its key (`?tag=a&tag=b`); a map takes `m[key]=v`;
//! - enums by name or number, bools as `true/false/1/0`, well-known types in their JSON string
//!   form (`2024-01-01T00:00:00Z`, `1.5s`, `a,b.c`), `+` is a space;
//! - errors name the parameter as sent: a singular field given twice, two members of one oneof,
//!   a repeated message or other field a query cannot set, a bad value (also one only the
//!   message's reader finds: a number out of range, a bad timestamp, map key or base64, see
//!   [`blame`]);
//! - parameters naming no field are ignored, or rejected when asked.

mod flat;
mod mask;
mod object;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde_json::Value;

pub use flat::{Flat, FlatField};
pub use mask::field_mask_paths;
pub(crate) use mask::within;
#[doc(hidden)]
pub use object::Scalar;
pub use object::{set_path, to_json};

/// The fields of a message, for binding query parameters. Generated for every message.
pub trait QuerySchema {
    /// The message's fields.
    fn query_fields() -> &'static [QueryField];

    /// Sets field `index` of [`query_fields`](Self::query_fields) from one checked value of a
    /// top-level path variable or query parameter (appends it, for a repeated field), as reading
    /// the value's JSON would: generated for the fields of plain types (strings, integers, bools,
    /// enums), taking owned text out of `value`. `false` when the field is not one of those or
    /// the value does not fit it, `value` then untouched: the message is then read through its
    /// serde impl, which also words the error. A field that takes one text takes every text.
    #[doc(hidden)]
    fn set_field(&mut self, _index: usize, _value: &mut Scalar<'_>) -> bool {
        false
    }
}

/// `google.api.HttpBody` as a request: its fields can be set like any message's, though its
/// body is normally the raw request body.
impl QuerySchema for crate::google::api::HttpBody {
    fn query_fields() -> &'static [QueryField] {
        const FIELDS: &[QueryField] = &[
            QueryField::new(
                "content_type",
                "contentType",
                QueryKind::Text,
                Cardinality::Singular,
                None,
            ),
            QueryField::new("data", "data", QueryKind::Text, Cardinality::Singular, None),
            QueryField::new(
                "extensions",
                "extensions",
                QueryKind::Unsupported,
                Cardinality::Repeated,
                None,
            ),
        ];
        FIELDS
    }
}

/// Well-known types as whole requests (`rpc M(google.protobuf.Duration)`, as grpc-gateway's
/// examples declare): no field a query or path can set; the body is their JSON form.
macro_rules! no_query_fields {
    ($($t:ty),* $(,)?) => {$(
        impl QuerySchema for $t {
            fn query_fields() -> &'static [QueryField] {
                &[]
            }
        }
    )*};
}

no_query_fields!(
    crate::wkt::Any,
    crate::wkt::Timestamp,
    crate::wkt::Duration,
    crate::wkt::FieldMask,
    crate::wkt::Struct,
    crate::wkt::Value,
    crate::wkt::ListValue,
);

/// One field of a [`QuerySchema`].
#[derive(Debug, Clone, Copy)]
pub struct QueryField {
    /// The name in the .proto file, `page_size`.
    pub proto_name: &'static str,
    /// The JSON name, `pageSize`.
    pub json_name: &'static str,
    pub kind: QueryKind,
    pub cardinality: Cardinality,
    /// The oneof the field belongs to, if any (not for proto3 `optional`).
    pub oneof: Option<&'static str>,
}

impl QueryField {
    /// A field; generated code lists them with this, one line each.
    pub const fn new(
        proto_name: &'static str,
        json_name: &'static str,
        kind: QueryKind,
        cardinality: Cardinality,
        oneof: Option<&'static str>,
    ) -> Self {
        QueryField {
            proto_name,
            json_name,
            kind,
            cardinality,
            oneof,
        }
    }
}

/// How a field's text is turned into JSON.
#[derive(Debug, Clone, Copy)]
pub enum QueryKind {
    /// `true`, `false`, `1` or `0`.
    Bool,
    /// Any integer: passed on as a JSON string, which proto3 JSON reads for every integer type.
    Integer,
    /// `float` or `double`, also `NaN`, `Infinity`, `-Infinity`.
    Float,
    /// Strings, bytes (base64), and well-known types whose JSON is a string (Timestamp,
    /// Duration, FieldMask).
    Text,
    /// An enum: a name (looked up with the function, the enum's `ProtoEnum::number_of`), or a
    /// number.
    Enum(fn(&str) -> Option<i32>),
    /// A message whose fields the query can reach with `field.sub=v`.
    Message(fn() -> &'static [QueryField]),
    /// A message or well-known type the query cannot set (`Struct`, `Value`, `Any`, ...).
    Unsupported,
}

/// Singular, repeated, or a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardinality {
    Singular,
    Repeated,
    /// A map; the kind is the value's.
    Map,
}

/// The query's `(name, value)` pairs, decoded as `application/x-www-form-urlencoded` (what
/// `form_urlencoded::parse` gives: `&` separates pairs, empty ones are skipped, the first `=`
/// ends the name, `+` is a space, `%XX` a byte), except that nothing is lost: a `%` without two
/// hexadecimal digits after it, or escapes that decode to bytes that are not UTF-8, are an
/// error (a 400) where `form_urlencoded` would keep the `%` or put U+FFFD in the text
/// (docs/reference.md section 4.2). Text with neither `+` nor `%` is borrowed as it is, with no
/// second look at it.
pub(crate) fn pairs(query: &str) -> Pairs<'_> {
    Pairs { rest: query }
}

/// The iterator [`pairs`] returns: one pass over each pair's bytes finds its end, its `=` and
/// whether its name or value needs decoding.
pub(crate) struct Pairs<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Result<(Cow<'a, str>, Cow<'a, str>), tonic::Status>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let bytes = self.rest.as_bytes();
            let mut end = 0;
            let mut equals = None;
            // Whether the name, and the value, hold a `+` or a `%`.
            let mut encoded = [false; 2];
            while end < bytes.len() && bytes[end] != b'&' {
                match bytes[end] {
                    b'=' if equals.is_none() => equals = Some(end),
                    b'+' | b'%' => encoded[usize::from(equals.is_some())] = true,
                    _ => {}
                }
                end += 1;
            }
            // Every split is at an ASCII byte, so on a character boundary.
            let pair = &self.rest[..end];
            self.rest = self.rest.get(end + 1..).unwrap_or("");
            if pair.is_empty() {
                continue;
            }
            let (name, value) = match equals {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, ""),
            };
            let decoded = |text, encoded| match encoded {
                true => decode(text),
                false => Ok(Cow::Borrowed(text)),
            };
            // The error names the parameter as sent, and which half of it is at fault.
            let fault =
                |half: &str, why: &str| invalid(format!("query parameter `{name}`: {half} {why}"));
            return Some(match decoded(name, encoded[0]) {
                Err(why) => Err(fault("its name", why)),
                Ok(key) => match decoded(value, encoded[1]) {
                    Err(why) => Err(fault(&format!("its value `{value}`"), why)),
                    Ok(value) => Ok((key, value)),
                },
            });
        }
    }
}

/// `text` with `+` and `%XX` decoded; a stray `%` or bytes that are not UTF-8 are an error,
/// saying which.
fn decode(text: &str) -> Result<Cow<'_, str>, &'static str> {
    let hex = |b: u8| char::from(b).to_digit(16);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            ) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 2;
                }
                _ => return Err("has a `%` not followed by two hexadecimal digits"),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| "has percent escapes that decode to bytes that are not UTF-8")
}

/// An error binding the query: the message is for the client (a 400).
pub fn invalid(message: impl Into<String>) -> tonic::Status {
    tonic::Status::invalid_argument(message)
}

/// Reads the message `T` from a query string (without the `?`). Parameters naming a field
/// under one of `bound` (dotted proto paths bound by the path or the body) are skipped: those
/// sources win. With `reject_unknown`, a parameter naming no field is an error.
pub fn bind<T: QuerySchema + DeserializeOwned + Default>(
    query: &str,
    bound: &[&str],
    reject_unknown: bool,
) -> Result<T, tonic::Status> {
    if query.is_empty() {
        return Ok(T::default());
    }
    let object = to_json(T::query_fields(), query, bound, reject_unknown)?;
    T::deserialize(Value::Object(object)).map_err(|e| {
        blame(T::query_fields(), query, bound, |value| {
            T::deserialize(value).err().map(|e| e.to_string())
        })
        .unwrap_or_else(|| invalid(format!("invalid query parameters: {e}")))
    })
}

/// The parameter a message's reader rejects, once the message made from the whole query did
/// not read: each parameter is read again alone, so a value only the reader can judge (a number
/// out of range for its field, a timestamp, duration, map key or base64 text) is reported under
/// the name the client sent, `shelf_rows[x]` rather than `shelfRows`. `reject` says why a JSON
/// object is not the message (without a path: the object holds one value), or `None` when it is.
/// `None` when every parameter reads alone: the fault is elsewhere (a path variable, the body).
pub fn blame(
    fields: &'static [QueryField],
    query: &str,
    bound: &[&str],
    reject: impl Fn(Value) -> Option<String>,
) -> Option<tonic::Status> {
    // Undecodable pairs were reported before the reader ran.
    pairs(query).flatten().find_map(|(key, value)| {
        let alone = form_urlencoded::Serializer::new(String::new())
            .append_pair(&key, &value)
            .finish();
        // Errors `to_json` finds itself were reported before the reader ran.
        let object = to_json(fields, &alone, bound, false).ok()?;
        if object.is_empty() {
            return None;
        }
        reject(Value::Object(object)).map(|why| invalid(format!("query parameter `{key}`: {why}")))
    })
}
