//! Every generation-time check of docs/reference.md section 2: located, named, with a fix, and all
//! reported together.

mod common;

use protoc_gen_rs_svc::Error;

const FILE: &str = "invalid/bad_rules.proto";

fn errors(parameter: &str) -> Vec<String> {
    match common::generate(&[FILE], parameter) {
        Err(Error::Invalid(errors)) => errors,
        other => panic!("expected errors, got {other:?}"),
    }
}

/// The 1-based line range of `rpc <method>(` up to the next rpc in the fixture.
fn method_lines(method: &str) -> std::ops::Range<u32> {
    let text = std::fs::read_to_string(common::testdata().join(FILE)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with(&format!("rpc {method}(")))
        .unwrap_or_else(|| panic!("no rpc {method}"));
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with("rpc ") || l.starts_with('}'))
        .map_or(lines.len(), |p| start + 1 + p);
    (start as u32 + 1)..(end as u32 + 1)
}

/// (method, words its error must contain)
const CASES: &[(&str, &[&str])] = &[
    ("Unclosed", &["\"/v1/{name\"", "not closed"]),
    ("TrailingSlash", &["\"/v1/books/\"", "trailing"]),
    ("Nested", &["\"/v1/{name={id}}\"", "nest"]),
    (
        "DoubleStarNotLast",
        &["\"/v1/**/{name}\"", "`**` is followed by a variable"],
    ),
    ("BadLiteral", &["\"/v1/a b\""]),
    ("EmptySegment", &["\"/v1//x\"", "empty"]),
    ("NoLeadingSlash", &["\"v1/books\"", "/"]),
    (
        "UnknownPathField",
        &[
            "`nme`",
            "invalid.v1.Req has no field",
            "its fields are name, id",
        ],
    ),
    (
        "UnknownBodyField",
        &["body \"payload\"", "no field `payload`"],
    ),
    (
        "NestedBodyField",
        &["body \"name.id\"", "`name` is not a singular message"],
    ),
    (
        "UnknownResponseBody",
        &["response_body \"result\"", "no field `result`"],
    ),
    ("RepeatedInPath", &["repeated field `inners`"]),
    ("MapInPath", &["map field `labels`"]),
    (
        "MessageInPath",
        &[
            "`inner`, of message type invalid.v1.Inner",
            "`inner.<field>`",
        ],
    ),
    ("ScalarHasNoFields", &["`name` is not a message"]),
    (
        "NestedAdditional",
        &["additional_bindings inside additional_bindings"],
    ),
    ("StreamWithFieldBody", &["client-streaming", "body: \"*\""]),
    (
        "VerbWithEmptyPart",
        &["the verb `a::b` has an empty part", "`/v1/{name}:a:b`"],
    ),
    (
        "NoPattern",
        &[
            "sets no method and path",
            "get, put, post, delete, patch or custom",
        ],
    ),
    ("BadCustomKind", &["custom kind \"GET POST\""]),
    (
        "BodyAlsoInPath",
        &["body \"name\" is also bound by path variable `name`"],
    ),
];

/// Route collisions: warnings by default (the router still serves every request, through the
/// route registered first), errors with `strict_http_rules`.
const STRICT_CASES: &[(&str, &[&str])] = &[
    (
        "Duplicate",
        &[
            "`GET /v1/things/{name}` is declared twice",
            "invalid.v1.Broken.First at invalid/bad_rules.proto:",
            "invalid.v1.Broken.First serves every such request (the router keeps the first registered",
            "(an error because of strict_http_rules)",
        ],
    ),
    (
        "Shadowed",
        &[
            "`GET /v1/things/{id}` can never be reached",
            "`GET /v1/things/{name}` of invalid.v1.Broken.First",
            "invalid.v1.Broken.First serves every such request",
        ],
    ),
];

#[test]
fn every_rule_mistake_is_reported_with_location_element_and_fix() {
    check_cases(&errors(""), CASES);
}

#[test]
fn route_collisions_are_errors_with_strict_http_rules() {
    let errors = errors("strict_http_rules");
    check_cases(&errors, CASES);
    check_cases(&errors, STRICT_CASES);
}

#[test]
fn route_collisions_are_not_errors_without_strict_http_rules() {
    let errors = errors("");
    for (method, _) in STRICT_CASES {
        let element = format!(": invalid.v1.Broken.{method}: ");
        assert!(
            !errors.iter().any(|e| e.contains(&element)),
            "{method} is only a warning: {errors:#?}"
        );
    }
}

