//! `grpc-timeout`, the header that carries a call's deadline: read by the server (gRPC and
//! HTTP/JSON alike) and written by the dial helpers, so it lives beside neither.

use std::time::Duration;

use http::{HeaderMap, HeaderValue};

/// The header that carries a call's deadline.
pub(crate) const GRPC_TIMEOUT: http::HeaderName = http::HeaderName::from_static("grpc-timeout");

/// `grpc-timeout`: up to 8 digits and a unit (H, M, S, m, u, n).
#[cfg_attr(not(any(feature = "serve", feature = "dial")), allow(dead_code))]
pub(crate) fn grpc_timeout(headers: &HeaderMap) -> Option<Duration> {
    grpc_timeout_value(headers.get(GRPC_TIMEOUT)?)
}

/// The `grpc-timeout` of a request's metadata (what `tonic::Request::set_timeout` writes).
#[cfg(feature = "api")]
pub(crate) fn grpc_timeout_value_of(metadata: &tonic::metadata::MetadataMap) -> Option<Duration> {
    parse(metadata.get(GRPC_TIMEOUT.as_str())?.to_str().ok()?)
}

/// One `grpc-timeout` value; `None` when malformed.
#[cfg_attr(not(any(feature = "http", feature = "dial")), allow(dead_code))]
pub(crate) fn grpc_timeout_value(value: &HeaderValue) -> Option<Duration> {
    parse(value.to_str().ok()?)
}

fn parse(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// A duration as a `grpc-timeout` value: the finest unit whose 8 digits hold it.
#[cfg_attr(not(feature = "dial"), allow(dead_code))]
pub(crate) fn encode_grpc_timeout(d: Duration) -> String {
    const MAX: u128 = 99_999_999;
    let micros = d.as_micros();
    if micros <= MAX {
        format!("{micros}u")
    } else if d.as_millis() <= MAX {
        format!("{}m", d.as_millis())
    } else if u128::from(d.as_secs()) <= MAX {
        format!("{}S", d.as_secs())
    } else {
        format!("{}H", (d.as_secs() / 3600).min(MAX as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_reads_every_unit_and_rejects_malformed_values() {
        let cases = [
            ("1H", Some(Duration::from_secs(3600))),
            ("2M", Some(Duration::from_secs(120))),
            ("3S", Some(Duration::from_secs(3))),
            ("250m", Some(Duration::from_millis(250))),
            ("7u", Some(Duration::from_micros(7))),
            ("9n", Some(Duration::from_nanos(9))),
            ("123456789m", None),
            ("m", None),
            ("10x", None),
            ("-1S", None),
            ("", None),
        ];
        for (value, want) in cases {
            let mut headers = HeaderMap::new();
            headers.insert("grpc-timeout", HeaderValue::from_static(value));
            assert_eq!(grpc_timeout(&headers), want, "{value}");
        }
    }

    #[test]
    fn encoded_grpc_timeout_round_trips_within_its_unit() {
        for d in [
            Duration::from_micros(1500),
            Duration::from_secs(30),
            Duration::from_secs(200),
            Duration::from_secs(86_400 * 365),
        ] {
            let mut h = HeaderMap::new();
            h.insert("grpc-timeout", encode_grpc_timeout(d).parse().unwrap());
            let back = grpc_timeout(&h).unwrap();
            assert!(
                back <= d && d - back < Duration::from_secs(1),
                "{d:?} -> {back:?}"
            );
        }
    }
}
