//! grpc-gateway's own example protos (`examples/internal/proto/examplepb`, the kitchen sink a
//! team migrating from grpc-gateway tries first) generate, one protoc run per file as
//! grpc-gateway's own build runs them.
//!
//! The protos are another project's and are never committed: point `RS_SVC_GRPC_GATEWAY_EXAMPLES`
//! at a checkout of github.com/grpc-ecosystem/grpc-gateway (its root, or its examplepb
//! directory): v2 keeps them in `examples/internal/proto/examplepb`, v1 (as Debian's
//! golang-github-grpc-ecosystem-grpc-gateway-dev ships it, under
//! /usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway) in `examples/proto/examplepb`.
//! v2's import `google/api/visibility.proto`, which is not bundled: set
//! `RS_SVC_GOOGLE_PROTO_FILES` to a googleapis tree (npm google-proto-files) for that one file.
//! Without the checkout the test skips.

use std::path::PathBuf;
use std::process::Command;

const PLUGIN: &str = env!("CARGO_BIN_EXE_protoc-gen-rs-svc");

/// The checkout's root and its examplepb directory (relative), from the variable (the root
/// itself or its examplepb directory).
fn checkout() -> Option<(PathBuf, &'static str)> {
    let Some(path) = std::env::var_os("RS_SVC_GRPC_GATEWAY_EXAMPLES") else {
        eprintln!("skipping: set RS_SVC_GRPC_GATEWAY_EXAMPLES to a grpc-gateway checkout");
        return None;
    };
    let path = PathBuf::from(path);
    for examples in EXAMPLES {
        let depth = examples.split('/').count();
        let root = if path.ends_with(examples) {
            path.ancestors().nth(depth).unwrap().to_owned()
        } else {
            path.clone()
        };
        if root.join(examples).is_dir() {
            return Some((root, examples));
        }
    }
    panic!("{} has none of {EXAMPLES:?}", path.display());
}

/// Where v2, then v1, keeps the example protos.
const EXAMPLES: [&str; 2] = [
    "examples/internal/proto/examplepb",
    "examples/proto/examplepb",
];

#[test]
fn every_grpc_gateway_example_proto_generates() {
    let Some((root, examples)) = checkout() else {
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(examples))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "proto"))
        .collect();
    files.sort();
    let protoc = protoc_bin_vendored::protoc_bin_path().unwrap();
    let wkt = protoc_bin_vendored::include_path().unwrap();
    let bundled = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("proto");
    let googleapis = std::env::var_os("RS_SVC_GOOGLE_PROTO_FILES").map(PathBuf::from);
    let (mut generated, mut failed) = (0, Vec::new());
    for file in &files {
        let out = tempfile::tempdir().unwrap();
        let mut command = Command::new(&protoc);
        command
            .arg(format!("--plugin=protoc-gen-rs-svc={PLUGIN}"))
            .arg(format!("--rs-svc_out={}", out.path().display()))
            .arg("-I")
            .arg(&root)
            .arg("-I")
            .arg(&bundled);
        if let Some(googleapis) = &googleapis {
            command.arg("-I").arg(googleapis);
        }
        let output = command
            .arg("-I")
            .arg(&wkt)
            .arg(file.strip_prefix(&root).unwrap())
            .current_dir(&root)
            .output()
            .unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        // The edition 2023 file (opaque.proto) included: it is lowered to proto3.
        if output.status.success() {
            generated += 1;
        } else {
            failed.push((name, stderr));
        }
    }
    eprintln!(
        "{generated} of {} grpc-gateway example protos generate",
        files.len()
    );
    assert!(
        failed.is_empty(),
        "{} of {} fail:\n{}",
        failed.len(),
        files.len(),
        failed
            .iter()
            .map(|(n, e)| format!("{n}: {e}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
