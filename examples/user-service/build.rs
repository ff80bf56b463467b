//! Generates the service's Rust code and OpenAPI document (`user/v1/user.openapi.yaml`) into
//! OUT_DIR with the plugin library's build-script builder: what
//! `protoc-gen-rs-svc generate -I proto user/v1/user.proto --opt file_descriptor_set` writes.
//! cargo runs this in the package's directory, so `proto` is the package's own.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    protoc_gen_rs_svc::configure()
        .file_descriptor_set(true)
        .compile_protos(&["proto/user/v1/user.proto"], &["proto"])?;
    Ok(())
}
