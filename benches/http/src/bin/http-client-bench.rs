//! `http-client-bench MODE BASE_URL SECONDS CONCURRENCY`: unary `GetItem` round trips against the
//! HTTP bench server's generated router for SECONDS, CONCURRENCY calls in flight, and prints
//! `MODE <calls/s>`. MODE is
//! - `channel`: `rs_svc::http::HttpChannel` building the request from the rule's route table,
//!   as the generated HTTP clients do;
//! - `reqwest`: a hand-written reqwest call of the same URL, its query written by hand, decoded
//!   with serde through the same generated impls.
//!
//! Both check every answer. `client.sh` runs the two side by side against one server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Method;
use rs_svc::http::matcher::{Segment, Template, Variable};
use rs_svc::http::{HttpChannel, Rule};
use rs_svc_http_bench::gen::bench::v1::{GetItemRequest, Item, ItemView};

/// `GET /v1/{name=shelves/*/items/*}`, as the generated router writes it.
const GET_ITEM: Template = Template::new(
    &[
        Segment::Literal("v1"),
        Segment::Literal("shelves"),
        Segment::Single,
        Segment::Literal("items"),
        Segment::Single,
    ],
    &[Variable::new("name", 1, 5)],
);
const RULE: Rule = Rule::new();

fn request() -> GetItemRequest {
    GetItemRequest {
        name: "shelves/s1/items/i42".into(),
        page_size: 20,
        filter: "colour=natural".into(),
        tags: vec!["oak".into(), "bracket".into()],
        view: ItemView::Full as i32,
    }
}

/// The URL of `request`, written by hand as a reqwest user would.
fn url(base: &str, request: &GetItemRequest) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("pageSize", &request.page_size.to_string());
    query.append_pair("filter", &request.filter);
    for tag in &request.tags {
        query.append_pair("tags", tag);
    }
    query.append_pair("view", "ITEM_VIEW_FULL");
    format!("{base}/v1/{}?{}", request.name, query.finish())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, base, seconds, concurrency] = args.as_slice() else {
        return Err("usage: http-client-bench channel|reqwest BASE_URL SECONDS CONCURRENCY".into());
    };
    let duration = Duration::from_secs_f64(seconds.parse()?);
    let concurrency: usize = concurrency.parse()?;
    let calls = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + duration;
    let mut tasks = Vec::new();
    match mode.as_str() {
        "channel" => {
            let channel = HttpChannel::new(base)?;
            for _ in 0..concurrency {
                let (channel, calls) = (channel.clone(), calls.clone());
                tasks.push(tokio::spawn(async move {
                    while Instant::now() < end {
                        let item: tonic::Response<Item> = channel
                            .unary(
                                Method::GET,
                                &GET_ITEM,
                                &RULE,
                                tonic::Request::new(request()),
                            )
                            .await
                            .expect("GetItem over HttpChannel");
                        assert_eq!(item.get_ref().name, "shelves/s1/items/i42");
                        calls.fetch_add(1, Ordering::Relaxed);
                    }
                }));
            }
        }
        "reqwest" => {
            let client = reqwest::Client::new();
            for _ in 0..concurrency {
                let (client, calls, base) = (client.clone(), calls.clone(), base.clone());
                tasks.push(tokio::spawn(async move {
                    while Instant::now() < end {
                        let url = url(&base, &request());
                        let body = client
                            .get(&url)
                            .send()
                            .await
                            .expect("GetItem over reqwest")
                            .bytes()
                            .await
                            .expect("the answer");
                        let item: Item = serde_json::from_slice(&body).expect("an Item");
                        assert_eq!(item.name, "shelves/s1/items/i42");
                        calls.fetch_add(1, Ordering::Relaxed);
                    }
                }));
            }
        }
        other => return Err(format!("unknown mode {other}").into()),
    }
    let started = Instant::now();
    for task in tasks {
        task.await?;
    }
    let rate = calls.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    println!("{mode} {rate:.0}");
    Ok(())
}
