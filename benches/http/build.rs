//! Generates `bench/v1/items.proto` with the plugin library into OUT_DIR (what
//! `protoc-gen-rs-svc generate -I proto bench/v1/items.proto --opt file_descriptor_set` writes),
//! and writes `items.pb`: the descriptor set, imports included, that Envoy's gRPC-JSON
//! transcoder loads.

use std::path::PathBuf;

fn main() {
    let proto = manifest_dir().join("proto");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let includes = [proto];
    let files = [PathBuf::from("bench/v1/items.proto")];

    // Prints the rerun-if-changed line of items.proto, which the descriptor set reads too.
    protoc_gen_rs_svc::configure()
        .file_descriptor_set(true)
        .out_dir(out.join("gen"))
        .compile_protos(&files, &includes)
        .unwrap_or_else(|e| panic!("{e}"));

    let set = protoc_gen_rs_svc::standalone::descriptor_set(&includes, &files)
        .unwrap_or_else(|e| panic!("{e}"));
    // Envoy resolves the `google.api.http` options from the set itself: they must be in it.
    for import in ["google/api/annotations.proto", "google/api/http.proto"] {
        assert!(
            set.windows(import.len()).any(|w| w == import.as_bytes()),
            "the descriptor set lacks {import}"
        );
    }
    std::fs::write(out.join("items.pb"), set).unwrap();
}

/// The package's directory, read when the script runs rather than when it was compiled: cargo
/// may reuse a compiled build script for a clone at another path sharing the target directory.
fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}
