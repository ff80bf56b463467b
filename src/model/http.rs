//! `google.api.http` rules -> validated [`Binding`]s, and the request-wide route checks.
//!
//! Every check of docs/reference.md section 2 lives here or in the template parser. Errors name the rule's
//! place in the .proto file and say how to fix it.

use std::collections::BTreeMap;

use prost_reflect::DynamicMessage;

use super::{
    Binding, Body, Cardinality, FieldPath, FieldType, HttpMethod, Message, Method, Model,
    PathTemplate,
};
use crate::diag::Diagnostics;
use crate::params::Params;
use crate::source::{Location, SourceIndex};

/// `google.api.HttpRule`, decoded from the option's raw bytes.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HttpRule {
    #[prost(string, tag = "1")]
    pub selector: String,
    #[prost(oneof = "Pattern", tags = "2, 3, 4, 5, 6, 8")]
    pub pattern: Option<Pattern>,
    #[prost(string, tag = "7")]
    pub body: String,
    #[prost(string, tag = "12")]
    pub response_body: String,
    #[prost(message, repeated, tag = "11")]
    pub additional_bindings: Vec<HttpRule>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum Pattern {
    #[prost(string, tag = "2")]
    Get(String),
    #[prost(string, tag = "3")]
    Put(String),
    #[prost(string, tag = "4")]
    Post(String),
    #[prost(string, tag = "5")]
    Delete(String),
    #[prost(string, tag = "6")]
    Patch(String),
    #[prost(message, tag = "8")]
    Custom(CustomHttpPattern),
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct CustomHttpPattern {
    #[prost(string, tag = "1")]
    pub kind: String,
    #[prost(string, tag = "2")]
    pub path: String,
}

/// Field numbers inside `HttpRule`, for locating errors.
const BODY: i32 = 7;
const ADDITIONAL_BINDINGS: i32 = 11;
const RESPONSE_BODY: i32 = 12;
const CUSTOM: i32 = 8;
const CUSTOM_KIND: i32 = 1;
const CUSTOM_PATH: i32 = 2;
/// `MethodDescriptorProto.options` and the `google.api.http` extension number.
const METHOD_OPTIONS: i32 = 4;
const HTTP_EXTENSION: i32 = 72295728;

/// Where a method's rule sits in its file.
pub(crate) struct RuleSite<'a> {
    pub index: &'a SourceIndex<'a>,
    pub file: &'a str,
    /// Source-info path of the method.
    pub method_path: &'a [i32],
}

impl RuleSite<'_> {
    /// The location of a field inside the rule (`rule_path` relative to the HttpRule).
    fn location(&self, rule_path: &[i32]) -> Location {
        let mut path = self.method_path.to_vec();
        path.extend([METHOD_OPTIONS, HTTP_EXTENSION]);
        path.extend_from_slice(rule_path);
        self.index.location(self.file, &path)
    }
}

/// Turns a method's `google.api.http` option into bindings, recording every problem.
/// Bindings with errors are left out.
pub(crate) fn bindings(
    method: &Method,
    rule: &DynamicMessage,
    site: &RuleSite<'_>,
    model: &Model,
    params: &Params,
    diags: &mut Diagnostics,
) -> Vec<Binding> {
    let rule: HttpRule = match rule.transcode_to() {
        Ok(rule) => rule,
        Err(e) => {
            diags.error(
                &site.location(&[]),
                &method.full_name,
                format!("the google.api.http option cannot be read ({e}); check that it is a google.api.HttpRule"),
            );
            return Vec::new();
        }
    };
    let checker = Checker {
        method,
        site,
        model,
        params,
    };
    let mut out = Vec::new();
    out.extend(checker.binding(&rule, 0, &[], diags));
    for (i, extra) in rule.additional_bindings.iter().enumerate() {
        let rule_path = [ADDITIONAL_BINDINGS, i as i32];
        if !extra.additional_bindings.is_empty() {
            diags.error(
                &site.location(&[ADDITIONAL_BINDINGS, i as i32, ADDITIONAL_BINDINGS]),
                &method.full_name,
                "additional_bindings inside additional_bindings are not allowed; \
                 list every extra route in the rule's own additional_bindings",
            );
        }
        out.extend(checker.binding(extra, i + 1, &rule_path, diags));
    }
    out
}

struct Checker<'a> {
    method: &'a Method,
    site: &'a RuleSite<'a>,
    model: &'a Model,
    params: &'a Params,
}

