//! Serving gRPC and HTTP/JSON from one process.
//!
//! [`Server::builder`] collects tonic services (for example the generated
//! `OrderServiceServer::new(impl)`) and axum routes (for example the generated
//! `order_service_http::router(..)`), then serves them
//! - on two ports, gRPC and HTTP (the default: `0.0.0.0:9090` and `0.0.0.0:8080`), or
//! - on one port, sending requests whose `content-type` starts with `application/grpc` to the
//!   gRPC services and all others to the HTTP routes.
//!
//! A gRPC call whose `grpc-timeout` passes before its handler answers gets `DEADLINE_EXCEEDED`,
//! and its handler is dropped.
//!
//! With the `tls` feature, `Builder::tls` makes every port serve TLS, optionally requiring
//! client certificates whose verified identity (`PeerCertificate`) reaches handlers and
//! layers; certificates reload from disk without a restart (docs/reference.md section 10).
//!
//! With the `grpc-web` and `cors` features, `Builder::grpc_web` serves browsers' gRPC-Web calls on
//! every port and `Builder::cors` lets pages of other origins call (docs/reference.md
//! section 13); with the `connect` feature, `Builder::connect` serves the Connect protocol the
//! same way.
//!
//! Every server also answers the standard gRPC health service (`grpc.health.v1.Health`) and,
//! given the API's encoded `FileDescriptorSet`, server reflection (`grpc.reflection.v1` and
//! `v1alpha`, so that grpcurl and grpcui work without `.proto` files).
//!
//! Shutdown, on SIGTERM or SIGINT (or a future of your own), goes:
//! 1. health turns `NOT_SERVING` for the server (`""`) and every service;
//! 2. after [`Builder::shutdown_delay`] (default zero) of still accepting, so that load balancers
//!    notice, the listeners close: new connections are refused;
//! 3. open connections are asked to finish (HTTP/2 GOAWAY) and in-flight calls run to their end,
//!    up to [`Builder::shutdown_timeout`] (default 30 s);
//! 4. whatever still runs then is cut, and serving returns.

pub mod access;
mod browser;
#[cfg(feature = "compression")]
mod compression;
mod conn;
#[cfg(feature = "connect")]
mod connect;
mod limits;
mod probes;
mod recover;
#[cfg(feature = "tls")]
pub mod tls;

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tower::Service;

use conn::{Connections, Routing};
use tower::{BoxError, Layer};

use crate::http::call::boxed_layer;
pub use crate::http::call::{
    interceptor, on_complete, status_response, CallInfo, Intercepted, InterceptorLayer, Next,
    Outcome, Transport,
};

#[cfg(feature = "cors")]
pub use browser::cors::{Cors, CORS_ALLOWED_HEADERS, CORS_ALLOWED_METHODS, CORS_EXPOSED_HEADERS};
#[cfg(feature = "compression")]
pub use compression::Compression;
pub use limits::Limits;
#[cfg(feature = "tls")]
pub use tls::{PeerCertificate, Tls};
pub use tonic_health::server::HealthReporter;
pub use tonic_health::ServingStatus;

/// The gRPC port used when none is given: `0.0.0.0:9090`.
pub const DEFAULT_GRPC_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 9090);
/// The HTTP port used when none is given: `0.0.0.0:8080`.
pub const DEFAULT_HTTP_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8080);
/// How long in-flight calls may run after shutdown begins, unless set otherwise: 30 s.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

const HEALTH_SERVICE: &str = "grpc.health.v1.Health";
const REFLECTION_V1: &str = "grpc.reflection.v1.ServerReflection";
const REFLECTION_V1ALPHA: &str = "grpc.reflection.v1alpha.ServerReflection";

