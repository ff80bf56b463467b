//! An HTTP/JSON channel to a service's routes: what the generated HTTP clients call. A request
//! goes out as [`super::client::encode`] builds it from the route tables the router matches
//! with; the answer comes back as the handler gave it, errors included
//! ([`super::client::decode_error`]). Calls get the dialed gRPC channel's policy
//! (`rs_svc::dial`): a default deadline, retries, the circuit breaker and its fallbacks, and the
//! per-call `rs_svc::api::CallOptions` (docs/reference.md section 1.2).

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
use tokio::time::Instant;
use tokio_stream::Stream;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

use super::client::{decode_error, encode, rpc_status};
use super::matcher::Template;
use super::query::QuerySchema;
use super::routes::Rule;
use crate::api::CallPolicy;
use crate::dial::{Attempts, MethodKind, Options, Policy};

/// The largest answer (or streamed message) read unless set otherwise: 4 MiB, gRPC's usual limit.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
/// A request body: whole, or a client stream's NDJSON as it is produced.
type RequestBody = UnsyncBoxBody<Bytes, std::convert::Infallible>;

/// A connection pool to one base URL (`https://api.example.com`, `http://127.0.0.1:8080/prefix`),
/// over HTTP/1.1 or HTTP/2 (by ALPN), with TLS verified against the webpki roots (or the CAs of
/// its options). Cheap to clone.
#[derive(Clone)]
pub struct HttpChannel {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client<Connector, RequestBody>,
    /// Scheme and authority, and the path prefix without its trailing `/`.
    base: String,
    max_response_bytes: usize,
    policy: Policy,
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

/// A call's request, ready to be sent: once, or again as long as its body is whole.
enum Prepared {
    Whole(http::request::Parts, Bytes),
    Streamed(http::Request<RequestBody>),
}

/// A call on its way: what the channel's policy and the call's options say of it.
struct Plan {
    path: Option<String>,
    call: CallPolicy,
    deadline: Option<Instant>,
    retry: bool,
}

impl HttpChannel {
    /// A channel to `base`, an `http://` or `https://` URL with an optional path prefix, with
    /// the default options (`rs_svc::dial::Options::new()`: a 30 s deadline for unary calls, and
    /// up to 4 attempts of GET calls that fail with `UNAVAILABLE`).
    pub fn new(base: &str) -> Result<HttpChannel, Status> {
        const NONE: crate::dial::Service = crate::dial::Service {
            name: "",
            default_host: None,
            address_env: "",
            default_port: 0,
            methods: &[],
        };
        Self::with_options(base, &NONE, Options::new())
    }

