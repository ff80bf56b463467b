//! Compression over real sockets on 127.0.0.1 (docs/reference.md section 12): HTTP/JSON answers
//! compressed by `Accept-Encoding` above the threshold on the HTTP port and the single port,
//! streams decodable message by message (read with a decompressing client and with curl
//! `--compressed -N`), request bodies decompressed under the body limit with their errors as
//! `google.rpc.Status`, and gRPC gzip and zstd both ways through the generated client, the
//! server's layer stack and Python grpcio.
//!
//! curl comes from `RS_SVC_CURL`, else `PATH`; Python with grpcio from `RS_SVC_PYTHON`, else the
//! virtualenv `.ci/run` installs into. A missing tool skips the part that needs it, unless
//! `RS_SVC_REQUIRE_FOREIGN=1` (set by CI) makes that a failure.

mod common;

use std::io::{BufRead as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use reqwest::StatusCode;
use rs_svc::serve::{Builder, CallInfo, Compression, Next, Server};
use rs_svc_compile_test::canonical::acme::shop::v1 as shop;
use serde_json::Value;
use shop::order_service_client::OrderServiceClient;
use shop::order_service_server::{OrderService, OrderServiceServer};
use tokio::sync::Semaphore;
use tokio_stream::StreamExt as _;
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

/// Lines of 60 bytes: "orders/big" answers about 3 KiB of JSON, "orders/small" well under 1 KiB.
fn customer(name: &str) -> String {
    match name {
        "orders/big" => "a customer with a long and repetitive name, compressible; ".repeat(50),
        _ => "someone".to_owned(),
    }
}

/// `WatchOrder` sends one event, then waits for the test to open its gate before the second:
/// the first event is on the wire, and must be decodable, while the second does not exist yet.
#[derive(Clone)]
struct Shop {
    gate: Arc<Semaphore>,
}

#[tonic::async_trait]
impl OrderService for Shop {
    async fn get_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let name = request.into_inner().name;
        Ok(Response::new(shop::Order {
            customer: customer(&name),
            name,
            ..Default::default()
        }))
    }

    async fn create_order(
        &self,
        request: Request<shop::CreateOrderRequest>,
    ) -> Result<Response<shop::Order>, Status> {
        let request = request.into_inner();
        let mut created = request.order.unwrap_or_default();
        created.name = format!("orders/{}", request.order_id);
        Ok(Response::new(created))
    }

    async fn import_orders(
        &self,
        request: Request<tonic::Streaming<shop::Order>>,
    ) -> Result<Response<shop::ImportOrdersResponse>, Status> {
        let mut orders = request.into_inner();
        let mut imported = 0;
        while let Some(order) = orders.message().await? {
            imported += i32::from(order.customer == "decompressed");
        }
        Ok(Response::new(shop::ImportOrdersResponse {
            imported,
            failed: Vec::new(),
        }))
    }

    async fn watch_order(
        &self,
        request: Request<shop::GetOrderRequest>,
    ) -> Result<Response<tonic::codegen::BoxStream<shop::OrderEvent>>, Status> {
        let name = request.into_inner().name;
        let (send, events) = tokio::sync::mpsc::unbounded_channel();
        let gate = self.gate.clone();
        let event = move |state| {
            Ok(shop::OrderEvent {
                name: name.clone(),
                state,
                time: None,
            })
        };
        tokio::spawn(async move {
            let _ = send.send(event(1));
            gate.acquire().await.unwrap().forget();
            let _ = send.send(event(2));
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::UnboundedReceiverStream::new(events),
        )))
    }
}

/// The user's own route on the HTTP port: 4 KiB of text.
fn own_routes() -> axum::Router {
    axum::Router::new().route(
        "/own",
        axum::routing::get(|| async { "my own route's text. ".repeat(200) }),
    )
}

/// What the server's stack saw of each gRPC call: the request's `grpc-encoding`, and the
/// response's `grpc-encoding` and `grpc-accept-encoding`.
type Seen = Arc<Mutex<Vec<[String; 3]>>>;

