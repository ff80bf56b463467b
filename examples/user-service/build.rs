//! Generates the service's Rust code and OpenAPI document (`user/v1/user.openapi.yaml`) with
//! the plugin library, exactly what
//! `protoc-gen-rs-svc generate -I proto user/v1/user.proto --opt file_descriptor_set` writes.

use std::path::{Path, PathBuf};

fn main() {
    let proto = Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
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
