//! Generates the messages of every valid fixture with the plugin library, the same way the
//! standalone command does, into OUT_DIR.

use std::path::{Path, PathBuf};

fn protos(dir: &Path, base: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().unwrap() != "invalid" {
                protos(&path, base, out);
            }
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path.strip_prefix(base).unwrap().to_owned());
        }
    }
}

fn main() {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    println!("cargo:rerun-if-changed={}", testdata.display());
    let mut files = Vec::new();
    protos(&testdata, &testdata, &mut files);
    files.sort();
    let bytes = protoc_gen_rs_svc::standalone::request(&[testdata], &files, "")
        .unwrap_or_else(|e| panic!("{e}"));
    let request = protoc_gen_rs_svc::decode(&bytes).unwrap();
    let output = protoc_gen_rs_svc::run(&request).unwrap_or_else(|e| panic!("{e}"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    for file in output.files {
        let path = out_dir.join(&file.name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, file.content).unwrap();
    }
}
