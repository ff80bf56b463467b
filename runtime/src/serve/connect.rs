//! The Connect protocol (docs/reference.md section 13): a Connect call, unary or streaming, with
//! binary (`application/proto`, `application/connect+proto`) or JSON (`application/json`,
//! `application/connect+json`) messages, turned into a gRPC call of the served services and its
//! gRPC answer turned back, as tonic-web does for gRPC-Web. No second router: the call reaches
//! the gRPC routes under its own path, so the limits, the deadline, the stack's layers, the
//! access log and metrics apply as to any gRPC call.
//!
//! Binary messages are passed through as they are, re-framed. JSON messages are the generated
//! messages' own JSON (the HTTP/JSON routes'), converted from and to the encoding through the
//! registry that `google.protobuf.Any` JSON uses, by the method's input and output types as the
//! descriptor sets given to the builder name them (`Builder::file_descriptor_set`).
//!
//! A translation rather than a Connect crate: the Rust implementations of the protocol serve
//! their own generated service traits and messages through their own router, while this one
//! serves the tonic services and messages the plugin generates, through the routes they already
//! have.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use axum::body::Body;
use base64::Engine as _;
use bytes::{Buf as _, BufMut as _, Bytes, BytesMut};
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use serde_json::{json, Map, Value};
use tonic::{Code, Status};
use tower::Service as _;

use super::conn::Dispatch;
use crate::http::call::ConnectCall;
use crate::http::status::http_status;

const PROTOCOL_VERSION: &str = "connect-protocol-version";
const TIMEOUT_MS: &str = "connect-timeout-ms";
/// An envelope's flags: its message is compressed; it ends the stream (answers only).
const COMPRESSED: u8 = 0x01;
const END_STREAM: u8 = 0x02;

/// What the Connect translation knows of the served API, built once by `Builder::build`.
pub(super) struct Connect {
    /// The described methods (`package.Service/Method`) and their message types.
    methods: HashMap<String, Types>,
    /// The server's receive limit, which also bounds a request's body before translation.
    max_message: usize,
}

/// A method's message types (full names, no leading dot).
#[derive(Debug)]
struct Types {
    input: String,
    output: String,
    /// `idempotency_level = NO_SIDE_EFFECTS`: the method may be called with GET.
    no_side_effects: bool,
}

/// How a Connect call's messages are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Codec {
    Proto,
    Json,
}

/// What the request's head says of the call.
#[derive(Debug, PartialEq, Eq)]
struct Head {
    codec: Codec,
    streaming: bool,
}

/// A Connect error answer before the call reached the gRPC routes: the status, and the HTTP
/// status when it is not the code's own (405, 415).
struct Refused(Status, Option<StatusCode>);

impl From<Status> for Refused {
    fn from(status: Status) -> Self {
        Refused(status, None)
    }
}

