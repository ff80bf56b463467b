//! [`Routes`] as an axum router: the coverage routes axum matches, and the dispatcher that
//! hands each request to the [`Matcher`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use http::{header, Method, StatusCode};

use super::{Call, Handler, Options, RouteHandler};
use crate::http::matcher::{Matcher, MethodFilter, RouteError, Template};
use crate::http::status;

/// The routes of one or more services. Generated `<service>_http::routes(..)` return one;
/// [`Routes::merge`] puts several services behind one matcher, and [`Routes::into_router`]
/// makes the axum router.
#[derive(Default, Clone)]
pub struct Routes {
    routes: Vec<(MethodFilter, &'static Template, Route)>,
    options: Options,
}

/// What a matched route runs: its handler, for the method of this full name, under the
/// template's text (what tracing reports as `http.route`).
#[derive(Clone)]
pub(super) struct Route {
    method: &'static str,
    template: Arc<str>,
    handler: Handler,
    /// The route takes a WebSocket upgrade on its path (docs/reference.md section 13.1).
    #[cfg_attr(not(feature = "websocket"), allow(dead_code))]
    websocket: bool,
}

impl Routes {
    /// No routes, with `options`.
    pub fn new(options: Options) -> Self {
        Routes {
            routes: Vec::new(),
            options,
        }
    }

    /// Adds a route to the method `rpc` (its full name, `acme.shop.v1.OrderService/GetOrder`,
    /// which the server's middleware stack and the handler's [`CallInfo`](crate::serve::CallInfo)
    /// report). `handler` is a [`Handler`], or a [`RouteHandler`] that also takes WebSocket
    /// upgrades.
    pub fn route(
        mut self,
        method: MethodFilter,
        template: &'static Template,
        rpc: &'static str,
        handler: impl Into<RouteHandler>,
    ) -> Self {
        let RouteHandler { handler, websocket } = handler.into();
        let route = Route {
            method: rpc,
            template: template.to_string().into(),
            handler,
            websocket,
        };
        self.routes.push((method, template, route));
        self
    }

    /// Adds the routes of `other`, keeping these options.
    pub fn merge(mut self, other: Routes) -> Self {
        self.routes.extend(other.routes);
        self
    }

