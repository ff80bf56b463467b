//! Requests as the generated routes read them, built from a message: what an HTTP/JSON client of
//! a `google.api.http` rule sends (docs/reference.md section 4), from the same route tables the
//! router matches with, so that the two cannot disagree.
//!
//! [`encode`] takes the request message as its proto3 JSON and returns the path with its query
//! and the JSON body:
//! - each path variable takes its field's value, percent-encoded as the `google.api.http` spec
//!   says for clients: a variable of one segment (`{name}`) keeps only `[-_.~0-9A-Za-z]`, one of
//!   several (`{name=shelves/*}`, `{path=**}`) keeps `/` too; a segment that would read `.` or `..`
//!   is escaped whole, so that nothing on the way normalizes it away. A value that cannot match
//!   the variable's segments (an empty `*`, a `shelves/*` value that does not start with
//!   `shelves/`) is refused here with INVALID_ARGUMENT, rather than sent to a 404;
//! - `body: "*"` sends every other field as the body; `body: "field"` sends that field, and the
//!   fields neither in the path nor in the body go to the query; no `body` sends them all to the
//!   query;
//! - the query names a nested field `a.b`, repeats the key of a repeated field, writes a map
//!   entry `m[k]=v`, and leaves out what is unset (JSON `null`) and empty repeated fields and
//!   maps; a set field the query cannot carry (a `Struct`, `Value`, `Any`, or a message in a
//!   repeated field or map) is refused with INVALID_ARGUMENT, since the router could not bind it.
//!
//! [`decode_error`] turns an error answer back into the `tonic::Status` the handler returned:
//! code, message and details from the `google.rpc.Status` body, metadata from the headers.

use std::fmt::Write as _;

use http::{HeaderMap, StatusCode};
use prost::Message as _;
use serde_json::{Map, Value};
use tonic::{Code, Status};

use super::matcher::{Segment, Template};
use super::query::{Cardinality, QueryField, QueryKind};
use super::routes::{BodyRule, Rule};

/// A request ready to send: the path with its query, and the JSON body if the rule has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// `/v1/shelves/a%20b/books?pageSize=10`.
    pub path_and_query: String,
    /// The JSON body; `None` for a rule without a body.
    pub body: Option<Vec<u8>>,
}

/// The request of `template` and `rule` for the message whose proto3 JSON is `message` and whose
/// fields are `fields` (its generated `QuerySchema`).
pub fn encode(
    template: &Template,
    rule: &Rule,
    fields: &'static [QueryField],
    message: Value,
) -> Result<Encoded, Status> {
    let mut object = match message {
        Value::Object(object) => object,
        // A whole request whose JSON is not an object (a wrapper's `"123"`, a Duration's
        // `"1.5s"`): it has no field a path or query could carry, so it is the body, or nothing.
        other => {
            let mut path = String::new();
            write_path(template, fields, &mut serde_json::Map::new(), &mut path)?;
            let body = match rule.body {
                BodyRule::All => {
                    Some(serde_json::to_vec(&other).expect("JSON values always serialize"))
                }
                BodyRule::None => None,
                BodyRule::Field { .. } => {
                    return Err(Status::internal(
                        "a request without fields cannot have a body field",
                    ))
                }
            };
            return Ok(Encoded {
                path_and_query: path,
                body,
            });
        }
    };
    let mut path = String::new();
    write_path(template, fields, &mut object, &mut path)?;
    let (body, query) = match rule.body {
        BodyRule::All => (Some(Value::Object(object)), None),
        BodyRule::None => (None, Some(object)),
        BodyRule::Field { proto_name, .. } => {
            let path = field_path(fields, proto_name).ok_or_else(|| {
                Status::internal(format!(
                    "body field `{proto_name}` names no field of the request"
                ))
            })?;
            let body = take(&mut object, &path);
            // An unset body field sends no body, which the router reads as the default.
            (Some(body.unwrap_or(Value::Null)), Some(object))
        }
    };
    if let Some(query) = query {
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        write_query(fields, &query, &mut String::new(), &mut pairs)?;
        let query = pairs.finish();
        if !query.is_empty() {
            path.push('?');
            path.push_str(&query);
        }
    }
    let body = match body {
        None => None,
        Some(Value::Null) => Some(Vec::new()),
        Some(value) => Some(serde_json::to_vec(&value).expect("JSON values always serialize")),
    };
    Ok(Encoded {
        path_and_query: path,
        body,
    })
}

