//! Bearer-token (JWT) authentication for gRPC and HTTP/JSON alike (feature `jwt`).
//!
//! A [`Jwt`] checks the `authorization: Bearer <token>` of a call: the token's signature against
//! the issuer's keys (a JWK set fetched from a URL and cached, a JWK set given here, or an HMAC
//! secret), its algorithm against those allowed, its `exp` and `nbf` (with a leeway for clock
//! skew), its `iss` and `aud` against the ones this service accepts, and the claims it must
//! carry. A token that passes becomes a [`Principal`] in the request's extensions, where
//! handlers find it. One that does not is answered `UNAUTHENTICATED` (HTTP 401) with a
//! `www-authenticate` challenge as RFC 6750 section 3 writes it:
//!
//! | the call | `www-authenticate` |
//! | --- | --- |
//! | no `authorization`, or another scheme (`Basic ...`) | `Bearer` (with `realm="..."` when set) |
//! | a token that fails a check | `Bearer error="invalid_token", error_description="the token expired at ..."` |
//! | `authorization` sent twice, or `Bearer` with no token | `Bearer error="invalid_request", error_description="..."` |
//!
//! When the key set cannot be fetched and none was fetched before, the call is answered
//! `UNAVAILABLE` (HTTP 503): the token may be fine, the server cannot tell yet.
//!
//! ```no_run
//! # fn example() -> Result<(), rs_svc::auth::BuildError> {
//! use rs_svc::auth::Jwt;
//!
//! let jwt = Jwt::builder()
//!     .jwks_url("https://id.example.com/.well-known/jwks.json")
//!     .issuer("https://id.example.com/")
//!     .audience("orders")
//!     .build()?;
//! // On the server's stack, before every call (gRPC and HTTP/JSON):
//! let builder = rs_svc::serve::Server::builder().layer(jwt.layer());
//! // which is
//! let layer = rs_svc::serve::interceptor(move |request| {
//!     let jwt = jwt.clone();
//!     async move { jwt.authorize(request).await }
//! });
//! # let _ = (builder, layer); Ok(()) }
//! ```
//!
//! [`Jwt::layer_if`] guards only the calls a predicate picks, by their method.
//!
//! What a demanding deployment relies on:
//! - **No algorithm confusion.** `alg: none` is never accepted, and a key verifies only the
//!   algorithms of its own type (an RSA key RS256..PS512, an EC key the ES algorithm of its
//!   curve, an Ed25519 key EdDSA, an HMAC secret HS256..HS512), so a token signed with HMAC
//!   "keyed" by a public RSA key is refused. The allowed algorithms default to those the key
//!   source can verify; a JWK set's `alg` narrows its key further. A key set fetched from a
//!   URL never supplies HMAC secrets (a published secret is none).
//! - **Key rotation.** The fetched key set is kept for its `Cache-Control: max-age` (default 10
//!   minutes, at least the refetch interval, at most a day). A token naming a key (`kid`) the
//!   set lacks makes it fetched again, at most once per 30 s, so forged `kid`s cannot make the
//!   server hammer the issuer. A fetch that fails leaves the cached keys in use.
//! - **Plain messages, no secrets.** A rejection says which check failed ("the token expired at
//!   Sun, 09 Sep 2001 01:46:40 GMT", "the token's audience is not 'orders'") and never shows a
//!   key.

mod jwks;
mod keys;
mod principal;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::Validation;
use serde_json::{Map, Value};
use tonic::metadata::MetadataMap;

use keys::{Candidates, KeySet};

/// The JWT crate this module is built on (with its RustCrypto backend), for its types and for
/// signing tokens in tests: `jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)`.
pub use jsonwebtoken;
pub use jsonwebtoken::jwk::JwkSet;
pub use jsonwebtoken::Algorithm;
pub use principal::{ClaimError, Principal};

/// How far `exp` and `nbf` may be off, for clock skew, unless set otherwise: 60 s.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// How long a fetched key set is kept when its response has no `max-age`: 10 minutes.
pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(10 * 60);
/// The least time between two early fetches of the key set (for an unknown `kid`, after a
/// failure): 30 s.
pub const DEFAULT_JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// How long one fetch of the key set may take: 10 s.
pub const DEFAULT_JWKS_TIMEOUT: Duration = Duration::from_secs(10);
/// The shortest HMAC secret accepted: 32 bytes, the output size of SHA-256 (RFC 7518
/// section 3.2).
pub const MIN_HMAC_SECRET: usize = 32;

