//! HTTP/JSON transcoding: what the generated `<service>_http` routers share; and [`docs`], which
//! serves the plugin's OpenAPI documents with a Swagger UI or Redoc page.

pub mod client_stream;
pub mod docs;
pub mod matcher;
pub mod metadata;
pub mod query;
pub mod routes;
pub mod status;
pub mod stream;

pub use axum;
pub use client_stream::{bidi_streaming, client_streaming};
pub use docs::{docs_router, Docs};
pub use routes::{
    handler, unary, BodyRule, Call, Handler, HttpError, Interceptor, JsonMessage, Options, Routes,
    Rule, SuccessStatus,
};
pub use stream::server_streaming;
