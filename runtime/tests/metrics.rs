//! Metrics over real sockets, their exposition read back by the Prometheus project's own
//! OpenMetrics parser (PyPI `prometheus-client`, through `tests/openmetrics.py`); the assertions
//! are on what it parsed.
//!
//! The parser runs in the Python of `RS_SVC_PYTHON`, else `~/.cache/rs-svc/tools/venv/bin/python`
//! (where `.ci/run` installs it). Without it the tests skip, unless `RS_SVC_REQUIRE_PROMETHEUS=1`
//! (set by CI) makes that a failure.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::uri::PathAndQuery;
use rs_svc::__codegen::http::{unary, Rule};
use rs_svc::dial::{connect, Backoff, Channel, Method, MethodKind, Options, Service};
use rs_svc::http::matcher::{MethodFilter, Segment::Literal as L, Template};
use rs_svc::http::Routes;
use rs_svc::metrics::prometheus_client::metrics::counter::Counter;
use rs_svc::metrics::{Metrics, CONTENT_TYPE};
use rs_svc::serve::Server;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::body::Body;
use tonic::{Code, Status};
use tonic_prost::ProstCodec;

// ---- the parser ----

/// The Python that has `prometheus_client`, or `None` to skip.
fn python() -> Option<PathBuf> {
    let path = match std::env::var_os("RS_SVC_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => {
            PathBuf::from(std::env::var_os("HOME")?).join(".cache/rs-svc/tools/venv/bin/python")
        }
    };
    let has_parser = Command::new(&path)
        .args(["-c", "import prometheus_client.openmetrics.parser"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if has_parser {
        return Some(path);
    }
    assert!(
        std::env::var("RS_SVC_REQUIRE_PROMETHEUS").as_deref() != Ok("1"),
        "{} with prometheus_client not found (set RS_SVC_PYTHON); .ci/run installs it",
        path.display()
    );
    eprintln!(
        "skipping: {} with prometheus_client not found (set RS_SVC_PYTHON)",
        path.display()
    );
    None
}

/// What the parser read: families by name.
struct Exposition {
    families: BTreeMap<String, Value>,
}

type Labels = BTreeMap<String, String>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn parse(python: &Path, text: &str) -> Exposition {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openmetrics.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Dropped at once, so the parser sees the end of its input.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the OpenMetrics parser refused the exposition:\n{}\n---\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    Exposition {
        families: parsed
            .into_iter()
            .map(|family| (family["name"].as_str().unwrap().to_owned(), family))
            .collect(),
    }
}

struct Sample {
    name: String,
    labels: Labels,
    value: f64,
}

impl Exposition {
    fn family(&self, name: &str) -> &Value {
        self.families.get(name).unwrap_or_else(|| {
            panic!(
                "no family {name}; the exposition has {:?}",
                self.families.keys()
            )
        })
    }

    /// The family's type and unit.
    fn kind(&self, name: &str) -> (&str, &str) {
        let family = self.family(name);
        (
            family["type"].as_str().unwrap(),
            family["unit"].as_str().unwrap(),
        )
    }

    fn samples(&self, family: &str) -> Vec<Sample> {
        self.family(family)["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| Sample {
                name: s["name"].as_str().unwrap().to_owned(),
                labels: s["labels"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                    .collect(),
                value: s["value"].as_f64().unwrap(),
            })
            .collect()
    }

    /// The value of the sample `name` of `family` with exactly `labels`.
    fn value(&self, family: &str, name: &str, labels: &Labels) -> Option<f64> {
        self.samples(family)
            .into_iter()
            .find(|s| s.name == name && &s.labels == labels)
            .map(|s| s.value)
    }

    /// The label names of the family's samples (`le` of histogram buckets left out).
    fn label_names(&self, family: &str) -> BTreeSet<BTreeSet<String>> {
        self.samples(family)
            .into_iter()
            .map(|s| s.labels.into_keys().filter(|k| k != "le").collect())
            .collect()
    }

    /// Every series of a histogram family: buckets in increasing `le`, cumulative counts that
    /// never decrease, a `+Inf` bucket equal to `_count`, and a `_sum`. Returns the series'
    /// label sets with their counts.
    fn histogram(&self, family: &str) -> BTreeMap<Labels, f64> {
        assert_eq!(self.kind(family).0, "histogram", "{family}");
        let mut buckets: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
        let mut counts = BTreeMap::new();
        let mut sums = BTreeSet::new();
        for sample in self.samples(family) {
            let mut labels = sample.labels.clone();
            if sample.name == format!("{family}_bucket") {
                let le = labels.remove("le").expect("a bucket has le");
                let le: f64 = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap()
                };
                buckets.entry(labels).or_default().push((le, sample.value));
            } else if sample.name == format!("{family}_count") {
                counts.insert(labels, sample.value);
            } else if sample.name == format!("{family}_sum") {
                assert!(sample.value >= 0.0, "{family} sum {}", sample.value);
                sums.insert(labels);
            }
        }
        assert!(!buckets.is_empty(), "{family} has series");
        for (labels, series) in &buckets {
            assert!(
                series
                    .windows(2)
                    .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
                "{family}{labels:?}: buckets in order and cumulative: {series:?}"
            );
            let (last_le, last) = *series.last().unwrap();
            assert_eq!(last_le, f64::INFINITY, "{family}{labels:?} ends with +Inf");
            assert_eq!(
                Some(&last),
                counts.get(labels),
                "{family}{labels:?}: +Inf is _count"
            );
            assert!(sums.contains(labels), "{family}{labels:?} has _sum");
        }
        counts
    }
}

