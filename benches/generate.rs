//! Generation speed: the whole plugin pipeline (decode, model with http-rule validation,
//! messages, include file) against prost-build alone generating the same messages, side by side
//! on the same CodeGeneratorRequest.
//!
//! Inputs:
//! - `synthetic`: 20 packages, 200 services, 2,000 methods, each with an http rule and its own
//!   request and response messages (4,000 messages), compiled once with protox;
//! - `fixtures`: the real files in testdata/;
//! - `corpus` (optional): set `RS_SVC_CORPUS=<request file>` to time a captured request, e.g.
//!   google/cloud from npm google-proto-files captured with shared/tools/protoc-gen-capture.
//!
//! Run: `cargo bench --bench generate`. Files/s = files to generate / time per iteration.
//! `RS_SVC_WRITE_SYNTHETIC=<file> cargo bench --bench generate` only writes the synthetic request
//! to `<file>` (for `benches/gen-compare.sh`, which times the plugin binaries on it).

use std::fmt::Write as _;
use std::path::PathBuf;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use prost::Message;
use prost_types::compiler::CodeGeneratorRequest;

const PACKAGES: usize = 20;
const SERVICES_PER_PACKAGE: usize = 10;
const METHODS_PER_SERVICE: usize = 10;

/// One .proto file per package, each with its services, methods, rules and messages.
fn synthetic_sources() -> Vec<(String, String)> {
    (0..PACKAGES)
        .map(|p| {
            let mut src = format!(
                "syntax = \"proto3\";\npackage bench.p{p}.v1;\n\
                 import \"google/api/annotations.proto\";\n\
                 import \"google/protobuf/timestamp.proto\";\n\n"
            );
            for s in 0..SERVICES_PER_PACKAGE {
                writeln!(src, "// Service {s} of package {p}.\nservice Svc{s} {{").unwrap();
                for m in 0..METHODS_PER_SERVICE {
                    let rule = match m % 4 {
                        0 => format!("get: \"/v1/p{p}/s{s}/{{name=things/*/m{m}/*}}\""),
                        1 => format!("post: \"/v1/p{p}/s{s}/m{m}\" body: \"*\""),
                        2 => format!(
                            "patch: \"/v1/p{p}/s{s}/{{item.id}}/m{m}\" body: \"item\" \
                             additional_bindings {{ put: \"/v2/p{p}/s{s}/{{item.id}}/m{m}\" body: \"item\" }}"
                        ),
                        _ => format!("delete: \"/v1/p{p}/s{s}/{{name=**}}:m{m}\""),
                    };
                    writeln!(
                        src,
                        "  // Method {m}.\n  rpc M{m}(S{s}M{m}Request) returns (S{s}M{m}Response) {{\n    \
                         option (google.api.http) = {{{rule}}};\n  }}"
                    )
                    .unwrap();
                }
                src.push_str("}\n\n");
                for m in 0..METHODS_PER_SERVICE {
                    writeln!(
                        src,
                        "message S{s}M{m}Request {{\n  string name = 1;\n  Item item = 2;\n  \
                         int32 page_size = 3;\n  repeated string tags = 4;\n  \
                         map<string, int64> counts = 5;\n}}\n\
                         message S{s}M{m}Response {{\n  repeated Item items = 1;\n  \
                         string next_page_token = 2;\n  google.protobuf.Timestamp time = 3;\n  \
                         oneof result {{ string ok = 4; int32 code = 5; }}\n}}"
                    )
                    .unwrap();
                }
            }
            src.push_str(
                "message Item {\n  string id = 1;\n  double price = 2;\n  bytes blob = 3;\n  \
                 optional string note = 4;\n}\n",
            );
            (format!("bench/p{p}/v1/api.proto"), src)
        })
        .collect()
}

fn synthetic_request() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, src) in synthetic_sources() {
        let path = dir.path().join(&name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, src).unwrap();
        files.push(PathBuf::from(name));
    }
    protoc_gen_rs_svc::standalone::request(&[dir.path().to_owned()], &files, "").unwrap()
}

fn fixtures_request() -> Vec<u8> {
    let testdata = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let files = [
        "acme/shop/v1/shop.proto",
        "library/v1/library.proto",
        "ops/v1/ops.proto",
    ]
    .map(PathBuf::from);
    protoc_gen_rs_svc::standalone::request(&[testdata], &files, "").unwrap()
}

/// The baseline: decode the request and let prost-build generate (and format) the messages, as
/// protoc-gen-prost does: every file of the request goes in (prost-build resolves field types
/// only among the files it is given), the modules of the files to generate come out.
fn prost_build_alone(bytes: &[u8]) -> usize {
    let request = CodeGeneratorRequest::decode(bytes).unwrap();
    let wanted: std::collections::HashSet<prost_build::Module> = request
        .proto_file
        .iter()
        .filter(|f| request.file_to_generate.iter().any(|n| n == f.name()))
        .map(|f| prost_build::Module::from_protobuf_package_name(f.package()))
        .collect();
    let requests = request
        .proto_file
        .into_iter()
        .map(|f| {
            (
                prost_build::Module::from_protobuf_package_name(f.package()),
                f,
            )
        })
        .collect();
    let modules = prost_build::Config::new().generate(requests).unwrap();
    modules.keys().filter(|m| wanted.contains(m)).count()
}

fn ours(bytes: &[u8]) -> usize {
    let response = protoc_gen_rs_svc::generate(bytes);
    assert!(response.error.is_none(), "{:?}", response.error);
    response.file.len()
}

fn bench(c: &mut Criterion) {
    let mut inputs = vec![
        ("synthetic", synthetic_request()),
        ("fixtures", fixtures_request()),
    ];
    if let Ok(path) = std::env::var("RS_SVC_CORPUS") {
        inputs.push(("corpus", std::fs::read(path).expect("RS_SVC_CORPUS file")));
    }
    let mut group = c.benchmark_group("generate");
    group.sample_size(10);
    for (name, bytes) in &inputs {
        let request = CodeGeneratorRequest::decode(bytes.as_slice()).unwrap();
        group.throughput(Throughput::Elements(request.file_to_generate.len() as u64));
        group.bench_with_input(BenchmarkId::new("rs-svc", name), bytes, |b, bytes| {
            b.iter(|| ours(bytes))
        });
        group.bench_with_input(
            BenchmarkId::new("prost-build-alone", name),
            bytes,
            |b, bytes| b.iter(|| prost_build_alone(bytes)),
        );
    }
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    if let Some(path) = std::env::var_os("RS_SVC_WRITE_SYNTHETIC") {
        std::fs::write(&path, synthetic_request()).expect("writing RS_SVC_WRITE_SYNTHETIC");
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
