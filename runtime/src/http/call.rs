//! What the server's middleware stack sees of a call on either transport ([`CallInfo`]), the
//! innermost service that finishes a call ([`Next`]'s end), and how a call ends
//! ([`on_complete`]). Users reach these through `rs_svc::serve` (docs/reference.md section 7).
//!
//! They live with the HTTP routes, not the server, because the routes hand each matched call to
//! the stack: a generated router does not know the server's layers when it is built, so the
//! server puts its stack in every HTTP request's extensions ([`Stack`]) and the router calls it
//! once it knows which method the request is for.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use bytes::Bytes;
use http::uri::PathAndQuery;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::Frame;
use tonic::Code;
use tower::{BoxError, Layer, Service, ServiceExt as _};

use super::routes::{Call, Handler, HttpError, Options};

/// What every layer of the server's stack knows about a call, on both transports. The server
/// puts it in the request's extensions before the first layer runs; it stays there for the
/// handler too (gRPC and HTTP/JSON handlers alike find it in their `tonic::Request`'s
/// extensions).
#[derive(Clone)]
pub struct CallInfo {
    method: MethodName,
    known: bool,
    /// The method answers with one message (it is not server-streaming), as a descriptor set
    /// given to the server says; false when unknown.
    one_message: bool,
    transport: Transport,
    /// A gRPC call that came in as gRPC-Web.
    grpc_web: bool,
    /// A gRPC call that came in over the Connect protocol.
    connect: bool,
    /// An HTTP/JSON call that came in as a WebSocket handshake.
    websocket: bool,
    peer: Option<SocketAddr>,
    local: Option<SocketAddr>,
    deadline: Option<Instant>,
    http: Option<HttpRoute>,
}

/// The full method name: a generated route's constant, or a gRPC request's path.
#[derive(Clone)]
enum MethodName {
    Static(&'static str),
    /// `/package.Service/Method`, shared with the request's URI (no copy).
    Path(PathAndQuery),
}

#[derive(Clone)]
struct HttpRoute {
    method: http::Method,
    route: Arc<str>,
}

impl CallInfo {
    /// A gRPC call, from its request; `known` says whether the server serves its service.
    pub(crate) fn grpc<B>(
        request: &Request<B>,
        known: bool,
        one_message: bool,
        peer: Option<SocketAddr>,
        local: Option<SocketAddr>,
    ) -> Self {
        let path = request
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        CallInfo {
            method: MethodName::Path(path),
            known,
            one_message,
            transport: Transport::Grpc,
            grpc_web: request.extensions().get::<GrpcWebCall>().is_some(),
            connect: request.extensions().get::<ConnectCall>().is_some(),
            websocket: false,
            peer,
            local,
            deadline: deadline(request.headers()),
            http: None,
        }
    }

    /// An HTTP/JSON call a route matched.
    pub(crate) fn http(
        parts: &http::request::Parts,
        method: &'static str,
        route: Arc<str>,
    ) -> Self {
        // What the server puts in every request it accepts.
        let connection = parts
            .extensions
            .get::<tonic::transport::server::TcpConnectInfo>();
        CallInfo {
            method: MethodName::Static(method),
            known: true,
            one_message: false,
            transport: Transport::Http,
            grpc_web: false,
            connect: false,
            #[cfg(feature = "websocket")]
            websocket: crate::http::websocket::is_upgrade(parts),
            #[cfg(not(feature = "websocket"))]
            websocket: false,
            peer: connection.and_then(|c| c.remote_addr()),
            local: connection.and_then(|c| c.local_addr()),
            deadline: deadline(&parts.headers),
            http: Some(HttpRoute {
                method: parts.method.clone(),
                route,
            }),
        }
    }

    /// The full method name, `acme.shop.v1.OrderService/GetOrder`.
    pub fn method(&self) -> &str {
        match &self.method {
            MethodName::Static(name) => name,
            MethodName::Path(path) => path.path().strip_prefix('/').unwrap_or(path.path()),
        }
    }

