//! TLS and mTLS for both ports (docs/reference.md section 10): the server's certificate from
//! PEM files, reloaded without a restart, or a rustls `ServerConfig` built in code; client
//! certificates checked against a CA bundle; and the verified client certificate
//! ([`PeerCertificate`]) in every request's extensions.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;

/// The `tracing` target of TLS events: reloads (INFO), failed reloads (WARN) and failed
/// handshakes (DEBUG).
pub const TARGET: &str = "rs_svc::tls";

/// How long a client may take to complete the TLS handshake, unless set otherwise: 10 s.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the PEM files are checked for changes, unless set otherwise: every 5 s.
pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// The ALPN protocols the server offers when it builds the rustls configuration.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The TLS settings of a server ([`Builder::tls`](super::Builder::tls)): both ports, or the one
/// port, then serve only TLS.
///
/// From PEM files, the certificate chain (leaf first) and its private key (PKCS#8, PKCS#1 or
/// SEC1) are read when the server is built, and read again when the process gets SIGHUP or
/// when a file's modification time or size changes (checked every
/// [`reload_interval`](Tls::reload_interval), default 5 s). A new connection gets the newest
/// certificate; open connections keep theirs. A reload that fails (a file missing or not
/// valid PEM, a key that does not match) keeps the previous certificate and logs a warning at
/// target [`TARGET`]. The server offers ALPN `h2` and `http/1.1`.
///
/// ```no_run
/// use rs_svc::serve::{Server, Tls};
///
/// let tls = Tls::from_pem_files("/etc/tls/server.crt", "/etc/tls/server.key")
///     // Clients must present a certificate signed by one of these CAs.
///     .client_ca("/etc/tls/clients-ca.crt");
/// let builder = Server::builder().tls(tls);
/// # let _ = builder;
/// ```
#[derive(Clone)]
pub struct Tls {
    source: Source,
    client_ca: Option<ClientCa>,
    handshake_timeout: Duration,
    reload_interval: Duration,
}

#[derive(Clone)]
enum Source {
    Files(Files),
    Config(Arc<ServerConfig>),
}

/// The PEM files a configuration is read from.
#[derive(Clone, Debug)]
struct Files {
    cert_chain: PathBuf,
    key: PathBuf,
    client_ca: Option<ClientCa>,
}

#[derive(Clone, Debug)]
struct ClientCa {
    bundle: PathBuf,
    required: bool,
}

impl Tls {
    /// Serves the certificate chain in `cert_chain` (PEM, the server's certificate first, then
    /// intermediates) with the private key in `key` (PEM). The files are read by
    /// [`Builder::build`](super::Builder::build), and again on SIGHUP or when they change.
    pub fn from_pem_files(cert_chain: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Tls {
        Tls::new(Source::Files(Files {
            cert_chain: cert_chain.into(),
            key: key.into(),
            client_ca: None,
        }))
    }

    /// Serves with a rustls configuration built in code, used as it is (its certificate
    /// resolver may do its own reloading), except that a configuration without ALPN protocols
    /// gets `h2` and `http/1.1`: gRPC clients refuse a TLS server that does not offer `h2`.
    pub fn from_config(config: Arc<ServerConfig>) -> Tls {
        let config = if config.alpn_protocols.is_empty() {
            let mut config = (*config).clone();
            config.alpn_protocols = alpn();
            Arc::new(config)
        } else {
            config
        };
        Tls::new(Source::Config(config))
    }

    fn new(source: Source) -> Tls {
        Tls {
            source,
            client_ca: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            reload_interval: DEFAULT_RELOAD_INTERVAL,
        }
    }

    /// Requires a client certificate (mTLS) signed by a CA of `bundle` (PEM, one or more
    /// certificates): a client without one, or with another, fails the handshake. The bundle is
    /// reloaded with the server's certificate. Only with [`Tls::from_pem_files`]; with
    /// [`Tls::from_config`] the configuration's own verifier decides, and building the server
    /// fails.
    pub fn client_ca(self, bundle: impl Into<PathBuf>) -> Tls {
        self.with_client_ca(bundle.into(), true)
    }

    /// Like [`Tls::client_ca`], but a client may also connect without a certificate: a request
    /// then carries no [`PeerCertificate`]. A certificate a client does present must still be
    /// signed by a CA of `bundle`.
    pub fn client_ca_optional(self, bundle: impl Into<PathBuf>) -> Tls {
        self.with_client_ca(bundle.into(), false)
    }

    fn with_client_ca(mut self, bundle: PathBuf, required: bool) -> Tls {
        self.client_ca = Some(ClientCa { bundle, required });
        self
    }

    /// How long a client may take to complete the handshake before its connection is closed;
    /// default [`DEFAULT_HANDSHAKE_TIMEOUT`]. Handshakes run in each connection's own task, so
    /// a slow one never holds up accepting others.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Tls {
        self.handshake_timeout = timeout;
        self
    }

