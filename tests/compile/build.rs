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
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    // The JSON differential tests read the same files through prost-reflect.
    let set =
        protoc_gen_rs_svc::standalone::descriptor_set(std::slice::from_ref(&testdata), &files)
            .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(out_dir.join("descriptor_set.bin"), set).unwrap();
    // Defaults (plus the embedded descriptor set) at the root; each JSON option set in its own
    // module tree.
    for (dir, parameter) in [
        ("", "file_descriptor_set"),
        (
            "canonical",
            "json_omit_defaults,generate_default_stubs,generate_unbound_methods",
        ),
        (
            "alt",
            "json_proto_names,json_enum_numbers,json_reject_unknown,generate_default_stubs,stream_envelope=grpc_gateway",
        ),
    ] {
        let bytes = protoc_gen_rs_svc::standalone::request(
            std::slice::from_ref(&testdata),
            &files,
            parameter,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let request = protoc_gen_rs_svc::decode(&bytes).unwrap();
        let output = protoc_gen_rs_svc::run(&request).unwrap_or_else(|e| panic!("{e}"));
        for file in output.files {
            let path = out_dir.join(dir).join(&file.name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, file.content).unwrap();
        }
    }
}
