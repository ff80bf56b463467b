//! proto3 JSON encode and decode throughput: rs-svc's generated impls against pbjson's and
//! prost-reflect's dynamic serde, on the same messages, in one run.
//!
//! Run: `cargo bench -p rs-svc-json-bench`. Every implementation writes canonical JSON (defaults
//! left out) and reads the same documents (written by prost-reflect). `rs-svc+paths` is reading
//! through `rs_svc::json::from_str`, which tracks the JSON path for error messages.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use rs_svc_json_bench::ours::acme::shop::v1 as ours;
use rs_svc_json_bench::pbjson::acme::shop::v1 as pb;
use rs_svc_json_bench::shapes::{nested, small, wkt};
use serde::de::DeserializeOwned;
use serde::Serialize;

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    descriptor: MessageDescriptor,
}

fn bench_case<O, P>(c: &mut Criterion, case: &Case)
where
    O: Message + Default + Serialize + DeserializeOwned,
    P: Message + Default + Serialize + DeserializeOwned,
{
    let ours = O::decode(case.bytes.as_slice()).unwrap();
    let theirs = P::decode(case.bytes.as_slice()).unwrap();
    let dynamic = DynamicMessage::decode(case.descriptor.clone(), case.bytes.as_slice()).unwrap();
    let json = serde_json::to_string(&dynamic).unwrap();
    // Same input for every reader, and every reader understands it.
    assert_eq!(
        serde_json::from_str::<O>(&json)
            .unwrap()
            .encode_to_vec()
            .len(),
        case.bytes.len()
    );
    assert_eq!(
        serde_json::from_str::<P>(&json)
            .unwrap()
            .encode_to_vec()
            .len(),
        case.bytes.len()
    );

    let mut group = c.benchmark_group(format!("json/{}", case.name));
    group.throughput(Throughput::Bytes(json.len() as u64));
    group.bench_function(BenchmarkId::new("encode", "rs-svc"), |b| {
        b.iter(|| serde_json::to_string(&ours).unwrap())
    });
    group.bench_function(BenchmarkId::new("encode", "pbjson"), |b| {
        b.iter(|| serde_json::to_string(&theirs).unwrap())
    });
    group.bench_function(BenchmarkId::new("encode", "prost-reflect"), |b| {
        b.iter(|| serde_json::to_string(&dynamic).unwrap())
    });
    group.bench_function(BenchmarkId::new("decode", "rs-svc"), |b| {
        b.iter(|| serde_json::from_str::<O>(&json).unwrap())
    });
    group.bench_function(BenchmarkId::new("decode", "rs-svc json::from_str"), |b| {
        b.iter(|| rs_svc::json::from_str::<O>(&json).unwrap())
    });
    group.bench_function(BenchmarkId::new("decode", "pbjson"), |b| {
        b.iter(|| serde_json::from_str::<P>(&json).unwrap())
    });
    group.bench_function(BenchmarkId::new("decode", "prost-reflect"), |b| {
        b.iter(|| {
            let mut de = serde_json::Deserializer::from_str(&json);
            DynamicMessage::deserialize(case.descriptor.clone(), &mut de).unwrap()
        })
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    let pool = DescriptorPool::decode(rs_svc_json_bench::DESCRIPTOR_SET).unwrap();
    let order = pool.get_message_by_name("acme.shop.v1.Order").unwrap();
    let item = pool.get_message_by_name("acme.shop.v1.LineItem").unwrap();
    let case = |name, bytes, descriptor: &MessageDescriptor| Case {
        name,
        bytes,
        descriptor: descriptor.clone(),
    };
    bench_case::<ours::LineItem, pb::LineItem>(c, &case("small", small().encode_to_vec(), &item));
    bench_case::<ours::Order, pb::Order>(c, &case("nested", nested().encode_to_vec(), &order));
    bench_case::<ours::Order, pb::Order>(c, &case("wkt", wkt().encode_to_vec(), &order));
}

criterion_group!(benches, bench);
criterion_main!(benches);
