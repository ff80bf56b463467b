//! `rs_svc::telemetry::TraceLayer` on a real server on 127.0.0.1, read back through
//! tracing-opentelemetry and the OpenTelemetry SDK's in-memory exporter: a call carrying
//! `traceparent` continues its caller's trace over HTTP/JSON and over gRPC, the span follows the
//! semantic conventions, what the handler (and a stream's body) does is the call's child, and
//! the dial channel sends the trace on under a client span.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use common::Served;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::trace::{SpanId, SpanKind, Status as SpanStatus, TraceContextExt, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use rs_svc::dial::Options;
use rs_svc::serve::Server;
use rs_svc::telemetry::TraceLayer;
use rs_svc_compile_test::alt::acme::shop::v1 as shop;
use shop::order_service_client::{self, OrderServiceClient};
use shop::order_service_server::{OrderService, OrderServiceServer};
use tokio_stream::StreamExt;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

const GET_ORDER: &str = "acme.shop.v1.OrderService/GetOrder";

/// The spans every test's servers and clients end, kept in memory. Installed once for the test
/// binary as the global subscriber (the servers' tasks run on the runtime's threads).
fn exporter() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<(InMemorySpanExporter, SdkTracerProvider)> = OnceLock::new();
    &EXPORTER
        .get_or_init(|| {
            let exporter = InMemorySpanExporter::default();
            let provider = SdkTracerProvider::builder()
                .with_simple_exporter(exporter.clone())
                .build();
            let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
                .unwrap();
            (exporter, provider)
        })
        .0
}

/// The ended spans of one trace, once there are at least `count` (spans end when their call's
/// response is finished, which may be just after the client has it).
async fn spans_of(trace: TraceId, count: usize) -> Vec<SpanData> {
    for _ in 0..200 {
        let spans: Vec<SpanData> = exporter()
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .filter(|s| s.span_context.trace_id() == trace)
            .collect();
        if spans.len() >= count {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("fewer than {count} spans of trace {trace}")
}

fn attributes(span: &SpanData) -> HashMap<String, String> {
    span.attributes
        .iter()
        .map(|kv| (kv.key.to_string(), kv.value.as_str().into_owned()))
        .collect()
}

fn one<'a>(spans: &'a [SpanData], name: &str, kind: SpanKind) -> &'a SpanData {
    let found: Vec<_> = spans
        .iter()
        .filter(|s| s.name == name && s.span_kind == kind)
        .collect();
    assert_eq!(found.len(), 1, "{name} {kind:?} in {spans:#?}");
    found[0]
}

/// A `traceparent` of a sampled caller span, ids made from `seed` so that each test has its own.
fn traceparent(seed: u64) -> (String, TraceId, SpanId) {
    let trace = TraceId::from(u128::from(seed) << 64 | 0xabcd);
    let parent = SpanId::from(seed << 8 | 0x42);
    (format!("00-{trace}-{parent}-01"), trace, parent)
}

/// `GetOrder` answers with the trace id its handler runs in (in `customer`), after doing its
/// work in a span of its own; `orders/missing` is NOT_FOUND and `orders/broken` INTERNAL. With
/// `next`, it gets the order from that server through a dialed channel instead.
#[derive(Clone, Default)]
struct Shop {
    next: Option<SocketAddr>,
}

#[tonic::async_trait]
impl OrderService for Shop {
    async fn get_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let name = request.into_inner().name;
        let trace = tracing::Span::current()
            .context()
            .span()
            .span_context()
            .trace_id()
            .to_string();
        tracing::info_span!("lookup").in_scope(|| tracing::info!("looking up {name}"));
        match name.as_str() {
            "orders/missing" => return Err(Status::not_found("no such order")),
            "orders/broken" => return Err(Status::internal("the shelf fell")),
            _ => {}
        }
        if let Some(next) = self.next {
            let mut client =
                order_service_client::dial_with(Options::new().target(format!("http://{next}")))
                    .await
                    .map_err(|e| Status::unavailable(e.to_string()))?;
            return client.get_order(shop::GetOrderRequest { name }).await;
        }
        Ok(Response::new(shop::Order {
            name,
            customer: trace,
            ..Default::default()
        }))
    }

    async fn watch_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<BoxStream<shop::OrderEvent>>, Status> {
        let name = request.into_inner().name;
        // Each event is made while the response body is polled, in a span of its own.
        let events = tokio_stream::iter(1..=2).map(move |state| {
            tracing::info_span!("event").in_scope(|| {
                Ok(shop::OrderEvent {
                    name: name.clone(),
                    state,
                    time: None,
                })
            })
        });
        Ok(Response::new(Box::pin(events)))
    }
}

/// The shop over gRPC and HTTP/JSON, traced, on two loopback ports.
async fn start(shop: Shop) -> Served {
    exporter();
    let builder = Server::builder()
        .layer(TraceLayer::new())
        // The descriptions tell the server which methods stream their answers (their bodies
        // are read inside the span) and which answer with one message.
        .file_descriptor_set(rs_svc_compile_test::DESCRIPTOR_SET)
        .grpc(OrderServiceServer::new(shop.clone()))
        .http(shop::order_service_http::router(Arc::new(shop)));
    common::serve(builder).await
}

