//! Drives one HTTP target in-process, without sockets, for instruction counts:
//! `valgrind --tool=callgrind target/release/examples/inproc rs-svc|axum get|post N`.
//! Subtract a run with N=0 to leave only the per-request cost.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use http_body_util::BodyExt;
use rs_svc_http_bench::{axum_router, gen, post_body, Items, GET_PATH, POST_PATH};
use tower::ServiceExt;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, method, n] = &args[..] else {
        panic!("usage: inproc rs-svc|axum get|post N");
    };
    let n: usize = n.parse().unwrap();
    let items = Arc::new(Items);
    let router = match mode.as_str() {
        "rs-svc" => gen::bench::v1::item_service_http::router(items),
        "axum" => axum_router(items),
        _ => panic!("mode"),
    };
    let post = bytes::Bytes::from(post_body());
    let peer = SocketAddr::from(([127, 0, 0, 1], 40000));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        for _ in 0..n {
            let request = match method.as_str() {
                "get" => http::Request::get(GET_PATH).body(Body::empty()),
                "post" => http::Request::post(POST_PATH)
                    .header("content-type", "application/json")
                    .body(Body::from(post.clone())),
                _ => panic!("method"),
            };
            let mut request = request.unwrap();
            request
                .headers_mut()
                .insert("host", "127.0.0.1:18080".parse().unwrap());
            request.extensions_mut().insert(ConnectInfo(peer));
            let response = router.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            std::hint::black_box(body);
        }
    });
}
