//! The routes of one or more services, served by one [`Matcher`], and the unary call path:
//! bind the request (path > body > query), call the service trait in-process with metadata
//! and deadline, write the JSON response or the `google.rpc.Status` error.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{header, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Limited};
use serde::de::DeserializeOwned;
use serde::Deserialize as _;
use serde::Serialize;
use serde_json::{Map, Value};

use super::matcher::{Matcher, MethodFilter, RouteError, Template};
use super::query::{self, QueryField, QuerySchema};
use super::{metadata, status};

/// A route's handler: the matched request in, the HTTP response out.
pub type Handler =
    Arc<dyn Fn(Call) -> Pin<Box<dyn Future<Output = http::Response<Body>> + Send>> + Send + Sync>;

/// Checks or changes a call before its handler runs, like a tonic interceptor on the gRPC
/// server: `Ok` lets the call through (with the metadata and extensions it returns), `Err` is
/// the error response. A `tonic::service::Interceptor` closure works as is.
pub type Interceptor =
    Arc<dyn Fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Send + Sync>;

/// Settings of the HTTP/JSON routes.
#[derive(Clone)]
pub struct Options {
    interceptor: Option<Interceptor>,
    max_body_bytes: usize,
    reject_unknown_query_parameters: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            interceptor: None,
            // tonic's default message limit.
            max_body_bytes: 4 * 1024 * 1024,
            reject_unknown_query_parameters: false,
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("interceptor", &self.interceptor.is_some())
            .field("max_body_bytes", &self.max_body_bytes)
            .field(
                "reject_unknown_query_parameters",
                &self.reject_unknown_query_parameters,
            )
            .finish()
    }
}

impl Options {
    /// 4 MiB bodies, unknown query parameters ignored, no interceptor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `interceptor` on every call before its handler, as the gRPC server's interceptor
    /// does, so authentication written once guards both.
    pub fn interceptor<F>(mut self, interceptor: F) -> Self
    where
        F: Fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status>
            + Send
            + Sync
            + 'static,
    {
        self.interceptor = Some(Arc::new(interceptor));
        self
    }

    /// Request bodies over this many bytes are refused with 413. A client stream's body is
    /// never capped as a whole: the limit applies to each of its JSON messages, and a stream
    /// of `google.api.HttpBody` arrives in pieces of at most
    /// [`RAW_PIECE_BYTES`](super::client_stream::RAW_PIECE_BYTES) whatever its size.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// The body limit, also applied to each message of a streamed body.
    pub(crate) fn body_limit(&self) -> usize {
        self.max_body_bytes
    }

    /// A query parameter that names no field is a 400 instead of being ignored.
    pub fn reject_unknown_query_parameters(mut self, reject: bool) -> Self {
        self.reject_unknown_query_parameters = reject;
        self
    }

    /// Whether a query parameter that names no field is a 400.
    pub(crate) fn rejects_unknown_query_parameters(&self) -> bool {
        self.reject_unknown_query_parameters
    }
}

/// A request on its way to a handler.
pub struct Call {
    pub parts: http::request::Parts,
    pub body: Body,
    /// The path variables, `(field path, decoded value)`.
    pub bindings: Vec<(&'static str, String)>,
    pub options: Arc<Options>,
}

/// The routes of one or more services. Generated `<service>_http::routes(..)` return one;
/// [`Routes::merge`] puts several services behind one matcher, and [`Routes::into_router`]
/// makes the axum router.
#[derive(Default, Clone)]
pub struct Routes {
    routes: Vec<(MethodFilter, &'static Template, Handler)>,
    options: Options,
}

impl Routes {
    /// No routes, with `options`.
    pub fn new(options: Options) -> Self {
        Routes {
            routes: Vec::new(),
            options,
        }
    }

