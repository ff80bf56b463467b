//! Recording a dialed channel's calls in [`Metrics`] (turned on by `Options::metrics`).
//!
//! A call ends when its status is known: at once for a trailers-only response (`grpc-status`
//! in the head, as every error and open-circuit answer of this module is), else when the
//! response body's trailers pass. A caller that drops the call before then makes it
//! `CANCELLED`, and one that got no response at all (no connection) `UNAVAILABLE`.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tonic::body::Body;
use tonic::Code;

use super::call::grpc_status;
use crate::metrics::{Call, CircuitGauges, Metrics};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a channel records into, when asked to.
pub(crate) struct Metered {
    pub metrics: Metrics,
    /// The circuit state series, when the channel has a circuit breaker.
    pub circuit: Option<CircuitGauges>,
}

/// Finishes `call` with the status of `result`, now or when the body's trailers pass.
pub(crate) fn finish(
    call: Call,
    result: Result<http::Response<Body>, BoxError>,
) -> Result<http::Response<Body>, BoxError> {
    let response = match result {
        Ok(response) => response,
        Err(error) => {
            call.finish(Code::Unavailable);
            return Err(error);
        }
    };
    if let Some(code) = grpc_status(response.headers()) {
        call.finish(code);
        return Ok(response);
    }
    if http_body::Body::is_end_stream(response.body()) {
        // No status in the head and nothing to come: tonic reports a missing status.
        call.finish(Code::Unknown);
        return Ok(response);
    }
    Ok(response.map(|inner| {
        Body::new(Observed {
            inner,
            call: Some(call),
        })
    }))
}

/// A response body that finishes its call when the trailers (or the end, or an error) pass.
struct Observed {
    inner: Body,
    call: Option<Call>,
}

impl Observed {
    fn finish(&mut self, code: Code) {
        if let Some(call) = self.call.take() {
            call.finish(code);
        }
    }
}

impl http_body::Body for Observed {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    self.finish(grpc_status(trailers).unwrap_or(Code::Unknown));
                }
            }
            Poll::Ready(Some(Err(status))) => self.finish(status.code()),
            // The end without trailers: no status was sent.
            Poll::Ready(None) => self.finish(Code::Unknown),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
