//! `rs_svc::auth::Jwt` on the server's stack over real sockets: one method guarded, called by
//! the generated tonic client and over HTTP/JSON by hyper-util's client, with tokens signed here
//! (HS256). Runs with `cargo test -p rs-svc-compile-test --features jwt --test jwt`.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use common::Served;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use rs_svc::auth::jsonwebtoken::{self, Algorithm, EncodingKey, Header};
use rs_svc::auth::{Jwt, Principal};
use rs_svc::serve::{Builder, Server};
use rs_svc_compile_test::canonical::acme::shop::v1 as shop;
use serde_json::{json, Value};
use shop::order_service_client::OrderServiceClient;
use shop::order_service_server::{OrderService, OrderServiceServer};
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};

const SECRET: &[u8] = b"a shared secret of 32 bytes or more";
const GET_ORDER: &str = "acme.shop.v1.OrderService/GetOrder";

/// `GetOrder` answers with the caller's subject as the customer; `ListOrders` with no orders.
#[derive(Clone, Default)]
struct Shop;

#[tonic::async_trait]
impl OrderService for Shop {
    async fn get_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let principal = Principal::of(&request)
            .ok_or_else(|| Status::internal("GetOrder is guarded: a principal is expected"))?;
        let customer = principal.subject().unwrap_or_default().to_owned();
        let tenant: String = principal
            .claim("tenant")
            .map_err(|e| Status::permission_denied(e.to_string()))?;
        Ok(Response::new(shop::Order {
            name: request.into_inner().name,
            customer: format!("{customer}@{tenant}"),
            ..Default::default()
        }))
    }

    async fn list_orders(
        &self,
        request: Request<shop::ListOrdersRequest>,
    ) -> Result<Response<shop::ListOrdersResponse>, Status> {
        assert!(
            Principal::of(&request).is_none(),
            "ListOrders is not guarded"
        );
        Ok(Response::new(shop::ListOrdersResponse::default()))
    }
}

async fn start(builder: Builder) -> Served {
    let builder = builder
        .grpc(OrderServiceServer::new(Shop))
        .http(shop::order_service_http::router(Arc::new(Shop)));
    common::serve(builder).await
}

fn token(claims: Value) -> String {
    let key = EncodingKey::from_secret(SECRET);
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn client(addr: SocketAddr) -> OrderServiceClient<Channel> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    OrderServiceClient::new(channel)
}

async fn grpc_get(addr: SocketAddr, token: Option<&str>) -> Result<shop::Order, Status> {
    let mut request = Request::new(shop::GetOrderRequest {
        name: "orders/o1".into(),
    });
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().unwrap();
        request.metadata_mut().insert("authorization", value);
    }
    Ok(client(addr).await.get_order(request).await?.into_inner())
}

/// An HTTP/JSON GET by hyper-util's client: status, `WWW-Authenticate`, body.
async fn http_get(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
) -> (u16, Option<String>, String) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let mut request = http::Request::get(format!("http://{addr}{path}"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = client
        .request(request.body(Empty::new()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, challenge, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn a_guarded_method_needs_a_valid_bearer_token_on_both_transports() {
    let jwt = Jwt::builder()
        .hmac_secret(SECRET)
        .issuer("https://id.test/")
        .audience("shop")
        .require_claim("tenant")
        .realm("shop")
        .build()
        .unwrap();
    let server =
        start(Server::builder().layer(jwt.layer_if(|call| call.method() == GET_ORDER))).await;
    let good = token(
        json!({"sub": "ada", "iss": "https://id.test/", "aud": "shop",
        "tenant": "acme", "exp": now() + 600}),
    );
    let expired = token(
        json!({"sub": "ada", "iss": "https://id.test/", "aud": "shop",
        "tenant": "acme", "exp": 1_000_000_000}),
    );

    // The handler reads the principal the layer put in its request, on both transports.
    let order = grpc_get(server.grpc, Some(&good)).await.unwrap();
    assert_eq!(order.customer, "ada@acme");
    let (status, _, body) = http_get(server.http, "/v1/orders/o1", Some(&good)).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["customer"], "ada@acme");

    // No token: UNAUTHENTICATED, and a challenge without an error code.
    let missing = grpc_get(server.grpc, None).await.unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated);
    let challenge = |status: &Status| {
        status
            .metadata()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        challenge(&missing).as_deref(),
        Some("Bearer realm=\"shop\"")
    );
    let (status, header, body) = http_get(server.http, "/v1/orders/o1", None).await;
    assert_eq!(
        (status, header.as_deref()),
        (401, Some("Bearer realm=\"shop\""))
    );
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], 16);
    assert_eq!(body["message"], missing.message());

    // An expired token: invalid_token, saying when it expired.
    let want = "Bearer realm=\"shop\", error=\"invalid_token\", \
                error_description=\"the token expired at Sun, 09 Sep 2001 01:46:40 GMT\"";
    let status = grpc_get(server.grpc, Some(&expired)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(challenge(&status).as_deref(), Some(want));
    let (code, header, _) = http_get(server.http, "/v1/orders/o1", Some(&expired)).await;
    assert_eq!((code, header.as_deref()), (401, Some(want)));

    // The method that is not guarded answers without a token, both ways.
    let request = shop::ListOrdersRequest::default();
    client(server.grpc)
        .await
        .list_orders(request)
        .await
        .unwrap();
    let (status, header, body) = http_get(server.http, "/v1/orders", None).await;
    assert_eq!((status, header), (200, None), "{body}");
}
