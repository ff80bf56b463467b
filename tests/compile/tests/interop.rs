//! Rules other transcoders serve beyond http.proto's letter, served the same way (the fixture
//! testdata/interop/v1/interop.proto), over real HTTP against the generated router:
//! - path variables and query parameters on client and bidi streams bind as Envoy's gRPC-JSON
//!   transcoder binds them, checked side by side with a real Envoy when one is installed
//!   (`RS_SVC_ENVOY`, or the virtualenv `.ci/run` fills; required when
//!   `RS_SVC_REQUIRE_FOREIGN=1`);
//! - grpc-gateway's extensions: a verb holding `:`, a nested body field, repeated fields bound
//!   to path variables, a client stream with no `body`.

mod common;
#[path = "common/envoy.rs"]
mod envoy;

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use interop::extension_service_server::ExtensionService;
use interop::note_service_server::{NoteService, NoteServiceServer};
use interop::value_service_server::ValueService;
use interop::{AnnotateNoteRequest, BatchGetNotesRequest, Kind, LegacyStatus, Note, Notes, Ref};
use reqwest::StatusCode;
use rs_svc_compile_test::interop::v1 as interop;
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

/// Records what each call received: the messages of a stream, or the one request.
#[derive(Default, Clone)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl Recorder {
    fn push(&self, seen: String) {
        self.0.lock().unwrap().push(seen);
    }

    /// What the last call received, and forgets it.
    fn take(&self) -> Option<String> {
        self.0.lock().unwrap().pop()
    }
}

/// Reads a whole stream; a bad message ends it with the error.
async fn read_all(request: Request<Streaming<Note>>) -> Result<Vec<Note>, Status> {
    let mut stream = request.into_inner();
    let mut notes = Vec::new();
    while let Some(note) = stream.message().await? {
        notes.push(note);
    }
    Ok(notes)
}

#[tonic::async_trait]
impl NoteService for Recorder {
    async fn write_notes(
        &self,
        request: Request<Streaming<Note>>,
    ) -> Result<Response<Notes>, Status> {
        let notes = read_all(request).await?;
        self.push(format!("{notes:?}"));
        Ok(Response::new(Notes { notes }))
    }

    type EchoNotesStream = Pin<Box<dyn Stream<Item = Result<Note, Status>> + Send>>;

    async fn echo_notes(
        &self,
        request: Request<Streaming<Note>>,
    ) -> Result<Response<Self::EchoNotesStream>, Status> {
        let notes = read_all(request).await?;
        self.push(format!("{notes:?}"));
        Ok(Response::new(Box::pin(tokio_stream::iter(
            notes.into_iter().map(Ok),
        ))))
    }
}

#[tonic::async_trait]
impl ExtensionService for Recorder {
    async fn import_notes(
        &self,
        request: Request<Streaming<Note>>,
    ) -> Result<Response<Notes>, Status> {
        let notes = read_all(request).await?;
        self.push(format!("{notes:?}"));
        Ok(Response::new(Notes { notes }))
    }

    async fn check_note(&self, request: Request<Note>) -> Result<Response<Note>, Status> {
        self.push(format!("{:?}", request.get_ref()));
        Ok(Response::new(request.into_inner()))
    }

    async fn annotate_note(
        &self,
        request: Request<AnnotateNoteRequest>,
    ) -> Result<Response<AnnotateNoteRequest>, Status> {
        self.push(format!("{:?}", request.get_ref()));
        Ok(Response::new(request.into_inner()))
    }

    async fn batch_get_notes(
        &self,
        request: Request<BatchGetNotesRequest>,
    ) -> Result<Response<BatchGetNotesRequest>, Status> {
        self.push(format!("{:?}", request.get_ref()));
        Ok(Response::new(request.into_inner()))
    }
}

/// The generated router in front of a fresh recorder.
async fn start_router() -> (String, Recorder) {
    let recorder = Recorder::default();
    let router = interop::note_service_http::router(Arc::new(recorder.clone()));
    (
        format!("http://{}", common::serve_http(router).await),
        recorder,
    )
}

async fn post(url: &str, content_type: &str, body: &str) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// A note with only a shelf and a text.
fn note(shelf: &str, text: &str) -> Note {
    Note {
        shelf: shelf.to_owned(),
        text: text.to_owned(),
        ..Default::default()
    }
}

