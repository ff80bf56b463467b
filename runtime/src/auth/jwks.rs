//! A JWK set fetched from a URL and cached: kept for the response's `Cache-Control: max-age`
//! (else a default), fetched again early when a token names a key the set lacks (at most once
//! per refetch interval), and still served when a fetch fails once it has been fetched.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{ACCEPT, CACHE_CONTROL};
use http::{HeaderMap, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::Jwk;
use rustls::pki_types::CertificateDer;

use super::keys::KeySet;

/// The largest key set document read: 1 MiB (real ones are a few KiB).
const MAX_DOCUMENT: usize = 1 << 20;
/// A `max-age` longer than this is cut to it, so that a key removed at the issuer does not stay
/// trusted for days.
const MAX_AGE_CAP: Duration = Duration::from_secs(24 * 60 * 60);
/// While no key set has ever been fetched, failed fetches are retried at most this often.
const RETRY_WITHOUT_KEYS: Duration = Duration::from_secs(1);

/// How the key set is fetched and kept.
#[derive(Clone, Debug)]
pub(super) struct Policy {
    /// Kept this long when the response has no `max-age`.
    pub(super) default_max_age: Duration,
    /// The least time between two fetches made early (an unknown `kid`, a failed fetch); also
    /// the shortest time a fetched set is kept, whatever its `max-age`.
    pub(super) refetch_interval: Duration,
    /// How long one fetch may take, connection included.
    pub(super) timeout: Duration,
}

pub(super) struct Remote {
    url: Uri,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    policy: Policy,
    cache: Mutex<Cache>,
    /// Held while fetching, so that concurrent calls share one fetch.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Cache {
    keys: Option<Arc<KeySet>>,
    /// Until when `keys` is fresh.
    fresh_until: Option<Instant>,
    /// When the set was last fetched for a token naming a key it lacked.
    last_for_unknown_kid: Option<Instant>,
    /// When a fetch last failed, and why.
    last_failure: Option<(Instant, String)>,
    /// Counts fetch attempts, so that a call that waited for another's fetch uses its result.
    generation: u64,
}

/// The key set could not be fetched and none is cached.
#[derive(Clone, Debug)]
pub(super) struct Unavailable(pub(super) String);

impl Remote {
    /// A client for `url` that trusts the webpki roots and `extra_roots`.
    pub(super) fn new(
        url: Uri,
        policy: Policy,
        extra_roots: Vec<CertificateDer<'static>>,
    ) -> Result<Remote, rustls::Error> {
        let mut roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for root in extra_roots {
            roots.add(root)?;
        }
        // ring, as tonic's TLS here: no second crypto provider in the build.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Remote {
            url,
            client,
            policy,
            cache: Mutex::new(Cache::default()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    pub(super) fn url(&self) -> &Uri {
        &self.url
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        // Nothing panics while holding the lock.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The key set to check a token naming `kid` against: the cached one while it is fresh and
    /// has the key. Else the set is fetched again, unless that was tried too recently: for an
    /// unknown `kid`, at most once per refetch interval; after a failed fetch, not again within
    /// the interval, and meanwhile the cached set is used.
    pub(super) async fn keys(&self, kid: Option<&str>) -> Result<Arc<KeySet>, Unavailable> {
        let (seen, for_unknown_kid) = {
            let cache = self.cache();
            let now = Instant::now();
            let within = |at: Instant, interval: Duration| now.duration_since(at) < interval;
            let interval = self.policy.refetch_interval;
            let failed_recently = |interval| {
                cache
                    .last_failure
                    .as_ref()
                    .filter(|(at, _)| within(*at, interval))
                    .map(|(_, why)| why.clone())
            };
            let mut for_unknown_kid = false;
            match &cache.keys {
                Some(keys) => {
                    let fresh = cache.fresh_until.is_some_and(|until| now < until);
                    let known = kid.is_none_or(|kid| keys.has_kid(kid));
                    let use_cached = match (fresh, known) {
                        (true, true) => true,
                        (true, false) => {
                            for_unknown_kid = true;
                            cache
                                .last_for_unknown_kid
                                .is_some_and(|at| within(at, interval))
                        }
                        (false, _) => failed_recently(interval).is_some(),
                    };
                    if use_cached {
                        return Ok(keys.clone());
                    }
                }
                None => {
                    if let Some(why) = failed_recently(RETRY_WITHOUT_KEYS.min(interval)) {
                        return Err(Unavailable(why));
                    }
                }
            }
            (cache.generation, for_unknown_kid)
        };

        let _fetching = self.fetching.lock().await;
        if let Some(result) = self.fetched_since(seen) {
            return result;
        }
        let result = self.fetch().await;
        let mut cache = self.cache();
        let now = Instant::now();
        cache.generation += 1;
        if for_unknown_kid {
            cache.last_for_unknown_kid = Some(now);
        }
        match result {
            Ok((keys, max_age)) => {
                cache.keys = Some(Arc::new(keys));
                cache.fresh_until = Some(now + max_age);
                cache.last_failure = None;
            }
            Err(why) => cache.last_failure = Some((now, why)),
        }
        Self::outcome(&cache)
    }

    /// The outcome of a fetch another call made while this one waited for it.
    fn fetched_since(&self, seen: u64) -> Option<Result<Arc<KeySet>, Unavailable>> {
        let cache = self.cache();
        (cache.generation != seen).then(|| Self::outcome(&cache))
    }

    fn outcome(cache: &Cache) -> Result<Arc<KeySet>, Unavailable> {
        match (&cache.keys, &cache.last_failure) {
            (Some(keys), _) => Ok(keys.clone()),
            (None, failure) => Err(Unavailable(match failure {
                Some((_, why)) => why.clone(),
                None => "no key set was fetched".to_owned(),
            })),
        }
    }

    /// Fetches the key set and says how long to keep it.
    async fn fetch(&self) -> Result<(KeySet, Duration), String> {
        match tokio::time::timeout(self.policy.timeout, self.fetch_untimed()).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no answer within {} ms",
                self.policy.timeout.as_millis()
            )),
        }
    }

    async fn fetch_untimed(&self) -> Result<(KeySet, Duration), String> {
        let request = http::Request::get(self.url.clone())
            .header(ACCEPT, "application/json, application/jwk-set+json")
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| error_chain(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("it answered HTTP {status}"));
        }
        let max_age = max_age(response.headers())
            .unwrap_or(self.policy.default_max_age)
            .clamp(
                self.policy.refetch_interval,
                MAX_AGE_CAP.max(self.policy.refetch_interval),
            );
        let body = Limited::new(response.into_body(), MAX_DOCUMENT)
            .collect()
            .await
            .map_err(|e| format!("reading the key set: {e}"))?
            .to_bytes();
        let keys = parse(&body)?;
        Ok((keys, max_age))
    }
}

