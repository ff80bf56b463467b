//! The server side: one span per call, on both transports.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use tonic::Code;
use tower::{Layer, Service};
use tracing::field::Empty;
use tracing::{Instrument, Span};

use crate::serve::{on_complete, CallInfo, Outcome, Transport};
use crate::trace_context::{self, InSpan};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Gives every call one [`tracing`] span (level INFO) that follows the OpenTelemetry semantic
/// conventions for RPC servers, for [`Builder::layer`](crate::serve::Builder::layer).
///
/// The span is named after the full method (`acme.shop.v1.OrderService/GetOrder`, in the
/// `otel.name` field that tracing-opentelemetry takes as the span name; a gRPC call to a method
/// the server does not have is `_OTHER`), of kind server, with the attributes
/// - `rpc.system` (`grpc`, also for HTTP/JSON calls, which are gRPC methods transcoded),
///   `rpc.service` and `rpc.method`;
/// - `rpc.grpc.status_code`, the code the call ended with (as a number), recorded when the
///   response is finished: at once for unary calls, at the trailers for streams;
/// - on HTTP/JSON calls, `http.request.method`, `http.route` (the matched template, such as
///   `/v1/{name=orders/*}`) and `http.response.status_code`;
/// - `server.address` and `server.port` (from `:authority` or `Host`, else the local address),
///   `client.address` and `client.port` (the peer of the connection);
/// - `otel.status_code` = `ERROR` for the server's own failures: the codes UNKNOWN,
///   DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE and DATA_LOSS, or an HTTP status of
///   500 and above. A client's mistake (INVALID_ARGUMENT, NOT_FOUND, a 4xx) is no error of the
///   server's.
///
/// The span is a root in `tracing`: with the `otel` feature its parent is the caller's span from
/// the `traceparent` and `tracestate` headers (gRPC metadata), so the call continues its
/// caller's trace. The handler runs inside the span, and so does the reading of a streamed
/// response's body, so the handler's events and spans (and calls it makes through `dial()`
/// channels) are the call's children. A response of one message (every HTTP/JSON answer but a
/// stream, and a unary gRPC method's when the server is given its descriptor set) is read
/// outside the span: reading it runs no handler code.
///
/// ```no_run
/// # async fn run(routes: axum::Router) -> Result<(), rs_svc::serve::Error> {
/// use rs_svc::serve::Server;
/// use rs_svc::telemetry::TraceLayer;
///
/// Server::builder()
///     .layer(TraceLayer::new())
///     .http(routes)
///     .build()?
///     .serve()
///     .await
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceLayer {
    _private: (),
}

impl TraceLayer {
    /// The layer; it has no settings (filter its spans in the subscriber, by the target
    /// `rs_svc::telemetry` and level INFO).
    pub fn new() -> Self {
        TraceLayer::default()
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;

    fn layer(&self, inner: S) -> Trace<S> {
        Trace { inner }
    }
}

/// The service [`TraceLayer`] makes: traces each call, then hands it to the rest of the stack.
#[derive(Clone, Debug)]
pub struct Trace<S> {
    inner: S,
}

impl<S, B> Service<http::Request<Body>> for Trace<S>
where
    S: Service<http::Request<Body>, Response = http::Response<B>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let (span, transport) = call_span(&request);
        // Reading the body of a response of one message (a unary gRPC method's, or a body of
        // known length: an HTTP/JSON answer written in full) runs no handler code, and needs
        // no span around it; a stream's runs the handler's stream.
        let one_message = request
            .extensions()
            .get::<CallInfo>()
            .is_some_and(CallInfo::answers_one_message);
        trace_context::set_parent(&span, request.headers());
        let call = span.in_scope(|| self.inner.call(request));
        let in_span = span.clone();
        Box::pin(
            async move {
                let response = call.await?;
                if in_span.is_disabled() {
                    return Ok(response.map(Body::new));
                }
                let response = response.map(|body| {
                    if one_message || body.size_hint().exact().is_some() {
                        Body::new(body)
                    } else {
                        Body::new(InSpan::new(Body::new(body), in_span.clone()))
                    }
                });
                Ok(on_complete(transport, response, move |outcome| {
                    record_outcome(&in_span, transport, outcome)
                }))
            }
            .instrument(span),
        )
    }
}

