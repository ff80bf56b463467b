//! WebSocket streams over real sockets (docs/reference.md section 13.1): a client- and a
//! bidi-streaming route, served by the server with its stack and limits, called with
//! tokio-tungstenite.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rs_svc::__codegen::http::{bidi_streaming, client_streaming, unary, Rule};
use rs_svc::http::matcher::{MethodFilter, Segment::Literal as L, Template};
use rs_svc::http::{Options, Routes};
use rs_svc::serve::{interceptor, on_complete, Limits, Next, Server};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tonic::Code;

/// `POST /v1/chat`, bidi: each message comes back in capitals; `"missing"` ends the call with
/// NOT_FOUND, `"wait"` makes the handler wait forever.
const CHAT: Template = Template::new(&[L("v1"), L("chat")], &[]);
/// `POST /v1/count`, client streaming: answers with how many messages it read, joined.
const COUNT: Template = Template::new(&[L("v1"), L("count")], &[]);
/// `POST /v1/echo`, unary.
const ECHO: Template = Template::new(&[L("v1"), L("echo")], &[]);
const BODY: Rule = Rule::new().body_all();

/// Counts the handlers dropped, to see that a client going away cancels its call.
#[derive(Default)]
struct Chat {
    dropped: AtomicUsize,
}

struct Dropped(Arc<Chat>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

type Outcomes = Arc<Mutex<Vec<(bool, Code)>>>;

/// The test's routes, as an axum router.
fn routes(chat: &Arc<Chat>) -> axum::Router {
    Routes::new(Options::default())
        .route(
            MethodFilter::POST,
            &CHAT,
            "test.v1.Chat/Chat",
            bidi_streaming(
                chat,
                &BODY,
                |chat, request: tonic::Request<tonic::Streaming<String>>| async move {
                    let mut messages = request.into_inner();
                    let answers = async_stream(move |sender| async move {
                        let _guard = Dropped(chat);
                        loop {
                            let message = match messages.message().await {
                                Ok(Some(message)) => message,
                                Ok(None) => return,
                                Err(status) => {
                                    let _ = sender.send(Err(status)).await;
                                    return;
                                }
                            };
                            match message.as_str() {
                                "missing" => {
                                    let status = tonic::Status::not_found("no such thing");
                                    let _ = sender.send(Err(status)).await;
                                    return;
                                }
                                "wait" => std::future::pending::<()>().await,
                                _ => {
                                    let _ = sender.send(Ok(message.to_uppercase())).await;
                                }
                            }
                        }
                    });
                    Ok(tonic::Response::new(answers))
                },
            ),
        )
        .route(
            MethodFilter::POST,
            &COUNT,
            "test.v1.Chat/Count",
            client_streaming(
                chat,
                &BODY,
                |_, request: tonic::Request<tonic::Streaming<String>>| async move {
                    // What a call made from here would inherit (`rs_svc::api::CallScope`).
                    let inherited = rs_svc::api::current_call().and_then(|call| call.deadline());
                    let mut messages = request.into_inner();
                    let mut read = Vec::new();
                    while let Some(message) = messages.message().await? {
                        read.push(message);
                    }
                    if read == ["deadline?"] {
                        let left = inherited.map(|at| at - std::time::Instant::now());
                        return Ok(tonic::Response::new(match left {
                            Some(left) => {
                                format!("inherited, {} s left", left.as_secs_f64().round())
                            }
                            None => "none".to_owned(),
                        }));
                    }
                    Ok(tonic::Response::new(format!(
                        "{}: {}",
                        read.len(),
                        read.join(",")
                    )))
                },
            ),
        )
        .route(
            MethodFilter::POST,
            &ECHO,
            "test.v1.Chat/Echo",
            unary(
                chat,
                &BODY,
                |_, request: tonic::Request<String>| async move {
                    Ok(tonic::Response::new(request.into_inner()))
                },
            ),
        )
        .into_router()
}

async fn serve(limits: Limits) -> (SocketAddr, Arc<Chat>, Outcomes) {
    // The stop dropped here never begins a shutdown: serving goes on until the test ends.
    let (addr, chat, outcomes, _, _) = start(limits).await;
    (addr, chat, outcomes)
}

/// A server of the test's routes; a send on the returned sender begins its shutdown (dropping
/// it does not), and the handle ends when serving returns.
async fn start(
    limits: Limits,
) -> (
    SocketAddr,
    Arc<Chat>,
    Outcomes,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), rs_svc::serve::Error>>,
) {
    let chat = Arc::new(Chat::default());
    let routes = routes(&chat);
    let outcomes = Outcomes::default();
    let recorded = outcomes.clone();
    let record = tower::layer::layer_fn(move |next: Next| {
        let outcomes = recorded.clone();
        tower::service_fn(move |request: http::Request<axum::body::Body>| {
            let (next, outcomes) = (next.clone(), outcomes.clone());
            let websocket = request
                .extensions()
                .get::<rs_svc::serve::CallInfo>()
                .is_some_and(|call| call.is_websocket());
            async move {
                let response = tower::ServiceExt::oneshot(next, request).await?;
                Ok::<_, std::convert::Infallible>(on_complete(
                    rs_svc::serve::Transport::Http,
                    response,
                    move |outcome| outcomes.lock().unwrap().push((websocket, outcome.code)),
                ))
            }
        })
    });
    // A guard: a call with `x-deny` is refused before its handler runs.
    let guard = interceptor(|request: tonic::Request<()>| async move {
        match request.metadata().get("x-deny") {
            Some(_) => Err(tonic::Status::permission_denied("denied")),
            None => Ok(request),
        }
    });
    let server = Server::builder()
        .http(routes)
        .layer(record)
        .layer(guard)
        .limits(limits)
        .grpc_addr(([127, 0, 0, 1], 0))
        .http_addr(([127, 0, 0, 1], 0))
        .build()
        .unwrap()
        .bind()
        .await
        .unwrap();
    let addr = server.http_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let served = tokio::spawn(server.serve_with_shutdown(async move {
        if stopped.await.is_err() {
            std::future::pending::<()>().await;
        }
    }));
    (addr, chat, outcomes, stop, served)
}

