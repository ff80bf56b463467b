//! What happens to each call on a dialed [`Channel`]: a default deadline, retries with backoff
//! for idempotent methods, and the circuit breaker with its fallback responses.
//!
//! The policy works on HTTP requests under tonic's generated client, so it knows gRPC only as
//! the protocol spells it: the `:path`, the `grpc-timeout` header and a trailers-only response
//! carrying `grpc-status`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue};
use http_body_util::{BodyExt, Full};
use tokio::time::Instant;
use tonic::body::Body;
use tonic::Code;
use tower::{Service, ServiceExt};

use super::balance::{Pool, Subchannel};
use super::{Backoff, MethodKind};
use crate::api::{CallPolicy, Retry};
use crate::grpc_timeout::{encode_grpc_timeout, grpc_timeout};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A connection to a dialed service: a channel per resolved address under the call policy of
/// [`Options`](super::Options). Generated clients take it as their transport.
#[derive(Clone)]
pub struct Channel {
    pool: Arc<Pool>,
    policy: Arc<Policy>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("target", &self.policy.target)
            .field("addrs", &self.pool.addrs())
            .finish_non_exhaustive()
    }
}

impl Channel {
    pub(crate) fn new(pool: Arc<Pool>, policy: Policy) -> Self {
        Channel {
            pool,
            policy: Arc::new(policy),
        }
    }
}

/// How calls of one method are treated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MethodPolicy {
    /// `/package.Service/Method`, for its metrics.
    #[cfg(feature = "metrics")]
    pub path: &'static str,
    pub kind: MethodKind,
    /// Its calls may be sent again (one request message, and idempotent or opted in).
    pub retry: bool,
}

/// The circuit breaker's settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CircuitConfig {
    pub failures: u32,
    pub open_for: Duration,
}

/// The policy of a channel's calls, shared by the dialed gRPC channel and the HTTP channel
/// (`rs_svc::http::HttpChannel`): deadlines, retries, the circuit breaker and its fallbacks.
pub(crate) struct Policy {
    pub target: String,
    /// By `/package.Service/Method`.
    pub methods: HashMap<String, MethodPolicy>,
    pub timeout: Option<Duration>,
    pub backoff: Backoff,
    pub circuit: Option<(CircuitConfig, Mutex<Circuit>)>,
    /// Encoded response messages by method path.
    pub fallbacks: HashMap<String, Bytes>,
    #[cfg(feature = "metrics")]
    pub metrics: Option<super::metered::Metered>,
}

impl Service<http::Request<Body>> for Channel {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Each attempt waits for its subchannel (a buffered, cheaply cloned tonic channel).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        // A client span per call (retries included), whose trace context the request carries.
        let span = crate::trace_context::client::start(&self.policy.target, &mut request);
        // Read here, in the caller's task, where the call being served is known.
        let inherited = crate::api::inherited_timeout();
        let call = self
            .policy
            .clone()
            .call(self.pool.clone(), request, inherited);
        Box::pin(crate::trace_context::client::run(span, call))
    }
}

/// Why a call did not get through, for retry and the circuit breaker.
fn unavailable(result: &Result<http::Response<Body>, BoxError>) -> bool {
    match result {
        Err(_) => true,
        Ok(response) => grpc_status(response.headers()) == Some(Code::Unavailable),
    }
}

/// The `grpc-status` of a trailers-only response (or of trailers); `None` when the response
/// carries messages.
pub(crate) fn grpc_status(headers: &HeaderMap) -> Option<Code> {
    let value = headers.get("grpc-status")?;
    Some(Code::from_bytes(value.as_bytes()))
}

impl Policy {
    async fn call(
        self: Arc<Self>,
        pool: Arc<Pool>,
        request: http::Request<Body>,
        inherited: Option<Duration>,
    ) -> Result<http::Response<Body>, BoxError> {
        #[cfg(feature = "metrics")]
        if let Some(metered) = &self.metrics {
            let path = self.methods.get(request.uri().path()).map(|m| m.path);
            let call = metered.metrics.client_call(path);
            let result = self.clone().call_unmetered(pool, request, inherited).await;
            return super::metered::finish(call, result);
        }
        self.call_unmetered(pool, request, inherited).await
    }

