//! Generates `bench/v1/echo.proto` twice into OUT_DIR: `ours/` with the plugin library, the same
//! way the standalone command does, and `plain/` with plain tonic-prost-build under the vendored
//! protoc, the baseline the generated server is compared with.

use std::path::PathBuf;

fn main() {
    let proto = manifest_dir().join("proto");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let file = PathBuf::from("bench/v1/echo.proto");

    // Prints the rerun-if-changed line of echo.proto, which both halves read.
    protoc_gen_rs_svc::configure()
        .out_dir(out.join("ours"))
        .compile_protos(&[proto.join(&file)], std::slice::from_ref(&proto))
        .unwrap_or_else(|e| panic!("{e}"));

    let plain = out.join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path().unwrap());
    tonic_prost_build::configure()
        .out_dir(&plain)
        .emit_rerun_if_changed(false)
        .compile_with_config(config, &[proto.join(&file)], &[proto])
        .unwrap();
}

/// The package's directory, read when the script runs rather than when it was compiled: cargo
/// may reuse a compiled build script for a clone at another path sharing the target directory.
fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}