/// Configures a [`Server`].
///
/// ```no_run
/// # use std::{convert::Infallible, time::Duration};
/// # async fn example<S>(order_service: S) -> Result<(), rs_svc::serve::Error>
/// # where
/// #     S: tower::Service<http::Request<tonic::body::Body>, Error = Infallible,
/// #             Response = http::Response<tonic::body::Body>>
/// #         + tonic::server::NamedService + Clone + Send + Sync + 'static,
/// #     S::Future: Send + 'static,
/// # {
/// # const FILE_DESCRIPTOR_SET: &[u8] = &[];
/// use rs_svc::serve::Server;
///
/// // `order_service` is for example `OrderServiceServer::new(MyOrders)`.
/// let routes = axum::Router::new().route("/hello", axum::routing::get(|| async { "hello" }));
/// Server::builder()
///     .grpc(order_service)
///     .http(routes)
///     .file_descriptor_set(FILE_DESCRIPTOR_SET)
///     .single_port(([0, 0, 0, 0], 8080))
///     .shutdown_timeout(Duration::from_secs(10))
///     .build()?
///     .serve() // until SIGTERM or SIGINT
///     .await
/// # }
/// ```
pub struct Builder {
    grpc: RoutesBuilder,
    services: Vec<&'static str>,
    http: Option<Router>,
    descriptor_sets: Vec<&'static [u8]>,
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    single_port: Option<SocketAddr>,
    shutdown_timeout: Duration,
    shutdown_delay: Duration,
    layers: Vec<StackLayer>,
    access_log: bool,
    #[cfg(feature = "metrics")]
    metrics: Option<crate::metrics::Metrics>,
    health_endpoints: bool,
    limits: Limits,
    #[cfg(feature = "tls")]
    tls: Option<Tls>,
    #[cfg(feature = "compression")]
    compression: Compression,
    #[cfg(feature = "grpc-web")]
    grpc_web: bool,
    #[cfg(feature = "connect")]
    connect: bool,
    #[cfg(feature = "cors")]
    cors: Option<Cors>,
    error: Option<Error>,
}

/// A layer of the server's stack, boxed so that the stack is one type.
type StackLayer = Box<dyn Fn(Next) -> Next + Send + Sync>;

impl Default for Builder {
    fn default() -> Self {
        Builder {
            grpc: RoutesBuilder::default(),
            services: Vec::new(),
            http: None,
            descriptor_sets: Vec::new(),
            grpc_addr: DEFAULT_GRPC_ADDR,
            http_addr: DEFAULT_HTTP_ADDR,
            single_port: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            shutdown_delay: Duration::ZERO,
            layers: Vec::new(),
            access_log: false,
            #[cfg(feature = "metrics")]
            metrics: None,
            health_endpoints: true,
            limits: Limits::default(),
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "compression")]
            compression: Compression::default(),
            #[cfg(feature = "grpc-web")]
            grpc_web: false,
            #[cfg(feature = "connect")]
            connect: false,
            #[cfg(feature = "cors")]
            cors: None,
            error: None,
        }
    }
}

