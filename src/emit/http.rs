//! What HTTP/JSON transcoding needs from generated code: a `QuerySchema` impl for every message
//! that query parameters can reach (the request of a method with an http rule and the singular
//! messages below it), so the runtime can bind `?a.b=v` (docs/reference.md section 4).

use std::collections::BTreeSet;

use heck::ToShoutySnakeCase;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::paths;
use crate::model::template::{PathTemplate, Segment};
use crate::model::{
    Binding, Cardinality, Field, FieldType, HttpMethod, JsonForm, Method, MethodKind, Model,
    RequestBody, ResponseBody, Route, Scalar, WellKnown,
};
use crate::naming;
use crate::params::Params;

/// Every message query parameters can reach ([`Model::query_messages`]); none with `no_http`,
/// which leaves out the routers that read them.
pub fn query_messages(model: &Model, params: &Params) -> BTreeSet<String> {
    if params.no_http {
        return BTreeSet::new();
    }
    model.query_messages()
}

/// The `QuerySchema` impls of `package`'s messages in `reachable`.
pub fn query_schemas(
    model: &Model,
    package: &str,
    params: &Params,
    reachable: &BTreeSet<String>,
) -> TokenStream {
    let externs = paths::resolution_paths(model, params);
    // Only the request of a rule without a body is read from top-level values alone (the
    // runtime's `Flat`).
    let requests: BTreeSet<&str> = model
        .services()
        .flat_map(|s| &s.methods)
        .filter(|m| {
            m.bindings
                .iter()
                .any(|b| matches!(b.route.request, RequestBody::None))
        })
        .map(|m| m.input.as_str())
        .collect();
    let impls = reachable
        .iter()
        .filter_map(|name| model.messages.get(name))
        .filter(|m| m.package == package)
        .map(|message| {
            let ty = path(model, package, &message.full_name, externs);
            let fields: Vec<_> = message
                .fields
                .iter()
                .map(|f| field(model, package, f, externs, reachable))
                .collect();
            let body = if fields.is_empty() {
                quote!(&[])
            } else {
                quote! {
                    use ::rs_svc::__codegen::query::{Cardinality as C, QueryField as F, QueryKind as K};
                    const FIELDS: &[F] = &[#(#fields),*];
                    FIELDS
                }
            };
            let set_field = if requests.contains(message.full_name.as_str()) {
                set_field(&message.fields)
            } else {
                TokenStream::new()
            };
            quote! {
                impl ::rs_svc::__codegen::query::QuerySchema for #ty {
                    fn query_fields() -> &'static [::rs_svc::__codegen::query::QueryField] {
                        #body
                    }
                    #set_field
                }
            }
        });
    quote!(#(#impls)*)
}

/// `QuerySchema::set_field` for the fields a path variable or query parameter can set without
/// serde (strings, integers, bools and enums outside any oneof, singular, optional or repeated);
/// nothing when the message has none. Each arm's index is the field's in `query_fields`.
fn set_field(fields: &[Field]) -> TokenStream {
    let arms: Vec<_> = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| sets_directly(f))
        .map(|(index, f)| {
            let ident = naming::ident(&naming::field_name(&f.name));
            let index = proc_macro2::Literal::usize_unsuffixed(index);
            quote!(#index => self.#ident.set_flat(value))
        })
        .collect();
    if arms.is_empty() {
        return TokenStream::new();
    }
    // Deprecated fields are set like the others.
    quote! {
        #[allow(deprecated)]
        fn set_field(&mut self, index: usize, value: &mut ::rs_svc::__codegen::query::Scalar<'_>) -> bool {
            use ::rs_svc::__codegen::query::FlatField as _;
            match index {
                #(#arms,)*
                _ => false,
            }
        }
    }
}

/// Whether `QuerySchema::set_field` sets `field` itself (see [`set_field`]).
fn sets_directly(field: &Field) -> bool {
    let plain = match &field.ty {
        FieldType::Scalar(s) => !matches!(s, Scalar::Float | Scalar::Double | Scalar::Bytes),
        FieldType::Enum(_) => field.ty.well_known() != Some(WellKnown::NullValue),
        FieldType::Message(_) => false,
    };
    plain && field.oneof.is_none() && !matches!(field.cardinality, Cardinality::Map { .. })
}