/// Verifies bearer tokens; made by [`Jwt::builder`]. Cloning is cheap and clones share the
/// cached key set.
#[derive(Clone)]
pub struct Jwt {
    inner: Arc<Inner>,
}

struct Inner {
    source: Source,
    /// One validation per allowed algorithm: jsonwebtoken checks that every algorithm of a
    /// validation fits the key, so each token is checked with its own.
    validations: Vec<(Algorithm, Validation)>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    /// Required claims beyond the registered ones jsonwebtoken checks.
    required: Vec<String>,
    realm: Option<String>,
}

enum Source {
    Static {
        keys: Arc<KeySet>,
        secret: bool,
    },
    /// Boxed: the client and cache are large beside an `Arc`.
    Remote(Box<jwks::Remote>),
}

impl Jwt {
    /// Starts configuring a verifier. Exactly one key source is needed: [`JwtBuilder::jwks_url`],
    /// [`JwtBuilder::jwk_set`] or [`JwtBuilder::hmac_secret`].
    pub fn builder() -> JwtBuilder {
        JwtBuilder::default()
    }

    /// Checks the call's bearer token and, when it passes, inserts its [`Principal`] into the
    /// request's extensions. Fits [`serve::interceptor`](crate::serve::interceptor) as it is.
    ///
    /// Fails with `UNAUTHENTICATED` carrying a `www-authenticate` challenge, or `UNAVAILABLE`
    /// when the keys cannot be had (see the [module documentation](self)).
    pub async fn authorize(
        &self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let token = bearer_token(request.metadata()).map(str::to_owned);
        let verified = match token {
            Ok(token) => self.verify(&token).await,
            Err(rejection) => Err(rejection),
        };
        match verified {
            Ok(principal) => {
                request.extensions_mut().insert(principal);
                Ok(request)
            }
            Err(rejection) => Err(self.status(&rejection)),
        }
    }

    /// Checks one token (without its `Bearer ` prefix), for callers that find it elsewhere
    /// than in `authorization`.
    pub async fn verify(&self, token: &str) -> Result<Principal, Rejection> {
        let inner = &*self.inner;
        let header = header(token)?;
        let alg = header.alg;
        let Some(validation) = inner.validation(alg) else {
            return Err(Rejection::InvalidToken(format!(
                "the token's algorithm {alg:?} is not allowed"
            )));
        };
        if header.crit.as_ref().is_some_and(|crit| !crit.is_empty()) {
            return Err(Rejection::InvalidToken(
                "the token has critical header parameters (crit) this service does not know"
                    .to_owned(),
            ));
        }
        let kid = header.kid.as_deref();
        let keys = match &inner.source {
            Source::Static { keys, .. } => keys.clone(),
            Source::Remote(remote) => remote.keys(kid).await.map_err(|why| {
                Rejection::Unavailable(format!(
                    "the token's signing keys could not be fetched: {}",
                    why.0
                ))
            })?,
        };
        let candidates = match keys.candidates(kid, alg) {
            Candidates::Keys(candidates) => candidates,
            Candidates::UnknownKid => {
                return Err(Rejection::InvalidToken(format!(
                    "the token's key '{}' is not one of the issuer's keys",
                    printable(kid.unwrap_or_default(), 64)
                )))
            }
            Candidates::NoKeyFor(alg) => {
                return Err(Rejection::InvalidToken(match kid {
                    Some(kid) => format!(
                        "the key '{}' does not verify {alg:?} tokens",
                        printable(kid, 64)
                    ),
                    None => format!("no key here verifies {alg:?} tokens"),
                }))
            }
        };
        let last = candidates.len() - 1;
        for (i, key) in candidates.into_iter().enumerate() {
            match jsonwebtoken::decode::<Map<String, Value>>(token, key.decoding_key(), validation)
            {
                Ok(data) => return inner.check_required(data.claims).map(Principal::new),
                // A token that names no key is tried against each key of its type.
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) && i < last => {}
                Err(e) => return Err(inner.describe(&e, token, key.kid())),
            }
        }
        unreachable!("the last candidate returns")
    }

    /// Fetches the key set now, unless a fresh one is cached, and says how many keys it has:
    /// call it at startup so that the first calls do not wait for the fetch and a wrong URL
    /// shows at once. A static key source answers at once. (Calls fetch by themselves too.)
    pub async fn fetch_keys(&self) -> Result<usize, Rejection> {
        match &self.inner.source {
            Source::Static { keys, .. } => Ok(keys.len()),
            Source::Remote(remote) => {
                remote
                    .keys(None)
                    .await
                    .map(|keys| keys.len())
                    .map_err(|why| {
                        Rejection::Unavailable(format!(
                            "the signing keys could not be fetched: {}",
                            why.0
                        ))
                    })
            }
        }
    }

    /// The status a rejection is answered with: `UNAUTHENTICATED` with its `www-authenticate`
    /// challenge in the metadata (HTTP/JSON sends it as the header of the 401), or
    /// `UNAVAILABLE`.
    pub fn status(&self, rejection: &Rejection) -> tonic::Status {
        let (error, message) = match rejection {
            Rejection::Unavailable(message) => return tonic::Status::unavailable(message),
            Rejection::NoToken(message) => (None, message),
            Rejection::InvalidRequest(message) => (Some("invalid_request"), message),
            Rejection::InvalidToken(message) => (Some("invalid_token"), message),
        };
        let mut status = tonic::Status::unauthenticated(message.clone());
        let challenge = challenge(self.inner.realm.as_deref(), error, message);
        let value = challenge
            .parse()
            .expect("the challenge holds only visible ASCII");
        status.metadata_mut().insert("www-authenticate", value);
        status
    }
}

