//! `rs_svc::http::HttpChannel` (what the generated HTTP clients will call) against the generated
//! router over a real socket: a request built from a rule's route tables reaches the handler as
//! the message it was, hostile path values and every query shape included, and the answer, an
//! error with details, or a stream ending in an error, comes back as the handler gave it.

mod common;

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use prost::Message as _;
use rs_svc::http::matcher::{Segment, Template, Variable};
use rs_svc::http::{HttpChannel, Rule};
use rs_svc_compile_test::alt::acme::shop::v1 as shop;
use shop::order_service_server::{OrderService, OrderServiceServer};
use tokio_stream::{Stream, StreamExt as _};
use tonic::{Code, Request, Response, Status};

// The route tables of shop.proto's rules, as the generated router writes them.
const GET_ORDER: Template = Template::new(
    &[
        Segment::Literal("v1"),
        Segment::Literal("orders"),
        Segment::Single,
    ],
    &[Variable::new("name", 1, 3)],
);
const LIST_ORDERS: Template =
    Template::new(&[Segment::Literal("v1"), Segment::Literal("orders")], &[]);
const CREATE_ORDER: Template =
    Template::new(&[Segment::Literal("v1"), Segment::Literal("orders")], &[]);
const CREATE_ORDER_RULE: Rule = Rule::new().body_field("order", "order");
const WATCH_ORDER: Template = Template::with_verb(
    &[
        Segment::Literal("v1"),
        Segment::Literal("orders"),
        Segment::Single,
    ],
    &[Variable::new("name", 1, 3)],
    "watch",
);
const IMPORT_ORDERS: Template = Template::with_verb(
    &[Segment::Literal("v1"), Segment::Literal("orders")],
    &[],
    "import",
);
const CHAT: Template = Template::with_verb(
    &[Segment::Literal("v1"), Segment::Literal("orders")],
    &[],
    "chat",
);
const BODY_ALL: Rule = Rule::new().body_all();
const RULE: Rule = Rule::new();

/// Keeps the requests it gets; `GetOrder` of `orders/missing` fails with details and metadata,
/// `WatchOrder` sends two events, then fails.
#[derive(Clone, Default)]
struct Shop {
    seen: Arc<Mutex<Vec<String>>>,
}

type Events = Pin<Box<dyn Stream<Item = Result<shop::OrderEvent, Status>> + Send>>;

#[tonic::async_trait]
impl OrderService for Shop {
    async fn get_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let id = request.metadata().get("x-request-id").cloned();
        let name = request.into_inner().name;
        if name == "orders/missing" {
            let details = rs_svc::google::rpc::Status {
                code: Code::NotFound as i32,
                message: "no such order".into(),
                details: vec![
                    rs_svc::wkt::Any::from_msg(&rs_svc::google::rpc::ResourceInfo {
                        resource_type: "order".into(),
                        resource_name: name.clone(),
                        ..Default::default()
                    })
                    .unwrap(),
                ],
            };
            let mut metadata = tonic::metadata::MetadataMap::new();
            metadata.insert("x-why", "gone".parse().unwrap());
            return Err(Status::with_details_and_metadata(
                Code::NotFound,
                "no such order",
                details.encode_to_vec().into(),
                metadata,
            ));
        }
        let mut response = Response::new(shop::Order {
            name,
            ..Default::default()
        });
        if let Some(id) = id {
            response.metadata_mut().insert("x-request-id", id);
        }
        Ok(response)
    }

    async fn list_orders(
        &self,
        request: Request<shop::ListOrdersRequest>,
    ) -> Result<Response<shop::ListOrdersResponse>, Status> {
        self.seen
            .lock()
            .unwrap()
            .push(serde_json::to_string(request.get_ref()).unwrap());
        Ok(Response::new(shop::ListOrdersResponse::default()))
    }

    async fn import_orders(
        &self,
        request: Request<tonic::Streaming<shop::Order>>,
    ) -> Result<Response<shop::ImportOrdersResponse>, Status> {
        let mut orders = request.into_inner();
        let mut failed = Vec::new();
        let mut imported = 0;
        while let Some(order) = orders.message().await? {
            imported += 1;
            failed.push(order.name);
        }
        Ok(Response::new(shop::ImportOrdersResponse {
            imported,
            failed,
        }))
    }

    async fn chat(
        &self,
        request: Request<tonic::Streaming<shop::ChatMessage>>,
    ) -> Result<Response<tonic::codegen::BoxStream<shop::ChatMessage>>, Status> {
        let replies = request.into_inner().map(|message| {
            message.map(|m| shop::ChatMessage {
                text: format!("re: {}", m.text),
                sent: None,
            })
        });
        Ok(Response::new(Box::pin(replies)))
    }

    async fn create_order(
        &self,
        request: Request<shop::CreateOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let request = request.into_inner();
        let mut order = request.order.unwrap_or_default();
        order.customer = format!("{}|{}", order.customer, request.order_id);
        Ok(Response::new(order))
    }

    async fn watch_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<Events>, Status> {
        let name = request.into_inner().name;
        let events = tokio_stream::iter(0..3).map(move |i| {
            if i == 2 {
                return Err(Status::aborted("the watch ended"));
            }
            Ok(shop::OrderEvent {
                name: format!("{name}#{i}"),
                ..Default::default()
            })
        });
        Ok(Response::new(Box::pin(events)))
    }
}

