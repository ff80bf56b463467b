//! The server side: a layer of the serve stack that counts every call on both transports.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tonic::Code;
use tower::{Layer, Service};

use super::{Call, Metrics, Which, OTHER_METHOD};
use crate::serve::{on_complete, CallInfo};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Metrics {
    /// Starts counting a call the server received: `rpc_server_calls_in_flight` goes up now,
    /// and [`Call::finish`] records its duration and code (dropped unfinished, `CANCELLED`).
    /// [`Metrics::layer`] does this for every call of the serve stack.
    pub fn server_call(&self, info: &CallInfo) -> Call {
        let method = if info.is_known() {
            Cow::Owned(info.method().to_owned())
        } else {
            Cow::Borrowed(OTHER_METHOD)
        };
        self.start(Which::Server, method, info.transport().as_str())
    }

    /// The layer that records every call of the serve stack it wraps, gRPC and HTTP/JSON
    /// alike, from the [`CallInfo`] the stack puts in each request: add it with the serve
    /// builder's `layer`.
    pub fn layer(&self) -> MetricsLayer {
        MetricsLayer {
            metrics: self.clone(),
        }
    }
}

/// Records the calls of the service it wraps in [`Metrics`]; made by [`Metrics::layer`].
#[derive(Clone, Debug)]
pub struct MetricsLayer {
    metrics: Metrics,
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service of a [`MetricsLayer`].
#[derive(Clone, Debug)]
pub struct MetricsService<S> {
    inner: S,
    metrics: Metrics,
}

impl<S, B> Service<http::Request<axum::body::Body>> for MetricsService<S>
where
    S: Service<http::Request<axum::body::Body>, Response = http::Response<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<axum::body::Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<axum::body::Body>) -> Self::Future {
        // The stack sets CallInfo on every call; without it (a request from elsewhere) there
        // is nothing to label the call with.
        let started = request
            .extensions()
            .get::<CallInfo>()
            .map(|info| (info.transport(), self.metrics.server_call(info)));
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            let Some((transport, call)) = started else {
                return result
                    .map(|response| response.map(axum::body::Body::new))
                    .map_err(Into::into);
            };
            match result {
                Ok(response) => Ok(on_complete(
                    transport,
                    response.map(axum::body::Body::new),
                    move |outcome| call.finish(outcome.code),
                )),
                Err(error) => {
                    let error: BoxError = error.into();
                    call.finish(error_code(&*error));
                    Err(error)
                }
            }
        })
    }
}

/// The code an error of the stack is answered with: the `Status` it carries, else UNKNOWN.
fn error_code(error: &(dyn std::error::Error + 'static)) -> Code {
    std::iter::successors(Some(error), |e| e.source())
        .find_map(|e| e.downcast_ref::<tonic::Status>())
        .map_or(Code::Unknown, tonic::Status::code)
}