/// What [`Jwt::layer`] and [`Jwt::layer_if`] run per call.
pub type AuthorizeFuture =
    Pin<Box<dyn Future<Output = Result<tonic::Request<()>, tonic::Status>> + Send + 'static>>;

impl Jwt {
    /// The layer for [`Builder::layer`](crate::serve::Builder::layer) that checks every call, gRPC
    /// and HTTP/JSON: `Server::builder().layer(jwt.layer())`.
    pub fn layer(
        &self,
    ) -> crate::serve::InterceptorLayer<
        impl Fn(tonic::Request<()>) -> AuthorizeFuture + Clone + Send + Sync + 'static,
    > {
        self.layer_if(|_: &crate::serve::CallInfo| true)
    }

    /// The layer that checks the calls `guard` picks, by their [`CallInfo`](crate::serve::CallInfo)
    /// (full method name, service, transport, ...), and lets the others through untouched:
    ///
    /// ```
    /// # fn example(jwt: rs_svc::auth::Jwt) -> rs_svc::serve::Builder {
    /// rs_svc::serve::Server::builder().layer(jwt.layer_if(|call| {
    ///     call.service() == "acme.shop.v1.AdminService"
    ///         || call.method() == "acme.shop.v1.OrderService/DeleteOrder"
    /// }))
    /// # }
    /// ```
    ///
    /// A call without `CallInfo` (not served by this crate's stack) is checked. A call let
    /// through carries no [`Principal`], token or not.
    pub fn layer_if<G>(
        &self,
        guard: G,
    ) -> crate::serve::InterceptorLayer<
        impl Fn(tonic::Request<()>) -> AuthorizeFuture + Clone + Send + Sync + 'static,
    >
    where
        G: Fn(&crate::serve::CallInfo) -> bool + Clone + Send + Sync + 'static,
    {
        let jwt = self.clone();
        crate::serve::interceptor(move |request: tonic::Request<()>| -> AuthorizeFuture {
            let checked = request
                .extensions()
                .get::<crate::serve::CallInfo>()
                .is_none_or(&guard);
            let jwt = jwt.clone();
            Box::pin(async move {
                if checked {
                    jwt.authorize(request).await
                } else {
                    Ok(request)
                }
            })
        })
    }
}

impl Inner {
    fn validation(&self, alg: Algorithm) -> Option<&Validation> {
        self.validations
            .iter()
            .find(|(allowed, _)| *allowed == alg)
            .map(|(_, validation)| validation)
    }

    fn check_required(&self, claims: Map<String, Value>) -> Result<Map<String, Value>, Rejection> {
        for name in &self.required {
            if claims.get(name).is_none_or(Value::is_null) {
                return Err(Rejection::InvalidToken(format!(
                    "the token has no '{name}' claim"
                )));
            }
        }
        Ok(claims)
    }

