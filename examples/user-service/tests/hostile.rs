//! The example server's production stack (`user_service_example::server`: metrics, tracing,
//! access log, compression, the JWT guard) under hostile input over real sockets, written
//! byte by byte as no well-behaved client would send it.
//!
//! Every case must end in a 4xx answer or a clean close, never a 5xx, a panic or a hang:
//! - where a request reached the router, the answer is a `google.rpc.Status` JSON body whose
//!   code matches the HTTP status (docs/reference.md section 3);
//! - where HTTP/1 framing itself is broken (smuggling shapes, bad chunks, bytes that are not a
//!   request line), hyper answers a bare 400 and closes, since there is no request to route;
//! - gRPC calls with malformed frames end with a non-OK `grpc-status`.
//!
//! After every case the same server answers a plain `GET /v1/users` normally.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rs_svc::serve::Limits;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};
use user_service_example::user::v1::user_service_http;
use user_service_example::Users;

/// How long any one exchange may take before the test calls it a hang.
const PATIENCE: Duration = Duration::from_secs(10);

const SECRET: &[u8] = b"a secret of the hostile suite, 32 bytes or more";

/// The example's production server on free ports, serving until the test ends.
async fn start(limits: Limits) -> (SocketAddr, SocketAddr) {
    let jwt = user_service_example::token_verifier(SECRET).unwrap();
    let metrics = rs_svc::metrics::Metrics::new();
    let server = user_service_example::server(Arc::new(Users::default()), &jwt, metrics)
        .grpc_addr(([127, 0, 0, 1], 0))
        .http_addr(([127, 0, 0, 1], 0))
        .limits(limits)
        .build()
        .unwrap()
        .bind()
        .await
        .unwrap();
    let addrs = (server.grpc_addr(), server.http_addr().unwrap());
    tokio::spawn(server.serve_with_shutdown(std::future::pending()));
    addrs
}

/// An HTTP/1 response as read off the socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `google.rpc.Status` in the body, checked to be one: a numeric `code` and a
    /// `message`.
    fn status_code(&self) -> i64 {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        let status: serde_json::Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"));
        assert!(status["message"].is_string(), "{status}");
        status["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("no code: {status}"))
    }
}

/// Reads one response from `stream`: its head, then a body framed by `Content-Length`, by
/// chunks, or by the connection's end. `None` when the server closed without answering.
async fn read_answer(stream: &mut TcpStream) -> Option<Answer> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end;
        }
        let mut chunk = [0; 8192];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) if buffer.is_empty() => return None,
            Ok(0) | Err(_) => panic!("the connection ended inside a response head: {buffer:?}"),
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).unwrap();
    let mut rest = buffer[head_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.to_owned(), value.trim().to_owned())
        })
        .collect();
    let answer = |body| Answer {
        status,
        headers: headers.clone(),
        body,
    };
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    if let Some(length) = get("content-length") {
        let length: usize = length.parse().unwrap();
        while rest.len() < length {
            let mut chunk = [0; 8192];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the connection ended inside a body");
            rest.extend_from_slice(&chunk[..n]);
        }
        rest.truncate(length);
        return Some(answer(rest));
    }
    if get("transfer-encoding").is_some_and(|te| te.contains("chunked")) {
        let mut body = Vec::new();
        loop {
            while find(&rest, b"\r\n").is_none() {
                read_more(stream, &mut rest).await;
            }
            let line_end = find(&rest, b"\r\n").unwrap();
            let size = std::str::from_utf8(&rest[..line_end]).unwrap();
            let size = usize::from_str_radix(size.split(';').next().unwrap(), 16).unwrap();
            while rest.len() < line_end + 2 + size + 2 {
                read_more(stream, &mut rest).await;
            }
            body.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest.drain(..line_end + 2 + size + 2);
            if size == 0 {
                return Some(answer(body));
            }
        }
    }
    stream.read_to_end(&mut rest).await.unwrap();
    Some(answer(rest))
}

