//! Rust paths of proto types as seen from a package's generated file, agreeing with prost-build:
//! nested types live in their parent message's snake_case module, other packages are reached
//! through `super::`, and `extern_path` prefixes (the user's, the runtime's, and prost-types for
//! `google.protobuf`) win by longest match.

use crate::model::Model;
use crate::naming;
use crate::params::Params;

/// Types the `rs-svc` runtime crate provides: (package, proto path, Rust path). Generated code
/// uses them unless the request generates that package itself or the user maps it with
/// `extern_path`. The well-known types come with exact proto3 JSON. The wrappers and `Empty` are
/// not here: prost-build always maps them to `Option<primitive>` and `()`.
pub const RUNTIME_TYPES: &[(&str, &str, &str)] = &[
    (
        "google.api",
        ".google.api.HttpBody",
        "::rs_svc::google::api::HttpBody",
    ),
    (
        "google.rpc",
        ".google.rpc.Status",
        "::rs_svc::google::rpc::Status",
    ),
    (
        "google.rpc",
        ".google.rpc.ErrorInfo",
        "::rs_svc::google::rpc::ErrorInfo",
    ),
    (
        "google.rpc",
        ".google.rpc.RetryInfo",
        "::rs_svc::google::rpc::RetryInfo",
    ),
    (
        "google.rpc",
        ".google.rpc.DebugInfo",
        "::rs_svc::google::rpc::DebugInfo",
    ),
    (
        "google.rpc",
        ".google.rpc.QuotaFailure",
        "::rs_svc::google::rpc::QuotaFailure",
    ),
    (
        "google.rpc",
        ".google.rpc.QuotaFailure.Violation",
        "::rs_svc::google::rpc::quota_failure::Violation",
    ),
    (
        "google.rpc",
        ".google.rpc.PreconditionFailure",
        "::rs_svc::google::rpc::PreconditionFailure",
    ),
    (
        "google.rpc",
        ".google.rpc.PreconditionFailure.Violation",
        "::rs_svc::google::rpc::precondition_failure::Violation",
    ),
    (
        "google.rpc",
        ".google.rpc.BadRequest",
        "::rs_svc::google::rpc::BadRequest",
    ),
    (
        "google.rpc",
        ".google.rpc.BadRequest.FieldViolation",
        "::rs_svc::google::rpc::bad_request::FieldViolation",
    ),
    (
        "google.rpc",
        ".google.rpc.RequestInfo",
        "::rs_svc::google::rpc::RequestInfo",
    ),
    (
        "google.rpc",
        ".google.rpc.ResourceInfo",
        "::rs_svc::google::rpc::ResourceInfo",
    ),
    (
        "google.rpc",
        ".google.rpc.Help",
        "::rs_svc::google::rpc::Help",
    ),
    (
        "google.rpc",
        ".google.rpc.Help.Link",
        "::rs_svc::google::rpc::help::Link",
    ),
    (
        "google.rpc",
        ".google.rpc.LocalizedMessage",
        "::rs_svc::google::rpc::LocalizedMessage",
    ),
    (
        "google.protobuf",
        ".google.protobuf.Any",
        "::rs_svc::wkt::Any",
    ),
    (
        "google.protobuf",
        ".google.protobuf.Timestamp",
        "::rs_svc::wkt::Timestamp",
    ),
    (
        "google.protobuf",
        ".google.protobuf.Duration",
        "::rs_svc::wkt::Duration",
    ),
    (
        "google.protobuf",
        ".google.protobuf.FieldMask",
        "::rs_svc::wkt::FieldMask",
    ),
    (
        "google.protobuf",
        ".google.protobuf.Struct",
        "::rs_svc::wkt::Struct",
    ),
    (
        "google.protobuf",
        ".google.protobuf.Value",
        "::rs_svc::wkt::Value",
    ),
    (
        "google.protobuf",
        ".google.protobuf.ListValue",
        "::rs_svc::wkt::ListValue",
    ),
    (
        "google.protobuf",
        ".google.protobuf.NullValue",
        "::rs_svc::wkt::NullValue",
    ),
];

/// Whether `proto` (with a leading dot) starts with the proto path `prefix` at a name boundary.
fn covers(prefix: &str, proto: &str) -> bool {
    prefix == "."
        || (proto.starts_with(prefix)
            && (proto.len() == prefix.len() || proto[prefix.len()..].starts_with('.')))
}