    /// What failed, in words. jsonwebtoken checks the signature before the claims, so a claim
    /// error means the signature held and the claim can be read back for the message.
    fn describe(
        &self,
        error: &jsonwebtoken::errors::Error,
        token: &str,
        kid: Option<&str>,
    ) -> Rejection {
        let message = match error.kind() {
            ErrorKind::InvalidSignature => match kid {
                Some(kid) => format!("the token's signature does not match the key '{kid}'"),
                None => "the token's signature does not match the key".to_owned(),
            },
            ErrorKind::ExpiredSignature => match claim_time(token, "exp") {
                Some(at) => format!("the token expired at {}", httpdate::fmt_http_date(at)),
                None => "the token expired".to_owned(),
            },
            ErrorKind::ImmatureSignature => match claim_time(token, "nbf") {
                Some(at) => format!(
                    "the token is not valid before {}",
                    httpdate::fmt_http_date(at)
                ),
                None => "the token is not valid yet".to_owned(),
            },
            ErrorKind::InvalidIssuer => {
                format!("the token's issuer is not {}", one_of(&self.issuers))
            }
            ErrorKind::InvalidAudience if self.audiences.is_empty() => {
                "the token names an audience (aud) and this service is configured with none"
                    .to_owned()
            }
            ErrorKind::InvalidAudience => {
                format!("the token's audience is not {}", one_of(&self.audiences))
            }
            ErrorKind::MissingRequiredClaim(claim) => format!("the token has no '{claim}' claim"),
            ErrorKind::InvalidClaimFormat(claim) => {
                format!("the token's '{claim}' claim is not a number of seconds")
            }
            ErrorKind::InvalidAlgorithm => "the token's algorithm is not allowed".to_owned(),
            ErrorKind::InvalidToken
            | ErrorKind::Base64(_)
            | ErrorKind::Json(_)
            | ErrorKind::Utf8(_) => "the token is malformed".to_owned(),
            ErrorKind::InvalidKeyFormat
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidEddsaKey => match kid {
                Some(kid) => format!("the key '{kid}' cannot verify the token"),
                None => "the key cannot verify the token".to_owned(),
            },
            _ => "the token could not be verified".to_owned(),
        };
        Rejection::InvalidToken(message)
    }
}

impl fmt::Debug for Jwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        let mut s = f.debug_struct("Jwt");
        match &inner.source {
            Source::Remote(remote) => s.field("jwks_url", &remote.url().to_string()),
            Source::Static { secret: true, .. } => s.field("hmac_secret", &"[redacted]"),
            Source::Static { keys, .. } => s.field("jwk_set", &keys.len()),
        };
        let algorithms: Vec<Algorithm> = inner.validations.iter().map(|(alg, _)| *alg).collect();
        s.field("algorithms", &algorithms)
            .field("issuers", &inner.issuers)
            .field("audiences", &inner.audiences)
            .field("required", &inner.required)
            .field("realm", &inner.realm)
            .finish_non_exhaustive()
    }
}

/// Why a call was not let through. Its text (`Display`) is the message the caller gets.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// No bearer token: no `authorization` at all, or another scheme. The challenge carries no
    /// error code (RFC 6750 section 3.1).
    NoToken(String),
    /// `authorization` is malformed: sent more than once, or `Bearer` without a token.
    InvalidRequest(String),
    /// The token failed a check: malformed, unsigned, bad signature, expired, not yet valid,
    /// wrong issuer or audience, a claim missing, an algorithm or key not allowed.
    InvalidToken(String),
    /// The key set could not be fetched and none is cached.
    Unavailable(String),
}

