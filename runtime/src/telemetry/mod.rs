//! Tracing every call, continuing the caller's trace, and exporting spans.
//!
//! - [`TraceLayer`] (feature `serve`): a layer for [`Builder::layer`](crate::serve::Builder::layer)
//!   that gives every gRPC and HTTP/JSON call one [`tracing`] span, named after the full method
//!   and carrying the OpenTelemetry semantic-convention attributes of RPC and HTTP servers. The
//!   handler, and the response body of a stream, run inside it, so the handler's own events and
//!   spans are its children.
//! - With the `otel` feature, that span continues the trace of the `traceparent` and
//!   `tracestate` headers (W3C trace context; on gRPC they are metadata), and the channels of the
//!   generated `dial()` helpers send the current trace on every call, under a client span: a
//!   chain of services forms one trace. This takes an OpenTelemetry layer in the `tracing`
//!   subscriber ([`tracing-opentelemetry`](https://docs.rs/tracing-opentelemetry)), which
//!   `otlp::init` installs; without one, spans are plain `tracing` spans.
//! - With the `otlp` feature, `otlp::init` sends the spans to an OpenTelemetry collector.
//!
//! ```no_run
//! # #[cfg(feature = "otlp")]
//! # async fn run(routes: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
//! use rs_svc::serve::Server;
//! use rs_svc::telemetry::{otlp, TraceLayer};
//!
//! // Spans to the collector, log lines to stderr; flushed when `_telemetry` drops.
//! let _telemetry = otlp::init("http://127.0.0.1:4317", "order-service")?;
//! Server::builder()
//!     .layer(TraceLayer::new())
//!     .http(routes)
//!     .build()?
//!     .serve()
//!     .await?;
//! # Ok(()) }
//! ```

#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "serve")]
mod server;

#[cfg(feature = "serve")]
pub use server::{Trace, TraceLayer};

/// The OpenTelemetry context that W3C trace-context headers (`traceparent`, `tracestate`) carry,
/// for requests that reach you another way than the server (a queue message's headers, say).
/// Empty when they are missing or malformed.
#[cfg(feature = "otel")]
pub fn extract_context(headers: &http::HeaderMap) -> opentelemetry::Context {
    crate::trace_context::extract(headers)
}

/// Writes the current `tracing` span's trace context into `headers` as `traceparent` and
/// `tracestate`, for calls you make with another client than the dial helpers (which do it
/// themselves). Writes nothing outside a traced span.
#[cfg(feature = "otel")]
pub fn inject_context(headers: &mut http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    crate::trace_context::inject(&tracing::Span::current().context(), headers);
}
