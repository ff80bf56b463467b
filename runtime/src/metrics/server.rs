//! The server side: a layer of the serve stack that counts every call on both transports.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use tower::{BoxError, Layer, Service, ServiceExt as _};

use super::{Call, Metrics, Which, OTHER_METHOD};
use crate::http::call::{error_status, on_complete, status_response, CallInfo, Transport};

impl Metrics {
    /// Starts counting a call the server received: `rpc_server_calls_in_flight` goes up now,
    /// and [`Call::finish`] records its duration and code (dropped unfinished, `CANCELLED`).
    /// A call to a service the server does not serve is labelled `_OTHER`. [`Metrics::layer`]
    /// does this for every call of the serve stack.
    pub fn server_call(&self, info: &CallInfo) -> Call {
        let method = if info.is_known() {
            info.method()
        } else {
            OTHER_METHOD
        };
        self.start(Which::Server, method, info.transport().as_str())
    }

    /// The layer that records every call of the serve stack it is part of, gRPC and HTTP/JSON
    /// alike, from the [`CallInfo`] the stack puts in each request. The serve builder's
    /// `metrics` adds it outside every other layer; added with `layer` instead, it counts
    /// what reaches it.
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

impl<S, B> Service<http::Request<Body>> for MetricsService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Readiness is awaited per call below, so that the time a call waits for the layers
        // inside counts, and an error there is answered (and counted) like the stack does.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The stack puts CallInfo in every call; without it (a request from elsewhere) there
        // is nothing to label the call with, and it passes uncounted.
        let info = request.extensions().get::<CallInfo>();
        let transport = info.map_or(Transport::Http, CallInfo::transport);
        let call = info.map(|info| self.metrics.server_call(info));
        let inner = self.inner.clone();
        Box::pin(async move {
            // A layer's error gets the answer the stack would give it, so its code is known.
            let response = match inner.oneshot(request).await {
                Ok(response) => response.map(Body::new),
                Err(error) => status_response(transport, error_status(error.into())),
            };
            Ok(match call {
                Some(call) => on_complete(transport, response, move |outcome| {
                    call.finish(outcome.code)
                }),
                None => response,
            })
        })
    }
}
