//! Prometheus metrics for RPC servers and dialed clients, in one registry.
//!
//! A [`Metrics`] holds a [`prometheus_client`] registry with the RPC families below, and takes
//! your own metrics beside them ([`Metrics::registry`]). Clones share everything: hand one to
//! the serve builder ([`Builder::metrics`](crate::serve::Builder::metrics), which also answers
//! `GET /metrics`) and to dial options
//! ([`dial::Options::metrics`](crate::dial::Options::metrics)). [`Metrics::layer`] and
//! [`Metrics::router`] are the two halves of the builder's call, for stacks and routes of your
//! own.
//!
//! ```no_run
//! use rs_svc::metrics::prometheus_client::metrics::counter::Counter;
//! use rs_svc::metrics::Metrics;
//!
//! let metrics = Metrics::new();
//! // Your own metrics go in the same registry.
//! let jobs: Counter = Counter::default();
//! metrics.registry().register("jobs", "Background jobs run", jobs.clone());
//! jobs.inc();
//! // `GET /metrics` answers the exposition.
//! # #[cfg(feature = "http")]
//! let routes = metrics.router();
//! ```
//!
//! The families (docs/reference.md section 8):
//!
//! | name | type | labels |
//! | --- | --- | --- |
//! | `rpc_server_call_duration_seconds` | histogram | `rpc_method`, `rpc_grpc_status_code`, `transport` |
//! | `rpc_server_calls_total` | counter | `rpc_method`, `rpc_grpc_status_code`, `transport` |
//! | `rpc_server_calls_in_flight` | gauge | `rpc_method`, `transport` |
//! | `rpc_client_call_duration_seconds` | histogram | `rpc_method`, `rpc_grpc_status_code`, `transport` |
//! | `rpc_client_calls_total` | counter | `rpc_method`, `rpc_grpc_status_code`, `transport` |
//! | `rpc_client_retries_total` | counter | `rpc_method` |
//! | `rpc_client_circuit_state` | gauge | `rpc_service`, `state` |
//!
//! - `rpc_method` is `package.Service/Method`, or `_OTHER` for a call to a service the server
//!   does not serve or to a method its descriptor set does not list
//!   ([`CallInfo::is_known`](crate::serve::CallInfo::is_known); on a client, to a method its
//!   service does not list), so that callers cannot grow the label set.
//! - `rpc_grpc_status_code` is the code's name: `OK`, `NOT_FOUND`, ... An HTTP/JSON call has
//!   the code its answer carries (`OK` for a success); a call whose client went away before its
//!   end is `CANCELLED`; a client call that got no response at all (no connection) is
//!   `UNAVAILABLE`, and an open circuit's fallback answer is `OK`.
//! - `transport` is `grpc` or `http` (clients: always `grpc`).
//! - A call's duration runs from its arrival (on a client: its start) to the end of its
//!   response, the last message of a stream included; a client call includes its retries and
//!   their backoff.
//! - `rpc_client_retries_total` counts attempts sent again after `UNAVAILABLE`; so attempts
//!   are calls plus retries. A call moved to another address because its connection could not
//!   be opened never left, and is no retry.
//! - `rpc_client_circuit_state` is 1 for the state the service's circuit breaker is in
//!   (`closed`, `open`, `half_open`) and 0 for the others; it exists only for channels dialed
//!   with a circuit breaker, and changes when a call passes, so an open circuit whose time is up
//!   reads `half_open` only once the next call probes it.
//!
//! The exposition is OpenMetrics text ([`CONTENT_TYPE`]), which Prometheus asks for first.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::Instant;

pub use prometheus_client;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tonic::Code;

#[cfg(feature = "serve")]
mod server;
#[cfg(feature = "serve")]
pub use server::{MetricsLayer, MetricsService};

/// The content type of [`Metrics::encode`]'s text: OpenMetrics 1.0.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The upper bounds, in seconds, of the call duration histograms' buckets: OpenTelemetry's
/// recommended boundaries for request durations, with 1 ms and 2.5 ms added below them for
/// calls answered within a cluster.
pub const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The `rpc_method` of calls to a method the server does not serve.
pub const OTHER_METHOD: &str = "_OTHER";

