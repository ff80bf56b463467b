//! One trait, three transports (docs/reference.md section 1, "The `<Svc>Api` trait"): one
//! function written against `impl OrderServiceApi` runs every kind of call, and gives the same
//! results and the same errors (code, message, details, metadata) whether the service runs in
//! process, behind the generated gRPC client (wrapped in `rs_svc::api::Remote`) over a real
//! socket, behind a gRPC client that is itself served over gRPC (a gateway in front of the
//! service), or behind the generated HTTP/JSON client (`<svc>_http_client`) in front of the
//! generated router.

mod common;
#[path = "common/shop.rs"]
mod shop_impl;

use std::net::SocketAddr;
use std::sync::Arc;

use rs_svc::api::Remote;
use rs_svc_compile_test::acme::shop::v1 as shop;
use shop::order_service_api::OrderServiceApi;
use shop::order_service_client::OrderServiceClient;
use shop::order_service_http_client::OrderServiceHttpClient;
use shop::order_service_server::{OrderService, OrderServiceServer};
use shop_impl::Shop;
use tokio_stream::{wrappers::TcpListenerStream, StreamExt};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

/// Serves `service` over gRPC on a free loopback port, in the background.
async fn serve(service: impl OrderService) -> SocketAddr {
    serve_grpc(OrderServiceServer::new(service)).await
}

async fn serve_grpc<S: OrderService>(server: OrderServiceServer<S>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(server)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    addr
}

/// The generated gRPC client of the service at `addr`, as an implementation of the service.
async fn client(addr: SocketAddr) -> Remote<OrderServiceClient<tonic::transport::Channel>> {
    Remote::new(
        OrderServiceClient::connect(format!("http://{addr}"))
            .await
            .unwrap(),
    )
}

/// The generated HTTP/JSON client of `service`, served by the generated router on a free
/// loopback port.
async fn http_client(service: impl OrderService) -> OrderServiceHttpClient {
    let router = shop::order_service_http::router(Arc::new(service));
    let addr = common::serve_http(router).await;
    OrderServiceHttpClient::new(&format!("http://{addr}")).unwrap()
}

/// A call's outcome as text: the message and the metadata the service set, or the error's
/// code, message, details and metadata.
fn outcome<T: std::fmt::Debug>(result: Result<Response<T>, Status>) -> String {
    match result {
        Ok(response) => format!(
            "ok {:?} x-served-by={:?}",
            response.get_ref(),
            response.metadata().get("x-served-by")
        ),
        Err(status) => failure(&status),
    }
}

fn failure(status: &Status) -> String {
    format!(
        "error {:?} {:?} details={:?} x-reason={:?}",
        status.code(),
        status.message(),
        status.details(),
        status.metadata().get("x-reason")
    )
}

/// A server stream's outcome: the answer's error, or each item in turn.
async fn streamed<T: std::fmt::Debug>(
    result: Result<Response<rs_svc::api::ResponseStream<T>>, Status>,
) -> String {
    match result {
        Ok(response) => {
            let served_by = response.metadata().get("x-served-by").cloned();
            let items: Vec<String> = response
                .into_inner()
                .map(|item| match item {
                    Ok(message) => format!("{message:?}"),
                    Err(status) => failure(&status),
                })
                .collect()
                .await;
            format!("stream x-served-by={served_by:?} {items:?}")
        }
        Err(status) => failure(&status),
    }
}

fn get(name: &str) -> Request<shop::GetOrderRequest> {
    let mut request = Request::new(shop::GetOrderRequest { name: name.into() });
    request
        .metadata_mut()
        .insert("x-customer", "customers/7".parse().unwrap());
    request.set_timeout(std::time::Duration::from_secs(30));
    request
}

fn order(name: &str, customer: &str) -> shop::Order {
    shop::Order {
        name: name.into(),
        customer: customer.into(),
        ..Default::default()
    }
}

fn chat(texts: &[&str]) -> Request<rs_svc::api::RequestStream<shop::ChatMessage>> {
    let messages: Vec<_> = texts
        .iter()
        .map(|text| shop::ChatMessage {
            text: (*text).into(),
            sent: None,
        })
        .collect();
    rs_svc::api::streaming_request(tokio_stream::iter(messages))
}