    /// The service's full name, `acme.shop.v1.OrderService`.
    pub fn service(&self) -> &str {
        self.method()
            .rsplit_once('/')
            .map_or("", |(service, _)| service)
    }

    /// The method's own name, `GetOrder`.
    pub fn method_name(&self) -> &str {
        let method = self.method();
        method.rsplit_once('/').map_or(method, |(_, name)| name)
    }

    /// Whether the server serves this call's method: `false` for a gRPC call to a service it
    /// does not serve, or to a method that the service's descriptor set
    /// (`Builder::file_descriptor_set`) does not list (both answered UNIMPLEMENTED). Metrics
    /// should not label by the method of such a call, whose name the client chose.
    /// Whether the call's response is known to be one message (a unary or client-streaming
    /// gRPC method of a described service): then reading its body runs no handler code.
    pub(crate) fn answers_one_message(&self) -> bool {
        self.one_message
    }

    pub fn is_known(&self) -> bool {
        self.known
    }

    /// The transport the call came in on. A gRPC-Web call is a [`Transport::Grpc`] call (the
    /// stack sees it as tonic-web turned it: gRPC frames, the status in trailers), so metrics
    /// count it under `transport="grpc"`; [`CallInfo::is_grpc_web`] tells it apart.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Whether this gRPC call came in as gRPC-Web (binary or text), from a browser most likely
    /// (docs/reference.md section 13).
    pub fn is_grpc_web(&self) -> bool {
        self.grpc_web
    }

    /// Whether this gRPC call came in over the Connect protocol (binary or JSON, from
    /// `connect-web` or `connect-es` most likely; docs/reference.md section 13). Like a gRPC-Web
    /// call it is a [`Transport::Grpc`] call to the stack.
    pub fn is_connect(&self) -> bool {
        self.connect
    }

    /// Whether this HTTP/JSON call came in as a WebSocket handshake to a streaming route
    /// (docs/reference.md section 13.1): the call goes on over the socket after its `101`.
    pub fn is_websocket(&self) -> bool {
        self.websocket
    }

    /// The client's address.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The server's address the call came in on.
    pub fn local(&self) -> Option<SocketAddr> {
        self.local
    }

    /// When the call's `grpc-timeout` (on either transport) runs out.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The HTTP route template the request matched, `/v1/{name=orders/*}`; `None` over gRPC.
    pub fn http_route(&self) -> Option<&str> {
        self.http.as_ref().map(|http| &*http.route)
    }

    /// The HTTP request method; `None` over gRPC.
    pub fn http_method(&self) -> Option<&http::Method> {
        self.http.as_ref().map(|http| &http.method)
    }
}

impl fmt::Debug for CallInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallInfo")
            .field("method", &self.method())
            .field("known", &self.known)
            .field("transport", &self.transport)
            .field("grpc_web", &self.grpc_web)
            .field("connect", &self.connect)
            .field("websocket", &self.websocket)
            .field("peer", &self.peer)
            .field("local", &self.local)
            .field("deadline", &self.deadline)
            .field("http_route", &self.http_route())
            .field("http_method", &self.http_method())
            .finish()
    }
}

fn deadline(headers: &http::HeaderMap) -> Option<Instant> {
    crate::grpc_timeout::grpc_timeout(headers)
        .and_then(|timeout| Instant::now().checked_add(timeout))
}

/// How the server's front marks a gRPC-Web request (`application/grpc-web[+proto]`, or
/// `application/grpc-web-text[+proto]` with base64 messages: the content types tonic-web
/// translates) before tonic-web turns it into a gRPC request, so that its [`CallInfo`] says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GrpcWebCall;

