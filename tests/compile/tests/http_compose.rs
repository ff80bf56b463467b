//! Generated routers as ordinary axum routers, over real HTTP (docs/reference.md section 4): merged with one
//! another and with the user's own routes, nested under a prefix, with 404 and 405 (and `Allow`)
//! still `google.rpc.Status` JSON across the merged set; a status's metadata as the headers of
//! an error response; and transport faults in a request body (bad chunking, a body cut short, a
//! client gone) answered as 400 or dropped, never a crash.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::get;
use reqwest::Method;
use rs_svc_compile_test::canonical::acme::shop::v1 as shop;
use rs_svc_compile_test::canonical::library::v1 as library;
use rs_svc_compile_test::canonical::ops::v1 as ops;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Request, Response, Status};

struct Shop;

/// What the import handler read, by the first message's name, for names starting
/// `orders/watched`.
static IMPORT_SEEN: std::sync::Mutex<std::collections::BTreeMap<String, Vec<String>>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// What the import handler read in the upload whose first message is `name`.
fn import_seen(name: &str) -> Vec<String> {
    IMPORT_SEEN
        .lock()
        .unwrap()
        .get(name)
        .cloned()
        .unwrap_or_default()
}

/// Waits (up to 5 s) until the handler has read `count` things of the upload `name`.
async fn wait_for_import(name: &str, count: usize) -> Vec<String> {
    for _ in 0..500 {
        if import_seen(name).len() >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    import_seen(name)
}

/// The metadata of the failing calls: ordinary entries, a binary one, and names that describe
/// the transport or the status, which must never reach the response headers.
fn error_metadata() -> MetadataMap {
    let mut metadata = MetadataMap::new();
    metadata.insert("x-reason", "gone".parse().unwrap());
    metadata.append("x-reason", "really".parse().unwrap());
    metadata.insert_bin("x-trace-bin", MetadataValue::from_bytes(b"\x00\x01\xff"));
    for (name, value) in [
        ("content-type", "text/plain"),
        ("content-length", "1"),
        ("connection", "close"),
        ("transfer-encoding", "chunked"),
        ("trailer", "x-reason"),
        ("grpc-status", "0"),
        ("grpc-message", "fine"),
    ] {
        metadata.insert(name, value.parse().unwrap());
    }
    metadata
}

fn failed(message: &str) -> Status {
    Status::with_metadata(tonic::Code::NotFound, message, error_metadata())
}

#[tonic::async_trait]
impl shop::order_service_server::OrderService for Shop {
    async fn get_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let name = request.into_inner().name;
        if name == "orders/gone" {
            return Err(failed("orders/gone was deleted"));
        }
        Ok(Response::new(shop::Order {
            name,
            ..Default::default()
        }))
    }

    async fn watch_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<tonic::codegen::BoxStream<shop::OrderEvent>>, Status> {
        let name = request.into_inner().name;
        if name == "orders/refused" {
            // Fails before the stream exists.
            return Err(failed("orders/refused cannot be watched"));
        }
        // Fails at its first message, after the response (and its metadata) exists.
        let stream = tokio_stream::iter(vec![Err(failed("orders/gone was deleted"))]);
        let mut response = Response::new(Box::pin(stream) as tonic::codegen::BoxStream<_>);
        response
            .metadata_mut()
            .insert("x-served-by", "shop-1".parse().unwrap());
        Ok(response)
    }

    async fn import_orders(
        &self,
        request: Request<tonic::Streaming<shop::Order>>,
    ) -> Result<Response<shop::ImportOrdersResponse>, Status> {
        let mut stream = request.into_inner();
        let mut names: Vec<String> = Vec::new();
        loop {
            let next = stream.message().await;
            let key = match (names.first(), &next) {
                (Some(first), _) => Some(first.clone()),
                (None, Ok(Some(order))) => Some(order.name.clone()),
                _ => None,
            };
            if let Some(key) = key.filter(|k| k.starts_with("orders/watched")) {
                let seen = match &next {
                    Ok(Some(order)) => format!("message {}", order.name),
                    Ok(None) => "end".to_owned(),
                    Err(status) => format!("error {:?}", status.code()),
                };
                IMPORT_SEEN
                    .lock()
                    .unwrap()
                    .entry(key)
                    .or_default()
                    .push(seen);
            }
            match next? {
                Some(order) => names.push(order.name),
                None => break,
            }
        }
        if names.is_empty() {
            return Err(failed("nothing to import"));
        }
        Ok(Response::new(shop::ImportOrdersResponse {
            imported: names.len() as i32,
            ..Default::default()
        }))
    }
}