impl Rejection {
    /// What failed, as the caller reads it.
    pub fn message(&self) -> &str {
        match self {
            Rejection::NoToken(m)
            | Rejection::InvalidRequest(m)
            | Rejection::InvalidToken(m)
            | Rejection::Unavailable(m) => m,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Rejection {}

/// Configures a [`Jwt`]; made by [`Jwt::builder`].
///
/// ```
/// # fn example() -> Result<(), rs_svc::auth::BuildError> {
/// use std::time::Duration;
/// use rs_svc::auth::{Algorithm, Jwt};
///
/// let jwt = Jwt::builder()
///     .jwks_url("https://id.example.com/.well-known/jwks.json")
///     .issuer("https://id.example.com/")
///     .audience("orders")
///     .algorithms([Algorithm::RS256, Algorithm::ES256])
///     .leeway(Duration::from_secs(30))
///     .require_claim("tenant")
///     .realm("orders")
///     .build()?;
/// # let _ = jwt; Ok(()) }
/// ```
#[derive(Default)]
pub struct JwtBuilder {
    sources: Vec<KeySource>,
    algorithms: Option<Vec<Algorithm>>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    required: Vec<String>,
    leeway: Option<Duration>,
    realm: Option<String>,
    jwks_max_age: Option<Duration>,
    jwks_refetch_interval: Option<Duration>,
    jwks_timeout: Option<Duration>,
    jwks_roots_pem: Vec<u8>,
}

enum KeySource {
    Url(String),
    Set(JwkSet),
    Secret(Vec<u8>),
}

impl JwtBuilder {
    /// Verifies with the keys of the JWK set document at `url` (`https://`, or `http://` for a
    /// sidecar or a test), fetched on first use and cached (see the
    /// [module documentation](self)). TLS uses rustls with the webpki roots.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.sources.push(KeySource::Url(url.into()));
        self
    }

    /// Verifies with the signing keys of a JWK set given here (read one with
    /// `serde_json::from_str::<JwkSet>(..)`). Keys that cannot verify signatures (encryption
    /// keys, unknown types) are left out; a set with none left is an error from
    /// [`JwtBuilder::build`].
    pub fn jwk_set(mut self, set: JwkSet) -> Self {
        self.sources.push(KeySource::Set(set));
        self
    }

    /// Verifies HS256, HS384 and HS512 tokens with a shared secret of at least
    /// [`MIN_HMAC_SECRET`] bytes.
    pub fn hmac_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.sources
            .push(KeySource::Secret(secret.as_ref().to_vec()));
        self
    }

    /// Accepts tokens whose `iss` is `issuer` (called again, any of them) and requires `iss`.
    /// Without it, any issuer whose keys verify the token is accepted.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Accepts tokens whose `aud` names `audience` (called again, any of them) and requires
    /// `aud`. Without it, a token that names any audience is refused (RFC 7519 section 4.1.3).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The algorithms tokens may be signed with; by default every one the key source can
    /// verify. Each must fit the key source: HS* need an HMAC secret (or `oct` keys in a
    /// [`JwtBuilder::jwk_set`]), the others public keys.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// How far `exp` and `nbf` may be off, for clock skew; default [`DEFAULT_LEEWAY`]. Whole
    /// seconds (the claims' unit).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
        self
    }

    /// A claim every token must carry (not `null`). `exp` is always required; `iss` and `aud`
    /// are once an issuer or audience is set.
    pub fn require_claim(mut self, name: impl Into<String>) -> Self {
        self.required.push(name.into());
        self
    }

    /// The `realm` of the `www-authenticate` challenge (visible ASCII, no `"` or `\`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// How long a fetched key set is kept when its response has no `Cache-Control: max-age`;
    /// default [`DEFAULT_JWKS_MAX_AGE`].
    pub fn jwks_max_age(mut self, max_age: Duration) -> Self {
        self.jwks_max_age = Some(max_age);
        self
    }

    /// The least time between two early fetches of the key set (for a token naming an unknown
    /// key, or after a failed fetch), and the shortest time a fetched set is kept; default
    /// [`DEFAULT_JWKS_REFETCH_INTERVAL`].
    pub fn jwks_refetch_interval(mut self, interval: Duration) -> Self {
        self.jwks_refetch_interval = Some(interval);
        self
    }

    /// Also trusts the CA certificates in `pem` (one or more, PEM) for an `https://` JWKS URL,
    /// beside the webpki roots: for an issuer behind a private CA.
    pub fn jwks_root_certificates(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.jwks_roots_pem.extend_from_slice(pem.as_ref());
        self.jwks_roots_pem.push(b'\n');
        self
    }

    /// How long one fetch of the key set may take; default [`DEFAULT_JWKS_TIMEOUT`].
    pub fn jwks_timeout(mut self, timeout: Duration) -> Self {
        self.jwks_timeout = Some(timeout);
        self
    }

