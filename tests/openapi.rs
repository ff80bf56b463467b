//! Every OpenAPI document the fixtures (and the example) produce passes two real validators:
//! `openapi-spec-validator` (PyPI) and `redocly lint` (npm, recommended rules: no errors).
//! Also the document options: per file or merged, YAML or JSON.
//!
//! The tools come from `RS_SVC_OPENAPI_SPEC_VALIDATOR` / `RS_SVC_REDOCLY`, else from
//! `~/.cache/rs-svc/tools/` where `.ci/run` installs them. Without them the validator test
//! skips, unless `RS_SVC_REQUIRE_OPENAPI_TOOLS=1` (set by CI) makes that a failure.

mod common;

use std::path::PathBuf;
use std::process::Command;

use protoc_gen_rs_svc::{decode, run, standalone, GeneratedFile};

fn tool(env: &str, under_cache: &str) -> Option<PathBuf> {
    let path = match std::env::var_os(env) {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(std::env::var_os("HOME")?)
            .join(".cache/rs-svc/tools")
            .join(under_cache),
    };
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("RS_SVC_REQUIRE_OPENAPI_TOOLS").as_deref() != Ok("1"),
        "{} not found (set {env}); .ci/run installs it",
        path.display()
    );
    eprintln!("skipping: {} not found (set {env})", path.display());
    None
}

fn documents(files: Vec<GeneratedFile>) -> Vec<GeneratedFile> {
    files
        .into_iter()
        .filter(|f| f.name.contains(".openapi."))
        .collect()
}

/// The documents of every run worth validating, as (label, file).
fn all_documents() -> Vec<(String, GeneratedFile)> {
    let fixtures = common::fixtures();
    let files: Vec<&str> = fixtures.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for parameter in [
        "",
        "openapi_merge=api",
        "openapi_format=json",
        "json_proto_names,json_enum_numbers,json_omit_defaults,stream_envelope=grpc_gateway",
        "generate_unbound_methods,openapi_oauth_token_url=https://auth.acme.example/token,openapi_oauth_authorization_url=https://auth.acme.example/authorize",
    ] {
        let output = common::generate(&files, parameter).unwrap();
        out.extend(
            documents(output.files)
                .into_iter()
                .map(|f| (format!("[{parameter}] {}", f.name), f)),
        );
    }
    let example = common::root().join("examples/user-service/proto");
    let bytes =
        standalone::request(&[example], &[PathBuf::from("user/v1/user.proto")], "").unwrap();
    let output = run(&decode(&bytes).unwrap()).unwrap();
    out.extend(
        documents(output.files)
            .into_iter()
            .map(|f| (format!("[example] {}", f.name), f)),
    );
    out
}

fn check(command: &mut Command, label: &str) {
    let shown = format!("{command:?}");
    let output = command.output().unwrap_or_else(|e| panic!("{shown}: {e}"));
    assert!(
        output.status.success(),
        "{label}: {shown} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_document_passes_openapi_spec_validator_and_redocly() {
    let (Some(validator), Some(redocly)) = (
        tool(
            "RS_SVC_OPENAPI_SPEC_VALIDATOR",
            "venv/bin/openapi-spec-validator",
        ),
        tool("RS_SVC_REDOCLY", "redocly/node_modules/.bin/redocly"),
    ) else {
        return;
    };
    let documents = all_documents();
    // Per file, merged, JSON, the JSON options, unbound methods with OAuth, and the example.
    assert!(documents.len() >= 14, "{}", documents.len());
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (n, (label, file)) in documents.iter().enumerate() {
        let path = dir
            .path()
            .join(format!("{n}-{}", file.name.replace('/', "_")));
        std::fs::write(&path, &file.content).unwrap();
        check(Command::new(&validator).arg(&path), label);
        paths.push(path);
    }
    // redocly exits non-zero on any error of its recommended rules (warnings are allowed).
    check(
        Command::new(&redocly)
            .arg("lint")
            .args(&paths)
            .env("REDOCLY_TELEMETRY", "off")
            .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true"),
        "redocly",
    );
}

/// The merged document holds every routed service of the request, once.
#[test]
fn merged_document_holds_every_service() {
    let fixtures = common::fixtures();
    let files: Vec<&str> = fixtures.iter().map(String::as_str).collect();
    let docs = documents(common::generate(&files, "openapi_merge=api").unwrap().files);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].name, "api.openapi.yaml");
    let doc: serde_json::Value = yaml_serde::from_str(&docs[0].content).unwrap();
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        [
            "OrderService",
            "IAMPolicy",
            "OSLogin",
            "HTTPProxy",
            "NoteService",
            "ExtensionService",
            "ValueService",
            "LibraryService",
            "OpsService",
            "KeyTracking",
            "BigQueryRead"
        ]
    );
}

