//! Finding headless Chromium, node and the npm packages the browser tests use, and running
//! Chromium on a page. A missing tool skips the test, unless `RS_SVC_REQUIRE_BROWSER=1` (set by
//! `.ci/run`) makes it a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

fn required() -> bool {
    std::env::var("RS_SVC_REQUIRE_BROWSER").as_deref() == Ok("1")
}

/// `path` when it exists, else `None` (skip) unless the browser tests are required.
pub fn found(env: &str, path: Option<PathBuf>, what: &str) -> Option<PathBuf> {
    if let Some(path) = path.filter(|p| p.exists()) {
        return Some(path);
    }
    assert!(
        !required(),
        "{what} not found (set {env}); .ci/run installs it"
    );
    eprintln!("skipping: {what} not found (set {env})");
    None
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.exists())
}

/// `RS_SVC_CHROMIUM`, else `chromium` on PATH (Debian's package).
pub fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("RS_SVC_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| on_path("chromium"));
    found("RS_SVC_CHROMIUM", path, "chromium")
}

/// `RS_SVC_NODE`, else `node` on PATH.
pub fn node() -> Option<PathBuf> {
    let path = std::env::var_os("RS_SVC_NODE")
        .map(PathBuf::from)
        .or_else(|| on_path("node"));
    found("RS_SVC_NODE", path, "node")
}

/// The `node_modules` holding the gRPC-Web clients (`@connectrpc/connect-node`,
/// `@connectrpc/connect-web`, `@bufbuild/protobuf`, `grpc-web`, `xhr2`):
/// `RS_SVC_BROWSER_NODE_MODULES`, else `~/.cache/rs-svc/tools/browser/node_modules`, where
/// `.ci/run` installs them.
pub fn grpc_web_packages() -> Option<PathBuf> {
    let path = std::env::var_os("RS_SVC_BROWSER_NODE_MODULES")
        .map(PathBuf::from)
        .or_else(|| {
            Some(
                PathBuf::from(std::env::var_os("HOME")?)
                    .join(".cache/rs-svc/tools/browser/node_modules"),
            )
        })
        .filter(|dir| {
            dir.join("@connectrpc/connect-web").exists() && dir.join("grpc-web").exists()
        });
    found(
        "RS_SVC_BROWSER_NODE_MODULES",
        path,
        "the npm gRPC-Web clients",
    )
}

/// Headless Chromium on `url` with `extra` arguments (`--dump-dom`, `--screenshot=...`); its
/// standard output. Virtual time lets the page's scripts and fetches finish first, without a
/// fixed sleep.
pub async fn run_chromium(chromium: &Path, url: &str, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut command = Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--hide-scrollbars",
            "--virtual-time-budget=20000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url);
    let output = super::run(command).await;
    String::from_utf8(output.stdout).unwrap()
}

/// Headless Chromium on `url`: its DOM once the page's scripts and fetches are done.
pub async fn dump_dom(chromium: &Path, url: &str) -> String {
    run_chromium(chromium, url, &["--dump-dom"]).await
}