/// Each case's error exists, holds its words, and is located inside the method.
fn check_cases(errors: &[String], cases: &[(&str, &[&str])]) {
    for (method, words) in cases {
        let element = format!(": invalid.v1.Broken.{method}: ");
        let found: Vec<&String> = errors.iter().filter(|e| e.contains(&element)).collect();
        assert!(
            !found.is_empty(),
            "no error for {method} in:\n{}",
            errors.join("\n")
        );
        let error = found[0];
        for word in *words {
            assert!(
                error.contains(word),
                "{method}: {word:?} missing from {error}"
            );
        }
        // file:line:col, with the line inside the method's declaration
        let location = error.split(": ").next().unwrap();
        let mut parts = location.rsplitn(3, ':');
        let col: u32 = parts
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{error}"));
        let line: u32 = parts
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{error}"));
        assert_eq!(parts.next(), Some(FILE), "{error}");
        assert!(col >= 1, "{error}");
        assert!(
            method_lines(method).contains(&line),
            "{method}: line {line} in {error}"
        );
    }
}

#[test]
fn all_errors_are_reported_together_and_valid_rules_are_not_blamed() {
    let errors = errors("");
    let blamed = |m: &str| errors.iter().any(|e| e.contains(&format!("Broken.{m}: ")));
    for (method, _) in CASES {
        assert!(blamed(method), "{method}");
    }
    for fine in ["First", "TimestampInPathIsFine", "BodyOnGet"] {
        assert!(!blamed(fine), "{fine} wrongly reported: {errors:#?}");
    }
}

#[test]
fn body_on_get_is_a_warning_or_an_error_with_deny_get_body() {
    // Without the flag it is a warning: check it on its own, in a valid file.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("get_body.proto"),
        r#"syntax = "proto3";
package w;
import "google/api/annotations.proto";
service S {
  rpc M(R) returns (R) { option (google.api.http) = {get: "/v1/m" body: "*"}; }
}
message R { string a = 1; }
"#,
    )
    .unwrap();
    let bytes = protoc_gen_rs_svc::standalone::request(
        &[dir.path().to_owned()],
        &["get_body.proto".into()],
        "",
    )
    .unwrap();
    let request = protoc_gen_rs_svc::decode(&bytes).unwrap();
    let output = protoc_gen_rs_svc::run(&request).unwrap();
    assert_eq!(output.warnings.len(), 1, "{:?}", output.warnings);
    let warning = output.warnings[0].to_string();
    assert!(warning.starts_with("get_body.proto:5:"), "{warning}");
    assert!(
        warning.contains("w.S.M: a GET request has no body"),
        "{warning}"
    );

    let errors = errors("deny_get_body");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("Broken.BodyOnGet: a GET request has no body")),
        "{errors:#?}"
    );
}

#[test]
fn grpc_gateway_extensions_generate_with_a_warning_naming_the_rule_and_saying_it_is_not_portable() {
    let output = common::generate(&["interop/v1/interop.proto"], "").unwrap();
    let warnings: Vec<String> = output.warnings.iter().map(ToString::to_string).collect();
    // (method, words its one warning must contain)
    let cases: &[(&str, &[&str])] = &[
        (
            "ImportNotes",
            &["client-streaming method with no body", "set body: \"*\""],
        ),
        ("CheckNote", &["the verb `check:twice` holds a `:`"]),
        (
            "AnnotateNote",
            &["body \"payload.note\" names a nested field"],
        ),
        (
            "BatchGetNotes",
            &["variable `ids` binds repeated field `ids`", "split on `,`"],
        ),
    ];
    for (method, words) in cases {
        let element = format!(": interop.v1.ExtensionService.{method}: ");
        let found: Vec<&String> = warnings.iter().filter(|w| w.contains(&element)).collect();
        assert!(
            !found.is_empty(),
            "no warning for {method} in {warnings:#?}"
        );
        let warning = found[0];
        assert!(
            warning.starts_with("interop/v1/interop.proto:"),
            "{warning}"
        );
        for word in words
            .iter()
            .chain(&["grpc-gateway extension", "not portable"])
        {
            assert!(
                warning.contains(word),
                "{method}: {word:?} missing from {warning}"
            );
        }
    }
    // Path variables on streams are served as Envoy serves them: no warning.
    assert!(
        !warnings.iter().any(|w| w.contains("NoteService.")),
        "{warnings:#?}"
    );
    // Each repeated variable of BatchGetNotes is named once: ids, pages, kinds.
    assert_eq!(warnings.len(), 6, "{warnings:#?}");
}