/// `no_openapi` writes no document; `openapi_format=json` writes JSON that parses.
#[test]
fn document_parameters() {
    let files = ["library/v1/library.proto"];
    let none = common::generate(&files, "no_openapi").unwrap();
    assert!(documents(none.files).is_empty());
    let json = documents(
        common::generate(&files, "openapi_format=json")
            .unwrap()
            .files,
    );
    assert_eq!(json[0].name, "library/v1/library.openapi.json");
    let doc: serde_json::Value = serde_json::from_str(&json[0].content).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let versioned = documents(
        common::generate(&files, "openapi_version=2.3.4")
            .unwrap()
            .files,
    );
    assert!(
        versioned[0].content.contains("version: 2.3.4"),
        "{}",
        versioned[0].content
    );
}

fn parsed(files: &[&str], parameter: &str) -> serde_json::Value {
    let docs = documents(common::generate(files, parameter).unwrap().files);
    yaml_serde::from_str(&docs[0].content).unwrap()
}

/// The rules of DESIGN section 8 that a reader checks first, on the fixtures.
#[test]
fn documents_follow_the_proto() {
    let library = parsed(&["library/v1/library.proto"], "");
    let paths = &library["paths"];
    // Expanded from `{name=shelves/*/books/*}` with the names of Book's resource pattern.
    let get = &paths["/v1/shelves/{shelf}/books/{book}"]["get"];
    assert_eq!(get["operationId"], "LibraryService_GetBook");
    assert_eq!(
        paths["/v1/books/{name}"]["get"]["operationId"],
        "LibraryService_GetBook_1"
    );
    // `(-- ... --)` is gone, the first paragraph is the summary.
    let list = &paths["/v1/shelves/{shelf}/books"]["get"];
    assert_eq!(list["summary"], "Lists the books of a shelf.");
    assert_eq!(list["description"], "Every filter is a query parameter.");
    let names: Vec<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "shelf",
        "includeRead",
        "labels",
        "filter.maxCopies",
        "shelfRows",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    // The PATCH body is a Book without the path-bound name.
    let patch = &paths["/v1/shelves/{shelf}/books/{book}"]["patch"];
    let body = &patch["requestBody"]["content"]["application/json"]["schema"]["properties"];
    assert!(
        body.get("name").is_none() && body.get("title").is_some(),
        "{body}"
    );

    let shop = parsed(
        &["acme/shop/v1/shop.proto"],
        "generate_unbound_methods,json_proto_names",
    );
    let legacy = &shop["paths"]["/acme.shop.v1.OrderService/LegacyGetOrder"]["post"];
    assert_eq!(legacy["deprecated"], true, "{legacy}");
    let order = &shop["components"]["schemas"]["acme.shop.v1.Order"];
    assert_eq!(order["properties"]["state"]["readOnly"], true);
    assert_eq!(order["properties"]["idempotency_key"]["writeOnly"], true);
    assert!(order["required"]
        .as_array()
        .unwrap()
        .contains(&"customer".into()));
    assert!(order["oneOf"].is_array(), "{order}");
    assert_eq!(shop["servers"][0]["url"], "https://shop.acme.example:8443");
}
