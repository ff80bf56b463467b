//! One route [`Handler`] per method kind, built from the service, the route's [`Rule`] and a
//! closure that calls the trait method: what a generated `routes` function writes per route,
//! `unary(&service, &GET_BOOK_RULE, |s, r| async move { s.get_book(r).await })`.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use tokio_stream::Stream;

use super::{handler, Handler, JsonMessage, Rule};

/// A unary method's route handler (see [`unary`](super::unary) for the call path).
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
) -> Handler
where
    T: Send + Sync + 'static,
    Req: JsonMessage + prost::Message + Default,
    Resp: Serialize + Send + 'static,
    F: Fn(Arc<T>, tonic::Request<tonic::Streaming<Req>>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send + 'static,
{
    let service = Arc::clone(service);
    handler(move |call| {
        let service = Arc::clone(&service);
        crate::http::client_streaming(call, rule, move |request| method(service, request))
    })
}

/// A bidi-streaming method's route handler.
pub fn bidi_streaming<T, Req, Resp, S, F, Fut>(
    service: &Arc<T>,
    rule: &'static Rule,
    method: F,
) -> Handler
where
    T: Send + Sync + 'static,
    Req: JsonMessage + prost::Message + Default,
    Resp: Serialize + Send + 'static,
    S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
    F: Fn(Arc<T>, tonic::Request<tonic::Streaming<Req>>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<tonic::Response<S>, tonic::Status>> + Send + 'static,
{
    let service = Arc::clone(service);
    handler(move |call| {
        let service = Arc::clone(&service);
        crate::http::bidi_streaming(call, rule, move |request| method(service, request))
    })
}