/// Every kind of call, successes and failures, through any transport.
async fn exercise(api: &impl OrderServiceApi) -> Vec<String> {
    let mut out = Vec::new();
    // Unary: metadata and deadline reach the service; errors carry details and metadata.
    out.push(outcome(api.get_order(get("orders/1")).await));
    out.push(outcome(api.get_order(get("")).await));
    out.push(outcome(
        api.list_orders(Request::new(shop::ListOrdersRequest {
            customer: "customers/7".into(),
            ..Default::default()
        }))
        .await,
    ));
    out.push(outcome(
        api.create_order(Request::new(shop::CreateOrderRequest {
            order: Some(order("orders/9", "")),
            order_id: String::new(),
        }))
        .await,
    ));
    out.push(outcome(
        api.cancel_order(Request::new(shop::CancelOrderRequest {
            name: "orders/404".into(),
            reason: String::new(),
        }))
        .await,
    ));
    // Server streaming: to the end, an error after a message, an error before any.
    out.push(streamed(api.watch_order(get("orders/1")).await).await);
    out.push(streamed(api.watch_order(get("orders/broken")).await).await);
    out.push(streamed(api.watch_order(get("")).await).await);
    // Client streaming: metadata and deadline reach the service, as with a unary call.
    let mut import = rs_svc::api::streaming_request(tokio_stream::iter(vec![
        order("orders/1", "c"),
        order("orders/dup", "c"),
        order("orders/2", "c"),
    ]));
    import
        .metadata_mut()
        .insert("x-customer", "customers/8".parse().unwrap());
    import.set_timeout(std::time::Duration::from_secs(20));
    out.push(outcome(api.import_orders(import).await));
    let bad = rs_svc::api::streaming_request(tokio_stream::iter(vec![order("orders/1", "")]));
    out.push(outcome(api.import_orders(bad).await));
    // Bidi streaming.
    out.push(streamed(api.chat(chat(&["hi", "there"])).await).await);
    out.push(streamed(api.chat(chat(&["hi", "boom", "never"])).await).await);
    out
}