/// A registry holding the RPC server and client metrics; cheap to clone, clones share it.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Mutex<Registry>,
    server: Side,
    server_in_flight: Family<InFlightLabels, Gauge>,
    client: Side,
    // Recorded by dialed channels only.
    #[cfg_attr(not(feature = "dial"), allow(dead_code))]
    client_retries: Family<MethodLabels, Counter>,
    #[cfg_attr(not(feature = "dial"), allow(dead_code))]
    client_circuit: Family<CircuitLabels, Gauge>,
    /// The series of each method, by side and transport ([`Series::index`]). The methods are
    /// those the server serves and the dialed clients' generated paths, with [`OTHER_METHOD`]
    /// for any other, so the maps stay as small as the API.
    series: [RwLock<HashMap<Box<str>, Arc<Series>>>; 3],
}

/// The duration histogram and call counter of one side, server or client.
#[derive(Clone)]
struct Side {
    duration: Family<CallLabels, Histogram, Buckets>,
    calls: Family<CallLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    rpc_method: Cow<'static, str>,
    rpc_grpc_status_code: &'static str,
    transport: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InFlightLabels {
    rpc_method: Cow<'static, str>,
    transport: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    rpc_method: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CircuitLabels {
    rpc_service: Cow<'static, str>,
    state: &'static str,
}

/// Makes the duration histograms with [`DURATION_BUCKETS`].
#[derive(Clone, Copy, Debug)]
struct Buckets;

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(DURATION_BUCKETS.iter().copied())
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A new registry with the RPC families in it.
    pub fn new() -> Self {
        Self::from_registry(Registry::default())
    }

    /// Adds the RPC families to `registry`, for example one made with
    /// [`Registry::with_prefix`] or [`Registry::with_labels`] (a constant `service` label), or
    /// one already holding your metrics.
    pub fn from_registry(mut registry: Registry) -> Self {
        let server = Side::register(&mut registry, "server", "received by this server");
        let server_in_flight = Family::default();
        registry.register(
            "rpc_server_calls_in_flight",
            "RPC calls this server is handling now",
            server_in_flight.clone(),
        );
        let client = Side::register(&mut registry, "client", "made by dialed clients");
        let client_retries = Family::default();
        registry.register(
            "rpc_client_retries",
            "RPC attempts dialed clients sent again after UNAVAILABLE",
            client_retries.clone(),
        );
        let client_circuit = Family::default();
        registry.register(
            "rpc_client_circuit_state",
            "1 for the state of a dialed service's circuit breaker (closed, open, half_open), \
             0 for the others",
            client_circuit.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry: Mutex::new(registry),
                server,
                server_in_flight,
                client,
                client_retries,
                client_circuit,
                series: Default::default(),
            }),
        }
    }

    /// The registry, to register your own metrics in it; they are exposed with the RPC ones.
    /// Hold the guard only to register: [`Metrics::encode`] waits for it.
    pub fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic while registering leaves the registry as usable as before it.
        self.inner
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The OpenMetrics text exposition of every metric in the registry ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry())
            .expect("writing to a String does not fail");
        text
    }

    /// Starts counting a call: the in-flight gauge goes up now (on the server side), and the
    /// call is recorded when [`Call::finish`] is given its code, or as `CANCELLED` when the
    /// guard is dropped unfinished.
    #[cfg_attr(not(any(feature = "serve", feature = "dial")), allow(dead_code))]
    fn start(&self, side: Which, rpc_method: &str, transport: &'static str) -> Call {
        let series = self.series(side, rpc_method, transport);
        if let Some(gauge) = &series.in_flight {
            gauge.inc();
        }
        Call {
            series,
            start: Instant::now(),
            finished: false,
        }
    }

    /// The series of `rpc_method`'s calls on `side` over `transport`: looked up by name, and
    /// made at its first call.
    fn series(&self, side: Which, rpc_method: &str, transport: &'static str) -> Arc<Series> {
        let map = &self.inner.series[Series::index(side, transport)];
        let found = map
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(rpc_method)
            .cloned();
        if let Some(series) = found {
            return series;
        }
        let mut map = map.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let series = map.entry(rpc_method.into()).or_insert_with(|| {
            let rpc_method: Cow<'static, str> = Cow::Owned(rpc_method.to_owned());
            let in_flight = (side == Which::Server).then(|| {
                self.inner
                    .server_in_flight
                    .get_or_create_owned(&InFlightLabels {
                        rpc_method: rpc_method.clone(),
                        transport,
                    })
            });
            let families = match side {
                Which::Server => &self.inner.server,
                Which::Client => &self.inner.client,
            };
            Arc::new(Series {
                side,
                rpc_method,
                transport,
                in_flight,
                families: families.clone(),
                ended: Default::default(),
            })
        });
        series.clone()
    }

    /// A call of a dialed client to `path` (`/package.Service/Method`), or to a method its
    /// service does not have (`None`).
    #[cfg(feature = "dial")]
    pub(crate) fn client_call(&self, path: Option<&'static str>) -> Call {
        self.start(Which::Client, &client_method(path), "grpc")
    }

    /// A dialed client sends an attempt of a call to `path` again.
    #[cfg(feature = "dial")]
    pub(crate) fn client_retry(&self, path: Option<&'static str>) {
        self.inner
            .client_retries
            .get_or_create(&MethodLabels {
                rpc_method: client_method(path),
            })
            .inc();
    }

    /// The circuit state gauges of a dialed service, set to `closed`.
    #[cfg(feature = "dial")]
    pub(crate) fn circuit(&self, service: &'static str) -> CircuitGauges {
        let gauge = |state| {
            self.inner
                .client_circuit
                .get_or_create_owned(&CircuitLabels {
                    rpc_service: Cow::Borrowed(service),
                    state,
                })
        };
        let gauges = CircuitGauges {
            closed: gauge("closed"),
            open: gauge("open"),
            half_open: gauge("half_open"),
        };
        gauges.set(CircuitState::Closed);
        gauges
    }
}

