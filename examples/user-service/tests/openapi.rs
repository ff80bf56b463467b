//! The example's OpenAPI document against the running server: what the document promises
//! (paths, parameter names, body shapes, response schemas) is what the HTTP routes do.
//!
//! Requests are built from the document alone (operation ids, parameter names and schemas),
//! and every response is validated against the schema the document gives for its status.
//! `schemathesis_finds_nothing` then lets schemathesis generate requests from the same
//! document; it skips without the tool unless `RS_SVC_REQUIRE_OPENAPI_TOOLS=1` (set by CI).

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use rs_svc::http::Docs;
use serde_json::{json, Value};
use tokio_stream::StreamExt as _;
use user_service_example::OPENAPI_YAML;

/// Serves the HTTP routes and, beside them, the document at `/openapi.yaml`, as the
/// `user-service` binary does; returns the address and the document as served.
async fn start() -> (SocketAddr, Value) {
    let addr = common::start_http(Docs::yaml(OPENAPI_YAML).into_router()).await;
    let served = reqwest::get(format!("http://{addr}/openapi.yaml"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = yaml_serde::from_str(&served).expect("the served document is YAML");
    (addr, doc)
}

/// The path, method and operation object of an operation id.
fn operation<'a>(doc: &'a Value, id: &str) -> (String, reqwest::Method, &'a Value) {
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["operationId"] == id {
                return (path.clone(), method.to_uppercase().parse().unwrap(), op);
            }
        }
    }
    panic!("no operation {id} in the document")
}

/// The names of an operation's parameters in `location`.
fn parameters(op: &Value, location: &str) -> Vec<String> {
    op["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["in"] == location)
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Checks `instance` against `schema`, resolving `$ref`s into the document's components.
fn assert_valid(doc: &Value, schema: &Value, instance: &Value, what: &str) {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "allOf": [schema],
        "components": doc["components"],
    });
    let validator = jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{what}: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: {instance} breaks the document: {errors:?}"
    );
}

/// The schema of a response: the operation's own for `status`, else `default` (by reference).
fn response_schema<'a>(doc: &'a Value, op: &'a Value, status: u16, media: &str) -> &'a Value {
    let mut response = op["responses"]
        .get(status.to_string())
        .unwrap_or(&op["responses"]["default"]);
    if let Some(reference) = response["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        response = &doc["components"]["responses"][name];
    }
    let schema = &response["content"][media]["schema"];
    assert!(!schema.is_null(), "no {media} schema for {status}");
    schema
}

/// Sends a request for an operation, filling path parameters in document order, and checks
/// the JSON answer against the document. Returns status and body.
async fn call(
    doc: &Value,
    addr: SocketAddr,
    id: &str,
    path_values: &[&str],
    query: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let (mut path, method, op) = operation(doc, id);
    let names = parameters(op, "path");
    assert_eq!(
        names.len(),
        path_values.len(),
        "{id} path parameters {names:?}"
    );
    for (name, value) in names.iter().zip(path_values) {
        path = path.replace(&format!("{{{name}}}"), value);
    }
    let documented = parameters(op, "query");
    for (name, _) in query {
        assert!(
            documented.contains(&name.to_string()),
            "{id}: `{name}` not in {documented:?}"
        );
    }
    let mut request = reqwest::Client::new()
        .request(method, format!("http://{addr}{path}"))
        .query(query);
    if let Some(body) = body {
        let schema = &op["requestBody"]["content"]["application/json"]["schema"];
        assert_valid(doc, schema, &body, &format!("{id} request"));
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    let schema = response_schema(doc, op, status, "application/json");
    assert_valid(doc, schema, &body, &format!("{id} {status} response"));
    (status, body)
}

#[tokio::test]
async fn the_document_describes_what_the_routes_do() {
    let (addr, doc) = start().await;
    let user = |name: &str| json!({"displayName": name.to_uppercase(), "email": format!("{name}@example.com")});
    for name in ["ada", "bob", "cy"] {
        let (status, body) = call(
            &doc,
            addr,
            "UserService_CreateUser",
            &[],
            &[("userId", name)],
            Some(user(name)),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["name"], format!("users/{name}"));
    }
    // The expanded path parameter `{user}` is the last segment of `name`.
    let (status, body) = call(&doc, addr, "UserService_GetUser", &["bob"], &[], None).await;
    assert_eq!((status, &body["email"]), (200, &json!("bob@example.com")));
    // The documented query parameters are the ones the router binds.
    let (status, body) = call(
        &doc,
        addr,
        "UserService_ListUsers",
        &[],
        &[("pageSize", "2")],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["users"].as_array().unwrap().len(), 2, "{body}");
    let token = body["nextPageToken"].as_str().unwrap().to_owned();
    let (_, body) = call(
        &doc,
        addr,
        "UserService_ListUsers",
        &[],
        &[("pageToken", &token)],
        None,
    )
    .await;
    assert_eq!(body["users"][0]["name"], "users/cy");
    // Errors are the documented google.rpc.Status.
    let (status, body) = call(&doc, addr, "UserService_GetUser", &["nobody"], &[], None).await;
    assert_eq!((status, &body["code"]), (404, &json!(5)));
    let (status, body) = call(
        &doc,
        addr,
        "UserService_CreateUser",
        &[],
        &[("userId", "dee")],
        Some(json!({"email": "no-at-sign"})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["details"][0]["@type"],
        "type.googleapis.com/google.rpc.BadRequest"
    );
}

#[tokio::test]
async fn streamed_lines_match_the_documented_item_schema() {
    let (addr, doc) = start().await;
    let (_, _, create) = operation(&doc, "UserService_CreateUser");
    assert!(create["requestBody"]["content"]["application/json"].is_object());
    let client = reqwest::Client::new();
    let created = client
        .post(format!("http://{addr}/v1/users?userId=eve"))
        .body(r#"{"email": "eve@example.com"}"#)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let (path, _, op) = operation(&doc, "UserService_WatchUsers");
    let item = response_schema(&doc, op, 200, "application/x-ndjson");
    let mut response = client
        .get(format!("http://{addr}{path}"))
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let mut buffered = Vec::new();
    while !buffered.contains(&b'\n') {
        buffered.extend_from_slice(&response.next().await.unwrap().unwrap());
    }
    let line = buffered.split(|b| *b == b'\n').next().unwrap();
    let event: Value = serde_json::from_slice(line).unwrap();
    assert_valid(&doc, item, &event, "WatchUsers line");
    assert_eq!(event["user"]["name"], "users/eve");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing() {
    let Some(tool) = common::venv_tool(
        "RS_SVC_SCHEMATHESIS",
        "schemathesis",
        "RS_SVC_REQUIRE_OPENAPI_TOOLS",
    ) else {
        return;
    };
    let (addr, _) = start().await;
    // One user, so WatchUsers has a first message before its deadline (an empty watch that
    // times out is a 504, which schemathesis counts as a server error).
    let created = reqwest::Client::new()
        .post(format!("http://{addr}/v1/users?userId=seed"))
        .header("content-type", "application/json")
        .body(r#"{"email": "seed@example.com"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    // The document as the server serves it.
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemathesis.toml");
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(tool);
    command
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("http://{addr}/openapi.yaml"))
        .arg("--url")
        .arg(format!("http://{addr}"))
        .current_dir(dir.path());
    let output = common::run(command).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    // It did test every operation.
    assert!(stdout.contains("Tested: 6"), "{stdout}");
}
