//! `/healthz` and `/readyz`: the gRPC health service's answer for HTTP probes (load balancers,
//! Kubernetes `httpGet` probes; docs/reference.md section 7).

use std::sync::Arc;

use axum::body::Body;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::Health;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::server::{HealthReporter, HealthService};

/// Liveness.
pub(super) const LIVENESS: &str = "/healthz";
/// Readiness.
pub(super) const READINESS: &str = "/readyz";

/// What the probes read: the server's health service and the names it reports.
#[derive(Clone)]
pub(super) struct Probes {
    health: Arc<HealthService>,
    /// `""` (the server) and every registered service.
    names: Arc<[&'static str]>,
}

impl Probes {
    pub(super) fn new(reporter: HealthReporter, names: Arc<[&'static str]>) -> Self {
        Probes {
            health: Arc::new(HealthService::from_health_reporter(reporter)),
            names,
        }
    }

    /// Whether `request` is a probe: a GET or HEAD of one of the two paths, not gRPC.
    pub(super) fn wants<B>(request: &Request<B>) -> bool {
        matches!(*request.method(), Method::GET | Method::HEAD)
            && matches!(request.uri().path(), LIVENESS | READINESS)
    }

    /// The probe's answer: `/healthz` is 200 while the process serves requests at all;
    /// `/readyz` is 200 while the server and every service are `SERVING`, else 503 (during
    /// shutdown, or while a service is reported `NOT_SERVING`), with every status in the body.
    pub(super) async fn answer(self, path: &str, head: bool) -> Response<Body> {
        let (status, json) = if path == LIVENESS {
            (StatusCode::OK, r#"{"status":"SERVING"}"#.to_owned())
        } else {
            self.readiness().await
        };
        let mut response = Response::new(if head {
            Body::empty()
        } else {
            Body::from(json)
        });
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    async fn readiness(&self) -> (StatusCode, String) {
        let mut ready = true;
        let mut services = serde_json::Map::new();
        for name in self.names.iter() {
            let request = tonic::Request::new(HealthCheckRequest {
                service: (*name).to_owned(),
            });
            // A name whose status was cleared (the end of a shutdown) is not found: not ready.
            let status = match self.health.check(request).await {
                Ok(response) => response.into_inner().status(),
                Err(_) => ServingStatus::Unknown,
            };
            ready &= status == ServingStatus::Serving;
            if !name.is_empty() {
                services.insert((*name).to_owned(), status.as_str_name().into());
            }
        }
        let overall = if ready { "SERVING" } else { "NOT_SERVING" };
        let json = serde_json::json!({ "status": overall, "services": services });
        let status = if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        (status, json.to_string())
    }
}