/// The messages of a client stream, one every few milliseconds, as a client produces them.
fn paced<T: Send + 'static>(items: Vec<T>) -> impl tokio_stream::Stream<Item = T> + Send + 'static {
    tokio_stream::iter(items).throttle(Duration::from_millis(5))
}

async fn start() -> (HttpChannel, Shop) {
    let shop = Shop::default();
    let builder = rs_svc::serve::Server::builder()
        .grpc(OrderServiceServer::new(shop.clone()))
        .http(shop::order_service_http::router(Arc::new(shop.clone())));
    let served = common::serve(builder).await;
    let channel = HttpChannel::new(&format!("http://{}", served.http)).unwrap();
    (channel, shop)
}

fn get(name: &str) -> Request<shop::GetOrderRequest> {
    let mut request = Request::new(shop::GetOrderRequest { name: name.into() });
    request.set_timeout(Duration::from_secs(5));
    request
}

#[tokio::test]
async fn hostile_path_values_reach_the_handler_unchanged() {
    let (channel, _) = start().await;
    let hostile = [
        "orders/1",
        "orders/a b",
        "orders/a%2Fb",
        "orders/100%",
        "orders/a:b",
        "orders/a?b#c",
        "orders/..",
        "orders/.",
        "orders/ünïcødé",
        "orders/a+b&c=d",
        "orders/~-_.",
    ];
    for name in hostile {
        let order: Response<shop::Order> = channel
            .unary(Method::GET, &GET_ORDER, &RULE, get(name))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(order.get_ref().name, name);
    }
    for refused in ["orders/", "orders/a/b", "customers/1", ""] {
        let error = channel
            .unary::<_, shop::Order>(Method::GET, &GET_ORDER, &RULE, get(refused))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{refused}: {error:?}");
    }
}

#[tokio::test]
async fn query_fields_and_body_fields_arrive_as_sent() {
    let (channel, shop) = start().await;
    let sent = shop::ListOrdersRequest {
        customer: "customers/a&b".into(),
        page_size: 7,
        page_token: "tok en=1".into(),
        states: vec![1, 2],
        placed_after: Some(rs_svc::wkt::Timestamp {
            seconds: 1_700_000_000,
            nanos: 5,
        }),
        ..Default::default()
    };
    let _: Response<shop::ListOrdersResponse> = channel
        .unary(Method::GET, &LIST_ORDERS, &RULE, Request::new(sent.clone()))
        .await
        .unwrap();
    let seen = shop.seen.lock().unwrap().pop().unwrap();
    assert_eq!(seen, serde_json::to_string(&sent).unwrap());

    let order = shop::CreateOrderRequest {
        order: Some(shop::Order {
            customer: "ada".into(),
            ..Default::default()
        }),
        order_id: "o 1/2".into(),
    };
    let created: Response<shop::Order> = channel
        .unary(
            Method::POST,
            &CREATE_ORDER,
            &CREATE_ORDER_RULE,
            Request::new(order),
        )
        .await
        .unwrap();
    assert_eq!(created.get_ref().customer, "ada|o 1/2");
}

