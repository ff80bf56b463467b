//! HTTP/JSON transcoding: what the generated `<service>_http` routers share.

pub mod matcher;
pub mod metadata;
pub mod query;
pub mod status;
