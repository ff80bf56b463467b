//! Every OpenAPI document the fixtures (and the example) produce passes two real validators:
//! `openapi-spec-validator` (PyPI) and `redocly lint` (npm, recommended rules: no errors), as
//! OpenAPI 3.1 and, with `openapi_version=3.2`, as 3.2 (both tools know 3.2.0; the validator
//! checks against the official 3.2 JSON schema it bundles). Also the document options: per file
//! or merged, YAML or JSON; and what a document cannot hold is a warning, never an error.
//!
//! The tools come from `RS_SVC_OPENAPI_SPEC_VALIDATOR` / `RS_SVC_REDOCLY`, else from
//! `~/.cache/rs-svc/tools/` where `.ci/run` installs them. Without them the validator test
//! skips, unless `RS_SVC_REQUIRE_OPENAPI_TOOLS=1` (set by CI) makes that a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
        "openapi_version=3.2,generate_unbound_methods",
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
    // Per file, merged, JSON, the JSON options, unbound methods with OAuth, OpenAPI 3.2, and
    // the example.
    assert!(documents.len() >= 17, "{}", documents.len());
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
            "Copier",
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
        common::generate(&files, "openapi_info_version=2.3.4")
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

/// The rules of docs/reference.md section 6 that a reader checks first, on the fixtures.
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

const PLUGIN: &str = env!("CARGO_BIN_EXE_protoc-gen-rs-svc");

/// A service with a method OpenAPI 3.1 has no operation for, beside an ordinary one.
const PURGE_PROTO: &str = r#"syntax = "proto3";
package purge.v1;
import "google/api/annotations.proto";
service Cache {
  rpc Purge(Key) returns (Key) {
    option (google.api.http) = {custom: {kind: "PURGE" path: "/v1/{name=keys/*}"}};
  }
  rpc Get(Key) returns (Key) {
    option (google.api.http) = {get: "/v1/{name=keys/*}"};
  }
}
message Key { string name = 1; }
"#;

/// The warning both modes print for PURGE, located at its rule.
const PURGE_WARNING: &str = "protoc-gen-rs-svc: warning: purge/v1/purge.proto:6:5: purge.v1.Cache.Purge: OpenAPI 3.1 has no operation for the HTTP method `PURGE`";

/// Writes the PURGE fixture into a fresh include directory.
fn purge_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("purge/v1")).unwrap();
    std::fs::write(dir.path().join("purge/v1/purge.proto"), PURGE_PROTO).unwrap();
    dir
}

/// Real protoc (protoc-bin-vendored) running the plugin binary on the PURGE fixture.
fn protoc_purge(include: &Path, out: &Path, parameter: &str) -> Output {
    let mut command = Command::new(protoc_bin_vendored::protoc_bin_path().unwrap());
    command
        .arg(format!("--plugin=protoc-gen-rs-svc={PLUGIN}"))
        .arg(format!("--rs-svc_out={}", out.display()))
        .arg("-I")
        .arg(include)
        .arg("-I")
        .arg(common::root().join("proto"))
        .arg("-I")
        .arg(protoc_bin_vendored::include_path().unwrap());
    if !parameter.is_empty() {
        command.arg(format!("--rs-svc_opt={parameter}"));
    }
    command.arg("purge/v1/purge.proto").output().unwrap()
}

fn read_yaml(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    yaml_serde::from_str(&text).unwrap()
}

