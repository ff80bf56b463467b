//! OpenAPI 3.1 (or, with `openapi_version=3.2`, 3.2) documents (docs/reference.md section 6): one
//! per proto file with routed services, or one merged document. They describe exactly what the generated router does (section 6):
//! the same paths, the same query parameters, the same JSON.
//!
//! Choices worth knowing:
//! - A variable over several segments (`{name=shelves/*/books/*}`) is expanded into one path
//!   parameter per segment (`/v1/shelves/{shelf}/books/{book}`), named after a matching
//!   `google.api.resource` pattern when there is one, else after the literal before it. Two
//!   paths of the same shape always get the same names, as OpenAPI requires.
//! - Documentation never blocks code (docs/reference.md section 2): a `custom` kind OpenAPI 3.1
//!   has no operation for (anything but HEAD, OPTIONS and TRACE and the five standard methods),
//!   or a second operation on one path and method, is a warning naming the rule; the operation
//!   is left out and listed under `x-rs-svc-omitted` at the document root. OpenAPI 3.2 documents
//!   other methods under `additionalOperations` (and QUERY as `query`). `*` is documented as GET,
//!   PUT, POST, DELETE and PATCH.
//! - OAuth scopes become an `oauth2` scheme when the endpoints are known (the
//!   `openapi_oauth_*_url` parameters, or Google's for `googleapis.com` scopes); otherwise a
//!   bearer scheme whose requirement lists the scopes, since an OAuth flow without its
//!   endpoints is not valid OpenAPI.

mod body;
mod methods;
mod operation;
mod path;
mod schema;
mod security;
mod spec;
mod text;

use std::collections::{BTreeMap, BTreeSet};

use super::{EmitError, GeneratedFile};
use crate::diag::Diagnostic;
use crate::model::{Binding, Method, Model, Service};
use crate::params::{OpenApiFormat, OpenApiVersion, Params};
use methods::{slots, Slot};
use schema::Schemas;
use spec::{
    Components, Document, Info, MediaType, MethodKey, Omitted, Ordered, PathItem, Response, Server,
    Tag,
};
pub(crate) use text::clean_comment;

const ERROR_RESPONSE: &str = "Error";

/// Every OpenAPI document of the request, in a stable order, and the warnings about what they
/// leave out.
pub fn documents(
    model: &Model,
    params: &Params,
) -> Result<(Vec<GeneratedFile>, Vec<Diagnostic>), EmitError> {
    if params.no_openapi {
        return Ok((Vec::new(), Vec::new()));
    }
    let routed: Vec<&Service> = model
        .services()
        .filter(|s| s.methods.iter().any(|m| routes(m).next().is_some()))
        .collect();
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let mut emit = |name: String, sources: Vec<&str>, services: Vec<&Service>, title: String| {
        let (document, mut omissions) = document(model, params, &services, title);
        warnings.append(&mut omissions);
        out.push(GeneratedFile {
            content: render(&document, &sources, params)?,
            name,
        });
        Ok::<(), EmitError>(())
    };
    let extension = match params.openapi_format {
        OpenApiFormat::Yaml => "yaml",
        OpenApiFormat::Json => "json",
    };
    if let Some(merge) = &params.openapi_merge {
        if !routed.is_empty() {
            let name = if merge.ends_with(".yaml") || merge.ends_with(".json") {
                merge.clone()
            } else {
                format!("{merge}.openapi.{extension}")
            };
            let title = merge
                .trim_end_matches(".json")
                .trim_end_matches(".yaml")
                .trim_end_matches(".openapi")
                .to_owned();
            let sources: BTreeSet<&str> = routed.iter().map(|s| s.file.as_str()).collect();
            emit(name, sources.into_iter().collect(), routed.clone(), title)?;
        }
    } else {
        for package in &model.packages {
            for file in &package.files {
                let services: Vec<&Service> =
                    routed.iter().copied().filter(|s| &s.file == file).collect();
                if services.is_empty() {
                    continue;
                }
                let stem = file.strip_suffix(".proto").unwrap_or(file);
                let title = match services.as_slice() {
                    [one] => one.name.clone(),
                    _ => package.name.clone(),
                };
                emit(
                    format!("{stem}.openapi.{extension}"),
                    vec![file.as_str()],
                    services,
                    title,
                )?;
            }
        }
    }
    Ok((out, warnings))
}

