//! The query as a message's JSON object: resolving dotted names, creating the messages on the
//! way, and converting each value as its field's kind says.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{invalid, within, Cardinality, QueryField, QueryKind};

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
    for pair in super::pairs(query) {
        let (key, value) = pair?;
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
/// becomes a [`Value`] or is read by the message through [`Flat`](super::Flat) (or set
/// directly, see [`FlatField`](super::FlatField)).
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    Bool(bool),
    /// Integers, floats and text all travel as JSON strings.
    Text(Cow<'a, str>),
    /// An enum's number.
    Number(i32),
}

impl<'a> Scalar<'a> {
    pub(super) fn parse(
        kind: QueryKind,
        text: Cow<'a, str>,
        key: &str,
    ) -> Result<Self, tonic::Status> {
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
