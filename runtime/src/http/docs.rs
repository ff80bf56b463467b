//! Serving an OpenAPI document and a page that renders it with Swagger UI or Redoc.
//!
//! The page is a few lines of HTML that load the UI's JavaScript and CSS from an asset base
//! (a CDN by default, or files of `swagger-ui-dist` / `redoc` served from a local directory)
//! and point it at the document, which the same router serves:
//!
//! ```
//! use rs_svc::http::docs::{docs_router, Docs, Format, Ui};
//!
//! const OPENAPI: &str = "openapi: 3.1.0\ninfo: {title: Shop, version: v1}\npaths: {}\n";
//!
//! // GET /openapi.yaml and GET /docs (Swagger UI from unpkg.com).
//! let docs = docs_router(OPENAPI, Format::Yaml);
//!
//! // Redoc, its bundle served from a local directory at /api-docs/assets/.
//! let docs = Docs::yaml(OPENAPI)
//!     .ui(Ui::Redoc)
//!     .path("/api-docs")
//!     .assets_dir("node_modules/redoc/bundles")
//!     .into_router();
//! # let _: rs_svc::http::axum::Router = docs;
//! ```
//!
//! "Try it out" calls the server that serves the page: the served document lists this server
//! (the relative URL `/`, the origin the document came from) first among its `servers`, before
//! the `google.api.default_host` the plugin wrote there, which a browser on a developer's machine
//! usually cannot reach ([`Docs::this_server_first`], docs/reference.md section 13).
//!
//! The document and the page answer with an `ETag` and `Cache-Control: no-cache`, so browsers
//! revalidate and get `304 Not Modified` until the document changes. The page links the
//! document and local assets by relative URLs, so the router still works when nested under a
//! prefix.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Path as UrlPath;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, StatusCode};

/// The Swagger UI files the page loads when no asset base is configured.
pub const SWAGGER_UI_CDN: &str = "https://unpkg.com/swagger-ui-dist@5";
/// The Redoc files the page loads when no asset base is configured.
pub const REDOC_CDN: &str = "https://unpkg.com/redoc@2/bundles";

/// The serialization of an OpenAPI document, which decides its URL and content type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `application/yaml`, served at `/openapi.yaml` by default.
    Yaml,
    /// `application/json`, served at `/openapi.json` by default.
    Json,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Yaml => "application/yaml",
            Format::Json => "application/json",
        }
    }

    fn default_path(self) -> &'static str {
        match self {
            Format::Yaml => "/openapi.yaml",
            Format::Json => "/openapi.json",
        }
    }
}

/// The documentation UI the page loads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Ui {
    /// Swagger UI (`swagger-ui-dist`: `swagger-ui-bundle.js` and `swagger-ui.css`), with
    /// operation ids shown and "try it out" against this server.
    #[default]
    SwaggerUi,
    /// Redoc (`redoc/bundles`: `redoc.standalone.js`), a three-panel reference.
    Redoc,
}

/// Builds the router serving an OpenAPI document and its docs page; see the
/// [module docs](self). [`docs_router`] is the short form with every default.
#[derive(Clone, Debug)]
pub struct Docs {
    document: Bytes,
    format: Format,
    ui: Ui,
    assets: Option<String>,
    assets_dir: Option<PathBuf>,
    path: String,
    document_path: Option<String>,
    title: String,
    this_server_first: bool,
}

/// The router serving `document` at `/openapi.yaml` (or `/openapi.json`) and a Swagger UI
/// page for it at `/docs`, with the UI's assets from [`SWAGGER_UI_CDN`]:
/// `Docs::new(document, format).into_router()`.
pub fn docs_router(document: impl Into<Bytes>, format: Format) -> Router {
    Docs::new(document, format).into_router()
}

