//! The Connect protocol on the example server (docs/reference.md section 13), as
//! `user_service_example::server` serves it: on both ports, binary and JSON.
//!
//! - The npm Connect client under node (tests/connect_client.cjs): `@connectrpc/connect-node`'s
//!   `createConnectTransport`, binary and JSON: unary calls with metadata both ways, an error
//!   with details, a server stream with a message sent while it runs, a deadline
//!   (`timeoutMs`) that the server's stack sees, and unary GET; the calls count as gRPC calls in
//!   the metrics and the stack sees them as Connect calls.
//! - curl: a Connect JSON call by hand, and malformed or unsupported Connect calls, each a
//!   Connect error (its code in a JSON body) with the HTTP status the protocol gives.
//! - Headless Chromium: a page of another origin calls Connect methods with
//!   `@connectrpc/connect-web`, binary and JSON, given CORS.
//!
//! node, Chromium and the npm packages are found as tests/common/browser.rs says; a missing one
//! skips the test unless `RS_SVC_REQUIRE_BROWSER=1` (set by `.ci/run`).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::browser;
use rs_svc::metrics::Metrics;
use rs_svc::serve::CallInfo;
use serde_json::{json, Value};
use user_service_example::FILE_DESCRIPTOR_SET;

/// What the stack saw of a call: its method, whether it came as Connect, whether it had a
/// deadline.
type Seen = Arc<Mutex<Vec<(String, bool, bool)>>>;

/// The example's ports, serving until the test ends, its metrics and the calls its stack saw.
struct Example {
    grpc: SocketAddr,
    http: SocketAddr,
    metrics: Metrics,
    seen: Seen,
}

