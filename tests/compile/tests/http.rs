//! The generated HTTP/JSON routes, served by `rs_svc::serve` on 127.0.0.1 and called with a real
//! HTTP client: one row per rule of docs/reference.md section 4 covered so far, each asserting the status,
//! the headers and exactly what the handler received.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use rs_svc_compile_test::canonical::acme::shop::v1 as shop;
use serde_json::{json, Value};
use shop::order_service_server::OrderService;
use tokio_stream::StreamExt as _;
use tonic::{Request, Response, Status};

/// What the handler was called with, rendered for comparison.
#[derive(Default)]
struct Seen {
    calls: Mutex<Vec<String>>,
    metadata: Mutex<Vec<(String, String)>>,
    /// Set when a `forever` watch stream is dropped.
    stream_dropped: Arc<AtomicBool>,
}

/// Sets its flag when dropped, so a test can see a stream go away.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

struct Shop(Arc<Seen>);

impl Shop {
    fn record<T: std::fmt::Debug>(&self, method: &str, request: &Request<T>) {
        self.0
            .calls
            .lock()
            .unwrap()
            .push(format!("{method} {:?}", request.get_ref()));
        let mut metadata = self.0.metadata.lock().unwrap();
        metadata.clear();
        for entry in request.metadata().iter() {
            if let tonic::metadata::KeyAndValueRef::Ascii(key, value) = entry {
                metadata.push((key.to_string(), value.to_str().unwrap().to_owned()));
            }
        }
    }
}

fn order(name: &str) -> shop::Order {
    shop::Order {
        name: name.into(),
        customer: "customers/1".into(),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl OrderService for Shop {
    async fn get_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        self.record("GetOrder", &request);
        let name = request.into_inner().name;
        match name.as_str() {
            "orders/missing" => Err(Status::not_found("orders/missing does not exist")),
            "orders/panic" => panic!("handler bug"),
            "orders/slow" => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(Response::new(order(&name)))
            }
            _ => {
                let mut response = Response::new(order(&name));
                response
                    .metadata_mut()
                    .insert("x-served-by", "shop-1".parse().unwrap());
                Ok(response)
            }
        }
    }

    async fn list_orders(
        &self,
        request: Request<shop::ListOrdersRequest>,
    ) -> Result<Response<shop::ListOrdersResponse>, Status> {
        self.record("ListOrders", &request);
        Ok(Response::new(shop::ListOrdersResponse::default()))
    }

    async fn create_order(
        &self,
        request: Request<shop::CreateOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        self.record("CreateOrder", &request);
        let request = request.into_inner();
        let mut created = request.order.unwrap_or_default();
        created.name = format!("orders/{}", request.order_id);
        Ok(Response::new(created))
    }

    async fn watch_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<tonic::codegen::BoxStream<shop::OrderEvent>>, Status> {
        self.record("WatchOrder", &request);
        let name = request.into_inner().name;
        let event = |state| {
            Ok(shop::OrderEvent {
                name: "orders/w".into(),
                state,
                time: None,
            })
        };
        let events: Vec<Result<shop::OrderEvent, Status>> = match name.as_str() {
            "orders/early" => return Err(Status::failed_precondition("not placed yet")),
            "orders/late" => {
                let mut metadata = tonic::metadata::MetadataMap::new();
                metadata.insert("x-lost-at", "2".parse().unwrap());
                metadata.insert("x-unannounced", "h2 only".parse().unwrap());
                let lost = Status::with_metadata(tonic::Code::Aborted, "lost track", metadata);
                let events = vec![event(1), event(2), Err(lost)];
                let mut response = Response::new(
                    Box::pin(tokio_stream::iter(events)) as tonic::codegen::BoxStream<_>
                );
                // HTTP/1.1 sends only announced trailers; the handler announces its own.
                response
                    .metadata_mut()
                    .insert("trailer", "x-lost-at".parse().unwrap());
                return Ok(response);
            }
            "orders/forever" => {
                let flag = DropFlag(self.0.stream_dropped.clone());
                let pending = tokio_stream::iter(vec![event(1)])
                    .chain(tokio_stream::pending())
                    .map(move |item| {
                        let _ = &flag;
                        item
                    });
                return Ok(Response::new(Box::pin(pending)));
            }
            _ => vec![event(1), event(2), event(3)],
        };
        Ok(Response::new(Box::pin(tokio_stream::iter(events))))
    }

    async fn import_orders(
        &self,
        request: Request<tonic::Streaming<shop::Order>>,
    ) -> Result<Response<shop::ImportOrdersResponse>, Status> {
        let mut orders = request.into_inner();
        let mut names = Vec::new();
        let mut failed = Vec::new();
        loop {
            match orders.message().await {
                Ok(Some(order)) => names.push(order.name),
                Ok(None) => break,
                // A bad message ends the upload; report what was read.
                Err(status) => {
                    failed.push(status.message().to_owned());
                    break;
                }
            }
        }
        self.0
            .calls
            .lock()
            .unwrap()
            .push(format!("ImportOrders {names:?}"));
        Ok(Response::new(shop::ImportOrdersResponse {
            imported: names.len() as i32,
            failed,
        }))
    }

    async fn chat(
        &self,
        request: Request<tonic::Streaming<shop::ChatMessage>>,
    ) -> Result<Response<tonic::codegen::BoxStream<shop::ChatMessage>>, Status> {
        let replies = request.into_inner().map(|message| {
            message.map(|m| shop::ChatMessage {
                text: format!("re: {}", m.text),
                sent: None,
            })
        });
        Ok(Response::new(Box::pin(replies)))
    }

    async fn cancel_order(
        &self,
        request: Request<shop::CancelOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        self.record("CancelOrder", &request);
        Ok(Response::new(order(&request.into_inner().name)))
    }

    async fn update_order(
        &self,
        request: Request<shop::UpdateOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let paths = request
            .get_ref()
            .update_mask
            .clone()
            .unwrap_or_default()
            .paths;
        self.record(&format!("UpdateOrder {paths:?}"), &request);
        Ok(Response::new(
            request.into_inner().order.unwrap_or_default(),
        ))
    }
}

