//! A panic in a gRPC handler, while it answers or while its response stream is read, becomes
//! INTERNAL for that call alone; the server goes on (docs/reference.md section 7). The HTTP/JSON
//! routes guard their handlers themselves.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Frame;
use tower::{Layer, Service};

use crate::http::log_panic;

/// What the client reads: the panic's own message stays in the server's log.
const MESSAGE: &str = "the handler failed";

/// Guards every gRPC route.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct RecoverLayer;

impl<S> Layer<S> for RecoverLayer {
    type Service = Recover<S>;

    fn layer(&self, inner: S) -> Recover<S> {
        Recover(inner)
    }
}

#[derive(Clone, Debug)]
pub(super) struct Recover<S>(S);

impl<S, B> Service<Request<B>> for Recover<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Recovering<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let path = request.uri().path_and_query().cloned();
        Recovering {
            inner: self.0.call(request),
            path,
        }
    }
}

pin_project_lite::pin_project! {
    /// The route's future, a panic of which is the call's INTERNAL answer.
    pub(super) struct Recovering<F> {
        #[pin]
        inner: F,
        path: Option<PathAndQuery>,
    }
}

impl<F, E> Future for Recovering<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(Ok(response))) => {
                Poll::Ready(Ok(guard_body(response, this.path.take())))
            }
            Ok(Poll::Ready(Err(error))) => Poll::Ready(Err(error)),
            Err(panic) => {
                log_panic(method(this.path.as_ref()), &*panic);
                Poll::Ready(Ok(tonic::Status::internal(MESSAGE).into_http()))
            }
        }
    }
}

fn method(path: Option<&PathAndQuery>) -> &str {
    path.map_or("", |path| path.path().trim_start_matches('/'))
}

/// A trailers-only answer has nothing left to guard; a streamed one is read through
/// [`Guarded`].
fn guard_body(response: Response<Body>, path: Option<PathAndQuery>) -> Response<Body> {
    if response
        .headers()
        .contains_key(crate::http::call::GRPC_STATUS)
    {
        return response;
    }
    response.map(|inner| {
        Body::new(Guarded {
            inner,
            path,
            failed: false,
        })
    })
}

/// A response body whose panic while reading ends the stream with INTERNAL trailers.
struct Guarded {
    inner: Body,
    path: Option<PathAndQuery>,
    /// The body panicked and its trailers went out: it is over.
    failed: bool,
}

impl http_body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        let inner = Pin::new(&mut this.inner);
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll_frame(cx))) {
            Ok(poll) => poll,
            Err(panic) => {
                log_panic(method(this.path.as_ref()), &*panic);
                this.failed = true;
                let mut trailers = HeaderMap::new();
                trailers.insert(
                    "grpc-status",
                    HeaderValue::from(tonic::Code::Internal as i32),
                );
                trailers.insert("grpc-message", HeaderValue::from_static(MESSAGE));
                Poll::Ready(Some(Ok(Frame::trailers(trailers))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
