//! A crate that wants only messages with exact JSON builds without the HTTP stack: the normal
//! dependency tree of this crate (rs-svc with `json` alone) has no axum, no hyper server, no
//! rustls and no tonic at all.

use std::process::Command;

/// Crates that only the `http`, `serve` and `dial` features may bring in.
const FORBIDDEN: &[&str] = &[
    "axum",
    "hyper",
    "hyper-util",
    "h2",
    "rustls",
    "tokio-rustls",
    "tonic",
    "tonic-health",
    "tonic-reflection",
    "tokio",
    "tower",
];

#[test]
fn the_json_feature_alone_brings_no_http_stack() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree",
            "-p",
            env!("CARGO_PKG_NAME"),
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).unwrap();
    let names: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(names.contains(&"rs-svc"), "{tree}");
    let found: Vec<&&str> = FORBIDDEN.iter().filter(|f| names.contains(f)).collect();
    assert!(found.is_empty(), "{found:?} in the tree:\n{tree}");
}