impl Connect {
    /// The methods of the encoded descriptor `sets` (a set that does not decode was reported by
    /// reflection already), and the server's receive limit.
    pub(super) fn new(sets: &[&'static [u8]], max_message: usize) -> Self {
        use prost::Message as _;
        let mut methods = HashMap::new();
        for set in sets {
            let Ok(set) = prost_types::FileDescriptorSet::decode(*set) else {
                continue;
            };
            for file in &set.file {
                for service in &file.service {
                    let service_name = match file.package() {
                        "" => service.name().to_owned(),
                        package => format!("{package}.{}", service.name()),
                    };
                    for method in &service.method {
                        let no_side_effects = method.options.as_ref().is_some_and(|options| {
                            options.idempotency_level()
                                == prost_types::method_options::IdempotencyLevel::NoSideEffects
                        });
                        let types = Types {
                            input: method.input_type().trim_start_matches('.').to_owned(),
                            output: method.output_type().trim_start_matches('.').to_owned(),
                            no_side_effects,
                        };
                        methods.insert(format!("{service_name}/{}", method.name()), types);
                    }
                }
            }
        }
        Connect {
            methods,
            max_message,
        }
    }

    /// Whether `request` is a Connect call: a POST with a Connect content type
    /// (`application/proto`, `application/connect+...`) or with `Connect-Protocol-Version` (which
    /// tells a Connect JSON call from an HTTP/JSON request), or a GET with `connect=v1` in its
    /// query.
    pub(super) fn wants<B>(request: &Request<B>) -> bool {
        match *request.method() {
            Method::POST => {
                request.headers().contains_key(PROTOCOL_VERSION)
                    || content_type(request.headers()).is_some_and(|kind| {
                        kind == "application/proto" || kind.starts_with("application/connect+")
                    })
            }
            Method::GET => request.uri().query().is_some_and(|query| {
                form_urlencoded::parse(query.as_bytes())
                    .any(|(key, value)| key == "connect" && value == "v1")
            }),
            _ => false,
        }
    }

    /// Serves one Connect call through the connection's `dispatch`.
    pub(super) async fn call(
        self: Arc<Self>,
        request: Request<Incoming>,
        mut dispatch: Dispatch,
    ) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let method = parts.uri.path().trim_start_matches('/').to_owned();
        let timeout = match parts.headers.get(TIMEOUT_MS).map(grpc_timeout) {
            None => None,
            Some(Some(timeout)) => Some(timeout),
            Some(None) => {
                let status = Status::invalid_argument(format!(
                    "`Connect-Timeout-Ms: {}` is not a timeout: 1 to 10 digits of milliseconds",
                    String::from_utf8_lossy(parts.headers[TIMEOUT_MS].as_bytes())
                ));
                return error_answer(&status, None, HeaderMap::new());
            }
        };
        let (head, messages) = match self.translate(&parts, body, &method).await {
            Ok(translated) => translated,
            Err(Refused(status, http)) => return error_answer(&status, http, HeaderMap::new()),
        };
        let mut request = Request::new(Full::new(messages));
        *request.method_mut() = Method::POST;
        // The path alone: a GET call's query is not part of the gRPC method.
        *request.uri_mut() = match parts.uri.path().parse() {
            Ok(uri) => uri,
            Err(_) => {
                let status = Status::unimplemented("the path is not a method's");
                return error_answer(&status, None, HeaderMap::new());
            }
        };
        *request.version_mut() = parts.version;
        *request.headers_mut() = grpc_headers(&parts.headers);
        if let Some(timeout) = timeout {
            request
                .headers_mut()
                .insert(crate::grpc_timeout::GRPC_TIMEOUT, timeout);
        }
        *request.extensions_mut() = parts.extensions;
        request.extensions_mut().insert(ConnectCall);
        let output = match head.codec {
            Codec::Json => self.methods.get(&method).map(|t| t.output.clone()),
            Codec::Proto => None,
        };
        let answer = match dispatch.call(request).await {
            Ok(answer) => answer,
            Err(never) => match never {},
        };
        let (answer, body) = answer.into_parts();
        let body = Body::new(body);
        if head.streaming {
            stream_answer(answer, body, head.codec, output)
        } else {
            unary_answer(answer, body, head.codec, output).await
        }
    }

    /// The call's head and its messages as gRPC frames, or why it is refused.
    async fn translate(
        &self,
        parts: &http::request::Parts,
        body: Incoming,
        method: &str,
    ) -> Result<(Head, Bytes), Refused> {
        let get = parts.method == Method::GET;
        if let Some(version) = parts.headers.get(PROTOCOL_VERSION) {
            if version != "1" {
                return Err(Status::invalid_argument(format!(
                    "`Connect-Protocol-Version: {}` is not supported: this server speaks version 1",
                    String::from_utf8_lossy(version.as_bytes())
                ))
                .into());
            }
        }
        let types = self.methods.get(method);
        let (head, message) = if get {
            if !types.is_some_and(|t| t.no_side_effects) {
                return Err(Refused(
                    Status::unimplemented(format!(
                        "{method} may not be called with GET: only methods with \
                         `idempotency_level = NO_SIDE_EFFECTS` may, and POST works for all"
                    )),
                    Some(StatusCode::METHOD_NOT_ALLOWED),
                ));
            }
            get_message(parts.uri.query().unwrap_or(""))?
        } else {
            let head = head(&parts.headers)?;
            let encoding = if head.streaming {
                "connect-content-encoding"
            } else {
                "content-encoding"
            };
            if let Some(encoding) = parts.headers.get(encoding) {
                if encoding != "identity" {
                    return Err(Status::unimplemented(format!(
                        "messages compressed with `{}` are not accepted: send them uncompressed \
                         (identity)",
                        String::from_utf8_lossy(encoding.as_bytes())
                    ))
                    .into());
                }
            }
            let body = read_body(body, self.max_message).await?;
            (head, body)
        };
        let messages = if head.streaming {
            envelopes(message)?
        } else {
            vec![message]
        };
        let mut frames = BytesMut::new();
        for message in messages {
            let message = match head.codec {
                Codec::Proto => message,
                Codec::Json => {
                    let Some(types) = types else {
                        return Err(Status::unimplemented(format!(
                            "{method} is not a method of the descriptor sets the server was given \
                             (Builder::file_descriptor_set), which JSON calls need; binary calls \
                             (application/proto) do not"
                        ))
                        .into());
                    };
                    let json: &[u8] = if message.iter().all(u8::is_ascii_whitespace) {
                        b"{}"
                    } else {
                        &message
                    };
                    crate::wkt::json_to_encoded(&types.input, json)
                        .map(Bytes::from)
                        .map_err(|e| {
                            Status::invalid_argument(format!("invalid JSON message: {e}"))
                        })?
                }
            };
            frames.put_u8(0);
            frames.put_u32(message.len() as u32);
            frames.put(message);
        }
        Ok((head, frames.freeze()))
    }
}

