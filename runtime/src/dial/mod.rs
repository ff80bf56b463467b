//! Connecting generated clients to their service with the defaults production wants.
//!
//! Every generated `<service>_client` module has `dial_with(Options)`, and `dial()` when the
//! service declares `google.api.default_host`. They call [`connect`] with the service's
//! [`Service`] description and wrap the [`Channel`] in the tonic client:
//!
//! ```no_run
//! # async fn run() -> Result<(), rs_svc::dial::Error> {
//! # const SERVICE: rs_svc::dial::Service = rs_svc::dial::Service {
//! #     name: "acme.shop.v1.OrderService", default_host: Some("shop.acme.example"),
//! #     address_env: "ORDER_SERVICE_ADDR", default_port: 9090, methods: &[],
//! # };
//! use std::time::Duration;
//! use rs_svc::dial::{connect, Options};
//!
//! // What `order_service_client::dial_with(options)` does:
//! let options = Options::new()
//!     .timeout(Duration::from_secs(5))
//!     .retry_method("CreateOrder");
//! let channel = connect(&SERVICE, options).await?;
//! # Ok(()) }
//! ```
//!
//! What a dialed channel does:
//! - **Target:** [`Options::target`], else the environment variable `<SERVICE>_ADDR` (for
//!   `OrderService`, `ORDER_SERVICE_ADDR`), else the default host. A host without a port gets the
//!   plugin's `dial_port` (9090 unless set). TLS (webpki roots) for `https://` or port 443, and
//!   for a target without a scheme when a TLS option is set ([`Options::tls_ca_pem`],
//!   [`Options::tls_identity_pem`], [`Options::tls_server_name`], [`Options::tls`]);
//!   `http://` is always plaintext.
//! - **Balancing:** the host is resolved to every address it has, each gets its own HTTP/2
//!   connection, and calls are spread over them (the less busy of two random addresses). The
//!   name is resolved again every [`Options::resolve_interval`], so new backends join and gone
//!   ones leave. A layer-4 balancer would pin one HTTP/2 connection, and so all calls, to one
//!   backend. An address whose connection fails is set aside (1 s, doubling per failure in a
//!   row, up to 30 s), and a call whose connection could not be opened, so it never left, goes
//!   to another address, for any unary or server-streaming method.
//! - **Liveness:** connect timeout, HTTP/2 keepalive pings every 10 s that must be answered
//!   within 5 s, also on idle connections.
//! - **Deadlines:** unary calls without their own deadline get [`Options::timeout`], sent to the
//!   server as `grpc-timeout` and enforced here (`DEADLINE_EXCEEDED`).
//! - **Retries:** a call to an idempotent method (`idempotency_level` `NO_SIDE_EFFECTS` or
//!   `IDEMPOTENT`, a primary `google.api.http` rule that is a GET, or named in
//!   [`Options::retry_method`]) that fails with `UNAVAILABLE` before the server sent a response
//!   is sent again, after an exponential backoff with full jitter, within the deadline.
//!   `grpc-retry-pushback-ms` from the server is honoured.
//! - **Per call:** [`crate::api::CallOptions`] (a deadline, metadata, [`crate::api::Retry`],
//!   no fallback), the same for the HTTP client; and a call made while our server serves
//!   another gets at most that call's remaining deadline (docs/reference.md section 1.2).
//! - **Circuit breaker (opt-in):** after [`Options::circuit_breaker`] consecutive failures
//!   (`UNAVAILABLE`, `DEADLINE_EXCEEDED`, or no connection), calls fail fast for a while, or
//!   answer the [`Options::fallback`] registered for their method; then one probe call decides
//!   whether the circuit closes.

mod balance;
mod call;
#[cfg(feature = "metrics")]
mod metered;
mod target;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

pub use crate::api::Backoff;
use balance::Pool;
pub use call::Channel;
pub(crate) use call::Policy;
#[cfg(feature = "http-client")]
pub(crate) use call::{pushback, Attempts};
use call::{Circuit, CircuitConfig, MethodPolicy};
use target::Target;

/// What a generated client knows about its service. Generated code writes it as a constant,
/// `<service>_client::SERVICE`.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    /// Full proto name, `acme.shop.v1.OrderService`.
    pub name: &'static str,
    /// `google.api.default_host`, as written in the proto.
    pub default_host: Option<&'static str>,
    /// The environment variable that overrides the address, `ORDER_SERVICE_ADDR`.
    pub address_env: &'static str,
    /// Port used when the host names none (the plugin's `dial_port` parameter).
    pub default_port: u16,
    /// Every method of the service.
    pub methods: &'static [Method],
}