async fn read_more(stream: &mut TcpStream, into: &mut Vec<u8>) {
    let mut chunk = [0; 8192];
    let n = stream.read(&mut chunk).await.unwrap();
    assert!(n > 0, "the connection ended inside a chunked body");
    into.extend_from_slice(&chunk[..n]);
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Sends `request` as written and reads the answer, within [`PATIENCE`].
async fn exchange(http: SocketAddr, request: &[u8]) -> Option<Answer> {
    timeout(PATIENCE, async {
        let mut stream = TcpStream::connect(http).await.unwrap();
        // The server may answer and close before reading everything; that is its right.
        let _ = stream.write_all(request).await;
        read_answer(&mut stream).await
    })
    .await
    .unwrap_or_else(|_| panic!("no answer within {PATIENCE:?} to {:?}", show(request)))
}

fn show(request: &[u8]) -> String {
    let text = String::from_utf8_lossy(&request[..request.len().min(300)]);
    text.into_owned()
}

/// Whether the server still answers a plain request normally.
async fn assert_serving(http: SocketAddr) {
    let answer = exchange(
        http,
        b"GET /v1/users HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .expect("an answer to a plain request");
    assert_eq!(answer.status, 200, "{answer:?}");
}

/// A request with a JSON body.
fn post(path: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n\
         {extra_headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

fn get(target: &str, extra_headers: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra_headers}\r\n")
        .into_bytes()
}

/// What a case must get back.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// This HTTP status with a `google.rpc.Status` body of this code.
    Status(u16, i64),
    /// A 4xx or 404-class answer from the router: some 4xx with a `google.rpc.Status` body.
    AnyStatus4xx,
    /// Broken HTTP/1 framing: a bare 4xx and a close, or a close without an answer.
    Refused,
}

#[tokio::test]
async fn malformed_requests_get_a_4xx_status_and_the_server_keeps_serving() {
    let (_, http) = start(Limits::new()).await;
    let deep = |open: &str, n: usize| open.repeat(n);
    let cases: Vec<(&str, Vec<u8>, Expect)> =
        vec![
        (
            "truncated JSON",
            post("/v1/users?userId=a", "", br#"{"displayName": "#),
            Expect::Status(400, 3),
        ),
        (
            "a number where a string goes",
            post("/v1/users?userId=a", "", br#"{"displayName": 5}"#),
            Expect::Status(400, 3),
        ),
        (
            "a JSON array for the message",
            post("/v1/users?userId=a", "", b"[1, 2]"),
            Expect::Status(400, 3),
        ),
        (
            "invalid UTF-8 inside a JSON string",
            post("/v1/users?userId=a", "", b"{\"displayName\": \"\xff\xfe\"}"),
            Expect::Status(400, 3),
        ),
        (
            "100,000 nested arrays in a known field",
            post(
                "/v1/users?userId=a",
                "",
                format!("{{\"displayName\": {}", deep("[", 100_000)).as_bytes(),
            ),
            Expect::Status(400, 3),
        ),
        (
            "100,000 nested arrays in an unknown field",
            post(
                "/v1/users?userId=a",
                "",
                format!("{{\"unknown\": {}", deep("[", 100_000)).as_bytes(),
            ),
            Expect::Status(400, 3),
        ),
        (
            "100,000 nested objects in an unknown field",
            post(
                "/v1/users?userId=a",
                "",
                format!("{{\"unknown\": {}", deep("{\"a\":", 100_000)).as_bytes(),
            ),
            Expect::Status(400, 3),
        ),
        (
            "100,000 nested arrays in a client stream's message",
            post("/v1/users:lookup", "", deep("[", 100_000).as_bytes()),
            Expect::AnyStatus4xx,
        ),
        (
            "a word where a number goes, in the query",
            get("/v1/users?pageSize=many", ""),
            Expect::Status(400, 3),
        ),
        (
            "a number beyond int32, in the query",
            get("/v1/users?pageSize=4294967296", ""),
            Expect::Status(400, 3),
        ),
        (
            "a percent escape of invalid UTF-8 in the path",
            get("/v1/users/%ff%fe", ""),
            Expect::AnyStatus4xx,
        ),
        (
            "a broken percent escape in the path",
            get("/v1/users/a%zz", ""),
            Expect::AnyStatus4xx,
        ),
        (
            "a truncated percent escape in the path",
            get("/v1/users/a%4", ""),
            Expect::AnyStatus4xx,
        ),
        (
            "a percent escape of invalid UTF-8 in the query",
            get("/v1/users?pageToken=%ff", ""),
            Expect::Status(400, 3),
        ),
        (
            "a broken percent escape in the query",
            get("/v1/users?pageToken=%zz", ""),
            Expect::Status(400, 3),
        ),
        ("`..` in the path", get("/v1/users/../users/a", ""), Expect::AnyStatus4xx),
        ("`%2e%2e` in the path", get("/v1/%2e%2e/v1/users/a", ""), Expect::AnyStatus4xx),
        ("`//` in the path", get("//v1/users", ""), Expect::AnyStatus4xx),
        (
            "a malformed Grpc-Timeout",
            get("/v1/users", "Grpc-Timeout: soon\r\n"),
            Expect::Status(400, 3),
        ),
        (
            "a Grpc-Timeout of nine digits",
            get("/v1/users", "Grpc-Timeout: 123456789S\r\n"),
            Expect::Status(400, 3),
        ),
        (
            "bad base64 in a -bin header",
            get("/v1/users", "X-Trace-Bin: !!!not base64!!!\r\n"),
            Expect::Status(400, 3),
        ),
        (
            "a 20 KiB header",
            get("/v1/users", &format!("X-Big: {}\r\n", "a".repeat(20 * 1024))),
            Expect::Status(431, 8),
        ),
        // Over HTTP/1 hyper's parser counts headers, before a request exists to answer with
        // a Status (docs/reference.md section 11): a bare 431 and a close.
        (
            "150 headers",
            get(
                "/v1/users",
                &(0..150).map(|i| format!("X-H{i}: {i}\r\n")).collect::<String>(),
            ),
            Expect::Refused,
        ),
        (
            "Content-Length and Transfer-Encoding together",
            b"POST /v1/users?userId=a HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
                .to_vec(),
            Expect::Refused,
        ),
        (
            "two different Content-Lengths",
            b"POST /v1/users?userId=a HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}"
                .to_vec(),
            Expect::Refused,
        ),
        (
            "a chunk size that is not hexadecimal",
            b"POST /v1/users?userId=a HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
                .to_vec(),
            Expect::Refused,
        ),
        (
            "a chunk longer than its size",
            b"POST /v1/users?userId=a HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Transfer-Encoding: chunked\r\n\r\n1\r\n{}}}}\r\n0\r\n\r\n"
                .to_vec(),
            Expect::Refused,
        ),
        (
            "raw invalid UTF-8 in the request line",
            b"GET /v1/users/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            Expect::Refused,
        ),
        (
            "a request line that is not HTTP",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n".to_vec(),
            Expect::Refused,
        ),
    ];
    for (name, request, expect) in cases {
        let answer = exchange(http, &request).await;
        match (expect, &answer) {
            (Expect::Status(status, code), Some(answer)) => {
                assert_eq!(answer.status, status, "{name}: {answer:?}");
                assert_eq!(answer.status_code(), code, "{name}");
            }
            (Expect::AnyStatus4xx, Some(answer)) => {
                assert!((400..500).contains(&answer.status), "{name}: {answer:?}");
                answer.status_code();
            }
            (Expect::Refused, None) => {}
            (Expect::Refused, Some(answer)) => {
                assert!((400..500).contains(&answer.status), "{name}: {answer:?}")
            }
            (_, None) => panic!("{name}: closed without an answer"),
        }
        assert_serving(http).await;
    }
}

/// Sends the head of a request whose body never ends (`Content-Length` of 100 MB, or chunks
/// forever) and keeps writing until the server answers: the answer is a 413 Status, and it
/// comes long before the body could have been buffered.
#[tokio::test]
async fn endless_bodies_get_413_without_being_read_to_the_end() {
    let (_, http) = start(Limits::new()).await;
    for chunked in [false, true] {
        let mut stream = TcpStream::connect(http).await.unwrap();
        let framing = if chunked {
            "Transfer-Encoding: chunked".to_owned()
        } else {
            format!("Content-Length: {}", 100 * 1024 * 1024)
        };
        // The body starts as a valid message would, then never ends.
        let opening = "{\"displayName\": \"";
        let opening = if chunked {
            format!("{:x}\r\n{opening}\r\n", opening.len())
        } else {
            opening.to_owned()
        };
        let head = format!(
            "POST /v1/users?userId=a HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             {framing}\r\n\r\n{opening}"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let (mut read, mut write) = stream.into_split();
        let piece = if chunked {
            let mut piece = format!("{:x}\r\n", 64 * 1024).into_bytes();
            piece.extend(std::iter::repeat_n(b'a', 64 * 1024));
            piece.extend_from_slice(b"\r\n");
            piece
        } else {
            vec![b'a'; 64 * 1024]
        };
        let sent = Arc::new(Mutex::new(0usize));
        let counted = sent.clone();
        // Writes until the server stops reading (the socket errors or stays full).
        let writer = tokio::spawn(async move {
            while counted.lock().unwrap().to_owned() < 100 * 1024 * 1024 {
                match timeout(Duration::from_secs(2), write.write_all(&piece)).await {
                    Ok(Ok(())) => *counted.lock().unwrap() += piece.len(),
                    _ => break,
                }
            }
        });
        let mut buffer = Vec::new();
        let answer = timeout(PATIENCE, async {
            loop {
                let mut chunk = [0; 4096];
                match read.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                }
                if find(&buffer, b"\r\n\r\n").is_some() {
                    break;
                }
            }
        })
        .await;
        writer.abort();
        assert!(
            answer.is_ok(),
            "chunked {chunked}: no answer within {PATIENCE:?}"
        );
        let text = String::from_utf8_lossy(&buffer);
        assert!(
            text.starts_with("HTTP/1.1 413"),
            "chunked {chunked}: {text}"
        );
        let sent = *sent.lock().unwrap();
        assert!(
            sent < 32 * 1024 * 1024,
            "chunked {chunked}: the server read {sent} bytes before answering"
        );
        assert_serving(http).await;
    }
}

/// Headers named by `Connection` (RFC 9110 section 7.6.1) and the hop-by-hop ones describe
/// the exchange with the nearest hop: none reaches the handler as metadata, while an ordinary
/// header does.
#[tokio::test]
async fn hop_by_hop_headers_do_not_reach_handlers() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let options = rs_svc::http::Options::new().interceptor(move |request| {
        let names = request
            .metadata()
            .keys()
            .map(|key| match key {
                tonic::metadata::KeyRef::Ascii(key) => key.as_str().to_owned(),
                tonic::metadata::KeyRef::Binary(key) => key.as_str().to_owned(),
            })
            .collect::<Vec<_>>();
        *record.lock().unwrap() = names;
        Ok(request)
    });
    let router = user_service_http::router_with(Arc::new(Users::default()), options);
    let server = rs_svc::serve::Server::builder()
        .http(router)
        .grpc_addr(([127, 0, 0, 1], 0))
        .http_addr(([127, 0, 0, 1], 0))
        .build()
        .unwrap()
        .bind()
        .await
        .unwrap();
    let http = server.http_addr().unwrap();
    tokio::spawn(server.serve_with_shutdown(std::future::pending()));
    let request = b"GET /v1/users HTTP/1.1\r\nHost: x\r\n\
        Connection: close, X-Hop-Secret, x-other-hop\r\nX-Hop-Secret: 1\r\nX-Other-Hop: 2\r\n\
        Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n\
        Upgrade: h2c\r\nTrailer: x-late\r\nX-Kept: yes\r\n\r\n";
    let answer = exchange(http, request).await.expect("an answer");
    assert_eq!(answer.status, 200, "{answer:?}");
    let seen = seen.lock().unwrap().clone();
    assert!(seen.contains(&"x-kept".to_owned()), "{seen:?}");
    for hop in [
        "connection",
        "x-hop-secret",
        "x-other-hop",
        "keep-alive",
        "proxy-connection",
        "te",
        "upgrade",
        "trailer",
    ] {
        assert!(
            !seen.contains(&hop.to_owned()),
            "{hop} reached the handler: {seen:?}"
        );
    }
}

/// A client that sends its request head a byte a second is closed when the header-read time
/// is up, and one that connects and says nothing is closed too; meanwhile, and after, others
/// are served.
#[tokio::test]
async fn slow_and_silent_clients_are_closed_while_others_are_served() {
    let limits = Limits::new()
        .header_read_timeout(Duration::from_secs(2))
        .idle_timeout(Some(Duration::from_secs(2)));
    let (_, http) = start(limits).await;
    let slow = tokio::spawn(async move {
        let began = Instant::now();
        let mut stream = TcpStream::connect(http).await.unwrap();
        for byte in b"GET /v1/users HTTP/1.1\r\nHost: x\r\n\r\n" {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            let mut probe = [0; 1];
            if let Ok(Ok(0)) = timeout(Duration::from_millis(1), stream.read(&mut probe)).await {
                break;
            }
        }
        began.elapsed()
    });
    let silent = tokio::spawn(async move {
        let began = Instant::now();
        let mut stream = TcpStream::connect(http).await.unwrap();
        let mut rest = Vec::new();
        let _ = timeout(PATIENCE, stream.read_to_end(&mut rest)).await;
        (began.elapsed(), rest)
    });
    // Others are served while both hang on.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_serving(http).await;
    let slow = slow.await.unwrap();
    assert!(
        slow < Duration::from_secs(6),
        "the slow client was kept for {slow:?}"
    );
    let (silent, said) = silent.await.unwrap();
    assert!(
        silent < Duration::from_secs(6),
        "the silent client was kept for {silent:?}"
    );
    // A close, or hyper's 408 before it: never an answer to a request nobody made.
    assert!(
        said.is_empty() || said.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&said)
    );
    assert_serving(http).await;
}

/// A client that goes away in the middle of a server stream, a client stream and a bidi
/// stream, over HTTP and over gRPC, frees its call: with room for one call at a time, the
/// next call is admitted.
#[tokio::test]
async fn a_client_vanishing_mid_stream_frees_its_call() {
    let limits = Limits::new().max_concurrent_calls(Some(1));
    let (grpc, http) = start(limits).await;
    let token = token();
    let http_streams: Vec<(&str, Vec<u8>)> = vec![
        (
            "server stream (SSE)",
            get("/v1/users:watch", "Accept: text/event-stream\r\n"),
        ),
        (
            "client stream (NDJSON)",
            format!(
                "POST /v1/users:import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n\
                 1c\r\n{{\"userId\": \"a\", \"user\": {{}}}}\n\r\n"
            )
            .into_bytes(),
        ),
        (
            "bidi stream (NDJSON)",
            b"POST /v1/users:lookup HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n\
              Transfer-Encoding: chunked\r\n\r\n14\r\n{\"name\": \"users/a\"}\n\r\n"
                .to_vec(),
        ),
    ];
    for (name, request) in http_streams {
        let mut stream = TcpStream::connect(http).await.unwrap();
        stream.write_all(&request).await.unwrap();
        // The call is open: it holds the one place.
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(stream);
        assert_admitted_soon(http, name).await;
    }
    for (name, path) in [
        ("gRPC server stream", "/user.v1.UserService/WatchUsers"),
        ("gRPC client stream", "/user.v1.UserService/ImportUsers"),
        ("gRPC bidi stream", "/user.v1.UserService/LookupUsers"),
    ] {
        let (mut client, connection) = h2_client(grpc).await;
        let request = grpc_request(path, Some(&token));
        let (response, mut body) = client.send_request(request, false).unwrap();
        body.send_data(grpc_frame(b""), false).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Gone without a word: no END_STREAM, no RST_STREAM, the connection's socket closed.
        connection.abort();
        drop((client, body, response));
        assert_admitted_soon(http, name).await;
    }
}

/// Whether a plain call is admitted within a few seconds (the place of a vanished call is
/// freed once the server notices it is gone).
async fn assert_admitted_soon(http: SocketAddr, after: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let answer = exchange(
            http,
            b"GET /v1/users HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await
        .expect("an answer");
        if answer.status == 200 {
            return;
        }
        assert_eq!(answer.status, 429, "after the {after}: {answer:?}");
        assert!(
            Instant::now() < deadline,
            "after the {after}, no place freed within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// gRPC calls whose frames no client would send: each ends with a non-OK status in its
/// trailers (or a reset stream), never a hang, and the server answers after.
#[tokio::test]
async fn malformed_grpc_frames_end_the_call_with_a_status() {
    let (grpc, http) = start(Limits::new()).await;
    let get_user = "/user.v1.UserService/GetUser";
    let mut huge = vec![0];
    huge.extend_from_slice(&(100u32 * 1024 * 1024).to_be_bytes());
    huge.extend_from_slice(&[0; 64]);
    let mut truncated = vec![0];
    truncated.extend_from_slice(&100u32.to_be_bytes());
    truncated.extend_from_slice(b"abc");
    let mut compressed_without_encoding = vec![1];
    compressed_without_encoding.extend_from_slice(&3u32.to_be_bytes());
    compressed_without_encoding.extend_from_slice(b"abc");
    let cases: Vec<(&str, Vec<u8>, Option<&str>, tonic::Code)> = vec![
        (
            "a 100 MiB length prefix",
            huge,
            None,
            tonic::Code::ResourceExhausted,
        ),
        ("a frame cut short", truncated, None, tonic::Code::Internal),
        (
            "bytes that are not protobuf",
            grpc_frame(&[0xff; 16]).to_vec(),
            None,
            tonic::Code::Internal,
        ),
        (
            "the compressed flag with no grpc-encoding",
            compressed_without_encoding,
            None,
            tonic::Code::Internal,
        ),
        (
            "a malformed grpc-timeout",
            grpc_frame(b"").to_vec(),
            Some("soon"),
            tonic::Code::Ok,
        ),
    ];
    for (name, body, grpc_timeout, want) in cases {
        let outcome = timeout(PATIENCE, async {
            let (mut client, _connection) = h2_client(grpc).await;
            let mut request = grpc_request(get_user, None);
            if let Some(value) = grpc_timeout {
                request
                    .headers_mut()
                    .insert("grpc-timeout", http::HeaderValue::from_static(value));
            }
            let (response, mut send) = client.send_request(request, false).unwrap();
            let _ = send.send_data(Bytes::from(body), true);
            grpc_status(response).await
        })
        .await
        .unwrap_or_else(|_| panic!("{name}: no answer within {PATIENCE:?}"));
        match want {
            // A malformed grpc-timeout is ignored as gRPC servers do (no deadline): the call
            // runs, and GetUser of an empty name is refused by the handler.
            tonic::Code::Ok => assert_ne!(outcome, Some(tonic::Code::Ok), "{name}"),
            want => assert_eq!(outcome, Some(want), "{name}"),
        }
        assert_serving(http).await;
    }
}

async fn h2_client(
    addr: SocketAddr,
) -> (h2::client::SendRequest<Bytes>, tokio::task::JoinHandle<()>) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    (client.ready().await.unwrap(), connection)
}

fn grpc_request(path: &str, token: Option<&str>) -> http::Request<()> {
    let mut request = http::Request::post(format!("http://127.0.0.1{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.body(()).unwrap()
}

/// A message in gRPC's framing: no compression, its length, the bytes.
fn grpc_frame(message: &[u8]) -> Bytes {
    let mut frame = vec![0];
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(message);
    Bytes::from(frame)
}

/// The call's `grpc-status`, from a trailers-only answer or the trailers; `None` when the
/// stream was reset.
async fn grpc_status(response: h2::client::ResponseFuture) -> Option<tonic::Code> {
    let response = response.await.ok()?;
    let code = |headers: &http::HeaderMap| {
        headers
            .get("grpc-status")
            .and_then(|v| v.to_str().ok()?.parse::<i32>().ok())
            .map(tonic::Code::from_i32)
    };
    if let Some(code) = code(response.headers()) {
        return Some(code);
    }
    let mut body = response.into_body();
    while let Some(data) = body.data().await {
        let data = data.ok()?;
        let _ = body.flow_control().release_capacity(data.len());
    }
    let trailers = body.trailers().await.ok()??;
    code(&trailers)
}

/// An HS256 token the example's `ImportUsers` guard accepts, valid for a minute.
fn token() -> String {
    use rs_svc::auth::jsonwebtoken::{self, Algorithm, EncodingKey, Header};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({ "sub": "hostile", "exp": now + 60 });
    let key = EncodingKey::from_secret(SECRET);
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
}
