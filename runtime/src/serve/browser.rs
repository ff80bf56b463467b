//! What browsers need in front of every port (docs/reference.md section 13): CORS
//! ([`Builder::cors`](super::Builder::cors), tower-http) and gRPC-Web
//! ([`Builder::grpc_web`](super::Builder::grpc_web), tonic-web).
//!
//! A request passes, in order:
//! 1. CORS, when configured: a preflight (`OPTIONS` with `Access-Control-Request-Method`) is
//!    answered here, before the limits, the stack's layers and any authentication; every other
//!    request gets the CORS headers on its answer. (An `OPTIONS` request that is not a
//!    preflight passes on untouched, to whatever route serves `OPTIONS`.)
//! 2. gRPC-Web, when on: a request whose content type is gRPC-Web (binary or text) is turned
//!    into a gRPC request by tonic-web and marked as gRPC-Web ([`GrpcWebCall`]); the connection
//!    then serves it as any gRPC call (limits, deadline, the stack, the gRPC services, also on
//!    the HTTP port), and tonic-web turns the answer back into gRPC-Web, its trailers into the
//!    body's last frame.
//!
//!    The Connect protocol, when on, is recognised here too ([`Connect::wants`](super::connect)):
//!    its call is turned into a gRPC request marked as Connect (`ConnectCall`) and served the
//!    same way, and the gRPC answer turned back into Connect's.
//!
//! Another transport that turns a call into a gRPC call slots in at step 2, beside gRPC-Web and
//! Connect: recognised by its request's head in [`Front::call`] and handed to the connection's
//! dispatch as a call of the services it reaches. WebSocket streams are not one: the HTTP routes
//! take their handshakes (`crate::http::websocket`).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use hyper::body::Incoming;
use tower::Service;

use super::conn::Dispatch;
#[cfg(feature = "grpc-web")]
use crate::http::call::GrpcWebCall;

/// What browsers get, as configured on the builder.
#[derive(Clone, Default)]
pub(super) struct Browsers {
    #[cfg(feature = "cors")]
    pub(super) cors: Option<tower_http::cors::CorsLayer>,
    #[cfg(feature = "grpc-web")]
    pub(super) grpc_web: bool,
    #[cfg(feature = "connect")]
    pub(super) connect: Option<std::sync::Arc<super::connect::Connect>>,
}

impl Browsers {
    /// Whether nothing is on, so that connections are served without the front.
    pub(super) fn is_off(&self) -> bool {
        #[allow(unused_mut)]
        let mut off = true;
        #[cfg(feature = "cors")]
        {
            off &= self.cors.is_none();
        }
        #[cfg(feature = "grpc-web")]
        {
            off &= !self.grpc_web;
        }
        #[cfg(feature = "connect")]
        {
            off &= self.connect.is_none();
        }
        off
    }

    /// The front of one connection, before its dispatch.
    pub(super) fn front(&self, dispatch: Dispatch) -> Front {
        let translate = Translate {
            #[cfg(feature = "grpc-web")]
            grpc_web: self
                .grpc_web
                .then(|| tower::Layer::layer(&tonic_web::GrpcWebLayer::new(), dispatch.clone())),
            #[cfg(feature = "connect")]
            connect: self.connect.clone(),
            dispatch,
        };
        Front {
            #[cfg(feature = "cors")]
            cors: self
                .cors
                .as_ref()
                .map(|layer| tower::Layer::layer(layer, translate.clone())),
            translate,
        }
    }
}

type Answer = Pin<Box<dyn Future<Output = Result<Response<axum::body::Body>, Infallible>> + Send>>;

/// A connection's service when browsers get anything: CORS, then the translation of browser
/// protocols, then the connection's dispatch.
#[derive(Clone)]
pub(super) struct Front {
    #[cfg(feature = "cors")]
    cors: Option<tower_http::cors::Cors<Translate>>,
    translate: Translate,
}

impl Service<Request<Incoming>> for Front {
    type Response = Response<axum::body::Body>;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The dispatch is always ready, and so is tower-http's CORS in front of it (its check of
        // the configuration is done once, by `Cors::layer`).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Incoming>) -> Answer {
        #[cfg(feature = "cors")]
        if let Some(cors) = &mut self.cors {
            // tower-http answers every OPTIONS request as a preflight.
            let preflight_or_not_options = request.method() != http::Method::OPTIONS
                || request
                    .headers()
                    .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD);
            if preflight_or_not_options {
                return Box::pin(cors.call(request));
            }
        }
        self.translate.call(request)
    }
}

/// Hands a request to the connection's dispatch, through tonic-web when it is a gRPC-Web call
/// and through the Connect translation when it is a Connect call.
#[derive(Clone)]
pub(super) struct Translate {
    #[cfg(feature = "grpc-web")]
    grpc_web: Option<tonic_web::GrpcWebService<Dispatch>>,
    #[cfg(feature = "connect")]
    connect: Option<std::sync::Arc<super::connect::Connect>>,
    dispatch: Dispatch,
}