// ---- a small gRPC service, written the way generated servers are ----

const GET: &str = "/test.v1.Echo/Get";

const ECHO: Service = Service {
    name: "test.v1.Echo",
    default_host: None,
    address_env: "TEST_ECHO_ADDR",
    default_port: 9090,
    methods: &[Method {
        path: GET,
        kind: MethodKind::Unary,
        idempotent: true,
    }],
};

/// Answers `Get` by its request: `missing` is NOT_FOUND, `down` UNAVAILABLE, `flaky`
/// UNAVAILABLE twice and then fine, anything else is echoed.
#[derive(Clone, Default)]
struct Echo {
    flaky: Arc<AtomicU32>,
    down: Arc<AtomicU32>,
}

impl Echo {
    fn answer(&self, request: String) -> Result<tonic::Response<String>, Status> {
        match request.as_str() {
            "missing" => Err(Status::not_found("no such thing")),
            "down" => {
                self.down.fetch_add(1, Ordering::SeqCst);
                Err(Status::unavailable("down"))
            }
            "flaky" if self.flaky.fetch_add(1, Ordering::SeqCst) < 2 => {
                Err(Status::unavailable("flaky"))
            }
            _ => Ok(tonic::Response::new(request)),
        }
    }
}

impl tonic::server::NamedService for Echo {
    const NAME: &'static str = "test.v1.Echo";
}

impl tower::Service<http::Request<Body>> for Echo {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let echo = self.clone();
        Box::pin(async move {
            if request.uri().path() != GET {
                return Ok(Status::unimplemented("no such method").into_http());
            }
            let handler = tower::service_fn(move |request: tonic::Request<String>| {
                let answer = echo.answer(request.into_inner());
                async move { answer }
            });
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<String, String>::default());
            Ok(grpc.unary(handler, request).await)
        })
    }
}

/// Serves `echo` on 127.0.0.1; its address.
async fn start(echo: Echo) -> std::net::SocketAddr {
    let server = Server::builder()
        .grpc(echo)
        .grpc_addr(([127, 0, 0, 1], 0))
        .build()
        .unwrap()
        .bind()
        .await
        .unwrap();
    let addr = server.grpc_addr();
    tokio::spawn(server.serve_with_shutdown(std::future::pending()));
    addr
}

async fn get(channel: &Channel, path: &'static str, request: &str) -> Result<String, Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|e| Status::unknown(e.to_string()))?;
    grpc.unary(
        tonic::Request::new(request.to_owned()),
        PathAndQuery::from_static(path),
        ProstCodec::<String, String>::default(),
    )
    .await
    .map(tonic::Response::into_inner)
}

fn attempts(max_attempts: u32) -> Backoff {
    Backoff {
        max_attempts,
        initial: Duration::from_millis(1),
        max: Duration::from_millis(5),
        multiplier: 2.0,
    }
}

// ---- the tests ----

