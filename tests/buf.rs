//! `buf generate` with the committed buf.yaml and buf.gen.yaml (a `local:` plugin, inputs on
//! disk, no BSR) writes exactly what standalone mode writes.
//!
//! buf comes from `RS_SVC_BUF` or `PATH`. Without it the test is skipped, unless
//! `RS_SVC_REQUIRE_BUF` is set (CI sets it after installing buf from npm).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn buf() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RS_SVC_BUF") {
        return Some(path.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("buf"))
        .find(|p| p.is_file())
}

#[test]
fn buf_generate_matches_standalone_mode() {
    let Some(buf) = buf() else {
        assert!(
            std::env::var_os("RS_SVC_REQUIRE_BUF").is_none(),
            "RS_SVC_REQUIRE_BUF is set but buf was not found"
        );
        eprintln!("skipped: buf not found (set RS_SVC_BUF or put buf on PATH)");
        return;
    };
    let plugin_dir = Path::new(env!("CARGO_BIN_EXE_protoc-gen-rs-svc"))
        .parent()
        .unwrap()
        .to_owned();
    let path = std::env::join_paths(std::iter::once(plugin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let result = Command::new(&buf)
        .current_dir(common::root())
        .env("PATH", path)
        .env("BUF_CACHE_DIR", out.path().join("cache"))
        .args(["generate", "--template", "buf.gen.yaml", "-o"])
        .arg(out.path().join("root"))
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "buf generate failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );

    let fixtures = common::fixtures();
    let files: Vec<&str> = fixtures.iter().map(String::as_str).collect();
    let expected = common::generate(&files, "").unwrap();
    let written = out.path().join("root/gen/buf");
    let mut count = 0;
    for file in &expected.files {
        let content = std::fs::read_to_string(written.join(&file.name))
            .unwrap_or_else(|e| panic!("buf did not write {}: {e}", file.name));
        assert_eq!(content, file.content, "{} differs", file.name);
        count += 1;
    }
    assert_eq!(
        std::fs::read_dir(&written).unwrap().count(),
        count,
        "buf wrote files standalone mode does not"
    );
}