    /// Adds a route.
    pub fn route(
        mut self,
        method: MethodFilter,
        template: &'static Template,
        handler: Handler,
    ) -> Self {
        self.routes.push((method, template, handler));
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
    ///         .route(MethodFilter::Is(Method::GET), template, answer)
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
struct Covered {
    standard: Vec<axum::routing::MethodFilter>,
    /// A `custom` method outside axum's filters, or `*`: the route takes every method.
    every: bool,
}

/// The axum routes that cover `templates` (see [`Routes::into_router`]), by path, in order.
fn coverage<'a>(
    templates: impl Iterator<Item = (&'a MethodFilter, &'static Template)>,
) -> std::collections::BTreeMap<String, Covered> {
    let mut routes = std::collections::BTreeMap::<String, Covered>::new();
    let mut methods: std::collections::BTreeMap<String, std::collections::BTreeSet<&str>> =
        Default::default();
    for (method, template) in templates {
        if let Some(super::matcher::Segment::Literal(first)) = template.segments.first() {
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
fn covering_paths(template: &Template) -> Vec<String> {
    use super::matcher::Segment;
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
    matcher: Arc<Matcher<Handler>>,
    options: Arc<Options>,
}

impl tower::Service<http::Request<Body>> for Dispatch {
    type Response = http::Response<Body>;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let (parts, body) = request.into_parts();
        let (handler, bindings) = match self.matcher.find(&parts.method, parts.uri.path()) {
            Ok(found) => {
                let bindings = found
                    .bindings
                    .into_iter()
                    .map(|(field, value)| (field, value.into_owned()))
                    .collect();
                (found.route.clone(), bindings)
            }
            Err(error) => return Box::pin(std::future::ready(Ok(route_error(&error)))),
        };
        let head = parts.method == Method::HEAD;
        let call = Call {
            parts,
            body,
            bindings,
            options: self.options.clone(),
        };
        Box::pin(async move {
            let mut response = handler(call).await;
            if head {
                *response.body_mut() = Body::empty();
            }
            Ok(response)
        })
    }
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

/// A request message as HTTP/JSON reads it: every generated message (through its `QuerySchema`
/// and serde impls), and `()`, which is how prost-build maps `google.protobuf.Empty`.
pub trait JsonMessage: Sized + Send + 'static {
    /// The fields query parameters and path variables can set.
    fn query_fields() -> &'static [QueryField];
    /// Reads the message from its JSON; errors name the path of the bad value.
    fn from_value(value: Value) -> Result<Self, String>;
    /// Reads the message from a JSON body.
    fn from_body(bytes: &[u8]) -> Result<Self, String>;
    /// The message an empty request body stands for: the default message, which is what `{}`
    /// reads as, also for a well-known type whose JSON is not an object (an empty body is a
    /// zero `Duration`, while `{}` is no duration).
    fn empty_body() -> Self;
    /// Reads the message from top-level path variables and query parameters; `None` when it
    /// does not read (the general way then explains why).
    fn from_flat(_flat: query::Flat<'_>) -> Option<Self> {
        None
    }
    /// Why the message cannot be read from `value`, without the path; `None` when it can.
    fn rejects(value: Value) -> Option<String>;
}

impl<T> JsonMessage for T
where
    T: QuerySchema + DeserializeOwned + Default + Send + 'static,
{
    fn query_fields() -> &'static [QueryField] {
        T::query_fields()
    }

    fn from_value(value: Value) -> Result<Self, String> {
        // Read at full speed first; track the path only to explain an error.
        T::deserialize(&value).map_err(|_| match serde_path_to_error::deserialize::<_, T>(&value) {
            Err(e) => {
                let path = e.path().to_string();
                format!("invalid request field `{path}`: {}", e.into_inner())
            }
            Ok(_) => "invalid request".to_owned(),
        })
    }

    fn from_body(bytes: &[u8]) -> Result<Self, String> {
        crate::json::from_slice(bytes).map_err(|e| format!("invalid JSON body: {e}"))
    }

    fn empty_body() -> Self {
        T::default()
    }

    fn from_flat(flat: query::Flat<'_>) -> Option<Self> {
        T::deserialize(flat).ok()
    }

    fn rejects(value: Value) -> Option<String> {
        T::deserialize(value).err().map(|e| e.to_string())
    }
}

impl JsonMessage for () {
    fn query_fields() -> &'static [QueryField] {
        &[]
    }

    fn from_value(_: Value) -> Result<Self, String> {
        Ok(())
    }

    fn from_body(bytes: &[u8]) -> Result<Self, String> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(_)) => Ok(()),
            Ok(_) => Err("invalid JSON body: google.protobuf.Empty is written {}".to_owned()),
            Err(e) => Err(format!("invalid JSON body: {e}")),
        }
    }