#[tokio::test]
async fn dialed_client_records_codes_retries_and_the_circuit_state() {
    let Some(python) = python() else { return };
    let echo = Echo::default();
    let target = format!("http://{}", start(echo.clone()).await);
    let metrics = Metrics::new();

    let channel = connect(
        &ECHO,
        Options::new()
            .target(&target)
            .backoff(attempts(4))
            .metrics(metrics.clone()),
    )
    .await
    .unwrap();
    assert_eq!(get(&channel, GET, "hello").await.unwrap(), "hello");
    let missing = get(&channel, GET, "missing").await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(get(&channel, GET, "flaky").await.unwrap(), "flaky");
    assert_eq!(echo.flaky.load(Ordering::SeqCst), 3, "two retries");
    let unknown = get(&channel, "/test.v1.Echo/Nope", "hello").await;
    assert_eq!(unknown.unwrap_err().code(), Code::Unimplemented);

    // A second channel to the same service, with a circuit breaker that opens after two
    // failures: the third call fails fast without reaching the server.
    let breaker = connect(
        &ECHO,
        Options::new()
            .target(&target)
            .backoff(attempts(1))
            .circuit_breaker(2, Duration::from_secs(60))
            .metrics(metrics.clone()),
    )
    .await
    .unwrap();
    for _ in 0..3 {
        let down = get(&breaker, GET, "down").await.unwrap_err();
        assert_eq!(down.code(), Code::Unavailable);
    }
    assert_eq!(echo.down.load(Ordering::SeqCst), 2, "the circuit opened");

    let parsed = parse(&python, &metrics.encode());
    assert_eq!(
        parsed.kind("rpc_client_call_duration_seconds"),
        ("histogram", "seconds")
    );
    assert_eq!(parsed.kind("rpc_client_calls"), ("counter", ""));
    assert_eq!(parsed.kind("rpc_client_retries"), ("counter", ""));
    assert_eq!(parsed.kind("rpc_client_circuit_state"), ("gauge", ""));

    let call_labels: BTreeSet<BTreeSet<String>> =
        BTreeSet::from([["rpc_method", "rpc_grpc_status_code", "transport"]
            .map(String::from)
            .into()]);
    assert_eq!(parsed.label_names("rpc_client_calls"), call_labels);
    assert_eq!(
        parsed.label_names("rpc_client_call_duration_seconds"),
        call_labels
    );

    let series = |method: &str, code: &str| {
        labels(&[
            ("rpc_method", method),
            ("rpc_grpc_status_code", code),
            ("transport", "grpc"),
        ])
    };
    let expected = [
        (series("test.v1.Echo/Get", "OK"), 2.0),
        (series("test.v1.Echo/Get", "NOT_FOUND"), 1.0),
        // Two answered by the server, one by the open circuit.
        (series("test.v1.Echo/Get", "UNAVAILABLE"), 3.0),
        // A method the service does not have cannot grow the label set.
        (series("_OTHER", "UNIMPLEMENTED"), 1.0),
    ];
    let calls: BTreeMap<Labels, f64> = parsed
        .samples("rpc_client_calls")
        .into_iter()
        .filter(|s| s.name == "rpc_client_calls_total")
        .map(|s| (s.labels, s.value))
        .collect();
    assert_eq!(calls, BTreeMap::from(expected.clone()));
    // The histogram holds one observation per call, in the same series.
    let durations = parsed.histogram("rpc_client_call_duration_seconds");
    assert_eq!(durations, BTreeMap::from(expected));

    assert_eq!(
        parsed.value(
            "rpc_client_retries",
            "rpc_client_retries_total",
            &labels(&[("rpc_method", "test.v1.Echo/Get")])
        ),
        Some(2.0)
    );
    let circuit = |state| {
        parsed.value(
            "rpc_client_circuit_state",
            "rpc_client_circuit_state",
            &labels(&[("rpc_service", "test.v1.Echo"), ("state", state)]),
        )
    };
    assert_eq!(
        (circuit("closed"), circuit("open"), circuit("half_open")),
        (Some(0.0), Some(1.0), Some(0.0))
    );
    // Nothing was served here, so no server series.
    assert!(!parsed.families.contains_key("rpc_server_calls"));
}

/// `method path` over HTTP/1.1 on a fresh connection, with a JSON body if any: the status,
/// content type and body of the answer.
async fn http_call(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    json: Option<&str>,
) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(json) = json {
        request += &format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
            json.len()
        );
    } else {
        request += "\r\n";
    }
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let content_type = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

#[tokio::test]
async fn metrics_route_serves_openmetrics_with_the_users_own_metrics() {
    let Some(python) = python() else { return };
    let metrics = Metrics::new();
    let jobs: Counter = Counter::default();
    metrics
        .registry()
        .register("jobs", "Background jobs run", jobs.clone());
    jobs.inc_by(3);

    let server = Server::builder()
        .http(metrics.router())
        .grpc_addr(([127, 0, 0, 1], 0))
        .http_addr(([127, 0, 0, 1], 0))
        .build()
        .unwrap()
        .bind()
        .await
        .unwrap();
    let addr = server.http_addr().unwrap();
    tokio::spawn(server.serve_with_shutdown(std::future::pending()));

    let (status, content_type, body) = http_call(addr, "GET", "/metrics", None).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, CONTENT_TYPE);
    let parsed = parse(&python, &body);
    assert_eq!(parsed.kind("jobs"), ("counter", ""));
    assert_eq!(
        parsed.value("jobs", "jobs_total", &Labels::new()),
        Some(3.0)
    );
}

