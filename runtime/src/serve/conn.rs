//! One accepted connection: which routes answer it, and how it is drained or cut.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::routing::future::RouteFuture;
use axum::Router;
use http::{header, Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tonic::transport::server::TcpConnectInfo;
use tower::Service;

use super::browser::Browsers;
use super::limits::{self, Activity, CallOpen, CallSlots, Limits, ReceiveLimited, Sent, Slot};
use super::probes::Probes;
use crate::http::call::{
    self, CallFuture, CallInfo, ConnectCall, Endpoint, GrpcWebCall, Next, Transport,
};
use crate::http::routes::MessageLimit;

/// The routes a listener serves.
#[derive(Clone)]
pub(super) enum Routing {
    /// Everything goes to the gRPC routes (the gRPC port).
    Grpc(Router),
    /// Everything goes to the HTTP routes (the HTTP port), except gRPC-Web and Connect calls,
    /// which the front marked (`GrpcWebCall`, `ConnectCall`, only when they are on) and go to
    /// the gRPC routes.
    Http { http: Router, grpc: Router },
    /// One port: `content-type: application/grpc...` goes to gRPC, the rest to HTTP.
    Both { grpc: Router, http: Router },
}

/// The server's middleware stack (`Builder::layer`), with the services it wraps.
#[derive(Clone)]
pub(super) struct Stack {
    pub(super) stack: Next,
    /// The services registered with `Builder::grpc`; the health and reflection services,
    /// which are not among them, are not wrapped.
    pub(super) services: Arc<[&'static str]>,
    /// The methods (`package.Service/Method`) of the registered services that a descriptor set
    /// given to the builder describes; a call to another method of such a service is unknown.
    pub(super) methods: Arc<KnownMethods>,
}

/// The methods of the services the descriptor sets describe.
#[derive(Default)]
pub(super) struct KnownMethods {
    pub(super) services: std::collections::HashSet<String>,
    /// Each described method, and whether it answers with one message (is not
    /// server-streaming).
    pub(super) methods: std::collections::HashMap<String, bool>,
}

impl KnownMethods {
    /// Whether `method` (`package.Service/Method`) of the served `service` is known (its
    /// service is not described, or the description lists it), and whether it is known to
    /// answer with one message.
    fn knows(&self, service: &str, method: &str) -> (bool, bool) {
        match self.methods.get(method) {
            Some(&one_message) => (true, one_message),
            None => (!self.services.contains(service), false),
        }
    }
}

/// What every connection enforces of the server's [`Limits`] beyond what hyper does, with what
/// is derived from them once.
pub(super) struct Enforced {
    limits: Limits,
    slots: Option<Arc<CallSlots>>,
    /// The receive limit for the HTTP routes, when set on the server (it replaces theirs).
    http_message_limit: Option<MessageLimit>,
    default_grpc_timeout: Option<http::HeaderValue>,
}

impl Enforced {
    fn new(limits: Limits) -> Self {
        Enforced {
            slots: limits.max_concurrent_calls.map(CallSlots::new),
            http_message_limit: limits
                .receive_limit_set
                .then_some(MessageLimit(limits.max_receive_message_bytes)),
            default_grpc_timeout: limits.default_grpc_timeout(),
            limits,
        }
    }

    /// Why `request`'s headers are over the limits, if they are.
    fn headers_over<B>(&self, request: &Request<B>) -> Option<String> {
        let (headers, limits) = (request.headers(), &self.limits);
        if headers.len() > limits.max_headers {
            return Some(format!(
                "the request has more than {} headers",
                limits.max_headers
            ));
        }
        let size = limits::header_list_size(headers);
        if size > limits.max_header_bytes {
            return Some(format!(
                "the request's headers are {size} bytes, over the server's limit of {} bytes",
                limits.max_header_bytes
            ));
        }
        None
    }
}

/// The per-connection service: [`Routing`] plus the addresses handlers may ask for.
#[derive(Clone)]
pub(super) struct Dispatch {
    routing: Routing,
    stack: Option<Stack>,
    probes: Option<Probes>,
    enforced: Arc<Enforced>,
    activity: Arc<Activity>,
    local: Option<SocketAddr>,
    remote: SocketAddr,
    #[cfg(feature = "tls")]
    tls: Option<TlsPeer>,
    /// The server's drain, for the WebSocket sessions opened on the connection.
    #[cfg(feature = "websocket")]
    drain: watch::Receiver<bool>,
}

/// What a TLS connection tells its requests about the client.
#[cfg(feature = "tls")]
#[derive(Clone)]
struct TlsPeer {
    /// tonic's own, so that `Request::peer_certs()` works as on tonic's server.
    info: tonic::transport::server::TlsConnectInfo<TcpConnectInfo>,
    certificate: Option<super::tls::PeerCertificate>,
}

/// Any request body: hyper's, or tonic-web's decoding of a gRPC-Web call's.
impl<B> Service<Request<B>> for Dispatch
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<tower::BoxError>,
{
    type Response = Response<Sent>;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // axum routers are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let open = self.activity.call();
        let grpc = match &self.routing {
            Routing::Grpc(_) => true,
            Routing::Http { .. } => {
                let extensions = request.extensions();
                extensions.get::<GrpcWebCall>().is_some()
                    || extensions.get::<ConnectCall>().is_some()
            }
            Routing::Both { .. } => is_grpc(&request),
        };
        let transport = if grpc {
            Transport::Grpc
        } else {
            Transport::Http
        };
        // A WebSocket handshake's deadline may come in its query (docs/reference.md section
        // 13.1); it becomes the header before anything reads the header.
        #[cfg(feature = "websocket")]
        let request =
            if !grpc && crate::http::websocket::is_handshake(request.method(), request.headers()) {
                let (mut parts, body) = request.into_parts();
                crate::http::websocket::timeout_from_query(&mut parts.headers, &mut parts.uri);
                parts
                    .extensions
                    .insert(crate::http::websocket::Draining(self.drain.clone()));
                Request::from_parts(parts, body)
            } else {
                request
            };
        if let Some(why) = self.enforced.headers_over(&request) {
            return Answer::ready(limits::headers_too_large(transport, why), open);
        }
        // Probes answer on every port, to anything that is not gRPC.
        let probe = self.probes.is_some() && Probes::wants(&request) && !is_grpc(&request);
        let slot = match &self.enforced.slots {
            // Probes, health and reflection answer however busy the server is.
            Some(slots) if !(probe || grpc && is_builtin(grpc_service(&request))) => {
                match slots.take() {
                    Some(slot) => Some(slot),
                    None => return Answer::ready(limits::shed(transport), open),
                }
            }
            _ => None,
        };
        let send_limit = if grpc {
            self.enforced.limits.max_send_message_bytes
        } else {
            None
        };
        // The call calls made while serving it inherit their deadline from (docs/reference.md
        // section 1.2): only when it has one, so a call without costs nothing.
        let serving = crate::grpc_timeout::grpc_timeout(request.headers())
            .or_else(|| {
                let default = self.enforced.default_grpc_timeout.as_ref()?;
                crate::grpc_timeout::grpc_timeout_value(default)
            })
            .map(|timeout| {
                crate::api::CallScope::new(std::time::Instant::now().checked_add(timeout))
            });
        Answer {
            inner: self.dispatch(request, grpc, probe),
            send_limit,
            open: Some(open),
            slot,
            serving,
        }
    }
}

impl Dispatch {
    fn dispatch<B>(&mut self, request: Request<B>, grpc: bool, probe: bool) -> Dispatched
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<tower::BoxError>,
    {
        let (mut parts, body) = request.into_parts();
        let body = if grpc {
            axum::body::Body::new(ReceiveLimited::new(
                body,
                self.enforced.limits.max_receive_message_bytes,
            ))
        } else {
            axum::body::Body::new(body)
        };
        if let Some(timeout) = &self.enforced.default_grpc_timeout {
            if !parts
                .headers
                .contains_key(crate::grpc_timeout::GRPC_TIMEOUT)
            {
                parts
                    .headers
                    .insert(crate::grpc_timeout::GRPC_TIMEOUT, timeout.clone());
            }
        }
        if !grpc {
            if let Some(limit) = self.enforced.http_message_limit {
                parts.extensions.insert(limit);
            }
        }
        let mut request = Request::from_parts(parts, body);
        // What tonic's and axum's own servers put there, so `Request::remote_addr()` and
        // `ConnectInfo<SocketAddr>` work in handlers served here.
        let extensions = request.extensions_mut();
        extensions.insert(TcpConnectInfo {
            local_addr: self.local,
            remote_addr: Some(self.remote),
        });
        extensions.insert(ConnectInfo(self.remote));
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            extensions.insert(tls.info.clone());
            if let Some(certificate) = &tls.certificate {
                extensions.insert(certificate.clone());
            }
        }
        if let (true, Some(probes)) = (probe, &self.probes) {
            let head = request.method() == http::Method::HEAD;
            let path = request.uri().path().to_owned();
            let probes = probes.clone();
            return Dispatched::Probe {
                future: Box::pin(async move { Ok(probes.answer(&path, head).await) }),
            };
        }
        let router = match &mut self.routing {
            Routing::Grpc(router) => router,
            Routing::Http { http, grpc: routes } | Routing::Both { grpc: routes, http } => {
                if grpc {
                    routes
                } else {
                    http
                }
            }
        };
        let Some(stack) = &self.stack else {
            return Dispatched::Route {
                future: router.call(request),
            };
        };
        if !grpc {
            // The generated routes call the stack once they know the method.
            call::Stack::insert(&stack.stack, request.extensions_mut());
            return Dispatched::Route {
                future: router.call(request),
            };
        }
        let service = grpc_service(&request);
        if is_builtin(service) {
            return Dispatched::Route {
                future: router.call(request),
            };
        }
        let method = request.uri().path().trim_start_matches('/');
        let (known, one_message) = if stack.services.contains(&service) {
            stack.methods.knows(service, method)
        } else {
            (false, false)
        };
        let info = CallInfo::grpc(&request, known, one_message, Some(self.remote), self.local);
        request.extensions_mut().insert(info);
        Endpoint::Grpc(router.clone()).insert(request.extensions_mut());
        Dispatched::Stack {
            future: stack.stack.run(request),
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of the routes, or of the stack in front of them.
    #[project = DispatchedProj]
    enum Dispatched {
        Route { #[pin] future: RouteFuture<Infallible> },
        Stack { future: CallFuture },
        Probe { future: Pin<Box<dyn Future<Output = Result<Response<axum::body::Body>, Infallible>> + Send>> },
        Ready { response: Option<Response<axum::body::Body>> },
    }
}

impl Future for Dispatched {
    type Output = Result<Response<axum::body::Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            DispatchedProj::Route { future } => future.poll(cx),
            DispatchedProj::Stack { future } => future.as_mut().poll(cx),
            DispatchedProj::Probe { future } => future.as_mut().poll(cx),
            DispatchedProj::Ready { response } => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// What a connection answers a request with: the routes' or the stack's answer, holding the
    /// call's place among the open calls until its response's end ([`Sent`]).
    pub(super) struct Answer {
        #[pin]
        inner: Dispatched,
        send_limit: Option<usize>,
        open: Option<CallOpen>,
        slot: Option<Slot>,
        serving: Option<crate::api::CallScope>,
    }
}

impl Answer {
    /// An answer given at once, before any route.
    fn ready(response: Response<axum::body::Body>, open: CallOpen) -> Self {
        Answer {
            inner: Dispatched::Ready {
                response: Some(response),
            },
            send_limit: None,
            open: Some(open),
            slot: None,
            serving: None,
        }
    }
}

impl Future for Answer {
    type Output = Result<Response<Sent>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        let Ok(response) = std::task::ready!(match this.serving {
            // The handler runs inside this poll: calls it makes see the call being served.
            Some(serving) => serving.sync_scope(|| inner.poll(cx)),
            None => inner.poll(cx),
        });
        let (open, slot) = (this.open.take(), this.slot.take());
        // The connection's task waits for its sessions (`serve_connection`).
        #[cfg(feature = "websocket")]
        if let Some(open) = open.as_ref().filter(|_| is_session(&response)) {
            open.activity().session_opened();
        }
        let response = response.map(|body| Sent::new(body, *this.send_limit, open, slot));
        #[cfg(feature = "websocket")]
        let response = websocket_session(response);
        Poll::Ready(Ok(response))
    }
}

/// A WebSocket call's `101` (docs/reference.md section 13.1): hyper drops the body of a `101`
/// at once, so the body, which ends with the session, is read here to its end instead, and with
/// it the call keeps its place among the open calls and the stack learns how it ended.
#[cfg(feature = "websocket")]
fn websocket_session(response: Response<Sent>) -> Response<Sent> {
    if !is_session(&response) {
        return response;
    }
    let (parts, session) = response.into_parts();
    tokio::spawn(http_body_util::BodyExt::collect(session));
    Response::from_parts(
        parts,
        Sent::new(axum::body::Body::empty(), None, None, None),
    )
}

/// Whether `response` is the `101` of a WebSocket session of the HTTP routes.
#[cfg(feature = "websocket")]
fn is_session<B>(response: &Response<B>) -> bool {
    response.status() == http::StatusCode::SWITCHING_PROTOCOLS
        && response
            .extensions()
            .get::<crate::http::websocket::Session>()
            .is_some()
}

/// The service a gRPC request's path names (`package.Service` of `/package.Service/Method`).
fn grpc_service<B>(request: &Request<B>) -> &str {
    request
        .uri()
        .path()
        .trim_start_matches('/')
        .split_once('/')
        .map_or("", |(service, _)| service)
}

/// The services every server answers itself, outside the stack and the call limit.
fn is_builtin(service: &str) -> bool {
    service == super::HEALTH_SERVICE || service.starts_with("grpc.reflection.")
}

/// gRPC requests say so in their content type: `application/grpc`, `application/grpc+proto`, ...
fn is_grpc<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"))
}

/// Accepts connections and runs each as a task in one set, so draining can wait for all of
/// them and a hard stop can abort all of them.
pub(super) struct Connections {
    http: auto::Builder<TokioExecutor>,
    browsers: Browsers,
    stack: Option<Stack>,
    probes: Option<Probes>,
    enforced: Arc<Enforced>,
    #[cfg(feature = "tls")]
    tls: Option<super::tls::Acceptor>,
    tasks: JoinSet<()>,
    drain: watch::Sender<bool>,
}

impl Connections {
    pub(super) fn new(
        browsers: Browsers,
        stack: Option<Stack>,
        probes: Option<Probes>,
        limits: Limits,
        #[cfg(feature = "tls")] tls: Option<super::tls::Acceptor>,
    ) -> Self {
        let (drain, _) = watch::channel(false);
        let mut http = auto::Builder::new(TokioExecutor::new());
        // hyper enforces its HTTP/1 header read timeout and HTTP/2 keepalive only when it has a
        // timer.
        http.http1().timer(TokioTimer::new());
        http.http2().timer(TokioTimer::new());
        limits.configure(&mut http);
        Connections {
            http,
            browsers,
            stack,
            probes,
            enforced: Arc::new(Enforced::new(limits)),
            #[cfg(feature = "tls")]
            tls,
            tasks: JoinSet::new(),
            drain,
        }
    }

    /// Accepts on `listeners` (with the routing each serves) until `stop` completes.
    pub(super) async fn accept_until(
        &mut self,
        listeners: &[(TcpListener, Routing)],
        stop: impl Future<Output = ()>,
    ) {
        let mut stop = std::pin::pin!(stop);
        loop {
            tokio::select! {
                biased;
                () = &mut stop => return,
                // Reap finished connections as we go.
                Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => {}
                (accepted, routing) = accept_any(listeners) => match accepted {
                    Ok((stream, remote)) => self.spawn(stream, remote, routing.clone()),
                    Err(error) if is_per_connection(&error) => {}
                    // Out of file descriptors and the like: wait a little for some to close,
                    // rather than spinning or giving up serving.
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                },
            }
        }
    }

    fn spawn(&mut self, stream: TcpStream, remote: SocketAddr, routing: Routing) {
        // gRPC messages are small writes that must not wait for Nagle.
        let _ = stream.set_nodelay(true);
        self.enforced.limits.keepalive(&stream);
        let activity = Activity::new();
        let drain = self.drain.subscribe();
        let service = Dispatch {
            routing,
            stack: self.stack.clone(),
            probes: self.probes.clone(),
            enforced: self.enforced.clone(),
            activity,
            local: stream.local_addr().ok(),
            remote,
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "websocket")]
            drain: drain.clone(),
        };
        let http = self.http.clone();
        let browsers = (!self.browsers.is_off()).then(|| self.browsers.clone());
        #[cfg(feature = "tls")]
        if let Some(acceptor) = self.tls.clone() {
            // The handshake runs here, in the connection's task, so a slow client never holds
            // up the accept loop.
            self.tasks.spawn(async move {
                let (mut service, mut drain) = (service, drain);
                let stream = tokio::select! {
                    stream = acceptor.accept(stream) => stream,
                    _ = drain.changed() => None,
                };
                let Some(stream) = stream else { return };
                use tonic::transport::server::Connected as _;
                let info = stream.connect_info();
                let certificate = info
                    .peer_certs()
                    .and_then(|chain| super::tls::PeerCertificate::from_chain(&chain));
                service.tls = Some(TlsPeer { info, certificate });
                serve_dispatch(http, stream, service, browsers, drain).await;
            });
            return;
        }
        self.tasks
            .spawn(serve_dispatch(http, stream, service, browsers, drain));
    }

    /// Asks every connection to finish what it has in flight and close, and waits for them up to
    /// `deadline`; what is still running then is cut. Returns whether everything finished.
    pub(super) async fn drain(
        mut self,
        deadline: Duration,
        force: impl Future<Output = ()>,
    ) -> bool {
        self.drain.send_replace(true);
        let all_done = async { while self.tasks.join_next().await.is_some() {} };
        let clean = tokio::select! {
            () = all_done => true,
            () = tokio::time::sleep(deadline) => false,
            () = force => false,
        };
        if !clean {
            // Aborting a connection also cancels its HTTP/2 streams' handlers, which hyper runs
            // as tasks of their own: h2 fails the streams of a dropped connection and hyper
            // drops a handler whose stream failed.
            self.tasks.shutdown().await;
        }
        clean
    }
}

