use std::sync::Arc;

use axum::body::Body;
use http::{header, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};

use super::bind::body_fault;
use super::router::{coverage, covering_paths};
use super::{unary, BodyRule, Call, JsonMessage, Options, Rule, SuccessStatus};
use crate::http::matcher::{MethodFilter, Template};
use crate::http::matcher::{Segment as S, Variable as V};
use crate::http::query::{Cardinality, QueryField, QueryKind};

const NONE: &[V] = &[];

#[test]
fn each_template_is_covered_by_its_literal_prefix_and_a_positional_catch_all() {
    let table: &[(Template, &[&str])] = &[
        (
            Template {
                segments: &[],
                variables: NONE,
                verb: None,
            },
            &["/"],
        ),
        (
            Template {
                segments: &[S::Literal("v1"), S::Literal("orders")],
                variables: NONE,
                verb: None,
            },
            &["/v1/orders/", "/v1/orders"],
        ),
        (
            Template {
                segments: &[S::Literal("v1"), S::Literal("orders")],
                variables: NONE,
                verb: Some("import"),
            },
            &["/v1/orders:import"],
        ),
        (
            Template {
                segments: &[S::Literal("v1"), S::Literal("orders"), S::Single],
                variables: NONE,
                verb: Some("cancel"),
            },
            &["/v1/orders/{*p2}"],
        ),
        (
            Template {
                segments: &[S::Literal("v1"), S::Single, S::Literal("books")],
                variables: NONE,
                verb: None,
            },
            &["/v1/{*p1}"],
        ),
        (
            Template {
                segments: &[S::Literal("v1"), S::Literal("books"), S::Multi],
                variables: NONE,
                verb: None,
            },
            &["/v1/books", "/v1/books/{*p2}", "/v1/books/"],
        ),
        (
            Template {
                segments: &[S::Multi],
                variables: NONE,
                verb: Some("getType"),
            },
            &["/", "/{*p0}"],
        ),
        // What axum's syntax would misread, or what the matcher decodes, is a catch-all.
        (
            Template {
                segments: &[S::Literal("v1"), S::Literal("a%62c")],
                variables: NONE,
                verb: None,
            },
            &["/v1/{*p1}"],
        ),
        (
            Template {
                segments: &[S::Literal("v1"), S::Literal("{x}")],
                variables: NONE,
                verb: None,
            },
            &["/v1/{*p1}"],
        ),
        (
            Template {
                segments: &[S::Literal("v1"), S::Literal("jobs")],
                variables: NONE,
                verb: Some("a%3Ab"),
            },
            &["/v1/{*p1}"],
        ),
    ];
    for (template, paths) in table {
        assert_eq!(covering_paths(template), *paths, "{template:?}");
    }
}

#[test]
fn a_body_fault_is_cancelled_only_when_the_client_went_away() {
    use std::io::{Error, ErrorKind};
    let table = [
        (ErrorKind::ConnectionReset, tonic::Code::Cancelled),
        (ErrorKind::ConnectionAborted, tonic::Code::Cancelled),
        (ErrorKind::BrokenPipe, tonic::Code::Cancelled),
        (ErrorKind::UnexpectedEof, tonic::Code::InvalidArgument),
        (ErrorKind::InvalidData, tonic::Code::InvalidArgument),
        (ErrorKind::InvalidInput, tonic::Code::InvalidArgument),
    ];
    for (kind, code) in table {
        // As it reaches the handler: an axum error around the cause.
        let error = axum::Error::new(Error::new(kind, "cause"));
        let status = body_fault(&error);
        assert_eq!(status.code(), code, "{kind:?}");
        assert!(status.message().contains("cause"), "{kind:?}: {status:?}");
    }
}

