//! The build-script builder writes exactly what the standalone command writes for the same
//! .proto files and parameters.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use protoc_gen_rs_svc::Builder;

const PLUGIN: &str = env!("CARGO_BIN_EXE_protoc-gen-rs-svc");

/// Every file under `dir`, by path relative to it.
fn files(dir: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, base, out);
            } else {
                let name = path.strip_prefix(base).unwrap().display().to_string();
                out.insert(name, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn builder_output_is_the_standalone_commands() {
    let cases: [(&[&str], Builder); 3] = [
        (
            &["file_descriptor_set"],
            protoc_gen_rs_svc::configure().file_descriptor_set(true),
        ),
        (
            &[
                "no_client",
                "openapi_format=json",
                "flat_output_dir=false",
                "include_file=protos.rs",
            ],
            protoc_gen_rs_svc::configure()
                .build_client(false)
                .parameter("openapi_format=json")
                .parameter("flat_output_dir=false")
                .include_file("protos.rs"),
        ),
        (
            &[
                "json_omit_defaults",
                "generate_default_stubs",
                "generate_unbound_methods",
                "no_openapi",
            ],
            protoc_gen_rs_svc::configure()
                .parameter("json_omit_defaults")
                .generate_default_stubs(true)
                .generate_unbound_methods(true)
                .openapi(false),
        ),
    ];
    let testdata = common::testdata();
    let fixtures = common::fixtures();
    for (opts, builder) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (command_out, builder_out) = (dir.path().join("command"), dir.path().join("builder"));

        let mut command = std::process::Command::new(PLUGIN);
        command
            .arg("generate")
            .arg("-I")
            .arg(&testdata)
            .arg("-o")
            .arg(&command_out);
        for opt in opts {
            command.arg("--opt").arg(opt);
        }
        let status = command
            .args(&fixtures)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{opts:?}");

        // Files as paths on disk here, as names relative to the include path above.
        let paths: Vec<_> = fixtures.iter().map(|f| testdata.join(f)).collect();
        builder
            .out_dir(&builder_out)
            .emit_rerun_if_changed(false)
            .emit_warnings(false)
            .compile_protos(&paths, std::slice::from_ref(&testdata))
            .unwrap();

        let (expected, written) = (files(&command_out), files(&builder_out));
        assert_eq!(
            written.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{opts:?}"
        );
        for (name, content) in &expected {
            assert!(written[name] == *content, "{opts:?}: {name} differs");
        }
    }
}
