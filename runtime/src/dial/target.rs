//! Where `dial` connects: the first of the explicit option, the `<SERVICE>_ADDR` variable and
//! the service's `google.api.default_host`, turned into a host, a port and a TLS decision.

use std::net::IpAddr;

use http::Uri;

use super::{Error, Service};

/// Which setting named the target, for error messages and `Debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    Option,
    Env(&'static str),
    DefaultHost,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Option => f.write_str("dial::Options::target"),
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::DefaultHost => f.write_str("google.api.default_host"),
        }
    }
}

/// A resolved dial target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// Host name or IP literal, without IPv6 brackets.
    pub host: String,
    pub port: u16,
    pub tls: bool,
    /// Whether the value said `http://` or `https://`, which then decides TLS alone.
    pub scheme_written: bool,
    pub origin: Origin,
}

impl Target {
    /// The IP address when the host is a literal, so there is nothing to resolve.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// `http(s)://host:port`: the `:authority` requests carry and the TLS server name.
    pub fn origin_uri(&self) -> Uri {
        let host = match self.ip() {
            Some(IpAddr::V6(_)) => format!("[{}]", self.host),
            _ => self.host.clone(),
        };
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{host}:{}", self.port)
            .parse()
            .expect("host and port parsed from a URI form a URI")
    }
}