#[test]
fn coverage_adds_a_catch_all_per_first_literal_and_lists_each_method_once() {
    static GET: Template = Template {
        segments: &[S::Literal("v1"), S::Literal("orders"), S::Single],
        variables: NONE,
        verb: None,
    };
    static CANCEL: Template = Template {
        segments: &[S::Literal("v1"), S::Literal("orders"), S::Single],
        variables: NONE,
        verb: Some("cancel"),
    };
    static PURGE: Template = Template {
        segments: &[S::Literal("v2"), S::Literal("cache")],
        variables: NONE,
        verb: None,
    };
    let routes = [
        (MethodFilter::Is(Method::GET), &GET),
        (MethodFilter::Is(Method::POST), &CANCEL),
        (MethodFilter::Is(Method::GET), &CANCEL),
        (MethodFilter::custom("PURGE").unwrap(), &PURGE),
    ];
    let covered = coverage(routes.iter().map(|(m, t)| (m, *t)));
    let summary: Vec<(&str, usize, bool)> = covered
        .iter()
        .map(|(path, c)| (path.as_str(), c.standard.len(), c.every))
        .collect();
    assert_eq!(
        summary,
        [
            ("/v1/orders/{*p2}", 2, false),
            ("/v1/{*p1}", 0, false),
            ("/v2/cache", 0, true),
            ("/v2/cache/", 0, true),
            ("/v2/{*p1}", 0, false),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// The call path, end to end through `unary` with a message that echoes what binding built.
// ---------------------------------------------------------------------------------------------

/// A request message that is the JSON object binding made, as the message would read it.
#[derive(Debug)]
struct Echo(Value);

const fn text(proto: &'static str, json: &'static str) -> QueryField {
    QueryField::new(proto, json, QueryKind::Text, Cardinality::Singular, None)
}

fn book_fields() -> &'static [QueryField] {
    const FIELDS: &[QueryField] = &[text("title", "title"), text("author", "author")];
    FIELDS
}

impl JsonMessage for Echo {
    fn query_fields() -> &'static [QueryField] {
        const FIELDS: &[QueryField] = &[
            text("name", "name"),
            text("page_token", "pageToken"),
            QueryField::new(
                "book",
                "book",
                QueryKind::Message(book_fields),
                Cardinality::Singular,
                None,
            ),
            text("update_mask", "updateMask"),
        ];
        FIELDS
    }

    fn from_value(value: Value) -> Result<Self, String> {
        Ok(Echo(value))
    }

    fn from_body(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes)
            .map(Echo)
            .map_err(|e| format!("invalid JSON body: {e}"))
    }

    fn empty_body() -> Self {
        Echo(json!({}))
    }

    fn rejects(_: Value) -> Option<String> {
        None
    }
}

const fn rule(body: BodyRule) -> Rule {
    Rule {
        body,
        response_body: None,
        http_body_request: false,
        http_body_response: false,
        infer_field_mask: None,
        grpc_gateway_envelope: false,
        success_status: 200,
    }
}

const BOOK: BodyRule = BodyRule::Field {
    proto_name: "book",
    json_name: "book",
};

/// A call of `method uri` with a JSON `body` (empty for none) and these path bindings.
fn call(
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: &str,
    bindings: &[(&'static str, &str)],
    options: Options,
) -> Call {
    let mut request = http::Request::builder().method(method).uri(uri);
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let (parts, body) = request
        .body(Body::from(body.to_owned()))
        .unwrap()
        .into_parts();
    Call {
        parts,
        body,
        method: "test.v1.Test/Call",
        bindings: bindings.iter().map(|(f, v)| (*f, v.to_string())).collect(),
        options: Arc::new(options),
    }
}

/// The status and JSON body of `response`.
async fn read(response: http::Response<Body>) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)))
    };
    (status, json)
}

/// What the handler received, as JSON (the echo of the bound message).
async fn bound(call: Call, rule: &'static Rule) -> (StatusCode, Value) {
    let response = unary(call, rule, |request: tonic::Request<Echo>| async move {
        Ok(tonic::Response::new(request.into_inner().0))
    })
    .await;
    read(response).await
}