    fn empty_body() -> Self {}

    fn from_flat(_: query::Flat<'_>) -> Option<Self> {
        Some(())
    }

    fn rejects(_: Value) -> Option<String> {
        None
    }
}

/// The wrappers (`google.protobuf.Int64Value`, ...) as whole requests, which prost maps to the
/// bare value (`i64`): the body is the value's proto3 JSON (`"123"`), and an empty body (`{}`)
/// is the default value.
macro_rules! wrapper_request {
    ($($t:ty => $codec:ident),* $(,)?) => {$(
        impl JsonMessage for $t {
            fn query_fields() -> &'static [QueryField] {
                &[]
            }

            fn from_value(value: Value) -> Result<Self, String> {
                if value.as_object().is_some_and(Map::is_empty) {
                    return Ok(Self::default());
                }
                crate::json::De::<crate::json::codec::$codec, $t>::deserialize(value)
                    .map(|read| read.0)
                    .map_err(|e| format!("invalid request: {e}"))
            }

            fn from_body(bytes: &[u8]) -> Result<Self, String> {
                let value: Value = serde_json::from_slice(bytes)
                    .map_err(|e| format!("invalid JSON body: {e}"))?;
                Self::from_value(value)
            }

            fn empty_body() -> Self {
                Self::default()
            }

            fn rejects(value: Value) -> Option<String> {
                Self::from_value(value).err()
            }
        }
    )*};
}

wrapper_request!(
    f64 => Double,
    f32 => Float,
    i64 => Int64,
    u64 => Uint64,
    i32 => Int32,
    u32 => Uint32,
    bool => Bool,
    String => Str,
    Vec<u8> => Bytes,
);

/// Where a rule's request body goes.
#[derive(Debug, Clone, Copy)]
pub enum BodyRule {
    /// No `body`: the request body is ignored.
    None,
    /// `body: "*"`: the whole message; the query is ignored.
    All,
    /// `body: "field"`: that field, by proto and JSON name; a dotted path of both for a nested
    /// field (grpc-gateway's extension), whose parent messages are created.
    Field {
        proto_name: &'static str,
        json_name: &'static str,
    },
}

/// An http rule: how to bind the request and what to send back.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub body: BodyRule,
    /// `response_body`: the JSON name of the response field sent instead of the whole message.
    pub response_body: Option<&'static str>,
    /// The body (the whole request, or the body field) is a `google.api.HttpBody`: the raw
    /// bytes of any content type become its `data`, the `Content-Type` its `content_type`.
    pub http_body_request: bool,
    /// The response (or its `response_body` field) is a `google.api.HttpBody`: its `data` is
    /// sent raw with its `content_type`.
    pub http_body_response: bool,
    /// A PATCH with a body field whose request has exactly one `FieldMask` field (this JSON
    /// name): when the request leaves it unset, it is inferred from the body's keys.
    pub infer_field_mask: Option<&'static str>,
    /// Streamed responses use grpc-gateway's `{"result": ..}` / `{"error": ..}` lines.
    pub grpc_gateway_envelope: bool,
    /// The status of a successful response (the method's `rs_svc.api.http_response`, else
    /// 200); 204 and 205 send no body. A handler can choose another per response with
    /// [`SuccessStatus`].
    pub success_status: u16,
}

/// The HTTP status of one successful response, chosen by the handler: put it in the
/// `tonic::Response`'s extensions. It wins over the method's declared status over HTTP/JSON
/// and is never sent over gRPC. 204 No Content and 205 Reset Content drop the message.
///
/// ```
/// # fn created(book: String) -> tonic::Response<String> {
/// let mut response = tonic::Response::new(book);
/// response.extensions_mut().insert(rs_svc::http::SuccessStatus::CREATED);
/// # response }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuccessStatus(StatusCode);

impl SuccessStatus {
    /// 200 OK.
    pub const OK: Self = SuccessStatus(StatusCode::OK);
    /// 201 Created.
    pub const CREATED: Self = SuccessStatus(StatusCode::CREATED);
    /// 202 Accepted.
    pub const ACCEPTED: Self = SuccessStatus(StatusCode::ACCEPTED);
    /// 204 No Content: the response message is not sent.
    pub const NO_CONTENT: Self = SuccessStatus(StatusCode::NO_CONTENT);