/// Documentation never blocks code: under protoc a `custom` PURGE rule is a located warning on
/// stderr, the response succeeds with the gRPC and HTTP code, and the 3.1 document leaves the
/// operation out and lists it under `x-rs-svc-omitted`; `openapi_version=3.2` documents it
/// under `additionalOperations`, with no warning, and that document validates as 3.2.
#[test]
fn custom_method_is_a_warning_omitted_from_3_1_and_documented_in_3_2() {
    let include = purge_fixture();
    let out = tempfile::tempdir().unwrap();
    let run = protoc_purge(include.path(), out.path(), "");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains(PURGE_WARNING), "{stderr}");
    assert_eq!(stderr.matches("warning:").count(), 1, "{stderr}");
    // The router still serves PURGE.
    let code = std::fs::read_to_string(out.path().join("purge.v1.rs")).unwrap();
    assert!(
        code.contains("\"PURGE\""),
        "no PURGE route in the generated code"
    );
    let doc = read_yaml(&out.path().join("purge/v1/purge.openapi.yaml"));
    assert_eq!(doc["openapi"], "3.1.0");
    let item = doc["paths"]["/v1/keys/{key}"].as_object().unwrap();
    assert_eq!(item.keys().collect::<Vec<_>>(), ["get"], "{item:?}");
    assert_eq!(
        doc["x-rs-svc-omitted"],
        serde_json::json!([{
            "method": "PURGE",
            "path": "/v1/keys/{key}",
            "operationId": "Cache_Purge",
            "rpc": "purge.v1.Cache.Purge",
            "reason": "OpenAPI 3.1 has no operation for the HTTP method `PURGE` (only GET, PUT, POST, DELETE, OPTIONS, HEAD, PATCH and TRACE)",
        }])
    );

    let out32 = tempfile::tempdir().unwrap();
    let run = protoc_purge(include.path(), out32.path(), "openapi_version=3.2");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let path = out32.path().join("purge/v1/purge.openapi.yaml");
    let doc = read_yaml(&path);
    assert_eq!(doc["openapi"], "3.2.0");
    let item = &doc["paths"]["/v1/keys/{key}"];
    assert_eq!(
        item["additionalOperations"]["PURGE"]["operationId"],
        "Cache_Purge"
    );
    assert_eq!(item["get"]["operationId"], "Cache_Get");
    assert!(doc.get("x-rs-svc-omitted").is_none(), "{doc}");
    // Both real validators know 3.2.
    if let Some(validator) = tool(
        "RS_SVC_OPENAPI_SPEC_VALIDATOR",
        "venv/bin/openapi-spec-validator",
    ) {
        check(
            Command::new(validator).args(["--schema", "3.2"]).arg(&path),
            "3.2 PURGE",
        );
    }
    if let Some(redocly) = tool("RS_SVC_REDOCLY", "redocly/node_modules/.bin/redocly") {
        check(
            Command::new(redocly)
                .arg("lint")
                .arg(&path)
                .env("REDOCLY_TELEMETRY", "off")
                .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true"),
            "redocly 3.2 PURGE",
        );
    }
}

/// Standalone mode prints the same located warning on stderr and writes every file.
#[test]
fn standalone_mode_prints_the_omission_warning() {
    let include = purge_fixture();
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(PLUGIN)
        .arg("generate")
        .arg("-I")
        .arg(include.path())
        .arg(include.path().join("purge/v1/purge.proto"))
        .arg("-o")
        .arg(out.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains(PURGE_WARNING), "{stderr}");
    assert!(out.path().join("purge/v1/purge.openapi.yaml").exists());
}

/// Two operations on one path and method in one document: the second is left out with a
/// warning naming both, and recorded; the first stays.
#[test]
fn second_operation_on_one_path_and_method_is_omitted_and_recorded() {
    let include = tempfile::tempdir().unwrap();
    for (package, host) in [("a", "a.example.com"), ("b", "b.example.com")] {
        std::fs::write(
            include.path().join(format!("{package}.proto")),
            format!(
                r#"syntax = "proto3";
package {package};
import "google/api/annotations.proto";
import "google/api/client.proto";
service Things {{
  option (google.api.default_host) = "{host}";
  rpc Get(R) returns (R) {{ option (google.api.http) = {{get: "/v1/{{name=things/*}}"}}; }}
}}
message R {{ string name = 1; }}
"#
            ),
        )
        .unwrap();
    }
    let bytes = standalone::request(
        &[include.path().to_owned()],
        &[PathBuf::from("a.proto"), PathBuf::from("b.proto")],
        "openapi_merge=api",
    )
    .unwrap();
    let output = run(&decode(&bytes).unwrap()).expect("generation succeeds");
    let warnings: Vec<String> = output.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].starts_with("b.proto:7:")
            && warnings[0].contains(": b.Things.Get: OpenAPI allows one operation per path and method, and `GET /v1/things/{thing}` is already `a.Things_Get`"),
        "{}",
        warnings[0]
    );
    let docs = documents(output.files);
    let doc: serde_json::Value = yaml_serde::from_str(&docs[0].content).unwrap();
    assert_eq!(
        doc["paths"]["/v1/things/{thing}"]["get"]["operationId"],
        "a.Things_Get"
    );
    assert_eq!(doc["x-rs-svc-omitted"][0]["operationId"], "b.Things_Get");
    assert_eq!(doc["x-rs-svc-omitted"][0]["rpc"], "b.Things.Get");
}

