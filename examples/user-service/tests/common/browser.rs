//! Finding headless Chromium, node and the npm packages the browser tests use, and running
//! Chromium on a page. A missing tool skips the test, unless `RS_SVC_REQUIRE_BROWSER=1` (set by
//! `.ci/run`) makes it a failure.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rs_svc::http::axum::{self, routing::get, Router};
use rs_svc::serve::Server;
use serde_json::Value;
use user_service_example::FILE_DESCRIPTOR_SET;

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

/// What a node client script (`grpc_web_client.cjs`, `connect_client.cjs`) printed, as JSON,
/// after calling the server at `addr` with the descriptor set in `descriptors` and the npm
/// `packages` on its module path.
pub async fn node_client(
    node: &Path,
    script: &Path,
    addr: SocketAddr,
    descriptors: &Path,
    packages: &Path,
) -> Value {
    let mut command = Command::new(node);
    command
        .arg(script)
        .arg(format!("http://{addr}"))
        .arg(descriptors)
        .env("NODE_PATH", packages);
    let output = super::run(command).await;
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{} printed no JSON ({e}): {}",
            script.display(),
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// How the tests run Chromium: headless, quiet, on a profile of its own.
const HEADLESS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--hide-scrollbars",
];

/// Headless Chromium on `url` with `extra` arguments (`--dump-dom`, `--screenshot=...`); its
/// standard output. Virtual time lets the page's scripts and fetches finish first, without a
/// fixed sleep.
pub async fn run_chromium(chromium: &Path, url: &str, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut command = Command::new(chromium);
    command
        .args(HEADLESS)
        .arg("--virtual-time-budget=20000")
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url);
    let output = super::run(command).await;
    String::from_utf8(output.stdout).unwrap()
}

/// What pages reported to a [`report_route`].
pub type Reports = tokio::sync::mpsc::Receiver<String>;

/// A `POST /report` route whose bodies come out of the returned receiver: where a page sends
/// its outcome for [`page_report`].
pub fn report_route() -> (Router, Reports) {
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let route = Router::new().route(
        "/report",
        axum::routing::post(move |body: String| {
            let sender = sender.clone();
            async move {
                let _ = sender.send(body).await;
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    (route, receiver)
}

/// Headless Chromium on `url` in real time until the page posts its outcome to
/// [`report_route`]; that outcome. For pages whose work virtual time does not wait for (a
/// WebSocket: `--dump-dom` may be taken while the socket is still open). Chromium is stopped
/// once the report is in, or after a minute, when the test fails.
pub async fn page_report(chromium: &Path, url: &str, reports: &mut Reports) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium)
        .args(HEADLESS)
        // Keeps headless Chromium running after the page loaded, until it is stopped here.
        .arg("--remote-debugging-port=0")
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromium starts");
    let report = tokio::time::timeout(std::time::Duration::from_secs(60), reports.recv()).await;
    let _ = child.kill();
    let _ = child.wait();
    report
        .expect("the page reports its outcome within a minute")
        .expect("the report route is served")
}

/// What every test page's module script begins with: an import map of the npm packages under
/// `/m/`, and `out`, which the script fills and `show()` reports (see [`page_outcome`]).
const PAGE_HEAD: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>rs-svc from a page</title>
<script type="importmap">
{"imports": {
  "@bufbuild/protobuf": "/m/@bufbuild/protobuf/dist/esm/index.js",
  "@bufbuild/protobuf/codegenv2": "/m/@bufbuild/protobuf/dist/esm/codegenv2/index.js",
  "@bufbuild/protobuf/reflect": "/m/@bufbuild/protobuf/dist/esm/reflect/index.js",
  "@bufbuild/protobuf/wire": "/m/@bufbuild/protobuf/dist/esm/wire/index.js",
  "@bufbuild/protobuf/wkt": "/m/@bufbuild/protobuf/dist/esm/wkt/index.js",
  "@connectrpc/connect": "/m/@connectrpc/connect/dist/esm/index.js",
  "@connectrpc/connect/protocol": "/m/@connectrpc/connect/dist/esm/protocol/index.js",
  "@connectrpc/connect/protocol-connect": "/m/@connectrpc/connect/dist/esm/protocol-connect/index.js",
  "@connectrpc/connect/protocol-grpc-web": "/m/@connectrpc/connect/dist/esm/protocol-grpc-web/index.js",
  "@connectrpc/connect-web": "/m/@connectrpc/connect-web/dist/esm/index.js",
  "grpc-web": "/m/grpc-web/index.esm.js"
}}
</script></head>
<body>
<script type="module">
const out = {};
const show = () => fetch("/report", { method: "POST", body: JSON.stringify(out) });
"#;

/// Serves a page at `/page.html` whose module script is `script` after [`PAGE_HEAD`], the
/// example's descriptor set at `/descriptors.pb`, the npm packages (under `/m/`) and a
/// [`report_route`] from one origin, until the test ends; its address and the page's reports.
pub async fn page_server(packages: PathBuf, script: &'static str) -> (SocketAddr, Reports) {
    use axum::extract::Path as UrlPath;
    use axum::response::IntoResponse;
    let page = format!("{PAGE_HEAD}{script}</script></body></html>\n");
    let packages = Arc::new(packages);
    let files = Router::new()
        .route(
            "/page.html",
            get(move || {
                let page = page.clone();
                async move { ([("content-type", "text/html; charset=utf-8")], page) }
            }),
        )
        .route(
            "/descriptors.pb",
            get(|| async {
                (
                    [("content-type", "application/octet-stream")],
                    FILE_DESCRIPTOR_SET,
                )
            }),
        )
        .route(
            "/m/{*file}",
            get(move |UrlPath(file): UrlPath<String>| {
                let packages = packages.clone();
                async move {
                    if file.split('/').any(|segment| segment == "..") {
                        return axum::http::StatusCode::NOT_FOUND.into_response();
                    }
                    match std::fs::read(packages.join(&file)) {
                        Ok(bytes) => ([("content-type", "text/javascript; charset=utf-8")], bytes)
                            .into_response(),
                        Err(_) => axum::http::StatusCode::NOT_FOUND.into_response(),
                    }
                }
            }),
        );
    let (report, reports) = report_route();
    let server = Server::builder()
        .http(files.merge(report))
        .single_port(([127, 0, 0, 1], 0))
        .build()
        .unwrap()
        .bind()
        .await
        .unwrap();
    let addr = server.grpc_addr();
    tokio::spawn(server.serve_with_shutdown(std::future::pending()));
    (addr, reports)
}

/// What the page at `/page.html` of `page_origin` reported (to its origin's `/report`) when
/// calling the API server at `api` (its address goes in `?api=`).
pub async fn page_outcome(
    chromium: &Path,
    page_origin: &str,
    reports: &mut Reports,
    api: SocketAddr,
) -> Value {
    let url = format!("{page_origin}/page.html?api=http://{api}");
    let reported = page_report(chromium, &url, reports).await;
    serde_json::from_str(&reported).unwrap_or_else(|_| panic!("the page reported {reported:?}"))
}