#[tokio::test]
async fn in_process_grpc_and_http_clients_give_identical_results_and_errors() {
    let in_process = exercise(&Shop).await;

    let backend = serve(Shop).await;
    let over_grpc = exercise(&client(backend).await).await;

    // The client, served over gRPC itself, forwards each call to the backend. Its caller
    // compresses with gzip, the backend knows no compression: the encoding headers of one
    // exchange never reach the other.
    let gateway = serve_grpc(
        OrderServiceServer::new(client(backend).await)
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip),
    )
    .await;
    let gzip = client(gateway).await.into_inner();
    let gzip = gzip
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    let through_gateway = exercise(&Remote::new(gzip)).await;

    // The generated HTTP/JSON client, against the generated router in front of the same
    // implementation.
    let unset_value = |outcomes: Vec<String>| -> Vec<String> {
        outcomes
            .into_iter()
            .map(|outcome| outcome.replace(UNSET_VALUE_OVER_JSON, "extra: None"))
            .collect()
    };
    let over_http = unset_value(exercise(&http_client(Shop).await).await);
    // And the HTTP client served over gRPC: a gRPC front for an HTTP/JSON backend.
    let http_backend = serve(http_client(Shop).await).await;
    let grpc_to_http = unset_value(exercise(&client(http_backend).await).await);

    for (i, expected) in in_process.iter().enumerate() {
        assert_eq!(&over_grpc[i], expected, "call {i} over gRPC");
        assert_eq!(
            &through_gateway[i], expected,
            "call {i} through the gateway"
        );
        if REFUSED_BY_THE_HTTP_CLIENT.contains(&i) {
            continue;
        }
        assert_eq!(&over_http[i], expected, "call {i} over HTTP/JSON");
        assert_eq!(
            &grpc_to_http[i], expected,
            "call {i} over gRPC to the HTTP client"
        );
    }
    assert_eq!(over_grpc.len(), in_process.len());
    assert_eq!(through_gateway.len(), in_process.len());
    assert_eq!(over_http.len(), in_process.len());
    assert_eq!(grpc_to_http.len(), in_process.len());
    // An empty `name` fits no `orders/*` path: the HTTP client refuses the call before sending
    // it, where the service itself would have answered (docs/reference.md section 5.1).
    for i in REFUSED_BY_THE_HTTP_CLIENT {
        assert_eq!(grpc_to_http[i], over_http[i], "call {i}");
        assert!(
            over_http[i].starts_with("error InvalidArgument")
                && over_http[i].contains("name")
                && in_process[i].starts_with("error InvalidArgument"),
            "call {i}: {} (in process: {})",
            over_http[i],
            in_process[i]
        );
    }

    // And the outcomes are the service's, not empty agreement.
    let expected_prefixes = [
        "ok Order { name: \"orders/1\", customer: \"x-customer=customers/7 deadline=30s\"",
        "error InvalidArgument \"name is required\" details=[8, 3, 18,",
        "ok ListOrdersResponse { orders: [Order { name: \"orders/1\"",
        "error FailedPrecondition \"no customer\"",
        "error NotFound \"orders/404 does not exist\"",
        "stream x-served-by=Some(\"shop\") [\"OrderEvent { name: \\\"orders/1\\\", state: Pending",
        "stream x-served-by=Some(\"shop\") [\"OrderEvent { name: \\\"orders/broken\\\", state: Pending",
        "error InvalidArgument \"name is required\"",
        "ok ImportOrdersResponse { imported: 2, failed: [\"orders/dup\", \"x-customer=customers/8 deadline=20s\"] }",
        "error FailedPrecondition \"an order without a customer\"",
        "stream x-served-by=Some(\"shop\") [\"ChatMessage { text: \\\"HI\\\"",
        "stream x-served-by=Some(\"shop\") [\"ChatMessage { text: \\\"HI\\\"",
    ];
    for (i, prefix) in expected_prefixes.iter().enumerate() {
        assert!(
            in_process[i].starts_with(prefix),
            "call {i}: {}\nexpected to start with {prefix}",
            in_process[i]
        );
    }
    assert!(
        in_process[1].ends_with("x-reason=Some(\"name\")"),
        "{}",
        in_process[1]
    );
    assert!(
        in_process[6].contains("error Aborted \\\"the feed broke\\\""),
        "{}",
        in_process[6]
    );
    assert!(
        in_process[11].contains("error OutOfRange \\\"boom is too loud\\\""),
        "{}",
        in_process[11]
    );
    assert!(!in_process[11].contains("NEVER"), "{}", in_process[11]);
}

/// The one difference JSON makes: an unset `google.protobuf.Value` field is written `null` when
/// unpopulated fields are emitted (as protojson's EmitUnpopulated does), and `null` reads back
/// as a Value holding NULL_VALUE (the proto3 JSON mapping), so an unset `Order.extra` comes back
/// set. Not the client's doing: the router's JSON says so (docs/reference.md section 5.1).
const UNSET_VALUE_OVER_JSON: &str = "extra: Some(Value { kind: Some(NullValue(NullValue)) })";

/// The calls of [`exercise`] whose request fits no path of the method's first binding (an empty
/// `name` for `/v1/{name=orders/*}`), which the HTTP client refuses with INVALID_ARGUMENT.
const REFUSED_BY_THE_HTTP_CLIENT: [usize; 2] = [1, 7];

