//! The generated tonic server and client talk to each other over a real HTTP/2 connection on
//! 127.0.0.1: unary, server streaming, and the UNIMPLEMENTED default stubs.

use rs_svc_compile_test::alt::acme::shop::v1 as shop;
use shop::order_service_client::OrderServiceClient;
use shop::order_service_server::{OrderService, OrderServiceServer};
use tokio_stream::{wrappers::TcpListenerStream, StreamExt};
// With generate_default_stubs, streaming methods return a boxed stream.
use tonic::codegen::BoxStream;
use tonic::{Code, Request, Response, Status};

struct Shop;

#[tonic::async_trait]
impl OrderService for Shop {
    async fn get_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let name = request.into_inner().name;
        if name.is_empty() {
            return Err(Status::invalid_argument("name is required"));
        }
        Ok(Response::new(shop::Order {
            name,
            ..Default::default()
        }))
    }

    async fn watch_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<BoxStream<shop::OrderEvent>>, Status> {
        let name = request.into_inner().name;
        let events = (1..=3).map(move |state| {
            Ok(shop::OrderEvent {
                name: name.clone(),
                state,
                time: None,
            })
        });
        Ok(Response::new(Box::pin(tokio_stream::iter(events))))
    }
}

#[tokio::test]
async fn generated_client_calls_generated_server_on_loopback() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(OrderServiceServer::new(Shop))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let mut client = OrderServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();

    let order = client
        .get_order(shop::GetOrderRequest {
            name: "orders/7".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(order.name, "orders/7");

    let err = client
        .get_order(shop::GetOrderRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(err.message(), "name is required");

    let states: Vec<i32> = client
        .watch_order(shop::GetOrderRequest {
            name: "orders/7".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .map(|event| event.unwrap().state)
        .collect()
        .await;
    assert_eq!(states, [1, 2, 3]);

    // Not implemented by `Shop`: the generated default stub answers.
    let err = client
        .cancel_order(shop::CancelOrderRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);

    server.abort();
}
