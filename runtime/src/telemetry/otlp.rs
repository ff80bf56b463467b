//! Sending spans to an OpenTelemetry collector over OTLP/gRPC (feature `otlp`).
//!
//! [`init`] is the one call a service makes in `main`: it installs the global `tracing`
//! subscriber with an OpenTelemetry layer whose spans go to the collector in batches (through
//! opentelemetry-otlp's tonic exporter), plus log lines on stderr, filtered by `RUST_LOG`
//! (default `info`). It returns a [`Guard`] that flushes the spans still buffered when it drops.
//! To compose your own subscriber, take the OpenTelemetry layer from [`layer`] instead.
//!
//! Both must run inside a Tokio runtime (the exporter's connection lives there). The batch
//! exporter works on a thread of its own and sends through that runtime, so drop the guard (or
//! call [`Guard::shutdown`]) while the runtime still runs, and from a multi-thread runtime or
//! outside it (`spawn_blocking`): on a current-thread runtime's only thread, the flush waits for
//! its timeout.

use std::fmt;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Sends spans to the collector at `endpoint` (`http://127.0.0.1:4317`, OTLP over gRPC) as the
/// service `service_name` (the `service.name` resource attribute), and installs the global
/// `tracing` subscriber: that OpenTelemetry layer, and log lines on stderr, both filtered by
/// `RUST_LOG` (default `info`). Also sets OpenTelemetry's global tracer provider and the W3C
/// trace-context propagator, for code that uses the OpenTelemetry API directly.
///
/// Keep the returned [`Guard`] alive as long as the service runs; see the [module
/// docs](self) for where to drop it.
///
/// ```no_run
/// # async fn run() -> Result<(), rs_svc::telemetry::otlp::Error> {
/// let _telemetry = rs_svc::telemetry::otlp::init("http://127.0.0.1:4317", "order-service")?;
/// tracing::info!("spans of every call go to the collector from here on");
/// # Ok(()) }
/// ```
pub fn init(endpoint: &str, service_name: &str) -> Result<Guard, Error> {
    let (otel, guard) = layer(endpoint, service_name)?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(filter)
        .with(otel)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .try_init()
        .map_err(|e| Error::Subscriber(e.to_string()))?;
    if let Some(provider) = &guard.provider {
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    Ok(guard)
}

/// The OpenTelemetry layer of [`init`], for a subscriber you compose yourself: spans go to the
/// collector at `endpoint` in batches, as the service `service_name`.
///
/// ```no_run
/// # async fn run() -> Result<(), rs_svc::telemetry::otlp::Error> {
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::util::SubscriberInitExt;
///
/// let (otel, _telemetry) = rs_svc::telemetry::otlp::layer("http://127.0.0.1:4317", "order-service")?;
/// tracing_subscriber::registry().with(otel).init();
/// # Ok(()) }
/// ```
pub fn layer<S>(
    endpoint: &str,
    service_name: &str,
) -> Result<(OpenTelemetryLayer<S, SdkTracer>, Guard), Error>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| Error::Exporter(e.to_string()))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build();
    let tracer = provider.tracer("rs-svc");
    let layer = tracing_opentelemetry::layer().with_tracer(tracer);
    Ok((
        layer,
        Guard {
            provider: Some(provider),
        },
    ))
}

/// Keeps the exporter running; dropping it sends the spans still buffered and stops it.
#[must_use = "dropping the guard stops exporting spans"]
pub struct Guard {
    provider: Option<SdkTracerProvider>,
}

impl Guard {
    /// Sends the spans ended so far now, rather than with the next batch; blocks until the
    /// collector answered (see the [module docs](self) for where to call it from).
    pub fn flush(&self) -> Result<(), Error> {
        match &self.provider {
            Some(provider) => provider
                .force_flush()
                .map_err(|e| Error::Shutdown(e.to_string())),
            None => Ok(()),
        }
    }

    /// Sends the spans still buffered and stops the exporter, saying whether that worked.
    pub fn shutdown(mut self) -> Result<(), Error> {
        match self.provider.take() {
            Some(provider) => provider
                .shutdown()
                .map_err(|e| Error::Shutdown(e.to_string())),
            None => Ok(()),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("running", &self.provider.is_some())
            .finish()
    }
}

/// Why the exporter could not be set up or shut down.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The exporter refused its settings (an endpoint that is no URI, say).
    Exporter(String),
    /// A global `tracing` subscriber was already installed.
    Subscriber(String),
    /// Flushing or stopping the exporter failed (the collector was unreachable, say).
    Shutdown(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Exporter(e) => write!(f, "cannot set up the OTLP exporter: {e}"),
            Error::Subscriber(e) => write!(f, "cannot install the tracing subscriber: {e}"),
            Error::Shutdown(e) => write!(f, "cannot flush the OTLP exporter: {e}"),
        }
    }
}

impl std::error::Error for Error {}
