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

/// Asserts that every block of JSON impls in a generated Rust file (`file`, its `content`) reads
/// exactly the same after syn and prettyplease, as the rest of the file is printed; returns how
/// many blocks it checked (none in files of other kinds).
pub fn assert_json_blocks_as_prettyplease_prints_them(file: &str, content: &str) -> usize {
    const START: &str = "#[allow(deprecated, unused_imports)]\nconst _: () = {\n";
    if !file.ends_with(".rs") {
        return 0;
    }
    let mut checked = 0;
    let mut rest = content;
    while let Some(start) = rest.find(START) {
        let len = rest[start..].find("\n};\n").expect("a block ends") + 4;
        let block = &rest[start..start + len];
        rest = &rest[start + len..];
        let parsed =
            syn::parse_file(block).unwrap_or_else(|e| panic!("{file} does not parse: {e}"));
        let printed = prettyplease::unparse(&parsed);
        if printed != block {
            let line = printed
                .lines()
                .zip(block.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{file}: a block of JSON impls differs from prettyplease's print at its line {}:\n  \
                 ours: {:?}\n  pp:   {:?}",
                line + 1,
                block.lines().nth(line),
                printed.lines().nth(line)
            );
        }
        checked += 1;
    }
    checked
}
