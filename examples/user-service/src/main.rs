//! `user-service [GRPC_ADDR [HTTP_ADDR]] [--tls-cert FILE --tls-key FILE [--client-ca FILE]]
//! [--max-concurrent-calls N] [--cors-origin ORIGIN]...`: serves the example's user service over gRPC (default
//! `0.0.0.0:9090`, with the health service and server reflection) and HTTP/JSON (default
//! `0.0.0.0:8080`, the routes of its `google.api.http` rules), until SIGTERM or Ctrl-C.
//!
//! With `--tls-cert` and `--tls-key` (PEM: the chain, and its key) both ports serve TLS only,
//! reloading the files on SIGHUP or when they change; `--client-ca` (a PEM bundle) makes them
//! require a client certificate that chains to it (mTLS). `--max-concurrent-calls N` sheds
//! calls beyond N at once: RESOURCE_EXHAUSTED over gRPC, 429 with `Retry-After` over HTTP.
//!
//! Both ports also serve gRPC-Web (binary and text) and the Connect protocol (binary and JSON),
//! so a browser can call the gRPC API on the HTTP port. `--cors-origin ORIGIN` (repeatable; `*`
//! for any) lets pages from that origin (`http://localhost:5173`) call the HTTP/JSON routes,
//! gRPC-Web and Connect cross-origin.
//! The streaming methods `ImportUsers` and `LookupUsers` also take WebSockets on their paths
//! (`ws://localhost:8080/v1/users:lookup`; docs/reference.md section 13.1).
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

use std::net::SocketAddr;
use std::path::PathBuf;

use rs_svc::auth::Jwt;
use rs_svc::http::Docs;
use rs_svc::metrics::Metrics;
use rs_svc::serve::{Limits, Tls};
use user_service_example::{Users, OPENAPI_YAML};

/// The command line.
struct Args {
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    tls: Option<Tls>,
    max_concurrent_calls: Option<usize>,
    cors_origins: Vec<String>,
}

impl Args {
    fn parse(args: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut addrs = Vec::new();
        let (mut cert, mut key, mut client_ca, mut max_calls) = (None, None, None, None);
        let mut cors_origins = Vec::new();
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
            match arg.as_str() {
                "--tls-cert" => cert = Some(PathBuf::from(value(&arg)?)),
                "--tls-key" => key = Some(PathBuf::from(value(&arg)?)),
                "--client-ca" => client_ca = Some(PathBuf::from(value(&arg)?)),
                "--cors-origin" => cors_origins.push(value(&arg)?),
                "--max-concurrent-calls" => {
                    let n = value(&arg)?;
                    let n = n
                        .parse()
                        .map_err(|_| format!("--max-concurrent-calls {n}: not a number"))?;
                    max_calls = Some(n);
                }
                flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}")),
                addr => addrs.push(
                    addr.parse::<SocketAddr>()
                        .map_err(|e| format!("{addr}: {e}"))?,
                ),
            }
        }
        if addrs.len() > 2 {
            return Err("at most two addresses: GRPC_ADDR HTTP_ADDR".into());
        }
        let tls = match (cert, key) {
            (Some(cert), Some(key)) => {
                let tls = Tls::from_pem_files(cert, key);
                Some(match client_ca {
                    Some(bundle) => tls.client_ca(bundle),
                    None => tls,
                })
            }
            (None, None) if client_ca.is_none() => None,
            _ => {
                return Err(
                    "--tls-cert and --tls-key go together (and --client-ca needs them)".into(),
                )
            }
        };
        Ok(Args {
            grpc_addr: addrs
                .first()
                .copied()
                .unwrap_or(rs_svc::serve::DEFAULT_GRPC_ADDR),
            http_addr: addrs
                .get(1)
                .copied()
                .unwrap_or(rs_svc::serve::DEFAULT_HTTP_ADDR),
            tls,
            max_concurrent_calls: max_calls,
            cors_origins,
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse(std::env::args().skip(1)).unwrap_or_else(|error| {
        eprintln!("user-service: {error}");
        eprintln!(
            "usage: user-service [GRPC_ADDR [HTTP_ADDR]] [--tls-cert FILE --tls-key FILE \
             [--client-ca FILE]] [--max-concurrent-calls N] [--cors-origin ORIGIN]..."
        );
        std::process::exit(2);
    });
    let docs = match std::env::var("USER_SERVICE_DOCS_ASSETS") {
        Ok(dir) if std::path::Path::new(&dir).is_dir() => Docs::yaml(OPENAPI_YAML).assets_dir(dir),
        Ok(url) => Docs::yaml(OPENAPI_YAML).assets(url),
        Err(_) => Docs::yaml(OPENAPI_YAML),
    };
    let _telemetry = init_tracing()?;
    let jwt = jwt()?;
    // One implementation behind both protocols.
    let users = Arc::new(Users::default());
    let held = users.clone();
    let mut builder = user_service_example::server(users, &jwt, Metrics::new())
        .http(docs.into_router())
        .grpc_addr(args.grpc_addr)
        .http_addr(args.http_addr)
        .limits(Limits::new().max_concurrent_calls(args.max_concurrent_calls));
    let (grpc, http) = match args.tls {
        Some(_) => ("gRPC over TLS", "HTTPS"),
        None => ("gRPC", "HTTP"),
    };
    if let Some(tls) = args.tls {
        builder = builder.tls(tls);
    }
    if !args.cors_origins.is_empty() {
        builder = builder.cors(user_service_example::cors(args.cors_origins));
    }
    let server = builder.build()?.bind().await?;
    eprintln!("user-service: {grpc} on {}", server.grpc_addr());
    if let Some(addr) = server.http_addr() {
        eprintln!("user-service: {http} on {addr}");
    }
    server.serve().await?;
    // After a graceful stop every call answered is in the store: scripts/soak.sh counts on it.
    eprintln!("user-service: stopped with {} users", held.count());
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
