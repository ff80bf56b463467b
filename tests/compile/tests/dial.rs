//! The generated dial helpers against generated servers on 127.0.0.1: target selection,
//! balancing over resolved addresses with re-resolution, retries, deadlines, the circuit
//! breaker with its fallback, and keepalive.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rs_svc::dial::{Backoff, Options};
use rs_svc_compile_test::alt::acme::shop::v1 as shop;
use rs_svc_compile_test::alt::ops::v1::ops_service_client;
use shop::order_service_client::{self, OrderServiceClient};
use shop::order_service_server::{OrderService, OrderServiceServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Code, Request, Response, Status};

/// A server that names itself in responses, counts calls, and fails the first `fail_first`
/// calls with UNAVAILABLE.
struct Backend {
    id: String,
    calls: AtomicU32,
    fail_first: u32,
}

impl Backend {
    fn answer(&self, request: &Request<impl Sized>) -> Result<Response<shop::Order>, Status> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n <= self.fail_first {
            return Err(Status::unavailable(format!("failing call {n}")));
        }
        // Echo the deadline the server received, so tests can see it was sent.
        let timeout = request
            .metadata()
            .get("grpc-timeout")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Ok(Response::new(shop::Order {
            name: self.id.clone(),
            customer: timeout,
            ..Default::default()
        }))
    }
}

#[tonic::async_trait]
impl OrderService for Backend {
    async fn get_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        self.answer(&request)
    }

    async fn create_order(
        &self,
        request: Request<shop::CreateOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        self.answer(&request)
    }

    async fn list_orders(
        &self,
        _: Request<shop::ListOrdersRequest>,
    ) -> Result<Response<shop::ListOrdersResponse>, Status> {
        tokio::time::sleep(Duration::from_secs(3)).await;
        Ok(Response::new(shop::ListOrdersResponse::default()))
    }
}

async fn start(id: &str, fail_first: u32) -> (SocketAddr, Arc<Backend>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let backend = Arc::new(Backend {
        id: id.to_owned(),
        calls: AtomicU32::new(0),
        fail_first,
    });
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(OrderServiceServer::from_arc(backend.clone()))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    (addr, backend)
}

fn quick_backoff(max_attempts: u32) -> Backoff {
    Backoff {
        max_attempts,
        initial: Duration::from_millis(1),
        max: Duration::from_millis(5),
        multiplier: 2.0,
    }
}

fn get() -> shop::GetOrderRequest {
    shop::GetOrderRequest {
        name: "orders/1".into(),
    }
}

async fn dial(options: Options) -> OrderServiceClient<rs_svc::dial::Channel> {
    order_service_client::dial_with(options).await.unwrap()
}

#[tokio::test]
async fn dial_reaches_the_server_named_by_the_service_env_var() {
    let (addr, backend) = start("env", 0).await;
    // The only test that sets ORDER_SERVICE_ADDR; the others name their target explicitly.
    std::env::set_var("ORDER_SERVICE_ADDR", format!("http://{addr}"));
    let mut client = order_service_client::dial().await.unwrap();
    let order = client.get_order(get()).await.unwrap().into_inner();
    assert_eq!(order.name, "env");
    assert_eq!(backend.calls.load(Ordering::SeqCst), 1);
    assert_eq!(order_service_client::DEFAULT_HOST, "shop.acme.example:8443");
    assert_eq!(order_service_client::OAUTH_SCOPES.len(), 2);
}

#[tokio::test]
async fn service_without_default_host_or_env_var_is_a_dial_error_naming_the_variable() {
    let err = ops_service_client::dial_with(Options::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("OPS_SERVICE_ADDR"), "{err}");
    assert!(err.contains("ops.v1.OpsService"), "{err}");
}

#[tokio::test]
async fn options_naming_unknown_or_streaming_methods_are_dial_errors() {
    let err =
        order_service_client::dial_with(Options::new().target("127.0.0.1:1").retry_method("Nope"))
            .await
            .unwrap_err()
            .to_string();
    assert!(err.contains("has no such method"), "{err}");
    let err =
        order_service_client::dial_with(Options::new().target("127.0.0.1:1").retry_method("Chat"))
            .await
            .unwrap_err()
            .to_string();
    assert!(err.contains("cannot be retried"), "{err}");
}

