//! What the tests share: serving on 127.0.0.1.
// Each test crate compiles this module and uses part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

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

// Foreign clients: curl comes from `RS_SVC_CURL`, else `PATH`; grpcurl from `RS_SVC_GRPCURL`,
// else the virtualenv `.ci/run` installs into. A missing tool skips the part that needs it,
// unless `RS_SVC_REQUIRE_FOREIGN=1` (set by CI) makes that a failure.

/// What a command printed, and whether it succeeded.
pub struct Ran {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a command off the runtime's thread, so the server keeps serving meanwhile.
pub async fn run(program: &Path, args: Vec<String>) -> Ran {
    let program = program.to_owned();
    let output = tokio::task::spawn_blocking(move || Command::new(program).args(args).output())
        .await
        .unwrap()
        .unwrap();
    Ran {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A foreign tool from `env`, else `fallback`; `None` (skip) when missing, unless
/// `RS_SVC_REQUIRE_FOREIGN=1`.
pub fn tool(env: &str, fallback: PathBuf) -> Option<PathBuf> {
    let path = std::env::var_os(env).map_or(fallback, PathBuf::from);
    let found = if path.components().count() == 1 {
        Command::new(&path).arg("--version").output().is_ok()
    } else {
        path.exists()
    };
    if found {
        return Some(path);
    }
    assert!(
        std::env::var("RS_SVC_REQUIRE_FOREIGN").as_deref() != Ok("1"),
        "{} not found (set {env}); .ci/run installs it",
        path.display()
    );
    eprintln!("skipping: {} not found (set {env})", path.display());
    None
}

pub fn curl_path() -> Option<PathBuf> {
    tool("RS_SVC_CURL", PathBuf::from("curl"))
}

pub fn grpcurl_path() -> Option<PathBuf> {
    let venv = PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
        .join(".cache/rs-svc/tools/venv/bin/grpcurl");
    tool("RS_SVC_GRPCURL", venv)
}