    /// Any 2xx status; `None` for others (errors are a handler's `tonic::Status`).
    pub fn new(status: StatusCode) -> Option<Self> {
        status.is_success().then_some(SuccessStatus(status))
    }

    /// The status.
    pub fn status(self) -> StatusCode {
        self.0
    }

    /// A response with this status carries no body.
    fn without_body(self) -> bool {
        matches!(self.0.as_u16(), 204 | 205)
    }

    /// The handler's choice, else the rule's.
    pub(super) fn of(extensions: &http::Extensions, rule: &Rule) -> Self {
        extensions
            .get::<SuccessStatus>()
            .copied()
            .unwrap_or_else(|| {
                StatusCode::from_u16(rule.success_status)
                    .ok()
                    .and_then(Self::new)
                    .unwrap_or(Self::OK)
            })
    }
}

/// Wraps an async closure as a route [`Handler`] (what generated routes use).
pub fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Call) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = http::Response<Body>> + Send + 'static,
{
    Arc::new(move |call| Box::pin(f(call)))
}

/// Serves one unary call: binds `Req`, runs the interceptor, calls `method` in-process with the
/// request's metadata and deadline, and writes the response.
pub async fn unary<Req, Resp, F, Fut>(
    call: Call,
    rule: &'static Rule,
    method: F,
) -> http::Response<Body>
where
    Req: JsonMessage,
    Resp: Serialize + Send + 'static,
    F: FnOnce(tonic::Request<Req>) -> Fut + Send,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send,
{
    unary_inner(call, rule, method)
        .await
        .unwrap_or_else(HttpError::into_response)
}

async fn unary_inner<Req, Resp, F, Fut>(
    call: Call,
    rule: &'static Rule,
    method: F,
) -> Result<http::Response<Body>, HttpError>
where
    Req: JsonMessage,
    Resp: Serialize + Send + 'static,
    F: FnOnce(tonic::Request<Req>) -> Fut + Send,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send,
{
    let (request, timeout) = prepare(call, rule).await?;
    let response = run(method(request), timeout).await?;
    json_response(response, rule)
}

/// A handler's response as HTTP: its message as JSON (or its `response_body` field, or raw
/// `google.api.HttpBody`), its metadata as headers.
pub(super) fn json_response<Resp: Serialize>(
    response: tonic::Response<Resp>,
    rule: &Rule,
) -> Result<http::Response<Body>, HttpError> {
    let (metadata, message, extensions) = response.into_parts();
    let success = SuccessStatus::of(&extensions, rule);
    if success.without_body() {
        let mut response = http::Response::new(Body::empty());
        *response.status_mut() = success.status();
        metadata::to_response_headers(metadata, response.headers_mut());
        return Ok(response);
    }
    let json = match rule.response_body {
        None => serde_json::to_vec(&message),
        Some(field) => serde_json::to_value(&message)
            .map(|mut v| v.get_mut(field).map(Value::take).unwrap_or(Value::Null))
            .and_then(|v| serde_json::to_vec(&v)),
    }
    .map_err(|e| tonic::Status::internal(format!("the response cannot be written as JSON: {e}")))?;
    if rule.http_body_response {
        let mut response = raw_response(&json)?;
        *response.status_mut() = success.status();
        metadata::to_response_headers(metadata, response.headers_mut());
        return Ok(response);
    }
    // `()` (google.protobuf.Empty) serializes as `null`; its JSON is `{}`.
    let json = if json == b"null" && rule.response_body.is_none() {
        b"{}".to_vec()
    } else {
        json
    };
    let length = json.len();
    let mut response = http::Response::new(Body::from(json));
    *response.status_mut() = success.status();
    metadata::to_response_headers(metadata, response.headers_mut());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok(response)
}

