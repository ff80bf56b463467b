//! Client and bidi streaming over HTTP (docs/reference.md section 4, "Streaming"): the request body is
//! NDJSON (one message per line) or a JSON array of messages, split as it arrives, so an upload
//! of any size is never held whole. Each message is handed to the handler through a real
//! `tonic::Streaming`, the type its trait method takes.
//!
//! A stream of `google.api.HttpBody` reads the body raw instead, whatever its content type: each
//! piece of the body that arrives becomes one message (see [`RAW_PIECE_BYTES`]).
//!
//! Path variables and query parameters bind into the stream's first message only, as Envoy's
//! gRPC-JSON transcoder binds them (checked side by side with Envoy in the compile tests): the
//! query is read even with `body: "*"`, a field the first message sets keeps the message's
//! value, a repeated field gets the bound values after the message's own, and later messages
//! are passed on untouched. See `weave` for the two cases where we differ from Envoy.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use axum::body::Body;
use bytes::{Buf, Bytes, BytesMut};
use http_body::Frame;
use serde::Serialize;
use tokio_stream::Stream;

use serde_json::{Map, Value};

use super::query::{self, Cardinality, QueryField, QueryKind};
use super::routes::{call_metadata, is_json, run, Call, CallHead, HttpError, JsonMessage, Rule};