impl Builder {
    /// Serves a tonic service, such as a generated `OrderServiceServer::new(impl)` (wrapped in
    /// interceptors or layers as you like), and reports it `SERVING` under its
    /// [`NamedService::NAME`] in the health service.
    ///
    /// Registering two services with the same name is an error from [`Builder::build`].
    pub fn grpc<S>(mut self, service: S) -> Self
    where
        S: Service<http::Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        let reserved = [HEALTH_SERVICE, REFLECTION_V1, REFLECTION_V1ALPHA];
        if self.services.contains(&S::NAME) || reserved.contains(&S::NAME) {
            self.error.get_or_insert(Error::DuplicateService(S::NAME));
        } else {
            self.services.push(S::NAME);
            self.grpc.add_service(service);
        }
        self
    }

    /// Serves HTTP routes, such as the generated `order_service_http::router(..)`. Called more
    /// than once, the routers are merged (and, as with [`Router::merge`], overlapping routes
    /// panic).
    pub fn http(mut self, router: Router) -> Self {
        self.http = Some(match self.http.take() {
            Some(routes) => routes.merge(router),
            None => router,
        });
        self
    }

    /// Enables server reflection from an encoded `google.protobuf.FileDescriptorSet` (as
    /// generated next to the code, imports included). May be called for several sets.
    /// Reflection lists the services registered here, the health service and itself.
    pub fn file_descriptor_set(mut self, encoded: &'static [u8]) -> Self {
        self.descriptor_sets.push(encoded);
        self
    }

    /// The address of the gRPC port in two-port mode; default [`DEFAULT_GRPC_ADDR`].
    pub fn grpc_addr(mut self, addr: impl Into<SocketAddr>) -> Self {
        self.grpc_addr = addr.into();
        self
    }

    /// The address of the HTTP port in two-port mode; default [`DEFAULT_HTTP_ADDR`]. The HTTP
    /// port is only opened when there are HTTP routes.
    pub fn http_addr(mut self, addr: impl Into<SocketAddr>) -> Self {
        self.http_addr = addr.into();
        self
    }

    /// Serves gRPC and HTTP on one address, telling them apart by `content-type`
    /// (`application/grpc...` is gRPC). Overrides [`Builder::grpc_addr`] and
    /// [`Builder::http_addr`].
    pub fn single_port(mut self, addr: impl Into<SocketAddr>) -> Self {
        self.single_port = Some(addr.into());
        self
    }

    /// How long in-flight calls may still run once shutdown begins, before they are cut;
    /// default [`DEFAULT_SHUTDOWN_TIMEOUT`].
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// How long to keep accepting after health turned `NOT_SERVING`, so that load balancers and
    /// orchestrators stop sending traffic before connections are refused; default zero.
    pub fn shutdown_delay(mut self, delay: Duration) -> Self {
        self.shutdown_delay = delay;
        self
    }

    /// Wraps every call, gRPC and HTTP/JSON alike, in a tower layer: a gRPC call and the same
    /// method reached over HTTP/JSON pass through the same layer instance, which finds the
    /// call's [`CallInfo`] (method, transport, peer, deadline) in the request's extensions and
    /// its metadata in the request's headers (docs/reference.md section 7).
    ///
    /// The first layer added is the outermost, as with `tower::ServiceBuilder`. A layer's
    /// service may answer with any body, and fail with any error: a `tonic::Status` is answered
    /// as it is, tower's timeout as DEADLINE_EXCEEDED, its load shedding as RESOURCE_EXHAUSTED
    /// (429), other errors as INTERNAL, each in the call's transport's form
    /// ([`status_response`]). The health and reflection services and the router's own non-RPC
    /// routes are not wrapped.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// use rs_svc::serve::{CallInfo, Server};
    ///
    /// let calls = Arc::new(AtomicUsize::new(0));
    /// let counted = calls.clone();
    /// let count = tower::layer::layer_fn(move |next: rs_svc::serve::Next| {
    ///     let calls = counted.clone();
    ///     tower::service_fn(move |request: http::Request<axum::body::Body>| {
    ///         let method = request.extensions().get::<CallInfo>().map(|c| c.method().to_owned());
    ///         calls.fetch_add(1, Ordering::Relaxed);
    ///         tower::ServiceExt::oneshot(next.clone(), request)
    ///     })
    /// });
    /// let builder = Server::builder().layer(count);
    /// # let _ = builder;
    /// ```
    pub fn layer<L, B>(mut self, layer: L) -> Self
    where
        L: Layer<Next> + Send + Sync + 'static,
        L::Service: tower::Service<http::Request<axum::body::Body>, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower::Service<http::Request<axum::body::Body>>>::Error: Into<BoxError>,
        <L::Service as tower::Service<http::Request<axum::body::Body>>>::Future: Send + 'static,
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.layers.push(Box::new(boxed_layer(layer)));
        self
    }

    /// Logs one line per call, gRPC and HTTP/JSON, as a `tracing` event at target
    /// [`access::TARGET`] (`rs_svc::access`, level INFO) once the call's response is done:
    /// method, transport, code, HTTP status, route, duration, client address, and the trace id
    /// of the caller's `traceparent`. Off by default. It runs outside every [`Builder::layer`],
    /// so calls a layer refuses are logged too.
    pub fn access_log(mut self, on: bool) -> Self {
        self.access_log = on;
        self
    }

    /// Records every call, gRPC and HTTP/JSON, in `metrics` (`rpc_server_calls_total`,
    /// `rpc_server_call_duration_seconds`, `rpc_server_calls_in_flight`: see
    /// [`crate::metrics`]) and answers `GET /metrics` on the HTTP port (the one port in
    /// one-port mode) with the exposition. Off by default. Like the access log, it runs outside
    /// every [`Builder::layer`], so calls a layer refuses are counted too.
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self = self.http(metrics.router());
        self.metrics = Some(metrics);
        self
    }

    /// Whether `GET /healthz` and `GET /readyz` answer on every port, before the HTTP routes
    /// (default on): `/healthz` is 200 while the server answers at all; `/readyz` is 200 while
    /// the server and every service are `SERVING` in the gRPC health service, and 503 from the
    /// moment shutdown begins or while any service is reported `NOT_SERVING`
    /// ([`Server::health_reporter`]). Both answer JSON with the statuses.
    pub fn health_endpoints(mut self, on: bool) -> Self {
        self.health_endpoints = on;
        self
    }

    /// The server's limits (concurrent calls, message and header sizes, timeouts, keepalive,
    /// a default deadline), replacing the defaults documented on each [`Limits`] setter.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Serves TLS, and only TLS, on every port (both ports, or the one port): see [`Tls`] for
    /// the certificate, its reloading and client certificates (mTLS). The handshake runs in
    /// each connection's task, within [`Tls::handshake_timeout`]. With client certificates,
    /// every request carries the verified [`PeerCertificate`] in its extensions, and tonic's
    /// `Request::peer_certs()` works as on tonic's own server.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: Tls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// How the HTTP routes compress answers and decompress request bodies: on by default with
    /// the `compression` feature, see [`Compression`]. gRPC calls are compressed by their
    /// services (tonic's `accept_compressed` and `send_compressed`), never here.
    #[cfg(feature = "compression")]
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Serves gRPC-Web (`application/grpc-web`, binary, and `application/grpc-web-text`,
    /// base64), unary and server-streaming, on every port: on the gRPC port and, since that is
    /// the one browsers reach, on the HTTP port, where a gRPC-Web call goes to the gRPC
    /// services rather than the HTTP routes. Off by default. tonic-web turns each call into a
    /// gRPC call before the limits, the deadline and the stack see it, so they apply as to
    /// gRPC, and metrics and the access log count it as `transport="grpc"`
    /// ([`CallInfo::is_grpc_web`] tells it apart). A page on another origin also needs
    /// `Builder::cors` (feature `cors`). See docs/reference.md section 13.
    #[cfg(feature = "grpc-web")]
    pub fn grpc_web(mut self, on: bool) -> Self {
        self.grpc_web = on;
        self
    }

    /// Serves the Connect protocol (connectrpc.com: `connect-web`, `connect-es`, `connect-go`
    /// clients with their Connect transport), unary and server-streaming, binary
    /// (`application/proto`, `application/connect+proto`) and JSON (`application/json` with
    /// `Connect-Protocol-Version: 1`, `application/connect+json`), and unary GET for methods with
    /// `idempotency_level = NO_SIDE_EFFECTS`, on every port. Off by default. Each call is turned
    /// into a gRPC call of the services registered here before the limits, the deadline
    /// (`Connect-Timeout-Ms`) and the stack see it, so they apply as to gRPC, and metrics and the
    /// access log count it as `transport="grpc"` ([`CallInfo::is_connect`] tells it apart).
    /// JSON messages are the generated messages' own JSON, found by the method's types in the
    /// descriptor sets given to [`Builder::file_descriptor_set`] (without one, only binary calls
    /// work). See docs/reference.md section 13.
    #[cfg(feature = "connect")]
    pub fn connect(mut self, on: bool) -> Self {
        self.connect = on;
        self
    }

    /// Lets pages from other origins call the server (CORS), HTTP/JSON and gRPC-Web alike, on
    /// every port: see [`Cors`]. A preflight is answered before the limits and the stack's
    /// layers (authentication included) see it; every other answer carries the CORS headers.
    /// Off by default: without it, browsers refuse a cross-origin page the answers.
    #[cfg(feature = "cors")]
    pub fn cors(mut self, cors: Cors) -> Self {
        self.cors = Some(cors);
        self
    }

    /// Checks the configuration, reads the TLS files, and assembles the routes.
    pub fn build(self) -> Result<Server, Error> {
        if let Some(error) = self.error {
            return Err(error);
        }
        #[allow(unused_mut)]
        let mut browsers = browser::Browsers::default();
        #[cfg(feature = "cors")]
        if let Some(cors) = &self.cors {
            browsers.cors = Some(cors.layer().map_err(Error::Cors)?);
        }
        #[cfg(feature = "grpc-web")]
        {
            browsers.grpc_web = self.grpc_web;
        }
        #[cfg(feature = "connect")]
        if self.connect {
            browsers.connect = Some(Arc::new(connect::Connect::new(
                &self.descriptor_sets,
                self.limits.max_receive_message_bytes,
            )));
        }
        #[cfg(feature = "tls")]
        let tls = self.tls.map(Tls::load).transpose().map_err(Error::Tls)?;
        let mut grpc = self.grpc;
        let (health, health_service) = tonic_health::server::health_reporter();
        grpc.add_service(health_service);
        if !self.descriptor_sets.is_empty() {
            let mut names = self.services.clone();
            names.extend([HEALTH_SERVICE, REFLECTION_V1, REFLECTION_V1ALPHA]);
            let configure = || {
                let mut builder = tonic_reflection::server::Builder::configure()
                    .include_reflection_service(false)
                    .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                    .register_encoded_file_descriptor_set(
                        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
                    )
                    .register_encoded_file_descriptor_set(
                        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
                    );
                for set in &self.descriptor_sets {
                    builder = builder.register_encoded_file_descriptor_set(set);
                }
                for name in &names {
                    builder = builder.with_service_name(*name);
                }
                builder
            };
            grpc.add_service(configure().build_v1().map_err(Error::DescriptorSet)?);
            grpc.add_service(configure().build_v1alpha().map_err(Error::DescriptorSet)?);
        }
        let listen = match self.single_port {
            Some(addr) => Listen::One(addr),
            None => Listen::Two {
                grpc: self.grpc_addr,
                http: self.http_addr,
            },
        };
        let mut layers = self.layers;
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.metrics {
            layers.insert(0, Box::new(boxed_layer(metrics.layer())));
        }
        if self.access_log {
            layers.insert(0, Box::new(boxed_layer(access::AccessLogLayer)));
        }
        let stack = (!layers.is_empty()).then(|| {
            layers
                .iter()
                .rev()
                .fold(Next::end(), |next, layer| next.wrap(&**layer))
        });
        let probes = self.health_endpoints.then(|| {
            let names: Vec<&'static str> = std::iter::once("")
                .chain(self.services.iter().copied())
                .collect();
            probes::Probes::new(health.clone(), names.into())
        });
        Ok(Server {
            grpc: grpc
                .routes()
                .into_axum_router()
                .layer(axum::middleware::from_fn(enforce_deadline))
                .layer(recover::RecoverLayer)
                .with_state(()),
            stack: stack.map(|stack| conn::Stack {
                stack,
                services: self.services.clone().into(),
                methods: Arc::new(known_methods(&self.descriptor_sets, &self.services)),
            }),
            probes,
            http: self.http.map(|router| {
                #[cfg(feature = "compression")]
                let router = self.compression.wrap(router);
                router
                    .layer(axum::middleware::from_fn(unknown_path_as_status))
                    .with_state(())
            }),
            services: self.services,
            browsers,
            health,
            listen,
            limits: self.limits,
            #[cfg(feature = "tls")]
            tls,
            shutdown_timeout: self.shutdown_timeout,
            shutdown_delay: self.shutdown_delay,
        })
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("services", &self.services)
            .field("http", &self.http.is_some())
            .field("descriptor_sets", &self.descriptor_sets.len())
            .field("grpc_addr", &self.grpc_addr)
            .field("http_addr", &self.http_addr)
            .field("single_port", &self.single_port)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("shutdown_delay", &self.shutdown_delay)
            .field("layers", &self.layers.len())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug)]
