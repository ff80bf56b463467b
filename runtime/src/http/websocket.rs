//! WebSocket streams (docs/reference.md section 13.1): a client- or bidi-streaming route also
//! takes a WebSocket handshake on its own path, whatever its HTTP method, and serves the call
//! over the socket, full duplex:
//! - each text frame from the client is one request message, JSON, bound like the messages of
//!   an NDJSON body (path variables and query parameters go into the first); an empty text
//!   frame ends the client's messages (half-close); a binary frame, a malformed message or a
//!   frame over the message limit ends the call;
//! - each frame from the server is `{"result": <message>}`, and the last one
//!   `{"status": <google.rpc.Status>}`, then a close frame: 1000 for OK, 4000 + the gRPC code
//!   otherwise, its reason the status's message cut to the 123 bytes a close frame holds;
//! - a client that closes the socket or goes away before the status cancels the call: the
//!   handler is dropped.
//!
//! The handshake is an ordinary request of the route until the `101` goes out: the server's
//! stack, its guards and limits, the metadata and the deadline are the route's, and an error
//! there is an ordinary `google.rpc.Status` answer. The `101`'s body then lasts as long as the
//! session and ends with the call's code as its `grpc-status` trailer, so the stack's
//! `on_complete` (the access log, metrics, tracing) sees the session as one call.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::FromRequestParts;
use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use http::{HeaderMap, HeaderValue, Method, Uri};
use http_body::{Frame, SizeHint};
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::Stream;

use super::client_stream::{bound_fields, Pieces, Splitter};
use super::routes::{call_metadata, run, Call, CallHead, HttpError, JsonMessage};
use super::status;

/// The query parameter that carries a WebSocket call's `grpc-timeout`, as a browser cannot set
/// headers on a WebSocket: `?grpc-timeout=10S`. A hyphen is in no proto field's JSON name, so
/// it never shadows a field.
pub(crate) const TIMEOUT_PARAMETER: &str = "grpc-timeout";

/// How long the server waits for the client's answer to its close frame.
const CLOSING: Duration = Duration::from_secs(1);

/// Whether a request is a WebSocket handshake: `GET` with `Upgrade: websocket` (RFC 6455, over
/// HTTP/1.1; HTTP/2's extended `CONNECT` of RFC 8441 is not taken, see docs/reference.md
/// section 13.1).
pub(crate) fn is_upgrade(parts: &http::request::Parts) -> bool {
    is_handshake(&parts.method, &parts.headers)
}

/// [`is_upgrade`] of a request's method and headers.
pub(crate) fn is_handshake(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::GET
        && headers
            .get(http::header::UPGRADE)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// Moves a handshake's `grpc-timeout` query parameter into the `grpc-timeout` header (a header
/// the client sent wins), and out of the query, where it would be bound as a field.
pub(crate) fn timeout_from_query(headers: &mut HeaderMap, uri: &mut Uri) {
    let Some(query) = uri.query() else {
        return;
    };
    let mut timeout = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if name != TIMEOUT_PARAMETER {
                return true;
            }
            timeout = Some(value);
            false
        })
        .collect();
    let Some(timeout) = timeout else {
        return;
    };
    if !headers.contains_key(crate::grpc_timeout::GRPC_TIMEOUT) {
        // A value that is no header value is malformed; the call's reading of the header
        // answers a malformed one with 400, so an unreadable one becomes one too.
        let value = HeaderValue::from_str(timeout).unwrap_or(HeaderValue::from_static("?"));
        headers.insert(crate::grpc_timeout::GRPC_TIMEOUT, value);
    }
    let path_and_query = match rest.join("&") {
        rest if rest.is_empty() => uri.path().to_owned(),
        rest => format!("{}?{rest}", uri.path()),
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(path_and_query) = path_and_query.parse() {
        parts.path_and_query = Some(path_and_query);
        if let Ok(rewritten) = Uri::from_parts(parts) {
            *uri = rewritten;
        }
    }
}