/// The media type of `Content-Type`, in lower case, without parameters.
fn content_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or("").trim();
    Some(essence.to_ascii_lowercase())
}

/// The codec and kind of a POST call from its content type.
fn head(headers: &HeaderMap) -> Result<Head, Refused> {
    let kind = content_type(headers).unwrap_or_default();
    let (codec, streaming) = match kind.as_str() {
        "application/proto" => (Codec::Proto, false),
        "application/json" => (Codec::Json, false),
        "application/connect+proto" => (Codec::Proto, true),
        "application/connect+json" => (Codec::Json, true),
        _ => {
            let status = Status::unimplemented(format!(
                "the content type `{kind}` is not a Connect codec this server speaks: \
                 application/proto, application/json, application/connect+proto or \
                 application/connect+json"
            ));
            return Err(Refused(status, Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)));
        }
    };
    Ok(Head { codec, streaming })
}

/// The message of a unary GET call: `encoding` (`proto` or `json`), `message` (base64 with
/// `base64=1`, URL-safe or standard, padded or not), `compression` unset or `identity`.
fn get_message(query: &str) -> Result<(Head, Bytes), Refused> {
    let (mut encoding, mut message, mut base64, mut compression) = (None, None, false, None);
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        // As a form decodes it (`+` is a space), but to bytes: a binary message sent without
        // `base64=1` is not text.
        let value: Vec<u8> =
            percent_encoding::percent_decode(value.replace('+', " ").as_bytes()).collect();
        let text = || String::from_utf8_lossy(&value).into_owned();
        match key {
            "encoding" => encoding = Some(text()),
            "message" => message = Some(value.clone()),
            "base64" => base64 = value == b"1",
            "compression" => compression = Some(text()),
            _ => {}
        }
    }
    let codec = match encoding.as_deref() {
        Some("proto") => Codec::Proto,
        Some("json") => Codec::Json,
        other => {
            let status = Status::unimplemented(format!(
                "a GET call's `encoding` is `proto` or `json`, not {other:?}"
            ));
            return Err(Refused(status, Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)));
        }
    };
    if compression.as_deref().is_some_and(|c| c != "identity") {
        return Err(Status::unimplemented(
            "compressed GET messages are not accepted: send them uncompressed (identity)",
        )
        .into());
    }
    let message = message.unwrap_or_default();
    let message = if base64 {
        let end = message
            .iter()
            .rposition(|b| *b != b'=')
            .map_or(0, |i| i + 1);
        let trimmed = &message[..end];
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(trimmed)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
            .map_err(|_| Status::invalid_argument("the `message` parameter is not valid base64"))?
    } else {
        message
    };
    let head = Head {
        codec,
        streaming: false,
    };
    Ok((head, message.into()))
}

/// A request body, up to the receive limit (plus an envelope's head).
async fn read_body(body: Incoming, max: usize) -> Result<Bytes, Refused> {
    match Limited::new(body, max.saturating_add(5)).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(Status::resource_exhausted(format!(
            "the request body is over the server's limit of {max} bytes"
        ))
        .into()),
        Err(error) => Err(Status::invalid_argument(format!(
            "the request body could not be read: {error}"
        ))
        .into()),
    }
}

/// The messages of a streaming request's envelopes.
fn envelopes(mut body: Bytes) -> Result<Vec<Bytes>, Refused> {
    let mut messages = Vec::new();
    while !body.is_empty() {
        if body.len() < 5 {
            return Err(Status::invalid_argument(
                "the request body ends inside an envelope's 5-byte head",
            )
            .into());
        }
        let flags = body[0];
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        if flags & COMPRESSED != 0 {
            return Err(Status::unimplemented(
                "a compressed envelope came without Connect-Content-Encoding; send messages \
                 uncompressed",
            )
            .into());
        }
        if flags != 0 {
            return Err(Status::invalid_argument(format!(
                "an envelope of the request has the flags {flags:#04x}: only 0x00 is valid there"
            ))
            .into());
        }
        if body.len() - 5 < len {
            return Err(Status::invalid_argument(format!(
                "an envelope says its message has {len} bytes, but the body ends after {}",
                body.len() - 5
            ))
            .into());
        }
        body.advance(5);
        messages.push(body.split_to(len));
    }
    Ok(messages)
}

