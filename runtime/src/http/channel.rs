//! An HTTP/JSON channel to a service's routes: what the generated HTTP clients call. A request
//! goes out as [`super::client::encode`] builds it from the route tables the router matches
//! with; the answer comes back as the handler gave it, errors included
//! ([`super::client::decode_error`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{header, HeaderValue, Method, Uri};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full, Limited, StreamBody};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio_stream::Stream;
use tonic::metadata::MetadataMap;
use tonic::Status;

use super::client::{decode_error, encode, rpc_status};
use super::matcher::Template;
use super::query::QuerySchema;
use super::routes::Rule;

/// The largest answer (or streamed message) read unless set otherwise: 4 MiB, gRPC's usual limit.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
/// A request body: whole, or a client stream's NDJSON as it is produced.
type RequestBody = UnsyncBoxBody<Bytes, std::convert::Infallible>;

/// A connection pool to one base URL (`https://api.example.com`, `http://127.0.0.1:8080/prefix`),
/// over HTTP/1.1 or HTTP/2 (by ALPN), with TLS verified against the webpki roots. Cheap to clone.
#[derive(Clone)]
pub struct HttpChannel {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client<Connector, RequestBody>,
    /// Scheme and authority, and the path prefix without its trailing `/`.
    base: String,
    max_response_bytes: usize,
}

impl std::fmt::Debug for HttpChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpChannel")
            .field("base", &self.inner.base)
            .finish_non_exhaustive()
    }
}

/// The response stream of a server-streaming call.
pub type MessageStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