impl GrpcWebCall {
    /// Whether a request with these headers is a gRPC-Web call, binary or text.
    #[allow(dead_code)] // without the grpc-web feature
    pub(crate) fn is(headers: &http::HeaderMap) -> bool {
        headers
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|value| {
                matches!(
                    value.as_bytes(),
                    b"application/grpc-web"
                        | b"application/grpc-web+proto"
                        | b"application/grpc-web-text"
                        | b"application/grpc-web-text+proto"
                )
            })
    }
}

/// How the server's front marks a Connect call it turned into a gRPC request, so that its
/// [`CallInfo`] says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConnectCall;

/// The transport a call came in on.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Native gRPC.
    Grpc,
    /// HTTP/JSON through the generated routes.
    Http,
}

impl Transport {
    /// `grpc` or `http`, as metrics label it.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Grpc => "grpc",
            Transport::Http => "http",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error answer for `status` in the transport's own form: a gRPC trailers-only response, or
/// the HTTP/JSON `google.rpc.Status` body with the code's HTTP status. An UNAUTHENTICATED
/// answer over HTTP carries `WWW-Authenticate` (RFC 9110 section 11.6.1 requires one on a 401):
/// the status's own `www-authenticate` metadata, else `Bearer`.
pub fn status_response(transport: Transport, status: tonic::Status) -> Response<Body> {
    match transport {
        Transport::Grpc => status.into_http::<Body>(),
        Transport::Http => {
            let unauthenticated = status.code() == Code::Unauthenticated;
            let mut response = HttpError::from(status).into_response();
            let headers = response.headers_mut();
            if unauthenticated && !headers.contains_key(http::header::WWW_AUTHENTICATE) {
                headers.insert(
                    http::header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer"),
                );
            }
            response
        }
    }
}

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The gRPC code: the one sent (over HTTP/JSON the one the error body carries, `OK` for a
    /// success and for a stream that started, whose later error is a line of its body),
    /// `CANCELLED` when the response was dropped before its end (the client went away),
    /// `UNKNOWN` for a gRPC response that ended without a status.
    pub code: Code,
    /// The HTTP status of the response's head (200 for every gRPC response but the rare
    /// transport-level error).
    pub http_status: StatusCode,
}

/// Calls `done` once `response` is finished: when its body has been read to its end (for a
/// stream, after its last message), or when it is dropped before that. The code is the one the
/// response's head carries (gRPC trailers-only, every HTTP/JSON answer), else the `grpc-status`
/// of its trailers. Layers record a call's duration and code here.
pub fn on_complete(
    transport: Transport,
    response: Response<Body>,
    done: impl FnOnce(Outcome) + Send + 'static,
) -> Response<Body> {
    let (parts, body) = response.into_parts();
    let head = match transport {
        Transport::Grpc => parts.headers.get(GRPC_STATUS).map(grpc_code),
        // A WebSocket call's `101`: its body's trailer carries the code once the session ends.
        Transport::Http if parts.status == StatusCode::SWITCHING_PROTOCOLS => None,
        Transport::Http => Some(
            parts
                .extensions
                .get::<Code>()
                .copied()
                .unwrap_or_else(|| crate::http::status::code_of_http(parts.status)),
        ),
    };
    let body = Completing {
        inner: body,
        head,
        trailers: None,
        ended: false,
        http_status: parts.status,
        done: Some(done),
    };
    Response::from_parts(parts, Body::new(body))
}

/// The trailer (or trailers-only header) with a gRPC call's code; a constant, so that looking
/// it up parses no name.
pub(crate) const GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");

fn grpc_code(value: &HeaderValue) -> Code {
    std::str::from_utf8(value.as_bytes())
        .ok()
        .and_then(|text| text.parse::<i32>().ok())
        .map_or(Code::Unknown, Code::from_i32)
}

/// A response body that reports how its call ended.
struct Completing<F: FnOnce(Outcome)> {
    inner: Body,
    head: Option<Code>,
    trailers: Option<Code>,
    ended: bool,
    http_status: StatusCode,
    done: Option<F>,
}

// `done` is only ever moved out and called, never pinned.
impl<F: FnOnce(Outcome)> Unpin for Completing<F> {}

impl<F: FnOnce(Outcome)> Completing<F> {
    fn finish(&mut self) {
        let Some(done) = self.done.take() else {
            return;
        };
        self.ended |= http_body::Body::is_end_stream(&self.inner);
        let code = match (self.head, self.trailers) {
            _ if !self.ended => Code::Cancelled,
            (Some(code), _) | (None, Some(code)) => code,
            (None, None) => Code::Unknown,
        };
        done(Outcome {
            code,
            http_status: self.http_status,
        });
    }
}

impl<F: FnOnce(Outcome) + Send + 'static> http_body::Body for Completing<F> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let frame = std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx));
        match &frame {
            None => this.ended = true,
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_ref() {
                    this.trailers = trailers.get(GRPC_STATUS).map(grpc_code);
                    this.ended = true;
                }
            }
            Some(Err(_)) => {}
        }
        if this.ended || http_body::Body::is_end_stream(&this.inner) {
            this.ended = true;
            this.finish();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl<F: FnOnce(Outcome)> Drop for Completing<F> {
    fn drop(&mut self) {
        self.finish();
    }
}

/// What a service of the server's stack answers a call with.
pub(crate) type CallFuture =
    Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

/// A service of the server's stack: always ready, and shared between calls rather than cloned
/// for each (a clone of the stack is one reference count, however many layers it has).
pub(crate) trait Shared: Send + Sync + 'static {
    fn call(&self, request: Request<Body>) -> CallFuture;
}