/// The shop with gzip and zstd both ways on gRPC, its HTTP routes and [`own_routes`], and a
/// layer recording gRPC encodings into `seen`.
fn shop_server(shop: &Shop, seen: &Seen) -> Builder {
    let grpc = OrderServiceServer::new(shop.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd)
        .send_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Zstd);
    let seen = seen.clone();
    let record = tower::layer::layer_fn(move |next: Next| {
        let seen = seen.clone();
        tower::service_fn(move |request: http::Request<axum::body::Body>| {
            let grpc = request
                .extensions()
                .get::<CallInfo>()
                .is_some_and(|call| call.transport() == rs_svc::serve::Transport::Grpc);
            let sent = header(request.headers(), "grpc-encoding");
            let (next, seen) = (next.clone(), seen.clone());
            async move {
                let response = tower::ServiceExt::oneshot(next, request).await?;
                if grpc {
                    let headers = response.headers();
                    seen.lock().unwrap().push([
                        sent,
                        header(headers, "grpc-encoding"),
                        header(headers, "grpc-accept-encoding"),
                    ]);
                }
                Ok::<_, std::convert::Infallible>(response)
            }
        })
    });
    Server::builder()
        .grpc(grpc)
        .http(shop::order_service_http::router(Arc::new(shop.clone())))
        .http(own_routes())
        .layer(record)
        .metrics(rs_svc::metrics::Metrics::new())
}