/// One method of a [`Service`].
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct Method {
    /// The gRPC path, `/acme.shop.v1.OrderService/GetOrder`.
    pub path: &'static str,
    pub kind: MethodKind,
    /// `idempotency_level` is `NO_SIDE_EFFECTS` or `IDEMPOTENT`: safe to send again.
    pub idempotent: bool,
}

/// Which sides of a method stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum MethodKind {
    Unary,
    ServerStreaming,
    ClientStreaming,
    BidiStreaming,
}

impl MethodKind {
    /// The request is one message, so it can be buffered and sent again.
    pub(crate) fn single_request(self) -> bool {
        matches!(self, MethodKind::Unary | MethodKind::ServerStreaming)
    }
}

/// Resolves a host name to the addresses to balance over.
pub type Resolver = Arc<
    dyn Fn(String, u16) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>
        + Send
        + Sync,
>;

/// Settings for [`connect`]; every one has a production default.
#[derive(Clone)]
pub struct Options {
    target: Option<String>,
    connect_timeout: Duration,
    timeout: Option<Duration>,
    keepalive_interval: Duration,
    keepalive_timeout: Duration,
    resolve_interval: Duration,
    backoff: Backoff,
    retry_methods: Vec<String>,
    circuit: Option<CircuitConfig>,
    fallbacks: Vec<(String, Bytes)>,
    tls: Option<ClientTlsConfig>,
    tls_ca: Vec<Certificate>,
    tls_identity: Option<Identity>,
    tls_server_name: Option<String>,
    /// The PEM given to `tls_ca_pem` and `tls_identity_pem`, for the HTTP client's rustls.
    tls_pem: TlsPem,
    resolver: Option<Resolver>,
    #[cfg(feature = "metrics")]
    metrics: Option<crate::metrics::Metrics>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            target: None,
            connect_timeout: Duration::from_secs(5),
            timeout: Some(Duration::from_secs(30)),
            keepalive_interval: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(5),
            resolve_interval: Duration::from_secs(30),
            backoff: Backoff::default(),
            retry_methods: Vec::new(),
            circuit: None,
            fallbacks: Vec::new(),
            tls: None,
            tls_ca: Vec::new(),
            tls_identity: None,
            tls_server_name: None,
            tls_pem: TlsPem::default(),
            resolver: None,
            #[cfg(feature = "metrics")]
            metrics: None,
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Options");
        debug
            .field("target", &self.target)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("keepalive_interval", &self.keepalive_interval)
            .field("keepalive_timeout", &self.keepalive_timeout)
            .field("resolve_interval", &self.resolve_interval)
            .field("backoff", &self.backoff)
            .field("retry_methods", &self.retry_methods)
            .field("circuit", &self.circuit)
            .field(
                "fallbacks",
                &self.fallbacks.iter().map(|(m, _)| m).collect::<Vec<_>>(),
            )
            .field("tls", &self.tls.is_some())
            .field("tls_ca", &self.tls_ca.len())
            .field("tls_identity", &self.tls_identity.is_some())
            .field("tls_server_name", &self.tls_server_name);
        #[cfg(feature = "metrics")]
        debug.field("metrics", &self.metrics.is_some());
        debug.finish_non_exhaustive()
    }
}

impl Options {
    /// The defaults: 5 s connect timeout, 30 s deadline for unary calls, keepalive 10 s / 5 s,
    /// re-resolution every 30 s, 4 attempts for idempotent methods, no circuit breaker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Where to connect, overriding the environment variable and the default host:
    /// `http://host:port`, `https://host`, `host:port` or `host`.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// The target set with [`Options::target`], if any (what the generated HTTP clients'
    /// `dial_with` takes as their base URL).
    pub fn target_url(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// Time allowed to open a TCP connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Deadline of unary calls that do not set their own (`Request::set_timeout`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// No default deadline: unary calls wait as long as their own deadline, if any.
    pub fn without_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// HTTP/2 keepalive: a PING every `interval`, and the connection is closed when one is not
    /// answered within `timeout`.
    pub fn keepalive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.keepalive_interval = interval;
        self.keepalive_timeout = timeout;
        self
    }

    /// How often the host name is resolved again to follow backends coming and going.
    pub fn resolve_interval(mut self, interval: Duration) -> Self {
        self.resolve_interval = interval;
        self
    }

