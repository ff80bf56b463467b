//! Generates acme/shop/v1/shop.proto (a service with http rules, every well-known type) with
//! every output that needs more than the runtime's `json` feature turned off.

use std::path::PathBuf;

/// The outputs `rs-svc` with only `json` supports: no tonic server or client (they need tonic),
/// no `<service>_http` routers or query schemas (`http`); the dial helpers go with the client.
const PARAMETER: &str = "no_server,no_client,no_http,no_openapi";

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let testdata = manifest_dir.join("../../testdata");
    let proto = PathBuf::from("acme/shop/v1/shop.proto");
    println!("cargo:rerun-if-changed={}", testdata.join(&proto).display());
    let request = protoc_gen_rs_svc::standalone::request(
        std::slice::from_ref(&testdata),
        &[proto],
        PARAMETER,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let request = protoc_gen_rs_svc::decode(&request).unwrap_or_else(|e| panic!("{e}"));
    let output = protoc_gen_rs_svc::run(&request).unwrap_or_else(|e| panic!("{e}"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    for file in output.files {
        let path = out_dir.join(&file.name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, file.content).unwrap();
    }
}