enum Listen {
    Two { grpc: SocketAddr, http: SocketAddr },
    One(SocketAddr),
}

/// gRPC services and HTTP routes ready to serve; made by [`Server::builder`].
pub struct Server {
    grpc: Router,
    http: Option<Router>,
    stack: Option<conn::Stack>,
    probes: Option<probes::Probes>,
    services: Vec<&'static str>,
    browsers: browser::Browsers,
    health: HealthReporter,
    listen: Listen,
    limits: Limits,
    #[cfg(feature = "tls")]
    tls: Option<tls::Acceptor>,
    shutdown_timeout: Duration,
    shutdown_delay: Duration,
}

impl Server {
    /// Starts configuring a server.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The health reporter behind `grpc.health.v1.Health`, to report a service `NOT_SERVING`
    /// while a dependency is down, for example. The server itself sets every registered service
    /// `SERVING` when it binds and `NOT_SERVING` when shutdown begins. (It ends the `Watch`
    /// streams of those names when it stops accepting; watchers of other names you report keep
    /// their connections open until the shutdown deadline.)
    pub fn health_reporter(&self) -> HealthReporter {
        self.health.clone()
    }

    /// Binds the configured addresses, so that their ports are known before serving (bind port
    /// 0 and ask [`Listening::grpc_addr`]). Services are reported `SERVING` from here on, and
    /// TLS files (if any) are watched for changes and reloaded on SIGHUP.
    pub async fn bind(self) -> Result<Listening, Error> {
        let mut listeners = Vec::new();
        let mut addrs = Vec::new();
        let mut listen = |(listener, addr), routing| {
            listeners.push((listener, routing));
            addrs.push(addr);
        };
        match self.listen {
            Listen::Two { grpc, http } => {
                listen(bind(grpc).await?, Routing::Grpc(self.grpc.clone()));
                if let Some(routes) = &self.http {
                    let routing = Routing::Http {
                        http: routes.clone(),
                        grpc: self.grpc.clone(),
                    };
                    listen(bind(http).await?, routing);
                }
            }
            Listen::One(addr) => {
                let routing = Routing::Both {
                    grpc: self.grpc.clone(),
                    http: self.http.clone().unwrap_or_default(),
                };
                listen(bind(addr).await?, routing);
            }
        }
        self.set_health(ServingStatus::Serving).await;
        Ok(Listening {
            #[cfg(feature = "tls")]
            _reloading: self.tls.as_ref().and_then(tls::Acceptor::watch),
            server: self,
            listeners,
            addrs,
        })
    }