#[test]
fn parameter_errors_are_reported_with_the_rule_errors() {
    let errors = errors("no_sever");
    assert!(
        errors[0].contains("unknown parameter `no_sever`"),
        "{}",
        errors[0]
    );
    assert!(errors.len() > CASES.len());
}

#[test]
fn error_text_snapshot() {
    insta::assert_snapshot!(errors("").join("\n"));
}

#[test]
fn response_carries_the_error_and_still_declares_proto3_optional_and_editions() {
    let bytes =
        protoc_gen_rs_svc::standalone::request(&[common::testdata()], &[FILE.into()], "").unwrap();
    let response = protoc_gen_rs_svc::generate(&bytes);
    assert!(response.file.is_empty());
    // FEATURE_PROTO3_OPTIONAL | FEATURE_SUPPORTS_EDITIONS
    assert_eq!(response.supported_features, Some(3));
    // minimum_edition (3) and maximum_edition (4) are EDITION_2023 (1000) on the wire.
    let encoded = protoc_gen_rs_svc::encode_response(&response);
    assert!(
        encoded.ends_with(&[0x18, 0xe8, 0x07, 0x20, 0xe8, 0x07]),
        "{encoded:?}"
    );
    assert!(response.error.unwrap().contains("Broken.Unclosed"));
}

#[test]
fn compile_errors_show_file_line_column_and_source() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.proto"),
        "syntax = \"proto3\";\npackage b;\nmessage M {\n  strin name = 1;\n}\n",
    )
    .unwrap();
    let err = protoc_gen_rs_svc::standalone::request(
        &[dir.path().to_owned()],
        &["broken.proto".into()],
        "",
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("broken.proto:4:3: "), "{err}");
    assert!(err.contains("4 |   strin name = 1;"), "{err}");
    assert!(err.contains("^"), "{err}");
}

/// Compiles one inline .proto file and runs the pipeline on it.
fn run_inline(source: &str) -> Result<protoc_gen_rs_svc::Output, Error> {
    run_inline_with(source, "")
}

/// [`run_inline`] with plugin parameters.
fn run_inline_with(source: &str, parameter: &str) -> Result<protoc_gen_rs_svc::Output, Error> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inline.proto"), source).unwrap();
    let bytes = protoc_gen_rs_svc::standalone::request(
        &[dir.path().to_owned()],
        &["inline.proto".into()],
        parameter,
    )
    .unwrap();
    protoc_gen_rs_svc::run(&protoc_gen_rs_svc::decode(&bytes).unwrap())
}

#[test]
fn identical_routes_collide_only_among_services_of_one_default_host() {
    let source = |host_a: &str, host_b: &str| {
        format!(
            r#"syntax = "proto3";
package hosts;
import "google/api/annotations.proto";
import "google/api/client.proto";
service A {{
  option (google.api.default_host) = "{host_a}";
  rpc Get(R) returns (R) {{ option (google.api.http) = {{get: "/v1/{{name=things/*}}"}}; }}
}}
service B {{
  option (google.api.default_host) = "{host_b}";
  rpc Get(R) returns (R) {{ option (google.api.http) = {{get: "/v1/{{name=things/*}}"}}; }}
}}
message R {{ string name = 1; }}
"#
        )
    };
    // Different hosts are different servers: the same route in each is fine for the routers...
    let two_hosts = source("a.example.com", "b.example.com");
    assert!(run_inline_with(&two_hosts, "no_openapi").is_ok());
    // ...and one OpenAPI document cannot hold two operations for one path and method: the
    // second is left out with a located warning, never an error (documentation never blocks
    // code; the OpenAPI rows are in tests/openapi.rs).
    let output = run_inline(&two_hosts).expect("generation succeeds");
    assert_eq!(output.warnings.len(), 1, "{:#?}", output.warnings);
    let warning = output.warnings[0].to_string();
    assert!(
        warning.starts_with("inline.proto:11:")
            && warning.contains(
                ": hosts.B.Get: OpenAPI allows one operation per path and method, and `GET /v1/things/{thing}` is already `A_Get`"
            ),
        "{warning}"
    );
    // The same host serves both: the second route can never be reached, a warning (an error
    // with strict_http_rules).
    let one_host = source("a.example.com", "a.example.com");
    let duplicate =
        "hosts.B.Get: route `GET /v1/{name=things/*}` is declared twice: hosts.A.Get at inline.proto:";
    match run_inline_with(&one_host, "no_openapi") {
        Ok(output) => {
            assert_eq!(output.warnings.len(), 1, "{:#?}", output.warnings);
            let warning = output.warnings[0].to_string();
            assert!(warning.contains(duplicate), "{warning}");
            assert!(
                warning.contains("hosts.A.Get serves every such request"),
                "{warning}"
            );
        }
        other => panic!("expected a duplicate-route warning, got {other:?}"),
    }
    match run_inline_with(&one_host, "no_openapi,strict_http_rules") {
        Err(Error::Invalid(errors)) => {
            assert_eq!(errors.len(), 1, "{errors:#?}");
            assert!(errors[0].contains(duplicate), "{}", errors[0]);
        }
        other => panic!("expected a duplicate-route error, got {other:?}"),
    }
}

