//! The routes of one or more services, served by one [`Matcher`](crate::http::matcher::Matcher), and the unary call path:
//! bind the request (path > body > query), call the service trait in-process with metadata
//! and deadline, write the JSON response or the `google.rpc.Status` error.

mod bind;
mod message;
#[doc(hidden)]
pub mod method;
mod router;
mod rule;
#[cfg(test)]
mod tests;
mod unary;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use http::StatusCode;

use super::status;

pub(in crate::http) use bind::{body_fault, is_json};
#[doc(hidden)]
pub use message::JsonMessage;
pub use router::{not_found, Routes};
pub(in crate::http) use unary::{call_metadata, json_response, prepare, run, CallHead};
pub use unary::{handler, unary};

/// A route's handler: the matched request in, the HTTP response out.
pub type Handler =
    Arc<dyn Fn(Call) -> Pin<Box<dyn Future<Output = http::Response<Body>> + Send>> + Send + Sync>;

/// What [`Routes::route`] takes: a [`Handler`], and whether its route also takes a WebSocket
/// upgrade on its path (docs/reference.md section 13.1). A plain [`Handler`] converts into one that
/// does not; the generated client- and bidi-streaming routes make ones that do.
#[derive(Clone)]
pub struct RouteHandler {
    pub(crate) handler: Handler,
    /// Whether the route answers a WebSocket handshake (`GET` with `Upgrade: websocket`)
    /// whatever its own HTTP method.
    #[cfg_attr(not(feature = "websocket"), allow(dead_code))]
    pub(crate) websocket: bool,
}

impl From<Handler> for RouteHandler {
    fn from(handler: Handler) -> Self {
        RouteHandler {
            handler,
            websocket: false,
        }
    }
}

/// Checks or changes a call before its handler runs, like a tonic interceptor on the gRPC
/// server: `Ok` lets the call through (with the metadata and extensions it returns), `Err` is
/// the error response. A `tonic::service::Interceptor` closure works as is.
pub type Interceptor =
    Arc<dyn Fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Send + Sync>;

/// Settings of the HTTP/JSON routes.
#[derive(Clone)]
pub struct Options {
    interceptor: Option<Interceptor>,
    max_body_bytes: usize,
    reject_unknown_query_parameters: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            interceptor: None,
            // tonic's default message limit.
            max_body_bytes: 4 * 1024 * 1024,
            reject_unknown_query_parameters: false,
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("interceptor", &self.interceptor.is_some())
            .field("max_body_bytes", &self.max_body_bytes)
            .field(
                "reject_unknown_query_parameters",
                &self.reject_unknown_query_parameters,
            )
            .finish()
    }
}

impl Options {
    /// 4 MiB bodies, unknown query parameters ignored, no interceptor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `interceptor` on every call before its handler, as the gRPC server's interceptor
    /// does, so authentication written once guards both.
    pub fn interceptor<F>(mut self, interceptor: F) -> Self
    where
        F: Fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status>
            + Send
            + Sync
            + 'static,
    {
        self.interceptor = Some(Arc::new(interceptor));
        self
    }

    /// Request bodies over this many bytes are refused with 413. A client stream's body is
    /// never capped as a whole: the limit applies to each of its JSON messages, and a stream
    /// of `google.api.HttpBody` arrives in pieces of at most
    /// [`RAW_PIECE_BYTES`](super::client_stream::RAW_PIECE_BYTES) whatever its size.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// The body limit, also applied to each message of a streamed body: the server's
    /// ([`MessageLimit`]) when the request carries one, else this router's.
    pub(crate) fn body_limit(&self, extensions: &http::Extensions) -> usize {
        match extensions.get::<MessageLimit>() {
            Some(MessageLimit(limit)) => *limit,
            None => self.max_body_bytes,
        }
    }

    /// A query parameter that names no field is a 400 instead of being ignored.
    pub fn reject_unknown_query_parameters(mut self, reject: bool) -> Self {
        self.reject_unknown_query_parameters = reject;
        self
    }

    /// Whether a query parameter that names no field is a 400.
    pub(crate) fn rejects_unknown_query_parameters(&self) -> bool {
        self.reject_unknown_query_parameters
    }
}

/// The largest request message the server accepts, set on the server (`serve::Limits::
/// max_receive_message_bytes`) and carried in the request's extensions; it replaces
/// [`Options::max_body_bytes`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct MessageLimit(pub(crate) usize);

