//! Browsers as clients of the example server (docs/reference.md section 13), as
//! `user_service_example::server` serves them: gRPC-Web on both ports, CORS for the origins
//! given.
//!
//! - Real gRPC-Web clients from npm under node (tests/grpc_web_client.cjs):
//!   `@connectrpc/connect-node`'s gRPC-Web transport (binary: unary, server streaming, an
//!   error with details, metadata both ways) and Google's `grpc-web` (text mode: unary and an
//!   error with details), on the HTTP port and the gRPC port; the calls count as gRPC calls in
//!   the metrics.
//! - curl: CORS preflights answered (before the JWT guard), with the gRPC-Web request headers
//!   allowed and the status headers exposed; an origin not allowed gets no
//!   `Access-Control-Allow-Origin`.
//! - Headless Chromium: a page from another origin (another port) calls an HTTP/JSON route and
//!   gRPC-Web methods (`@connectrpc/connect-web`, binary; `grpc-web`, text) and reports what it
//!   got to its own origin; without CORS the browser refuses the page every answer.
//!
//! node, Chromium and the npm packages are found as tests/common/browser.rs says; a missing one
//! skips the test unless `RS_SVC_REQUIRE_BROWSER=1` (set by `.ci/run`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::browser::{self, Reports};
use common::Example;
use prost::Message as _;
use serde_json::{json, Value};
use user_service_example::user::v1::GetUserRequest;
use user_service_example::FILE_DESCRIPTOR_SET;

/// Serves the example as its binary does, with CORS for `origins` unless there are none.
async fn serve_example(origins: &[&str]) -> Example {
    common::serve_example(&[7; 32], |builder| common::with_cors(builder, origins)).await
}

