//! The HTTP transcoding load benchmark's servers. One implementation of `bench.v1.ItemService`
//! ([`Items`]) sits behind every target, so what `run.sh` measures is the HTTP/JSON layer:
//! - [`Mode::RsSvc`]: the generated `item_service_http::router` (and the generated tonic server
//!   on the gRPC port, which Envoy and h2load call);
//! - [`Mode::Axum`]: hand-written axum handlers ([`axum_router`]) that extract the path and
//!   query into the request message by hand, read the body with `Json` through the same serde
//!   impls and call the same trait.
//!
//! Both are served by `rs_svc::serve`, so the accept loop and HTTP stack are the same too.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tonic::{Request, Status};

pub mod gen {
    include!(concat!(env!("OUT_DIR"), "/gen/mod.rs"));
}

/// The descriptor set (imports included) that Envoy's gRPC-JSON transcoder loads.
pub const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/items.pb"));

use gen::bench::v1::item_service_server::{ItemService, ItemServiceServer};
use gen::bench::v1::{
    item_service_http, CreateItemRequest, Dimensions, GetItemRequest, Item, ItemState, ItemView,
};

/// The service behind every target. It does a little real work per call (builds an item of
/// about 1 KB of JSON from the request) and nothing else.
#[derive(Debug, Default)]
pub struct Items;

const DESCRIPTION: &str = "A sturdy oak shelf bracket, hand-finished with linseed oil and \
    sized for shelves up to thirty centimetres deep. Each bracket carries forty kilograms when \
    fixed with the supplied screws into solid masonry; on plasterboard use cavity anchors rated \
    for the load. The finish darkens gently with time. Sold singly; most shelves need two, \
    spaced no more than eighty centimetres apart. Made to order in small batches, so the grain \
    and colour of each piece differ a little from the photographs. Returns are accepted \
    within thirty days in the original packaging; the workshop repairs damaged pieces free.";

#[tonic::async_trait]
impl ItemService for Items {
    async fn get_item(
        &self,
        request: Request<GetItemRequest>,
    ) -> Result<tonic::Response<Item>, Status> {
        let request = request.into_inner();
        if request.name.is_empty() {
            return Err(Status::invalid_argument("name is required"));
        }
        let mut item = sample_item();
        item.name = request.name;
        item.tags = request.tags;
        if request.view != ItemView::Full as i32 {
            item.description.clear();
        }
        item.quantity = request.page_size;
        item.attributes.insert("filter".into(), request.filter);
        Ok(tonic::Response::new(item))
    }

    async fn create_item(
        &self,
        request: Request<CreateItemRequest>,
    ) -> Result<tonic::Response<Item>, Status> {
        let request = request.into_inner();
        let Some(mut item) = request.item else {
            return Err(Status::invalid_argument("item is required"));
        };
        item.name = format!("{}/items/{}", request.parent, request.item_id);
        item.state = ItemState::Draft as i32;
        Ok(tonic::Response::new(item))
    }
}

