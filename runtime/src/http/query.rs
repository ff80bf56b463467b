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

use std::borrow::Cow;

use serde::de::value::{BorrowedStrDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::Deserializer;
use serde_json::{Map, Value};

/// The fields of a message, for binding query parameters. Generated for every message.
pub trait QuerySchema {
    /// The message's fields.
    fn query_fields() -> &'static [QueryField];
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
    form_urlencoded::parse(query.as_bytes()).find_map(|(key, value)| {
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

/// The query as the JSON object of the message `fields` describe.
pub fn to_json(
    fields: &'static [QueryField],
    query: &str,
    bound: &[&str],
    reject_unknown: bool,
) -> Result<Map<String, Value>, tonic::Status> {
    let mut root = Map::new();
    // Oneof members set so far, per message path: (oneof, field, parameter).
    let mut oneofs: Vec<(String, &'static str, &'static str, String)> = Vec::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let (path, map_key) = split_map_key(&key)?;
        let Some(resolved) = resolve(fields, path)? else {
            if reject_unknown {
                return Err(invalid(format!(
                    "unknown query parameter `{key}`: no such field"
                )));
            }
            continue;
        };
        if bound.iter().any(|b| within(&resolved.proto_path, b)) {
            continue;
        }
        let field = resolved.field;
        // One member of each oneof, per message.
        if let Some(oneof) = field.oneof {
            let parent = resolved.parent_json.join(".");
            if let Some((_, _, _, first)) = oneofs
                .iter()
                .find(|(p, o, f, _)| *p == parent && *o == oneof && *f != field.proto_name)
            {
                return Err(invalid(format!(
                    "query parameters `{first}` and `{key}` set two members of oneof `{oneof}`"
                )));
            }
            oneofs.push((parent, oneof, field.proto_name, key.to_string()));
        }
        let target = parent_object(&mut root, &resolved.parent_json, &key)?;
        let json = scalar(field.kind, &value, &key)?;
        match (field.cardinality, map_key) {
            (Cardinality::Map, Some(map_key)) => {
                let map = target
                    .entry(field.json_name)
                    .or_insert_with(|| Value::Object(Map::new()));
                let Value::Object(map) = map else {
                    unreachable!("map fields hold objects")
                };
                if map.insert(map_key.to_owned(), json).is_some() {
                    return Err(invalid(format!("query parameter `{key}` is given twice")));
                }
            }
            (Cardinality::Map, None) => {
                return Err(invalid(format!(
                    "query parameter `{key}` is a map: give each entry as `{key}[KEY]=VALUE`"
                )));
            }
            (_, Some(_)) => {
                return Err(invalid(format!(
                    "query parameter `{key}` is not a map field; `[...]` is only for maps"
                )));
            }
            (Cardinality::Repeated, None) => {
                let list = target
                    .entry(field.json_name)
                    .or_insert_with(|| Value::Array(Vec::new()));
                let Value::Array(list) = list else {
                    unreachable!("repeated fields hold arrays")
                };
                list.push(json);
            }
            (Cardinality::Singular, None) => {
                if target.insert(field.json_name.to_owned(), json).is_some() {
                    return Err(invalid(format!(
                        "query parameter `{key}` is given twice but the field is not repeated"
                    )));
                }
            }
        }
    }
    Ok(root)
}

/// Sets the field at the dotted proto path `field` (a path variable) to `value`, converted as
/// its kind says, creating the messages above it; it replaces what body or query set.
///
/// A repeated field takes the value split on `,` (grpc-gateway's extension, which the plugin
/// warns about): `a,b` is the list `["a", "b"]`. The value is split after percent-decoding,
/// as grpc-gateway does, so no element can hold a comma.
pub fn set_path(
    object: &mut Map<String, Value>,
    fields: &'static [QueryField],
    field: &str,
    value: &str,
) -> Result<(), tonic::Status> {
    let Some(resolved) = resolve(fields, field)? else {
        return Err(tonic::Status::internal(format!(
            "path variable `{field}` names no field of the request"
        )));
    };
    let json = match resolved.field.cardinality {
        Cardinality::Repeated => Value::Array(
            value
                .split(',')
                .map(|element| scalar(resolved.field.kind, element, field))
                .collect::<Result<_, _>>()?,
        ),
        _ => scalar(resolved.field.kind, value, field)?,
    };
    let mut target = object;
    for name in &resolved.parent_json {
        let next = target
            .entry(*name)
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        target = next.as_object_mut().expect("made an object above");
    }
    target.insert(resolved.field.json_name.to_owned(), json);
    Ok(())
}

/// The `FieldMask` a PATCH body sets (grpc-gateway's `FieldMaskFromRequestBody`, AIP-134):
/// paths relative to the body field's message, one per key of the body object, nested through
/// singular message fields, so `{"title": .., "author": {"name": ..}}` on the field `book`
/// gives `title`, `author.name` (never `book.title`). Maps, lists, well-known types, other
/// values and empty objects are leaves. Keys may be JSON or proto names; a key that names no
/// field is left out (reading the body ignores or rejects it). The paths come in FieldMask's
/// JSON form: proto names, written lowerCamel.
pub fn field_mask_paths(
    fields: &'static [QueryField],
    body_field: &str,
    body: &Value,
) -> Vec<String> {
    let mut paths = Vec::new();
    let body_message = fields
        .iter()
        .find(|f| f.proto_name == body_field && f.cardinality == Cardinality::Singular);
    if let (
        Some(QueryField {
            kind: QueryKind::Message(nested),
            ..
        }),
        Value::Object(members),
    ) = (body_message, body)
    {
        collect_paths(nested(), "", members, &mut paths);
    }
    // The same mask whatever order the client wrote the keys in.
    paths.sort_unstable();
    paths
}

/// The paths below `prefix` (a proto path ending in `.`, or empty) that `members` set.
fn collect_paths(
    fields: &'static [QueryField],
    prefix: &str,
    members: &Map<String, Value>,
    out: &mut Vec<String>,
) {
    for (key, value) in members {
        let Some(field) = fields
            .iter()
            .find(|f| f.json_name == key || f.proto_name == key)
        else {
            continue;
        };
        let path = format!("{prefix}{}", field.proto_name);
        match (field.kind, field.cardinality, value) {
            (QueryKind::Message(nested), Cardinality::Singular, Value::Object(inner))
                if !inner.is_empty() =>
            {
                collect_paths(nested(), &format!("{path}."), inner, out)
            }
            _ => out.push(crate::wkt::field_path_json(&path)),
        }
    }
}

/// Is `path` the field `bound` or one below it (`a.b` within `a`, not within `ab`)?
pub(crate) fn within(path: &str, bound: &str) -> bool {
    path.strip_prefix(bound)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// `labels[env]` -> (`labels`, `Some("env")`).
fn split_map_key(key: &str) -> Result<(&str, Option<&str>), tonic::Status> {
    let Some(open) = key.find('[') else {
        return Ok((key, None));
    };
    match key[open..].strip_suffix(']') {
        Some(inner) if !inner[1..].contains(['[', ']']) => Ok((&key[..open], Some(&inner[1..]))),
        _ => Err(invalid(format!(
            "query parameter `{key}`: a map entry is written `field[KEY]=VALUE`"
        ))),
    }
}

struct Resolved {
    field: &'static QueryField,
    /// JSON names of the messages above the field.
    parent_json: Vec<&'static str>,
    /// The dotted proto path of the field, to compare with what path and body bind.
    proto_path: String,
}

/// Finds the field a dotted parameter name refers to; `None` when no field has that name.
fn resolve(fields: &'static [QueryField], path: &str) -> Result<Option<Resolved>, tonic::Status> {
    let mut fields = fields;
    let mut parent_json = Vec::new();
    let mut proto_path = String::new();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let Some(field) = fields
            .iter()
            .find(|f| f.proto_name == part || f.json_name == part)
        else {
            return Ok(None);
        };
        if !proto_path.is_empty() {
            proto_path.push('.');
        }
        proto_path.push_str(field.proto_name);
        if parts.peek().is_none() {
            return Ok(Some(Resolved {
                field,
                parent_json,
                proto_path,
            }));
        }
        match (field.kind, field.cardinality) {
            (QueryKind::Message(nested), Cardinality::Singular) => {
                parent_json.push(field.json_name);
                fields = nested();
            }
            _ => {
                return Err(invalid(format!(
                    "query parameter `{path}`: `{}` is not a singular message, so it has no fields to set",
                    field.proto_name
                )))
            }
        }
    }
    Ok(None)
}

/// The object that holds the field, creating the messages on the way.
fn parent_object<'a>(
    root: &'a mut Map<String, Value>,
    parents: &[&'static str],
    key: &str,
) -> Result<&'a mut Map<String, Value>, tonic::Status> {
    let mut object = root;
    for name in parents {
        let next = object
            .entry(*name)
            .or_insert_with(|| Value::Object(Map::new()));
        object = match next {
            Value::Object(map) => map,
            _ => {
                return Err(invalid(format!(
                    "query parameter `{key}`: `{name}` is set as a value and as a message"
                )))
            }
        };
    }
    Ok(object)
}

/// One parameter value as the JSON its field reads.
fn scalar(kind: QueryKind, text: &str, key: &str) -> Result<Value, tonic::Status> {
    Scalar::parse(kind, Cow::Borrowed(text), key).map(Scalar::into_value)
}

/// A checked parameter value, still holding its text: the JSON its field reads, before it
/// becomes a [`Value`] or is read by the message through [`Flat`].
enum Scalar<'a> {
    Bool(bool),
    /// Integers, floats and text all travel as JSON strings.
    Text(Cow<'a, str>),
    /// An enum's number.
    Number(i32),
}

impl<'a> Scalar<'a> {
    fn parse(kind: QueryKind, text: Cow<'a, str>, key: &str) -> Result<Self, tonic::Status> {
        let bad = |what: &str| invalid(format!("query parameter `{key}`: `{text}` is not {what}"));
        Ok(match kind {
            QueryKind::Bool => match &*text {
                "true" | "1" => Scalar::Bool(true),
                "false" | "0" => Scalar::Bool(false),
                _ => return Err(bad("a bool (true, false, 1 or 0)")),
            },
            QueryKind::Integer => {
                let digits = text.strip_prefix('-').unwrap_or(&text);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("an integer"));
                }
                Scalar::Text(text)
            }
            QueryKind::Float => {
                let special = matches!(&*text, "NaN" | "Infinity" | "-Infinity");
                if !special && text.parse::<f64>().is_err() {
                    return Err(bad("a number"));
                }
                Scalar::Text(text)
            }
            QueryKind::Text => Scalar::Text(text),
            QueryKind::Enum(number_of) => {
                match text.parse::<i32>().ok().or_else(|| number_of(&text)) {
                    Some(number) => Scalar::Number(number),
                    None => return Err(bad("a value of the enum")),
                }
            }
            QueryKind::Message(_) => {
                return Err(invalid(format!(
                "query parameter `{key}` names a message; set its fields instead (`{key}.FIELD=VALUE`)"
            )))
            }
            QueryKind::Unsupported => {
                return Err(invalid(format!(
                    "query parameter `{key}`: this field cannot be set from the query string"
                )))
            }
        })
    }

    fn into_value(self) -> Value {
        match self {
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Text(text) => Value::String(text.into_owned()),
            Scalar::Number(n) => Value::from(n),
        }
    }
}

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
        let bound = set;
        let mut values = Vec::with_capacity(8);
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            if key.contains(['.', '[']) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    const fn field(proto: &'static str, json: &'static str, kind: QueryKind) -> QueryField {
        QueryField::new(proto, json, kind, Cardinality::Singular, None)
    }

    const fn with(mut f: QueryField, cardinality: Cardinality) -> QueryField {
        f.cardinality = cardinality;
        f
    }

    const fn in_oneof(mut f: QueryField, oneof: &'static str) -> QueryField {
        f.oneof = Some(oneof);
        f
    }

    fn state(name: &str) -> Option<i32> {
        ["UNSPECIFIED", "ACTIVE", "DONE"]
            .iter()
            .position(|n| *n == name)
            .map(|n| n as i32)
    }

    fn page() -> &'static [QueryField] {
        const PAGE: &[QueryField] = &[
            field("page_size", "pageSize", QueryKind::Integer),
            field("order_by", "orderBy", QueryKind::Text),
            field("parent", "parent", QueryKind::Message(page)),
        ];
        PAGE
    }

    fn request() -> &'static [QueryField] {
        const REQUEST: &[QueryField] = &[
            field("name", "name", QueryKind::Text),
            field("page", "page", QueryKind::Message(page)),
            with(
                field("tags", "tags", QueryKind::Text),
                Cardinality::Repeated,
            ),
            with(field("labels", "labels", QueryKind::Text), Cardinality::Map),
            field("state", "state", QueryKind::Enum(state)),
            field("exact", "exact", QueryKind::Bool),
            field("ratio", "ratio", QueryKind::Float),
            field("since", "since", QueryKind::Text),
            with(
                field("items", "items", QueryKind::Message(page)),
                Cardinality::Repeated,
            ),
            field("extra", "extra", QueryKind::Unsupported),
            in_oneof(field("by_id", "byId", QueryKind::Integer), "key"),
            in_oneof(field("by_email", "byEmail", QueryKind::Text), "key"),
        ];
        REQUEST
    }

    fn ok(query: &str) -> Value {
        Value::Object(to_json(request(), query, &[], false).unwrap())
    }

    fn err(query: &str) -> String {
        to_json(request(), query, &[], false)
            .unwrap_err()
            .message()
            .to_owned()
    }

    #[test]
    fn parameters_become_the_messages_json() {
        let cases = [
            ("name=a+b%2Fc", json!({"name": "a b/c"})),
            (
                "page.page_size=10&page.orderBy=x",
                json!({"page": {"pageSize": "10", "orderBy": "x"}}),
            ),
            (
                "page.parent.pageSize=-3",
                json!({"page": {"parent": {"pageSize": "-3"}}}),
            ),
            ("tags=a&tags=b", json!({"tags": ["a", "b"]})),
            (
                "labels[env]=prod&labels[team]=x",
                json!({"labels": {"env": "prod", "team": "x"}}),
            ),
            ("state=ACTIVE", json!({"state": 1})),
            ("state=2", json!({"state": 2})),
            ("exact=1&ratio=NaN", json!({"exact": true, "ratio": "NaN"})),
            (
                "exact=false&ratio=1.5e3",
                json!({"exact": false, "ratio": "1.5e3"}),
            ),
            (
                "since=2024-01-01T00:00:00Z",
                json!({"since": "2024-01-01T00:00:00Z"}),
            ),
            ("byEmail=a%40b", json!({"byEmail": "a@b"})),
            ("", json!({})),
        ];
        for (query, expected) in cases {
            assert_eq!(ok(query), expected, "{query}");
        }
    }

    /// What the general way makes of `query` and `bindings`: the JSON the message reads.
    fn general(query: &str, bindings: &[(&'static str, String)]) -> Value {
        let bound: Vec<&str> = bindings.iter().map(|(f, _)| *f).collect();
        let mut object = to_json(request(), query, &bound, false).unwrap();
        for (field, value) in bindings {
            set_path(&mut object, request(), field, value).unwrap();
        }
        Value::Object(object)
    }

    #[test]
    fn flat_parameters_read_as_the_json_the_general_way_builds() {
        let name = [("name", "shelves/a b".to_owned())];
        let cases: [(&str, &[(&'static str, String)]); 7] = [
            ("tags=b&exact=1&tags=a&state=DONE&ratio=-1.5", &[]),
            ("name=q&tags=t&state=-2&exact=false", &name),
            ("tags=%C3%A9t%C3%A9&name=a+b%22c&nope=1", &[]),
            ("byId=", &[]),
            ("byId=7", &name),
            ("since=2024-01-01T00%3A00%3A00Z&ratio=NaN", &[]),
            ("", &[]),
        ];
        for (query, bindings) in cases {
            let Some(flat) = Flat::new(request(), query, bindings, false) else {
                // A oneof member or a bad value: the general way decides.
                assert!(query.starts_with("byId"), "{query}");
                continue;
            };
            let read = Value::deserialize(flat).unwrap();
            assert_eq!(read, general(query, bindings), "{query}");
        }
    }

    #[test]
    fn anything_but_top_level_scalars_takes_the_general_way() {
        let cases = [
            ("page.pageSize=1", false),
            ("labels[a]=1", false),
            ("byEmail=x", false),
            ("name=a&name=b", false),
            ("ratio=1&ratio=2", false),
            ("exact=yes", false),
            ("page=1", false),
            ("nope=1", true),
        ];
        for (query, reject_unknown) in cases {
            let flat = Flat::new(request(), query, &[], reject_unknown);
            assert!(flat.is_none(), "{query}");
        }
        let nested = [("page.order_by", "x".to_owned())];
        assert!(Flat::new(request(), "", &nested, false).is_none());
    }

    #[test]
    fn field_mask_paths_are_relative_to_the_body_field() {
        let body = json!({
            "pageSize": 3,
            "parent": {"order_by": "x", "parent": {}},
            "junk": 1,
        });
        let paths = field_mask_paths(request(), "page", &body);
        // Proto names, written in FieldMask's JSON form; unknown keys left out; an empty
        // object is a leaf.
        assert_eq!(paths, ["pageSize", "parent.orderBy", "parent.parent"]);
        // A body field that is not a singular message has no paths inside it.
        assert!(field_mask_paths(request(), "labels", &json!({"a": "b"})).is_empty());
        assert!(field_mask_paths(request(), "items", &json!([{"pageSize": 1}])).is_empty());
    }

    #[test]
    fn unknown_parameters_are_ignored_or_rejected() {
        assert_eq!(ok("nope=1&name=x&page.nope=2"), json!({"name": "x"}));
        let err = to_json(request(), "nope=1", &[], true).unwrap_err();
        assert!(
            err.message().contains("unknown query parameter `nope`"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn fields_bound_by_path_or_body_are_skipped() {
        let bound = to_json(
            request(),
            "name=q&page.pageSize=3&tags=t",
            &["name", "page"],
            false,
        );
        assert_eq!(Value::Object(bound.unwrap()), json!({"tags": ["t"]}));
    }

    #[test]
    fn blame_names_the_parameter_the_reader_rejects_as_it_was_sent() {
        // A stand-in reader: page sizes over 100 and the label key `x` are out of range.
        let reject = |value: Value| {
            let text = value.to_string();
            (text.contains("\"pageSize\":\"1000\"") || text.contains("{\"x\":"))
                .then(|| format!("rejected {text}"))
        };
        let cases = [
            (
                "name=a&page.page_size=1000",
                Some(r#"query parameter `page.page_size`: rejected {"page":{"pageSize":"1000"}}"#),
            ),
            (
                "labels[ok]=1&labels%5Bx%5D=2",
                Some(r#"query parameter `labels[x]`: rejected {"labels":{"x":"2"}}"#),
            ),
            // Unknown, bound and well-read parameters are never blamed.
            ("nope=1000&name=x&page.pageSize=5", None),
        ];
        for (query, expected) in cases {
            let blamed = blame(request(), query, &["name"], reject);
            assert_eq!(blamed.as_ref().map(|s| s.message()), expected, "{query}");
        }
        let bound = blame(request(), "page.pageSize=1000", &["page"], reject);
        assert!(bound.is_none());
    }

    #[test]
    fn mistakes_are_errors_naming_the_parameter() {
        let cases = [
            (
                "name=a&name=b",
                "`name` is given twice but the field is not repeated",
            ),
            (
                "byId=1&byEmail=x",
                "`byId` and `byEmail` set two members of oneof `key`",
            ),
            ("items.pageSize=1", "`items` is not a singular message"),
            ("page=1", "`page` names a message"),
            ("extra=1", "`extra`: this field cannot be set"),
            (
                "page.pageSize=ten",
                "`page.pageSize`: `ten` is not an integer",
            ),
            ("exact=yes", "`exact`: `yes` is not a bool"),
            ("ratio=fast", "`ratio`: `fast` is not a number"),
            ("state=GONE", "`state`: `GONE` is not a value of the enum"),
            ("labels=x", "`labels` is a map"),
            ("name[x]=1", "`name[x]` is not a map field"),
            ("labels[a=1", "a map entry is written"),
            ("labels[a]=1&labels[a]=2", "`labels[a]` is given twice"),
            ("name.x=1", "`name` is not a singular message"),
        ];
        for (query, expected) in cases {
            let message = err(query);
            assert!(message.contains(expected), "{query}: {message}");
        }
    }
}
