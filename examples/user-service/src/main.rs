//! `user-service [GRPC_ADDR [HTTP_ADDR]]`: serves the example's user service over gRPC (default
//! `0.0.0.0:9090`, with the health service and server reflection) and HTTP/JSON (default
//! `0.0.0.0:8080`, the routes of its `google.api.http` rules), until SIGTERM or Ctrl-C.
//!
//! The HTTP port also serves the API's OpenAPI document at `/openapi.yaml` and a Swagger UI page
//! for it at `/docs`. The page loads Swagger UI from `USER_SERVICE_DOCS_ASSETS`: a URL, or a
//! local directory such as `node_modules/swagger-ui-dist` (default: unpkg.com).

use std::sync::Arc;

use rs_svc::http::Docs;
use user_service_example::user::v1::user_service_http;
use user_service_example::user::v1::user_service_server::UserServiceServer;
use user_service_example::{Users, FILE_DESCRIPTOR_SET, OPENAPI_YAML};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let grpc_addr: std::net::SocketAddr = match args.next() {
        Some(addr) => addr.parse()?,
        None => rs_svc::serve::DEFAULT_GRPC_ADDR,
    };
    let http_addr: std::net::SocketAddr = match args.next() {
        Some(addr) => addr.parse()?,
        None => rs_svc::serve::DEFAULT_HTTP_ADDR,
    };
    let docs = match std::env::var("USER_SERVICE_DOCS_ASSETS") {
        Ok(dir) if std::path::Path::new(&dir).is_dir() => Docs::yaml(OPENAPI_YAML).assets_dir(dir),
        Ok(url) => Docs::yaml(OPENAPI_YAML).assets(url),
        Err(_) => Docs::yaml(OPENAPI_YAML),
    };
    // One implementation behind both protocols.
    let users = Arc::new(Users::default());
    let server = rs_svc::serve::Server::builder()
        .grpc(UserServiceServer::from_arc(users.clone()))
        .http(user_service_http::router(users))
        .http(docs.into_router())
        .file_descriptor_set(FILE_DESCRIPTOR_SET)
        .grpc_addr(grpc_addr)
        .http_addr(http_addr)
        .build()?
        .bind()
        .await?;
    eprintln!("user-service: gRPC on {}", server.grpc_addr());
    if let Some(http) = server.http_addr() {
        eprintln!("user-service: HTTP on {http}");
    }
    server.serve().await?;
    eprintln!("user-service: stopped");
    Ok(())
}
