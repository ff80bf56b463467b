//! One implementation of `acme.shop.v1.OrderService` for the tests of the `<Svc>Api` trait and
//! of gateway mode: every kind of call, errors with details and metadata, and answers that show
//! the metadata and deadline each call received.

use prost::Message as _;
use rs_svc_compile_test::acme::shop::v1 as shop;
use shop::order_service_server::OrderService;
use tokio_stream::StreamExt as _;
use tonic::codegen::BoxStream;
use tonic::{Code, Request, Response, Status, Streaming};

pub struct Shop;

/// What a call's metadata said, for the answer: the custom header, and the deadline in whole
/// seconds (what a Python backend can tell of it too).
fn seen<T>(request: &Request<T>) -> String {
    let get = |key| {
        request
            .metadata()
            .get(key)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let deadline = get("grpc-timeout").map_or("-".to_owned(), |timeout| {
        let (digits, unit) = timeout.split_at(timeout.len() - 1);
        let value: f64 = digits.parse().unwrap();
        let seconds = match unit {
            "H" => value * 3600.0,
            "M" => value * 60.0,
            "S" => value,
            "m" => value / 1e3,
            "u" => value / 1e6,
            _ => value / 1e9,
        };
        format!("{}s", seconds.round())
    });
    format!(
        "x-customer={} deadline={deadline}",
        get("x-customer").as_deref().unwrap_or("-")
    )
}

/// An error carrying a `google.rpc.Status` with a `BadRequest` detail, and metadata.
pub fn detailed(code: Code, message: &str, field: &str) -> Status {
    use rs_svc::google::rpc::{bad_request::FieldViolation, BadRequest};
    let detail = BadRequest {
        field_violations: vec![FieldViolation {
            field: field.into(),
            description: message.into(),
            ..Default::default()
        }],
    };
    let details = rs_svc::google::rpc::Status {
        code: code as i32,
        message: message.into(),
        details: vec![prost_types::Any {
            type_url: "type.googleapis.com/google.rpc.BadRequest".into(),
            value: detail.encode_to_vec(),
        }
        .into()],
    };
    let mut status = Status::with_details(code, message, details.encode_to_vec().into());
    status
        .metadata_mut()
        .insert("x-reason", field.parse().unwrap());
    status
}

fn answer<T>(message: T) -> Response<T> {
    let mut response = Response::new(message);
    response
        .metadata_mut()
        .insert("x-served-by", "shop".parse().unwrap());
    response
}

#[tonic::async_trait]
impl OrderService for Shop {
    async fn get_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let seen = seen(&request);
        let name = request.into_inner().name;
        if name.is_empty() {
            return Err(detailed(Code::InvalidArgument, "name is required", "name"));
        }
        if name == "orders/missing" {
            return Err(detailed(Code::NotFound, "no such order", "name"));
        }
        Ok(answer(shop::Order {
            name,
            customer: seen,
            ..Default::default()
        }))
    }

    async fn list_orders(
        &self,
        request: Request<shop::ListOrdersRequest>,
    ) -> Result<Response<shop::ListOrdersResponse>, Status> {
        let customer = request.into_inner().customer;
        Ok(answer(shop::ListOrdersResponse {
            orders: (1..=2)
                .map(|n| shop::Order {
                    name: format!("orders/{n}"),
                    customer: customer.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }))
    }

    async fn create_order(
        &self,
        request: Request<shop::CreateOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let order = request.into_inner().order.unwrap_or_default();
        if order.customer.is_empty() {
            return Err(detailed(
                Code::FailedPrecondition,
                "no customer",
                "order.customer",
            ));
        }
        Ok(answer(order))
    }

    async fn update_order(
        &self,
        request: Request<shop::UpdateOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        Ok(answer(request.into_inner().order.unwrap_or_default()))
    }

    async fn cancel_order(
        &self,
        request: Request<shop::CancelOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        Err(Status::not_found(format!(
            "{} does not exist",
            request.into_inner().name
        )))
    }

    type WatchOrderStream = BoxStream<shop::OrderEvent>;

    async fn watch_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<Self::WatchOrderStream>, Status> {
        let name = request.into_inner().name;
        if name.is_empty() {
            return Err(detailed(Code::InvalidArgument, "name is required", "name"));
        }
        // `orders/broken` fails after its first event.
        let events: Vec<_> = if name == "orders/broken" {
            vec![Ok(event(&name, 1)), Err(Status::aborted("the feed broke"))]
        } else {
            (1..=3).map(|state| Ok(event(&name, state))).collect()
        };
        let events = tokio_stream::iter(events);
        Ok(answer(Box::pin(events) as BoxStream<_>))
    }

    async fn import_orders(
        &self,
        request: Request<Streaming<shop::Order>>,
    ) -> Result<Response<shop::ImportOrdersResponse>, Status> {
        let seen = seen(&request);
        let mut orders = request.into_inner();
        let mut response = shop::ImportOrdersResponse::default();
        while let Some(order) = orders.message().await? {
            if order.customer.is_empty() {
                return Err(detailed(
                    Code::FailedPrecondition,
                    "an order without a customer",
                    "customer",
                ));
            }
            if order.name.contains("dup") {
                response.failed.push(order.name);
            } else {
                response.imported += 1;
            }
        }
        response.failed.push(seen);
        Ok(answer(response))
    }

    type ChatStream = BoxStream<shop::ChatMessage>;

    async fn chat(
        &self,
        request: Request<Streaming<shop::ChatMessage>>,
    ) -> Result<Response<Self::ChatStream>, Status> {
        // Each message answered in upper case; `boom` ends the stream with an error, as does
        // an error reading the messages.
        let mut failed = false;
        let replies = request
            .into_inner()
            .map(|message| match message {
                Ok(m) if m.text == "boom" => Err(Status::out_of_range("boom is too loud")),
                Ok(m) => Ok(shop::ChatMessage {
                    text: m.text.to_uppercase(),
                    sent: None,
                }),
                Err(e) => Err(e),
            })
            .take_while(move |reply| !std::mem::replace(&mut failed, reply.is_err()));
        Ok(answer(Box::pin(replies) as BoxStream<_>))
    }

    async fn legacy_get_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        self.get_order(request).await
    }
}

fn event(name: &str, state: i32) -> shop::OrderEvent {
    shop::OrderEvent {
        name: name.to_owned(),
        state,
        time: None,
    }
}
