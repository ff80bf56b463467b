//! proto3 JSON for every message and enum of a package: `serde::Serialize` and
//! `serde::Deserialize` impls that name, for each field, a codec of `rs_svc::json::codec`. The
//! rules themselves (64-bit strings, base64, NaN, enum names, ...) live in the runtime.
//!
//! Options are decided at generation time: `json_omit_defaults`, `json_proto_names`,
//! `json_enum_numbers`, `json_reject_unknown` (docs/reference.md section 3).

use std::collections::BTreeSet;

use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

use super::paths;
use crate::model::{Cardinality, Field, FieldType, Message, Model, Scalar, WellKnown};
use crate::naming;
use crate::params::Params;

/// Rust path parsed into tokens (paths come from `paths::rust_path`, always valid).
fn path_tokens(path: &str) -> TokenStream {
    path.parse().expect("generated Rust paths parse")
}

struct Ctx<'a> {
    model: &'a Model,
    package: &'a str,
    params: &'a Params,
    externs: &'a [(String, String)],
    /// The block's alias of `::rs_svc::__codegen::json`.
    alias: Ident,
}

impl Ctx<'_> {
    fn path(&self, full_name: &str) -> TokenStream {
        path_tokens(&paths::rust_path(
            self.model,
            self.package,
            full_name,
            self.externs,
        ))
    }

    /// The codec of one value of `ty` (not counting repeated or map).
    fn value_codec(&self, ty: &FieldType) -> TokenStream {
        match ty {
            FieldType::Scalar(s) => scalar_codec(*s),
            FieldType::Enum(e) => {
                let path = self.path(e);
                match (
                    self.params.json_enum_numbers,
                    self.params.json_reject_unknown,
                ) {
                    (false, false) => quote!(c::Enum<#path>),
                    (true, false) => quote!(c::EnumNumber<#path>),
                    (false, true) => quote!(c::EnumStrict<#path>),
                    (true, true) => quote!(c::EnumNumberStrict<#path>),
                }
            }
            // prost-build stores wrappers as `Option<primitive>` and Empty as `()`.
            FieldType::Message(m) => match wrapper_codec(m) {
                Some(codec) => quote!(c::#codec),
                None if WellKnown::of(m) == Some(WellKnown::Empty) => quote!(c::Empty),
                None => quote!(c::Message),
            },
        }
    }

    fn codec(&self, field: &Field) -> TokenStream {
        let value = self.value_codec(&field.ty);
        match &field.cardinality {
            Cardinality::Repeated => quote!(c::Repeated<#value>),
            Cardinality::Map { key } => {
                let key = scalar_codec(*key);
                quote!(c::Map<#key, #value>)
            }
            Cardinality::Singular | Cardinality::Optional => value,
        }
    }

    fn json_key(&self, field: &Field) -> String {
        field.json_key(self.params.json_proto_names).to_owned()
    }
}

fn scalar_codec(s: Scalar) -> TokenStream {
    match s {
        Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => quote!(c::Int32),
        Scalar::Uint32 | Scalar::Fixed32 => quote!(c::Uint32),
        Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => quote!(c::Int64),
        Scalar::Uint64 | Scalar::Fixed64 => quote!(c::Uint64),
        Scalar::Float => quote!(c::Float),
        Scalar::Double => quote!(c::Double),
        Scalar::Bool => quote!(c::Bool),
        Scalar::String => quote!(c::Str),
        Scalar::Bytes => quote!(c::Bytes),
    }
}

/// `google.protobuf.Value` reads JSON `null` as a value, not as "unset".
fn is_value(field: &Field) -> bool {
    field.ty.well_known() == Some(WellKnown::Value)
}

/// Is the field stored as `Option<T>` by prost (message fields and explicit presence)?
fn is_option(field: &Field) -> bool {
    field.oneof.is_none()
        && matches!(
            field.cardinality,
            Cardinality::Singular | Cardinality::Optional
        )
        && (matches!(field.ty, FieldType::Message(_)) || field.cardinality == Cardinality::Optional)
}

/// The oneof enum's path and a member's variant, as prost-build names them.
fn oneof_path(message_path: &str, oneof: &str) -> TokenStream {
    let module = match message_path.rsplit_once("::") {
        Some((parent, name)) => format!("{parent}::{}", naming::nested_module(name)),
        None => naming::nested_module(message_path),
    };
    path_tokens(&format!("{module}::{}", naming::type_name(oneof)))
}

/// Writes one member of a message's JSON object. Key and value go in separate calls rather than
/// `serialize_entry`, whose default body is an out-of-line call per field: serde_json's
/// `serialize_key` and `serialize_value` inline into the message's `serialize`, about a tenth
/// of a small message's encode (README, "JSON" benchmark).
fn entry(key: &str, value: TokenStream) -> TokenStream {
    quote! {
        map.serialize_key(#key)?;
        map.serialize_value(#value)?;
    }
}

fn serialize_impl(ctx: &Ctx<'_>, message: &Message, rust_path: &str) -> TokenStream {
    let ty = path_tokens(rust_path);
    let omit = ctx.params.json_omit_defaults;
    let mut entries = Vec::new();
    for field in message.fields.iter().filter(|f| f.oneof.is_none()) {
        let ident = naming::ident(&naming::field_name(&field.name));
        let key = ctx.json_key(field);
        let codec = ctx.codec(field);
        entries.push(if is_option(field) {
            // Unset message fields are `null` when unpopulated fields are emitted (as
            // protojson's EmitUnpopulated does); unset proto3 optionals are left out.
            let none = if !omit && field.cardinality != Cardinality::Optional {
                let null = entry(&key, quote!(&()));
                quote!(else { #null })
            } else {
                quote!()
            };
            let set = entry(&key, quote!(&With::<#codec, _>::new(v)));
            quote! {
                if let ::core::option::Option::Some(v) = &self.#ident {
                    #set
                } #none
            }
        } else if omit {
            let set = entry(&key, quote!(&With::<#codec, _>::new(&self.#ident)));
            quote! {
                if !<#codec as Codec<_>>::is_default(&self.#ident) {
                    #set
                }
            }
        } else {
            entry(&key, quote!(&With::<#codec, _>::new(&self.#ident)))
        });
    }
    for oneof in &message.oneofs {
        let ident = naming::ident(&naming::field_name(oneof));
        let enum_path = oneof_path(rust_path, oneof);
        let arms = message
            .fields
            .iter()
            .filter(|f| f.oneof.as_deref() == Some(oneof))
            .map(|field| {
                let variant = naming::ident(&naming::type_name(&field.name));
                let key = ctx.json_key(field);
                let codec = ctx.codec(field);
                let set = entry(&key, quote!(&With::<#codec, _>::new(v)));
                quote! {
                    ::core::option::Option::Some(#enum_path::#variant(v)) => {
                        #set
                    }
                }
            });
        entries.push(quote! {
            match &self.#ident {
                #(#arms)*
                ::core::option::Option::None => {}
            }
        });
    }
    // `mut` only when there is an entry to write (clippy: unused_mut).
    let map = if entries.is_empty() {
        quote!(map)
    } else {
        quote!(mut map)
    };
    let uses = if message.fields.is_empty() {
        quote!()
    } else {
        let j = &ctx.alias;
        quote!(
            use #j::{codec as c, Codec, With};
        )
    };
    quote! {
        impl ::serde::Serialize for #ty {
            fn serialize<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeMap as _;
                #uses
                let #map = serializer.serialize_map(::core::option::Option::None)?;
                #(#entries)*
                map.end()
            }
        }
    }
}

fn deserialize_impl(ctx: &Ctx<'_>, message: &Message, rust_path: &str) -> TokenStream {
    let j = &ctx.alias;
    let ty = path_tokens(rust_path);
    let full_name = &message.full_name;
    let expecting = format!("a JSON object ({full_name})");
    let mut arms = Vec::new();
    for (i, field) in message.fields.iter().enumerate() {
        let ident = naming::ident(&naming::field_name(&field.name));
        let codec = ctx.codec(field);
        let json = field.json_name.as_str();
        // Both names are accepted, whichever option writes them.
        let patterns = if field.json_name == field.name {
            quote!(#json)
        } else {
            let proto = field.name.as_str();
            quote!(#json | #proto)
        };
        let index = Literal::usize_unsuffixed(i);
        let read = if let Some(oneof) = &field.oneof {
            let enum_path = oneof_path(rust_path, oneof);
            let variant = naming::ident(&naming::type_name(&field.name));
            let set = naming::ident(&format!(
                "oneof_{}",
                naming::field_name(oneof).trim_start_matches("r#")
            ));
            let oneof_ident = naming::ident(&naming::field_name(oneof));
            quote! {
                if let ::core::option::Option::Some(v) =
                    #j::next_field::<#codec, _, _>(&mut map)?
                {
                    #j::oneof_member(&mut #set, #oneof, #json)?;
                    message.#oneof_ident = ::core::option::Option::Some(#enum_path::#variant(v));
                }
            }
        } else if is_value(field) && field.cardinality == Cardinality::Singular {
            quote!(message.#ident = map.next_value::<#j::Field<#codec, _>>()?.0;)
        } else if is_option(field) {
            quote! {
                message.#ident =
                    #j::next_field::<#codec, _, _>(&mut map)?;
            }
        } else {
            quote! {
                if let ::core::option::Option::Some(v) =
                    #j::next_field::<#codec, _, _>(&mut map)?
                {
                    message.#ident = v;
                }
            }
        };
        arms.push(quote! {
            #patterns => {
                #j::first_time(&mut seen[#index], #json)?;
                #read
            }
        });
    }
    let unknown = if ctx.params.json_reject_unknown {
        quote!(return ::core::result::Result::Err(#j::unknown_field(&key.0, #full_name));)
    } else {
        quote!(map.next_value::<::serde::de::IgnoredAny>()?;)
    };
    let oneof_state = message.oneofs.iter().map(|o| {
        let set = naming::ident(&format!(
            "oneof_{}",
            naming::field_name(o).trim_start_matches("r#")
        ));
        quote!(let mut #set: ::core::option::Option<&'static str> = ::core::option::Option::None;)
    });
    let field_count = Literal::usize_unsuffixed(message.fields.len());
    let (state, uses) = if message.fields.is_empty() {
        (quote!(), quote!())
    } else {
        (
            quote! {
                let mut seen = [false; #field_count];
                #(#oneof_state)*
            },
            quote!(
                use #j::codec as c;
            ),
        )
    };
    // A message without fields has no arms: a lone `_` arm or a loop that always returns
    // would trip clippy in the consuming crate.
    let read_fields = if arms.is_empty() && ctx.params.json_reject_unknown {
        quote! {
            if let ::core::option::Option::Some(key) =
                map.next_key::<#j::Key<'de>>()?
            {
                #unknown
            }
        }
    } else if arms.is_empty() {
        quote! {
            while map.next_key::<::serde::de::IgnoredAny>()?.is_some() {
                map.next_value::<::serde::de::IgnoredAny>()?;
            }
        }
    } else {
        quote! {
            while let ::core::option::Option::Some(key) =
                map.next_key::<#j::Key<'de>>()?
            {
                match &*key.0 {
                    #(#arms)*
                    _ => { #unknown }
                }
            }
        }
    };
    let binding = if message.fields.is_empty() {
        quote!(let message = #ty::default();)
    } else {
        quote!(let mut message = #ty::default();)
    };
    quote! {
        impl<'de> ::serde::Deserialize<'de> for #ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                struct Visitor;
                impl<'de> ::serde::de::Visitor<'de> for Visitor {
                    type Value = #ty;
                    fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        f.write_str(#expecting)
                    }
                    fn visit_map<A: ::serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> ::core::result::Result<#ty, A::Error> {
                        #uses
                        #binding
                        #state
                        #read_fields
                        ::core::result::Result::Ok(message)
                    }
                }
                deserializer.deserialize_map(Visitor)
            }
        }
    }
}

fn enum_impls(j: &Ident, rust_path: &str) -> TokenStream {
    let ty = path_tokens(rust_path);
    quote! {
        impl #j::ProtoEnum for #ty {
            fn name_of(number: i32) -> ::core::option::Option<&'static str> {
                Self::try_from(number).ok().map(|v| v.as_str_name())
            }
            fn number_of(name: &str) -> ::core::option::Option<i32> {
                Self::from_str_name(name).map(|v| v as i32)
            }
        }
        impl ::serde::Serialize for #ty {
            fn serialize<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                #j::codec::serialize_enum::<Self, S>(*self as i32, serializer)
            }
        }
        impl<'de> ::serde::Deserialize<'de> for #ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                let number = #j::codec::deserialize_enum::<Self, D>(deserializer)?;
                Self::try_from(number).map_err(|_| {
                    <D::Error as ::serde::de::Error>::custom(::core::format_args!(
                        "enum value {number} has no name, so it cannot be held by this type"
                    ))
                })
            }
        }
    }
}

/// The JSON impls for every message and enum of `package` (all its files, as its Rust module
/// holds them all), in `shares` shares that several threads can make: share `share` holds the
/// impls of a run of the package's messages, the last one also the enums' and the registration.
/// Printed one after another, the shares are all the impls printed.
pub fn impls_share(
    model: &Model,
    package: &str,
    params: &Params,
    share: usize,
    shares: usize,
) -> TokenStream {
    let messages: Vec<_> = model
        .messages
        .values()
        .filter(|m| m.package == package && !m.map_entry)
        .map(|m| (m, paths::rust_path(model, package, &m.full_name, &[])))
        .collect();
    let enums: Vec<_> = model
        .enums
        .values()
        .filter(|e| e.package == package)
        .map(|e| paths::rust_path(model, package, &e.full_name, &[]))
        .collect();
    // The alias must not hide the module prost-build makes for a message `J`'s nested types
    // and oneofs.
    let modules: BTreeSet<String> = messages
        .iter()
        .map(|(_, path)| path.as_str())
        .chain(enums.iter().map(String::as_str))
        .filter_map(|path| path.split("::").next())
        .map(naming::nested_module)
        .collect();
    let alias = ["j", "js", "rs_svc_json"]
        .into_iter()
        .find(|alias| !modules.contains(*alias))
        .unwrap_or("rs_svc_json");
    let ctx = Ctx {
        model,
        package,
        params,
        externs: paths::resolution_paths(model, params),
        alias: quote::format_ident!("{alias}"),
    };
    let j = &ctx.alias;
    let run = &messages[share * messages.len() / shares..(share + 1) * messages.len() / shares];
    let message_impls = run.iter().map(|(m, path)| {
        let ser = serialize_impl(&ctx, m, path);
        let de = deserialize_impl(&ctx, m, path);
        quote!(#ser #de)
    });
    let last = share + 1 == shares;
    let enum_impls = enums
        .iter()
        .filter(|_| last)
        .map(|path| enum_impls(j, path));
    let register = (last && params.enable_type_names).then(|| {
        let types = messages
            .iter()
            .map(|(_, path)| path_tokens(path))
            .collect::<Vec<_>>();
        // Link-time registration: any binary that links these types knows them in `Any` JSON
        // and in error details, with no call to forget.
        quote! {
            ::rs_svc::__codegen::any_types!(#(#types),*);
            /// Registers every message of this package with `rs_svc::wkt::register`. Not needed:
            /// `google.protobuf.Any` JSON knows every generated message linked into the binary
            /// from the start. Kept so code that calls it still compiles; calling it is harmless.
            pub fn register_json_types() {
                #(::rs_svc::__codegen::register::<#types>();)*
            }
        }
    });
    if run.is_empty() && (!last || enums.is_empty()) {
        return quote!(#register);
    }
    // One block per share of the package's impls, so their lint levels and the runtime's path
    // are stated once (the file is `include!`d: no inner attributes). Deprecated fields are read
    // and written like the others; each impl imports the codecs it may use.
    quote! {
        #[allow(deprecated, unused_imports)]
        const _: () = {
            use ::rs_svc::__codegen::json as #j;
            #(#message_impls)*
            #(#enum_impls)*
        };
        #register
    }
}

/// The runtime's JSON codec (`rs_svc::json::codec::<this>`) of a `google.protobuf` wrapper,
/// which prost-build stores as its bare primitive.
pub(crate) fn wrapper_codec(message: &str) -> Option<proc_macro2::Ident> {
    let codec = match WellKnown::of(message)?.wrapped()? {
        Scalar::Double => "Double",
        Scalar::Float => "Float",
        Scalar::Int64 => "Int64",
        Scalar::Uint64 => "Uint64",
        Scalar::Int32 => "Int32",
        Scalar::Uint32 => "Uint32",
        Scalar::Bool => "Bool",
        Scalar::String => "Str",
        Scalar::Bytes => "Bytes",
        _ => return None,
    };
    Some(quote::format_ident!("{codec}"))
}