/// A `google.api.HttpBody` response, from its JSON: the data raw, with its content type.
fn raw_response(json: &[u8]) -> Result<http::Response<Body>, HttpError> {
    let body: crate::google::api::HttpBody = serde_json::from_slice(json)
        .map_err(|e| tonic::Status::internal(format!("the HttpBody response: {e}")))?;
    let length = body.data.len();
    let mut response = http::Response::new(Body::from(body.data));
    let headers = response.headers_mut();
    if let Ok(content_type) = HeaderValue::from_str(&body.content_type) {
        if !body.content_type.is_empty() {
            headers.insert(header::CONTENT_TYPE, content_type);
        }
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok(response)
}

/// Everything before the handler runs: headers to metadata, the interceptor, binding the
/// message. Returns the request and its `Grpc-Timeout`.
pub(super) async fn prepare<Req: JsonMessage>(
    call: Call,
    rule: &Rule,
) -> Result<(tonic::Request<Req>, Option<Duration>), HttpError> {
    let Call {
        mut parts,
        body,
        bindings,
        options,
    } = call;
    let (request, timeout) = call_metadata(&mut parts, &options)?;
    let message: Req = bind(&parts, body, &bindings, rule, &options).await?;
    let (metadata, extensions, ()) = request.into_parts();
    Ok((
        tonic::Request::from_parts(metadata, extensions, message),
        timeout,
    ))
}

/// The call's metadata, extensions and deadline from the request head, after the interceptor.
/// The extensions move to the call (binding needs only the method, URI and headers).
pub(super) fn call_metadata(
    parts: &mut http::request::Parts,
    options: &Options,
) -> Result<(tonic::Request<()>, Option<Duration>), HttpError> {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0);
    let headers = metadata::from_request(&parts.headers, peer)?;
    let extensions = std::mem::take(&mut parts.extensions);
    let mut request = tonic::Request::from_parts(headers.metadata, extensions, ());
    if let Some(timeout) = headers.timeout {
        request.set_timeout(timeout);
    }
    if let Some(interceptor) = &options.interceptor {
        request = interceptor(request)?;
    }
    Ok((request, headers.timeout))
}

/// Runs the handler: a panic is a 500 with code INTERNAL (the server keeps serving), a passed
/// deadline a 504 with code DEADLINE_EXCEEDED.
pub(super) async fn run<T>(
    handler: impl Future<Output = Result<T, tonic::Status>>,
    timeout: Option<Duration>,
) -> Result<T, tonic::Status> {
    let guarded = CatchUnwind(Box::pin(handler));
    let result = match timeout {
        Some(timeout) => tokio::time::timeout(timeout, guarded)
            .await
            .map_err(|_| tonic::Status::deadline_exceeded("the call's deadline passed"))?,
        None => guarded.await,
    };
    result.unwrap_or_else(|_| Err(tonic::Status::internal("the handler failed")))
}