/// The server's stack, in the extensions of every HTTP request the server hands to its routes:
/// a generated router that finds it calls its matched handler through it.
#[derive(Clone)]
pub(crate) struct Stack(Next);

impl Stack {
    /// Puts `stack` in an HTTP request's extensions, for its routes to find.
    pub(crate) fn insert(stack: &Next, extensions: &mut http::Extensions) {
        extensions.insert(Pending::Stack(Stack(stack.clone())));
    }

    /// The stack a request's extensions carry, if any; its place there is kept for the
    /// call's [`Endpoint`] (see [`Stack::call_http`]).
    pub(crate) fn take(extensions: &mut http::Extensions) -> Option<Stack> {
        Pending::take(extensions, |pending| match pending {
            Pending::Stack(stack) => Ok(stack),
            other => Err(other),
        })
    }

    /// Runs a matched HTTP/JSON call through the stack to `endpoint`.
    pub(crate) fn call_http(
        self,
        mut parts: http::request::Parts,
        body: Body,
        template: Arc<str>,
        endpoint: HttpEndpoint,
    ) -> CallFuture {
        let info = CallInfo::http(&parts, endpoint.method, template);
        parts.extensions.insert(info);
        Endpoint::Http(endpoint).insert(&mut parts.extensions);
        self.0.run(Request::from_parts(parts, body))
    }
}

/// The private extension that carries a call to its end: the stack, from the server to the
/// generated routes (HTTP/JSON), then the endpoint, from whoever matched the call to the
/// stack's end. One slot serves both, so the endpoint takes the stack's place rather than a
/// new one (each new extension is an allocation, and a fourth grows the map).
#[derive(Clone)]
enum Pending {
    Stack(Stack),
    Endpoint(Endpoint),
    Taken,
}

impl Pending {
    /// What the slot in `extensions` holds, when `pick` takes it; the slot keeps anything else.
    fn take<T>(
        extensions: &mut http::Extensions,
        pick: impl FnOnce(Pending) -> Result<T, Pending>,
    ) -> Option<T> {
        let slot = extensions.get_mut::<Pending>()?;
        match pick(std::mem::replace(slot, Pending::Taken)) {
            Ok(taken) => Some(taken),
            Err(other) => {
                *slot = other;
                None
            }
        }
    }
}

