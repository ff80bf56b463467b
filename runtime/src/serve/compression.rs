//! Compression of the HTTP port's answers and requests (docs/reference.md section 11), set with
//! [`Builder::compression`](super::Builder::compression).
//!
//! - A response of known length (every unary answer) is compressed whole by tower-http when it is
//!   at least [`Compression::min_size`] bytes and the request's `Accept-Encoding` takes gzip, br or
//!   zstd (q-values honoured).
//! - A stream (NDJSON, SSE, or any other body of unknown length, such as an `HttpBody` stream) is
//!   compressed here, message by message: each chunk the handler yields is flushed through the
//!   encoder, so that the client can decode it before the next one exists. tower-http's encoder
//!   holds chunks back until its buffer fills, which would stall a stream of small messages.
//! - A request body with `Content-Encoding` gzip, deflate, br or zstd is decompressed (tower-http)
//!   before the route reads it, so that the route's body limit counts decompressed bytes: a
//!   compression bomb is a 413 like any other oversized body. Another encoding is a 415, a corrupt
//!   body a 400, both as `google.rpc.Status` JSON.
//!
//! gRPC requests never pass here: gRPC compresses its messages itself (tonic's
//! `accept_compressed` / `send_compressed` on the generated servers).

use std::io::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::{from_fn, Next};
use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use http_body::Frame;
use tower::BoxError;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;

use crate::http::HttpError;

/// What the HTTP port compresses (docs/reference.md section 11). On by default, with
/// [`Compression::DEFAULT_MIN_SIZE`].
///
/// ```
/// use rs_svc::serve::{Compression, Server};
///
/// // Compress answers of 4 KiB and more; streams are always compressed when asked.
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
        let whole = SizeAbove::new(self.min_size)
            .and(NotForContentType::GRPC)
            .and(NotForContentType::IMAGES)
            .and(NotForContentType::SSE)
            .and(NotForContentType::const_new(NDJSON));
        // The first layer is the innermost.
        router
            .layer(RequestDecompressionLayer::new())
            .layer(from_fn(compress_stream))
            .layer(CompressionLayer::new().no_deflate().compress_when(whole))
            .layer(from_fn(unknown_encoding_as_status))
    }
}

const NDJSON: &str = "application/x-ndjson";

/// tower-http's refusal of a request body in an encoding it does not decode (a bare 415 with
/// `Accept-Encoding`) becomes a `google.rpc.Status` 415, like the routes' other errors.
async fn unknown_encoding_as_status(request: Request, next: Next) -> Response {
    let encoding = request.headers().get(header::CONTENT_ENCODING).cloned();
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
        refused.headers_mut().insert(header::ACCEPT_ENCODING, accepted);
    }
    refused
}

/// Compresses a streamed response chunk by chunk, each chunk flushed (see the module docs).
async fn compress_stream(request: Request, next: Next) -> Response {
    let encoding = Encoding::preferred(request.headers());
    let response = next.run(request).await;
    if !is_stream(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    vary_on_accept_encoding(&mut parts.headers);
    let Some(encoder) = encoding.and_then(Encoder::new) else {
        return Response::from_parts(parts, body);
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::ACCEPT_RANGES);
    parts
        .headers
        .insert(header::CONTENT_ENCODING, encoder.encoding().header());
    let body = Flushed {
        inner: body,
        encoder: Some(encoder),
        trailers: None,
    };
    Response::from_parts(parts, Body::new(body))
}

/// Whether `response` is a stream this layer compresses: NDJSON, SSE, or a body of unknown
/// length, unless it is gRPC, an image, already encoded, a range or has no body.
fn is_stream(response: &Response) -> bool {
    use http_body::Body as _;
    let headers = response.headers();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let streamed_type =
        content_type.starts_with(NDJSON) || content_type.starts_with("text/event-stream");
    let unknown_length = response.body().size_hint().exact().is_none()
        && !headers.contains_key(header::CONTENT_LENGTH);
    let excluded = content_type.starts_with("application/grpc")
        || (content_type.starts_with("image/") && !content_type.starts_with("image/svg+xml"))
        || headers.contains_key(header::CONTENT_ENCODING)
        || headers.contains_key(header::CONTENT_RANGE)
        || response.status().is_informational()
        || matches!(
            response.status(),
            StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED
        );
    (streamed_type || unknown_length) && !excluded
}

/// Adds `Vary: accept-encoding` unless a `Vary` already names it.
fn vary_on_accept_encoding(headers: &mut HeaderMap) {
    let named = headers.get_all(header::VARY).iter().any(|value| {
        value.to_str().is_ok_and(|value| {
            value
                .split(',')
                .any(|name| name.trim().eq_ignore_ascii_case("accept-encoding") || name == "*")
        })
    });
    if !named {
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
}

/// A response encoding a stream can be sent in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Encoding {
    // Least to most preferred when the client weighs two alike, as tower-http prefers them, so
    // that a stream and a whole answer to the same client get the same encoding.
    Identity,
    Gzip,
    Brotli,
    Zstd,
}

impl Encoding {
    /// The encoding `Accept-Encoding` prefers: the highest q-value above zero, ties going to the
    /// better compression; `None` for none (unknown codings and `*` are ignored, and a q-value
    /// that does not parse drops its coding, as tower-http does).
    fn preferred(headers: &HeaderMap) -> Option<Encoding> {
        headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|item| {
                let mut parts = item.splitn(2, ';');
                let name = parts.next().unwrap_or("").trim();
                let encoding = match name.to_ascii_lowercase().as_str() {
                    "gzip" | "x-gzip" => Encoding::Gzip,
                    "br" => Encoding::Brotli,
                    "zstd" => Encoding::Zstd,
                    "identity" => Encoding::Identity,
                    _ => return None,
                };
                let q = match parts.next() {
                    Some(param) => q_value(param.trim())?,
                    None => 1000,
                };
                Some((q, encoding))
            })
            .filter(|&(q, _)| q > 0)
            .max()
            .map(|(_, encoding)| encoding)
            .filter(|&encoding| encoding != Encoding::Identity)
    }

    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
            Encoding::Brotli => "br",
            Encoding::Zstd => "zstd",
        })
    }
}

