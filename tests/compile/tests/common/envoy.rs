//! Envoy's gRPC-JSON transcoder in front of a gRPC server, for tests that compare our HTTP side
//! with a foreign transcoder: found through `RS_SVC_ENVOY` or the virtualenv `.ci/run` fills,
//! skipped when missing unless `RS_SVC_REQUIRE_FOREIGN=1`.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Envoy from `RS_SVC_ENVOY`, or the virtualenv `.ci/run` installs it into.
pub fn binary() -> Option<PathBuf> {
    let path = match std::env::var_os("RS_SVC_ENVOY") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/rs-svc/tools/venv/bin/envoy"),
    };
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("RS_SVC_REQUIRE_FOREIGN").as_deref() != Ok("1"),
        "{} not found (set RS_SVC_ENVOY); .ci/run installs it",
        path.display()
    );
    eprintln!("skipping: {} not found (set RS_SVC_ENVOY)", path.display());
    None
}

/// A running Envoy, killed (and its directory removed) when dropped.
pub struct Envoy {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    dir: PathBuf,
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Envoy transcoding `service` (a full name) to the gRPC server at `upstream`, ready to serve,
/// with `options` (lines such as `ignore_unknown_query_parameters: true`) added to the
/// transcoder's. Path variables are unescaped whole (`url_unescape_spec: ALL_CHARACTERS`), as
/// http.proto says a server reverses a client's escaping: Envoy's default keeps reserved
/// characters (`%3A`) escaped in the value.
pub async fn start(
    binary: &PathBuf,
    service: &str,
    upstream: SocketAddr,
    options: &[&str],
) -> Envoy {
    let dir = std::env::temp_dir().join(format!(
        "rs-svc-envoy-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let descriptor = dir.join("descriptor_set.bin");
    std::fs::write(&descriptor, rs_svc_compile_test::DESCRIPTOR_SET).unwrap();
    let port = free_port();
    let config = format!(
        r#"static_resources:
  listeners:
  - name: http
    address: {{socket_address: {{address: 127.0.0.1, port_value: {port}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: http
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {{prefix: "/"}}
                route: {{cluster: grpc, timeout: 10s}}
          http_filters:
          - name: envoy.filters.http.grpc_json_transcoder
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder
              proto_descriptor: {descriptor}
              services: [{service}]
              convert_grpc_status: true
              url_unescape_spec: ALL_CHARACTERS
              request_validation_options: {{reject_unknown_method: true}}{options}
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: grpc
    type: STATIC
    connect_timeout: 2s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {{http2_protocol_options: {{}}}}
    load_assignment:
      cluster_name: grpc
      endpoints:
      - lb_endpoints:
        - endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {upstream_port}}}}}}}
"#,
        descriptor = descriptor.display(),
        upstream_port = upstream.port(),
        options = options
            .iter()
            .map(|line| format!("\n              {line}"))
            .collect::<String>(),
    );
    let config_path = dir.join("envoy.yaml");
    std::fs::write(&config_path, config).unwrap();
    let log = std::fs::File::create(dir.join("envoy.log")).unwrap();
    let child = Command::new(binary)
        .arg("-c")
        .arg(&config_path)
        .args([
            "--concurrency",
            "1",
            "--disable-hot-restart",
            "--log-level",
            "warn",
        ])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
    let envoy = Envoy {
        child,
        base: format!("http://127.0.0.1:{port}"),
        dir,
    };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return envoy;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = std::fs::read_to_string(envoy.dir.join("envoy.log")).unwrap_or_default();
    panic!("envoy did not start listening:\n{log}");
}