    async fn call_unmetered(
        self: Arc<Self>,
        pool: Arc<Pool>,
        mut request: http::Request<Body>,
        inherited: Option<Duration>,
    ) -> Result<http::Response<Body>, BoxError> {
        let path = request.uri().path().to_owned();
        let method = self.methods.get(&path).copied();
        let unary = method.is_some_and(|m| m.kind == MethodKind::Unary);
        let call = CallPolicy::of(request.extensions());

        // The deadline, which is then sent so the server knows it too.
        let deadline = self
            .timeout(grpc_timeout(request.headers()), unary, inherited)
            .map(|t| Instant::now() + t);

        if !self.admit() {
            return Ok(self.open_circuit_response(&path, call));
        }

        let result = match method {
            // One request message: buffered, so it can go to another address or be retried.
            Some(m) if m.kind.single_request() => {
                let (parts, body) = request.into_parts();
                let body = body.collect().await?.to_bytes();
                let attempts = self.attempts(m.retry, call, deadline);
                self.send_buffered(&pool, &parts, &body, attempts, m).await
            }
            _ => {
                set_grpc_timeout(request.headers_mut(), deadline);
                match pool.pick(&[]) {
                    Some(subchannel) => send(&subchannel, request, deadline).await,
                    None => Ok(no_address()),
                }
            }
        };

        let failed = unavailable(&result)
            || matches!(&result, Ok(r) if grpc_status(r.headers()) == Some(Code::DeadlineExceeded));
        self.record(failed);
        result
    }

    /// The timeout of a call: its own (`grpc-timeout`), else the default for unary calls; and
    /// never longer than what is left of the call being served (`inherited`), docs/reference.md
    /// section 1.2.
    pub(crate) fn timeout(
        &self,
        own: Option<Duration>,
        unary: bool,
        inherited: Option<Duration>,
    ) -> Option<Duration> {
        let own = match own {
            Some(t) => Some(t),
            None if unary => self.timeout,
            None => None,
        };
        crate::api::shorter(own, inherited)
    }

    /// Whether the circuit (if any) lets a call through now.
    pub(crate) fn admit(&self) -> bool {
        let Some((config, circuit)) = &self.circuit else {
            return true;
        };
        let mut circuit = circuit.lock().expect("circuit lock");
        let now = Instant::now();
        let allowed = circuit.allow(now, config);
        self.report_circuit(&circuit, now);
        allowed
    }

    /// Records a call's outcome in the circuit (if any): `failed` for `UNAVAILABLE`,
    /// `DEADLINE_EXCEEDED` or no connection.
    pub(crate) fn record(&self, failed: bool) {
        if let Some((config, circuit)) = &self.circuit {
            let mut circuit = circuit.lock().expect("circuit lock");
            let now = Instant::now();
            circuit.record(!failed, now, config);
            self.report_circuit(&circuit, now);
        }
    }

    /// The encoded fallback response a call of `path` answers while the circuit is open, if one
    /// is registered and the call allows it.
    pub(crate) fn fallback(&self, path: &str, call: CallPolicy) -> Option<&Bytes> {
        call.fallback.then(|| self.fallbacks.get(path)).flatten()
    }

    /// The message of the error a call gets while the circuit is open.
    pub(crate) fn open_circuit_status(&self) -> tonic::Status {
        tonic::Status::unavailable(format!(
            "circuit open for {}: recent calls failed; not calling until it half-opens",
            self.target
        ))
    }

    /// The attempts a call may make: `retry` when its method may be sent again, as the call's
    /// own options ([`crate::api::CallOptions`]) adjust it.
    pub(crate) fn attempts(
        &self,
        retry: bool,
        call: CallPolicy,
        deadline: Option<Instant>,
    ) -> Attempts {
        let (retry, backoff) = match call.retry {
            Retry::Channel => (retry || call.idempotent, self.backoff),
            Retry::Never => (false, self.backoff),
            Retry::Backoff(backoff) => (retry || call.idempotent, backoff),
        };
        Attempts {
            retry,
            backoff,
            deadline,
            made: 1,
        }
    }