/// A request on its way to a handler.
pub struct Call {
    pub parts: http::request::Parts,
    pub body: Body,
    /// The method's full name, `acme.shop.v1.OrderService/GetOrder`.
    pub method: &'static str,
    /// The path variables, `(field path, decoded value)`.
    pub bindings: Vec<(&'static str, String)>,
    pub options: Arc<Options>,
}

/// Where a rule's request body goes.
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub enum BodyRule {
    /// No `body`: the request body is ignored.
    None,
    /// `body: "*"`: the whole message; the query is ignored.
    All,
    /// `body: "field"`: that field, by proto and JSON name; a dotted path of both for a nested
    /// field (grpc-gateway's extension), whose parent messages are created.
    Field {
        proto_name: &'static str,
        json_name: &'static str,
    },
}

/// An http rule: how to bind the request and what to send back.
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct Rule {
    pub body: BodyRule,
    /// `response_body`: the JSON name of the response field sent instead of the whole message.
    pub response_body: Option<&'static str>,
    /// The body (the whole request, or the body field) is a `google.api.HttpBody`: the raw
    /// bytes of any content type become its `data`, the `Content-Type` its `content_type`.
    pub http_body_request: bool,
    /// The response (or its `response_body` field) is a `google.api.HttpBody`: its `data` is
    /// sent raw with its `content_type`.
    pub http_body_response: bool,
    /// A PATCH with a body field whose request has exactly one `FieldMask` field (this JSON
    /// name): when the request leaves it unset, it is inferred from the body's keys.
    pub infer_field_mask: Option<&'static str>,
    /// Streamed responses use grpc-gateway's `{"result": ..}` / `{"error": ..}` lines.
    pub grpc_gateway_envelope: bool,
    /// The status of a successful response (the method's `rs_svc.api.http_response`, else
    /// 200); 204 and 205 send no body. A handler can choose another per response with
    /// [`SuccessStatus`].
    pub success_status: u16,
}

/// The HTTP status of one successful response, chosen by the handler: put it in the
/// `tonic::Response`'s extensions. It wins over the method's declared status over HTTP/JSON
/// and is never sent over gRPC. 204 No Content and 205 Reset Content drop the message.
///
/// ```
/// # fn created(book: String) -> tonic::Response<String> {
/// let mut response = tonic::Response::new(book);
/// response.extensions_mut().insert(rs_svc::http::SuccessStatus::CREATED);
/// # response }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuccessStatus(StatusCode);

impl SuccessStatus {
    /// 200 OK.
    pub const OK: Self = SuccessStatus(StatusCode::OK);
    /// 201 Created.
    pub const CREATED: Self = SuccessStatus(StatusCode::CREATED);
    /// 202 Accepted.
    pub const ACCEPTED: Self = SuccessStatus(StatusCode::ACCEPTED);
    /// 204 No Content: the response message is not sent.
    pub const NO_CONTENT: Self = SuccessStatus(StatusCode::NO_CONTENT);

    /// Any 2xx status; `None` for others (errors are a handler's `tonic::Status`).
    pub fn new(status: StatusCode) -> Option<Self> {
        status.is_success().then_some(SuccessStatus(status))
    }

    /// The status.
    pub fn status(self) -> StatusCode {
        self.0
    }

    /// A response with this status carries no body.
    fn without_body(self) -> bool {
        matches!(self.0.as_u16(), 204 | 205)
    }

    /// The handler's choice, else the rule's.
    pub(in crate::http) fn of(extensions: &http::Extensions, rule: &Rule) -> Self {
        extensions
            .get::<SuccessStatus>()
            .copied()
            .unwrap_or_else(|| {
                StatusCode::from_u16(rule.success_status)
                    .ok()
                    .and_then(Self::new)
                    .unwrap_or(Self::OK)
            })
    }
}

/// An error response: the `google.rpc.Status` body and the HTTP status line, which is the
/// code's usual one except for 413 and 415.
#[derive(Debug)]
pub struct HttpError {
    pub http: StatusCode,
    pub status: tonic::Status,
}

impl From<tonic::Status> for HttpError {
    fn from(status: tonic::Status) -> Self {
        HttpError {
            http: status::http_status(status.code()),
            status,
        }
    }
}

impl HttpError {
    fn new(http: StatusCode, status: tonic::Status) -> Self {
        HttpError { http, status }
    }

    /// The response.
    pub fn into_response(self) -> http::Response<Body> {
        let mut response = status::error_response(&self.status);
        *response.status_mut() = self.http;
        response
    }
}
