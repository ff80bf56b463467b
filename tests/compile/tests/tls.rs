//! TLS and mTLS over real sockets on 127.0.0.1 (docs/reference.md section 10), with
//! certificates made here by rcgen: curl and grpcurl trusting the test CA, the generated client
//! through `dial_with` and its TLS options, client certificates required or optional, the
//! verified client certificate seen by handlers and layers on both transports, handshakes that
//! time out, and certificates reloaded from disk.
//!
//! curl comes from `RS_SVC_CURL`, else `PATH`; grpcurl from `RS_SVC_GRPCURL`, else the
//! virtualenv `.ci/run` installs into. A missing tool skips the part that needs it, unless
//! `RS_SVC_REQUIRE_FOREIGN=1` (set by CI) makes that a failure.

mod common;

use common::{curl_path, grpcurl_path, run, Ran};

use rustls::pki_types::pem::PemObject as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rs_svc::dial::Options;
use rs_svc::serve::{Builder, CallInfo, Next, PeerCertificate, Server, Tls, Transport};
use rs_svc_compile_test::alt::acme::shop::v1 as shop;
use rustls::pki_types::{CertificateDer, ServerName};
use shop::order_service_client::{self, OrderServiceClient};
use shop::order_service_http_client::OrderServiceHttpClient;
use shop::order_service_server::{OrderService, OrderServiceServer};
use tokio::io::AsyncReadExt as _;
use tonic::{Request, Response, Status};

// ---------------------------------------------------------------------------------------------
// Certificates

/// A test CA in a temporary directory, issuing server and client certificates into PEM files
/// there.
struct Pki {
    dir: PathBuf,
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
    serial: AtomicU64,
}

/// A certificate written by [`Pki`]: its files and its DER.
struct Issued {
    cert: PathBuf,
    key: PathBuf,
    der: Vec<u8>,
    serial: u64,
}

impl Pki {
    fn new(name: &str) -> Pki {
        static DIRS: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "rs-svc-tls-{}-{name}-{}",
            std::process::id(),
            DIRS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (ca_pem, issuer) = ca(&format!("rs-svc test CA {name}"));
        std::fs::write(dir.join("ca.crt"), &ca_pem).unwrap();
        Pki {
            dir,
            ca_pem,
            issuer,
            serial: AtomicU64::new(1000),
        }
    }

