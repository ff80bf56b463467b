//! `google.protobuf.Any` JSON and error details know every generated message with no
//! registration call (docs/reference.md section 3): generated code registers its types at link
//! time.
//!
//! This binary must never call the generated registration function nor the runtime's
//! registration (the last test checks): a user who never heard of them gets the same JSON.
//!
//! The fixture type is `library.v1.Shelf`, whose fields have one-word names and are set, so its
//! JSON is the same in every generated tree of this crate (default, canonical, alt), whichever
//! one the registry holds.

mod common;

use std::sync::{Arc, Mutex};

use prost::{Message, Name};
use reqwest::StatusCode;
use rs_svc::google::rpc::Status as RpcStatus;
use rs_svc::wkt::Any;
use rs_svc_compile_test::canonical::acme::shop::v1 as shop;
use rs_svc_compile_test::canonical::library::v1 as library;
use serde_json::{json, Value};
use shop::order_service_server::OrderService;
use tonic::{Request, Response, Status};

fn shelf() -> library::Shelf {
    library::Shelf {
        name: "shelves/1".into(),
        theme: "sci-fi".into(),
    }
}

fn shelf_json() -> Value {
    json!({
        "@type": "type.googleapis.com/library.v1.Shelf",
        "name": "shelves/1",
        "theme": "sci-fi",
    })
}

fn packed_shelf() -> Any {
    Any {
        type_url: library::Shelf::type_url(),
        value: shelf().encode_to_vec(),
    }
}

/// Fails `GetOrder` with a fixture message as a detail; records the `Any` that `CreateOrder`
/// receives in `order.provider_detail`.
#[derive(Default)]
struct Shop(Mutex<Option<Any>>);

#[tonic::async_trait]
impl OrderService for Shop {
    async fn get_order(
        &self,
        _: Request<shop::GetOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let details = RpcStatus {
            code: tonic::Code::FailedPrecondition as i32,
            message: "shelf is closed".into(),
            details: vec![packed_shelf()],
        };
        Err(Status::with_details(
            tonic::Code::FailedPrecondition,
            "shelf is closed",
            details.encode_to_vec().into(),
        ))
    }

    async fn create_order(
        &self,
        r: Request<shop::CreateOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let order = r.into_inner().order.unwrap_or_default();
        *self.0.lock().unwrap() = order.provider_detail.clone();
        Ok(Response::new(order))
    }
}

async fn serve() -> (Arc<Shop>, String) {
    let shop = Arc::new(Shop::default());
    let addr = common::serve_http(shop::order_service_http::router(shop.clone())).await;
    (shop, format!("http://{addr}"))
}

#[test]
fn any_json_writes_and_reads_a_generated_message_with_no_registration() {
    assert_eq!(serde_json::to_value(packed_shelf()).unwrap(), shelf_json());
    let read: Any = serde_json::from_value(shelf_json()).unwrap();
    assert_eq!(read, packed_shelf());
}

#[tokio::test]
async fn an_http_error_renders_a_generated_detail_with_type_and_fields() {
    let (_, base) = serve().await;
    let response = reqwest::get(format!("{base}/v1/orders/1")).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "code": tonic::Code::FailedPrecondition as i32,
            "message": "shelf is closed",
            "details": [shelf_json()],
        })
    );
}

#[tokio::test]
async fn a_json_body_holding_an_any_of_a_generated_message_reaches_the_handler() {
    let (shop, base) = serve().await;
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/orders"))
        .json(&json!({ "customer": "customers/7", "providerDetail": shelf_json() }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["providerDetail"], shelf_json());
    let received = shop.0.lock().unwrap().clone().expect("an Any in the order");
    assert_eq!(received.type_url, library::Shelf::type_url());
    assert_eq!(library::Shelf::decode(&*received.value).unwrap(), shelf());
}

#[test]
fn this_binary_never_registers_a_type() {
    // Spelled in pieces so this test does not find itself.
    let source = include_str!("any_unregistered.rs");
    for call in [
        concat!("register_json", "_types("),
        concat!("wkt::", "register"),
    ] {
        assert!(!source.contains(call), "{call} in this test binary");
    }
}
