//! Where a rule's HTTP method goes in an OpenAPI path item, for each OpenAPI version.

use super::spec::MethodKey;
use crate::model::HttpMethod;
use crate::params::OpenApiVersion;

/// Where an operation goes in a path item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Slot {
    /// A fixed field: `get`, `put`, ...
    Fixed(MethodKey),
    /// OpenAPI 3.2's `additionalOperations`, by the method as sent.
    Additional(String),
}

impl Slot {
    /// The HTTP method as sent (`GET`, `PURGE`).
    pub(super) fn name(&self) -> String {
        match self {
            Slot::Fixed(key) => key.as_str().to_uppercase(),
            Slot::Additional(sent) => sent.clone(),
        }
    }
}

/// The OpenAPI operations a rule's HTTP method is documented as; or, when the version has no
/// place for the method, the method as sent and why.
pub(super) fn slots(
    method: &HttpMethod,
    version: OpenApiVersion,
) -> Result<Vec<Slot>, (String, String)> {
    let fixed = |keys: &[MethodKey]| keys.iter().copied().map(Slot::Fixed).collect();
    Ok(match method {
        HttpMethod::Get => fixed(&[MethodKey::Get]),
        HttpMethod::Put => fixed(&[MethodKey::Put]),
        HttpMethod::Post => fixed(&[MethodKey::Post]),
        HttpMethod::Delete => fixed(&[MethodKey::Delete]),
        HttpMethod::Patch => fixed(&[MethodKey::Patch]),
        HttpMethod::Custom(kind) => match (kind.as_str(), version) {
            ("*", _) => fixed(&[
                MethodKey::Get,
                MethodKey::Put,
                MethodKey::Post,
                MethodKey::Delete,
                MethodKey::Patch,
            ]),
            ("GET", _) => fixed(&[MethodKey::Get]),
            ("PUT", _) => fixed(&[MethodKey::Put]),
            ("POST", _) => fixed(&[MethodKey::Post]),
            ("DELETE", _) => fixed(&[MethodKey::Delete]),
            ("PATCH", _) => fixed(&[MethodKey::Patch]),
            ("HEAD", _) => fixed(&[MethodKey::Head]),
            ("OPTIONS", _) => fixed(&[MethodKey::Options]),
            ("TRACE", _) => fixed(&[MethodKey::Trace]),
            ("QUERY", OpenApiVersion::V3_2) => fixed(&[MethodKey::Query]),
            (other, OpenApiVersion::V3_2) => vec![Slot::Additional(other.to_owned())],
            (other, OpenApiVersion::V3_1) => {
                return Err((
                    other.to_owned(),
                    format!(
                    "OpenAPI 3.1 has no operation for the HTTP method `{other}` (only GET, PUT, \
                         POST, DELETE, OPTIONS, HEAD, PATCH and TRACE)"
                ),
                ))
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_version_places_each_method_or_says_why_not() {
        use OpenApiVersion::{V3_1, V3_2};
        let fixed = |key| Ok(vec![Slot::Fixed(key)]);
        let custom = |kind: &str| HttpMethod::Custom(kind.to_owned());
        for (method, version, expected) in [
            (HttpMethod::Get, V3_1, fixed(MethodKey::Get)),
            (HttpMethod::Patch, V3_2, fixed(MethodKey::Patch)),
            (custom("HEAD"), V3_1, fixed(MethodKey::Head)),
            (custom("TRACE"), V3_2, fixed(MethodKey::Trace)),
            (custom("QUERY"), V3_2, fixed(MethodKey::Query)),
            (
                custom("PURGE"),
                V3_2,
                Ok(vec![Slot::Additional("PURGE".to_owned())]),
            ),
        ] {
            assert_eq!(slots(&method, version), expected, "{method:?} {version:?}");
        }
        for kind in ["PURGE", "QUERY", "LINK"] {
            let (sent, reason) = slots(&custom(kind), V3_1).unwrap_err();
            assert_eq!(sent, kind);
            assert!(
                reason.starts_with(&format!(
                    "OpenAPI 3.1 has no operation for the HTTP method `{kind}`"
                )),
                "{reason}"
            );
        }
        assert_eq!(slots(&custom("*"), V3_2).unwrap().len(), 5);
    }
}
