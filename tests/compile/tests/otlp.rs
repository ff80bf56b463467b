//! `rs_svc::telemetry::otlp` end to end on 127.0.0.1: an OTLP receiver (the collector's
//! `TraceService`, served by tonic) gets the spans of a chain client -> server A over HTTP/JSON
//! -> A's handler dials server B over gRPC -> B, as one trace with its parent-child links and the
//! semantic-convention attributes. One test: `otlp::init` installs the process's subscriber.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::Span;
use rs_svc::dial::Options;
use rs_svc::serve::Server;
use rs_svc::telemetry::{otlp, TraceLayer};
use rs_svc_compile_test::alt::acme::shop::v1 as shop;
use shop::order_service_client;
use shop::order_service_server::{OrderService, OrderServiceServer};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

/// What the receiver got: every span, with the `service.name` of its resource.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<(String, Span)>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut got = self.0.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let resource = resource_spans.resource.unwrap_or_default();
            let service = string_attributes(&resource.attributes)
                .remove("service.name")
                .unwrap_or_default();
            for scope_spans in resource_spans.scope_spans {
                for span in scope_spans.spans {
                    got.push((service.clone(), span));
                }
            }
        }
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn string_attributes(attributes: &[KeyValue]) -> HashMap<String, String> {
    attributes
        .iter()
        .filter_map(|kv| {
            let value = match kv.value.as_ref()?.value.as_ref()? {
                Value::StringValue(s) => s.clone(),
                Value::IntValue(i) => i.to_string(),
                Value::BoolValue(b) => b.to_string(),
                other => format!("{other:?}"),
            };
            Some((kv.key.clone(), value))
        })
        .collect()
}

async fn start_receiver() -> (SocketAddr, Receiver) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let receiver = Receiver::default();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    (addr, receiver)
}

/// Server A's `GetOrder` asks server B (through a dialed channel); B answers itself.
#[derive(Clone)]
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
        let Some(next) = self.next else {
            return Ok(Response::new(shop::Order {
                name,
                customer: "from B".into(),
                ..Default::default()
            }));
        };
        let mut b =
            order_service_client::dial_with(Options::new().target(format!("http://{next}")))
                .await
                .map_err(|e| Status::unavailable(e.to_string()))?;
        b.get_order(shop::GetOrderRequest { name }).await
    }
}

/// A traced server of the shop on two loopback ports: (gRPC, HTTP).
async fn start(shop: Shop) -> (SocketAddr, SocketAddr) {
    let builder = Server::builder()
        .layer(TraceLayer::new())
        .grpc(OrderServiceServer::new(shop.clone()))
        .http(shop::order_service_http::router(Arc::new(shop)));
    let served = common::serve(builder).await;
    (served.grpc, served.http)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn otlp_exporter_sends_a_chain_of_services_as_one_trace_with_its_links() {
    let (collector, receiver) = start_receiver().await;
    let telemetry = otlp::init(&format!("http://{collector}"), "shop-test").unwrap();
    assert!(
        matches!(
            otlp::init(&format!("http://{collector}"), "again"),
            Err(otlp::Error::Subscriber(_))
        ),
        "a second global subscriber is refused"
    );

    let (b, _) = start(Shop { next: None }).await;
    let (_, a_http) = start(Shop { next: Some(b) }).await;

    let trace = "0af7651916cd43dd8448eb211c80319c";
    let caller = "b7ad6b7169203331";
    let response = reqwest::Client::new()
        .get(format!("http://{a_http}/v1/orders/7"))
        .header("traceparent", format!("00-{trace}-{caller}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let order: serde_json::Value = response.json().await.unwrap();
    assert_eq!(order["customer"], "from B");

    // A's server span ends just after its response went out: flush until the three arrived.
    let of_trace = || -> Vec<(String, Span)> {
        let got = receiver.0.lock().unwrap();
        got.iter()
            .filter(|(_, s)| hex(&s.trace_id) == trace)
            .cloned()
            .collect()
    };
    for _ in 0..100 {
        tokio::task::block_in_place(|| telemetry.flush()).unwrap();
        if of_trace().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .unwrap()
        .unwrap();

    let got = of_trace();
    let spans: Vec<&(String, Span)> = got.iter().collect();
    let find = |kind: SpanKind, http: bool| {
        let found: Vec<&Span> = spans
            .iter()
            .map(|(_, s)| s)
            .filter(|s| {
                s.kind == kind as i32
                    && s.name == "acme.shop.v1.OrderService/GetOrder"
                    && string_attributes(&s.attributes).contains_key("http.route") == http
            })
            .collect();
        assert_eq!(found.len(), 1, "{kind:?} http={http}: {spans:#?}");
        found[0]
    };
    let a_server = find(SpanKind::Server, true);
    let a_client = find(SpanKind::Client, false);
    let b_server = find(SpanKind::Server, false);

    assert_eq!(
        hex(&a_server.parent_span_id),
        caller,
        "A continues the caller"
    );
    assert_eq!(
        a_client.parent_span_id, a_server.span_id,
        "A's dial is A's call's child"
    );
    assert_eq!(
        b_server.parent_span_id, a_client.span_id,
        "B continues A's client span"
    );
    assert!(spans.iter().all(|(service, _)| service == "shop-test"));

    let a = string_attributes(&a_server.attributes);
    let want_a = [
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
    for (key, value) in want_a {
        assert_eq!(a.get(key).map(String::as_str), Some(value), "A: {key}");
    }
    let b_attributes = string_attributes(&b_server.attributes);
    assert_eq!(b_attributes["rpc.grpc.status_code"], "0");
    assert_eq!(b_attributes["server.port"], b.port().to_string());
    let client = string_attributes(&a_client.attributes);
    assert_eq!(client["rpc.method"], "GetOrder");
    assert_eq!(client["server.port"], b.port().to_string());
    for span in [a_server, a_client, b_server] {
        let code = span.status.as_ref().map_or(0, |s| s.code);
        assert_eq!(code, StatusCode::Unset as i32, "{}", span.name);
    }
}