fn descriptor_file(dir: &Path) -> PathBuf {
    let path = dir.join("user.pb");
    std::fs::write(&path, FILE_DESCRIPTOR_SET).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_grpc_web_clients_call_unary_streaming_and_errors_on_both_ports() {
    let (Some(node), Some(packages)) = (browser::node(), browser::grpc_web_packages()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let descriptors = descriptor_file(dir.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grpc_web_client.cjs");
    let grace =
        json!({"name": "users/grace", "displayName": "Grace Hopper", "email": "grace@example.com"});
    for port in ["http", "grpc"] {
        let example = serve_example(&[]).await;
        let addr = if port == "http" {
            example.http
        } else {
            example.grpc
        };
        let got = browser::node_client(&node, &script, addr, &descriptors, &packages).await;
        let expected = json!({
            "connectBinary": {
                "created": grace,
                "requestId": "req-1",
                "got": grace,
                "missing": {
                    "code": 5,
                    "message": "users/nobody not found",
                    "details": [{"type": "google.rpc.ResourceInfo", "resource": true}],
                },
                "watched": ["users/grace", "users/alan"],
            },
            "grpcWebText": {
                "got": grace,
                "missing": {"code": 5, "message": "users/nobody not found", "details": true},
            },
        });
        assert_eq!(got, expected, "on the {port} port");

        // gRPC-Web calls are gRPC calls to the stack: the metrics count them so.
        common::assert_get_user_counted_as_grpc(&example.metrics, 2, 2);
    }
}

/// curl's answer: the status and the headers (names in lower case), in order.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Answer {
    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The comma-separated values of `name`, in lower case.
    fn list(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.split(','))
            .map(|v| v.trim().to_ascii_lowercase())
            .collect()
    }
}

async fn curl(args: &[&str]) -> Answer {
    let mut command = Command::new("curl");
    command
        .args(["-sS", "-o", "/dev/null", "-D", "-"])
        .args(args);
    let output = common::run(command).await;
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines = text.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    Answer { status, headers }
}

const APP: &str = "http://app.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_preflights_first_and_exposes_the_grpc_status_headers() {
    if !common::curl_found() {
        return;
    }
    let example = serve_example(&[APP]).await;
    let frame = {
        let message = GetUserRequest {
            name: "users/nobody".into(),
        }
        .encode_to_vec();
        let mut frame = vec![0];
        frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
        frame.extend(message);
        frame
    };
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("frame");
    std::fs::write(&body, frame).unwrap();
    let body = format!("@{}", body.display());
    let (http, grpc) = (example.http.to_string(), example.grpc.to_string());
    let get_user = |addr: &str| format!("http://{addr}/user.v1.UserService/GetUser");
    let requested = "content-type,x-grpc-web,x-user-agent,grpc-timeout,x-request-id";

    // Preflights: for gRPC-Web on both ports, for the JWT-guarded ImportUsers route (answered
    // before the guard, which would refuse it with 401), from an allowed origin and not.
    let preflights = [
        (get_user(&http), APP, true),
        (get_user(&grpc), APP, true),
        (format!("http://{http}/v1/users:import"), APP, true),
        (get_user(&http), "http://evil.example", false),
    ];
    for (url, origin, allowed) in preflights {
        let answer = curl(&[
            "-X",
            "OPTIONS",
            "-H",
            &format!("Origin: {origin}"),
            "-H",
            "Access-Control-Request-Method: POST",
            "-H",
            &format!("Access-Control-Request-Headers: {requested}"),
            &url,
        ])
        .await;
        let case = format!("preflight of {url} from {origin}");
        assert_eq!(answer.status, 200, "{case}");
        assert_eq!(
            answer.get("access-control-allow-origin"),
            allowed.then_some(APP),
            "{case}"
        );
        assert!(
            answer
                .list("access-control-allow-methods")
                .contains(&"post".into()),
            "{case}"
        );
        let allowed_headers = answer.list("access-control-allow-headers");
        for name in requested.split(',') {
            assert!(
                allowed_headers.contains(&name.into()),
                "{case}: {name} in {allowed_headers:?}"
            );
        }
        assert!(answer.list("vary").contains(&"origin".into()), "{case}");
    }

    // Calls: a gRPC-Web error (its status in the head: trailers-only) and an HTTP/JSON route.
    let exposed = [
        "grpc-status",
        "grpc-message",
        "grpc-status-details-bin",
        "x-request-id",
        "x-imported-by",
    ];
    let grpc_web = |origin: &str| {
        vec![
            "-H".to_owned(),
            format!("Origin: {origin}"),
            "-H".into(),
            "content-type: application/grpc-web+proto".into(),
            "-H".into(),
            "x-grpc-web: 1".into(),
            "--data-binary".into(),
            body.clone(),
            get_user(&http),
        ]
    };
    let json = |origin: &str| {
        vec![
            "-H".to_owned(),
            format!("Origin: {origin}"),
            format!("http://{http}/v1/users/nobody"),
        ]
    };
    let calls = [
        ("gRPC-Web", grpc_web(APP), 200, true),
        ("gRPC-Web", grpc_web("http://evil.example"), 200, false),
        ("HTTP/JSON", json(APP), 404, true),
        ("HTTP/JSON", json("http://evil.example"), 404, false),
    ];
    for (what, args, status, allowed) in calls {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let answer = curl(&args).await;
        let case = format!("{what} call {args:?}");
        assert_eq!(answer.status, status, "{case}");
        assert_eq!(
            answer.get("access-control-allow-origin"),
            allowed.then_some(APP),
            "{case}"
        );
        if what == "gRPC-Web" {
            assert_eq!(answer.get("grpc-status"), Some("5"), "{case}");
            assert!(answer.get("grpc-status-details-bin").is_some(), "{case}");
        }
        if allowed {
            let listed = answer.list("access-control-expose-headers");
            for name in exposed {
                assert!(
                    listed.contains(&name.into()),
                    "{case}: {name} in {listed:?}"
                );
            }
        }
    }

    // `*`: any origin.
    let open = serve_example(&["*"]).await;
    let answer = curl(&[
        "-H",
        "Origin: http://anywhere.example",
        &format!("http://{}/v1/users", open.http),
    ])
    .await;
    assert_eq!(answer.get("access-control-allow-origin"), Some("*"));
}