struct Library;

#[tonic::async_trait]
impl library::library_service_server::LibraryService for Library {
    async fn get_book(
        &self,
        request: Request<library::GetBookRequest>,
    ) -> Result<Response<library::Book>, Status> {
        Ok(Response::new(library::Book {
            name: request.into_inner().name,
            ..Default::default()
        }))
    }

    async fn create_shelf(
        &self,
        request: Request<library::CreateShelfRequest>,
    ) -> Result<Response<library::Shelf>, Status> {
        Ok(Response::new(
            request.into_inner().shelf.unwrap_or_default(),
        ))
    }
}

struct Ops;

#[tonic::async_trait]
impl ops::ops_service_server::OpsService for Ops {
    async fn replay(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<shop::OrderEvent>, Status> {
        Ok(Response::new(shop::OrderEvent {
            name: request.into_inner().name,
            ..Default::default()
        }))
    }
}

fn shop_router() -> axum::Router {
    shop::order_service_http::router(Arc::new(Shop))
}

fn library_router() -> axum::Router {
    library::library_service_http::router(Arc::new(Library))
}

fn ops_router() -> axum::Router {
    ops::ops_service_http::router(Arc::new(Ops))
}

/// What a row expects back.
#[derive(Debug)]
enum Expect {
    /// 200 with this JSON `name`.
    Name(&'static str),
    /// 200 with this plain text body (a user's route).
    Text(&'static str),
    /// A `google.rpc.Status` error: HTTP status, gRPC code, and for 405 the `Allow` methods.
    Status(u16, i64, &'static [&'static str]),
    /// The user's own fallback answered.
    UserFallback,
}

async fn check(base: &str, rows: &[(Method, &str, Expect)]) {
    let client = reqwest::Client::new();
    for (method, path, expect) in rows {
        let response = client
            .request(method.clone(), format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(if *method == Method::GET { "" } else { "{}" })
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let allow = response
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_owned());
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        let row = format!("{method} {base}{path}: {status} {text}");
        match expect {
            Expect::Name(name) => {
                assert_eq!(status, 200, "{row}");
                let body: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(body["name"], *name, "{row}");
            }
            Expect::Text(want) => assert_eq!((status, text.as_str()), (200, *want), "{row}"),
            Expect::UserFallback => {
                assert_eq!((status, text.as_str()), (418, "user fallback"), "{row}")
            }
            Expect::Status(http, code, methods) => {
                assert_eq!(status, *http, "{row}");
                assert_eq!(content_type.as_deref(), Some("application/json"), "{row}");
                let body: Value = serde_json::from_str(&text).expect(&row);
                assert_eq!(body["code"], *code, "{row}");
                if *http == 405 {
                    let mut allowed: Vec<&str> = allow
                        .as_deref()
                        .expect(&row)
                        .split(',')
                        .map(str::trim)
                        .collect();
                    allowed.sort_unstable();
                    assert_eq!(allowed, *methods, "{row}");
                }
            }
        }
    }
}

/// The rows every mount of the three fixture services answers the same way, under `prefix`.
fn service_rows(prefix: &str) -> Vec<(Method, String, Expect)> {
    let rows = vec![
        (Method::GET, "/v1/orders/o1", Expect::Name("orders/o1")),
        (
            Method::GET,
            "/v1/shelves/s1/books/b1",
            Expect::Name("shelves/s1/books/b1"),
        ),
        (
            Method::POST,
            "/ops/v1/orders/o1:replay",
            Expect::Name("orders/o1"),
        ),
        // The library's `/{resource=**}:getType` covers every path with GET; the router that
        // answers still says 404 when no template matches.
        (Method::GET, "/v1/nowhere", Expect::Status(404, 5, &[])),
        (Method::DELETE, "/v1/nowhere", Expect::Status(404, 5, &[])),
        (
            Method::GET,
            "/v1/orders/o1/extra",
            Expect::Status(404, 5, &[]),
        ),
        (Method::PUT, "/ops/v1/anything", Expect::Status(404, 5, &[])),
        // A path the shop serves, with a method it does not: the methods of that path only
        // (POST is the shop's `:cancel` verb, on the same axum route but another template).
        (
            Method::PUT,
            "/v1/orders/o1",
            Expect::Status(405, 12, &["GET", "HEAD", "PATCH"]),
        ),
        (
            Method::POST,
            "/v1/orders/o1",
            Expect::Status(405, 12, &["GET", "HEAD", "PATCH"]),
        ),
        (
            Method::PUT,
            "/v1/shelves/s1/books/b1",
            Expect::Status(405, 12, &["DELETE", "GET", "HEAD", "PATCH"]),
        ),
        (
            Method::GET,
            "/ops/v1/orders/o1:replay",
            Expect::Status(405, 12, &["POST"]),
        ),
    ];
    rows.into_iter()
        .map(|(method, path, expect)| (method, format!("{prefix}{path}"), expect))
        .collect()
}

async fn check_owned(base: &str, rows: Vec<(Method, String, Expect)>) {
    let rows: Vec<(Method, &str, Expect)> = rows
        .iter()
        .map(|(m, p, e)| {
            (
                m.clone(),
                p.as_str(),
                match e {
                    Expect::Name(n) => Expect::Name(n),
                    Expect::Text(t) => Expect::Text(t),
                    Expect::Status(h, c, m) => Expect::Status(*h, *c, m),
                    Expect::UserFallback => Expect::UserFallback,
                },
            )
        })
        .collect();
    check(base, &rows).await;
}

#[tokio::test]
async fn generated_routers_merge_with_each_other_in_any_order() {
    for app in [
        shop_router().merge(library_router()).merge(ops_router()),
        ops_router().merge(library_router().merge(shop_router())),
    ] {
        let addr = common::serve_http(app).await;
        check_owned(&format!("http://{addr}"), service_rows("")).await;
    }
}

#[tokio::test]
async fn generated_routers_nest_under_a_prefix_beside_the_users_routes_and_fallback() {
    let services = shop_router().merge(library_router()).merge(ops_router());
    // The user's router has its own fallback and a route inside the services' prefix.
    let user = axum::Router::new()
        .route("/api/v1/health", get(|| async { "ok" }))
        .route("/status", get(|| async { "up" }))
        .fallback(|| async { (http::StatusCode::IM_A_TEAPOT, "user fallback") });
    let app = axum::Router::new().nest("/api", services).merge(user);
    let addr = common::serve_http(app).await;
    let base = format!("http://{addr}");
    check_owned(&base, service_rows("/api")).await;
    check(
        &base,
        &[
            (Method::GET, "/api/v1/health", Expect::Text("ok")),
            (Method::GET, "/status", Expect::Text("up")),
            // Outside the nested services, the user's fallback answers as before.
            (Method::GET, "/elsewhere", Expect::UserFallback),
            (Method::POST, "/v1/orders/o1", Expect::UserFallback),
            // The library's root template, nested.
            (Method::GET, "/api", Expect::Status(501, 12, &[])),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_single_router_still_answers_unknown_paths_with_status_json() {
    // Outside the prefixes the routes cover, the runtime's server turns axum's bare 404 into
    // the same Status JSON; `routes::not_found` does it for an app served some other way.
    for app in [
        shop_router(),
        shop_router().fallback(rs_svc::http::routes::not_found),
    ] {
        let addr = common::serve_http(app).await;
        check(
            &format!("http://{addr}"),
            &[
                (Method::GET, "/elsewhere", Expect::Status(404, 5, &[])),
                (Method::GET, "/v1/orders/o1", Expect::Name("orders/o1")),
                (Method::GET, "/v1/nowhere", Expect::Status(404, 5, &[])),
                (Method::GET, "/v1//orders", Expect::Status(404, 5, &[])),
                (Method::GET, "/v1/orders/", Expect::Status(501, 12, &[])),
                (
                    Method::DELETE,
                    "/v1/orders/o1",
                    Expect::Status(405, 12, &["GET", "HEAD", "PATCH"]),
                ),
            ],
        )
        .await;
    }
}

#[tokio::test]
async fn an_error_response_carries_its_statuss_metadata_as_headers() {
    let addr = common::serve_http(shop_router()).await;
    let client = reqwest::Client::new();
    // (method, path, body, also the response's own metadata)
    let rows: &[(Method, &str, &str, bool)] = &[
        (Method::GET, "/v1/orders/gone", "", false),
        // A server stream whose handler fails, and one failing at its first message.
        (Method::GET, "/v1/orders/refused:watch", "", false),
        (Method::GET, "/v1/orders/o1:watch", "", true),
        // A client stream whose handler fails after reading the (empty) body.
        (Method::POST, "/v1/orders:import", "", false),
    ];
    for (method, path, body, served_by) in rows {
        let response = client
            .request(method.clone(), format!("http://{addr}{path}"))
            .header("content-type", "application/json")
            .body(*body)
            .send()
            .await
            .unwrap();
        let row = format!("{method} {path}");
        assert_eq!(response.status(), 404, "{row}");
        let headers = response.headers().clone();
        let all = |name: &str| -> Vec<&str> {
            headers
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap())
                .collect()
        };
        assert_eq!(all("x-reason"), ["gone", "really"], "{row}");
        // Binary metadata as base64, as on success.
        assert_eq!(all("x-trace-bin"), ["AAH/"], "{row}");
        // Transport names and the status fields are the router's, never the metadata's.
        assert_eq!(all("content-type"), ["application/json"], "{row}");
        for name in [
            "connection",
            "transfer-encoding",
            "trailer",
            "grpc-status",
            "grpc-message",
        ] {
            assert_eq!(all(name), Vec::<&str>::new(), "{row}: {name}");
        }
        assert_ne!(all("content-length"), ["1"], "{row}");
        assert_eq!(
            all("x-served-by"),
            if *served_by { vec!["shop-1"] } else { vec![] },
            "{row}"
        );
        let status: Value = response.json().await.unwrap();
        assert_eq!(status["code"], 5, "{row}: {status}");
    }
}

/// Sends `request` as raw bytes on a fresh connection, then half-closes (`shutdown`), closes
/// (`close`) or keeps it open, and reads the answer: `(status, body)`, or `None` when the
/// server sent nothing before closing.
async fn raw(addr: SocketAddr, request: &[u8], end: End) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    match end {
        End::Open => {}
        End::HalfClose => stream.shutdown().await.unwrap(),
        End::Close => {
            drop(stream);
            return None;
        }
    }
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
            // One response is enough: headers, then Content-Length bytes.
            let text = String::from_utf8_lossy(&answer).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    break;
                }
            }
        }
    });
    read.await.expect("the server answers or closes within 5 s");
    let text = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

