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

mod schema;
mod spec;

use std::collections::{BTreeMap, BTreeSet};

use heck::ToSnakeCase;

use super::{EmitError, GeneratedFile};
use crate::diag::Diagnostic;
use crate::model::template::Segment;
use crate::model::{
    Binding, Body, Cardinality, Field, FieldBehavior, FieldType, HttpMethod, Method, Model, Service,
};
use crate::params::{OpenApiFormat, OpenApiVersion, Params};
use schema::{is_query_value, oneof_taken, Schemas};
use spec::{
    Components, Document, Info, MediaType, MethodKey, OAuthFlow, Omitted, Operation, Ordered,
    Parameter, PathItem, RequestBody, Response, Schema, SecurityScheme, Server, Tag,
};

const HTTP_BODY: &str = "google.api.HttpBody";
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
        .filter(|s| s.methods.iter().any(|m| !routes(s, m, params).is_empty()))
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

/// The routes of a method, as the generated router serves them.
fn routes(service: &Service, method: &Method, params: &Params) -> Vec<Binding> {
    if method.bindings.is_empty() && params.generate_unbound_methods {
        vec![super::http::unbound_binding(service, method)]
    } else {
        // A route that can never be reached serves nothing to document.
        method
            .bindings
            .iter()
            .filter(|b| !b.unreachable)
            .cloned()
            .collect()
    }
}

/// Comment text for a description: `(-- internal --)` remarks removed, blank edges trimmed.
pub(crate) fn clean_comment(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("(--") {
        out.push_str(&rest[..start]);
        rest = match rest[start..].find("--)") {
            Some(end) => &rest[start + end + 3..],
            None => "",
        };
    }
    out.push_str(rest);
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    let mut text = String::new();
    let mut blank = false;
    for line in lines {
        if line.trim().is_empty() {
            blank = !text.is_empty();
            continue;
        }
        if blank {
            text.push_str("\n\n");
        } else if !text.is_empty() {
            text.push('\n');
        }
        blank = false;
        text.push_str(line);
    }
    (!text.is_empty()).then_some(text)
}

