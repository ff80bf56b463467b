//! The user service of the example: generated code from `proto/user/v1/user.proto` plus an
//! in-memory implementation.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::broadcast;
use tokio_stream::{Stream, StreamExt};
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_types::{ErrorDetails, StatusExt};

include!(concat!(env!("OUT_DIR"), "/mod.rs"));

use user::v1::user_service_server::UserService;
use user::v1::{
    CreateUserRequest, GetUserRequest, ImportUsersResponse, ListUsersRequest, ListUsersResponse,
    User, UserEvent, WatchUsersRequest,
};

/// The service's OpenAPI 3.1 document, generated from the proto with the Rust code.
pub const OPENAPI_YAML: &str = include_str!(concat!(env!("OUT_DIR"), "/user/v1/user.openapi.yaml"));

/// The request metadata key echoed back in the response, to correlate calls in logs.
pub const REQUEST_ID: &str = "x-request-id";

/// The response metadata key of `ImportUsers` that names who imported (the token's subject).
pub const IMPORTED_BY: &str = "x-imported-by";

/// CORS for pages of `origins` (`*` for any): the gRPC-Web and gRPC status headers as
/// `rs_svc::serve::Cors` has them, and the service's own metadata, [`REQUEST_ID`] both ways and
/// [`IMPORTED_BY`] in answers.
pub fn cors<I, S>(origins: I) -> rs_svc::serve::Cors
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    origins
        .into_iter()
        .fold(rs_svc::serve::Cors::new(), |cors, origin| {
            cors.allow_origin(origin)
        })
        .allow_headers([REQUEST_ID])
        .expose_headers([REQUEST_ID, IMPORTED_BY])
}

/// The verifier of `ImportUsers`' bearer tokens: HS256 JWTs signed with `secret` (at least 32
/// bytes), whose challenges name the realm `user-service`.
pub fn token_verifier(secret: &[u8]) -> Result<rs_svc::auth::Jwt, rs_svc::auth::BuildError> {
    rs_svc::auth::Jwt::builder()
        .hmac_secret(secret)
        .realm("user-service")
        .build()
}

/// The server as the `user-service` binary runs it, with what production wants on, the same for
/// gRPC and HTTP/JSON:
/// - Prometheus metrics at `GET /metrics` on the HTTP port (`metrics`, which dialed clients may
///   share);
/// - a `tracing` span per call that continues the caller's W3C trace (`traceparent`), for the
///   process's subscriber to export (the binary sends them over OTLP when
///   `OTEL_EXPORTER_OTLP_ENDPOINT` is set);
/// - the access log, one `tracing` event per call at target `rs_svc::access`;
/// - `ImportUsers`, a bulk write, open only to a bearer token that `jwt` accepts; its handler
///   reads the token's [`Principal`](rs_svc::auth::Principal);
/// - `/healthz` and `/readyz`, the health service and reflection;
/// - gRPC-Web (binary and text) and the Connect protocol (binary and JSON) on both ports, for
///   browsers (which reach the HTTP one); pages of other origins also need [`cors`].
/// - the streaming methods over WebSocket on their HTTP paths too (the runtime's `websocket`
///   feature), full duplex, for browsers.
pub fn server(
    users: Arc<Users>,
    jwt: &rs_svc::auth::Jwt,
    metrics: rs_svc::metrics::Metrics,
) -> rs_svc::serve::Builder {
    use tonic::codec::CompressionEncoding::{Gzip, Zstd};
    rs_svc::serve::Server::builder()
        // gzip and zstd both ways for clients that ask (the HTTP routes compress on their own,
        // docs/reference.md section 12).
        .grpc(
            user::v1::user_service_server::UserServiceServer::from_arc(users.clone())
                .accept_compressed(Gzip)
                .accept_compressed(Zstd)
                .send_compressed(Gzip)
                .send_compressed(Zstd),
        )
        .http(user::v1::user_service_http::router(users))
        .file_descriptor_set(FILE_DESCRIPTOR_SET)
        .metrics(metrics)
        .grpc_web(true)
        .connect(true)
        .access_log(true)
        .layer(rs_svc::telemetry::TraceLayer::new())
        .layer(jwt.layer_if(|call| call.method_name() == "ImportUsers"))
}

/// Users kept in memory, with a feed of new ones for `WatchUsers`.
pub struct Users {
    users: Arc<Mutex<BTreeMap<String, User>>>,
    created: broadcast::Sender<User>,
}

