//! Gateway mode (docs/reference.md section 1, "The `<Svc>Api` trait"): the generated router
//! serving HTTP/JSON with the generated gRPC client (in `rs_svc::api::Remote`) as its
//! implementation, in front of a real
//! gRPC backend, answers every request exactly as the router does with the implementation in
//! process: unary GET/POST/PATCH, server streams as NDJSON, client streams and bidi streams from
//! NDJSON bodies, the `grpc-timeout` deadline and custom headers reaching the backend, and
//! backend errors with details coming out as the same `google.rpc.Status` JSON.
//!
//! Two backends: our own generated server, and a Python grpcio server whose servicer is
//! generated from the same proto by grpc_tools (tests/gateway_backend.py). Python comes from
//! `RS_SVC_PYTHON`, else the virtualenv `.ci/run` fills; without it that part skips, unless
//! `RS_SVC_REQUIRE_FOREIGN=1`.

mod common;
#[path = "common/shop.rs"]
mod shop_impl;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use rs_svc::api::Remote;
use rs_svc_compile_test::acme::shop::v1 as shop;
use shop::order_service_client::OrderServiceClient;
use shop::order_service_http::router;
use shop::order_service_server::OrderServiceServer;
use shop_impl::Shop;
use tokio_stream::wrappers::TcpListenerStream;

/// One HTTP request of the table.
struct Exchange {
    what: &'static str,
    method: Method,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: Option<(&'static str, &'static str)>,
}

const NDJSON: &str = "application/x-ndjson";
const JSON: &str = "application/json";