/// The `tonic::Status` of an error answer (docs/reference.md section 4.3): its `google.rpc.Status`
/// body's code, message and details (kept as gRPC keeps them, in `Status::details`), and its
/// headers, but the transport's own, as metadata. An answer whose body is not a Status (from a
/// proxy on the way, say) gets the code of its HTTP status, and the body's text as message.
pub fn decode_error(http: StatusCode, headers: &HeaderMap, body: &[u8]) -> Status {
    let metadata = super::metadata::response_metadata(headers);
    match serde_json::from_slice::<crate::google::rpc::Status>(body) {
        Ok(rpc) => rpc_status(rpc, metadata),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let message = match text.trim() {
                "" => format!("HTTP {http} with no google.rpc.Status body"),
                text => text.to_owned(),
            };
            let code = match super::status::code_of_http(http) {
                // A success status is no error; a non-error code would hide that it failed.
                Code::Ok => Code::Unknown,
                code => code,
            };
            Status::with_metadata(code, message, metadata)
        }
    }
}

/// The `tonic::Status` of a `google.rpc.Status`: its code and message, its details kept as gRPC
/// keeps them (the encoded `google.rpc.Status` in `Status::details`), and `metadata`.
pub(crate) fn rpc_status(
    rpc: crate::google::rpc::Status,
    metadata: tonic::metadata::MetadataMap,
) -> Status {
    let code = Code::from_i32(rpc.code);
    let details = if rpc.details.is_empty() {
        bytes::Bytes::new()
    } else {
        rpc.encode_to_vec().into()
    };
    Status::with_details_and_metadata(code, rpc.message, details, metadata)
}

/// Writes the path of `template`, each variable with its field's value taken out of `object`.
fn write_path(
    template: &Template,
    fields: &'static [QueryField],
    object: &mut Map<String, Value>,
    path: &mut String,
) -> Result<(), Status> {
    let mut position = 0;
    for variable in template.variables {
        for segment in &template.segments[position..variable.start] {
            write_literal(segment, path);
        }
        let covered = &template.segments[variable.start..variable.end];
        let field_path = field_path(fields, variable.field).ok_or_else(|| {
            Status::internal(format!(
                "path variable `{}` names no field of the request",
                variable.field
            ))
        })?;
        let value = take(object, &field_path).unwrap_or(Value::Null);
        let text = match &value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Bool(bool) => bool.to_string(),
            Value::Null => String::new(),
            Value::Array(_) | Value::Object(_) => {
                return Err(Status::invalid_argument(format!(
                    "field `{}` is bound to the path, which takes one value",
                    variable.field
                )))
            }
        };
        write_variable(variable.field, covered, &text, path)?;
        position = variable.end;
    }
    for segment in &template.segments[position..] {
        write_literal(segment, path);
    }
    if template.segments.is_empty() {
        path.push('/');
    }
    if let Some(verb) = template.verb {
        path.push(':');
        path.push_str(verb);
    }
    Ok(())
}

fn write_literal(segment: &Segment, path: &mut String) {
    path.push('/');
    if let Segment::Literal(literal) = segment {
        path.push_str(literal);
    }
}