/// An RFC 9110 q-value (`q=0.5`) in thousandths; `None` when malformed.
fn q_value(param: &str) -> Option<u16> {
    let value = param
        .strip_prefix("q=")
        .or_else(|| param.strip_prefix("Q="))?;
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = match whole {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let fraction = format!("{fraction:0<3}").parse::<u16>().ok()?;
    let q = whole + fraction;
    (q <= 1000).then_some(q)
}

/// A streaming encoder whose output is flushed after every chunk.
enum Encoder {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl Encoder {
    /// The encoder for `encoding`, at the levels tower-http uses for whole answers (gzip 6,
    /// brotli 4, zstd 3); `None` for identity, or if zstd cannot allocate its context.
    fn new(encoding: Encoding) -> Option<Encoder> {
        Some(match encoding {
            Encoding::Identity => return None,
            Encoding::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::default(),
            )),
            Encoding::Brotli => {
                Encoder::Brotli(Box::new(brotli::CompressorWriter::new(Vec::new(), 4096, 4, 22)))
            }
            Encoding::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(Vec::new(), 3).ok()?),
        })
    }

    fn encoding(&self) -> Encoding {
        match self {
            Encoder::Gzip(_) => Encoding::Gzip,
            Encoder::Brotli(_) => Encoding::Brotli,
            Encoder::Zstd(_) => Encoding::Zstd,
        }
    }

    /// Compresses `chunk` and flushes: the bytes returned decode to everything written so far.
    fn chunk(&mut self, chunk: &[u8]) -> std::io::Result<Bytes> {
        let out = match self {
            Encoder::Gzip(w) => {
                w.write_all(chunk)?;
                w.flush()?;
                w.get_mut()
            }
            Encoder::Brotli(w) => {
                w.write_all(chunk)?;
                w.flush()?;
                w.get_mut()
            }
            Encoder::Zstd(w) => {
                w.write_all(chunk)?;
                w.flush()?;
                w.get_mut()
            }
        };
        Ok(Bytes::from(std::mem::take(out)))
    }

    /// Ends the stream: the bytes that remain (a trailer, an end marker).
    fn finish(self) -> std::io::Result<Bytes> {
        let out = match self {
            Encoder::Gzip(w) => w.finish()?,
            Encoder::Brotli(w) => w.into_inner(),
            Encoder::Zstd(w) => w.finish()?,
        };
        Ok(Bytes::from(out))
    }
}

pin_project_lite::pin_project! {
    /// A body compressed chunk by chunk, each chunk flushed; trailers pass after the end of the
    /// compressed stream.
    struct Flushed {
        #[pin]
        inner: Body,
        encoder: Option<Encoder>,
        trailers: Option<HeaderMap>,
    }
}

