//! Generates the service's Rust code and OpenAPI document (`user/v1/user.openapi.yaml`) with
//! the plugin library, exactly what
//! `protoc-gen-rs-svc generate -I proto user/v1/user.proto --opt file_descriptor_set` writes.

use std::path::PathBuf;

fn main() {
    let proto = manifest_dir().join("proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    let request = protoc_gen_rs_svc::standalone::request(
        &[proto],
        &[PathBuf::from("user/v1/user.proto")],
        "file_descriptor_set",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let request = protoc_gen_rs_svc::decode(&request).unwrap();
    let output = protoc_gen_rs_svc::run(&request).unwrap_or_else(|e| panic!("{e}"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    for file in output.files {
        let path = out_dir.join(&file.name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, file.content).unwrap();
    }
}

/// The package's directory, read when the script runs rather than when it was compiled: cargo
/// may reuse a compiled build script for a clone at another path sharing the target directory.
fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}