    /// How often the PEM files' modification times and sizes are checked; default
    /// [`DEFAULT_RELOAD_INTERVAL`]. Zero turns checking off. SIGHUP reloads at once whatever
    /// this is.
    pub fn reload_interval(mut self, interval: Duration) -> Tls {
        self.reload_interval = interval;
        self
    }

    /// Reads the files (or takes the configuration): what `Builder::build` calls.
    pub(super) fn load(self) -> Result<Acceptor, TlsError> {
        let (config, files) = match self.source {
            Source::Config(_) if self.client_ca.is_some() => {
                return Err(TlsError::new(
                    None,
                    "client_ca and client_ca_optional need Tls::from_pem_files; with \
                     Tls::from_config, set the client verifier in the ServerConfig",
                ));
            }
            Source::Config(config) => (config, None),
            Source::Files(mut files) => {
                files.client_ca = self.client_ca;
                (load(&files)?, Some(Arc::new(files)))
            }
        };
        Ok(Acceptor {
            current: Arc::new(RwLock::new(config)),
            files,
            handshake_timeout: self.handshake_timeout,
            reload_interval: self.reload_interval,
        })
    }
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Tls");
        match &self.source {
            Source::Files(files) => debug.field("files", files),
            Source::Config(_) => debug.field("config", &".."),
        };
        debug
            .field("client_ca", &self.client_ca)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("reload_interval", &self.reload_interval)
            .finish()
    }
}

fn alpn() -> Vec<Vec<u8>> {
    ALPN.iter().map(|p| p.to_vec()).collect()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the configuration from the PEM files.
fn load(files: &Files) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = read_certificates(&files.cert_chain, "certificate chain")?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| TlsError::with_source(Some(&files.key), "cannot read the private key", e))?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::with_source(None, "unsupported protocol versions", e))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for certificate in read_certificates(&ca.bundle, "client CA bundle")? {
                roots.add(certificate).map_err(|e| {
                    TlsError::with_source(Some(&ca.bundle), "invalid CA certificate", e)
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider());
            let verifier = if ca.required {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            let verifier = verifier.build().map_err(|e| {
                TlsError::with_source(Some(&ca.bundle), "cannot verify clients with", e)
            })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        TlsError::with_source(
            Some(&files.cert_chain),
            "the certificate and the key do not go together",
            e,
        )
    })?;
    config.alpn_protocols = alpn();
    Ok(Arc::new(config))
}

fn read_certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let error = |e| TlsError::with_source(Some(path), format!("cannot read the {what}"), e);
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(error)?;
    if certificates.is_empty() {
        return Err(TlsError::new(
            Some(path),
            format!("no CERTIFICATE block in the {what}"),
        ));
    }
    Ok(certificates)
}