fn path(
    model: &Model,
    package: &str,
    full_name: &str,
    externs: &[(String, String)],
) -> TokenStream {
    paths::rust_path(model, package, full_name, externs)
        .parse()
        .expect("generated Rust paths parse")
}

fn field(
    model: &Model,
    package: &str,
    field: &Field,
    externs: &[(String, String)],
    reachable: &BTreeSet<String>,
) -> TokenStream {
    let proto_name = &field.name;
    let json_name = &field.json_name;
    let kind = match &field.ty {
        FieldType::Scalar(s) => scalar_kind(*s),
        FieldType::Enum(_) if field.ty.well_known() == Some(WellKnown::NullValue) => {
            quote!(K::Unsupported)
        }
        FieldType::Enum(e) => {
            let ty = path(model, package, e, externs);
            quote!(K::Enum(<#ty as ::rs_svc::__codegen::json::ProtoEnum>::number_of))
        }
        FieldType::Message(m) => match field.ty.well_known().map(WellKnown::json_form) {
            // A wrapper is set like the scalar it holds; the string forms are text.
            Some(JsonForm::Wrapper(s)) => scalar_kind(s),
            Some(JsonForm::Timestamp | JsonForm::Duration | JsonForm::FieldMask) => quote!(K::Text),
            _ if reachable.contains(m) => {
                let ty = path(model, package, m, externs);
                quote!(K::Message(<#ty as ::rs_svc::__codegen::query::QuerySchema>::query_fields))
            }
            _ => quote!(K::Unsupported),
        },
    };
    let cardinality = format_ident!(
        "{}",
        match field.cardinality {
            Cardinality::Singular | Cardinality::Optional => "Singular",
            Cardinality::Repeated => "Repeated",
            Cardinality::Map { .. } => "Map",
        }
    );
    let oneof = match &field.oneof {
        Some(o) => quote!(Some(#o)),
        None => quote!(None),
    };
    quote!(F::new(#proto_name, #json_name, #kind, C::#cardinality, #oneof))
}

fn scalar_kind(s: Scalar) -> TokenStream {
    match s {
        Scalar::Bool => quote!(K::Bool),
        Scalar::Float | Scalar::Double => quote!(K::Float),
        Scalar::String | Scalar::Bytes => quote!(K::Text),
        _ => quote!(K::Integer),
    }
}

/// The `<service>_http` module of every service of `package` with http rules: the rules'
/// templates as constants, and `routes`, `router` and `router_with`.
pub fn routers(model: &Model, package: &str, params: &Params) -> TokenStream {
    let Some(pkg) = model.package(package) else {
        return TokenStream::new();
    };
    if params.no_server || params.no_http {
        return TokenStream::new();
    }
    let mut out = TokenStream::new();
    for service in &pkg.services {
        // The declared routes, then the unbound ones (`generate_unbound_methods`): the
        // registration order decides ties between routes of one shape.
        let all = || {
            service
                .methods
                .iter()
                .flat_map(|m| m.bindings.iter().map(move |b| (m, b)))
        };
        let routed: Vec<(&Method, &Binding)> = all()
            .filter(|(_, b)| !b.route.unbound)
            .chain(all().filter(|(_, b)| b.route.unbound))
            .collect();
        if routed.is_empty() {
            continue;
        }
        let routed_deprecated = routed.iter().any(|(m, _)| m.deprecated);
        let module = format_ident!("{}", naming::tonic_module(&service.name, "http"));
        let server = format_ident!("{}", naming::tonic_module(&service.name, "server"));
        let trait_name = format_ident!("{}", naming::tonic_type(&service.name, ""));
        let mut consts = TokenStream::new();
        let mut routes = TokenStream::new();
        // Import only what the templates use, so the module has no unused import.
        let uses_variables = routed.iter().any(|(_, b)| !b.template.variables.is_empty());
        let uses_segment = |kind: fn(&Segment) -> bool| {
            routed
                .iter()
                .any(|(_, b)| b.template.segments.iter().any(kind))
        };
        let segment_imports = [
            uses_segment(|s| matches!(s, Segment::Literal(_))).then(|| quote!(Literal as L)),
            uses_segment(|s| matches!(s, Segment::Multi)).then(|| quote!(Multi)),
            uses_segment(|s| matches!(s, Segment::Single)).then(|| quote!(Single)),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
        let mut serves = BTreeSet::new();
        let mut uses_wrapper = false;
        // `L` is the imported `Segment::Literal`.
        let mut names = ConstNames::reserving(&["L"]);
        for (method, binding) in routed {
            let base = if method.bindings.len() == 1 {
                method.name.to_shouty_snake_case()
            } else {
                format!("{}_{}", method.name.to_shouty_snake_case(), binding.index)
            };
            let template_ident = format_ident!("{}", names.unique(base.clone()));
            let doc = format!(
                " `{} {}`: `{}`.",
                binding.method, binding.template, method.name
            );
            let template = template_tokens(&binding.template);
            consts.extend(quote! {
                #[doc = #doc]
                const #template_ident: Template = #template;
            });
            let rule = match rule_tokens(&binding.route) {
                Some(rule) => {
                    let rule_ident = format_ident!("{}", names.unique(format!("{base}_RULE")));
                    consts.extend(quote!(const #rule_ident: Rule = #rule;));
                    quote!(#rule_ident)
                }
                None => quote!(Rule::DEFAULT),
            };
            let filter = method_filter(&binding.method);
            let rust_method = format_ident!("{}", naming::method_name(&method.name));
            let serve = format_ident!(
                "{}",
                match method.kind {
                    MethodKind::Unary => "unary",
                    MethodKind::ServerStreaming => "server_streaming",
                    MethodKind::ClientStreaming => "client_streaming",
                    MethodKind::BidiStreaming => "bidi_streaming",
                }
            );
            serves.insert(serve.to_string());
            // prost maps a wrapper response to its bare value (`i64`); one response message is
            // written in the wrapper's proto3 JSON form instead of serde's.
            let call = match super::json::wrapper_codec(&method.output) {
                Some(codec) if !method.kind.server_streaming() => {
                    uses_wrapper = true;
                    quote! {
                        s.#rust_method(r).await.map(|response| response.map(Owned::<codec::#codec, _>::new))
                    }
                }
                _ => quote!(s.#rust_method(r).await),
            };
            let rpc = format!("{}/{}", service.full_name, method.name);
            routes.extend(quote! {
                .route(#filter, &#template_ident, #rpc, #serve(&service, &#rule, |s, r| async move { #call }))
            });
        }
        // Deprecated methods are served like the others; calling them is not a user's choice.
        let allow_deprecated = routed_deprecated.then(|| quote!(#[allow(deprecated)]));
        let full_name = &service.full_name;
        let matcher_imports = [
            Some(quote!(MethodFilter)),
            (!segment_imports.is_empty()).then(|| quote!(Segment::{#(#segment_imports),*})),
            Some(quote!(Template)),
            uses_variables.then(|| quote!(Variable as V)),
        ]
        .into_iter()
        .flatten();
        let serve_imports = serves.iter().map(|s| format_ident!("{s}"));
        let wrapper_imports = uses_wrapper.then(|| {
            quote!(
                use ::rs_svc::__codegen::json::{codec, Owned};
            )
        });
        let module_doc = format!(
            " HTTP/JSON routes of `{full_name}`, transcoded in-process from its `google.api.http` rules."
        );
        out.extend(quote! {
            #[doc = #module_doc]
            pub mod #module {
                use ::rs_svc::http::matcher::{#(#matcher_imports),*};
                use ::rs_svc::__codegen::http::{#(#serve_imports,)* Rule};
                #wrapper_imports

                #consts

                /// The routes with default options, as an axum router that merges with other
                /// routers, nests under a prefix and keeps 404/405 as `google.rpc.Status` JSON
                /// (`rs_svc::http::Routes::into_router` says how, and its limits).
                pub fn router<T: super::#server::#trait_name>(
                    service: ::std::sync::Arc<T>,
                ) -> ::rs_svc::http::axum::Router {
                    routes(service, ::rs_svc::http::Options::default()).into_router()
                }

                /// The routes with `options` (interceptor, body limit, ...), as an axum router.
                pub fn router_with<T: super::#server::#trait_name>(
                    service: ::std::sync::Arc<T>,
                    options: ::rs_svc::http::Options,
                ) -> ::rs_svc::http::axum::Router {
                    routes(service, options).into_router()
                }

                /// The routes, to merge with other services' (`Routes::merge`) behind one matcher.
                #allow_deprecated
                pub fn routes<T: super::#server::#trait_name>(
                    service: ::std::sync::Arc<T>,
                    options: ::rs_svc::http::Options,
                ) -> ::rs_svc::http::Routes {
                    ::rs_svc::http::Routes::new(options) #routes
                }
            }
        });
    }
    out
}

fn method_filter(method: &HttpMethod) -> TokenStream {
    let known = |name: &str| {
        let ident = format_ident!("{name}");
        quote!(MethodFilter::#ident)
    };
    match method {
        HttpMethod::Get => known("GET"),
        HttpMethod::Put => known("PUT"),
        HttpMethod::Post => known("POST"),
        HttpMethod::Delete => known("DELETE"),
        HttpMethod::Patch => known("PATCH"),
        HttpMethod::Custom(kind) if kind == "*" => quote!(MethodFilter::Any),
        HttpMethod::Custom(kind) => {
            quote!(MethodFilter::custom(#kind).expect("protoc-gen-rs-svc checked the method name"))
        }
    }
}

/// A template as a `Template::new(..)` const expression, its segments written `L("v1")`,
/// `Single` (`*`) and `Multi` (`**`).
fn template_tokens(template: &PathTemplate) -> TokenStream {
    let segments = template.segments.iter().map(|s| match s {
        Segment::Literal(text) => quote!(L(#text)),
        Segment::Single => quote!(Single),
        Segment::Multi => quote!(Multi),
    });
    let variables = template.variables.iter().map(|v| {
        let field = v.field_path.to_string();
        let start = proc_macro2::Literal::usize_unsuffixed(v.start);
        let end = proc_macro2::Literal::usize_unsuffixed(v.end);
        quote!(V::new(#field, #start, #end))
    });
    match &template.verb {
        Some(verb) => quote!(Template::with_verb(&[#(#segments),*], &[#(#variables),*], #verb)),
        None => quote!(Template::new(&[#(#segments),*], &[#(#variables),*])),
    }
}

/// A route's rule as a `Rule::new()` chain naming what differs from the default; `None` for
/// the default rule itself (`Rule::DEFAULT`).
fn rule_tokens(route: &Route) -> Option<TokenStream> {
    let mut chain = Vec::new();
    match &route.request {
        RequestBody::None => {}
        RequestBody::Message | RequestBody::Stream | RequestBody::HttpBody(None) => {
            chain.push(quote!(body_all()));
        }
        // A nested body field (grpc-gateway's extension) is a dotted path of both.
        RequestBody::Field(field) | RequestBody::HttpBody(Some(field)) => {
            let (proto_name, json_name) = (&field.proto, &field.json);
            chain.push(quote!(body_field(#proto_name, #json_name)));
        }
    }
    if let ResponseBody::Field(field) | ResponseBody::HttpBody(Some(field)) = &route.response {
        let json_name = &field.json_name;
        chain.push(quote!(response_body(#json_name)));
    }
    if matches!(route.request, RequestBody::HttpBody(_)) {
        chain.push(quote!(http_body_request()));
    }
    if matches!(route.response, ResponseBody::HttpBody(_)) {
        chain.push(quote!(http_body_response()));
    }
    if let Some(mask) = &route.inferred_field_mask {
        let json_name = &mask.json_name;
        chain.push(quote!(infer_field_mask(#json_name)));
    }
    if route.grpc_gateway_envelope {
        chain.push(quote!(grpc_gateway_envelope()));
    }
    if route.success_status != 200 {
        let status = proc_macro2::Literal::u16_unsuffixed(route.success_status);
        chain.push(quote!(status(#status)));
    }
    (!chain.is_empty()).then(|| quote!(Rule::new() #(.#chain)*))
}

/// The const names of one routes module: the wanted name, or (when another route already has
/// it, as `GetBook`'s `GET_BOOK_RULE` and a method `GetBookRule` would) the first free one of
/// `NAME_2`, `NAME_3`, ... in route order.
struct ConstNames(BTreeSet<String>);

impl ConstNames {
    fn reserving(names: &[&str]) -> Self {
        ConstNames(names.iter().map(|n| n.to_string()).collect())
    }

    fn unique(&mut self, wanted: String) -> String {
        let name = if self.0.contains(&wanted) {
            (2..)
                .map(|n| format!("{wanted}_{n}"))
                .find(|n| !self.0.contains(n))
                .expect("an unused name")
        } else {
            wanted
        };
        self.0.insert(name.clone());
        name
    }
}