/// The first paragraph as a summary, the rest as the description.
fn summary_and_description(text: Option<String>) -> (Option<String>, Option<String>) {
    let Some(text) = text else {
        return (None, None);
    };
    match text.split_once("\n\n") {
        Some((first, rest)) => (Some(first.replace('\n', " ")), Some(rest.to_owned())),
        None => (Some(text.replace('\n', " ")), None),
    }
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
            for binding in routes(service, method, params) {
                let (path, path_parameters) = builder.path(method, &binding);
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
                        builder.omit(&binding, method, sent, &path, id, reason, advice);
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
                        builder.omit(&binding, method, sent, &path, id, reason, advice);
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
                        builder.operation(method, &binding, key, &path_parameters, id);
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

/// Where an operation goes in a path item.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    /// A fixed field: `get`, `put`, ...
    Fixed(MethodKey),
    /// OpenAPI 3.2's `additionalOperations`, by the method as sent.
    Additional(String),
}

impl Slot {
    /// The HTTP method as sent (`GET`, `PURGE`).
    fn name(&self) -> String {
        match self {
            Slot::Fixed(key) => key.as_str().to_uppercase(),
            Slot::Additional(sent) => sent.clone(),
        }
    }
}

/// The OpenAPI operations a rule's HTTP method is documented as; or, when the version has no
/// place for the method, the method as sent and why.
fn slots(method: &HttpMethod, version: OpenApiVersion) -> Result<Vec<Slot>, (String, String)> {
    let fixed = |keys: &[MethodKey]| keys.iter().copied().map(Slot::Fixed).collect();
    Ok(match method {
        HttpMethod::Get => fixed(&[MethodKey::Get]),
        HttpMethod::Put => fixed(&[MethodKey::Put]),
        HttpMethod::Post => fixed(&[MethodKey::Post]),
        HttpMethod::Delete => fixed(&[MethodKey::Delete]),
        HttpMethod::Patch => fixed(&[MethodKey::Patch]),
        HttpMethod::Custom(kind) => match (kind.as_str(), version) {
            ("*", _) => fixed(&[
                MethodKey::Get,
                MethodKey::Put,
                MethodKey::Post,
                MethodKey::Delete,
                MethodKey::Patch,
            ]),
            ("GET", _) => fixed(&[MethodKey::Get]),
            ("PUT", _) => fixed(&[MethodKey::Put]),
            ("POST", _) => fixed(&[MethodKey::Post]),
            ("DELETE", _) => fixed(&[MethodKey::Delete]),
            ("PATCH", _) => fixed(&[MethodKey::Patch]),
            ("HEAD", _) => fixed(&[MethodKey::Head]),
            ("OPTIONS", _) => fixed(&[MethodKey::Options]),
            ("TRACE", _) => fixed(&[MethodKey::Trace]),
            ("QUERY", OpenApiVersion::V3_2) => fixed(&[MethodKey::Query]),
            (other, OpenApiVersion::V3_2) => vec![Slot::Additional(other.to_owned())],
            (other, OpenApiVersion::V3_1) => {
                return Err((
                    other.to_owned(),
                    format!(
                    "OpenAPI 3.1 has no operation for the HTTP method `{other}` (only GET, PUT, \
                         POST, DELETE, OPTIONS, HEAD, PATCH and TRACE)"
                ),
                ))
            }
        },
    })
}

/// A singular from a plural literal: `shelves` -> `shelf`, `books` -> `book`, `people` ->
/// `people_id`.
fn singular(literal: &str) -> String {
    let word = literal.to_snake_case();
    if let Some(stem) = word.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = word.strip_suffix("ves") {
        format!("{stem}f")
    } else if word.ends_with("sses") || word.ends_with("xes") || word.ends_with("ches") {
        word[..word.len() - 2].to_owned()
    } else if let Some(stem) = word
        .strip_suffix('s')
        .filter(|s| !s.ends_with(['s', 'u', 'i']))
    {
        stem.to_owned()
    } else {
        format!("{word}_id")
    }
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

    fn input(&self, method: &Method) -> Option<&'a crate::model::Message> {
        self.model.messages.get(&method.input)
    }

    /// The field at a dotted path of the request, if every step exists.
    fn field_at(&self, method: &Method, path: &[String]) -> Option<&'a Field> {
        let mut message = self.input(method)?;
        let (last, parents) = path.split_last()?;
        for name in parents {
            match &message.field(name)?.ty {
                FieldType::Message(nested) => message = self.model.messages.get(nested)?,
                _ => return None,
            }
        }
        message.field(last)
    }

    /// The OpenAPI path of a rule and its path parameters.
    fn path(&mut self, method: &Method, binding: &Binding) -> (String, Vec<Parameter>) {
        let template = &binding.template;
        let mut parts = Vec::new();
        let mut parameters: Vec<Parameter> = Vec::new();
        let mut i = 0;
        while i < template.segments.len() {
            let Some(variable) = template.variable_for(i) else {
                parts.push(match &template.segments[i] {
                    Segment::Literal(text) => text.clone(),
                    // A wildcard outside any variable matches a segment and binds nothing.
                    _ => {
                        parameters.push(Parameter {
                            name: format!("segment{}", i + 1),
                            location: "path",
                            description: Some("Any segment; not bound to a field.".to_owned()),
                            required: true,
                            deprecated: false,
                            style: None,
                            explode: None,
                            schema: segment_schema(),
                        });
                        format!("{{segment{}}}", i + 1)
                    }
                });
                i += 1;
                continue;
            };
            let segments = &template.segments[variable.start..variable.end];
            let field_path = variable.field_path.0.clone();
            let dotted = field_path.join(".");
            let field = self.field_at(method, &field_path).cloned();
            if let [Segment::Single] = segments {
                let schema = match &field {
                    // grpc-gateway's repeated path field: comma-separated values, which is
                    // OpenAPI's `simple` style of an array.
                    Some(f) if is_query_value(&f.ty) && f.cardinality == Cardinality::Repeated => {
                        Schema::array(self.schemas.value(&f.ty))
                    }
                    Some(f) if is_query_value(&f.ty) => {
                        let value = self.schemas.value(&f.ty);
                        non_empty(value)
                    }
                    _ => segment_schema(),
                };
                parameters.push(Parameter {
                    name: dotted.clone(),
                    location: "path",
                    description: field
                        .as_ref()
                        .and_then(|f| clean_comment(&f.comments.doc())),
                    required: true,
                    deprecated: field.as_ref().is_some_and(|f| f.deprecated),
                    style: None,
                    explode: None,
                    schema,
                });
                parts.push(format!("{{{dotted}}}"));
            } else {
                let names = self.segment_names(segments, &field_path, &template.segments[..i]);
                let mut shown = Vec::new();
                for (segment, name) in segments.iter().zip(&names) {
                    match (segment, name) {
                        (Segment::Literal(text), _) => shown.push(text.clone()),
                        (_, Some(name)) => shown.push(format!("{{{name}}}")),
                        _ => {}
                    }
                }
                let whole = shown.join("/");
                let doc = field
                    .as_ref()
                    .and_then(|f| clean_comment(&f.comments.doc()));
                for (segment, name) in segments.iter().zip(&names) {
                    let Some(name) = name else { continue };
                    let multi = matches!(segment, Segment::Multi);
                    parameters.push(Parameter {
                        name: name.clone(),
                        location: "path",
                        description: Some(match (multi, segments.len()) {
                            (true, 1) => format!(
                                "{}May hold several segments separated by `/`.",
                                doc.as_ref().map_or(String::new(), |d| format!("{d}\n\n"))
                            ),
                            (true, _) => format!("Part of `{dotted}`, which is `{whole}`; may hold several segments separated by `/`."),
                            _ => format!("Part of `{dotted}`, which is `{whole}`."),
                        }),
                        required: true,
                        deprecated: field.as_ref().is_some_and(|f| f.deprecated),
                        style: None,
                        explode: None,
                        schema: if multi {
                            Schema {
                                min_length: Some(1),
                                ..Schema::of_type("string")
                            }
                        } else {
                            segment_schema()
                        },
                    });
                }
                parts.extend(shown);
            }
            i = variable.end;
        }
        // Unique names within the path.
        let mut used = BTreeSet::new();
        for parameter in &mut parameters {
            let base = parameter.name.clone();
            let mut n = 1;
            while !used.insert(parameter.name.clone()) {
                n += 1;
                parameter.name = format!("{base}_{n}");
            }
        }
        let mut path = format!("/{}", parts.join("/"));
        if let Some(verb) = &template.verb {
            path.push(':');
            path.push_str(verb);
        }
        // Rename to the names an earlier path of the same shape used.
        let names: Vec<String> = parameters.iter().map(|p| p.name.clone()).collect();
        let shape = names.iter().fold(path.clone(), |shape, name| {
            shape.replacen(&format!("{{{name}}}"), "{}", 1)
        });
        match self.shapes.get(&shape) {
            Some(first) if *first != names => {
                path = shape.clone();
                for (parameter, name) in parameters.iter_mut().zip(first) {
                    path = path.replacen("{}", &format!("{{{name}}}"), 1);
                    parameter.name = name.clone();
                }
            }
            Some(_) => {}
            None => {
                self.shapes.insert(shape, names);
            }
        }
        (path, parameters)
    }

    /// Parameter names for the segments of a multi-segment variable (`None` for literals):
    /// from a `google.api.resource` pattern of the same shape, else from the literal before
    /// each wildcard.
    fn segment_names(
        &self,
        segments: &[Segment],
        field_path: &[String],
        before: &[Segment],
    ) -> Vec<Option<String>> {
        let pattern = self.patterns.iter().find(|pattern| {
            pattern.len() == segments.len()
                && pattern.iter().zip(segments).all(|(p, s)| match s {
                    Segment::Literal(text) => p == text,
                    Segment::Single => p.starts_with('{') && p.ends_with('}') && !p.contains('='),
                    Segment::Multi => false,
                })
        });
        let field = field_path.last().map(String::as_str).unwrap_or("segment");
        segments
            .iter()
            .enumerate()
            .map(|(k, segment)| match segment {
                Segment::Literal(_) => None,
                Segment::Single => Some(match pattern {
                    Some(p) => p[k].trim_matches(['{', '}']).to_owned(),
                    None => match k.checked_sub(1).map(|j| &segments[j]).or(before.last()) {
                        Some(Segment::Literal(text)) => singular(text),
                        _ => format!("{field}_{}", k + 1),
                    },
                }),
                Segment::Multi => Some(field.to_owned()),
            })
            .collect()
    }

    /// The security requirement of a service's operations, adding its scheme.
    fn security(
        &self,
        service: &Service,
        schemes: &mut BTreeMap<String, SecurityScheme>,
    ) -> Option<Vec<BTreeMap<String, Vec<String>>>> {
        if service.oauth_scopes.is_empty() {
            return Some(Vec::new());
        }
        let google = service
            .oauth_scopes
            .iter()
            .all(|s| s.starts_with("https://www.googleapis.com/auth/"));
        let (authorization, token) = match (
            &self.params.openapi_oauth_authorization_url,
            &self.params.openapi_oauth_token_url,
        ) {
            (a, Some(t)) => (a.clone(), Some(t.clone())),
            (_, None) if google => (
                Some("https://accounts.google.com/o/oauth2/v2/auth".to_owned()),
                Some("https://oauth2.googleapis.com/token".to_owned()),
            ),
            _ => (None, None),
        };
        let scopes: BTreeMap<String, String> = service
            .oauth_scopes
            .iter()
            .map(|s| (s.clone(), format!("Used by {}.", service.full_name)))
            .collect();
        let name = match token {
            Some(token) => {
                let flow = OAuthFlow {
                    authorization_url: authorization.clone(),
                    token_url: token,
                    scopes,
                };
                let entry = schemes
                    .entry("oauth2".to_owned())
                    .or_insert_with(|| SecurityScheme {
                        kind: "oauth2",
                        description: None,
                        scheme: None,
                        flows: Some(BTreeMap::new()),
                    });
                let flows = entry.flows.get_or_insert_with(BTreeMap::new);
                let key = if authorization.is_some() {
                    "authorizationCode"
                } else {
                    "clientCredentials"
                };
                let merged = flows.entry(key).or_insert(OAuthFlow {
                    scopes: BTreeMap::new(),
                    ..flow.clone()
                });
                merged.scopes.extend(flow.scopes);
                "oauth2"
            }
            None => {
                schemes
                    .entry("bearer".to_owned())
                    .or_insert_with(|| SecurityScheme {
                        kind: "http",
                        description: Some(
                            "An OAuth 2.0 access token holding the scopes each operation lists. \
                             Set `openapi_oauth_token_url` (and `openapi_oauth_authorization_url`) \
                             to describe the OAuth flow itself."
                                .to_owned(),
                        ),
                        scheme: Some("bearer"),
                        flows: None,
                    });
                "bearer"
            }
        };
        Some(vec![BTreeMap::from([(
            name.to_owned(),
            service.oauth_scopes.clone(),
        )])])
    }

    fn operation(
        &mut self,
        method: &Method,
        binding: &Binding,
        key: MethodKey,
        path_parameters: &[Parameter],
        operation_id: String,
    ) -> Operation {
        let (summary, mut description) =
            summary_and_description(clean_comment(&method.comments.doc()));
        // Linters (and readers of a long list) want a summary on every operation.
        let summary = summary.or_else(|| Some(method.name.clone()));
        let bound: Vec<Vec<String>> = binding
            .template
            .variables
            .iter()
            .map(|v| v.field_path.0.clone())
            .collect();
        let mut parameters = path_parameters.to_vec();
        if binding.body != Body::All && !method.kind.client_streaming() {
            let mut stack = Vec::new();
            if let Some(input) = self.input(method) {
                let excluded: Vec<Vec<String>> = bound
                    .iter()
                    .cloned()
                    .chain(match &binding.body {
                        Body::Field(name) => Some(name.split('.').map(str::to_owned).collect()),
                        _ => None,
                    })
                    .collect();
                self.query(input, "", &excluded, &mut stack, true, &mut parameters);
            }
        }
        if let Some(mask) = self.model.inferred_field_mask(method, binding) {
            let note = format!(
                "Without `{}`, the fields present in the body are the ones updated.",
                self.schemas.key(mask)
            );
            description = Some(match description {
                Some(d) => format!("{d}\n\n{note}"),
                None => note,
            });
        }
        let request_body = self.request_body(method, binding, &bound);
        let responses = self.responses(method, binding, key);
        Operation {
            tags: Vec::new(),
            summary,
            description,
            operation_id,
            parameters,
            request_body,
            responses,
            deprecated: method.deprecated,
            security: None,
            servers: Vec::new(),
        }
    }

    /// Query parameters for every field of `message` the runtime binds from the query string,
    /// below `prefix`, leaving out `excluded` paths (bound by the path or the body) and the
    /// other members of a oneof one of them sets.
    fn query(
        &mut self,
        message: &crate::model::Message,
        prefix: &str,
        excluded: &[Vec<String>],
        stack: &mut Vec<String>,
        top: bool,
        out: &mut Vec<Parameter>,
    ) {
        stack.push(message.full_name.clone());
        for field in &message.fields {
            if excluded.iter().any(|p| p.len() == 1 && p[0] == field.name)
                || oneof_taken(message, excluded, field)
            {
                continue;
            }
            let below: Vec<Vec<String>> = excluded
                .iter()
                .filter(|p| p.len() > 1 && p[0] == field.name)
                .map(|p| p[1..].to_vec())
                .collect();
            let name = format!("{prefix}{}", self.schemas.key(field));
            let description = clean_comment(&field.comments.doc());
            let (style, explode, schema) = match (&field.cardinality, is_query_value(&field.ty)) {
                (Cardinality::Singular | Cardinality::Optional, true) => {
                    (None, None, self.schemas.value(&field.ty))
                }
                (Cardinality::Repeated, true) => {
                    let value = self.schemas.value(&field.ty);
                    (None, None, Schema::array(value))
                }
                (Cardinality::Map { .. }, true) => {
                    let schema = self.schemas.field(field);
                    // `field[KEY]=VALUE`: a key holding `[` or `]` cannot be written there.
                    let property_names = schema
                        .property_names
                        .clone()
                        .or_else(|| Some(Box::new(Schema::default().with_pattern("^[^\\[\\]]*$"))));
                    let schema = Schema {
                        description: None,
                        deprecated: false,
                        read_only: false,
                        write_only: false,
                        property_names,
                        ..schema
                    };
                    (Some("deepObject"), Some(true), schema)
                }
                (Cardinality::Singular | Cardinality::Optional, false) => {
                    if let FieldType::Message(nested) = &field.ty {
                        if let Some(nested) = self.model.messages.get(nested) {
                            // A recursive message is documented down to its first repetition.
                            if !stack.contains(&nested.full_name)
                                && !nested.full_name.starts_with("google.protobuf.")
                            {
                                self.query(nested, &format!("{name}."), &below, stack, false, out);
                            }
                        }
                    }
                    continue;
                }
                // Repeated messages and maps of messages cannot be set from the query string.
                _ => continue,
            };
            out.push(Parameter {
                name,
                location: "query",
                description,
                required: top && field.behaviors.contains(&FieldBehavior::Required),
                deprecated: field.deprecated,
                style,
                explode,
                schema,
            });
        }
        stack.pop();
    }

    fn request_body(
        &mut self,
        method: &Method,
        binding: &Binding,
        bound: &[Vec<String>],
    ) -> Option<RequestBody> {
        let input = self.input(method);
        let field = match &binding.body {
            Body::None => return None,
            Body::All => None,
            Body::Field(name) => {
                let path: Vec<String> = name.split('.').map(str::to_owned).collect();
                Some(self.field_at(method, &path)?)
            }
        };
        let http_body = match field {
            Some(f) => f.ty == FieldType::Message(HTTP_BODY.to_owned()),
            None => method.input == HTTP_BODY,
        };
        let (schema, description) = match field {
            _ if http_body => (binary("The raw bytes; `Content-Type` is passed on."), None),
            None => (
                self.schemas.message_without(&method.input, bound),
                // A well-known type's comment is protobuf's internals, and only some
                // compilers keep it.
                input
                    .filter(|m| !m.full_name.starts_with("google.protobuf."))
                    .and_then(|m| clean_comment(&m.comments.doc())),
            ),
            Some(field) => {
                let below: Vec<Vec<String>> = bound
                    .iter()
                    .filter(|p| p.len() > 1 && p[0] == field.name)
                    .map(|p| p[1..].to_vec())
                    .collect();
                let schema = match &field.ty {
                    FieldType::Message(nested) if field.cardinality == Cardinality::Singular => {
                        self.schemas.message_without(nested, &below)
                    }
                    _ => Schema {
                        description: None,
                        ..self.schemas.field(field)
                    },
                };
                (schema, clean_comment(&field.comments.doc()))
            }
        };
        let mut content = Ordered::default();
        if http_body {
            content.insert("*/*", MediaType { schema });
        } else if method.kind.client_streaming() {
            content.insert(
                "application/x-ndjson",
                MediaType {
                    schema: Schema {
                        description: Some("One JSON message per line.".to_owned()),
                        ..schema.clone()
                    },
                },
            );
            content.insert(
                "application/json",
                MediaType {
                    schema: Schema {
                        description: Some("A JSON array of messages.".to_owned()),
                        ..Schema::array(schema)
                    },
                },
            );
        } else {
            content.insert("application/json", MediaType { schema });
        }
        Some(RequestBody {
            description,
            content,
            // An empty body is `{}` (or an empty stream, or empty bytes): required only when
            // the proto says the body field is.
            required: field.is_some_and(|f| f.behaviors.contains(&FieldBehavior::Required)),
        })
    }

    fn responses(
        &mut self,
        method: &Method,
        binding: &Binding,
        key: MethodKey,
    ) -> Ordered<Response> {
        let output = self.model.messages.get(&method.output);
        let field = binding
            .response_body
            .as_ref()
            .and_then(|name| output.and_then(|m| m.field(name)))
            .cloned();
        let http_body = match &field {
            Some(f) => f.ty == FieldType::Message(HTTP_BODY.to_owned()),
            None => method.output == HTTP_BODY,
        };
        let schema = match &field {
            _ if http_body || key == MethodKey::Head => Schema::default(),
            Some(f) => Schema {
                description: None,
                ..self.schemas.field(f)
            },
            None => self.schemas.message(&method.output),
        };
        let mut content = Ordered::default();
        let description;
        if method.success_has_no_body() {
            description = format!(
                "{}; the response has no body.",
                status_reason(method.success_status)
            );
        } else if key == MethodKey::Head {
            description = "OK; HEAD responses have no body.".to_owned();
        } else if http_body {
            description = if method.kind.server_streaming() {
                "The raw bytes of every message of the stream, in order.".to_owned()
            } else {
                "The raw bytes, with their own `Content-Type`.".to_owned()
            };
            content.insert(
                "*/*",
                MediaType {
                    schema: binary("Raw bytes."),
                },
            );
        } else if method.kind.server_streaming() {
            description = "A stream: one JSON message per line, or Server-Sent Events when the request has `Accept: text/event-stream`. An error after the first message ends the stream as a last line (or an `error` event) holding a `google.rpc.Status`.".to_owned();
            let item = if self.params.grpc_gateway_envelope {
                let status = self.schemas.status();
                Schema {
                    properties: Ordered(vec![
                        ("result".to_owned(), schema),
                        ("error".to_owned(), status),
                    ]),
                    ..Schema::of_type("object")
                }
            } else {
                schema
            };
            content.insert(
                "application/x-ndjson",
                MediaType {
                    schema: Schema {
                        description: Some("Each line is one message.".to_owned()),
                        ..item
                    },
                },
            );
            content.insert(
                "text/event-stream",
                MediaType {
                    schema: Schema {
                        description: Some("`data:` of each event is one JSON message.".to_owned()),
                        ..Schema::of_type("string")
                    },
                },
            );
        } else {
            description = status_reason(method.success_status).to_owned();
            content.insert("application/json", MediaType { schema });
        }
        Ordered(vec![
            (
                method.success_status.to_string(),
                Response::Inline {
                    description,
                    content,
                },
            ),
            (
                "default".to_owned(),
                Response::Ref {
                    reference: format!("#/components/responses/{ERROR_RESPONSE}"),
                },
            ),
        ])
    }
}

