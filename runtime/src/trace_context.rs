//! What the server's trace layer ([`crate::telemetry`]) and the dial channel share: W3C trace
//! context in and out of headers (with `otel`), the client span of a dialed call, and a response
//! body that is polled inside its call's span.

// Each side uses its part; a build with only one of `serve` and `dial` leaves the other's unused.
#![cfg_attr(not(all(feature = "serve", feature = "dial")), allow(dead_code))]

#[cfg(any(feature = "serve", feature = "dial"))]
use std::pin::Pin;
#[cfg(any(feature = "serve", feature = "dial"))]
use std::task::{ready, Context, Poll};

#[cfg(any(feature = "serve", feature = "dial"))]
use bytes::Bytes;
use http::HeaderMap;
#[cfg(any(feature = "serve", feature = "dial"))]
use http_body::{Frame, SizeHint};
use tracing::Span;

/// The W3C trace context header that names a call's trace and parent span.
#[cfg(feature = "otel")]
const TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");

/// Makes `span` continue the trace named by the `traceparent` and `tracestate` headers (a new
/// trace when they are missing or malformed). Call it before the span is first entered.
#[cfg(feature = "otel")]
pub(crate) fn set_parent(span: &Span, headers: &HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    // Without one the span is a root already (the server's spans are made with no parent).
    if span.is_disabled() || !headers.contains_key(TRACEPARENT) {
        return;
    }
    // It fails only when the subscriber has no OpenTelemetry layer: then there is no trace.
    let _ = span.set_parent(extract(headers));
}

#[cfg(not(feature = "otel"))]
pub(crate) fn set_parent(_: &Span, _: &HeaderMap) {}

/// The OpenTelemetry context the `traceparent` and `tracestate` headers carry.
#[cfg(feature = "otel")]
pub(crate) fn extract(headers: &HeaderMap) -> opentelemetry::Context {
    use opentelemetry::propagation::TextMapPropagator;
    opentelemetry_sdk::propagation::TraceContextPropagator::new()
        .extract(&opentelemetry_http::HeaderExtractor(headers))
}

/// Writes `cx` as `traceparent` (and `tracestate`); nothing when it holds no valid span.
#[cfg(feature = "otel")]
pub(crate) fn inject(cx: &opentelemetry::Context, headers: &mut HeaderMap) {
    use opentelemetry::propagation::TextMapPropagator;
    opentelemetry_sdk::propagation::TraceContextPropagator::new()
        .inject_context(cx, &mut opentelemetry_http::HeaderInjector(headers));
}

/// Writes the context of `span` (of the current span when `span` is disabled) into `headers`.
#[cfg(all(feature = "otel", feature = "dial"))]
fn inject_span(span: &Span, headers: &mut HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = if span.is_disabled() {
        Span::current().context()
    } else {
        span.context()
    };
    inject(&cx, headers);
}

/// `(service, method)` of a gRPC path or full method name: `/pkg.Svc/Method` or `pkg.Svc/Method`.
pub(crate) fn split_method(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.trim_start_matches('/').split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/'))
        .then_some((service, method))
}

#[cfg(feature = "serve")]
pub(crate) use body::InSpan;

#[cfg(any(feature = "serve", feature = "dial"))]
mod body {
    use super::*;

    /// A response body polled inside `span`, so that what a streaming handler does while producing
    /// messages is recorded in its call. With `watch_status` (client calls), the `grpc-status` of
    /// the trailers is recorded on the span as the call's outcome.
    pub(crate) struct InSpan<B> {
        pub(super) inner: B,
        pub(super) span: Span,
        pub(super) watch_status: bool,
    }

    impl<B> InSpan<B> {
        pub(crate) fn new(inner: B, span: Span) -> Self {
            InSpan {
                inner,
                span,
                watch_status: false,
            }
        }
    }

    impl<B> http_body::Body for InSpan<B>
    where
        B: http_body::Body<Data = Bytes> + Unpin,
    {
        type Data = Bytes;
        type Error = B::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
            let this = &mut *self;
            let _entered = this.span.enter();
            let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
            if this.watch_status {
                match &frame {
                    Some(Ok(frame)) => {
                        if let Some(trailers) = frame.trailers_ref() {
                            record_client_code(&this.span, grpc_status(trailers));
                        }
                    }
                    Some(Err(_)) => record_client_code(&this.span, Some(tonic::Code::Unavailable)),
                    None => {}
                }
            }
            Poll::Ready(frame)
        }

        fn is_end_stream(&self) -> bool {
            self.inner.is_end_stream()
        }

        fn size_hint(&self) -> SizeHint {
            self.inner.size_hint()
        }
    }

    pub(super) fn grpc_status(headers: &HeaderMap) -> Option<tonic::Code> {
        const GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");
        headers
            .get(GRPC_STATUS)
            .map(|value| tonic::Code::from_bytes(value.as_bytes()))
    }

    /// A client call's outcome on its span: the code, and ERROR for any code but OK (the
    /// OpenTelemetry RPC conventions for client spans). A stream that ends without `grpc-status`
    /// is an error too.
    pub(super) fn record_client_code(span: &Span, code: Option<tonic::Code>) {
        if let Some(code) = code {
            span.record("rpc.grpc.status_code", code as i64);
        }
        if code != Some(tonic::Code::Ok) {
            span.record("otel.status_code", "ERROR");
        }
    }
}

