//! The `google.rpc` error details: known to `Any` from the start, written and read as proto3
//! JSON (unpopulated fields included, like every generated message), and wire-compatible with
//! what tonic-types packs into `grpc-status-details-bin`.

use std::collections::HashMap;

use prost::Message;
use rs_svc::google::rpc::{
    bad_request, help, precondition_failure, quota_failure, BadRequest, DebugInfo, ErrorInfo, Help,
    LocalizedMessage, PreconditionFailure, QuotaFailure, RequestInfo, ResourceInfo, RetryInfo,
};
use rs_svc::wkt::{Any, Duration};
use serde_json::{json, Value};

/// An Any holding `message` under the `type.googleapis.com/google.rpc.` URL tonic-types uses.
fn any<M: Message + prost::Name>(message: &M) -> Any {
    let any = Any::from_msg(message).unwrap();
    assert_eq!(
        any.type_url,
        format!("type.googleapis.com/google.rpc.{}", M::NAME)
    );
    any
}

/// One populated value of every detail type, with the JSON it must have.
fn cases() -> Vec<(Any, Value)> {
    let localized = LocalizedMessage {
        locale: "de-CH".into(),
        message: "Ungültige Adresse".into(),
    };
    vec![
        (
            any(&ErrorInfo {
                reason: "API_DISABLED".into(),
                domain: "example.com".into(),
                // One entry: the wire order of a HashMap is not fixed.
                metadata: HashMap::from([("service".into(), "users".into())]),
            }),
            json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                   "reason": "API_DISABLED", "domain": "example.com",
                   "metadata": {"service": "users"}}),
        ),
        (
            any(&RetryInfo {
                retry_delay: Some(Duration {
                    seconds: 1,
                    nanos: 500_000_000,
                }),
            }),
            json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.500s"}),
        ),
        (
            any(&DebugInfo {
                stack_entries: vec!["main.rs:1".into(), "lib.rs:2".into()],
                detail: "boom".into(),
            }),
            json!({"@type": "type.googleapis.com/google.rpc.DebugInfo",
                   "stackEntries": ["main.rs:1", "lib.rs:2"], "detail": "boom"}),
        ),
        (
            any(&QuotaFailure {
                violations: vec![quota_failure::Violation {
                    subject: "project:p1".into(),
                    description: "too many".into(),
                    api_service: "users.example.com".into(),
                    quota_metric: "reads".into(),
                    quota_id: "ReadsPerMinute".into(),
                    quota_dimensions: HashMap::from([("region".into(), "eu".into())]),
                    quota_value: 10,
                    future_quota_value: Some(20),
                }],
            }),
            json!({"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                "subject": "project:p1", "description": "too many",
                "apiService": "users.example.com", "quotaMetric": "reads",
                "quotaId": "ReadsPerMinute", "quotaDimensions": {"region": "eu"},
                "quotaValue": "10", "futureQuotaValue": "20"}]}),
        ),
        (
            any(&PreconditionFailure {
                violations: vec![precondition_failure::Violation {
                    r#type: "TOS".into(),
                    subject: "example.com".into(),
                    description: "terms not accepted".into(),
                }],
            }),
            json!({"@type": "type.googleapis.com/google.rpc.PreconditionFailure", "violations": [
                {"type": "TOS", "subject": "example.com", "description": "terms not accepted"}]}),
        ),
        (
            any(&BadRequest {
                field_violations: vec![
                    bad_request::FieldViolation {
                        field: "user.email".into(),
                        description: "not an address".into(),
                        reason: "INVALID_EMAIL".into(),
                        localized_message: Some(localized.clone()),
                    },
                    bad_request::FieldViolation {
                        field: "user.name".into(),
                        description: "empty".into(),
                        ..Default::default()
                    },
                ],
            }),
            json!({"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
                {"field": "user.email", "description": "not an address", "reason": "INVALID_EMAIL",
                 "localizedMessage": {"locale": "de-CH", "message": "Ungültige Adresse"}},
                {"field": "user.name", "description": "empty", "reason": "",
                 "localizedMessage": null}]}),
        ),
        (
            any(&RequestInfo {
                request_id: "r-1".into(),
                serving_data: "abc".into(),
            }),
            json!({"@type": "type.googleapis.com/google.rpc.RequestInfo",
                   "requestId": "r-1", "servingData": "abc"}),
        ),
        (
            any(&ResourceInfo {
                resource_type: "user".into(),
                resource_name: "users/42".into(),
                owner: "team".into(),
                description: "gone".into(),
            }),
            json!({"@type": "type.googleapis.com/google.rpc.ResourceInfo",
                   "resourceType": "user", "resourceName": "users/42",
                   "owner": "team", "description": "gone"}),
        ),
        (
            any(&Help {
                links: vec![help::Link {
                    description: "docs".into(),
                    url: "https://example.com/docs".into(),
                }],
            }),
            json!({"@type": "type.googleapis.com/google.rpc.Help",
                   "links": [{"description": "docs", "url": "https://example.com/docs"}]}),
        ),
        (
            any(&localized),
            json!({"@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                   "locale": "de-CH", "message": "Ungültige Adresse"}),
        ),
    ]
}