/// Where the innermost service sends a call: the gRPC routes, or the matched HTTP handler.
#[derive(Clone)]
pub(crate) enum Endpoint {
    Grpc(axum::Router),
    Http(HttpEndpoint),
}

impl Endpoint {
    /// Puts the endpoint in a request's extensions, for the stack's end to reach.
    pub(crate) fn insert(self, extensions: &mut http::Extensions) {
        match extensions.get_mut::<Pending>() {
            Some(pending) => *pending = Pending::Endpoint(self),
            None => {
                extensions.insert(Pending::Endpoint(self));
            }
        }
    }

    /// Takes the endpoint out of a request's extensions.
    fn take(extensions: &mut http::Extensions) -> Option<Endpoint> {
        Pending::take(extensions, |pending| match pending {
            Pending::Endpoint(endpoint) => Ok(endpoint),
            other => Err(other),
        })
    }
}

/// A matched HTTP route, waiting for the stack to reach it.
#[derive(Clone)]
pub(crate) struct HttpEndpoint {
    pub(crate) handler: Handler,
    pub(crate) method: &'static str,
    pub(crate) bindings: Vec<(&'static str, String)>,
    pub(crate) options: Arc<Options>,
}

/// The rest of the server's stack, as the layer added with `Builder::layer` sees it: the next
/// layer, and at the end the call's handler. It is always ready, and cheap to clone.
#[derive(Clone)]
pub struct Next(Arc<dyn Shared>);

impl Next {
    /// The stack's end: the handler the request's [`Endpoint`] names.
    pub(crate) fn end() -> Self {
        Next(Arc::new(End))
    }

    /// `layer` around this.
    pub(crate) fn wrap(self, layer: &(dyn Fn(Next) -> Next + Send + Sync)) -> Self {
        layer(self)
    }

    /// Runs a call through the stack (no need to wait for readiness).
    pub(crate) fn run(&self, request: Request<Body>) -> CallFuture {
        self.0.call(request)
    }
}

impl fmt::Debug for Next {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Next")
    }
}

impl Service<Request<Body>> for Next {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = CallFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> CallFuture {
        self.0.call(request)
    }
}

/// Puts a user's layer around `next`, so that the stack stays one type: any response body
/// becomes axum's, and an error (a `tower` timeout, load shedding, ...) becomes the
/// transport's answer.
pub(crate) fn boxed_layer<L, B>(layer: L) -> impl Fn(Next) -> Next + Send + Sync
where
    L: Layer<Next> + Send + Sync + 'static,
    L::Service: Service<Request<Body>, Response = Response<B>> + Clone + Send + Sync + 'static,
    <L::Service as Service<Request<Body>>>::Error: Into<BoxError>,
    <L::Service as Service<Request<Body>>>::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    move |next| Next(Arc::new(Normalized(layer.layer(next))))
}

struct Normalized<S>(S);

impl<S, B> Shared for Normalized<S>
where
    S: Service<Request<Body>, Response = Response<B>> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    fn call(&self, request: Request<Body>) -> CallFuture {
        let transport = transport_of(&request);
        // A fresh clone per call, whose readiness this call waits for, so that an error of a
        // layer's `poll_ready` (a failed concurrency limit, say) answers this call in its
        // transport's form.
        let mut service = self.0.clone();
        // Most layers are ready at once. Then the call goes straight in, and the future of a
        // layer that already answers in the stack's own form (the runtime's layers, an
        // interceptor) is the call's future as it is, with no second box around it.
        let mut ready = Context::from_waker(std::task::Waker::noop());
        match service.poll_ready(&mut ready) {
            Poll::Ready(Ok(())) => match downcast::<_, CallFuture>(service.call(request)) {
                Ok(future) => future,
                Err(future) => Box::pin(async move { Ok(answer(transport, future.await)) }),
            },
            Poll::Ready(Err(error)) => {
                let response = status_response(transport, error_status(error.into()));
                Box::pin(std::future::ready(Ok(response)))
            }
            // Polled again, with the call's own waker, by `oneshot`.
            Poll::Pending => {
                Box::pin(async move { Ok(answer(transport, service.oneshot(request).await)) })
            }
        }
    }
}

