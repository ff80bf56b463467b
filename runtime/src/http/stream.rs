//! Server streaming over HTTP (DESIGN section 6, "Streaming"): NDJSON by default, SSE for
//! `Accept: text/event-stream`, one message per line or event, flushed as each arrives.
//!
//! An error before the first message is an ordinary error response. After it, the status line
//! is sent, so an error becomes one last line holding the `google.rpc.Status` (SSE: an
//! `event: error`), and the stream ends. `Grpc-Timeout` bounds the whole stream. A client that
//! hangs up drops the body, and with it the handler's stream.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http::{header, HeaderValue};
use serde::Serialize;
use tokio::time::Instant;
use tokio_stream::{Stream, StreamExt};

use super::routes::{prepare, run, Call, HttpError, JsonMessage, Rule};
use super::{metadata, status};

/// How messages are framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `application/x-ndjson`: one JSON document per line.
    Ndjson,
    /// `text/event-stream`: `data: <json>` events; errors as `event: error`.
    Sse,
    /// NDJSON in grpc-gateway's envelope: `{"result": <json>}` lines, `{"error": <status>}`
    /// last (`stream_envelope=grpc_gateway`).
    Envelope,
}

/// Serves one server-streaming call (see the module docs).
pub async fn server_streaming<Req, Resp, S, F, Fut>(
    call: Call,
    rule: &'static Rule,
    method: F,
) -> http::Response<Body>
where
    Req: JsonMessage,
    Resp: Serialize + Send + 'static,
    S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
    F: FnOnce(tonic::Request<Req>) -> Fut + Send,
    Fut: Future<Output = Result<tonic::Response<S>, tonic::Status>> + Send,
{
    let accept = call.parts.headers.get(header::ACCEPT).cloned();
    match prepare(call, rule).await {
        Ok((request, timeout)) => {
            respond_stream(accept.as_ref(), rule, method(request), timeout).await
        }
        Err(error) => error.into_response(),
    }
}

/// Runs a streaming handler and streams its messages, framed as `accept` asks.
pub(super) async fn respond_stream<Resp, S, Fut>(
    accept: Option<&HeaderValue>,
    rule: &Rule,
    handler: Fut,
    timeout: Option<std::time::Duration>,
) -> http::Response<Body>
where
    Resp: Serialize + Send + 'static,
    S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
    Fut: Future<Output = Result<tonic::Response<S>, tonic::Status>> + Send,
{
    let framing = match framing(accept) {
        Framing::Ndjson if rule.grpc_gateway_envelope => Framing::Envelope,
        framing => framing,
    };
    match start(handler, timeout).await {
        Ok((metadata, first, rest)) if rule.http_body_response => {
            respond_raw(metadata, first, rest)
        }
        Ok((metadata, first, rest)) => respond(framing, metadata, first, rest),
        Err(error) => error.into_response(),
    }
}

/// A stream of `google.api.HttpBody`: the data of each message, raw, under the first message's
/// content type. Raw bytes have no room for an error, so one after the start aborts the body,
/// which the client sees as a broken transfer.
fn respond_raw<Resp, S>(
    metadata: tonic::metadata::MetadataMap,
    first: Option<Resp>,
    rest: Guarded<S>,
) -> http::Response<Body>
where
    Resp: Serialize + Send + 'static,
    S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
{
    let first = first.map(|m| http_body(&m));
    let content_type = match &first {
        Some(Ok(body)) if !body.content_type.is_empty() => {
            HeaderValue::from_str(&body.content_type).ok()
        }
        _ => None,
    };
    let chunks = tokio_stream::iter(first)
        .chain(rest.map(|item| item.and_then(|m| http_body(&m))))
        .map(|item| item.map(|body| Bytes::from(body.data)));
    let mut response = http::Response::new(Body::from_stream(chunks));
    metadata::to_response_headers(metadata, response.headers_mut());
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    response
}

/// A streamed message that is a `google.api.HttpBody`, read back through its JSON.
fn http_body<Resp: Serialize>(
    message: &Resp,
) -> Result<crate::google::api::HttpBody, tonic::Status> {
    serde_json::to_value(message)
        .and_then(serde_json::from_value)
        .map_err(|e| tonic::Status::internal(format!("a streamed HttpBody: {e}")))
}

type Started<Resp, S> = (tonic::metadata::MetadataMap, Option<Resp>, Guarded<S>);