/// An item whose JSON is about 1 KB: the POST body, and the bulk of every response.
pub fn sample_item() -> Item {
    Item {
        name: String::new(),
        title: "Oak shelf bracket, linseed finish, 30 cm".into(),
        description: DESCRIPTION.into(),
        tags: vec!["oak".into(), "bracket".into(), "shelving".into()],
        state: ItemState::Published as i32,
        price_micros: 24_500_000,
        quantity: 12,
        rating: 4.6,
        available: true,
        attributes: [
            ("material", "oak"),
            ("finish", "linseed oil"),
            ("colour", "natural"),
            ("origin", "workshop 3"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        dimensions: Some(Dimensions {
            width_cm: 4.5,
            height_cm: 22.0,
            depth_cm: 28.5,
        }),
        ratings: vec![5, 4, 5, 5, 3, 4, 5, 5, 4, 5],
    }
}

/// The GET the load generators send: a multi-segment path variable and four query parameters
/// (an int32, a string, a repeated string and an enum by name).
pub const GET_PATH: &str =
    "/v1/shelves/s1/items/i42?page_size=20&filter=colour%3Dnatural&tags=oak&tags=bracket&view=ITEM_VIEW_FULL";

/// The POST's path; its body is [`post_body`].
pub const POST_PATH: &str = "/v1/shelves/s1/items?item_id=i43";

/// The POST body: [`sample_item`] as proto3 JSON.
pub fn post_body() -> Vec<u8> {
    serde_json::to_vec(&sample_item()).expect("an item is always JSON")
}

/// The request messages the HTTP requests above bind to, for native gRPC.
pub fn grpc_requests() -> (GetItemRequest, CreateItemRequest) {
    let get = GetItemRequest {
        name: "shelves/s1/items/i42".into(),
        page_size: 20,
        filter: "colour=natural".into(),
        tags: vec!["oak".into(), "bracket".into()],
        view: ItemView::Full as i32,
    };
    let create = CreateItemRequest {
        parent: "shelves/s1".into(),
        item: Some(sample_item()),
        item_id: "i43".into(),
    };
    (get, create)
}

/// A gRPC request body: the 5-byte frame header (uncompressed, big-endian length) and the
/// encoded message, what h2load sends as `-d FILE`.
pub fn grpc_frame(message: &impl prost::Message) -> Vec<u8> {
    let encoded = message.encode_to_vec();
    let mut frame = Vec::with_capacity(5 + encoded.len());
    frame.push(0);
    frame.extend_from_slice(&u32::try_from(encoded.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&encoded);
    frame
}

/// Which HTTP handlers a server runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The generated `item_service_http::router`.
    RsSvc,
    /// The hand-written [`axum_router`].
    Axum,
    /// [`Mode::RsSvc`] with the server's middleware stack on: a tracing span and metrics per
    /// call (no exporter), what issue 14 says a production server runs.
    RsSvcStack,
    /// [`Mode::RsSvc`] serving TLS on both ports, with the certificate chain and key in the PEM
    /// files `BENCH_TLS_CERT` and `BENCH_TLS_KEY`: what TLS costs.
    RsSvcTls,
}

impl Mode {
    /// The mode called `name` on the command line (`rs-svc`, `axum`).
    pub fn from_name(name: &str) -> Option<Mode> {
        match name {
            "rs-svc" => Some(Mode::RsSvc),
            "axum" => Some(Mode::Axum),
            "rs-svc-stack" => Some(Mode::RsSvcStack),
            "rs-svc-tls" => Some(Mode::RsSvcTls),
            _ => None,
        }
    }
}

/// Whether [`Mode::RsSvcStack`] runs `part`: `metrics`, `trace` (the trace layer, its spans
/// recorded by a `tracing` subscriber), `otel` (that subscriber also builds an OpenTelemetry
/// span of each); all three unless `STACK_PARTS` lists some (comma-separated), to see what each
/// costs.
pub fn stack_has(part: &str) -> bool {
    std::env::var("STACK_PARTS").map_or(true, |parts| parts.split(',').any(|p| p == part))
}

/// For [`Mode::RsSvcStack`]: a subscriber that builds an OpenTelemetry span for every call's
/// `tracing` span, as a service exporting its traces does, with no exporter (what the export
/// costs depends on the collector, not on us). Process-wide; call once, before serving.
pub fn install_tracing_without_exporter() {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let lean = std::env::var("OTEL_LEAN").is_ok();
    let otel = stack_has("otel").then(|| {
        tracing_opentelemetry::layer()
            .with_tracked_inactivity(!lean)
            .with_threads(!lean)
            .with_location(!lean)
            .with_tracer(provider.tracer("http-bench"))
    });
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::INFO)
        .with(otel);
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    // The provider lives as long as the process.
    std::mem::forget(provider);
}

/// Binds the gRPC service and `mode`'s HTTP routes, ready to serve.
pub async fn bind(
    mode: Mode,
    grpc: SocketAddr,
    http: SocketAddr,
) -> Result<rs_svc::serve::Listening, rs_svc::serve::Error> {
    let items = Arc::new(Items);
    let router = match mode {
        Mode::RsSvc | Mode::RsSvcStack | Mode::RsSvcTls => item_service_http::router(items.clone()),
        Mode::Axum => axum_router(items.clone()),
    };
    let mut builder = rs_svc::serve::Server::builder();
    if mode == Mode::RsSvcTls {
        let file =
            |var: &str| std::env::var(var).unwrap_or_else(|_| panic!("rs-svc-tls needs {var}"));
        builder = builder.tls(rs_svc::serve::Tls::from_pem_files(
            file("BENCH_TLS_CERT"),
            file("BENCH_TLS_KEY"),
        ));
    }
    if mode == Mode::RsSvcStack {
        if stack_has("metrics") {
            builder = builder.metrics(rs_svc::metrics::Metrics::new());
        }
        if stack_has("trace") {
            builder = builder.layer(rs_svc::telemetry::TraceLayer::new());
        }
    }
    builder
        // As a service that offers reflection does; it also tells the server which methods
        // answer with one message.
        .file_descriptor_set(DESCRIPTOR_SET)
        .grpc(ItemServiceServer::from_arc(items))
        .http(router)
        .grpc_addr(grpc)
        .http_addr(http)
        .build()?
        .bind()
        .await
}

/// The hand-written baseline: what a careful axum user would write for the two rules.
pub fn axum_router(items: Arc<Items>) -> Router {
    Router::new()
        .route("/v1/shelves/{shelf}/items/{item}", get(get_item))
        .route("/v1/shelves/{shelf}/items", post(create_item))
        .with_state(items)
}

async fn get_item(
    State(items): State<Arc<Items>>,
    Path((shelf, item)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let mut request = GetItemRequest {
        name: format!("shelves/{shelf}/items/{item}"),
        ..Default::default()
    };
    for (key, value) in form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        match &*key {
            "page_size" | "pageSize" => match value.parse() {
                Ok(n) => request.page_size = n,
                Err(_) => return error(&Status::invalid_argument("bad page_size")),
            },
            "filter" => request.filter = value.into_owned(),
            "tags" => request.tags.push(value.into_owned()),
            "view" => match ItemView::from_str_name(&value) {
                Some(view) => request.view = view as i32,
                None => return error(&Status::invalid_argument("bad view")),
            },
            _ => {}
        }
    }
    reply(items.get_item(Request::new(request)).await)
}

async fn create_item(
    State(items): State<Arc<Items>>,
    Path(shelf): Path<String>,
    RawQuery(query): RawQuery,
    Json(item): Json<Item>,
) -> Response {
    let item_id = form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .find(|(key, _)| key == "item_id" || key == "itemId")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let request = CreateItemRequest {
        parent: format!("shelves/{shelf}"),
        item: Some(item),
        item_id,
    };
    reply(items.create_item(Request::new(request)).await)
}

fn reply(result: Result<tonic::Response<Item>, Status>) -> Response {
    match result {
        Ok(response) => Json(response.into_inner()).into_response(),
        Err(status) => error(&status),
    }
}

fn error(status: &Status) -> Response {
    rs_svc::http::status::error_response(status).into_response()
}

/// Writes what `run.sh` needs into `dir`: `items.pb` (Envoy's descriptor set), `post.json`,
/// `get.grpc` and `create.grpc` (h2load bodies), and `get.path` / `post.path`.
pub fn write_fixtures(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let (get, create) = grpc_requests();
    std::fs::write(dir.join("items.pb"), DESCRIPTOR_SET)?;
    std::fs::write(dir.join("post.json"), post_body())?;
    std::fs::write(dir.join("get.grpc"), grpc_frame(&get))?;
    std::fs::write(dir.join("create.grpc"), grpc_frame(&create))?;
    std::fs::write(dir.join("get.path"), GET_PATH)?;
    std::fs::write(dir.join("post.path"), POST_PATH)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `mode` on ports chosen by the OS; returns the HTTP base URL.
    async fn start(mode: Mode) -> String {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let server = bind(mode, any, any).await.unwrap();
        let url = format!("http://{}", server.http_addr().unwrap());
        tokio::spawn(server.serve());
        url
    }

    async fn answers(mode: Mode) -> (serde_json::Value, serde_json::Value) {
        let base = start(mode).await;
        let client = reqwest::Client::new();
        let get = client
            .get(format!("{base}{GET_PATH}"))
            .send()
            .await
            .unwrap();
        assert_eq!(get.status(), 200, "{mode:?} GET");
        let post = client
            .post(format!("{base}{POST_PATH}"))
            .header("content-type", "application/json")
            .body(post_body())
            .send()
            .await
            .unwrap();
        assert_eq!(post.status(), 200, "{mode:?} POST");
        (get.json().await.unwrap(), post.json().await.unwrap())
    }

    /// The load generators count requests, not answers: both servers must bind every
    /// parameter and send the same JSON, or the comparison is void.
    #[tokio::test]
    async fn generated_and_hand_written_routes_answer_alike() {
        let (get, post) = answers(Mode::RsSvc).await;
        let (axum_get, axum_post) = answers(Mode::Axum).await;
        assert_eq!((&get, &post), (&axum_get, &axum_post));
        assert_eq!(get["name"], "shelves/s1/items/i42");
        assert_eq!(get["tags"], serde_json::json!(["oak", "bracket"]));
        assert_eq!(get["quantity"], 20);
        assert_eq!(get["attributes"]["filter"], "colour=natural");
        assert!(
            get["description"].as_str().unwrap().len() > 500,
            "view=FULL was bound"
        );
        assert_eq!(post["name"], "shelves/s1/items/i43");
        assert_eq!(post["state"], "ITEM_STATE_DRAFT");
        let body = post_body();
        assert!((900..1200).contains(&body.len()), "{} bytes", body.len());
    }

    #[test]
    fn grpc_frames_hold_the_requests() {
        use prost::Message as _;
        let (get, create) = grpc_requests();
        let frame = grpc_frame(&create);
        assert_eq!(frame[0], 0);
        assert_eq!(
            u32::from_be_bytes(frame[1..5].try_into().unwrap()) as usize,
            frame.len() - 5
        );
        assert_eq!(CreateItemRequest::decode(&frame[5..]).unwrap(), create);
        assert_eq!(GetItemRequest::decode(&grpc_frame(&get)[5..]).unwrap(), get);
    }
}