    /// Attempts and delays for retried calls.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Also retry this method on `UNAVAILABLE`, though the proto does not mark it idempotent.
    /// Takes the method name (`CreateOrder`) or its path (`/acme.shop.v1.OrderService/CreateOrder`).
    /// Streaming requests cannot be sent twice, so client- and bidi-streaming methods are
    /// rejected by [`connect`].
    pub fn retry_method(mut self, method: impl Into<String>) -> Self {
        self.retry_methods.push(method.into());
        self
    }

    /// Opens the circuit after `failures` consecutive failed calls: for `open_for`, calls do
    /// not reach the network and fail with `UNAVAILABLE`, or answer their [`fallback`].
    ///
    /// [`fallback`]: Options::fallback
    pub fn circuit_breaker(mut self, failures: u32, open_for: Duration) -> Self {
        self.circuit = Some(CircuitConfig {
            failures: failures.max(1),
            open_for,
        });
        self
    }

    /// The response a unary method answers while the circuit is open (say, an empty list or a
    /// cached value). Turns the circuit breaker on (5 failures, 30 s) unless it was configured.
    /// `response` must be the method's response type; [`connect`] checks the method exists.
    pub fn fallback(mut self, method: impl Into<String>, response: impl prost::Message) -> Self {
        self.fallbacks
            .push((method.into(), Bytes::from(response.encode_to_vec())));
        if self.circuit.is_none() {
            self = self.circuit_breaker(5, Duration::from_secs(30));
        }
        self
    }

    /// TLS settings built with tonic, replacing the default (the webpki roots); the options
    /// below add to them. The server name checked is the target's host unless
    /// [`Options::tls_server_name`] says otherwise. Turns TLS on for a target without a scheme.
    pub fn tls(mut self, tls: ClientTlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Trusts the CA certificates in `pem` (one or more `CERTIFICATE` blocks, a private CA's
    /// bundle) instead of the webpki roots. Called again, trusts those too. Turns TLS on for a
    /// target without a scheme.
    ///
    /// ```no_run
    /// # fn run() -> std::io::Result<()> {
    /// let options = rs_svc::dial::Options::new()
    ///     .target("https://orders.internal:9443")
    ///     .tls_ca_pem(std::fs::read("/etc/tls/ca.crt")?)
    ///     // mTLS: the certificate (leaf first) and key this client presents.
    ///     .tls_identity_pem(
    ///         std::fs::read("/etc/tls/client.crt")?,
    ///         std::fs::read("/etc/tls/client.key")?,
    ///     );
    /// # let _ = options; Ok(()) }
    /// ```
    pub fn tls_ca_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.tls_pem.ca.push(Bytes::copy_from_slice(pem.as_ref()));
        self.tls_ca.push(Certificate::from_pem(pem));
        self
    }

    /// Presents this client certificate (`cert_chain`, PEM, leaf first) and its private key
    /// (`key`, PEM) to servers that ask for one (mTLS). Turns TLS on for a target without a
    /// scheme; a key that does not parse is an error from [`connect`].
    pub fn tls_identity_pem(mut self, cert_chain: impl AsRef<[u8]>, key: impl AsRef<[u8]>) -> Self {
        self.tls_pem.identity = Some((
            Bytes::copy_from_slice(cert_chain.as_ref()),
            Bytes::copy_from_slice(key.as_ref()),
        ));
        self.tls_identity = Some(Identity::from_pem(cert_chain, key));
        self
    }

    /// The name sent in SNI and that the server's certificate must carry, instead of the
    /// target's host: for a server reached at an address its certificate does not name (an IP
    /// address, a tunnel, a name given by a resolver). Turns TLS on for a target without a
    /// scheme.
    pub fn tls_server_name(mut self, name: impl Into<String>) -> Self {
        self.tls_server_name = Some(name.into());
        self
    }

    /// Whether any TLS option is set, which turns TLS on for a target without a scheme.
    fn tls_configured(&self) -> bool {
        self.tls.is_some()
            || !self.tls_ca.is_empty()
            || self.tls_identity.is_some()
            || self.tls_server_name.is_some()
    }

    /// Resolves host names another way than the system resolver (a service registry, tests).
    pub fn resolver<F, Fut>(mut self, resolve: F) -> Self
    where
        F: Fn(String, u16) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::io::Result<Vec<SocketAddr>>> + Send + 'static,
    {
        self.resolver = Some(Arc::new(move |host, port| Box::pin(resolve(host, port))));
        self
    }

    /// Records the channel's calls in `metrics`: `rpc_client_call_duration_seconds`,
    /// `rpc_client_calls_total`, `rpc_client_retries_total` and, with a circuit breaker,
    /// `rpc_client_circuit_state` (see [`crate::metrics`]). Without it nothing is recorded.
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }
}