    /// Binds and serves until SIGTERM or SIGINT (Ctrl-C), then shuts down gracefully (see the
    /// [module documentation](self)). A second signal during the drain cuts it short.
    pub async fn serve(self) -> Result<(), Error> {
        self.bind().await?.serve().await
    }

    /// Binds and serves until `shutdown` completes, then shuts down gracefully.
    ///
    /// Returns `Ok(())` once stopped, also when the deadline cut calls short. Dropping the
    /// returned future stops everything at once: listeners close and connections are dropped.
    pub async fn serve_with_shutdown(
        self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), Error> {
        self.bind().await?.serve_with_shutdown(shutdown).await
    }

    fn health_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        std::iter::once("").chain(self.services.iter().copied())
    }

    async fn set_health(&self, status: ServingStatus) {
        for name in self.health_names() {
            self.health.set_service_status(name, status).await;
        }
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("services", &self.services)
            .field("http", &self.http.is_some())
            .field("listen", &self.listen)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("shutdown_delay", &self.shutdown_delay)
            .finish_non_exhaustive()
    }
}

/// Answers `DEADLINE_EXCEEDED` when a call's `grpc-timeout` passes before its handler returns,
/// and drops the handler. (tonic's own server does this too, but answers `CANCELLED`.)
async fn enforce_deadline(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let Some(timeout) = crate::grpc_timeout::grpc_timeout(request.headers()) else {
        return next.run(request).await;
    };
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tonic::Status::deadline_exceeded("the call's deadline passed on the server").into_http()
        }
    }
}

