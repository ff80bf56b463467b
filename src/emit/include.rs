//! The include file (`mod.rs` by default): packages nested as modules, each including its file.

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
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
pub fn include_file(model: &Model, params: &Params) -> Result<Option<GeneratedFile>, EmitError> {
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
    let code = format_rust(&root.render().to_string(), "the include file")?;
    Ok(Some(GeneratedFile {
        name: name.clone(),
        content: format!("{}\n{code}", header()),
    }))
}