/// Writes `value` for the variable of `field` over the template's `segments`, checking that it
/// can match them.
fn write_variable(
    field: &str,
    segments: &[Segment],
    value: &str,
    path: &mut String,
) -> Result<(), Status> {
    let mismatch = || {
        let pattern: Vec<&str> = segments
            .iter()
            .map(|s| match s {
                Segment::Literal(literal) => *literal,
                Segment::Single => "*",
                Segment::Multi => "**",
            })
            .collect();
        Status::invalid_argument(format!(
            "field `{field}` is `{value}`, which does not match its path segments `{}`",
            pattern.join("/")
        ))
    };
    // The router never binds an empty value to `*`, nor to a variable that is exactly `**`.
    if value.is_empty() && matches!(segments, [Segment::Single] | [Segment::Multi]) {
        return Err(mismatch());
    }
    if let [Segment::Single] = segments {
        // One segment: everything but the unreserved characters is escaped, `/` included.
        path.push('/');
        write_segment(value, path);
        return Ok(());
    }
    // Several segments: `/` separates them, and each must fit its segment of the template.
    let parts: Vec<&str> = if value.is_empty() {
        Vec::new()
    } else {
        value.split('/').collect()
    };
    if !fits(segments, &parts) {
        return Err(mismatch());
    }
    for part in parts {
        path.push('/');
        write_segment(part, path);
    }
    Ok(())
}

/// Whether the `/`-separated `parts` of a value match `segments`: literals equal, `*` one
/// non-empty part, `**` any number of non-empty parts (literals may follow it).
fn fits(segments: &[Segment], parts: &[&str]) -> bool {
    match segments.split_first() {
        None => parts.is_empty(),
        Some((Segment::Multi, rest)) => {
            // `**` takes what the literals after it leave.
            parts.len() >= rest.len()
                && parts[..parts.len() - rest.len()]
                    .iter()
                    .all(|part| !part.is_empty())
                && fits(rest, &parts[parts.len() - rest.len()..])
        }
        Some((segment, rest)) => match parts.split_first() {
            Some((part, others)) => {
                let matches = match segment {
                    Segment::Literal(literal) => literal == part,
                    _ => !part.is_empty(),
                };
                matches && fits(rest, others)
            }
            None => false,
        },
    }
}

/// Writes one path segment's text, percent-encoding every byte outside `[-_.~0-9A-Za-z]`, and
/// the dots of a segment that is `.` or `..`.
fn write_segment(text: &str, path: &mut String) {
    let dots_only = text == "." || text == "..";
    for byte in text.bytes() {
        let unreserved = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~');
        if unreserved && !dots_only {
            path.push(char::from(byte));
        } else {
            let _ = write!(path, "%{byte:02X}");
        }
    }
}

/// The fields along the dotted field path `field` (proto or JSON names), through the schema's
/// nested messages.
fn field_path(mut fields: &'static [QueryField], field: &str) -> Option<Vec<&'static QueryField>> {
    let mut path = Vec::new();
    let mut parts = field.split('.').peekable();
    while let Some(part) = parts.next() {
        let found = fields
            .iter()
            .find(|f| f.proto_name == part || f.json_name == part)?;
        path.push(found);
        if parts.peek().is_some() {
            let QueryKind::Message(nested) = found.kind else {
                return None;
            };
            fields = nested();
        }
    }
    Some(path)
}

/// The key `field` has in `object`: its JSON name, or its proto name for messages written with
/// proto names (`json_name=proto`).
fn key<'a>(object: &Map<String, Value>, field: &'a QueryField) -> &'a str {
    if object.contains_key(field.json_name) {
        field.json_name
    } else {
        field.proto_name
    }
}

/// Takes the value of the field at `path` out of `object`.
fn take(object: &mut Map<String, Value>, path: &[&QueryField]) -> Option<Value> {
    let (last, parents) = path.split_last()?;
    let mut object = object;
    for parent in parents {
        let name = key(object, parent);
        object = object.get_mut(name)?.as_object_mut()?;
    }
    let name = key(object, last);
    object.remove(name)
}

