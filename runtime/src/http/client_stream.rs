//! Client and bidi streaming over HTTP (DESIGN section 6, "Streaming"): the request body is
//! NDJSON (one message per line) or a JSON array of messages, split as it arrives, so an upload
//! of any size is never held whole. Each message is handed to the handler through a real
//! `tonic::Streaming`, the type its trait method takes.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::body::Body;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::header;
use http_body::Frame;
use serde::Serialize;
use tokio_stream::Stream;

use super::routes::{call_metadata, is_json, run, Call, HttpError, JsonMessage, Rule};

/// Serves one client-streaming call: the messages of the body in, one JSON response out.
pub async fn client_streaming<Req, Resp, F, Fut>(
    call: Call,
    rule: &'static Rule,
    method: F,
) -> http::Response<Body>
where
    Req: JsonMessage + prost::Message + Default,
    Resp: Serialize + Send + 'static,
    F: FnOnce(tonic::Request<tonic::Streaming<Req>>) -> Fut + Send,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send,
{
    let unary = |request| async move {
        let (request, timeout) = request?;
        run(method(request), timeout).await.map_err(HttpError::from)
    };
    match unary(open::<Req>(call)).await {
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
    F: FnOnce(tonic::Request<tonic::Streaming<Req>>) -> Fut + Send,
    Fut: Future<Output = Result<tonic::Response<S>, tonic::Status>> + Send,
{
    let accept = call.parts.headers.get(header::ACCEPT).cloned();
    match open::<Req>(call) {
        Ok((request, timeout)) => {
            super::stream::respond_stream(accept.as_ref(), rule, method(request), timeout).await
        }
        Err(error) => error.into_response(),
    }
}

/// The call's metadata and deadline, with the body turned into the handler's message stream.
#[allow(clippy::type_complexity)]
fn open<Req>(
    mut call: Call,
) -> Result<
    (
        tonic::Request<tonic::Streaming<Req>>,
        Option<std::time::Duration>,
    ),
    HttpError,
>
where
    Req: JsonMessage + prost::Message + Default,
{
    let (request, timeout) = call_metadata(&mut call.parts, &call.options)?;
    let content_type = call.parts.headers.get(header::CONTENT_TYPE);
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
    let frames = GrpcFrames::<Req> {
        body: call.body,
        split: Splitter::default(),
        limit: call.options.body_limit(),
        ready: VecDeque::new(),
        done: false,
        _message: std::marker::PhantomData,
    };
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
    ))
}

/// The request body re-framed as gRPC messages: each JSON message parsed into `Req` and encoded
/// with its 5-byte gRPC header, so `tonic::Streaming` decodes it as if it came over gRPC. A bad
/// message ends the stream with INVALID_ARGUMENT, which the handler sees on its next read.
struct GrpcFrames<Req> {
    body: Body,
    split: Splitter,
    limit: usize,
    ready: VecDeque<Bytes>,
    done: bool,
    _message: std::marker::PhantomData<fn() -> Req>,
}

impl<Req: JsonMessage + prost::Message + Default> GrpcFrames<Req> {
    fn frame(json: &[u8]) -> Result<Bytes, tonic::Status> {
        let message = Req::from_body(json).map_err(tonic::Status::invalid_argument)?;
        let len = message.encoded_len();
        let mut out = BytesMut::with_capacity(5 + len);
        out.put_u8(0);
        out.put_u32(
            u32::try_from(len).map_err(|_| tonic::Status::invalid_argument("message too large"))?,
        );
        message
            .encode(&mut out)
            .map_err(|e| tonic::Status::internal(e.to_string()))?;
        Ok(out.freeze())
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
            if let Some(json) = self.ready.pop_front() {
                return Poll::Ready(Some(Self::frame(&json).map(Frame::data)));
            }
            if self.done {
                return Poll::Ready(None);
            }
            let limit = self.limit;
            let this = &mut *self;
            match ready!(Pin::new(&mut this.body).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        let messages = this.split.push(&data, limit)?;
                        this.ready.extend(messages);
                    }
                }
                Some(Err(e)) => {
                    return Poll::Ready(Some(Err(tonic::Status::cancelled(format!(
                        "reading the request body: {e}"
                    )))))
                }
                None => {
                    this.done = true;
                    let rest = this.split.finish()?;
                    this.ready.extend(rest);
                }
            }
        }
    }
}

/// Splits a byte stream into JSON messages: NDJSON lines, or the elements of one JSON array,
/// decided by the first non-blank byte. Only the message being read is kept.
#[derive(Default)]
struct Splitter {
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
    fn push(&mut self, data: &[u8], limit: usize) -> Result<Vec<Bytes>, tonic::Status> {
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

    fn finish(&mut self) -> Result<Vec<Bytes>, tonic::Status> {
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
            let newline = self.buffer.iter().position(|b| *b == b'\n')?;
            let line = self.buffer.split_to(newline + 1).freeze();
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
                            return Ok(None);
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
            (&["[]"], &[]),
            (&[""], &[]),
        ];
        for (chunks, expected) in cases {
            assert_eq!(split(chunks).unwrap(), *expected, "{chunks:?}");
        }
    }

    #[test]
    fn malformed_streams_are_errors() {
        assert!(split(&["[{\"a\":1}"]).unwrap_err().contains("not closed"));
        assert!(split(&["[{\"a\":1},,{}]"])
            .unwrap_err()
            .contains("empty element"));
        assert!(split(&["[{}] x"])
            .unwrap_err()
            .contains("after the JSON array"));
        let mut s = Splitter::default();
        let big = format!("{{\"a\":\"{}", "x".repeat(2000));
        assert!(s
            .push(big.as_bytes(), 1024)
            .unwrap_err()
            .message()
            .contains("over 1024 bytes"));
    }
}