#[derive(Clone, Copy, Debug)]
enum End {
    Open,
    HalfClose,
    Close,
}

fn post(path: &str, framing: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n{framing}\r\n\r\n{body}"
    )
    .into_bytes()
}

#[tokio::test]
async fn a_malformed_or_cut_short_body_is_a_400_status_and_a_vanished_client_harms_nothing() {
    let addr = common::serve_http(shop_router().merge(library_router())).await;
    let bad_chunk = "zz\r\n{}\r\n0\r\n\r\n";
    // A client stream reads a first message, then meets the fault.
    let line = r#"{"name": "orders/a"}"#.to_owned() + "\n";
    let first_chunk = format!("{:x}\r\n{line}\r\n", line.len());
    // (path, framing header, body sent, how the client ends, expected answer)
    let rows: Vec<(&str, &str, String, End, Option<u16>)> = vec![
        // Unary: an invalid chunk size line, and a Content-Length never reached.
        (
            "/v1/orders",
            "transfer-encoding: chunked",
            bad_chunk.into(),
            End::Open,
            Some(400),
        ),
        (
            "/v1/orders",
            "content-length: 100",
            r#"{"order":"#.into(),
            End::HalfClose,
            Some(400),
        ),
        (
            "/v1/orders",
            "content-length: 100",
            r#"{"order":"#.into(),
            End::Close,
            None,
        ),
        // A client stream: the same faults after its first message.
        (
            "/v1/orders:import",
            "transfer-encoding: chunked",
            format!("{first_chunk}{bad_chunk}"),
            End::Open,
            Some(400),
        ),
        (
            "/v1/orders:import",
            "content-length: 100",
            line.clone(),
            End::HalfClose,
            Some(400),
        ),
        (
            "/v1/orders:import",
            "content-length: 100",
            line.clone(),
            End::Close,
            None,
        ),
        // A raw HttpBody upload (the library's `PutCover`) reads its body the unary way.
        (
            "/v1/shelves/s1/books/b1/cover",
            "transfer-encoding: chunked",
            bad_chunk.into(),
            End::Open,
            Some(400),
        ),
    ];
    for (path, framing, body, end, expected) in rows {
        let row = format!("{path} {framing} {end:?}");
        let mut request = post(path, framing, &body);
        if path.ends_with("/cover") {
            request = String::from_utf8(request)
                .unwrap()
                .replacen("POST", "PUT", 1)
                .into_bytes();
        }
        let answer = raw(addr, &request, end).await;
        match expected {
            Some(status) => {
                let (got, body) = answer.unwrap_or_else(|| panic!("{row}: no answer"));
                assert_eq!(got, status, "{row}: {body}");
                let json: Value = serde_json::from_str(&body).expect(&row);
                assert_eq!(json["code"], 3, "{row}: {body}");
                assert!(
                    json["message"].as_str().unwrap().contains("malformed"),
                    "{row}: {body}"
                );
            }
            None => assert!(answer.is_none(), "{row}"),
        }
        // Whatever happened, the server serves the next request.
        let next = raw(
            addr,
            b"GET /v1/orders/o1 HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n",
            End::Open,
        )
        .await;
        assert_eq!(next.map(|(s, _)| s), Some(200), "after {row}");
    }
}

