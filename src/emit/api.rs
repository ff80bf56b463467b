//! One trait, three transports (docs/reference.md section 1, "The `<Svc>Api` trait"): per
//! service a `<svc>_api` module holding the `<Svc>Api` trait, implemented in process by every
//! implementation of the server trait; and an implementation of the server trait by the gRPC
//! client wrapped in `rs_svc::api::Remote`, forwarding each call, which makes it an `<Svc>Api`
//! and `<svc>_http::router(Arc::new(Remote::new(client)))` a gateway. (On the client itself the
//! trait's `&self` methods would shadow the client's own `&mut self` ones.)

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::Service;
use crate::naming;

/// What the `<Svc>Api` code needs of one method (tonic-build's model of it, plus the proto).
pub struct ApiMethod<'a> {
    /// `GetOrder`.
    pub proto_name: &'a str,
    /// `get_order`.
    pub rust_name: &'a str,
    pub client_streaming: bool,
    pub server_streaming: bool,
    pub deprecated: bool,
    /// Doc lines, each with its leading space.
    pub comments: &'a [String],
    /// The request and response types as seen from a module one level below the package.
    pub request: &'a TokenStream,
    pub response: &'a TokenStream,
}

fn stream_type(method: &ApiMethod) -> proc_macro2::Ident {
    format_ident!("{}Stream", method.proto_name)
}

/// The `<svc>_api` module: the trait and its blanket impl over the server trait.
pub fn api_module(service: &Service, methods: &[ApiMethod], with_client: bool) -> TokenStream {
    let module = format_ident!("{}", naming::tonic_module(&service.name, "api"));
    let server = format_ident!("{}", naming::tonic_module(&service.name, "server"));
    let server_trait = format_ident!("{}", naming::tonic_type(&service.name, ""));
    let api_trait = format_ident!("{}", naming::tonic_type(&service.name, "Api"));
    let client = format!(
        "super::{}::{}",
        naming::tonic_module(&service.name, "client"),
        naming::tonic_type(&service.name, "Client")
    );
    let full_name = &service.full_name;
    let module_doc = format!(" `{full_name}` behind one trait, whatever the transport.");
    let through_client = if with_client {
        format!(
            " or is called through the gRPC client (`rs_svc::api::Remote::new(client)`, a \
             [`{client}`] wrapped)"
        )
    } else {
        String::new()
    };
    let trait_doc = format!(
        " `{full_name}` for callers: one method per RPC, the same whether the service runs in \
         this process (any [`super::{server}::{server_trait}`]){through_client}. Client streams \
         go in as [`rs_svc::api::RequestStream`] ([`rs_svc::api::streaming_request`] makes \
         one), server streams come out as [`rs_svc::api::ResponseStream`]."
    );
    let mut declarations = TokenStream::new();
    let mut definitions = TokenStream::new();
    for m in methods {
        let name = format_ident!("{}", m.rust_name);
        let (request, response) = (m.request, m.response);
        let request_type = if m.client_streaming {
            quote!(tonic::Request<::rs_svc::api::RequestStream<#request>>)
        } else {
            quote!(tonic::Request<#request>)
        };
        let response_type = if m.server_streaming {
            quote!(tonic::Response<::rs_svc::api::ResponseStream<#response>>)
        } else {
            quote!(tonic::Response<#response>)
        };
        let docs = if m.comments.is_empty() {
            vec![format!(" Calls `{full_name}.{}`.", m.proto_name)]
        } else {
            m.comments.to_vec()
        };
        let deprecated = m.deprecated.then(|| quote!(#[deprecated]));
        declarations.extend(quote! {
            #(#[doc = #docs])*
            #deprecated
            async fn #name(
                &self,
                request: #request_type,
            ) -> ::core::result::Result<#response_type, tonic::Status>;
        });
        let argument = if m.client_streaming {
            quote!(::rs_svc::__codegen::api::into_streaming(request))
        } else {
            quote!(request)
        };
        let mut call = quote!(super::#server::#server_trait::#name(self, #argument).await);
        if m.server_streaming {
            call = quote!(#call.map(::rs_svc::__codegen::api::boxed));
        }
        definitions.extend(quote! {
            async fn #name(
                &self,
                request: #request_type,
            ) -> ::core::result::Result<#response_type, tonic::Status> {
                #call
            }
        });
    }
    let impl_doc = " In process: each method calls the server trait's directly.";
    quote! {
        #[doc = #module_doc]
        pub mod #module {
            #[doc = #trait_doc]
            #[tonic::async_trait]
            pub trait #api_trait: ::core::marker::Send + ::core::marker::Sync {
                #declarations
            }

            #[doc = #impl_doc]
            #[tonic::async_trait]
            impl<T: super::#server::#server_trait> #api_trait for T {
                #definitions
            }
        }
    }
}

/// Items for the `<svc>_client` module: the gRPC client, wrapped in `rs_svc::api::Remote`, as an
/// implementation of the server trait, each call forwarded to the client's backend with the
/// incoming metadata and deadline. With `default_stubs` the server trait has no stream types:
/// its streams are boxed.
pub fn client_as_server(
    service: &Service,
    methods: &[ApiMethod],
    default_stubs: bool,
) -> TokenStream {
    let server = format_ident!("{}", naming::tonic_module(&service.name, "server"));
    let server_trait = format_ident!("{}", naming::tonic_type(&service.name, ""));
    let client = format_ident!("{}", naming::tonic_type(&service.name, "Client"));
    let mut items = TokenStream::new();
    for m in methods {
        let name = format_ident!("{}", m.rust_name);
        let (request, response) = (m.request, m.response);
        let path = format!("/{}/{}", service.full_name, m.proto_name);
        let (helper, request_type) = match (m.client_streaming, m.server_streaming) {
            (false, false) => ("unary", quote!(#request)),
            (false, true) => ("server_streaming", quote!(#request)),
            (true, false) => ("client_streaming", quote!(tonic::Streaming<#request>)),
            (true, true) => ("bidi_streaming", quote!(tonic::Streaming<#request>)),
        };
        let helper = format_ident!("{helper}");
        // Fully qualified: an RPC may be called `GetRef`.
        let mut call = quote!(::rs_svc::__codegen::api::#helper(::rs_svc::api::Remote::get_ref(self).inner.clone(), request, #path).await);
        let response_type = if m.server_streaming && default_stubs {
            if !m.client_streaming {
                call = quote!(#call.map(::rs_svc::__codegen::api::boxed));
            }
            quote!(::rs_svc::api::ResponseStream<#response>)
        } else if m.server_streaming {
            let stream = stream_type(m);
            items.extend(if m.client_streaming {
                quote!(type #stream = ::rs_svc::api::ResponseStream<#response>;)
            } else {
                quote!(type #stream = tonic::Streaming<#response>;)
            });
            quote!(Self::#stream)
        } else {
            quote!(#response)
        };
        items.extend(quote! {
            async fn #name(
                &self,
                request: tonic::Request<#request_type>,
            ) -> ::core::result::Result<tonic::Response<#response_type>, tonic::Status> {
                #call
            }
        });
    }
    let doc = format!(
        " A gateway: each call goes on to the client's backend with the incoming call's metadata \
         and deadline (not its extensions), and comes back as the backend answered, errors \
         included. With it the wrapped client is also a [`super::{}::{}Api`].",
        naming::tonic_module(&service.name, "api"),
        service.name
    );
    quote! {
        #[doc = #doc]
        #[tonic::async_trait]
        impl<T: ::rs_svc::__codegen::api::Transport> super::#server::#server_trait for ::rs_svc::api::Remote<#client<T>> {
            #items
        }
    }
}