struct Server {
    base: String,
    seen: Arc<Seen>,
    client: reqwest::Client,
}

async fn start(options: rs_svc::http::Options) -> Server {
    let seen = Arc::new(Seen::default());
    let router = shop::order_service_http::router_with(Arc::new(Shop(seen.clone())), options);
    let base = format!("http://{}", common::serve_http(router).await);
    Server {
        base,
        seen,
        client: reqwest::Client::new(),
    }
}

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The body's NDJSON lines, each parsed.
    fn ndjson(&self) -> Vec<Value> {
        self.body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

impl Server {
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            // JSON unless the caller named a content type.
            if !headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            {
                request = request.header("content-type", "application/json");
            }
            request = request.body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    /// A request with a body of another content type than JSON.
    async fn send_raw(&self, method: Method, path: &str, content_type: &str, body: &str) -> Reply {
        self.send(method, path, &[("content-type", content_type)], Some(body))
            .await
    }

    fn last_call(&self) -> String {
        self.seen
            .calls
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn requests_bind_path_body_and_query_into_the_message_the_handler_receives() {
    let server = start(Default::default()).await;
    // (method, path, body, status, what the handler received)
    let rows: &[(Method, &str, Option<&str>, u16, &str)] = &[
        (Method::GET, "/v1/orders/o1", None, 200, r#"GetOrder GetOrderRequest { name: "orders/o1" }"#),
        (Method::GET, "/v1/orders/a%2Fb", None, 200, r#"GetOrder GetOrderRequest { name: "orders/a%2Fb" }"#),
        (Method::GET, "/v1/orders/o1/", None, 200, r#"GetOrder GetOrderRequest { name: "orders/o1" }"#),
        // One decoding pass: `%25` is `%`, and what follows stays as text.
        (Method::GET, "/v1/orders/a%2525b", None, 200, r#"GetOrder GetOrderRequest { name: "orders/a%25b" }"#),
        // No route registers the verb `123`, so it is part of the variable.
        (Method::GET, "/v1/orders/o1:123", None, 200, r#"GetOrder GetOrderRequest { name: "orders/o1:123" }"#),
        // An empty body is `{}`.
        (Method::POST, "/v1/orders?orderId=e", None, 200, r#"CreateOrder CreateOrderRequest { order: Some(Order { name: "", customer: "","#),
        (
            Method::GET,
            "/v1/orders?customer=c+1&pageSize=2&states=CONFIRMED&states=1&placed_after=2024-01-01T00:00:00Z&maxResults=7",
            None,
            200,
            r#"ListOrders ListOrdersRequest { customer: "c 1", page_size: 2, page_token: "", states: [Confirmed, Pending], placed_after: Some(Timestamp { seconds: 1704067200, nanos: 0 }), max_results: 7 }"#,
        ),
        (
            Method::GET,
            "/v1/customers/c9/orders?customer=ignored&pageSize=1",
            None,
            200,
            r#"ListOrders ListOrdersRequest { customer: "customers/c9", page_size: 1, page_token: "", states: [], placed_after: None, max_results: 0 }"#,
        ),
        (
            Method::POST,
            "/v1/orders?orderId=x7&order.customer=from-query",
            Some(r#"{"customer": "customers/5"}"#),
            200,
            "CreateOrder CreateOrderRequest { order: Some(Order { name: \"\", customer: \"customers/5\"",
        ),
        (
            Method::POST,
            "/v1/orders/o3:cancel?reason=ignored",
            Some(r#"{"reason": "changed my mind", "name": "orders/other"}"#),
            200,
            r#"CancelOrder CancelOrderRequest { name: "orders/o3", reason: "changed my mind" }"#,
        ),
        // PATCH infers the mask from the body's keys, as paths inside the body field's message
        // (AIP-134): proto names whichever name the body used, into singular messages, and
        // stopping at lists, maps, Struct, wrappers and other well-known types.
        (
            Method::PATCH,
            "/v1/orders/o4",
            Some(r#"{"customer": "c", "split_from": {"customer": "d", "labels": {"a": "b"}, "splitFrom": {}}, "items": [{"sku": "s"}], "labels": {"k": "v"}, "attributes": {"x": {"y": 1}}, "stockLeft": "5", "gift_note": "hi", "createTime": "2024-01-01T00:00:00Z", "deliveryWindow": "1s", "extra": {"z": 1}, "unknownKey": 1}"#),
            200,
            r#"UpdateOrder ["attributes", "create_time", "customer", "delivery_window", "extra", "gift_note", "items", "labels", "split_from.customer", "split_from.labels", "split_from.split_from", "stock_left"] UpdateOrderRequest { order: Some(Order { name: "orders/o4", customer: "c","#,
        ),
        // A mask the client sent wins; an empty body field gives an empty mask.
        (
            Method::PATCH,
            "/v1/orders/o4?updateMask=customer",
            Some(r#"{"customer": "c", "labels": {}}"#),
            200,
            r#"UpdateOrder ["customer"] UpdateOrderRequest"#,
        ),
        (
            Method::PATCH,
            "/v1/orders/o4",
            Some("{}"),
            200,
            r#"UpdateOrder [] UpdateOrderRequest"#,
        ),
    ];
    for (method, path, body, status, received) in rows {
        let reply = server.send(method.clone(), path, &[], *body).await;
        assert_eq!(
            reply.status.as_u16(),
            *status,
            "{method} {path}: {}",
            reply.body
        );
        assert_eq!(reply.headers["content-type"], "application/json", "{path}");
        assert!(
            server.last_call().starts_with(received),
            "{method} {path}\n got: {}\nwant: {received}",
            server.last_call()
        );
    }
}

#[tokio::test]
async fn responses_are_the_messages_json_with_metadata_as_headers() {
    let server = start(Default::default()).await;
    let reply = server.send(Method::GET, "/v1/orders/o1", &[], None).await;
    assert_eq!(
        reply.json(),
        json!({"name": "orders/o1", "customer": "customers/1"})
    );
    assert_eq!(reply.headers["x-served-by"], "shop-1");
    assert_eq!(
        reply.headers["content-length"],
        reply.body.len().to_string()
    );

    let reply = server
        .send(Method::POST, "/v1/orders?orderId=9", &[], Some("{}"))
        .await;
    assert_eq!(reply.json(), json!({"name": "orders/9"}));

    let head = server.send(Method::HEAD, "/v1/orders/o1", &[], None).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.body, "");
}

/// (method, path, content type, body, HTTP status, gRPC code, message contains)
type ErrorRow<'a> = (Method, &'a str, &'a str, Option<&'a str>, u16, i64, &'a str);

#[tokio::test]
async fn errors_are_status_json_with_the_mapped_http_status() {
    let server = start(rs_svc::http::Options::new().max_body_bytes(64)).await;
    let big = format!(r#"{{"customer": "{}"}}"#, "x".repeat(100));
    let rows: &[ErrorRow] = &[
        (
            Method::GET,
            "/v1/orders/missing",
            "",
            None,
            404,
            5,
            "orders/missing does not exist",
        ),
        (Method::GET, "/v1/nowhere", "", None, 404, 5, "no route"),
        (Method::GET, "/v1//orders", "", None, 404, 5, "no route"),
        (
            Method::DELETE,
            "/v1/orders/o1",
            "",
            None,
            405,
            12,
            "not allowed",
        ),
        (Method::GET, "/v1/orders/%zz", "", None, 400, 3, "escape"),
        (
            Method::GET,
            "/v1/orders?pageSize=ten",
            "",
            None,
            400,
            3,
            "pageSize",
        ),
        (
            Method::GET,
            "/v1/orders?customer=a&customer=b",
            "",
            None,
            400,
            3,
            "given twice",
        ),
        (
            Method::POST,
            "/v1/orders",
            "text/plain",
            Some("{}"),
            415,
            3,
            "must be JSON",
        ),
        (
            Method::POST,
            "/v1/orders",
            "application/json",
            Some(&big),
            413,
            8,
            "over 64 bytes",
        ),
        (
            Method::POST,
            "/v1/orders",
            "application/json",
            Some("{"),
            400,
            3,
            "invalid JSON",
        ),
        (
            Method::POST,
            "/v1/orders",
            "application/merge-patch+json",
            Some("{\"customer\": 5}"),
            400,
            3,
            "customer",
        ),
        (
            Method::GET,
            "/v1/orders/panic",
            "",
            None,
            500,
            13,
            "the handler failed",
        ),
    ];
    for (method, path, content_type, body, status, code, message) in rows {
        let mut request = server
            .client
            .request(method.clone(), format!("{}{path}", server.base));
        if let Some(body) = body {
            request = request
                .header("content-type", *content_type)
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), *status, "{method} {path}");
        let allow = response.headers().get("allow").cloned();
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{path}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], *code, "{method} {path}: {body}");
        let text = body["message"].as_str().unwrap();
        assert!(text.contains(message), "{method} {path}: {text}");
        if *status == 405 {
            assert_eq!(allow.unwrap(), "GET, HEAD, PATCH");
        }
    }
    // The panic did not take the server down.
    let reply = server.send(Method::GET, "/v1/orders/o1", &[], None).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn headers_become_metadata_and_grpc_timeout_bounds_the_call() {
    let server = start(Default::default()).await;
    let reply = server
        .send(
            Method::GET,
            "/v1/orders/o1",
            &[
                ("grpc-metadata-tenant", "acme"),
                ("x-request-id", "r-1"),
                ("grpc-timeout", "2S"),
            ],
            None,
        )
        .await;
    assert_eq!(reply.status, 200);
    let metadata = server.seen.metadata.lock().unwrap().clone();
    let get = |key: &str| {
        metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("tenant").as_deref(), Some("acme"));
    assert_eq!(get("x-request-id").as_deref(), Some("r-1"));
    assert_eq!(get("x-forwarded-for").as_deref(), Some("127.0.0.1"));
    assert!(get("x-forwarded-host").unwrap().starts_with("127.0.0.1:"));
    // The handler sees the deadline as gRPC handlers do.
    assert!(get("grpc-timeout").is_some(), "{metadata:?}");

    let reply = server
        .send(
            Method::GET,
            "/v1/orders/slow",
            &[("grpc-timeout", "100m")],
            None,
        )
        .await;
    assert_eq!(reply.status, 504);
    assert_eq!(reply.json()["code"], 4);

    let reply = server
        .send(
            Method::GET,
            "/v1/orders/o1",
            &[("grpc-timeout", "soon")],
            None,
        )
        .await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn the_interceptor_guards_http_as_it_guards_grpc() {
    let options = rs_svc::http::Options::new().interceptor(|request: Request<()>| {
        match request.metadata().get("authorization") {
            Some(token) if token == "Bearer good" => Ok(request),
            _ => Err(Status::unauthenticated("a bearer token is required")),
        }
    });
    let server = start(options).await;
    let reply = server.send(Method::GET, "/v1/orders/o1", &[], None).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["code"], 16);
    assert!(server.last_call().is_empty(), "the handler did not run");
    let reply = server
        .send(
            Method::GET,
            "/v1/orders/o1",
            &[("authorization", "Bearer good")],
            None,
        )
        .await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn server_streams_are_ndjson_or_sse_with_errors_in_band() {
    let server = start(Default::default()).await;
    // NDJSON: one message per line.
    let reply = server
        .send(Method::GET, "/v1/orders/w:watch", &[], None)
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "application/x-ndjson");
    let lines = reply.ndjson();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], json!({"name": "orders/w", "state": "PENDING"}));
    assert!(server.last_call().contains(r#"name: "orders/w""#));

    // SSE when asked.
    let reply = server
        .send(
            Method::GET,
            "/v1/orders/w:watch",
            &[("accept", "text/event-stream")],
            None,
        )
        .await;
    assert_eq!(reply.headers["content-type"], "text/event-stream");
    assert!(
        reply.body.starts_with("data: {\"name\":\"orders/w\""),
        "{}",
        reply.body
    );
    assert_eq!(reply.body.matches("\n\n").count(), 3);

    // An error before the first message is an ordinary error response.
    let reply = server
        .send(Method::GET, "/v1/orders/early:watch", &[], None)
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["code"], 9);

    // After it, the error is the last line and the stream ends.
    let reply = server
        .send(Method::GET, "/v1/orders/late:watch", &[], None)
        .await;
    assert_eq!(reply.status, 200);
    let lines = reply.ndjson();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[2],
        json!({"code": 10, "message": "lost track", "details": []})
    );
    let reply = server
        .send(
            Method::GET,
            "/v1/orders/late:watch",
            &[("accept", "text/event-stream")],
            None,
        )
        .await;
    assert!(
        reply.body.ends_with(
            "event: error\ndata: {\"code\":10,\"message\":\"lost track\",\"details\":[]}\n\n"
        ),
        "{}",
        reply.body
    );

    // Grpc-Timeout bounds the whole stream.
    let reply = server
        .send(
            Method::GET,
            "/v1/orders/forever:watch",
            &[("grpc-timeout", "200m")],
            None,
        )
        .await;
    let lines = reply.ndjson();
    assert_eq!(lines.len(), 2, "{}", reply.body);
    assert_eq!(lines[1]["code"], 4);
}

#[tokio::test]
async fn a_client_that_hangs_up_cancels_the_handlers_stream() {
    let server = start(Default::default()).await;
    let response = server
        .client
        .get(format!("{}/v1/orders/forever:watch", server.base))
        .send()
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(first.starts_with(b"{"));
    assert!(!server.seen.stream_dropped.load(Ordering::SeqCst));
    drop(body);
    // The server notices the reset and drops the handler's stream.
    tokio::time::timeout(Duration::from_secs(10), async {
        while !server.seen.stream_dropped.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the handler's stream is dropped");
    let reply = server.send(Method::GET, "/v1/orders/o1", &[], None).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn client_streams_read_ndjson_or_a_json_array_incrementally() {
    let server = start(Default::default()).await;
    let ndjson = "{\"name\": \"orders/a\"}\n\n{\"name\": \"orders/b\"}\n";
    let array = "[{\"name\": \"orders/a\"}, {\"name\": \"orders/b\"}, {\"name\": \"orders/c\"}]";
    // (content type, body, imported, failed message)
    let rows = [
        ("application/x-ndjson", ndjson, 2, ""),
        ("application/json", array, 3, ""),
        (
            "application/x-ndjson",
            "{\"name\": \"orders/a\"}\n{\"name\": 5}\n",
            1,
            "name",
        ),
        (
            "application/json",
            // The last element is not known to be whole until `,` or `]` follows it.
            "[{\"name\": \"orders/a\"}",
            0,
            "not closed",
        ),
    ];
    for (content_type, body, imported, failed) in rows {
        let response = server
            .client
            .post(format!("{}/v1/orders:import", server.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{body}");
        let json: Value = response.json().await.unwrap();
        // Canonical JSON leaves out a zero count.
        let count = json["imported"].as_i64().unwrap_or(0);
        assert_eq!(count, imported, "{body}: {json}");
        if !failed.is_empty() {
            let message = json["failed"][0].as_str().unwrap_or_default().to_owned();
            assert!(message.contains(failed), "{body}: {message}");
        }
    }
    // The upload is streamed: a body far over the body limit goes through message by message.
    let server = start(rs_svc::http::Options::new().max_body_bytes(1024)).await;
    let line = "{\"name\": \"orders/x\"}\n";
    let body = line.repeat(2000);
    assert!(body.len() > 30 * 1024);
    let response = server
        .client
        .post(format!("{}/v1/orders:import", server.base))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["imported"], 2000);
}

#[tokio::test]
async fn bidi_streams_answer_each_ndjson_message() {
    let server = start(Default::default()).await;
    let reply = server
        .send_raw(
            Method::POST,
            "/v1/orders:chat",
            "application/x-ndjson",
            "{\"text\": \"hello\"}\n{\"text\": \"where is it?\"}\n",
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "application/x-ndjson");
    let lines = reply.ndjson();
    assert_eq!(
        lines,
        [
            json!({"text": "re: hello"}),
            json!({"text": "re: where is it?"})
        ]
    );
}

#[tokio::test]
async fn json_nested_beyond_the_depth_limit_is_a_400_not_a_crash() {
    let server = start(Default::default()).await;
    for body in [
        format!("{{\"customer\": {}", "[".repeat(100_000)),
        "{\"a\":".repeat(100_000),
    ] {
        let reply = server
            .send(Method::POST, "/v1/orders", &[], Some(&body))
            .await;
        assert_eq!(reply.status, 400, "{}", reply.body);
        // The parser's depth limit or the first type mismatch, whichever comes first.
        assert_eq!(reply.json()["code"], 3);
    }
    let reply = server.send(Method::GET, "/v1/orders/o1", &[], None).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn content_types_charsets_binary_headers_and_unknown_parameters() {
    let server = start(Default::default()).await;
    // (content type, status)
    let rows = [
        ("application/json; charset=utf-8", 200),
        ("application/merge-patch+json", 200),
        ("application/json; charset=latin1", 415),
        ("text/plain", 415),
    ];
    for (content_type, status) in rows {
        let reply = server
            .send(
                Method::POST,
                "/v1/orders",
                &[("content-type", content_type)],
                Some("{}"),
            )
            .await;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{content_type}: {}",
            reply.body
        );
    }
    let reply = server
        .send(Method::GET, "/v1/orders/o1", &[("trace-bin", "!!")], None)
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.json()["message"]
        .as_str()
        .unwrap()
        .contains("trace-bin"));
    let reply = server
        .send(Method::GET, "/v1/orders/o1", &[("trace-bin", "AAE")], None)
        .await;
    assert_eq!(reply.status, 200);

    // Unknown query parameters: ignored by default, rejected when asked.
    let reply = server
        .send(Method::GET, "/v1/orders?nope=1", &[], None)
        .await;
    assert_eq!(reply.status, 200);
    let strict = start(rs_svc::http::Options::new().reject_unknown_query_parameters(true)).await;
    let reply = strict
        .send(Method::GET, "/v1/orders?nope=1", &[], None)
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.json()["message"]
        .as_str()
        .unwrap()
        .contains("unknown query parameter `nope`"));
}

/// What a hyper client reads: status, headers, body and trailers (reqwest cannot see trailers).
struct Trailed {
    status: u16,
    headers: http::HeaderMap,
    body: String,
    trailers: Option<http::HeaderMap>,
}

/// `GET path` over one new connection, HTTP/1.1 or HTTP/2 with prior knowledge; `te` sends
/// `TE: trailers`, `sse` asks for `text/event-stream`.
async fn get_with_trailers(server: &Server, path: &str, te: bool, sse: bool, h2: bool) -> Trailed {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let authority = server.base.trim_start_matches("http://");
    let io = TokioIo::new(tokio::net::TcpStream::connect(authority).await.unwrap());
    let mut request = http::Request::get(format!("{}{path}", server.base));
    if te {
        request = request.header("te", "trailers");
    }
    if sse {
        request = request.header("accept", "text/event-stream");
    }
    let request = request.body(Empty::<hyper::body::Bytes>::new()).unwrap();
    let response = if h2 {
        let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .unwrap();
        tokio::spawn(conn);
        sender.send_request(request).await.unwrap()
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        let mut request = request;
        let host = http::HeaderValue::from_str(authority).unwrap();
        request.headers_mut().insert("host", host);
        sender.send_request(request).await.unwrap()
    };
    let (parts, body) = response.into_parts();
    let collected = body.collect().await.unwrap();
    Trailed {
        status: parts.status.as_u16(),
        headers: parts.headers,
        trailers: collected.trailers().cloned(),
        body: String::from_utf8(collected.to_bytes().to_vec()).unwrap(),
    }
}

#[tokio::test]
async fn streams_end_with_status_trailers_only_for_te_trailers() {
    let server = start(Default::default()).await;
    let announced = "grpc-status, grpc-message, grpc-status-details-bin";
    let handlers_too = "x-lost-at, grpc-status, grpc-message, grpc-status-details-bin";
    // (path, TE: trailers, HTTP/2, lines, trailers as `name: value` sorted, Trailer header)
    type Row<'a> = (&'a str, bool, bool, usize, &'a [&'a str], &'a str);
    let rows: &[Row] = &[
        (
            "/v1/orders/w:watch",
            true,
            false,
            3,
            &["grpc-status: 0"],
            announced,
        ),
        (
            "/v1/orders/w:watch",
            true,
            true,
            3,
            &["grpc-status: 0"],
            announced,
        ),
        // After an error: its code, message and the status's metadata (HTTP/1.1: the announced).
        (
            "/v1/orders/late:watch",
            true,
            false,
            3,
            &[
                "grpc-message: lost%20track",
                "grpc-status: 10",
                "x-lost-at: 2",
            ],
            handlers_too,
        ),
        (
            "/v1/orders/late:watch",
            true,
            true,
            3,
            &[
                "grpc-message: lost%20track",
                "grpc-status: 10",
                "x-lost-at: 2",
                "x-unannounced: h2 only",
            ],
            handlers_too,
        ),
        // Without TE: trailers, none, and none announced.
        ("/v1/orders/w:watch", false, false, 3, &[], ""),
        ("/v1/orders/late:watch", false, false, 3, &[], ""),
        ("/v1/orders/late:watch", false, true, 3, &[], ""),
        // Unary answers never have trailers; they keep their Content-Length.
        ("/v1/orders/o1", true, false, 1, &[], ""),
        ("/v1/orders/o1", true, true, 1, &[], ""),
        // A stream that fails before its first message is an ordinary error response.
        ("/v1/orders/early:watch", true, false, 1, &[], ""),
    ];
    for (path, te, h2, lines, trailers, trailer_header) in rows {
        let what = format!("{path} te={te} h2={h2}");
        let reply = get_with_trailers(&server, path, *te, false, *h2).await;
        assert_eq!(reply.body.lines().count(), *lines, "{what}: {}", reply.body);
        let mut got: Vec<String> = reply
            .trailers
            .iter()
            .flatten()
            .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap()))
            .collect();
        got.sort();
        assert_eq!(got, *trailers, "{what}");
        let announced: Vec<&str> = reply
            .headers
            .get_all("trailer")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(announced.join(", "), *trailer_header, "{what}");
        if path.ends_with("/o1") {
            assert_eq!(reply.status, 200);
            assert!(reply.headers.contains_key("content-length"), "{what}");
        }
        if path.contains("early") {
            assert_eq!(reply.status, 400, "{what}");
        }
    }
    // SSE ends the same way, after its `event: error`.
    for h2 in [false, true] {
        let reply = get_with_trailers(&server, "/v1/orders/late:watch", true, true, h2).await;
        assert!(reply.body.contains("event: error\n"), "{}", reply.body);
        let trailers = reply.trailers.unwrap_or_default();
        assert_eq!(trailers["grpc-status"], "10", "h2={h2}");
        assert_eq!(trailers["x-lost-at"], "2", "h2={h2}");
    }
}