/// The gRPC request's headers: the Connect call's metadata (every header but the transport's and
/// Connect's own), with gRPC's content type and `te`.
fn grpc_headers(headers: &HeaderMap) -> HeaderMap {
    let mut grpc = HeaderMap::with_capacity(headers.len() + 2);
    for (name, value) in headers {
        let skip = matches!(
            *name,
            header::CONTENT_TYPE
                | header::CONTENT_LENGTH
                | header::CONTENT_ENCODING
                | header::ACCEPT_ENCODING
                | header::TE
                | header::CONNECTION
                | header::TRANSFER_ENCODING
        ) || name.as_str().starts_with("connect-")
            || name.as_str().starts_with("grpc-");
        if !skip {
            grpc.append(name.clone(), value.clone());
        }
    }
    grpc.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    grpc.insert(header::TE, HeaderValue::from_static("trailers"));
    grpc
}

/// `Connect-Timeout-Ms` (1 to 10 digits) as `grpc-timeout` (at most 8 digits: whole seconds,
/// rounded up, beyond that).
fn grpc_timeout(value: &HeaderValue) -> Option<HeaderValue> {
    let text = value.to_str().ok()?;
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms: u64 = text.parse().ok()?;
    let grpc = if ms <= 99_999_999 {
        format!("{ms}m")
    } else {
        format!("{}S", ms.div_ceil(1000))
    };
    HeaderValue::from_str(&grpc).ok()
}

/// Whether a gRPC answer's header is the transport's or gRPC's own rather than metadata.
fn not_metadata(name: &HeaderName) -> bool {
    matches!(
        *name,
        header::CONTENT_TYPE
            | header::CONTENT_LENGTH
            | header::TE
            | header::TRAILER
            | header::TRANSFER_ENCODING
            | header::CONNECTION
    ) || name.as_str().starts_with("grpc-")
}

/// The metadata headers of `headers`.
fn metadata(headers: &HeaderMap) -> HeaderMap {
    let mut metadata = HeaderMap::new();
    for (name, value) in headers {
        if !not_metadata(name) {
            metadata.append(name.clone(), value.clone());
        }
    }
    metadata
}

/// The Connect name of a code.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "canceled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// A Connect error's JSON: its code, message and details (`type`, `value` as unpadded base64,
/// and `debug`, the detail's JSON, when its type is known).
fn error_json(status: &Status) -> Value {
    use prost::Message as _;
    let mut error = Map::new();
    error.insert("code".into(), code_name(status.code()).into());
    if !status.message().is_empty() {
        error.insert("message".into(), status.message().into());
    }
    let details = crate::google::rpc::Status::decode(status.details())
        .map(|rpc| rpc.details)
        .unwrap_or_default();
    if !details.is_empty() {
        let details = details
            .iter()
            .map(|any| {
                let name = any.type_url.rsplit('/').next().unwrap_or(&any.type_url);
                let mut detail = json!({
                    "type": name,
                    "value": base64::engine::general_purpose::STANDARD_NO_PAD.encode(&any.value),
                });
                if let Some(debug) = crate::wkt::encoded_to_json(name, &any.value)
                    .ok()
                    .and_then(|json| serde_json::from_slice::<Value>(&json).ok())
                {
                    detail["debug"] = debug;
                }
                detail
            })
            .collect::<Vec<_>>();
        error.insert("details".into(), details.into());
    }
    Value::Object(error)
}

/// A unary call's error answer: the code's HTTP status (or `http`), the error's JSON, and the
/// metadata `headers`.
fn error_answer(status: &Status, http: Option<StatusCode>, headers: HeaderMap) -> Response<Body> {
    let body = serde_json::to_vec(&error_json(status)).unwrap_or_default();
    let mut answer = Response::new(Body::from(body));
    *answer.status_mut() = http.unwrap_or_else(|| http_status(status.code()));
    *answer.headers_mut() = headers;
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    answer
}

/// The status a gRPC answer ended with: its trailers', or its head's (trailers-only), or one made
/// from an HTTP status that is not 200.
fn grpc_status(head: &http::response::Parts, trailers: Option<&HeaderMap>) -> Option<Status> {
    trailers
        .and_then(Status::from_header_map)
        .or_else(|| Status::from_header_map(&head.headers))
        .or_else(|| {
            (head.status != StatusCode::OK).then(|| {
                Status::new(
                    crate::http::status::code_of_http(head.status),
                    format!("the server answered HTTP {}", head.status),
                )
            })
        })
}

/// The one message of a gRPC answer's body, written in `codec`.
fn one_message(data: &[u8], codec: Codec, output: Option<&str>) -> Result<Bytes, Status> {
    let (flags, len) = match data {
        [flags, a, b, c, d, ..] => (*flags, u32::from_be_bytes([*a, *b, *c, *d]) as usize),
        _ => return Err(Status::internal("the answer holds no message")),
    };
    if flags != 0 || data.len() - 5 != len {
        return Err(Status::internal(
            "the answer is not one uncompressed message",
        ));
    }
    encode(&data[5..], codec, output)
}