/// Runs the handler up to its first message, so an early error is an ordinary response.
async fn start<Resp, S, Fut>(
    handler: Fut,
    timeout: Option<std::time::Duration>,
) -> Result<Started<Resp, S>, HttpError>
where
    S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
    Fut: Future<Output = Result<tonic::Response<S>, tonic::Status>> + Send,
{
    let deadline = timeout.map(|t| Box::pin(tokio::time::sleep_until(Instant::now() + t)));
    let response = run(handler, timeout).await?;
    let (metadata, stream, _) = response.into_parts();
    let mut stream = Guarded {
        inner: Box::pin(stream),
        deadline,
    };
    let first = stream.next().await.transpose()?;
    Ok((metadata, first, stream))
}

fn respond<Resp, S>(
    framing: Framing,
    metadata: tonic::metadata::MetadataMap,
    first: Option<Resp>,
    rest: Guarded<S>,
) -> http::Response<Body>
where
    Resp: Serialize + Send + 'static,
    S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
{
    let items = tokio_stream::iter(first.map(Ok)).chain(rest);
    // After an error the stream ends: the error is the last frame.
    let frames = items
        .map(move |item| frame(framing, item))
        .take_while_inclusive();
    let mut response = http::Response::new(Body::from_stream(
        frames.map(Ok::<_, std::convert::Infallible>),
    ));
    metadata::to_response_headers(metadata, response.headers_mut());
    let content_type = match framing {
        Framing::Ndjson | Framing::Envelope => "application/x-ndjson",
        Framing::Sse => "text/event-stream",
    };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn framing(accept: Option<&HeaderValue>) -> Framing {
    let sse = accept.and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',')
            .any(|t| t.trim().starts_with("text/event-stream"))
    });
    if sse {
        Framing::Sse
    } else {
        Framing::Ndjson
    }
}

/// One message or the terminal error, framed; the flag says whether the stream goes on.
fn frame<Resp: Serialize>(framing: Framing, item: Result<Resp, tonic::Status>) -> (Bytes, bool) {
    let (json, event, more) = match item.and_then(|message| {
        serde_json::to_vec(&message).map_err(|e| {
            tonic::Status::internal(format!("a message cannot be written as JSON: {e}"))
        })
    }) {
        Ok(json) => (json, None, true),
        Err(error) => {
            let json = status::status_json(&status::rpc_status(&error)).to_vec();
            (json, Some("error"), false)
        }
    };
    let mut out = Vec::with_capacity(json.len() + 16);
    match framing {
        Framing::Ndjson => {
            out.extend_from_slice(&json);
            out.push(b'\n');
        }
        Framing::Envelope => {
            out.extend_from_slice(if more {
                b"{\"result\":"
            } else {
                b"{\"error\":"
            });
            out.extend_from_slice(&json);
            out.extend_from_slice(b"}\n");
        }
        Framing::Sse => {
            if let Some(event) = event {
                out.extend_from_slice(b"event: ");
                out.extend_from_slice(event.as_bytes());
                out.push(b'\n');
            }
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(&json);
            out.extend_from_slice(b"\n\n");
        }
    }
    (Bytes::from(out), more)
}

/// The handler's stream with the call's deadline and panics turned into a final error.
struct Guarded<S> {
    inner: Pin<Box<S>>,
    /// Fires at the call's deadline; taken once it has.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<Resp, S> Stream for Guarded<S>
where
    S: Stream<Item = Result<Resp, tonic::Status>>,
{
    type Item = Result<Resp, tonic::Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(deadline) = self.deadline.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                self.deadline = None;
                return Poll::Ready(Some(Err(tonic::Status::deadline_exceeded(
                    "the call's deadline passed",
                ))));
            }
        }
        let inner = self.inner.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll_next(cx))) {
            Ok(poll) => poll,
            Err(_) => Poll::Ready(Some(Err(tonic::Status::internal("the handler failed")))),
        }
    }
}

/// `take_while` that also yields the item that ends the stream.
trait TakeWhileInclusive: Stream<Item = (Bytes, bool)> + Sized {
    fn take_while_inclusive(self) -> Inclusive<Self> {
        Inclusive {
            inner: self,
            done: false,
        }
    }
}

impl<S: Stream<Item = (Bytes, bool)>> TakeWhileInclusive for S {}

struct Inclusive<S> {
    inner: S,
    done: bool,
}

impl<S: Stream<Item = (Bytes, bool)> + Unpin> Stream for Inclusive<S> {
    type Item = Bytes;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some((bytes, more))) => {
                self.done = !more;
                Poll::Ready(Some(bytes))
            }
            other => other.map(|o| o.map(|(b, _)| b)),
        }
    }
}