#[tokio::test]
async fn idempotent_method_is_retried_until_the_server_answers() {
    let (addr, backend) = start("a", 2).await;
    let mut client = dial(
        Options::new()
            .target(format!("http://{addr}"))
            .backoff(quick_backoff(4)),
    )
    .await;
    let order = client.get_order(get()).await.unwrap().into_inner();
    assert_eq!(order.name, "a");
    assert_eq!(backend.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retries_stop_after_max_attempts_with_the_last_status() {
    let (addr, backend) = start("a", 100).await;
    let mut client = dial(
        Options::new()
            .target(format!("http://{addr}"))
            .backoff(quick_backoff(3)),
    )
    .await;
    let err = client.get_order(get()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(err.message(), "failing call 3");
    assert_eq!(backend.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn non_idempotent_method_is_retried_only_when_opted_in() {
    let (addr, backend) = start("a", 1).await;
    let target = format!("http://{addr}");
    let mut client = dial(Options::new().target(&target).backoff(quick_backoff(4))).await;
    let err = client
        .create_order(shop::CreateOrderRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(backend.calls.load(Ordering::SeqCst), 1);

    let (addr, backend) = start("b", 1).await;
    let mut client = dial(
        Options::new()
            .target(format!("http://{addr}"))
            .backoff(quick_backoff(4))
            .retry_method("CreateOrder"),
    )
    .await;
    let order = client
        .create_order(shop::CreateOrderRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(order.name, "b");
    assert_eq!(backend.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn calls_are_balanced_over_every_address_the_host_resolves_to() {
    let mut backends = Vec::new();
    let mut addrs = Vec::new();
    for id in ["a", "b", "c"] {
        let (addr, backend) = start(id, 0).await;
        addrs.push(addr);
        backends.push(backend);
    }
    let resolved = addrs.clone();
    let mut client = dial(
        Options::new()
            .target("shop.test:9090")
            .resolver(move |host, port| {
                assert_eq!((host.as_str(), port), ("shop.test", 9090));
                let addrs = resolved.clone();
                async move { Ok(addrs) }
            }),
    )
    .await;
    for _ in 0..60 {
        client.get_order(get()).await.unwrap();
    }
    let counts: Vec<u32> = backends
        .iter()
        .map(|b| b.calls.load(Ordering::SeqCst))
        .collect();
    assert_eq!(counts.iter().sum::<u32>(), 60);
    assert!(
        counts.iter().all(|&n| n > 0),
        "every backend gets calls: {counts:?}"
    );
}

#[tokio::test]
async fn re_resolution_moves_calls_to_the_new_addresses() {
    let (old, old_backend) = start("old", 0).await;
    let (new, _) = start("new", 0).await;
    let answer = Arc::new(Mutex::new(vec![old]));
    let resolved = answer.clone();
    let mut client = dial(
        Options::new()
            .target("shop.test")
            .resolve_interval(Duration::from_millis(50))
            .resolver(move |_, _| {
                let addrs = resolved.lock().unwrap().clone();
                async move { Ok(addrs) }
            }),
    )
    .await;
    assert_eq!(
        client.get_order(get()).await.unwrap().into_inner().name,
        "old"
    );

    *answer.lock().unwrap() = vec![new];
    let mut moved = false;
    for _ in 0..100 {
        if client.get_order(get()).await.unwrap().into_inner().name == "new" {
            moved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(moved, "calls reach the newly resolved address");
    let before = old_backend.calls.load(Ordering::SeqCst);
    for _ in 0..20 {
        assert_eq!(
            client.get_order(get()).await.unwrap().into_inner().name,
            "new"
        );
    }
    assert_eq!(
        old_backend.calls.load(Ordering::SeqCst),
        before,
        "the old address left the balancer"
    );
}

#[tokio::test]
async fn default_deadline_is_sent_to_the_server_and_enforced() {
    let (addr, _) = start("a", 0).await;
    let mut client = dial(
        Options::new()
            .target(format!("http://{addr}"))
            .timeout(Duration::from_millis(300)),
    )
    .await;
    let order = client.get_order(get()).await.unwrap().into_inner();
    let sent = order.customer;
    let micros: u64 = sent
        .strip_suffix('u')
        .expect("microseconds")
        .parse()
        .unwrap();
    assert!(micros > 0 && micros <= 300_000, "grpc-timeout {sent}");

    // The caller's own deadline wins over the default.
    let mut request = Request::new(get());
    request.set_timeout(Duration::from_secs(7));
    let order = client.get_order(request).await.unwrap().into_inner();
    assert!(
        order.customer.starts_with("6") || order.customer.starts_with("7"),
        "{}",
        order.customer
    );

    let err = client
        .list_orders(shop::ListOrdersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
}

#[tokio::test]
async fn open_circuit_answers_the_fallback_without_calling_the_server() {
    let (addr, backend) = start("a", u32::MAX).await;
    let cached = shop::Order {
        name: "orders/cached".into(),
        ..Default::default()
    };
    let mut client = dial(
        Options::new()
            .target(format!("http://{addr}"))
            .backoff(quick_backoff(1))
            .circuit_breaker(2, Duration::from_secs(3600))
            .fallback("GetOrder", cached.clone()),
    )
    .await;
    for _ in 0..2 {
        let err = client.get_order(get()).await.unwrap_err();
        assert_eq!(err.code(), Code::Unavailable);
    }
    assert_eq!(client.get_order(get()).await.unwrap().into_inner(), cached);
    // A method without a fallback fails fast.
    let err = client
        .create_order(shop::CreateOrderRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(err.message().contains("circuit open"), "{}", err.message());
    assert_eq!(
        backend.calls.load(Ordering::SeqCst),
        2,
        "nothing reached the server while open"
    );
}

#[tokio::test]
async fn half_open_circuit_closes_after_a_good_probe() {
    let (addr, backend) = start("a", 2).await;
    let mut client = dial(
        Options::new()
            .target(format!("http://{addr}"))
            .backoff(quick_backoff(1))
            .circuit_breaker(2, Duration::from_millis(200)),
    )
    .await;
    for _ in 0..2 {
        client.get_order(get()).await.unwrap_err();
    }
    let err = client.get_order(get()).await.unwrap_err();
    assert!(err.message().contains("circuit open"), "{}", err.message());
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        client.get_order(get()).await.unwrap().into_inner().name,
        "a"
    );
    client.get_order(get()).await.unwrap();
    assert_eq!(backend.calls.load(Ordering::SeqCst), 4);
}

/// Forwards TCP to `to` until `frozen` is set; then it swallows bytes in both directions, as
/// a dead peer behind a stateful middlebox would.
async fn proxy(to: SocketAddr, frozen: Arc<AtomicBool>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = TcpStream::connect(to).await.unwrap();
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            tokio::spawn(pump(cr, sw, frozen.clone()));
            tokio::spawn(pump(sr, cw, frozen.clone()));
        }
    });
    addr
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    let mut buf = vec![0; 16 * 1024];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            return;
        }
        if !frozen.load(Ordering::SeqCst) && to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn keepalive_detects_a_dead_connection_before_the_deadline() {
    let (addr, _) = start("a", 0).await;
    let frozen = Arc::new(AtomicBool::new(false));
    let via = proxy(addr, frozen.clone()).await;
    let mut client = dial(
        Options::new()
            .target(format!("http://{via}"))
            .keepalive(Duration::from_millis(100), Duration::from_millis(100))
            .timeout(Duration::from_secs(20)),
    )
    .await;
    client
        .create_order(shop::CreateOrderRequest::default())
        .await
        .unwrap();
    frozen.store(true, Ordering::SeqCst);
    let err = client
        .create_order(shop::CreateOrderRequest::default())
        .await
        .unwrap_err();
    // Without keepalive the call would wait out its 20 s deadline.
    assert_ne!(err.code(), Code::DeadlineExceeded, "{err:?}");
}

#[tokio::test]
async fn a_dead_address_among_the_resolved_ones_does_not_fail_calls() {
    let (live, backend) = start("live", 0).await;
    // A port nobody listens on: bind, note it, close.
    let dead = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let mut client = dial(
        Options::new()
            .target("shop.test")
            .resolver(move |_, _| async move { Ok(vec![live, dead]) }),
    )
    .await;
    let mut failures = 0;
    for _ in 0..40 {
        if client
            .create_order(shop::CreateOrderRequest::default())
            .await
            .is_err()
        {
            failures += 1;
        }
    }
    assert_eq!(failures, 0, "calls routed to the dead address failed");
    assert_eq!(backend.calls.load(Ordering::SeqCst), 40);
}

#[tokio::test]
async fn https_target_dials_tls_with_the_host_as_server_name() {
    let cert = rcgen::generate_simple_self_signed(vec!["shop.test".to_owned()]).unwrap();
    let identity =
        tonic::transport::Identity::from_pem(cert.cert.pem(), cert.signing_key.serialize_pem());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let backend = Arc::new(Backend {
        id: "tls".into(),
        calls: AtomicU32::new(0),
        fail_first: 0,
    });
    tokio::spawn(
        tonic::transport::Server::builder()
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .unwrap()
            .add_service(OrderServiceServer::from_arc(backend.clone()))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let trust = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(cert.cert.pem()));
    // The name resolves to 127.0.0.1; the certificate is checked against the name.
    let options = |target: String| {
        Options::new()
            .target(target)
            .tls(trust.clone())
            .resolver(move |_, _| async move { Ok(vec![addr]) })
            .backoff(quick_backoff(1))
    };
    let mut client = dial(options(format!("https://shop.test:{}", addr.port()))).await;
    assert_eq!(
        client.get_order(get()).await.unwrap().into_inner().name,
        "tls"
    );

    // The same server without TLS on the client side: no call gets through.
    let mut plain = dial(options(format!("http://shop.test:{}", addr.port()))).await;
    plain.get_order(get()).await.unwrap_err();
    assert_eq!(backend.calls.load(Ordering::SeqCst), 1);
}
