//! The access log: one structured `tracing` event per call, at target `rs_svc::access`
//! (docs/reference.md section 7).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use http::{Request, Response};
use tower::{Layer, Service, ServiceExt as _};

use super::{on_complete, CallInfo, Next, Transport};

/// The log's `tracing` target: filter on it (`RUST_LOG=rs_svc::access=info`) or route it.
pub const TARGET: &str = "rs_svc::access";

#[derive(Clone, Copy, Debug)]
pub(super) struct AccessLogLayer;

impl Layer<Next> for AccessLogLayer {
    type Service = AccessLog;

    fn layer(&self, next: Next) -> AccessLog {
        AccessLog(next)
    }
}

#[derive(Clone, Debug)]
pub(super) struct AccessLog(Next);

impl Service<Request<Body>> for AccessLog {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let started = Instant::now();
        let info = request.extensions().get::<CallInfo>().cloned();
        let trace_id = request
            .headers()
            .get("traceparent")
            .and_then(|value| trace_id(value.as_bytes()))
            .map(str::to_owned);
        let next = self.0.clone();
        Box::pin(async move {
            let response = next.oneshot(request).await?;
            let Some(info) = info else {
                return Ok(response);
            };
            Ok(on_complete(info.transport(), response, move |outcome| {
                let duration = started.elapsed();
                tracing::event!(
                    target: TARGET,
                    tracing::Level::INFO,
                    rpc.method = info.method(),
                    transport = info.transport().as_str(),
                    grpc_web = info.is_grpc_web().then_some(true),
                    connect = info.is_connect().then_some(true),
                    websocket = info.is_websocket().then_some(true),
                    rpc.grpc.status_code = outcome.code as i32,
                    code = ?outcome.code,
                    http.response.status_code = (info.transport() == Transport::Http)
                        .then_some(outcome.http_status.as_u16()),
                    http.route = info.http_route(),
                    duration_ms = duration.as_secs_f64() * 1e3,
                    client.address = info.peer().map(|peer| tracing::field::display(peer.ip())),
                    trace_id = trace_id.as_deref(),
                    "call"
                );
            }))
        })
    }
}

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), unless it is
/// malformed or all zeros.
fn trace_id(traceparent: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(traceparent).ok()?;
    let mut parts = text.trim().split('-');
    let (_version, id) = (parts.next()?, parts.next()?);
    let valid = id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && id.bytes().any(|b| b != b'0');
    valid.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::trace_id;

    #[test]
    fn the_trace_id_is_read_from_a_well_formed_traceparent_only() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let cases: [(&str, Option<&str>); 5] = [
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                Some(id),
            ),
            (
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                None,
            ),
            (
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                None,
            ),
            ("00-4bf92f35-00f067aa0ba902b7-01", None),
            ("garbage", None),
        ];
        for (header, expected) in cases {
            assert_eq!(trace_id(header.as_bytes()), expected, "{header}");
        }
    }
}
