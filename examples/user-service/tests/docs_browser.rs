//! The API docs page in a real browser: headless Chromium loads `/docs` from the example's HTTP
//! server on 127.0.0.1, the UI (Swagger UI or Redoc, from npm `swagger-ui-dist` and `redoc`,
//! served by `rs_svc::http::Docs::assets_dir`) fetches `/openapi.yaml` and renders it, and the
//! rendered DOM must show the service's operations.
//!
//! Chromium is `RS_SVC_CHROMIUM`, else `chromium` on PATH (Debian's package). The UI files are
//! `RS_SVC_SWAGGER_UI` and `RS_SVC_REDOC`, else under `~/.cache/rs-svc/tools/node/node_modules/`
//! (where `.ci/run` installs them). Without them the tests skip, unless
//! `RS_SVC_REQUIRE_BROWSER=1` (set by CI) makes that a failure. `RS_SVC_DOCS_SCREENSHOT=FILE.png`
//! also saves a screenshot of the Swagger UI page.

mod common;

use std::path::PathBuf;

use common::browser::{chromium, found, run_chromium as chromium_run};

use rs_svc::http::docs::{Docs, Ui};
use user_service_example::OPENAPI_YAML;

/// What the rendered page must show: every operation of the generated document, by id and by
/// path.
const OPERATION_IDS: [&str; 6] = [
    "UserService_GetUser",
    "UserService_ListUsers",
    "UserService_CreateUser",
    "UserService_WatchUsers",
    "UserService_ImportUsers",
    "UserService_LookupUsers",
];
const PATHS: [&str; 5] = [
    "/v1/users/{user}",
    "/v1/users",
    "/v1/users:watch",
    "/v1/users:import",
    "/v1/users:lookup",
];

fn ui_assets(env: &str, under_node_modules: &str) -> Option<PathBuf> {
    let path = std::env::var_os(env).map(PathBuf::from).or_else(|| {
        Some(
            PathBuf::from(std::env::var_os("HOME")?)
                .join(".cache/rs-svc/tools/node/node_modules")
                .join(under_node_modules),
        )
    });
    found(env, path, under_node_modules)
}

fn assert_shows(dom: &str, wanted: &[String]) {
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|w| !dom.contains(w.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "the rendered page lacks {missing:?}; its DOM:\n{}",
        &dom[..dom.len().min(4000)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_ui_page_renders_every_operation() {
    let (Some(chromium), Some(assets)) = (
        chromium(),
        ui_assets("RS_SVC_SWAGGER_UI", "swagger-ui-dist"),
    ) else {
        return;
    };
    let addr = common::start_http(Docs::yaml(OPENAPI_YAML).assets_dir(assets).into_router()).await;
    let url = format!("http://{addr}/docs");
    let dom = chromium_run(&chromium, &url, &["--dump-dom"]).await;
    // One block per operation, showing its method, path, summary and (displayOperationId) id.
    let mut wanted: Vec<String> = OPERATION_IDS.iter().map(|id| id.to_string()).collect();
    wanted.extend(PATHS.map(|path| format!("data-path=\"{path}\"")));
    wanted.push("Returns one user, or NOT_FOUND.".into());
    assert_shows(&dom, &wanted);
    assert_eq!(
        dom.matches("class=\"opblock-summary-method\"").count(),
        OPERATION_IDS.len(),
        "{dom}"
    );
    // "Try it out" targets this server first (`/`, the page's own origin), then the document's
    // default_host, which a local browser cannot reach.
    let server = |url: &str| dom.find(&format!("<option value=\"{url}\""));
    match (server("/"), server("https://user-service")) {
        (Some(this), Some(default_host)) => assert!(this < default_host, "{dom}"),
        servers => panic!("servers {servers:?} in the page's server list: {dom}"),
    }

    // A streaming operation, opened by its deep link, shows its WebSocket route: the sentence of
    // its description and the `x-rs-svc-websocket` extension (`showExtensions`), here its `halfClose`.
    let lookup = format!("{url}#/UserService/UserService_LookupUsers");
    let dom = chromium_run(&chromium, &lookup, &["--dump-dom"]).await;
    assert_shows(
        &dom,
        &[
            "Also served over WebSocket".into(),
            "An empty text frame ends the client's messages.".into(),
        ],
    );

    if let Some(png) = std::env::var_os("RS_SVC_DOCS_SCREENSHOT") {
        let png = PathBuf::from(png);
        let _ = std::fs::remove_file(&png);
        chromium_run(
            &chromium,
            &url,
            &[
                &format!("--screenshot={}", png.display()),
                "--window-size=1280,900",
            ],
        )
        .await;
        assert!(png.exists(), "no screenshot at {}", png.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redoc_page_renders_every_operation() {
    let (Some(chromium), Some(assets)) = (chromium(), ui_assets("RS_SVC_REDOC", "redoc/bundles"))
    else {
        return;
    };
    let addr = common::start_http(
        Docs::yaml(OPENAPI_YAML)
            .ui(Ui::Redoc)
            .path("/reference")
            .assets_dir(assets)
            .into_router(),
    )
    .await;
    let dom = chromium_run(
        &chromium,
        &format!("http://{addr}/reference"),
        &["--dump-dom"],
    )
    .await;
    // Redoc anchors each operation by tag and id, and prints its path.
    let mut wanted: Vec<String> = OPERATION_IDS
        .iter()
        .map(|id| format!("operation/{id}"))
        .collect();
    wanted.extend(PATHS.map(String::from));
    wanted.push("Lists users in name order, a page at a time.".into());
    // The streaming operations' WebSocket routes: a sentence of their description, and the
    // `x-rs-svc-websocket` extension (`showExtensions`), here its `halfClose`.
    wanted.push("Also served over WebSocket".into());
    wanted.push("An empty text frame ends the client's messages.".into());
    assert_shows(&dom, &wanted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_whose_assets_are_missing_shows_no_operations() {
    // The check above can fail: with the UI's files absent nothing renders.
    let Some(chromium) = chromium() else {
        return;
    };
    let empty = tempfile::tempdir().unwrap();
    let addr = common::start_http(
        Docs::yaml(OPENAPI_YAML)
            .assets_dir(empty.path())
            .into_router(),
    )
    .await;
    let dom = chromium_run(&chromium, &format!("http://{addr}/docs"), &["--dump-dom"]).await;
    assert!(dom.contains("<div id=\"swagger-ui\"></div>"), "{dom}");
    assert!(!dom.contains("UserService_GetUser"), "{dom}");
}
