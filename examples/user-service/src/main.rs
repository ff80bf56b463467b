//! `user-service [GRPC_ADDR [HTTP_ADDR]]`: serves the example's user service over gRPC (default
//! `0.0.0.0:9090`, with the health service and server reflection) and HTTP/JSON (default
//! `0.0.0.0:8080`, the routes of its `google.api.http` rules), until SIGTERM or Ctrl-C.
//!
//! The HTTP port also serves the API's OpenAPI document at `/openapi.yaml` and a Swagger UI page
//! for it at `/docs`. The page loads Swagger UI from `USER_SERVICE_DOCS_ASSETS`: a URL, or a
//! local directory such as `node_modules/swagger-ui-dist` (default: unpkg.com).
//!
//! Everything `user_service_example::server` turns on runs here: Prometheus metrics at
//! `/metrics`, tracing that continues callers' traces, the access log on stderr, compression
//! (HTTP/JSON answers and request bodies; gRPC gzip and zstd both ways), and
//! `ImportUsers` guarded by a bearer token: an HS256 JWT signed with the secret in
//! `USER_SERVICE_JWT_SECRET` (unset: nobody can import). With `OTEL_EXPORTER_OTLP_ENDPOINT`
//! (e.g. `http://127.0.0.1:4317`) spans go to that OpenTelemetry collector; `RUST_LOG` filters
//! the log (default `info`).

use std::sync::Arc;

use rs_svc::auth::Jwt;
use rs_svc::http::Docs;
use rs_svc::metrics::Metrics;
use user_service_example::{Users, OPENAPI_YAML};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let grpc_addr: std::net::SocketAddr = match args.next() {
        Some(addr) => addr.parse()?,
        None => rs_svc::serve::DEFAULT_GRPC_ADDR,
    };
    let http_addr: std::net::SocketAddr = match args.next() {
        Some(addr) => addr.parse()?,
        None => rs_svc::serve::DEFAULT_HTTP_ADDR,
    };
    let docs = match std::env::var("USER_SERVICE_DOCS_ASSETS") {
        Ok(dir) if std::path::Path::new(&dir).is_dir() => Docs::yaml(OPENAPI_YAML).assets_dir(dir),
        Ok(url) => Docs::yaml(OPENAPI_YAML).assets(url),
        Err(_) => Docs::yaml(OPENAPI_YAML),
    };
    let _telemetry = init_tracing()?;
    let jwt = jwt()?;
    // One implementation behind both protocols.
    let users = Arc::new(Users::default());
    let server = user_service_example::server(users, &jwt, Metrics::new())
        .http(docs.into_router())
        .grpc_addr(grpc_addr)
        .http_addr(http_addr)
        .build()?
        .bind()
        .await?;
    eprintln!("user-service: gRPC on {}", server.grpc_addr());
    if let Some(http) = server.http_addr() {
        eprintln!("user-service: HTTP on {http}");
    }
    server.serve().await?;
    eprintln!("user-service: stopped");
    Ok(())
}

/// The log on stderr; with `OTEL_EXPORTER_OTLP_ENDPOINT`, spans to that collector as well.
fn init_tracing() -> Result<Option<rs_svc::telemetry::otlp::Guard>, Box<dyn std::error::Error>> {
    if let Ok(endpoint) = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        return Ok(Some(rs_svc::telemetry::otlp::init(
            &endpoint,
            "user-service",
        )?));
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    Ok(None)
}

/// The verifier of `ImportUsers`' tokens: HS256 with `USER_SERVICE_JWT_SECRET`, else a random
/// secret nobody knows.
fn jwt() -> Result<Jwt, Box<dyn std::error::Error>> {
    let secret = match std::env::var("USER_SERVICE_JWT_SECRET") {
        Ok(secret) => secret.into_bytes(),
        Err(_) => {
            eprintln!(
                "user-service: USER_SERVICE_JWT_SECRET is not set: ImportUsers refuses every call"
            );
            let mut secret = vec![0; 32];
            getrandom::fill(&mut secret)?;
            secret
        }
    };
    Ok(user_service_example::token_verifier(&secret)?)
}