/// Serves one client-streaming call: the messages of the body in, one JSON response out.
pub async fn client_streaming<Req, Resp, F, Fut>(
    call: Call,
    rule: &'static Rule,
    method: F,
) -> http::Response<Body>
where
    Req: JsonMessage + prost::Message + Default,
    Resp: Serialize + Send + 'static,
    F: FnOnce(tonic::Request<tonic::Streaming<Req>>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send + 'static,
{
    #[cfg(feature = "websocket")]
    if super::websocket::is_upgrade(&call.parts) {
        let one = move |request| async move {
            let (metadata, message, extensions) = method(request).await?.into_parts();
            let answer = tokio_stream::once(Ok(message));
            Ok(tonic::Response::from_parts(metadata, answer, extensions))
        };
        return super::websocket::serve::<Req, Resp, _, _, _>(call, rule.response_body, one).await;
    }
    let rpc = call.method;
    let unary = |request| async move {
        let (request, timeout, gone): Opened<Req> = request?;
        run(method(request), timeout, rpc)
            .await
            .map_err(|status| {
                // The handler may answer anything once its body broke off; the client is gone.
                if gone.load(Ordering::Relaxed) {
                    tonic::Status::cancelled(format!("the client went away: {}", status.message()))
                } else {
                    status
                }
            })
            .map_err(HttpError::from)
    };
    match unary(open::<Req>(call, rule)).await {
        Ok(response) => {
            super::routes::json_response(response, rule).unwrap_or_else(HttpError::into_response)
        }
        Err(error) => error.into_response(),
    }
}

/// Serves one bidi-streaming call, half-duplex over one request: the body's messages in,
/// NDJSON (or SSE) out as the handler answers.
pub async fn bidi_streaming<Req, Resp, S, F, Fut>(
    call: Call,
    rule: &'static Rule,
    method: F,
) -> http::Response<Body>
where
    Req: JsonMessage + prost::Message + Default,
    Resp: Serialize + Send + 'static,
    S: Stream<Item = Result<Resp, tonic::Status>> + Send + 'static,
    F: FnOnce(tonic::Request<tonic::Streaming<Req>>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<tonic::Response<S>, tonic::Status>> + Send + 'static,
{
    #[cfg(feature = "websocket")]
    if super::websocket::is_upgrade(&call.parts) {
        return super::websocket::serve::<Req, Resp, S, _, _>(call, None, method).await;
    }
    let wants = super::stream::Wants::of(&call.parts.headers);
    let rpc = call.method;
    match open::<Req>(call, rule) {
        Ok((request, timeout, _)) => {
            super::stream::respond_stream(&wants, rule, method(request), timeout, rpc).await
        }
        Err(error) => error.into_response(),
    }
}

/// A streaming call ready to run: the request, its deadline, and whether the client went away
/// while sending the body.
type Opened<Req> = (
    tonic::Request<tonic::Streaming<Req>>,
    Option<std::time::Duration>,
    Arc<AtomicBool>,
);

/// The call's metadata and deadline, with the body turned into the handler's message stream.
fn open<Req>(mut call: Call, rule: &Rule) -> Result<Opened<Req>, HttpError>
where
    Req: JsonMessage + prost::Message + Default,
{
    let CallHead {
        request,
        timeout,
        content_type,
    } = call_metadata(&mut call.parts, &call.options)?;
    let bound = bound_fields::<Req>(&call)?;
    let content_type = content_type.as_ref();
    let pieces = if rule.http_body_request {
        // A client stream's body is always `*` (the plugin checks), so the messages are HttpBody.
        Pieces::Raw(RawPieces {
            content_type: content_type
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            sent: false,
        })
    } else {
        let ndjson = content_type
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().starts_with("application/x-ndjson"));
        if content_type.is_some() && !ndjson && !is_json(content_type) {
            return Err(HttpError {
                http: http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                status: tonic::Status::invalid_argument(
                    "a streamed request body is NDJSON (application/x-ndjson) or a JSON array",
                ),
            });
        }
        Pieces::Json {
            split: Splitter::default(),
            bound,
        }
    };
    let frames = GrpcFrames::<Req> {
        body: call.body,
        pieces,
        // The extensions moved into the request (the server's limit is among them).
        limit: call.options.body_limit(request.extensions()),
        ready: VecDeque::new(),
        done: false,
        gone: Arc::default(),
        _message: std::marker::PhantomData,
    };
    let gone = frames.gone.clone();
    let streaming = tonic::Streaming::new_request(
        tonic_prost::ProstDecoder::<Req>::default(),
        frames,
        None,
        None,
    );
    let (metadata, extensions, ()) = request.into_parts();
    Ok((
        tonic::Request::from_parts(metadata, extensions, streaming),
        timeout,
        gone,
    ))
}

/// The fields the path variables and the query set, as the JSON object of a message (`None`
/// when there are none): what [`weave`] puts into the stream's first message. Path beats
/// query, as in a unary call. A bad value is a 400 before the handler runs.
pub(super) fn bound_fields<Req: JsonMessage>(
    call: &Call,
) -> Result<Option<Map<String, Value>>, HttpError> {
    let query = call.parts.uri.query().unwrap_or("");
    if call.bindings.is_empty() && query.is_empty() {
        return Ok(None);
    }
    let fields = Req::query_fields();
    let paths: Vec<&str> = call.bindings.iter().map(|(f, _)| *f).collect();
    let reject_unknown = call.options.rejects_unknown_query_parameters();
    let mut object = query::to_json(fields, query, &paths, reject_unknown)?;
    for (field, value) in &call.bindings {
        query::set_path(&mut object, fields, field, value)?;
    }
    Ok((!object.is_empty()).then_some(object))
}

/// Puts the fields the path and query bound (`bound`, JSON names) into `message`, the JSON
/// object of a stream's first message, as Envoy's transcoder weaves its bindings:
/// - a field the message leaves out or sets to `null` takes the bound value, creating the
///   messages above it;
/// - a field the message sets keeps the message's value;
/// - a repeated field gets the bound values after the message's own.
///
/// Envoy compares the message's keys with proto names only, so a field the message sets under
/// its JSON name (`authorName`) takes the bound value there; here the message's value wins
/// under either name. And where the query names a field a path variable binds, Envoy takes
/// the query's value; here the path wins, as in every other call.
pub(crate) fn weave(
    message: &mut Map<String, Value>,
    bound: Map<String, Value>,
    fields: &'static [QueryField],
) {
    for (json_name, value) in bound {
        let field = fields.iter().find(|f| f.json_name == json_name);
        let key = match field {
            Some(f) if !message.contains_key(&json_name) && message.contains_key(f.proto_name) => {
                f.proto_name.to_owned()
            }
            _ => json_name,
        };
        match (message.get_mut(&key), value, field) {
            (None | Some(Value::Null), value, _) => {
                message.remove(&key);
                message.insert(key, value);
            }
            (Some(Value::Array(mine)), Value::Array(values), _) => mine.extend(values),
            (Some(Value::Object(mine)), Value::Object(values), Some(f))
                if f.cardinality == Cardinality::Singular =>
            {
                if let QueryKind::Message(nested) = f.kind {
                    weave(mine, values, nested());
                }
            }
            _ => {}
        }
    }
}

/// The request body re-framed as gRPC messages: each message (parsed from JSON, or an HttpBody
/// around raw bytes) encoded with its 5-byte gRPC header, so `tonic::Streaming` decodes it as if
/// it came over gRPC. A bad message ends the stream with INVALID_ARGUMENT, which the handler
/// sees on its next read.
struct GrpcFrames<Req> {
    body: Body,
    pieces: Pieces,
    limit: usize,
    /// Pieces of the body, each one message, not yet encoded.
    ready: VecDeque<Bytes>,
    done: bool,
    /// Set when the body broke off because the client went away.
    gone: Arc<AtomicBool>,
    _message: std::marker::PhantomData<fn() -> Req>,
}

/// How the body is cut into messages.
pub(super) enum Pieces {
    /// NDJSON lines or JSON array elements, each parsed as `Req`; `bound` (the path's and the
    /// query's fields) goes into the first.
    Json {
        split: Splitter,
        bound: Option<Map<String, Value>>,
    },
    /// Raw bytes of any content type, each piece the data of one `google.api.HttpBody`.
    Raw(RawPieces),
}

impl Pieces {
    /// The messages `data` completes.
    fn push(&mut self, data: Bytes, limit: usize) -> Result<Vec<Bytes>, tonic::Status> {
        match self {
            Pieces::Json { split, .. } => split.push(&data, limit),
            Pieces::Raw(raw) => Ok(raw.push(data)),
        }
    }

    /// The messages left when the body ends.
    fn finish(&mut self) -> Result<Vec<Bytes>, tonic::Status> {
        match self {
            Pieces::Json { split, .. } => split.finish(),
            Pieces::Raw(raw) => Ok(raw.finish()),
        }
    }

    /// One piece as a gRPC frame of `Req`.
    pub(super) fn encode<Req: JsonMessage + prost::Message>(
        &mut self,
        piece: Bytes,
    ) -> Result<Bytes, tonic::Status> {
        match self {
            Pieces::Json { bound, .. } => {
                let message = match bound.take() {
                    None => Req::from_body(&piece),
                    Some(bound) => match serde_json::from_slice::<Value>(&piece) {
                        Ok(Value::Object(mut message)) => {
                            weave(&mut message, bound, Req::query_fields());
                            Req::from_value(Value::Object(message))
                        }
                        // Not an object: the message's reader words the error.
                        Ok(_) => Req::from_body(&piece),
                        Err(e) => Err(format!("invalid JSON body: {e}")),
                    },
                };
                crate::api::grpc_frame(&message.map_err(tonic::Status::invalid_argument)?)
            }
            Pieces::Raw(raw) => crate::api::grpc_frame(&crate::google::api::HttpBody {
                content_type: raw.content_type.clone(),
                data: piece.into(),
                extensions: Vec::new(),
            }),
        }
    }
}

/// The largest `data` of one streamed `google.api.HttpBody` request message: body frames are
/// passed on as they arrive, and a bigger frame is split. Envoy's transcoder splits at 1 MiB to
/// stay under gRPC's 4 MiB message limit; 64 KiB keeps what a handler holds at a time small, and
/// hyper's frames are rarely bigger anyway. No body limit applies: a raw upload may be any size.
pub const RAW_PIECE_BYTES: usize = 64 * 1024;

/// A raw body cut into `google.api.HttpBody` messages.
pub(super) struct RawPieces {
    /// The request's Content-Type, set on every message so each one stands alone (Envoy sets it
    /// on the first only).
    content_type: String,
    /// Whether a message has been made.
    sent: bool,
}

impl RawPieces {
    fn push(&mut self, data: Bytes) -> Vec<Bytes> {
        let pieces: Vec<Bytes> = (0..data.len())
            .step_by(RAW_PIECE_BYTES)
            .map(|start| data.slice(start..data.len().min(start + RAW_PIECE_BYTES)))
            .collect();
        self.sent |= !pieces.is_empty();
        pieces
    }

    /// An empty body is one message with the content type and no data, as Envoy sends it, so
    /// the handler still learns the type.
    fn finish(&mut self) -> Vec<Bytes> {
        if std::mem::replace(&mut self.sent, true) {
            Vec::new()
        } else {
            vec![Bytes::new()]
        }
    }
}

impl<Req: JsonMessage + prost::Message + Default> http_body::Body for GrpcFrames<Req> {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        loop {
            if let Some(piece) = self.ready.pop_front() {
                return Poll::Ready(Some(self.pieces.encode::<Req>(piece).map(Frame::data)));
            }
            if self.done {
                return Poll::Ready(None);
            }
            let limit = self.limit;
            let this = &mut *self;
            match ready!(Pin::new(&mut this.body).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        let messages = this.pieces.push(data, limit)?;
                        this.ready.extend(messages);
                    }
                }
                Some(Err(e)) => {
                    // A malformed body is INVALID_ARGUMENT on the handler's next read. A client
                    // gone is ABORTED there, not CANCELLED: `tonic::Streaming` takes CANCELLED
                    // for the clean end of a request stream, and a cut upload must never pass
                    // for a whole one. The response is then CANCELLED (499).
                    this.done = true;
                    let error: Box<dyn std::error::Error + Send + Sync> = e.into();
                    let status = super::routes::body_fault(&*error);
                    if status.code() == tonic::Code::Cancelled {
                        this.gone.store(true, Ordering::Relaxed);
                        let message = status.message().to_owned();
                        return Poll::Ready(Some(Err(tonic::Status::aborted(message))));
                    }
                    return Poll::Ready(Some(Err(status)));
                }
                None => {
                    this.done = true;
                    let rest = this.pieces.finish()?;
                    this.ready.extend(rest);
                }
            }
        }
    }
}