    /// Checks the configuration. Fetches nothing yet: the key set is fetched on first use.
    pub fn build(self) -> Result<Jwt, BuildError> {
        // Both backends may be enabled in a program's dependency graph; jsonwebtoken then asks
        // for one to be installed. This crate verifies with RustCrypto unless one is already.
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();

        let mut sources = self.sources.into_iter();
        let source = match (sources.next(), sources.next()) {
            (Some(source), None) => source,
            (None, _) => return Err(BuildError::NoKeySource),
            (Some(_), Some(_)) => return Err(BuildError::SeveralKeySources),
        };
        let (source, possible, kind) = match source {
            KeySource::Url(url) => {
                let uri: http::Uri = url.parse().map_err(|_| BuildError::JwksUrl(url.clone()))?;
                let scheme_ok = matches!(uri.scheme_str(), Some("https" | "http"));
                if !scheme_ok || uri.host().is_none() {
                    return Err(BuildError::JwksUrl(url));
                }
                let policy = jwks::Policy {
                    default_max_age: self.jwks_max_age.unwrap_or(DEFAULT_JWKS_MAX_AGE),
                    refetch_interval: self
                        .jwks_refetch_interval
                        .unwrap_or(DEFAULT_JWKS_REFETCH_INTERVAL),
                    timeout: self.jwks_timeout.unwrap_or(DEFAULT_JWKS_TIMEOUT),
                };
                let roots = root_certificates(&self.jwks_roots_pem)?;
                let remote = jwks::Remote::new(uri, policy, roots).map_err(BuildError::Tls)?;
                (
                    Source::Remote(Box::new(remote)),
                    keys::ASYMMETRIC.to_vec(),
                    "a JWKS URL",
                )
            }
            KeySource::Set(set) => {
                let (keys, skipped) = KeySet::from_jwks(set.keys.into_iter().map(Ok), true);
                if keys.is_empty() {
                    return Err(BuildError::NoUsableKey(skipped));
                }
                let possible = keys.algorithms();
                let keys = Arc::new(keys);
                (
                    Source::Static {
                        keys,
                        secret: false,
                    },
                    possible,
                    "this JWK set",
                )
            }
            KeySource::Secret(secret) => {
                if secret.len() < MIN_HMAC_SECRET {
                    return Err(BuildError::ShortSecret(secret.len()));
                }
                let keys = Arc::new(KeySet::secret(&secret));
                (
                    Source::Static { keys, secret: true },
                    keys::HMAC.to_vec(),
                    "an HMAC secret",
                )
            }
        };
        let algorithms = match self.algorithms {
            None => possible,
            Some(algorithms) => {
                if let Some(alg) = algorithms.iter().find(|alg| !possible.contains(alg)) {
                    return Err(BuildError::AlgorithmWithoutKey {
                        algorithm: *alg,
                        source: kind,
                    });
                }
                algorithms
            }
        };
        if algorithms.is_empty() {
            return Err(BuildError::NoAlgorithm);
        }
        if let Some(realm) = &self.realm {
            if !realm.chars().all(allowed_in_quotes) {
                return Err(BuildError::Realm(realm.clone()));
            }
        }

        let leeway = self.leeway.unwrap_or(DEFAULT_LEEWAY).as_secs();
        let registered = ["exp", "nbf", "iat", "iss", "aud", "sub"];
        let mut spec_required = vec!["exp".to_owned()];
        if !self.issuers.is_empty() {
            spec_required.push("iss".to_owned());
        }
        if !self.audiences.is_empty() {
            spec_required.push("aud".to_owned());
        }
        spec_required.extend(
            self.required
                .iter()
                .filter(|name| registered.contains(&name.as_str()))
                .cloned(),
        );
        let validations = algorithms
            .iter()
            .map(|&alg| {
                let mut validation = Validation::new(alg);
                validation.leeway = leeway;
                validation.validate_nbf = true;
                validation.validate_aud = true;
                if !self.issuers.is_empty() {
                    validation.set_issuer(&self.issuers);
                }
                if !self.audiences.is_empty() {
                    validation.set_audience(&self.audiences);
                }
                validation.set_required_spec_claims(&spec_required);
                (alg, validation)
            })
            .collect();
        Ok(Jwt {
            inner: Arc::new(Inner {
                source,
                validations,
                issuers: self.issuers,
                audiences: self.audiences,
                // All of them: jsonwebtoken ignores the ones it does not know (`iat`).
                required: self.required,
                realm: self.realm,
            }),
        })
    }
}

impl fmt::Debug for JwtBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtBuilder")
            .field("algorithms", &self.algorithms)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("required", &self.required)
            .finish_non_exhaustive()
    }
}