#[tokio::test]
async fn path_variables_win_over_the_body_and_the_body_over_the_query() {
    static FIELD: Rule = rule(BOOK);
    static ALL: Rule = rule(BodyRule::All);
    static NONE: Rule = rule(BodyRule::None);
    // (request URI, rule, body, path bindings, what the message holds)
    type Case = (&'static str, &'static Rule, &'static str, Bindings, Value);
    type Bindings = &'static [(&'static str, &'static str)];
    let cases: &[Case] = &[
        // A body field: the query sets the rest of the message, never the body field.
        (
            "/v1/x?name=q&pageToken=t&book.title=q",
            &FIELD,
            r#"{"title":"b"}"#,
            &[],
            json!({"name": "q", "pageToken": "t", "book": {"title": "b"}}),
        ),
        // A path variable replaces what the query set.
        (
            "/v1/x?name=q",
            &FIELD,
            r#"{"title":"b"}"#,
            &[("name", "p")],
            json!({"name": "p", "book": {"title": "b"}}),
        ),
        // A path variable inside the body field replaces what the body set there.
        (
            "/v1/x",
            &FIELD,
            r#"{"title":"b","author":"a"}"#,
            &[("book.title", "p")],
            json!({"book": {"title": "p", "author": "a"}}),
        ),
        // `body: "*"`: the query is not read; path variables still win over the body.
        (
            "/v1/x?pageToken=q",
            &ALL,
            r#"{"name":"b","pageToken":"b"}"#,
            &[("name", "p")],
            json!({"name": "p", "pageToken": "b"}),
        ),
        // No body rule: the query and the path; a body sent anyway is ignored.
        (
            "/v1/x?pageToken=q&name=q",
            &NONE,
            r#"{"name":"b"}"#,
            &[("name", "p")],
            json!({"name": "p", "pageToken": "q"}),
        ),
    ];
    for (uri, rule, body, bindings, want) in cases {
        let call = call(
            "POST",
            uri,
            Some("application/json"),
            body,
            bindings,
            Options::default(),
        );
        let (status, got) = bound(call, rule).await;
        assert_eq!(status, StatusCode::OK, "{uri} {body}: {got}");
        assert_eq!(&got, want, "{uri} {body} {bindings:?}");
    }
}

#[tokio::test]
async fn an_empty_body_is_the_default_message_and_a_non_object_body_is_a_400() {
    static ALL: Rule = rule(BodyRule::All);
    let empty = call("POST", "/v1/x", None, "", &[], Options::default());
    assert_eq!(bound(empty, &ALL).await, (StatusCode::OK, json!({})));
    let with_path = call(
        "POST",
        "/v1/x",
        Some("application/json"),
        "[1]",
        &[("name", "p")],
        Options::default(),
    );
    let (status, error) = bound(with_path, &ALL).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["code"], 3, "{error}");
}

#[tokio::test]
async fn a_patch_body_field_infers_the_update_mask_unless_the_query_sets_it() {
    static PATCH: Rule = Rule {
        infer_field_mask: Some("updateMask"),
        ..rule(BOOK)
    };
    let cases = [
        ("/v1/x", json!("author,title")),
        ("/v1/x?updateMask=title", json!("title")),
    ];
    for (uri, want) in cases {
        let call = call(
            "PATCH",
            uri,
            Some("application/json"),
            r#"{"title":"t","author":"a"}"#,
            &[],
            Options::default(),
        );
        let (status, got) = bound(call, &PATCH).await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!(got["updateMask"], want, "{uri}");
    }
}