/// Splits a byte stream into JSON messages: NDJSON lines, or the elements of one JSON array,
/// decided by the first non-blank byte. Only the message being read is kept.
///
/// Public only for the fuzz targets (README, "Fuzzing"): [`Splitter::push`] each piece of the
/// body as it arrives, then [`Splitter::finish`].
#[derive(Default)]
pub struct Splitter {
    buffer: BytesMut,
    /// `None` until the first non-blank byte; then whether the body is an array.
    array: Option<bool>,
    /// Inside the array: `{`/`[` depth of the element being read, and string state.
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// Bytes of `buffer` already scanned.
    scanned: usize,
    closed: bool,
}

impl Splitter {
    /// The messages `data` completes; an error once the message being read is over `limit`
    /// bytes or the array is malformed.
    pub fn push(&mut self, data: &[u8], limit: usize) -> Result<Vec<Bytes>, tonic::Status> {
        self.buffer.extend_from_slice(data);
        let mut out = Vec::new();
        loop {
            if self.array.is_none() {
                let start = self.buffer.iter().position(|b| !b.is_ascii_whitespace());
                let Some(start) = start else {
                    self.buffer.clear();
                    return Ok(out);
                };
                self.buffer.advance(start);
                self.array = Some(self.buffer[0] == b'[');
                if self.array == Some(true) {
                    self.buffer.advance(1);
                }
            }
            let found = if self.array == Some(true) {
                self.next_element()?
            } else {
                self.next_line()
            };
            match found {
                // A whole message that came in one piece is held to the limit too.
                Some(message) if message.len() > limit => {
                    return Err(tonic::Status::resource_exhausted(format!(
                        "a streamed message is over {limit} bytes"
                    )))
                }
                Some(message) => out.push(message),
                None => break,
            }
        }
        if self.buffer.len() > limit {
            return Err(tonic::Status::resource_exhausted(format!(
                "a streamed message is over {limit} bytes"
            )));
        }
        Ok(out)
    }

