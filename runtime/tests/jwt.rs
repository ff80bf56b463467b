//! `rs_svc::auth::Jwt` against tokens signed here (HS256, RS256, ES256 with the keys in
//! tests/data) and a JWK set served over a real socket by a small server started in each test.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rs_svc::auth::{BuildError, Jwt, Principal};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tonic::{Code, Status};

const RSA_A: &[u8] = include_bytes!("data/jwt-rsa-a.pem");
const RSA_B: &[u8] = include_bytes!("data/jwt-rsa-b.pem");
const EC: &[u8] = include_bytes!("data/jwt-ec.pem");
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

const ISSUER: &str = "https://id.test/";
const AUDIENCE: &str = "orders";
/// 2001-09-09T01:46:40Z, long gone.
const PAST: u64 = 1_000_000_000;
/// 2100-01-01T00:00:00Z.
const FUTURE: u64 = 4_102_444_800;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn encoding_key(alg: Algorithm, pem: &[u8]) -> EncodingKey {
    match alg {
        Algorithm::HS256 => EncodingKey::from_secret(pem),
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem).unwrap(),
        _ => EncodingKey::from_rsa_pem(pem).unwrap(),
    }
}

/// A token signed with `alg` and the key `pem` (a secret for HS256), naming `kid`.
fn sign(alg: Algorithm, pem: &[u8], kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &encoding_key(alg, pem)).unwrap()
}

/// The public JWK of the private key `pem`, named `kid`.
fn jwk(alg: Algorithm, pem: &[u8], kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(&encoding_key(alg, pem), alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk
}

fn key_a() -> Jwk {
    jwk(Algorithm::RS256, RSA_A, "a")
}

fn key_b() -> Jwk {
    jwk(Algorithm::RS256, RSA_B, "b")
}

fn key_ec() -> Jwk {
    jwk(Algorithm::ES256, EC, "ec")
}

/// Claims that pass every check.
fn good_claims() -> Value {
    json!({"sub": "ada", "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 3600,
           "iat": now(), "tenant": "acme", "scope": "orders.read"})
}

fn claims_with(changes: Value) -> Value {
    let mut claims = good_claims();
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

/// Serves a JWK set at `/jwks.json` on 127.0.0.1 and counts the fetches.
#[derive(Clone)]
struct JwksServer {
    addr: SocketAddr,
    answer: Arc<Mutex<Answer>>,
    fetches: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct Answer {
    status: u16,
    body: String,
    cache_control: Option<String>,
    delay: Duration,
}

/// The TLS side of the test server: `jwt-server.pem`, signed by the test CA `jwt-ca.pem`.
fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(include_bytes!("data/jwt-server.pem"))
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("data/jwt-server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

impl JwksServer {
    async fn start(keys: Vec<Jwk>) -> JwksServer {
        Self::serve(keys, None).await
    }

    async fn start_tls(keys: Vec<Jwk>) -> JwksServer {
        Self::serve(keys, Some(tls_acceptor())).await
    }

    async fn serve(keys: Vec<Jwk>, tls: Option<tokio_rustls::TlsAcceptor>) -> JwksServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = JwksServer {
            addr: listener.local_addr().unwrap(),
            answer: Arc::new(Mutex::new(Answer {
                status: 200,
                body: String::new(),
                cache_control: None,
                delay: Duration::ZERO,
            })),
            fetches: Arc::new(AtomicUsize::new(0)),
        };
        server.serve_keys(keys);
        let state = server.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let state = state.clone();
                let service = hyper::service::service_fn(move |_: http::Request<_>| {
                    let state = state.clone();
                    async move {
                        state.fetches.fetch_add(1, Ordering::SeqCst);
                        let answer = state.answer.lock().unwrap().clone();
                        tokio::time::sleep(answer.delay).await;
                        let mut response = http::Response::builder()
                            .status(answer.status)
                            .header("content-type", "application/json");
                        if let Some(cache_control) = answer.cache_control {
                            response = response.header("cache-control", cache_control);
                        }
                        let response = response.body(Full::new(Bytes::from(answer.body)));
                        Ok::<_, Infallible>(response.unwrap())
                    }
                });
                let tls = tls.clone();
                tokio::spawn(async move {
                    let builder = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    );
                    let _ = match tls {
                        // A client that refuses the certificate ends the handshake.
                        Some(tls) => match tls.accept(stream).await {
                            Ok(stream) => {
                                let io = hyper_util::rt::TokioIo::new(stream);
                                builder.serve_connection(io, service).await
                            }
                            Err(_) => return,
                        },
                        None => {
                            let io = hyper_util::rt::TokioIo::new(stream);
                            builder.serve_connection(io, service).await
                        }
                    };
                });
            }
        });
        server
    }

    fn url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    fn https_url(&self) -> String {
        format!("https://{}/jwks.json", self.addr)
    }

    fn serve_keys(&self, keys: Vec<Jwk>) {
        let mut answer = self.answer.lock().unwrap();
        answer.status = 200;
        answer.body = serde_json::to_string(&JwkSet { keys }).unwrap();
    }

    fn set(&self, change: impl FnOnce(&mut Answer)) {
        change(&mut self.answer.lock().unwrap());
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// What `authorize` answers for a call with this `authorization` header.
async fn call(jwt: &Jwt, authorization: Option<&str>) -> Result<Principal, Status> {
    let mut request = tonic::Request::new(());
    if let Some(value) = authorization {
        request
            .metadata_mut()
            .insert("authorization", value.parse().unwrap());
    }
    let request = jwt.authorize(request).await?;
    Ok(Principal::of(&request)
        .expect("an authorized request carries its principal")
        .clone())
}

async fn call_token(jwt: &Jwt, token: &str) -> Result<Principal, Status> {
    call(jwt, Some(&format!("Bearer {token}"))).await
}

fn challenge(status: &Status) -> Option<&str> {
    status
        .metadata()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap())
}