/// `package.Service/Method` from a client's `:path`, or [`OTHER_METHOD`].
#[cfg(feature = "dial")]
fn client_method(path: Option<&'static str>) -> Cow<'static, str> {
    Cow::Borrowed(path.map_or(OTHER_METHOD, |p| p.strip_prefix('/').unwrap_or(p)))
}

impl Side {
    fn register(registry: &mut Registry, side: &str, what: &str) -> Self {
        let duration = Family::new_with_constructor(Buckets);
        registry.register_with_unit(
            format!("rpc_{side}_call_duration"),
            format!("Duration of RPC calls {what}, to the end of their response"),
            Unit::Seconds,
            duration.clone(),
        );
        let calls = Family::default();
        registry.register(
            format!("rpc_{side}_calls"),
            format!("RPC calls {what}, by the status they ended with"),
            calls.clone(),
        );
        Side { duration, calls }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Server,
    #[cfg_attr(not(feature = "dial"), allow(dead_code))]
    Client,
}

/// The series of one method's calls on one side over one transport.
struct Series {
    side: Which,
    rpc_method: Cow<'static, str>,
    transport: &'static str,
    /// The server's in-flight gauge.
    in_flight: Option<Gauge>,
    families: Side,
    /// The call counter and duration histogram of each code, made at the code's first call.
    ended: [OnceLock<(Counter, Histogram)>; 17],
}

impl Series {
    /// Where [`Inner::series`] keeps the series of `side` and `transport`.
    fn index(side: Which, transport: &str) -> usize {
        match (side, transport) {
            (Which::Client, _) => 2,
            (Which::Server, "http") => 1,
            (Which::Server, _) => 0,
        }
    }

    fn record(&self, code: Code, seconds: f64) {
        if let Some(gauge) = &self.in_flight {
            gauge.dec();
        }
        // Codes are 0 to 16; anything else tonic would have made UNKNOWN.
        let index = usize::try_from(code as i32).unwrap_or(Code::Unknown as usize);
        let (calls, duration) = self.ended[index.min(16)].get_or_init(|| {
            let labels = CallLabels {
                rpc_method: self.rpc_method.clone(),
                rpc_grpc_status_code: code_name(code),
                transport: self.transport,
            };
            (
                self.families.calls.get_or_create_owned(&labels),
                self.families.duration.get_or_create_owned(&labels),
            )
        });
        calls.inc();
        duration.observe(seconds);
    }
}

/// One call being counted; records it once, when finished or dropped.
#[must_use = "a call is recorded when it is finished, or as CANCELLED when dropped"]
pub struct Call {
    series: Arc<Series>,
    start: Instant,
    finished: bool,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("side", &self.series.side)
            .field("rpc_method", &self.series.rpc_method)
            .field("transport", &self.series.transport)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

impl Call {
    /// Records the call as ended with `code`, its duration running until now.
    pub fn finish(mut self, code: Code) {
        self.record(code);
    }

    fn record(&mut self, code: Code) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        self.series.record(code, self.start.elapsed().as_secs_f64());
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.record(Code::Cancelled);
    }
}

/// A circuit breaker's state, as `rpc_client_circuit_state` names it.
#[cfg(feature = "dial")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

/// The `rpc_client_circuit_state` series of one dialed service.
#[cfg(feature = "dial")]
#[derive(Debug)]
pub(crate) struct CircuitGauges {
    closed: Gauge,
    open: Gauge,
    half_open: Gauge,
}

#[cfg(feature = "dial")]
impl CircuitGauges {
    pub(crate) fn set(&self, state: CircuitState) {
        let one = |s| i64::from(state == s);
        self.closed.set(one(CircuitState::Closed));
        self.open.set(one(CircuitState::Open));
        self.half_open.set(one(CircuitState::HalfOpen));
    }
}

/// The name of a gRPC status code, as the gRPC specification spells it (`NOT_FOUND`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(feature = "http")]
impl Metrics {
    /// An axum router answering `GET /metrics` with the exposition; merge it into your HTTP
    /// routes (or the serve builder's).
    pub fn router(&self) -> axum::Router {
        let metrics = self.clone();
        axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let metrics = metrics.clone();
                async move { metrics.response() }
            }),
        )
    }

    /// The exposition as an HTTP response, for a route of your own.
    pub fn response(&self) -> axum::response::Response {
        use axum::response::IntoResponse;
        ([(http::header::CONTENT_TYPE, CONTENT_TYPE)], self.encode()).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_are_the_specification_names_tonic_parses_back() {
        for n in 0..=16 {
            let code = Code::from_i32(n);
            let name = code_name(code);
            assert!(
                name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{name}"
            );
            // tonic's Debug spelling in upper snake case is the same name.
            let camel: String = format!("{code:?}");
            let snake: String = camel
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let sep = (i > 0 && c.is_ascii_uppercase()).then_some('_');
                    sep.into_iter()
                        .chain(std::iter::once(c.to_ascii_uppercase()))
                })
                .collect();
            assert_eq!(name, snake, "code {n}");
        }
    }

    #[test]
    fn a_dropped_call_is_recorded_once_as_cancelled() {
        let metrics = Metrics::new();
        let call = metrics.start(Which::Server, "a.B/C", "grpc");
        drop(call);
        metrics
            .start(Which::Server, "a.B/C", "grpc")
            .finish(Code::NotFound);
        let text = metrics.encode();
        let line = |needle: &str| {
            text.lines()
                .find(|l| l.starts_with(needle))
                .unwrap_or_else(|| panic!("{needle} in\n{text}"))
                .to_owned()
        };
        assert!(line(
            "rpc_server_calls_total{rpc_method=\"a.B/C\",rpc_grpc_status_code=\"CANCELLED\""
        )
        .ends_with(" 1"));
        assert!(line(
            "rpc_server_calls_total{rpc_method=\"a.B/C\",rpc_grpc_status_code=\"NOT_FOUND\""
        )
        .ends_with(" 1"));
        assert!(line("rpc_server_calls_in_flight{").ends_with(" 0"));
    }
}