/// A layer's result as the stack's answer.
fn answer<B, E>(transport: Transport, result: Result<Response<B>, E>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    E: Into<BoxError>,
{
    match result {
        Ok(response) => response.map(Body::new),
        Err(error) => status_response(transport, error_status(error.into())),
    }
}

/// `value` as a `T` when it is one.
fn downcast<S: 'static, T: 'static>(value: S) -> Result<T, S> {
    let mut value = Some(value);
    match (&mut value as &mut dyn std::any::Any).downcast_mut::<Option<T>>() {
        Some(own) => Ok(own.take().expect("just set")),
        None => Err(value.expect("untouched")),
    }
}

fn transport_of<B>(request: &Request<B>) -> Transport {
    request
        .extensions()
        .get::<CallInfo>()
        .map_or(Transport::Http, CallInfo::transport)
}

/// The status for a layer's error: a `tonic::Status` as it is, tower's timeout as
/// DEADLINE_EXCEEDED, its load shedding as RESOURCE_EXHAUSTED (429 over HTTP: overload is shed
/// at once, docs/reference.md section 7), anything else INTERNAL.
pub(crate) fn error_status(error: BoxError) -> tonic::Status {
    let error = match error.downcast::<tonic::Status>() {
        Ok(status) => return *status,
        Err(error) => error,
    };
    if error.is::<tower::timeout::error::Elapsed>() {
        return tonic::Status::deadline_exceeded("the call took longer than the server allows");
    }
    if error.is::<tower::load_shed::error::Overloaded>() {
        let mut status =
            tonic::Status::resource_exhausted("the server is overloaded; try again later");
        // Over HTTP this is the 429's `Retry-After` (RFC 9110 section 10.2.3): shedding is
        // momentary, so a second.
        status.metadata_mut().insert(
            "retry-after",
            tonic::metadata::MetadataValue::from_static("1"),
        );
        return status;
    }
    tonic::Status::internal(format!("a layer of the server failed: {error}"))
}

/// The stack's last service: takes the [`Endpoint`] out of the request and runs it.
#[derive(Clone)]
struct End;

impl Shared for End {
    fn call(&self, request: Request<Body>) -> CallFuture {
        Box::pin(end(request))
    }
}

fn end(mut request: Request<Body>) -> EndFuture {
    match Endpoint::take(request.extensions_mut()) {
        Some(Endpoint::Grpc(mut router)) => EndFuture::Grpc(router.call(request)),
        Some(Endpoint::Http(endpoint)) => {
            let (parts, body) = request.into_parts();
            let call = Call {
                parts,
                body,
                method: endpoint.method,
                bindings: endpoint.bindings,
                options: endpoint.options,
            };
            EndFuture::Http((endpoint.handler)(call))
        }
        None => EndFuture::Ready(Some(status_response(
            transport_of(&request),
            tonic::Status::internal(
                "a layer of the server's stack replaced the request's extensions",
            ),
        ))),
    }
}

pub(crate) enum EndFuture {
    Grpc(axum::routing::future::RouteFuture<Infallible>),
    Http(Pin<Box<dyn Future<Output = Response<Body>> + Send>>),
    Ready(Option<Response<Body>>),
}

impl Future for EndFuture {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            EndFuture::Grpc(future) => Pin::new(future).poll(cx),
            EndFuture::Http(future) => future.as_mut().poll(cx).map(Ok),
            EndFuture::Ready(response) => {
                Poll::Ready(Ok(response.take().expect("polled after it was ready")))
            }
        }
    }
}

/// An interceptor that can `.await`, as a layer of the server's stack: see [`interceptor`].
#[derive(Clone)]
pub struct InterceptorLayer<F>(F);

