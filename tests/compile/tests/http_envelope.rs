//! `stream_envelope=grpc_gateway`: streamed HTTP responses in grpc-gateway's envelope, for
//! clients written against it (the `alt` tree is generated with it).

mod common;

use std::sync::Arc;

use rs_svc_compile_test::alt::acme::shop::v1 as shop;
use serde_json::{json, Value};
use shop::order_service_server::OrderService;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

struct Shop;

#[tonic::async_trait]
impl OrderService for Shop {
    async fn watch_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<BoxStream<shop::OrderEvent>>, Status> {
        let name = request.into_inner().name;
        let events = vec![
            Ok(shop::OrderEvent {
                name,
                state: 1,
                time: None,
            }),
            Err(Status::aborted("lost track")),
        ];
        Ok(Response::new(Box::pin(tokio_stream::iter(events))))
    }
}

#[tokio::test]
async fn streamed_messages_are_results_and_the_error_is_an_error_line() {
    let addr = common::serve_http(shop::order_service_http::router(Arc::new(Shop))).await;
    let url = format!("http://{addr}/v1/orders/o1:watch");
    let body = reqwest::get(url).await.unwrap().text().await.unwrap();
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            json!({"result": {"name": "orders/o1", "state": 1, "time": null}}),
            json!({"error": {"code": 10, "message": "lost track", "details": []}}),
        ]
    );
}