/// An encoded answer message, written in `codec`.
fn encode(message: &[u8], codec: Codec, output: Option<&str>) -> Result<Bytes, Status> {
    match (codec, output) {
        (Codec::Proto, _) => Ok(Bytes::copy_from_slice(message)),
        (Codec::Json, Some(output)) => crate::wkt::encoded_to_json(output, message)
            .map(Bytes::from)
            .map_err(|e| Status::internal(format!("the answer cannot be written as JSON: {e}"))),
        (Codec::Json, None) => Err(Status::internal("the answer's type is not known")),
    }
}

/// A unary call's answer: the message with status 200, or the error; the gRPC answer's
/// metadata as headers, its trailers' as `trailer-` headers.
async fn unary_answer(
    head: http::response::Parts,
    body: Body,
    codec: Codec,
    output: Option<String>,
) -> Response<Body> {
    let (data, trailers) = match body.collect().await {
        Ok(collected) => {
            let trailers = collected.trailers().cloned();
            (collected.to_bytes(), trailers)
        }
        Err(error) => {
            let status = Status::unavailable(format!("the answer could not be read: {error}"));
            return error_answer(&status, None, metadata(&head.headers));
        }
    };
    let mut headers = metadata(&head.headers);
    if let Some(trailers) = &trailers {
        for (name, value) in &metadata(trailers) {
            if let Ok(name) = HeaderName::try_from(format!("trailer-{name}")) {
                headers.append(name, value.clone());
            }
        }
    }
    let message = match grpc_status(&head, trailers.as_ref()) {
        Some(status) if status.code() != Code::Ok => {
            return error_answer(&status, None, headers);
        }
        Some(_) => one_message(&data, codec, output.as_deref()),
        None => Err(Status::internal("the answer ended without a status")),
    };
    match message {
        Ok(message) => {
            let mut answer = Response::new(Body::from(message));
            *answer.headers_mut() = headers;
            let kind = match codec {
                Codec::Proto => "application/proto",
                Codec::Json => "application/json",
            };
            answer
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            answer
        }
        Err(status) => error_answer(&status, None, headers),
    }
}

/// A streaming call's answer: status 200, the gRPC answer's metadata as headers, and a body of
/// envelopes ending with the end-stream envelope.
fn stream_answer(
    head: http::response::Parts,
    body: Body,
    codec: Codec,
    output: Option<String>,
) -> Response<Body> {
    let kind = match codec {
        Codec::Proto => "application/connect+proto",
        Codec::Json => "application/connect+json",
    };
    let ended = grpc_status(&head, None).filter(|status| status.code() != Code::Ok);
    let stream = Envelopes {
        inner: body,
        buffer: BytesMut::new(),
        codec,
        output,
        ended,
        done: false,
    };
    let mut answer = Response::new(Body::new(stream));
    *answer.headers_mut() = metadata(&head.headers);
    answer
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    answer
}

/// A gRPC answer's body as Connect envelopes: each message re-framed (converted to JSON for the
/// JSON codec), then the end-stream envelope with the status and the trailers' metadata.
struct Envelopes {
    inner: Body,
    buffer: BytesMut,
    codec: Codec,
    output: Option<String>,
    /// An error the answer's head already gave (trailers-only).
    ended: Option<Status>,
    done: bool,
}

impl Envelopes {
    /// The next complete gRPC frame of the buffer as an envelope.
    fn next_envelope(&mut self) -> Option<Result<Bytes, Status>> {
        if self.buffer.len() < 5 {
            return None;
        }
        let len = u32::from_be_bytes([
            self.buffer[1],
            self.buffer[2],
            self.buffer[3],
            self.buffer[4],
        ]) as usize;
        if self.buffer.len() - 5 < len {
            return None;
        }
        let frame = self.buffer.split_to(5 + len).freeze();
        if frame[0] != 0 {
            return Some(Err(Status::internal(
                "the answer holds a compressed message",
            )));
        }
        if self.codec == Codec::Proto {
            return Some(Ok(frame));
        }
        Some(
            encode(&frame[5..], self.codec, self.output.as_deref()).map(|message| {
                let mut envelope = BytesMut::with_capacity(5 + message.len());
                envelope.put_u8(0);
                envelope.put_u32(message.len() as u32);
                envelope.put(message);
                envelope.freeze()
            }),
        )
    }