    /// The messages left when the body ends.
    pub fn finish(&mut self) -> Result<Vec<Bytes>, tonic::Status> {
        match self.array {
            Some(true) if !self.closed => Err(tonic::Status::invalid_argument(
                "the JSON array of messages is not closed",
            )),
            Some(false) => Ok(self.next_line_or_rest().into_iter().collect()),
            _ => Ok(Vec::new()),
        }
    }

    fn next_line(&mut self) -> Option<Bytes> {
        loop {
            // Only the bytes not searched yet: a long line arriving in small pieces (a
            // decompressed body comes in 4 KiB pieces) must not be searched again for each.
            let Some(newline) = self.buffer[self.scanned..].iter().position(|b| *b == b'\n') else {
                self.scanned = self.buffer.len();
                return None;
            };
            let line = self.buffer.split_to(self.scanned + newline + 1).freeze();
            self.scanned = 0;
            let trimmed = line.trim_ascii();
            if !trimmed.is_empty() {
                return Some(line.slice_ref(trimmed));
            }
        }
    }

    fn next_line_or_rest(&mut self) -> Option<Bytes> {
        if let Some(line) = self.next_line() {
            return Some(line);
        }
        let rest = self.buffer.split().freeze();
        self.scanned = 0;
        let trimmed = rest.trim_ascii();
        (!trimmed.is_empty()).then(|| rest.slice_ref(trimmed))
    }