impl Docs {
    /// A document as written by the plugin, for example `include_str!` of a generated
    /// `.openapi.yaml`. It is served as is.
    pub fn new(document: impl Into<Bytes>, format: Format) -> Self {
        Docs {
            document: document.into(),
            format,
            ui: Ui::default(),
            assets: None,
            assets_dir: None,
            path: "/docs".to_owned(),
            document_path: None,
            title: "API documentation".to_owned(),
            this_server_first: true,
        }
    }

    /// `Docs::new(document, Format::Yaml)`: the plugin's default output.
    pub fn yaml(document: impl Into<Bytes>) -> Self {
        Docs::new(document, Format::Yaml)
    }

    /// `Docs::new(document, Format::Json)`, for `openapi_format=json`.
    pub fn json(document: impl Into<Bytes>) -> Self {
        Docs::new(document, Format::Json)
    }

    /// The UI; default [`Ui::SwaggerUi`].
    pub fn ui(mut self, ui: Ui) -> Self {
        self.ui = ui;
        self
    }

    /// Where the page loads the UI's files from, without the file names: an absolute URL
    /// (`https://cdn.example/swagger-ui-dist@5.35.0`) or a path on this server
    /// (`/static/swagger-ui`). Default [`SWAGGER_UI_CDN`] or [`REDOC_CDN`];
    /// [`Docs::assets_dir`] replaces it.
    pub fn assets(mut self, base: impl Into<String>) -> Self {
        self.assets = Some(base.into().trim_end_matches('/').to_owned());
        self.assets_dir = None;
        self
    }

    /// Serves the UI's files from a local directory under `<path>/assets/`, and the page loads
    /// them from there: for example `node_modules/swagger-ui-dist` or
    /// `node_modules/redoc/bundles` of an `npm install`. Files are read on each request; names
    /// with `.` or `..` segments or hidden files are not served.
    pub fn assets_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.assets_dir = Some(dir.into());
        self.assets = None;
        self
    }

    /// The page's path; default `/docs`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = absolute(path.into());
        self
    }

    /// The document's path; default `/openapi.yaml` or `/openapi.json` by format.
    pub fn document_path(mut self, path: impl Into<String>) -> Self {
        self.document_path = Some(absolute(path.into()));
        self
    }

    /// The page's `<title>`; default "API documentation". The UI shows the document's own
    /// `info.title`.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Whether the served document lists this server first among its `servers` (default on), so
    /// that "Try it out" calls the server that serves the page: the relative URL `/`, which
    /// OpenAPI resolves against the document's own URL, goes first, and the servers the document
    /// names (its `google.api.default_host`) follow. A document without `servers` already means
    /// this server and is served as it is, and so is every document when this is off. (A YAML
    /// document keeps its text but for the `servers` list; a JSON one is written out again,
    /// pretty-printed with its keys in sorted order.)
    pub fn this_server_first(mut self, on: bool) -> Self {
        self.this_server_first = on;
        self
    }

    /// The document as served: see [`Docs::this_server_first`].
    pub fn document(&self) -> Bytes {
        if !self.this_server_first {
            return self.document.clone();
        }
        let listed = match self.format {
            Format::Yaml => std::str::from_utf8(&self.document)
                .ok()
                .and_then(yaml_this_server_first)
                .map(Bytes::from),
            Format::Json => json_this_server_first(&self.document).map(Bytes::from),
        };
        listed.unwrap_or_else(|| self.document.clone())
    }

    /// The page as served.
    pub fn html(&self) -> String {
        let document = relative(&self.path, self.document_url_path());
        let assets = match (&self.assets, &self.assets_dir) {
            (Some(base), _) => base.clone(),
            (None, Some(_)) => relative(&self.path, &self.assets_route_base()),
            (None, None) => match self.ui {
                Ui::SwaggerUi => SWAGGER_UI_CDN.to_owned(),
                Ui::Redoc => REDOC_CDN.to_owned(),
            },
        };
        let title = html_escape(&self.title);
        let mut page = String::new();
        page.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        let _ = writeln!(page, "<title>{title}</title>");
        match self.ui {
            Ui::SwaggerUi => {
                let _ = writeln!(
                    page,
                    "<link rel=\"stylesheet\" href=\"{}\">\n</head>\n<body style=\"margin:0\">\n\
                     <div id=\"swagger-ui\"></div>\n<script src=\"{}\"></script>\n\
                     <script>\nwindow.ui = SwaggerUIBundle({{url: {}, dom_id: \"#swagger-ui\", \
                     deepLinking: true, displayOperationId: true, \
                     showExtensions: true}});\n</script>",
                    html_escape(&format!("{assets}/swagger-ui.css")),
                    html_escape(&format!("{assets}/swagger-ui-bundle.js")),
                    js_string(&document),
                );
            }
            Ui::Redoc => {
                let _ = writeln!(
                    page,
                    "</head>\n<body style=\"margin:0\">\n<div id=\"redoc\"></div>\n\
                     <script src=\"{}\"></script>\n<script>\n\
                     Redoc.init({}, {{showExtensions: true}}, document.getElementById(\"redoc\"));\n</script>",
                    html_escape(&format!("{assets}/redoc.standalone.js")),
                    js_string(&document),
                );
            }
        }
        page.push_str("</body>\n</html>\n");
        page
    }

    /// The router: `GET` (and `HEAD`) of the document, the page and, with
    /// [`Docs::assets_dir`], the asset files.
    pub fn into_router(self) -> Router {
        let page = Cached::new(self.html(), "text/html; charset=utf-8");
        let document = Cached::new(self.document(), self.format.content_type());
        let mut router = Router::new()
            .route(
                self.document_url_path(),
                get(move |headers: HeaderMap| async move { document.respond(&headers) }),
            )
            .route(
                &self.path,
                get(move |headers: HeaderMap| async move { page.respond(&headers) }),
            );
        if let Some(dir) = self.assets_dir.clone() {
            let dir = Arc::new(dir);
            router = router.route(
                &format!("{}/{{*file}}", self.assets_route_base()),
                get(
                    move |UrlPath(file): UrlPath<String>, headers: HeaderMap| async move {
                        asset(&dir, &file, &headers).await
                    },
                ),
            );
        }
        router
    }

    fn document_url_path(&self) -> &str {
        self.document_path
            .as_deref()
            .unwrap_or_else(|| self.format.default_path())
    }

    fn assets_route_base(&self) -> String {
        format!("{}/assets", self.path.trim_end_matches('/'))
    }
}