/// Marks the `101` answer of a WebSocket call, whose body lasts as long as the session: the
/// server keeps that body (and the call's place among the open calls) until it ends, rather
/// than letting the connection drop it with the `101`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Session;

/// The server's drain as a session sees it (`rs_svc::serve` puts it in a handshake's
/// extensions): once it begins, an open session ends with UNAVAILABLE and close 4014, since a
/// WebSocket has no GOAWAY to let its client finish first (docs/reference.md section 13.1).
#[derive(Clone)]
pub(crate) struct Draining(pub(crate) tokio::sync::watch::Receiver<bool>);

/// Serves one call of a streaming route over WebSocket: the handshake's answer, and the session
/// once the connection is upgraded. `response_body` is the rule's `response_body` for a
/// client stream's one answer.
pub(crate) async fn serve<Req, Resp, S, F, Fut>(
    mut call: Call,
    response_body: Option<&'static str>,
    method: F,
) -> http::Response<Body>
where
    Req: JsonMessage + prost::Message + Default + 'static,
    Resp: Serialize + Send + 'static,
    S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
    F: FnOnce(tonic::Request<tonic::Streaming<Req>>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<tonic::Response<S>, tonic::Status>> + Send + 'static,
{
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut call.parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            return HttpError {
                http: rejection.status(),
                status: tonic::Status::invalid_argument(rejection.body_text()),
            }
            .into_response()
        }
    };
    // Read before the extensions move into the handler's request.
    let limit = call.options.body_limit(&call.parts.extensions);
    let draining = call.parts.extensions.remove::<Draining>();
    let opened = call_metadata(&mut call.parts, &call.options)
        .and_then(|head| Ok((head, bound_fields::<Req>(&call)?)));
    let (
        CallHead {
            request, timeout, ..
        },
        bound,
    ) = match opened {
        Ok(opened) => opened,
        Err(error) => return error.into_response(),
    };
    let session = Accepted {
        request,
        bound,
        // The deadline runs from the handshake.
        deadline: timeout.map(|timeout| tokio::time::Instant::now() + timeout),
        rpc: call.method,
        response_body,
        draining,
    };
    let (done, outcome) = oneshot::channel();
    // The session runs on a task of its own once the socket is upgraded: it takes the call's
    // span along (the handler's events belong to the call) and the call's scope, so the calls
    // the handler makes inherit its deadline as any other call's do (docs/reference.md 13.1).
    let span = tracing::Span::current();
    let scope = crate::api::CallScope::new(session.deadline.map(tokio::time::Instant::into_std));
    let mut response = upgrade
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| {
            tracing::Instrument::instrument(scope.scope(session.run(socket, method, done)), span)
        });
    *response.body_mut() = Body::new(Outcome(Some(outcome)));
    response.extensions_mut().insert(Session);
    response
}

/// A call waiting for its socket.
struct Accepted {
    request: tonic::Request<()>,
    bound: Option<Map<String, Value>>,
    deadline: Option<tokio::time::Instant>,
    rpc: &'static str,
    response_body: Option<&'static str>,
    draining: Option<Draining>,
}

/// How a session ends.
enum Ending {
    /// With this status, sent as the last frame and the close code.
    Status(tonic::Status),
    /// The client closed the socket, or went away, first: the call is cancelled.
    Gone,
}

