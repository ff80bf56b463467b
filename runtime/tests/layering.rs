//! The crate's modules depend on each other in one direction only, so each Cargo feature builds
//! on the ones below it: `json` (json, wkt, google) <- `api` <- `http` <- `serve`, and `dial` on
//! `api` beside them, with the HTTP channel (`http-client`) sharing `dial`'s call policy;
//! `metrics` reads the stack's call facts from `http`, and `serve` and `dial` record into it, in
//! parts gated on both features; `telemetry` builds on `serve`, sharing `trace_context` with
//! `dial` and the HTTP channel. Read from the source: every `crate::<module>` path outside
//! comments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level module a source file belongs to (`wkt/any.rs` -> `wkt`, `serve.rs` -> `serve`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_owned()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `module -> modules it names as crate::<name>`, comments and unit tests left out.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let from = module_of(&src, &file);
        if from == "lib" || file.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        // Unit tests may reach anywhere.
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        for line in code.lines() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            for (at, _) in line.match_indices("crate::") {
                let before = line[..at].chars().last();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue; // `rs_svc_crate::`, not ours
                }
                let name: String = line[at + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != from {
                    deps.entry(from.clone()).or_default().insert(name);
                }
            }
        }
    }
    deps
}

#[test]
fn modules_depend_only_on_the_layers_below_them() {
    // What each module may name; `grpc_timeout` is shared by the server side and `dial`.
    let allowed: &[(&str, &[&str])] = &[
        ("json", &[]),
        ("wkt", &["json"]),
        ("google", &["json", "wkt"]),
        ("grpc_timeout", &[]),
        // One trait over the transports: tonic only; the HTTP routes reuse its in-memory
        // framing of client streams. Its per-call options write `grpc-timeout`.
        ("api", &["json", "wkt", "google", "grpc_timeout"]),
        // The HTTP channel (`http-client`, which implies `dial`) shares the dialed channel's
        // call policy and its trace propagation.
        (
            "http",
            &[
                "api",
                "json",
                "wkt",
                "google",
                "grpc_timeout",
                "dial",
                "trace_context",
            ],
        ),
        // The server enters each call's scope (`api::CallScope`) for the calls it makes.
        (
            "serve",
            &[
                "http",
                "api",
                "json",
                "wkt",
                "google",
                "grpc_timeout",
                "metrics",
            ],
        ),
        ("dial", &["api", "grpc_timeout", "metrics", "trace_context"]),
        // The server layer reads the stack's CallInfo (kept with the HTTP routes); the serve
        // builder and dialed channels record into it.
        ("metrics", &["http"]),
        // Tracing calls: what the server's layer and the dial channel share sits below both.
        ("trace_context", &[]),
        ("telemetry", &["serve", "trace_context"]),
        (
            "auth",
            &["serve", "http", "json", "wkt", "google", "grpc_timeout"],
        ),
    ];
    let deps = dependencies();
    let mut wrong = Vec::new();
    for (module, names) in &deps {
        let Some((_, may)) = allowed.iter().find(|(m, _)| m == module) else {
            wrong.push(format!("module `{module}` is not in this test's table"));
            continue;
        };
        for name in names {
            if name.starts_with("__") {
                continue; // the crate's own macros and the codegen module re-export
            }
            if !may.contains(&name.as_str()) {
                wrong.push(format!("`{module}` uses `crate::{name}`"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
