//! HTTP/JSON transcoding: what the generated `<service>_http` routers share ([`Routes`],
//! [`Options`] and the [`matcher`]); and [`docs`], which serves the plugin's OpenAPI documents
//! with a Swagger UI or Redoc page.

#[cfg(feature = "serve")]
pub(crate) mod call;
#[cfg(feature = "http-client")]
pub(crate) mod channel;
pub(crate) mod client;
#[doc(hidden)]
pub mod client_stream;
pub mod docs;
pub mod matcher;
pub mod metadata;
#[doc(hidden)]
pub mod query;
pub mod routes;
pub mod status;
#[doc(hidden)]
pub mod stream;
#[cfg(feature = "websocket")]
pub(crate) mod websocket;

pub use axum;
#[cfg(feature = "http-client")]
pub use channel::{HttpChannel, MessageStream, DEFAULT_MAX_RESPONSE_BYTES};
#[doc(hidden)]
pub use client_stream::{bidi_streaming, client_streaming};
pub use docs::{docs_router, Docs};
pub use routes::{
    handler, Call, Handler, HttpError, Interceptor, Options, RouteHandler, Routes, SuccessStatus,
};
#[doc(hidden)]
pub use routes::{unary, BodyRule, JsonMessage, Rule};
#[doc(hidden)]
pub use stream::server_streaming;

/// Logs a handler's panic, which its call answers as INTERNAL while the server goes on
/// (docs/reference.md section 7). The panic's own message goes to the log, never to the client.
pub(crate) fn log_panic(rpc: &str, panic: &(dyn std::any::Any + Send)) {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)");
    tracing::error!(
        rpc.method = rpc,
        panic = message,
        "a handler panicked; its call answers INTERNAL"
    );
}