impl Accepted {
    /// Runs the session to its end, and tells `done` the call's code once the status and the
    /// close frame are out (before the client's answer to the close frame).
    async fn run<Req, Resp, S, F, Fut>(
        self,
        socket: WebSocket,
        method: F,
        done: oneshot::Sender<tonic::Code>,
    ) where
        Req: JsonMessage + prost::Message + Default + 'static,
        Resp: Serialize + Send + 'static,
        S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
        F: FnOnce(tonic::Request<tonic::Streaming<Req>>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<S>, tonic::Status>>,
    {
        let (mut sink, mut source) = socket.split();
        // One message waits for the handler at most: a client sending faster than the handler
        // reads is held back by TCP, not buffered here.
        let (sender, receiver) = mpsc::channel(1);
        let half_closed = Arc::new(AtomicBool::new(false));
        let messages = Messages {
            receiver,
            half_closed: half_closed.clone(),
        };
        let streaming = tonic::Streaming::new_request(
            tonic_prost::ProstDecoder::<Req>::default(),
            messages,
            None,
            None,
        );
        let (metadata, extensions, ()) = self.request.into_parts();
        let request = tonic::Request::from_parts(metadata, extensions, streaming);
        let pieces = Pieces::Json {
            split: Splitter::default(),
            bound: self.bound,
        };
        let ending = {
            let reader = read::<Req>(&mut source, sender, &half_closed, pieces);
            let writer = write(&mut sink, method(request), self.rpc, self.response_body);
            let deadline = async {
                match self.deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            let drained = async {
                match self.draining {
                    // A server that is gone drains too.
                    Some(Draining(mut draining)) => drop(draining.wait_for(|on| *on).await),
                    None => std::future::pending().await,
                }
            };
            // The first to end ends the call; the others (the handler among them) are dropped.
            tokio::select! {
                ending = reader => ending,
                ending = writer => ending,
                () = deadline => Ending::Status(
                    tonic::Status::deadline_exceeded("the call's deadline passed"),
                ),
                () = drained => Ending::Status(
                    tonic::Status::unavailable("the server is shutting down"),
                ),
            }
        };
        match ending {
            Ending::Gone => {
                let _ = done.send(tonic::Code::Cancelled);
                let _ = tokio::time::timeout(CLOSING, sink.close()).await;
            }
            Ending::Status(status) => {
                let sent = async {
                    sink.send(Message::Text(status_frame(&status))).await?;
                    sink.send(Message::Close(Some(close_frame(&status)))).await
                };
                let sent = sent.await.is_ok();
                let _ = done.send(if sent {
                    status.code()
                } else {
                    tonic::Code::Cancelled
                });
                if sent {
                    // The client answers the close frame with its own, then the socket ends.
                    let _ = tokio::time::timeout(CLOSING, async {
                        while let Some(Ok(_)) = source.next().await {}
                    })
                    .await;
                }
            }
        }
    }
}

/// The client's frames, into the handler's stream, until the client closes the socket or goes
/// away, or sends what ends the call. An empty text frame ends the handler's stream; the socket
/// is read on, to see the client leave.
async fn read<Req: JsonMessage + prost::Message>(
    source: &mut SplitStream<WebSocket>,
    sender: mpsc::Sender<Bytes>,
    half_closed: &AtomicBool,
    mut pieces: Pieces,
) -> Ending {
    let mut sender = Some(sender);
    loop {
        let text = match source.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(_))) => {
                return Ending::Status(tonic::Status::invalid_argument(
                    "a WebSocket call takes text frames, one JSON message each; this frame is binary",
                ))
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None => return Ending::Gone,
            Some(Err(error)) => return too_long(error).map_or(Ending::Gone, Ending::Status),
        };
        let Some(to_handler) = &sender else {
            return Ending::Status(tonic::Status::invalid_argument(
                "a message came after the empty frame that ended the client's messages",
            ));
        };
        if text.is_empty() {
            half_closed.store(true, Ordering::Release);
            sender = None;
            continue;
        }
        match pieces.encode::<Req>(Bytes::from(text)) {
            // A handler that stopped reading its stream no longer gets what follows.
            Ok(frame) => drop(to_handler.send(frame).await),
            Err(status) => return Ending::Status(status),
        }
    }
}