#[tokio::test]
async fn a_client_stream_whose_client_resets_fails_instead_of_ending_cleanly() {
    let addr = common::serve_http(shop_router()).await;
    // HTTP/1.1: the client resets the TCP connection (RST) mid-body.
    let line = r#"{"name": "orders/watched-h1"}"#.to_owned() + "\n";
    let request = post(
        "/v1/orders:import",
        "transfer-encoding: chunked",
        &format!("{:x}\r\n{line}\r\n", line.len()),
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(&request).await.unwrap();
    // Once the handler holds the first message.
    assert_eq!(
        wait_for_import("orders/watched-h1", 1).await,
        ["message orders/watched-h1"]
    );
    // A zero linger never blocks: the close sends RST at once.
    #[allow(deprecated)]
    stream.set_linger(Some(std::time::Duration::ZERO)).unwrap();
    drop(stream);
    // The handler learns the upload broke off; it never takes it for a whole one.
    assert_eq!(
        wait_for_import("orders/watched-h1", 2).await,
        ["message orders/watched-h1", "error Aborted"]
    );

    // HTTP/2: the client resets its stream (RST_STREAM CANCEL) mid-body.
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let request = http::Request::post(format!("http://{addr}/v1/orders:import"))
        .header("content-type", "application/json")
        .body(())
        .unwrap();
    let (_response, mut body) = client.send_request(request, false).unwrap();
    let line = r#"{"name": "orders/watched-h2"}"#.to_owned() + "\n";
    body.send_data(axum::body::Bytes::from(line), false)
        .unwrap();
    assert_eq!(
        wait_for_import("orders/watched-h2", 1).await,
        ["message orders/watched-h2"]
    );
    body.send_reset(h2::Reason::CANCEL);
    assert_eq!(
        wait_for_import("orders/watched-h2", 2).await,
        ["message orders/watched-h2", "error Aborted"]
    );
}
