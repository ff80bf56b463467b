//! The server's limits, set in one place ([`Limits`], docs/reference.md section 11), and what
//! enforces the ones hyper does not: calls in flight per server, gRPC message sizes, header
//! counts over HTTP/2, a default deadline, and closing connections that stay silent or idle.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;
use tower::BoxError;

use crate::http::call::Transport;

/// tonic's default for received messages, and so what every gRPC client expects.
const FOUR_MIB: usize = 4 * 1024 * 1024;

/// How many headers hyper's HTTP/1 parser takes when it is not told.
const HYPER_MAX_HEADERS: usize = 100;

/// What a connection may buffer of a request's head before the head is checked against
/// [`Limits::max_header_bytes`], at least: hyper's HTTP/1 read buffer (larger reads of bodies
/// gain little) and the HTTP/2 header list size announced in SETTINGS.
const HEAD_BUFFER: usize = 64 * 1024;

/// The server's limits, all set here and given to [`Builder::limits`](super::Builder::limits).
/// Each default is documented on its setter, and they are tabled in the README ("Production
/// settings") with what tripping each looks like on each transport.
///
/// ```
/// use std::time::Duration;
/// use rs_svc::serve::{Limits, Server};
///
/// let limits = Limits::new()
///     .max_concurrent_calls(Some(1_000))
///     .max_receive_message_bytes(16 * 1024 * 1024)
///     .default_deadline(Some(Duration::from_secs(30)));
/// let builder = Server::builder().limits(limits);
/// # let _ = builder;
/// ```
#[derive(Clone, Debug)]
pub struct Limits {
    pub(super) max_concurrent_calls: Option<usize>,
    pub(super) max_concurrent_streams: u32,
    pub(super) max_receive_message_bytes: usize,
    /// Whether the receive limit was set here, and so replaces the HTTP routes' own.
    pub(super) receive_limit_set: bool,
    pub(super) max_send_message_bytes: Option<usize>,
    pub(super) max_header_bytes: usize,
    pub(super) max_headers: usize,
    pub(super) header_read_timeout: Duration,
    pub(super) idle_timeout: Option<Duration>,
    pub(super) tcp_keepalive: Option<Duration>,
    pub(super) http2_keepalive_interval: Option<Duration>,
    pub(super) http2_keepalive_timeout: Duration,
    pub(super) default_deadline: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_concurrent_calls: None,
            max_concurrent_streams: 200,
            max_receive_message_bytes: FOUR_MIB,
            receive_limit_set: false,
            max_send_message_bytes: None,
            max_header_bytes: 16 * 1024,
            max_headers: HYPER_MAX_HEADERS,
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(600)),
            tcp_keepalive: Some(Duration::from_secs(60)),
            http2_keepalive_interval: None,
            http2_keepalive_timeout: Duration::from_secs(20),
            default_deadline: None,
        }
    }
}

impl Limits {
    /// The defaults, as documented on each setter.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many calls may run at once on the whole server, over both transports (default: no
    /// limit; the right number is a property of the service). A call beyond it is refused at
    /// once, never queued: RESOURCE_EXHAUSTED with `retry-after: 1` metadata over gRPC, 429 with
    /// `Retry-After: 1` over HTTP. A call counts from its request's head until its response's
    /// end, so a stream holds its place while it streams. Health, reflection and the
    /// `/healthz` and `/readyz` probes are never refused.
    pub fn max_concurrent_calls(mut self, max: Option<usize>) -> Self {
        self.max_concurrent_calls = max;
        self
    }

    /// How many streams (calls) one HTTP/2 connection may have open at once (default 200, as
    /// hyper). It is announced to the client in the connection's SETTINGS; a well-behaved client
    /// waits for a stream to end before opening another, and one that does not gets its extra
    /// streams refused (`REFUSED_STREAM`, which gRPC clients retry).
    pub fn max_concurrent_streams(mut self, max: u32) -> Self {
        self.max_concurrent_streams = max;
        self
    }

