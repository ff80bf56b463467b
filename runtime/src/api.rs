//! One trait, three transports (docs/reference.md section 1, "The `<Svc>Api` trait"): the stream
//! types that the generated `<svc>_api::<Svc>Api` traits take and return.
//!
//! Every implementation of a service's server trait is also its `<Svc>Api`, called in process;
//! a generated gRPC client wrapped in [`Remote`] implements the server trait by forwarding each
//! call to its backend, so it is an `<Svc>Api` too, and
//! `<svc>_http::router(Arc::new(Remote::new(client)))` is a gateway.
//!
//! ```ignore
//! async fn report(api: &impl OrderServiceApi) -> Result<(), tonic::Status> {
//!     let order = api.get_order(tonic::Request::new(GetOrderRequest { name: "orders/1".into() }));
//!     let imported = api.import_orders(rs_svc::api::streaming_request(tokio_stream::iter(orders)));
//!     // ...
//! }
//! ```

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use tokio_stream::Stream;

mod call;

pub use call::{current_call, scope, Backoff, CallOptions, CallScope, Retry};
#[cfg_attr(not(feature = "dial"), allow(unused_imports))]
pub(crate) use call::{inherited_timeout, shorter, CallPolicy};

/// The messages of a client stream sent through an `<Svc>Api`.
pub type RequestStream<T> = Pin<Box<dyn Stream<Item = T> + Send + 'static>>;

/// The messages of a server stream received through an `<Svc>Api`: each a message or the error
/// that ends the stream.
pub type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, tonic::Status>> + Send + 'static>>;

/// A generated gRPC client as an implementation of its service's server trait, and so as its
/// `<Svc>Api`: each call is forwarded to the client's backend with the incoming call's metadata
/// and deadline (not its extensions), and comes back as the backend answered, errors included.
/// `<svc>_http::router(Arc::new(Remote::new(client)))` is a gateway in front of that backend.
///
/// A wrapper rather than the client itself: were the client to implement the server trait, the
/// trait's `&self` methods would shadow the client's own `&mut self` ones wherever the trait is
/// in scope, and `client.get_order(message)` would stop compiling.
#[derive(Debug, Clone, Default)]
pub struct Remote<C>(C);

impl<C> Remote<C> {
    /// Wraps a generated gRPC client (`<svc>_client::<Svc>Client<T>`).
    pub fn new(client: C) -> Self {
        Remote(client)
    }

    /// The client.
    pub fn get_ref(&self) -> &C {
        &self.0
    }

    /// The client, unwrapped.
    pub fn into_inner(self) -> C {
        self.0
    }
}

/// A client-streaming request from any stream of messages:
/// `api.import_orders(streaming_request(tokio_stream::iter(orders)))`.
pub fn streaming_request<T>(
    messages: impl Stream<Item = T> + Send + 'static,
) -> tonic::Request<RequestStream<T>> {
    tonic::Request::new(Box::pin(messages))
}

/// A message with its 5-byte gRPC header (uncompressed, length).
pub(crate) fn grpc_frame(message: &impl prost::Message) -> Result<Bytes, tonic::Status> {
    let len = message.encoded_len();
    let mut out = BytesMut::with_capacity(5 + len);
    out.put_u8(0);
    out.put_u32(
        u32::try_from(len).map_err(|_| tonic::Status::invalid_argument("message too large"))?,
    );
    message
        .encode(&mut out)
        .map_err(|e| tonic::Status::internal(e.to_string()))?;
    Ok(out.freeze())
}

/// The messages of a stream as the body of a gRPC request, framed in memory.
struct Frames<T>(RequestStream<T>);

impl<T: prost::Message> http_body::Body for Frames<T> {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, tonic::Status>>> {
        self.0
            .as_mut()
            .poll_next(cx)
            .map(|message| message.map(|m| grpc_frame(&m).map(http_body::Frame::data)))
    }
}

/// What the generated `<Svc>Api` impls and the server-trait impls of [`Remote`] call
/// (`rs_svc::__codegen::api`).
#[doc(hidden)]
pub mod codegen {
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use tokio_stream::StreamExt as _;
    use tonic::codec::{Codec, EncodeBuf, Encoder};
    use tonic::metadata::MetadataMap;
    use tonic::{Request, Response, Status, Streaming};

    use super::{Frames, RequestStream, ResponseStream};

    type BoxError = Box<dyn std::error::Error + Send + Sync>;

    /// In process: a client stream as the `tonic::Streaming` a server trait method takes, its
    /// messages framed in memory as they would cross the wire (and read under the same 4 MiB
    /// message limit a tonic server applies by default).
    pub fn into_streaming<T>(request: Request<RequestStream<T>>) -> Request<Streaming<T>>
    where
        T: prost::Message + Default + Send + 'static,
    {
        request.map(|messages| {
            Streaming::new_request(
                tonic_prost::ProstDecoder::<T>::default(),
                Frames(messages),
                None,
                None,
            )
        })
    }

