//! Foreign clients against the example server on 127.0.0.1: Python `grpcio` (with its health
//! client and `grpc_status` for error details) and `grpcurl`, which knows the API only through
//! server reflection.
//!
//! The tools come from a Python virtualenv: `RS_SVC_PYTHON` and `RS_SVC_GRPCURL` name them,
//! else `~/.cache/rs-svc/tools/venv/bin/` (where `.ci/run` installs them). Without them the
//! tests skip, unless `RS_SVC_REQUIRE_FOREIGN=1` (set by CI) makes that a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::run;

fn tool(env: &str, name: &str) -> Option<PathBuf> {
    common::venv_tool(env, name, "RS_SVC_REQUIRE_FOREIGN")
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_grpcio_calls_every_method_kind_and_the_health_service() {
    let Some(python) = tool("RS_SVC_PYTHON", "python") else {
        return;
    };
    // Python stubs for the example proto; google/api comes from the repository's copies.
    let stubs = tempfile::tempdir().unwrap();
    let mut protoc = Command::new(&python);
    protoc
        .args(["-m", "grpc_tools.protoc", "-I"])
        .arg(manifest_dir().join("proto"))
        .arg("-I")
        .arg(manifest_dir().join("../../proto"))
        .arg(format!("--python_out={}", stubs.path().display()))
        .arg(format!("--grpc_python_out={}", stubs.path().display()))
        .arg("user/v1/user.proto");
    run(protoc).await;

    let server = common::start().await;
    let mut client = Command::new(&python);
    client
        .arg(manifest_dir().join("tests/grpcio_client.py"))
        .arg(stubs.path())
        .arg(server.addr.to_string());
    let output = run(client).await;
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "grpcio: ok");
}

/// `grpcurl -plaintext [flags] ADDR [rest]`, and what it printed.
async fn grpcurl(path: &Path, addr: std::net::SocketAddr, flags: &[&str], rest: &[&str]) -> String {
    let mut command = Command::new(path);
    command
        .args(["-plaintext", "-max-time", "10"])
        .args(flags)
        .arg(addr.to_string())
        .args(rest);
    String::from_utf8(run(command).await.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_discovers_and_calls_the_api_through_reflection() {
    let Some(path) = tool("RS_SVC_GRPCURL", "grpcurl") else {
        return;
    };
    let server = common::start().await;
    let addr = server.addr;

    let services = grpcurl(&path, addr, &[], &["list"]).await;
    let services: Vec<&str> = services.lines().collect();
    for expected in [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "user.v1.UserService",
    ] {
        assert!(services.contains(&expected), "{expected} in {services:?}");
    }

    let described = grpcurl(&path, addr, &[], &["describe", "user.v1.User"]).await;
    assert!(
        described.contains("string display_name = 2;"),
        "{described}"
    );

    let body = r#"{"userId": "lin", "user": {"displayName": "Lin", "email": "lin@example.com"}}"#;
    let created = grpcurl(
        &path,
        addr,
        &["-d", body],
        &["user.v1.UserService/CreateUser"],
    )
    .await;
    assert!(created.contains(r#""name": "users/lin""#), "{created}");
    assert!(created.contains(r#""createTime": ""#), "{created}");

    let health = grpcurl(
        &path,
        addr,
        &["-d", r#"{"service": "user.v1.UserService"}"#],
        &["grpc.health.v1.Health/Check"],
    )
    .await;
    assert!(health.contains(r#""status": "SERVING""#), "{health}");
}