    /// The largest message a client may send (default 4 MiB, gRPC's usual limit): over gRPC,
    /// each message, checked from its length prefix before it is read (RESOURCE_EXHAUSTED);
    /// over HTTP/JSON, the request body, or each message of a streamed body (413). Set here, it
    /// replaces the HTTP routes' own `Options::max_body_bytes`. A gRPC service keeps its own
    /// limit too (tonic's is 4 MiB): to accept more than that, raise the service's
    /// `max_decoding_message_size` as well.
    pub fn max_receive_message_bytes(mut self, max: usize) -> Self {
        self.max_receive_message_bytes = max;
        self.receive_limit_set = true;
        self
    }

    /// The largest gRPC message the server may send (default: no limit, as tonic and gRPC
    /// servers in other languages). A response message over it ends its call with
    /// RESOURCE_EXHAUSTED in place of the message.
    pub fn max_send_message_bytes(mut self, max: Option<usize>) -> Self {
        self.max_send_message_bytes = max;
        self
    }

    /// The largest header list a request may have (default 16 KiB, hyper's HTTP/2 default),
    /// counted as HTTP/2 counts it over both protocols: each header's name and value plus 32
    /// bytes. Beyond it the request is answered 431 (Request Header Fields Too Large) before it
    /// reaches any route.
    pub fn max_header_bytes(mut self, max: usize) -> Self {
        self.max_header_bytes = max;
        self
    }

    /// The most headers a request may have (default 100, as hyper): 431 beyond it.
    pub fn max_headers(mut self, max: usize) -> Self {
        self.max_headers = max;
        self
    }

    /// How long a client has to send a request's head (default 30 s, as hyper). Over HTTP/1 it
    /// runs from the end of the previous response, so it is also how long a kept-alive
    /// HTTP/1 connection may sit between requests; over HTTP/2, a connection that has not sent
    /// its preface within it is closed. A client that sends half a request is closed when it
    /// passes; every other client is served meanwhile.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a connection with no call open may stay open (default 10 minutes; `None`: for
    /// ever). An idle HTTP/2 connection is sent GOAWAY and closed, which gRPC clients take as a
    /// cue to reconnect when they next call.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// TCP keepalive on every accepted connection: the first probe after this long without
    /// traffic, then one every such period (default 60 s; `None`: the system's setting, usually
    /// off). It finds peers that vanished without closing, so their connections do not linger.
    pub fn tcp_keepalive(mut self, time: Option<Duration>) -> Self {
        self.tcp_keepalive = time;
        self
    }

    /// HTTP/2 PING every `interval` (default: off, as tonic), closing the connection when one is
    /// not answered within [`Limits::http2_keepalive_timeout`]. Useful behind NATs and load
    /// balancers that drop quiet flows without a word.
    pub fn http2_keepalive_interval(mut self, interval: Option<Duration>) -> Self {
        self.http2_keepalive_interval = interval;
        self
    }

    /// How long an HTTP/2 keepalive PING may go unanswered (default 20 s, as gRPC).
    pub fn http2_keepalive_timeout(mut self, timeout: Duration) -> Self {
        self.http2_keepalive_timeout = timeout;
        self
    }

    /// The deadline of a call that carries none (no `grpc-timeout`), over both transports
    /// (default: none). It is added to the request as a `grpc-timeout` header, so handlers,
    /// layers and `CallInfo::deadline` see it as if the client had sent it, and the call ends
    /// with DEADLINE_EXCEEDED (504 over HTTP) when it passes.
    pub fn default_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.default_deadline = deadline;
        self
    }

    /// Configures hyper's side: what it enforces itself.
    pub(super) fn configure(
        &self,
        http: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    ) {
        if self.max_headers != HYPER_MAX_HEADERS {
            // Only when changed: with a count set, hyper allocates the header index per request.
            http.http1().max_headers(self.max_headers);
        }
        http.http1()
            // hyper answers 431 to a head that does not fit its read buffer; the exact limit is
            // checked on the parsed head (`header_list_size`), so that it is answered in the
            // call's transport's form.
            .max_buf_size(self.max_header_bytes.max(HEAD_BUFFER))
            .header_read_timeout(self.header_read_timeout);
        http.http2()
            .max_concurrent_streams(self.max_concurrent_streams)
            // Likewise: the h2 layer refuses larger header lists itself, with a bare 431.
            .max_header_list_size(
                u32::try_from(self.max_header_bytes.max(HEAD_BUFFER)).unwrap_or(u32::MAX),
            )
            .keep_alive_interval(self.http2_keepalive_interval)
            .keep_alive_timeout(self.http2_keepalive_timeout);
    }

    /// Sets TCP keepalive on an accepted connection, when configured. Failing to is not worth
    /// refusing the connection over.
    pub(super) fn keepalive(&self, stream: &tokio::net::TcpStream) {
        if let Some(time) = self.tcp_keepalive {
            let keepalive = socket2::TcpKeepalive::new()
                .with_time(time)
                .with_interval(time);
            let _ = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive);
        }
    }

    /// The default deadline as the `grpc-timeout` value requests without one get.
    pub(super) fn default_grpc_timeout(&self) -> Option<HeaderValue> {
        let deadline = self.default_deadline?;
        HeaderValue::try_from(crate::grpc_timeout::encode_grpc_timeout(deadline)).ok()
    }
}