#[test]
fn every_error_detail_in_an_any_is_proto3_json_without_registering_it() {
    for (any, expected) in cases() {
        let written: Value = serde_json::from_str(&serde_json::to_string(&any).unwrap()).unwrap();
        assert_eq!(written, expected, "{}", any.type_url);
        // `@type` comes first, as the other proto3 JSON writers put it.
        let text = serde_json::to_string(&any).unwrap();
        assert!(text.starts_with(r#"{"@type":"#), "{text}");
    }
}

#[test]
fn every_error_detail_reads_back_from_its_json_to_the_same_bytes() {
    for (any, expected) in cases() {
        let read: Any = rs_svc::json::from_str(&expected.to_string())
            .unwrap_or_else(|e| panic!("{}: {e}", any.type_url));
        assert_eq!(read, any, "{}", any.type_url);
    }
}

#[test]
fn unset_optional_and_message_fields_are_null_and_read_back_as_unset() {
    let violation = quota_failure::Violation::default();
    let json = serde_json::to_value(&violation).unwrap();
    assert_eq!(json["futureQuotaValue"], Value::Null);
    assert_eq!(json["quotaValue"], "0");
    let read: quota_failure::Violation = rs_svc::json::from_str(&json.to_string()).unwrap();
    assert_eq!(read, violation);
}

#[test]
fn error_details_keep_the_upstream_field_numbers() {
    // BadRequest.field_violations = 1; FieldViolation: field = 1, description = 2, reason = 3,
    // localized_message = 4 (LocalizedMessage: locale = 1, message = 2).
    let bad = BadRequest {
        field_violations: vec![bad_request::FieldViolation {
            field: "f".into(),
            description: "d".into(),
            reason: "R".into(),
            localized_message: Some(LocalizedMessage {
                locale: "l".into(),
                message: "m".into(),
            }),
        }],
    };
    assert_eq!(
        bad.encode_to_vec(),
        b"\x0a\x11\x0a\x01f\x12\x01d\x1a\x01R\x22\x06\x0a\x01l\x12\x01m".to_vec()
    );
    // RetryInfo.retry_delay = 1.
    let retry = RetryInfo {
        retry_delay: Some(Duration {
            seconds: 3,
            nanos: 0,
        }),
    };
    assert_eq!(retry.encode_to_vec(), b"\x0a\x02\x08\x03".to_vec());
}

mod tonic_types_interop {
    //! What tonic-types (the usual way to attach details to a tonic status) puts into
    //! `grpc-status-details-bin` decodes into our types and renders as JSON on HTTP errors.

    use super::*;
    use http_body_util::BodyExt;
    use tonic::Code;
    use tonic_types::{ErrorDetails, StatusExt};

    fn status() -> tonic::Status {
        let mut details = ErrorDetails::with_bad_request_violation("user.email", "not an address");
        details.set_resource_info("user", "users/42", "", "no such user");
        tonic::Status::with_error_details(Code::InvalidArgument, "invalid user", details)
    }

    #[test]
    fn tonic_types_details_decode_into_the_runtime_types() {
        let rpc = rs_svc::http::status::rpc_status(&status());
        let mut bad = None;
        let mut resource = None;
        for detail in &rpc.details {
            match detail.type_url.as_str() {
                "type.googleapis.com/google.rpc.BadRequest" => bad = detail.to_msg().ok(),
                "type.googleapis.com/google.rpc.ResourceInfo" => resource = detail.to_msg().ok(),
                other => panic!("unexpected detail {other}"),
            }
        }
        let bad: BadRequest = bad.expect("a BadRequest that decodes");
        assert_eq!(
            bad.field_violations,
            [bad_request::FieldViolation {
                field: "user.email".into(),
                description: "not an address".into(),
                ..Default::default()
            }]
        );
        let resource: ResourceInfo = resource.expect("a ResourceInfo that decodes");
        assert_eq!(
            resource,
            ResourceInfo {
                resource_type: "user".into(),
                resource_name: "users/42".into(),
                owner: String::new(),
                description: "no such user".into(),
            }
        );
    }

    #[tokio::test]
    async fn an_http_error_renders_tonic_types_details_as_json() {
        let response = rs_svc::http::status::error_response(&status());
        assert_eq!(response.status(), 400);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&body).unwrap();
        let details = body["details"].as_array().unwrap();
        let bad = details
            .iter()
            .find(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")
            .unwrap_or_else(|| panic!("{body}"));
        assert_eq!(
            bad["fieldViolations"][0],
            json!({"field": "user.email", "description": "not an address", "reason": "",
                   "localizedMessage": null})
        );
        let resource = details
            .iter()
            .find(|d| d["@type"] == "type.googleapis.com/google.rpc.ResourceInfo")
            .unwrap_or_else(|| panic!("{body}"));
        assert_eq!(resource["resourceName"], "users/42");
        assert_eq!(resource["description"], "no such user");
    }
}

/// A generated type that happens to share `google.rpc.ErrorInfo`'s name (a user generating
/// google/rpc themselves), with a JSON form of its own.
#[derive(Clone, PartialEq, prost::Message)]
struct ImpostorErrorInfo {
    #[prost(string, tag = "1")]
    reason: String,
}

impl prost::Name for ImpostorErrorInfo {
    const NAME: &'static str = "ErrorInfo";
    const PACKAGE: &'static str = "google.rpc";
}

impl serde::Serialize for ImpostorErrorInfo {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("impostor", &true)?;
        map.end()
    }
}

impl<'de> serde::Deserialize<'de> for ImpostorErrorInfo {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| ImpostorErrorInfo::default())
    }
}

rs_svc::__codegen::any_types!(ImpostorErrorInfo);

#[test]
fn a_generated_type_of_the_same_name_does_not_replace_the_crates_error_detail() {
    let info = ErrorInfo {
        reason: "R".into(),
        ..ErrorInfo::default()
    };
    let json = serde_json::to_value(any(&info)).unwrap();
    assert_eq!(json["reason"], "R", "{json}");
    assert_eq!(json.get("impostor"), None, "{json}");
}