fn render(document: &Document, sources: &[&str], params: &Params) -> Result<String, EmitError> {
    let fail = |e: &dyn std::fmt::Display| EmitError(format!("writing an OpenAPI document: {e}"));
    match params.openapi_format {
        OpenApiFormat::Json => {
            let mut text = serde_json::to_string_pretty(document).map_err(|e| fail(&e))?;
            text.push('\n');
            Ok(text)
        }
        OpenApiFormat::Yaml => {
            let mut text = format!(
                "# @generated by protoc-gen-rs-svc {}. DO NOT EDIT.\n",
                env!("CARGO_PKG_VERSION")
            );
            for source in sources {
                text.push_str(&format!("# source: {source}\n"));
            }
            text.push_str(&yaml_serde::to_string(document).map_err(|e| fail(&e))?);
            Ok(text)
        }
    }
}

/// The routes of a method the document describes: every route the router serves, but those
/// another route always wins over.
fn routes(method: &Method) -> impl Iterator<Item = &Binding> {
    method.bindings.iter().filter(|b| !b.unreachable)
}

/// The version segment of a package (`v1`, `v2beta1`), if it has one.
fn package_version(package: &str) -> Option<&str> {
    package.rsplit('.').find(|part| {
        part.strip_prefix('v')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    })
}

/// What one document is being built from.
struct Builder<'a> {
    model: &'a Model,
    params: &'a Params,
    schemas: Schemas<'a>,
    /// Resource name patterns, split in segments, in message name order.
    patterns: Vec<Vec<String>>,
    /// Path parameter names used for each path shape, so equal shapes get equal names.
    shapes: BTreeMap<String, Vec<String>>,
    /// Operations left out of the document, each with its warning.
    omitted: Vec<Omitted>,
    warnings: Vec<Diagnostic>,
}

