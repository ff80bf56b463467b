//! `http-bench-server serve rs-svc|rs-svc-stack|rs-svc-tls|axum GRPC_ADDR HTTP_ADDR`: serves `bench.v1.ItemService` over
//! gRPC and the mode's HTTP/JSON routes until SIGTERM or Ctrl-C.
//! `http-bench-server fixtures DIR`: writes the descriptor set and request bodies `run.sh` uses.

use rs_svc_http_bench::{bind, write_fixtures, Mode};

const USAGE: &str =
    "usage: http-bench-server serve rs-svc|rs-svc-stack|rs-svc-tls|axum GRPC_ADDR HTTP_ADDR | http-bench-server fixtures DIR";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["serve", mode, grpc, http] => {
            let mode = Mode::from_name(mode).ok_or(USAGE)?;
            if mode == Mode::RsSvcStack {
                rs_svc_http_bench::install_tracing_without_exporter();
            }
            let server = bind(mode, grpc.parse()?, http.parse()?).await?;
            eprintln!(
                "http-bench-server: {mode:?}, gRPC on {}, HTTP on {}",
                server.grpc_addr(),
                server.http_addr().map_or("-".into(), |a| a.to_string())
            );
            server.serve().await?;
        }
        ["fixtures", dir] => write_fixtures(std::path::Path::new(dir))?,
        _ => return Err(USAGE.into()),
    }
    Ok(())
}