/// The extern paths in force: the user's, then the runtime's types (unless their package is
/// generated or the user already maps them), then prost-types for the rest of
/// `google.protobuf`, as prost-build does.
pub fn extern_paths(model: &Model, params: &Params) -> Vec<(String, String)> {
    let mut paths = params.extern_paths.clone();
    let wkt_compiled = params.compile_well_known_types;
    for (package, proto, rust) in RUNTIME_TYPES {
        let generated =
            model.package(package).is_some() || (*package == "google.protobuf" && wkt_compiled);
        let mapped = params
            .extern_paths
            .iter()
            .any(|(user, _)| covers(user, proto));
        if !generated && !mapped {
            paths.push(((*proto).to_owned(), (*rust).to_owned()));
        }
    }
    paths
}

/// prost-build's own mappings, which it adds itself (so they are not given to it again): the
/// wrappers as primitives, `Empty` as `()`, and the rest of `google.protobuf` from prost-types.
const PROST_BUILTIN: &[(&str, &str)] = &[
    (".google.protobuf.BoolValue", "bool"),
    (
        ".google.protobuf.BytesValue",
        "::prost::alloc::vec::Vec<u8>",
    ),
    (".google.protobuf.DoubleValue", "f64"),
    (".google.protobuf.Empty", "()"),
    (".google.protobuf.FloatValue", "f32"),
    (".google.protobuf.Int32Value", "i32"),
    (".google.protobuf.Int64Value", "i64"),
    (
        ".google.protobuf.StringValue",
        "::prost::alloc::string::String",
    ),
    (".google.protobuf.UInt32Value", "u32"),
    (".google.protobuf.UInt64Value", "u64"),
    (".google.protobuf", "::prost_types"),
];

/// Every mapping in force for resolving Rust paths: ours (see [`extern_paths`]) and
/// prost-build's built-in ones.
pub fn resolution_paths(model: &Model, params: &Params) -> Vec<(String, String)> {
    let mut paths = extern_paths(model, params);
    if !params.compile_well_known_types {
        paths.extend(
            PROST_BUILTIN
                .iter()
                .map(|(p, r)| ((*p).to_owned(), (*r).to_owned())),
        );
    }
    paths
}

/// The Rust path of proto type `full_name` (no leading dot) from the top of `package`'s file.
pub fn rust_path(
    model: &Model,
    package: &str,
    full_name: &str,
    externs: &[(String, String)],
) -> String {
    let dotted = format!(".{full_name}");
    let type_package = model
        .messages
        .get(full_name)
        .map(|m| m.package.as_str())
        .or_else(|| model.enums.get(full_name).map(|e| e.package.as_str()))
        .unwrap_or("");
    // Parents become snake_case modules, the type itself UpperCamel.
    let nested = |names: &str| -> Vec<String> {
        let parts: Vec<&str> = names.split('.').filter(|p| !p.is_empty()).collect();
        let mut out: Vec<String> = parts[..parts.len().saturating_sub(1)]
            .iter()
            .map(|p| naming::nested_module(p))
            .collect();
        if let Some(last) = parts.last() {
            out.push(naming::type_name(last));
        }
        out
    };

    let best = externs
        .iter()
        .filter(|(proto, _)| covers(proto, &dotted))
        .max_by_key(|(proto, _)| proto.len());
    if let Some((proto, rust)) = best {
        let rest = dotted[proto.len()..].trim_start_matches('.');
        if rest.is_empty() {
            return rust.clone();
        }
        // Below a package prefix the rest is nested types; below a package's parent it starts
        // with package parts, which are plain snake_case modules.
        let prefix_package = proto.trim_start_matches('.');
        let in_package =
            type_package.len() > prefix_package.len() && type_package.starts_with(prefix_package);
        let mut parts = Vec::new();
        let rest_names = if in_package {
            let pkg_rest = &type_package[prefix_package.len()..].trim_start_matches('.');
            parts.extend(naming::package_modules(pkg_rest));
            rest[pkg_rest.len()..].trim_start_matches('.')
        } else {
            rest
        };
        parts.extend(nested(rest_names));
        return format!("{rust}::{}", parts.join("::"));
    }

    let from = naming::package_modules(package);
    let to = naming::package_modules(type_package);
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["super".to_owned(); from.len() - common];
    parts.extend(to[common..].iter().cloned());
    let local = full_name
        .strip_prefix(type_package)
        .unwrap_or(full_name)
        .trim_start_matches('.');
    parts.extend(nested(local));
    parts.join("::")
}