    /// The axum router serving every route, answering 404 and 405 (with `Allow`) as
    /// `google.rpc.Status` JSON. It composes the axum way: `merge` it with other generated
    /// routers or the user's own, `nest` it under a prefix, add layers.
    ///
    /// # How it composes
    ///
    /// The router has no fallback (axum refuses to merge two routers that both have one). It
    /// registers *coverage routes* instead, each answered by these routes' own [`Matcher`], which
    /// still decides precedence, bindings, 404 and 405 exactly as for a lone router:
    /// - each template becomes its literal prefix up to the first segment that is not a plain
    ///   literal, then a catch-all named by its position: `/v1/{name=orders/*}:cancel` is
    ///   `/v1/orders/{*p2}`, `/v1/{name=**}` is `/v1/{*p1}` (plus `/v1` and `/v1/`, as `**` may
    ///   match nothing), an all-literal template is itself (plus a trailing-`/` twin);
    /// - each first literal segment gets a catch-all too (`/v1/{*p1}`), so an unknown path
    ///   under a prefix the routes use is a Status 404 rather than axum's empty one;
    /// - a route lists the standard methods of the templates it covers; any other method comes
    ///   to the matcher through the route's method fallback, which stays axum's *default* kind,
    ///   so that routes on the same path from several routers (or the user's) merge. A route
    ///   covering a `custom` method outside axum's nine, or `*`, takes every method itself.
    ///
    /// Names never differ between routers for the same position, no route has a single-segment
    /// parameter, and literals sort before catch-alls in axum's matcher, so generated routers
    /// merge with each other in any order and nest anywhere without a conflict.
    ///
    /// ```
    /// use http::Method;
    /// use rs_svc::http::matcher::{MethodFilter, Segment, Template, Variable};
    /// use rs_svc::http::{handler, Options, Routes};
    ///
    /// // `GET /v1/{name=orders/*}` and `GET /v1/{name=shelves/*}`, two services' routes.
    /// const ORDER: Template = Template {
    ///     segments: &[Segment::Literal("v1"), Segment::Literal("orders"), Segment::Single],
    ///     variables: &[Variable { field: "name", start: 1, end: 3 }],
    ///     verb: None,
    /// };
    /// const SHELF: Template = Template {
    ///     segments: &[Segment::Literal("v1"), Segment::Literal("shelves"), Segment::Single],
    ///     variables: &[Variable { field: "name", start: 1, end: 3 }],
    ///     verb: None,
    /// };
    /// let service = |template| {
    ///     let answer = handler(|_call| async { http::Response::new(axum::body::Body::empty()) });
    ///     Routes::new(Options::default())
    ///         .route(MethodFilter::Is(Method::GET), template, "example.v1.Shelves/Get", answer)
    ///         .into_router()
    /// };
    /// let app = axum::Router::new()
    ///     .nest("/api", service(&ORDER).merge(service(&SHELF)))
    ///     .route("/health", axum::routing::get(|| async { "ok" }))
    ///     .fallback(rs_svc::http::routes::not_found);
    /// # let _ = app;
    /// ```
    ///
    /// # Limits
    ///
    /// - Across routers merged the axum way, axum picks the route with the longest literal
    ///   prefix, and that router alone decides: a path both routers could serve goes to the one
    ///   whose literals reach further, whatever the methods, and 404/405 and `Allow` describe
    ///   that router's templates. [`Routes::merge`] puts several services behind one matcher
    ///   with full precedence (literal > `*` > `**`, a wrong method lets the next route try).
    /// - On a path several routers cover, a method none of them lists goes to one of their
    ///   matchers (axum keeps one method fallback), and so does a `custom` method or `*`.
    /// - A user's route with a parameter or catch-all at a position where these routes have a
    ///   catch-all (`/v1/{id}` beside `/v1/{*p1}`) conflicts in axum's matcher, and axum panics
    ///   on it, as for any two overlapping routes; routes with literals there (`/v1/health`)
    ///   compose and win over the catch-all. A user's route with the same method on the same
    ///   path as a template (`GET /v1/orders` beside `ListOrders`) panics as any duplicate
    ///   route does. Two routers that both register a `custom` method or `*` on the same path
    ///   make axum panic too ("both have a fallback").
    /// - Outside those prefixes, unknown paths reach the router's fallback (axum's empty 404,
    ///   or the user's, such as [`not_found`]). axum compares literals as sent, so a request
    ///   that spells a literal with escapes (`/v%31/orders/o1`) reaches the routes only where a
    ///   catch-all covers it (`/v1/ord%65rs/o1` does, through `/v1/{*p1}`). A response that axum routed through a method fallback may carry
    ///   axum's `Allow` header even when it is not a 405.
    pub fn into_router(self) -> axum::Router {
        let coverage = coverage(
            self.routes
                .iter()
                .map(|(method, template, _)| (method, *template)),
        );
        let dispatch = Dispatch {
            matcher: Arc::new(Matcher::new(self.routes)),
            options: Arc::new(self.options),
        };
        let mut router = axum::Router::new();
        for (path, methods) in coverage {
            let route = if methods.every {
                axum::routing::any_service(dispatch.clone())
            } else {
                let mut route = axum::routing::MethodRouter::new();
                for method in methods.standard {
                    route = route.on_service(method, dispatch.clone());
                }
                // Every endpoint, the default method fallback included, is the dispatcher.
                let answer = dispatch.clone();
                route.layer(tower::layer::layer_fn(move |_| answer.clone()))
            };
            router = router.route(&path, route);
        }
        router
    }
}

/// The methods one coverage route lists.
#[derive(Default)]
pub(super) struct Covered {
    pub(super) standard: Vec<axum::routing::MethodFilter>,
    /// A `custom` method outside axum's filters, or `*`: the route takes every method.
    pub(super) every: bool,
}

/// The axum routes that cover `templates` (see [`Routes::into_router`]), by path, in order.
pub(super) fn coverage<'a>(
    templates: impl Iterator<Item = (&'a MethodFilter, &'static Template)>,
) -> std::collections::BTreeMap<String, Covered> {
    let mut routes = std::collections::BTreeMap::<String, Covered>::new();
    let mut methods: std::collections::BTreeMap<String, std::collections::BTreeSet<&str>> =
        Default::default();
    for (method, template) in templates {
        if let Some(crate::http::matcher::Segment::Literal(first)) = template.segments.first() {
            if plain(first) {
                routes.entry(format!("/{first}/{{*p1}}")).or_default();
            }
        }
        for path in covering_paths(template) {
            let covered = routes.entry(path.clone()).or_default();
            let filter = match method {
                MethodFilter::Any => None,
                MethodFilter::Is(method) => axum::routing::MethodFilter::try_from(method.clone())
                    .ok()
                    .map(|filter| (method.as_str(), filter)),
            };
            match filter {
                Some((name, filter)) => {
                    if methods.entry(path).or_default().insert(name) {
                        covered.standard.push(filter);
                    }
                }
                None => covered.every = true,
            }
        }
    }
    routes
}