/// The signing keys of a JWK set document (`{"keys": [...]}`). Keys this crate cannot use are
/// left out, so that one exotic key does not make the issuer's others useless; a document
/// with no usable key is an error.
fn parse(body: &[u8]) -> Result<KeySet, String> {
    let not_a_set = |why: String| format!("the key set is not a JWK set document: {why}");
    let mut document: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| not_a_set(e.to_string()))?;
    let Some(serde_json::Value::Array(keys)) = document.get_mut("keys").map(std::mem::take) else {
        return Err(not_a_set("no \"keys\" array".to_owned()));
    };
    let jwks = keys
        .into_iter()
        .map(|value| serde_json::from_value::<Jwk>(value).map_err(|e| e.to_string()));
    let (keys, skipped) = KeySet::from_jwks(jwks, false);
    if keys.is_empty() {
        let why = if skipped.is_empty() {
            "it is empty".to_owned()
        } else {
            skipped.join("; ")
        };
        return Err(format!("the key set has no usable signing key ({why})"));
    }
    Ok(keys)
}

/// `max-age` of `Cache-Control`; `no-store` and `no-cache` count as zero.
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut age = None;
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',') {
            let directive = directive.trim();
            let (name, argument) = match directive.split_once('=') {
                Some((name, argument)) => (name.trim(), Some(argument.trim().trim_matches('"'))),
                None => (directive, None),
            };
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                return Some(Duration::ZERO);
            }
            if name.eq_ignore_ascii_case("max-age") {
                if let Some(seconds) = argument.and_then(|a| a.parse::<u64>().ok()) {
                    age = Some(Duration::from_secs(seconds));
                }
            }
        }
    }
    age
}

/// An error with its sources: hyper's client says "client error (Connect)" and keeps the reason
/// ("Connection refused") in its sources.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_reads_cache_control_directives() {
        let cases: &[(&[&str], Option<u64>)] = &[
            (&[], None),
            (&["public, max-age=300"], Some(300)),
            (&["Max-Age = 60"], Some(60)),
            (&["max-age=\"120\""], Some(120)),
            (&["public", "max-age=5, must-revalidate"], Some(5)),
            (&["max-age=soon"], None),
            (&["no-store"], Some(0)),
            (&["max-age=300, no-cache"], Some(0)),
        ];
        for (values, want) in cases {
            let mut headers = HeaderMap::new();
            for value in *values {
                headers.append(CACHE_CONTROL, value.parse().unwrap());
            }
            assert_eq!(
                max_age(&headers),
                want.map(Duration::from_secs),
                "{values:?}"
            );
        }
    }

    #[test]
    fn a_key_set_document_keeps_only_usable_signing_keys() {
        let document = br#"{"keys": [
            {"kty": "oct", "kid": "s", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "XYZ", "kid": "odd"},
            {"kty": "EC", "kid": "ec", "crv": "P-256",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
        ]}"#;
        let keys = parse(document).unwrap();
        assert!(keys.has_kid("ec"));
        for gone in ["s", "enc", "odd"] {
            assert!(!keys.has_kid(gone), "{gone}");
        }
        assert_eq!(keys.algorithms(), [jsonwebtoken::Algorithm::ES256]);

        let error = parse(br#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#)
            .err()
            .unwrap();
        assert!(error.contains("no usable signing key"), "{error}");
        assert!(error.contains("secret (oct) key"), "{error}");
        assert!(parse(b"[]").is_err());
    }
}
