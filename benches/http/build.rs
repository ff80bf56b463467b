//! Generates `bench/v1/items.proto` with the plugin library into OUT_DIR (what
//! `protoc-gen-rs-svc generate -I proto bench/v1/items.proto --opt file_descriptor_set` writes),
//! and writes `items.pb`: the descriptor set, imports included, that Envoy's gRPC-JSON
//! transcoder loads.

use std::path::PathBuf;

fn main() {
    let proto = manifest_dir().join("proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let includes = [proto];
    let files = [PathBuf::from("bench/v1/items.proto")];

    let request = protoc_gen_rs_svc::standalone::request(&includes, &files, "file_descriptor_set")
        .unwrap_or_else(|e| panic!("{e}"));
    let request = protoc_gen_rs_svc::decode(&request).unwrap();
    let output = protoc_gen_rs_svc::run(&request).unwrap_or_else(|e| panic!("{e}"));
    for file in output.files {
        let path = out.join("gen").join(&file.name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, file.content).unwrap();
    }

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