/// Binds `addr`, returning the listener and the address it got (its port, when asked for 0).
/// axum's own answer to a path no route covers (a bare 404: no body, no content type), which
/// generated routers merged the axum way leave to the app's fallback, becomes the
/// `google.rpc.Status` 404 the routes give (docs/reference.md section 4). A 404 with a body or a
/// content type, from a handler or the user's fallback, passes as it is, and so does any
/// answer to a gRPC request (its client reads a bare 404 as UNIMPLEMENTED).
async fn unknown_path_as_status(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use http_body::Body as _;
    let grpc = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    let response = next.run(request).await;
    let bare = response.status() == http::StatusCode::NOT_FOUND
        && !response.headers().contains_key(http::header::CONTENT_TYPE)
        && response.body().size_hint().exact() == Some(0);
    if bare && !grpc {
        crate::http::routes::not_found().await
    } else {
        response
    }
}

/// The methods of the `services` that the encoded descriptor `sets` describe, so that the stack
/// can tell a call to an unknown method of a served service (`CallInfo::is_known`). A set that
/// does not decode was reported by reflection already; it describes nothing here.
fn known_methods(sets: &[&'static [u8]], services: &[&'static str]) -> conn::KnownMethods {
    use prost::Message as _;
    let mut known = conn::KnownMethods::default();
    for set in sets {
        let Ok(set) = prost_types::FileDescriptorSet::decode(*set) else {
            continue;
        };
        for file in &set.file {
            for service in &file.service {
                let name = match file.package() {
                    "" => service.name().to_owned(),
                    package => format!("{package}.{}", service.name()),
                };
                if !services.contains(&name.as_str()) {
                    continue;
                }
                for method in &service.method {
                    known.methods.insert(
                        format!("{name}/{}", method.name()),
                        !method.server_streaming(),
                    );
                }
                known.services.insert(name);
            }
        }
    }
    known
}