impl Service<Request<Incoming>> for Translate {
    type Response = Response<axum::body::Body>;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    #[cfg_attr(not(feature = "grpc-web"), allow(unused_mut))]
    fn call(&mut self, mut request: Request<Incoming>) -> Answer {
        #[cfg(feature = "grpc-web")]
        if let Some(grpc_web) = &mut self.grpc_web {
            if GrpcWebCall::is(request.headers()) {
                request.extensions_mut().insert(GrpcWebCall);
                let answer = grpc_web.call(request);
                return Box::pin(async move { Ok(answer.await?.map(axum::body::Body::new)) });
            }
        }
        #[cfg(feature = "connect")]
        if let Some(connect) = &self.connect {
            if super::connect::Connect::wants(&request) {
                let answer = connect.clone().call(request, self.dispatch.clone());
                return Box::pin(async move { Ok(answer.await) });
            }
        }
        let answer = self.dispatch.call(request);
        Box::pin(async move { Ok(answer.await?.map(axum::body::Body::new)) })
    }
}

#[cfg(feature = "cors")]
pub(super) mod cors {
    //! The CORS configuration ([`Cors`]), turned into tower-http's layer.

    use std::time::Duration;

    use http::{HeaderName, HeaderValue, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};

    /// The request headers a gRPC-Web, Connect or HTTP/JSON call from a browser may send beyond
    /// the CORS-safelisted ones, allowed unless [`Cors::allow_headers`] adds more.
    pub const CORS_ALLOWED_HEADERS: [&str; 11] = [
        "content-type",
        "authorization",
        "grpc-timeout",
        "grpc-encoding",
        "grpc-accept-encoding",
        "x-grpc-web",
        "x-user-agent",
        "traceparent",
        "tracestate",
        "connect-protocol-version",
        "connect-timeout-ms",
    ];

    /// The response headers a page's script may read beyond the CORS-safelisted ones: the
    /// gRPC status of a gRPC-Web answer without a body (trailers-only) and what errors carry.
    /// [`Cors::expose_headers`] adds the API's own metadata.
    pub const CORS_EXPOSED_HEADERS: [&str; 6] = [
        "grpc-status",
        "grpc-message",
        "grpc-status-details-bin",
        "grpc-encoding",
        "retry-after",
        "www-authenticate",
    ];

    /// The methods allowed unless [`Cors::allow_methods`] says otherwise: those of
    /// `google.api.http` rules, and POST, which every gRPC-Web call uses.
    pub const CORS_ALLOWED_METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

    /// Which pages may call the server from another origin (CORS), for HTTP/JSON and gRPC-Web
    /// alike, given to [`Builder::cors`](crate::serve::Builder::cors) (docs/reference.md
    /// section 13). The gRPC-Web request headers are allowed and the gRPC status headers
    /// exposed by default, so that only the API's own metadata needs naming.
    ///
    /// A small builder of our own rather than tower-http's `CorsLayer`, so that adding a header
    /// keeps those defaults, and so that a configuration the Fetch standard forbids (credentials
    /// with `*`) is an error from `Builder::build` rather than a panic while serving.
    ///
    /// ```
    /// use rs_svc::serve::{Cors, Server};
    ///
    /// let cors = Cors::new()
    ///     .allow_origin("https://app.example.com")
    ///     .allow_origin("http://localhost:5173")
    ///     .allow_headers(["x-tenant"]) // custom metadata the page sends
    ///     .expose_headers(["x-request-id"]); // custom metadata the page reads
    /// let builder = Server::builder().grpc_web(true).cors(cors);
    /// // Any origin (no credentials):
    /// let open = Server::builder().cors(Cors::new().allow_origin("*"));
    /// # let _ = (builder, open);
    /// ```
    #[derive(Clone, Debug, Default)]
    pub struct Cors {
        origins: Vec<String>,
        headers: Vec<String>,
        exposed: Vec<String>,
        methods: Option<Vec<String>>,
        credentials: bool,
        max_age: Option<Duration>,
    }

    impl Cors {
        /// No origin allowed yet: add them with [`Cors::allow_origin`].
        pub fn new() -> Self {
            Cors::default()
        }

        /// Allows pages from `origin` (`https://app.example.com`, `http://localhost:5173`: a
        /// scheme, a host and maybe a port, as browsers send it in `Origin`), or from any
        /// origin with `*`. May be called for several origins.
        pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
            self.origins.push(origin.into());
            self
        }

        /// Allows request headers beyond [`CORS_ALLOWED_HEADERS`]: the metadata the API's
        /// callers send (`x-tenant`; for a binary value, `x-trace-bin`).
        pub fn allow_headers<I, S>(mut self, names: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.headers.extend(names.into_iter().map(Into::into));
            self
        }

        /// Lets scripts read response headers beyond [`CORS_EXPOSED_HEADERS`]: the metadata
        /// the API's answers carry.
        pub fn expose_headers<I, S>(mut self, names: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.exposed.extend(names.into_iter().map(Into::into));
            self
        }

        /// The methods allowed, replacing [`CORS_ALLOWED_METHODS`] (add a `custom` method
        /// of an HTTP rule here).
        pub fn allow_methods<I, S>(mut self, methods: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.methods = Some(methods.into_iter().map(Into::into).collect());
            self
        }