/// A future that turns a panic while polling into an error.
pub(super) struct CatchUnwind<F>(pub(super) Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

/// Builds the request message from path variables, body and query, in that precedence.
async fn bind<Req: JsonMessage>(
    parts: &http::request::Parts,
    body: Body,
    bindings: &[(&'static str, String)],
    rule: &Rule,
    options: &Options,
) -> Result<Req, HttpError> {
    let fields = Req::query_fields();
    let query = parts.uri.query().unwrap_or("");
    // No body and only top-level parameters (the common GET): read the message straight from
    // the parameters. Anything else, errors included, takes the general way below.
    if let BodyRule::None = rule.body {
        let reject_unknown = options.reject_unknown_query_parameters;
        let flat = query::Flat::new(fields, query, bindings, reject_unknown);
        if let Some(message) = flat.and_then(Req::from_flat) {
            return Ok(message);
        }
    }
    let body = match rule.body {
        BodyRule::None => None,
        _ => Some(read_body(parts, body, options.max_body_bytes, rule.http_body_request).await?),
    };
    // The common case of a whole-message JSON body with no path variables: read it directly
    // (no body at all is the default message).
    if let (BodyRule::All, true, false, Some(body)) = (
        rule.body,
        bindings.is_empty(),
        rule.http_body_request,
        &body,
    ) {
        return match body {
            Some(body) => Req::from_body(body),
            None => Ok(Req::empty_body()),
        }
        .map_err(|e| tonic::Status::invalid_argument(e).into());
    }
    let body_value = |bytes: Option<Bytes>| -> Result<Value, HttpError> {
        if rule.http_body_request {
            return Ok(http_body_json(parts, bytes.unwrap_or_default()));
        }
        match bytes {
            Some(bytes) => Ok(parse_json(&bytes)?),
            None => Ok(Value::Object(Map::new())),
        }
    };
    // A JSON body field no path variable reaches into: write the rest of the message as JSON
    // text around the raw body and read it all in one pass, without a tree for the body.
    if let (
        BodyRule::Field {
            proto_name,
            json_name,
        },
        false,
        Some(body),
    ) = (rule.body, rule.http_body_request, &body)
    {
        let nested = json_name.contains('.');
        let inside = |(field, _): &(&str, String)| query::within(field, proto_name);
        if rule.infer_field_mask.is_none() && !nested && !bindings.iter().any(inside) {
            let mut bound: Vec<&str> = bindings.iter().map(|(f, _)| *f).collect();
            bound.push(proto_name);
            let mut object = query::to_json(
                fields,
                query,
                &bound,
                options.reject_unknown_query_parameters,
            )?;
            for (field, value) in bindings {
                query::set_path(&mut object, fields, field, value)?;
            }
            let mut text = serde_json::to_vec(&object).expect("a JSON map writes");
            text.pop(); // the closing `}`
            if !object.is_empty() {
                text.push(b',');
            }
            text.extend_from_slice(&serde_json::to_vec(json_name).expect("a string writes"));
            text.push(b':');
            text.extend_from_slice(body.as_deref().unwrap_or(b"{}"));
            text.push(b'}');
            return Req::from_body(&text).map_err(|e| unreadable::<Req>(e, query, &bound));
        }
    }
    let mut bound: Vec<&str> = bindings.iter().map(|(f, _)| *f).collect();
    let mut object = match (rule.body, body) {
        (BodyRule::All, Some(body)) => match body_value(body)? {
            Value::Object(map) => map,
            _ => {
                return Err(
                    tonic::Status::invalid_argument("the JSON body must be an object").into(),
                )
            }
        },
        (
            BodyRule::Field {
                proto_name,
                json_name,
            },
            Some(body),
        ) => {
            bound.push(proto_name);
            let mut object = query::to_json(
                fields,
                query,
                &bound,
                options.reject_unknown_query_parameters,
            )?;
            let value = body_value(body)?;
            if let Some(mask) = rule.infer_field_mask {
                if !object.contains_key(mask) {
                    let paths = query::field_mask_paths(fields, proto_name, &value);
                    object.insert(mask.to_owned(), Value::String(paths.join(",")));
                }
            }
            insert_at(&mut object, json_name, value);
            object
        }
        _ => query::to_json(
            fields,
            query,
            &bound,
            options.reject_unknown_query_parameters,
        )?,
    };
    for (field, value) in bindings {
        query::set_path(&mut object, fields, field, value)?;
    }
    // With `body: "*"` the query is not read, so it is never at fault.
    let query = if matches!(rule.body, BodyRule::All) {
        ""
    } else {
        query
    };
    Req::from_value(Value::Object(object)).map_err(|e| unreadable::<Req>(e, query, &bound))
}

/// Puts the body `value` at the dotted JSON path `json_path` of `object`, creating the
/// messages above it (a nested body field is grpc-gateway's extension) and keeping what the
/// query set beside it.
fn insert_at(object: &mut Map<String, Value>, json_path: &str, value: Value) {
    let (parents, last) = match json_path.rsplit_once('.') {
        Some((parents, last)) => (Some(parents), last),
        None => (None, json_path),
    };
    let mut target = object;
    for name in parents.into_iter().flat_map(|p| p.split('.')) {
        let next = target
            .entry(name)
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        target = next.as_object_mut().expect("made an object above");
    }
    target.insert(last.to_owned(), value);
}

/// The error for a request message that does not read: the query parameter at fault when there
/// is one (named as sent), else `error`, which names the message's field.
fn unreadable<Req: JsonMessage>(error: String, query: &str, bound: &[&str]) -> HttpError {
    query::blame(Req::query_fields(), query, bound, Req::rejects)
        .unwrap_or_else(|| tonic::Status::invalid_argument(error))
        .into()
}

/// The JSON of a `google.api.HttpBody` holding the request's raw body and content type.
fn http_body_json(parts: &http::request::Parts, bytes: Bytes) -> Value {
    use base64::Engine as _;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    serde_json::json!({
        "contentType": content_type,
        "data": base64::engine::general_purpose::STANDARD.encode(&bytes),
    })
}

/// The body bytes: `None` when empty; 413 over the limit; 415 for a content type that is not
/// JSON, unless the body is raw (`google.api.HttpBody`).
pub(super) async fn read_body(
    parts: &http::request::Parts,
    body: Body,
    limit: usize,
    raw: bool,
) -> Result<Option<Bytes>, HttpError> {
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(HttpError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                tonic::Status::resource_exhausted(format!(
                    "the request body is over {limit} bytes"
                )),
            ));
        }
        Err(e) => return Err(body_fault(&*e).into()),
    };
    if bytes.is_empty() {
        return Ok(None);
    }
    if !raw && !is_json(parts.headers.get(header::CONTENT_TYPE)) {
        return Err(HttpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            tonic::Status::invalid_argument(
                "the request body must be JSON (Content-Type: application/json)",
            ),
        ));
    }
    Ok(Some(bytes))
}