/// A TLS setting that could not be loaded: a file missing or not PEM, a key that does not match
/// the certificate, or a client CA with [`Tls::from_config`].
#[derive(Debug)]
pub struct TlsError {
    file: Option<PathBuf>,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TlsError {
    fn new(file: Option<&Path>, message: impl Into<String>) -> TlsError {
        TlsError {
            file: file.map(Path::to_path_buf),
            message: message.into(),
            source: None,
        }
    }

    fn with_source(
        file: Option<&Path>,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> TlsError {
        TlsError {
            source: Some(Box::new(source)),
            ..TlsError::new(file, message)
        }
    }

    /// The file the problem is in, if it is about one.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(file) = &self.file {
            write!(f, " {}", file.display())?;
        }
        // The cause too with `{:#}`, for the log lines of failed reloads.
        if let (true, Some(source)) = (f.alternate(), &self.source) {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

/// The loaded configuration, shared by every connection and swapped by reloads.
#[derive(Clone)]
pub(super) struct Acceptor {
    current: Arc<RwLock<Arc<ServerConfig>>>,
    files: Option<Arc<Files>>,
    handshake_timeout: Duration,
    reload_interval: Duration,
}

impl Acceptor {
    /// Runs the handshake on an accepted connection, within the handshake timeout; `None` when
    /// it failed or took too long (the connection is then dropped).
    pub(super) async fn accept(&self, stream: TcpStream) -> Option<TlsStream<TcpStream>> {
        let config = self
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let peer = stream.peer_addr().ok();
        let handshake = tokio_rustls::TlsAcceptor::from(config).accept(stream);
        match tokio::time::timeout(self.handshake_timeout, handshake).await {
            Ok(Ok(stream)) => Some(stream),
            Ok(Err(error)) => {
                tracing::debug!(target: TARGET, ?peer, %error, "TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::debug!(target: TARGET, ?peer, "TLS handshake timed out");
                None
            }
        }
    }

    /// Starts reloading the files (when the configuration came from files) on SIGHUP and when
    /// they change, until the returned guard is dropped.
    pub(super) fn watch(&self) -> Option<Reloading> {
        let files = self.files.clone()?;
        #[cfg(unix)]
        let hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(signal) => Some(signal),
            Err(error) => {
                tracing::warn!(target: TARGET, %error, "cannot listen for SIGHUP; TLS files are reloaded when they change only");
                None
            }
        };
        let current = self.current.clone();
        // Zero: no checking (a year between checks, as tokio's interval needs a period).
        let interval = match self.reload_interval {
            Duration::ZERO => Duration::from_secs(365 * 24 * 3600),
            interval => interval,
        };
        Some(Reloading(tokio::spawn(async move {
            let mut seen = stamps(&files);
            let mut tick =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            #[cfg(unix)]
            let mut hangup = hangup;
            loop {
                #[cfg(unix)]
                let hangup_received = async {
                    match &mut hangup {
                        Some(signal) => signal.recv().await,
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let hangup_received = std::future::pending::<Option<()>>();
                let why = tokio::select! {
                    _ = tick.tick() => {
                        let now = stamps(&files);
                        if now == seen {
                            continue;
                        }
                        seen = now;
                        "the files changed"
                    }
                    Some(()) = hangup_received => {
                        seen = stamps(&files);
                        "SIGHUP"
                    }
                };
                reload(&files, &current, why);
            }
        })))
    }
}

/// Reads the files again and swaps the configuration in, or keeps the current one and warns.
fn reload(files: &Files, current: &RwLock<Arc<ServerConfig>>, why: &str) {
    match load(files) {
        Ok(config) => {
            *current
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = config;
            tracing::info!(target: TARGET, cert_chain = %files.cert_chain.display(), reason = why, "TLS certificate reloaded");
        }
        Err(error) => {
            let error = format!("{error:#}");
            tracing::warn!(target: TARGET, %error, reason = why, "TLS reload failed; new connections keep the previous certificate");
        }
    }
}

/// What tells a changed file: its modification time and size (`None` while it is missing).
fn stamps(files: &Files) -> Vec<Option<(SystemTime, u64)>> {
    let stamp = |path: &Path| {
        // Follows symbolic links, so a link swapped to a new file (as Kubernetes does with
        // mounted secrets) counts as a change.
        let metadata = std::fs::metadata(path).ok()?;
        Some((metadata.modified().ok()?, metadata.len()))
    };
    let mut stamps = vec![stamp(&files.cert_chain), stamp(&files.key)];
    if let Some(ca) = &files.client_ca {
        stamps.push(stamp(&ca.bundle));
    }
    stamps
}

/// Stops the reload task when serving ends, however it ends.
pub(super) struct Reloading(JoinHandle<()>);

impl Drop for Reloading {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The certificate a client presented and the server verified (mTLS), in the extensions of
/// every request on that connection, gRPC and HTTP/JSON alike, so that handlers, interceptors
/// and [`Builder::layer`](super::Builder::layer)s can tell who is calling. Absent without TLS,
/// or when a client without a certificate was let in by [`Tls::client_ca_optional`].
///
/// ```
/// use rs_svc::serve::PeerCertificate;
///
/// fn caller<T>(request: &tonic::Request<T>) -> Result<String, tonic::Status> {
///     let peer = PeerCertificate::of(request)
///         .ok_or_else(|| tonic::Status::unauthenticated("no client certificate"))?;
///     // A SPIFFE ID, a host name, or the subject's common name.
///     let name = peer.uris().first().or(peer.dns_names().first()).cloned();
///     Ok(name.or_else(|| peer.common_name().map(str::to_owned)).unwrap_or_default())
/// }
/// ```
#[derive(Clone)]
pub struct PeerCertificate(Arc<Peer>);

struct Peer {
    chain: Vec<CertificateDer<'static>>,
    subject: String,
    common_name: Option<String>,
    dns_names: Vec<String>,
    uris: Vec<String>,
    emails: Vec<String>,
    ip_addresses: Vec<IpAddr>,
    serial: Vec<u8>,
}

impl PeerCertificate {
    /// The client's certificate, if the request came over a connection whose client presented
    /// one.
    pub fn of<T>(request: &tonic::Request<T>) -> Option<&PeerCertificate> {
        request.extensions().get::<PeerCertificate>()
    }

    /// From the chain the client presented (its own certificate first), which the server
    /// verified. A certificate x509-parser cannot read (the verifier accepted it, so this is
    /// rare) gives empty names.
    pub(super) fn from_chain(chain: &[CertificateDer<'static>]) -> Option<PeerCertificate> {
        let leaf = chain.first()?;
        let mut peer = Peer {
            chain: chain.to_vec(),
            subject: String::new(),
            common_name: None,
            dns_names: Vec::new(),
            uris: Vec::new(),
            emails: Vec::new(),
            ip_addresses: Vec::new(),
            serial: Vec::new(),
        };
        if let Ok((_, certificate)) = x509_parser::parse_x509_certificate(leaf) {
            use x509_parser::extensions::GeneralName;
            peer.subject = certificate.subject().to_string();
            peer.common_name = certificate
                .subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
                .map(str::to_owned);
            peer.serial = certificate.raw_serial().to_vec();
            if let Ok(Some(names)) = certificate.subject_alternative_name() {
                for name in &names.value.general_names {
                    match name {
                        GeneralName::DNSName(name) => peer.dns_names.push((*name).to_owned()),
                        GeneralName::URI(uri) => peer.uris.push((*uri).to_owned()),
                        GeneralName::RFC822Name(email) => peer.emails.push((*email).to_owned()),
                        GeneralName::IPAddress(bytes) => {
                            if let Some(ip) = ip_address(bytes) {
                                peer.ip_addresses.push(ip);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        Some(PeerCertificate(Arc::new(peer)))
    }

    /// The subject's distinguished name, attributes in the certificate's order, as OpenSSL
    /// prints them: `C=FR, O=Acme, CN=alice`.
    pub fn subject(&self) -> &str {
        &self.0.subject
    }

    /// The subject's common name (`CN`), if it has one.
    pub fn common_name(&self) -> Option<&str> {
        self.0.common_name.as_deref()
    }

    /// The DNS names among the subject alternative names.
    pub fn dns_names(&self) -> &[String] {
        &self.0.dns_names
    }

    /// The URIs among the subject alternative names (SPIFFE IDs, `spiffe://trust.domain/...`).
    pub fn uris(&self) -> &[String] {
        &self.0.uris
    }

    /// The e-mail addresses (`rfc822Name`) among the subject alternative names.
    pub fn emails(&self) -> &[String] {
        &self.0.emails
    }

    /// The IP addresses among the subject alternative names.
    pub fn ip_addresses(&self) -> &[IpAddr] {
        &self.0.ip_addresses
    }

    /// The serial number, big-endian bytes as encoded.
    pub fn serial(&self) -> &[u8] {
        &self.0.serial
    }

    /// The client's certificate, DER-encoded.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.0.chain[0]
    }

    /// Every certificate the client presented, its own first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.0.chain
    }
}

impl fmt::Debug for PeerCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerCertificate")
            .field("subject", &self.0.subject)
            .field("dns_names", &self.0.dns_names)
            .field("uris", &self.0.uris)
            .field("emails", &self.0.emails)
            .field("ip_addresses", &self.0.ip_addresses)
            .finish_non_exhaustive()
    }
}

fn ip_address(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => None,
    }
}
