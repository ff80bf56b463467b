//! Edition 2023 through real protoc (protoc-bin-vendored): protoc sends edition files only to
//! a plugin that declares editions, files whose features have a proto2 or proto3 equivalent
//! generate, and a feature that has none is a located error, never a crash.
//!
//! The fixtures live in tests/editions, not testdata/: standalone mode compiles with protox
//! 0.10, which does not parse editions. tests/compile builds and round-trips the generated code.

mod common;

use std::path::Path;
use std::process::Output;

const PLUGIN: &str = env!("CARGO_BIN_EXE_protoc-gen-rs-svc");

fn protoc(out: &Path, files: &[&str]) -> Output {
    std::process::Command::new(protoc_bin_vendored::protoc_bin_path().unwrap())
        .arg(format!("--plugin=protoc-gen-rs-svc={PLUGIN}"))
        .arg(format!("--rs-svc_out={}", out.display()))
        .arg("-I")
        .arg(common::root().join("tests/editions"))
        .arg("-I")
        .arg(common::root().join("proto"))
        .arg("-I")
        .arg(protoc_bin_vendored::include_path().unwrap())
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn edition_2023_files_with_proto2_or_proto3_equivalents_generate() {
    let dir = tempfile::tempdir().unwrap();
    let out = protoc(
        dir.path(),
        &["editions/v1/items.proto", "editions/v1/legacy.proto"],
    );
    assert!(
        out.status.success(),
        "protoc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = std::fs::read_to_string(dir.path().join("editions.v1.rs")).unwrap();
    for expected in [
        // explicit presence (proto3 `optional`) and implicit presence (plain)
        "pub count: ::core::option::Option<i32>",
        "pub total: i64",
        // expanded encoding
        "#[prost(sint64, repeated, packed = \"false\", tag = \"7\")]",
        // LEGACY_REQUIRED is proto2 `required`, `[default]` kept
        "#[prost(string, required, tag = \"3\")]",
        "#[prost(int32, optional, tag = \"2\", default = \"7\")]",
        // the HTTP rule (an extension option) survived
        "pub mod item_service_http",
    ] {
        assert!(code.contains(expected), "{expected} missing from:\n{code}");
    }
}

#[test]
fn edition_features_with_no_proto2_or_proto3_equivalent_are_located_errors() {
    let cases = [
        (
            "invalid/mixed.proto",
            "invalid/mixed.proto:12:3: editions.invalid.Mixed.kind: a field of a closed enum has \
             no proto2 or proto3 equivalent together with `field_presence = IMPLICIT` \
             (editions.invalid.Mixed.plain at invalid/mixed.proto:13:3)",
        ),
        (
            "invalid/delimited.proto",
            "invalid/delimited.proto:10:3: editions.invalid.Outer.inner: `message_encoding = \
             DELIMITED` (group encoding) cannot be lowered",
        ),
    ];
    for (file, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        let out = protoc(dir.path(), &[file]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{file}");
        assert!(stderr.contains(message), "{file}: {stderr}");
        assert!(!stderr.contains("panicked"), "{file}: {stderr}");
    }
}
