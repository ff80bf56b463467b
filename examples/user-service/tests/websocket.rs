//! The example's streaming methods over WebSocket (docs/reference.md section 13.1), as
//! `user_service_example::server` serves them, on real sockets:
//!
//! - the Python `websockets` client (tests/websocket_client.py): `ImportUsers` (client stream,
//!   behind the bearer-token guard), `LookupUsers` (bidi) with each answer read before the next
//!   message goes, an error status and its close code, a malformed frame, a binary frame, a
//!   frame over the message limit, the deadline from the query, refusals before the upgrade
//!   (guard, unknown route, bad timeout) as ordinary HTTP errors, and a client that vanishes
//!   mid-stream, which the metrics count as CANCELLED;
//! - headless Chromium: a page opens `new WebSocket(...)` to `LookupUsers`, runs a bidi
//!   exchange and posts the outcome back to the server.
//!
//! Python comes from the virtualenv `.ci/run` makes (with `websockets` pinned), Chromium as
//! tests/common/browser.rs finds it; a missing one skips its test unless CI's
//! `RS_SVC_REQUIRE_FOREIGN=1` / `RS_SVC_REQUIRE_BROWSER=1` makes that a failure.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::browser;
use rs_svc::auth::jsonwebtoken::{self, Algorithm, EncodingKey, Header};
use rs_svc::http::axum::{routing::get, Router};
use rs_svc::metrics::Metrics;
use rs_svc::serve::Limits;
use serde_json::{json, Value};

const SECRET: &[u8] = b"the example's test secret, 32 bytes or more";

/// The example's HTTP port with `extra` routes beside its own, a request message limit of
/// 1 KiB (so that one frame can be over it), and its metrics.
async fn serve_example(extra: Router) -> (SocketAddr, Metrics) {
    let example = common::serve_example(SECRET, |builder| {
        builder
            .http(extra)
            .limits(Limits::default().max_receive_message_bytes(1024))
    })
    .await;
    (example.http, example.metrics)
}

/// An HS256 token for `subject`, valid for a minute.
fn token(subject: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({ "sub": subject, "exp": now + 60 });
    let key = EncodingKey::from_secret(SECRET);
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
}

