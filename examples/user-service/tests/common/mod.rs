//! Starts the example server on 127.0.0.1 for a test.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tonic::metadata::MetadataValue;
use user_service_example::user::v1::user_service_server::UserServiceServer;
use user_service_example::{Users, FILE_DESCRIPTOR_SET};

/// The server's address, and the `grpc-timeout` of the last call it received.
pub struct Running {
    pub addr: SocketAddr,
    // Read by the deadline test only; each test crate compiles this module.
    #[allow(dead_code)]
    pub last_timeout: Arc<Mutex<Option<String>>>,
}

/// Serves the user service with health and reflection on a free port, in the background.
pub async fn start() -> Running {
    let last_timeout = Arc::new(Mutex::new(None));
    let seen = last_timeout.clone();
    // The interceptor records the deadline each call arrived with.
    let service = UserServiceServer::new(Users::default());
    let service = tonic::service::interceptor::InterceptedService::new(
        service,
        move |request: tonic::Request<()>| {
            let timeout = request.metadata().get("grpc-timeout");
            *seen.lock().unwrap() = timeout
                .and_then(|v: &MetadataValue<_>| v.to_str().ok())
                .map(str::to_owned);
            Ok(request)
        },
    );
    let server = rs_svc::serve::Server::builder()
        .grpc(service)
        .file_descriptor_set(FILE_DESCRIPTOR_SET)
        .grpc_addr(([127, 0, 0, 1], 0))
        .build()
        .unwrap()
        .bind()
        .await
        .unwrap();
    let addr = server.grpc_addr();
    tokio::spawn(server.serve_with_shutdown(std::future::pending()));
    Running { addr, last_timeout }
}
