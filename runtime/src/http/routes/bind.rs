//! Binding a request message: path variables, then the body, then the query; reading the
//! body within its limit and content type.

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body_util::{BodyExt, Limited};
use serde_json::{Map, Value};

use super::{BodyRule, HttpError, JsonMessage, Options, Rule};
use crate::http::query;

/// The message read straight from top-level path variables and query parameters, for a rule
/// with no body (the common GET); `None` for anything else, errors included: [`bind_general`]
/// then builds it and words the error.
pub(super) fn bind_flat<Req: JsonMessage>(
    query: Option<&str>,
    bindings: &mut [(&'static str, String)],
    rule: &Rule,
    options: &Options,
) -> Option<Req> {
    let BodyRule::None = rule.body else {
        return None;
    };
    let reject_unknown = options.reject_unknown_query_parameters;
    let query = query.unwrap_or("");
    Req::set_flat(query, bindings, reject_unknown).or_else(|| {
        query::Flat::new(Req::query_fields(), query, bindings, reject_unknown)
            .and_then(Req::from_flat)
    })
}

/// Builds the request message from path variables, body and query, in that precedence: what
/// [`bind_flat`] does not read. `body` is what [`read_body`] read, `None` for a rule without a
/// body.
pub(super) fn bind_read<Req: JsonMessage>(
    query: &str,
    content_type: Option<&HeaderValue>,
    body: Option<Option<Bytes>>,
    bindings: &[(&'static str, String)],
    rule: &Rule,
    options: &Options,
) -> Result<Req, HttpError> {
    let fields = Req::query_fields();
    // The common case of a whole-message JSON body with no path variables: read it directly
    // (no body at all is the default message).
    if let (BodyRule::All, true, false, Some(body)) = (
        rule.body,
        bindings.is_empty(),
        rule.http_body_request,
        &body,
    ) {
        return match body {
            Some(body) => Req::from_body(body),
            None => Ok(Req::empty_body()),
        }
        .map_err(|e| tonic::Status::invalid_argument(e).into());
    }
    let body_value = |bytes: Option<Bytes>| -> Result<Value, HttpError> {
        if rule.http_body_request {
            return Ok(http_body_json(content_type, bytes.unwrap_or_default()));
        }
        match bytes {
            Some(bytes) => Ok(parse_json(&bytes)?),
            None => Ok(Value::Object(Map::new())),
        }
    };
    // A JSON body field no path variable reaches into: write the rest of the message as JSON
    // text around the raw body and read it all in one pass, without a tree for the body.
    if let (
        BodyRule::Field {
            proto_name,
            json_name,
        },
        false,
        Some(body),
    ) = (rule.body, rule.http_body_request, &body)
    {
        let nested = json_name.contains('.');
        let inside = |(field, _): &(&str, String)| query::within(field, proto_name);
        if rule.infer_field_mask.is_none() && !nested && !bindings.iter().any(inside) {
            let mut bound: Vec<&str> = bindings.iter().map(|(f, _)| *f).collect();
            bound.push(proto_name);
            let reject_unknown = options.reject_unknown_query_parameters;
            let body = body.as_deref().unwrap_or(b"{}");
            let mut text = Vec::with_capacity(body.len() + query.len() + 64);
            // Top-level parameters only (the common case): written as they are read, with no
            // JSON object in between; anything else is gathered and checked by `to_json`.
            match query::Flat::beside_body(fields, query, bindings, reject_unknown, proto_name) {
                Some(flat) => {
                    text.push(b'{');
                    flat.write_members(&mut text);
                }
                None => {
                    let mut object = query::to_json(fields, query, &bound, reject_unknown)?;
                    for (field, value) in bindings {
                        query::set_path(&mut object, fields, field, value)?;
                    }
                    serde_json::to_writer(&mut text, &object).expect("a JSON map writes");
                    text.pop(); // the closing `}`
                    if !object.is_empty() {
                        text.push(b',');
                    }
                }
            }
            serde_json::to_writer(&mut text, json_name).expect("a string writes");
            text.push(b':');
            text.extend_from_slice(body);
            text.push(b'}');
            return Req::from_body(&text).map_err(|e| unreadable::<Req>(e, query, &bound));
        }
    }
    let mut bound: Vec<&str> = bindings.iter().map(|(f, _)| *f).collect();
    let mut object = match (rule.body, body) {
        (BodyRule::All, Some(body)) => match body_value(body)? {
            Value::Object(map) => map,
            _ => {
                return Err(
                    tonic::Status::invalid_argument("the JSON body must be an object").into(),
                )
            }
        },
        (
            BodyRule::Field {
                proto_name,
                json_name,
            },
            Some(body),
        ) => {
            bound.push(proto_name);
            let mut object = query::to_json(
                fields,
                query,
                &bound,
                options.reject_unknown_query_parameters,
            )?;
            let value = body_value(body)?;
            if let Some(mask) = rule.infer_field_mask {
                if !object.contains_key(mask) {
                    let paths = query::field_mask_paths(fields, proto_name, &value);
                    object.insert(mask.to_owned(), Value::String(paths.join(",")));
                }
            }
            insert_at(&mut object, json_name, value);
            object
        }
        _ => query::to_json(
            fields,
            query,
            &bound,
            options.reject_unknown_query_parameters,
        )?,
    };
    for (field, value) in bindings {
        query::set_path(&mut object, fields, field, value)?;
    }
    // With `body: "*"` the query is not read, so it is never at fault.
    let query = if matches!(rule.body, BodyRule::All) {
        ""
    } else {
        query
    };
    Req::from_value(Value::Object(object)).map_err(|e| unreadable::<Req>(e, query, &bound))
}

/// Puts the body `value` at the dotted JSON path `json_path` of `object`, creating the
/// messages above it (a nested body field is grpc-gateway's extension) and keeping what the
/// query set beside it.
fn insert_at(object: &mut Map<String, Value>, json_path: &str, value: Value) {
    let (parents, last) = match json_path.rsplit_once('.') {
        Some((parents, last)) => (Some(parents), last),
        None => (None, json_path),
    };
    let mut target = object;
    for name in parents.into_iter().flat_map(|p| p.split('.')) {
        let next = target
            .entry(name)
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        target = next.as_object_mut().expect("made an object above");
    }
    target.insert(last.to_owned(), value);
}

/// The error for a request message that does not read: the query parameter at fault when there
/// is one (named as sent), else `error`, which names the message's field.
fn unreadable<Req: JsonMessage>(error: String, query: &str, bound: &[&str]) -> HttpError {
    query::blame(Req::query_fields(), query, bound, Req::rejects)
        .unwrap_or_else(|| tonic::Status::invalid_argument(error))
        .into()
}

/// The JSON of a `google.api.HttpBody` holding the request's raw body and content type.
fn http_body_json(content_type: Option<&HeaderValue>, bytes: Bytes) -> Value {
    use base64::Engine as _;
    let content_type = content_type.and_then(|v| v.to_str().ok()).unwrap_or("");
    serde_json::json!({
        "contentType": content_type,
        "data": base64::engine::general_purpose::STANDARD.encode(&bytes),
    })
}

/// The body bytes: `None` when empty; 413 over the limit; 415 for a content type that is not
/// JSON, unless the body is raw (`google.api.HttpBody`).
pub(in crate::http) async fn read_body(
    content_type: Option<&HeaderValue>,
    body: Body,
    limit: usize,
    raw: bool,
) -> Result<Option<Bytes>, HttpError> {
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(HttpError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                tonic::Status::resource_exhausted(format!(
                    "the request body is over {limit} bytes"
                )),
            ));
        }
        Err(e) => return Err(body_fault(&*e).into()),
    };
    if bytes.is_empty() {
        return Ok(None);
    }
    if !raw && !is_json(content_type) {
        return Err(HttpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            tonic::Status::invalid_argument(
                "the request body must be JSON (Content-Type: application/json)",
            ),
        ));
    }
    Ok(Some(bytes))
}

