//! What the tests share: serving on 127.0.0.1.
// Each test crate compiles this module and uses part of it.
#![allow(dead_code)]

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

/// Where [`serve`] serves.
pub struct Served {
    pub grpc: SocketAddr,
    pub http: SocketAddr,
}

/// Serves `builder` (its gRPC services and HTTP routes) on two free loopback ports, in the
/// background, until the test's runtime ends.
pub async fn serve(builder: rs_svc::serve::Builder) -> Served {
    let listening = builder
        .grpc_addr(([127, 0, 0, 1], 0))
        .http_addr(([127, 0, 0, 1], 0))
        .build()
        .unwrap()
        .bind()
        .await
        .unwrap();
    let served = Served {
        grpc: listening.grpc_addr(),
        http: listening.http_addr().unwrap(),
    };
    tokio::spawn(listening.serve_with_shutdown(std::future::pending()));
    served
}