    /// Sets the circuit state series, when the channel records metrics.
    #[cfg(feature = "metrics")]
    fn report_circuit(&self, circuit: &Circuit, now: Instant) {
        if let Some(gauges) = self.metrics.as_ref().and_then(|m| m.circuit.as_ref()) {
            gauges.set(circuit.state(now));
        }
    }

    #[cfg(not(feature = "metrics"))]
    fn report_circuit(&self, _: &Circuit, _: Instant) {}

    /// Sends a buffered request until it gets through; when the call may be retried, again on
    /// UNAVAILABLE until the attempts run out or the deadline nears.
    async fn send_buffered(
        &self,
        pool: &Pool,
        parts: &http::request::Parts,
        body: &Bytes,
        mut attempts: Attempts,
        #[cfg_attr(not(feature = "metrics"), allow(unused_variables))] method: MethodPolicy,
    ) -> Result<http::Response<Body>, BoxError> {
        loop {
            let result = send_anywhere(pool, parts, body, attempts.deadline).await;
            if !unavailable(&result) {
                return result;
            }
            // The server may ask for a delay, or ask us not to retry at all (negative).
            let asked = match &result {
                Ok(response) => pushback(response.headers()),
                Err(_) => None,
            };
            let Some(delay) = attempts.again(asked) else {
                return result;
            };
            tokio::time::sleep(delay).await;
            #[cfg(feature = "metrics")]
            if let Some(metered) = &self.metrics {
                metered.metrics.client_retry(Some(method.path));
            }
        }
    }

    fn open_circuit_response(&self, path: &str, call: CallPolicy) -> http::Response<Body> {
        match self.fallback(path, call) {
            Some(message) => message_response(message.clone()),
            None => self.open_circuit_status().into_http(),
        }
    }
}

/// The attempts of one call (`Policy::attempts`): how many are left and how long to wait
/// before the next, within the call's deadline.
#[derive(Debug)]
pub(crate) struct Attempts {
    retry: bool,
    backoff: Backoff,
    pub deadline: Option<Instant>,
    made: u32,
}

impl Attempts {
    /// After an attempt that failed with `UNAVAILABLE` before the server answered: the delay
    /// before the next attempt, or `None` to give up (not retried, attempts used up, the server
    /// said not to (`asked` is `grpc-retry-pushback-ms`), or the deadline would pass first).
    pub(crate) fn again(&mut self, asked: Option<Option<Duration>>) -> Option<Duration> {
        if !self.retry || self.made >= self.backoff.max_attempts {
            return None;
        }
        let delay = match asked {
            Some(Some(delay)) => delay,
            Some(None) => return None,
            None => self.backoff.delay(self.made),
        };
        if self
            .deadline
            .is_some_and(|deadline| Instant::now() + delay >= deadline)
        {
            return None;
        }
        self.made += 1;
        Some(delay)
    }
}

/// Sends the request to a subchannel of the pool, and to the next one when a connection could
/// not be opened: such a call never left, so sending it elsewhere is safe for any method (gRPC's
/// transparent retry). Every address is tried at most once.
async fn send_anywhere(
    pool: &Pool,
    parts: &http::request::Parts,
    body: &Bytes,
    deadline: Option<Instant>,
) -> Result<http::Response<Body>, BoxError> {
    let mut tried = Vec::new();
    let mut last = None;
    while let Some(subchannel) = pool.pick(&tried) {
        let mut request =
            http::Request::from_parts(parts.clone(), Body::new(Full::new(body.clone())));
        set_grpc_timeout(request.headers_mut(), deadline);
        let result = send(&subchannel, request, deadline).await;
        match &result {
            Err(e) if never_sent(e.as_ref()) => {
                tried.push(subchannel.addr);
                last = Some(result);
            }
            _ => return result,
        }
    }
    last.unwrap_or_else(|| Ok(no_address()))
}

/// One attempt on one subchannel; a failed connection sets the address aside for a while.
async fn send(
    subchannel: &Arc<Subchannel>,
    request: http::Request<Body>,
    deadline: Option<Instant>,
) -> Result<http::Response<Body>, BoxError> {
    let _in_flight = subchannel.begin();
    let result = attempt(subchannel.channel.clone(), request, deadline).await;
    match &result {
        Err(_) => subchannel.failed(),
        Ok(_) => subchannel.succeeded(),
    }
    result
}