/// One document, and a warning for each operation it leaves out.
fn document(
    model: &Model,
    params: &Params,
    services: &[&Service],
    title: String,
) -> (Document, Vec<Diagnostic>) {
    let mut builder = Builder {
        model,
        params,
        schemas: Schemas::new(model, params),
        patterns: model
            .messages
            .values()
            .flat_map(|m| &m.resource_patterns)
            .map(|p| p.split('/').map(str::to_owned).collect())
            .collect(),
        shapes: BTreeMap::new(),
        omitted: Vec::new(),
        warnings: Vec::new(),
    };
    // Short names, unless two services of the document share one.
    let mut short = BTreeMap::<&str, usize>::new();
    for service in services {
        *short.entry(service.name.as_str()).or_default() += 1;
    }
    let label = |s: &Service| {
        if short[s.name.as_str()] > 1 {
            s.full_name.clone()
        } else {
            s.name.clone()
        }
    };
    let mut servers: Vec<Server> = Vec::new();
    for service in services {
        let server = server(service);
        if !servers.contains(&server) {
            servers.push(server);
        }
    }
    let mut security = BTreeMap::new();
    let mut paths: Ordered<PathItem> = Ordered::default();
    // Path and method (as sent) -> the operation id documented there.
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut tags = Vec::new();
    for service in services {
        let tag = label(service);
        tags.push(Tag {
            name: tag.clone(),
            description: clean_comment(&service.comments.doc()),
        });
        let requirement = builder.security(service, &mut security);
        for method in &service.methods {
            for binding in routes(method) {
                let (path, path_parameters) = builder.path(method, binding);
                let mut id = format!("{tag}_{}", method.name);
                if binding.index > 0 {
                    id.push_str(&format!("_{}", binding.index));
                }
                let slots = match slots(&binding.method, params.openapi_version) {
                    Ok(slots) => slots,
                    Err((sent, reason)) => {
                        let advice = "the route is served, and left out of the OpenAPI document \
                                      (listed under `x-rs-svc-omitted`); `openapi_version=3.2` \
                                      documents it under `additionalOperations`";
                        builder.omit(binding, method, sent, &path, id, reason, advice);
                        continue;
                    }
                };
                for (n, slot) in slots.iter().enumerate() {
                    let mut id = id.clone();
                    if n > 0 {
                        id.push_str(&format!("_{}", slot.name().to_lowercase()));
                    }
                    let sent = slot.name();
                    if let Some(other) = seen.get(&(path.clone(), sent.clone())) {
                        let reason = format!(
                            "OpenAPI allows one operation per path and method, and `{sent} {path}` is already `{other}`"
                        );
                        let advice = "the route is served, and left out of this OpenAPI document \
                                      (listed under `x-rs-svc-omitted`); write separate documents \
                                      (leave out `openapi_merge`) or change one path";
                        builder.omit(binding, method, sent, &path, id, reason, advice);
                        continue;
                    }
                    seen.insert((path.clone(), sent), id.clone());
                    // Only HEAD changes an operation's shape (no response body); any other
                    // method stands in for the additional ones.
                    let key = match slot {
                        Slot::Fixed(key) => *key,
                        Slot::Additional(_) => MethodKey::Post,
                    };
                    let mut operation =
                        builder.operation(method, binding, key, &path, &path_parameters, id);
                    operation.tags = vec![tag.clone()];
                    operation.deprecated |= service.deprecated;
                    // An empty list says, explicitly, that the proto declares no auth.
                    operation.security = requirement.clone();
                    if servers.len() > 1 {
                        operation.servers = vec![server(service)];
                    }
                    if paths.get_mut(&path).is_none() {
                        paths.insert(path.clone(), PathItem::default());
                    }
                    let item = paths.get_mut(&path).expect("inserted above");
                    match slot {
                        Slot::Fixed(key) => {
                            item.operations.insert(*key, operation);
                        }
                        Slot::Additional(sent) => {
                            item.additional.insert(sent.clone(), operation);
                        }
                    }
                }
            }
        }
    }
    let error_schema = builder.schemas.status();
    let mut responses = BTreeMap::new();
    responses.insert(
        ERROR_RESPONSE.to_owned(),
        Response::Inline {
            description: "An error: a `google.rpc.Status` with the gRPC code, a message and details. The HTTP status follows the gRPC code (NOT_FOUND is 404, INVALID_ARGUMENT 400, ...).".to_owned(),
            content: Ordered(vec![(
                "application/json".to_owned(),
                MediaType {
                    schema: error_schema,
                },
            )]),
        },
    );
    let description = match services {
        [one] => clean_comment(&one.comments.doc()),
        _ => None,
    };
    let version = params
        .openapi_info_version
        .clone()
        .or_else(|| {
            let versions: BTreeSet<_> = services
                .iter()
                .map(|s| package_version(&s.package))
                .collect();
            match versions.into_iter().collect::<Vec<_>>().as_slice() {
                [Some(v)] => Some((*v).to_owned()),
                _ => None,
            }
        })
        .unwrap_or_else(|| "0.0.0".to_owned());
    let document = Document {
        openapi: match params.openapi_version {
            OpenApiVersion::V3_1 => "3.1.0",
            OpenApiVersion::V3_2 => "3.2.0",
        },
        info: Info {
            title,
            description,
            version,
        },
        servers,
        tags,
        paths,
        components: Components {
            schemas: builder.schemas.components(),
            responses,
            security_schemes: security,
        },
        omitted: builder.omitted,
    };
    (document, builder.warnings)
}

/// `https://` and the service's `google.api.default_host`; without one, `/`: wherever the
/// document is served from (OpenAPI's own default, written out).
fn server(service: &Service) -> Server {
    let url = match service.default_host.as_deref() {
        Some(host) => format!("https://{}", host.strip_suffix(":443").unwrap_or(host)),
        None => "/".to_owned(),
    };
    Server { url }
}

impl<'a> Builder<'a> {
    /// Leaves an operation out of the document: listed under `x-rs-svc-omitted`, and a warning
    /// at the rule saying why and what to do.
    #[allow(clippy::too_many_arguments)]
    fn omit(
        &mut self,
        binding: &Binding,
        method: &Method,
        sent: String,
        path: &str,
        operation_id: String,
        reason: String,
        advice: &str,
    ) {
        self.warnings.push(Diagnostic {
            location: binding.location.clone(),
            element: method.full_name.clone(),
            message: format!("{reason}; {advice}"),
        });
        self.omitted.push(Omitted {
            method: sent,
            path: path.to_owned(),
            operation_id,
            rpc: method.full_name.clone(),
            reason,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_versions() {
        assert_eq!(package_version("library.v1"), Some("v1"));
        assert_eq!(package_version("a.v2beta1.b"), Some("v2beta1"));
        assert_eq!(package_version("acme.vault"), None);
    }
}
