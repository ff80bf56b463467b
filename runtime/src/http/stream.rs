//! Server streaming over HTTP (docs/reference.md section 4, "Streaming"): NDJSON by default, SSE for
//! `Accept: text/event-stream`, one message per line or event, flushed as each arrives.
//!
//! An error before the first message is an ordinary error response. After it, the status line
//! is sent, so an error becomes one last line holding the `google.rpc.Status` (SSE: an
//! `event: error`), and the stream ends. `Grpc-Timeout` bounds the whole stream. A client that
//! hangs up drops the body, and with it the handler's stream.
//!
//! Trailers (docs/reference.md section 4: only for requests that sent `TE: trailers`): a streamed response
//! ends with the final status as gRPC ends a call, `grpc-status`, `grpc-message`,
//! `grpc-status-details-bin` and the status's metadata ([`metadata::status_trailers`]),
//! announced by a `Trailer` header. Without `TE: trailers` there are none, and no `Trailer`
//! header either. Unary responses never have trailers: in-process there is no trailing metadata
//! apart from the one map of a `tonic::Response`, which is already the headers, and the status
//! is the status line and body; trailers would add nothing and cost the `Content-Length`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue};
use http_body::Frame;
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
    let wants = Wants::of(&call.parts.headers);
    let rpc = call.method;
    match prepare(call, rule).await {
        Ok((request, timeout)) => respond_stream(&wants, rule, method(request), timeout, rpc).await,
        Err(error) => error.into_response(),
    }
}

/// What a request asks of a streamed response.
pub(super) struct Wants {
    /// Its `Accept` header, which picks the framing.
    accept: Option<HeaderValue>,
    /// Whether it sent `TE: trailers`.
    trailers: bool,
}

impl Wants {
    pub(super) fn of(headers: &HeaderMap) -> Self {
        Wants {
            accept: headers.get(header::ACCEPT).cloned(),
            trailers: metadata::accepts_trailers(headers),
        }
    }
}

/// Runs a streaming handler and streams its messages, framed as the request asks.
pub(super) async fn respond_stream<Resp, S, Fut>(
    wants: &Wants,
    rule: &Rule,
    handler: Fut,
    timeout: Option<std::time::Duration>,
    rpc: &'static str,
) -> http::Response<Body>
where
    Resp: Serialize + Send + 'static,
    S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
    Fut: Future<Output = Result<tonic::Response<S>, tonic::Status>> + Send,
{
    let framing = match framing(wants.accept.as_ref()) {
        Framing::Ndjson if rule.grpc_gateway_envelope => Framing::Envelope,
        framing => framing,
    };
    let (metadata, first, rest) = match start(handler, timeout, rpc).await {
        Ok(started) => started,
        Err(error) => return error.into_response(),
    };
    let mut response = if rule.http_body_response {
        respond_raw(wants.trailers, first, rest)
    } else {
        respond(framing, wants.trailers, first, rest)
    };
    // A stream always has a body; a declared 204 or 205 is refused at generation.
    if let Ok(status) = http::StatusCode::from_u16(rule.success_status) {
        *response.status_mut() = status;
    }
    let headers = response.headers_mut();
    metadata::to_response_headers(metadata, headers);
    if wants.trailers {
        headers.append(
            header::TRAILER,
            HeaderValue::from_static(metadata::STATUS_TRAILERS),
        );
    } else {
        // No trailers follow, so none are announced, not even by the handler.
        headers.remove(header::TRAILER);
    }
    response
}

