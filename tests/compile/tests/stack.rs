//! The server's middleware stack (`Builder::layer`) over real sockets: one layer instance sees
//! a method's gRPC and HTTP/JSON calls with the same facts, an async interceptor rejects or
//! lets through on both transports, a panicking handler answers INTERNAL and the server goes
//! on, and layer errors and outcomes come out in each transport's form.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use common::Served;
use rs_svc::serve::{interceptor, on_complete, Builder, CallInfo, Next, Server, Transport};
use rs_svc_compile_test::canonical::acme::shop::v1 as shop;
use shop::order_service_client::OrderServiceClient;
use shop::order_service_server::{OrderService, OrderServiceServer};
use tokio_stream::{Stream, StreamExt as _};
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};

/// The user an interceptor authenticated, which handlers read from their request.
#[derive(Clone, Debug)]
struct User(String);

/// `GetOrder` answers with the order named, its customer the authenticated user if any;
/// `panic` panics, `missing` is NOT_FOUND, `sleep/<ms>` sleeps first. `WatchOrder` sends one
/// event, then panics when the name is `panic`.
#[derive(Clone, Default)]
struct Shop;

type Events = Pin<Box<dyn Stream<Item = Result<shop::OrderEvent, Status>> + Send>>;

#[tonic::async_trait]
impl OrderService for Shop {
    async fn get_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let user = request.extensions().get::<User>().map(|u| u.0.clone());
        let name = request.into_inner().name;
        match name.as_str() {
            "orders/panic" => panic!("GetOrder fell over"),
            "orders/missing" => return Err(Status::not_found("no such order")),
            _ => {}
        }
        if let Some(ms) = name.strip_prefix("orders/sleep-") {
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
        }
        Ok(Response::new(shop::Order {
            name,
            customer: user.unwrap_or_default(),
            ..Default::default()
        }))
    }

    async fn watch_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<Events>, Status> {
        let name = request.into_inner().name;
        let first = shop::OrderEvent {
            name: name.clone(),
            ..Default::default()
        };
        let count = if name == "orders/panic" { 2 } else { 1 };
        // Apart in time, so that the first event is sent before the second is asked for.
        let events = tokio_stream::iter([0, 1]).take(count);
        let events = events.throttle(Duration::from_millis(20)).map(move |i| {
            if i == 1 {
                panic!("WatchOrder fell over");
            }
            Ok(first.clone())
        });
        Ok(Response::new(Box::pin(events)))
    }
}

async fn start(builder: Builder) -> Served {
    let builder = builder
        .grpc(OrderServiceServer::new(Shop))
        .http(shop::order_service_http::router(Arc::new(Shop)));
    common::serve(builder).await
}

async fn client(addr: SocketAddr) -> OrderServiceClient<Channel> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    OrderServiceClient::new(channel)
}

async fn grpc_get(
    addr: SocketAddr,
    name: &str,
    token: Option<&str>,
) -> Result<shop::Order, Status> {
    let mut request = Request::new(shop::GetOrderRequest { name: name.into() });
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().unwrap();
        request.metadata_mut().insert("authorization", value);
    }
    request.set_timeout(Duration::from_secs(5));
    Ok(client(addr).await.get_order(request).await?.into_inner())
}

/// An HTTP/JSON call: status, a header's value, body.
async fn http_get(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    header: &str,
) -> (u16, Option<String>, String) {
    let mut request = reqwest::Client::new()
        .get(format!("http://{addr}{path}"))
        .header("grpc-timeout", "5S");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let value = response
        .headers()
        .get(header)
        .map(|v| v.to_str().unwrap().to_owned());
    (status, value, response.text().await.unwrap())
}

/// What the counting layer saw of one call.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    transport: Transport,
    peer_is_loopback: bool,
    local_is_set: bool,
    has_deadline: bool,
    http_route: Option<String>,
    http_method: Option<String>,
    authorization: Option<String>,
}

type Calls = Arc<Mutex<BTreeMap<String, Vec<Seen>>>>;

