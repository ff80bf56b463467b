//! `rs_svc::serve` end to end on 127.0.0.1: the generated service behind one or two ports,
//! health, reflection, and graceful shutdown, talked to by the generated tonic client, the
//! tonic-health and tonic-reflection clients and raw HTTP/1.1.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rs_svc::serve::{Builder, Error, Server};
use rs_svc_compile_test::alt::acme::shop::v1 as shop;
use shop::order_service_client::OrderServiceClient;
use shop::order_service_server::{OrderService, OrderServiceServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

const ORDER_SERVICE: &str = "acme.shop.v1.OrderService";

/// `GetOrder` answers at once, or after sleeping when the name is `sleep/<ms>`; it tells the
/// test when a call starts and counts calls dropped before they finished.
#[derive(Clone)]
struct Shop {
    started: mpsc::UnboundedSender<String>,
    dropped: Arc<AtomicUsize>,
}

/// Counts a handler future dropped before it finished (a call cut by the server).
struct DropGuard(Option<Arc<AtomicUsize>>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(dropped) = self.0.take() {
            dropped.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[tonic::async_trait]
impl OrderService for Shop {
    async fn get_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let peer = request.remote_addr().map(|addr| addr.ip().to_string());
        let name = request.into_inner().name;
        let mut guard = DropGuard(Some(self.dropped.clone()));
        let _ = self.started.send(name.clone());
        if let Some(ms) = name.strip_prefix("sleep/") {
            let ms = ms.parse().map_err(|_| Status::invalid_argument("ms"))?;
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        guard.0 = None;
        Ok(Response::new(shop::Order {
            name,
            // For handlers_see_the_peer_address.
            customer: peer.unwrap_or_default(),
            ..Default::default()
        }))
    }
}

struct Fixture {
    shop: Shop,
    started: mpsc::UnboundedReceiver<String>,
}

fn fixture() -> Fixture {
    let (started, started_rx) = mpsc::unbounded_channel();
    Fixture {
        shop: Shop {
            started,
            dropped: Arc::default(),
        },
        started: started_rx,
    }
}

fn hello_routes() -> axum::Router {
    axum::Router::new().route("/hello", axum::routing::get(|| async { "hello" }))
}

/// The shop, HTTP routes and reflection, both ports on 127.0.0.1 with ports chosen by the OS.
fn two_ports(shop: &Shop) -> Builder {
    Server::builder()
        .grpc(OrderServiceServer::new(shop.clone()))
        .http(hello_routes())
        .file_descriptor_set(rs_svc_compile_test::DESCRIPTOR_SET)
        .grpc_addr(([127, 0, 0, 1], 0))
        .http_addr(([127, 0, 0, 1], 0))
}

struct Running {
    grpc: SocketAddr,
    http: Option<SocketAddr>,
    shutdown: Option<oneshot::Sender<()>>,
    served: JoinHandle<Result<(), Error>>,
}

impl Running {
    async fn start(builder: Builder) -> Running {
        Running::start_server(builder.build().unwrap()).await
    }

    async fn start_server(server: Server) -> Running {
        let listening = server.bind().await.unwrap();
        let (shutdown, signal) = oneshot::channel::<()>();
        let grpc = listening.grpc_addr();
        let http = listening.http_addr();
        let served = tokio::spawn(listening.serve_with_shutdown(async {
            let _ = signal.await;
        }));
        Running {
            grpc,
            http,
            shutdown: Some(shutdown),
            served,
        }
    }

    fn begin_shutdown(&mut self) {
        self.shutdown.take().unwrap().send(()).unwrap();
    }

    /// Shuts down and checks that serving ends, cleanly, within `within`.
    async fn stop(mut self, within: Duration) {
        if self.shutdown.is_some() {
            self.begin_shutdown();
        }
        tokio::time::timeout(within, self.served)
            .await
            .expect("serve returns in time")
            .unwrap()
            .unwrap();
    }
}

async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn get_order(channel: &Channel, name: &str) -> Result<String, Status> {
    let request = shop::GetOrderRequest { name: name.into() };
    let order = OrderServiceClient::new(channel.clone())
        .get_order(request)
        .await?;
    Ok(order.into_inner().name)
}

/// One HTTP/1.1 request on a fresh connection; returns the status code and body.
async fn http1(addr: SocketAddr, method: &str, path: &str, content_type: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: {content_type}\r\n\
         content-length: 2\r\nconnection: close\r\n\r\n{{}}"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

async fn check(channel: &Channel, service: &str) -> Result<ServingStatus, Status> {
    let request = HealthCheckRequest {
        service: service.into(),
    };
    let response = HealthClient::new(channel.clone()).check(request).await?;
    Ok(response.into_inner().status())
}

#[tokio::test]
async fn two_ports_serve_grpc_on_one_and_http_on_the_other() {
    let f = fixture();
    let running = Running::start(two_ports(&f.shop)).await;
    let http = running.http.expect("an HTTP port");
    assert_ne!(running.grpc, http);

    let grpc = channel(running.grpc).await;
    assert_eq!(get_order(&grpc, "orders/7").await.unwrap(), "orders/7");
    assert_eq!(
        http1(http, "GET", "/hello", "text/plain").await,
        (200, "hello".into())
    );

    // Each port serves only its own kind: gRPC on the HTTP port meets axum's 404.
    let err = get_order(&channel(http).await, "orders/7")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);

    running.stop(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn two_ports_without_http_routes_open_no_http_port() {
    let f = fixture();
    let builder = Server::builder()
        .grpc(OrderServiceServer::new(f.shop.clone()))
        .grpc_addr(([127, 0, 0, 1], 0))
        .http_addr(([127, 0, 0, 1], 0));
    let running = Running::start(builder).await;
    assert_eq!(running.http, None);
    running.stop(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn one_port_dispatches_on_grpc_content_type() {
    let f = fixture();
    // An HTTP route on the very path of the gRPC method: only the content type tells them apart.
    let routes = hello_routes().route(
        "/acme.shop.v1.OrderService/GetOrder",
        axum::routing::post(|| async { "http" }),
    );
    let builder = Server::builder()
        .grpc(OrderServiceServer::new(f.shop.clone()))
        .http(routes)
        .single_port(([127, 0, 0, 1], 0));
    let running = Running::start(builder).await;
    assert_eq!(running.http, Some(running.grpc));
    let addr = running.grpc;

    let grpc = channel(addr).await;
    assert_eq!(get_order(&grpc, "orders/7").await.unwrap(), "orders/7");
    assert_eq!(
        http1(addr, "GET", "/hello", "text/plain").await,
        (200, "hello".into())
    );
    let path = "/acme.shop.v1.OrderService/GetOrder";
    assert_eq!(
        http1(addr, "POST", path, "application/json").await,
        (200, "http".into())
    );
    assert_eq!(http1(addr, "GET", "/nowhere", "text/plain").await.0, 404);
    // Health is there on the one port too.
    assert_eq!(check(&grpc, "").await.unwrap(), ServingStatus::Serving);

    running.stop(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn handlers_see_the_peer_address() {
    use axum::extract::ConnectInfo;
    let f = fixture();
    let routes = axum::Router::new().route(
        "/peer",
        axum::routing::get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
            peer.ip().to_string()
        }),
    );
    let builder = Server::builder()
        .grpc(OrderServiceServer::new(f.shop.clone()))
        .http(routes)
        .single_port(([127, 0, 0, 1], 0));
    let running = Running::start(builder).await;

    let mut client = OrderServiceClient::new(channel(running.grpc).await);
    let order = client
        .get_order(shop::GetOrderRequest::default())
        .await
        .unwrap();
    assert_eq!(order.into_inner().customer, "127.0.0.1");
    let peer = http1(running.grpc, "GET", "/peer", "text/plain").await;
    assert_eq!(peer, (200, "127.0.0.1".into()));

    running.stop(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn health_reports_each_service_serving_and_unknown_ones_not_found() {
    let f = fixture();
    let running = Running::start(two_ports(&f.shop)).await;
    let grpc = channel(running.grpc).await;

    assert_eq!(check(&grpc, "").await.unwrap(), ServingStatus::Serving);
    assert_eq!(
        check(&grpc, ORDER_SERVICE).await.unwrap(),
        ServingStatus::Serving
    );
    let err = check(&grpc, "acme.shop.v1.Nope").await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    running.stop(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn health_watchers_see_not_serving_when_shutdown_begins_and_do_not_hold_the_drain() {
    let f = fixture();
    // A long drain deadline: serving must end well before it, because the watch streams end.
    let builder = two_ports(&f.shop).shutdown_timeout(Duration::from_secs(120));
    let mut running = Running::start(builder).await;
    let grpc = channel(running.grpc).await;

    let mut watches = Vec::new();
    for service in ["", ORDER_SERVICE] {
        let request = HealthCheckRequest {
            service: service.into(),
        };
        let mut stream = HealthClient::new(grpc.clone())
            .watch(request)
            .await
            .unwrap()
            .into_inner();
        let first = stream.message().await.unwrap().unwrap();
        assert_eq!(first.status(), ServingStatus::Serving, "{service:?}");
        watches.push(stream);
    }

    running.begin_shutdown();
    for stream in &mut watches {
        let next = stream.message().await.unwrap().unwrap();
        assert_eq!(next.status(), ServingStatus::NotServing);
        assert!(stream.message().await.unwrap().is_none(), "stream ends");
    }
    running.stop(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn health_is_not_serving_for_new_connections_during_the_shutdown_delay() {
    let f = fixture();
    let builder = two_ports(&f.shop).shutdown_delay(Duration::from_secs(3));
    let mut running = Running::start(builder).await;
    let grpc = channel(running.grpc).await;
    assert_eq!(
        check(&grpc, ORDER_SERVICE).await.unwrap(),
        ServingStatus::Serving
    );

    running.begin_shutdown();
    // Health turns right after the shutdown future completes, then the delay starts.
    tokio::time::timeout(Duration::from_secs(2), async {
        while check(&grpc, "").await.unwrap() != ServingStatus::NotServing {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("NOT_SERVING soon after shutdown begins");

    // Still accepting: a new connection learns that this server is going away.
    let fresh = channel(running.grpc).await;
    assert_eq!(check(&fresh, "").await.unwrap(), ServingStatus::NotServing);
    assert_eq!(
        check(&fresh, ORDER_SERVICE).await.unwrap(),
        ServingStatus::NotServing
    );
    // Calls are still served during the delay.
    assert_eq!(get_order(&fresh, "orders/1").await.unwrap(), "orders/1");

    running.stop(Duration::from_secs(10)).await;
}

/// A probe: status code and JSON body of `GET path` over HTTP/1.1.
async fn probe(addr: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    let (status, body) = http1(addr, "GET", path, "text/plain").await;
    (status, serde_json::from_str(&body).expect("a JSON body"))
}

#[tokio::test]
async fn http_probes_mirror_the_health_service_and_fail_readiness_from_the_start_of_shutdown() {
    let f = fixture();
    let builder = two_ports(&f.shop).shutdown_delay(Duration::from_secs(3));
    let listening = builder.build().unwrap();
    let health = listening.health_reporter();
    let mut running = Running::start_server(listening).await;
    let http = running.http.unwrap();

    let ready = serde_json::json!({
        "status": "SERVING",
        "services": { ORDER_SERVICE: "SERVING" },
    });
    assert_eq!(
        probe(http, "/healthz").await,
        (200, serde_json::json!({"status": "SERVING"}))
    );
    assert_eq!(probe(http, "/readyz").await, (200, ready.clone()));
    // On the gRPC port too, for probes that only know that one.
    assert_eq!(probe(running.grpc, "/readyz").await, (200, ready.clone()));

    // A service reported NOT_SERVING makes the server not ready; alive all the same.
    health
        .set_service_status(ORDER_SERVICE, rs_svc::serve::ServingStatus::NotServing)
        .await;
    let (status, body) = probe(http, "/readyz").await;
    assert_eq!(
        (status, &body["services"][ORDER_SERVICE]),
        (503, &"NOT_SERVING".into())
    );
    assert_eq!(probe(http, "/healthz").await.0, 200);
    health
        .set_service_status(ORDER_SERVICE, rs_svc::serve::ServingStatus::Serving)
        .await;
    assert_eq!(probe(http, "/readyz").await, (200, ready));

    // Shutdown begins: not ready at once, during the delay in which calls are still served.
    running.begin_shutdown();
    tokio::time::timeout(Duration::from_secs(2), async {
        while probe(http, "/readyz").await.0 != 503 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("not ready soon after shutdown begins");
    assert_eq!(probe(http, "/readyz").await.1["status"], "NOT_SERVING");
    assert_eq!(probe(http, "/healthz").await.0, 200);
    running.stop(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn http_probes_can_be_turned_off_and_then_reach_the_routes() {
    let f = fixture();
    let running = Running::start(two_ports(&f.shop).health_endpoints(false)).await;
    let (status, _) = http1(running.http.unwrap(), "GET", "/healthz", "text/plain").await;
    assert_eq!(status, 404);
    running.stop(Duration::from_secs(10)).await;
}

/// `list_services` and `file_containing_symbol` over reflection v1.
mod reflection_v1 {
    pub use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient as Client;
    pub use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    pub use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    pub use tonic_reflection::pb::v1::ServerReflectionRequest as Req;
}

async fn reflect_v1(
    channel: &Channel,
    request: reflection_v1::MessageRequest,
) -> Result<reflection_v1::MessageResponse, Status> {
    let request = reflection_v1::Req {
        host: String::new(),
        message_request: Some(request),
    };
    let mut stream = reflection_v1::Client::new(channel.clone())
        .server_reflection_info(tokio_stream::once(request))
        .await?
        .into_inner();
    let response = stream.message().await?.expect("one response");
    Ok(response.message_response.expect("a message response"))
}

#[tokio::test]
async fn reflection_lists_the_registered_services_health_and_itself() {
    use reflection_v1::{MessageRequest, MessageResponse};
    let f = fixture();
    let running = Running::start(two_ports(&f.shop)).await;
    let grpc = channel(running.grpc).await;

    let MessageResponse::ListServicesResponse(list) =
        reflect_v1(&grpc, MessageRequest::ListServices(String::new()))
            .await
            .unwrap()
    else {
        panic!("not a list of services");
    };
    let mut names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    // library.v1.LibraryService is in the descriptor set but not served: not listed.
    assert_eq!(
        names,
        [
            ORDER_SERVICE,
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ]
    );

    running.stop(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn reflection_finds_the_file_containing_a_symbol() {
    use prost::Message;
    use reflection_v1::{MessageRequest, MessageResponse};
    let f = fixture();
    let running = Running::start(two_ports(&f.shop)).await;
    let grpc = channel(running.grpc).await;

    for (symbol, file) in [
        (ORDER_SERVICE, "acme/shop/v1/shop.proto"),
        (
            "acme.shop.v1.OrderService.GetOrder",
            "acme/shop/v1/shop.proto",
        ),
        ("acme.shop.v1.Order", "acme/shop/v1/shop.proto"),
        ("grpc.health.v1.Health", "health.proto"),
    ] {
        let request = MessageRequest::FileContainingSymbol(symbol.into());
        let MessageResponse::FileDescriptorResponse(files) =
            reflect_v1(&grpc, request).await.unwrap()
        else {
            panic!("no file for {symbol}");
        };
        let first =
            prost_types::FileDescriptorProto::decode(&*files.file_descriptor_proto[0]).unwrap();
        assert_eq!(first.name(), file, "{symbol}");
    }

    let request = MessageRequest::FileContainingSymbol("acme.shop.v1.Nope".into());
    // tonic-reflection ends the stream with the status rather than sending an ErrorResponse.
    let err = reflect_v1(&grpc, request).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    running.stop(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn reflection_v1alpha_answers_for_older_clients_like_grpcurl_1_8() {
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    let f = fixture();
    let running = Running::start(two_ports(&f.shop)).await;
    let grpc = channel(running.grpc).await;

    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = ServerReflectionClient::new(grpc)
        .server_reflection_info(tokio_stream::once(request))
        .await
        .unwrap()
        .into_inner();
    let response = stream.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a list of services");
    };
    assert!(list.service.iter().any(|s| s.name == ORDER_SERVICE));

    running.stop(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn without_a_descriptor_set_there_is_no_reflection() {
    let f = fixture();
    let builder = Server::builder()
        .grpc(OrderServiceServer::new(f.shop.clone()))
        .grpc_addr(([127, 0, 0, 1], 0));
    let running = Running::start(builder).await;
    let grpc = channel(running.grpc).await;
    let request = reflection_v1::MessageRequest::ListServices(String::new());
    let err = reflect_v1(&grpc, request).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    running.stop(Duration::from_secs(10)).await;
}

fn is_refused<T>(connected: std::io::Result<T>) -> bool {
    matches!(connected, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused)
}

#[tokio::test]
async fn in_flight_call_finishes_after_shutdown_begins_and_new_connections_are_refused() {
    let mut f = fixture();
    let mut running = Running::start(two_ports(&f.shop)).await;
    let grpc = channel(running.grpc).await;

    let slow = tokio::spawn(async move { get_order(&grpc, "sleep/1500").await });
    assert_eq!(f.started.recv().await.unwrap(), "sleep/1500");
    running.begin_shutdown();

    // The listeners close as soon as shutdown begins (no shutdown delay here).
    let grpc_addr = running.grpc;
    // (A connection caught in the backlog while the port closes may be reset instead.)
    tokio::time::timeout(Duration::from_secs(5), async {
        while !is_refused(tokio::net::TcpStream::connect(grpc_addr).await) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the gRPC port refuses connections");
    let http_addr = running.http.unwrap();
    assert!(is_refused(tokio::net::TcpStream::connect(http_addr).await));

    assert!(!running.served.is_finished(), "still draining");
    assert_eq!(slow.await.unwrap().unwrap(), "sleep/1500");
    running.stop(Duration::from_secs(10)).await;
    assert_eq!(f.shop.dropped.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn call_outliving_the_shutdown_timeout_is_cut_and_serve_returns() {
    let mut f = fixture();
    let builder = two_ports(&f.shop).shutdown_timeout(Duration::from_millis(200));
    let mut running = Running::start(builder).await;
    let grpc = channel(running.grpc).await;

    let slow = tokio::spawn(async move { get_order(&grpc, "sleep/60000").await });
    assert_eq!(f.started.recv().await.unwrap(), "sleep/60000");
    running.begin_shutdown();

    running.stop(Duration::from_secs(10)).await;
    let err = tokio::time::timeout(Duration::from_secs(10), slow)
        .await
        .expect("the client sees the cut")
        .unwrap()
        .unwrap_err();
    assert_ne!(err.code(), Code::Ok);
    // The handler itself was cancelled, not left running for nobody.
    tokio::time::timeout(Duration::from_secs(5), async {
        while f.shop.dropped.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the cut handler is dropped");
}

#[tokio::test]
async fn two_services_with_one_name_are_an_error() {
    let f = fixture();
    let err = Server::builder()
        .grpc(OrderServiceServer::new(f.shop.clone()))
        .grpc(OrderServiceServer::new(f.shop.clone()))
        .build()
        .unwrap_err();
    assert!(
        matches!(err, Error::DuplicateService(ORDER_SERVICE)),
        "{err}"
    );
}

#[tokio::test]
async fn a_bad_descriptor_set_is_an_error() {
    let err = Server::builder()
        .file_descriptor_set(b"\x0a\x05oops")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::DescriptorSet(_)), "{err}");
}

#[tokio::test]
async fn binding_a_taken_port_is_an_error_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = Server::builder()
        .grpc_addr(addr)
        .build()
        .unwrap()
        .bind()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Bind { addr: a, .. } if a == addr),
        "{err}"
    );
    assert_eq!(err.to_string(), format!("cannot listen on {addr}"));
}

/// Set by [`sigterm_starts_a_graceful_shutdown`] for the copy of this test binary it starts.
const SIGTERM_CHILD: &str = "RS_SVC_SERVE_SIGTERM_CHILD";

/// The server side of [`sigterm_starts_a_graceful_shutdown`]: runs only in a child process, so
/// that the signal reaches no other test.
#[tokio::test]
#[ignore = "run in a child process by sigterm_starts_a_graceful_shutdown"]
async fn sigterm_child() {
    if std::env::var_os(SIGTERM_CHILD).is_none() {
        return;
    }
    let mut f = fixture();
    let listening = Server::builder()
        .grpc(OrderServiceServer::new(f.shop.clone()))
        .grpc_addr(([127, 0, 0, 1], 0))
        .build()
        .unwrap()
        .bind()
        .await
        .unwrap();
    println!("listening {}", listening.grpc_addr());
    tokio::spawn(async move {
        while let Some(name) = f.started.recv().await {
            println!("started {name}");
        }
    });
    listening.serve().await.unwrap();
    println!("served");
}

#[cfg(unix)]
#[test]
fn sigterm_starts_a_graceful_shutdown() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "sigterm_child", "--ignored", "--nocapture"])
        .env(SIGTERM_CHILD, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let _ = lines_tx.send(line.unwrap());
        }
    });
    let wait_for = |prefix: &str| loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("child never printed {prefix:?}"));
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest.to_owned();
        }
    };

    let addr: SocketAddr = wait_for("listening ").parse().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let grpc = runtime.block_on(channel(addr));
    // Answered: the accept loop runs, so the signal handlers (installed before it) are in place.
    assert_eq!(
        runtime.block_on(get_order(&grpc, "orders/1")).unwrap(),
        "orders/1"
    );
    let slow = runtime.spawn(async move { get_order(&grpc, "sleep/1000").await });
    wait_for("started orders/1");
    assert_eq!(wait_for("started "), "sleep/1000");

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());

    assert_eq!(runtime.block_on(slow).unwrap().unwrap(), "sleep/1000");
    wait_for("served");
    assert!(child.wait().unwrap().success());
}

#[tokio::test]
async fn a_call_past_its_grpc_timeout_is_answered_deadline_exceeded_and_dropped() {
    let f = fixture();
    let running = Running::start(two_ports(&f.shop)).await;
    // A bare HTTP/2 client: tonic's client would enforce the deadline itself, first.
    let tcp = tokio::net::TcpStream::connect(running.grpc).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let request = http::Request::post(format!(
        "http://{}/acme.shop.v1.OrderService/GetOrder",
        running.grpc
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .header("grpc-timeout", "200m")
    .body(())
    .unwrap();
    let (response, mut body) = client
        .ready()
        .await
        .unwrap()
        .send_request(request, false)
        .unwrap();
    let message = prost::Message::encode_to_vec(&shop::GetOrderRequest {
        name: "sleep/60000".into(),
    });
    let mut frame = vec![0];
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(&message);
    body.send_data(frame.into(), true).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), response)
        .await
        .expect("the server answers at the deadline")
        .unwrap();
    assert_eq!(response.headers()["grpc-status"], "4", "{response:?}");
    assert_eq!(
        f.shop.dropped.load(Ordering::SeqCst),
        1,
        "the handler was dropped"
    );
    running.stop(Duration::from_secs(5)).await;
}