#[tokio::test]
async fn errors_come_back_with_code_message_details_and_metadata() {
    let (channel, _) = start().await;
    let mut request = get("orders/ok");
    request
        .metadata_mut()
        .insert("x-request-id", "r-7".parse().unwrap());
    let ok: Response<shop::Order> = channel
        .unary(Method::GET, &GET_ORDER, &RULE, request)
        .await
        .unwrap();
    assert_eq!(ok.metadata().get("x-request-id").unwrap(), "r-7");

    let error = channel
        .unary::<_, shop::Order>(Method::GET, &GET_ORDER, &RULE, get("orders/missing"))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::NotFound);
    assert_eq!(error.message(), "no such order");
    assert_eq!(error.metadata().get("x-why").unwrap(), "gone");
    let details = rs_svc::google::rpc::Status::decode(error.details()).unwrap();
    let info: rs_svc::google::rpc::ResourceInfo = details.details[0].to_msg().unwrap();
    assert_eq!(info.resource_name, "orders/missing");
}

#[tokio::test]
async fn a_server_stream_yields_each_message_then_its_error() {
    let (channel, _) = start().await;
    let response = channel
        .server_streaming::<_, shop::OrderEvent>(
            Method::GET,
            &WATCH_ORDER,
            &RULE,
            get("orders/w 1"),
        )
        .await
        .unwrap();
    let items: Vec<_> = response.into_inner().collect().await;
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap().name, "orders/w 1#0");
    assert_eq!(items[1].as_ref().unwrap().name, "orders/w 1#1");
    let error = items[2].as_ref().unwrap_err();
    assert_eq!(error.code(), Code::Aborted);
    assert_eq!(error.message(), "the watch ended");
}

#[tokio::test]
async fn client_streams_send_every_message_as_it_comes_and_bidi_answers_each() {
    let (channel, _) = start().await;
    let orders: Vec<shop::Order> = (0..5)
        .map(|i| shop::Order {
            name: format!("orders/{i} \u{e9}\n"),
            ..Default::default()
        })
        .collect();
    let names: Vec<String> = orders.iter().map(|o| o.name.clone()).collect();
    let imported: Response<shop::ImportOrdersResponse> = channel
        .client_streaming(
            Method::POST,
            &IMPORT_ORDERS,
            &BODY_ALL,
            Request::new(paced(orders)),
        )
        .await
        .unwrap();
    assert_eq!(imported.get_ref().imported, 5);
    assert_eq!(imported.get_ref().failed, names);

    let none: Response<shop::ImportOrdersResponse> = channel
        .client_streaming(
            Method::POST,
            &IMPORT_ORDERS,
            &BODY_ALL,
            Request::new(paced(Vec::<shop::Order>::new())),
        )
        .await
        .unwrap();
    assert_eq!(none.get_ref().imported, 0);

    let said: Vec<shop::ChatMessage> = ["a", "b c", "d"]
        .map(|text| shop::ChatMessage {
            text: text.into(),
            sent: None,
        })
        .into();
    let replies = channel
        .bidi_streaming::<_, shop::ChatMessage>(
            Method::POST,
            &CHAT,
            &BODY_ALL,
            Request::new(paced(said)),
        )
        .await
        .unwrap();
    let replies: Vec<String> = replies
        .into_inner()
        .map(|reply| reply.unwrap().text)
        .collect()
        .await;
    assert_eq!(replies, ["re: a", "re: b c", "re: d"]);
}