/// `builder` with a layer that records every call it sees, by method.
fn counting(builder: Builder, calls: Calls) -> Builder {
    builder.layer(tower::layer::layer_fn(move |next: Next| {
        let calls = calls.clone();
        tower::service_fn(move |request: http::Request<Body>| {
            let info = request.extensions().get::<CallInfo>().unwrap().clone();
            let seen = Seen {
                transport: info.transport(),
                peer_is_loopback: info.peer().is_some_and(|p| p.ip().is_loopback()),
                local_is_set: info.local().is_some(),
                has_deadline: info.deadline().is_some(),
                http_route: info.http_route().map(str::to_owned),
                http_method: info.http_method().map(|m| m.to_string()),
                authorization: request
                    .headers()
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_owned()),
            };
            calls
                .lock()
                .unwrap()
                .entry(info.method().to_owned())
                .or_default()
                .push(seen);
            tower::ServiceExt::oneshot(next.clone(), request)
        })
    }))
}

#[tokio::test]
async fn one_layer_instance_sees_a_method_over_both_transports_with_the_same_facts() {
    let calls = Calls::default();
    let server = start(counting(Server::builder(), calls.clone())).await;

    let order = grpc_get(server.grpc, "orders/o1", Some("t1"))
        .await
        .unwrap();
    assert_eq!(order.name, "orders/o1");
    let (status, _, body) = http_get(server.http, "/v1/orders/o2", Some("t2"), "").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("orders/o2"), "{body}");

    let calls = calls.lock().unwrap().clone();
    assert_eq!(
        calls.keys().collect::<Vec<_>>(),
        ["acme.shop.v1.OrderService/GetOrder"],
        "one method, under its full name on both transports"
    );
    let seen = &calls["acme.shop.v1.OrderService/GetOrder"];
    let grpc = Seen {
        transport: Transport::Grpc,
        peer_is_loopback: true,
        local_is_set: true,
        has_deadline: true,
        http_route: None,
        http_method: None,
        authorization: Some("Bearer t1".into()),
    };
    let http = Seen {
        transport: Transport::Http,
        http_route: Some("/v1/{name=orders/*}".into()),
        http_method: Some("GET".into()),
        authorization: Some("Bearer t2".into()),
        ..grpc.clone()
    };
    assert_eq!(seen, &[grpc, http]);
}

#[tokio::test]
async fn the_first_layer_added_is_the_outermost() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let mark = |name: &'static str| {
        let order = order.clone();
        tower::layer::layer_fn(move |next: Next| {
            let order = order.clone();
            tower::service_fn(move |request: http::Request<Body>| {
                order.lock().unwrap().push(name);
                tower::ServiceExt::oneshot(next.clone(), request)
            })
        })
    };
    let server = start(Server::builder().layer(mark("outer")).layer(mark("inner"))).await;
    grpc_get(server.grpc, "orders/o1", None).await.unwrap();
    assert_eq!(*order.lock().unwrap(), ["outer", "inner"]);
}

/// `builder` with an interceptor that awaits (as a key-set fetch would) and admits the bearer
/// token `good`.
fn auth(builder: Builder) -> Builder {
    builder.layer(interceptor(|mut request: Request<()>| async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let method = request
            .extensions()
            .get::<CallInfo>()
            .unwrap()
            .method()
            .to_owned();
        assert_eq!(method, "acme.shop.v1.OrderService/GetOrder");
        match request
            .metadata()
            .get("authorization")
            .map(|v| v.to_str().unwrap())
        {
            Some("Bearer good") => {
                request.extensions_mut().insert(User("ann".into()));
                Ok(request)
            }
            Some(_) => {
                let mut status = Status::unauthenticated("the token is not valid");
                status.metadata_mut().insert(
                    "www-authenticate",
                    r#"Bearer error="invalid_token""#.parse().unwrap(),
                );
                Err(status)
            }
            None => Err(Status::unauthenticated("a bearer token is required")),
        }
    }))
}