/// The PEM of the TLS options, as given.
#[derive(Clone, Default)]
pub(crate) struct TlsPem {
    pub ca: Vec<Bytes>,
    pub identity: Option<(Bytes, Bytes)>,
}

/// What the HTTP client (`rs_svc::http::HttpChannel::with_options`) reads of the options.
#[cfg(feature = "http-client")]
impl Options {
    pub(crate) fn connect_timeout_option(&self) -> Duration {
        self.connect_timeout
    }

    pub(crate) fn tls_pem(&self) -> &TlsPem {
        &self.tls_pem
    }

    pub(crate) fn tls_server_name_option(&self) -> Option<&str> {
        self.tls_server_name.as_deref()
    }
}

/// Why [`connect`] could not set up a channel. Failures of the calls themselves are gRPC
/// statuses on the calls.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// No target option, no environment variable and no default host.
    NoTarget {
        service: &'static str,
        address_env: &'static str,
    },
    /// A target that cannot be dialed.
    BadTarget {
        origin: String,
        value: String,
        reason: String,
    },
    /// The host name did not resolve, or resolved to no address.
    Resolve { host: String, error: std::io::Error },
    /// A method named in the options that the service does not have, or cannot retry.
    Method { method: String, reason: String },
    /// The TLS configuration was refused.
    Tls(tonic::transport::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoTarget {
                service,
                address_env,
            } => write!(
                f,
                "no address for {service}: it has no google.api.default_host; set {address_env} \
                 (e.g. http://127.0.0.1:9090) or dial::Options::target"
            ),
            Error::BadTarget {
                origin,
                value,
                reason,
            } => write!(f, "bad target `{value}` from {origin}: {reason}"),
            Error::Resolve { host, error } => write!(f, "cannot resolve `{host}`: {error}"),
            Error::Method { method, reason } => write!(f, "method `{method}`: {reason}"),
            Error::Tls(e) => write!(f, "TLS configuration: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Resolve { error, .. } => Some(error),
            Error::Tls(e) => Some(e),
            _ => None,
        }
    }
}

/// Sets up a [`Channel`] to `service` as `options` say (see the [module docs](self)).
///
/// The host is resolved once here, so a name that does not resolve is an error now rather than
/// on every call; connections are opened on first use. Must run inside a Tokio runtime, which
/// also runs the re-resolution task for as long as the channel lives.
pub async fn connect(service: &Service, options: Options) -> Result<Channel, Error> {
    let mut target = target::select(service, options.target.as_deref(), |var| {
        std::env::var(var).ok()
    })?;
    if !target.scheme_written && options.tls_configured() {
        target.tls = true;
    }
    let policy = policy(service, target.origin_uri().to_string(), &options)?;
    let dialer = Dialer::new(&target, &options);

    let resolver = options.resolver.clone().unwrap_or_else(system_resolver);
    let addrs = resolve(&resolver, &target).await?;
    // Settings errors (TLS) surface here rather than on the first call.
    dialer.endpoint(addrs[0])?;
    let connect = dialer.clone();
    let pool = Arc::new(Pool::new(&addrs, move |addr| {
        connect
            .endpoint(addr)
            .expect("endpoint settings were checked")
            .connect_lazy()
    }));
    if target.ip().is_none() {
        tokio::spawn(follow_dns(
            resolver,
            target.clone(),
            options.resolve_interval,
            Arc::downgrade(&pool),
        ));
    }
    Ok(Channel::new(pool, policy))
}