/// Serves the example as its binary does, with a layer recording the calls and CORS for
/// `origins` unless there are none.
async fn serve_example(origins: &[&str]) -> Example {
    let seen = Seen::default();
    let record = seen.clone();
    let layer = rs_svc::serve::interceptor(move |request: tonic::Request<()>| {
        if let Some(call) = request.extensions().get::<CallInfo>() {
            record.lock().unwrap().push((
                call.method_name().to_owned(),
                call.is_connect(),
                call.deadline().is_some(),
            ));
        }
        std::future::ready(Ok(request))
    });
    let common::Example {
        grpc,
        http,
        metrics,
    } = common::serve_example(&[7; 32], |builder| {
        common::with_cors(builder.layer(layer), origins)
    })
    .await;
    Example {
        grpc,
        http,
        metrics,
        seen,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_connect_client_calls_binary_and_json_unary_streams_errors_and_deadlines_on_both_ports()
{
    let (Some(node), Some(packages)) = (browser::node(), browser::grpc_web_packages()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let descriptors = dir.path().join("user.pb");
    std::fs::write(&descriptors, FILE_DESCRIPTOR_SET).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/connect_client.cjs");
    let user = |id: &str| {
        json!({"name": format!("users/{id}"), "displayName": format!("User {id}"),
               "email": format!("{id}@example.com")})
    };
    let missing = json!({
        "code": 5,
        "message": "users/nobody not found",
        "details": [{
            "type": "google.rpc.ResourceInfo",
            "resource": true,
            "debug": {"resourceType": "user.v1.User", "resourceName": "users/nobody",
                      "owner": "", "description": "no such user"},
        }],
    });
    for port in ["http", "grpc"] {
        let example = serve_example(&[]).await;
        let addr = if port == "http" {
            example.http
        } else {
            example.grpc
        };
        let got = browser::node_client(&node, &script, addr, &descriptors, &packages).await;
        let expected = json!({
            "binary": {
                "created": user("bin"),
                "requestId": "req-bin",
                "got": user("bin"),
                "missing": missing,
                "watched": ["users/bin", "users/bin-2"],
                // bin and bin-2 were there; DEADLINE_EXCEEDED.
                "deadline": {"events": 2, "code": 4},
            },
            "json": {
                "created": user("json"),
                "requestId": "req-json",
                "got": user("json"),
                "missing": missing,
                "watched": ["users/bin", "users/bin-2"],
                "deadline": {"events": 4, "code": 4},
            },
            "get": user("json"),
        });
        assert_eq!(got, expected, "on the {port} port");

        // Connect calls are gRPC calls to the stack: the metrics count them so, and the stack
        // sees them as Connect calls with the deadline the client gave.
        common::assert_get_user_counted_as_grpc(&example.metrics, 3, 2);
        let seen = example.seen.lock().unwrap().clone();
        assert!(
            seen.iter().all(|(_, connect, _)| *connect),
            "a call not seen as Connect: {seen:?}"
        );
        let with_deadline = seen
            .iter()
            .filter(|(method, _, deadline)| method == "WatchUsers" && *deadline)
            .count();
        assert_eq!(with_deadline, 2, "{seen:?}");
    }
}

/// curl's answer: the status, the content type and the body.
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

async fn curl(args: &[String]) -> Answer {
    let mut command = Command::new("curl");
    command
        .args(["-sS", "-w", "\n%{http_code} %{content_type}"])
        .args(args);
    let output = common::run(command).await;
    let text = output.stdout;
    let split = text.iter().rposition(|b| *b == b'\n').unwrap();
    let tail = String::from_utf8_lossy(&text[split + 1..]).into_owned();
    let (status, content_type) = tail.split_once(' ').unwrap();
    Answer {
        status: status.parse().unwrap(),
        content_type: content_type.to_owned(),
        body: text[..split].to_vec(),
    }
}

/// An envelope: flags, the length, the message.
fn envelope(flags: u8, message: &[u8]) -> Vec<u8> {
    let mut envelope = vec![flags];
    envelope.extend_from_slice(&(message.len() as u32).to_be_bytes());
    envelope.extend_from_slice(message);
    envelope
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_calls_by_hand_and_malformed_ones_answer_connect_errors_with_4xx() {
    if !common::curl_found() {
        return;
    }
    let example = serve_example(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        format!("@{}", path.display())
    };
    let url = |method: &str| format!("http://{}/user.v1.UserService/{method}", example.http);
    let post = |method: &str, headers: &[&str], body: String| {
        let mut args = vec!["-X".to_owned(), "POST".into()];
        for header in headers {
            args.extend(["-H".to_owned(), (*header).to_owned()]);
        }
        args.extend(["--data-binary".to_owned(), body, url(method)]);
        args
    };
    let json = "content-type: application/json";
    let version = "Connect-Protocol-Version: 1";

    // By hand: create, then get, as JSON.
    let created = curl(&post(
        "CreateUser",
        &[json, version],
        r#"{"userId": "ann", "user": {"email": "ann@example.com"}}"#.into(),
    ))
    .await;
    assert_eq!(
        created.status,
        200,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(created.content_type, "application/json");
    let got = curl(&post(
        "GetUser",
        &[json, version],
        r#"{"name": "users/ann"}"#.into(),
    ))
    .await;
    let user: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(
        (got.status, &user["email"]),
        (200, &json!("ann@example.com"))
    );
    // A JSON body without Connect-Protocol-Version is not a Connect call: the HTTP routes
    // answer it (no route for this path: 404 with a google.rpc.Status).
    let plain = curl(&post("GetUser", &[json], r#"{"name": "users/ann"}"#.into())).await;
    assert_eq!(plain.status, 404);

    let get_message = format!(
        "{}?connect=v1&encoding=json&message=%7B%22name%22%3A%22users%2Fann%22%7D",
        url("GetUser")
    );
    let get_ok = curl(&[get_message]).await;
    assert_eq!(
        get_ok.status,
        200,
        "{}",
        String::from_utf8_lossy(&get_ok.body)
    );

    let stream = "content-type: application/connect+json";
    // The stack's guards apply: ImportUsers without a token is refused before its handler, and
    // a stream carries the error in its end-stream envelope (status 200, as the protocol says).
    let import = envelope(
        0,
        br#"{"userId": "eve", "user": {"email": "eve@example.com"}}"#,
    );
    let refused = curl(&post("ImportUsers", &[stream], file("import", &import))).await;
    assert_eq!(refused.status, 200);
    assert_eq!(refused.content_type, "application/connect+json");
    assert_eq!(
        refused.body[0], 2,
        "an end-stream envelope: {:?}",
        refused.body
    );
    let end: Value = serde_json::from_slice(&refused.body[5..]).unwrap();
    assert_eq!(end["error"]["code"], "unauthenticated", "{end}");

    let cases: Vec<(&str, Vec<String>, u16, &str)> = vec![
        (
            "bad JSON",
            post("GetUser", &[json, version], r#"{"name": "#.into()),
            400,
            "invalid_argument",
        ),
        (
            "an unknown codec",
            post(
                "GetUser",
                &["content-type: application/connect+xml"],
                "x".into(),
            ),
            415,
            "unimplemented",
        ),
        (
            "another protocol version",
            post(
                "GetUser",
                &[json, "Connect-Protocol-Version: 2"],
                "{}".into(),
            ),
            400,
            "invalid_argument",
        ),
        (
            "a timeout that is not one",
            post(
                "GetUser",
                &[json, version, "Connect-Timeout-Ms: soon"],
                "{}".into(),
            ),
            400,
            "invalid_argument",
        ),
        (
            "an envelope cut short",
            post(
                "WatchUsers",
                &[stream],
                file("cut", &envelope(0, b"{}")[..6]),
            ),
            400,
            "invalid_argument",
        ),
        (
            "an end-stream envelope in a request",
            post("WatchUsers", &[stream], file("end", &envelope(2, b"{}"))),
            400,
            "invalid_argument",
        ),
        (
            "a message that is not the method's",
            post("GetUser", &[json, version], r#"{"name": 5}"#.into()),
            400,
            "invalid_argument",
        ),
        (
            "GET of a method with side effects",
            vec![format!(
                "{}?connect=v1&encoding=json&message=%7B%7D",
                url("CreateUser")
            )],
            405,
            "unimplemented",
        ),
        (
            "GET with a message that is not base64",
            vec![format!(
                "{}?connect=v1&encoding=proto&base64=1&message=%21%21",
                url("GetUser")
            )],
            400,
            "invalid_argument",
        ),
        (
            "GET with an unknown encoding",
            vec![format!(
                "{}?connect=v1&encoding=xml&message=x",
                url("GetUser")
            )],
            415,
            "unimplemented",
        ),
    ];
    for (what, args, status, code) in cases {
        let answer = curl(&args).await;
        let body = String::from_utf8_lossy(&answer.body);
        assert_eq!(answer.status, status, "{what}: {body}");
        assert_eq!(answer.content_type, "application/json", "{what}");
        let error: Value = serde_json::from_slice(&answer.body)
            .unwrap_or_else(|_| panic!("{what}: not JSON: {body}"));
        assert_eq!(error["code"], code, "{what}: {body}");
        assert!(error["message"].as_str().is_some(), "{what}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_body_over_the_receive_limit_is_resource_exhausted() {
    if !common::curl_found() {
        return;
    }
    let http = common::serve_example(&[7; 32], |builder| {
        builder.limits(rs_svc::serve::Limits::new().max_receive_message_bytes(64))
    })
    .await
    .http;
    let name = "n".repeat(100);
    for (kind, body) in [
        ("application/json", format!(r#"{{"name": "{name}"}}"#)),
        ("application/proto", format!("\n\x64{name}")),
    ] {
        let answer = curl(&[
            "-H".into(),
            format!("content-type: {kind}"),
            "-H".into(),
            "Connect-Protocol-Version: 1".into(),
            "--data-binary".into(),
            body,
            format!("http://{http}/user.v1.UserService/GetUser"),
        ])
        .await;
        let error: Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(
            (answer.status, &error["code"]),
            (429, &json!("resource_exhausted")),
            "{kind}: {error}"
        );
    }
}

/// The page's module script (after the page server's import map): Connect calls with
/// `@connectrpc/connect-web`'s `createConnectTransport` to the API at `?api=`, JSON and binary,
/// from its own origin; what each got is reported to the page's origin as JSON
/// (`browser::page_outcome`).
const PAGE_SCRIPT: &str = r#"try {
  const { createClient, ConnectError } = await import("@connectrpc/connect");
  const { createConnectTransport } = await import("@connectrpc/connect-web");
  const { fromBinary, createFileRegistry } = await import("@bufbuild/protobuf");
  const { FileDescriptorSetSchema } = await import("@bufbuild/protobuf/wkt");
  const api = new URLSearchParams(location.search).get("api");
  const bytes = new Uint8Array(await (await fetch("/descriptors.pb")).arrayBuffer());
  // The set lists every file after its imports, so the registry takes it whole.
  const service = createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes))
    .getService("user.v1.UserService");
  const attempt = async (name, call) => {
    try { out[name] = await call(); } catch (e) { out[name] = { failed: String(e.message ?? e) }; }
  };
  const json = createClient(service, createConnectTransport({ baseUrl: api }));
  const binary = createClient(service, createConnectTransport({ baseUrl: api, useBinaryFormat: true }));

  await attempt("jsonUnary", async () => {
    let requestId;
    const user = await json.createUser(
      { userId: "ada", user: { displayName: "Ada Lovelace", email: "ada@example.com" } },
      { headers: { "x-request-id": "page-1" }, onHeader: (h) => { requestId = h.get("x-request-id"); } },
    );
    return { name: user.name, requestId };
  });
  await attempt("binaryUnary", async () => (await binary.getUser({ name: "users/ada" })).displayName);
  await attempt("jsonError", async () => {
    try { await json.getUser({ name: "users/nobody" }); return "no error"; } catch (e) {
      const error = ConnectError.from(e);
      return { code: error.code, details: error.details.map((d) => d.type) };
    }
  });
  await attempt("binaryStream", async () => {
    for await (const event of binary.watchUsers({}, { timeoutMs: 10000 })) { return event.user.name; }
  });
  await attempt("jsonStream", async () => {
    for await (const event of json.watchUsers({})) { return event.user.name; }
  });
} catch (e) {
  out.page = String(e.stack ?? e);
}
show();
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_another_origin_calls_connect_json_and_binary_given_cors() {
    let (Some(chromium), Some(packages)) = (browser::chromium(), browser::grpc_web_packages())
    else {
        return;
    };
    let (page, mut reports) = browser::page_server(packages, PAGE_SCRIPT).await;
    let page_origin = format!("http://{page}");
    let api = serve_example(&[&page_origin]).await.http;
    let outcome = browser::page_outcome(&chromium, &page_origin, &mut reports, api).await;
    let expected = json!({
        "jsonUnary": {"name": "users/ada", "requestId": "page-1"},
        "binaryUnary": "Ada Lovelace",
        "jsonError": {"code": 5, "details": ["google.rpc.ResourceInfo"]},
        "binaryStream": "users/ada",
        "jsonStream": "users/ada",
    });
    assert_eq!(outcome, expected);

    // Without CORS the browser hands the page none of the answers.
    let api = serve_example(&[]).await.http;
    let result = browser::page_outcome(&chromium, &page_origin, &mut reports, api).await;
    for call in [
        "jsonUnary",
        "binaryUnary",
        "jsonError",
        "binaryStream",
        "jsonStream",
    ] {
        let failed = match &result[call] {
            Value::Object(fields) => fields.contains_key("failed"),
            _ => false,
        } || (call == "jsonError" && result[call]["code"] != json!(5));
        assert!(failed, "{call} got through without CORS: {result}");
    }
}

/// Collects what the log writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_log_marks_connect_calls() {
    if !common::curl_found() {
        return;
    }
    // The only test of this file that installs a subscriber.
    let captured = Captured::default();
    let writer = captured.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();
    let example = serve_example(&[]).await;
    let answer = curl(&[
        "-H".into(),
        "content-type: application/json".into(),
        "-H".into(),
        "Connect-Protocol-Version: 1".into(),
        "--data-binary".into(),
        r#"{"name": "users/nobody"}"#.into(),
        format!("http://{}/user.v1.UserService/GetUser", example.http),
    ])
    .await;
    assert_eq!(answer.status, 404);
    // The line is written once the answer's last frame went out. The subscriber is the
    // process's, so the other tests' calls are logged too: look for this call's line.
    let fields = [
        "rs_svc::access",
        "rpc.method=\"user.v1.UserService/GetUser\"",
        "transport=\"grpc\"",
        "connect=true",
        "code=NotFound",
    ];
    let mut log = String::new();
    for _ in 0..50 {
        log = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
        if log
            .lines()
            .any(|line| fields.iter().all(|field| line.contains(field)))
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no access log line with {fields:?} in:\n{log}");
}