/// A stream of `google.api.HttpBody`: the data of each message, raw, under the first message's
/// content type. Raw bytes have no room for an error, so one after the start aborts the body,
/// which the client sees as a broken transfer; even a client that reads trailers gets no error
/// trailer, so that a hop that drops trailers can never pass a truncated body off as whole.
fn respond_raw<Resp, S>(
    trailers: bool,
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
    let items = tokio_stream::iter(first).chain(rest.map(|item| item.and_then(|m| http_body(&m))));
    let write = |item: Result<crate::google::api::HttpBody, tonic::Status>| match item {
        Ok(body) => Written::Message(Bytes::from(body.data)),
        Err(status) => Written::Abort(status),
    };
    let mut response = http::Response::new(status_body(items, write, trailers));
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
    rpc: &'static str,
) -> Result<Started<Resp, S>, HttpError>
where
    S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
    Fut: Future<Output = Result<tonic::Response<S>, tonic::Status>> + Send,
{
    let deadline = timeout.map(|t| Box::pin(tokio::time::sleep_until(Instant::now() + t)));
    let response = run(handler, timeout, rpc).await?;
    let (metadata, stream, _) = response.into_parts();
    let mut stream = Guarded {
        inner: Box::pin(stream),
        deadline,
        rpc,
    };
    // A stream failing at its first message answers with an ordinary error; the response's
    // metadata (what gRPC would have sent as headers) comes first, then the status's own.
    let first = match stream.next().await.transpose() {
        Ok(first) => first,
        Err(mut status) => {
            let mut headers = metadata.into_headers();
            let own = std::mem::take(status.metadata_mut()).into_headers();
            let mut name = None;
            for (key, value) in own {
                name = key.or(name);
                if let Some(name) = &name {
                    headers.append(name.clone(), value);
                }
            }
            *status.metadata_mut() = tonic::metadata::MetadataMap::from_headers(headers);
            return Err(status.into());
        }
    };
    Ok((metadata, first, stream))
}

fn respond<Resp, S>(
    framing: Framing,
    trailers: bool,
    first: Option<Resp>,
    rest: Guarded<S>,
) -> http::Response<Body>
where
    Resp: Serialize + Send + 'static,
    S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
{
    let items = tokio_stream::iter(first.map(Ok)).chain(rest);
    let write = move |item| frame(framing, item);
    let mut response = http::Response::new(status_body(items, write, trailers));
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

/// One message, or the terminal error written as the last frame.
fn frame<Resp: Serialize>(framing: Framing, item: Result<Resp, tonic::Status>) -> Written {
    let (json, error) = match item.and_then(|message| {
        serde_json::to_vec(&message).map_err(|e| {
            tonic::Status::internal(format!("a message cannot be written as JSON: {e}"))
        })
    }) {
        Ok(json) => (json, None),
        Err(error) => {
            let json = status::status_json(&status::rpc_status(&error)).to_vec();
            (json, Some(error))
        }
    };
    let more = error.is_none();
    let event = (!more).then_some("error");
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
    match error {
        None => Written::Message(Bytes::from(out)),
        Some(status) => Written::Last(Bytes::from(out), status),
    }
}

/// What one item of the handler's stream becomes on the wire.
enum Written {
    /// A framed message; the stream goes on.
    Message(Bytes),
    /// The framed error, the last data; the stream ends with this status.
    Last(Bytes, tonic::Status),
    /// The body breaks off with this error (raw bytes have no room for one).
    Abort(tonic::Status),
}

/// A streamed response body: the handler's items as `write` frames them, then, for a client
/// that reads trailers, the trailers of the final status (OK when the stream just ends).
fn status_body<T, S, W>(items: S, write: W, trailers: bool) -> Body
where
    S: Stream<Item = Result<T, tonic::Status>> + Unpin + Send + 'static,
    W: FnMut(Result<T, tonic::Status>) -> Written + Unpin + Send + 'static,
{
    Body::new(http_body_util::StreamBody::new(StatusFrames {
        items,
        write,
        trailers,
        end: End::Streaming,
    }))
}

/// The frames of a [`status_body`].
struct StatusFrames<S, W> {
    items: S,
    write: W,
    trailers: bool,
    end: End,
}

enum End {
    Streaming,
    /// The data is done; the trailers of this status come next.
    Trailers(tonic::Status),
    Done,
}

impl<S, W> StatusFrames<S, W> {
    /// After the last data: the trailers of `status` if the client reads them, else the end.
    fn finish(&mut self, status: tonic::Status) -> Option<Result<Frame<Bytes>, tonic::Status>> {
        self.end = End::Done;
        self.trailers
            .then(|| Ok(Frame::trailers(metadata::status_trailers(&status))))
    }
}

impl<T, S, W> Stream for StatusFrames<S, W>
where
    S: Stream<Item = Result<T, tonic::Status>> + Unpin,
    W: FnMut(Result<T, tonic::Status>) -> Written + Unpin,
{
    type Item = Result<Frame<Bytes>, tonic::Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match std::mem::replace(&mut this.end, End::Streaming) {
            End::Streaming => {}
            End::Trailers(status) => return Poll::Ready(this.finish(status)),
            End::Done => {
                this.end = End::Done;
                return Poll::Ready(None);
            }
        }
        let Some(item) = std::task::ready!(Pin::new(&mut this.items).poll_next(cx)) else {
            return Poll::Ready(this.finish(tonic::Status::ok("")));
        };
        Poll::Ready(Some(match (this.write)(item) {
            Written::Message(bytes) => Ok(Frame::data(bytes)),
            Written::Last(bytes, status) => {
                this.end = End::Trailers(status);
                Ok(Frame::data(bytes))
            }
            Written::Abort(status) => {
                this.end = End::Done;
                Err(status)
            }
        }))
    }
}