/// The status frame and close of a call that ended with `code`, saying `message`.
fn ended(code: i32, message: &str) -> Value {
    let close = if code == 0 { 1000 } else { 4000 + code };
    json!({
        "frames": [{"status": {"code": code, "message": message, "details": []}}],
        "close": [close, message],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_calls_the_streaming_methods_full_duplex_with_status_and_close_codes() {
    let Some(python) = common::venv_tool("RS_SVC_PYTHON", "python", "RS_SVC_REQUIRE_FOREIGN")
    else {
        return;
    };
    let (addr, metrics) = serve_example(Router::new()).await;
    let mut client = Command::new(&python);
    client
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/websocket_client.py"
        ))
        .arg(addr.to_string())
        .arg(token("importer"));
    let output = common::run(client).await;
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();

    let mut checks = vec![
        (
            "clientStream",
            json!({
                "frames": [
                    {"result": {"created": 2}},
                    {"status": {"code": 0, "message": "", "details": []}},
                ],
                "close": [1000, ""],
            }),
        ),
        ("error", ended(3, "name is required")),
        (
            "binary",
            ended(
                3,
                "a WebSocket call takes text frames, one JSON message each; this frame is binary",
            ),
        ),
        (
            "oversized",
            ended(
                8,
                "a request message of 2012 bytes is over the server's limit of 1024 bytes",
            ),
        ),
        ("deadline", ended(4, "the call's deadline passed")),
        ("vanished", json!("users/wsa")),
    ];
    for (case, http, code) in [
        ("unauthenticated", 401, 16),
        ("unknownRoute", 404, 5),
        ("badTimeout", 400, 3),
    ] {
        assert_eq!(seen[case]["http"], http, "{case}: {}", seen[case]);
        assert_eq!(seen[case]["body"]["code"], code, "{case}: {}", seen[case]);
    }
    // The bidi call: each answer came back before the next message went.
    let bidi = &seen["bidi"];
    for (answer, name) in [(0, "users/wsa"), (1, "users/wsb")] {
        assert_eq!(bidi["answers"][answer]["result"]["name"], name, "{bidi}");
    }
    assert_eq!(bidi["answers"][1]["result"]["displayName"], "WSB", "{bidi}");
    // No such user: the empty user.
    assert_eq!(bidi["answers"][2]["result"]["name"], "", "{bidi}");
    checks.push((
        "bidi",
        json!({
            "answers": bidi["answers"],
            "frames": [{"status": {"code": 0, "message": "", "details": []}}],
            "close": [1000, ""],
        }),
    ));
    for (case, expected) in checks {
        assert_eq!(seen[case], expected, "{case}");
    }
    let malformed = &seen["malformed"];
    assert_eq!(malformed["close"][0], 4003, "{malformed}");
    assert!(
        malformed["frames"][0]["status"]["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON body"),
        "{malformed}"
    );

    // Each session is one call in the metrics, the vanished one CANCELLED; INVALID_ARGUMENT
    // counts the error, the malformed and the binary frame, and the bad timeout's 400 (refused
    // by the route, behind the stack).
    let vanished = r#"rpc_server_calls_total{rpc_method="user.v1.UserService/LookupUsers",rpc_grpc_status_code="CANCELLED",transport="http"} 1"#;
    let mut exposition = String::new();
    for _ in 0..50 {
        exposition = metrics.encode();
        if exposition.contains(vanished) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for line in [
        vanished,
        r#"rpc_server_calls_total{rpc_method="user.v1.UserService/ImportUsers",rpc_grpc_status_code="OK",transport="http"} 1"#,
        r#"rpc_server_calls_total{rpc_method="user.v1.UserService/LookupUsers",rpc_grpc_status_code="OK",transport="http"} 1"#,
        r#"rpc_server_calls_total{rpc_method="user.v1.UserService/LookupUsers",rpc_grpc_status_code="INVALID_ARGUMENT",transport="http"} 4"#,
        r#"rpc_server_calls_total{rpc_method="user.v1.UserService/LookupUsers",rpc_grpc_status_code="DEADLINE_EXCEEDED",transport="http"} 1"#,
        r#"rpc_server_calls_total{rpc_method="user.v1.UserService/LookupUsers",rpc_grpc_status_code="RESOURCE_EXHAUSTED",transport="http"} 1"#,
    ] {
        assert!(exposition.contains(line), "{line} in:\n{exposition}");
    }
}

/// A page that creates `users/ada` (an HTTP/JSON call), then looks up two users over one
/// WebSocket to `LookupUsers`, one answer before the next question, half-closes, and reports the
/// answers, the status frame and the close code (`browser::page_report`).
const PAGE: &str = r#"<!doctype html>
<html><body><script type="module">
const out = { answers: [] };
const asked = ["users/ada", "users/nobody"];
await fetch("/v1/users?userId=ada", {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ displayName: "Ada Lovelace", email: "ada@example.com" }),
});
const ws = new WebSocket(`ws://${location.host}/v1/users:lookup`);
ws.onopen = () => ws.send(JSON.stringify({ name: asked.shift() }));
ws.onmessage = (event) => {
  const frame = JSON.parse(event.data);
  if ("result" in frame) {
    out.answers.push(frame.result.displayName ?? null);
    ws.send(asked.length ? JSON.stringify({ name: asked.shift() }) : "");
  } else {
    out.status = frame.status.code;
  }
};
ws.onclose = (event) => {
  out.close = event.code;
  fetch("/report", { method: "POST", body: JSON.stringify(out) });
};
ws.onerror = () => { out.error = true; };
</script></body></html>
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chromium_page_runs_a_bidi_exchange_over_a_websocket() {
    let Some(chromium) = browser::chromium() else {
        return;
    };
    // Reported by the page rather than read from a DOM dump: Chromium's virtual time does not
    // wait for a WebSocket, and under load the dump came before the socket was done.
    let (report, mut reports) = browser::report_route();
    let page = Router::new()
        .route(
            "/ws.html",
            get(|| async { ([("content-type", "text/html; charset=utf-8")], PAGE) }),
        )
        .merge(report);
    let (addr, _) = serve_example(page).await;
    let reported =
        browser::page_report(&chromium, &format!("http://{addr}/ws.html"), &mut reports).await;
    let result: Value = serde_json::from_str(&reported)
        .unwrap_or_else(|_| panic!("the page reported {reported:?}"));
    assert_eq!(
        result,
        json!({"answers": ["Ada Lovelace", ""], "status": 0, "close": 1000})
    );
}
