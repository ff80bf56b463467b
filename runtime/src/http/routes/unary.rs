//! The unary call path: bind the request, call the service in-process with metadata and
//! deadline, write the JSON response; and what the streaming paths share with it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use http::{header, HeaderValue};
use serde::Serialize;
use serde_json::Value;

use super::bind::bind;
use super::{Call, Handler, HttpError, JsonMessage, Options, Rule, SuccessStatus};
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
#[doc(hidden)]
pub async fn unary<Req, Resp, F, Fut>(
    call: Call,
    rule: &'static Rule,
    method: F,
) -> http::Response<Body>
where
    Req: JsonMessage,
    Resp: Serialize + Send + 'static,
    F: FnOnce(tonic::Request<Req>) -> Fut + Send,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send,
{
    unary_inner(call, rule, method)
        .await
        .unwrap_or_else(HttpError::into_response)
}

async fn unary_inner<Req, Resp, F, Fut>(
    call: Call,
    rule: &'static Rule,
    method: F,
) -> Result<http::Response<Body>, HttpError>
where
    Req: JsonMessage,
    Resp: Serialize + Send + 'static,
    F: FnOnce(tonic::Request<Req>) -> Fut + Send,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send,
{
    let (request, timeout) = prepare(call, rule).await?;
    let response = run(method(request), timeout).await?;
    json_response(response, rule)
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
            let mut json = Vec::with_capacity(1024);
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
    let Call {
        mut parts,
        body,
        bindings,
        options,
    } = call;
    let CallHead {
        request,
        timeout,
        content_type,
    } = call_metadata(&mut parts, &options)?;
    let content_type = content_type.as_ref();
    let message: Req = bind(&parts, content_type, body, &bindings, rule, &options).await?;
    let (metadata, extensions, ()) = request.into_parts();
    Ok((
        tonic::Request::from_parts(metadata, extensions, message),
        timeout,
    ))
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
) -> Result<T, tonic::Status> {
    // Pinned in this future's own state: no allocation per call.
    let guarded = CatchUnwind(std::pin::pin!(handler));
    let result = match timeout {
        Some(timeout) => tokio::time::timeout(timeout, guarded)
            .await
            .map_err(|_| tonic::Status::deadline_exceeded("the call's deadline passed"))?,
        None => guarded.await,
    };
    result.unwrap_or_else(|_| Err(tonic::Status::internal("the handler failed")))
}

/// A future that turns a panic while polling into an error. The future it guards is already
/// pinned (`Pin<&mut F>` or `Pin<Box<F>>`), so guarding it moves nothing.
pub(in crate::http) struct CatchUnwind<F>(pub(in crate::http) F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = Pin::new(&mut self.0);
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(_) => Poll::Ready(Err(())),
        }
    }
}