/// The calls in flight on the whole server, against [`Limits::max_concurrent_calls`].
pub(super) struct CallSlots {
    open: AtomicUsize,
    max: usize,
}

impl CallSlots {
    pub(super) fn new(max: usize) -> Arc<Self> {
        Arc::new(CallSlots {
            open: AtomicUsize::new(0),
            max,
        })
    }

    /// A slot for one call, or `None` when all are taken.
    pub(super) fn take(self: &Arc<Self>) -> Option<Slot> {
        if self.open.fetch_add(1, Ordering::AcqRel) >= self.max {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Slot(self.clone()))
    }
}

/// One call's place among [`CallSlots`], given back when dropped.
pub(super) struct Slot(Arc<CallSlots>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The answer to a call refused for want of a slot: shed at once, with `Retry-After`.
pub(super) fn shed(transport: Transport) -> http::Response<axum::body::Body> {
    let overloaded: BoxError = Box::new(tower::load_shed::error::Overloaded::new());
    crate::http::call::status_response(transport, crate::http::call::error_status(overloaded))
}

/// The size of a header list as HTTP/2 counts it (RFC 9113 section 6.5.2): each header's name
/// and value, plus 32 bytes.
pub(super) fn header_list_size(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 32)
        .sum()
}

/// The answer to a request whose headers are over [`Limits::max_headers`] or
/// [`Limits::max_header_bytes`], when hyper did not refuse it already: 431, with a
/// `google.rpc.Status` body over HTTP and RESOURCE_EXHAUSTED over gRPC.
pub(super) fn headers_too_large(
    transport: Transport,
    why: String,
) -> http::Response<axum::body::Body> {
    let status = tonic::Status::resource_exhausted(why);
    let mut response = crate::http::call::status_response(transport, status);
    if transport == Transport::Http {
        *response.status_mut() = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
    }
    response
}

/// What a connection's watcher reads: whether the client has started, how many calls are
/// open, and when the last one ended.
pub(super) struct Activity {
    started: Instant,
    /// Set once the client made a request, or sent at least an HTTP/2 preface's worth of bytes.
    greeted: AtomicBool,
    open: AtomicUsize,
    /// When `open` last fell to zero, in milliseconds since `started`.
    idle_since: AtomicU64,
    /// Set once a call became a WebSocket session, which outlives the connection's HTTP
    /// exchange: from then on `idle` is told when `open` falls to zero.
    #[cfg(feature = "websocket")]
    sessions: AtomicBool,
    #[cfg(feature = "websocket")]
    idle: tokio::sync::Notify,
}