fn header(headers: &http::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

struct Served {
    grpc: SocketAddr,
    http: SocketAddr,
    shop: Shop,
    seen: Seen,
}

/// Serves [`shop_server`], changed by `configure`, on two loopback ports (or one, if
/// `configure` asks for it).
async fn serve(configure: impl FnOnce(Builder) -> Builder) -> Served {
    let shop = Shop {
        gate: Arc::new(Semaphore::new(0)),
    };
    let seen = Seen::default();
    let builder = shop_server(&shop, &seen)
        .grpc_addr(([127, 0, 0, 1], 0))
        .http_addr(([127, 0, 0, 1], 0));
    let listening = configure(builder).build().unwrap().bind().await.unwrap();
    let served = Served {
        grpc: listening.grpc_addr(),
        http: listening.http_addr().unwrap(),
        shop,
        seen,
    };
    tokio::spawn(listening.serve_with_shutdown(std::future::pending()));
    served
}

fn one_port(builder: Builder) -> Builder {
    builder.single_port(([127, 0, 0, 1], 0))
}

// ---------------------------------------------------------------------------------------------
// Decoding on the client's side

/// A decoder fed the body as it arrives, holding everything decoded so far.
enum Decoder {
    Gzip(flate2::write::GzDecoder<Vec<u8>>),
    Deflate(flate2::write::ZlibDecoder<Vec<u8>>),
    Brotli(Box<brotli::DecompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Decoder<'static, Vec<u8>>),
}

impl Decoder {
    fn new(encoding: &str) -> Decoder {
        match encoding {
            "gzip" => Decoder::Gzip(flate2::write::GzDecoder::new(Vec::new())),
            "deflate" => Decoder::Deflate(flate2::write::ZlibDecoder::new(Vec::new())),
            "br" => Decoder::Brotli(Box::new(brotli::DecompressorWriter::new(Vec::new(), 4096))),
            "zstd" => Decoder::Zstd(zstd::stream::write::Decoder::new(Vec::new()).unwrap()),
            other => panic!("no decoder for {other:?}"),
        }
    }

    /// Decodes `chunk`; returns all the text decoded so far.
    fn feed(&mut self, chunk: &[u8]) -> String {
        let out = match self {
            Decoder::Gzip(w) => {
                w.write_all(chunk).unwrap();
                w.flush().unwrap();
                w.get_ref()
            }
            Decoder::Deflate(w) => {
                w.write_all(chunk).unwrap();
                w.flush().unwrap();
                w.get_ref()
            }
            Decoder::Brotli(w) => {
                w.write_all(chunk).unwrap();
                w.flush().unwrap();
                w.get_ref()
            }
            Decoder::Zstd(w) => {
                w.write_all(chunk).unwrap();
                w.flush().unwrap();
                w.get_ref()
            }
        };
        String::from_utf8(out.clone()).unwrap()
    }
}

impl Decoder {
    /// Checks that the compressed stream ended as it should (gzip's length and checksum).
    fn finish(self) {
        match self {
            Decoder::Gzip(w) => drop(w.finish().unwrap()),
            Decoder::Deflate(w) => drop(w.finish().unwrap()),
            Decoder::Brotli(w) => drop(w.into_inner().unwrap()),
            Decoder::Zstd(mut w) => w.flush().unwrap(),
        }
    }
}

/// Compresses `data` whole, as a client would send it.
fn encode(encoding: &str, data: &[u8]) -> Vec<u8> {
    match encoding {
        "gzip" => {
            let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            w.write_all(data).unwrap();
            w.finish().unwrap()
        }
        "deflate" => {
            let mut w = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            w.write_all(data).unwrap();
            w.finish().unwrap()
        }
        "br" => {
            let mut w = brotli::CompressorWriter::new(Vec::new(), 4096, 4, 22);
            w.write_all(data).unwrap();
            w.into_inner()
        }
        "zstd" => zstd::encode_all(data, 3).unwrap(),
        other => panic!("no encoder for {other:?}"),
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// GETs `url` with `Accept-Encoding: accept` (none when empty); returns the response's
/// `Content-Encoding`, `Vary`, and the decoded body.
async fn get(url: &str, accept: &str) -> (String, String, String) {
    let mut request = client().get(url);
    if !accept.is_empty() {
        request = request.header(ACCEPT_ENCODING, accept);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    let encoding = header(response.headers(), CONTENT_ENCODING.as_str());
    let vary = header(response.headers(), VARY.as_str());
    let bytes = response.bytes().await.unwrap();
    let text = match encoding.as_str() {
        "" => String::from_utf8(bytes.to_vec()).unwrap(),
        encoding => Decoder::new(encoding).feed(&bytes),
    };
    (encoding, vary, text)
}

// ---------------------------------------------------------------------------------------------
// HTTP/JSON answers

#[tokio::test]
async fn answers_from_1_kib_are_compressed_as_accept_encoding_prefers_on_both_port_layouts() {
    // (path, Accept-Encoding, the encoding the answer comes in)
    let cases = [
        ("/v1/orders/big", "gzip", "gzip"),
        ("/v1/orders/big", "br", "br"),
        ("/v1/orders/big", "zstd", "zstd"),
        ("/v1/orders/big", "gzip, deflate, br, zstd", "zstd"),
        ("/v1/orders/big", "gzip;q=1.0, br;q=0.5", "gzip"),
        ("/v1/orders/big", "zstd;q=0, br;q=0.2", "br"),
        ("/v1/orders/big", "deflate", ""),
        ("/v1/orders/big", "identity", ""),
        ("/v1/orders/big", "", ""),
        ("/v1/orders/small", "gzip, br, zstd", ""),
        ("/own", "gzip", "gzip"),
        ("/metrics", "gzip", "gzip"),
    ];
    for layout in ["two ports", "one port"] {
        let served = match layout {
            "two ports" => serve(|b| b).await,
            _ => serve(one_port).await,
        };
        // /metrics is under 1 KiB until calls were counted.
        for _ in 0..3 {
            get(&format!("http://{}/v1/orders/big", served.http), "").await;
        }
        for (path, accept, want) in cases {
            let (encoding, vary, text) =
                get(&format!("http://{}{path}", served.http), accept).await;
            let case = format!("{layout}: GET {path} with Accept-Encoding {accept:?}");
            assert_eq!(encoding, want, "{case}");
            let big = !path.ends_with("small");
            assert_eq!(
                vary.contains("accept-encoding"),
                big,
                "{case}: Vary {vary:?}"
            );
            if let Some(name) = path.strip_prefix("/v1/") {
                let order: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(order["customer"], customer(name), "{case}");
            } else if path == "/own" {
                assert!(text.starts_with("my own route's text."), "{case}");
            } else {
                assert!(text.contains("rpc_server_calls_total"), "{case}");
            }
        }
        // gRPC on the same port still works, compressed its own way.
        let channel = tonic::transport::Channel::from_shared(format!("http://{}", served.grpc))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let order = OrderServiceClient::new(channel)
            .get_order(shop::GetOrderRequest {
                name: "orders/big".into(),
            })
            .await
            .unwrap();
        assert_eq!(
            order.into_inner().customer,
            customer("orders/big"),
            "{layout}"
        );
    }
}

#[tokio::test]
async fn compression_can_be_turned_off_and_its_threshold_moved() {
    let off = serve(|b| b.compression(Compression::off())).await;
    let (encoding, vary, _) = get(&format!("http://{}/v1/orders/big", off.http), "gzip").await;
    assert_eq!((encoding.as_str(), vary.as_str()), ("", ""));
    let stream = format!("http://{}/v1/orders/w:watch", off.http);
    off.shop.gate.add_permits(1);
    let (encoding, _, text) = get(&stream, "gzip").await;
    assert_eq!((encoding.as_str(), text.lines().count()), ("", 2));

    let high = serve(|b| b.compression(Compression::default().min_size(8192))).await;
    let (encoding, _, _) = get(&format!("http://{}/v1/orders/big", high.http), "gzip").await;
    assert_eq!(encoding, "");
    let (encoding, _, _) = get(&format!("http://{}/own", high.http), "gzip").await;
    assert_eq!(encoding, "");

    let low = serve(|b| b.compression(Compression::default().min_size(16))).await;
    let (encoding, _, text) = get(&format!("http://{}/v1/orders/small", low.http), "gzip").await;
    assert_eq!(encoding, "gzip");
    assert!(text.contains("someone"));
}

// ---------------------------------------------------------------------------------------------
// Streams

/// Reads `body` until the text decoded so far satisfies `done`, within 5 s.
async fn read_until(
    body: &mut (impl tokio_stream::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    decoder: &mut Option<Decoder>,
    plain: &mut String,
    done: impl Fn(&str) -> bool,
) -> String {
    let read = async {
        let mut text = plain.clone();
        while !done(&text) {
            let chunk = body.next().await.expect("the stream ended early").unwrap();
            text = match decoder {
                Some(decoder) => decoder.feed(&chunk),
                None => {
                    plain.push_str(std::str::from_utf8(&chunk).unwrap());
                    plain.clone()
                }
            };
        }
        text
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("the first message was not decodable before the second was produced")
}

#[tokio::test]
async fn stream_messages_decode_one_by_one_before_the_next_is_produced() {
    let served = serve(|b| b).await;
    let url = format!("http://{}/v1/orders/w:watch", served.http);
    // (Accept, Accept-Encoding, the encoding the stream comes in, how a message ends)
    let cases = [
        ("application/x-ndjson", "gzip", "gzip", "\n"),
        ("application/x-ndjson", "br", "br", "\n"),
        ("application/x-ndjson", "zstd", "zstd", "\n"),
        ("application/x-ndjson", "gzip;q=0.5, br", "br", "\n"),
        ("application/x-ndjson", "", "", "\n"),
        ("text/event-stream", "gzip", "gzip", "\n\n"),
        ("text/event-stream", "br", "br", "\n\n"),
        ("text/event-stream", "zstd", "zstd", "\n\n"),
    ];
    for (accept, accept_encoding, want, end) in cases {
        let case = format!("Accept {accept}, Accept-Encoding {accept_encoding:?}");
        let mut request = client().get(&url).header(ACCEPT, accept);
        if !accept_encoding.is_empty() {
            request = request.header(ACCEPT_ENCODING, accept_encoding);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{case}");
        assert!(
            header(response.headers(), CONTENT_TYPE.as_str()).starts_with(accept),
            "{case}"
        );
        let encoding = header(response.headers(), CONTENT_ENCODING.as_str());
        assert_eq!(encoding, want, "{case}");
        assert!(
            header(response.headers(), VARY.as_str()).contains("accept-encoding"),
            "{case}"
        );
        let mut decoder = (!encoding.is_empty()).then(|| Decoder::new(&encoding));
        let mut plain = String::new();
        let mut body = response.bytes_stream();
        let first = read_until(&mut body, &mut decoder, &mut plain, |t| t.ends_with(end)).await;
        assert!(first.contains(r#""state":"PENDING""#), "{case}: {first:?}");
        assert_eq!(first.matches(end).count(), 1, "{case}: {first:?}");
        // Only now does the handler produce its second message.
        served.shop.gate.add_permits(1);
        let both = read_until(&mut body, &mut decoder, &mut plain, |t| {
            t.matches(end).count() == 2
        })
        .await;
        assert!(both.contains(r#""state":"CONFIRMED""#), "{case}: {both:?}");
        // What follows ends the compressed stream (gzip's trailer) and decodes to nothing.
        let mut rest = Vec::new();
        while let Some(chunk) = body.next().await {
            rest.extend_from_slice(&chunk.unwrap());
        }
        if let Some(mut decoder) = decoder {
            assert_eq!(decoder.feed(&rest), both, "{case}");
            decoder.finish();
        } else {
            assert!(rest.is_empty(), "{case}");
        }
    }
}

#[tokio::test]
async fn curl_compressed_no_buffer_prints_each_message_before_the_next_is_produced() {
    let Some(curl) = common::curl_path() else {
        return;
    };
    let served = serve(|b| b).await;
    let url = format!("http://{}/v1/orders/w:watch", served.http);
    for encoding in ["gzip", "br", "zstd"] {
        let mut child = Command::new(&curl)
            .args(["-sS", "-N", "--compressed", "--max-time", "20"])
            .args(["-H", &format!("Accept-Encoding: {encoding}")])
            .args(["-w", "%header{content-encoding}\n", &url])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let (send, mut lines) = tokio::sync::mpsc::unbounded_channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let _ = send.send(line.unwrap());
            }
        });
        let first: Value = serde_json::from_str(&next_line(&mut lines).await).unwrap();
        assert_eq!(first["state"], "PENDING", "{encoding}");
        served.shop.gate.add_permits(1);
        let second: Value = serde_json::from_str(&next_line(&mut lines).await).unwrap();
        assert_eq!(second["state"], "CONFIRMED", "{encoding}");
        let used = next_line(&mut lines).await;
        assert_eq!(used, encoding, "curl's %header{{content-encoding}}");
        assert!(child.wait().unwrap().success(), "{encoding}: curl failed");
    }
}

/// The next line curl printed, within 5 s.
async fn next_line(lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(5), lines.recv())
        .await
        .expect("curl printed nothing in 5 s")
        .expect("curl ended")
}

// ---------------------------------------------------------------------------------------------
// Request bodies

/// POSTs `body` to CreateOrder with `Content-Encoding: encoding`; returns the status, the
/// `Accept-Encoding` of the answer, and its JSON.
async fn create(http: SocketAddr, encoding: &str, body: Vec<u8>) -> (StatusCode, String, Value) {
    let response = client()
        .post(format!("http://{http}/v1/orders?orderId=7"))
        .header(CONTENT_TYPE, "application/json")
        .header(CONTENT_ENCODING, encoding)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let accepted = header(response.headers(), ACCEPT_ENCODING.as_str());
    assert_eq!(
        header(response.headers(), CONTENT_TYPE.as_str()),
        "application/json"
    );
    (status, accepted, response.json().await.unwrap())
}

#[tokio::test]
async fn request_bodies_unary_and_streamed_are_decompressed_in_every_supported_encoding() {
    let served = serve(|b| b).await;
    let json = br#"{"customer": "decompressed"}"#;
    for encoding in ["gzip", "deflate", "br", "zstd", "identity", "GZip"] {
        let body = match encoding.to_lowercase().as_str() {
            "identity" => json.to_vec(),
            encoding => encode(encoding, json),
        };
        let (status, _, order) = create(served.http, encoding, body).await;
        assert_eq!(status, StatusCode::OK, "{encoding}: {order}");
        assert_eq!(order["customer"], "decompressed", "{encoding}");
        assert_eq!(order["name"], "orders/7", "{encoding}");
    }
    // A client stream's NDJSON body, decompressed as it arrives.
    let ndjson = br#"{"customer": "decompressed"}
{"customer": "decompressed"}
"#;
    for encoding in ["gzip", "zstd"] {
        let response = client()
            .post(format!("http://{}/v1/orders:import", served.http))
            .header(CONTENT_TYPE, "application/x-ndjson")
            .header(CONTENT_ENCODING, encoding)
            .body(encode(encoding, ndjson))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{encoding}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["imported"], 2, "{encoding}: {answer}");
    }
}

#[tokio::test]
async fn a_compression_bomb_is_a_413_and_bad_encodings_are_statuses() {
    let served = serve(|b| b).await;
    // 64 MiB of zeros, about 64 KiB gzipped: the route's 4 MiB limit counts decompressed bytes.
    let zeros = vec![0u8; 64 << 20];
    for encoding in ["gzip", "zstd", "br"] {
        let bomb = encode(encoding, &zeros);
        assert!(bomb.len() < 1 << 20, "{encoding}: {} bytes", bomb.len());
        let (status, _, error) = create(served.http, encoding, bomb).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{encoding}: {error}");
        assert_eq!(error["code"], 8, "{encoding}: RESOURCE_EXHAUSTED {error}");
    }
    // A client stream's messages are limited one by one, on decompressed bytes too.
    let bomb = encode("gzip", &zeros);
    let response = client()
        .post(format!("http://{}/v1/orders:import", served.http))
        .header(CONTENT_TYPE, "application/x-ndjson")
        .header(CONTENT_ENCODING, "gzip")
        .body(bomb)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], 8, "{status}: RESOURCE_EXHAUSTED {error}");
    drop(zeros);

    let (status, accepted, error) = create(served.http, "compress", b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{error}");
    assert_eq!(error["code"], 3, "{error}");
    assert!(error["message"].as_str().unwrap().contains("compress"));
    for encoding in ["gzip", "br", "zstd"] {
        assert!(accepted.contains(encoding), "Accept-Encoding {accepted:?}");
    }

    let mut corrupt = encode("gzip", br#"{"customer": "cut"}"#);
    corrupt[12] ^= 0xff;
    corrupt.truncate(corrupt.len() - 4);
    for (encoding, body) in [("gzip", corrupt), ("zstd", b"not zstd at all".to_vec())] {
        let (status, _, error) = create(served.http, encoding, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{encoding}: {error}");
        assert_eq!(error["code"], 3, "{encoding}: {error}");
    }

    // The server's own receive limit counts decompressed bytes too.
    let limited =
        serve(|b| b.limits(rs_svc::serve::Limits::new().max_receive_message_bytes(64 << 10))).await;
    let json = format!(r#"{{"customer": "{}"}}"#, "x".repeat(100 << 10));
    let gzipped = encode("gzip", json.as_bytes());
    assert!(gzipped.len() < 4 << 10);
    let (status, _, error) = create(limited.http, "gzip", gzipped).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{error}");

    // The server is still there.
    let (encoding, _, _) = get(&format!("http://{}/v1/orders/big", served.http), "gzip").await;
    assert_eq!(encoding, "gzip");
}

// ---------------------------------------------------------------------------------------------
// gRPC

#[tokio::test]
async fn grpc_sends_gzip_and_answers_zstd_through_the_stack_on_both_port_layouts() {
    for layout in ["two ports", "one port"] {
        let served = match layout {
            "two ports" => serve(|b| b).await,
            _ => serve(one_port).await,
        };
        let channel = tonic::transport::Channel::from_shared(format!("http://{}", served.grpc))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = OrderServiceClient::new(channel)
            .send_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Zstd);
        let response = client
            .get_order(shop::GetOrderRequest {
                name: "orders/big".into(),
            })
            .await
            .unwrap();
        let metadata = response.metadata().clone().into_headers();
        assert_eq!(header(&metadata, "grpc-encoding"), "zstd", "{layout}");
        assert_eq!(response.into_inner().customer, customer("orders/big"));

        served.shop.gate.add_permits(1);
        let mut events = client
            .watch_order(shop::GetOrderRequest {
                name: "orders/w".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let mut states = Vec::new();
        while let Some(event) = events.message().await.unwrap() {
            states.push(event.state);
        }
        assert_eq!(states, [1, 2], "{layout}");

        let seen = served.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{layout}: {seen:?}");
        for [sent, answered, _] in seen {
            assert_eq!(
                (sent.as_str(), answered.as_str()),
                ("gzip", "zstd"),
                "{layout}"
            );
        }
    }
}

/// One gRPC call to GetOrder over a raw HTTP/2 connection: `payload` framed with the
/// compressed flag when `encoding` is not identity. Returns the response headers (with the
/// trailers appended) and the response's data.
async fn raw_grpc(
    addr: SocketAddr,
    encoding: &str,
    accept: &str,
    payload: Vec<u8>,
) -> (http::HeaderMap, Vec<u8>) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let request = http::Request::post(format!("http://{addr}/acme.shop.v1.OrderService/GetOrder"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-encoding", encoding)
        .header("grpc-accept-encoding", accept)
        .body(())
        .unwrap();
    let (response, mut send) = client.send_request(request, false).unwrap();
    let mut frame = vec![u8::from(encoding != "identity")];
    frame.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&payload);
    send.send_data(frame.into(), true).unwrap();
    let (parts, mut body) = response.await.unwrap().into_parts();
    let mut headers = parts.headers;
    let mut data = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
        data.extend_from_slice(&chunk);
    }
    if let Some(trailers) = body.trailers().await.unwrap() {
        headers.extend(trailers);
    }
    (headers, data)
}

#[tokio::test]
async fn grpc_frames_are_compressed_on_the_wire_bombs_stop_at_the_limit_and_other_encodings_are_refused(
) {
    let served = serve(|b| b).await;
    let name = b"orders/big";
    let mut message = vec![0x0a, name.len() as u8];
    message.extend_from_slice(name);

    // A gzip request asking for zstd: the answer's frame is flagged compressed and is zstd.
    let (headers, data) = raw_grpc(served.grpc, "gzip", "zstd", encode("gzip", &message)).await;
    assert_eq!(header(&headers, "grpc-status"), "0", "{headers:?}");
    assert_eq!(header(&headers, "grpc-encoding"), "zstd");
    assert_eq!(data[0], 1, "the compressed flag");
    let length = u32::from_be_bytes(data[1..5].try_into().unwrap()) as usize;
    assert_eq!(data.len(), 5 + length);
    assert!(length < 500, "{length} bytes for about 3 KiB of order");
    let order = zstd::decode_all(&data[5..]).unwrap();
    let order = <shop::Order as prost::Message>::decode(order.as_slice()).unwrap();
    assert_eq!(order.customer, customer("orders/big"));

    // A compression bomb: tonic stops decompressing at its 4 MiB message limit.
    let bomb = encode("gzip", &vec![0u8; 64 << 20]);
    let (headers, _) = raw_grpc(served.grpc, "gzip", "", bomb).await;
    assert_eq!(header(&headers, "grpc-status"), "8", "{headers:?}");

    // An encoding the service does not accept: UNIMPLEMENTED, naming the ones it does.
    let (headers, _) = raw_grpc(served.grpc, "deflate", "", encode("deflate", &message)).await;
    assert_eq!(header(&headers, "grpc-status"), "12", "{headers:?}");
    let accepts = header(&headers, "grpc-accept-encoding");
    let accepts: Vec<&str> = accepts.split(',').map(str::trim).collect();
    assert!(
        accepts.contains(&"gzip") && accepts.contains(&"zstd"),
        "grpc-accept-encoding {accepts:?}"
    );
}

/// Python grpcio calls GetOrder with gzip (the codec it shares with tonic), request and answer.
const GRPCIO_GZIP: &str = r#"
import sys, grpc
name = b"orders/big"
request = b"\x0a" + bytes([len(name)]) + name
with grpc.insecure_channel(sys.argv[1], compression=grpc.Compression.Gzip) as channel:
    call = channel.unary_unary("/acme.shop.v1.OrderService/GetOrder")
    answer = call(request, timeout=10, compression=grpc.Compression.Gzip)
print("grpcio:", name in answer, len(answer))
"#;

#[tokio::test]
async fn python_grpcio_calls_with_gzip_both_ways() {
    let venv = PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
        .join(".cache/rs-svc/tools/venv/bin/python");
    let Some(python) = common::tool("RS_SVC_PYTHON", venv) else {
        return;
    };
    let served = serve(|b| b).await;
    let target = served.grpc.to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .args(["-c", GRPCIO_GZIP, &target])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.starts_with("grpcio: True"),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen = served.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let [sent, answered, _] = &seen[0];
    assert_eq!((sent.as_str(), answered.as_str()), ("gzip", "gzip"));
}