impl HttpChannel {
    /// A channel to `base`, an `http://` or `https://` URL with an optional path prefix.
    pub fn new(base: &str) -> Result<HttpChannel, Status> {
        let uri: Uri = base
            .parse()
            .map_err(|e| Status::invalid_argument(format!("`{base}` is not a URL: {e}")))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(Status::invalid_argument(format!(
                "`{base}` is not an http:// or https:// URL"
            )));
        };
        if scheme != "http" && scheme != "https" {
            return Err(Status::invalid_argument(format!(
                "`{base}` is not an http:// or https:// URL"
            )));
        }
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        // ring, as tonic's TLS here: no second crypto provider in the build.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Status::internal(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_all_versions()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let prefix = uri.path().trim_end_matches('/');
        Ok(HttpChannel {
            inner: Arc::new(Inner {
                client,
                base: format!("{scheme}://{authority}{prefix}"),
                max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            }),
        })
    }

    /// A unary call of the rule `template` + `rule` with HTTP `method`.
    pub async fn unary<Req, Resp>(
        &self,
        method: Method,
        template: &Template,
        rule: &Rule,
        request: tonic::Request<Req>,
    ) -> Result<tonic::Response<Resp>, Status>
    where
        Req: Serialize + QuerySchema,
        Resp: DeserializeOwned,
    {
        let (request, deadline) = self.request(method, template, rule, request, false)?;
        self.answer(rule, request, deadline).await
    }

    /// A client-streaming call: the messages go out as NDJSON as the stream yields them, the path
    /// and query from the first (the router binds them into the first message).
    pub async fn client_streaming<Req, Resp>(
        &self,
        method: Method,
        template: &Template,
        rule: &Rule,
        request: tonic::Request<impl Stream<Item = Req> + Send + 'static>,
    ) -> Result<tonic::Response<Resp>, Status>
    where
        Req: Serialize + QuerySchema + Send + 'static,
        Resp: DeserializeOwned,
    {
        let (request, deadline) = self
            .stream_request(method, template, rule, request, false)
            .await?;
        self.answer(rule, request, deadline).await
    }

    /// A bidirectional call: the messages go out as NDJSON, the answers come back as
    /// [`HttpChannel::server_streaming`]'s do, both at once.
    pub async fn bidi_streaming<Req, Resp>(
        &self,
        method: Method,
        template: &Template,
        rule: &Rule,
        request: tonic::Request<impl Stream<Item = Req> + Send + 'static>,
    ) -> Result<tonic::Response<MessageStream<Resp>>, Status>
    where
        Req: Serialize + QuerySchema + Send + 'static,
        Resp: DeserializeOwned + Send + 'static,
    {
        let (request, deadline) = self
            .stream_request(method, template, rule, request, true)
            .await?;
        self.events(rule, request, deadline).await
    }

    /// Sends `request` and reads its one answer.
    async fn answer<Resp: DeserializeOwned>(
        &self,
        rule: &Rule,
        request: http::Request<RequestBody>,
        deadline: Option<Duration>,
    ) -> Result<tonic::Response<Resp>, Status> {
        within(deadline, async {
            let response = self.send(request).await?;
            let (parts, body) = response.into_parts();
            let body = read(body, self.inner.max_response_bytes).await?;
            if !parts.status.is_success() {
                return Err(decode_error(parts.status, &parts.headers, &body));
            }
            let content_type = parts.headers.get(header::CONTENT_TYPE);
            let message = message::<Resp>(rule, content_type, body)?;
            let metadata = super::metadata::response_metadata(&parts.headers);
            Ok(tonic::Response::from_parts(
                metadata,
                message,
                http::Extensions::new(),
            ))
        })
        .await
    }

    /// A server-streaming call: the messages as Server-Sent Events, whose `event: error` carries
    /// the status a stream ends with.
    pub async fn server_streaming<Req, Resp>(
        &self,
        method: Method,
        template: &Template,
        rule: &Rule,
        request: tonic::Request<Req>,
    ) -> Result<tonic::Response<MessageStream<Resp>>, Status>
    where
        Req: Serialize + QuerySchema,
        Resp: DeserializeOwned + Send + 'static,
    {
        let (request, deadline) = self.request(method, template, rule, request, true)?;
        self.events(rule, request, deadline).await
    }

    /// Sends `request` and reads its answers as Server-Sent Events.
    async fn events<Resp: DeserializeOwned + Send + 'static>(
        &self,
        rule: &Rule,
        request: http::Request<RequestBody>,
        deadline: Option<Duration>,
    ) -> Result<tonic::Response<MessageStream<Resp>>, Status> {
        let response = within(deadline, self.send(request)).await?;
        let (parts, body) = response.into_parts();
        if !parts.status.is_success() {
            let body = within(deadline, read(body, self.inner.max_response_bytes)).await?;
            return Err(decode_error(parts.status, &parts.headers, &body));
        }
        let metadata = super::metadata::response_metadata(&parts.headers);
        let events = Events {
            body,
            buffer: BytesMut::new(),
            max: self.inner.max_response_bytes,
            done: false,
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep(d))),
        };
        let rule = *rule;
        let messages = tokio_stream::StreamExt::map(events, move |event| {
            let event = event?;
            if event.error {
                let rpc = serde_json::from_slice(&event.data).map_err(|e| {
                    Status::internal(format!(
                        "a stream's error event is not a google.rpc.Status: {e}"
                    ))
                })?;
                return Err(rpc_status(rpc, MetadataMap::new()));
            }
            message::<Resp>(&rule, None, event.data)
        });
        Ok(tonic::Response::from_parts(
            metadata,
            Box::pin(messages) as MessageStream<Resp>,
            http::Extensions::new(),
        ))
    }

    /// The HTTP request of a call, and its deadline (from `grpc-timeout`, which also goes out).
    fn request<Req>(
        &self,
        method: Method,
        template: &Template,
        rule: &Rule,
        request: tonic::Request<Req>,
        stream: bool,
    ) -> Result<(http::Request<RequestBody>, Option<Duration>), Status>
    where
        Req: Serialize + QuerySchema,
    {
        let (metadata, extensions, message) = request.into_parts();
        let json = serde_json::to_value(&message)
            .map_err(|e| Status::internal(format!("the request does not serialize: {e}")))?;
        let request = tonic::Request::from_parts(metadata, extensions, json);
        self.request_of_json::<Req>(method, template, rule, request, stream)
    }

    /// [`HttpChannel::request`] of the message's JSON.
    fn request_of_json<Req: QuerySchema>(
        &self,
        method: Method,
        template: &Template,
        rule: &Rule,
        request: tonic::Request<Value>,
        stream: bool,
    ) -> Result<(http::Request<RequestBody>, Option<Duration>), Status> {
        let (metadata, _, json) = request.into_parts();
        let encoded = encode(template, rule, Req::query_fields(), json)?;
        let mut headers = metadata.into_headers();
        let deadline = crate::grpc_timeout::grpc_timeout(&headers);
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
        let body = match encoded.body {
            Some(body) => {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                Full::new(Bytes::from(body)).boxed_unsync()
            }
            None => Full::new(Bytes::new()).boxed_unsync(),
        };
        let uri = format!("{}{}", self.inner.base, encoded.path_and_query);
        let mut request = http::Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = uri
            .parse()
            .map_err(|e| Status::internal(format!("`{uri}` is not a URI: {e}")))?;
        *request.headers_mut() = headers;
        Ok((request, deadline))
    }

    /// The HTTP request of a streamed call: the head from the first message, which waits for it,
    /// and a body that writes each message as one NDJSON line as the stream yields it.
    async fn stream_request<Req>(
        &self,
        method: Method,
        template: &Template,
        rule: &Rule,
        request: tonic::Request<impl Stream<Item = Req> + Send + 'static>,
        stream: bool,
    ) -> Result<(http::Request<RequestBody>, Option<Duration>), Status>
    where
        Req: Serialize + QuerySchema + Send + 'static,
    {
        use tokio_stream::StreamExt as _;
        let (metadata, extensions, messages) = request.into_parts();
        let mut messages = Box::pin(messages);
        let first = messages.next().await;
        // The head: the first message's path and query (an empty stream binds the default).
        let head = tonic::Request::from_parts(
            metadata,
            extensions,
            match &first {
                Some(first) => serde_json::to_value(first),
                None => Ok(Value::Object(serde_json::Map::new())),
            }
            .map_err(|e| Status::internal(format!("the request does not serialize: {e}")))?,
        );
        let (mut request, deadline) =
            self.request_of_json::<Req>(method, template, rule, head, stream)?;
        let lines = tokio_stream::iter(first).chain(messages).map(|message| {
            // A message that does not serialize cannot be sent; it ends the body early,
            // which the server reports.
            let mut line = serde_json::to_vec(&message).unwrap_or_default();
            line.push(b'\n');
            Ok(Frame::data(Bytes::from(line)))
        });
        *request.body_mut() = StreamBody::new(lines).boxed_unsync();
        request.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        );
        Ok((request, deadline))
    }

    async fn send(
        &self,
        request: http::Request<RequestBody>,
    ) -> Result<http::Response<hyper::body::Incoming>, Status> {
        self.inner
            .client
            .request(request)
            .await
            .map_err(|e| Status::unavailable(format!("the HTTP request failed: {e}")))
    }
}

