//! Per-call options (`rs_svc::api::CallOptions`) and the dial options over both generated clients
//! against the same server on 127.0.0.1 (docs/reference.md section 1.2): each rule gives the same
//! outcome through the dialed gRPC client and the HTTP client. Deadlines, retries of idempotent
//! methods (and none of others), the circuit breaker's fallback, metadata, and a chain of two
//! servers where the inner call inherits the outer call's deadline and trace.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rs_svc::api::{CallOptions, Remote, Retry};
use rs_svc::dial::{Backoff, Options};
use rs_svc::serve::{Builder, Next, Server};
use rs_svc_compile_test::alt::acme::shop::v1 as shop;
use shop::order_service_client::{self, OrderServiceClient};
use shop::order_service_http_client::OrderServiceHttpClient;
use shop::order_service_server::{OrderService, OrderServiceServer};
use tonic::{Code, Request, Response, Status};

/// A backend that counts calls, fails the first `fail_first` with UNAVAILABLE, can take its time,
/// and answers what it received: `customer` is the `x-tenant` metadata.
#[derive(Default)]
struct Backend {
    calls: AtomicU32,
    fail_first: u32,
    delay: Duration,
}

impl Backend {
    fn failing(fail_first: u32) -> Arc<Backend> {
        Arc::new(Backend {
            fail_first,
            ..Default::default()
        })
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    async fn answer<T>(&self, request: &Request<T>) -> Result<Response<shop::Order>, Status> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n <= self.fail_first {
            return Err(Status::unavailable(format!("failing call {n}")));
        }
        tokio::time::sleep(self.delay).await;
        let tenant = request
            .metadata()
            .get("x-tenant")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        Ok(Response::new(shop::Order {
            name: format!("orders/{n}"),
            customer: tenant.to_owned(),
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
        self.answer(&request).await
    }

    async fn create_order(
        &self,
        request: Request<shop::CreateOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        self.answer(&request).await
    }

    async fn cancel_order(
        &self,
        request: Request<shop::CancelOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        self.answer(&request).await
    }
}

/// What the outermost layer of a server saw of each call: its `grpc-timeout` (HTTP's
/// `Grpc-Timeout` is the same header) and `traceparent`.
#[derive(Default)]
struct Seen(Mutex<Vec<(Option<Duration>, Option<String>)>>);

impl Seen {
    fn last(&self) -> (Option<Duration>, Option<String>) {
        self.0.lock().unwrap().last().cloned().expect("a call")
    }
}

fn recording(builder: Builder, seen: Arc<Seen>) -> Builder {
    builder.layer(tower::layer::layer_fn(move |next: Next| {
        let seen = seen.clone();
        tower::service_fn(
            move |request: http::Request<rs_svc::http::axum::body::Body>| {
                let header = |name| {
                    request
                        .headers()
                        .get(name)
                        .and_then(|v: &http::HeaderValue| v.to_str().ok())
                        .map(str::to_owned)
                };
                let timeout = header("grpc-timeout").map(|t| parse_grpc_timeout(&t));
                seen.0
                    .lock()
                    .unwrap()
                    .push((timeout, header("traceparent")));
                tower::ServiceExt::oneshot(next.clone(), request)
            },
        )
    }))
}

fn parse_grpc_timeout(value: &str) -> Duration {
    let (digits, unit) = value.split_at(value.len() - 1);
    let n: u64 = digits.parse().unwrap();
    match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        _ => Duration::from_nanos(n),
    }
}

/// Serves `service` over gRPC and HTTP/JSON with the runtime's server.
async fn serve<S: OrderService>(service: Arc<S>, seen: Arc<Seen>) -> common::Served {
    let builder = Server::builder()
        .grpc(OrderServiceServer::from_arc(service.clone()))
        .http(shop::order_service_http::router(service));
    common::serve(recording(with_tracing(builder), seen)).await
}

/// The two clients under test.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Via {
    Grpc,
    Http,
}

const BOTH: [Via; 2] = [Via::Grpc, Via::Http];

/// A generated client of `served` through `via`, dialed with `options`.
#[derive(Clone)]
enum Client {
    Grpc(Remote<OrderServiceClient<rs_svc::dial::Channel>>),
    Http(OrderServiceHttpClient),
}

impl Client {
    async fn new(via: Via, served: &common::Served, options: Options) -> Client {
        match via {
            Via::Grpc => {
                let options = options.target(format!("http://{}", served.grpc));
                Client::Grpc(Remote::new(
                    order_service_client::dial_with(options).await.unwrap(),
                ))
            }
            Via::Http => {
                let options = options.target(format!("http://{}", served.http));
                Client::Http(OrderServiceHttpClient::dial_with(options).unwrap())
            }
        }
    }

