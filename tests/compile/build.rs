//! Generates every valid fixture into OUT_DIR with the plugin library's build-script builder
//! (what the standalone command writes), three times with different parameters; and the
//! edition 2023 fixtures through protoc.

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

/// A CodeGeneratorRequest whose files stay raw bytes (edition features and all).
#[derive(Clone, PartialEq, prost::Message)]
struct RawRequest {
    #[prost(string, repeated, tag = "1")]
    file_to_generate: Vec<String>,
    #[prost(string, optional, tag = "2")]
    parameter: Option<String>,
    #[prost(bytes = "vec", repeated, tag = "15")]
    proto_file: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawFileSet {
    #[prost(bytes = "vec", repeated, tag = "1")]
    file: Vec<Vec<u8>>,
}

/// The edition 2023 fixtures (tests/editions; protox cannot parse editions, so protoc compiles
/// them) generated into OUT_DIR/editions, with protoc's descriptors beside them for the tests.
fn editions(out_dir: &Path) {
    let dir = manifest_dir().join("../editions");
    println!("cargo:rerun-if-changed={}", dir.display());
    let files = ["editions/v1/items.proto", "editions/v1/legacy.proto"];
    let set_path = out_dir.join("editions_set.bin");
    let status = std::process::Command::new(protoc_bin_vendored::protoc_bin_path().unwrap())
        .arg("-I")
        .arg(&dir)
        .arg("-I")
        .arg(manifest_dir().join("../../proto"))
        .arg("-I")
        .arg(protoc_bin_vendored::include_path().unwrap())
        .arg("--include_imports")
        .arg("--include_source_info")
        .arg(format!("--descriptor_set_out={}", set_path.display()))
        .args(files)
        .status()
        .unwrap();
    assert!(status.success(), "protoc failed on the editions fixtures");
    let set = <RawFileSet as prost::Message>::decode(&*std::fs::read(&set_path).unwrap()).unwrap();
    let request = RawRequest {
        file_to_generate: files.map(str::to_owned).to_vec(),
        // The lowered descriptors, for the tests' prost-reflect comparison.
        parameter: Some("file_descriptor_set".to_owned()),
        proto_file: set.file,
    };
    let request = protoc_gen_rs_svc::decode(&prost::Message::encode_to_vec(&request))
        .unwrap_or_else(|e| panic!("{e}"));
    let output = protoc_gen_rs_svc::run(&request).unwrap_or_else(|e| panic!("{e}"));
    for file in output.files {
        let path = out_dir.join("editions").join(&file.name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, file.content).unwrap();
    }
}

fn main() {
    // The builder prints a line for every fixture it reads; the directory's own line is for
    // the list of fixtures, which a new file changes.
    let testdata = manifest_dir().join("../../testdata");
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
    editions(&out_dir);
    well_known_paths(&out_dir);
    // Defaults (plus the embedded descriptor set) at the root; each JSON option set in its own
    // module tree. The fixtures' warnings are deliberate (tests/golden.rs checks them).
    let configure = || protoc_gen_rs_svc::configure().emit_warnings(false);
    let builds = [
        ("", configure().file_descriptor_set(true)),
        (
            "canonical",
            configure()
                .parameter("json_omit_defaults")
                .generate_default_stubs(true)
                .generate_unbound_methods(true),
        ),
        (
            "alt",
            configure()
                .parameter("json_proto_names")
                .parameter("json_enum_numbers")
                .parameter("json_reject_unknown")
                .generate_default_stubs(true)
                .parameter("stream_envelope=grpc_gateway"),
        ),
    ];
    for (dir, builder) in builds {
        builder
            .out_dir(out_dir.join(dir))
            .compile_protos(&files, std::slice::from_ref(&testdata))
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The package's directory, read when the script runs rather than when it was compiled: cargo
/// may reuse a compiled build script for a clone at another path sharing the target directory.
fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}

/// `OUT_DIR/well_known_paths.rs`: a function naming every runtime path the plugin writes for a
/// well-known type (`WellKnown::runtime_path`), with the JSON traits generated code relies on,
/// so a path the runtime does not have, or a type without them, fails this crate's build
/// (tests/well_known_paths.rs).
fn well_known_paths(out_dir: &Path) {
    use protoc_gen_rs_svc::model::WellKnown;
    let mut code = String::from(
        "/// Every runtime path the plugin writes for a well-known type, and how many.\n\
         pub fn well_known_paths() -> usize {\n\
         fn json<T: ::serde::Serialize + ::serde::de::DeserializeOwned>() {}\n\
         fn message<T: ::prost::Message + ::prost::Name + Default>() {}\n",
    );
    let mut count = 0;
    for known in WellKnown::ALL {
        let Some(path) = known.runtime_path() else {
            continue;
        };
        count += 1;
        code.push_str(&format!("json::<{path}>();\n"));
        if known != WellKnown::NullValue {
            code.push_str(&format!("message::<{path}>();\n"));
        }
    }
    code.push_str(&format!("{count}\n}}\n"));
    std::fs::write(out_dir.join("well_known_paths.rs"), code).unwrap();
}