/// An async interceptor for gRPC and HTTP/JSON alike, as a layer for `Builder::layer`.
///
/// `f` gets the call's metadata (the request headers: on HTTP/JSON the HTTP headers as they
/// came) and extensions (with its [`CallInfo`]) as a `tonic::Request<()>`, the shape of a tonic
/// interceptor's argument. `Ok` lets the call through with the metadata and extensions it
/// returns: insert a typed value (an authenticated principal) and the handler reads it from its
/// own request's extensions. `Err` answers the call with that status in its transport's form
/// ([`status_response`]: UNAUTHENTICATED is a 401 with `WWW-Authenticate` over HTTP).
///
/// ```
/// use rs_svc::serve::{interceptor, CallInfo};
///
/// #[derive(Clone)]
/// struct User(String);
///
/// let auth = interceptor(|mut request: tonic::Request<()>| async move {
///     let public = request
///         .extensions()
///         .get::<CallInfo>()
///         .is_some_and(|call| call.method_name() == "ListBooks");
///     if !public {
///         let token = request.metadata().get("authorization").cloned();
///         let user = check(token).await?; // a call to an identity service, say
///         request.extensions_mut().insert(User(user));
///     }
///     Ok(request)
/// });
/// # async fn check(_: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>) -> Result<String, tonic::Status> { Ok("ann".into()) }
/// # let _ = rs_svc::serve::Server::builder().layer(auth);
/// ```
pub fn interceptor<F, Fut>(f: F) -> InterceptorLayer<F>
where
    F: Fn(tonic::Request<()>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<tonic::Request<()>, tonic::Status>> + Send + 'static,
{
    InterceptorLayer(f)
}

impl<S, F: Clone> Layer<S> for InterceptorLayer<F> {
    type Service = Intercepted<S, F>;

    fn layer(&self, inner: S) -> Self::Service {
        Intercepted {
            inner,
            intercept: self.0.clone(),
        }
    }
}

impl<F> fmt::Debug for InterceptorLayer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InterceptorLayer")
    }
}

/// The service an [`InterceptorLayer`] makes.
#[derive(Clone)]
pub struct Intercepted<S, F> {
    inner: S,
    intercept: F,
}

impl<S, F> fmt::Debug for Intercepted<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Intercepted")
    }
}

impl<S, F, Fut> Service<Request<Body>> for Intercepted<S, F>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    F: Fn(tonic::Request<()>) -> Fut,
    Fut: Future<Output = Result<tonic::Request<()>, tonic::Status>> + Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let transport = transport_of(&request);
        let (mut parts, body) = request.into_parts();
        let metadata =
            tonic::metadata::MetadataMap::from_headers(std::mem::take(&mut parts.headers));
        let extensions = std::mem::take(&mut parts.extensions);
        let intercepted = (self.intercept)(tonic::Request::from_parts(metadata, extensions, ()));
        let inner = self.inner.clone();
        Box::pin(async move {
            match intercepted.await {
                Ok(request) => {
                    let (metadata, extensions, ()) = request.into_parts();
                    parts.headers = metadata.into_headers();
                    parts.extensions = extensions;
                    inner.oneshot(Request::from_parts(parts, body)).await
                }
                Err(status) => Ok(status_response(transport, status)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::error_status;
    use tonic::Code;

    #[test]
    fn a_layers_error_becomes_the_status_of_its_kind() {
        let cases: [(tower::BoxError, Code); 4] = [
            (
                Box::new(tonic::Status::permission_denied("no")),
                Code::PermissionDenied,
            ),
            (
                Box::new(tower::timeout::error::Elapsed::new()),
                Code::DeadlineExceeded,
            ),
            (
                Box::new(tower::load_shed::error::Overloaded::new()),
                Code::ResourceExhausted,
            ),
            ("something else".into(), Code::Internal),
        ];
        for (error, code) in cases {
            assert_eq!(error_status(error).code(), code);
        }
    }
}