fn exchanges() -> Vec<Exchange> {
    let call = |what, method, path, headers, body| Exchange {
        what,
        method,
        path,
        headers,
        body,
    };
    let caller: &'static [(&str, &str)] = &[("x-customer", "customers/7"), ("grpc-timeout", "30S")];
    vec![
        call("unary GET, metadata and deadline", Method::GET, "/v1/orders/1", caller, None),
        call("unary GET, error with details", Method::GET, "/v1/orders/missing", &[], None),
        call("unary GET, query", Method::GET, "/v1/orders?customer=customers/7", &[], None),
        call(
            "unary POST, body field",
            Method::POST,
            "/v1/orders",
            &[],
            Some((JSON, r#"{"name": "orders/9", "customer": "customers/1", "totalMinor": "12"}"#)),
        ),
        call(
            "unary POST, error with details",
            Method::POST,
            "/v1/orders",
            &[],
            Some((JSON, r#"{"name": "orders/9"}"#)),
        ),
        call(
            "unary PATCH",
            Method::PATCH,
            "/v1/orders/5",
            &[],
            Some((JSON, r#"{"customer": "customers/2"}"#)),
        ),
        call(
            "unary POST, error without details",
            Method::POST,
            "/v1/orders/404:cancel",
            &[],
            Some((JSON, "{}")),
        ),
        call("server stream", Method::GET, "/v1/orders/1:watch", &[], None),
        call("server stream, error after a message", Method::GET, "/v1/orders/broken:watch", &[], None),
        call(
            "client stream, metadata and deadline",
            Method::POST,
            "/v1/orders:import",
            &[("x-customer", "customers/8"), ("grpc-timeout", "20S")],
            Some((
                NDJSON,
                "{\"name\": \"orders/1\", \"customer\": \"c\"}\n{\"name\": \"orders/dup\", \"customer\": \"c\"}\n",
            )),
        ),
        call(
            "client stream, error with details",
            Method::POST,
            "/v1/orders:import",
            &[],
            Some((NDJSON, "{\"name\": \"orders/1\"}\n")),
        ),
        call(
            "client stream, a malformed message mid-stream",
            Method::POST,
            "/v1/orders:import",
            &[],
            Some((NDJSON, "{\"name\": \"orders/1\", \"customer\": \"c\"}\n{\"name\": 7}\n")),
        ),
        call(
            "bidi stream",
            Method::POST,
            "/v1/orders:chat",
            &[],
            Some((NDJSON, "{\"text\": \"hi\"}\n{\"text\": \"there\"}\n")),
        ),
        call(
            "bidi stream, error after a message",
            Method::POST,
            "/v1/orders:chat",
            &[],
            Some((NDJSON, "{\"text\": \"hi\"}\n{\"text\": \"boom\"}\n{\"text\": \"never\"}\n")),
        ),
    ]
}

/// A response as text: status, the headers the service sets or the router writes, and body.
async fn send(client: &reqwest::Client, base: SocketAddr, exchange: &Exchange) -> String {
    let mut request = client.request(
        exchange.method.clone(),
        format!("http://{base}{}", exchange.path),
    );
    for (name, value) in exchange.headers {
        request = request.header(*name, *value);
    }
    if let Some((content_type, body)) = exchange.body {
        request = request.header("content-type", content_type).body(body);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let head = format!(
        "{} content-type={:?} x-served-by={:?} x-reason={:?} grpc-accept-encoding={:?} grpc-encoding={:?}",
        response.status().as_u16(),
        header("content-type"),
        header("x-served-by"),
        header("x-reason"),
        header("grpc-accept-encoding"),
        header("grpc-encoding"),
    );
    format!("{head}\n{}", response.text().await.unwrap())
}

async fn transcript(base: SocketAddr) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    for exchange in exchanges() {
        out.push(send(&client, base, &exchange).await);
    }
    out
}

/// Serves the generated server with `Shop` over gRPC on a free loopback port.
async fn grpc_backend() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(OrderServiceServer::new(Shop))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    addr
}

/// The router with the gRPC client of `backend` as its implementation.
async fn gateway(backend: SocketAddr) -> SocketAddr {
    let client = OrderServiceClient::connect(format!("http://{backend}"))
        .await
        .unwrap();
    common::serve_http(router(Arc::new(Remote::new(client)))).await
}

fn assert_same(expected: &[String], got: &[String], backend: &str) {
    for ((exchange, expected), got) in exchanges().iter().zip(expected).zip(got) {
        assert_eq!(
            got, expected,
            "{}: {backend} differs from in process",
            exchange.what
        );
    }
    assert_eq!(got.len(), expected.len());
}

/// What the in-process router answers, checked for the behaviour each row is about.
async fn in_process() -> Vec<String> {
    let reference = transcript(common::serve_http(router(Arc::new(Shop))).await).await;
    let expect = [
        ("200", "x-customer=customers/7 deadline=30s"),
        (
            "404",
            "\"@type\":\"type.googleapis.com/google.rpc.BadRequest\"",
        ),
        ("200", "\"orders/2\""),
        ("200", "\"totalMinor\":\"12\""),
        ("400", "\"no customer\""),
        ("200", "\"customers/2\""),
        ("404", "\"orders/404 does not exist\""),
        ("200", "\"state\":\"SHIPPED\""),
        ("200", "the feed broke"),
        ("200", "x-customer=customers/8 deadline=20s"),
        ("400", "an order without a customer"),
        ("400", "\"code\":3"),
        ("200", "\"THERE\""),
        ("200", "boom is too loud"),
    ];
    for ((exchange, text), (status, part)) in exchanges().iter().zip(&reference).zip(expect) {
        assert!(
            text.starts_with(status) && text.contains(part),
            "{}: expected {status} with {part}, got\n{text}",
            exchange.what
        );
    }
    reference
}

#[tokio::test]
async fn the_router_over_the_grpc_client_answers_as_the_router_in_process() {
    let reference = in_process().await;
    let through_gateway = transcript(gateway(grpc_backend().await).await).await;
    assert_same(
        &reference,
        &through_gateway,
        "the gateway to our gRPC server",
    );
}

/// The Python grpcio backend, stopped when dropped.
struct Python(Child);

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> Option<PathBuf> {
    let venv = PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
        .join(".cache/rs-svc/tools/venv/bin/python");
    common::tool("RS_SVC_PYTHON", venv)
}

/// Generates the Python stubs of the shop proto with grpc_tools and starts
/// tests/gateway_backend.py on a free port.
async fn python_backend(python: &Path, stubs: &Path) -> (Python, SocketAddr) {
    let generated = Command::new(python)
        .args(["-m", "grpc_tools.protoc", "-I"])
        .arg(manifest_dir().join("../../testdata"))
        .arg("-I")
        .arg(manifest_dir().join("../../proto"))
        .arg(format!("--python_out={}", stubs.display()))
        .arg(format!("--grpc_python_out={}", stubs.display()))
        .arg("acme/shop/v1/shop.proto")
        .output()
        .unwrap();
    assert!(
        generated.status.success(),
        "grpc_tools.protoc: {}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(python)
        .arg(manifest_dir().join("tests/gateway_backend.py"))
        .arg(stubs)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let child = Python(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return (child, addr);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the Python backend did not start on {addr}");
}

#[tokio::test]
async fn the_router_over_the_grpc_client_answers_for_a_python_grpcio_backend() {
    let Some(python) = python() else {
        return;
    };
    let stubs = tempfile_dir();
    let (_backend, addr) = python_backend(&python, &stubs).await;
    let reference = in_process().await;
    let through_gateway = transcript(gateway(addr).await).await;
    assert_same(&reference, &through_gateway, "the gateway to Python grpcio");
    let _ = std::fs::remove_dir_all(&stubs);
}

/// A fresh directory for generated stubs.
fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rs-svc-gateway-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