    /// The next complete element of the array, if the buffer holds one.
    fn next_element(&mut self) -> Result<Option<Bytes>, tonic::Status> {
        if self.closed {
            if self.buffer.iter().any(|b| !b.is_ascii_whitespace()) {
                return Err(tonic::Status::invalid_argument(
                    "unexpected data after the JSON array of messages",
                ));
            }
            self.buffer.clear();
            return Ok(None);
        }
        while self.scanned < self.buffer.len() {
            let byte = self.buffer[self.scanned];
            self.scanned += 1;
            if self.in_string {
                match (self.escaped, byte) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 0 => self.depth -= 1,
                b',' | b']' if self.depth == 0 => {
                    let element = self.buffer.split_to(self.scanned).freeze();
                    self.scanned = 0;
                    if byte == b']' {
                        self.closed = true;
                    }
                    let element = element.slice(..element.len() - 1);
                    let trimmed = element.trim_ascii();
                    if trimmed.is_empty() {
                        if byte == b']' {
                            // `[]`: what follows in the buffer is checked like after any array.
                            return self.next_element();
                        }
                        return Err(tonic::Status::invalid_argument(
                            "an empty element in the JSON array of messages",
                        ));
                    }
                    return Ok(Some(element.slice_ref(trimmed)));
                }
                _ => {}
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&str]) -> Result<Vec<String>, String> {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend(
                s.push(chunk.as_bytes(), 1024)
                    .map_err(|e| e.message().to_owned())?,
            );
        }
        out.extend(s.finish().map_err(|e| e.message().to_owned())?);
        Ok(out
            .into_iter()
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
            .collect())
    }

    #[test]
    fn ndjson_and_arrays_split_into_messages_across_any_chunking() {
        let cases: &[(&[&str], &[&str])] = &[
            (&["{\"a\":1}\n{\"a\":2}\n"], &["{\"a\":1}", "{\"a\":2}"]),
            (
                &["{\"a\":", "1}\n\n{\"a\"", ":2}"],
                &["{\"a\":1}", "{\"a\":2}"],
            ),
            (
                &["  [ {\"a\":1} , {\"b\":\"x]},\"}", " ]  "],
                &["{\"a\":1}", "{\"b\":\"x]},\"}"],
            ),
            (
                &["[", "{\"s\":\"a\\\"]\"}", ",{\"n\":[1,2]}]"],
                &["{\"s\":\"a\\\"]\"}", "{\"n\":[1,2]}"],
            ),
            (
                &[
                    "{\"a\"",
                    ":1",
                    "}",
                    "\n{",
                    "\"a\":2}\n{\"a\":3}\n",
                    "{\"a\"",
                    ":4}",
                ],
                &["{\"a\":1}", "{\"a\":2}", "{\"a\":3}", "{\"a\":4}"],
            ),
            (&["[]"], &[]),
            (&[""], &[]),
        ];
        for (chunks, expected) in cases {
            assert_eq!(split(chunks).unwrap(), *expected, "{chunks:?}");
        }
    }

