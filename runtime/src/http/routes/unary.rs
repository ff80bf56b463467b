//! The unary call path: bind the request, call the service in-process with metadata and
//! deadline, write the JSON response; and what the streaming paths share with it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{header, HeaderValue};
use serde::Serialize;
use serde_json::Value;

use super::bind::{bind_flat, bind_read, read_body};
use super::{BodyRule, Call, Handler, HttpError, JsonMessage, Options, Rule, SuccessStatus};
use crate::http::metadata;

/// Wraps an async closure as a route [`Handler`] (what generated routes use).
pub fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Call) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = http::Response<Body>> + Send + 'static,
{
    Arc::new(move |call| Box::pin(f(call)))
}

/// Serves one unary call: binds `Req`, runs the interceptor, calls `method` in-process with the
/// request's metadata and deadline, and writes the response.
///
/// The head is read, and a message with no body to wait for is bound, before the future starts:
/// the future holds only what it awaits. Every call boxes its future (see [`Handler`]), and a
/// small one is a cheap allocation.
#[doc(hidden)]
pub fn unary<Req, Resp, F, Fut>(
    call: Call,
    rule: &'static Rule,
    method: F,
) -> impl Future<Output = http::Response<Body>> + Send
where
    Req: JsonMessage,
    Resp: Serialize + Send + 'static,
    F: FnOnce(tonic::Request<Req>) -> Fut + Send,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send,
{
    let rpc = call.method;
    let mut start = Start::<Req>::new(call, rule);
    async move {
        start.read_body(rule).await;
        let (request, timeout) = match start.finish(rule) {
            Ok(bound) => bound,
            Err(error) => return error.into_response(),
        };
        let handler = std::pin::pin!(method(request));
        match run_pinned(handler, timeout, rpc).await {
            Ok(response) => json_response(response, rule).unwrap_or_else(HttpError::into_response),
            Err(status) => HttpError::from(status).into_response(),
        }
    }
}

/// A call on its way to its handler: bound already, waiting for its body, or refused.
enum Start<Req> {
    /// The request and its `Grpc-Timeout`.
    Bound(tonic::Request<Req>, Option<Duration>),
    /// Boxed: the bound request is the common case, and the future holds the larger variant.
    Pending(Box<Pending>),
    Failed(HttpError),
}

/// A call whose message needs its body (or binding the general way): what binding still reads.
struct Pending {
    head: CallHead,
    uri: http::Uri,
    body: Body,
    /// What [`read_body`] read, once read; never set for a rule without a body.
    read: Option<Option<Bytes>>,
    bindings: Vec<(&'static str, String)>,
    options: Arc<Options>,
}

impl<Req: JsonMessage> Start<Req> {
    /// Reads the head and binds what needs no waiting: every call the flat way binds (see
    /// [`unary`]).
    fn new(call: Call, rule: &Rule) -> Self {
        let Call {
            mut parts,
            body,
            mut bindings,
            options,
            ..
        } = call;
        let head = match call_metadata(&mut parts, &options) {
            Ok(head) => head,
            Err(error) => return Start::Failed(error),
        };
        if let Some(message) = bind_flat::<Req>(parts.uri.query(), &mut bindings, rule, &options) {
            let (metadata, extensions, ()) = head.request.into_parts();
            return Start::Bound(
                tonic::Request::from_parts(metadata, extensions, message),
                head.timeout,
            );
        }
        Start::Pending(Box::new(Pending {
            head,
            uri: parts.uri,
            body,
            read: None,
            bindings,
            options,
        }))
    }

    /// Reads the request body in place, when the call waits for one.
    async fn read_body(&mut self, rule: &Rule) {
        let Start::Pending(pending) = self else {
            return;
        };
        if let BodyRule::None = rule.body {
            return;
        }
        let body = std::mem::take(&mut pending.body);
        let content_type = pending.head.content_type.as_ref();
        let limit = pending
            .options
            .body_limit(pending.head.request.extensions());
        match read_body(content_type, body, limit, rule.http_body_request).await {
            Ok(read) => pending.read = Some(read),
            Err(error) => *self = Start::Failed(error),
        }
    }