/// The call policy of a channel to `service` at `target` (also the HTTP client's,
/// `rs_svc::http::HttpChannel::with_options`).
pub(crate) fn policy(
    service: &Service,
    target: String,
    options: &Options,
) -> Result<Policy, Error> {
    let find = |name: &str| -> Result<&Method, Error> {
        service
            .methods
            .iter()
            .find(|m| m.path == name || m.path.rsplit('/').next() == Some(name))
            .ok_or_else(|| Error::Method {
                method: name.to_owned(),
                reason: format!("{} has no such method", service.name),
            })
    };
    let mut opted_in = HashSet::new();
    for name in &options.retry_methods {
        let method = find(name)?;
        if !method.kind.single_request() {
            return Err(Error::Method {
                method: name.clone(),
                reason: "a streaming request cannot be sent again, so it cannot be retried".into(),
            });
        }
        opted_in.insert(method.path);
    }
    let mut fallbacks = HashMap::new();
    for (name, message) in &options.fallbacks {
        let method = find(name)?;
        if method.kind != MethodKind::Unary {
            return Err(Error::Method {
                method: name.clone(),
                reason: "fallback responses are for unary methods".into(),
            });
        }
        fallbacks.insert(method.path.to_owned(), message.clone());
    }
    let methods = service
        .methods
        .iter()
        .map(|m| {
            let retry = m.kind.single_request() && (m.idempotent || opted_in.contains(m.path));
            (
                m.path.to_owned(),
                MethodPolicy {
                    #[cfg(feature = "metrics")]
                    path: m.path,
                    kind: m.kind,
                    retry,
                },
            )
        })
        .collect();
    Ok(Policy {
        target,
        methods,
        timeout: options.timeout,
        backoff: options.backoff,
        circuit: options
            .circuit
            .map(|config| (config, Mutex::new(Circuit::default()))),
        fallbacks,
        #[cfg(feature = "metrics")]
        metrics: options.metrics.clone().map(|metrics| metered::Metered {
            circuit: options.circuit.map(|_| metrics.circuit(service.name)),
            metrics,
        }),
    })
}

/// Builds the endpoint of each resolved address: its own connection, but `:authority` and
/// the TLS server name still name the host.
#[derive(Clone)]
struct Dialer {
    target: Target,
    connect_timeout: Duration,
    keepalive_interval: Duration,
    keepalive_timeout: Duration,
    tls: Option<ClientTlsConfig>,
}

impl Dialer {
    fn new(target: &Target, options: &Options) -> Self {
        // Connections go to resolved addresses, so the server name is the target's host
        // unless told otherwise.
        let tls = target.tls.then(|| {
            let mut tls = match &options.tls {
                Some(tls) => tls.clone(),
                None if options.tls_ca.is_empty() => ClientTlsConfig::new().with_webpki_roots(),
                None => ClientTlsConfig::new(),
            };
            if !options.tls_ca.is_empty() {
                tls = tls.ca_certificates(options.tls_ca.iter().cloned());
            }
            if let Some(identity) = &options.tls_identity {
                tls = tls.identity(identity.clone());
            }
            let name = options.tls_server_name.as_ref().unwrap_or(&target.host);
            tls.domain_name(name.clone())
        });
        Dialer {
            target: target.clone(),
            connect_timeout: options.connect_timeout,
            keepalive_interval: options.keepalive_interval,
            keepalive_timeout: options.keepalive_timeout,
            tls,
        }
    }

    fn endpoint(&self, addr: SocketAddr) -> Result<Endpoint, Error> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let uri: http::Uri = format!("{scheme}://{addr}")
            .parse()
            .expect("a socket address forms a URI");
        let endpoint = Endpoint::from(uri)
            .origin(self.target.origin_uri())
            .connect_timeout(self.connect_timeout)
            .http2_keep_alive_interval(self.keepalive_interval)
            .keep_alive_timeout(self.keepalive_timeout)
            .keep_alive_while_idle(true)
            .tcp_nodelay(true);
        match &self.tls {
            Some(tls) => endpoint.tls_config(tls.clone()).map_err(Error::Tls),
            None => Ok(endpoint),
        }
    }
}

fn system_resolver() -> Resolver {
    Arc::new(|host: String, port: u16| {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    })
}

async fn resolve(resolver: &Resolver, target: &Target) -> Result<Vec<SocketAddr>, Error> {
    if let Some(ip) = target.ip() {
        return Ok(vec![SocketAddr::new(ip, target.port)]);
    }
    let error = |error| Error::Resolve {
        host: target.host.clone(),
        error,
    };
    let mut addrs = resolver(target.host.clone(), target.port)
        .await
        .map_err(error)?;
    addrs.sort();
    addrs.dedup();
    if addrs.is_empty() {
        return Err(error(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no addresses",
        )));
    }
    Ok(addrs)
}

/// Resolves the host every `interval` and updates the pool with the addresses it has now. A
/// failed or empty answer keeps the current ones. Ends when the channel is dropped.
async fn follow_dns(resolver: Resolver, target: Target, interval: Duration, pool: Weak<Pool>) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.strong_count() == 0 {
            return;
        }
        let Ok(addrs) = resolve(&resolver, &target).await else {
            continue;
        };
        match pool.upgrade() {
            Some(pool) => pool.update(&addrs),
            None => return,
        }
    }
}