impl Checker<'_> {
    fn binding(
        &self,
        rule: &HttpRule,
        index: usize,
        rule_path: &[i32],
        diags: &mut Diagnostics,
    ) -> Option<Binding> {
        let errors_before = diags.errors.len();
        let at = |field: &[i32]| {
            let mut path = rule_path.to_vec();
            path.extend_from_slice(field);
            self.site.location(&path)
        };
        let element = self.method.full_name.as_str();

        let (http_method, path, path_field): (HttpMethod, &str, Vec<i32>) = match &rule.pattern {
            None => {
                diags.error(
                    &at(&[]),
                    element,
                    "the HTTP rule sets no method and path; set one of get, put, post, delete, patch or custom",
                );
                return None;
            }
            Some(Pattern::Get(p)) => (HttpMethod::Get, p, vec![2]),
            Some(Pattern::Put(p)) => (HttpMethod::Put, p, vec![3]),
            Some(Pattern::Post(p)) => (HttpMethod::Post, p, vec![4]),
            Some(Pattern::Delete(p)) => (HttpMethod::Delete, p, vec![5]),
            Some(Pattern::Patch(p)) => (HttpMethod::Patch, p, vec![6]),
            Some(Pattern::Custom(c)) => {
                if !is_method_token(&c.kind) {
                    diags.error(
                        &at(&[CUSTOM, CUSTOM_KIND]),
                        element,
                        format!(
                            "custom kind {:?} is not an HTTP method; use a method name such as \"HEAD\" or \"OPTIONS\", or \"*\" for every method",
                            c.kind
                        ),
                    );
                }
                (
                    HttpMethod::Custom(c.kind.clone()),
                    &c.path,
                    vec![CUSTOM, CUSTOM_PATH],
                )
            }
        };

        let template = match PathTemplate::parse(path) {
            Ok(t) => Some(t),
            Err(e) => {
                diags.error(
                    &at(&path_field),
                    element,
                    format!(
                        "path template {path:?}: {} (at character {}); {}",
                        e.message,
                        e.offset + 1,
                        e.fix
                    ),
                );
                None
            }
        };

        if template
            .as_ref()
            .is_some_and(PathTemplate::multi_before_literals)
        {
            diags.warning(
                &at(&path_field),
                element,
                format!(
                    "path template {path:?}: `**` is followed by literal segments; http.proto's grammar puts `**` last, so other transcoders may refuse this rule (rs-svc matches the literals from the end of the path and binds the rest to `**`)"
                ),
            );
        }

        let input = self.model.messages.get(&self.method.input)?;
        let output = self.model.messages.get(&self.method.output)?;

        // Path variables on client and bidi streams bind into the stream's first message, as
        // Envoy's transcoder serves them (docs/reference.md section 2).
        if let Some(template) = &template {
            for var in &template.variables {
                match self.check_path_field(input, &var.field_path) {
                    Ok(None) => {}
                    Ok(Some(warning)) => diags.warning(
                        &at(&path_field),
                        element,
                        format!("path template {path:?}: {warning}"),
                    ),
                    Err(problem) => diags.error(
                        &at(&path_field),
                        element,
                        format!("path template {path:?}: {problem}"),
                    ),
                }
            }
            if let Some(verb) = template.verb.as_deref().filter(|v| v.contains(':')) {
                diags.warning(
                    &at(&path_field),
                    element,
                    format!(
                        "path template {path:?}: the verb `{verb}` holds a `:`, a grpc-gateway extension (after a variable, the verb is everything after the first `:`); {NOT_PORTABLE}; a verb without `:` is portable"
                    ),
                );
            }
        }

        let mut body = match rule.body.as_str() {
            "" => Body::None,
            "*" => Body::All,
            name => Body::Field(name.to_owned()),
        };
        if let Body::Field(name) = &body {
            let problem = match FieldPath::parse(name) {
                None => Some(format!("body {name:?} is not a field name; use \"*\", a top-level field of {}, or leave it empty", input.full_name)),
                Some(fp) => match self.check_body_field(input, &fp) {
                    Err(problem) => Some(problem),
                    Ok(()) => template.as_ref().and_then(|t| {
                        t.variables
                            .iter()
                            // `{book.name}` with body "book" is the usual update shape: the
                            // path fills in one field of the body. Binding the body field
                            // itself (or a field above it) leaves nothing for the body to carry.
                            .find(|v| fp.0.starts_with(&v.field_path.0))
                            .map(|v| format!(
                                "body {name:?} is also bound by path variable `{}`; a field comes from the path or the body, not both: bind another field in the path or choose another body field",
                                v.field_path
                            ))
                    }),
                },
            };
            match problem {
                Some(problem) => diags.error(&at(&[BODY]), element, problem),
                None if name.contains('.') => diags.warning(
                    &at(&[BODY]),
                    element,
                    format!(
                        "body {name:?} names a nested field, a grpc-gateway extension (the JSON body is that field, the messages above it created); {NOT_PORTABLE}; a top-level body field is portable"
                    ),
                ),
                None => {}
            }
        }
        if self.method.kind.client_streaming() {
            match body {
                Body::All => {}
                Body::None => {
                    diags.warning(
                        &at(&[BODY]),
                        element,
                        format!(
                            "a client-streaming method with no body reads its stream from the request body anyway, a grpc-gateway extension; {NOT_PORTABLE}; set body: \"*\" to say so"
                        ),
                    );
                    body = Body::All;
                }
                Body::Field(_) => diags.error(
                    &at(&[BODY]),
                    element,
                    "a client-streaming method reads a stream of whole messages from the body; set body: \"*\"",
                ),
            }
        }
        if http_method == HttpMethod::Get && body != Body::None {
            let message =
                "a GET request has no body, so body is never read; remove it, or use POST";
            if self.params.deny_get_body {
                diags.error(&at(&[BODY]), element, message);
            } else {
                diags.warning(&at(&[BODY]), element, message);
            }
        }

        let response_body = match rule.response_body.as_str() {
            "" => None,
            name => {
                if output.field(name).is_none() {
                    let nested = name.contains('.');
                    diags.error(
                        &at(&[RESPONSE_BODY]),
                        element,
                        if nested {
                            format!("response_body {name:?} names a nested field; it must be a top-level field of {}", output.full_name)
                        } else {
                            format!(
                                "response_body {name:?}: {} has no field `{name}`; {}",
                                output.full_name,
                                field_hint(output)
                            )
                        },
                    );
                }
                Some(name.to_owned())
            }
        };

        (diags.errors.len() == errors_before).then(|| Binding {
            method: http_method,
            template: template.expect("no error means the template parsed"),
            body,
            response_body,
            index,
            location: at(&path_field),
            unreachable: false,
            route: super::Route::default(),
        })
    }

    /// A body field must reach, through singular message fields, a field of the request. A
    /// nested one is grpc-gateway's extension (the caller warns).
    fn check_body_field(&self, input: &Message, path: &FieldPath) -> Result<(), String> {
        let mut message = input;
        for (i, part) in path.0.iter().enumerate() {
            let Some(field) = message.field(part) else {
                return Err(format!(
                    "body \"{path}\": {} has no field `{part}`; {}",
                    message.full_name,
                    field_hint(message)
                ));
            };
            if i + 1 == path.0.len() {
                break;
            }
            match (&field.ty, &field.cardinality) {
                (FieldType::Message(name), Cardinality::Singular | Cardinality::Optional) => {
                    message = self.model.messages.get(name).ok_or_else(|| {
                        format!("body \"{path}\": message {name} is missing from the request")
                    })?;
                }
                _ => {
                    return Err(format!(
                        "body \"{path}\": `{part}` is not a singular message, so the body cannot go deeper; use \"*\" or a top-level field of {}",
                        input.full_name
                    ))
                }
            }
        }
        Ok(())
    }

    /// A path variable must reach, through singular message fields, one singular scalar, enum
    /// or string-form well-known type. A repeated scalar or enum at the end is grpc-gateway's
    /// extension (comma-separated values): `Ok(Some(warning))`.
    fn check_path_field(
        &self,
        input: &Message,
        path: &FieldPath,
    ) -> Result<Option<String>, String> {
        let mut message = input;
        for (i, part) in path.0.iter().enumerate() {
            let last = i + 1 == path.0.len();
            let Some(field) = message.field(part) else {
                return Err(format!(
                    "variable `{path}`: {} has no field `{part}`; {}",
                    message.full_name,
                    field_hint(message)
                ));
            };
            match field.cardinality {
                Cardinality::Repeated
                    if last && !matches!(field.ty, FieldType::Message(_)) =>
                {
                    return Ok(Some(format!(
                        "variable `{path}` binds repeated field `{part}`, a grpc-gateway extension (the segment is split on `,` into the list, so no element can hold a comma); {NOT_PORTABLE}; a list in the query (`?{part}=a&{part}=b`) is portable"
                    )));
                }
                Cardinality::Repeated => {
                    return Err(format!(
                        "variable `{path}` binds repeated field `{part}`; a path segment holds one value, so bind a singular field (repeated values go in the query or body)"
                    ))
                }
                Cardinality::Map { .. } => {
                    return Err(format!(
                        "variable `{path}` binds map field `{part}`; bind a singular field (maps go in the query or body)"
                    ))
                }
                _ => {}
            }
            match (&field.ty, last) {
                (FieldType::Message(name), false) => {
                    message = self
                        .model
                        .messages
                        .get(name)
                        .ok_or_else(|| format!("variable `{path}`: message {name} is missing from the request"))?;
                }
                (_, false) => {
                    return Err(format!(
                        "variable `{path}`: `{part}` is not a message, so the path cannot go deeper; end the variable at `{part}`"
                    ))
                }
                (FieldType::Message(name), true) if !field.ty.is_query_value() =>
                {
                    return Err(format!(
                        "variable `{path}` binds `{part}`, of message type {name}; a path segment holds one value: bind one of its scalar fields (`{path}.<field>`), or use a well-known type written as a string (Timestamp, Duration, FieldMask, a wrapper)"
                    ))
                }
                _ => {}
            }
        }
        Ok(None)
    }
}