    async fn get(&self, request: Request<shop::GetOrderRequest>) -> Result<shop::Order, Status> {
        match self {
            Client::Grpc(c) => c.get_order(request).await,
            Client::Http(c) => c.get_order(request).await,
        }
        .map(Response::into_inner)
    }

    async fn create(
        &self,
        request: Request<shop::CreateOrderRequest>,
    ) -> Result<shop::Order, Status> {
        match self {
            Client::Grpc(c) => c.create_order(request).await,
            Client::Http(c) => c.create_order(request).await,
        }
        .map(Response::into_inner)
    }
}

fn quick(max_attempts: u32) -> Backoff {
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

#[tokio::test]
async fn a_passed_deadline_is_deadline_exceeded_on_both_clients() {
    let backend = Arc::new(Backend {
        delay: Duration::from_secs(3),
        ..Default::default()
    });
    let served = serve(backend.clone(), Arc::default()).await;
    for via in BOTH {
        // The call's own deadline, and the channel's default one.
        let client = Client::new(via, &served, Options::new()).await;
        let request = CallOptions::new()
            .timeout(Duration::from_millis(200))
            .request(get());
        let err = client.get(request).await.unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded, "{via:?}: {err:?}");

        let options = Options::new().timeout(Duration::from_millis(200));
        let client = Client::new(via, &served, options).await;
        let err = client.get(Request::new(get())).await.unwrap_err();
        assert_eq!(
            err.code(),
            Code::DeadlineExceeded,
            "{via:?} default: {err:?}"
        );

        // `set_timeout` is the same vocabulary; the shorter of it and the options' wins.
        let mut request = Request::new(get());
        request.set_timeout(Duration::from_millis(200));
        CallOptions::new()
            .timeout(Duration::from_secs(60))
            .apply(&mut request);
        let client = Client::new(via, &served, Options::new()).await;
        let started = std::time::Instant::now();
        let err = client.get(request).await.unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded, "{via:?} set_timeout");
        assert!(started.elapsed() < Duration::from_secs(2), "{via:?}");
    }
}

#[tokio::test]
async fn an_idempotent_method_is_retried_after_unavailable_on_both_clients() {
    for via in BOTH {
        // GetOrder: NO_SIDE_EFFECTS, and a GET rule. Fails twice, then answers.
        let backend = Backend::failing(2);
        let served = serve(backend.clone(), Arc::default()).await;
        let client = Client::new(via, &served, Options::new().backoff(quick(4))).await;
        let order = client.get(Request::new(get())).await.unwrap();
        assert_eq!(order.name, "orders/3", "{via:?}");
        assert_eq!(
            backend.calls(),
            3,
            "{via:?}: three attempts reached the server"
        );

        // The call's own policy: never, or fewer attempts than the channel's.
        let backend = Backend::failing(2);
        let served = serve(backend.clone(), Arc::default()).await;
        let client = Client::new(via, &served, Options::new().backoff(quick(4))).await;
        let err = client
            .get(CallOptions::new().retry(Retry::Never).request(get()))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{via:?}");
        assert_eq!(backend.calls(), 1, "{via:?}: Retry::Never");
        let err = client
            .get(
                CallOptions::new()
                    .retry(Retry::Backoff(quick(1)))
                    .request(get()),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{via:?}");
        assert_eq!(
            backend.calls(),
            2,
            "{via:?}: Retry::Backoff with one attempt"
        );
    }
}

#[tokio::test]
async fn a_method_that_is_not_idempotent_is_not_retried_unless_the_call_vouches_for_it() {
    for via in BOTH {
        // CreateOrder: POST, no idempotency level.
        let backend = Backend::failing(1);
        let served = serve(backend.clone(), Arc::default()).await;
        let client = Client::new(via, &served, Options::new().backoff(quick(4))).await;
        let err = client
            .create(Request::new(shop::CreateOrderRequest::default()))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{via:?}");
        assert_eq!(backend.calls(), 1, "{via:?}: sent once");

        let backend = Backend::failing(1);
        let served = serve(backend.clone(), Arc::default()).await;
        let client = Client::new(via, &served, Options::new().backoff(quick(4))).await;
        let request = CallOptions::new()
            .idempotent()
            .request(shop::CreateOrderRequest::default());
        client.create(request).await.unwrap();
        assert_eq!(backend.calls(), 2, "{via:?}: the call vouched for it");
    }
}

#[tokio::test]
async fn an_open_circuit_serves_the_fallback_on_both_clients() {
    let cached = shop::Order {
        name: "orders/cached".into(),
        ..Default::default()
    };
    for via in BOTH {
        let backend = Backend::failing(u32::MAX);
        let served = serve(backend.clone(), Arc::default()).await;
        let options = Options::new()
            .backoff(quick(1))
            .circuit_breaker(2, Duration::from_secs(3600))
            .fallback("GetOrder", cached.clone());
        let client = Client::new(via, &served, options).await;
        for _ in 0..2 {
            let err = client.get(Request::new(get())).await.unwrap_err();
            assert_eq!(err.code(), Code::Unavailable, "{via:?}");
        }
        assert_eq!(
            client.get(Request::new(get())).await.unwrap(),
            cached,
            "{via:?}"
        );
        // A call may refuse the fallback, and a method without one fails fast.
        let err = client
            .get(CallOptions::new().no_fallback().request(get()))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{via:?}");
        assert!(err.message().contains("circuit open"), "{via:?}: {err:?}");
        let err = client
            .create(Request::new(shop::CreateOrderRequest::default()))
            .await
            .unwrap_err();
        assert!(err.message().contains("circuit open"), "{via:?}: {err:?}");
        assert_eq!(
            backend.calls(),
            2,
            "{via:?}: nothing reached the server while open"
        );
    }
}

#[tokio::test]
async fn the_options_metadata_arrives_on_the_server_from_both_clients() {
    let backend = Arc::new(Backend::default());
    let served = serve(backend, Arc::default()).await;
    for via in BOTH {
        let client = Client::new(via, &served, Options::new()).await;
        let request = CallOptions::new()
            .metadata("x-tenant", "acme".parse().unwrap())
            .request(get());
        assert_eq!(
            client.get(request).await.unwrap().customer,
            "acme",
            "{via:?}"
        );
    }
}

/// Server A: each call is answered by calling B through `client`, with no deadline of its own.
struct Front {
    client: Client,
    /// Whether a task the handler spawned through `rs_svc::api::scope` saw the served call.
    spawned_saw_the_call: Mutex<Option<bool>>,
}

#[tonic::async_trait]
impl OrderService for Front {
    async fn get_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let order = self.client.get(Request::new(request.into_inner())).await?;
        // A task the handler spawns inherits only through `rs_svc::api::scope`.
        let spawned = tokio::spawn(rs_svc::api::scope(async {
            rs_svc::api::current_call().and_then(|call| call.deadline())
        }))
        .await
        .unwrap();
        *self.spawned_saw_the_call.lock().unwrap() = Some(spawned.is_some());
        Ok(Response::new(order))
    }
}

