//! Starts the example server on 127.0.0.1 for a test, and runs foreign tools against it.
// Each test crate compiles this module and uses part of it.
#![allow(dead_code)]

pub mod browser;

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use rs_svc::http::axum::Router;
use rs_svc::metrics::Metrics;
use rs_svc::serve::Builder;
use tonic::metadata::MetadataValue;
use user_service_example::user::v1::user_service_http;
use user_service_example::user::v1::user_service_server::UserServiceServer;
use user_service_example::{Users, FILE_DESCRIPTOR_SET};

/// The server's address, and the `grpc-timeout` of the last call it received.
pub struct Running {
    pub addr: SocketAddr,
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

/// Serves the user service's HTTP routes plus `extra` (the API docs, for example), as the
/// `user-service` binary does, on free ports; the HTTP address.
pub async fn start_http(extra: Router) -> SocketAddr {
    let users = Arc::new(Users::default());
    let server = rs_svc::serve::Server::builder()
        .grpc(UserServiceServer::from_arc(users.clone()))
        .http(user_service_http::router(users))
        .http(extra)
        .grpc_addr(([127, 0, 0, 1], 0))
        .http_addr(([127, 0, 0, 1], 0))
        .build()
        .unwrap()
        .bind()
        .await
        .unwrap();
    let addr = server.http_addr().unwrap();
    tokio::spawn(server.serve_with_shutdown(std::future::pending()));
    addr
}

/// The example's ports, serving until the test ends, and its metrics.
pub struct Example {
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    pub metrics: Metrics,
}

/// Serves the example as its binary builds it (`user_service_example::server`: gRPC-Web,
/// Connect and WebSocket on both ports, the JWT guard with `secret`), plus what `configure`
/// adds, on free ports of 127.0.0.1 in the background.
pub async fn serve_example(secret: &[u8], configure: impl FnOnce(Builder) -> Builder) -> Example {
    let jwt = user_service_example::token_verifier(secret).unwrap();
    let metrics = Metrics::new();
    let builder = user_service_example::server(Arc::new(Users::default()), &jwt, metrics.clone())
        .grpc_addr(([127, 0, 0, 1], 0))
        .http_addr(([127, 0, 0, 1], 0));
    let server = configure(builder).build().unwrap().bind().await.unwrap();
    let (grpc, http) = (server.grpc_addr(), server.http_addr().unwrap());
    tokio::spawn(server.serve_with_shutdown(std::future::pending()));
    Example {
        grpc,
        http,
        metrics,
    }
}

/// Asserts that `metrics` counted the `GetUser` calls as gRPC calls (as gRPC-Web and Connect
/// calls are: `transport="grpc"`, and nothing counted over HTTP): `ok` answered OK and
/// `not_found` NOT_FOUND.
pub fn assert_get_user_counted_as_grpc(metrics: &Metrics, ok: u32, not_found: u32) {
    let exposition = metrics.encode();
    for (code, calls) in [("OK", ok), ("NOT_FOUND", not_found)] {
        let line = format!(
            r#"rpc_server_calls_total{{rpc_method="user.v1.UserService/GetUser",rpc_grpc_status_code="{code}",transport="grpc"}} {calls}"#
        );
        assert!(exposition.contains(&line), "{line} in:\n{exposition}");
    }
    assert!(!exposition.contains(r#"transport="http""#), "{exposition}");
}

/// `builder` with the example's CORS for `origins`, or as it is when there are none.
pub fn with_cors(builder: Builder, origins: &[&str]) -> Builder {
    if origins.is_empty() {
        builder
    } else {
        builder.cors(user_service_example::cors(origins.iter().copied()))
    }
}

/// Whether curl is on the path; when it is not, the test skips, unless
/// `RS_SVC_REQUIRE_FOREIGN=1` (as CI sets it) makes that a failure.
pub fn curl_found() -> bool {
    let found = Command::new("curl").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var("RS_SVC_REQUIRE_FOREIGN").as_deref() != Ok("1"),
            "curl not found; .ci/run installs it"
        );
        eprintln!("skipping: curl not found");
    }
    found
}

/// Runs a tool off the async runtime, so the in-process server keeps serving; its output, or a
/// panic showing it when the tool fails.
pub async fn run(mut command: Command) -> Output {
    let shown = format!("{command:?}");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{shown}: {e}"));
    assert!(
        output.status.success(),
        "{shown} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A tool from the virtualenv `.ci/run` installs (`~/.cache/rs-svc/tools/venv/bin/<name>`), or
/// from the path in `env`. `None` (the test skips) when it is missing, unless the variable
/// `require` is `1`, as CI sets it: then a missing tool fails the test.
#[allow(dead_code)]
pub fn venv_tool(env: &str, name: &str, require: &str) -> Option<std::path::PathBuf> {
    let path = match std::env::var_os(env) {
        Some(path) => std::path::PathBuf::from(path),
        None => std::path::PathBuf::from(std::env::var_os("HOME")?)
            .join(".cache/rs-svc/tools/venv/bin")
            .join(name),
    };
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var(require).as_deref() != Ok("1"),
        "{} not found (set {env}); .ci/run installs it",
        path.display()
    );
    eprintln!("skipping: {} not found (set {env})", path.display());
    None
}