async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), Error> {
    let error = |source| Error::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(error)?;
    let bound = listener.local_addr().map_err(error)?;
    Ok((listener, bound))
}

/// A [`Server`] whose ports are bound; made by [`Server::bind`].
pub struct Listening {
    server: Server,
    listeners: Vec<(TcpListener, Routing)>,
    addrs: Vec<SocketAddr>,
    /// Reloads the TLS files for as long as the server serves.
    #[cfg(feature = "tls")]
    _reloading: Option<tls::Reloading>,
}

impl Listening {
    /// The bound address that serves gRPC (in one-port mode, the one port).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// The bound address that serves HTTP: the one port in one-port mode, the HTTP port in
    /// two-port mode, or `None` when there are no HTTP routes and so no HTTP port.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        match self.server.listen {
            Listen::One(_) => Some(self.addrs[0]),
            Listen::Two { .. } => self.addrs.get(1).copied(),
        }
    }

    /// See [`Server::health_reporter`].
    pub fn health_reporter(&self) -> HealthReporter {
        self.server.health_reporter()
    }

    /// Serves until SIGTERM or SIGINT, like [`Server::serve`].
    pub async fn serve(self) -> Result<(), Error> {
        let (_signals, count) = signals::listen().map_err(Error::Signal)?;
        self.run(signals::nth(count.clone(), 1), signals::nth(count, 2))
            .await
    }

    /// Serves until `shutdown` completes, like [`Server::serve_with_shutdown`].
    pub async fn serve_with_shutdown(
        self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), Error> {
        self.run(shutdown, std::future::pending()).await
    }

    async fn run(
        self,
        shutdown: impl Future<Output = ()>,
        force: impl Future<Output = ()>,
    ) -> Result<(), Error> {
        let Listening {
            server,
            listeners,
            #[cfg(feature = "tls")]
            _reloading,
            ..
        } = self;
        let mut connections = Connections::new(
            server.browsers.clone(),
            server.stack.clone(),
            server.probes.clone(),
            server.limits.clone(),
            #[cfg(feature = "tls")]
            server.tls.clone(),
        );
        connections.accept_until(&listeners, shutdown).await;

        server.set_health(ServingStatus::NotServing).await;
        if !server.shutdown_delay.is_zero() {
            connections
                .accept_until(&listeners, tokio::time::sleep(server.shutdown_delay))
                .await;
        }
        drop(listeners);
        // Ends health Watch streams (after they delivered NOT_SERVING), which would otherwise hold
        // their connections open until the deadline.
        let mut health = server.health.clone();
        for name in server.health_names() {
            health.clear_service_status(name).await;
        }
        connections.drain(server.shutdown_timeout, force).await;
        Ok(())
    }
}

