//! HTTP headers to gRPC metadata and back, and the `Grpc-Timeout` deadline (docs/reference.md section 4,
//! "Headers and deadlines"), so a handler sees an HTTP call the way it sees a gRPC one.

use std::net::SocketAddr;
use std::time::Duration;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use tonic::metadata::{Binary, MetadataMap, MetadataValue};

/// The prefix that passes a header through as metadata under the rest of its name.
const METADATA_PREFIX: &str = "grpc-metadata-";

/// Transport and hop-by-hop headers: they describe this HTTP exchange, not the call.
const DROPPED: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "content-type",
    "accept-encoding",
];

/// gRPC accepts `-bin` values with or without padding.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What a call learns from its HTTP request's headers.
#[derive(Debug, Default)]
pub struct CallHeaders {
    pub metadata: MetadataMap,
    /// From `Grpc-Timeout`.
    pub timeout: Option<Duration>,
}

/// Turns request headers into gRPC metadata and a deadline.
///
/// - Headers keep their names, except the transport and hop-by-hop ones and `grpc-*` other
///   than `Grpc-Metadata-X`, which becomes `x`.
/// - A value that is not visible ASCII is dropped, unless the name ends in `-bin`: then it is
///   base64 (padded or not) and decoded; bad base64 is an error.
/// - `x-forwarded-for` gets `peer` appended; `x-forwarded-host` is set from `Host` unless the
///   request already carries one.
/// - `Grpc-Timeout` (up to 8 digits and one of `H M S m u n`) is the call's timeout; a
///   malformed one is an error.
///
/// Errors are `INVALID_ARGUMENT` statuses naming the header, for a 400 response.
/// [`into_metadata`] does the same with the request's own map, without copying it.
pub fn from_request(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
) -> Result<CallHeaders, tonic::Status> {
    // Gathered as plain headers, reusing the request's names and values rather than parsing
    // them again, then wrapped as metadata.
    let mut metadata = HeaderMap::with_capacity(headers.len() + 2);
    let mut timeout = None;
    let hop_by_hop = nominated(headers);
    for (name, value) in headers {
        let text = name.as_str();
        if hop_by_hop.contains(name) {
            continue;
        }
        if text == "grpc-timeout" {
            let value = crate::grpc_timeout::grpc_timeout_value(value).ok_or_else(|| {
                tonic::Status::invalid_argument(format!(
                    "invalid Grpc-Timeout `{}`: expected up to 8 digits and a unit, one of H M S m u n",
                    String::from_utf8_lossy(value.as_bytes())
                ))
            })?;
            timeout = Some(value);
            continue;
        }
        let key = match text.strip_prefix(METADATA_PREFIX) {
            Some(rest) => HeaderName::from_bytes(rest.as_bytes()).ok(),
            None if text.starts_with("grpc-") || DROPPED.contains(&text) => continue,
            None => Some(name.clone()),
        };
        if key
            .as_ref()
            .map_or(text, HeaderName::as_str)
            .ends_with("-bin")
        {
            let bytes = BASE64.decode(value.as_bytes()).map_err(|_| {
                tonic::Status::invalid_argument(format!("header `{text}` is not valid base64"))
            })?;
            let encoded = Bytes::from(MetadataValue::<Binary>::from_bytes(&bytes));
            if let (Some(key), Ok(value)) = (key, HeaderValue::from_maybe_shared(encoded)) {
                metadata.append(key, value);
            }
        } else if let Some(key) = key.filter(|_| is_visible_ascii(value)) {
            metadata.append(key, value.clone());
        }
    }
    forwarded(
        &mut metadata,
        peer,
        headers.get(http::header::HOST).cloned(),
    );
    Ok(CallHeaders {
        metadata: MetadataMap::from_headers(metadata),
        timeout,
    })
}

