//! Rust paths of proto types as seen from a package's generated file, agreeing with prost-build:
//! nested types live in their parent message's snake_case module, other packages are reached
//! through `super::`, and `extern_path` prefixes (the user's, the runtime's, and prost-types for
//! `google.protobuf`, one table per request in the model) win by longest match.

use crate::model::externs::{covers, ExternPath};
use crate::model::Model;
use crate::naming;
use crate::params::Params;

/// The mappings prost-build is given: the user's `extern_path`s and the runtime's types, from
/// the request's one validated table ([`crate::model::externs::ExternPaths`]).
pub fn extern_paths<'m>(model: &'m Model, _params: &Params) -> &'m [ExternPath] {
    model.externs.given()
}

/// Every mapping in force for resolving Rust paths: [`extern_paths`] and prost-build's
/// built-in ones.
pub fn resolution_paths<'m>(model: &'m Model, _params: &Params) -> &'m [ExternPath] {
    model.externs.resolution()
}

/// Whether prost-build is told to use an existing type for `full_name` (no leading dot) rather
/// than generate it: the user's `extern_path` (or the runtime's) covers it. Such a type gets no
/// impls from us either, even when the rest of its package is generated (a request generating
/// google/rpc/code.proto with `.google.rpc.Status` mapped to the runtime's).
pub fn is_extern(model: &Model, full_name: &str) -> bool {
    let dotted = format!(".{full_name}");
    model
        .externs
        .given()
        .iter()
        .any(|(proto, _)| covers(proto, &dotted))
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
