//! Errors as HTTP/JSON clients see them: the HTTP status of each gRPC code, and a
//! `google.rpc.Status` JSON body carrying the tonic status's code, message and details.

use base64::Engine as _;
use bytes::Bytes;
use http::{header, HeaderValue, StatusCode};
use prost::Message as _;
use serde::ser::{Serialize, SerializeMap, Serializer};
use tonic::Code;

use crate::google::rpc::Status as RpcStatus;
use crate::wkt::Any;

/// The HTTP status for a gRPC code, as grpc-gateway and Envoy map them (docs/reference.md section 4).
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a valid status code"),
        Code::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument => StatusCode::BAD_REQUEST,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::FailedPrecondition => StatusCode::BAD_REQUEST,
        Code::Aborted => StatusCode::CONFLICT,
        Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
    }
}

/// The code of an HTTP answer that does not say (one a layer or the user's handler wrote): the
/// inverse of docs/reference.md section 4's table where it is one-to-one.
pub(crate) fn code_of_http(status: StatusCode) -> Code {
    match status.as_u16() {
        200..=299 => Code::Ok,
        400 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        409 => Code::Aborted,
        413 | 429 => Code::ResourceExhausted,
        499 => Code::Cancelled,
        501 => Code::Unimplemented,
        503 => Code::Unavailable,
        504 => Code::DeadlineExceeded,
        500 => Code::Internal,
        _ => Code::Unknown,
    }
}

/// The `google.rpc.Status` of a tonic status: its code and message, and the details it carries
/// (`grpc-status-details-bin`, an encoded `google.rpc.Status` whose details are kept). Details
/// that do not decode are left out rather than failing the response.
pub fn rpc_status(status: &tonic::Status) -> RpcStatus {
    let details = match status.details() {
        [] => Vec::new(),
        bytes => RpcStatus::decode(bytes)
            .map(|s| s.details)
            .unwrap_or_default(),
    };
    RpcStatus {
        code: status.code() as i32,
        message: status.message().to_owned(),
        details,
    }
}

/// The JSON body of an error: `{"code": 5, "message": "...", "details": [...]}`.
///
/// A detail whose type is known to [`crate::wkt::Any`] (the well-known types, the `google.rpc`
/// error details and every generated message linked into the binary, with no call to make;
/// hand-written messages through `rs_svc::wkt::register`) is written as proto3 JSON. One that is
/// not cannot be, so it is written as `{"@type": "<url>", "value": "<base64 of the message>"}`,
/// so no detail is lost.
pub fn status_json(status: &RpcStatus) -> Bytes {
    let body = StatusJson(status);
    Bytes::from(serde_json::to_vec(&body).expect("a Status always has a JSON form"))
}

/// An error response: the HTTP status of `status`'s code, `Content-Type: application/json`, the
/// `google.rpc.Status` JSON body, and the status's metadata as headers
/// ([`metadata::status_headers`](super::metadata::status_headers)).
pub fn error_response(status: &tonic::Status) -> http::Response<axum::body::Body> {
    let rpc = rpc_status(status);
    let mut response = http::Response::new(axum::body::Body::from(status_json(&rpc)));
    *response.status_mut() = http_status(status.code());
    super::metadata::status_headers(status, response.headers_mut());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

struct StatusJson<'a>(&'a RpcStatus);

impl Serialize for StatusJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("code", &self.0.code)?;
        map.serialize_entry("message", &self.0.message)?;
        map.serialize_entry("details", &Details(&self.0.details))?;
        map.end()
    }
}

struct Details<'a>(&'a [Any]);

impl Serialize for Details<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|any| {
            // Written through a Value first, so an unregistered type can fall back whole.
            serde_json::to_value(any).unwrap_or_else(|_| opaque(any))
        }))
    }
}

