//! Encodes (or decodes) one benchmark shape N times with one implementation, for instruction
//! counts that stay meaningful on a busy machine (criterion's wall clock does not):
//!
//! ```text
//! cargo build --profile bench -p rs-svc-json-bench --example count
//! valgrind --tool=callgrind --callgrind-out-file=cg.out \
//!     target/release/examples/count nested encode rs-svc 1000
//! ```
//!
//! The shapes are the benchmark's (`benches/json.rs`): `small`, `nested`, `wkt`.

use prost::Message;
use rs_svc_json_bench::ours::acme::shop::v1 as ours;
use rs_svc_json_bench::pbjson::acme::shop::v1 as pb;
use rs_svc_json_bench::shapes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::hint::black_box;

fn run<M: Message + Default + Serialize + DeserializeOwned>(bytes: &[u8], op: &str, n: usize) {
    let message = M::decode(bytes).unwrap();
    let json = serde_json::to_string(&message).unwrap();
    let mut total = 0;
    for _ in 0..n {
        match op {
            "encode" => total += serde_json::to_string(black_box(&message)).unwrap().len(),
            "decode" => {
                total += black_box(serde_json::from_str::<M>(black_box(&json)).unwrap()).encoded_len()
            }
            _ => panic!("op is encode or decode"),
        }
    }
    println!("{total}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [shape, op, imp, n] = args.as_slice() else {
        panic!("usage: count small|nested|wkt encode|decode rs-svc|pbjson N");
    };
    let n: usize = n.parse().unwrap();
    let bytes = match shape.as_str() {
        "small" => shapes::small().encode_to_vec(),
        "nested" => shapes::nested().encode_to_vec(),
        "wkt" => shapes::wkt().encode_to_vec(),
        _ => panic!("shape is small, nested or wkt"),
    };
    match (shape.as_str(), imp.as_str()) {
        ("small", "rs-svc") => run::<ours::LineItem>(&bytes, op, n),
        ("small", "pbjson") => run::<pb::LineItem>(&bytes, op, n),
        (_, "rs-svc") => run::<ours::Order>(&bytes, op, n),
        (_, "pbjson") => run::<pb::Order>(&bytes, op, n),
        _ => panic!("implementation is rs-svc or pbjson"),
    }
}