#[tokio::test]
async fn an_async_interceptor_guards_both_transports_and_hands_handlers_what_it_found() {
    let server = start(auth(Server::builder())).await;

    let order = grpc_get(server.grpc, "orders/o1", Some("good"))
        .await
        .unwrap();
    assert_eq!(
        order.customer, "ann",
        "the handler read the interceptor's extension"
    );
    let (status, _, body) = http_get(server.http, "/v1/orders/o1", Some("good"), "").await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""customer":"ann""#), "{body}");

    let missing = grpc_get(server.grpc, "orders/o1", None).await.unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated);
    assert_eq!(missing.message(), "a bearer token is required");
    let (status, challenge, body) =
        http_get(server.http, "/v1/orders/o1", None, "www-authenticate").await;
    assert_eq!((status, challenge.as_deref()), (401, Some("Bearer")));
    assert!(body.contains(r#""code":16"#), "{body}");

    let bad = grpc_get(server.grpc, "orders/o1", Some("bad"))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::Unauthenticated);
    let (status, challenge, _) = http_get(
        server.http,
        "/v1/orders/o1",
        Some("bad"),
        "www-authenticate",
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        challenge.as_deref(),
        Some(r#"Bearer error="invalid_token""#)
    );
}

#[tokio::test]
async fn a_panicking_handler_answers_internal_on_both_transports_and_the_server_goes_on() {
    let captured = Captured::default();
    let _log = capture(&captured);
    // With and without layers: recovery does not depend on the stack.
    for builder in [
        Server::builder(),
        counting(Server::builder(), Calls::default()),
    ] {
        let server = start(builder).await;

        let unary = grpc_get(server.grpc, "orders/panic", None)
            .await
            .unwrap_err();
        assert_eq!(
            (unary.code(), unary.message()),
            (Code::Internal, "the handler failed")
        );
        let (status, _, body) = http_get(server.http, "/v1/orders/panic", None, "").await;
        assert_eq!(status, 500, "{body}");
        assert!(body.contains("the handler failed"), "{body}");
        assert!(
            !body.contains("fell over"),
            "the panic's message stays in the log: {body}"
        );

        // A stream that panics after its first message ends with INTERNAL.
        let request = shop::GetOrderRequest {
            name: "orders/panic".into(),
        };
        let mut events = client(server.grpc)
            .await
            .watch_order(request)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            events.message().await.unwrap().unwrap().name,
            "orders/panic"
        );
        let failed = events.message().await.unwrap_err();
        assert_eq!(
            (failed.code(), failed.message()),
            (Code::Internal, "the handler failed")
        );
        let (status, _, body) = http_get(server.http, "/v1/orders/panic:watch", None, "").await;
        assert_eq!(status, 200, "the stream had started: {body}");
        assert!(body.contains("the handler failed"), "{body}");

        // And the server still serves.
        let order = grpc_get(server.grpc, "orders/o1", None).await.unwrap();
        assert_eq!(order.name, "orders/o1");
        let (status, _, _) = http_get(server.http, "/v1/orders/o1", None, "").await;
        assert_eq!(status, 200);
    }
    // Each panic is logged with its method and message, twice over (with and without layers).
    let panics: Vec<_> = captured
        .lines()
        .into_iter()
        .filter(|line| line["level"] == "ERROR")
        .map(|line| {
            (
                line["rpc.method"].as_str().unwrap().to_owned(),
                line["panic"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let get = (
        "acme.shop.v1.OrderService/GetOrder".to_owned(),
        "GetOrder fell over".to_owned(),
    );
    let watch = (
        "acme.shop.v1.OrderService/WatchOrder".to_owned(),
        "WatchOrder fell over".to_owned(),
    );
    let once = [get.clone(), get, watch.clone(), watch];
    assert_eq!(panics, [once.clone(), once].concat());
}

#[tokio::test]
async fn a_layers_error_is_answered_in_the_transports_form() {
    let timeout = tower::timeout::TimeoutLayer::new(Duration::from_millis(50));
    let server = start(Server::builder().layer(timeout)).await;

    let late = grpc_get(server.grpc, "orders/sleep-500", None)
        .await
        .unwrap_err();
    assert_eq!(late.code(), Code::DeadlineExceeded, "{late:?}");
    let (status, _, body) = http_get(server.http, "/v1/orders/sleep-500", None, "").await;
    assert_eq!(status, 504, "{body}");
    assert!(body.contains(r#""code":4"#), "{body}");
    // In time, the layer lets the call through.
    assert!(grpc_get(server.grpc, "orders/o1", None).await.is_ok());
}

#[tokio::test]
async fn a_layer_that_is_not_ready_holds_the_call_until_it_is_or_sheds_it() {
    // One call at a time: a second one waits for the first to end.
    let one_at_a_time = tower::limit::ConcurrencyLimitLayer::new(1);
    let server = start(Server::builder().layer(one_at_a_time)).await;
    let first = tokio::spawn(grpc_get(server.grpc, "orders/sleep-300", None));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let second = tokio::time::timeout(
        Duration::from_secs(3),
        http_get(server.http, "/v1/orders/o1", None, ""),
    )
    .await
    .expect("the waiting call is woken when the first ends");
    assert_eq!(second.0, 200, "{}", second.2);
    assert!(started.elapsed() >= Duration::from_millis(150), "it waited");
    assert!(first.await.unwrap().is_ok());

    // The same limit with load shedding answers the second call at once instead.
    let shed = tower::ServiceBuilder::new()
        .load_shed()
        .concurrency_limit(1)
        .into_inner();
    let server = start(Server::builder().layer(shed)).await;
    let first = tokio::spawn(grpc_get(server.grpc, "orders/sleep-300", None));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, retry_after, body) =
        http_get(server.http, "/v1/orders/o1", None, "retry-after").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert!(body.contains(r#""code":8"#), "{body}");
    let shed = grpc_get(server.grpc, "orders/o1", None).await.unwrap_err();
    assert_eq!(shed.code(), Code::ResourceExhausted, "{shed:?}");
    assert!(first.await.unwrap().is_ok());
}

#[tokio::test]
async fn on_complete_reports_each_calls_code_once_its_response_is_done() {
    type Ended = Arc<Mutex<Vec<(String, Transport, Code, u16)>>>;
    let ended = Ended::default();
    let record = {
        let ended = ended.clone();
        tower::layer::layer_fn(move |next: Next| {
            let ended = ended.clone();
            tower::service_fn(move |request: http::Request<Body>| {
                let info = request.extensions().get::<CallInfo>().unwrap().clone();
                let ended = ended.clone();
                let next = next.clone();
                async move {
                    let response = tower::ServiceExt::oneshot(next, request).await?;
                    Ok::<_, std::convert::Infallible>(on_complete(
                        info.transport(),
                        response,
                        move |outcome| {
                            ended.lock().unwrap().push((
                                info.method_name().to_owned(),
                                info.transport(),
                                outcome.code,
                                outcome.http_status.as_u16(),
                            ))
                        },
                    ))
                }
            })
        })
    };
    let server = start(Server::builder().layer(record)).await;

    grpc_get(server.grpc, "orders/o1", None).await.unwrap();
    let _ = grpc_get(server.grpc, "orders/missing", None).await;
    http_get(server.http, "/v1/orders/o1", None, "").await;
    http_get(server.http, "/v1/orders/missing", None, "").await;
    let mut events = client(server.grpc)
        .await
        .watch_order(shop::GetOrderRequest {
            name: "orders/panic".into(),
        })
        .await
        .unwrap()
        .into_inner();
    while events.message().await.is_ok_and(|m| m.is_some()) {}
    // The last body frame and the callback race the client's read by a hair.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let ended = ended.lock().unwrap().clone();
    use Transport::{Grpc, Http};
    assert_eq!(
        ended,
        [
            ("GetOrder".into(), Grpc, Code::Ok, 200),
            ("GetOrder".into(), Grpc, Code::NotFound, 200),
            ("GetOrder".into(), Http, Code::Ok, 200),
            ("GetOrder".into(), Http, Code::NotFound, 404),
            ("WatchOrder".into(), Grpc, Code::Internal, 200),
        ]
    );
}

/// What a `tracing` subscriber writes, as JSON lines.
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

/// Sends this thread's `tracing` events at INFO and above to `captured`, as JSON lines.
fn capture(captured: &Captured) -> tracing::subscriber::DefaultGuard {
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_default(subscriber)
}

impl Captured {
    fn lines(&self) -> Vec<serde_json::Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn the_access_log_writes_one_structured_line_per_call_on_both_transports() {
    let captured = Captured::default();
    let _log = capture(&captured);
    // The interceptor refuses `bad` tokens: refused calls are logged too.
    let server = start(auth(Server::builder().access_log(true))).await;

    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let mut request = Request::new(shop::GetOrderRequest {
        name: "orders/o1".into(),
    });
    request
        .metadata_mut()
        .insert("authorization", "Bearer good".parse().unwrap());
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().unwrap());
    client(server.grpc).await.get_order(request).await.unwrap();
    let (status, _, _) = http_get(server.http, "/v1/orders/missing", Some("good"), "").await;
    assert_eq!(status, 404);
    let (status, _, _) = http_get(server.http, "/v1/orders/o1", Some("bad"), "").await;
    assert_eq!(status, 401);
    tokio::time::sleep(Duration::from_millis(50)).await;

    let lines: Vec<_> = captured
        .lines()
        .into_iter()
        .filter(|line| line["target"] == "rs_svc::access")
        .collect();
    let fields = |line: &serde_json::Value| {
        (
            line["rpc.method"].as_str().unwrap().to_owned(),
            line["transport"].as_str().unwrap().to_owned(),
            line["rpc.grpc.status_code"].as_i64().unwrap(),
            line.get("http.response.status_code")
                .and_then(|v| v.as_i64()),
            line.get("trace_id")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        )
    };
    let method = "acme.shop.v1.OrderService/GetOrder".to_owned();
    assert_eq!(
        lines.iter().map(fields).collect::<Vec<_>>(),
        [
            (
                method.clone(),
                "grpc".into(),
                0,
                None,
                Some("4bf92f3577b34da6a3ce929d0e0e4736".into())
            ),
            (method.clone(), "http".into(), 5, Some(404), None),
            (method, "http".into(), 16, Some(401), None),
        ]
    );
    for line in &lines {
        assert_eq!(line["level"], "INFO");
        assert!(line["duration_ms"].as_f64().unwrap() >= 0.0, "{line}");
        assert_eq!(line["client.address"], "127.0.0.1", "{line}");
    }
    assert_eq!(lines[1]["http.route"], "/v1/{name=orders/*}");
}

#[tokio::test]
async fn calls_to_methods_the_server_does_not_serve_are_marked_unknown() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = {
        let seen = seen.clone();
        tower::layer::layer_fn(move |next: Next| {
            let seen = seen.clone();
            tower::service_fn(move |request: http::Request<Body>| {
                let info = request.extensions().get::<CallInfo>().unwrap();
                seen.lock()
                    .unwrap()
                    .push((info.method().to_owned(), info.is_known()));
                tower::ServiceExt::oneshot(next.clone(), request)
            })
        })
    };
    // The descriptor set lists the shop's methods.
    let builder = Server::builder()
        .layer(record)
        .file_descriptor_set(rs_svc_compile_test::DESCRIPTOR_SET);
    let server = start(builder).await;
    let channel = Channel::from_shared(format!("http://{}", server.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    for (path, code) in [
        ("/acme.shop.v1.OrderService/GetOrder", Code::Ok),
        ("/acme.shop.v1.OrderService/Nope", Code::Unimplemented),
        ("/acme.shop.v1.Nope/GetOrder", Code::Unimplemented),
    ] {
        let mut grpc = tonic::client::Grpc::new(channel.clone());
        grpc.ready().await.unwrap();
        let codec = tonic_prost::ProstCodec::<shop::GetOrderRequest, shop::Order>::default();
        let request = Request::new(shop::GetOrderRequest {
            name: "orders/o1".into(),
        });
        let uri = http::uri::PathAndQuery::from_static(path);
        let answer = grpc.unary(request, uri, codec).await;
        assert_eq!(
            answer.map_or_else(|s| s.code(), |_| Code::Ok),
            code,
            "{path}"
        );
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [
            ("acme.shop.v1.OrderService/GetOrder".to_owned(), true),
            ("acme.shop.v1.OrderService/Nope".to_owned(), false),
            ("acme.shop.v1.Nope/GetOrder".to_owned(), false),
        ]
    );
}