/// [`from_request`] on the request's own headers, consumed: when every header is either kept
/// as it is or dropped (no `grpc-*`, no `-bin`, every value visible ASCII: the common request),
/// the dropped ones are removed in place, so the call allocates and hashes nothing for the
/// headers it keeps. Metadata of different names may come in another order than the headers
/// did; the values of one name keep theirs.
pub fn into_metadata(
    mut headers: HeaderMap,
    peer: Option<SocketAddr>,
) -> Result<CallHeaders, tonic::Status> {
    // The dropped names the request carries, by their index in `DROPPED`.
    let mut dropped: [Option<HeaderName>; DROPPED.len()] = Default::default();
    for (name, value) in &headers {
        let text = name.as_str();
        if let Some(index) = DROPPED.iter().position(|d| *d == text) {
            if dropped[index].is_none() {
                dropped[index] = Some(name.clone());
            }
        } else if text.starts_with("grpc-") || text.ends_with("-bin") || !is_visible_ascii(value) {
            return from_request(&headers, peer);
        }
    }
    // `DROPPED[0]` is `connection`: the names it lists go too (RFC 9110 section 7.6.1).
    if dropped[0].is_some() {
        for name in nominated(&headers) {
            headers.remove(name);
        }
    }
    let mut host = None;
    for name in dropped.into_iter().flatten() {
        let value = headers.remove(&name);
        if name == http::header::HOST {
            host = value;
        }
    }
    forwarded(&mut headers, peer, host);
    Ok(CallHeaders {
        metadata: MetadataMap::from_headers(headers),
        timeout: None,
    })
}

/// The header names the request's `Connection` headers list: hop-by-hop headers of this
/// exchange, like the ones in `DROPPED` (RFC 9110 section 7.6.1). Tokens that are not header
/// names (`close`, `keep-alive` in some clients' spelling) name nothing the map holds.
fn nominated(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .collect()
}

/// Appends `peer` to `x-forwarded-for` and sets `x-forwarded-host` to `host` unless the
/// metadata has one.
fn forwarded(metadata: &mut HeaderMap, peer: Option<SocketAddr>, host: Option<HeaderValue>) {
    use http::header::Entry;
    if let Some(peer) = peer {
        match metadata.entry(X_FORWARDED_FOR) {
            Entry::Occupied(mut before) => {
                let mut forwarded = format!("{}, ", before.get().to_str().unwrap_or_default());
                push_ip(&mut forwarded, peer.ip());
                if let Ok(value) = HeaderValue::try_from(forwarded) {
                    before.insert(value);
                }
            }
            Entry::Vacant(slot) => {
                if let Some(value) = peer_value(peer.ip()) {
                    slot.insert(value);
                }
            }
        }
    }
    if let Some(host) = host.filter(|h| h.to_str().is_ok()) {
        if let Entry::Vacant(slot) = metadata.entry(X_FORWARDED_HOST) {
            slot.insert(host);
        }
    }
}

std::thread_local! {
    /// The `x-forwarded-for` value of the last peer this thread saw: the calls of one peer (a
    /// proxy in front, a keep-alive connection) share one value instead of each writing and
    /// allocating its own.
    static LAST_PEER: std::cell::RefCell<Option<(std::net::IpAddr, HeaderValue)>> =
        const { std::cell::RefCell::new(None) };
}

/// `ip` as a header value, as `Display` writes it.
fn peer_value(ip: std::net::IpAddr) -> Option<HeaderValue> {
    LAST_PEER.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((seen, value)) = &*last {
            if *seen == ip {
                return Some(value.clone());
            }
        }
        // The common case, an IPv4 address, is written on the stack and copied once.
        let value = match ip {
            std::net::IpAddr::V4(v4) => {
                let mut text = [0; 15];
                let length = write_ipv4(v4, &mut text);
                HeaderValue::from_bytes(&text[..length])
            }
            ip => HeaderValue::try_from(ip.to_string()),
        }
        .ok()?;
        *last = Some((ip, value.clone()));
        Some(value)
    })
}

