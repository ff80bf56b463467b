//! Per-call options shared by both generated clients, and the call being served
//! (docs/reference.md section 1.2).
//!
//! [`CallOptions`] writes what tonic already has a vocabulary for (the deadline as
//! `grpc-timeout`, metadata) into the request itself, so a plain `Request::set_timeout` and
//! `metadata_mut()` keep working beside them, and puts the rest (retry policy, fallback) in the
//! request's extensions, where the dialed gRPC channel and the HTTP channel both read it.
//!
//! [`current_call`] is the call our server is serving on this task: both clients give a call
//! made inside a handler at most its remaining deadline.

use std::future::Future;
use std::time::{Duration, Instant};

use tonic::metadata::{Ascii, KeyAndValueRef, MetadataKey, MetadataMap, MetadataValue};

/// Exponential backoff with full jitter between attempts of a retried call.
///
/// The n-th retry waits a random time between zero and
/// `min(initial * multiplier^(n-1), max)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Attempts in total, the first included. 1 disables retries.
    pub max_attempts: u32,
    pub initial: Duration,
    pub max: Duration,
    pub multiplier: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            max_attempts: 4,
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
            multiplier: 2.0,
        }
    }
}

impl Backoff {
    /// The delay before attempt `attempt + 1`.
    #[cfg(feature = "dial")]
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let exp = self.multiplier.powi(attempt.saturating_sub(1) as i32);
        let ceiling = self.initial.mul_f64(exp.min(1e6)).min(self.max);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// How a call may be sent again when it fails with `UNAVAILABLE` before the server answered.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub enum Retry {
    /// As the channel's options say (the default).
    #[default]
    Channel,
    /// Never: this call is sent once.
    Never,
    /// With these attempts and delays instead of the channel's.
    Backoff(Backoff),
}

/// What a call asks of the channel beyond its deadline and metadata; read by the dialed gRPC
/// channel and the HTTP channel from the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CallPolicy {
    pub retry: Retry,
    /// The caller says this call is safe to send twice, though its method is not marked so.
    pub idempotent: bool,
    pub fallback: bool,
}

impl Default for CallPolicy {
    fn default() -> Self {
        CallPolicy {
            retry: Retry::Channel,
            idempotent: false,
            fallback: true,
        }
    }
}

#[cfg_attr(not(feature = "dial"), allow(dead_code))]
impl CallPolicy {
    pub(crate) fn of(extensions: &http::Extensions) -> CallPolicy {
        extensions.get::<CallPolicy>().copied().unwrap_or_default()
    }
}

/// Options of one call, the same for the gRPC client (dialed with `rs_svc::dial`) and the HTTP
/// client: a deadline, metadata (headers over HTTP), a retry policy, and whether a fallback
/// response may answer it while the channel's circuit is open.
///
/// ```
/// use std::time::Duration;
/// use rs_svc::api::{CallOptions, Retry};
///
/// let request = CallOptions::new()
///     .timeout(Duration::from_secs(2))
///     .metadata("x-tenant", "acme".parse().unwrap())
///     .retry(Retry::Never)
///     .no_fallback()
///     .request("orders/1");
/// assert_eq!(request.metadata().get("x-tenant").unwrap(), "acme");
/// assert!(request.metadata().contains_key("grpc-timeout"));
/// ```
///
/// They add to a request's own settings: [`CallOptions::apply`] keeps the shorter of the two
/// deadlines, and its metadata replaces entries of the same name.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    timeout: Option<Duration>,
    metadata: MetadataMap,
    policy: CallPolicy,
}

impl CallOptions {
    /// No deadline of its own, no metadata, the channel's retry policy, fallback allowed.
    pub fn new() -> Self {
        Self::default()
    }

    /// The call's deadline, counted from when the options are applied; the channel's default
    /// deadline then does not apply, and a shorter one already on the request (or inherited
    /// from the call being served) still wins.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends `key: value` with the call (gRPC metadata, an HTTP header). `key` is a lowercase
    /// literal, as `MetadataKey::from_static` takes (which panics on another).
    pub fn metadata(mut self, key: &'static str, value: MetadataValue<Ascii>) -> Self {
        self.metadata
            .insert(MetadataKey::<Ascii>::from_static(key), value);
        self
    }

    /// The metadata sent with the call, to add binary (`-bin`) entries.
    pub fn metadata_mut(&mut self) -> &mut MetadataMap {
        &mut self.metadata
    }

    /// How the call may be retried.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.policy.retry = retry;
        self
    }

    /// The caller vouches that this call may be sent twice (say, it carries an idempotency
    /// key), so it is retried like a call of an idempotent method. Client- and bidi-streaming
    /// calls are never retried: their requests cannot be sent again.
    pub fn idempotent(mut self) -> Self {
        self.policy.idempotent = true;
        self
    }

    /// While the channel's circuit is open, this call fails with `UNAVAILABLE` rather than
    /// answering the fallback registered for its method.
    pub fn no_fallback(mut self) -> Self {
        self.policy.fallback = false;
        self
    }

    /// A request of `message` with these options.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        self.apply(&mut request);
        request
    }

    /// Adds these options to `request`: the shorter of its deadline and this one, these
    /// metadata entries, and the retry and fallback policy.
    pub fn apply<T>(&self, request: &mut tonic::Request<T>) {
        if let Some(timeout) = self.timeout {
            let own = crate::grpc_timeout::grpc_timeout_value_of(request.metadata());
            if own.is_none_or(|own| timeout < own) {
                request.set_timeout(timeout);
            }
        }
        for entry in self.metadata.iter() {
            match entry {
                KeyAndValueRef::Ascii(key, value) => {
                    request.metadata_mut().insert(key.clone(), value.clone());
                }
                KeyAndValueRef::Binary(key, value) => {
                    request
                        .metadata_mut()
                        .insert_bin(key.clone(), value.clone());
                }
            }
        }
        request.extensions_mut().insert(self.policy);
    }
}

