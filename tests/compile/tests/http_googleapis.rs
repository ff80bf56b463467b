//! Shapes googleapis publishes, over real HTTP: services named with acronyms (tonic-build's
//! module names, `i_a_m_policy_server`), `**` followed by literal segments (kms/inventory/v1),
//! and two GET routes of one shape (bigquery/storage/v1), where the one registered first serves.

mod common;

use std::pin::Pin;
use std::sync::Arc;

use reqwest::StatusCode;
use rs_svc_compile_test::canonical::acronyms::v1 as acronyms;
use rs_svc_compile_test::canonical::shapes::v1 as shapes;
use serde_json::{json, Value};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

struct Acronyms;

#[tonic::async_trait]
impl acronyms::i_a_m_policy_server::IAMPolicy for Acronyms {
    async fn get_iam_policy(
        &self,
        request: Request<acronyms::GetIamPolicyRequest>,
    ) -> Result<Response<acronyms::Policy>, Status> {
        Ok(Response::new(acronyms::Policy {
            resource: request.into_inner().resource,
            version: 3,
        }))
    }
}

#[tonic::async_trait]
impl acronyms::o_s_login_server::OSLogin for Acronyms {
    async fn get_login_profile(
        &self,
        request: Request<acronyms::GetLoginProfileRequest>,
    ) -> Result<Response<acronyms::LoginProfile>, Status> {
        Ok(Response::new(acronyms::LoginProfile {
            name: request.into_inner().name,
        }))
    }
}

#[tonic::async_trait]
impl acronyms::h_t_t_p_proxy_server::HTTPProxy for Acronyms {
    async fn get_proxy(
        &self,
        request: Request<acronyms::GetProxyRequest>,
    ) -> Result<Response<acronyms::Proxy>, Status> {
        Ok(Response::new(acronyms::Proxy {
            name: request.into_inner().name,
        }))
    }
}

async fn get(url: String) -> (StatusCode, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn services_named_with_acronyms_are_served_under_tonic_build_names() {
    let service = Arc::new(Acronyms);
    let options = rs_svc::http::Options::default;
    let router = acronyms::i_a_m_policy_http::routes(service.clone(), options())
        .merge(acronyms::o_s_login_http::routes(service.clone(), options()))
        .merge(acronyms::h_t_t_p_proxy_http::routes(service, options()))
        .into_router();
    let base = format!("http://{}", common::serve_http(router).await);

    let response = reqwest::Client::new()
        .post(format!("{base}/v1/projects/p1:getIamPolicy"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"resource": "projects/p1", "version": 3}));
    assert_eq!(
        get(format!("{base}/v1/users/ada/loginProfile")).await,
        (StatusCode::OK, json!({"name": "users/ada"}))
    );
    assert_eq!(
        get(format!("{base}/v1/proxies/px")).await,
        (StatusCode::OK, json!({"name": "proxies/px"}))
    );
    // The dial helpers sit in tonic-build's client module too.
    assert_eq!(
        acronyms::i_a_m_policy_client::DEFAULT_HOST,
        "iam.example.com"
    );
    assert_eq!(
        acronyms::i_a_m_policy_client::SERVICE.address_env,
        "IAM_POLICY_ADDR"
    );
}

struct Shapes;

/// What `read_rows` returns with `generate_default_stubs` (tonic-build's `BoxStream`).
type RowStream = Pin<Box<dyn Stream<Item = Result<shapes::ReadRowsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl shapes::key_tracking_server::KeyTracking for Shapes {
    async fn get_protected_resources_summary(
        &self,
        request: Request<shapes::GetProtectedResourcesSummaryRequest>,
    ) -> Result<Response<shapes::ProtectedResourcesSummary>, Status> {
        Ok(Response::new(shapes::ProtectedResourcesSummary {
            name: request.into_inner().name,
            resource_count: 7,
        }))
    }
}

#[tonic::async_trait]
impl shapes::big_query_read_server::BigQueryRead for Shapes {
    async fn read_rows(
        &self,
        request: Request<shapes::ReadRowsRequest>,
    ) -> Result<Response<RowStream>, Status> {
        let rows = request.into_inner().read_stream.len() as i64;
        let messages = vec![Ok(shapes::ReadRowsResponse { row_count: rows })];
        Ok(Response::new(Box::pin(tokio_stream::iter(messages))))
    }

    async fn split_read_stream(
        &self,
        _: Request<shapes::SplitReadStreamRequest>,
    ) -> Result<Response<shapes::SplitReadStreamResponse>, Status> {
        Err(Status::internal("never reached over HTTP"))
    }
}

#[tokio::test]
async fn literals_after_double_star_match_the_end_of_the_path() {
    let router = shapes::key_tracking_http::router(Arc::new(Shapes));
    let base = format!("http://{}", common::serve_http(router).await);
    let summary = |name: &str| json!({"name": name, "resourceCount": "7"});
    let cases = [
        (
            "/v1/projects/p1/cryptoKeys/k1/protectedResourcesSummary",
            StatusCode::OK,
            summary("projects/p1/cryptoKeys/k1"),
        ),
        // `**` takes every segment between the prefix and the literal suffix.
        (
            "/v1/projects/p1/cryptoKeys/ring/k1/versions/2/protectedResourcesSummary",
            StatusCode::OK,
            summary("projects/p1/cryptoKeys/ring/k1/versions/2"),
        ),
        // ...or none.
        (
            "/v1/projects/p1/cryptoKeys/protectedResourcesSummary",
            StatusCode::OK,
            summary("projects/p1/cryptoKeys"),
        ),
        (
            "/v1/projects/p1/cryptoKeys/k1/other",
            StatusCode::NOT_FOUND,
            json!({"code": 5, "message": "no route for this path", "details": []}),
        ),
    ];
    for (path, status, body) in cases {
        assert_eq!(get(format!("{base}{path}")).await, (status, body), "{path}");
    }
}

#[tokio::test]
async fn of_two_routes_with_one_shape_the_first_registered_serves() {
    let router = shapes::big_query_read_http::router(Arc::new(Shapes));
    let base = format!("http://{}", common::serve_http(router).await);
    let response = reqwest::get(format!("{base}/v1/projects/p1/streams/s1"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    // ReadRows (declared first) answered: an NDJSON stream, `read_stream` bound from the path.
    let rows = "projects/p1/streams/s1".len();
    assert_eq!(text, format!("{{\"rowCount\":\"{rows}\"}}\n"));
}