#[tokio::test]
async fn a_nested_body_field_creates_its_parents_beside_what_the_query_set() {
    static NESTED: Rule = rule(BodyRule::Field {
        proto_name: "book.title",
        json_name: "book.title",
    });
    let call = call(
        "POST",
        "/v1/x?book.author=q",
        Some("application/json"),
        r#""t""#,
        &[],
        Options::default(),
    );
    let (status, got) = bound(call, &NESTED).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got, json!({"book": {"author": "q", "title": "t"}}));
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_and_non_json_bodies_415() {
    static ALL: Rule = rule(BodyRule::All);
    let cases: &[(Option<&str>, &str, usize, StatusCode)] = &[
        (
            Some("application/json"),
            r#"{"name":"n"}"#,
            1024,
            StatusCode::OK,
        ),
        (
            Some("application/json"),
            r#"{"name":"n"}"#,
            4,
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            Some("text/plain"),
            r#"{"name":"n"}"#,
            1024,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            None,
            r#"{"name":"n"}"#,
            1024,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        // No body at all needs no content type.
        (None, "", 1024, StatusCode::OK),
    ];
    for &(content_type, body, limit, want) in cases {
        let options = Options::default().max_body_bytes(limit);
        let call = call("POST", "/v1/x", content_type, body, &[], options);
        let (status, got) = bound(call, &ALL).await;
        assert_eq!(status, want, "{content_type:?} {body} limit {limit}: {got}");
    }
}

#[test]
fn json_content_types_are_application_json_or_plus_json_in_utf8() {
    let cases = [
        ("application/json", true),
        ("Application/JSON", true),
        ("application/json; charset=utf-8", true),
        ("application/json; charset=\"UTF-8\"", true),
        ("application/problem+json", true),
        ("application/json; charset=latin1", false),
        ("text/json", false),
        ("text/plain", false),
        ("application/jsonx", false),
    ];
    for (content_type, want) in cases {
        let value = HeaderValue::from_static(content_type);
        assert_eq!(super::is_json(Some(&value)), want, "{content_type}");
    }
    assert!(!super::is_json(None));
}

#[tokio::test]
async fn unknown_query_parameters_are_ignored_unless_rejected() {
    static NONE: Rule = rule(BodyRule::None);
    for (reject, want) in [(false, StatusCode::OK), (true, StatusCode::BAD_REQUEST)] {
        let options = Options::default().reject_unknown_query_parameters(reject);
        let call = call("GET", "/v1/x?nope=1", None, "", &[], options);
        assert_eq!(bound(call, &NONE).await.0, want, "reject {reject}");
    }
}

#[tokio::test]
async fn the_success_status_is_the_handlers_choice_then_the_rules_and_204_sends_no_body() {
    static CREATED: Rule = Rule {
        success_status: 201,
        ..rule(BodyRule::None)
    };
    let cases: &[(Option<SuccessStatus>, StatusCode, Value)] = &[
        (None, StatusCode::CREATED, json!({"name": "n"})),
        (
            Some(SuccessStatus::ACCEPTED),
            StatusCode::ACCEPTED,
            json!({"name": "n"}),
        ),
        (
            Some(SuccessStatus::NO_CONTENT),
            StatusCode::NO_CONTENT,
            Value::Null,
        ),
        (
            SuccessStatus::new(StatusCode::RESET_CONTENT),
            StatusCode::RESET_CONTENT,
            Value::Null,
        ),
    ];
    for (chosen, want_status, want_body) in cases {
        let chosen = *chosen;
        let call = call("GET", "/v1/x?name=n", None, "", &[], Options::default());
        let response = unary(
            call,
            &CREATED,
            move |request: tonic::Request<Echo>| async move {
                let mut response = tonic::Response::new(request.into_inner().0);
                if let Some(chosen) = chosen {
                    response.extensions_mut().insert(chosen);
                }
                Ok(response)
            },
        )
        .await;
        assert_eq!(
            read(response).await,
            (*want_status, want_body.clone()),
            "{chosen:?}"
        );
    }
    assert_eq!(SuccessStatus::new(StatusCode::NOT_FOUND), None);
}

#[tokio::test]
async fn responses_are_the_message_its_response_body_field_or_a_raw_http_body() {
    static FIELD: Rule = Rule {
        response_body: Some("book"),
        ..rule(BodyRule::None)
    };
    static RAW: Rule = Rule {
        http_body_response: true,
        ..rule(BodyRule::None)
    };
    static EMPTY: Rule = rule(BodyRule::None);
    let reply = |rule: &'static Rule, message: Value| async move {
        let call = call("GET", "/v1/x", None, "", &[], Options::default());
        let response = unary(call, rule, move |_: tonic::Request<()>| async move {
            Ok(tonic::Response::new(message))
        })
        .await;
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (content_type, body)
    };
    let (content_type, body) = reply(&FIELD, json!({"book": {"title": "t"}, "x": 1})).await;
    assert_eq!(content_type.unwrap(), "application/json");
    assert_eq!(&body[..], br#"{"title":"t"}"#);
    let (content_type, body) =
        reply(&RAW, json!({"contentType": "text/csv", "data": "YSxi"})).await;
    assert_eq!(content_type.unwrap(), "text/csv");
    assert_eq!(&body[..], b"a,b");
    // `()` (google.protobuf.Empty) writes `null` through serde; its JSON is `{}`.
    let (_, body) = reply(&EMPTY, Value::Null).await;
    assert_eq!(&body[..], b"{}");
}

#[tokio::test]
async fn a_handler_error_is_a_status_body_a_panic_a_500_and_a_passed_deadline_a_504() {
    static NONE: Rule = rule(BodyRule::None);
    let not_found = call("GET", "/v1/x", None, "", &[], Options::default());
    let response = unary(not_found, &NONE, |_: tonic::Request<()>| async {
        Err::<tonic::Response<()>, _>(tonic::Status::not_found("no book"))
    })
    .await;
    assert_eq!(
        read(response).await,
        (
            StatusCode::NOT_FOUND,
            json!({"code": 5, "message": "no book", "details": []})
        )
    );

    let panics = call("GET", "/v1/x", None, "", &[], Options::default());
    let response = unary(panics, &NONE, |_: tonic::Request<()>| async {
        if true {
            panic!("the handler panicked");
        }
        Ok(tonic::Response::new(()))
    })
    .await;
    let (status, error) = read(response).await;
    assert_eq!(
        (status, &error["code"]),
        (StatusCode::INTERNAL_SERVER_ERROR, &json!(13))
    );

    let mut late = call("GET", "/v1/x", None, "", &[], Options::default());
    late.parts
        .headers
        .insert("grpc-timeout", HeaderValue::from_static("1m"));
    let response = unary(late, &NONE, |_: tonic::Request<()>| async {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        Ok(tonic::Response::new(()))
    })
    .await;
    let (status, error) = read(response).await;
    assert_eq!(
        (status, &error["code"]),
        (StatusCode::GATEWAY_TIMEOUT, &json!(4))
    );
}

#[tokio::test]
async fn the_interceptor_sees_the_call_first_and_its_error_is_the_response() {
    static NONE: Rule = rule(BodyRule::None);
    let options = Options::default().interceptor(|request: tonic::Request<()>| {
        match request.metadata().get("authorization") {
            Some(_) => Ok(request),
            None => Err(tonic::Status::unauthenticated("who are you")),
        }
    });
    let mut allowed = call("GET", "/v1/x?name=n", None, "", &[], options.clone());
    allowed
        .parts
        .headers
        .insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
    assert_eq!(bound(allowed, &NONE).await.0, StatusCode::OK);
    let refused = call("GET", "/v1/x?name=n", None, "", &[], options);
    let (status, error) = bound(refused, &NONE).await;
    assert_eq!(
        (status, &error["message"]),
        (StatusCode::UNAUTHORIZED, &json!("who are you"))
    );
}

#[test]
fn wrapper_requests_read_their_proto3_json_and_an_empty_object_is_the_default() {
    assert_eq!(<i64 as JsonMessage>::from_body(br#""123""#), Ok(123));
    assert_eq!(<i64 as JsonMessage>::from_body(b"{}"), Ok(0));
    assert_eq!(
        <Vec<u8> as JsonMessage>::from_body(br#""aGk=""#),
        Ok(b"hi".to_vec())
    );
    assert_eq!(
        <f32 as JsonMessage>::from_body(br#""NaN""#).map(f32::is_nan),
        Ok(true)
    );
    assert!(<u32 as JsonMessage>::from_body(b"-1").is_err());
    assert!(<bool as JsonMessage>::from_body(br#"{"x":1}"#).is_err());
    // google.protobuf.Empty is `()`: any object, nothing else.
    assert_eq!(<() as JsonMessage>::from_body(b"{}"), Ok(()));
    assert!(<() as JsonMessage>::from_body(b"[]").is_err());
}

#[tokio::test]
async fn unknown_paths_are_a_status_404() {
    let (status, error) = read(super::not_found().await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["code"], 5, "{error}");
}