/// The status for a request body that failed to arrive (docs/reference.md section 4): CANCELLED (499)
/// when the client went away (its connection was reset or aborted, or it reset its HTTP/2
/// stream or connection), else INVALID_ARGUMENT (400): bad chunk framing, a body that ends
/// before its `Content-Length` (the client may have only half-closed and still read the answer;
/// hyper cannot tell that from a close), an HTTP/2 protocol error of the request.
pub(in crate::http) fn body_fault(error: &(dyn std::error::Error + 'static)) -> tonic::Status {
    let mut gone = false;
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(h2) = error.downcast_ref::<h2::Error>() {
            gone |= h2.is_io() || h2.is_remote();
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            gone |= matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | NotConnected
            );
        }
        if let Some(hyper) = error.downcast_ref::<hyper::Error>() {
            gone |= hyper.is_canceled();
        }
        cause = error.source();
    }
    if gone {
        tonic::Status::cancelled(format!(
            "the client went away while sending the body: {error}"
        ))
    } else {
        let detail = std::iter::successors(Some(error), |e| e.source())
            .last()
            .map_or_else(String::new, |root| format!(": {root}"));
        tonic::Status::invalid_argument(format!("the request body is malformed{detail}"))
    }
}

/// `application/json` or any `+json` type, with no charset or utf-8.
pub(in crate::http) fn is_json(content_type: Option<&HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    let utf8 = parts.all(|p| {
        let p = p.trim().to_ascii_lowercase();
        !p.starts_with("charset=") || p == "charset=utf-8" || p == "charset=\"utf-8\""
    });
    json && utf8
}

fn parse_json(bytes: &[u8]) -> Result<Value, tonic::Status> {
    serde_json::from_slice(bytes)
        .map_err(|e| tonic::Status::invalid_argument(format!("invalid JSON body: {e}")))
}