impl fmt::Debug for Listening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listening")
            .field("server", &self.server)
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

mod signals {
    //! SIGTERM and SIGINT, counted: the first starts the shutdown, the second cuts the drain.

    use tokio::sync::watch;
    use tokio::task::JoinHandle;

    /// Aborts the counting task when serving ends, however it ends.
    pub(super) struct Counting(JoinHandle<()>);

    impl Drop for Counting {
        fn drop(&mut self) {
            self.0.abort();
        }
    }

    /// Installs the handlers now (so that no signal is missed once serving) and counts
    /// deliveries for as long as the returned guard lives.
    pub(super) fn listen() -> std::io::Result<(Counting, watch::Receiver<u32>)> {
        let (count, received) = watch::channel(0u32);
        #[cfg(unix)]
        let task = {
            use tokio::signal::unix::{signal, SignalKind};
            let mut terminate = signal(SignalKind::terminate())?;
            let mut interrupt = signal(SignalKind::interrupt())?;
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        Some(()) = terminate.recv() => {}
                        Some(()) = interrupt.recv() => {}
                        else => return,
                    }
                    count.send_modify(|n| *n += 1);
                }
            })
        };
        #[cfg(not(unix))]
        let task = tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                count.send_modify(|n| *n += 1);
            }
        });
        Ok((Counting(task), received))
    }

    /// Completes with the `n`th signal.
    pub(super) async fn nth(mut count: watch::Receiver<u32>, n: u32) {
        if count.wait_for(|&seen| seen >= n).await.is_err() {
            // The counting task is gone (the runtime is shutting down): no more signals.
            std::future::pending::<()>().await;
        }
    }
}

/// Why a server could not be built or could not serve.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Two gRPC services with one name, or a service named like the built-in health or
    /// reflection services.
    DuplicateService(&'static str),
    /// A file descriptor set given for reflection could not be decoded.
    DescriptorSet(tonic_reflection::server::Error),
    /// An address could not be bound (in use, not local, no permission, ...).
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        source: io::Error,
    },
    /// The SIGTERM/SIGINT handlers could not be installed.
    Signal(io::Error),
    /// The TLS certificate, key or client CA bundle could not be loaded.
    #[cfg(feature = "tls")]
    Tls(tls::TlsError),
    /// The CORS configuration is not one browsers accept (no origin, credentials with `*`, a
    /// malformed origin, header name or method); the message says which.
    #[cfg(feature = "cors")]
    Cors(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::DuplicateService(name) => {
                write!(f, "gRPC service `{name}` is registered more than once")?;
                if name.starts_with("grpc.") {
                    f.write_str(" (health and reflection are built in)")?;
                }
                Ok(())
            }
            Error::DescriptorSet(_) => f.write_str("invalid file descriptor set for reflection"),
            Error::Bind { addr, .. } => write!(f, "cannot listen on {addr}"),
            Error::Signal(_) => f.write_str("cannot install the SIGTERM/SIGINT handlers"),
            #[cfg(feature = "tls")]
            Error::Tls(error) => write!(f, "TLS: {error}"),
            #[cfg(feature = "cors")]
            Error::Cors(why) => write!(f, "CORS: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::DuplicateService(_) => None,
            Error::DescriptorSet(source) => Some(source),
            Error::Bind { source, .. } | Error::Signal(source) => Some(source),
            #[cfg(feature = "tls")]
            Error::Tls(error) => std::error::Error::source(error),
            #[cfg(feature = "cors")]
            Error::Cors(_) => None,
        }
    }
}