impl Activity {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Activity {
            started: Instant::now(),
            greeted: AtomicBool::new(false),
            open: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            #[cfg(feature = "websocket")]
            sessions: AtomicBool::new(false),
            #[cfg(feature = "websocket")]
            idle: tokio::sync::Notify::new(),
        })
    }

    /// A call on the connection became a WebSocket session.
    #[cfg(feature = "websocket")]
    pub(super) fn session_opened(&self) {
        self.sessions.store(true, Ordering::Release);
    }

    /// Completes when no call is open on a connection that had a WebSocket session, at once
    /// on any other: the connection's task waits here, so the server's drain waits for the
    /// sessions to send their last frames.
    #[cfg(feature = "websocket")]
    pub(super) async fn sessions_ended(&self) {
        if !self.sessions.load(Ordering::Acquire) {
            return;
        }
        loop {
            let idle = self.idle.notified();
            let mut idle = std::pin::pin!(idle);
            idle.as_mut().enable();
            if self.open.load(Ordering::Acquire) == 0 {
                return;
            }
            idle.await;
        }
    }

    /// A call began on the connection; it is open until the returned guard drops.
    pub(super) fn call(self: &Arc<Self>) -> CallOpen {
        if !self.greeted.load(Ordering::Relaxed) {
            self.greeted.store(true, Ordering::Relaxed);
        }
        self.open.fetch_add(1, Ordering::AcqRel);
        CallOpen(self.clone())
    }

    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Completes when the connection should be closed: it has not greeted within
    /// `header_read_timeout`, or it has had no call open for `idle_timeout`.
    pub(super) async fn expired(&self, header_read_timeout: Duration, idle: Option<Duration>) {
        tokio::time::sleep_until(self.started + header_read_timeout).await;
        if !self.greeted.load(Ordering::Relaxed) {
            return;
        }
        let Some(idle) = idle else {
            return std::future::pending().await;
        };
        loop {
            if self.open.load(Ordering::Acquire) > 0 {
                tokio::time::sleep(idle).await;
                continue;
            }
            let since = Duration::from_millis(self.idle_since.load(Ordering::Acquire));
            let deadline = self.started + since + idle;
            if Instant::now() >= deadline {
                if self.open.load(Ordering::Acquire) == 0 {
                    return;
                }
                continue;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// One open call on a connection ([`Activity::call`]).
pub(super) struct CallOpen(Arc<Activity>);

impl Drop for CallOpen {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.idle_since.store(activity.now(), Ordering::Release);
        let was = activity.open.fetch_sub(1, Ordering::AcqRel);
        #[cfg(feature = "websocket")]
        if was == 1 && activity.sessions.load(Ordering::Acquire) {
            activity.idle.notify_waiters();
        }
        #[cfg(not(feature = "websocket"))]
        let _ = was;
    }
}

impl CallOpen {
    /// The connection the call is open on.
    #[cfg(feature = "websocket")]
    pub(super) fn activity(&self) -> &Activity {
        &self.0
    }
}

/// A connection's byte stream, noting in its [`Activity`] when an HTTP/2 preface's worth of
/// bytes has arrived, so that a client which connected and sent nothing (or half a preface)
/// is told apart from one that is set up and simply quiet.
pub(super) struct Watched<I> {
    io: I,
    activity: Arc<Activity>,
    /// Bytes read so far, counted until the preface's length.
    seen: usize,
}

/// The length of the HTTP/2 connection preface.
const PREFACE_LEN: usize = 24;

impl<I> Watched<I> {
    pub(super) fn new(io: I, activity: Arc<Activity>) -> Self {
        Watched {
            io,
            activity,
            seen: 0,
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if self.seen < PREFACE_LEN {
            self.seen += buf.filled().len() - before;
            if self.seen >= PREFACE_LEN {
                self.activity.greeted.store(true, Ordering::Relaxed);
            }
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Reads gRPC's length prefixes (one flag byte, four length bytes, big-endian) across a
/// body's chunks, to check each message's length before the message is read.
#[derive(Clone, Copy, Debug, Default)]
struct Prefixes {
    /// Bytes of the current message still to pass.
    remaining: u64,
    /// The prefix read so far, and how much of it.
    prefix: [u8; 5],
    filled: usize,
}

impl Prefixes {
    /// The length of the first message in `chunk` that is over `max`, if any.
    fn over(&mut self, mut chunk: &[u8], max: usize) -> Option<u64> {
        while !chunk.is_empty() {
            if self.remaining > 0 {
                let skip = usize::try_from(self.remaining)
                    .unwrap_or(usize::MAX)
                    .min(chunk.len());
                self.remaining -= skip as u64;
                chunk = &chunk[skip..];
                continue;
            }
            let take = (5 - self.filled).min(chunk.len());
            self.prefix[self.filled..self.filled + take].copy_from_slice(&chunk[..take]);
            self.filled += take;
            chunk = &chunk[take..];
            if self.filled == 5 {
                self.filled = 0;
                let length = u64::from(u32::from_be_bytes([
                    self.prefix[1],
                    self.prefix[2],
                    self.prefix[3],
                    self.prefix[4],
                ]));
                if length > max as u64 {
                    return Some(length);
                }
                self.remaining = length;
            }
        }
        None
    }
}

pin_project_lite::pin_project! {
    /// A gRPC request body whose messages may be no longer than
    /// [`Limits::max_receive_message_bytes`]: one that is fails the body with
    /// RESOURCE_EXHAUSTED, which the service answers with.
    pub(super) struct ReceiveLimited<B> {
        #[pin]
        inner: B,
        prefixes: Prefixes,
        max: usize,
    }
}

impl<B> ReceiveLimited<B> {
    pub(super) fn new(inner: B, max: usize) -> Self {
        ReceiveLimited {
            inner,
            prefixes: Prefixes::default(),
            max,
        }
    }
}

impl<B> Body for ReceiveLimited<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        let frame = match std::task::ready!(this.inner.poll_frame(cx)) {
            Some(Ok(frame)) => frame,
            Some(Err(error)) => return Poll::Ready(Some(Err(error.into()))),
            None => return Poll::Ready(None),
        };
        if let Some(data) = frame.data_ref() {
            if let Some(length) = this.prefixes.over(data.chunk(), *this.max) {
                let status = tonic::Status::resource_exhausted(format!(
                    "a request message of {length} bytes is over the server's limit of {} bytes",
                    this.max
                ));
                return Poll::Ready(Some(Err(Box::new(status))));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project_lite::pin_project! {
    /// A response body as a connection sends it: it holds the call's place among the server's
    /// calls and the connection's open calls until it ends, and, for a gRPC response under
    /// [`Limits::max_send_message_bytes`], ends the call with RESOURCE_EXHAUSTED in place of a
    /// message over the limit.
    pub(super) struct Sent {
        #[pin]
        inner: axum::body::Body,
        send_limit: Option<(Prefixes, usize)>,
        ended: bool,
        _open: Option<CallOpen>,
        _slot: Option<Slot>,
    }
}

impl Sent {
    pub(super) fn new(
        inner: axum::body::Body,
        send_limit: Option<usize>,
        open: Option<CallOpen>,
        slot: Option<Slot>,
    ) -> Self {
        Sent {
            inner,
            send_limit: send_limit.map(|max| (Prefixes::default(), max)),
            ended: false,
            _open: open,
            _slot: slot,
        }
    }
}

impl Body for Sent {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        let frame = std::task::ready!(this.inner.poll_frame(cx));
        if let (Some(Ok(frame)), Some((prefixes, max))) = (&frame, this.send_limit.as_mut()) {
            if let Some(length) = frame.data_ref().and_then(|data| prefixes.over(data, *max)) {
                *this.ended = true;
                let status = tonic::Status::resource_exhausted(format!(
                    "a response message of {length} bytes is over the server's limit of {max} bytes"
                ));
                let mut trailers = HeaderMap::new();
                let _ = status.add_header(&mut trailers);
                return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.send_limit.is_some() {
            // The body may end early in trailers.
            let mut hint = SizeHint::new();
            if let Some(upper) = self.inner.size_hint().upper() {
                hint.set_upper(upper);
            }
            return hint;
        }
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::Prefixes;

    fn frame(len: u32) -> Vec<u8> {
        let mut bytes = vec![0];
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend(std::iter::repeat_n(7u8, len as usize));
        bytes
    }

    #[test]
    fn message_lengths_are_read_across_any_split_of_the_body() {
        let mut body = frame(3);
        body.extend(frame(10));
        body.extend(frame(4));
        for split in 0..body.len() {
            for max in [9, 10] {
                let mut prefixes = Prefixes::default();
                let (a, b) = body.split_at(split);
                let over = prefixes.over(a, max).or_else(|| prefixes.over(b, max));
                let expected = (max < 10).then_some(10);
                assert_eq!(over, expected, "split at {split}, max {max}");
            }
        }
    }
}