/// The span of a call, with what is known before it runs: every field at once, so that a
/// subscriber (tracing-opentelemetry, say) visits them in one pass rather than one per field.
fn call_span(request: &http::Request<Body>) -> (Span, Transport) {
    let info = request.extensions().get::<CallInfo>();
    let transport = match info {
        Some(info) => info.transport(),
        None => guess_transport(request),
    };
    if !tracing::enabled!(target: "rs_svc::telemetry", tracing::Level::INFO) {
        return (Span::none(), transport);
    }
    let known = match info {
        Some(info) => info
            .is_known()
            .then(|| (info.method(), info.service(), info.method_name())),
        None => {
            let path = request.uri().path();
            trace_context::split_method(path)
                .map(|(service, method)| (path.trim_start_matches('/'), service, method))
        }
    };
    let (name, service, method) = known.unwrap_or(("_OTHER", "", "_OTHER"));
    let http = info.filter(|_| transport == Transport::Http);
    let local = info.and_then(CallInfo::local);
    let (server_address, server_port) = match server_authority(request) {
        Some((host, port)) => (Some(Address::Host(host)), port.or(local.map(|a| a.port()))),
        None => (local.map(|a| Address::Ip(a.ip())), local.map(|a| a.port())),
    };
    let peer = info.and_then(CallInfo::peer);
    let span = tracing::info_span!(
        target: "rs_svc::telemetry",
        parent: None,
        "rpc.server",
        otel.name = name,
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = (!service.is_empty()).then_some(service),
        rpc.method = method,
        rpc.grpc.status_code = Empty,
        http.request.method = http.and_then(CallInfo::http_method).map(http::Method::as_str),
        http.route = http.and_then(CallInfo::http_route),
        http.response.status_code = Empty,
        server.address = server_address.map(tracing::field::display),
        server.port = server_port.map(i64::from),
        client.address = peer.map(|peer| tracing::field::display(peer.ip())),
        client.port = peer.map(|peer| i64::from(peer.port())),
        otel.status_code = Empty,
    );
    (span, transport)
}

/// `server.address`: the name the client used, else the server's own IP address.
enum Address<'a> {
    Host(&'a str),
    Ip(std::net::IpAddr),
}

impl std::fmt::Display for Address<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Host(host) => f.write_str(host),
            Address::Ip(ip) => ip.fmt(f),
        }
    }
}

