//! The include file (`mod.rs` by default): packages nested as modules, each including its file.

use std::collections::BTreeMap;

use proc_macro2::{Literal, TokenStream};
use prost::Message;
use prost_types::{FileDescriptorProto, FileDescriptorSet};
use quote::quote;

use super::{format_rust, header, package_path, EmitError, GeneratedFile};
use crate::model::Model;
use crate::naming;
use crate::params::Params;

#[derive(Default)]
struct Node {
    file: Option<String>,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn render(&self) -> TokenStream {
        let include = self.file.as_ref().map(|f| quote!(include!(#f);));
        let children = self.children.iter().map(|(name, child)| {
            let ident = naming::ident(name);
            let inner = child.render();
            quote!(pub mod #ident { #inner })
        });
        quote!(#include #(#children)*)
    }
}

/// The include file, or `None` when `no_include_file` is set.
/// `files` is every file of the request, imports included, for `FILE_DESCRIPTOR_SET`.
pub fn include_file(
    model: &Model,
    files: &[&FileDescriptorProto],
    params: &Params,
) -> Result<Option<GeneratedFile>, EmitError> {
    let Some(name) = &params.include_file else {
        return Ok(None);
    };
    // include! resolves against the including file's directory.
    let up = "../".repeat(name.matches('/').count());
    let mut root = Node::default();
    for package in &model.packages {
        let node = naming::package_modules(&package.name)
            .into_iter()
            .fold(&mut root, |node, part| {
                node.children.entry(part).or_default()
            });
        node.file = Some(format!("{up}{}", package_path(&package.name, params)));
    }
    let mut tokens = root.render();
    if params.enable_type_names {
        let calls = model.packages.iter().map(|p| {
            let mut path: Vec<_> = naming::package_modules(&p.name)
                .iter()
                .map(|m| naming::ident(m))
                .collect();
            path.push(naming::ident("register_json_types"));
            quote!(#(#path)::*();)
        });
        tokens.extend(quote! {
            /// Registers the messages of every package with `rs_svc::wkt::register`. Not needed:
            /// `google.protobuf.Any` JSON knows every generated message linked into the binary
            /// from the start. Kept so code that calls it still compiles; calling it is harmless.
            pub fn register_json_types() {
                #(#calls)*
            }
        });
    }
    if params.file_descriptor_set {
        tokens.extend(descriptor_set(files));
    }
    let code = format_rust(&tokens.to_string(), "the include file")?;
    Ok(Some(GeneratedFile {
        name: name.clone(),
        content: format!("{}\n{code}", header()),
    }))
}

/// `FILE_DESCRIPTOR_SET`: every file of the request, imports included, without source info
/// (reflection clients need the types, not the comments' positions).
fn descriptor_set(files: &[&FileDescriptorProto]) -> TokenStream {
    let set = FileDescriptorSet {
        file: files
            .iter()
            .map(|f| FileDescriptorProto {
                source_code_info: None,
                ..(*f).clone()
            })
            .collect(),
    };
    let bytes = Literal::byte_string(&set.encode_to_vec());
    quote! {
        /// The encoded `google.protobuf.FileDescriptorSet` of these packages and everything they
        /// import, for gRPC server reflection (`rs_svc::serve`).
        pub const FILE_DESCRIPTOR_SET: &[u8] = #bytes;
    }
}
