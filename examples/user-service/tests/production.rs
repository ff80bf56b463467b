//! The example served as its binary serves it (`user_service_example::server`), on 127.0.0.1:
//! `/metrics` has series for both transports after a gRPC and an HTTP/JSON call, a request
//! carrying `traceparent` continues that trace, a bearer token guards `ImportUsers`, and gRPC
//! and HTTP/JSON answers are compressed for clients that ask.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::trace::{SpanId, SpanKind, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use rs_svc::auth::jsonwebtoken::{self, Algorithm, EncodingKey, Header};
use rs_svc::metrics::Metrics;
use tonic::{Code, Request};
use tracing_subscriber::layer::SubscriberExt as _;
use user_service_example::user::v1::user_service_client::UserServiceClient;
use user_service_example::user::v1::{CreateUserRequest, GetUserRequest, User};
use user_service_example::{Users, IMPORTED_BY};

const SECRET: &[u8] = b"the example's test secret, 32 bytes or more";

/// The spans the servers of this test binary end, kept in memory (the global subscriber: the
/// servers' tasks run on the runtime's threads).
fn exporter() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<(InMemorySpanExporter, SdkTracerProvider)> = OnceLock::new();
    &EXPORTER
        .get_or_init(|| {
            let exporter = InMemorySpanExporter::default();
            let provider = SdkTracerProvider::builder()
                .with_simple_exporter(exporter.clone())
                .build();
            let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(otel))
                .unwrap();
            (exporter, provider)
        })
        .0
}

struct Running {
    grpc: SocketAddr,
    http: SocketAddr,
}

async fn start(metrics: Metrics) -> Running {
    exporter();
    let jwt = user_service_example::token_verifier(SECRET).unwrap();
    let server = user_service_example::server(Arc::new(Users::default()), &jwt, metrics)
        .grpc_addr(([127, 0, 0, 1], 0))
        .http_addr(([127, 0, 0, 1], 0))
        .build()
        .unwrap()
        .bind()
        .await
        .unwrap();
    let running = Running {
        grpc: server.grpc_addr(),
        http: server.http_addr().unwrap(),
    };
    tokio::spawn(server.serve_with_shutdown(std::future::pending()));
    running
}

async fn client(addr: SocketAddr) -> UserServiceClient<rs_svc::dial::Channel> {
    let options = rs_svc::dial::Options::new().target(format!("http://{addr}"));
    user_service_example::user::v1::user_service_client::dial_with(options)
        .await
        .unwrap()
}

fn new_user(id: &str) -> CreateUserRequest {
    CreateUserRequest {
        user_id: id.into(),
        user: Some(User {
            display_name: id.to_uppercase(),
            email: format!("{id}@example.com"),
            ..Default::default()
        }),
    }
}

/// An HS256 token for `subject`, valid for a minute.
fn token(subject: &str) -> String {
    signed(subject, SECRET)
}

fn signed(subject: &str, secret: &[u8]) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({ "sub": subject, "exp": now + 60 });
    let key = EncodingKey::from_secret(secret);
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
}

#[tokio::test]
async fn grpc_calls_go_gzip_and_come_back_zstd_and_http_answers_gzip() {
    use tonic::codec::CompressionEncoding::{Gzip, Zstd};
    let server = start(Metrics::new()).await;
    let mut users = client(server.grpc)
        .await
        .send_compressed(Gzip)
        .accept_compressed(Zstd);
    users.create_user(new_user("ada")).await.unwrap();
    let get = GetUserRequest {
        name: "users/ada".into(),
    };
    let answer = users.get_user(get).await.unwrap();
    let encoding = answer.metadata().get("grpc-encoding");
    assert_eq!(encoding.and_then(|v| v.to_str().ok()), Some("zstd"));
    assert_eq!(answer.into_inner().email, "ada@example.com");

    // /metrics is over 1 KiB once a call was counted.
    let scrape = reqwest::Client::new()
        .get(format!("http://{}/metrics", server.http))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), 200);
    assert_eq!(scrape.headers()["content-encoding"], "gzip");
}