/// The challenge of a token that failed a check, in realm `shop`.
fn invalid_token(description: &str) -> String {
    format!("Bearer realm=\"shop\", error=\"invalid_token\", error_description=\"{description}\"")
}

fn shop_jwt(url: String) -> Jwt {
    Jwt::builder()
        .jwks_url(url)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .realm("shop")
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_failed_check_is_unauthenticated_with_an_rfc_6750_challenge_saying_what_failed() {
    let server = JwksServer::start(vec![key_a(), key_ec()]).await;
    let jwt = shop_jwt(server.url());
    let rs256 = |claims: Value| sign(Algorithm::RS256, RSA_A, Some("a"), &claims);
    let unsigned = {
        use base64::Engine as _;
        let b64 = |v: Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
        };
        format!(
            "{}.{}.",
            b64(json!({"alg": "none", "typ": "JWT"})),
            b64(good_claims())
        )
    };
    // An HMAC token "keyed" with the RSA key's public JWK, as an algorithm-confusion attack
    // signs it.
    let public_key_text = serde_json::to_string(&key_a()).unwrap();
    let confused = sign(
        Algorithm::HS256,
        public_key_text.as_bytes(),
        Some("a"),
        &good_claims(),
    );

    let no_token = "Bearer realm=\"shop\"";
    let cases: Vec<(&str, Option<String>, &str, String)> = vec![
        (
            "missing token",
            None,
            "the request has no bearer token (no authorization header)",
            no_token.to_owned(),
        ),
        (
            "not a bearer scheme",
            Some("Basic YWRhOnB3".to_owned()),
            "the request has no bearer token (its authorization scheme is 'Basic')",
            no_token.to_owned(),
        ),
        (
            "bearer without a token",
            Some("Bearer ".to_owned()),
            "the authorization header has the Bearer scheme and no token",
            "Bearer realm=\"shop\", error=\"invalid_request\", error_description=\"the \
             authorization header has the Bearer scheme and no token\""
                .to_owned(),
        ),
        (
            "malformed token",
            Some("Bearer not-a-jwt".to_owned()),
            "the token is malformed",
            invalid_token("the token is malformed"),
        ),
        (
            "alg none",
            Some(format!("Bearer {unsigned}")),
            "the token is not signed (alg 'none')",
            invalid_token("the token is not signed (alg 'none')"),
        ),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                rs256(claims_with(json!({"exp": PAST})))
            )),
            "the token expired at Sun, 09 Sep 2001 01:46:40 GMT",
            invalid_token("the token expired at Sun, 09 Sep 2001 01:46:40 GMT"),
        ),
        (
            "not yet valid",
            Some(format!(
                "Bearer {}",
                rs256(claims_with(json!({"nbf": FUTURE, "exp": FUTURE + 3600})))
            )),
            "the token is not valid before Fri, 01 Jan 2100 00:00:00 GMT",
            invalid_token("the token is not valid before Fri, 01 Jan 2100 00:00:00 GMT"),
        ),
        (
            "wrong audience",
            Some(format!(
                "Bearer {}",
                rs256(claims_with(json!({"aud": ["billing"]})))
            )),
            "the token's audience is not 'orders'",
            invalid_token("the token's audience is not 'orders'"),
        ),
        (
            "no audience",
            Some(format!(
                "Bearer {}",
                rs256(claims_with(json!({"aud": null})))
            )),
            "the token has no 'aud' claim",
            invalid_token("the token has no 'aud' claim"),
        ),
        (
            "wrong issuer",
            Some(format!(
                "Bearer {}",
                rs256(claims_with(json!({"iss": "https://evil/"})))
            )),
            "the token's issuer is not 'https://id.test/'",
            invalid_token("the token's issuer is not 'https://id.test/'"),
        ),
        (
            "no expiry",
            Some(format!(
                "Bearer {}",
                rs256(claims_with(json!({"exp": null})))
            )),
            "the token has no 'exp' claim",
            invalid_token("the token has no 'exp' claim"),
        ),
        (
            "wrong key",
            Some(format!(
                "Bearer {}",
                sign(Algorithm::RS256, RSA_B, Some("a"), &good_claims())
            )),
            "the token's signature does not match the key 'a'",
            invalid_token("the token's signature does not match the key 'a'"),
        ),
        (
            "HMAC token against an RSA key set",
            Some(format!("Bearer {confused}")),
            "the token's algorithm HS256 is not allowed",
            invalid_token("the token's algorithm HS256 is not allowed"),
        ),
        (
            "EC key named for an RSA token",
            Some(format!(
                "Bearer {}",
                sign(Algorithm::RS256, RSA_A, Some("ec"), &good_claims())
            )),
            "the key 'ec' does not verify RS256 tokens",
            invalid_token("the key 'ec' does not verify RS256 tokens"),
        ),
    ];
    let mut wrong = Vec::new();
    for (name, authorization, message, want_challenge) in &cases {
        let status = match call(&jwt, authorization.as_deref()).await {
            Ok(principal) => {
                wrong.push(format!("{name}: let through as {principal:?}"));
                continue;
            }
            Err(status) => status,
        };
        let got = (status.code(), status.message(), challenge(&status));
        let want = (
            Code::Unauthenticated,
            *message,
            Some(want_challenge.as_str()),
        );
        if got != want {
            wrong.push(format!("{name}:\n   got {got:?}\n  want {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn a_valid_token_puts_its_principal_in_the_request_extensions() {
    let server = JwksServer::start(vec![key_a(), key_ec()]).await;
    let jwt = shop_jwt(server.url());
    for (alg, pem, kid) in [
        (Algorithm::RS256, RSA_A, Some("a")),
        (Algorithm::ES256, EC, Some("ec")),
        // No kid: tried against each key that verifies the algorithm.
        (Algorithm::RS256, RSA_A, None),
    ] {
        let claims = good_claims();
        let principal = call_token(&jwt, &sign(alg, pem, kid, &claims))
            .await
            .unwrap_or_else(|status| panic!("{alg:?} {kid:?}: {status:?}"));
        assert_eq!(principal.subject(), Some("ada"));
        assert_eq!(principal.issuer(), Some(ISSUER));
        assert_eq!(principal.audience(), [AUDIENCE]);
        assert_eq!(
            principal.expires_at(),
            Some(UNIX_EPOCH + Duration::from_secs(claims["exp"].as_u64().unwrap()))
        );
        assert_eq!(principal.claim::<String>("tenant").unwrap(), "acme");
        assert!(principal.has_scope("orders.read"));
        assert_eq!(principal.claims(), claims.as_object().unwrap());
    }
    // One fetch served all of them.
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn the_clock_leeway_is_60_seconds_unless_set() {
    let jwk_set = JwkSet {
        keys: vec![key_a()],
    };
    let lenient = Jwt::builder()
        .jwk_set(jwk_set.clone())
        .audience(AUDIENCE)
        .build()
        .unwrap();
    let strict = Jwt::builder()
        .jwk_set(jwk_set)
        .audience(AUDIENCE)
        .leeway(Duration::ZERO)
        .build()
        .unwrap();
    let just_expired = sign(
        Algorithm::RS256,
        RSA_A,
        Some("a"),
        &claims_with(json!({"exp": now() - 30})),
    );
    let soon_valid = sign(
        Algorithm::RS256,
        RSA_A,
        Some("a"),
        &claims_with(json!({"nbf": now() + 30})),
    );
    for token in [&just_expired, &soon_valid] {
        assert!(call_token(&lenient, token).await.is_ok());
        let status = call_token(&strict, token).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    }
}

#[tokio::test]
async fn the_key_set_is_kept_for_its_max_age() {
    let server = JwksServer::start(vec![key_a()]).await;
    server.set(|a| a.cache_control = Some("public, max-age=1".to_owned()));
    let jwt = Jwt::builder()
        .jwks_url(server.url())
        .audience(AUDIENCE)
        .jwks_refetch_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    let token = sign(Algorithm::RS256, RSA_A, Some("a"), &good_claims());
    assert_eq!(
        server.fetches(),
        0,
        "nothing is fetched before the first call"
    );
    assert_eq!(jwt.fetch_keys().await, Ok(1), "fetched ahead of the calls");
    call_token(&jwt, &token).await.unwrap();
    call_token(&jwt, &token).await.unwrap();
    assert_eq!(server.fetches(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    call_token(&jwt, &token).await.unwrap();
    assert_eq!(server.fetches(), 2, "fetched again once max-age passed");

    // Without Cache-Control, the builder's default max age.
    let server = JwksServer::start(vec![key_a()]).await;
    let jwt = Jwt::builder()
        .jwks_url(server.url())
        .audience(AUDIENCE)
        .jwks_max_age(Duration::from_millis(300))
        .jwks_refetch_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    call_token(&jwt, &token).await.unwrap();
    call_token(&jwt, &token).await.unwrap();
    assert_eq!(server.fetches(), 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    call_token(&jwt, &token).await.unwrap();
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_key_set_at_most_once_per_interval() {
    let server = JwksServer::start(vec![key_a()]).await;
    let jwt = Jwt::builder()
        .jwks_url(server.url())
        .audience(AUDIENCE)
        .jwks_refetch_interval(Duration::from_millis(500))
        .build()
        .unwrap();
    let token = |pem, kid| sign(Algorithm::RS256, pem, Some(kid), &good_claims());
    call_token(&jwt, &token(RSA_A, "a")).await.unwrap();
    assert_eq!(server.fetches(), 1);

    // The issuer rotates in key b: a token naming it makes the set fetched again.
    server.serve_keys(vec![key_a(), key_b()]);
    call_token(&jwt, &token(RSA_B, "b")).await.unwrap();
    assert_eq!(server.fetches(), 2);

    // Forged kids right after do not make it fetched again.
    for kid in ["c", "d", "e"] {
        let status = call_token(&jwt, &token(RSA_B, kid)).await.unwrap_err();
        let message = format!("the token's key '{kid}' is not one of the issuer's keys");
        assert_eq!(status.message(), message);
    }
    assert_eq!(server.fetches(), 2);

    // Once the interval passed, an unknown kid is looked up again.
    tokio::time::sleep(Duration::from_millis(600)).await;
    call_token(&jwt, &token(RSA_B, "c")).await.unwrap_err();
    assert_eq!(server.fetches(), 3);
    call_token(&jwt, &token(RSA_A, "a")).await.unwrap();
    assert_eq!(server.fetches(), 3);
}

#[tokio::test]
async fn a_failed_refetch_keeps_serving_the_cached_keys() {
    let server = JwksServer::start(vec![key_a()]).await;
    server.set(|a| a.cache_control = Some("max-age=0".to_owned()));
    let jwt = Jwt::builder()
        .jwks_url(server.url())
        .audience(AUDIENCE)
        .jwks_refetch_interval(Duration::from_millis(200))
        .build()
        .unwrap();
    let token = sign(Algorithm::RS256, RSA_A, Some("a"), &good_claims());
    call_token(&jwt, &token).await.unwrap();
    assert_eq!(server.fetches(), 1);

    server.set(|a| {
        a.status = 500;
        a.body = "oops".to_owned();
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    call_token(&jwt, &token).await.unwrap();
    assert_eq!(
        server.fetches(),
        2,
        "the stale set was fetched again, and that failed"
    );
    call_token(&jwt, &token).await.unwrap();
    assert_eq!(
        server.fetches(),
        2,
        "no new attempt within the refetch interval"
    );
}

#[tokio::test]
async fn a_key_set_that_cannot_be_fetched_at_first_use_is_unavailable() {
    let token = sign(Algorithm::RS256, RSA_A, Some("a"), &good_claims());

    let server = JwksServer::start(vec![key_a()]).await;
    server.set(|a| a.status = 503);
    let jwt = shop_jwt(server.url());
    let status = call_token(&jwt, &token).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(
        status.message(),
        "the token's signing keys could not be fetched: it answered HTTP 503 Service Unavailable"
    );
    assert_eq!(challenge(&status), None);
    // After the 1 s between attempts while nothing is cached.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        jwt.fetch_keys().await.unwrap_err().message(),
        "the signing keys could not be fetched: it answered HTTP 503 Service Unavailable"
    );
    assert_eq!(server.fetches(), 2);

    // Nothing listening.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let jwt = shop_jwt(format!("http://{addr}/jwks.json"));
    let status = call_token(&jwt, &token).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");

    // Not a key set.
    let server = JwksServer::start(vec![]).await;
    server.set(|a| a.body = "<html>".to_owned());
    let status = call_token(&shop_jwt(server.url()), &token)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("not a JWK set document"),
        "{status:?}"
    );
}

#[tokio::test]
async fn concurrent_first_calls_share_one_fetch() {
    let server = JwksServer::start(vec![key_a()]).await;
    server.set(|a| a.delay = Duration::from_millis(100));
    let jwt = shop_jwt(server.url());
    let token = sign(Algorithm::RS256, RSA_A, Some("a"), &good_claims());
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let (jwt, token) = (jwt.clone(), token.clone());
            tokio::spawn(async move { call_token(&jwt, &token).await.map(|_| ()) })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn an_hmac_secret_verifies_hmac_tokens_only() {
    let jwt = Jwt::builder()
        .hmac_secret(SECRET)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .require_claim("tenant")
        .build()
        .unwrap();
    for kid in [None, Some("v1")] {
        let principal = call_token(&jwt, &sign(Algorithm::HS256, SECRET, kid, &good_claims()))
            .await
            .unwrap();
        assert_eq!(principal.subject(), Some("ada"));
    }

    let cases = [
        (
            sign(Algorithm::RS256, RSA_A, None, &good_claims()),
            "the token's algorithm RS256 is not allowed",
        ),
        (
            sign(
                Algorithm::HS256,
                b"another-secret-another-secret-!!",
                None,
                &good_claims(),
            ),
            "the token's signature does not match the key",
        ),
        (
            sign(
                Algorithm::HS256,
                SECRET,
                None,
                &claims_with(json!({"tenant": null})),
            ),
            "the token has no 'tenant' claim",
        ),
    ];
    for (token, message) in cases {
        let status = call_token(&jwt, &token).await.unwrap_err();
        assert_eq!(
            (status.code(), status.message()),
            (Code::Unauthenticated, message)
        );
        let want = format!("Bearer error=\"invalid_token\", error_description=\"{message}\"");
        assert_eq!(challenge(&status), Some(want.as_str()));
    }
}

#[tokio::test]
async fn a_key_verifies_only_algorithms_of_its_own_type() {
    // A static set with an HMAC key and an RSA key whose JWK names no alg: HS256 is allowed
    // (for the oct key), yet an HS256 token naming the RSA key is refused, whatever its "secret".
    let mut rsa = key_a();
    rsa.common.key_algorithm = None;
    let oct: Jwk = serde_json::from_value(json!({
        "kty": "oct", "kid": "s",
        "k": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"
    }))
    .unwrap();
    let jwt = Jwt::builder()
        .jwk_set(JwkSet {
            keys: vec![rsa.clone(), oct],
        })
        .audience(AUDIENCE)
        .build()
        .unwrap();
    call_token(
        &jwt,
        &sign(Algorithm::HS256, SECRET, Some("s"), &good_claims()),
    )
    .await
    .unwrap();
    call_token(
        &jwt,
        &sign(Algorithm::PS256, RSA_A, Some("a"), &good_claims()),
    )
    .await
    .unwrap();
    let public_key_text = serde_json::to_string(&rsa).unwrap();
    let confused = sign(
        Algorithm::HS256,
        public_key_text.as_bytes(),
        Some("a"),
        &good_claims(),
    );
    let status = call_token(&jwt, &confused).await.unwrap_err();
    assert_eq!(status.message(), "the key 'a' does not verify HS256 tokens");
}

#[test]
fn configurations_that_cannot_verify_safely_do_not_build() {
    let jwks = || Jwt::builder().jwks_url("https://id.test/jwks.json");
    let cases: Vec<(&str, Result<Jwt, BuildError>, &str)> =
        vec![
        (
            "no key source",
            Jwt::builder().audience("a").build(),
            "no key source: set jwks_url, jwk_set or hmac_secret",
        ),
        (
            "two key sources",
            jwks().hmac_secret(SECRET).build(),
            "more than one key source: set one of jwks_url, jwk_set, hmac_secret",
        ),
        (
            "not an http URL",
            Jwt::builder().jwks_url("file:///etc/jwks.json").build(),
            "the JWKS URL `file:///etc/jwks.json` is not an absolute https:// or http:// URL",
        ),
        (
            "HMAC algorithm with a JWKS URL",
            jwks().algorithms([Algorithm::RS256, Algorithm::HS256]).build(),
            "HS256 is allowed but a JWKS URL has no key for it (HMAC algorithms need a secret, \
             the others public keys)",
        ),
        (
            "asymmetric algorithm with a secret",
            Jwt::builder()
                .hmac_secret(SECRET)
                .algorithms([Algorithm::RS256])
                .build(),
            "RS256 is allowed but an HMAC secret has no key for it (HMAC algorithms need a \
             secret, the others public keys)",
        ),
        (
            "short secret",
            Jwt::builder().hmac_secret("hunter2").build(),
            "the HMAC secret has 7 bytes; at least 32 are needed",
        ),
        (
            "no algorithm",
            jwks().algorithms([]).build(),
            "no algorithm is allowed",
        ),
        (
            "empty JWK set",
            Jwt::builder().jwk_set(JwkSet { keys: vec![] }).build(),
            "the JWK set is empty",
        ),
        (
            "realm with a quote",
            jwks().realm("a\"b").build(),
            "the realm `a\"b` may hold only visible ASCII and spaces, without `\"` or `\\`",
        ),
    ];
    for (name, result, message) in cases {
        match result {
            Ok(jwt) => panic!("{name}: built {jwt:?}"),
            Err(error) => assert_eq!(error.to_string(), message, "{name}"),
        }
    }
}

#[tokio::test]
async fn an_https_key_set_is_fetched_trusting_the_roots_given() {
    let server = JwksServer::start_tls(vec![key_a()]).await;
    let token = sign(Algorithm::RS256, RSA_A, Some("a"), &good_claims());
    let trusting = Jwt::builder()
        .jwks_url(server.https_url())
        .jwks_root_certificates(include_bytes!("data/jwt-ca.pem"))
        .audience(AUDIENCE)
        .build()
        .unwrap();
    let principal = call_token(&trusting, &token).await.unwrap();
    assert_eq!(principal.subject(), Some("ada"));
    assert_eq!(server.fetches(), 1);

    // The test CA is not among the webpki roots: without it, the certificate is refused.
    let status = call_token(&shop_jwt(server.https_url()), &token)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("UnknownIssuer"),
        "{}",
        status.message()
    );
    assert_eq!(server.fetches(), 1);

    let error = Jwt::builder()
        .jwks_url(server.https_url())
        .jwks_root_certificates(
            "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        )
        .build()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot read the JWKS root certificates: "),
        "{error}"
    );
}