    #[test]
    fn raw_bodies_pass_frames_on_split_at_the_piece_size_and_an_empty_body_is_one_message() {
        let lengths = |frames: &[usize]| {
            let mut raw = RawPieces {
                content_type: String::new(),
                sent: false,
            };
            let mut out: Vec<usize> = Vec::new();
            for len in frames {
                out.extend(raw.push(Bytes::from(vec![7; *len])).iter().map(Bytes::len));
            }
            out.extend(raw.finish().iter().map(Bytes::len));
            out
        };
        let max = RAW_PIECE_BYTES;
        assert_eq!(lengths(&[3, 0, 5]), [3, 5]);
        assert_eq!(lengths(&[max, max + 1]), [max, max, 1]);
        assert_eq!(lengths(&[2 * max + 10]), [max, max, 10]);
        assert_eq!(lengths(&[]), [0]);
        assert_eq!(lengths(&[0, 0]), [0]);
    }

    #[test]
    fn bound_fields_weave_into_a_message_as_envoy_weaves_them() {
        use serde_json::json;
        const REF: &[QueryField] = &[QueryField::new(
            "shelf",
            "shelf",
            QueryKind::Text,
            Cardinality::Singular,
            None,
        )];
        fn ref_fields() -> &'static [QueryField] {
            REF
        }
        const NOTE: &[QueryField] = &[
            QueryField::new(
                "shelf",
                "shelf",
                QueryKind::Text,
                Cardinality::Singular,
                None,
            ),
            QueryField::new(
                "author_name",
                "authorName",
                QueryKind::Text,
                Cardinality::Singular,
                None,
            ),
            QueryField::new("tags", "tags", QueryKind::Text, Cardinality::Repeated, None),
            QueryField::new(
                "ref",
                "ref",
                QueryKind::Message(ref_fields),
                Cardinality::Singular,
                None,
            ),
        ];
        // (rule, first message, bound fields, what the message becomes)
        let cases = [
            (
                "an absent field takes the bound value",
                json!({"a": 1}),
                json!({"shelf": "s"}),
                json!({"a": 1, "shelf": "s"}),
            ),
            (
                "a null field takes the bound value",
                json!({"shelf": null}),
                json!({"shelf": "s"}),
                json!({"shelf": "s"}),
            ),
            (
                "a set field keeps its value, even empty",
                json!({"shelf": ""}),
                json!({"shelf": "s"}),
                json!({"shelf": ""}),
            ),
            (
                "under its proto name too",
                json!({"author_name": "m"}),
                json!({"authorName": "q"}),
                json!({"author_name": "m"}),
            ),
            (
                "repeated values follow the message's",
                json!({"tags": ["a"]}),
                json!({"tags": ["q", "r"]}),
                json!({"tags": ["a", "q", "r"]}),
            ),
            (
                "nested fields weave inside the message's",
                json!({"ref": {"shelf": "m"}}),
                json!({"ref": {"shelf": "q"}}),
                json!({"ref": {"shelf": "m"}}),
            ),
            (
                "a nested message is created",
                json!({"ref": null}),
                json!({"ref": {"shelf": "q"}}),
                json!({"ref": {"shelf": "q"}}),
            ),
            (
                "an empty nested message is filled",
                json!({"ref": {}}),
                json!({"ref": {"shelf": "q"}}),
                json!({"ref": {"shelf": "q"}}),
            ),
        ];
        for (rule, message, bound, expected) in cases {
            let (Value::Object(mut message), Value::Object(bound)) = (message, bound) else {
                unreachable!()
            };
            weave(&mut message, bound, NOTE);
            assert_eq!(Value::Object(message), expected, "{rule}");
        }
    }

    #[test]
    fn malformed_streams_are_errors() {
        assert!(split(&["[{\"a\":1}"]).unwrap_err().contains("not closed"));
        assert!(split(&["[{\"a\":1},,{}]"])
            .unwrap_err()
            .contains("empty element"));
        // Data after the array is an error however the body is cut, after an empty array too
        // (found by fuzz/fuzz_targets/stream_split.rs).
        for chunks in [
            &["[{}] x"][..],
            &["[] x"],
            &["[]", " x"],
            &["[1,] x"],
            &["[][\u{ff}]"],
        ] {
            let error = split(chunks).unwrap_err();
            assert!(
                error.contains("after the JSON array"),
                "{chunks:?}: {error}"
            );
        }
        let mut s = Splitter::default();
        let big = format!("{{\"a\":\"{}", "x".repeat(2000));
        assert!(s
            .push(big.as_bytes(), 1024)
            .unwrap_err()
            .message()
            .contains("over 1024 bytes"));
    }
}