/// The handler's stream with the call's deadline and panics turned into a final error.
pub(super) struct Guarded<S> {
    inner: Pin<Box<S>>,
    /// Fires at the call's deadline; taken once it has.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The method, for the log of a panic.
    rpc: &'static str,
}

#[cfg(feature = "websocket")]
impl<S> Guarded<S> {
    /// `stream` with panics turned into a final error, and no deadline of its own.
    pub(super) fn new(stream: S, rpc: &'static str) -> Self {
        Guarded {
            inner: Box::pin(stream),
            deadline: None,
            rpc,
        }
    }
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
            Err(panic) => {
                crate::http::log_panic(self.rpc, &*panic);
                Poll::Ready(Some(Err(tonic::Status::internal("the handler failed"))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// The data and trailers of a `status_body` over `items`, or the error it breaks off with.
    fn run(
        items: Vec<Result<&'static str, tonic::Status>>,
        raw: bool,
        trailers: bool,
    ) -> (String, Option<HeaderMap>, Option<tonic::Code>) {
        let write = move |item: Result<&'static str, tonic::Status>| match (item, raw) {
            (Ok(text), _) => Written::Message(Bytes::from(text)),
            (Err(status), false) => Written::Last(Bytes::from("error"), status),
            (Err(status), true) => Written::Abort(status),
        };
        let mut body = status_body(tokio_stream::iter(items), write, trailers);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (mut data, mut last, mut error) = (String::new(), None, None);
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(frame) if frame.is_data() => {
                        let bytes = frame.into_data().unwrap();
                        data.push_str(std::str::from_utf8(&bytes).unwrap());
                    }
                    Ok(frame) => last = frame.into_trailers().ok(),
                    Err(e) => {
                        let status = e.into_inner().downcast::<tonic::Status>().unwrap();
                        error = Some(status.code());
                    }
                }
            }
            (data, last, error)
        })
    }

    fn code(trailers: &Option<HeaderMap>) -> Option<&str> {
        trailers
            .as_ref()
            .map(|t| t["grpc-status"].to_str().unwrap())
    }

    #[test]
    fn a_stream_ends_with_the_trailers_of_its_final_status_only_when_asked() {
        let failed = || vec![Ok("a"), Err(tonic::Status::aborted("x")), Ok("never")];
        let (data, trailers, error) = run(vec![Ok("a"), Ok("b")], false, true);
        assert_eq!(
            (data.as_str(), code(&trailers), error),
            ("ab", Some("0"), None)
        );
        let (data, trailers, error) = run(failed(), false, true);
        assert_eq!(
            (data.as_str(), code(&trailers), error),
            ("aerror", Some("10"), None)
        );
        let (data, trailers, _) = run(failed(), false, false);
        assert_eq!((data.as_str(), code(&trailers)), ("aerror", None));
        let (data, trailers, _) = run(vec![Ok("a")], false, false);
        assert_eq!((data.as_str(), code(&trailers)), ("a", None));
    }

    #[test]
    fn a_raw_stream_breaks_off_at_an_error_even_when_trailers_are_read() {
        let failed = vec![Ok("a"), Err(tonic::Status::aborted("x")), Ok("never")];
        let (data, trailers, error) = run(failed, true, true);
        assert_eq!(
            (data.as_str(), code(&trailers), error),
            ("a", None, Some(tonic::Code::Aborted))
        );
        let (data, trailers, _) = run(vec![Ok("a"), Ok("b")], true, true);
        assert_eq!((data.as_str(), code(&trailers)), ("ab", Some("0")));
    }
}
