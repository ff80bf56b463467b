//! The `FieldMask` a PATCH body implies, and which fields a path or body has bound.

use serde_json::{Map, Value};

use super::{Cardinality, QueryField, QueryKind};

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