    /// The bound request and its `Grpc-Timeout`, once the body is read.
    fn finish(self, rule: &Rule) -> Result<(tonic::Request<Req>, Option<Duration>), HttpError> {
        let pending = match self {
            Start::Bound(request, timeout) => return Ok((request, timeout)),
            Start::Pending(pending) => pending,
            Start::Failed(error) => return Err(error),
        };
        let query = pending.uri.query().unwrap_or("");
        let content_type = pending.head.content_type.as_ref();
        let message: Req = bind_read(
            query,
            content_type,
            pending.read,
            &pending.bindings,
            rule,
            &pending.options,
        )?;
        let (metadata, extensions, ()) = pending.head.request.into_parts();
        Ok((
            tonic::Request::from_parts(metadata, extensions, message),
            pending.head.timeout,
        ))
    }
}

/// A handler's response as HTTP: its message as JSON (or its `response_body` field, or raw
/// `google.api.HttpBody`), its metadata as headers.
pub(in crate::http) fn json_response<Resp: Serialize>(
    response: tonic::Response<Resp>,
    rule: &Rule,
) -> Result<http::Response<Body>, HttpError> {
    let (metadata, message, extensions) = response.into_parts();
    let success = SuccessStatus::of(&extensions, rule);
    if success.without_body() {
        let mut response = http::Response::new(Body::empty());
        *response.status_mut() = success.status();
        metadata::to_response_headers(metadata, response.headers_mut());
        return Ok(response);
    }
    let json = match rule.response_body {
        None => {
            // Most answers fit: one allocation instead of doubling from serde_json's 128 bytes.
            // 1 KiB and the 8 bytes more that glibc's 1,040-byte chunk holds anyway, the largest
            // request its per-thread cache serves.
            let mut json = Vec::with_capacity(1032);
            serde_json::to_writer(&mut json, &message).map(|()| json)
        }
        Some(field) => serde_json::to_value(&message)
            .map(|mut v| v.get_mut(field).map(Value::take).unwrap_or(Value::Null))
            .and_then(|v| serde_json::to_vec(&v)),
    }
    .map_err(|e| tonic::Status::internal(format!("the response cannot be written as JSON: {e}")))?;
    if rule.http_body_response {
        let mut response = raw_response(&json)?;
        *response.status_mut() = success.status();
        metadata::to_response_headers(metadata, response.headers_mut());
        return Ok(response);
    }
    // `()` (google.protobuf.Empty) serializes as `null`; its JSON is `{}`.
    let json = if json == b"null" && rule.response_body.is_none() {
        b"{}".to_vec()
    } else {
        json
    };
    let length = json.len();
    let mut response = http::Response::new(Body::from(json));
    *response.status_mut() = success.status();
    metadata::to_response_headers(metadata, response.headers_mut());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok(response)
}

/// A `google.api.HttpBody` response, from its JSON: the data raw, with its content type.
fn raw_response(json: &[u8]) -> Result<http::Response<Body>, HttpError> {
    let body: crate::google::api::HttpBody = serde_json::from_slice(json)
        .map_err(|e| tonic::Status::internal(format!("the HttpBody response: {e}")))?;
    let length = body.data.len();
    let mut response = http::Response::new(Body::from(body.data));
    let headers = response.headers_mut();
    if let Ok(content_type) = HeaderValue::from_str(&body.content_type) {
        if !body.content_type.is_empty() {
            headers.insert(header::CONTENT_TYPE, content_type);
        }
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok(response)
}

/// Everything before the handler runs: headers to metadata, the interceptor, binding the
/// message. Returns the request and its `Grpc-Timeout`.
pub(in crate::http) async fn prepare<Req: JsonMessage>(
    call: Call,
    rule: &Rule,
) -> Result<(tonic::Request<Req>, Option<Duration>), HttpError> {
    let mut start = Start::<Req>::new(call, rule);
    start.read_body(rule).await;
    start.finish(rule)
}

/// The call's metadata, extensions and deadline from the request head, after the interceptor,
/// and the request's `Content-Type`. The headers and extensions move to the call (binding needs
/// only the method, the URI and the content type).
pub(in crate::http) fn call_metadata(
    parts: &mut http::request::Parts,
    options: &Options,
) -> Result<CallHead, HttpError> {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0);
    // The request's own headers become the metadata: binding reads only the content type
    // after this (the streams read `Accept` and `TE` before), so it is kept aside.
    let headers = std::mem::take(&mut parts.headers);
    let content_type = headers.get(header::CONTENT_TYPE).cloned();
    let headers = metadata::into_metadata(headers, peer)?;
    let extensions = std::mem::take(&mut parts.extensions);
    let mut request = tonic::Request::from_parts(headers.metadata, extensions, ());
    if let Some(timeout) = headers.timeout {
        request.set_timeout(timeout);
    }
    if let Some(interceptor) = &options.interceptor {
        request = interceptor(request)?;
    }
    Ok(CallHead {
        request,
        timeout: headers.timeout,
        content_type,
    })
}

/// What [`call_metadata`] takes from the request head.
pub(in crate::http) struct CallHead {
    /// The call's metadata and extensions, after the interceptor.
    pub(in crate::http) request: tonic::Request<()>,
    /// From `Grpc-Timeout`.
    pub(in crate::http) timeout: Option<Duration>,
    /// The request's `Content-Type`, which no longer is among its headers.
    pub(in crate::http) content_type: Option<HeaderValue>,
}

/// Runs the handler: a panic is a 500 with code INTERNAL (the server keeps serving), a passed
/// deadline a 504 with code DEADLINE_EXCEEDED.
pub(in crate::http) async fn run<T>(
    handler: impl Future<Output = Result<T, tonic::Status>>,
    timeout: Option<Duration>,
    rpc: &'static str,
) -> Result<T, tonic::Status> {
    // Pinned in this future's own state: no allocation per call.
    run_pinned(std::pin::pin!(handler), timeout, rpc).await
}

/// [`run`] on a handler pinned in its caller's state, which this future does not copy.
pub(in crate::http) async fn run_pinned<F, T>(
    handler: Pin<&mut F>,
    timeout: Option<Duration>,
    rpc: &'static str,
) -> Result<T, tonic::Status>
where
    F: Future<Output = Result<T, tonic::Status>>,
{
    let guarded = CatchUnwind(handler, rpc);
    let result = match timeout {
        // Only a call with a deadline carries the timer, in a box of its own.
        Some(timeout) => Box::pin(tokio::time::timeout(timeout, guarded))
            .await
            .map_err(|_| tonic::Status::deadline_exceeded("the call's deadline passed"))?,
        None => guarded.await,
    };
    result.unwrap_or_else(|_| Err(tonic::Status::internal("the handler failed")))
}

/// A future that turns a panic while polling into an error, and logs it with the method's
/// name. The future it guards is already pinned (`Pin<&mut F>` or `Pin<Box<F>>`), so guarding
/// it moves nothing.
pub(in crate::http) struct CatchUnwind<F>(pub(in crate::http) F, pub(in crate::http) &'static str);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = Pin::new(&mut self.0);
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => {
                crate::http::log_panic(self.1, &*panic);
                Poll::Ready(Err(()))
            }
        }
    }
}