/// The status for a request body that failed to arrive (docs/reference.md section 4): CANCELLED (499)
/// when the client went away (its connection was reset or aborted, or it reset its HTTP/2
/// stream or connection), else INVALID_ARGUMENT (400): bad chunk framing, a body that ends
/// before its `Content-Length` (the client may have only half-closed and still read the answer;
/// hyper cannot tell that from a close), an HTTP/2 protocol error of the request.
pub(super) fn body_fault(error: &(dyn std::error::Error + 'static)) -> tonic::Status {
    let mut gone = false;
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(h2) = error.downcast_ref::<h2::Error>() {
            gone |= h2.is_io() || h2.is_remote();
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            gone |= matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | NotConnected
            );
        }
        if let Some(hyper) = error.downcast_ref::<hyper::Error>() {
            gone |= hyper.is_canceled();
        }
        cause = error.source();
    }
    if gone {
        tonic::Status::cancelled(format!(
            "the client went away while sending the body: {error}"
        ))
    } else {
        let detail = std::iter::successors(Some(error), |e| e.source())
            .last()
            .map_or_else(String::new, |root| format!(": {root}"));
        tonic::Status::invalid_argument(format!("the request body is malformed{detail}"))
    }
}

/// `application/json` or any `+json` type, with no charset or utf-8.
pub(super) fn is_json(content_type: Option<&HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    let utf8 = parts.all(|p| {
        let p = p.trim().to_ascii_lowercase();
        !p.starts_with("charset=") || p == "charset=utf-8" || p == "charset=\"utf-8\""
    });
    json && utf8
}

fn parse_json(bytes: &[u8]) -> Result<Value, tonic::Status> {
    serde_json::from_slice(bytes)
        .map_err(|e| tonic::Status::invalid_argument(format!("invalid JSON body: {e}")))
}

/// An error response: the `google.rpc.Status` body and the HTTP status line, which is the
/// code's usual one except for 413 and 415.
#[derive(Debug)]
pub struct HttpError {
    pub http: StatusCode,
    pub status: tonic::Status,
}

impl From<tonic::Status> for HttpError {
    fn from(status: tonic::Status) -> Self {
        HttpError {
            http: status::http_status(status.code()),
            status,
        }
    }
}

impl HttpError {
    fn new(http: StatusCode, status: tonic::Status) -> Self {
        HttpError { http, status }
    }