/// The axum paths one template's requests arrive on.
pub(super) fn covering_paths(template: &Template) -> Vec<String> {
    use crate::http::matcher::Segment;
    let mut path = String::new();
    for (position, segment) in template.segments.iter().enumerate() {
        match segment {
            Segment::Literal(text) if plain(text) => {
                path.push('/');
                path.push_str(text);
            }
            Segment::Multi => {
                // `**` may match no segment at all.
                let bare = if path.is_empty() {
                    "/".to_owned()
                } else {
                    path.clone()
                };
                let mut paths = vec![bare, format!("{path}/{{*p{position}}}")];
                if !path.is_empty() {
                    paths.push(format!("{path}/"));
                }
                return paths;
            }
            _ => return vec![format!("{path}/{{*p{position}}}")],
        }
    }
    match template.verb {
        None if path.is_empty() => vec!["/".to_owned()],
        None => vec![format!("{path}/"), path],
        Some(verb) if plain(verb) && !path.is_empty() => vec![format!("{path}:{verb}")],
        // A verb axum cannot spell: the last segment's catch-all covers it.
        Some(_) => {
            let last = template.segments.len().saturating_sub(1);
            let parent = path.rsplit_once('/').map_or("", |(parent, _)| parent);
            vec![format!("{parent}/{{*p{last}}}")]
        }
    }
}

/// A literal axum matches as it is: no escape (the matcher decodes both sides), no character
/// axum's path syntax gives a meaning (`{`, `}`, a leading `:` or `*`).
fn plain(text: &str) -> bool {
    !text.is_empty() && !text.contains(['%', '{', '}']) && !text.starts_with([':', '*'])
}

#[derive(Clone)]
struct Dispatch {
    matcher: Arc<Matcher<Route>>,
    options: Arc<Options>,
}

impl tower::Service<http::Request<Body>> for Dispatch {
    type Response = http::Response<Body>;
    type Error = std::convert::Infallible;
    type Future = Dispatched;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        #[cfg_attr(not(feature = "websocket"), allow(unused_mut))]
        let (mut parts, body) = request.into_parts();
        #[cfg(feature = "websocket")]
        let websocket = crate::http::websocket::is_upgrade(&parts);
        #[cfg(feature = "websocket")]
        if websocket {
            crate::http::websocket::timeout_from_query(&mut parts.headers, &mut parts.uri);
        }
        // Served by `rs_svc::serve` with layers, a call goes through them to its handler.
        #[cfg(feature = "serve")]
        let (stack, parts) = {
            let mut parts = parts;
            (crate::http::call::Stack::take(&mut parts.extensions), parts)
        };
        #[cfg(not(feature = "serve"))]
        let stack: Option<()> = None;
        #[cfg(feature = "websocket")]
        let found = if websocket {
            find_websocket(&self.matcher, parts.uri.path())
        } else {
            self.matcher.find(&parts.method, parts.uri.path())
        };
        #[cfg(not(feature = "websocket"))]
        let found = self.matcher.find(&parts.method, parts.uri.path());
        let (route, bindings) = match found {
            Ok(found) => {
                let bindings = found
                    .bindings
                    .into_iter()
                    .map(|(field, value)| (field, value.into_owned()))
                    .collect();
                let route = found.route;
                let template = stack.as_ref().map(|_| route.template.clone());
                ((route.method, route.handler.clone(), template), bindings)
            }
            Err(error) => return Dispatched::Ready(Some(route_error(&error))),
        };
        let (method, handler, template) = route;
        let head = parts.method == Method::HEAD;
        #[cfg(feature = "serve")]
        if let (Some(stack), Some(template)) = (stack, template) {
            let endpoint = crate::http::call::HttpEndpoint {
                handler,
                method,
                bindings,
                options: self.options.clone(),
            };
            return Dispatched::Stacked {
                response: stack.call_http(parts, body, template, endpoint),
                head,
            };
        }
        #[cfg(not(feature = "serve"))]
        let _ = (stack, template);
        let call = Call {
            parts,
            body,
            method,
            bindings,
            options: self.options.clone(),
        };
        Dispatched::Handler {
            response: handler(call),
            head,
        }
    }
}