/// The server's name as the client addressed it, and the port if it says: HTTP/2's
/// `:authority`, else `Host` (`[::1]` comes without its brackets).
fn server_authority(request: &http::Request<Body>) -> Option<(&str, Option<u16>)> {
    let authority = match request.uri().authority() {
        Some(authority) => authority.as_str(),
        None => request.headers().get(http::header::HOST)?.to_str().ok()?,
    };
    // Any `user@` is not part of the name. (Byte scans: names are short, and `rsplit_once`
    // costs more in setting up its search than in searching them.)
    let at = authority.bytes().rposition(|b| b == b'@');
    let authority = at.map_or(authority, |at| &authority[at + 1..]);
    let (host, port) = match authority.bytes().rposition(|b| b == b':') {
        // A colon inside brackets is an IPv6 address's, not a port's.
        Some(colon) if !authority.as_bytes()[colon..].contains(&b']') => {
            (&authority[..colon], authority[colon + 1..].parse().ok())
        }
        _ => (authority, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then_some((host, port))
}

/// Outside the server's stack (no [`CallInfo`]), a call is gRPC when its content type says so.
fn guess_transport(request: &http::Request<Body>) -> Transport {
    let grpc = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    if grpc {
        Transport::Grpc
    } else {
        Transport::Http
    }
}

fn record_outcome(span: &Span, transport: Transport, outcome: Outcome) {
    // Every call's span comes from the one callsite in `call_span`, so its fields are found by
    // name once, not at every call.
    static FIELDS: std::sync::OnceLock<Option<[tracing::field::Field; 3]>> =
        std::sync::OnceLock::new();
    let Some(metadata) = span.metadata() else {
        return;
    };
    let fields = FIELDS.get_or_init(|| {
        let field = |name| metadata.fields().field(name);
        Some([
            field("rpc.grpc.status_code")?,
            field("http.response.status_code")?,
            field("otel.status_code")?,
        ])
    });
    let Some([code, http_status, otel_status]) = fields else {
        return;
    };
    span.record(code, outcome.code as i64);
    if transport == Transport::Http {
        span.record(http_status, i64::from(outcome.http_status.as_u16()));
    }
    if server_error(transport, outcome) {
        span.record(otel_status, "ERROR");
    }
}

/// Whether a call failed by the server's fault, as the OpenTelemetry conventions count it for
/// server spans: gRPC's server-side codes, and on HTTP also any 5xx.
fn server_error(transport: Transport, outcome: Outcome) -> bool {
    let code = matches!(
        outcome.code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    );
    code || (transport == Transport::Http && outcome.http_status.is_server_error())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn only_the_servers_own_failures_are_span_errors() {
        let cases = [
            (Transport::Grpc, Code::Ok, StatusCode::OK, false),
            (
                Transport::Grpc,
                Code::InvalidArgument,
                StatusCode::OK,
                false,
            ),
            (Transport::Grpc, Code::NotFound, StatusCode::OK, false),
            (
                Transport::Grpc,
                Code::Unauthenticated,
                StatusCode::OK,
                false,
            ),
            (Transport::Grpc, Code::Cancelled, StatusCode::OK, false),
            (
                Transport::Grpc,
                Code::ResourceExhausted,
                StatusCode::OK,
                false,
            ),
            (Transport::Grpc, Code::Unknown, StatusCode::OK, true),
            (
                Transport::Grpc,
                Code::DeadlineExceeded,
                StatusCode::OK,
                true,
            ),
            (Transport::Grpc, Code::Unimplemented, StatusCode::OK, true),
            (Transport::Grpc, Code::Internal, StatusCode::OK, true),
            (Transport::Grpc, Code::Unavailable, StatusCode::OK, true),
            (Transport::Grpc, Code::DataLoss, StatusCode::OK, true),
            (
                Transport::Http,
                Code::NotFound,
                StatusCode::NOT_FOUND,
                false,
            ),
            (
                Transport::Http,
                Code::InvalidArgument,
                StatusCode::BAD_REQUEST,
                false,
            ),
            (
                Transport::Http,
                Code::Internal,
                StatusCode::INTERNAL_SERVER_ERROR,
                true,
            ),
            (Transport::Http, Code::Ok, StatusCode::BAD_GATEWAY, true),
        ];
        for (transport, code, http_status, want) in cases {
            let outcome = Outcome { code, http_status };
            assert_eq!(
                server_error(transport, outcome),
                want,
                "{transport:?} {code:?} {http_status}"
            );
        }
    }

    #[test]
    fn server_authority_is_the_h2_authority_else_the_host_header() {
        let request = |uri: &str, host: Option<&str>| {
            let mut builder = http::Request::builder().uri(uri);
            if let Some(host) = host {
                builder = builder.header(http::header::HOST, host);
            }
            builder.body(Body::empty()).unwrap()
        };
        let cases = [
            (
                request("http://shop.example:8443/x", None),
                Some(("shop.example", Some(8443))),
            ),
            (
                request("/x", Some("shop.example")),
                Some(("shop.example", None)),
            ),
            (
                request("http://[::1]:80/x", Some("other")),
                Some(("::1", Some(80))),
            ),
            (
                request("/x", Some("[2001:db8::1]")),
                Some(("2001:db8::1", None)),
            ),
            (
                request("/x", Some("[2001:db8::1]:9")),
                Some(("2001:db8::1", Some(9))),
            ),
            (
                request("http://ann@shop.example/x", None),
                Some(("shop.example", None)),
            ),
            (
                request("/x", Some("shop.example:port")),
                Some(("shop.example", None)),
            ),
            (request("/x", None), None),
        ];
        for (request, want) in cases {
            assert_eq!(server_authority(&request), want, "{request:?}");
        }
    }

    #[test]
    fn without_call_info_the_transport_comes_from_the_content_type() {
        let request = |content_type: &str| {
            http::Request::builder()
                .header(http::header::CONTENT_TYPE, content_type)
                .body(Body::empty())
                .unwrap()
        };
        assert_eq!(
            guess_transport(&request("application/grpc+proto")),
            Transport::Grpc
        );
        assert_eq!(
            guess_transport(&request("application/json")),
            Transport::Http
        );
    }
}