    /// The response.
    pub fn into_response(self) -> http::Response<Body> {
        let mut response = status::error_response(&self.status);
        *response.status_mut() = self.http;
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::matcher::{Segment as S, Variable as V};

    const NONE: &[V] = &[];

    #[test]
    fn each_template_is_covered_by_its_literal_prefix_and_a_positional_catch_all() {
        let table: &[(Template, &[&str])] = &[
            (
                Template {
                    segments: &[],
                    variables: NONE,
                    verb: None,
                },
                &["/"],
            ),
            (
                Template {
                    segments: &[S::Literal("v1"), S::Literal("orders")],
                    variables: NONE,
                    verb: None,
                },
                &["/v1/orders/", "/v1/orders"],
            ),
            (
                Template {
                    segments: &[S::Literal("v1"), S::Literal("orders")],
                    variables: NONE,
                    verb: Some("import"),
                },
                &["/v1/orders:import"],
            ),
            (
                Template {
                    segments: &[S::Literal("v1"), S::Literal("orders"), S::Single],
                    variables: NONE,
                    verb: Some("cancel"),
                },
                &["/v1/orders/{*p2}"],
            ),
            (
                Template {
                    segments: &[S::Literal("v1"), S::Single, S::Literal("books")],
                    variables: NONE,
                    verb: None,
                },
                &["/v1/{*p1}"],
            ),
            (
                Template {
                    segments: &[S::Literal("v1"), S::Literal("books"), S::Multi],
                    variables: NONE,
                    verb: None,
                },
                &["/v1/books", "/v1/books/{*p2}", "/v1/books/"],
            ),
            (
                Template {
                    segments: &[S::Multi],
                    variables: NONE,
                    verb: Some("getType"),
                },
                &["/", "/{*p0}"],
            ),
            // What axum's syntax would misread, or what the matcher decodes, is a catch-all.
            (
                Template {
                    segments: &[S::Literal("v1"), S::Literal("a%62c")],
                    variables: NONE,
                    verb: None,
                },
                &["/v1/{*p1}"],
            ),
            (
                Template {
                    segments: &[S::Literal("v1"), S::Literal("{x}")],
                    variables: NONE,
                    verb: None,
                },
                &["/v1/{*p1}"],
            ),
            (
                Template {
                    segments: &[S::Literal("v1"), S::Literal("jobs")],
                    variables: NONE,
                    verb: Some("a%3Ab"),
                },
                &["/v1/{*p1}"],
            ),
        ];
        for (template, paths) in table {
            assert_eq!(covering_paths(template), *paths, "{template:?}");
        }
    }

    #[test]
    fn a_body_fault_is_cancelled_only_when_the_client_went_away() {
        use std::io::{Error, ErrorKind};
        let table = [
            (ErrorKind::ConnectionReset, tonic::Code::Cancelled),
            (ErrorKind::ConnectionAborted, tonic::Code::Cancelled),
            (ErrorKind::BrokenPipe, tonic::Code::Cancelled),
            (ErrorKind::UnexpectedEof, tonic::Code::InvalidArgument),
            (ErrorKind::InvalidData, tonic::Code::InvalidArgument),
            (ErrorKind::InvalidInput, tonic::Code::InvalidArgument),
        ];
        for (kind, code) in table {
            // As it reaches the handler: an axum error around the cause.
            let error = axum::Error::new(Error::new(kind, "cause"));
            let status = body_fault(&error);
            assert_eq!(status.code(), code, "{kind:?}");
            assert!(status.message().contains("cause"), "{kind:?}: {status:?}");
        }
    }

    #[test]
    fn coverage_adds_a_catch_all_per_first_literal_and_lists_each_method_once() {
        static GET: Template = Template {
            segments: &[S::Literal("v1"), S::Literal("orders"), S::Single],
            variables: NONE,
            verb: None,
        };
        static CANCEL: Template = Template {
            segments: &[S::Literal("v1"), S::Literal("orders"), S::Single],
            variables: NONE,
            verb: Some("cancel"),
        };
        static PURGE: Template = Template {
            segments: &[S::Literal("v2"), S::Literal("cache")],
            variables: NONE,
            verb: None,
        };
        let routes = [
            (MethodFilter::Is(Method::GET), &GET),
            (MethodFilter::Is(Method::POST), &CANCEL),
            (MethodFilter::Is(Method::GET), &CANCEL),
            (MethodFilter::custom("PURGE").unwrap(), &PURGE),
        ];
        let covered = coverage(routes.iter().map(|(m, t)| (m, *t)));
        let summary: Vec<(&str, usize, bool)> = covered
            .iter()
            .map(|(path, c)| (path.as_str(), c.standard.len(), c.every))
            .collect();
        assert_eq!(
            summary,
            [
                ("/v1/orders/{*p2}", 2, false),
                ("/v1/{*p1}", 0, false),
                ("/v2/cache", 0, true),
                ("/v2/cache/", 0, true),
                ("/v2/{*p1}", 0, false),
            ]
        );
    }
}