fn opaque(any: &Any) -> serde_json::Value {
    let value = base64::engine::general_purpose::STANDARD.encode(&any.value);
    serde_json::json!({ "@type": any.type_url, "value": value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grpc_code_has_the_http_status_of_the_design_table() {
        let table = [
            (Code::Ok, 200),
            (Code::Cancelled, 499),
            (Code::Unknown, 500),
            (Code::InvalidArgument, 400),
            (Code::DeadlineExceeded, 504),
            (Code::NotFound, 404),
            (Code::AlreadyExists, 409),
            (Code::PermissionDenied, 403),
            (Code::ResourceExhausted, 429),
            (Code::FailedPrecondition, 400),
            (Code::Aborted, 409),
            (Code::OutOfRange, 400),
            (Code::Unimplemented, 501),
            (Code::Internal, 500),
            (Code::Unavailable, 503),
            (Code::DataLoss, 500),
            (Code::Unauthenticated, 401),
        ];
        for (code, http) in table {
            assert_eq!(http_status(code).as_u16(), http, "{code:?}");
        }
        // An unknown number becomes UNKNOWN in tonic, so 500.
        assert_eq!(http_status(Code::from_i32(99)).as_u16(), 500);
    }

    fn with_details(details: Vec<Any>) -> tonic::Status {
        let encoded = RpcStatus {
            code: Code::InvalidArgument as i32,
            message: "bad".into(),
            details,
        }
        .encode_to_vec();
        tonic::Status::with_details(Code::InvalidArgument, "bad", encoded.into())
    }

    fn json(response: http::Response<axum::body::Body>) -> serde_json::Value {
        let bytes = body_bytes(response);
        serde_json::from_slice(&bytes).unwrap()
    }

    fn body_bytes(response: http::Response<axum::body::Body>) -> Bytes {
        use http_body_util::BodyExt;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async { response.into_body().collect().await.unwrap().to_bytes() })
    }

    #[test]
    fn error_body_is_a_json_status_with_code_message_and_no_details() {
        let response = error_response(&tonic::Status::not_found("orders/9 not found"));
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            json(response),
            serde_json::json!({"code": 5, "message": "orders/9 not found", "details": []})
        );
    }

    #[test]
    fn registered_details_are_proto3_json_and_unregistered_ones_keep_their_bytes() {
        let timestamp = crate::wkt::Timestamp {
            seconds: 1,
            nanos: 0,
        };
        let registered = Any {
            type_url: "type.googleapis.com/google.protobuf.Timestamp".into(),
            value: timestamp.encode_to_vec(),
        };
        let unregistered = Any {
            type_url: "type.googleapis.com/example.v1.Unknown".into(),
            value: vec![8, 1],
        };
        let body = json(error_response(&with_details(vec![
            registered,
            unregistered,
        ])));
        assert_eq!(body["code"], 3);
        assert_eq!(
            body["details"],
            serde_json::json!([
                {"@type": "type.googleapis.com/google.protobuf.Timestamp", "value": "1970-01-01T00:00:01Z"},
                {"@type": "type.googleapis.com/example.v1.Unknown", "value": "CAE="},
            ])
        );
    }

    #[test]
    fn details_that_do_not_decode_are_left_out() {
        let status = tonic::Status::with_details(Code::Internal, "x", Bytes::from_static(b"\xff"));
        assert_eq!(rpc_status(&status).details, Vec::<Any>::new());
        assert_eq!(rpc_status(&status).message, "x");
    }

    #[test]
    fn a_bad_request_detail_is_json_with_field_violations_without_registering_it() {
        use crate::google::rpc::{bad_request::FieldViolation, BadRequest};
        let bad = BadRequest {
            field_violations: vec![FieldViolation {
                field: "user.email".into(),
                description: "not an address".into(),
                ..Default::default()
            }],
        };
        let body = json(error_response(&with_details(vec![
            Any::from_msg(&bad).unwrap()
        ])));
        assert_eq!(
            body["details"],
            serde_json::json!([{
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": "user.email", "description": "not an address",
                                     "reason": "", "localizedMessage": null}],
            }])
        );
    }
}