impl http_body::Body for Flushed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        loop {
            let Some(encoder) = this.encoder.as_mut() else {
                return Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))));
            };
            let frame = match std::task::ready!(this.inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => frame,
                Some(Err(error)) => return Poll::Ready(Some(Err(error.into()))),
                None => {
                    let end = this.encoder.take().map_or(Ok(Bytes::new()), Encoder::finish);
                    return Poll::Ready(Some(end.map(Frame::data).map_err(Into::into)));
                }
            };
            match frame.into_data() {
                Ok(data) => {
                    let compressed = encoder.chunk(&data)?;
                    if !compressed.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(compressed))));
                    }
                }
                Err(frame) => {
                    // Trailers end the body: the compressed stream ends first.
                    *this.trailers = frame.into_trailers().ok();
                    let end = this.encoder.take().map_or(Ok(Bytes::new()), Encoder::finish);
                    return Poll::Ready(Some(end.map(Frame::data).map_err(Into::into)));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.encoder.is_none() && self.trailers.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_picks_the_highest_q_value_then_the_better_compression() {
        let cases: &[(&[&str], Option<Encoding>)] = &[
            (&[], None),
            (&[""], None),
            (&["identity"], None),
            (&["*"], None),
            (&["deflate"], None),
            (&["gzip"], Some(Encoding::Gzip)),
            (&["x-gzip"], Some(Encoding::Gzip)),
            (&["GZIP"], Some(Encoding::Gzip)),
            (&["gzip, deflate, br"], Some(Encoding::Brotli)),
            (&["gzip, deflate, br, zstd"], Some(Encoding::Zstd)),
            (&["gzip", "br"], Some(Encoding::Brotli)),
            (&["gzip;q=0.5, br;q=0.8"], Some(Encoding::Brotli)),
            (&["gzip;q=0.8, br;q=0.5"], Some(Encoding::Gzip)),
            (&["zstd;q=0, gzip"], Some(Encoding::Gzip)),
            (&["gzip;q=0"], None),
            (&["gzip;q=0.001"], Some(Encoding::Gzip)),
            (&["identity, gzip;q=0.5"], None),
            (&["identity;q=0.1, gzip;q=0.5"], Some(Encoding::Gzip)),
            (&["br;q=1.0, zstd;q=0.999"], Some(Encoding::Brotli)),
            (&["gzip;q=2"], None),
            (&["gzip;q=0.1234"], None),
            (&["gzip;q=abc, br"], Some(Encoding::Brotli)),
        ];
        for (values, want) in cases {
            let mut headers = HeaderMap::new();
            for value in *values {
                headers.append(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
            }
            assert_eq!(Encoding::preferred(&headers), *want, "{values:?}");
        }
    }

    /// Decodes `compressed` as far as it goes (a stream not yet finished ends early).
    fn decode(encoding: Encoding, compressed: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut read = |mut reader: Box<dyn std::io::Read + '_>| {
            let mut buf = [0u8; 256];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                }
            }
        };
        match encoding {
            Encoding::Identity => unreachable!(),
            Encoding::Gzip => read(Box::new(flate2::read::GzDecoder::new(compressed))),
            Encoding::Brotli => read(Box::new(brotli::Decompressor::new(compressed, 4096))),
            Encoding::Zstd => read(Box::new(
                zstd::stream::read::Decoder::new(compressed).unwrap(),
            )),
        }
        out
    }

    #[test]
    fn every_chunk_decodes_as_soon_as_it_is_flushed() {
        for encoding in [Encoding::Gzip, Encoding::Brotli, Encoding::Zstd] {
            let mut encoder = Encoder::new(encoding).unwrap();
            let mut sent = Vec::new();
            let mut wire = Vec::new();
            for n in 0..3 {
                let message = format!("{{\"n\":{n},\"text\":\"{}\"}}\n", "ab".repeat(n * 10));
                sent.extend_from_slice(message.as_bytes());
                wire.extend_from_slice(&encoder.chunk(message.as_bytes()).unwrap());
                assert_eq!(decode(encoding, &wire), sent, "{encoding:?} after message {n}");
            }
            wire.extend_from_slice(&encoder.finish().unwrap());
            assert_eq!(decode(encoding, &wire), sent, "{encoding:?} finished");
        }
    }

    #[test]
    fn q_values_parse_as_rfc_9110_writes_them() {
        let cases = [
            ("q=1", Some(1000)),
            ("q=1.000", Some(1000)),
            ("Q=0.5", Some(500)),
            ("q=0.05", Some(50)),
            ("q=0.", Some(0)),
            ("q=1.5", None),
            ("q=0.5000", None),
            ("q=.5", None),
            ("q=-1", None),
            ("level=1", None),
        ];
        for (param, want) in cases {
            assert_eq!(q_value(param), want, "{param}");
        }
    }
}