/// The page's module script (after the page server's import map): an HTTP/JSON call and
/// gRPC-Web calls (binary with `@connectrpc/connect-web`, text with `grpc-web`) to the API at
/// `?api=`, from its own origin; what each got is reported to the page's origin as JSON
/// (`browser::page_outcome`).
const PAGE_SCRIPT: &str = r#"try {
  const { createClient, ConnectError } = await import("@connectrpc/connect");
  const { createGrpcWebTransport } = await import("@connectrpc/connect-web");
  const { fromBinary, toBinary, create, createFileRegistry } = await import("@bufbuild/protobuf");
  const { FileDescriptorSetSchema } = await import("@bufbuild/protobuf/wkt");
  const grpcWeb = await import("grpc-web");
  const api = new URLSearchParams(location.search).get("api");
  const bytes = new Uint8Array(await (await fetch("/descriptors.pb")).arrayBuffer());
  // The set lists every file after its imports, so the registry takes it whole.
  const service = createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes))
    .getService("user.v1.UserService");
  const attempt = async (name, call) => {
    try { out[name] = await call(); } catch (e) { out[name] = { failed: String(e.message ?? e) }; }
  };

  await attempt("json", async () => {
    const answer = await fetch(`${api}/v1/users?userId=ada`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "page-1" },
      body: JSON.stringify({ displayName: "Ada Lovelace", email: "ada@example.com" }),
    });
    const user = await answer.json();
    return { status: answer.status, name: user.name, requestId: answer.headers.get("x-request-id") };
  });

  const client = createClient(service, createGrpcWebTransport({ baseUrl: api }));
  await attempt("connectUnary", async () => {
    let requestId;
    const user = await client.getUser({ name: "users/ada" }, {
      headers: { "x-request-id": "page-2" }, onHeader: (h) => { requestId = h.get("x-request-id"); },
    });
    return { displayName: user.displayName, requestId };
  });
  await attempt("connectError", async () => {
    try { await client.getUser({ name: "users/nobody" }); return "no error"; } catch (e) {
      const error = ConnectError.from(e);
      return { code: error.code, details: error.details.map((d) => d.type) };
    }
  });
  await attempt("connectStream", async () => {
    for await (const event of client.watchUsers({})) { return event.user.name; }
  });

  const text = new grpcWeb.GrpcWebClientBase({ format: "text" });
  const method = (name, type) => new grpcWeb.MethodDescriptor(
    `/user.v1.UserService/${name}`, type, Object, Object,
    (request) => toBinary(service.method[name[0].toLowerCase() + name.slice(1)].input,
      create(service.method[name[0].toLowerCase() + name.slice(1)].input, request)),
    (bytes) => fromBinary(service.method[name[0].toLowerCase() + name.slice(1)].output, bytes));
  await attempt("textUnary", () => new Promise((resolve) => {
    text.rpcCall(`${api}/user.v1.UserService/GetUser`, { name: "users/ada" }, {},
      method("GetUser", grpcWeb.MethodType.UNARY),
      (e, user) => resolve(e ? { failed: `code ${e.code}` } : user.displayName));
  }));
  await attempt("textStream", () => new Promise((resolve) => {
    const stream = text.serverStreaming(`${api}/user.v1.UserService/WatchUsers`, {}, {},
      method("WatchUsers", grpcWeb.MethodType.SERVER_STREAMING));
    stream.on("data", (event) => { stream.cancel(); resolve(event.user.name); });
    stream.on("error", (e) => resolve({ failed: `code ${e.code}` }));
  }));
} catch (e) {
  out.page = String(e.stack ?? e);
}
show();
"#;

/// What the page reported when calling a fresh example server that allows `origins` (see
/// `browser::page_outcome`).
async fn page_outcome(
    chromium: &Path,
    page_origin: &str,
    reports: &mut Reports,
    origins: &[&str],
) -> Value {
    browser::page_outcome(
        chromium,
        page_origin,
        reports,
        serve_example(origins).await.http,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_another_origin_calls_http_json_and_grpc_web_given_cors() {
    let (Some(chromium), Some(packages)) = (browser::chromium(), browser::grpc_web_packages())
    else {
        return;
    };
    let (page, mut reports) = browser::page_server(packages, PAGE_SCRIPT).await;
    let page_origin = format!("http://{page}");

    let outcome = page_outcome(&chromium, &page_origin, &mut reports, &[&page_origin]).await;
    let expected = json!({
        "json": {"status": 200, "name": "users/ada", "requestId": "page-1"},
        "connectUnary": {"displayName": "Ada Lovelace", "requestId": "page-2"},
        "connectError": {"code": 5, "details": ["google.rpc.ResourceInfo"]},
        "connectStream": "users/ada",
        "textUnary": "Ada Lovelace",
        "textStream": "users/ada",
    });
    assert_eq!(outcome, expected);

    // Without CORS the browser hands the page none of the answers (and sends no call the
    // preflight did not allow).
    let result = page_outcome(&chromium, &page_origin, &mut reports, &[]).await;
    for call in [
        "json",
        "connectUnary",
        "connectError",
        "connectStream",
        "textUnary",
        "textStream",
    ] {
        let failed = match &result[call] {
            Value::Object(fields) => fields.contains_key("failed"),
            // connect-web's own error for a refused fetch is not NOT_FOUND.
            _ => false,
        } || (call == "connectError" && result[call]["code"] != json!(5));
        assert!(failed, "{call} got through without CORS: {result}");
    }
}