/// What every warning about an extension of another transcoder says.
const NOT_PORTABLE: &str = "it is not portable: http.proto does not define it, so other transcoders may refuse the rule or serve it differently";

/// "its fields are a, b, c" (or that it has none), to help fix a misspelt name.
fn field_hint(message: &Message) -> String {
    if message.fields.is_empty() {
        return format!("{} has no fields", message.full_name);
    }
    let names: Vec<&str> = message.fields.iter().map(|f| f.name.as_str()).collect();
    format!("its fields are {}", names.join(", "))
}

/// An HTTP method name is an RFC 9110 token; `*` stands for every method.
fn is_method_token(kind: &str) -> bool {
    kind == "*"
        || (!kind.is_empty()
            && kind
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'+-.^_`|~".contains(&b)))
}

/// Request-wide checks: two routes with the same method and template, and routes that can never
/// be reached because another one matches exactly the same requests.
///
/// With precedence literal > `*` > `**` decided segment by segment, a route can only lose every
/// time to a route of the same method with the same shape (same literals, wildcards and verb):
/// any other difference leaves some path where it is the better match.
///
/// Neither stops generation: the router still serves every request, through the route
/// registered first (the runtime matcher keeps the first of routes with one method and one
/// shape), and googleapis ships such pairs (bigquery/storage `ReadRows` and `SplitReadStream`).
/// They are warnings, or errors with `strict_http_rules`.
///
/// Routes can only collide when they are served together. Services with different
/// `google.api.default_host`s are different servers (google/cloud alone has over a thousand
/// identical routes across services, each on its own host), so routes are compared among
/// services of the same default host, services without one forming one group.
pub(crate) fn check_routes(model: &mut Model, params: &Params, diags: &mut Diagnostics) {
    type Key<'a> = (Option<&'a str>, HttpMethod, String);
    let mut seen: BTreeMap<Key<'_>, (&Method, &Binding)> = BTreeMap::new();
    // (package, service, method, binding) indices of the routes found unreachable.
    let mut unreachable = Vec::new();
    let services = model.packages.iter().enumerate().flat_map(|(p, package)| {
        package
            .services
            .iter()
            .enumerate()
            .map(move |(s, service)| (p, s, service))
    });
    for (p, s, service) in services {
        for (m, method) in service.methods.iter().enumerate() {
            for (b, binding) in method.bindings.iter().enumerate() {
                let key = (
                    service.default_host.as_deref(),
                    binding.method.clone(),
                    binding.template.shape(),
                );
                let Some((first, first_binding)) = seen.get(&key) else {
                    seen.insert(key, (method, binding));
                    continue;
                };
                unreachable.push((p, s, m, b));
                let route = format!("{} {}", binding.method, binding.template);
                // The matcher's tie rule: among routes of one method and one shape, the one
                // registered first serves; routers register routes in declaration order, and
                // merged routers in the order they are merged.
                let serves = format!(
                    "{} serves every such request (the router keeps the first registered of routes with one method and one shape: the one declared first, or across services the one whose routes are merged first)",
                    first.full_name
                );
                let problem = if first_binding.template == binding.template {
                    format!(
                        "route `{route}` is declared twice: {} at {} has the same method and path; {serves}",
                        first.full_name, first_binding.location
                    )
                } else {
                    format!(
                        "route `{route}` can never be reached: `{} {}` of {} at {} matches exactly the same requests; {serves}",
                        first_binding.method,
                        first_binding.template,
                        first.full_name,
                        first_binding.location
                    )
                };
                let fix = "change the literal parts or the method of one of them";
                if params.strict_http_rules {
                    diags.error(
                        &binding.location,
                        &method.full_name,
                        format!("{problem}; {fix} (an error because of strict_http_rules)"),
                    );
                } else {
                    diags.warning(
                        &binding.location,
                        &method.full_name,
                        format!("{problem}; {fix}, or set strict_http_rules to make this an error"),
                    );
                }
            }
        }
    }
    for (p, s, m, b) in unreachable {
        model.packages[p].services[s].methods[m].bindings[b].unreachable = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_tokens() {
        for ok in ["HEAD", "OPTIONS", "*", "PROPFIND", "x-custom"] {
            assert!(is_method_token(ok), "{ok}");
        }
        for bad in ["", "GET POST", "a/b", "**x{"] {
            assert!(!is_method_token(bad), "{bad}");
        }
    }
}