    /// A channel to `base` for `service` (the generated `<svc>_client::SERVICE`, which says
    /// which methods are idempotent), with the options of a dialed gRPC channel where they
    /// apply: the default deadline of unary calls ([`Options::timeout`]), retries with
    /// [`Options::backoff`] of idempotent methods, of methods whose first HTTP rule is a GET, and
    /// of [`Options::retry_method`]s (never of a client or bidi stream), the circuit breaker and
    /// its [`Options::fallback`]s, [`Options::connect_timeout`], and TLS:
    /// [`Options::tls_ca_pem`], [`Options::tls_identity_pem`], [`Options::tls_server_name`].
    /// What concerns HTTP/2 connections of a gRPC channel (keepalive, the resolver and
    /// balancing, [`Options::tls`] built with tonic, metrics) does not apply here. The target
    /// option is the generated client's `dial_with` business, not this one's.
    pub fn with_options(
        base: &str,
        service: &crate::dial::Service,
        options: Options,
    ) -> Result<HttpChannel, Status> {
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
        let origin = format!("{scheme}://{authority}");
        let policy = crate::dial::policy(service, origin.clone(), &options)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let tls = tls_config(&options)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(options.connect_timeout_option()));
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http();
        let builder = match options.tls_server_name_option() {
            Some(name) => {
                let name =
                    rustls::pki_types::ServerName::try_from(name.to_owned()).map_err(|e| {
                        Status::invalid_argument(format!("TLS server name `{name}`: {e}"))
                    })?;
                builder.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name))
            }
            None => builder,
        };
        let connector = builder.enable_all_versions().wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let prefix = uri.path().trim_end_matches('/');
        Ok(HttpChannel {
            inner: Arc::new(Inner {
                client,
                base: format!("{origin}{prefix}"),
                max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
                policy,
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
        Resp: DeserializeOwned + Fallback,
    {
        let plan = self.plan(&method, request.extensions(), MethodKind::Unary);
        let request = self.request(method, template, rule, request, false)?;
        if !self.inner.policy.admit() {
            let fallback = plan
                .path
                .as_deref()
                .and_then(|path| self.inner.policy.fallback(path, plan.call))
                .and_then(|message| Resp::from_fallback(message));
            return match fallback {
                Some(message) => Ok(tonic::Response::new(message)),
                None => Err(self.inner.policy.open_circuit_status()),
            };
        }
        let result = self.answer(rule, request, plan).await;
        self.record(&result);
        result
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
        let plan = self.plan(&method, request.extensions(), MethodKind::ClientStreaming);
        if !self.inner.policy.admit() {
            return Err(self.inner.policy.open_circuit_status());
        }
        let request = self
            .stream_request(method, template, rule, request, false)
            .await?;
        let result = self.answer(rule, request, plan).await;
        self.record(&result);
        result
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
        let plan = self.plan(&method, request.extensions(), MethodKind::BidiStreaming);
        if !self.inner.policy.admit() {
            return Err(self.inner.policy.open_circuit_status());
        }
        let request = self
            .stream_request(method, template, rule, request, true)
            .await?;
        self.events(rule, request, plan).await
    }

    /// What the policy and the call's options say of a call of `kind` sent with `method`, whose
    /// generated client named its gRPC method in the request's extensions.
    fn plan(&self, method: &Method, extensions: &tonic::Extensions, kind: MethodKind) -> Plan {
        let path = extensions
            .get::<tonic::GrpcMethod>()
            .map(|m| format!("/{}/{}", m.service(), m.method()));
        let policy = &self.inner.policy;
        let known = path.as_ref().and_then(|path| policy.methods.get(path));
        // GET is safe to send again (RFC 9110 section 9.2.1), whatever the proto says.
        let retry =
            kind.single_request() && (known.is_some_and(|m| m.retry) || method == Method::GET);
        Plan {
            path,
            call: CallPolicy::of(extensions),
            deadline: None,
            retry,
        }
    }

    /// Records a call's outcome in the circuit breaker.
    fn record<T>(&self, result: &Result<T, Status>) {
        let failed = matches!(result, Err(s) if matches!(s.code(), Code::Unavailable | Code::DeadlineExceeded));
        self.inner.policy.record(failed);
    }

    /// Sends `request` and reads its one answer.
    async fn answer<Resp: DeserializeOwned>(
        &self,
        rule: &Rule,
        (request, own): (Prepared, Option<Duration>),
        mut plan: Plan,
    ) -> Result<tonic::Response<Resp>, Status> {
        plan.deadline = self.deadline(own, true);
        let deadline = plan.deadline;
        within(deadline, async {
            let response = self.exchange(request, &plan).await?;
            let (parts, body) = response.into_parts();
            let body = read(body, self.inner.max_response_bytes).await?;
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

    /// The deadline of a call whose own timeout is `own` (its `grpc-timeout`): that, else the
    /// default for unary calls, and never past the call being served.
    fn deadline(&self, own: Option<Duration>, unary: bool) -> Option<Instant> {
        self.inner
            .policy
            .timeout(own, unary, crate::api::inherited_timeout())
            .map(|timeout| Instant::now() + timeout)
    }

    /// Sends the request until it is answered: again after an `UNAVAILABLE` answer or a failed
    /// connection while the plan allows it and its body is whole. A successful answer's head, or
    /// the error the last attempt got.
    async fn exchange(
        &self,
        request: Prepared,
        plan: &Plan,
    ) -> Result<http::Response<hyper::body::Incoming>, Status> {
        let (parts, body) = match request {
            Prepared::Streamed(mut request) => {
                set_timeout(request.headers_mut(), plan.deadline);
                return self.attempt(request).await;
            }
            Prepared::Whole(parts, body) => (parts, body),
        };
        let mut attempts: Attempts =
            self.inner
                .policy
                .attempts(plan.retry, plan.call, plan.deadline);
        loop {
            let mut request =
                http::Request::from_parts(parts.clone(), Full::new(body.clone()).boxed_unsync());
            set_timeout(request.headers_mut(), plan.deadline);
            let result = self.attempt(request).await;
            let Err(status) = &result else {
                return result;
            };
            if status.code() != Code::Unavailable {
                return result;
            }
            let asked = crate::dial::pushback(&status.metadata().clone().into_headers());
            match attempts.again(asked) {
                Some(delay) => tokio::time::sleep(delay).await,
                None => return result,
            }
        }
    }

    /// One attempt: the answer's head when it is a success, else its error.
    async fn attempt(
        &self,
        request: http::Request<RequestBody>,
    ) -> Result<http::Response<hyper::body::Incoming>, Status> {
        let response = self.send(request).await?;
        if response.status().is_success() {
            return Ok(response);
        }
        let (parts, body) = response.into_parts();
        let body = read(body, self.inner.max_response_bytes).await?;
        Err(decode_error(parts.status, &parts.headers, &body))
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
        let plan = self.plan(&method, request.extensions(), MethodKind::ServerStreaming);
        if !self.inner.policy.admit() {
            return Err(self.inner.policy.open_circuit_status());
        }
        let request = self.request(method, template, rule, request, true)?;
        self.events(rule, request, plan).await
    }

    /// Sends `request` and reads its answers as Server-Sent Events.
    async fn events<Resp: DeserializeOwned + Send + 'static>(
        &self,
        rule: &Rule,
        (request, own): (Prepared, Option<Duration>),
        mut plan: Plan,
    ) -> Result<tonic::Response<MessageStream<Resp>>, Status> {
        plan.deadline = self.deadline(own, false);
        let deadline = plan.deadline;
        let response = within(deadline, self.exchange(request, &plan)).await;
        self.record(&response);
        let (parts, body) = response?.into_parts();
        let metadata = super::metadata::response_metadata(&parts.headers);
        let events = Events {
            body,
            buffer: BytesMut::new(),
            max: self.inner.max_response_bytes,
            done: false,
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d))),
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

    /// The HTTP request of a call, and its own timeout (from `grpc-timeout`).
    fn request<Req>(
        &self,
        method: Method,
        template: &Template,
        rule: &Rule,
        request: tonic::Request<Req>,
        stream: bool,
    ) -> Result<(Prepared, Option<Duration>), Status>
    where
        Req: Serialize + QuerySchema,
    {
        let (metadata, extensions, message) = request.into_parts();
        let json = serde_json::to_value(&message)
            .map_err(|e| Status::internal(format!("the request does not serialize: {e}")))?;
        let request = tonic::Request::from_parts(metadata, extensions, json);
        let (parts, body) = self.request_of_json::<Req>(method, template, rule, request, stream)?;
        let own = crate::grpc_timeout::grpc_timeout(&parts.headers);
        Ok((Prepared::Whole(parts, body), own))
    }

    /// [`HttpChannel::request`] of the message's JSON: the head and the body.
    fn request_of_json<Req: QuerySchema>(
        &self,
        method: Method,
        template: &Template,
        rule: &Rule,
        request: tonic::Request<Value>,
        stream: bool,
    ) -> Result<(http::request::Parts, Bytes), Status> {
        let (metadata, _, json) = request.into_parts();
        let encoded = encode(template, rule, Req::query_fields(), json)?;
        let mut headers = metadata.into_headers();
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
        // The caller's trace context, when tracing is on and the metadata carries none.
        #[cfg(feature = "otel")]
        if !headers.contains_key("traceparent") {
            use tracing_opentelemetry::OpenTelemetrySpanExt as _;
            crate::trace_context::inject(&tracing::Span::current().context(), &mut headers);
        }
        let body = match encoded.body {
            Some(body) => {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                Bytes::from(body)
            }
            None => Bytes::new(),
        };
        let uri = format!("{}{}", self.inner.base, encoded.path_and_query);
        let (mut parts, ()) = http::Request::new(()).into_parts();
        parts.method = method;
        parts.uri = uri
            .parse()
            .map_err(|e| Status::internal(format!("`{uri}` is not a URI: {e}")))?;
        parts.headers = headers;
        Ok((parts, body))
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
    ) -> Result<(Prepared, Option<Duration>), Status>
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
        let (mut parts, _) = self.request_of_json::<Req>(method, template, rule, head, stream)?;
        let own = crate::grpc_timeout::grpc_timeout(&parts.headers);
        let lines = tokio_stream::iter(first).chain(messages).map(|message| {
            // A message that does not serialize cannot be sent; it ends the body early,
            // which the server reports.
            let mut line = serde_json::to_vec(&message).unwrap_or_default();
            line.push(b'\n');
            Ok(Frame::data(Bytes::from(line)))
        });
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        );
        let request = http::Request::from_parts(parts, StreamBody::new(lines).boxed_unsync());
        Ok((Prepared::Streamed(request), own))
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

/// Writes the time left until `deadline` as `Grpc-Timeout`, so the server sees the deadline.
fn set_timeout(headers: &mut http::HeaderMap, deadline: Option<Instant>) {
    let Some(deadline) = deadline else { return };
    let left = deadline.saturating_duration_since(Instant::now());
    headers.insert(
        crate::grpc_timeout::GRPC_TIMEOUT,
        HeaderValue::from_str(&crate::grpc_timeout::encode_grpc_timeout(left))
            .expect("digits and a unit"),
    );
}

/// The rustls settings of a channel: the webpki roots, or the options' CAs; the options' client
/// identity for mTLS.
fn tls_config(options: &Options) -> Result<rustls::ClientConfig, Status> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        Status::invalid_argument(format!("TLS {what}: {e}"))
    };
    let pem = options.tls_pem();
    let mut roots = rustls::RootCertStore::empty();
    if pem.ca.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for bundle in &pem.ca {
        for cert in CertificateDer::pem_slice_iter(bundle) {
            let cert = cert.map_err(|e| bad("CA certificate", &e))?;
            roots.add(cert).map_err(|e| bad("CA certificate", &e))?;
        }
    }
    // ring, as tonic's TLS here: no second crypto provider in the build.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Status::internal(format!("TLS: {e}")))?
        .with_root_certificates(roots);
    match &pem.identity {
        None => Ok(builder.with_no_client_auth()),
        Some((chain, key)) => {
            let chain = CertificateDer::pem_slice_iter(chain)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad("client certificate", &e))?;
            let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| bad("client key", &e))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| bad("client identity", &e))
        }
    }
}