/// Runs `call` within `deadline`, if there is one: DEADLINE_EXCEEDED when it passes.
async fn within<T>(
    deadline: Option<Duration>,
    call: impl Future<Output = Result<T, Status>>,
) -> Result<T, Status> {
    match deadline {
        None => call.await,
        Some(deadline) => tokio::time::timeout(deadline, call)
            .await
            .unwrap_or_else(|_| Err(Status::deadline_exceeded("the call's deadline passed"))),
    }
}

/// The whole of `body`, up to `max` bytes (RESOURCE_EXHAUSTED beyond).
async fn read(body: hyper::body::Incoming, max: usize) -> Result<Bytes, Status> {
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(
            Status::resource_exhausted(format!("the answer is over {max} bytes")),
        ),
        Err(error) => Err(Status::unavailable(format!(
            "reading the answer failed: {error}"
        ))),
    }
}

/// The message of a successful answer's body (or a stream event's data), as the rule sends it:
/// the whole message, its `response_body` field, or a `google.api.HttpBody`'s raw bytes.
fn message<Resp: DeserializeOwned>(
    rule: &Rule,
    content_type: Option<&HeaderValue>,
    body: Bytes,
) -> Result<Resp, Status> {
    let bad = |e: serde_json::Error| {
        Status::internal(format!("the answer does not read as the response: {e}"))
    };
    let mut json: Value = if rule.http_body_response {
        use base64::Engine as _;
        let content_type = content_type
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        serde_json::json!({
            "contentType": content_type,
            "data": base64::engine::general_purpose::STANDARD.encode(&body),
        })
    } else if body.iter().all(u8::is_ascii_whitespace) {
        // 204 and 205 send no body: the default message.
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(&body).map_err(bad)?
    };
    if let Some(field) = rule.response_body {
        let mut object = serde_json::Map::new();
        object.insert(field.to_owned(), json);
        json = Value::Object(object);
    }
    serde_json::from_value(json).map_err(bad)
}