/// RESOURCE_EXHAUSTED for a frame over the message limit (tungstenite refuses it from its
/// header, before reading it); `None` for a socket that broke.
fn too_long(error: axum::Error) -> Option<tonic::Status> {
    use tokio_tungstenite::tungstenite::error::{CapacityError, Error};
    match error.into_inner().downcast_ref::<Error>() {
        Some(Error::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
            Some(tonic::Status::resource_exhausted(format!(
                "a request message of {size} bytes is over the server's limit of {max_size} bytes"
            )))
        }
        _ => None,
    }
}

/// The handler's answers, as `{"result": ..}` frames; the status it ends with.
async fn write<Resp, S, Fut>(
    sink: &mut SplitSink<WebSocket, Message>,
    handler: Fut,
    rpc: &'static str,
    response_body: Option<&'static str>,
) -> Ending
where
    Resp: Serialize + Send + 'static,
    S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
    Fut: Future<Output = Result<tonic::Response<S>, tonic::Status>>,
{
    let stream = match run(handler, None, rpc).await {
        Ok(response) => response.into_inner(),
        Err(status) => return Ending::Status(status),
    };
    let mut stream = super::stream::Guarded::new(stream, rpc);
    while let Some(item) = stream.next().await {
        let frame = match item.and_then(|message| result_frame(&message, response_body)) {
            Ok(frame) => frame,
            Err(status) => return Ending::Status(status),
        };
        if sink.send(Message::Text(frame)).await.is_err() {
            return Ending::Gone;
        }
    }
    Ending::Status(tonic::Status::ok(""))
}

/// `{"result": <message>}`, or its `response_body` field.
fn result_frame<Resp: Serialize>(
    message: &Resp,
    response_body: Option<&str>,
) -> Result<Utf8Bytes, tonic::Status> {
    let unwritable = |e: serde_json::Error| {
        tonic::Status::internal(format!("a message cannot be written as JSON: {e}"))
    };
    let json = match response_body {
        None => serde_json::to_string(message).map_err(unwritable)?,
        Some(field) => {
            let mut value = serde_json::to_value(message).map_err(unwritable)?;
            let field = value.get_mut(field).map(Value::take).unwrap_or(Value::Null);
            serde_json::to_string(&field).map_err(unwritable)?
        }
    };
    Ok(format!("{{\"result\":{json}}}").into())
}

/// `{"status": <google.rpc.Status>}`, the last frame of every call that was not cancelled.
pub(crate) fn status_frame(status: &tonic::Status) -> Utf8Bytes {
    let json = status::status_json(&status::rpc_status(status));
    let mut frame = String::with_capacity(json.len() + 11);
    frame.push_str("{\"status\":");
    frame.push_str(std::str::from_utf8(&json).expect("serde_json writes UTF-8"));
    frame.push('}');
    frame.into()
}

/// The close frame after the status: 1000 for OK, 4000 + the code otherwise (4000-4999 are
/// the application's, RFC 6455 section 7.4.2); the reason is the status's message, cut at a
/// character boundary to the 123 bytes a close frame has room for.
pub(crate) fn close_frame(status: &tonic::Status) -> CloseFrame {
    let code = match status.code() {
        tonic::Code::Ok => 1000,
        code => 4000 + code as u16,
    };
    let message = status.message();
    let mut end = message.len().min(123);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    CloseFrame {
        code,
        reason: message[..end].into(),
    }
}

/// The client's messages as the body of a gRPC request, for `tonic::Streaming`: each one
/// already a gRPC frame. A body that ends without the client's half-close is an error, so a
/// handler never takes a cut stream for a whole one.
struct Messages {
    receiver: mpsc::Receiver<Bytes>,
    half_closed: Arc<AtomicBool>,
}

impl http_body::Body for Messages {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        match std::task::ready!(self.receiver.poll_recv(cx)) {
            Some(frame) => Poll::Ready(Some(Ok(Frame::data(frame)))),
            None if self.half_closed.load(Ordering::Acquire) => Poll::Ready(None),
            // ABORTED, not CANCELLED, which `tonic::Streaming` takes for a clean end.
            None => Poll::Ready(Some(Err(tonic::Status::aborted(
                "the client went away before it ended its messages",
            )))),
        }
    }
}