async fn grpc_client(addr: SocketAddr) -> OrderServiceClient<tonic::transport::Channel> {
    OrderServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
}

fn get(name: &str, traceparent: Option<&str>) -> Request<shop::GetOrderRequest> {
    let mut request = Request::new(shop::GetOrderRequest { name: name.into() });
    if let Some(traceparent) = traceparent {
        request
            .metadata_mut()
            .insert("traceparent", traceparent.parse().unwrap());
    }
    request
}

async fn http_get(addr: SocketAddr, path: &str, traceparent: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("http://{addr}{path}"));
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn http_call_with_traceparent_continues_the_trace_with_http_server_attributes() {
    let server = start(Shop::default()).await;
    let (header, trace, parent) = traceparent(1);
    let response = http_get(server.http, "/v1/orders/1", Some(&header)).await;
    assert_eq!(response.status(), 200);
    let order: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        order["customer"],
        trace.to_string(),
        "the handler runs in the trace"
    );

    let spans = spans_of(trace, 2).await;
    let call = one(&spans, GET_ORDER, SpanKind::Server);
    assert_eq!(call.parent_span_id, parent);
    assert!(call.parent_span_is_remote);
    assert_eq!(call.status, SpanStatus::Unset);
    let attributes = attributes(call);
    let want = [
        ("rpc.system", "grpc"),
        ("rpc.service", "acme.shop.v1.OrderService"),
        ("rpc.method", "GetOrder"),
        ("rpc.grpc.status_code", "0"),
        ("http.request.method", "GET"),
        ("http.route", "/v1/{name=orders/*}"),
        ("http.response.status_code", "200"),
        ("server.address", "127.0.0.1"),
        ("client.address", "127.0.0.1"),
    ];
    for (key, value) in want {
        assert_eq!(
            attributes.get(key).map(String::as_str),
            Some(value),
            "{key}"
        );
    }
    assert_eq!(attributes["server.port"], server.http.port().to_string());
    assert!(attributes["client.port"].parse::<u16>().unwrap() > 0);

    let lookup = one(&spans, "lookup", SpanKind::Internal);
    assert_eq!(lookup.parent_span_id, call.span_context.span_id());
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_call_with_traceparent_metadata_continues_the_trace() {
    let server = start(Shop::default()).await;
    let (header, trace, parent) = traceparent(2);
    let mut client = grpc_client(server.grpc).await;
    let order = client
        .get_order(get("orders/1", Some(&header)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(order.customer, trace.to_string());

    let spans = spans_of(trace, 2).await;
    let call = one(&spans, GET_ORDER, SpanKind::Server);
    assert_eq!(call.parent_span_id, parent);
    let attributes = attributes(call);
    assert_eq!(attributes["rpc.system"], "grpc");
    assert_eq!(attributes["rpc.service"], "acme.shop.v1.OrderService");
    assert_eq!(attributes["rpc.method"], "GetOrder");
    assert_eq!(attributes["rpc.grpc.status_code"], "0");
    assert_eq!(attributes["server.port"], server.grpc.port().to_string());
    for http_only in [
        "http.route",
        "http.request.method",
        "http.response.status_code",
    ] {
        assert!(!attributes.contains_key(http_only), "{http_only}");
    }
    let lookup = one(&spans, "lookup", SpanKind::Internal);
    assert_eq!(lookup.parent_span_id, call.span_context.span_id());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_without_traceparent_starts_a_trace_of_its_own() {
    let server = start(Shop::default()).await;
    let order = grpc_client(server.grpc)
        .await
        .get_order(get("orders/1", None))
        .await
        .unwrap()
        .into_inner();
    let trace = TraceId::from_hex(&order.customer).unwrap();
    assert_ne!(trace, TraceId::INVALID);
    let spans = spans_of(trace, 2).await;
    let call = one(&spans, GET_ORDER, SpanKind::Server);
    assert_eq!(call.parent_span_id, SpanId::INVALID);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_server_side_failures_mark_the_span_as_an_error_on_both_transports() {
    let server = start(Shop::default()).await;
    // (name, gRPC code, HTTP status, span error)
    let cases = [
        ("orders/missing", 5, 404, false),
        ("orders/broken", 13, 500, true),
    ];
    for (seed, (name, code, http_status, error)) in (10..).step_by(2).zip(cases) {
        let (header, trace, _) = traceparent(seed);
        let status = grpc_client(server.grpc)
            .await
            .get_order(get(name, Some(&header)))
            .await
            .unwrap_err();
        assert_eq!(status.code() as i32, code);
        let (http_header, http_trace, _) = traceparent(seed + 1);
        let path = format!("/v1/{name}");
        let response = http_get(server.http, &path, Some(&http_header)).await;
        assert_eq!(response.status().as_u16(), http_status);

        for (transport, trace) in [("grpc", trace), ("http", http_trace)] {
            let spans = spans_of(trace, 1).await;
            let call = one(&spans, GET_ORDER, SpanKind::Server);
            let attributes = attributes(call);
            assert_eq!(
                attributes["rpc.grpc.status_code"],
                code.to_string(),
                "{transport} {name}"
            );
            assert_eq!(
                matches!(call.status, SpanStatus::Error { .. }),
                error,
                "{transport} {name}: {:?}",
                call.status
            );
            if transport == "http" {
                assert_eq!(
                    attributes["http.response.status_code"],
                    http_status.to_string()
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_stream_is_produced_inside_the_call_span_and_ends_with_its_code() {
    let server = start(Shop::default()).await;
    let (header, trace, parent) = traceparent(3);
    let mut stream = grpc_client(server.grpc)
        .await
        .watch_order(get("orders/1", Some(&header)))
        .await
        .unwrap()
        .into_inner();
    let mut events = 0;
    while let Some(event) = stream.next().await {
        event.unwrap();
        events += 1;
    }
    assert_eq!(events, 2);

    let spans = spans_of(trace, 3).await;
    let call = one(
        &spans,
        "acme.shop.v1.OrderService/WatchOrder",
        SpanKind::Server,
    );
    assert_eq!(call.parent_span_id, parent);
    assert_eq!(attributes(call)["rpc.grpc.status_code"], "0");
    let children: Vec<_> = spans.iter().filter(|s| s.name == "event").collect();
    assert_eq!(children.len(), 2);
    assert!(children
        .iter()
        .all(|s| s.parent_span_id == call.span_context.span_id()));
}

#[tokio::test(flavor = "multi_thread")]
async fn dialed_calls_send_the_trace_on_under_a_client_span() {
    let backend = start(Shop::default()).await;
    let caller = tracing::info_span!("caller");
    let trace = caller.context().span().span_context().trace_id();
    let caller_id = caller.context().span().span_context().span_id();
    let order = async {
        let mut client = order_service_client::dial_with(
            Options::new().target(format!("http://{}", backend.grpc)),
        )
        .await
        .unwrap();
        client
            .get_order(get("orders/1", None))
            .await
            .unwrap()
            .into_inner()
    }
    .instrument(caller.clone())
    .await;
    drop(caller);
    assert_eq!(
        order.customer,
        trace.to_string(),
        "the backend continued the trace"
    );

    let spans = spans_of(trace, 4).await;
    let client = one(&spans, GET_ORDER, SpanKind::Client);
    assert_eq!(client.parent_span_id, caller_id);
    let attributes = attributes(client);
    assert_eq!(attributes["rpc.system"], "grpc");
    assert_eq!(attributes["rpc.service"], "acme.shop.v1.OrderService");
    assert_eq!(attributes["rpc.method"], "GetOrder");
    assert_eq!(attributes["rpc.grpc.status_code"], "0");
    assert_eq!(attributes["server.address"], "127.0.0.1");
    assert_eq!(attributes["server.port"], backend.grpc.port().to_string());
    let server = one(&spans, GET_ORDER, SpanKind::Server);
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert!(server.parent_span_is_remote);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_dialed_call_marks_its_client_span_as_an_error() {
    let backend = start(Shop::default()).await;
    let caller = tracing::info_span!("caller");
    let trace = caller.context().span().span_context().trace_id();
    let status = async {
        let mut client = order_service_client::dial_with(
            Options::new().target(format!("http://{}", backend.grpc)),
        )
        .await
        .unwrap();
        client
            .get_order(get("orders/missing", None))
            .await
            .unwrap_err()
    }
    .instrument(caller.clone())
    .await;
    drop(caller);
    assert_eq!(status.code(), tonic::Code::NotFound);
    let spans = spans_of(trace, 4).await;
    let client = one(&spans, GET_ORDER, SpanKind::Client);
    assert_eq!(attributes(client)["rpc.grpc.status_code"], "5");
    assert!(matches!(client.status, SpanStatus::Error { .. }));
    // NOT_FOUND is the caller's failure, not the server's.
    let server = one(&spans, GET_ORDER, SpanKind::Server);
    assert_eq!(server.status, SpanStatus::Unset);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_to_a_service_the_server_does_not_have_is_named_other() {
    use rs_svc_compile_test::alt::ops::v1::ops_service_client::OpsServiceClient;
    let server = start(Shop::default()).await;
    let (header, trace, _) = traceparent(4);
    let mut request = Request::new(shop::GetOrderRequest {
        name: "orders/1".into(),
    });
    request
        .metadata_mut()
        .insert("traceparent", header.parse().unwrap());
    let status = OpsServiceClient::connect(format!("http://{}", server.grpc))
        .await
        .unwrap()
        .replay(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented);

    let spans = spans_of(trace, 1).await;
    let call = one(&spans, "_OTHER", SpanKind::Server);
    let attributes = attributes(call);
    assert_eq!(attributes["rpc.method"], "_OTHER");
    assert!(
        !attributes.contains_key("rpc.service"),
        "no caller-chosen names"
    );
    assert_eq!(attributes["rpc.grpc.status_code"], "12");
    assert!(matches!(call.status, SpanStatus::Error { .. }));
}
