//! Ground truth: real protoc (protoc-bin-vendored) runs the plugin binary, and what it writes is
//! byte-identical to standalone mode's output. Also the binary's own edges: bad stdin,
//! --version, --help, and a malformed rule failing protoc with a located message.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const PLUGIN: &str = env!("CARGO_BIN_EXE_protoc-gen-rs-svc");

fn protoc(out: &Path, parameter: &str, files: &[String]) -> Output {
    let protoc = protoc_bin_vendored::protoc_bin_path().unwrap();
    let include = protoc_bin_vendored::include_path().unwrap();
    let mut cmd = Command::new(protoc);
    cmd.arg(format!("--plugin=protoc-gen-rs-svc={PLUGIN}"))
        .arg(format!("--rs-svc_out={}", out.display()))
        .arg("-I")
        .arg(common::testdata())
        .arg("-I")
        .arg(common::root().join("proto"))
        .arg("-I")
        .arg(include);
    if !parameter.is_empty() {
        cmd.arg(format!("--rs-svc_opt={parameter}"));
    }
    cmd.args(files).output().unwrap()
}

#[test]
fn protoc_output_is_identical_to_standalone_output() {
    let fixtures = common::fixtures();
    let files: Vec<&str> = fixtures.iter().map(String::as_str).collect();
    for parameter in ["", "flat_output_dir=false,include_file=gen/lib.rs"] {
        let dir = tempfile::tempdir().unwrap();
        let out = protoc(dir.path(), parameter, &fixtures);
        assert!(
            out.status.success(),
            "protoc failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected = common::generate(&files, parameter).unwrap();
        assert!(!expected.files.is_empty());
        for file in &expected.files {
            let written = std::fs::read_to_string(dir.path().join(&file.name))
                .unwrap_or_else(|e| panic!("protoc did not write {}: {e}", file.name));
            assert_eq!(written, file.content, "{} differs ({parameter})", file.name);
        }
    }
}

#[test]
fn malformed_rule_makes_protoc_fail_with_a_located_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = protoc(dir.path(), "", &["invalid/bad_rules.proto".to_owned()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid/bad_rules.proto:12:") && stderr.contains("Broken.Unclosed"),
        "{stderr}"
    );
}

fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(PLUGIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn garbage_on_stdin_is_one_line_on_stderr_and_exit_1() {
    for input in [
        &b""[..],
        b"this is not a protobuf message\n",
        &[0xff, 0xff, 0xff],
    ] {
        let out = run_with_stdin(&[], input);
        assert_eq!(out.status.code(), Some(1), "{input:?}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("protoc-gen-rs-svc: "), "{stderr}");
    }
}

#[test]
fn version_and_help() {
    let out = run_with_stdin(&["--version"], b"");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("protoc-gen-rs-svc {}", env!("CARGO_PKG_VERSION"))
    );
    let out = run_with_stdin(&["--help"], b"");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("protoc --plugin=protoc-gen-rs-svc"), "{help}");
    assert!(help.contains("generate"), "{help}");
    // It says everything a run writes.
    for output in [
        "prost messages",
        "proto3 JSON",
        "tonic servers and clients",
        "dial helpers",
        "HTTP/JSON routes",
        "OpenAPI",
    ] {
        assert!(help.contains(output), "{output:?} missing from {help}");
    }
}

/// Runs `protoc-gen-rs-svc generate ARGS -o <temp dir>` in `cwd`.
fn standalone(cwd: &Path, args: &[&str]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(PLUGIN)
        .current_dir(cwd)
        .arg("generate")
        .args(args)
        .arg("-o")
        .arg(dir.path())
        .output()
        .unwrap();
    (out, dir)
}

fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn standalone_command_writes_and_lists_files() {
    let (out, _dir) = standalone(
        &common::root(),
        &["-I", "testdata", "testdata/acme/shop/v1/shop.proto"],
    );
    assert_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let listed: Vec<&str> = stdout.lines().collect();
    // The package's Rust file, the include file and the OpenAPI document.
    assert_eq!(listed.len(), 3, "{stdout}");
    assert!(
        listed[2].ends_with("acme/shop/v1/shop.openapi.yaml"),
        "{stdout}"
    );
    for path in listed {
        assert!(Path::new(path).is_file(), "{path}");
    }
}

#[test]
fn standalone_command_reports_rule_errors_and_fails() {
    let (out, dir) = standalone(
        &common::root(),
        &["-I", "testdata", "invalid/bad_rules.proto"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error(s):"), "{stderr}");
    assert!(stderr.contains("invalid/bad_rules.proto:12:"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn standalone_command_defaults_to_the_current_directory_like_protoc() {
    let (out, dir) = standalone(&common::testdata(), &["library/v1/library.proto"]);
    assert_success(&out);
    assert!(dir.path().join("library.v1.rs").is_file());
}
