//! One route [`Handler`] per method kind, built from the service, the route's [`Rule`] and a
//! closure that calls the trait method: what a generated `routes` function writes per route,
//! `unary(&service, &GET_BOOK_RULE, |s, r| async move { s.get_book(r).await })`.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use tokio_stream::Stream;

use super::{handler, Handler, JsonMessage, RouteHandler, Rule};

/// A unary method's route handler: binds each call and runs it through the general unary path.
pub fn unary<T, Req, Resp, F, Fut>(service: &Arc<T>, rule: &'static Rule, method: F) -> Handler
where
    T: Send + Sync + 'static,
    Req: JsonMessage,
    Resp: Serialize + Send + 'static,
    F: Fn(Arc<T>, tonic::Request<Req>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send + 'static,
{
    let service = Arc::clone(service);
    handler(move |call| {
        let service = Arc::clone(&service);
        super::unary(call, rule, move |request| method(service, request))
    })
}

/// A server-streaming method's route handler.
pub fn server_streaming<T, Req, Resp, S, F, Fut>(
    service: &Arc<T>,
    rule: &'static Rule,
    method: F,
) -> Handler
where
    T: Send + Sync + 'static,
    Req: JsonMessage,
    Resp: Serialize + Send + 'static,
    S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
    F: Fn(Arc<T>, tonic::Request<Req>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<tonic::Response<S>, tonic::Status>> + Send + 'static,
{
    let service = Arc::clone(service);
    handler(move |call| {
        let service = Arc::clone(&service);
        crate::http::server_streaming(call, rule, move |request| method(service, request))
    })
}

/// A client-streaming method's route handler.
pub fn client_streaming<T, Req, Resp, F, Fut>(
    service: &Arc<T>,
    rule: &'static Rule,
    method: F,
) -> RouteHandler
where
    T: Send + Sync + 'static,
    Req: JsonMessage + prost::Message + Default,
    Resp: Serialize + Send + 'static,
    F: Fn(Arc<T>, tonic::Request<tonic::Streaming<Req>>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send + 'static,
{
    let service = Arc::clone(service);
    streaming(
        handler(move |call| {
            let service = Arc::clone(&service);
            crate::http::client_streaming(call, rule, move |request| method(service, request))
        }),
        rule,
    )
}

/// A bidi-streaming method's route handler.
pub fn bidi_streaming<T, Req, Resp, S, F, Fut>(
    service: &Arc<T>,
    rule: &'static Rule,
    method: F,
) -> RouteHandler
where
    T: Send + Sync + 'static,
    Req: JsonMessage + prost::Message + Default,
    Resp: Serialize + Send + 'static,
    S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
    F: Fn(Arc<T>, tonic::Request<tonic::Streaming<Req>>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<tonic::Response<S>, tonic::Status>> + Send + 'static,
{
    let service = Arc::clone(service);
    streaming(
        handler(move |call| {
            let service = Arc::clone(&service);
            crate::http::bidi_streaming(call, rule, move |request| method(service, request))
        }),
        rule,
    )
}

/// A client- or bidi-streaming route's handler, which takes WebSocket upgrades unless its
/// messages are raw `google.api.HttpBody` (docs/reference.md section 13.1).
fn streaming(handler: Handler, rule: &Rule) -> RouteHandler {
    RouteHandler {
        handler,
        websocket: !rule.http_body_request && !rule.http_body_response,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use http::StatusCode;
    use http_body_util::BodyExt;

    use super::{server_streaming, unary};
    use crate::http::{Call, Options, Rule};

    struct Shelf {
        name: &'static str,
    }

    impl Shelf {
        async fn get(
            &self,
            _: tonic::Request<()>,
        ) -> Result<tonic::Response<String>, tonic::Status> {
            Ok(tonic::Response::new(self.name.to_owned()))
        }
    }

    fn get() -> Call {
        let (parts, body) = http::Request::get("/v1/shelf")
            .body(Body::empty())
            .unwrap()
            .into_parts();
        Call {
            parts,
            body,
            method: "test.v1.Test/Call",
            bindings: Vec::new(),
            options: Arc::new(Options::default()),
        }
    }

    async fn read(response: http::Response<Body>) -> (StatusCode, String) {
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_route_handler_calls_the_service_method_under_the_routes_rule() {
        const CREATED: Rule = Rule::new().status(201);
        let service = Arc::new(Shelf { name: "fiction" });
        let handler = unary(&service, &CREATED, |s, r| async move { s.get(r).await });
        // The handler owns its own handle on the service and serves call after call.
        for _ in 0..2 {
            assert_eq!(
                read(handler(get()).await).await,
                (StatusCode::CREATED, r#""fiction""#.to_owned())
            );
        }
    }

    #[tokio::test]
    async fn a_streaming_route_handler_streams_what_the_service_method_returns() {
        let service = Arc::new(Shelf { name: "fiction" });
        let handler = server_streaming(
            &service,
            &Rule::DEFAULT,
            |s, _: tonic::Request<()>| async move {
                let items = vec![Ok(s.name.to_owned()), Ok("history".to_owned())];
                Ok(tonic::Response::new(tokio_stream::iter(items)))
            },
        );
        let (status, body) = read(handler(get()).await).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "\"fiction\"\n\"history\"\n");
    }
}