/// One Server-Sent Event: its data, and whether it is the `error` event.
struct Event {
    data: Bytes,
    error: bool,
}

pin_project_lite::pin_project! {
    /// The events of a `text/event-stream` body as they arrive.
    struct Events {
        #[pin]
        body: hyper::body::Incoming,
        buffer: BytesMut,
        max: usize,
        done: bool,
        deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

impl Stream for Events {
    type Item = Result<Event, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        use http_body::Body as _;
        let mut this = self.project();
        loop {
            if *this.done {
                return Poll::Ready(None);
            }
            if let Some(event) = next_event(this.buffer) {
                return Poll::Ready(Some(Ok(event)));
            }
            if let Some(deadline) = this.deadline.as_mut() {
                if deadline.as_mut().poll(cx).is_ready() {
                    *this.done = true;
                    return Poll::Ready(Some(Err(Status::deadline_exceeded(
                        "the call's deadline passed",
                    ))));
                }
            }
            match std::task::ready!(this.body.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        this.buffer.extend_from_slice(data);
                        if this.buffer.len() > *this.max {
                            *this.done = true;
                            return Poll::Ready(Some(Err(Status::resource_exhausted(format!(
                                "a streamed message is over {} bytes",
                                this.max
                            )))));
                        }
                    }
                }
                Some(Err(error)) => {
                    *this.done = true;
                    return Poll::Ready(Some(Err(Status::unavailable(format!(
                        "the stream broke off: {error}"
                    )))));
                }
                None => {
                    *this.done = true;
                    if this.buffer.iter().all(u8::is_ascii_whitespace) {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Err(Status::internal(
                        "the stream ended inside an event",
                    ))));
                }
            }
        }
    }
}

/// Takes the next complete event (up to a blank line) out of `buffer`: its `data:` lines joined
/// by newlines, and whether its `event:` is `error`. Comments and other fields are skipped.
fn next_event(buffer: &mut BytesMut) -> Option<Event> {
    loop {
        let end = buffer.windows(2).position(|w| w == b"\n\n")?;
        let block = buffer.split_to(end + 2).freeze();
        let mut data = BytesMut::new();
        let mut error = false;
        let mut any = false;
        for line in block.split(|b| *b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(value) = field(line, b"data") {
                if any {
                    data.extend_from_slice(b"\n");
                }
                data.extend_from_slice(value);
                any = true;
            } else if let Some(value) = field(line, b"event") {
                error = value == b"error";
            }
        }
        if any {
            return Some(Event {
                data: data.freeze(),
                error,
            });
        }
    }
}

/// The value of an SSE line `name: value` (one optional space after the colon).
fn field<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let rest = line.strip_prefix(name)?.strip_prefix(b":")?;
    Some(rest.strip_prefix(b" ").unwrap_or(rest))
}

/// `google.protobuf.Empty`, which prost maps to `()`, as a generated HTTP client's request or
/// response: written `{}`, read from `{}` (or anything, as the router's `()` reads any object).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default)]
pub struct Empty;

impl Serialize for Empty {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        serializer.serialize_map(Some(0))?.end()
    }
}

impl<'de> serde::Deserialize<'de> for Empty {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| Empty)
    }
}

impl QuerySchema for Empty {
    fn query_fields() -> &'static [super::query::QueryField] {
        &[]
    }
}

/// A wrapper (`google.protobuf.Int64Value`, which prost maps to `i64`) as a generated HTTP
/// client's request: its proto3 JSON form (`"123"`) as the whole body, no field to bind.
impl<C, T> QuerySchema for crate::json::Owned<C, T> {
    fn query_fields() -> &'static [super::query::QueryField] {
        &[]
    }
}

/// The messages of a client stream a generated HTTP client forwards, each through `adapt`: the
/// incoming ones up to the first error, where the outgoing stream ends (docs/reference.md
/// section 5.1).
#[doc(hidden)]
pub fn messages<T: Send + 'static, U: Send + 'static>(
    request: tonic::Request<tonic::Streaming<T>>,
    adapt: fn(T) -> U,
) -> tonic::Request<crate::api::RequestStream<U>> {
    request.map(|stream| {
        let messages = tokio_stream::StreamExt::map_while(stream, move |item| item.ok().map(adapt));
        Box::pin(messages) as crate::api::RequestStream<U>
    })
}