fn no_address() -> http::Response<Body> {
    tonic::Status::unavailable("no address to send the call to").into_http()
}

/// The connection could not be opened, so the request was never sent.
fn never_sent(error: &(dyn std::error::Error + 'static)) -> bool {
    chain(error).any(|e| e.is::<tonic::ConnectError>())
}

fn chain<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source())
}

/// One attempt, bounded by the deadline.
async fn attempt(
    inner: tonic::transport::Channel,
    request: http::Request<Body>,
    deadline: Option<Instant>,
) -> Result<http::Response<Body>, BoxError> {
    let exceeded = || {
        tonic::Status::deadline_exceeded("deadline exceeded before the server answered").into_http()
    };
    let call = async move {
        match inner.oneshot(request).await {
            Ok(response) => Ok(response),
            // tonic's channel enforces `grpc-timeout` too, and calls it CANCELLED; the gRPC
            // status for a passed deadline is DEADLINE_EXCEEDED.
            Err(e) if timed_out(&e) => Ok(exceeded()),
            Err(e) => Err(e.into()),
        }
    };
    match deadline {
        None => call.await,
        Some(deadline) => tokio::time::timeout_at(deadline, call)
            .await
            .unwrap_or_else(|_| Ok(exceeded())),
    }
}

fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    chain(error).any(|e| e.is::<tonic::TimeoutExpired>())
}

/// A successful unary response holding one encoded message, as a server would send it.
fn message_response(message: Bytes) -> http::Response<Body> {
    let mut framed = BytesMut::with_capacity(5 + message.len());
    framed.put_u8(0);
    framed.put_u32(u32::try_from(message.len()).expect("fallback message under 4 GiB"));
    framed.put(message);
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let body = Full::new(framed.freeze()).with_trailers(async move { Some(Ok(trailers)) });
    http::Response::builder()
        .header(http::header::CONTENT_TYPE, "application/grpc")
        .body(Body::new(body))
        .expect("static response parts are valid")
}

/// Writes the time left until `deadline` as `grpc-timeout`, so the server sees the deadline.
fn set_grpc_timeout(headers: &mut HeaderMap, deadline: Option<Instant>) {
    let Some(deadline) = deadline else { return };
    let left = deadline.saturating_duration_since(Instant::now());
    headers.insert(
        "grpc-timeout",
        HeaderValue::from_str(&encode_grpc_timeout(left)).expect("digits and a unit"),
    );
}

/// `grpc-retry-pushback-ms`: `Some(Some(delay))` to wait as asked, `Some(None)` when the server
/// says not to retry (a negative or malformed value), `None` when absent.
pub(crate) fn pushback(headers: &HeaderMap) -> Option<Option<Duration>> {
    let value = headers.get("grpc-retry-pushback-ms")?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis),
    )
}

/// Consecutive failures close to open: after `failures` in a row the circuit opens for
/// `open_for`; then one probe call may pass (half-open), and its outcome closes or reopens it.
#[derive(Debug, Default)]
pub(crate) struct Circuit {
    failures: u32,
    open_until: Option<Instant>,
    probe_started: Option<Instant>,
}

impl Circuit {
    fn allow(&mut self, now: Instant, config: &CircuitConfig) -> bool {
        let Some(until) = self.open_until else {
            return true;
        };
        if now < until {
            return false;
        }
        // Half-open: one probe at a time. A probe that never reports (its caller went away)
        // stops blocking others once another open period has passed.
        match self.probe_started {
            Some(started) if now < started + config.open_for => false,
            _ => {
                self.probe_started = Some(now);
                true
            }
        }
    }

    /// Closed, open, or past its open period (the next call probes it).
    #[cfg(feature = "metrics")]
    fn state(&self, now: Instant) -> crate::metrics::CircuitState {
        use crate::metrics::CircuitState;
        match self.open_until {
            None => CircuitState::Closed,
            Some(until) if now < until => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        }
    }

