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
        .filter(|m| m.package == package && !paths::is_extern(model, &m.full_name))
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
        // Each method's first binding, what the HTTP client calls: its consts.
        let mut first = std::collections::BTreeMap::new();
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
            // `pub(super)`: the sibling `<svc>_http_client` builds its requests from them.
            consts.extend(quote! {
                #[doc = #doc]
                pub(super) const #template_ident: Template = #template;
            });
            let rule = match rule_tokens(&binding.route) {
                Some(rule) => {
                    let rule_ident = format_ident!("{}", names.unique(format!("{base}_RULE")));
                    consts.extend(quote!(pub(super) const #rule_ident: Rule = #rule;));
                    first.entry(method.name.as_str()).or_insert_with(|| {
                        (binding, template_ident.clone(), Some(rule_ident.clone()))
                    });
                    quote!(#rule_ident)
                }
                None => {
                    first
                        .entry(method.name.as_str())
                        .or_insert_with(|| (binding, template_ident.clone(), None));
                    quote!(Rule::DEFAULT)
                }
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
            // written in the wrapper's proto3 JSON form instead of serde's. The trait is named,
            // as tonic's server does: `s` is an `Arc<T>`, whose own methods (`clone`, `as_ref`,
            // ...) would win over an rpc of the same name (Cloud SQL's `Clone`).
            let call = quote!(<T as super::#server::#trait_name>::#rust_method(&s, r).await);
            let call = match super::json::wrapper_codec(&method.output) {
                Some(codec) if !method.kind.server_streaming() => {
                    uses_wrapper = true;
                    quote! {
                        #call.map(|response| response.map(Owned::<codec::#codec, _>::new))
                    }
                }
                _ => call,
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
        if !params.no_client && !params.no_http_client {
            out.extend(http_client(model, package, params, service, &first));
        }
    }
    out
}

/// Each routed method's first binding (in declaration order), with its template const and its
/// rule const (`None` for `Rule::DEFAULT`).
type FirstBindings<'a> = std::collections::BTreeMap<
    &'a str,
    (&'a Binding, proc_macro2::Ident, Option<proc_macro2::Ident>),
>;

/// The `<service>_http_client` module: `<Svc>HttpClient`, an implementation of the server trait
/// (and so of `<Svc>Api`) whose every call goes out through `rs_svc::http::HttpChannel` with the
/// consts of the method's first binding (docs/reference.md section 5.1). Nothing when a request
/// or response type is not a Rust type (the gRPC part reports that).
fn http_client(
    model: &Model,
    package: &str,
    params: &Params,
    service: &crate::model::Service,
    first: &FirstBindings,
) -> TokenStream {
    let externs = paths::resolution_paths(model, params);
    let routes = format_ident!("{}", naming::tonic_module(&service.name, "http"));
    let module = format_ident!("{}", naming::tonic_module(&service.name, "http_client"));
    let server = format_ident!("{}", naming::tonic_module(&service.name, "server"));
    let server_trait = format_ident!("{}", naming::tonic_type(&service.name, ""));
    let client = format_ident!("{}", naming::tonic_type(&service.name, "HttpClient"));
    let api = format!(
        "super::{}::{}",
        naming::tonic_module(&service.name, "api"),
        naming::tonic_type(&service.name, "Api")
    );
    let full_name = &service.full_name;
    let mut items = TokenStream::new();
    let mut deprecated = false;
    for method in &service.methods {
        let name = format_ident!("{}", naming::method_name(&method.name));
        let (Ok(request), Ok(response)) = (
            super::grpc::type_path(model, package, &method.input, externs),
            super::grpc::type_path(model, package, &method.output, externs),
        ) else {
            return TokenStream::new();
        };
        deprecated |= method.deprecated;
        let request_type = if method.kind.client_streaming() {
            quote!(tonic::Streaming<#request>)
        } else {
            quote!(#request)
        };
        let stream = format_ident!("{}Stream", method.name);
        let response_type = match (
            method.kind.server_streaming(),
            params.generate_default_stubs,
        ) {
            (false, _) => quote!(#response),
            (true, true) => quote!(::rs_svc::api::ResponseStream<#response>),
            (true, false) => {
                items.extend(quote!(type #stream = ::rs_svc::api::ResponseStream<#response>;));
                quote!(Self::#stream)
            }
        };
        let body = match first.get(method.name.as_str()) {
            None => {
                let message = format!(
                    "{full_name}.{} has no google.api.http rule: the HTTP client cannot call it",
                    method.name
                );
                quote!(::core::result::Result::Err(tonic::Status::unimplemented(#message)))
            }
            Some((binding, template, rule)) => {
                let verb = http_method(&binding.method);
                let rule = match rule {
                    Some(rule) => quote!(super::#routes::#rule),
                    None => quote!(::rs_svc::__codegen::http::Rule::DEFAULT),
                };
                let template = quote!(&super::#routes::#template);
                let channel = quote!(self.channel);
                // prost's `()` (`google.protobuf.Empty`) and bare primitives (the wrappers) go
                // out in their proto3 JSON forms, as the router reads them.
                let primitive = |ty: &TokenStream| !ty.to_string().contains("::");
                let adapt = if request.to_string() == "( )" || request.to_string() == "()" {
                    Some(quote!(|()| ::rs_svc::__codegen::http_client::Empty))
                } else {
                    super::json::wrapper_codec(&method.input)
                        .filter(|_| primitive(&request))
                        .map(|codec| quote!(::rs_svc::__codegen::json::Owned::<::rs_svc::__codegen::json::codec::#codec, _>::new))
                };
                // Named after its gRPC method, whose policy (idempotent, fallback) it gets.
                let method_name = &method.name;
                let named = |request: TokenStream| quote!(::rs_svc::__codegen::http_client::named(#request, #full_name, #method_name));
                let unary_request = named(match &adapt {
                    Some(adapt) => quote!(request.map(#adapt)),
                    None => quote!(request),
                });
                let stream_request = named(match &adapt {
                    Some(adapt) => {
                        quote!(::rs_svc::__codegen::http_client::messages(request, #adapt))
                    }
                    None => quote!(::rs_svc::__codegen::http_client::messages(
                        request,
                        ::core::convert::identity
                    )),
                });
                let unary_response = if response.to_string() == "( )"
                    || response.to_string() == "()"
                {
                    Some((
                        quote!(::rs_svc::__codegen::http_client::Empty),
                        quote!(|_| ()),
                    ))
                } else {
                    super::json::wrapper_codec(&method.output).map(|codec| {
                        (
                            quote!(::rs_svc::__codegen::json::Owned<::rs_svc::__codegen::json::codec::#codec, _>),
                            quote!(|owned| owned.0),
                        )
                    })
                };
                // A call answered with one message, read through its wrapper's JSON form if any.
                let one_answer = |call: TokenStream, request: &TokenStream| match &unary_response {
                    Some((read, back)) => quote! {
                        #channel
                            .#call::<_, #read>(#verb, #template, &#rule, #request)
                            .await
                            .map(|response| response.map(#back))
                    },
                    None => quote!(#channel.#call(#verb, #template, &#rule, #request).await),
                };
                match method.kind {
                    MethodKind::Unary => one_answer(quote!(unary), &unary_request),
                    MethodKind::ServerStreaming => {
                        quote!(#channel.server_streaming(#verb, #template, &#rule, #unary_request).await)
                    }
                    MethodKind::ClientStreaming => {
                        one_answer(quote!(client_streaming), &stream_request)
                    }
                    MethodKind::BidiStreaming => {
                        quote!(#channel.bidi_streaming(#verb, #template, &#rule, #stream_request).await)
                    }
                }
            }
        };
        let argument = if first.contains_key(method.name.as_str()) {
            format_ident!("request")
        } else {
            format_ident!("_request")
        };
        items.extend(quote! {
            async fn #name(
                &self,
                #argument: tonic::Request<#request_type>,
            ) -> ::core::result::Result<tonic::Response<#response_type>, tonic::Status> {
                #body
            }
        });
    }
    let module_doc =
        format!(" An HTTP/JSON client of `{full_name}`, calling its `google.api.http` rules.");
    let client_doc = format!(
        " `{full_name}` over HTTP/JSON: each call goes out on the method's first `google.api.http` \
         binding, built from the same route tables `super::{routes}` matches with; errors come \
         back as `tonic::Status` with their details and metadata. It implements the server trait, \
         so it is a [`{api}`] too. Methods without a rule answer UNIMPLEMENTED."
    );
    let (default_url, dial) = match &service.default_host {
        Some(host) => {
            let url = format!("https://{host}");
            let doc = format!(" `https://` and `google.api.default_host` of `{full_name}`.");
            (
                quote! {
                    #[doc = #doc]
                    pub const DEFAULT_URL: &'static str = #url;
                },
                quote! {
                    /// A client of [`Self::DEFAULT_URL`].
                    pub fn dial() -> ::core::result::Result<Self, tonic::Status> {
                        Self::new(Self::DEFAULT_URL)
                    }
                },
            )
        }
        None => (TokenStream::new(), TokenStream::new()),
    };
    // With the dial helpers, the client knows the service's methods (`SERVICE`) and takes the
    // same options as the gRPC client's `dial_with`.
    let (new, dial_with) = if params.no_dial {
        (
            quote!(::rs_svc::http::HttpChannel::new(base_url).map(Self::from_channel)),
            TokenStream::new(),
        )
    } else {
        let grpc_client = format_ident!("{}", naming::tonic_module(&service.name, "client"));
        let (base, doc) = match &service.default_host {
            Some(_) => (
                quote!(options.target_url().unwrap_or(Self::DEFAULT_URL)),
                " A client of `options`' target (an `http://` or `https://` base URL), else of \
                 [`Self::DEFAULT_URL`], with the dial options that apply to HTTP: default \
                 deadline, retries, circuit breaker and fallbacks, TLS, connect timeout \
                 (`rs_svc::http::HttpChannel::with_options`).",
            ),
            None => (
                quote!(options
                    .target_url()
                    .ok_or_else(|| tonic::Status::invalid_argument(
                        "no base URL: set rs_svc::dial::Options::target"
                    ))?),
                " A client of `options`' target (an `http://` or `https://` base URL), with the \
                 dial options that apply to HTTP: default deadline, retries, circuit breaker and \
                 fallbacks, TLS, connect timeout (`rs_svc::http::HttpChannel::with_options`).",
            ),
        };
        (
            quote!(Self::dial_with(
                ::rs_svc::dial::Options::new().target(base_url)
            )),
            quote! {
                #[doc = #doc]
                pub fn dial_with(
                    options: ::rs_svc::dial::Options,
                ) -> ::core::result::Result<Self, tonic::Status> {
                    let base = #base.to_owned();
                    ::rs_svc::http::HttpChannel::with_options(&base, &super::#grpc_client::SERVICE, options)
                        .map(Self::from_channel)
                }
            },
        )
    };
    let allow_deprecated = deprecated.then(|| quote!(#[allow(deprecated)]));
    quote! {
        #[doc = #module_doc]
        pub mod #module {
            #[doc = #client_doc]
            #[derive(Debug, Clone)]
            pub struct #client {
                channel: ::rs_svc::http::HttpChannel,
            }

            impl #client {
                #default_url

                /// A client of the service at `base_url` (`https://api.example.com`, or with a
                /// path prefix the routes are nested under).
                pub fn new(base_url: &str) -> ::core::result::Result<Self, tonic::Status> {
                    #new
                }

                /// A client calling through `channel`.
                pub fn from_channel(channel: ::rs_svc::http::HttpChannel) -> Self {
                    Self { channel }
                }

                #dial

                #dial_with
            }

            #allow_deprecated
            #[tonic::async_trait]
            impl super::#server::#server_trait for #client {
                #items
            }
        }
    }
}

/// The `http::Method` of a binding (`*`, any method, goes out as POST).
fn http_method(method: &HttpMethod) -> TokenStream {
    let known = |name: &str| {
        let ident = format_ident!("{name}");
        quote!(tonic::codegen::http::Method::#ident)
    };
    match method {
        HttpMethod::Get => known("GET"),
        HttpMethod::Put => known("PUT"),
        HttpMethod::Post => known("POST"),
        HttpMethod::Delete => known("DELETE"),
        HttpMethod::Patch => known("PATCH"),
        HttpMethod::Custom(kind) if kind == "*" => known("POST"),
        HttpMethod::Custom(kind) => quote! {
            tonic::codegen::http::Method::from_bytes(#kind.as_bytes())
                .expect("protoc-gen-rs-svc checked the method name")
        },
    }
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