/// Serves a connection with its dispatch, behind the browsers' front when they get anything.
async fn serve_dispatch<I>(
    http: auto::Builder<TokioExecutor>,
    stream: I,
    dispatch: Dispatch,
    browsers: Option<Browsers>,
    drain: watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (activity, enforced) = (dispatch.activity.clone(), dispatch.enforced.clone());
    match browsers {
        Some(browsers) => {
            let front = browsers.front(dispatch);
            serve_connection(http, stream, front, activity, enforced, drain).await;
        }
        None => serve_connection(http, stream, dispatch, activity, enforced, drain).await,
    }
}

/// Serves HTTP/1 and HTTP/2 on one connection until it ends, or until draining begins (or the
/// connection stays silent or idle past its limits) and what it has in flight is done.
async fn serve_connection<I, S, B>(
    http: auto::Builder<TokioExecutor>,
    stream: I,
    service: S,
    activity: Arc<Activity>,
    enforced: Arc<Enforced>,
    mut drain: watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<tower::BoxError>,
{
    let stream = limits::Watched::new(stream, activity.clone());
    let connection = http
        .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
    let mut connection = std::pin::pin!(connection);
    let expired = activity.expired(
        enforced.limits.header_read_timeout,
        enforced.limits.idle_timeout,
    );
    let ended = tokio::select! {
        _ = connection.as_mut() => true,
        _ = drain.changed() => false,
        () = expired => false,
    };
    if !ended {
        // HTTP/2: GOAWAY, then finish the open streams; HTTP/1: finish the current
        // exchange and close; a connection that sent nothing yet is closed at once.
        connection.as_mut().graceful_shutdown();
        let _ = connection.await;
    }
    // An upgraded connection's exchange ends at its `101`; its WebSocket session goes on, and
    // ends (at the latest when draining begins) with frames the drain should wait for.
    #[cfg(feature = "websocket")]
    activity.sessions_ended().await;
}

/// The next connection from any of `listeners`, with the routing of the one it came in on.
async fn accept_any(
    listeners: &[(TcpListener, Routing)],
) -> (std::io::Result<(TcpStream, SocketAddr)>, &Routing) {
    std::future::poll_fn(|cx| {
        for (listener, routing) in listeners {
            if let Poll::Ready(accepted) = listener.poll_accept(cx) {
                return Poll::Ready((accepted, routing));
            }
        }
        Poll::Pending
    })
    .await
}

/// Errors that concern one connection that went away before it was accepted, not the listener.
fn is_per_connection(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    )
}

#[cfg(test)]
mod tests {
    use super::is_grpc;
    use http::Request;

    #[test]
    fn grpc_is_recognised_by_content_type_prefix() {
        let cases = [
            (Some("application/grpc"), true),
            (Some("application/grpc+proto"), true),
            (Some("application/grpc+json"), true),
            (Some("application/json"), false),
            (Some("text/plain"), false),
            (None, false),
        ];
        for (content_type, expected) in cases {
            let mut request = Request::builder();
            if let Some(value) = content_type {
                request = request.header("content-type", value);
            }
            let request = request.body(()).unwrap();
            assert_eq!(is_grpc(&request), expected, "{content_type:?}");
        }
    }
}