/// bigquery/storage v1's shape: two GET routes that differ only in the variable's name. The
/// response succeeds and the warning names both methods and the one that serves.
#[test]
fn a_route_that_can_never_be_reached_is_a_warning_naming_both_methods() {
    let source = r#"syntax = "proto3";
package bq;
import "google/api/annotations.proto";
service Read {
  rpc ReadRows(R) returns (R) {
    option (google.api.http) = {get: "/v1/{read_stream=projects/*/streams/*}"};
  }
  rpc SplitReadStream(R) returns (R) {
    option (google.api.http) = {get: "/v1/{name=projects/*/streams/*}"};
  }
}
message R { string read_stream = 1; string name = 2; }
"#;
    let output = run_inline(source).expect("an unreachable route does not fail generation");
    assert!(!output.files.is_empty());
    let warnings: Vec<String> = output.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    for words in [
        "inline.proto:9:",
        "bq.Read.SplitReadStream: route `GET /v1/{name=projects/*/streams/*}` can never be reached",
        "`GET /v1/{read_stream=projects/*/streams/*}` of bq.Read.ReadRows at inline.proto:6:",
        "bq.Read.ReadRows serves every such request (the router keeps the first registered",
        "or set strict_http_rules to make this an error",
    ] {
        assert!(
            warnings[0].contains(words),
            "{words:?} missing from {}",
            warnings[0]
        );
    }
    match run_inline_with(source, "strict_http_rules") {
        Err(Error::Invalid(errors)) => {
            assert_eq!(errors.len(), 1, "{errors:#?}");
            assert!(errors[0].contains("can never be reached"), "{}", errors[0]);
        }
        other => panic!("expected an error with strict_http_rules, got {other:?}"),
    }
}

/// What OpenAPI 3.1 cannot express is a located warning, never an error: the routes are still
/// generated (the OpenAPI rows, with the 3.2 document, are in tests/openapi.rs).
#[test]
fn a_custom_method_openapi_has_no_operation_for_is_a_located_warning() {
    let source = r#"syntax = "proto3";
package purge;
import "google/api/annotations.proto";
service Cache {
  rpc Purge(R) returns (R) {
    option (google.api.http) = {custom: {kind: "PURGE" path: "/v1/{name=keys/*}"}};
  }
}
message R { string name = 1; }
"#;
    let output = run_inline(source).expect("generation succeeds");
    let warnings: Vec<String> = output.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].starts_with("inline.proto:6:5: purge.Cache.Purge: OpenAPI 3.1 has no operation for the HTTP method `PURGE`"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].contains("`openapi_version=3.2`"),
        "{}",
        warnings[0]
    );
    assert!(run_inline_with(source, "openapi_version=3.2")
        .unwrap()
        .warnings
        .is_empty());
}