/// Runs `call` until `deadline`, if there is one: DEADLINE_EXCEEDED when it passes.
async fn within<T>(
    deadline: Option<Instant>,
    call: impl Future<Output = Result<T, Status>>,
) -> Result<T, Status> {
    match deadline {
        None => call.await,
        Some(deadline) => tokio::time::timeout_at(deadline, call)
            .await
            .unwrap_or_else(|_| Err(Status::deadline_exceeded("the call's deadline passed"))),
    }
}

/// A response message made from the encoded fallback a channel's options register for a
/// method (`rs_svc::dial::Options::fallback`), answered while the circuit is open.
#[doc(hidden)]
pub trait Fallback: Sized {
    fn from_fallback(message: &Bytes) -> Option<Self>;
}

impl<T: prost::Message + Default> Fallback for T {
    fn from_fallback(message: &Bytes) -> Option<Self> {
        T::decode(message.clone()).ok()
    }
}

impl Fallback for Empty {
    fn from_fallback(_: &Bytes) -> Option<Self> {
        Some(Empty)
    }
}

impl<C, T: prost::Message + Default> Fallback for crate::json::Owned<C, T> {
    fn from_fallback(message: &Bytes) -> Option<Self> {
        T::decode(message.clone()).ok().map(crate::json::Owned::new)
    }
}

/// Names the gRPC method of a generated HTTP client's call, as tonic's generated clients do,
/// so the channel applies that method's policy.
#[doc(hidden)]
pub fn named<T>(
    mut request: tonic::Request<T>,
    service: &'static str,
    method: &'static str,
) -> tonic::Request<T> {
    request
        .extensions_mut()
        .insert(tonic::GrpcMethod::new(service, method));
    request
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