/// Appends `ip` as `Display` writes it; IPv4 without the formatting machinery, which costs
/// more than the rest of the header conversion.
fn push_ip(out: &mut String, ip: std::net::IpAddr) {
    let std::net::IpAddr::V4(v4) = ip else {
        out.push_str(&ip.to_string());
        return;
    };
    let mut text = [0; 15];
    let length = write_ipv4(v4, &mut text);
    out.extend(text[..length].iter().map(|&b| char::from(b)));
}

/// Writes `v4` as `Display` does into `out`; returns the length.
fn write_ipv4(v4: std::net::Ipv4Addr, out: &mut [u8; 15]) -> usize {
    let mut length = 0;
    let mut push = |b: u8| {
        out[length] = b;
        length += 1;
    };
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            push(b'.');
        }
        if octet >= 100 {
            push(b'0' + octet / 100);
        }
        if octet >= 10 {
            push(b'0' + octet / 10 % 10);
        }
        push(b'0' + octet % 10);
    }
    length
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Response metadata as response headers, as they are (`-bin` values stay base64, every value
/// of a repeated key is kept), except the transport and hop-by-hop names, which describe this
/// HTTP exchange and are the router's to write; `trailer` passes, for a stream that announces
/// its own trailing metadata (see [`STATUS_TRAILERS`]).
pub fn to_response_headers(metadata: MetadataMap, headers: &mut HeaderMap) {
    // Most handlers set none: no iterator over an empty map.
    if metadata.is_empty() {
        return;
    }
    append_headers(metadata.into_headers(), headers, |name| {
        name == "trailer" || !DROPPED.contains(&name)
    });
}

/// The status fields gRPC sends as trailers; on an HTTP error they are the status line and the
/// `google.rpc.Status` body, so the status's metadata never repeats them as headers.
const STATUS_FIELDS: &[&str] = &["grpc-status", "grpc-message", "grpc-status-details-bin"];

/// The metadata of an error's status (`tonic::Status::with_metadata`, or what a backend sent
/// with its error) as headers of the error response, as [`to_response_headers`] writes a
/// success's: as they are, `-bin` values base64, without the transport and hop-by-hop names,
/// `trailer` (an error response has no trailers) and the status fields.
pub fn status_headers(status: &tonic::Status, headers: &mut HeaderMap) {
    if status.metadata().is_empty() {
        return;
    }
    let metadata = status.metadata().clone().into_headers();
    append_headers(metadata, headers, |name| {
        !DROPPED.contains(&name) && !STATUS_FIELDS.contains(&name)
    });
}

/// The headers of an HTTP answer as the metadata of its call, as a gRPC client would see them:
/// without the transport and hop-by-hop names.
pub(crate) fn response_metadata(headers: &HeaderMap) -> MetadataMap {
    let mut kept = HeaderMap::new();
    append_headers(headers.clone(), &mut kept, |name| !DROPPED.contains(&name));
    MetadataMap::from_headers(kept)
}

/// Appends every value of `from` whose name `keep` accepts.
fn append_headers(from: HeaderMap, to: &mut HeaderMap, keep: impl Fn(&str) -> bool) {
    let mut name: Option<HeaderName> = None;
    for (key, value) in from {
        // A key comes once, before all its values.
        if key.is_some() {
            name = key;
        }
        if let Some(name) = name.as_ref().filter(|n| keep(n.as_str())) {
            to.append(name.clone(), value);
        }
    }
}

/// Whether the client reads trailers: `TE` lists the token `trailers` (RFC 9110 section 10.1.4),
/// the same test hyper applies before it sends HTTP/1.1 trailers at all.
pub fn accepts_trailers(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::TE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("trailers"))
}

/// The trailers a streamed response announces in its `Trailer` header: the status fields. The
/// status's own metadata cannot be named before the stream ends, and HTTP/1.1 (hyper) sends only
/// announced trailers, so a handler that ends with metadata names those keys itself with a
/// `trailer` entry in its response metadata; HTTP/2 sends every trailer.
pub const STATUS_TRAILERS: &str = "grpc-status, grpc-message, grpc-status-details-bin";