/// `rs_svc.api.http_response` declares a 2xx status; anything else, or a bodiless status on a
/// stream, is a located error naming the method.
#[test]
fn a_success_status_must_be_2xx_and_bodiless_ones_not_on_streams() {
    let source = |status: u32, stream: &str| {
        format!(
            r#"syntax = "proto3";
package status;
import "google/api/annotations.proto";
import "rs_svc/api/annotations.proto";
service S {{
  rpc M(R) returns ({stream}R) {{
    option (google.api.http) = {{post: "/v1/m" body: "*"}};
    option (rs_svc.api.http_response) = {{status: {status}}};
  }}
}}
message R {{ string name = 1; }}
"#
        )
    };
    for (status, stream) in [(201, ""), (204, ""), (299, ""), (201, "stream ")] {
        assert!(
            run_inline(&source(status, stream)).is_ok(),
            "{status} {stream}"
        );
    }
    for (status, stream, words) in [
        (404, "", "status 404 is not a success status"),
        (199, "", "status 199 is not a success status"),
        (
            204,
            "stream ",
            "status 204 sends no body, but a server-streaming method",
        ),
        (205, "stream ", "status 205 sends no body"),
    ] {
        match run_inline(&source(status, stream)) {
            Err(Error::Invalid(errors)) => {
                assert_eq!(errors.len(), 1, "{errors:#?}");
                assert!(
                    errors[0].starts_with("inline.proto:8:5: status.S.M: rs_svc.api.http_response")
                        && errors[0].contains(words),
                    "{}",
                    errors[0]
                );
            }
            other => panic!("{status}: expected an error, got {other:?}"),
        }
    }
}

/// A malformed `extern_path` is a parameter error naming it, never a panic in an emitter.
#[test]
fn a_malformed_extern_path_is_a_parameter_error() {
    let source = r#"syntax = "proto3";
package ext;
import "google/api/annotations.proto";
service S {
  rpc M(R) returns (R) { option (google.api.http) = {get: "/v1/m"}; }
}
message R { string name = 1; }
"#;
    for (parameter, words) in [
        (
            "extern_path=.ext=not a path",
            "`not a path` is not a Rust path",
        ),
        (
            "extern_path=.ext.R=::x::{y}",
            "`::x::{y}` is not a Rust path",
        ),
        (
            "extern_path=ext.R=::x::R",
            "`ext.R` is not a fully-qualified proto name",
        ),
    ] {
        match run_inline_with(source, parameter) {
            Err(Error::Invalid(errors)) => assert!(
                errors.iter().any(|e| e.contains(words)),
                "{parameter}: {errors:#?}"
            ),
            other => panic!("{parameter}: expected a parameter error, got {other:?}"),
        }
    }
    assert!(run_inline_with(source, "extern_path=.ext.R=crate::types::R").is_ok());
}

/// An `extern_path` prost-build would refuse is a parameter error, and an odd but valid one
/// generates (or fails with a located error), never reaching a panic.
#[test]
fn odd_extern_paths_are_parameter_errors_or_generate_without_panics() {
    let source = r#"syntax = "proto3";
package ext;
import "google/api/annotations.proto";
import "google/protobuf/timestamp.proto";
service S {
  rpc M(R) returns (R) { option (google.api.http) = {get: "/v1/m"}; }
  rpc N(R.In) returns (google.protobuf.Timestamp) { option (google.api.http) = {get: "/v1/n"}; }
}
message R { string name = 1; message In { R r = 1; } In i = 2; }
"#;
    for (parameter, words) in [
        (
            "extern_path=.=::x",
            "`.` (every package) is not accepted by prost-build",
        ),
        (
            "extern_path=.ext.R=::a,extern_path=.ext.R=::b",
            "`.ext.R` is mapped twice",
        ),
        (
            "extern_path=.google.protobuf=::pbjson_types",
            "`.google.protobuf` is mapped by prost-build itself",
        ),
        (
            "extern_path=.google.protobuf.Int64Value=i64",
            "add `compile_well_known_types`",
        ),
    ] {
        match run_inline_with(source, parameter) {
            Err(Error::Invalid(errors)) => assert!(
                errors
                    .iter()
                    .any(|e| e.starts_with("parameter `extern_path`") && e.contains(words)),
                "{parameter}: {errors:#?}"
            ),
            other => panic!("{parameter}: expected a parameter error, got {other:?}"),
        }
    }
    for parameter in [
        "extern_path=.ext.R=u8",
        "extern_path=.ext.R=Vec<u8>",
        "extern_path=.ext=self",
        "extern_path=.ext=super",
        "extern_path=.ext=crate",
        "extern_path=.ext.R=Self",
        "extern_path=.ext=x<'a>",
        "extern_path=.ext=x::<T>",
        "extern_path=.ext.R=x<T=u8>",
        "extern_path=.ext=::x::y<[u8; 4]>",
        "extern_path=.ext.R=r#type",
        "extern_path=.google=self",
        "extern_path=.google.protobuf=::pbjson_types,compile_well_known_types",
    ] {
        if let Err(e) = run_inline_with(source, parameter) {
            assert!(
                !e.to_string().contains("internal error"),
                "{parameter}: {e}"
            );
        }
    }
    // A path relative to the crate root stays one in the gRPC modules, one level below the
    // package's (not `super::crate::...`); `self::` relative to the package's module goes up.
    for (parameter, expected) in [
        ("extern_path=.ext.R=crate::types::R", "crate::types::R"),
        ("extern_path=.ext.R=self::types::R", "super::types::R"),
    ] {
        let output = run_inline_with(source, parameter).unwrap();
        let rust = &output
            .files
            .iter()
            .find(|f| f.name == "ext.rs")
            .unwrap()
            .content;
        let server = &rust[rust.find("pub mod s_server").unwrap()..];
        assert!(
            server.contains(&format!("tonic::Request<{expected}>")),
            "{parameter}"
        );
        assert!(!rust.contains("super::crate::") && !rust.contains("super::self::"));
    }
}