/// The client side of a dialed call: a span of kind client named after the full method, with
/// the call's trace context sent in its `traceparent` (with `otel`), and kept open until the
/// response's trailers have passed.
#[cfg(feature = "dial")]
pub(crate) mod client {
    use std::future::Future;

    use tonic::body::Body;
    use tracing::field::Empty;
    use tracing::{Instrument, Span};

    use super::body::{grpc_status, record_client_code, InSpan};

    type BoxError = Box<dyn std::error::Error + Send + Sync>;

    /// The span of the call `request` makes on the channel to `target` (`http://host:port`),
    /// with its trace context written into the request's headers.
    pub(crate) fn start(target: &str, request: &mut http::Request<Body>) -> Span {
        let path = request.uri().path();
        let (service, method) = super::split_method(path).unwrap_or(("", path));
        let span = tracing::info_span!(
            target: "rs_svc::telemetry",
            "rpc.client",
            otel.name = path.trim_start_matches('/'),
            otel.kind = "client",
            rpc.system = "grpc",
            rpc.service = service,
            rpc.method = method,
            rpc.grpc.status_code = Empty,
            server.address = Empty,
            server.port = Empty,
            otel.status_code = Empty,
        );
        let uri = (!span.is_disabled())
            .then(|| target.parse::<http::Uri>().ok())
            .flatten();
        if let Some(uri) = uri {
            if let Some(host) = uri.host() {
                span.record("server.address", host.trim_matches(['[', ']']));
            }
            let default_port = if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            };
            span.record(
                "server.port",
                i64::from(uri.port_u16().unwrap_or(default_port)),
            );
        }
        #[cfg(feature = "otel")]
        {
            // Without a caller span around it, the client span would start a new trace; a
            // `traceparent` the request already carries (a proxy passing its caller's on, or
            // metadata set by hand) is its parent instead of being overwritten.
            if Span::current().is_disabled() && request.headers().contains_key(super::TRACEPARENT) {
                super::set_parent(&span, request.headers());
            }
            super::inject_span(&span, request.headers_mut());
        }
        span
    }

    /// Runs `call` in `span` and keeps the span open over the response body.
    pub(crate) async fn run<F>(span: Span, call: F) -> Result<http::Response<Body>, BoxError>
    where
        F: Future<Output = Result<http::Response<Body>, BoxError>>,
    {
        if span.is_disabled() {
            return call.await;
        }
        let result = call.instrument(span.clone()).await;
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                record_client_code(&span, Some(tonic::Code::Unavailable));
                return Err(error);
            }
        };
        if let Some(code) = grpc_status(response.headers()) {
            // Trailers-only: the call ended with its head.
            record_client_code(&span, Some(code));
            return Ok(response);
        }
        Ok(response.map(|body| {
            Body::new(InSpan {
                inner: body,
                span,
                watch_status: true,
            })
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_method_takes_paths_and_full_names() {
        let cases = [
            (
                "/acme.shop.v1.OrderService/GetOrder",
                Some(("acme.shop.v1.OrderService", "GetOrder")),
            ),
            (
                "acme.shop.v1.OrderService/GetOrder",
                Some(("acme.shop.v1.OrderService", "GetOrder")),
            ),
            ("/acme.shop.v1.OrderService", None),
            ("/a/b/c", None),
            ("//GetOrder", None),
            ("/", None),
        ];
        for (path, want) in cases {
            assert_eq!(split_method(path), want, "{path}");
        }
    }

    #[cfg(feature = "otel")]
    #[test]
    fn traceparent_and_tracestate_round_trip_through_headers() {
        use opentelemetry::trace::TraceContextExt;
        let mut headers = HeaderMap::new();
        headers.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        headers.insert("tracestate", "vendor=opaque".parse().unwrap());
        let cx = extract(&headers);
        let span = cx.span();
        let span_context = span.span_context();
        assert!(span_context.is_remote() && span_context.is_sampled());
        assert_eq!(
            span_context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(span_context.span_id().to_string(), "00f067aa0ba902b7");

        let mut out = HeaderMap::new();
        inject(&cx, &mut out);
        assert_eq!(out.get("traceparent"), headers.get("traceparent"));
        assert_eq!(out.get("tracestate"), headers.get("tracestate"));
    }

    #[cfg(feature = "otel")]
    #[test]
    fn malformed_or_missing_traceparent_gives_no_parent_and_injects_nothing() {
        use opentelemetry::trace::TraceContextExt;
        for value in [
            None,
            Some("garbage"),
            Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"),
        ] {
            let mut headers = HeaderMap::new();
            if let Some(value) = value {
                headers.insert("traceparent", value.parse().unwrap());
            }
            let cx = extract(&headers);
            assert!(!cx.span().span_context().is_valid(), "{value:?}");
            let mut out = HeaderMap::new();
            inject(&cx, &mut out);
            assert!(out.is_empty(), "{value:?}");
        }
    }
}
