//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use protoc_gen_rs_svc::{decode, run, standalone, Error, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn testdata() -> PathBuf {
    root().join("testdata")
}

/// The valid fixtures: every .proto under testdata/ except testdata/invalid, as names
/// relative to testdata/, sorted.
pub fn fixtures() -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().unwrap() != "invalid" {
                    walk(&path, base, out);
                }
            } else if path.extension().is_some_and(|e| e == "proto") {
                let rel = path.strip_prefix(base).unwrap();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(&testdata(), &testdata(), &mut out);
    out.sort();
    out
}

/// Runs standalone mode on `files` (relative to testdata/) with `parameter`.
pub fn generate(files: &[&str], parameter: &str) -> Result<Output, Error> {
    let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    let bytes = standalone::request(&[testdata()], &files, parameter)
        .unwrap_or_else(|e| panic!("fixtures compile: {e}"));
    run(&decode(&bytes).unwrap())
}