/// A trace id the test's callers send, and the `traceparent` carrying it.
fn caller_trace(seed: u8) -> (String, String) {
    let trace = format!(
        "{:032x}",
        0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4700_u128 + u128::from(seed)
    );
    let traceparent = format!("00-{trace}-00f067aa0ba902b7-01");
    (trace, traceparent)
}

fn trace_id(traceparent: &str) -> &str {
    traceparent.split('-').nth(1).unwrap()
}

#[tokio::test]
async fn a_call_made_while_serving_gets_at_most_the_callers_remaining_deadline_and_its_trace() {
    let backend = Arc::new(Backend::default());
    let b_seen = Arc::new(Seen::default());
    let b = serve(backend, b_seen.clone()).await;
    for (seed, via) in BOTH.into_iter().enumerate() {
        // The inner client's own default deadline (30 s) is longer than A's remaining one.
        let front = Arc::new(Front {
            client: Client::new(via, &b, Options::new()).await,
            spawned_saw_the_call: Mutex::default(),
        });
        let a_seen = Arc::new(Seen::default());
        let a = serve(front.clone(), a_seen.clone()).await;
        let mut caller = OrderServiceClient::connect(format!("http://{}", a.grpc))
            .await
            .unwrap();
        let (trace, traceparent) = caller_trace(seed as u8);
        let mut request = Request::new(get());
        request.set_timeout(Duration::from_secs(5));
        request
            .metadata_mut()
            .insert("traceparent", traceparent.parse().unwrap());
        caller.get_order(request).await.unwrap();

        let (a_timeout, _) = a_seen.last();
        let (b_timeout, b_traceparent) = b_seen.last();
        let (a_timeout, b_timeout) = (a_timeout.unwrap(), b_timeout.unwrap());
        assert!(
            b_timeout < a_timeout,
            "{via:?}: B got {b_timeout:?}, A had {a_timeout:?}"
        );
        let b_traceparent = b_traceparent.unwrap_or_else(|| panic!("{via:?}: no traceparent"));
        assert_eq!(
            trace_id(&b_traceparent),
            trace,
            "{via:?}: B continues A's trace"
        );
        assert_eq!(
            *front.spawned_saw_the_call.lock().unwrap(),
            Some(true),
            "{via:?}: a task spawned through rs_svc::api::scope sees the served call"
        );
    }
}

/// The servers' trace spans, through a global subscriber with OpenTelemetry (the spans are
/// dropped; only the context they carry matters here).
fn with_tracing(builder: Builder) -> Builder {
    static INSTALLED: OnceLock<opentelemetry_sdk::trace::SdkTracerProvider> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        use opentelemetry::trace::TracerProvider as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .unwrap();
        provider
    });
    builder.layer(rs_svc::telemetry::TraceLayer::new())
}
