//! The server's limits (`rs_svc::serve::Limits`, docs/reference.md section 11) tripped over real
//! sockets on 127.0.0.1: calls beyond the server's limit shed at once on both transports,
//! HTTP/2 streams beyond the connection's limit held back, messages and headers over their
//! limits refused, silent, half-sent and idle connections closed while others are served,
//! TCP keepalive on accepted sockets, HTTP/2 pings a client does not answer, and a default
//! deadline for calls that carry none. Clients: the generated one (tonic), curl, grpcurl, the
//! h2 crate, and raw TCP for what no well-behaved client would send.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{curl_path, grpcurl_path, run, Ran, Served};
use rs_svc::serve::{Limits, Server};
use rs_svc_compile_test::alt::acme::shop::v1 as shop;
use shop::order_service_client::OrderServiceClient;
use shop::order_service_server::{OrderService, OrderServiceServer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};

/// `GetOrder` of `orders/sleep-<ms>` sleeps first; of `orders/big-<n>` answers with an `n`-byte
/// customer; `coupon` is the `grpc-timeout` the handler saw. It counts the calls running at
/// once.
#[derive(Clone, Default)]
struct Shop {
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl OrderService for Shop {
    async fn get_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let timeout = request
            .metadata()
            .get("grpc-timeout")
            .map(|v| v.to_str().unwrap().to_owned());
        let name = request.into_inner().name;
        if let Some(ms) = name.strip_prefix("orders/sleep-") {
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
        }
        let customer = match name.strip_prefix("orders/big-") {
            Some(n) => "x".repeat(n.parse().unwrap()),
            None => String::new(),
        };
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(Response::new(shop::Order {
            name,
            customer,
            coupon: timeout,
            ..Default::default()
        }))
    }

    async fn create_order(
        &self,
        request: Request<shop::CreateOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        Ok(Response::new(
            request.into_inner().order.unwrap_or_default(),
        ))
    }
}

async fn start(limits: Limits) -> (Served, Shop) {
    let shop = Shop::default();
    let builder = Server::builder()
        .grpc(OrderServiceServer::new(shop.clone()))
        .http(shop::order_service_http::router(Arc::new(shop.clone())))
        .file_descriptor_set(rs_svc_compile_test::DESCRIPTOR_SET)
        .limits(limits);
    (common::serve(builder).await, shop)
}

async fn client(addr: SocketAddr) -> OrderServiceClient<Channel> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    OrderServiceClient::new(channel)
}

async fn get(client: &mut OrderServiceClient<Channel>, name: &str) -> Result<shop::Order, Status> {
    let request = shop::GetOrderRequest { name: name.into() };
    Ok(client.get_order(request).await?.into_inner())
}

/// curl with `args`; stdout ends with a line holding the HTTP status.
async fn curl(args: &[&str]) -> Option<Ran> {
    let curl = curl_path()?;
    let mut all: Vec<String> = ["-sS", "--max-time", "10", "-w", "\n%{http_code}"]
        .map(String::from)
        .into();
    all.extend(args.iter().map(|a| a.to_string()));
    Some(run(&curl, all).await)
}

/// The HTTP status and body of a curl run.
fn status_and_body(ran: &Ran) -> (u16, String) {
    let (body, status) = ran.stdout.trim_end().rsplit_once('\n').unwrap();
    (status.parse().unwrap(), body.to_owned())
}

/// Reads until the server closes the connection (or 10 s pass, which fails the test); returns
/// what it read.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut read = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => read.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept the connection open");
    read
}

