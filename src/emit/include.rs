//! The include file (`mod.rs` by default): packages nested as modules, each including its file.

use std::collections::{BTreeMap, BTreeSet};

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
/// (reflection clients need the types, not the comments' positions), each file after the files
/// it imports.
fn descriptor_set(files: &[&FileDescriptorProto]) -> TokenStream {
    let set = FileDescriptorSet {
        file: dependencies_first(files)
            .into_iter()
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

/// `files` with every file after the files it imports, as protoc orders a request and writes
/// a set with `--include_imports`, so that loaders which resolve imports as they read
/// (`@bufbuild/protobuf`'s `createFileRegistry`, Python's `DescriptorPool`) take the set as it
/// is. Independent files keep their order in `files` (by name), so protoc and protox requests
/// still give the same bytes. An import that is not among `files` is left to the reader.
fn dependencies_first<'a>(files: &[&'a FileDescriptorProto]) -> Vec<&'a FileDescriptorProto> {
    fn visit<'a>(
        file: &'a FileDescriptorProto,
        by_name: &BTreeMap<&str, &'a FileDescriptorProto>,
        seen: &mut BTreeSet<&'a str>,
        out: &mut Vec<&'a FileDescriptorProto>,
    ) {
        // Marked before its imports are visited, so an import cycle (which protoc refuses
        // anyway) cannot recurse forever.
        if !seen.insert(file.name()) {
            return;
        }
        for import in &file.dependency {
            if let Some(dependency) = by_name.get(import.as_str()) {
                visit(dependency, by_name, seen, out);
            }
        }
        out.push(file);
    }
    let by_name: BTreeMap<&str, &FileDescriptorProto> =
        files.iter().map(|file| (file.name(), *file)).collect();
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        visit(file, &by_name, &mut seen, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, imports: &[&str]) -> FileDescriptorProto {
        FileDescriptorProto {
            name: Some(name.to_owned()),
            dependency: imports.iter().map(|i| (*i).to_owned()).collect(),
            ..Default::default()
        }
    }

    fn names(files: &[&FileDescriptorProto]) -> Vec<String> {
        dependencies_first(files)
            .iter()
            .map(|f| f.name().to_owned())
            .collect()
    }

    #[test]
    fn imports_come_before_the_files_that_import_them() {
        // By name, as the plugin sorts a request's files: `a` imports `z`, `z` imports `m`.
        let a = file(
            "a/v1/a.proto",
            &["z/z.proto", "google/protobuf/empty.proto"],
        );
        let empty = file("google/protobuf/empty.proto", &[]);
        let m = file("m/m.proto", &[]);
        let z = file("z/z.proto", &["m/m.proto"]);
        assert_eq!(
            names(&[&a, &empty, &m, &z]),
            [
                "m/m.proto",
                "z/z.proto",
                "google/protobuf/empty.proto",
                "a/v1/a.proto"
            ]
        );
    }

    #[test]
    fn independent_files_keep_their_order_and_missing_imports_are_skipped() {
        let b = file("b.proto", &["not/in/request.proto"]);
        let c = file("c.proto", &[]);
        let d = file("d.proto", &["c.proto"]);
        assert_eq!(names(&[&b, &c, &d]), ["b.proto", "c.proto", "d.proto"]);
    }

    #[test]
    fn an_import_cycle_ends() {
        let x = file("x.proto", &["y.proto"]);
        let y = file("y.proto", &["x.proto"]);
        assert_eq!(names(&[&x, &y]), ["y.proto", "x.proto"]);
    }
}
