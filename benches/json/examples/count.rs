//! Encodes (or decodes) one benchmark shape N times, for measurements that stay meaningful on a
//! busy machine, where criterion's wall clock does not:
//!
//! ```text
//! cargo build --profile bench -p rs-svc-json-bench --example count
//! # instructions: run twice (N and 0) under callgrind and subtract
//! valgrind --tool=callgrind target/release/examples/count nested encode rs-svc 1000
//! # time: rs-svc and pbjson in alternating batches in one process, fastest batch of each
//! target/release/examples/count nested encode ab 200000
//! ```
//!
//! The shapes and documents are the benchmark's (`benches/json.rs`): `small`, `nested`, `wkt`,
//! every decoder reading what prost-reflect writes.

use std::hint::black_box;
use std::time::Instant;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};
use rs_svc_json_bench::ours::acme::shop::v1 as ours;
use rs_svc_json_bench::pbjson::acme::shop::v1 as pb;
use rs_svc_json_bench::shapes;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// One shape, ready to encode (`message`) or decode (`json`) `n` times.
struct Case<M> {
    message: M,
    json: String,
}

impl<M: Message + Default + Serialize + DeserializeOwned> Case<M> {
    fn new(bytes: &[u8], json: &str) -> Self {
        Case {
            message: M::decode(bytes).unwrap(),
            json: json.to_owned(),
        }
    }

    fn run(&self, op: &str, n: usize) {
        for _ in 0..n {
            match op {
                "encode" => drop(black_box(serde_json::to_string(black_box(&self.message)))),
                "decode" => drop(black_box(serde_json::from_str::<M>(black_box(&self.json)))),
                _ => panic!("op is encode or decode"),
            }
        }
    }
}

/// Runs both in alternating batches; the fastest batch is the one least disturbed by others.
fn ab(ours: &dyn Fn(usize), theirs: &dyn Fn(usize), n: usize) {
    const ROUNDS: usize = 200;
    let batch = (n / ROUNDS).max(1);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        for (run, times) in [(ours, &mut a), (theirs, &mut b)] {
            let start = Instant::now();
            run(batch);
            times.push(start.elapsed().as_secs_f64() * 1e9 / batch as f64);
        }
    }
    for times in [&mut a, &mut b] {
        times.sort_by(f64::total_cmp);
    }
    println!(
        "rs-svc {:.1} ns (median {:.1}), pbjson {:.1} ns (median {:.1}), pbjson/rs-svc {:.3}",
        a[0],
        a[ROUNDS / 2],
        b[0],
        b[ROUNDS / 2],
        b[0] / a[0]
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [shape, op, imp, n] = args.as_slice() else {
        panic!("usage: count small|nested|wkt encode|decode rs-svc|pbjson|ab N");
    };
    let n: usize = n.parse().unwrap();
    let (bytes, name) = match shape.as_str() {
        "small" => (shapes::small().encode_to_vec(), "acme.shop.v1.LineItem"),
        "nested" => (shapes::nested().encode_to_vec(), "acme.shop.v1.Order"),
        "wkt" => (shapes::wkt().encode_to_vec(), "acme.shop.v1.Order"),
        _ => panic!("shape is small, nested or wkt"),
    };
    let pool = DescriptorPool::decode(rs_svc_json_bench::DESCRIPTOR_SET).unwrap();
    let descriptor = pool.get_message_by_name(name).unwrap();
    let dynamic = DynamicMessage::decode(descriptor, bytes.as_slice()).unwrap();
    let json = serde_json::to_string(&dynamic).unwrap();
    if shape == "small" {
        let ours = Case::<ours::LineItem>::new(&bytes, &json);
        let theirs = Case::<pb::LineItem>::new(&bytes, &json);
        match imp.as_str() {
            "rs-svc" => ours.run(op, n),
            "pbjson" => theirs.run(op, n),
            _ => ab(&|n| ours.run(op, n), &|n| theirs.run(op, n), n),
        }
    } else {
        let ours = Case::<ours::Order>::new(&bytes, &json);
        let theirs = Case::<pb::Order>::new(&bytes, &json);
        match imp.as_str() {
            "rs-svc" => ours.run(op, n),
            "pbjson" => theirs.run(op, n),
            _ => ab(&|n| ours.run(op, n), &|n| theirs.run(op, n), n),
        }
    }
}