/// A stream fed by `body` through a channel, as a handler's answer.
fn async_stream<T, F, Fut>(body: F) -> tokio_stream::wrappers::ReceiverStream<T>
where
    T: Send + 'static,
    F: FnOnce(tokio::sync::mpsc::Sender<T>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    tokio::spawn(body(sender));
    tokio_stream::wrappers::ReceiverStream::new(receiver)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(addr: SocketAddr, path: &str) -> Socket {
    let (socket, response) = tokio_tungstenite::connect_async(format!("ws://{addr}{path}"))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    socket
}

/// The next text frame, as JSON.
async fn next_json(socket: &mut Socket) -> serde_json::Value {
    let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("a frame in time")
        .expect("a frame")
        .expect("a readable frame");
    match frame {
        Message::Text(text) => serde_json::from_str(&text).unwrap(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// The close frame's code and reason.
async fn closed(socket: &mut Socket) -> (u16, String) {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a close in time");
        match frame {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string())
            }
            Some(Ok(Message::Close(None))) | None => return (1005, String::new()),
            Some(Ok(_)) => continue,
            Some(Err(error)) => panic!("the socket broke before its close frame: {error}"),
        }
    }
}

async fn send(socket: &mut Socket, text: &str) {
    socket.send(Message::text(text)).await.unwrap();
}

#[tokio::test]
async fn a_bidi_call_is_full_duplex_and_ends_with_its_status_and_close_1000() {
    let (addr, _, outcomes) = serve(Limits::default()).await;
    // The route is POST; the handshake is a GET on the same path.
    let mut socket = open(addr, "/v1/chat").await;
    for word in ["one", "two"] {
        // One message out, its answer back before the next goes: full duplex.
        send(&mut socket, &format!("\"{word}\"")).await;
        assert_eq!(
            next_json(&mut socket).await,
            serde_json::json!({"result": word.to_uppercase()})
        );
    }
    send(&mut socket, "").await;
    assert_eq!(
        next_json(&mut socket).await,
        serde_json::json!({"status": {"code": 0, "message": "", "details": []}})
    );
    assert_eq!(closed(&mut socket).await, (1000, String::new()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(*outcomes.lock().unwrap(), [(true, Code::Ok)]);
}

#[tokio::test]
async fn a_client_stream_answers_once_after_the_half_close() {
    let (addr, _, _) = serve(Limits::default()).await;
    let mut socket = open(addr, "/v1/count").await;
    for word in ["\"a\"", "\"b\"", "\"c\""] {
        send(&mut socket, word).await;
    }
    send(&mut socket, "").await;
    assert_eq!(
        next_json(&mut socket).await,
        serde_json::json!({"result": "3: a,b,c"})
    );
    assert_eq!(next_json(&mut socket).await["status"]["code"], 0);
    assert_eq!(closed(&mut socket).await.0, 1000);
}

/// The handler runs in the call's scope, as over NDJSON: calls it makes through either client
/// inherit the session's deadline (`?grpc-timeout=` here), and there is none without one.
#[tokio::test]
async fn the_handler_runs_in_the_calls_scope_with_its_deadline() {
    let (addr, _, _) = serve(Limits::default()).await;
    for (query, expected) in [("?grpc-timeout=30S", "inherited, 30 s left"), ("", "none")] {
        let mut socket = open(addr, &format!("/v1/count{query}")).await;
        send(&mut socket, "\"deadline?\"").await;
        send(&mut socket, "").await;
        assert_eq!(
            next_json(&mut socket).await,
            serde_json::json!({ "result": expected }),
            "{query}"
        );
        assert_eq!(closed(&mut socket).await.0, 1000);
    }
}

/// A WebSocket has no GOAWAY: when shutdown begins, an open session ends at once with
/// UNAVAILABLE and close 4014, and serving returns only after its last frames are out. The
/// server runs on a runtime of its own, dropped as soon as serving returns, as a process exits.
#[tokio::test]
async fn shutdown_ends_open_sessions_with_unavailable_and_waits_for_their_last_frames() {
    let (started, on_start) = tokio::sync::oneshot::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (returned, on_return) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let (addr, _, outcomes, stop_server, served) = start(Limits::default()).await;
            started.send((addr, outcomes)).unwrap();
            let _ = stopped.await;
            stop_server.send(()).unwrap();
            let _ = returned.send(served.await.unwrap());
        });
    });
    let (addr, outcomes) = on_start.await.unwrap();
    let mut socket = open(addr, "/v1/chat").await;
    send(&mut socket, "\"one\"").await;
    assert_eq!(
        next_json(&mut socket).await,
        serde_json::json!({"result": "ONE"})
    );
    stop.send(()).unwrap();
    let status = next_json(&mut socket).await;
    assert_eq!(status["status"]["code"], 14, "{status}");
    assert_eq!(
        closed(&mut socket).await,
        (4014, "the server is shutting down".to_owned())
    );
    // Well inside the default 30 s shutdown timeout: the session did not hold the drain up.
    tokio::time::timeout(Duration::from_secs(10), on_return)
        .await
        .expect("serving returns once the session ended")
        .unwrap()
        .unwrap();
    // Recorded before serving returned: the drain waited for the session's end.
    assert_eq!(*outcomes.lock().unwrap(), [(true, Code::Unavailable)]);
}