        /// Whether pages may send cookies and HTTP authentication
        /// (`Access-Control-Allow-Credentials: true`); off by default. Not with `*`.
        pub fn allow_credentials(mut self, on: bool) -> Self {
            self.credentials = on;
            self
        }

        /// How long a browser may cache a preflight's answer (`Access-Control-Max-Age`); unset
        /// by default (browsers then cache it for 5 seconds).
        pub fn max_age(mut self, max_age: Duration) -> Self {
            self.max_age = Some(max_age);
            self
        }

        /// tower-http's layer for this configuration, or what is wrong with it.
        pub(in crate::serve) fn layer(&self) -> Result<CorsLayer, String> {
            let any = self.origins.iter().any(|o| o.trim() == "*");
            if self.origins.is_empty() {
                return Err("no origin is allowed: call Cors::allow_origin".into());
            }
            if any && self.credentials {
                return Err("credentials cannot be allowed to any origin (`*`)".into());
            }
            let origin = if any {
                AllowOrigin::any()
            } else {
                let origins = self
                    .origins
                    .iter()
                    .map(|o| parse_origin(o))
                    .collect::<Result<Vec<_>, _>>()?;
                AllowOrigin::list(origins)
            };
            let names = |defaults: &[&str], extra: &[String]| {
                let mut names: Vec<HeaderName> = Vec::new();
                for name in defaults
                    .iter()
                    .copied()
                    .chain(extra.iter().map(String::as_str))
                {
                    let name = HeaderName::try_from(name.trim())
                        .map_err(|_| format!("`{name}` is not a header name"))?;
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
                Ok::<_, String>(names)
            };
            let methods = match &self.methods {
                Some(methods) => methods
                    .iter()
                    .map(|m| {
                        Method::from_bytes(m.trim().as_bytes())
                            .map_err(|_| format!("`{m}` is not an HTTP method"))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                None => CORS_ALLOWED_METHODS
                    .iter()
                    .map(|m| Method::from_bytes(m.as_bytes()).expect("a method"))
                    .collect(),
            };
            let mut layer = CorsLayer::new()
                .allow_origin(origin)
                .allow_methods(methods)
                .allow_headers(names(&CORS_ALLOWED_HEADERS, &self.headers)?)
                .expose_headers(names(&CORS_EXPOSED_HEADERS, &self.exposed)?)
                .allow_credentials(self.credentials);
            if let Some(max_age) = self.max_age {
                layer = layer.max_age(max_age);
            }
            Ok(layer)
        }
    }

    /// An origin as browsers send it: `scheme://host[:port]`, nothing after.
    fn parse_origin(origin: &str) -> Result<HeaderValue, String> {
        let origin = origin.trim();
        let bad = || {
            format!("`{origin}` is not an origin (scheme://host[:port], no path, or `*` for any)")
        };
        let uri: http::Uri = origin.parse().map_err(|_| bad())?;
        let plain = uri.scheme().is_some()
            && uri.authority().is_some_and(|a| !a.as_str().contains('@'))
            && uri
                .path_and_query()
                .is_none_or(|p| matches!(p.as_str(), "" | "/"));
        // `Uri` gives `https://a.example` the path `/`; an origin is written without it.
        if !plain || origin.ends_with('/') {
            return Err(bad());
        }
        HeaderValue::from_str(origin).map_err(|_| bad())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn origins_are_scheme_host_and_port_only() {
            let cases = [
                ("https://app.example.com", true),
                ("http://localhost:5173", true),
                ("http://127.0.0.1:8080", true),
                ("https://app.example.com/", false),
                ("https://app.example.com/page", false),
                ("app.example.com", false),
                ("https://user@app.example.com", false),
                ("", false),
            ];
            for (origin, ok) in cases {
                assert_eq!(parse_origin(origin).is_ok(), ok, "{origin}");
            }
        }

        #[test]
        fn configurations_cors_forbids_are_errors() {
            let cases = [
                (Cors::new(), Some("no origin")),
                (Cors::new().allow_origin("*"), None),
                (
                    Cors::new().allow_origin("*").allow_credentials(true),
                    Some("credentials"),
                ),
                (
                    Cors::new()
                        .allow_origin("https://a.example")
                        .allow_credentials(true),
                    None,
                ),
                (
                    Cors::new().allow_origin("https://a.example/x"),
                    Some("not an origin"),
                ),
                (
                    Cors::new()
                        .allow_origin("https://a.example")
                        .allow_headers(["bad name"]),
                    Some("not a header name"),
                ),
                (
                    Cors::new()
                        .allow_origin("https://a.example")
                        .allow_methods(["GE T"]),
                    Some("not an HTTP method"),
                ),
            ];
            for (cors, error) in cases {
                let got = cors.layer().err();
                match (error, &got) {
                    (None, None) => {}
                    (Some(wanted), Some(got)) if got.contains(wanted) => {}
                    _ => panic!("{cors:?}: {got:?}, wanted {error:?}"),
                }
            }
        }
    }
}