    fn ca(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A server certificate for `names` (DNS names or IP addresses) with common name `cn`,
    /// written to `<file>.crt` and `<file>.key`.
    fn server(&self, file: &str, cn: &str, names: &[&str]) -> Issued {
        let names = names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(file, params)
    }

    /// A client certificate for `alice` at Acme, with a SPIFFE ID and a DNS name.
    fn alice(&self) -> Issued {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        // Without rcgen's default common name, so that the order is the one written here.
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Acme");
        params.distinguished_name.push(DnType::CommonName, "alice");
        params.subject_alt_names = vec![
            SanType::URI("spiffe://acme.test/alice".try_into().unwrap()),
            SanType::DnsName("alice.clients.acme.test".try_into().unwrap()),
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue("alice", params)
    }

    fn issue(&self, file: &str, mut params: CertificateParams) -> Issued {
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        params.serial_number = Some(serial.into());
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let issued = Issued {
            cert: self.path(&format!("{file}.crt")),
            key: self.path(&format!("{file}.key")),
            der: cert.der().to_vec(),
            serial,
        };
        std::fs::write(&issued.key, key.serialize_pem()).unwrap();
        std::fs::write(&issued.cert, cert.pem()).unwrap();
        issued
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ca(cn: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    (pem, Issuer::new(params, key))
}

/// The names the test servers' certificate carries.
const LOCAL: &[&str] = &["localhost", "127.0.0.1"];

// ---------------------------------------------------------------------------------------------
// The service

/// `GetOrder` tells who called: `customer` is the client certificate's common name (or
/// `anonymous`), `coupon` how many certificates tonic's `Request::peer_certs` gives.
struct Shop;

#[tonic::async_trait]
impl OrderService for Shop {
    async fn get_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let customer = PeerCertificate::of(&request)
            .and_then(|peer| peer.common_name().map(str::to_owned))
            .unwrap_or_else(|| "anonymous".to_owned());
        let certs = request.peer_certs().map_or(0, |certs| certs.len());
        Ok(Response::new(shop::Order {
            name: request.into_inner().name,
            customer,
            coupon: Some(format!("peer_certs={certs}")),
            ..Default::default()
        }))
    }
}

fn shop_server(tls: Tls) -> Builder {
    Server::builder()
        .grpc(OrderServiceServer::new(Shop))
        .http(shop::order_service_http::router(Arc::new(Shop)))
        .file_descriptor_set(rs_svc_compile_test::DESCRIPTOR_SET)
        .tls(tls)
}

fn get() -> shop::GetOrderRequest {
    shop::GetOrderRequest {
        name: "orders/1".into(),
    }
}

/// The generated client through `dial_with`, without retries so that a refused handshake
/// fails the call at once.
async fn dial(options: Options) -> OrderServiceClient<rs_svc::dial::Channel> {
    let options = options
        .backoff(rs_svc::dial::Backoff {
            max_attempts: 1,
            ..Default::default()
        })
        .timeout(Duration::from_secs(5));
    order_service_client::dial_with(options).await.unwrap()
}

/// Who the server says called, over gRPC through `dial_with`.
async fn grpc_caller(options: Options) -> Result<String, Status> {
    let order = dial(options).await.get_order(get()).await?.into_inner();
    Ok(order.customer)
}

fn trusting(pki: &Pki, target: String) -> Options {
    Options::new().target(target).tls_ca_pem(&pki.ca_pem)
}

fn with_alice(options: Options, alice: &Issued) -> Options {
    options.tls_identity_pem(
        std::fs::read(&alice.cert).unwrap(),
        std::fs::read(&alice.key).unwrap(),
    )
}

// ---------------------------------------------------------------------------------------------
// Foreign clients

/// `curl` of `url` trusting the test CA, with `extra` arguments; stdout ends with a line
/// holding the HTTP version.
async fn curl(curl: &Path, pki: &Pki, url: &str, extra: &[&str]) -> Ran {
    let mut args: Vec<String> = ["-sS", "--max-time", "10", "-w", "\n%{http_version}"]
        .map(String::from)
        .into();
    args.extend(["--cacert".into(), pki.ca().display().to_string()]);
    args.extend(extra.iter().map(|a| a.to_string()));
    args.push(url.to_owned());
    run(curl, args).await
}

/// curl to `url` presenting alice's certificate and key (mTLS).
async fn curl_presenting(curl_path: &Path, pki: &Pki, url: &str, alice: &Issued) -> Ran {
    let (cert, key) = (
        alice.cert.display().to_string(),
        alice.key.display().to_string(),
    );
    curl(curl_path, pki, url, &["--cert", &cert, "--key", &key]).await
}

/// The `Order` JSON and the HTTP version of a successful curl.
fn curl_order(ran: &Ran) -> (serde_json::Value, String) {
    assert!(ran.ok, "curl failed: {}{}", ran.stdout, ran.stderr);
    let (body, version) = ran.stdout.trim_end().rsplit_once('\n').unwrap();
    (serde_json::from_str(body).unwrap(), version.to_owned())
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn both_ports_serve_tls_to_curl_with_alpn_and_to_the_dialed_client() {
    let pki = Pki::new("ports");
    let server = pki.server("server", "localhost", LOCAL);
    let served = common::serve(shop_server(Tls::from_pem_files(&server.cert, &server.key))).await;

    // The generated client with the CA, by IP address (the certificate names 127.0.0.1).
    let target = format!("https://127.0.0.1:{}", served.grpc.port());
    assert_eq!(
        grpc_caller(trusting(&pki, target)).await.unwrap(),
        "anonymous"
    );

    let Some(curl_path) = curl_path() else { return };
    let url = format!("https://127.0.0.1:{}/v1/orders/1", served.http.port());
    // ALPN: HTTP/2 when the client offers it, HTTP/1.1 otherwise.
    for (extra, version) in [(&[][..], "2"), (&["--http1.1"][..], "1.1")] {
        let (order, got) = curl_order(&curl(&curl_path, &pki, &url, extra).await);
        assert_eq!(got, version, "{extra:?}");
        assert_eq!(order["name"], "orders/1");
        assert_eq!(order["customer"], "anonymous");
    }
    // Without the CA the server is not trusted; without TLS there is no answer.
    let untrusted = run(&curl_path, vec!["-sS".into(), url.clone()]).await;
    assert!(!untrusted.ok, "{}", untrusted.stdout);
    let plain = url.replace("https://", "http://");
    let plain = run(
        &curl_path,
        vec!["-sS".into(), "--max-time".into(), "5".into(), plain],
    )
    .await;
    assert!(!plain.ok, "{}", plain.stdout);
}

#[tokio::test]
async fn single_port_serves_tls_to_both_transports() {
    let pki = Pki::new("single");
    let server = pki.server("server", "localhost", LOCAL);
    let listening = shop_server(Tls::from_pem_files(&server.cert, &server.key))
        .single_port(([127, 0, 0, 1], 0))
        .build()
        .unwrap()
        .bind()
        .await
        .unwrap();
    let addr = listening.grpc_addr();
    tokio::spawn(listening.serve_with_shutdown(std::future::pending()));

    let target = format!("https://127.0.0.1:{}", addr.port());
    assert_eq!(
        grpc_caller(trusting(&pki, target)).await.unwrap(),
        "anonymous"
    );
    let Some(curl_path) = curl_path() else { return };
    let url = format!("https://127.0.0.1:{}/v1/orders/1", addr.port());
    let (order, version) = curl_order(&curl(&curl_path, &pki, &url, &[]).await);
    assert_eq!(
        (order["customer"].as_str(), version.as_str()),
        (Some("anonymous"), "2")
    );
}

#[tokio::test]
async fn required_client_certificates_refuse_clients_without_one() {
    let pki = Pki::new("required");
    let server = pki.server("server", "localhost", LOCAL);
    let alice = pki.alice();
    // A certificate from another CA is refused too.
    let other = Pki::new("other");
    let mallory = other.alice();
    let tls = Tls::from_pem_files(&server.cert, &server.key).client_ca(pki.ca());
    let served = common::serve(shop_server(tls)).await;

    let target = format!("https://127.0.0.1:{}", served.grpc.port());
    assert_eq!(
        grpc_caller(with_alice(trusting(&pki, target.clone()), &alice))
            .await
            .unwrap(),
        "alice"
    );
    let refused = grpc_caller(trusting(&pki, target.clone()))
        .await
        .unwrap_err();
    // The server's alert says why.
    assert!(
        format!("{refused:?}").contains("CertificateRequired"),
        "{refused:?}"
    );
    grpc_caller(with_alice(trusting(&pki, target), &mallory))
        .await
        .unwrap_err();

    let Some(curl_path) = curl_path() else { return };
    let url = format!("https://127.0.0.1:{}/v1/orders/1", served.http.port());
    let (order, _) = curl_order(&curl_presenting(&curl_path, &pki, &url, &alice).await);
    assert_eq!(order["customer"], "alice");
    let anonymous = curl(&curl_path, &pki, &url, &[]).await;
    assert!(!anonymous.ok, "{}", anonymous.stdout);
    let foreign = curl_presenting(&curl_path, &pki, &url, &mallory).await;
    assert!(!foreign.ok, "{}", foreign.stdout);
}

#[tokio::test]
async fn optional_client_certificates_let_clients_without_one_in() {
    let pki = Pki::new("optional");
    let server = pki.server("server", "localhost", LOCAL);
    let alice = pki.alice();
    let tls = Tls::from_pem_files(&server.cert, &server.key).client_ca_optional(pki.ca());
    let served = common::serve(shop_server(tls)).await;

    let target = format!("https://127.0.0.1:{}", served.grpc.port());
    assert_eq!(
        grpc_caller(trusting(&pki, target.clone())).await.unwrap(),
        "anonymous"
    );
    assert_eq!(
        grpc_caller(with_alice(trusting(&pki, target), &alice))
            .await
            .unwrap(),
        "alice"
    );
    let Some(curl_path) = curl_path() else { return };
    let url = format!("https://127.0.0.1:{}/v1/orders/1", served.http.port());
    let (order, _) = curl_order(&curl(&curl_path, &pki, &url, &[]).await);
    assert_eq!(order["customer"], "anonymous");
    let (order, _) = curl_order(&curl_presenting(&curl_path, &pki, &url, &alice).await);
    assert_eq!(order["customer"], "alice");
}

#[tokio::test]
async fn grpcurl_calls_over_tls_with_cacert_and_over_mtls_with_cert_and_key() {
    let Some(grpcurl) = grpcurl_path() else {
        return;
    };
    let pki = Pki::new("grpcurl");
    let server = pki.server("server", "localhost", LOCAL);
    let alice = pki.alice();
    let optional = common::serve(shop_server(
        Tls::from_pem_files(&server.cert, &server.key).client_ca_optional(pki.ca()),
    ))
    .await;
    let required = common::serve(shop_server(
        Tls::from_pem_files(&server.cert, &server.key).client_ca(pki.ca()),
    ))
    .await;
    let call = |addr: SocketAddr, identity: bool| {
        let mut args = vec!["-cacert".to_owned(), pki.ca().display().to_string()];
        if identity {
            args.extend([
                "-cert".into(),
                alice.cert.display().to_string(),
                "-key".into(),
                alice.key.display().to_string(),
            ]);
        }
        args.extend([
            "-max-time".into(),
            "10".into(),
            // A refused client certificate can look like a connection that keeps failing.
            "-connect-timeout".into(),
            "3".into(),
            "-d".into(),
            r#"{"name": "orders/1"}"#.into(),
            addr.to_string(),
            "acme.shop.v1.OrderService/GetOrder".into(),
        ]);
        run(&grpcurl, args)
    };
    let customer = |ran: Ran| {
        assert!(ran.ok, "grpcurl failed: {}{}", ran.stdout, ran.stderr);
        let order: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
        order["customer"].as_str().unwrap().to_owned()
    };
    // grpcurl finds the method through reflection, over the same TLS connection.
    assert_eq!(customer(call(optional.grpc, false).await), "anonymous");
    assert_eq!(customer(call(optional.grpc, true).await), "alice");
    assert_eq!(customer(call(required.grpc, true).await), "alice");
    let refused = call(required.grpc, false).await;
    assert!(!refused.ok, "{}", refused.stdout);
}

/// What the recording layer saw of each call.
type Seen = Arc<Mutex<Vec<(Transport, Option<PeerCertificate>)>>>;

#[tokio::test]
async fn the_client_certificate_reaches_handlers_interceptors_and_layers_on_both_transports() {
    let Some(curl_path) = curl_path() else { return };
    let pki = Pki::new("peer");
    let server = pki.server("server", "localhost", LOCAL);
    let alice = pki.alice();
    let seen = Seen::default();
    let tls = Tls::from_pem_files(&server.cert, &server.key).client_ca(pki.ca());
    let recorded = seen.clone();
    let recording = tower::layer::layer_fn(move |next: Next| {
        let seen = recorded.clone();
        tower::service_fn(move |request: http::Request<axum::body::Body>| {
            let transport = request.extensions().get::<CallInfo>().unwrap().transport();
            let peer = request.extensions().get::<PeerCertificate>().cloned();
            seen.lock().unwrap().push((transport, peer));
            tower::ServiceExt::oneshot(next.clone(), request)
        })
    });
    // An interceptor that lets only alice in, from her certificate.
    let only_alice = rs_svc::serve::interceptor(|request: Request<()>| async move {
        match PeerCertificate::of(&request).and_then(PeerCertificate::common_name) {
            Some("alice") => Ok(request),
            _ => Err(Status::permission_denied("not alice")),
        }
    });
    let served = common::serve(shop_server(tls).layer(recording).layer(only_alice)).await;

    let target = format!("https://127.0.0.1:{}", served.grpc.port());
    let order = dial(with_alice(trusting(&pki, target), &alice))
        .await
        .get_order(get())
        .await
        .unwrap()
        .into_inner();
    // The handler's PeerCertificate, and tonic's own peer_certs (the client sends its leaf).
    assert_eq!(
        (order.customer.as_str(), order.coupon.as_deref()),
        ("alice", Some("peer_certs=1"))
    );
    let url = format!("https://127.0.0.1:{}/v1/orders/1", served.http.port());
    let (order, _) = curl_order(&curl_presenting(&curl_path, &pki, &url, &alice).await);
    // curl sends its chain up to the CA.
    assert_eq!(order["customer"], "alice");
    assert_ne!(order["coupon"], "peer_certs=0");

    let seen = seen.lock().unwrap().clone();
    let transports: Vec<Transport> = seen.iter().map(|(t, _)| *t).collect();
    assert_eq!(transports, [Transport::Grpc, Transport::Http]);
    for (transport, peer) in seen {
        let peer = peer.unwrap_or_else(|| panic!("no PeerCertificate over {transport:?}"));
        assert_eq!(peer.common_name(), Some("alice"));
        assert_eq!(peer.subject(), "O=Acme, CN=alice");
        assert_eq!(peer.uris(), ["spiffe://acme.test/alice"]);
        assert_eq!(peer.dns_names(), ["alice.clients.acme.test"]);
        // DER integers carry no leading zero bytes (and the serial is small and positive).
        let serial: Vec<u8> = alice
            .serial
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        assert_eq!(peer.serial(), serial);
        assert_eq!(peer.der().as_ref(), alice.der.as_slice());
    }
}

#[tokio::test]
async fn dial_options_set_the_ca_the_server_name_and_turn_tls_on_for_targets_without_a_scheme() {
    let pki = Pki::new("dial");
    // The certificate names neither 127.0.0.1 nor localhost.
    let server = pki.server("server", "orders.internal", &["orders.internal"]);
    let served = common::serve(shop_server(Tls::from_pem_files(&server.cert, &server.key))).await;
    let port = served.grpc.port();

    let by_ip = |target: String| trusting(&pki, target);
    // The name checked is the target's host unless overridden.
    grpc_caller(by_ip(format!("https://127.0.0.1:{port}")))
        .await
        .unwrap_err();
    let cases = [
        // `https://` with the override.
        format!("https://127.0.0.1:{port}"),
        // No scheme: a TLS option turns TLS on.
        format!("127.0.0.1:{port}"),
    ];
    for target in cases {
        let options = by_ip(target.clone()).tls_server_name("orders.internal");
        assert_eq!(grpc_caller(options).await.unwrap(), "anonymous", "{target}");
    }
    // `http://` is plaintext whatever the options say: the TLS server does not answer it.
    let options = by_ip(format!("http://127.0.0.1:{port}")).tls_server_name("orders.internal");
    grpc_caller(options).await.unwrap_err();
}

/// Who the server says called, over HTTP/JSON through the generated HTTP client's `dial_with`
/// (the dial options that apply to HTTP), without retries.
async fn http_caller(options: Options) -> Result<String, Status> {
    let options = options
        .backoff(rs_svc::dial::Backoff {
            max_attempts: 1,
            ..Default::default()
        })
        .timeout(Duration::from_secs(5));
    let client = OrderServiceHttpClient::dial_with(options)?;
    Ok(client
        .get_order(Request::new(get()))
        .await?
        .into_inner()
        .customer)
}

#[tokio::test]
async fn the_http_client_trusts_the_options_ca_and_presents_their_identity_for_mtls() {
    let pki = Pki::new("http-client");
    let server = pki.server("server", "localhost", LOCAL);
    let alice = pki.alice();
    let tls = Tls::from_pem_files(&server.cert, &server.key).client_ca_optional(pki.ca());
    let served = common::serve(shop_server(tls)).await;
    let url = format!("https://127.0.0.1:{}", served.http.port());

    // The custom CA; with alice's identity the server sees her certificate.
    assert_eq!(
        http_caller(trusting(&pki, url.clone())).await.unwrap(),
        "anonymous"
    );
    assert_eq!(
        http_caller(with_alice(trusting(&pki, url.clone()), &alice))
            .await
            .unwrap(),
        "alice"
    );
    // The webpki roots do not know the test CA.
    let err = http_caller(Options::new().target(url.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");

    // A server that requires a client certificate refuses the client without one.
    let required = Tls::from_pem_files(&server.cert, &server.key).client_ca(pki.ca());
    let served = common::serve(shop_server(required)).await;
    let url = format!("https://127.0.0.1:{}", served.http.port());
    assert_eq!(
        http_caller(with_alice(trusting(&pki, url.clone()), &alice))
            .await
            .unwrap(),
        "alice"
    );
    http_caller(trusting(&pki, url)).await.unwrap_err();
}

#[tokio::test]
async fn the_http_client_checks_the_options_server_name_instead_of_the_urls_host() {
    let pki = Pki::new("http-name");
    // The certificate names neither 127.0.0.1 nor localhost.
    let server = pki.server("server", "orders.internal", &["orders.internal"]);
    let served = common::serve(shop_server(Tls::from_pem_files(&server.cert, &server.key))).await;
    let url = format!("https://127.0.0.1:{}", served.http.port());
    http_caller(trusting(&pki, url.clone())).await.unwrap_err();
    let options = trusting(&pki, url).tls_server_name("orders.internal");
    assert_eq!(http_caller(options).await.unwrap(), "anonymous");
}

/// The certificate a TLS server presents to a new connection.
async fn served_certificate(addr: SocketAddr, pki: &Pki) -> Vec<u8> {
    let mut roots = rustls::RootCertStore::empty();
    let ca = CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).unwrap();
    roots.add(ca).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), stream)
        .await
        .unwrap();
    stream.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

/// Waits (up to 10 s) until a new connection gets the certificate `der`.
async fn wait_for_certificate(addr: SocketAddr, pki: &Pki, der: &[u8]) {
    let start = Instant::now();
    while served_certificate(addr, pki).await != der {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the new certificate was not served"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Log lines written while the returned guard lives (on this thread, so under a current-thread
/// runtime the server's tasks' too).
fn capture_logs() -> (Arc<Mutex<Vec<u8>>>, tracing::subscriber::DefaultGuard) {
    #[derive(Clone)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(bytes)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let logs = Arc::new(Mutex::new(Vec::new()));
    let buffer = Buffer(logs.clone());
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || buffer.clone())
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn changed_files_are_reloaded_for_new_connections_and_a_bad_reload_keeps_the_certificate() {
    let (logs, _guard) = capture_logs();
    let pki = Pki::new("reload");
    let first = pki.server("server", "first", LOCAL);
    let tls =
        Tls::from_pem_files(&first.cert, &first.key).reload_interval(Duration::from_millis(100));
    let served = common::serve(shop_server(tls)).await;
    assert_eq!(served_certificate(served.grpc, &pki).await, first.der);
    let target = format!("https://127.0.0.1:{}", served.grpc.port());
    let mut before = dial(trusting(&pki, target)).await;
    before.get_order(get()).await.unwrap();

    // New files in place: new connections, on both ports, get the new certificate.
    let second = pki.server("server", "second", LOCAL);
    wait_for_certificate(served.grpc, &pki, &second.der).await;
    assert_eq!(served_certificate(served.http, &pki).await, second.der);
    // A connection opened before keeps working.
    before.get_order(get()).await.unwrap();

    // A certificate file that is not PEM: the previous certificate stays, with a warning.
    std::fs::write(&second.cert, "not a certificate").unwrap();
    let start = Instant::now();
    while !String::from_utf8_lossy(&logs.lock().unwrap()).contains("TLS reload failed") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no warning logged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(served_certificate(served.grpc, &pki).await, second.der);
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    let warning = logged
        .lines()
        .find(|l| l.contains("TLS reload failed"))
        .unwrap();
    assert!(
        warning.contains("WARN") && warning.contains("rs_svc::tls"),
        "{warning}"
    );
    assert!(warning.contains("server.crt"), "{warning}");

    // Fixed files are picked up again.
    let third = pki.server("server", "third", LOCAL);
    wait_for_certificate(served.grpc, &pki, &third.der).await;
}

#[tokio::test]
async fn sighup_reloads_the_files_at_once() {
    let pki = Pki::new("sighup");
    let first = pki.server("server", "first", LOCAL);
    // Checking the files for changes would take an hour: only the signal reloads here.
    let tls =
        Tls::from_pem_files(&first.cert, &first.key).reload_interval(Duration::from_secs(3600));
    // The SIGHUP handler is installed by the time the server is bound.
    let served = common::serve(shop_server(tls)).await;
    let second = pki.server("server", "second", LOCAL);
    assert_eq!(served_certificate(served.grpc, &pki).await, first.der);
    let kill = run(
        Path::new("kill"),
        vec!["-HUP".into(), std::process::id().to_string()],
    )
    .await;
    assert!(kill.ok, "{}", kill.stderr);
    wait_for_certificate(served.grpc, &pki, &second.der).await;
}

#[tokio::test]
async fn a_stalled_handshake_holds_up_no_one_and_is_closed_after_the_timeout() {
    let pki = Pki::new("handshake");
    let server = pki.server("server", "localhost", LOCAL);
    let timeout = Duration::from_millis(1500);
    let tls = Tls::from_pem_files(&server.cert, &server.key).handshake_timeout(timeout);
    let served = common::serve(shop_server(tls)).await;

    // A client that connects and never says hello.
    let mut stalled = tokio::net::TcpStream::connect(served.grpc).await.unwrap();
    let opened = Instant::now();
    // Another is accepted and served meanwhile, well before the stalled one times out.
    let target = format!("https://127.0.0.1:{}", served.grpc.port());
    assert_eq!(
        grpc_caller(trusting(&pki, target)).await.unwrap(),
        "anonymous"
    );
    assert!(opened.elapsed() < timeout / 2, "{:?}", opened.elapsed());
    let mut byte = [0; 1];
    let read = tokio::time::timeout(timeout * 3, stalled.read(&mut byte))
        .await
        .expect("the stalled connection was not closed");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(opened.elapsed() >= timeout, "{:?}", opened.elapsed());
}

#[tokio::test]
async fn from_config_serves_a_rustls_configuration_with_alpn_added() {
    let pki = Pki::new("config");
    let server = pki.server("server", "localhost", LOCAL);
    let chain = vec![CertificateDer::from(server.der.clone())];
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&server.key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    assert!(config.alpn_protocols.is_empty());
    let served = common::serve(shop_server(Tls::from_config(Arc::new(config)))).await;

    let target = format!("https://127.0.0.1:{}", served.grpc.port());
    assert_eq!(
        grpc_caller(trusting(&pki, target)).await.unwrap(),
        "anonymous"
    );
    let Some(curl_path) = curl_path() else { return };
    let url = format!("https://127.0.0.1:{}/v1/orders/1", served.http.port());
    let (_, version) = curl_order(&curl(&curl_path, &pki, &url, &[]).await);
    assert_eq!(version, "2");
}

#[test]
fn tls_files_that_cannot_be_loaded_fail_the_build_naming_the_file() {
    let pki = Pki::new("bad");
    let server = pki.server("server", "localhost", LOCAL);
    let other = pki.server("other", "localhost", LOCAL);
    std::fs::write(pki.path("garbage.pem"), "no PEM here\n").unwrap();
    let missing = pki.path("missing.pem");
    let garbage = pki.path("garbage.pem");
    let config = || {
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&server.key).unwrap();
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![server.der.clone().into()], key)
        .unwrap()
    };
    let cases: Vec<(Tls, &str, Option<&Path>)> = vec![
        (
            Tls::from_pem_files(&missing, &server.key),
            "certificate chain",
            Some(&missing),
        ),
        (
            Tls::from_pem_files(&garbage, &server.key),
            "no CERTIFICATE",
            Some(&garbage),
        ),
        (
            Tls::from_pem_files(&server.cert, &missing),
            "private key",
            Some(&missing),
        ),
        (
            Tls::from_pem_files(&server.cert, &other.key),
            "do not go together",
            Some(&server.cert),
        ),
        (
            Tls::from_pem_files(&server.cert, &server.key).client_ca(&missing),
            "client CA bundle",
            Some(&missing),
        ),
        (
            Tls::from_pem_files(&server.cert, &server.key).client_ca_optional(&garbage),
            "no CERTIFICATE",
            Some(&garbage),
        ),
        (
            Tls::from_config(Arc::new(config())).client_ca(pki.ca()),
            "need Tls::from_pem_files",
            None,
        ),
    ];
    for (tls, message, file) in cases {
        let debug = format!("{tls:?}");
        let error = Server::builder().tls(tls).build().unwrap_err();
        let shown = error.to_string();
        assert!(
            shown.starts_with("TLS: ") && shown.contains(message),
            "{debug}: {shown}"
        );
        if let Some(file) = file {
            assert!(
                shown.contains(&file.display().to_string()),
                "{debug}: {shown}"
            );
        }
    }
}