/// Writes the set fields of `object` (a message whose fields are `fields`) as query pairs, each
/// name after `prefix`.
fn write_query(
    fields: &'static [QueryField],
    object: &Map<String, Value>,
    prefix: &mut String,
    pairs: &mut form_urlencoded::Serializer<'_, String>,
) -> Result<(), Status> {
    for (name, value) in object {
        if value.is_null() {
            continue;
        }
        let Some(field) = fields
            .iter()
            .find(|f| f.json_name == name || f.proto_name == name)
        else {
            return Err(Status::internal(format!(
                "the request's JSON has `{name}`, which is no field of its schema"
            )));
        };
        let outer = prefix.len();
        if !prefix.is_empty() {
            prefix.push('.');
        }
        // The name as the message wrote it: the router reads JSON and proto names alike.
        prefix.push_str(name);
        let unsendable = || {
            Status::invalid_argument(format!(
                "field `{prefix}` is set, but this route reads it from the query, which cannot carry it"
            ))
        };
        match (field.cardinality, value) {
            (Cardinality::Singular, _) => match field.kind {
                QueryKind::Message(nested) => {
                    let Value::Object(nested_object) = value else {
                        return Err(unsendable());
                    };
                    write_query(nested(), nested_object, prefix, pairs)?;
                }
                QueryKind::Unsupported => return Err(unsendable()),
                _ => {
                    pairs.append_pair(prefix, &scalar(value).ok_or_else(unsendable)?);
                }
            },
            (Cardinality::Repeated, Value::Array(items)) => {
                for item in items {
                    if matches!(field.kind, QueryKind::Message(_) | QueryKind::Unsupported) {
                        return Err(unsendable());
                    }
                    pairs.append_pair(prefix, &scalar(item).ok_or_else(unsendable)?);
                }
            }
            (Cardinality::Map, Value::Object(entries)) => {
                for (key, item) in entries {
                    if matches!(field.kind, QueryKind::Message(_) | QueryKind::Unsupported) {
                        return Err(unsendable());
                    }
                    let name = format!("{prefix}[{key}]");
                    pairs.append_pair(&name, &scalar(item).ok_or_else(unsendable)?);
                }
            }
            _ => return Err(unsendable()),
        }
        prefix.truncate(outer);
    }
    Ok(())
}

