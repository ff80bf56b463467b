//! What the HTTP tests share: serving a router on 127.0.0.1.

use std::net::SocketAddr;

/// Serves `router` over HTTP on a free loopback port, in the background, with the runtime's
/// server (the gRPC side is required by the builder and left empty).
pub async fn serve_http(router: rs_svc::http::axum::Router) -> SocketAddr {
    let listening = rs_svc::serve::Server::builder()
        .http(router)
        .grpc_addr(([127, 0, 0, 1], 0))
        .http_addr(([127, 0, 0, 1], 0))
        .build()
        .unwrap()
        .bind()
        .await
        .unwrap();
    let addr = listening.http_addr().unwrap();
    tokio::spawn(listening.serve_with_shutdown(std::future::pending()));
    addr
}