/// A body served with a strong `ETag` from its content, answering `If-None-Match` with 304.
#[derive(Clone)]
struct Cached {
    body: Bytes,
    content_type: HeaderValue,
    etag: HeaderValue,
}

impl Cached {
    fn new(body: impl Into<Bytes>, content_type: &'static str) -> Self {
        let body = body.into();
        let etag = HeaderValue::try_from(format!("\"{:016x}\"", fnv1a(&body)))
            .expect("hex is a valid header value");
        Cached {
            body,
            content_type: HeaderValue::from_static(content_type),
            etag,
        }
    }

    fn respond(&self, request: &HeaderMap) -> http::Response<Body> {
        let fresh = request
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|tag| tag.trim())
            .any(|tag| {
                tag == "*" || tag.trim_start_matches("W/").as_bytes() == self.etag.as_bytes()
            });
        let mut response = if fresh {
            let mut response = http::Response::new(Body::empty());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            response
        } else {
            let mut response = http::Response::new(Body::from(self.body.clone()));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, self.content_type.clone());
            response
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, self.etag.clone());
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        response
    }
}

/// One file under `dir`, named by a URL path whose segments are all plain names.
async fn asset(dir: &Path, file: &str, headers: &HeaderMap) -> http::Response<Body> {
    let plain = |segment: &str| {
        !segment.is_empty() && !segment.starts_with('.') && !segment.contains(['\\', '\0', ':'])
    };
    if !file.split('/').all(plain) {
        return status_only(StatusCode::NOT_FOUND);
    }
    let path = dir.join(file);
    let read = tokio::task::spawn_blocking(move || std::fs::read(path)).await;
    match read {
        Ok(Ok(bytes)) => Cached::new(bytes, content_type(file)).respond(headers),
        Ok(Err(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::IsADirectory
            ) =>
        {
            status_only(StatusCode::NOT_FOUND)
        }
        _ => status_only(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

fn status_only(status: StatusCode) -> http::Response<Body> {
    let mut response = http::Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// The content types of the files that `swagger-ui-dist` and `redoc` ship.
fn content_type(file: &str) -> &'static str {
    match file.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn absolute(path: String) -> String {
    if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    }
}

/// The URL of absolute path `to` relative to a page at absolute path `page`, so that the page
/// still finds it when the router is nested under a prefix.
fn relative(page: &str, to: &str) -> String {
    let page_dir: Vec<&str> = match page.rsplit_once('/') {
        Some((dir, _)) => dir.split('/').skip(1).collect(),
        None => Vec::new(),
    };
    let target: Vec<&str> = to.split('/').skip(1).collect();
    let common = page_dir
        .iter()
        .zip(&target)
        .take_while(|(a, b)| a == b)
        .count()
        // Keep at least the target's last segment.
        .min(target.len().saturating_sub(1));
    let mut out = "../".repeat(page_dir.len() - common);
    out.push_str(&target[common..].join("/"));
    // Empty would be the page itself; a first segment like `a:b` would read as a scheme.
    if out
        .split('/')
        .next()
        .is_some_and(|first| first.is_empty() || first.contains(':'))
    {
        out.insert_str(0, "./");
    }
    out
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A JavaScript string literal that is safe inside an HTML `<script>` element.
fn js_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            // `<`, `>` and `&` escaped keep `</script>` and `<!--` out of the element.
            '<' | '>' | '&' | '\'' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The server entry that means "the server this document came from".
const THIS_SERVER_URL: &str = "/";
const THIS_SERVER_DESCRIPTION: &str = "this server (the one serving these docs)";

/// A YAML document as the plugin writes it (`servers:` at the top level, then one `- url: ...`
/// item per server) with the entry for this server first and only there; `None` when the
/// document has no such list (or is shaped otherwise), to be served as it is.
fn yaml_this_server_first(document: &str) -> Option<String> {
    let lines: Vec<&str> = document.split_inclusive('\n').collect();
    let start = lines
        .iter()
        .position(|line| line.trim_end() == "servers:")?;
    let mut end = start + 1;
    while end < lines.len() && (lines[end].starts_with("- ") || lines[end].starts_with("  ")) {
        end += 1;
    }
    if end == start + 1 || !lines[start + 1].starts_with("- ") {
        return None;
    }
    // Items, each its `- ` line and the indented lines after it.
    let mut items: Vec<String> = Vec::new();
    for line in &lines[start + 1..end] {
        match items.last_mut() {
            Some(item) if line.starts_with("  ") => item.push_str(line),
            _ => items.push((*line).to_owned()),
        }
    }
    let this_server = |item: &String| {
        item.lines().next().map(str::trim_end) == Some(&format!("- url: {THIS_SERVER_URL}"))
    };
    let mut out: String = lines[..=start].concat();
    out.push_str(&format!(
        "- url: {THIS_SERVER_URL}\n  description: {THIS_SERVER_DESCRIPTION}\n"
    ));
    for item in items.iter().filter(|item| !this_server(item)) {
        out.push_str(item);
    }
    out.push_str(&lines[end..].concat());
    Some(out)
}

/// The JSON document with the entry for this server first among its `servers`, and only there;
/// `None` when it has no `servers` list (or is not a JSON object).
fn json_this_server_first(document: &[u8]) -> Option<String> {
    let mut document: serde_json::Value = serde_json::from_slice(document).ok()?;
    let servers = document.get_mut("servers")?.as_array_mut()?;
    servers.retain(|server| server.get("url").and_then(|u| u.as_str()) != Some(THIS_SERVER_URL));
    servers.insert(
        0,
        serde_json::json!({"url": THIS_SERVER_URL, "description": THIS_SERVER_DESCRIPTION}),
    );
    serde_json::to_string_pretty(&document).ok()
}

/// FNV-1a, 64 bits: a stable content hash for ETags, the same across restarts and builds.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    const DOCUMENT: &str = "openapi: 3.1.0\ninfo: {title: Test, version: v1}\npaths: {}\n";

    async fn get(
        router: &Router,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, String) {
        let mut request = Request::get(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
        headers.get(name).map_or("", |v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn document_is_served_as_is_with_its_format_content_type() {
        for (format, uri, content_type) in [
            (Format::Yaml, "/openapi.yaml", "application/yaml"),
            (Format::Json, "/openapi.json", "application/json"),
        ] {
            let router = docs_router(DOCUMENT, format);
            let (status, headers, body) = get(&router, uri, &[]).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert_eq!(header(&headers, "content-type"), content_type);
            assert_eq!(header(&headers, "cache-control"), "no-cache");
            assert_eq!(body, DOCUMENT);
        }
    }

    #[test]
    fn the_served_document_lists_this_server_first_and_once() {
        let head = "openapi: 3.1.0\ninfo:\n  title: T\n  version: v1\n";
        let this = "- url: /\n  description: this server (the one serving these docs)\n";
        let cases: [(&str, String); 5] = [
            // default_host first: this server goes before it.
            (
                "servers:\n- url: https://user-service\ntags:\n- name: A\n",
                format!("servers:\n{this}- url: https://user-service\ntags:\n- name: A\n"),
            ),
            // Already listed, but second (two services, one without a default_host).
            (
                "servers:\n- url: https://iam.example.com\n- url: /\npaths: {}\n",
                format!("servers:\n{this}- url: https://iam.example.com\npaths: {{}}\n"),
            ),
            // Only this server.
            ("servers:\n- url: /\n", format!("servers:\n{this}")),
            // An item over several lines stays whole.
            (
                "servers:\n- url: https://a.example\n  description: A\npaths: {}\n",
                format!(
                    "servers:\n{this}- url: https://a.example\n  description: A\npaths: {{}}\n"
                ),
            ),
            // No servers: already this server; served as is.
            ("paths: {}\n", "paths: {}\n".to_owned()),
        ];
        for (servers, expected) in cases {
            let docs = Docs::yaml(format!("{head}{servers}"));
            let served = docs.document();
            assert_eq!(
                std::str::from_utf8(&served).unwrap(),
                format!("{head}{expected}"),
                "{servers}"
            );
            let as_is = Docs::yaml(format!("{head}{servers}")).this_server_first(false);
            assert_eq!(as_is.document(), format!("{head}{servers}").as_bytes());
        }

        let json =
            r#"{"openapi": "3.1.0", "servers": [{"url": "https://user-service"}, {"url": "/"}]}"#;
        let served: serde_json::Value =
            serde_json::from_slice(&Docs::json(json).document()).unwrap();
        let urls: Vec<&str> = served["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["url"].as_str().unwrap())
            .collect();
        assert_eq!(urls, ["/", "https://user-service"]);
        let bare = r#"{"openapi": "3.1.0"}"#;
        assert_eq!(Docs::json(bare).document(), bare.as_bytes());
    }

    #[tokio::test]
    async fn matching_if_none_match_is_not_modified() {
        let router = docs_router(DOCUMENT, Format::Yaml);
        let (_, headers, _) = get(&router, "/openapi.yaml", &[]).await;
        let etag = header(&headers, "etag").to_owned();
        assert!(etag.starts_with('"') && etag.len() == 18, "{etag}");
        for if_none_match in [
            etag.clone(),
            format!("W/{etag}"),
            format!("\"x\", {etag}"),
            "*".into(),
        ] {
            let (status, headers, body) = get(
                &router,
                "/openapi.yaml",
                &[("if-none-match", &if_none_match)],
            )
            .await;
            assert_eq!(status, StatusCode::NOT_MODIFIED, "{if_none_match}");
            assert_eq!(header(&headers, "etag"), etag);
            assert_eq!(body, "");
        }
        let (status, _, body) =
            get(&router, "/openapi.yaml", &[("if-none-match", "\"other\"")]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, DOCUMENT);
        // Another document, another tag.
        let (_, other, _) = get(
            &docs_router("openapi: 3.1.1\n", Format::Yaml),
            "/openapi.yaml",
            &[],
        )
        .await;
        assert_ne!(header(&other, "etag"), etag);
    }

    #[tokio::test]
    async fn swagger_ui_page_loads_the_configured_assets_and_the_document() {
        let base = "https://assets.example/swagger-ui-dist@5.35.0";
        let router = Docs::new(DOCUMENT, Format::Json)
            .assets(format!("{base}/"))
            .into_router();
        let (status, headers, page) = get(&router, "/docs", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
        let css = format!("<link rel=\"stylesheet\" href=\"{base}/swagger-ui.css\">");
        assert!(page.contains(&css), "{page}");
        let js = format!("<script src=\"{base}/swagger-ui-bundle.js\"></script>");
        assert!(page.contains(&js), "{page}");
        assert!(
            page.contains("SwaggerUIBundle({url: \"openapi.json\","),
            "{page}"
        );
    }

    #[tokio::test]
    async fn defaults_load_the_ui_from_unpkg() {
        let swagger = Docs::new(DOCUMENT, Format::Yaml).html();
        assert!(
            swagger.contains("src=\"https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js\"")
        );
        let redoc = Docs::new(DOCUMENT, Format::Yaml).ui(Ui::Redoc).html();
        assert!(redoc.contains("src=\"https://unpkg.com/redoc@2/bundles/redoc.standalone.js\""));
        assert!(redoc.contains("Redoc.init(\"openapi.yaml\","), "{redoc}");
        assert!(!redoc.contains("swagger"));
    }

    #[tokio::test]
    async fn page_and_document_paths_are_configurable() {
        let router = Docs::new(DOCUMENT, Format::Yaml)
            .path("/api/v1/docs")
            .document_path("spec/openapi.yaml")
            .into_router();
        let (status, _, page) = get(&router, "/api/v1/docs", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("url: \"../../spec/openapi.yaml\""), "{page}");
        assert_eq!(
            get(&router, "/spec/openapi.yaml", &[]).await.0,
            StatusCode::OK
        );
        assert_eq!(
            get(&router, "/openapi.yaml", &[]).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(get(&router, "/docs", &[]).await.0, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn nested_router_keeps_relative_links_working() {
        let router = Router::new().nest("/api", docs_router(DOCUMENT, Format::Yaml));
        let (status, _, page) = get(&router, "/api/docs", &[]).await;
        assert_eq!(status, StatusCode::OK);
        // Relative to /api/docs: /api/openapi.yaml.
        assert!(page.contains("url: \"openapi.yaml\""), "{page}");
        assert_eq!(get(&router, "/api/openapi.yaml", &[]).await.2, DOCUMENT);
    }

    #[test]
    fn relative_urls_between_absolute_paths() {
        for (page, to, want) in [
            ("/docs", "/openapi.yaml", "openapi.yaml"),
            ("/docs", "/docs/assets", "docs/assets"),
            ("/api/docs", "/api/docs/assets", "docs/assets"),
            ("/a/b/docs", "/openapi.json", "../../openapi.json"),
            ("/a/docs", "/a/spec/x.yaml", "spec/x.yaml"),
            ("/docs/", "/docs/assets", "assets"),
            ("/docs/", "/openapi.yaml", "../openapi.yaml"),
            ("/docs", "/a:b", "./a:b"),
        ] {
            assert_eq!(relative(page, to), want, "{page} -> {to}");
        }
    }

    #[tokio::test]
    async fn configured_text_is_escaped_in_the_page() {
        let page = Docs::new(DOCUMENT, Format::Yaml)
            .title("</title><script>alert(1)</script>")
            .assets("https://x.example/\"><script>alert(2)</script>")
            .document_path("/o</script><script>alert(3)</script>'.yaml")
            .html();
        assert!(!page.contains("<script>alert"), "{page}");
        let escaped = "&lt;script&gt;alert";
        assert!(page.contains(&format!(
            "<title>&lt;/title&gt;{escaped}(1)&lt;/script&gt;</title>"
        )));
        assert!(page.contains(&format!(
            "href=\"https://x.example/&quot;&gt;{escaped}(2)&lt;/script&gt;/swagger-ui.css\""
        )));
        assert!(page.contains(
            r#"url: "o\u003c/script\u003e\u003cscript\u003ealert(3)\u003c/script\u003e\u0027.yaml""#
        ), "{page}");
        assert_eq!(js_string("a\"b\\c\n\u{2028}"), r#""a\"b\\c\u000a\u2028""#);
    }

    #[tokio::test]
    async fn assets_dir_serves_files_with_their_content_types() {
        let dir = std::env::temp_dir().join(format!("rs-svc-docs-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("swagger-ui-bundle.js"), "window.x = 1;").unwrap();
        std::fs::write(dir.join("swagger-ui.css"), "body {}").unwrap();
        std::fs::write(dir.join("sub/redoc.standalone.js"), "var Redoc;").unwrap();
        std::fs::write(dir.join(".hidden"), "secret").unwrap();
        let outside = format!("rs-svc-docs-{}-outside.txt", std::process::id());
        std::fs::write(dir.parent().unwrap().join(&outside), "outside").unwrap();
        let router = Docs::new(DOCUMENT, Format::Yaml)
            .assets_dir(&dir)
            .into_router();

        let (_, _, page) = get(&router, "/docs", &[]).await;
        assert!(
            page.contains("src=\"docs/assets/swagger-ui-bundle.js\""),
            "{page}"
        );
        assert!(
            page.contains("href=\"docs/assets/swagger-ui.css\""),
            "{page}"
        );
        for (uri, content_type, body) in [
            (
                "/docs/assets/swagger-ui-bundle.js",
                "text/javascript; charset=utf-8",
                "window.x = 1;",
            ),
            (
                "/docs/assets/swagger-ui.css",
                "text/css; charset=utf-8",
                "body {}",
            ),
            (
                "/docs/assets/sub/redoc.standalone.js",
                "text/javascript; charset=utf-8",
                "var Redoc;",
            ),
        ] {
            let (status, headers, got) = get(&router, uri, &[]).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert_eq!(header(&headers, "content-type"), content_type, "{uri}");
            assert_eq!(got, body, "{uri}");
            let etag = header(&headers, "etag").to_owned();
            assert_eq!(
                get(&router, uri, &[("if-none-match", &etag)]).await.0,
                StatusCode::NOT_MODIFIED
            );
        }
        for uri in [
            "/docs/assets/missing.js".to_owned(),
            "/docs/assets/sub".to_owned(),
            "/docs/assets/.hidden".to_owned(),
            format!("/docs/assets/../{outside}"),
            format!("/docs/assets/%2e%2e/{outside}"),
            format!("/docs/assets/sub/%2e%2e/%2e%2e/{outside}"),
            format!("/docs/assets/sub%2f..%2f..%2f{outside}"),
            format!("/docs/assets/..%5c{outside}"),
            "/docs/assets/sub//redoc.standalone.js".to_owned(),
        ] {
            assert_eq!(
                get(&router, &uri, &[]).await.0,
                StatusCode::NOT_FOUND,
                "{uri}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_file(dir.parent().unwrap().join(&outside)).unwrap();
    }

    #[tokio::test]
    async fn head_answers_without_a_body() {
        let router = docs_router(DOCUMENT, Format::Yaml);
        let response = router
            .oneshot(Request::head("/docs").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .is_empty());
    }
}