/// Why a [`JwtBuilder`] could not build.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// No key source: call `jwks_url`, `jwk_set` or `hmac_secret`.
    NoKeySource,
    /// More than one key source.
    SeveralKeySources,
    /// The JWKS URL is not an absolute `https://` or `http://` URL.
    JwksUrl(String),
    /// The HMAC secret is shorter than [`MIN_HMAC_SECRET`] bytes (its length).
    ShortSecret(usize),
    /// The JWK set has no key that verifies signatures (why each key was left out).
    NoUsableKey(Vec<String>),
    /// An allowed algorithm the key source cannot verify (an HS* algorithm without an HMAC
    /// secret, an asymmetric one with only a secret).
    AlgorithmWithoutKey {
        /// The algorithm.
        algorithm: Algorithm,
        /// The key source, in words.
        source: &'static str,
    },
    /// `algorithms` was given an empty list.
    NoAlgorithm,
    /// The realm has a character a quoted string cannot hold as it is.
    Realm(String),
    /// The PEM given to [`JwtBuilder::jwks_root_certificates`] could not be read.
    RootCertificates(String),
    /// The TLS configuration for fetching the key set failed (a root certificate rustls
    /// refused, for one).
    Tls(rustls::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::NoKeySource => {
                f.write_str("no key source: set jwks_url, jwk_set or hmac_secret")
            }
            BuildError::SeveralKeySources => {
                f.write_str("more than one key source: set one of jwks_url, jwk_set, hmac_secret")
            }
            BuildError::JwksUrl(url) => {
                write!(
                    f,
                    "the JWKS URL `{url}` is not an absolute https:// or http:// URL"
                )
            }
            BuildError::ShortSecret(len) => write!(
                f,
                "the HMAC secret has {len} bytes; at least {MIN_HMAC_SECRET} are needed"
            ),
            BuildError::NoUsableKey(skipped) if skipped.is_empty() => {
                f.write_str("the JWK set is empty")
            }
            BuildError::NoUsableKey(skipped) => write!(
                f,
                "the JWK set has no key that verifies signatures ({})",
                skipped.join("; ")
            ),
            BuildError::AlgorithmWithoutKey { algorithm, source } => write!(
                f,
                "{algorithm:?} is allowed but {source} has no key for it (HMAC algorithms need \
                 a secret, the others public keys)"
            ),
            BuildError::NoAlgorithm => f.write_str("no algorithm is allowed"),
            BuildError::Realm(realm) => write!(
                f,
                "the realm `{realm}` may hold only visible ASCII and spaces, without `\"` or `\\`"
            ),
            BuildError::RootCertificates(why) => {
                write!(f, "cannot read the JWKS root certificates: {why}")
            }
            BuildError::Tls(_) => f.write_str("cannot configure TLS for fetching the key set"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Tls(source) => Some(source),
            _ => None,
        }
    }
}

/// The certificates of a PEM document (other sections, such as keys, are skipped).
fn root_certificates(
    pem: &[u8],
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, BuildError> {
    use rustls::pki_types::pem::PemObject as _;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| BuildError::RootCertificates(e.to_string()))
}

/// The token of `authorization: Bearer <token>` (the scheme in any case).
fn bearer_token(metadata: &MetadataMap) -> Result<&str, Rejection> {
    let mut values = metadata.get_all("authorization").iter();
    let Some(value) = values.next() else {
        return Err(Rejection::NoToken(
            "the request has no bearer token (no authorization header)".to_owned(),
        ));
    };
    if values.next().is_some() {
        return Err(Rejection::InvalidRequest(
            "the request has more than one authorization header".to_owned(),
        ));
    }
    let Ok(value) = value.to_str() else {
        return Err(Rejection::InvalidRequest(
            "the authorization header is not visible ASCII".to_owned(),
        ));
    };
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Rejection::NoToken(format!(
            "the request has no bearer token (its authorization scheme is '{}')",
            printable(scheme, 20)
        )));
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() {
        return Err(Rejection::InvalidRequest(
            "the authorization header has the Bearer scheme and no token".to_owned(),
        ));
    }
    Ok(token)
}

/// The token's header, with the unsupported and unsigned ones told apart from garbage.
fn header(token: &str) -> Result<jsonwebtoken::Header, Rejection> {
    jsonwebtoken::decode_header(token).map_err(|_| {
        let message = match header_alg(token) {
            Some(alg) if alg.eq_ignore_ascii_case("none") => {
                "the token is not signed (alg 'none')".to_owned()
            }
            Some(alg) => format!(
                "the token's algorithm '{}' is not supported",
                printable(&alg, 20)
            ),
            None => "the token is malformed".to_owned(),
        };
        Rejection::InvalidToken(message)
    })
}