    /// The end-stream envelope: the error unless `status` is OK, and the trailers' metadata.
    fn end(&mut self, status: Option<Status>, trailers: Option<&HeaderMap>) -> Bytes {
        self.done = true;
        let mut end = Map::new();
        let status =
            status.unwrap_or_else(|| Status::internal("the answer ended without a status"));
        if status.code() != Code::Ok {
            end.insert("error".into(), error_json(&status));
        }
        let mut listed: Map<String, Value> = Map::new();
        for (name, value) in trailers.map(metadata).unwrap_or_default().iter() {
            let Ok(value) = value.to_str() else { continue };
            let values = listed
                .entry(name.as_str())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(values) = values {
                values.push(value.into());
            }
        }
        if !listed.is_empty() {
            end.insert("metadata".into(), Value::Object(listed));
        }
        let json = serde_json::to_vec(&Value::Object(end)).unwrap_or_default();
        let mut envelope = BytesMut::with_capacity(5 + json.len());
        envelope.put_u8(END_STREAM);
        envelope.put_u32(json.len() as u32);
        envelope.put_slice(&json);
        envelope.freeze()
    }
}

impl http_body::Body for Envelopes {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            if let Some(envelope) = this.next_envelope() {
                let data = match envelope {
                    Ok(envelope) => envelope,
                    Err(status) => this.end(Some(status), None),
                };
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            let end = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        this.buffer.extend_from_slice(&data);
                        continue;
                    }
                    Err(frame) => match frame.into_trailers() {
                        Ok(trailers) => {
                            let status = Status::from_header_map(&trailers);
                            this.end(status, Some(&trailers))
                        }
                        Err(_) => continue,
                    },
                },
                Some(Err(error)) => {
                    let status =
                        Status::unavailable(format!("the answer could not be read: {error}"));
                    this.end(Some(status), None)
                }
                None => {
                    let status = this.ended.take();
                    let status = match status {
                        Some(status) => Some(status),
                        None if !this.buffer.is_empty() => {
                            Some(Status::internal("the answer ends inside a message"))
                        }
                        None => None,
                    };
                    this.end(status, None)
                }
            };
            return Poll::Ready(Some(Ok(Frame::data(end))));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gRPC answer: its head's headers, and a body of `chunks` then `trailers`.
    fn grpc_answer(
        head: &[(&str, &str)],
        chunks: Vec<Vec<u8>>,
        trailers: &[(&'static str, &str)],
    ) -> (http::response::Parts, Body) {
        let mut frames: Vec<Result<Frame<Bytes>, Infallible>> = chunks
            .into_iter()
            .map(|chunk| Ok(Frame::data(Bytes::from(chunk))))
            .collect();
        if !trailers.is_empty() {
            let mut map = HeaderMap::new();
            for (name, value) in trailers {
                map.append(*name, HeaderValue::from_str(value).unwrap());
            }
            frames.push(Ok(Frame::trailers(map)));
        }
        let body = Body::new(http_body_util::StreamBody::new(tokio_stream::iter(frames)));
        let mut answer = Response::new(());
        for (name, value) in head {
            answer.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        (answer.into_parts().0, body)
    }

    fn frame(flags: u8, message: &[u8]) -> Vec<u8> {
        let mut frame = vec![flags];
        frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
        frame.extend_from_slice(message);
        frame
    }

    /// The envelopes of a streaming answer's body: each one's flags and message.
    async fn envelopes_of(answer: Response<Body>) -> Vec<(u8, Vec<u8>)> {
        let mut body = answer.into_body().collect().await.unwrap().to_bytes();
        let mut out = Vec::new();
        while !body.is_empty() {
            let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
            out.push((body[0], body[5..5 + len].to_vec()));
            body.advance(5 + len);
        }
        out
    }

    #[tokio::test]
    async fn streams_are_re_enveloped_across_any_split_and_end_with_the_status() {
        use prost::Message as _;
        let info = |name: &str| crate::google::rpc::ResourceInfo {
            resource_name: name.into(),
            ..Default::default()
        };
        let (a, b) = (info("a").encode_to_vec(), info("b").encode_to_vec());
        let whole = [frame(0, &a), frame(0, &b)].concat();
        let trailers = [
            ("grpc-status", "5"),
            ("grpc-message", "gone%20away"),
            ("x-a", "1"),
        ];
        for split in 0..=whole.len() {
            let chunks = vec![whole[..split].to_vec(), whole[split..].to_vec()];
            for codec in [Codec::Proto, Codec::Json] {
                let (head, body) = grpc_answer(&[("x-lead", "l")], chunks.clone(), &trailers);
                let output = Some("google.rpc.ResourceInfo".to_owned());
                let answer = stream_answer(head, body, codec, output);
                assert_eq!(answer.headers()["x-lead"], "l");
                let got = envelopes_of(answer).await;
                let messages: Vec<Vec<u8>> = match codec {
                    Codec::Proto => vec![a.clone(), b.clone()],
                    Codec::Json => vec![
                        br#"{"resourceType":"","resourceName":"a","owner":"","description":""}"#
                            .to_vec(),
                        br#"{"resourceType":"","resourceName":"b","owner":"","description":""}"#
                            .to_vec(),
                    ],
                };
                assert_eq!(got.len(), 3, "{split} {codec:?}");
                assert_eq!(got[0], (0, messages[0].clone()), "{split} {codec:?}");
                assert_eq!(got[1], (0, messages[1].clone()), "{split} {codec:?}");
                let end: Value = serde_json::from_slice(&got[2].1).unwrap();
                assert_eq!(got[2].0, END_STREAM);
                assert_eq!(
                    end,
                    json!({"error": {"code": "not_found", "message": "gone away"},
                           "metadata": {"x-a": ["1"]}}),
                    "{split} {codec:?}"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_stream_that_ends_at_once_ends_with_the_heads_status_or_ok() {
        // Trailers-only: the status in the head.
        let (head, body) = grpc_answer(&[("grpc-status", "7")], vec![], &[]);
        let got = envelopes_of(stream_answer(head, body, Codec::Proto, None)).await;
        let end: Value = serde_json::from_slice(&got[0].1).unwrap();
        assert_eq!((got.len(), got[0].0), (1, END_STREAM));
        assert_eq!(end, json!({"error": {"code": "permission_denied"}}));
        // An empty stream that succeeded: `{}`.
        let (head, body) = grpc_answer(&[], vec![], &[("grpc-status", "0")]);
        let got = envelopes_of(stream_answer(head, body, Codec::Proto, None)).await;
        assert_eq!(got, [(END_STREAM, b"{}".to_vec())]);
    }

    #[tokio::test]
    async fn unary_answers_are_the_bare_message_or_the_error_with_trailers_as_headers() {
        let message = [8, 1];
        let (head, body) = grpc_answer(
            &[("x-lead", "l")],
            vec![frame(0, &message)],
            &[("grpc-status", "0"), ("x-tail", "t")],
        );
        let answer = unary_answer(head, body, Codec::Proto, None).await;
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(answer.headers()["content-type"], "application/proto");
        assert_eq!(answer.headers()["x-lead"], "l");
        assert_eq!(answer.headers()["trailer-x-tail"], "t");
        let body = answer.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], &message);

        let (head, body) = grpc_answer(
            &[
                ("grpc-status", "16"),
                ("grpc-message", "who%3F"),
                ("x-lead", "l"),
            ],
            vec![],
            &[],
        );
        let answer = unary_answer(head, body, Codec::Json, None).await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(answer.headers()["content-type"], "application/json");
        assert_eq!(answer.headers()["x-lead"], "l");
        assert!(answer.headers().get("grpc-status").is_none());
        let body = answer.into_body().collect().await.unwrap().to_bytes();
        let error: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(error, json!({"code": "unauthenticated", "message": "who?"}));
    }

    #[test]
    fn connect_calls_are_told_apart_from_http_json_and_grpc_web() {
        let cases = [
            ("POST", "/a.S/M", Some("application/proto"), None, true),
            (
                "POST",
                "/a.S/M",
                Some("application/connect+proto"),
                None,
                true,
            ),
            (
                "POST",
                "/a.S/M",
                Some("application/connect+json"),
                None,
                true,
            ),
            (
                "POST",
                "/a.S/M",
                Some("application/connect+xml"),
                None,
                true,
            ),
            ("POST", "/a.S/M", Some("application/json"), Some("1"), true),
            ("POST", "/a.S/M", Some("application/json"), Some("2"), true),
            // HTTP/JSON: a JSON body without the protocol's header.
            ("POST", "/a.S/M", Some("application/json"), None, false),
            ("POST", "/v1/things", None, None, false),
            (
                "GET",
                "/a.S/M?connect=v1&encoding=json&message=%7B%7D",
                None,
                None,
                true,
            ),
            ("GET", "/v1/things?connect=v2", None, None, false),
            ("GET", "/v1/things", None, Some("1"), false),
            ("PUT", "/a.S/M", Some("application/proto"), None, false),
        ];
        for (method, uri, kind, version, connect) in cases {
            let mut request = Request::builder().method(method).uri(uri);
            if let Some(kind) = kind {
                request = request.header(header::CONTENT_TYPE, kind);
            }
            if let Some(version) = version {
                request = request.header(PROTOCOL_VERSION, version);
            }
            let request = request.body(()).unwrap();
            assert_eq!(
                Connect::wants(&request),
                connect,
                "{method} {uri} {kind:?} {version:?}"
            );
        }
    }

    #[test]
    fn content_types_give_the_codec_and_kind_or_415() {
        let cases = [
            ("application/proto", Some((Codec::Proto, false))),
            ("application/json", Some((Codec::Json, false))),
            (
                "application/json; charset=utf-8",
                Some((Codec::Json, false)),
            ),
            ("application/connect+proto", Some((Codec::Proto, true))),
            ("Application/Connect+JSON", Some((Codec::Json, true))),
            ("application/connect+xml", None),
            ("application/xml", None),
            ("", None),
        ];
        for (kind, expected) in cases {
            let mut headers = HeaderMap::new();
            if !kind.is_empty() {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(kind).unwrap());
            }
            match (head(&headers), expected) {
                (Ok(head), Some((codec, streaming))) => {
                    assert_eq!(head, Head { codec, streaming }, "{kind}")
                }
                (Err(Refused(status, http)), None) => {
                    assert_eq!(status.code(), Code::Unimplemented, "{kind}");
                    assert_eq!(http, Some(StatusCode::UNSUPPORTED_MEDIA_TYPE), "{kind}");
                }
                (got, _) => panic!("{kind}: {:?}", got.map_err(|Refused(s, _)| s)),
            }
        }
    }

    #[test]
    fn connect_timeouts_become_grpc_timeouts() {
        let cases = [
            ("250", Some("250m")),
            ("0", Some("0m")),
            ("99999999", Some("99999999m")),
            ("100000000", Some("100000S")),
            ("9999999999", Some("10000000S")),
            ("10000000000", None),
            ("-1", None),
            ("1.5", None),
            ("", None),
            ("1s", None),
        ];
        for (connect, grpc) in cases {
            let got = grpc_timeout(&HeaderValue::from_str(connect).unwrap());
            assert_eq!(
                got.as_ref().map(|v| v.to_str().unwrap()),
                grpc,
                "{connect:?}"
            );
        }
    }

    #[test]
    fn request_envelopes_are_checked() {
        let ok = Bytes::from_static(&[0, 0, 0, 0, 2, 8, 1, 0, 0, 0, 0, 0]);
        let messages = envelopes(ok).map_err(|Refused(s, _)| s).unwrap();
        assert_eq!(messages, [Bytes::from_static(&[8, 1]), Bytes::new()]);
        let bad: [(&[u8], Code); 4] = [
            (&[0, 0, 0], Code::InvalidArgument),
            (&[0, 0, 0, 0, 3, 1], Code::InvalidArgument),
            (&[END_STREAM, 0, 0, 0, 0], Code::InvalidArgument),
            (&[COMPRESSED, 0, 0, 0, 0], Code::Unimplemented),
        ];
        for (body, code) in bad {
            match envelopes(Bytes::from_static(body)) {
                Err(Refused(status, _)) => assert_eq!(status.code(), code, "{body:?}"),
                Ok(got) => panic!("{body:?} read as {got:?}"),
            }
        }
    }

    #[test]
    fn errors_carry_the_connect_code_and_details() {
        use prost::Message as _;
        let info = crate::google::rpc::ResourceInfo {
            resource_name: "users/nobody".into(),
            ..Default::default()
        };
        let details = crate::google::rpc::Status {
            code: 5,
            message: "users/nobody not found".into(),
            details: vec![crate::wkt::Any::from_msg(&info).unwrap()],
        };
        let status = Status::with_details(
            Code::NotFound,
            "users/nobody not found",
            details.encode_to_vec().into(),
        );
        let json = error_json(&status);
        assert_eq!(json["code"], "not_found");
        assert_eq!(json["message"], "users/nobody not found");
        let detail = &json["details"][0];
        assert_eq!(detail["type"], "google.rpc.ResourceInfo");
        let value = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(detail["value"].as_str().unwrap())
            .unwrap();
        assert_eq!(value, info.encode_to_vec());
        assert_eq!(detail["debug"]["resourceName"], "users/nobody");
        let answer = error_answer(&status, None, HeaderMap::new());
        assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn get_messages_are_read_from_the_query() {
        let (head, message) =
            get_message("connect=v1&encoding=json&message=%7B%22name%22%3A%22users%2Fa%22%7D")
                .map_err(|Refused(s, _)| s)
                .unwrap();
        assert_eq!(head.codec, Codec::Json);
        assert_eq!(&message[..], br#"{"name":"users/a"}"#);
        let (head, message) = get_message("connect=v1&encoding=proto&base64=1&message=CgF4")
            .map_err(|Refused(s, _)| s)
            .unwrap();
        assert_eq!(head.codec, Codec::Proto);
        assert_eq!(&message[..], &[10, 1, b'x']);
        // Percent-encoded bytes that are not UTF-8, without base64.
        let (_, message) = get_message("connect=v1&encoding=proto&message=%0A%02%FF%FE")
            .map_err(|Refused(s, _)| s)
            .unwrap();
        assert_eq!(&message[..], &[10, 2, 0xff, 0xfe]);
        for bad in [
            "connect=v1&encoding=xml&message=x",
            "connect=v1&encoding=proto&base64=1&message=!!",
            "connect=v1&encoding=json&compression=gzip&message=x",
        ] {
            assert!(get_message(bad).is_err(), "{bad}");
        }
    }
}