    /// In process: a server trait's own response stream as an `<Svc>Api`'s.
    pub fn boxed<S, T>(response: Response<S>) -> Response<ResponseStream<T>>
    where
        S: tokio_stream::Stream<Item = Result<T, Status>> + Send + 'static,
    {
        response.map(|stream| Box::pin(stream) as ResponseStream<T>)
    }

    /// What a generated gRPC client calls through: any tonic transport (a `Channel`,
    /// `rs_svc::dial::Channel`, an intercepted service) whose futures can move between threads.
    pub trait Transport:
        tonic::client::GrpcService<
            tonic::body::Body,
            Future: Send,
            ResponseBody: http_body::Body<Data = Bytes, Error: Into<BoxError> + Send>
                              + Send
                              + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
    {
    }

    impl<T> Transport for T where
        T: tonic::client::GrpcService<
                tonic::body::Body,
                Future: Send,
                ResponseBody: http_body::Body<Data = Bytes, Error: Into<BoxError> + Send>
                                  + Send
                                  + 'static,
            > + Clone
            + Send
            + Sync
            + 'static
    {
    }

    /// Headers of one HTTP/2 exchange, never of the call: a forwarded call gets its own from
    /// the client that sends it, and a forwarded answer its own from the server that sends it.
    /// The rest (custom metadata, `grpc-timeout` the deadline, `x-forwarded-*`, trace context)
    /// passes through.
    const TRANSPORT: &[&str] = &[
        "connection",
        "content-length",
        "content-type",
        "date",
        "grpc-accept-encoding",
        "grpc-encoding",
        "host",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ];

    fn strip(metadata: &mut MetadataMap) {
        if metadata.is_empty() {
            return;
        }
        for name in TRANSPORT {
            metadata.remove(*name);
        }
    }

    /// The outgoing request of a forwarded call: the incoming one's metadata (and so its
    /// deadline) and message, none of its extensions but its `CallOptions` policy, and the
    /// method's name for the transport.
    fn outgoing<M>(request: Request<M>, path: &'static str) -> Request<M> {
        let (mut metadata, incoming, message) = request.into_parts();
        strip(&mut metadata);
        let mut extensions = tonic::Extensions::new();
        if let Some(policy) = incoming.get::<super::CallPolicy>() {
            extensions.insert(*policy);
        }
        if let Some((service, method)) = path.trim_start_matches('/').split_once('/') {
            extensions.insert(tonic::GrpcMethod::new(service, method));
        }
        Request::from_parts(metadata, extensions, message)
    }

    fn answer<M>(mut response: Response<M>) -> Response<M> {
        strip(response.metadata_mut());
        response
    }

    /// A backend's error as it came (code, message, details, metadata), without the headers of
    /// its HTTP/2 exchange.
    fn failure(mut status: Status) -> Status {
        strip(status.metadata_mut());
        status
    }

    async fn ready<T: Transport>(grpc: &mut tonic::client::Grpc<T>) -> Result<(), Status> {
        grpc.ready()
            .await
            .map_err(|e| Status::unknown(format!("Service was not ready: {}", e.into())))
    }