#[tokio::test]
async fn a_call_that_ends_in_error_sends_its_status_and_closes_with_4000_plus_its_code() {
    let cases: [(&str, Vec<Message>, Limits, Code, &str); 6] = [
        (
            "/v1/chat",
            vec![Message::text("\"missing\"")],
            Limits::default(),
            Code::NotFound,
            "no such thing",
        ),
        (
            "/v1/chat",
            vec![Message::text("{not json")],
            Limits::default(),
            Code::InvalidArgument,
            "invalid JSON body",
        ),
        (
            "/v1/chat",
            vec![Message::binary(b"\"a\"".to_vec())],
            Limits::default(),
            Code::InvalidArgument,
            "binary",
        ),
        (
            "/v1/chat",
            vec![Message::text(format!("\"{}\"", "x".repeat(100)))],
            Limits::default().max_receive_message_bytes(64),
            Code::ResourceExhausted,
            "over the server's limit of 64 bytes",
        ),
        (
            "/v1/chat?grpc-timeout=200m",
            vec![Message::text("\"wait\"")],
            Limits::default(),
            Code::DeadlineExceeded,
            "deadline",
        ),
        // The query's deadline wins over the server's default, as a header would.
        (
            "/v1/chat?grpc-timeout=200m",
            vec![Message::text("\"wait\"")],
            Limits::default().default_deadline(Some(Duration::from_secs(60))),
            Code::DeadlineExceeded,
            "deadline",
        ),
    ];
    for (path, frames, limits, code, says) in cases {
        let (addr, _, outcomes) = serve(limits).await;
        let mut socket = open(addr, path).await;
        for frame in frames {
            socket.send(frame).await.unwrap();
        }
        let status = next_json(&mut socket).await;
        assert_eq!(status["status"]["code"], code as i32, "{path}: {status}");
        let message = status["status"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(says), "{path}: {message}");
        let (close, reason) = closed(&mut socket).await;
        assert_eq!(close, 4000 + code as u16, "{path}");
        assert_eq!(reason, message);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(*outcomes.lock().unwrap(), [(true, code)], "{path}");
    }
}