impl Default for Users {
    fn default() -> Self {
        Users {
            users: Arc::default(),
            created: broadcast::channel(1024).0,
        }
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

impl Users {
    fn get(&self, name: &str) -> Option<User> {
        self.users.lock().unwrap().get(name).cloned()
    }

    /// How many users are stored.
    pub fn count(&self) -> usize {
        self.users.lock().unwrap().len()
    }

    fn create(&self, request: CreateUserRequest) -> Result<User, Status> {
        let mut details = ErrorDetails::new();
        let id_ok = !request.user_id.is_empty()
            && request
                .user_id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            details.add_bad_request_violation("user_id", "use lowercase letters, digits and -");
        }
        let mut user = request.user.unwrap_or_default();
        if !user.email.contains('@') {
            details.add_bad_request_violation("user.email", "an email address has an @");
        }
        if details.has_bad_request_violations() {
            return Err(Status::with_error_details(
                Code::InvalidArgument,
                "the user is not valid",
                details,
            ));
        }
        user.name = format!("users/{}", request.user_id);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        user.create_time = Some(rs_svc::wkt::Timestamp {
            seconds: now.as_secs() as i64,
            nanos: now.subsec_nanos() as i32,
        });
        let mut users = self.users.lock().unwrap();
        if users.contains_key(&user.name) {
            return Err(Status::already_exists(format!("{} exists", user.name)));
        }
        users.insert(user.name.clone(), user.clone());
        // Nobody watching is fine.
        let _ = self.created.send(user.clone());
        Ok(user)
    }
}

/// Copies the caller's request id, if any, into the response metadata.
fn reply<T, M>(request: &Request<M>, message: T) -> Response<T> {
    let mut response = Response::new(message);
    if let Some(id) = request.metadata().get(REQUEST_ID) {
        response.metadata_mut().insert(REQUEST_ID, id.clone());
    }
    response
}

#[tonic::async_trait]
impl UserService for Users {
    async fn get_user(&self, request: Request<GetUserRequest>) -> Result<Response<User>, Status> {
        let name = &request.get_ref().name;
        match self.get(name) {
            Some(user) => Ok(reply(&request, user)),
            None => Err(Status::with_error_details(
                Code::NotFound,
                format!("{name} not found"),
                ErrorDetails::with_resource_info("user.v1.User", name, "", "no such user"),
            )),
        }
    }

    async fn list_users(
        &self,
        request: Request<ListUsersRequest>,
    ) -> Result<Response<ListUsersResponse>, Status> {
        let ListUsersRequest {
            page_size,
            page_token,
        } = request.get_ref();
        // Every int32 is a valid page size (the OpenAPI document can say no more than the
        // proto), so 0 or less means the default.
        let size = if *page_size <= 0 {
            50
        } else {
            *page_size as usize
        };
        let users = self.users.lock().unwrap();
        let mut page: Vec<User> = users
            .range::<String, _>((
                std::ops::Bound::Excluded(page_token.clone()),
                std::ops::Bound::Unbounded,
            ))
            .take(size + 1)
            .map(|(_, u)| u.clone())
            .collect();
        let next_page_token = if page.len() > size {
            page.truncate(size);
            page.last().map(|u| u.name.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(reply(
            &request,
            ListUsersResponse {
                users: page,
                next_page_token,
            },
        ))
    }

    async fn create_user(
        &self,
        request: Request<CreateUserRequest>,
    ) -> Result<Response<User>, Status> {
        let user = self.create(request.get_ref().clone())?;
        Ok(reply(&request, user))
    }

    type WatchUsersStream = BoxStream<UserEvent>;

    async fn watch_users(
        &self,
        request: Request<WatchUsersRequest>,
    ) -> Result<Response<Self::WatchUsersStream>, Status> {
        // Subscribe before the snapshot so no user falls between the two.
        let created = tokio_stream::wrappers::BroadcastStream::new(self.created.subscribe());
        let existing: Vec<User> = self.users.lock().unwrap().values().cloned().collect();
        let existing = tokio_stream::iter(existing).map(Ok);
        let created = created.map(|user| {
            user.map_err(|_| Status::data_loss("the watcher fell behind; watch again"))
        });
        let events = existing
            .chain(created)
            .map(|user| user.map(|user| UserEvent { user: Some(user) }));
        Ok(reply(&request, Box::pin(events) as BoxStream<UserEvent>))
    }

    async fn import_users(
        &self,
        request: Request<Streaming<CreateUserRequest>>,
    ) -> Result<Response<ImportUsersResponse>, Status> {
        let id = request.metadata().get(REQUEST_ID).cloned();
        // The server's token check let this call in and says who it is.
        let importer = rs_svc::auth::Principal::of(&request)
            .and_then(|principal| principal.subject())
            .and_then(|subject| subject.parse::<tonic::metadata::MetadataValue<_>>().ok());
        let mut stream = request.into_inner();
        let mut created = 0;
        while let Some(user) = stream.message().await? {
            self.create(user)?;
            created += 1;
        }
        let mut response = Response::new(ImportUsersResponse { created });
        if let Some(id) = id {
            response.metadata_mut().insert(REQUEST_ID, id);
        }
        if let Some(importer) = importer {
            response.metadata_mut().insert(IMPORTED_BY, importer);
        }
        Ok(response)
    }

    type LookupUsersStream = BoxStream<User>;

    async fn lookup_users(
        &self,
        request: Request<Streaming<GetUserRequest>>,
    ) -> Result<Response<Self::LookupUsersStream>, Status> {
        let users = self.users.clone();
        let answers = request.into_inner().map(move |asked| {
            let asked = asked?;
            // `name` is REQUIRED: an empty one is a mistake, not a user that does not exist.
            if asked.name.is_empty() {
                return Err(Status::invalid_argument("name is required"));
            }
            Ok(users
                .lock()
                .unwrap()
                .get(&asked.name)
                .cloned()
                .unwrap_or_default())
        });
        Ok(Response::new(Box::pin(answers) as BoxStream<User>))
    }
}