/// A client-stream request and the messages the handler must see (`Err`: the HTTP status of a
/// refused request), and what Envoy's handler sees for it.
struct StreamRow {
    rule: &'static str,
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
    expected: Seen,
    envoy: Envoy,
}

type Seen = Result<Vec<Note>, u16>;

/// How Envoy's transcoder serves a row.
enum Envoy {
    /// As we do.
    Same,
    /// Otherwise, on purpose (see `rs_svc::http::client_stream`): what its handler sees.
    Differs(Seen),
}

fn stream_rows() -> Vec<StreamRow> {
    let json = "application/json";
    let ndjson = "application/x-ndjson";
    let with = |shelf: &str, text: &str, more: Note| Note {
        shelf: shelf.to_owned(),
        text: text.to_owned(),
        ..more
    };
    let none = Note::default;
    vec![
        StreamRow {
            rule: "the path binds into the first message only",
            path: "/v1/shelves/s1/notes:write",
            content_type: json,
            body: r#"[{"text": "a"}, {"text": "b"}]"#,
            expected: Ok(vec![note("shelves/s1", "a"), note("", "b")]),
            envoy: Envoy::Same,
        },
        StreamRow {
            rule: "query parameters bind into the first message too, even with body \"*\"",
            path: "/v1/shelves/s1/notes:write?page=3&kind=KIND_FINAL&ref.shelf=shelves/r&authorName=q",
            content_type: json,
            body: r#"[{"text": "a"}, {"text": "b"}]"#,
            expected: Ok(vec![
                with("shelves/s1", "a", Note {
                    page: 3,
                    kind: Kind::Final as i32,
                    r#ref: Some(Ref {
                        shelf: "shelves/r".to_owned(),
                    }),
                    author_name: "q".to_owned(),
                    ..none()
                }),
                note("", "b"),
            ]),
            envoy: Envoy::Same,
        },
        StreamRow {
            rule: "a field the first message sets keeps the message's value, nested too",
            path: "/v1/shelves/s1/notes:write?text=q&ref.shelf=q",
            content_type: json,
            body: r#"[{"shelf": "shelves/mine", "text": "", "ref": {"shelf": "mine"}}, {"text": "b"}]"#,
            expected: Ok(vec![
                with("shelves/mine", "", Note {
                    r#ref: Some(Ref { shelf: "mine".to_owned() }),
                    ..none()
                }),
                note("", "b"),
            ]),
            envoy: Envoy::Same,
        },
        StreamRow {
            rule: "a null field takes the bound value, creating the message above it",
            path: "/v1/shelves/s1/notes:write?ref.shelf=q",
            content_type: json,
            body: r#"[{"shelf": null, "ref": null}]"#,
            expected: Ok(vec![with("shelves/s1", "", Note {
                r#ref: Some(Ref { shelf: "q".to_owned() }),
                ..none()
            })]),
            envoy: Envoy::Same,
        },
        StreamRow {
            rule: "a repeated field gets the bound values after the message's own",
            path: "/v1/shelves/s1/notes:write?tags=q&tags=r",
            content_type: json,
            body: r#"[{"tags": ["a"]}, {"tags": ["b"]}]"#,
            expected: Ok(vec![
                with("shelves/s1", "", Note {
                    tags: vec!["a".into(), "q".into(), "r".into()],
                    ..none()
                }),
                Note {
                    tags: vec!["b".into()],
                    ..none()
                },
            ]),
            envoy: Envoy::Same,
        },
        StreamRow {
            rule: "unknown query parameters are ignored",
            path: "/v1/shelves/s1/notes:write?nope=1",
            content_type: json,
            body: r#"[{"text": "a"}]"#,
            expected: Ok(vec![note("shelves/s1", "a")]),
            envoy: Envoy::Same,
        },
        StreamRow {
            rule: "an empty stream has no message to bind into",
            path: "/v1/shelves/s1/notes:write?page=1",
            content_type: json,
            body: "[]",
            expected: Ok(vec![]),
            envoy: Envoy::Same,
        },
        StreamRow {
            rule: "a bad query value is a 400",
            path: "/v1/shelves/s1/notes:write?page=x",
            content_type: json,
            body: r#"[{"text": "a"}]"#,
            expected: Err(400),
            envoy: Envoy::Same,
        },
        StreamRow {
            rule: "a bad later message is a 400",
            path: "/v1/shelves/s1/notes:write",
            content_type: json,
            body: r#"[{"text": "a"}, {"page": "x"}]"#,
            expected: Err(400),
            envoy: Envoy::Same,
        },
        StreamRow {
            rule: "the first message's value wins under its JSON name too (Envoy checks proto names only)",
            path: "/v1/shelves/s1/notes:write?author_name=q",
            content_type: json,
            body: r#"[{"authorName": "mine"}]"#,
            expected: Ok(vec![with("shelves/s1", "", Note {
                author_name: "mine".to_owned(),
                ..none()
            })]),
            envoy: Envoy::Differs(Ok(vec![with("shelves/s1", "", Note {
                author_name: "q".to_owned(),
                ..none()
            })])),
        },
        StreamRow {
            rule: "the path beats the query (Envoy takes the query's value)",
            path: "/v1/shelves/s1/notes:write?shelf=q",
            content_type: json,
            body: r#"[{"text": "a"}]"#,
            expected: Ok(vec![note("shelves/s1", "a")]),
            envoy: Envoy::Differs(Ok(vec![note("q", "a")])),
        },
        StreamRow {
            rule: "NDJSON streams bind the same way (Envoy reads a JSON array only)",
            path: "/v1/shelves/s1/notes:write?page=2",
            content_type: ndjson,
            body: "{\"text\": \"a\"}\n{\"text\": \"b\"}\n",
            expected: Ok(vec![
                with("shelves/s1", "a", Note { page: 2, ..none() }),
                note("", "b"),
            ]),
            envoy: Envoy::Differs(Err(400)),
        },
        StreamRow {
            rule: "an empty body is an empty stream (Envoy wants an array)",
            path: "/v1/shelves/s1/notes:write?page=2",
            content_type: json,
            body: "",
            expected: Ok(vec![]),
            envoy: Envoy::Differs(Err(400)),
        },
    ]
}