/// Fields never sent as trailers: framing, routing, authentication and content fields a
/// recipient must have before the body (RFC 9110 section 6.5.1), and hop-by-hop ones.
const NOT_TRAILERS: &[&str] = &[
    "authorization",
    "cache-control",
    "content-encoding",
    "content-range",
    "max-forwards",
    "set-cookie",
];

/// The trailers that end a streamed response with `status`: what tonic's gRPC server sends for
/// the same call, under the same names, so one client reads both. That is `grpc-status`,
/// `grpc-message` (percent-encoded) unless empty, `grpc-status-details-bin` when the status has
/// details, and the status's metadata as-is (no `Grpc-Trailer-` prefix as grpc-gateway adds:
/// like response headers, trailers keep their names, as Envoy's transcoder passes them on).
pub fn status_trailers(status: &tonic::Status) -> HeaderMap {
    let mut all = HeaderMap::new();
    if status.add_header(&mut all).is_err() {
        // Only a message that cannot be a header value fails; the code is what matters.
        all = HeaderMap::new();
        all.insert("grpc-status", HeaderValue::from(status.code() as i32));
    }
    let mut trailers = HeaderMap::with_capacity(all.len());
    let mut name = None;
    for (key, value) in all {
        name = key.or(name);
        let Some(name) = &name else { continue };
        let banned = DROPPED.contains(&name.as_str()) || NOT_TRAILERS.contains(&name.as_str());
        if !banned {
            trailers.append(name.clone(), value);
        }
    }
    trailers
}

