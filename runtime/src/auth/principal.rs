//! Who a verified token says the caller is.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The caller a verified bearer token vouches for: [`Jwt::authorize`](super::Jwt::authorize)
/// inserts it into the request's extensions, where handlers find it, on gRPC and HTTP/JSON alike:
///
/// ```
/// use rs_svc::auth::Principal;
///
/// fn owner_of<T>(request: &tonic::Request<T>) -> Result<String, tonic::Status> {
///     let principal = Principal::of(request)
///         .ok_or_else(|| tonic::Status::unauthenticated("no principal"))?;
///     let tenant: Option<String> = principal
///         .claim("tenant")
///         .map_err(|e| tonic::Status::permission_denied(e.to_string()))?;
///     Ok(format!("{}@{}", principal.subject().unwrap_or("?"), tenant.unwrap_or_default()))
/// }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Principal {
    claims: Map<String, Value>,
}

impl Principal {
    pub(super) fn new(claims: Map<String, Value>) -> Principal {
        Principal { claims }
    }

    /// The principal a request carries, if a token was verified for it.
    pub fn of<T>(request: &tonic::Request<T>) -> Option<&Principal> {
        request.extensions().get::<Principal>()
    }

    /// The `sub` claim: whom the token is about.
    pub fn subject(&self) -> Option<&str> {
        self.claims.get("sub").and_then(Value::as_str)
    }

    /// The `iss` claim: who issued the token.
    pub fn issuer(&self) -> Option<&str> {
        self.claims.get("iss").and_then(Value::as_str)
    }

    /// The `aud` claim, one audience or several; empty when the token has none.
    pub fn audience(&self) -> Vec<&str> {
        match self.claims.get("aud") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// The `exp` claim as a time.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.time("exp")
    }

    /// The `iat` claim (when the token was issued) as a time.
    pub fn issued_at(&self) -> Option<SystemTime> {
        self.time("iat")
    }

    /// The OAuth 2.0 scopes the token grants: its `scope` claim (space-separated, RFC 8693), or
    /// else its `scp` claim (a list or a space-separated string, as some issuers write it).
    pub fn scopes(&self) -> Vec<&str> {
        match self.claims.get("scope").or_else(|| self.claims.get("scp")) {
            Some(Value::String(scopes)) => scopes.split_ascii_whitespace().collect(),
            Some(Value::Array(scopes)) => scopes.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// Whether the token grants `scope` (see [`Principal::scopes`]).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().contains(&scope)
    }

    /// Every claim of the token, registered and private.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// One claim as a typed value. A missing claim reads as JSON `null`, so ask for an `Option`
    /// when it may be absent: `principal.claim::<Option<String>>("email")`.
    pub fn claim<T: DeserializeOwned>(&self, name: &str) -> Result<T, ClaimError> {
        let value = self.claims.get(name).cloned().unwrap_or(Value::Null);
        serde_json::from_value(value).map_err(|source| ClaimError {
            name: name.to_owned(),
            source,
        })
    }

    fn time(&self, name: &str) -> Option<SystemTime> {
        let seconds = self.claims.get(name)?.as_f64()?;
        if !seconds.is_finite() || seconds < 0.0 {
            return None;
        }
        UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(seconds).ok()?)
    }
}

/// A claim that does not have the type asked for (or is missing, asked for as a non-`Option`).
#[derive(Debug)]
pub struct ClaimError {
    name: String,
    source: serde_json::Error,
}

impl ClaimError {
    /// The claim's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for ClaimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "claim '{}': {}", self.name, self.source)
    }
}

impl std::error::Error for ClaimError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn principal(claims: Value) -> Principal {
        let Value::Object(claims) = claims else {
            unreachable!()
        };
        Principal::new(claims)
    }

    #[test]
    fn registered_claims_read_in_both_of_their_forms() {
        let one = principal(json!({"sub": "ada", "iss": "https://id", "aud": "orders",
            "exp": 1_000_000_000, "scope": "orders.read  orders.write"}));
        assert_eq!(one.subject(), Some("ada"));
        assert_eq!(one.issuer(), Some("https://id"));
        assert_eq!(one.audience(), ["orders"]);
        assert_eq!(
            one.expires_at(),
            Some(UNIX_EPOCH + Duration::from_secs(1_000_000_000))
        );
        assert_eq!(one.scopes(), ["orders.read", "orders.write"]);
        assert!(one.has_scope("orders.write") && !one.has_scope("orders"));

        let many = principal(json!({"aud": ["a", "b"], "scp": ["x"], "exp": 1.5}));
        assert_eq!(many.audience(), ["a", "b"]);
        assert_eq!(many.scopes(), ["x"]);
        assert_eq!(
            many.expires_at(),
            Some(UNIX_EPOCH + Duration::from_millis(1500))
        );
        assert_eq!(many.subject(), None);
    }

    #[test]
    fn typed_claim_lookup_names_the_claim_that_does_not_fit() {
        let p = principal(json!({"tenant": "acme", "level": 3}));
        assert_eq!(p.claim::<String>("tenant").unwrap(), "acme");
        assert_eq!(p.claim::<u8>("level").unwrap(), 3);
        assert_eq!(p.claim::<Option<String>>("email").unwrap(), None);
        let error = p.claim::<String>("level").unwrap_err();
        assert_eq!(error.name(), "level");
        assert!(
            error.to_string().starts_with("claim 'level': invalid type"),
            "{error}"
        );
        assert!(p.claim::<String>("email").is_err());
    }
}