/// The reason phrase of a success status, for a response's description.
fn status_reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        _ => "Success",
    }
}

/// A path segment: any non-empty text without `/`.
fn segment_schema() -> Schema {
    Schema::of_type("string").with_pattern("^[^/]+$")
}

/// The runtime never binds an empty segment, so a string path parameter has at least one
/// character.
fn non_empty(schema: Schema) -> Schema {
    if schema.reference.is_none() && schema == Schema::of_type("string") {
        Schema {
            min_length: Some(1),
            ..schema
        }
    } else {
        schema
    }
}

fn binary(description: &str) -> Schema {
    Schema {
        description: Some(description.to_owned()),
        ..Schema::of_type("string").with_format("binary")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_comments_are_stripped() {
        assert_eq!(
            clean_comment("Lists books.\n(-- api-linter: x\n   more --)\n\nSecond.").as_deref(),
            Some("Lists books.\n\nSecond.")
        );
        assert_eq!(clean_comment("(-- only --)"), None);
        assert_eq!(clean_comment("a (-- b --) c").as_deref(), Some("a  c"));
    }

    #[test]
    fn plural_literals_name_their_segments() {
        for (plural, name) in [
            ("shelves", "shelf"),
            ("books", "book"),
            ("categories", "category"),
            ("addresses", "address"),
            ("boxes", "box"),
            ("people", "people_id"),
            ("status", "status_id"),
            ("userProfiles", "user_profile"),
        ] {
            assert_eq!(singular(plural), name, "{plural}");
        }
    }

    #[test]
    fn first_paragraph_is_the_summary() {
        let (s, d) = summary_and_description(Some("Lists.\nAll of them.\n\nMore.".to_owned()));
        assert_eq!(s.as_deref(), Some("Lists. All of them."));
        assert_eq!(d.as_deref(), Some("More."));
    }

    #[test]
    fn each_version_places_each_method_or_says_why_not() {
        use OpenApiVersion::{V3_1, V3_2};
        let fixed = |key| Ok(vec![Slot::Fixed(key)]);
        let custom = |kind: &str| HttpMethod::Custom(kind.to_owned());
        for (method, version, expected) in [
            (HttpMethod::Get, V3_1, fixed(MethodKey::Get)),
            (HttpMethod::Patch, V3_2, fixed(MethodKey::Patch)),
            (custom("HEAD"), V3_1, fixed(MethodKey::Head)),
            (custom("TRACE"), V3_2, fixed(MethodKey::Trace)),
            (custom("QUERY"), V3_2, fixed(MethodKey::Query)),
            (
                custom("PURGE"),
                V3_2,
                Ok(vec![Slot::Additional("PURGE".to_owned())]),
            ),
        ] {
            assert_eq!(slots(&method, version), expected, "{method:?} {version:?}");
        }
        for kind in ["PURGE", "QUERY", "LINK"] {
            let (sent, reason) = slots(&custom(kind), V3_1).unwrap_err();
            assert_eq!(sent, kind);
            assert!(
                reason.starts_with(&format!(
                    "OpenAPI 3.1 has no operation for the HTTP method `{kind}`"
                )),
                "{reason}"
            );
        }
        assert_eq!(slots(&custom("*"), V3_2).unwrap().len(), 5);
    }

    #[test]
    fn package_versions() {
        assert_eq!(package_version("library.v1"), Some("v1"));
        assert_eq!(package_version("a.v2beta1.b"), Some("v2beta1"));
        assert_eq!(package_version("acme.vault"), None);
    }
}