/// What our router's handler saw for `row`.
async fn through_router(base: &str, recorder: &Recorder, row: &StreamRow) -> Result<String, u16> {
    let (status, body) = post(&format!("{base}{}", row.path), row.content_type, row.body).await;
    if status != StatusCode::OK {
        return Err(status.as_u16());
    }
    Ok(recorder
        .take()
        .unwrap_or_else(|| panic!("{}: no call recorded ({body})", row.rule)))
}

#[tokio::test]
async fn client_stream_path_and_query_bind_into_the_first_message_as_envoy_binds_them() {
    let (base, recorder) = start_router().await;
    for row in stream_rows() {
        assert_eq!(
            through_router(&base, &recorder, &row).await,
            rendered(&row.expected),
            "{}",
            row.rule
        );
    }
}

/// What a handler sees, as [`Recorder`] records it.
fn rendered(seen: &Seen) -> Result<String, u16> {
    seen.clone().map(|notes| format!("{notes:?}"))
}

#[tokio::test]
async fn bidi_stream_path_binds_into_the_first_message() {
    let (base, recorder) = start_router().await;
    let (status, body) = post(
        &format!("{base}/v1/shelves/s1/notes:echo?page=4"),
        "application/x-ndjson",
        "{\"text\": \"a\"}\n{\"text\": \"b\"}\n",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let expected = vec![
        Note {
            page: 4,
            ..note("shelves/s1", "a")
        },
        note("", "b"),
    ];
    assert_eq!(recorder.take(), Some(format!("{expected:?}")));
    let lines: Vec<serde_json::Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{body}");
    assert_eq!(lines[0]["shelf"], "shelves/s1");
    assert_eq!(lines[1]["shelf"], "");
}

#[tokio::test]
async fn envoy_binds_client_stream_path_and_query_as_our_router_does() {
    let Some(binary) = envoy::binary() else {
        return;
    };
    // The same implementation behind Envoy (over gRPC) and behind our router (in-process).
    let upstream = Recorder::default();
    let server = rs_svc::serve::Server::builder()
        .grpc(NoteServiceServer::new(upstream.clone()))
        .grpc_addr(([127, 0, 0, 1], 0))
        .build()
        .unwrap()
        .bind()
        .await
        .unwrap();
    let grpc_addr = server.grpc_addr();
    tokio::spawn(server.serve_with_shutdown(std::future::pending()));
    let options = ["ignore_unknown_query_parameters: true"];
    let envoy = envoy::start(&binary, "interop.v1.NoteService", grpc_addr, &options).await;
    let (base, recorder) = start_router().await;
    for row in stream_rows() {
        let ours = through_router(&base, &recorder, &row).await;
        assert_eq!(ours, rendered(&row.expected), "{}: our router", row.rule);
        let theirs = through_router(&envoy.base, &upstream, &row).await;
        let expected = match &row.envoy {
            Envoy::Same => &row.expected,
            Envoy::Differs(seen) => seen,
        };
        assert_eq!(
            theirs,
            rendered(expected),
            "{}: Envoy's handler (left) saw other messages than the row says",
            row.rule
        );
    }
}

/// The extension router in front of a fresh recorder.
async fn start_extensions() -> (String, Recorder) {
    let recorder = Recorder::default();
    let router = interop::extension_service_http::router(Arc::new(recorder.clone()));
    (
        format!("http://{}", common::serve_http(router).await),
        recorder,
    )
}

#[tokio::test]
async fn grpc_gateway_extensions_are_served_as_grpc_gateway_serves_them() {
    let (base, recorder) = start_extensions().await;
    let client = reqwest::Client::new();
    let ids = |ids: &[&str], pages: &[i64], kinds: &[Kind]| BatchGetNotesRequest {
        ids: ids.iter().map(|s| s.to_string()).collect(),
        pages: pages.to_vec(),
        kinds: kinds.iter().map(|k| *k as i32).collect(),
        full: false,
    };
    let annotate = |note: Option<Note>, priority: i32, reason: &str| AnnotateNoteRequest {
        id: "n1".to_owned(),
        payload: Some(interop::Payload {
            value: note.map(interop::payload::Value::Note),
            priority,
        }),
        reason: reason.to_owned(),
    };
    let json = "application/json";
    // (rule, method, path, content type, body, status, what the handler received)
    let rows: Vec<(&str, &str, &str, &str, &str, u16, String)> = vec![
        (
            "a verb holding `:` is the suffix after the variable",
            "POST",
            "/v1/notes/n1:check:twice",
            json,
            "",
            200,
            format!("{:?}", Note { id: "n1".to_owned(), ..Note::default() }),
        ),
        (
            "the variable before a verb holding `:` may hold `:` itself",
            "POST",
            "/v1/notes/a:b:check:twice?text=t",
            json,
            "",
            200,
            format!("{:?}", Note { id: "a:b".to_owned(), text: "t".to_owned(), ..Note::default() }),
        ),
        (
            "without the whole verb, no route matches",
            "POST",
            "/v1/notes/n1:twice",
            json,
            "",
            404,
            String::new(),
        ),
        (
            "a nested body field is set from the body, creating its parents",
            "POST",
            "/v1/notes/n1:annotate",
            json,
            r#"{"text": "t", "authorName": "ann"}"#,
            200,
            format!("{:?}", annotate(Some(Note { text: "t".to_owned(), author_name: "ann".to_owned(), ..Note::default() }), 0, "")),
        ),
        (
            "the query sets fields beside a nested body field, never inside it",
            "POST",
            "/v1/notes/n1:annotate?reason=r&payload.priority=2&payload.note.text=no",
            json,
            r#"{"text": "t"}"#,
            200,
            format!("{:?}", annotate(Some(Note { text: "t".to_owned(), ..Note::default() }), 2, "r")),
        ),
        (
            "an empty body leaves the nested field an empty message",
            "POST",
            "/v1/notes/n1:annotate?reason=r",
            json,
            "",
            200,
            format!("{:?}", annotate(Some(Note::default()), 0, "r")),
        ),
        (
            "repeated path values are split on commas",
            "GET",
            "/v1/notes/a,b/pages/1,-2/kinds/KIND_DRAFT,2",
            json,
            "",
            200,
            format!("{:?}", ids(&["a", "b"], &[1, -2], &[Kind::Draft, Kind::Final])),
        ),
        (
            "one value is a list of one; an encoded comma splits too, as grpc-gateway decodes first",
            "GET",
            "/v1/notes/a%2Cb%20c/pages/7/kinds/KIND_DRAFT?full=true",
            json,
            "",
            200,
            format!("{:?}", BatchGetNotesRequest { full: true, ..ids(&["a", "b c"], &[7], &[Kind::Draft]) }),
        ),
        (
            "a bad element is a 400",
            "GET",
            "/v1/notes/a/pages/1,x/kinds/KIND_DRAFT",
            json,
            "",
            400,
            String::new(),
        ),
        (
            "a client stream with no body reads its messages from the body",
            "POST",
            "/v1/notes:import",
            "application/x-ndjson",
            "{\"text\": \"a\"}\n{\"text\": \"b\"}\n",
            200,
            format!("{:?}", vec![note("", "a"), note("", "b")]),
        ),
    ];
    for (rule, method, path, content_type, body, status, seen) in rows {
        let response = client
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let code = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(code, status, "{rule}: {text}");
        let recorded = recorder.take();
        if status == 200 {
            assert_eq!(recorded.as_deref(), Some(seen.as_str()), "{rule}");
        } else {
            assert_eq!(recorded, None, "{rule}: the handler ran");
        }
    }
}

#[tonic::async_trait]
impl ValueService for Recorder {
    async fn echo_int64(&self, request: Request<i64>) -> Result<Response<i64>, Status> {
        self.push(format!("{:?}", request.get_ref()));
        Ok(Response::new(request.into_inner()))
    }

    async fn echo_duration(
        &self,
        request: Request<rs_svc::wkt::Duration>,
    ) -> Result<Response<rs_svc::wkt::Duration>, Status> {
        let duration = request.get_ref();
        self.push(format!("{}s {}ns", duration.seconds, duration.nanos));
        Ok(Response::new(request.into_inner()))
    }

    async fn echo_status(
        &self,
        request: Request<LegacyStatus>,
    ) -> Result<Response<LegacyStatus>, Status> {
        self.push(format!("{:?}", request.get_ref()));
        Ok(Response::new(request.into_inner()))
    }
}

#[tokio::test]
async fn well_known_types_and_proto2_messages_are_whole_requests() {
    let recorder = Recorder::default();
    let router = interop::value_service_http::router(Arc::new(recorder.clone()));
    let base = format!("http://{}", common::serve_http(router).await);
    // (rule, path, body, status, what the handler received, the response body)
    let rows = [
        (
            "a wrapper's body is its value's JSON",
            "/v1/values/int64",
            r#""123""#,
            200,
            "123",
        ),
        (
            "a wrapper takes a number too",
            "/v1/values/int64",
            "-4",
            200,
            "-4",
        ),
        (
            "an empty body is the default value",
            "/v1/values/int64",
            "",
            200,
            "0",
        ),
        (
            "a bad wrapper value is a 400",
            "/v1/values/int64",
            r#""x""#,
            400,
            "",
        ),
        (
            "a duration's body is its JSON string",
            "/v1/values/duration",
            r#""1.500s""#,
            200,
            "1s 500000000ns",
        ),
        // No body is the default message, whatever its JSON form: `{}` is not a duration.
        (
            "an empty body is the default duration",
            "/v1/values/duration",
            "",
            200,
            "0s 0ns",
        ),
        (
            "an explicit `{}` is no duration",
            "/v1/values/duration",
            "{}",
            400,
            "",
        ),
        (
            "a proto2 message reads its required fields bare",
            "/v1/values/status",
            r#"{"code": 3, "reason": "r"}"#,
            200,
            r#"LegacyStatus { code: 3, message: None, reason: "r" }"#,
        ),
    ];
    for (rule, path, body, status, seen) in rows {
        let (code, text) = post(&format!("{base}{path}"), "application/json", body).await;
        assert_eq!(code.as_u16(), status, "{rule}: {text}");
        let recorded = recorder.take();
        if status == 200 {
            assert_eq!(recorded.as_deref(), Some(seen), "{rule}");
        } else {
            assert_eq!(recorded, None, "{rule}: the handler ran");
        }
    }
    // Written back as proto3 JSON: a wrapper as its value's JSON (an int64 is a string).
    let (_, text) = post(
        &format!("{base}/v1/values/int64"),
        "application/json",
        "123",
    )
    .await;
    assert_eq!(text, r#""123""#);
    let (_, text) = post(
        &format!("{base}/v1/values/duration"),
        "application/json",
        r#""1.5s""#,
    )
    .await;
    assert_eq!(text, r#""1.500s""#);
    let (_, text) = post(
        &format!("{base}/v1/values/status"),
        "application/json",
        r#"{"code": 3, "reason": "r"}"#,
    )
    .await;
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json, serde_json::json!({"code": 3, "reason": "r"}));
}