/// The body of the `101`: no data, and the call's code as its `grpc-status` trailer once the
/// session ends (CANCELLED when the upgrade never happened).
struct Outcome(Option<oneshot::Receiver<tonic::Code>>);

impl http_body::Body for Outcome {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let Some(receiver) = self.0.as_mut() else {
            return Poll::Ready(None);
        };
        let code = std::task::ready!(Pin::new(receiver).poll(cx)).unwrap_or(tonic::Code::Cancelled);
        self.0 = None;
        let mut trailers = HeaderMap::new();
        trailers.insert(
            http::HeaderName::from_static("grpc-status"),
            HeaderValue::from(code as i32),
        );
        Poll::Ready(Some(Ok(Frame::trailers(trailers))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        // No data: never worth compressing.
        SizeHint::with_exact(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_are_1000_for_ok_and_4000_plus_the_code_otherwise() {
        let cases = [
            (tonic::Code::Ok, 1000),
            (tonic::Code::InvalidArgument, 4003),
            (tonic::Code::DeadlineExceeded, 4004),
            (tonic::Code::ResourceExhausted, 4008),
            (tonic::Code::Unauthenticated, 4016),
        ];
        for (code, close) in cases {
            assert_eq!(
                close_frame(&tonic::Status::new(code, "x")).code,
                close,
                "{code:?}"
            );
        }
    }

    #[test]
    fn a_close_reason_is_the_message_cut_to_123_bytes_at_a_character_boundary() {
        let cases = [
            ("short".to_owned(), "short".to_owned()),
            ("a".repeat(200), "a".repeat(123)),
            // 'é' is two bytes: 61 of them are 122 bytes, the 62nd would reach 124.
            ("é".repeat(100), "é".repeat(61)),
        ];
        for (message, reason) in cases {
            let frame = close_frame(&tonic::Status::internal(message));
            assert_eq!(frame.reason.as_str(), reason);
            assert!(frame.reason.len() <= 123);
        }
    }

    #[test]
    fn server_frames_are_a_result_or_a_status_envelope() {
        // A message with a `code` field is still a result: the envelope tells them apart.
        let message = serde_json::json!({"code": 5, "message": "not a status"});
        assert_eq!(
            result_frame(&message, None).unwrap().as_str(),
            r#"{"result":{"code":5,"message":"not a status"}}"#
        );
        assert_eq!(
            result_frame(&message, Some("message")).unwrap().as_str(),
            r#"{"result":"not a status"}"#
        );
        assert_eq!(
            status_frame(&tonic::Status::not_found("no such user")).as_str(),
            r#"{"status":{"code":5,"message":"no such user","details":[]}}"#
        );
    }

    #[test]
    fn the_timeout_parameter_becomes_the_header_and_leaves_the_query() {
        let cases = [
            (
                "/v1/users:lookup?grpc-timeout=5S",
                None,
                "/v1/users:lookup",
                "5S",
            ),
            ("/v1/a?x=1&grpc-timeout=2m&y=2", None, "/v1/a?x=1&y=2", "2m"),
            ("/v1/a?grpc-timeout=2m", Some("9S"), "/v1/a", "9S"),
            ("/v1/a?x=1", None, "/v1/a?x=1", ""),
        ];
        for (uri, header, want_uri, want_header) in cases {
            let mut uri: Uri = uri.parse().unwrap();
            let mut headers = HeaderMap::new();
            if let Some(header) = header {
                headers.insert("grpc-timeout", HeaderValue::from_static(header));
            }
            timeout_from_query(&mut headers, &mut uri);
            assert_eq!(uri.to_string(), want_uri);
            let got = headers.get("grpc-timeout").map(|v| v.to_str().unwrap());
            assert_eq!(got.unwrap_or(""), want_header);
        }
    }
}
