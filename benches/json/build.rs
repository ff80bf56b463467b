//! Generates the shop fixture three ways: rs-svc (canonical JSON, to compare like with like),
//! prost-build + pbjson-build, and a descriptor set for prost-reflect.

use std::path::PathBuf;

fn main() {
    let testdata = manifest_dir().join("../../testdata");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let files = [PathBuf::from("acme/shop/v1/shop.proto")];
    let includes = [testdata];

    let set = protoc_gen_rs_svc::standalone::descriptor_set(&includes, &files).unwrap();
    std::fs::write(out.join("descriptor_set.bin"), &set).unwrap();

    // Prints the rerun-if-changed lines of shop.proto and its imports, which every part reads.
    protoc_gen_rs_svc::configure()
        .parameter("json_omit_defaults")
        .build_server(false)
        .build_client(false)
        .out_dir(out.join("ours"))
        .compile_protos(&files, &includes)
        .unwrap_or_else(|e| panic!("{e}"));

    let pbjson_dir = out.join("pbjson");
    std::fs::create_dir_all(&pbjson_dir).unwrap();
    let fds = <prost_types::FileDescriptorSet as prost::Message>::decode(set.as_slice()).unwrap();
    prost_build::Config::new()
        .out_dir(&pbjson_dir)
        .compile_well_known_types()
        .extern_path(".google.protobuf", "::pbjson_types")
        .compile_fds(fds)
        .unwrap();
    pbjson_build::Builder::new()
        .register_descriptors(&set)
        .unwrap()
        .out_dir(&pbjson_dir)
        .build(&[".acme"])
        .unwrap();
}

/// The package's directory, read when the script runs rather than when it was compiled: cargo
/// may reuse a compiled build script for a clone at another path sharing the target directory.
fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}