    fn record(&mut self, ok: bool, now: Instant, config: &CircuitConfig) {
        if ok {
            *self = Circuit::default();
            return;
        }
        self.failures += 1;
        let half_open = self.open_until.is_some_and(|until| now >= until);
        if half_open || self.failures >= config.failures {
            self.open_until = Some(now + config.open_for);
            self.probe_started = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &'static str, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn pushback_is_a_delay_or_a_refusal() {
        assert_eq!(pushback(&HeaderMap::new()), None);
        assert_eq!(
            pushback(&headers("grpc-retry-pushback-ms", "250")),
            Some(Some(Duration::from_millis(250)))
        );
        assert_eq!(
            pushback(&headers("grpc-retry-pushback-ms", "-1")),
            Some(None)
        );
    }

    fn attempts(retry: bool, max_attempts: u32, deadline: Option<Instant>) -> Attempts {
        Attempts {
            retry,
            backoff: Backoff {
                max_attempts,
                initial: Duration::from_millis(10),
                max: Duration::from_millis(10),
                multiplier: 2.0,
            },
            deadline,
            made: 1,
        }
    }

    #[test]
    fn attempts_stop_when_used_up_not_retried_refused_or_past_the_deadline() {
        let mut a = attempts(true, 3, None);
        assert!(a.again(None).is_some() && a.again(None).is_some());
        assert_eq!(a.again(None), None, "three attempts in all");
        assert_eq!(attempts(false, 3, None).again(None), None, "not retried");
        let asked = Some(Some(Duration::from_millis(7)));
        assert_eq!(attempts(true, 3, None).again(asked), asked.flatten());
        assert_eq!(attempts(true, 3, None).again(Some(None)), None, "refused");
        let soon = Some(Instant::now() + Duration::from_millis(1));
        assert_eq!(
            attempts(true, 3, soon).again(Some(Some(Duration::from_secs(1)))),
            None,
            "the wait would outlast the deadline"
        );
    }

    #[test]
    fn circuit_opens_after_consecutive_failures_and_half_opens_for_one_probe() {
        let config = CircuitConfig {
            failures: 3,
            open_for: Duration::from_secs(10),
        };
        let t0 = Instant::now();
        let mut c = Circuit::default();
        for _ in 0..2 {
            assert!(c.allow(t0, &config));
            c.record(false, t0, &config);
        }
        c.record(true, t0, &config);
        for _ in 0..3 {
            assert!(c.allow(t0, &config));
            c.record(false, t0, &config);
        }
        assert!(!c.allow(t0 + Duration::from_secs(9), &config), "open");
        let t1 = t0 + Duration::from_secs(10);
        assert!(c.allow(t1, &config), "half-open lets one probe through");
        assert!(!c.allow(t1, &config), "but only one");
        c.record(false, t1, &config);
        assert!(
            !c.allow(t1 + Duration::from_secs(1), &config),
            "a failed probe reopens"
        );
        let t2 = t1 + Duration::from_secs(10);
        assert!(c.allow(t2, &config));
        c.record(true, t2, &config);
        assert!(
            c.allow(t2, &config) && c.allow(t2, &config),
            "a good probe closes"
        );
    }

    #[cfg(feature = "metrics")]
    #[test]
    fn circuit_state_is_open_for_its_period_then_half_open_until_a_probe_decides() {
        use crate::metrics::CircuitState::{Closed, HalfOpen, Open};
        let config = CircuitConfig {
            failures: 1,
            open_for: Duration::from_secs(10),
        };
        let t0 = Instant::now();
        let mut c = Circuit::default();
        assert_eq!(c.state(t0), Closed);
        c.record(false, t0, &config);
        assert_eq!(c.state(t0 + Duration::from_secs(9)), Open);
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(
            c.state(t1),
            HalfOpen,
            "its time is up: the next call probes"
        );
        assert!(c.allow(t1, &config));
        assert_eq!(c.state(t1), HalfOpen, "while the probe runs");
        c.record(false, t1, &config);
        assert_eq!(c.state(t1), Open, "a failed probe reopens");
        let t2 = t1 + Duration::from_secs(10);
        assert!(c.allow(t2, &config));
        c.record(true, t2, &config);
        assert_eq!(c.state(t2), Closed, "a good probe closes");
    }
}