/// The `alg` of a token's header, read without checking anything else.
fn header_alg(token: &str) -> Option<String> {
    use base64::Engine as _;
    let encoded = token.split('.').next()?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .ok()?;
    let header: Value = serde_json::from_slice(&json).ok()?;
    header.get("alg")?.as_str().map(str::to_owned)
}

/// A time claim of a token whose signature was verified.
fn claim_time(token: &str, name: &str) -> Option<SystemTime> {
    let data = jsonwebtoken::dangerous::insecure_decode::<Map<String, Value>>(token).ok()?;
    let seconds = data.claims.get(name)?.as_f64()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(seconds.floor()).ok()?)
}

/// `'a'`, or `one of 'a', 'b'`.
fn one_of(values: &[String]) -> String {
    let quoted: Vec<String> = values
        .iter()
        .map(|v| format!("'{}'", printable(v, 100)))
        .collect();
    match quoted.as_slice() {
        [one] => one.clone(),
        _ => format!("one of {}", quoted.join(", ")),
    }
}

/// The challenge of RFC 6750 section 3: `Bearer`, then `realm`, `error` and
/// `error_description` as quoted strings.
fn challenge(realm: Option<&str>, error: Option<&str>, description: &str) -> String {
    let mut params = Vec::new();
    if let Some(realm) = realm {
        params.push(format!("realm=\"{realm}\""));
    }
    if let Some(error) = error {
        params.push(format!("error=\"{error}\""));
        params.push(format!(
            "error_description=\"{}\"",
            printable(description, 300)
        ));
    }
    if params.is_empty() {
        "Bearer".to_owned()
    } else {
        format!("Bearer {}", params.join(", "))
    }
}

/// The characters RFC 6750 allows in `error_description` (and used here for `realm`): visible
/// ASCII and space, without `"` and `\`.
fn allowed_in_quotes(c: char) -> bool {
    matches!(c, ' '..='~') && c != '"' && c != '\\'
}

/// `text` cut to `max` characters, with characters a quoted string cannot hold replaced, for
/// echoing what the caller sent.
fn printable(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| match c {
            '"' => '\'',
            c if allowed_in_quotes(c) => c,
            _ => '?',
        })
        .collect();
    if text.chars().count() > max {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(values: &[&str]) -> MetadataMap {
        let mut metadata = MetadataMap::new();
        for value in values {
            metadata.append("authorization", value.parse().unwrap());
        }
        metadata
    }

    #[test]
    fn bearer_token_reads_the_authorization_header_as_rfc_6750_writes_it() {
        let cases: &[(&[&str], Result<&str, &str>)] = &[
            (&["Bearer abc.def.ghi"], Ok("abc.def.ghi")),
            (&["bearer abc"], Ok("abc")),
            (&["BEARER  abc"], Ok("abc")),
            (&[], Err("NoToken")),
            (&["Basic dXNlcjpwdw=="], Err("NoToken")),
            (&["Bearer"], Err("InvalidRequest")),
            (&["Bearer "], Err("InvalidRequest")),
            (&["Bearer a", "Bearer b"], Err("InvalidRequest")),
        ];
        for (values, want) in cases {
            let metadata = metadata(values);
            let got = bearer_token(&metadata).map_err(|r| match r {
                Rejection::NoToken(_) => "NoToken",
                Rejection::InvalidRequest(_) => "InvalidRequest",
                _ => "other",
            });
            assert_eq!(&got, want, "{values:?}");
        }
    }

    #[test]
    fn challenges_quote_their_parameters_and_keep_descriptions_printable() {
        assert_eq!(challenge(None, None, "ignored"), "Bearer");
        assert_eq!(
            challenge(Some("orders"), None, "x"),
            "Bearer realm=\"orders\""
        );
        assert_eq!(
            challenge(Some("r"), Some("invalid_token"), "say \"hi\"\\ é\n"),
            "Bearer realm=\"r\", error=\"invalid_token\", error_description=\"say 'hi'? ??\""
        );
    }

    #[test]
    fn the_alg_of_an_unparsable_header_is_read_to_name_what_failed() {
        // {"alg":"none","typ":"JWT"} . {} . (no signature)
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.e30.";
        assert_eq!(header_alg(none).as_deref(), Some("none"));
        let error = header(none).unwrap_err();
        assert_eq!(error.message(), "the token is not signed (alg 'none')");
        assert_eq!(
            header("garbage").unwrap_err().message(),
            "the token is malformed"
        );
    }
}