/// The parts of the packages' files are made on several threads; the error reported is still the
/// one a single thread meets first: the first package's, in package order.
#[test]
fn an_emit_error_in_several_packages_names_the_first_package() {
    let files = ["library/v1/library.proto", "acme/shop/v1/shop.proto"];
    for _ in 0..5 {
        match common::generate(&files, "type_attribute=.=#[not an attribute") {
            Err(Error::Emit(e)) => assert!(
                e.to_string()
                    .starts_with("the generated Rust for package `acme.shop.v1` does not parse"),
                "{e}"
            ),
            other => panic!("expected an emit error, got {other:?}"),
        }
    }
}

/// A proto name made only of underscores has no Rust form (its snake_case and UpperCamelCase
/// are empty): a located error naming it, never a panic in an emitter (found by the
/// plugin_model fuzz target).
#[test]
fn names_of_only_underscores_are_located_errors() {
    let cases = [
        ("service S {\n  rpc _(E) returns (E);\n}\n", "s.S._", 5),
        ("service S {\n  rpc __(E) returns (E);\n}\n", "s.S.__", 5),
        ("service _ {\n  rpc M(E) returns (E);\n}\n", "s._", 4),
    ];
    for (services, element, line) in cases {
        let source = format!("syntax = \"proto3\";\npackage s;\nmessage E {{}}\n{services}");
        let errors = match run_inline(&source) {
            Err(Error::Invalid(errors)) => errors,
            other => panic!("{source}: expected errors, got {other:?}"),
        };
        assert_eq!(errors.len(), 1, "{errors:?}");
        let error = &errors[0];
        assert!(!error.contains("internal error"), "{error}");
        assert!(
            error.starts_with(&format!("inline.proto:{line}:")),
            "{error}"
        );
        assert!(error.contains(&format!(": {element}: ")), "{error}");
        assert!(error.contains("no Rust name"), "{error}");
    }
}

/// A hand-made request (protoc never writes one) may name a method with characters no
/// identifier holds: a located error, never a panic in an emitter (found by the plugin_bytes
/// fuzz target).
#[test]
fn names_that_are_not_identifiers_are_errors() {
    use prost::Message;
    use prost_types::compiler::CodeGeneratorRequest;
    use prost_types::{FileDescriptorProto, MethodDescriptorProto, ServiceDescriptorProto};
    let method = MethodDescriptorProto {
        name: Some("Get`Book".into()),
        input_type: Some(".s.E".into()),
        output_type: Some(".s.E".into()),
        ..Default::default()
    };
    let request = CodeGeneratorRequest {
        file_to_generate: vec!["s.proto".into()],
        proto_file: vec![FileDescriptorProto {
            name: Some("s.proto".into()),
            package: Some("s".into()),
            syntax: Some("proto3".into()),
            message_type: vec![prost_types::DescriptorProto {
                name: Some("E".into()),
                ..Default::default()
            }],
            service: vec![ServiceDescriptorProto {
                name: Some("S".into()),
                method: vec![method],
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let errors = match protoc_gen_rs_svc::decode(&request.encode_to_vec())
        .map_err(Error::from)
        .and_then(|r| protoc_gen_rs_svc::run(&r))
    {
        Err(Error::Invalid(errors)) => errors,
        other => panic!("expected errors, got {other:?}"),
    };
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(!errors[0].contains("internal error"), "{}", errors[0]);
    assert!(errors[0].contains("s.S.Get`Book"), "{}", errors[0]);
    assert!(errors[0].contains("not an identifier"), "{}", errors[0]);
}