#[tokio::test]
async fn a_client_that_goes_away_cancels_the_call_and_drops_its_handler() {
    let (addr, chat, outcomes) = serve(Limits::default()).await;
    let mut socket = open(addr, "/v1/chat").await;
    send(&mut socket, "\"one\"").await;
    assert_eq!(next_json(&mut socket).await["result"], "ONE");
    // The TCP connection goes, without a close frame.
    drop(socket);
    let gone = async {
        while chat.dropped.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), gone)
        .await
        .expect("the handler is dropped");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(*outcomes.lock().unwrap(), [(true, Code::Cancelled)]);
}

#[tokio::test]
async fn what_fails_before_the_upgrade_is_an_ordinary_http_error() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let (addr, _, _) = serve(Limits::default()).await;
    let cases = [
        ("/v1/nowhere", None, 404),
        // A unary route takes no WebSocket: its POST is not the handshake's GET.
        ("/v1/echo", None, 405),
        ("/v1/chat", Some(("x-deny", "1")), 403),
        ("/v1/chat", Some(("grpc-timeout", "soon")), 400),
        ("/v1/chat?grpc-timeout=soon", None, 400),
    ];
    for (path, header, status) in cases {
        let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
        if let Some((name, value)) = header {
            request.headers_mut().insert(name, value.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), status, "{path} {header:?}");
                let body: serde_json::Value =
                    serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
                assert!(body["code"].as_i64().unwrap() > 0, "{path}: {body}");
            }
            other => panic!("{path} {header:?}: expected an HTTP error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_open_session_holds_its_place_among_the_concurrent_calls() {
    let (addr, _, _) = serve(Limits::default().max_concurrent_calls(Some(1))).await;
    let mut first = open(addr, "/v1/chat").await;
    let second = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/chat")).await;
    match second {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429)
        }
        other => panic!("expected 429, got {other:?}"),
    }
    send(&mut first, "").await;
    assert_eq!(next_json(&mut first).await["status"]["code"], 0);
    assert_eq!(closed(&mut first).await.0, u16::from(CloseCode::Normal));
    // The place is free again once the session ended.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = open(addr, "/v1/chat").await;
    send(&mut third, "").await;
    assert_eq!(next_json(&mut third).await["status"]["code"], 0);
}

#[tokio::test]
async fn the_routes_take_websockets_under_any_hyper_server_with_upgrades() {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::service::TowerToHyperService;
    // The routes alone, with no `rs_svc::serve` around them.
    let router = routes(&Arc::new(Chat::default()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = TowerToHyperService::new(router.clone());
            tokio::spawn(async move {
                let http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let _ = http
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let mut socket = open(addr, "/v1/chat").await;
    send(&mut socket, "\"one\"").await;
    assert_eq!(next_json(&mut socket).await["result"], "ONE");
    send(&mut socket, "").await;
    assert_eq!(next_json(&mut socket).await["status"]["code"], 0);
    assert_eq!(closed(&mut socket).await.0, 1000);
    // The deadline in the query holds there too.
    let mut socket = open(addr, "/v1/chat?grpc-timeout=100m").await;
    send(&mut socket, "\"wait\"").await;
    assert_eq!(next_json(&mut socket).await["status"]["code"], 4);
    assert_eq!(closed(&mut socket).await.0, 4004);
}

/// The same message limit holds for the route's NDJSON body (docs/reference.md section 11: each
/// message of a streamed body), which the WebSocket path shares its reading with.
#[tokio::test]
async fn the_servers_message_limit_holds_for_each_message_of_an_ndjson_client_stream() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (addr, _, _) = serve(Limits::default().max_receive_message_bytes(64)).await;
    for (line, status) in [
        ("\"short\"", "200"),
        (&*format!("\"{}\"", "x".repeat(100)), "429"),
    ] {
        let body = format!("{line}\n");
        let request = format!(
            "POST /v1/count HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-ndjson\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{line}: {answer}"
        );
    }
}