fn is_visible_ascii(value: &HeaderValue) -> bool {
    value.as_bytes().iter().all(|b| (0x20..0x7f).contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        map
    }

    fn ascii(call: &CallHeaders, key: &str) -> Option<String> {
        call.metadata
            .get(key)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn headers_become_metadata_except_transport_and_grpc_ones() {
        let call = from_request(
            &headers(&[
                ("authorization", b"Bearer t"),
                ("x-request-id", b"r-1"),
                ("connection", b"keep-alive"),
                ("te", b"trailers"),
                ("host", b"api.example"),
                ("content-type", b"application/json"),
                ("content-length", b"2"),
                ("accept-encoding", b"gzip"),
                ("grpc-encoding", b"gzip"),
                ("grpc-metadata-tenant", b"acme"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(ascii(&call, "authorization").as_deref(), Some("Bearer t"));
        assert_eq!(ascii(&call, "x-request-id").as_deref(), Some("r-1"));
        assert_eq!(ascii(&call, "tenant").as_deref(), Some("acme"));
        for dropped in [
            "connection",
            "te",
            "host",
            "content-type",
            "content-length",
            "accept-encoding",
            "grpc-encoding",
            "grpc-metadata-tenant",
        ] {
            assert!(call.metadata.get(dropped).is_none(), "{dropped} kept");
        }
        assert_eq!(
            ascii(&call, "x-forwarded-host").as_deref(),
            Some("api.example")
        );
    }

    /// Headers a `Connection` header names are hop-by-hop (RFC 9110 section 7.6.1): dropped
    /// on both ways through, in any case and spread over several `Connection` headers.
    #[test]
    fn headers_named_by_connection_are_dropped() {
        let request = || {
            headers(&[
                ("connection", b"close, X-Secret ,"),
                ("connection", b"x-other"),
                ("x-secret", b"1"),
                ("x-other", b"2"),
                ("x-kept", b"3"),
            ])
        };
        let mut slow = request();
        // A `grpc-metadata-` header sends `into_metadata` the copying way.
        slow.insert("grpc-metadata-a", HeaderValue::from_static("a"));
        for call in [
            from_request(&request(), None).unwrap(),
            into_metadata(request(), None).unwrap(),
            into_metadata(slow, None).unwrap(),
        ] {
            assert_eq!(ascii(&call, "x-kept").as_deref(), Some("3"));
            for hop in ["connection", "x-secret", "x-other"] {
                assert!(call.metadata.get(hop).is_none(), "{hop} kept");
            }
        }
    }

    /// The request's own map, edited in place, gives the metadata a fresh map would, whether
    /// the request takes the in-place way or not.
    #[test]
    fn owned_headers_become_the_same_metadata_as_borrowed_ones() {
        let peer: SocketAddr = "10.1.2.3:5555".parse().unwrap();
        let cases: &[&[(&str, &[u8])]] = &[
            &[],
            &[("host", b"api.example")],
            &[
                ("host", b"api.example"),
                ("content-type", b"application/json"),
                ("content-length", b"2"),
                ("x-request-id", b"r-1"),
                ("accept", b"*/*"),
                ("x-multi", b"one"),
                ("x-multi", b"two"),
                ("connection", b"keep-alive"),
                ("keep-alive", b"timeout=5"),
                ("te", b"trailers"),
            ],
            &[
                ("x-forwarded-for", b"203.0.113.9"),
                ("x-forwarded-host", b"public"),
            ],
            &[
                ("x-forwarded-for", b"a"),
                ("x-forwarded-for", b"b"),
                ("host", b"h"),
            ],
            &[
                ("grpc-metadata-tenant", b"acme"),
                ("tenant", b"other"),
                ("host", b"h"),
            ],
            &[("grpc-metadata-host", b"meta"), ("host", b"h")],
            &[("grpc-timeout", b"5S"), ("x-a", b"1")],
            &[("trace-bin", b"AAE"), ("x-a", b"1")],
            &[
                ("x-name", b"caf\xc3\xa9"),
                ("x-ok", b"fine"),
                ("host", b"h"),
            ],
            &[("host", b"caf\xc3\xa9")],
            &[
                ("connection", b"close, X-Secret"),
                ("connection", b"x-other"),
                ("x-secret", b"1"),
                ("x-other", b"2"),
                ("x-kept", b"3"),
            ],
            &[
                ("connection", b"x-secret"),
                ("x-secret", b"1"),
                ("grpc-timeout", b"5S"),
            ],
        ];
        let sorted = |call: CallHeaders| {
            let mut all: Vec<(String, Vec<u8>)> = call
                .metadata
                .into_headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect();
            // Values of one name keep their order; names may come in any.
            all.sort_by(|a, b| a.0.cmp(&b.0));
            (all, call.timeout)
        };
        for case in cases {
            for peer in [None, Some(peer)] {
                let borrowed = from_request(&headers(case), peer).unwrap();
                let owned = into_metadata(headers(case), peer).unwrap();
                assert_eq!(sorted(owned), sorted(borrowed), "{case:?} from {peer:?}");
            }
        }
        let err = into_metadata(headers(&[("grpc-timeout", b"soon")]), None).unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn non_visible_ascii_values_are_dropped_unless_binary() {
        let call = from_request(
            &headers(&[
                ("x-name", b"caf\xc3\xa9"),
                ("x-tab", b"a\tb"),
                ("x-ok", b"plain text"),
            ]),
            None,
        )
        .unwrap();
        assert!(call.metadata.get("x-name").is_none());
        assert!(call.metadata.get("x-tab").is_none());
        assert_eq!(ascii(&call, "x-ok").as_deref(), Some("plain text"));
    }

    #[test]
    fn bin_headers_are_base64_decoded_padded_or_not_and_bad_base64_is_an_error() {
        for encoded in [&b"AAEC"[..], b"AAE=", b"AAE"] {
            let call = from_request(&headers(&[("trace-bin", encoded)]), None).unwrap();
            let value = call
                .metadata
                .get_bin("trace-bin")
                .unwrap()
                .to_bytes()
                .unwrap();
            assert!(value.starts_with(&[0, 1]), "{encoded:?}");
        }
        let call = from_request(&headers(&[("grpc-metadata-key-bin", b"AAE")]), None).unwrap();
        assert_eq!(
            call.metadata
                .get_bin("key-bin")
                .unwrap()
                .to_bytes()
                .unwrap(),
            [0, 1][..]
        );
        let err = from_request(&headers(&[("trace-bin", b"!!")]), None).unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert!(err.message().contains("trace-bin"), "{}", err.message());
    }

    #[test]
    fn forwarded_for_gets_the_peer_appended_and_forwarded_host_is_kept() {
        let peer: SocketAddr = "10.1.2.3:5555".parse().unwrap();
        let call = from_request(&headers(&[("host", b"api.example")]), Some(peer)).unwrap();
        assert_eq!(ascii(&call, "x-forwarded-for").as_deref(), Some("10.1.2.3"));
        let call = from_request(
            &headers(&[
                ("x-forwarded-for", b"203.0.113.9"),
                ("x-forwarded-host", b"public.example"),
                ("host", b"internal:8080"),
            ]),
            Some(peer),
        )
        .unwrap();
        assert_eq!(
            ascii(&call, "x-forwarded-for").as_deref(),
            Some("203.0.113.9, 10.1.2.3")
        );
        assert_eq!(
            ascii(&call, "x-forwarded-host").as_deref(),
            Some("public.example")
        );
    }

    #[test]
    fn peer_addresses_are_written_as_display_writes_them() {
        let cases = [
            "0.0.0.0",
            "127.0.0.1",
            "10.200.9.255",
            "255.255.255.255",
            "::1",
            "2001:db8::7",
        ];
        for case in cases {
            let ip: std::net::IpAddr = case.parse().unwrap();
            let mut out = String::new();
            push_ip(&mut out, ip);
            assert_eq!(out, case);
        }
    }

    /// Calls of one peer share its `x-forwarded-for` value; a call of another peer gets its
    /// own, whatever came before, on the owned and the borrowed way alike.
    #[test]
    fn each_call_forwards_its_own_peer_whichever_peer_came_before() {
        let peers = [
            "10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.1", "::1", "::1", "10.0.0.2",
        ];
        for peer in peers {
            let addr = SocketAddr::new(peer.parse().unwrap(), 4000);
            let owned = into_metadata(HeaderMap::new(), Some(addr)).unwrap();
            let borrowed = from_request(&HeaderMap::new(), Some(addr)).unwrap();
            for call in [owned, borrowed] {
                assert_eq!(ascii(&call, "x-forwarded-for").as_deref(), Some(peer));
            }
        }
    }

    #[test]
    fn grpc_timeout_sets_the_deadline_and_a_bad_one_is_an_error() {
        let call = from_request(&headers(&[("grpc-timeout", b"250m")]), None).unwrap();
        assert_eq!(call.timeout, Some(Duration::from_millis(250)));
        assert!(call.metadata.get("grpc-timeout").is_none());
        for bad in [&b"1x"[..], b"soon", b"123456789S"] {
            let err = from_request(&headers(&[("grpc-timeout", bad)]), None).unwrap_err();
            assert_eq!(err.code(), tonic::Code::InvalidArgument, "{bad:?}");
            assert!(err.message().contains("Grpc-Timeout"), "{}", err.message());
        }
    }

    #[test]
    fn response_metadata_becomes_headers_as_is() {
        let mut metadata = MetadataMap::new();
        metadata.insert("x-request-id", "r-1".parse().unwrap());
        metadata.insert_bin("trace-bin", MetadataValue::from_bytes(&[0, 1]));
        let mut headers = HeaderMap::new();
        to_response_headers(metadata, &mut headers);
        assert_eq!(headers["x-request-id"], "r-1");
        assert_eq!(headers["trace-bin"], "AAE");
    }

    #[test]
    fn trailers_are_accepted_when_te_lists_the_trailers_token() {
        let cases: &[(&[&[u8]], bool)] = &[
            (&[b"trailers"], true),
            (&[b"gzip, Trailers"], true),
            (&[b"gzip", b"trailers"], true),
            (&[b"gzip"], false),
            (&[b"trailers-please"], false),
            (&[], false),
        ];
        for (values, accepts) in cases {
            let pairs: Vec<(&str, &[u8])> = values.iter().map(|v| ("te", *v)).collect();
            assert_eq!(accepts_trailers(&headers(&pairs)), *accepts, "{values:?}");
        }
    }

    #[test]
    fn status_trailers_are_the_grpc_status_fields_and_the_status_metadata() {
        let mut metadata = MetadataMap::new();
        metadata.insert("x-retry-after", "3".parse().unwrap());
        metadata.insert("content-length", "9".parse().unwrap());
        metadata.insert("set-cookie", "a=b".parse().unwrap());
        metadata.insert_bin("trace-bin", MetadataValue::from_bytes(b"\x00\x01"));
        let status = tonic::Status::with_details_and_metadata(
            tonic::Code::Aborted,
            "lost track: 100%",
            bytes::Bytes::from_static(b"\x08\x0a"),
            metadata,
        );
        let trailers = status_trailers(&status);
        let mut names: Vec<_> = trailers.keys().map(|k| k.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "grpc-message",
                "grpc-status",
                "grpc-status-details-bin",
                "trace-bin",
                "x-retry-after"
            ]
        );
        assert_eq!(trailers["grpc-status"], "10");
        // Percent-encoded as tonic writes it.
        assert_eq!(trailers["grpc-message"], "lost%20track:%20100%25");
        assert_eq!(trailers["grpc-status-details-bin"], "CAo");
        assert_eq!(trailers["trace-bin"], "AAE");
        assert_eq!(trailers["x-retry-after"], "3");

        let ok = status_trailers(&tonic::Status::ok(""));
        assert_eq!(ok.len(), 1);
        assert_eq!(ok["grpc-status"], "0");
    }

    fn metadata(pairs: &[(&str, &str)]) -> MetadataMap {
        MetadataMap::from_headers(headers(
            &pairs
                .iter()
                .map(|(n, v)| (*n, v.as_bytes()))
                .collect::<Vec<_>>(),
        ))
    }

    fn names_and_values(headers: &HeaderMap) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect()
    }

    const SENT: &[(&str, &str)] = &[
        ("x-reason", "gone"),
        ("x-reason", "really"),
        ("x-trace-bin", "AAH/"),
        ("content-type", "text/plain"),
        ("content-length", "1"),
        ("connection", "close"),
        ("transfer-encoding", "chunked"),
        ("trailer", "x-reason"),
        ("grpc-status", "0"),
        ("grpc-message", "fine"),
        ("grpc-status-details-bin", "AAH/"),
    ];

    #[test]
    fn response_metadata_keeps_every_value_but_not_transport_names() {
        let mut out = HeaderMap::new();
        to_response_headers(metadata(SENT), &mut out);
        let kept = names_and_values(&out);
        let want = [
            ("x-reason", "gone"),
            ("x-reason", "really"),
            ("x-trace-bin", "AAH/"),
            ("trailer", "x-reason"),
            ("grpc-status", "0"),
            ("grpc-message", "fine"),
            ("grpc-status-details-bin", "AAH/"),
        ];
        let mut kept = kept;
        kept.sort();
        let mut want: Vec<(String, String)> = want
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        want.sort();
        assert_eq!(kept, want);
    }

    #[test]
    fn an_errors_metadata_leaves_out_transport_names_trailer_and_status_fields() {
        let status = tonic::Status::with_metadata(tonic::Code::NotFound, "gone", metadata(SENT));
        let mut out = HeaderMap::new();
        status_headers(&status, &mut out);
        let mut kept = names_and_values(&out);
        kept.sort();
        assert_eq!(
            kept,
            [
                ("x-reason".to_owned(), "gone".to_owned()),
                ("x-reason".to_owned(), "really".to_owned()),
                ("x-trace-bin".to_owned(), "AAH/".to_owned()),
            ]
        );
    }
}
