//! The `user-service` binary with its production flags, run as users run it:
//! `--tls-cert`/`--tls-key`/`--client-ca` make both ports serve TLS and require client
//! certificates, checked with curl and grpcurl holding certificates made here by rcgen;
//! `--max-concurrent-calls 1` sheds a second call while a watch stream holds the first place.
//!
//! curl comes from `RS_SVC_CURL`, else `PATH`; grpcurl from the virtualenv `.ci/run` installs.
//! A missing tool skips the test, unless `RS_SVC_REQUIRE_FOREIGN=1` (set by CI).

mod common;

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, SanType,
};

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files in a
/// temporary directory.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        let dir = std::env::temp_dir().join(format!("user-service-flags-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Distinct subjects: a certificate whose issuer is its subject is self-signed.
        let named = |cn: &str, sans: Vec<String>| {
            let mut params = CertificateParams::new(sans).unwrap();
            params.distinguished_name = DistinguishedName::new();
            params.distinguished_name.push(DnType::CommonName, cn);
            params
        };
        let mut ca = named("flags test CA", Vec::new());
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        std::fs::write(dir.join("ca.crt"), ca.self_signed(&ca_key).unwrap().pem()).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let issue = |name: &str, params: CertificateParams| {
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &issuer).unwrap();
            std::fs::write(dir.join(format!("{name}.crt")), cert.pem()).unwrap();
            std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
        };
        let mut server = named("user-service", vec!["localhost".to_owned()]);
        server
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        issue("server", server);
        issue("client", named("client", Vec::new()));
        Pki { dir }
    }

    fn file(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The binary, serving until dropped.
struct Service {
    child: Child,
    grpc: SocketAddr,
    http: SocketAddr,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn user_service(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_user-service"));
    command
        .args(args)
        .env(
            "USER_SERVICE_JWT_SECRET",
            "a secret of the flags test, 32 bytes or more",
        )
        .env("RUST_LOG", "warn");
    command
}

/// Starts the binary with TLS flags and reads the addresses it serves from its log.
fn start(args: &[&str]) -> Service {
    start_labelled(args, "gRPC over TLS", "HTTPS")
}

/// Starts the binary and reads the addresses it serves from its log, where it names them
/// `grpc` and `http`.
fn start_labelled(args: &[&str], grpc: &str, http: &str) -> Service {
    let mut child = user_service(args).stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut addr = |what: &str| loop {
        let line = lines.next().expect("the service exited").unwrap();
        if let Some(addr) = line.strip_prefix(&format!("user-service: {what} on ")) {
            return addr.parse().unwrap();
        }
    };
    let grpc = addr(grpc);
    let http = addr(http);
    // Keep draining the log so the service never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Service { child, grpc, http }
}

fn tool(env: &str, fallback: PathBuf) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    if Command::new(&fallback).arg("--version").output().is_ok() {
        return Some(fallback);
    }
    assert!(
        std::env::var("RS_SVC_REQUIRE_FOREIGN").as_deref() != Ok("1"),
        "{} not found (set {env}); .ci/run installs it",
        fallback.display()
    );
    eprintln!("skipping: {} not found (set {env})", fallback.display());
    None
}

/// curl trusting the test CA; with `cert`, presenting the client certificate.
fn curl(curl: &Path, pki: &Pki, cert: bool, args: &[&str]) -> Command {
    let mut command = Command::new(curl);
    command.args(["-sS", "--max-time", "10", "--cacert", &pki.file("ca.crt")]);
    if cert {
        command.args([
            "--cert",
            &pki.file("client.crt"),
            "--key",
            &pki.file("client.key"),
        ]);
    }
    command.args(args);
    command
}

async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn tls_flags_serve_both_ports_over_mtls_and_max_concurrent_calls_sheds() {
    let Some(curl_path) = tool("RS_SVC_CURL", PathBuf::from("curl")) else {
        return;
    };
    let Some(grpcurl) = common::venv_tool("RS_SVC_GRPCURL", "grpcurl", "RS_SVC_REQUIRE_FOREIGN")
    else {
        return;
    };
    let pki = Pki::new();
    let service = start(&[
        "127.0.0.1:0",
        "127.0.0.1:0",
        "--tls-cert",
        &pki.file("server.crt"),
        "--tls-key",
        &pki.file("server.key"),
        "--client-ca",
        &pki.file("ca.crt"),
        "--max-concurrent-calls",
        "1",
    ]);
    let users = format!("https://{}/v1/users", service.http);
    let status = ["-o", "/dev/null", "-w", "%{http_code}"];

    // HTTPS with the client certificate; refused without one.
    let ok = output(curl(
        &curl_path,
        &pki,
        true,
        &[&status[..], &[&users]].concat(),
    ))
    .await;
    assert_eq!(text(&ok.stdout), "200", "{}", text(&ok.stderr));
    let anonymous = output(curl(&curl_path, &pki, false, &[&users])).await;
    assert!(
        !anonymous.status.success(),
        "a client without a certificate got in"
    );

    // gRPC over TLS with grpcurl, through reflection.
    let grpcurl_args = |method: &str| {
        let mut command = Command::new(&grpcurl);
        command.args(["-cacert", &pki.file("ca.crt")]);
        command.args([
            "-cert",
            &pki.file("client.crt"),
            "-key",
            &pki.file("client.key"),
        ]);
        command.args(["-d", r#"{"name": "users/nobody"}"#]);
        command.args([service.grpc.to_string(), method.to_owned()]);
        command
    };
    let missing = output(grpcurl_args("user.v1.UserService/GetUser")).await;
    assert!(
        text(&missing.stderr).contains("NotFound"),
        "{}",
        text(&missing.stderr)
    );

    // A watch stream holds the one place; the next call is shed on both transports.
    let watch = format!("{users}:watch");
    let mut watcher = curl(&curl_path, &pki, true, &["-N", &watch])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let shed = output(curl(&curl_path, &pki, true, &["-i", &users])).await;
    let shed = text(&shed.stdout);
    assert!(shed.starts_with("HTTP/2 429"), "{shed}");
    assert!(
        shed.to_ascii_lowercase().contains("retry-after: 1"),
        "{shed}"
    );
    let shed = output(grpcurl_args("user.v1.UserService/GetUser")).await;
    assert!(
        text(&shed.stderr).contains("ResourceExhausted"),
        "{}",
        text(&shed.stderr)
    );

    // Once the stream ends, its place is free again.
    watcher.kill().unwrap();
    watcher.wait().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ok = output(curl(
        &curl_path,
        &pki,
        true,
        &[&status[..], &[&users]].concat(),
    ))
    .await;
    assert_eq!(text(&ok.stdout), "200", "{}", text(&ok.stderr));
}

#[test]
fn a_tls_flag_without_its_pair_is_a_usage_error() {
    for args in [
        &["--tls-cert", "server.crt"][..],
        &["--client-ca", "ca.crt"],
        &["--max-concurrent-calls", "many"],
        &["--max-concurrent-calls"],
        &["--cors-origin"],
    ] {
        let ran = user_service(args).output().unwrap();
        assert_eq!(ran.status.code(), Some(2), "{args:?}");
        assert!(
            text(&ran.stderr).contains("usage: user-service"),
            "{args:?}"
        );
    }
}

#[tokio::test]
async fn cors_origin_flags_allow_each_origin_given_or_any_with_star() {
    let Some(curl) = tool("RS_SVC_CURL", PathBuf::from("curl")) else {
        return;
    };
    // The `Access-Control-Allow-Origin` of a gRPC-Web preflight from `origin` on the HTTP port.
    let allowed = |service: &Service, origin: &str| {
        let mut command = Command::new(&curl);
        command.args([
            "-sS",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-D",
            "-",
            "-X",
            "OPTIONS",
        ]);
        command.args(["-H", &format!("Origin: {origin}")]);
        command.args(["-H", "Access-Control-Request-Method: POST"]);
        command.args([
            "-H",
            "Access-Control-Request-Headers: content-type,x-grpc-web",
        ]);
        command.arg(format!(
            "http://{}/user.v1.UserService/GetUser",
            service.http
        ));
        async move {
            let head = text(&output(command).await.stdout);
            head.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("access-control-allow-origin")
                    .then(|| value.trim().to_owned())
            })
        }
    };
    let addrs = ["127.0.0.1:0", "127.0.0.1:0"];
    let two = start_labelled(
        &[
            &addrs[..],
            &[
                "--cors-origin",
                "http://a.example",
                "--cors-origin",
                "http://b.example",
            ],
        ]
        .concat(),
        "gRPC",
        "HTTP",
    );
    for (origin, expected) in [
        ("http://a.example", Some("http://a.example")),
        ("http://b.example", Some("http://b.example")),
        ("http://c.example", None),
    ] {
        assert_eq!(allowed(&two, origin).await.as_deref(), expected, "{origin}");
    }
    let any = start_labelled(
        &[&addrs[..], &["--cors-origin", "*"]].concat(),
        "gRPC",
        "HTTP",
    );
    assert_eq!(
        allowed(&any, "http://c.example").await.as_deref(),
        Some("*")
    );
    // Without the flag: no CORS at all.
    let none = start_labelled(&addrs, "gRPC", "HTTP");
    assert_eq!(allowed(&none, "http://a.example").await, None);

    // An origin browsers never send fails the start, saying why.
    let ran = user_service(&[&addrs[..], &["--cors-origin", "a.example/path"]].concat())
        .output()
        .unwrap();
    assert_eq!(ran.status.code(), Some(1));
    assert!(
        text(&ran.stderr).contains("is not an origin"),
        "{}",
        text(&ran.stderr)
    );
}

#[tokio::test]
async fn the_binary_serves_connect_on_both_ports_with_or_without_flags() {
    let Some(curl) = tool("RS_SVC_CURL", PathBuf::from("curl")) else {
        return;
    };
    let addrs = ["127.0.0.1:0", "127.0.0.1:0"];
    for flags in [&[][..], &["--cors-origin", "*"][..]] {
        let service = start_labelled(&[&addrs[..], flags].concat(), "gRPC", "HTTP");
        for addr in [service.http, service.grpc] {
            let mut command = Command::new(&curl);
            command.args(["-sS", "--max-time", "10", "-w", "\n%{http_code}"]);
            command.args(["-H", "content-type: application/json"]);
            command.args(["-H", "Connect-Protocol-Version: 1"]);
            command.args(["--data-binary", r#"{"name": "users/nobody"}"#]);
            command.arg(format!("http://{addr}/user.v1.UserService/GetUser"));
            let answer = text(&output(command).await.stdout);
            // The Connect error of the service's NOT_FOUND.
            assert!(
                answer.starts_with(r#"{"code":"not_found""#) && answer.ends_with("\n404"),
                "{flags:?} on {addr}: {answer}"
            );
        }
    }
}