/// The route a WebSocket handshake (a `GET` with `Upgrade: websocket`) reaches on `path`: a route
/// that takes WebSocket upgrades, whatever its own method (docs/reference.md section 13.1), else
/// whatever serves `GET` there, which answers as to any `GET`.
#[cfg(feature = "websocket")]
fn find_websocket<'a>(
    matcher: &'a Matcher<Route>,
    path: &'a str,
) -> Result<crate::http::matcher::Found<'a, Route>, RouteError> {
    let get = matcher.find(&Method::GET, path);
    if matches!(&get, Ok(found) if found.route.websocket) {
        return get;
    }
    // A method no route is registered under lists, in its 405, every method the path has.
    let probe = Method::from_bytes(b"WEBSOCKET").expect("a valid method token");
    let methods = match matcher.find(&probe, path) {
        Ok(found) if found.route.websocket => return Ok(found),
        Err(RouteError::MethodNotAllowed { allow }) => allow,
        _ => Vec::new(),
    };
    methods
        .iter()
        .filter_map(|method| matcher.find(method, path).ok())
        .find(|found| found.route.websocket)
        .map_or(get, Ok)
}

/// The dispatcher's future: the route error at once, or the handler's response (the handler's
/// own boxed future, with no second box around it).
pub(super) enum Dispatched {
    Ready(Option<http::Response<Body>>),
    Handler {
        response: Pin<Box<dyn Future<Output = http::Response<Body>> + Send>>,
        /// A HEAD request: the body is dropped.
        head: bool,
    },
    /// The call going through the server's stack to its handler.
    #[cfg(feature = "serve")]
    Stacked {
        response: crate::http::call::CallFuture,
        head: bool,
    },
}

impl Future for Dispatched {
    type Output = Result<http::Response<Body>, std::convert::Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Dispatched::Ready(response) => {
                Poll::Ready(Ok(response.take().expect("polled after it was ready")))
            }
            Dispatched::Handler { response, head } => {
                let response = std::task::ready!(response.as_mut().poll(cx));
                Poll::Ready(Ok(head_strip(response, *head)))
            }
            #[cfg(feature = "serve")]
            Dispatched::Stacked { response, head } => {
                let Ok(response) = std::task::ready!(response.as_mut().poll(cx));
                Poll::Ready(Ok(head_strip(response, *head)))
            }
        }
    }
}

/// The answer to a HEAD request has no body.
fn head_strip(mut response: http::Response<Body>, head: bool) -> http::Response<Body> {
    if head {
        *response.body_mut() = Body::empty();
    }
    response
}

/// The `google.rpc.Status` 404 (code NOT_FOUND) the routes answer for a path they do not know,
/// as an axum handler: a fallback for the whole application, for paths outside every prefix the
/// generated routers cover (see [`Routes::into_router`]), so that every unknown path answers
/// alike. Set it once, on the final router: axum refuses to merge two routers with fallbacks.
///
/// ```
/// # fn app(generated: axum::Router) -> axum::Router {
/// generated.fallback(rs_svc::http::routes::not_found)
/// # }
/// ```
pub async fn not_found() -> http::Response<Body> {
    route_error(&RouteError::NotFound)
}

fn route_error(error: &RouteError) -> http::Response<Body> {
    let status = match error {
        RouteError::NotFound => tonic::Status::not_found("no route for this path"),
        RouteError::MethodNotAllowed { .. } => {
            tonic::Status::unimplemented(format!("method not allowed: {error}"))
        }
        RouteError::BadRequest(message) => tonic::Status::invalid_argument(message.clone()),
    };
    let mut response = status::error_response(&status);
    if let Some(allow) = error.allow_header() {
        *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        response.headers_mut().insert(header::ALLOW, allow);
    }
    response
}