/// Hostile path values through the generated HTTP client: each reaches the service exactly as
/// sent, or (a value that fits no `orders/*` segment, or none at all) is refused by the client
/// with INVALID_ARGUMENT, never sent to come back as a 404.
#[tokio::test]
async fn hostile_path_values_round_trip_through_the_http_client_or_are_refused() {
    // As the trait callers see (the server trait, also in scope here, has the same methods).
    let api: Box<dyn OrderServiceApi> = Box::new(http_client(Shop).await);
    let round_trip = [
        "orders/a b",
        "orders/a%2Fb",
        "orders/100%",
        "orders/a:b",
        "orders/a?b#c",
        "orders/#",
        "orders/..",
        "orders/.",
        "orders/%",
        "orders/ünïcødé",
        "orders/a+b&c=d",
        "orders/~-_.",
    ];
    for name in round_trip {
        let order = api
            .get_order(get(name))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(order.get_ref().name, name);
        // And a server stream, on a template with a verb.
        let events = streamed(api.watch_order(get(name)).await).await;
        assert!(
            events.starts_with("stream") && events.matches(name).count() == 3,
            "{name}: {events}"
        );
    }
    for refused in [
        "",
        "orders/",
        "orders/a/b",
        "orders/../x",
        "customers/1",
        "/orders/1",
    ] {
        let error = api.get_order(get(refused)).await.unwrap_err();
        assert_eq!(
            error.code(),
            tonic::Code::InvalidArgument,
            "{refused:?}: {error:?}"
        );
        let Err(error) = api.watch_order(get(refused)).await else {
            panic!("{refused:?}: watched");
        };
        assert_eq!(
            error.code(),
            tonic::Code::InvalidArgument,
            "{refused:?}: {error:?}"
        );
    }
}

/// `DEFAULT_URL` is `https://` and the proto's `google.api.default_host`, and `dial()` a client
/// of it (made without connecting); a base URL that is not http(s) is INVALID_ARGUMENT.
#[test]
fn the_http_client_defaults_to_https_and_the_default_host() {
    assert_eq!(
        OrderServiceHttpClient::DEFAULT_URL,
        "https://shop.acme.example:8443"
    );
    assert!(OrderServiceHttpClient::dial().is_ok());
    for bad in ["ftp://shop.acme.example", "shop.acme.example", "http://"] {
        let error = OrderServiceHttpClient::new(bad).unwrap_err();
        assert_eq!(error.code(), tonic::Code::InvalidArgument, "{bad}");
    }
}

/// A method without an http rule answers UNIMPLEMENTED from the HTTP client, naming the method.
#[tokio::test]
async fn a_method_without_an_http_rule_is_unimplemented_over_http() {
    let api: Box<dyn OrderServiceApi> = Box::new(http_client(Shop).await);
    #[allow(deprecated)]
    let error = api.legacy_get_order(get("orders/1")).await.unwrap_err();
    assert_eq!(error.code(), tonic::Code::Unimplemented);
    assert!(error.message().contains("LegacyGetOrder"), "{error:?}");
}

/// The trait is object safe: a transport chosen at run time.
#[tokio::test]
async fn a_transport_can_be_chosen_at_run_time() {
    let backend = serve(Shop).await;
    let apis: Vec<Box<dyn OrderServiceApi>> = vec![
        Box::new(Shop),
        Box::new(client(backend).await),
        Box::new(http_client(Shop).await),
    ];
    for api in &apis {
        let order = api.get_order(get("orders/3")).await.unwrap().into_inner();
        assert_eq!(order.name, "orders/3");
    }
}

/// With the server trait and the `<Svc>Api` trait in scope, the client's own methods still take
/// a bare message: the traits are implemented by `Remote<client>`, not by the client, whose
/// `&mut self` methods a `&self` trait method would otherwise shadow.
#[tokio::test]
async fn the_clients_own_methods_stay_callable_with_the_traits_in_scope() {
    let backend = serve(Shop).await;
    let mut client = client(backend).await.into_inner();
    let order = client
        .get_order(shop::GetOrderRequest {
            name: "orders/4".into(),
        })
        .await
        .unwrap();
    assert_eq!(order.into_inner().name, "orders/4");
}

/// Any tonic transport will do: the dial helpers' channel, an intercepted channel.
#[test]
fn remote_clients_over_any_transport_are_apis() {
    fn api<T: OrderServiceApi + OrderService>() {}
    type Intercepted = tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        fn(Request<()>) -> Result<Request<()>, Status>,
    >;
    api::<Remote<OrderServiceClient<rs_svc::dial::Channel>>>();
    api::<Remote<OrderServiceClient<Intercepted>>>();
    api::<Remote<OrderServiceClient<tonic::transport::Channel>>>();
}
