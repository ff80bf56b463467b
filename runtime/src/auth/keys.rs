//! Verification keys: the keys of a JWK set, or one HMAC secret, each with the algorithms it
//! may verify. A key verifies only algorithms of its own type (an RSA key RS*/PS*, an EC key the
//! ES* of its curve, an `oct` key or a secret HS*), so a token cannot make a public key serve as
//! an HMAC secret.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

/// Every algorithm of the RSA family.
const RSA: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];
/// Every HMAC algorithm.
pub(super) const HMAC: &[Algorithm] = &[Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
/// Every algorithm a public key (RSA, EC or Ed25519) can verify.
pub(super) const ASYMMETRIC: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// One verification key.
pub(super) struct Key {
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
}

impl Key {
    pub(super) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub(super) fn decoding_key(&self) -> &DecodingKey {
        &self.key
    }
}

/// The keys a token may be checked against.
#[derive(Default)]
pub(super) struct KeySet {
    keys: Vec<Key>,
}

/// Which keys of a set may verify a token.
pub(super) enum Candidates<'a> {
    /// These, in order (one when the token names its key).
    Keys(Vec<&'a Key>),
    /// The token names a key (`kid`) the set does not have.
    UnknownKid,
    /// The set has no key for the token's algorithm (or its `kid` names a key of another type).
    NoKeyFor(Algorithm),
}

impl KeySet {
    /// One HMAC secret, for HS256, HS384 and HS512.
    pub(super) fn secret(secret: &[u8]) -> KeySet {
        KeySet {
            keys: vec![Key {
                kid: None,
                algorithms: HMAC.to_vec(),
                key: DecodingKey::from_secret(secret),
            }],
        }
    }

    /// The keys of a JWK set that can verify signatures; the others (encryption keys, unknown
    /// key types and curves, unusable values) are left out and described in the second value.
    /// `secrets`: whether `oct` (HMAC) keys are kept; a key set fetched from a URL is public, so
    /// a secret in it is no secret and is left out.
    pub(super) fn from_jwks(
        jwks: impl IntoIterator<Item = Result<Jwk, String>>,
        secrets: bool,
    ) -> (KeySet, Vec<String>) {
        let mut set = KeySet::default();
        let mut skipped = Vec::new();
        for (index, jwk) in jwks.into_iter().enumerate() {
            let name = |jwk: Option<&Jwk>| match jwk.and_then(|j| j.common.key_id.as_deref()) {
                Some(kid) => format!("key '{kid}'"),
                None => format!("key #{index}"),
            };
            let jwk = match jwk {
                Ok(jwk) => jwk,
                Err(why) => {
                    skipped.push(format!("{}: {why}", name(None)));
                    continue;
                }
            };
            if !secrets && matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
                skipped.push(format!(
                    "{}: a secret (oct) key published in a key set",
                    name(Some(&jwk))
                ));
                continue;
            }
            let key = algorithms(&jwk).and_then(|algorithms| {
                let key =
                    DecodingKey::from_jwk(&jwk).map_err(|e| format!("unusable value: {e}"))?;
                Ok(Key {
                    kid: jwk.common.key_id.clone(),
                    algorithms,
                    key,
                })
            });
            match key {
                Ok(key) => set.keys.push(key),
                Err(why) => skipped.push(format!("{}: {why}", name(Some(&jwk)))),
            }
        }
        (set, skipped)
    }

    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether some key is named `kid`.
    pub(super) fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// Every algorithm some key of the set verifies.
    pub(super) fn algorithms(&self) -> Vec<Algorithm> {
        let mut all: Vec<Algorithm> = Vec::new();
        for key in &self.keys {
            for alg in &key.algorithms {
                if !all.contains(alg) {
                    all.push(*alg);
                }
            }
        }
        all
    }

    /// The keys that may verify a token signed with `alg` and naming `kid`: the key so named
    /// (else the keys that have no name, such as an HMAC secret), or, for a token that names
    /// none, every key of the algorithm's type.
    pub(super) fn candidates(&self, kid: Option<&str>, alg: Algorithm) -> Candidates<'_> {
        let with_kid = |kid: Option<&str>| -> Vec<&Key> {
            self.keys
                .iter()
                .filter(|k| k.kid.as_deref() == kid)
                .collect()
        };
        let named = match kid {
            Some(name) => match with_kid(Some(name)) {
                named if named.is_empty() => with_kid(None),
                named => named,
            },
            None => self.keys.iter().collect(),
        };
        if named.is_empty() {
            return match kid {
                Some(_) => Candidates::UnknownKid,
                None => Candidates::NoKeyFor(alg),
            };
        }
        let fitting: Vec<&Key> = named
            .into_iter()
            .filter(|k| k.algorithms.contains(&alg))
            .collect();
        if fitting.is_empty() {
            Candidates::NoKeyFor(alg)
        } else {
            Candidates::Keys(fitting)
        }
    }
}

/// The algorithms a JWK may verify: the one its `alg` names, else all of its key type's.
fn algorithms(jwk: &Jwk) -> Result<Vec<Algorithm>, String> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return Err("an encryption key (use 'enc')".to_owned());
    }
    if let Some(ops) = &jwk.common.key_operations {
        if !ops.contains(&KeyOperations::Verify) {
            return Err("its key_ops do not include 'verify'".to_owned());
        }
    }
    let of_type: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => RSA,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => &[Algorithm::ES256],
            EllipticCurve::P384 => &[Algorithm::ES384],
            _ => return Err("an EC key on a curve without a JWT algorithm here".to_owned()),
        },
        AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
            EllipticCurve::Ed25519 => &[Algorithm::EdDSA],
            _ => return Err("an OKP key on a curve other than Ed25519".to_owned()),
        },
        AlgorithmParameters::OctetKey(_) => HMAC,
    };
    match &jwk.common.key_algorithm {
        None => Ok(of_type.to_vec()),
        Some(named) => {
            // `KeyAlgorithm` prints as its JWA name for the signing algorithms.
            let alg = named
                .to_string()
                .parse::<Algorithm>()
                .map_err(|_| format!("its alg {named} is not a signing algorithm"))?;
            if of_type.contains(&alg) {
                Ok(vec![alg])
            } else {
                Err(format!("its alg {alg:?} does not fit its key type"))
            }
        }
    }
}