/// The query text of a scalar's JSON: a string as it is, a number or bool as JSON writes it.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(bool) => Some(bool.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::json;

    use super::*;
    use crate::http::matcher::{Matcher, MethodFilter, Variable};
    use crate::http::query::{Cardinality as C, QueryField as F, QueryKind as K};

    fn shelf_fields() -> &'static [QueryField] {
        const FIELDS: &[F] = &[F::new("name", "name", K::Text, C::Singular, None)];
        FIELDS
    }

    fn request_fields() -> &'static [QueryField] {
        const FIELDS: &[F] = &[
            F::new("name", "name", K::Text, C::Singular, None),
            F::new("page_size", "pageSize", K::Integer, C::Singular, None),
            F::new("tags", "tags", K::Text, C::Repeated, None),
            F::new("labels", "labels", K::Text, C::Map, None),
            F::new(
                "shelf",
                "shelf",
                K::Message(shelf_fields),
                C::Singular,
                None,
            ),
            F::new("extra", "extra", K::Unsupported, C::Singular, None),
            F::new("path", "path", K::Text, C::Singular, None),
        ];
        FIELDS
    }

    const RULE: Rule = Rule::DEFAULT;

    const ONE: Template = Template::new(
        &[
            Segment::Literal("v1"),
            Segment::Literal("items"),
            Segment::Single,
        ],
        &[Variable {
            field: "name",
            start: 2,
            end: 3,
        }],
    );

    const SHELVES: Template = Template::with_verb(
        &[
            Segment::Literal("v1"),
            Segment::Literal("shelves"),
            Segment::Single,
        ],
        &[Variable {
            field: "shelf.name",
            start: 1,
            end: 3,
        }],
        "archive",
    );

    const REST: Template = Template::new(
        &[Segment::Literal("files"), Segment::Multi],
        &[Variable {
            field: "path",
            start: 1,
            end: 2,
        }],
    );

    fn path(template: &Template, message: Value) -> Result<String, Status> {
        encode(template, &RULE, request_fields(), message).map(|e| e.path_and_query)
    }

    #[test]
    fn a_request_whose_json_is_not_an_object_is_the_whole_body() {
        const VALUES: Template = Template::new(&[Segment::Literal("v1")], &[]);
        for value in [json!("123"), json!("1.5s"), json!(true), json!(null)] {
            let all = encode(&VALUES, &Rule::new().body_all(), &[], value.clone()).unwrap();
            assert_eq!(all.path_and_query, "/v1");
            assert_eq!(all.body, Some(serde_json::to_vec(&value).unwrap()));
            let none = encode(&VALUES, &RULE, &[], value.clone()).unwrap();
            assert_eq!((none.path_and_query.as_str(), none.body), ("/v1", None));
        }
        // A template with variables has nothing to fill them from (the plugin never generates
        // one for such a request: its variables name no field).
        let error = encode(&ONE, &Rule::new().body_all(), &[], json!("x")).unwrap_err();
        assert_eq!(error.code(), tonic::Code::Internal);
    }

    #[test]
    fn hostile_values_of_one_segment_reach_the_router_unchanged() {
        let matcher = Matcher::new([(MethodFilter::from(Method::GET), &ONE, ())]);
        let hostile = [
            "a/b",
            "a%2Fb",
            "100%",
            "a:b",
            "a?b=c",
            "a#b",
            "a b",
            "a+b",
            "..",
            ".",
            "a..b",
            "ünïcødé",
            "€",
            "a&b=c",
            "~-_.",
            "%zz",
        ];
        for value in hostile {
            let sent = path(&ONE, json!({ "name": value })).unwrap();
            let found = matcher
                .find(&Method::GET, &sent)
                .unwrap_or_else(|e| panic!("{value:?} sent as {sent}: {e:?}"));
            assert_eq!(found.bindings[0].1, value, "sent as {sent}");
            assert!(!sent.contains("/../") && !sent.ends_with("/.."), "{sent}");
        }
        let empty = path(&ONE, json!({ "name": "" })).unwrap_err();
        assert_eq!(empty.code(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn values_of_several_segments_keep_their_slashes_and_must_fit() {
        let matcher = Matcher::new([
            (MethodFilter::from(Method::POST), &SHELVES, ()),
            (MethodFilter::from(Method::GET), &REST, ()),
        ]);
        let sent = path(&SHELVES, json!({ "shelf": { "name": "shelves/a b" } })).unwrap();
        assert_eq!(sent, "/v1/shelves/a%20b:archive");
        let found = matcher.find(&Method::POST, &sent).unwrap();
        assert_eq!(found.bindings[0].1, "shelves/a b");

        for wrong in ["books/1", "shelves/", "shelves/1/2", "shelves"] {
            let refused = path(&SHELVES, json!({ "shelf": { "name": wrong } })).unwrap_err();
            assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{wrong}");
            assert!(
                refused.message().contains("shelves/*"),
                "{}",
                refused.message()
            );
        }

        for value in ["a/b/c.txt", "x", "sp ace/%/ü"] {
            let sent = path(&REST, json!({ "path": value })).unwrap();
            let found = matcher
                .find(&Method::GET, &sent)
                .unwrap_or_else(|e| panic!("{value:?} sent as {sent}: {e:?}"));
            let bound: String = found.bindings[0].1.replace("%2F", "/");
            assert_eq!(bound, value, "sent as {sent}");
        }
        for wrong in ["a//b", "", "a/"] {
            assert!(path(&REST, json!({ "path": wrong })).is_err(), "{wrong:?}");
        }
    }

    #[test]
    fn fields_outside_the_path_go_to_the_query_by_json_name() {
        let sent = path(
            &ONE,
            json!({
                "name": "n",
                "pageSize": 10,
                "tags": ["a b", "c&d"],
                "labels": { "k": "v=1" },
                "shelf": { "name": "s" },
                "extra": null,
                "path": "",
            }),
        )
        .unwrap();
        assert_eq!(
            sent,
            "/v1/items/n?labels%5Bk%5D=v%3D1&pageSize=10&path=&shelf.name=s&tags=a+b&tags=c%26d"
        );
        // Unset and empty repeated fields are left out.
        let sent = path(
            &ONE,
            json!({ "name": "n", "tags": [], "labels": {}, "shelf": null }),
        );
        assert_eq!(sent.unwrap(), "/v1/items/n");
        let refused = path(&ONE, json!({ "name": "n", "extra": { "a": 1 } })).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::InvalidArgument);
        assert!(
            refused.message().contains("`extra`"),
            "{}",
            refused.message()
        );
    }

    #[tokio::test]
    async fn error_answers_decode_to_the_status_the_handler_returned() {
        use crate::google::rpc::BadRequest;
        use http_body_util::BodyExt as _;
        let mut bad = BadRequest::default();
        bad.field_violations
            .push(crate::google::rpc::bad_request::FieldViolation {
                field: "name".into(),
                description: "is empty".into(),
                ..Default::default()
            });
        let details = crate::google::rpc::Status {
            code: Code::InvalidArgument as i32,
            message: "bad name".into(),
            details: vec![crate::wkt::Any::from_msg(&bad).unwrap()],
        };
        let mut metadata = tonic::metadata::MetadataMap::new();
        metadata.insert("x-request-id", "r-1".parse().unwrap());
        let returned = Status::with_details_and_metadata(
            Code::InvalidArgument,
            "bad name",
            details.encode_to_vec().into(),
            metadata,
        );
        // As the router answers it.
        let answer = crate::http::status::error_response(&returned);
        let (parts, body) = answer.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let decoded = decode_error(parts.status, &parts.headers, &body);
        assert_eq!(decoded.code(), Code::InvalidArgument);
        assert_eq!(decoded.message(), "bad name");
        assert_eq!(decoded.details(), returned.details());
        assert_eq!(decoded.metadata().get("x-request-id").unwrap(), "r-1");
        assert!(decoded.metadata().get("content-type").is_none());

        let proxy = decode_error(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"upstream down");
        assert_eq!(proxy.code(), Code::Unknown);
        assert_eq!(proxy.message(), "upstream down");
        let unavailable = decode_error(StatusCode::SERVICE_UNAVAILABLE, &HeaderMap::new(), b"");
        assert_eq!(unavailable.code(), Code::Unavailable);
    }

    #[test]
    fn bodies_follow_the_rule() {
        let message = json!({ "name": "n", "pageSize": 3, "shelf": { "name": "s" } });
        let all = Rule {
            body: BodyRule::All,
            ..Rule::DEFAULT
        };
        let sent = encode(&ONE, &all, request_fields(), message.clone()).unwrap();
        assert_eq!(sent.path_and_query, "/v1/items/n");
        let body: Value = serde_json::from_slice(&sent.body.unwrap()).unwrap();
        assert_eq!(body, json!({ "pageSize": 3, "shelf": { "name": "s" } }));

        let field = Rule {
            body: BodyRule::Field {
                proto_name: "shelf",
                json_name: "shelf",
            },
            ..Rule::DEFAULT
        };
        let sent = encode(&ONE, &field, request_fields(), message.clone()).unwrap();
        assert_eq!(sent.path_and_query, "/v1/items/n?pageSize=3");
        let body: Value = serde_json::from_slice(&sent.body.unwrap()).unwrap();
        assert_eq!(body, json!({ "name": "s" }));

        let unset = encode(&ONE, &field, request_fields(), json!({ "name": "n" })).unwrap();
        assert_eq!(unset.body, Some(Vec::new()));

        let none = encode(&ONE, &RULE, request_fields(), message).unwrap();
        assert_eq!(none.body, None);
    }
}
