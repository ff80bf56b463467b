//! Standalone mode on a googleapis checkout (npm google-proto-files 6.0.1): `-I` the tree and
//! generate API directories from it, as `scripts/googleapis.sh` does for every directory.
//!
//! The tree comes from `RS_SVC_GOOGLE_PROTO_FILES`, else from `~/.cache/rs-svc/tools/` where
//! `.ci/run` installs it. Without it the corpus test skips, unless `RS_SVC_REQUIRE_GOOGLEAPIS=1`
//! (set by CI) makes that a failure.

mod common;

use std::path::{Path, PathBuf};

use protoc_gen_rs_svc::{decode, run, standalone, Output};

fn corpus() -> Option<PathBuf> {
    let path = match std::env::var_os("RS_SVC_GOOGLE_PROTO_FILES") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(std::env::var_os("HOME")?)
            .join(".cache/rs-svc/tools/google-proto-files/node_modules/google-proto-files"),
    };
    if path.join("google/cloud").is_dir() {
        return Some(path);
    }
    assert!(
        std::env::var("RS_SVC_REQUIRE_GOOGLEAPIS").as_deref() != Ok("1"),
        "{} not found (set RS_SVC_GOOGLE_PROTO_FILES); .ci/run installs it",
        path.display()
    );
    eprintln!(
        "skipping: {} not found (set RS_SVC_GOOGLE_PROTO_FILES)",
        path.display()
    );
    None
}

/// Every .proto of `dir` (relative to the include path), sorted, as names relative to it.
fn protos(include: &Path, dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(include.join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "proto"))
        .map(|p| p.strip_prefix(include).unwrap().to_owned())
        .collect();
    files.sort();
    files
}

fn generate(include: &Path, files: &[PathBuf]) -> Output {
    let bytes = standalone::request(&[include.to_owned()], files, "")
        .unwrap_or_else(|e| panic!("{files:?} compile: {e}"));
    run(&decode(&bytes).unwrap()).unwrap_or_else(|e| panic!("{files:?}: {e}"))
}

/// A `descriptor.proto` in an include path that protox cannot parse (protobuf 27's extension
/// declarations, as google-proto-files ships it) does not replace the bundled one.
#[test]
fn bundled_well_known_types_win_over_include_paths() {
    let dir = tempfile::tempdir().unwrap();
    let protobuf = dir.path().join("google/protobuf");
    std::fs::create_dir_all(&protobuf).unwrap();
    std::fs::write(
        protobuf.join("descriptor.proto"),
        r#"syntax = "proto2";
package google.protobuf;
message FileOptions {
  extensions 1000 to max [
    declaration = { number: 9990, full_name: ".pb.proto1", type: ".pb.Proto1Features" }
  ];
}
"#,
    )
    .unwrap();
    std::fs::write(protobuf.join("timestamp.proto"), "not a proto file").unwrap();
    std::fs::write(
        dir.path().join("api.proto"),
        r#"syntax = "proto3";
package api;
import "google/api/annotations.proto";
import "google/protobuf/timestamp.proto";
service Clock {
  rpc Now(Req) returns (google.protobuf.Timestamp) { option (google.api.http) = {get: "/v1/now"}; }
}
message Req {}
"#,
    )
    .unwrap();
    let output = generate(dir.path(), &[PathBuf::from("api.proto")]);
    assert!(output.files.iter().any(|f| f.name == "api.rs"));
    assert!(output.warnings.is_empty(), "{:?}", output.warnings);
}

/// API directories of the slice `scripts/googleapis.sh` runs, with the warnings each must give
/// (googleapis' rules beyond http.proto's grammar, or routes that can never be reached).
const DIRECTORIES: &[(&str, &[&str])] = &[
    (
        "google/cloud/kms/inventory/v1",
        &["KeyTrackingService.GetProtectedResourcesSummary: path template \"/v1/{name=projects/*/locations/*/keyRings/*/cryptoKeys/**}/protectedResourcesSummary\": `**` is followed by literal segments"],
    ),
    // v1 and v1beta2 have the same pair, and client-streaming methods with path variables too.
    (
        "google/cloud/bigquery/storage/v1beta1",
        &["BigQueryStorage.SplitReadStream: route `GET /v1beta1/{original_stream.name=projects/*/streams/*}` can never be reached: `GET /v1beta1/{read_position.stream.name=projects/*/streams/*}` of google.cloud.bigquery.storage.v1beta1.BigQueryStorage.ReadRows"],
    ),
    ("google/pubsub/v1", &[]),
    ("google/storage/v2", &[]),
];

#[test]
fn standalone_mode_generates_googleapis_directories() {
    let Some(corpus) = corpus() else { return };
    for (dir, warnings) in DIRECTORIES {
        let output = generate(&corpus, &protos(&corpus, dir));
        assert!(
            output.files.iter().any(|f| f.name.ends_with(".rs")),
            "{dir}: no Rust files"
        );
        // The JSON impls, written as text, read the same after prettyplease on real APIs too.
        let blocks: usize = output
            .files
            .iter()
            .map(|f| common::assert_json_blocks_as_prettyplease_prints_them(&f.name, &f.content))
            .sum();
        assert!(blocks > 0, "{dir}: no JSON impls");
        let got: Vec<String> = output.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(got.len(), warnings.len(), "{dir}: {got:#?}");
        for (got, want) in got.iter().zip(*warnings) {
            assert!(got.contains(want), "{dir}: {want:?} missing from {got}");
        }
    }
}

/// The OpenAPI document of the shapes fixture: a `**` followed by a literal is a path parameter
/// that may hold `/`, before the literal; the route that can never be reached is left out.
#[test]
fn openapi_documents_double_star_before_literals_and_leaves_out_unreachable_routes() {
    let output = common::generate(&["shapes/v1/shapes.proto"], "openapi_format=json").unwrap();
    let doc = output
        .files
        .iter()
        .find(|f| f.name.ends_with(".openapi.json"))
        .expect("an OpenAPI document");
    let doc: serde_json::Value = serde_json::from_str(&doc.content).unwrap();
    let paths = &doc["paths"];
    let summary =
        &paths["/v1/projects/{project}/cryptoKeys/{name}/protectedResourcesSummary"]["get"];
    assert_eq!(
        summary["operationId"], "KeyTracking_GetProtectedResourcesSummary",
        "{paths:#}"
    );
    let name = summary["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "name")
        .unwrap();
    assert!(
        name["description"]
            .as_str()
            .unwrap()
            .contains("may hold several segments separated by `/`"),
        "{name:#}"
    );
    let operations: Vec<&str> = paths
        .as_object()
        .unwrap()
        .values()
        .flat_map(|p| p.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    assert!(
        operations.contains(&"BigQueryRead_ReadRows"),
        "{operations:?}"
    );
    assert!(
        !operations.contains(&"BigQueryRead_SplitReadStream"),
        "{operations:?}"
    );
}
