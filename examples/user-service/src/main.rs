//! `user-service [GRPC_ADDR]`: serves the example's user service over gRPC (default
//! `0.0.0.0:9090`) with the health service and server reflection, until SIGTERM or Ctrl-C.

use user_service_example::user::v1::user_service_server::UserServiceServer;
use user_service_example::{Users, FILE_DESCRIPTOR_SET};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let grpc_addr: std::net::SocketAddr = match std::env::args().nth(1) {
        Some(addr) => addr.parse()?,
        None => rs_svc::serve::DEFAULT_GRPC_ADDR,
    };
    let server = rs_svc::serve::Server::builder()
        .grpc(UserServiceServer::new(Users::default()))
        .file_descriptor_set(FILE_DESCRIPTOR_SET)
        .grpc_addr(grpc_addr)
        .build()?
        .bind()
        .await?;
    eprintln!("user-service: gRPC on {}", server.grpc_addr());
    server.serve().await?;
    eprintln!("user-service: stopped");
    Ok(())
}