/// `POST /v1/echo` with the request as its JSON body: `Get` over HTTP/JSON.
const ECHO_PATH: Template = Template::new(&[L("v1"), L("echo")], &[]);
const ECHO_RULE: Rule = Rule::new().body_all();

#[tokio::test]
async fn server_counts_one_method_over_grpc_and_http_json_alike() {
    let Some(python) = python() else { return };
    let echo = Echo::default();
    let metrics = Metrics::new();
    let routes = Routes::new(rs_svc::http::Options::default())
        .route(
            MethodFilter::POST,
            &ECHO_PATH,
            "test.v1.Echo/Get",
            unary(
                &Arc::new(echo.clone()),
                &ECHO_RULE,
                |echo, request| async move { echo.answer(request.into_inner()) },
            ),
        )
        .into_router();
    let server = Server::builder()
        .grpc(echo)
        .http(routes)
        .metrics(metrics.clone())
        .grpc_addr(([127, 0, 0, 1], 0))
        .http_addr(([127, 0, 0, 1], 0))
        .build()
        .unwrap()
        .bind()
        .await
        .unwrap();
    let (grpc, http) = (server.grpc_addr(), server.http_addr().unwrap());
    tokio::spawn(server.serve_with_shutdown(std::future::pending()));

    let channel = connect(&ECHO, Options::new().target(format!("http://{grpc}")))
        .await
        .unwrap();
    assert_eq!(get(&channel, GET, "hello").await.unwrap(), "hello");
    let missing = get(&channel, GET, "missing").await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    // A service the server does not serve: its name is the client's choice.
    let unknown = get(&channel, "/test.v1.Nope/Get", "hello")
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::Unimplemented);
    let (status, _, body) = http_call(http, "POST", "/v1/echo", Some("\"hello\"")).await;
    assert_eq!((status, body.as_str()), (200, "\"hello\""));
    let (status, _, _) = http_call(http, "POST", "/v1/echo", Some("\"missing\"")).await;
    assert_eq!(status, 404);

    let (status, content_type, text) = http_call(http, "GET", "/metrics", None).await;
    assert_eq!((status, content_type.as_str()), (200, CONTENT_TYPE));
    let parsed = parse(&python, &text);
    assert_eq!(
        parsed.kind("rpc_server_call_duration_seconds"),
        ("histogram", "seconds")
    );
    assert_eq!(parsed.kind("rpc_server_calls"), ("counter", ""));
    assert_eq!(parsed.kind("rpc_server_calls_in_flight"), ("gauge", ""));

    let series = |method: &str, code: &str, transport: &str| {
        labels(&[
            ("rpc_method", method),
            ("rpc_grpc_status_code", code),
            ("transport", transport),
        ])
    };
    let expected = BTreeMap::from([
        (series("test.v1.Echo/Get", "OK", "grpc"), 1.0),
        (series("test.v1.Echo/Get", "NOT_FOUND", "grpc"), 1.0),
        (series("test.v1.Echo/Get", "OK", "http"), 1.0),
        (series("test.v1.Echo/Get", "NOT_FOUND", "http"), 1.0),
        (series("_OTHER", "UNIMPLEMENTED", "grpc"), 1.0),
    ]);
    let calls: BTreeMap<Labels, f64> = parsed
        .samples("rpc_server_calls")
        .into_iter()
        .filter(|s| s.name == "rpc_server_calls_total")
        .map(|s| (s.labels, s.value))
        .collect();
    assert_eq!(calls, expected);
    assert_eq!(
        parsed.histogram("rpc_server_call_duration_seconds"),
        expected
    );

    // Every call has ended, so nothing is in flight, on either transport.
    let in_flight: BTreeMap<Labels, f64> = parsed
        .samples("rpc_server_calls_in_flight")
        .into_iter()
        .map(|s| (s.labels, s.value))
        .collect();
    let idle = |method: &str, transport: &str| {
        (
            labels(&[("rpc_method", method), ("transport", transport)]),
            0.0,
        )
    };
    assert_eq!(
        in_flight,
        BTreeMap::from([
            idle("test.v1.Echo/Get", "grpc"),
            idle("test.v1.Echo/Get", "http"),
            idle("_OTHER", "grpc"),
        ])
    );
    // The scrape itself is the user's own route, not a call.
    assert!(!parsed.families.contains_key("rpc_client_calls"));
}