#[tokio::test]
async fn metrics_count_a_method_on_both_transports() {
    let metrics = Metrics::new();
    let server = start(metrics.clone()).await;
    let mut users = client(server.grpc).await;
    users.create_user(new_user("ada")).await.unwrap();
    let get = GetUserRequest {
        name: "users/ada".into(),
    };
    users.get_user(get).await.unwrap();
    let http = reqwest::Client::new();
    let answer = http
        .get(format!("http://{}/v1/users/ada", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let missing = http
        .get(format!("http://{}/v1/users/nobody", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let scrape = http
        .get(format!("http://{}/metrics", server.http))
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), 200);
    let text = scrape.text().await.unwrap();
    let count = |code: &str, transport: &str| {
        let labels = format!(
            r#"rpc_server_calls_total{{rpc_method="user.v1.UserService/GetUser",rpc_grpc_status_code="{code}",transport="{transport}"}} "#
        );
        let line = text.lines().find(|line| line.starts_with(&labels));
        line.map(|line| line[labels.len()..].to_owned())
    };
    assert_eq!(count("OK", "grpc").as_deref(), Some("1"), "{text}");
    assert_eq!(count("OK", "http").as_deref(), Some("1"), "{text}");
    assert_eq!(count("NOT_FOUND", "http").as_deref(), Some("1"), "{text}");
    assert!(text.ends_with("# EOF\n"), "OpenMetrics ends so: {text}");
}

/// The span of `kind` in `trace`, once it has ended.
async fn span_of(trace: TraceId, kind: SpanKind) -> SpanData {
    for _ in 0..200 {
        let spans = exporter().get_finished_spans().unwrap();
        if let Some(span) = spans
            .into_iter()
            .find(|s| s.span_context.trace_id() == trace && s.span_kind == kind)
        {
            return span;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no {kind:?} span of trace {trace}")
}

#[tokio::test]
async fn a_call_carrying_traceparent_continues_that_trace_on_both_transports() {
    let server = start(Metrics::new()).await;
    let mut users = client(server.grpc).await;
    users.create_user(new_user("ada")).await.unwrap();

    let parent = SpanId::from_hex("00f067aa0ba902b7").unwrap();
    for (trace, transport) in [
        ("4bf92f3577b34da6a3ce929d0e0e4736", "http"),
        ("0af7651916cd43dd8448eb211c80319c", "grpc"),
    ] {
        let traceparent = format!("00-{trace}-00f067aa0ba902b7-01");
        if transport == "http" {
            let answer = reqwest::Client::new()
                .get(format!("http://{}/v1/users/ada", server.http))
                .header("traceparent", &traceparent)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
        } else {
            let mut request = Request::new(GetUserRequest {
                name: "users/ada".into(),
            });
            let value = traceparent.parse().unwrap();
            request.metadata_mut().insert("traceparent", value);
            users.get_user(request).await.unwrap();
        }
        let trace = TraceId::from_hex(trace).unwrap();
        let server = span_of(trace, SpanKind::Server).await;
        assert_eq!(server.name, "user.v1.UserService/GetUser", "{transport}");
        if transport == "http" {
            assert_eq!(server.parent_span_id, parent);
        } else {
            // The dial channel's client span sits between: its parent is the caller's.
            let client = span_of(trace, SpanKind::Client).await;
            assert_eq!(client.parent_span_id, parent);
            assert_eq!(server.parent_span_id, client.span_context.span_id());
        }
    }
}

#[tokio::test]
async fn a_bearer_token_guards_import_users_and_its_handler_knows_who_called() {
    let server = start(Metrics::new()).await;
    let http = reqwest::Client::new();
    let body = r#"[{"userId": "bob", "user": {"displayName": "Bob", "email": "bob@example.com"}}]"#;
    let import = |token: Option<String>| {
        let mut request = http
            .post(format!("http://{}/v1/users:import", server.http))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };

    let refused = import(None).await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["www-authenticate"],
        r#"Bearer realm="user-service""#
    );
    let forged = signed("mallory", b"someone else's secret, also 32 bytes long");
    let bad = import(Some(forged)).await.unwrap();
    assert_eq!(bad.status(), 401);
    let challenge = bad.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );

    let admitted = import(Some(token("importer-1"))).await.unwrap();
    assert_eq!(admitted.status(), 200);
    assert_eq!(admitted.headers()[IMPORTED_BY], "importer-1");
    assert_eq!(admitted.text().await.unwrap(), r#"{"created":1}"#);

    // Over gRPC alike; the other methods need no token.
    let mut users = client(server.grpc).await;
    let stream = tokio_stream::iter([new_user("cy")]);
    let refused = users.import_users(stream).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    let mut request = Request::new(tokio_stream::iter([new_user("cy")]));
    let value = format!("Bearer {}", token("importer-2")).parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    let admitted = users.import_users(request).await.unwrap();
    assert_eq!(admitted.metadata().get(IMPORTED_BY).unwrap(), "importer-2");
    assert_eq!(admitted.get_ref().created, 1);
    let get = GetUserRequest {
        name: "users/cy".into(),
    };
    assert_eq!(
        users.get_user(get).await.unwrap().get_ref().display_name,
        "CY"
    );
}
