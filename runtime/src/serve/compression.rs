//! Compression of the HTTP port's answers and requests (docs/reference.md section 12), set with
//! [`Builder::compression`](super::Builder::compression).
//!
//! - Responses are compressed by tower-http when the request's `Accept-Encoding` takes gzip, br or
//!   zstd (q-values honoured): a response of known length (every unary answer) when it is at
//!   least [`Compression::min_size`] bytes, a stream (NDJSON, SSE, an `HttpBody` stream: any
//!   body of unknown length) whatever its size.
//! - A stream stays flushed per message: the encoder flushes whenever the body it reads has
//!   nothing ready (async-compression 0.4.31 and later, the version `Cargo.toml` asks for), so
//!   a message is on the wire, decodable, before the handler produces the next. (Before that
//!   version the encoder held data back until its buffer filled, which is why tower-http's
//!   default predicate skips `text/event-stream`; ours does not.)
//! - A request body with `Content-Encoding` gzip, deflate, br or zstd is decompressed (tower-http)
//!   before the route reads it, so that the route's body limit counts decompressed bytes: a
//!   compression bomb is a 413 like any other oversized body. Another encoding is a 415, a corrupt
//!   body a 400, both as `google.rpc.Status` JSON.
//!
//! gRPC requests never pass here: gRPC compresses its messages itself (tonic's
//! `accept_compressed` / `send_compressed` on the generated servers).

use axum::extract::Request;
use axum::middleware::{from_fn, Next};
use axum::response::Response;
use axum::Router;
use http::{header, StatusCode};
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;

use crate::http::HttpError;

/// What the HTTP port compresses (docs/reference.md section 12). On by default, with
/// [`Compression::DEFAULT_MIN_SIZE`].
///
/// ```
/// use rs_svc::serve::{Compression, Server};
///
/// // Compress answers of 4 KiB and more (streams are compressed whatever their size).
/// let builder = Server::builder().compression(Compression::default().min_size(4096));
/// // Or neither compress answers nor decompress requests.
/// let plain = Server::builder().compression(Compression::off());
/// # let _ = (builder, plain);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compression {
    on: bool,
    min_size: u16,
}

impl Default for Compression {
    fn default() -> Self {
        Compression {
            on: true,
            min_size: Self::DEFAULT_MIN_SIZE,
        }
    }
}

impl Compression {
    /// The smallest response compressed unless set otherwise: 1 KiB. A smaller JSON answer fits
    /// in one TCP segment either way, so compressing it saves no packet and costs CPU and the
    /// `Content-Length` (a compressed answer is sent chunked).
    pub const DEFAULT_MIN_SIZE: u16 = 1024;

    /// No compression: answers go out as they are, and a request body with a
    /// `Content-Encoding` reaches the route still encoded (the route refuses it as non-JSON).
    pub fn off() -> Self {
        Compression {
            on: false,
            min_size: Self::DEFAULT_MIN_SIZE,
        }
    }

    /// Compresses responses of known length from `bytes` up (default
    /// [`Compression::DEFAULT_MIN_SIZE`]). Streams have no known length and are compressed
    /// whatever their size.
    pub fn min_size(mut self, bytes: u16) -> Self {
        self.min_size = bytes;
        self
    }

    /// Wraps the HTTP routes (all of them: generated, the user's, `/metrics`).
    pub(super) fn wrap(&self, router: Router) -> Router {
        if !self.on {
            return router;
        }
        // SizeAbove passes bodies of unknown length: streams are compressed whatever their size.
        let worth_it = SizeAbove::new(self.min_size)
            .and(NotForContentType::GRPC)
            .and(NotForContentType::IMAGES);
        // The first layer is the innermost.
        router
            .layer(RequestDecompressionLayer::new())
            .layer(CompressionLayer::new().no_deflate().compress_when(worth_it))
            .layer(from_fn(unknown_encoding_as_status))
    }
}

/// A request's `Content-Encoding` goes to tower-http trimmed and in lower case (coding names are
/// case-insensitive; tower-http compares bytes), and tower-http's refusal of an encoding it does
/// not decode (a bare 415 with `Accept-Encoding`) becomes a `google.rpc.Status` 415, like the
/// routes' other errors.
async fn unknown_encoding_as_status(mut request: Request, next: Next) -> Response {
    let encoding = request.headers().get(header::CONTENT_ENCODING).cloned();
    if let Some(sent) = &encoding {
        let normal = sent.as_bytes().trim_ascii().to_ascii_lowercase();
        if normal != sent.as_bytes() {
            if let Ok(normal) = http::HeaderValue::from_bytes(&normal) {
                request
                    .headers_mut()
                    .insert(header::CONTENT_ENCODING, normal);
            }
        }
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::UNSUPPORTED_MEDIA_TYPE
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let encoding = encoding
        .as_ref()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let accepted = response.headers().get(header::ACCEPT_ENCODING).cloned();
    let mut refused = HttpError {
        http: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        status: tonic::Status::invalid_argument(format!(
            "the request body's Content-Encoding `{encoding}` is not supported \
             (gzip, deflate, br, zstd or identity)"
        )),
    }
    .into_response();
    if let Some(accepted) = accepted {
        refused
            .headers_mut()
            .insert(header::ACCEPT_ENCODING, accepted);
    }
    refused
}