/// `openapi_version` is the OpenAPI Specification version; the API's version moved to
/// `openapi_info_version`, and an old-style value says so.
#[test]
fn openapi_version_takes_the_specification_version() {
    let files = ["library/v1/library.proto"];
    for (parameter, openapi) in [
        ("", "3.1.0"),
        ("openapi_version=3.1", "3.1.0"),
        ("openapi_version=3.2", "3.2.0"),
        ("openapi_version=3.2.0", "3.2.0"),
    ] {
        assert_eq!(parsed(&files, parameter)["openapi"], openapi, "{parameter}");
    }
    match common::generate(&files, "openapi_version=2.3.4") {
        Err(protoc_gen_rs_svc::Error::Invalid(errors)) => {
            assert!(errors[0].contains("`openapi_info_version`"), "{errors:?}")
        }
        other => panic!("expected a parameter error, got {other:?}"),
    }
}

/// Methods binding one member of a oneof by the path or the body field: the runtime refuses a
/// second member (docs/reference.md section 4), so the document offers the others neither as query
/// parameters nor in the body.
const ONEOF_PROTO: &str = r#"syntax = "proto3";
package choice.v1;
import "google/api/annotations.proto";
service Choices {
  rpc NestedBody(Outer) returns (Outer) {
    option (google.api.http) = {post: "/v1/nested/{key}" body: "inner.note"};
  }
  rpc PathMember(Inner) returns (Inner) {
    option (google.api.http) = {get: "/v1/path/{id}"};
  }
  rpc PathMemberWithBody(Inner) returns (Inner) {
    option (google.api.http) = {post: "/v1/path/{id}" body: "*"};
  }
  rpc PathIntoMember(Inner) returns (Inner) {
    option (google.api.http) = {post: "/v1/into/{note.text}" body: "*"};
  }
}
message Outer {
  string key = 1;
  Inner inner = 2;
}
message Inner {
  oneof value {
    Note note = 1;
    string text = 2;
    string id = 3;
  }
  int32 priority = 4;
}
message Note { string text = 1; }
"#;

#[test]
fn a_oneof_member_bound_by_the_path_or_body_takes_its_siblings_out_of_reach() {
    let include = tempfile::tempdir().unwrap();
    std::fs::write(include.path().join("choice.proto"), ONEOF_PROTO).unwrap();
    let bytes = standalone::request(
        &[include.path().to_owned()],
        &[PathBuf::from("choice.proto")],
        "",
    )
    .unwrap();
    let docs = documents(run(&decode(&bytes).unwrap()).unwrap().files);
    let doc: serde_json::Value = yaml_serde::from_str(&docs[0].content).unwrap();
    let query = |path: &str, method: &str| -> Vec<String> {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let body = |path: &str| -> Vec<String> {
        let schema =
            &doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"];
        schema["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{path}: {schema}"))
            .keys()
            .cloned()
            .collect()
    };
    // (rule, what the client may send, expected)
    let cases = [
        (
            "the body field `inner.note` is set: `inner.text` and `inner.id` are not",
            query("/v1/nested/{key}", "post"),
            vec!["inner.priority"],
        ),
        (
            "the path sets `id`: `text` and `note` are not query parameters",
            query("/v1/path/{id}", "get"),
            vec!["priority"],
        ),
        (
            "the path sets `id`: the body holds neither `text` nor `note`",
            body("/v1/path/{id}"),
            vec!["priority"],
        ),
        (
            "the path sets `note.text`, so `note`: the body holds neither `text` nor `id`",
            body("/v1/into/{note.text}"),
            vec!["note", "priority"],
        ),
    ];
    for (rule, sent, expected) in cases {
        assert_eq!(sent, expected, "{rule}");
    }
}
