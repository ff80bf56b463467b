//! The generated HTTP/JSON client against a foreign transcoder (docs/reference.md section 1.1):
//! in front of Envoy's gRPC-JSON transcoder, itself in front of the generated gRPC server, the
//! client's unary calls (GET with path and query, POST with a body field and with `body: "*"`,
//! successes and errors) give the same results as against the generated router in front of the
//! same implementation. Skipped without Envoy unless `RS_SVC_REQUIRE_FOREIGN=1`.

mod common;
#[path = "common/envoy.rs"]
mod envoy;
#[path = "common/shop.rs"]
mod shop_impl;

use std::sync::Arc;

use rs_svc_compile_test::acme::shop::v1 as shop;
use shop::order_service_api::OrderServiceApi;
use shop::order_service_http_client::OrderServiceHttpClient;
use shop::order_service_server::OrderServiceServer;
use shop_impl::Shop;
use tonic::{Request, Response, Status};

fn outcome<T: std::fmt::Debug>(result: Result<Response<T>, Status>) -> String {
    match result {
        Ok(response) => format!("ok {:?}", response.get_ref()),
        Err(status) => format!(
            "error {:?} {:?} details={:?}",
            status.code(),
            status.message(),
            status.details()
        ),
    }
}

fn get(name: &str) -> Request<shop::GetOrderRequest> {
    let mut request = Request::new(shop::GetOrderRequest { name: name.into() });
    request
        .metadata_mut()
        .insert("x-customer", "customers/7".parse().unwrap());
    request
}

/// Unary calls of every body shape, through any transport.
async fn unary_calls(api: &dyn OrderServiceApi) -> Vec<String> {
    vec![
        // GET, the name in the path.
        outcome(api.get_order(get("orders/1")).await),
        outcome(api.get_order(get("orders/a b:c%d")).await),
        // An error with details.
        outcome(api.get_order(get("orders/missing")).await),
        // GET, the fields in the query.
        outcome(
            api.list_orders(Request::new(shop::ListOrdersRequest {
                customer: "customers/7".into(),
                page_size: 2,
                ..Default::default()
            }))
            .await,
        ),
        // POST, `body: "order"`, the rest in the query.
        outcome(
            api.create_order(Request::new(shop::CreateOrderRequest {
                order: Some(shop::Order {
                    customer: "customers/7".into(),
                    ..Default::default()
                }),
                order_id: "o 1".into(),
            }))
            .await,
        ),
        outcome(
            api.create_order(Request::new(shop::CreateOrderRequest {
                order: Some(shop::Order::default()),
                order_id: String::new(),
            }))
            .await,
        ),
        // POST, `body: "*"`, the name in the path.
        outcome(
            api.cancel_order(Request::new(shop::CancelOrderRequest {
                name: "orders/404".into(),
                reason: "late".into(),
            }))
            .await,
        ),
        outcome(
            api.cancel_order(Request::new(shop::CancelOrderRequest {
                name: "orders/5".into(),
                reason: "late".into(),
            }))
            .await,
        ),
    ]
}

#[tokio::test]
async fn the_http_client_gets_the_same_answers_from_envoy_as_from_our_router() {
    let Some(binary) = envoy::binary() else {
        return;
    };
    let served = common::serve(
        rs_svc::serve::Server::builder()
            .grpc(OrderServiceServer::new(Shop))
            .http(shop::order_service_http::router(Arc::new(Shop))),
    )
    .await;
    let envoy = envoy::start(&binary, "acme.shop.v1.OrderService", served.grpc, &[]).await;

    let ours = OrderServiceHttpClient::new(&format!("http://{}", served.http)).unwrap();
    let theirs = OrderServiceHttpClient::new(&envoy.base).unwrap();
    // Our router writes an unset `google.protobuf.Value` field as `null` (it emits unpopulated
    // fields), which reads back as NULL_VALUE; Envoy leaves it out (docs/reference.md section
    // 1.1). The client, writing requests as the router writes, sends `null` too, which both
    // transcoders read as NULL_VALUE. That one difference, named on both sides so that any
    // other shows.
    let unset_value = |outcomes: Vec<String>| -> Vec<String> {
        outcomes
            .into_iter()
            .map(|outcome| {
                outcome.replace(
                    "extra: Some(Value { kind: Some(NullValue(NullValue)) })",
                    "extra: None",
                )
            })
            .collect()
    };
    let through_router = unset_value(unary_calls(&ours).await);
    let through_envoy = unset_value(unary_calls(&theirs).await);
    for (i, (ours, theirs)) in through_router.iter().zip(&through_envoy).enumerate() {
        assert_eq!(
            theirs, ours,
            "call {i}: through Envoy (left), through our router (right)"
        );
    }
    assert_eq!(through_envoy.len(), through_router.len());
    // And they are the service's answers.
    assert!(
        through_router[0].starts_with("ok Order { name: \"orders/1\""),
        "{}",
        through_router[0]
    );
    assert!(
        through_router[2].starts_with("error NotFound \"no such order\""),
        "{}",
        through_router[2]
    );
}