#[tokio::test]
async fn calls_beyond_the_limit_are_shed_at_once_on_both_transports_and_probes_still_answer() {
    let (served, _) = start(Limits::new().max_concurrent_calls(Some(2))).await;
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut client = client(served.grpc).await;
        slow.push(tokio::spawn(async move {
            get(&mut client, "orders/sleep-1500").await
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let refused = get(&mut client(served.grpc).await, "orders/1")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(refused.metadata().get("retry-after").unwrap(), "1");
    // Shed, not queued: the slow calls still hold both places.
    assert!(slow.iter().all(|call| !call.is_finished()));

    if let Some(ran) = curl(&["-i", &format!("http://{}/v1/orders/1", served.http)]).await {
        let (status, response) = status_and_body(&ran);
        assert_eq!(status, 429, "{response}");
        assert!(
            response.to_ascii_lowercase().contains("retry-after: 1"),
            "{response}"
        );
        let json = response.rsplit_once("\r\n\r\n").unwrap().1;
        let body: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(body["code"], 8, "{body}");
        let ready = curl(&[&format!("http://{}/readyz", served.http)])
            .await
            .unwrap();
        assert_eq!(status_and_body(&ready).0, 200, "probes are never shed");
    }
    assert!(slow.iter().all(|call| !call.is_finished()));

    for call in slow {
        call.await.unwrap().unwrap();
    }
    // The places are given back when the calls end.
    get(&mut client(served.grpc).await, "orders/1")
        .await
        .unwrap();
}

#[tokio::test]
async fn an_http2_connection_runs_no_more_streams_at_once_than_the_limit() {
    let (served, shop) = start(Limits::new().max_concurrent_streams(2)).await;
    // One connection: tonic's channel holds back streams beyond the server's SETTINGS, once it
    // has them (streams opened before they arrive may be refused), so one call goes first.
    let mut client = client(served.grpc).await;
    get(&mut client, "orders/1").await.unwrap();
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let mut client = client.clone();
            tokio::spawn(async move { get(&mut client, "orders/sleep-200").await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(shop.peak.load(Ordering::SeqCst), 2);

    // What the server announces, read by the h2 crate.
    let tcp = TcpStream::connect(served.grpc).await.unwrap();
    let (_send, connection) = h2::client::handshake(tcp).await.unwrap();
    let mut connection = Box::pin(connection);
    // The server's SETTINGS arrive with its first frames.
    let _ = tokio::time::timeout(Duration::from_millis(200), connection.as_mut()).await;
    assert_eq!(connection.max_concurrent_send_streams(), 2);
}

#[tokio::test]
async fn messages_over_the_receive_and_send_limits_are_resource_exhausted_and_413() {
    let limits = Limits::new()
        .max_receive_message_bytes(1024)
        .max_send_message_bytes(Some(1024));
    let (served, _) = start(limits).await;
    let mut client = client(served.grpc).await;
    let order = |customer: &str| shop::CreateOrderRequest {
        order: Some(shop::Order {
            customer: customer.into(),
            ..Default::default()
        }),
        ..Default::default()
    };

    client.create_order(order(&"x".repeat(900))).await.unwrap();
    let refused = client
        .create_order(order(&"x".repeat(2000)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused
        .message()
        .contains("over the server's limit of 1024 bytes"));

    get(&mut client, "orders/big-900").await.unwrap();
    let cut = get(&mut client, "orders/big-2000").await.unwrap_err();
    assert_eq!(cut.code(), Code::ResourceExhausted, "{cut:?}");
    assert!(cut.message().contains("response message"), "{cut:?}");

    if let Some(grpcurl) = grpcurl_path() {
        let body = serde_json::json!({"order": {"customer": "x".repeat(2000)}}).to_string();
        let args = [
            "-plaintext",
            "-d",
            &body,
            &served.grpc.to_string(),
            "acme.shop.v1.OrderService/CreateOrder",
        ];
        let ran = run(&grpcurl, args.map(String::from).into()).await;
        assert!(!ran.ok);
        assert!(ran.stderr.contains("ResourceExhausted"), "{}", ran.stderr);
    }

    let url = format!("http://{}/v1/orders", served.http);
    let small = serde_json::json!({"customer": "x".repeat(900)}).to_string();
    let large = serde_json::json!({"customer": "x".repeat(2000)}).to_string();
    let json = ["-H", "content-type: application/json", "-d"];
    if let Some(ran) = curl(&[&json[..], &[small.as_str(), url.as_str()]].concat()).await {
        assert_eq!(status_and_body(&ran).0, 200, "{}", ran.stdout);
        let ran = curl(&[&json[..], &[large.as_str(), url.as_str()]].concat())
            .await
            .unwrap();
        let (status, body) = status_and_body(&ran);
        assert_eq!(status, 413, "{body}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["code"], 8, "{body}");
    }
}

#[tokio::test]
async fn headers_over_the_size_or_count_limit_are_431_over_http1_and_http2() {
    let (served, _) = start(Limits::new().max_header_bytes(4096).max_headers(20)).await;
    let url = format!("http://{}/v1/orders/1", served.http);
    let big = format!("x-big: {}", "y".repeat(5000));
    let many: Vec<String> = (0..25).map(|i| format!("x-h{i}: v")).collect();
    for version in ["--http1.1", "--http2-prior-knowledge"] {
        let Some(ran) = curl(&[version, &url]).await else {
            return;
        };
        assert_eq!(status_and_body(&ran).0, 200, "{version}: {}", ran.stdout);
        let ran = curl(&[version, "-H", &big, &url]).await.unwrap();
        assert_eq!(
            status_and_body(&ran).0,
            431,
            "{version} big: {}",
            ran.stdout
        );
        let mut args = vec![version];
        for header in &many {
            args.extend(["-H", header.as_str()]);
        }
        args.push(&url);
        let ran = curl(&args).await.unwrap();
        assert_eq!(
            status_and_body(&ran).0,
            431,
            "{version} many: {}",
            ran.stdout
        );
    }

    let mut client = client(served.grpc).await;
    let mut big = Request::new(shop::GetOrderRequest::default());
    let value = "y".repeat(5000).parse().unwrap();
    big.metadata_mut().insert("x-big", value);
    let refused = client.get_order(big).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    let mut many = Request::new(shop::GetOrderRequest::default());
    for i in 0..25 {
        let name: tonic::metadata::MetadataKey<_> = format!("x-h{i}").parse().unwrap();
        many.metadata_mut().insert(name, "v".parse().unwrap());
    }
    let refused = client.get_order(many).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    // The connection serves on.
    get(&mut client, "orders/1").await.unwrap();
}

#[tokio::test]
async fn silent_and_half_sent_connections_are_closed_after_the_header_read_timeout() {
    let limits = Limits::new().header_read_timeout(Duration::from_millis(500));
    let (served, _) = start(limits).await;
    let mut silent = TcpStream::connect(served.http).await.unwrap();
    let mut half_http1 = TcpStream::connect(served.http).await.unwrap();
    half_http1
        .write_all(b"GET /v1/orders/1 HTTP/1.1\r\nHost: x\r\nx-partial: ")
        .await
        .unwrap();
    let mut half_preface = TcpStream::connect(served.grpc).await.unwrap();
    half_preface.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();

    // Others are served meanwhile.
    get(&mut client(served.grpc).await, "orders/1")
        .await
        .unwrap();

    read_until_closed(&mut silent).await;
    read_until_closed(&mut half_http1).await;
    read_until_closed(&mut half_preface).await;
}

#[tokio::test]
async fn a_connection_with_no_call_open_is_closed_after_the_idle_timeout_not_before() {
    let limits = Limits::new()
        .idle_timeout(Some(Duration::from_millis(300)))
        .header_read_timeout(Duration::from_millis(100));
    let (served, _) = start(limits).await;
    let tcp = TcpStream::connect(served.grpc).await.unwrap();
    let (send, connection) = h2::client::handshake(tcp).await.unwrap();
    let connection = tokio::spawn(connection);
    // A call longer than the idle timeout keeps the connection open.
    let order = get_h2(&send, "orders/sleep-800").await;
    assert_eq!(order.name, "orders/sleep-800");
    assert!(!connection.is_finished());
    // Then, idle, it is sent GOAWAY and closed.
    tokio::time::timeout(Duration::from_secs(10), connection)
        .await
        .expect("the idle connection was not closed")
        .unwrap()
        .unwrap();
}

/// `GetOrder` over an h2 connection made by hand (so the test sees the connection end),
/// framing the message by hand.
async fn get_h2(client: &h2::client::SendRequest<bytes::Bytes>, name: &str) -> shop::Order {
    use prost::Message as _;
    let message = shop::GetOrderRequest { name: name.into() }.encode_to_vec();
    let mut framed = vec![0];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(&message);
    let request = http::Request::post("http://127.0.0.1/acme.shop.v1.OrderService/GetOrder")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let mut send = client.clone().ready().await.unwrap();
    let (response, mut body) = send.send_request(request, false).unwrap();
    body.send_data(framed.into(), true).unwrap();
    let mut response = response.await.unwrap().into_body();
    let mut data = Vec::new();
    while let Some(chunk) = response.data().await {
        let chunk = chunk.unwrap();
        let _ = response.flow_control().release_capacity(chunk.len());
        data.extend_from_slice(&chunk);
    }
    let trailers = response.trailers().await.unwrap().unwrap();
    assert_eq!(trailers["grpc-status"], "0", "{trailers:?}");
    shop::Order::decode(&data[5..]).unwrap()
}

#[tokio::test]
async fn accepted_connections_have_tcp_keepalive_as_ss_reports() {
    let limits = Limits::new().tcp_keepalive(Some(Duration::from_secs(45)));
    let (served, _) = start(limits).await;
    let _client = TcpStream::connect(served.grpc).await.unwrap();
    let Some(ss) = common::tool("RS_SVC_SS", "ss".into()) else {
        return;
    };
    // Give the server a moment to accept and set the option.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let filter = format!("sport = :{}", served.grpc.port());
    let args = ["-tno", "state", "established", &filter];
    let ran = run(&ss, args.map(String::from).into()).await;
    assert!(ran.ok, "{}", ran.stderr);
    // `timer:(keepalive,44sec,0)`: the server's socket counts down from the configured time.
    let timer = ran
        .stdout
        .split("timer:(")
        .nth(1)
        .unwrap_or_else(|| panic!("no timer on the server's socket: {}", ran.stdout));
    assert!(timer.starts_with("keepalive,4"), "{}", ran.stdout);
}

#[tokio::test]
async fn an_http2_client_that_does_not_answer_pings_is_disconnected() {
    let limits = Limits::new()
        .http2_keepalive_interval(Some(Duration::from_millis(200)))
        .http2_keepalive_timeout(Duration::from_millis(300))
        .idle_timeout(None);
    let (served, _) = start(limits).await;
    let mut raw = TcpStream::connect(served.grpc).await.unwrap();
    // The preface and an empty SETTINGS frame; then silence: no SETTINGS ack, no PING ack.
    raw.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    raw.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap();
    let read = read_until_closed(&mut raw).await;
    assert!(
        frame_types(&read).contains(&6),
        "no PING was sent: {read:?}"
    );

    // A client that answers (tonic's) is kept.
    let (served, _) = start(
        Limits::new()
            .http2_keepalive_interval(Some(Duration::from_millis(100)))
            .http2_keepalive_timeout(Duration::from_millis(300)),
    )
    .await;
    let mut client = client(served.grpc).await;
    get(&mut client, "orders/sleep-1000").await.unwrap();
}

/// The types of the HTTP/2 frames in `bytes` (the server's side of a connection).
fn frame_types(mut bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    while bytes.len() >= 9 {
        let length =
            usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2]);
        types.push(bytes[3]);
        bytes = &bytes[(9 + length).min(bytes.len())..];
    }
    types
}

#[tokio::test]
async fn a_call_without_a_deadline_gets_the_default_one_on_both_transports() {
    let limits = Limits::new().default_deadline(Some(Duration::from_millis(300)));
    let (served, _) = start(limits).await;
    let mut client = client(served.grpc).await;

    let late = get(&mut client, "orders/sleep-2000").await.unwrap_err();
    assert_eq!(late.code(), Code::DeadlineExceeded, "{late:?}");
    let seen = get(&mut client, "orders/1").await.unwrap();
    assert_eq!(
        seen.coupon.as_deref(),
        Some("300000u"),
        "the handler sees the deadline"
    );
    // A deadline the client sets is kept.
    let mut request = Request::new(shop::GetOrderRequest {
        name: "orders/sleep-500".into(),
    });
    request.set_timeout(Duration::from_secs(5));
    client.get_order(request).await.unwrap();

    let url = format!("http://{}/v1/orders/sleep-2000", served.http);
    if let Some(ran) = curl(&[&url]).await {
        let (status, body) = status_and_body(&ran);
        assert_eq!(status, 504, "{body}");
        let ran = curl(&[
            "-H",
            "grpc-timeout: 5S",
            &format!("http://{}/v1/orders/sleep-500", served.http),
        ])
        .await
        .unwrap();
        assert_eq!(status_and_body(&ran).0, 200, "{}", ran.stdout);
    }
}