    /// Forwards a unary call to `grpc`'s backend.
    pub async fn unary<T, Req, Resp>(
        mut grpc: tonic::client::Grpc<T>,
        request: Request<Req>,
        path: &'static str,
    ) -> Result<Response<Resp>, Status>
    where
        T: Transport,
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        ready(&mut grpc).await?;
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        grpc.unary(outgoing(request, path), path_of(path), codec)
            .await
            .map(answer)
            .map_err(failure)
    }

    /// Forwards a server-streaming call; the backend's stream is the answer's.
    pub async fn server_streaming<T, Req, Resp>(
        mut grpc: tonic::client::Grpc<T>,
        request: Request<Req>,
        path: &'static str,
    ) -> Result<Response<Streaming<Resp>>, Status>
    where
        T: Transport,
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        ready(&mut grpc).await?;
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        grpc.server_streaming(outgoing(request, path), path_of(path), codec)
            .await
            .map(answer)
            .map_err(failure)
    }

    /// Forwards a client-streaming call, the incoming messages sent on as they arrive. An error
    /// reading them resets the backend's stream (the backend never takes a cut stream for a
    /// whole one) and is the call's answer.
    pub async fn client_streaming<T, Req, Resp>(
        mut grpc: tonic::client::Grpc<T>,
        request: Request<Streaming<Req>>,
        path: &'static str,
    ) -> Result<Response<Resp>, Status>
    where
        T: Transport,
        Req: prost::Message + Default + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        ready(&mut grpc).await?;
        let codec = Forward::<Req, Resp>::default();
        let broken = codec.broken.clone();
        grpc.client_streaming(outgoing(request, path), path_of(path), codec)
            .await
            .map(answer)
            .map_err(|status| own_error(&broken).unwrap_or_else(|| failure(status)))
    }

    /// Forwards a bidi-streaming call, as [`client_streaming`] sends and [`server_streaming`]
    /// answers; an error reading the incoming messages ends the answer's stream.
    pub async fn bidi_streaming<T, Req, Resp>(
        mut grpc: tonic::client::Grpc<T>,
        request: Request<Streaming<Req>>,
        path: &'static str,
    ) -> Result<Response<ResponseStream<Resp>>, Status>
    where
        T: Transport,
        Req: prost::Message + Default + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        ready(&mut grpc).await?;
        let codec = Forward::<Req, Resp>::default();
        let broken = codec.broken.clone();
        let response = grpc
            .streaming(outgoing(request, path), path_of(path), codec)
            .await
            .map_err(|status| own_error(&broken).unwrap_or_else(|| failure(status)))?;
        Ok(answer(response).map(|stream| {
            Box::pin(stream.map(move |item| item.map_err(|e| own_error(&broken).unwrap_or(e))))
                as ResponseStream<Resp>
        }))
    }

    fn path_of(path: &'static str) -> http::uri::PathAndQuery {
        http::uri::PathAndQuery::from_static(path)
    }

    fn own_error(broken: &Mutex<Option<Status>>) -> Option<Status> {
        broken.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// prost's codec over a forwarded stream's items: an error among them fails the request
    /// body (hyper then resets the HTTP/2 stream) and is kept to be the call's answer.
    struct Forward<Req, Resp> {
        broken: Arc<Mutex<Option<Status>>>,
        _types: std::marker::PhantomData<fn(Req) -> Resp>,
    }

    impl<Req, Resp> Default for Forward<Req, Resp> {
        fn default() -> Self {
            Forward {
                broken: Arc::default(),
                _types: std::marker::PhantomData,
            }
        }
    }

    impl<Req, Resp> Codec for Forward<Req, Resp>
    where
        Req: prost::Message + Send + 'static,
        Resp: prost::Message + Default + Send + 'static,
    {
        type Encode = Result<Req, Status>;
        type Decode = Resp;
        type Encoder = ForwardEncoder<Req>;
        type Decoder = tonic_prost::ProstDecoder<Resp>;

        fn encoder(&mut self) -> Self::Encoder {
            ForwardEncoder {
                broken: self.broken.clone(),
                _type: std::marker::PhantomData,
            }
        }

        fn decoder(&mut self) -> Self::Decoder {
            tonic_prost::ProstDecoder::default()
        }
    }

    /// The encoder of [`Forward`].
    struct ForwardEncoder<Req> {
        broken: Arc<Mutex<Option<Status>>>,
        _type: std::marker::PhantomData<fn(Req)>,
    }

    impl<Req: prost::Message> Encoder for ForwardEncoder<Req> {
        type Item = Result<Req, Status>;
        type Error = Status;

        fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
            match item {
                Ok(message) => message
                    .encode(dst)
                    .map_err(|e| Status::internal(e.to_string())),
                Err(status) => {
                    *self.broken.lock().unwrap_or_else(|e| e.into_inner()) = Some(status.clone());
                    Err(status)
                }
            }
        }
    }
}

// The messages these tests stream are the runtime's own `google` types, which need `json`.
#[cfg(all(test, feature = "json"))]
mod tests {
    use super::codegen::into_streaming;
    use super::streaming_request;
    use crate::google::api::HttpBody;

    fn body(n: u8) -> HttpBody {
        HttpBody {
            content_type: format!("text/{n}"),
            data: vec![n; usize::from(n) * 1000],
            extensions: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_client_stream_in_process_reads_as_the_messages_sent() {
        let sent: Vec<HttpBody> = (0..5).map(body).collect();
        let mut request = streaming_request(tokio_stream::iter(sent.clone()));
        request.metadata_mut().insert("x-k", "v".parse().unwrap());
        let request = into_streaming(request);
        assert_eq!(request.metadata().get("x-k").unwrap(), "v");
        let mut stream = request.into_inner();
        let mut read = Vec::new();
        while let Some(message) = stream.message().await.unwrap() {
            read.push(message);
        }
        assert_eq!(read, sent);
    }

    #[tokio::test]
    async fn a_client_stream_in_process_has_the_servers_message_limit() {
        let big = HttpBody {
            data: vec![0; 4 * 1024 * 1024 + 1],
            ..Default::default()
        };
        let request = into_streaming(streaming_request(tokio_stream::iter([big])));
        let error = request.into_inner().message().await.unwrap_err();
        assert_eq!(error.code(), tonic::Code::OutOfRange, "{error}");
    }
}