/// Picks the target: `explicit` (from [`Options::target`](super::Options::target)), then the
/// service's environment variable as read by `env`, then its default host.
pub(crate) fn select(
    service: &Service,
    explicit: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Target, Error> {
    if let Some(value) = explicit {
        return parse(value, Origin::Option, service.default_port);
    }
    if let Some(value) = env(service.address_env).filter(|v| !v.trim().is_empty()) {
        return parse(
            &value,
            Origin::Env(service.address_env),
            service.default_port,
        );
    }
    match service.default_host {
        Some(host) => parse(host, Origin::DefaultHost, service.default_port),
        None => Err(Error::NoTarget {
            service: service.name,
            address_env: service.address_env,
        }),
    }
}

/// Parses `http://host:port`, `https://host`, `host:port` or `host`.
///
/// A scheme decides TLS and, without a port, the scheme's port (80 or 443). Without a scheme the
/// port is the one written, else `default_port`, and TLS is on for port 443.
fn parse(value: &str, origin: Origin, default_port: u16) -> Result<Target, Error> {
    let bad = |reason: &str| Error::BadTarget {
        origin: origin.to_string(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let value = value.trim();
    let (scheme, uri) = match value.split_once("://") {
        Some((scheme, _)) => {
            let uri: Uri = value.parse().map_err(|_| bad("not a valid URI"))?;
            (Some(scheme.to_ascii_lowercase()), uri)
        }
        None => {
            let uri: Uri = format!("http://{value}")
                .parse()
                .map_err(|_| bad("expected host, host:port or a URI such as http://host:port"))?;
            (None, uri)
        }
    };
    let tls = match scheme.as_deref() {
        Some("https") => true,
        Some("http") => false,
        Some(other) => {
            return Err(bad(&format!(
                "unsupported scheme `{other}`; use http or https"
            )))
        }
        None => uri.port_u16() == Some(443),
    };
    if uri.path() != "/" && !uri.path().is_empty() || uri.query().is_some() {
        return Err(bad("a target has no path or query"));
    }
    let authority = uri.authority().map_or("", |a| a.as_str());
    if authority.contains('@') {
        return Err(bad("a target has no user info"));
    }
    // `Uri` drops a port it cannot read instead of refusing it.
    let after_host = authority
        .rsplit_once(']')
        .map_or(authority, |(_, rest)| rest);
    let written_port = after_host.rsplit_once(':').map(|(_, port)| port);
    if written_port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return Err(bad("the port must be a number up to 65535"));
    }
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("missing host"))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = match (uri.port_u16(), scheme.as_deref()) {
        (Some(port), _) => port,
        (None, Some("https")) => 443,
        (None, Some(_)) => 80,
        (None, None) => default_port,
    };
    Ok(Target {
        host,
        port,
        tls,
        scheme_written: scheme.is_some(),
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: Service = Service {
        name: "acme.shop.v1.OrderService",
        default_host: Some("shop.acme.example"),
        address_env: "ORDER_SERVICE_ADDR",
        default_port: 9090,
        methods: &[],
    };

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn target(host: &str, port: u16, tls: bool, origin: Origin) -> Target {
        Target {
            host: host.into(),
            port,
            tls,
            // The cases below write a scheme in the option and the variable, not in the
            // default host.
            scheme_written: origin != Origin::DefaultHost,
            origin,
        }
    }

    #[test]
    fn default_host_without_port_uses_the_dial_port_in_plaintext() {
        assert_eq!(
            select(&SHOP, None, no_env).unwrap(),
            target("shop.acme.example", 9090, false, Origin::DefaultHost)
        );
    }

    #[test]
    fn default_host_port_443_means_tls() {
        let svc = Service {
            default_host: Some("shop.acme.example:443"),
            ..SHOP
        };
        assert_eq!(
            select(&svc, None, no_env).unwrap(),
            target("shop.acme.example", 443, true, Origin::DefaultHost)
        );
    }

    #[test]
    fn env_var_overrides_default_host_and_explicit_option_overrides_both() {
        let env =
            |name: &str| (name == "ORDER_SERVICE_ADDR").then(|| "http://10.0.0.5:7000".into());
        assert_eq!(
            select(&SHOP, None, env).unwrap(),
            target("10.0.0.5", 7000, false, Origin::Env("ORDER_SERVICE_ADDR"))
        );
        assert_eq!(
            select(&SHOP, Some("https://shop.internal"), env).unwrap(),
            target("shop.internal", 443, true, Origin::Option)
        );
    }

    #[test]
    fn empty_env_var_counts_as_unset() {
        let env = |_: &str| Some("  ".into());
        assert_eq!(
            select(&SHOP, None, env).unwrap().origin,
            Origin::DefaultHost
        );
    }

    #[test]
    fn scheme_decides_tls_and_default_port() {
        let cases = [
            ("https://a.example", "a.example", 443, true),
            ("https://a.example:8443", "a.example", 8443, true),
            ("http://a.example", "a.example", 80, false),
            ("HTTP://a.example:443", "a.example", 443, false),
            ("a.example:443", "a.example", 443, true),
            ("a.example:50051", "a.example", 50051, false),
            ("[::1]:50051", "::1", 50051, false),
            ("http://[::1]", "::1", 80, false),
            ("127.0.0.1", "127.0.0.1", 9090, false),
        ];
        for (value, host, port, tls) in cases {
            let t = parse(value, Origin::Option, 9090).unwrap();
            assert_eq!(
                (t.host.as_str(), t.port, t.tls),
                (host, port, tls),
                "{value}"
            );
        }
    }

    #[test]
    fn origin_uri_brackets_ipv6_and_names_the_scheme() {
        let t = parse("[::1]:5", Origin::Option, 1).unwrap();
        assert_eq!(t.origin_uri().to_string(), "http://[::1]:5/");
        let t = parse("a.example:443", Origin::Option, 1).unwrap();
        assert_eq!(t.origin_uri().to_string(), "https://a.example:443/");
    }

    #[test]
    fn malformed_targets_are_errors_naming_their_origin() {
        let cases = [
            ("grpc://a.example", "unsupported scheme `grpc`"),
            ("http://a.example/v1", "no path or query"),
            ("http://user@a.example", "no user info"),
            ("a.example:notaport", "port must be a number"),
            ("a.example:70000", "port must be a number"),
            ("a b", "expected host, host:port"),
            ("http://", "not a valid URI"),
        ];
        for (value, reason) in cases {
            let env = |_: &str| Some(value.to_owned());
            let err = select(&SHOP, None, env).unwrap_err().to_string();
            assert!(err.contains(reason), "{value}: {err}");
            assert!(err.contains("ORDER_SERVICE_ADDR"), "{value}: {err}");
        }
    }

    #[test]
    fn no_default_host_and_no_env_var_says_what_to_set() {
        let svc = Service {
            default_host: None,
            ..SHOP
        };
        let err = select(&svc, None, no_env).unwrap_err().to_string();
        assert!(err.contains("ORDER_SERVICE_ADDR"), "{err}");
        assert!(err.contains("acme.shop.v1.OrderService"), "{err}");
    }
}