tokio::task_local! {
    static SERVING: CallScope;
}

/// The call our server (`rs_svc::serve`) is serving on this task, as far as calls made while
/// serving it inherit from it: its deadline. Entered by the server around each call's handler,
/// with no allocation; [`scope`] carries it into a task the handler spawns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallScope {
    deadline: Option<Instant>,
}

impl CallScope {
    /// A scope whose calls end by `deadline` at the latest.
    pub fn new(deadline: Option<Instant>) -> Self {
        CallScope { deadline }
    }

    /// When the call being served runs out of time.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Runs `future` inside this scope: the calls it makes through either client inherit its
    /// deadline.
    pub fn scope<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        SERVING.scope(self, future)
    }

    /// Runs `f` inside this scope (what the server does on each poll of a call).
    #[cfg_attr(not(feature = "serve"), allow(dead_code))]
    pub(crate) fn sync_scope<R>(self, f: impl FnOnce() -> R) -> R {
        SERVING.sync_scope(self, f)
    }
}

/// The call being served on this task, if any (see [`CallScope`]).
pub fn current_call() -> Option<CallScope> {
    SERVING.try_with(|call| *call).ok()
}

/// `future` inside the current call's scope, for a task a handler spawns, which would not
/// inherit otherwise: `tokio::spawn(rs_svc::api::scope(async move { ... }))`. (Trace context
/// follows `tracing`'s current span: add `.in_current_span()` to carry it too.)
pub fn scope<F: Future>(future: F) -> impl Future<Output = F::Output> {
    let current = current_call();
    async move {
        match current {
            Some(call) => call.scope(future).await,
            None => future.await,
        }
    }
}

/// The time left to the current call's deadline, if it has one: what an outgoing call may use
/// at most. Zero once passed.
#[cfg_attr(not(feature = "dial"), allow(dead_code))]
pub(crate) fn inherited_timeout() -> Option<Duration> {
    let deadline = current_call()?.deadline?;
    Some(deadline.saturating_duration_since(Instant::now()))
}

/// The shorter of a call's own timeout and the one it inherits (docs/reference.md section 1.2).
#[cfg_attr(not(feature = "dial"), allow(dead_code))]
pub(crate) fn shorter(own: Option<Duration>, inherited: Option<Duration>) -> Option<Duration> {
    match (own, inherited) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_keep_the_shorter_deadline_and_add_metadata_and_policy() {
        let mut request = tonic::Request::new(());
        request.set_timeout(Duration::from_secs(1));
        CallOptions::new()
            .timeout(Duration::from_secs(5))
            .metadata("x-a", MetadataValue::from_static("1"))
            .retry(Retry::Never)
            .apply(&mut request);
        assert_eq!(
            crate::grpc_timeout::grpc_timeout_value_of(request.metadata()),
            Some(Duration::from_secs(1))
        );
        assert_eq!(request.metadata().get("x-a").unwrap(), "1");
        let policy = request.extensions().get::<CallPolicy>().copied().unwrap();
        assert_eq!(policy.retry, Retry::Never);
        assert!(policy.fallback);

        let request = CallOptions::new()
            .timeout(Duration::from_millis(20))
            .request(());
        assert_eq!(
            crate::grpc_timeout::grpc_timeout_value_of(request.metadata()),
            Some(Duration::from_millis(20))
        );
    }

    #[test]
    fn shorter_takes_the_smaller_or_whichever_is_set() {
        let s = Duration::from_secs;
        assert_eq!(shorter(Some(s(1)), Some(s(2))), Some(s(1)));
        assert_eq!(shorter(Some(s(3)), Some(s(2))), Some(s(2)));
        assert_eq!(shorter(None, Some(s(2))), Some(s(2)));
        assert_eq!(shorter(Some(s(1)), None), Some(s(1)));
        assert_eq!(shorter(None, None), None);
    }

    #[tokio::test]
    async fn the_current_call_is_seen_in_its_scope_and_in_scoped_tasks_only() {
        assert_eq!(current_call(), None);
        let deadline = Instant::now() + Duration::from_secs(10);
        let call = CallScope::new(Some(deadline));
        call.scope(async move {
            assert_eq!(current_call(), Some(call));
            assert!(inherited_timeout().unwrap() <= Duration::from_secs(10));
            let plain = tokio::spawn(async { current_call() }).await.unwrap();
            assert_eq!(plain, None, "a spawned task does not inherit by itself");
            let scoped = tokio::spawn(scope(async { current_call() })).await.unwrap();
            assert_eq!(scoped, Some(call));
        })
        .await;
        assert_eq!(current_call(), None);
    }
}
