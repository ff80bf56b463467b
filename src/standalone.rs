//! Standalone mode: compile .proto files in-process with protox and build the same
//! CodeGeneratorRequest protoc would send, so one pipeline serves both.
//!
//! The google/api annotation protos and google/rpc/{status,error_details}.proto ship inside the
//! binary, so `import "google/api/annotations.proto"` resolves with no `-I`. Include paths given
//! by the user come first and win over the bundled copies.
//!
//! The well-known types are the exception: for `google/protobuf/*` protox's bundled copies win
//! over include paths. They are fixed definitions, and the copies a googleapis checkout ships
//! (npm google-proto-files) use syntax newer than protox parses (extension declarations of
//! protobuf 27 in `descriptor.proto`). A `google/protobuf/` file protox does not bundle still
//! comes from the include paths.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use miette::Diagnostic as _;
use prost::Message;
use protox::file::{
    ChainFileResolver, File, FileResolver, GoogleFileResolver, IncludeFileResolver,
};

use crate::decode::{RawFileSet, RawRequest};

/// The bundled protos: name as imported, and source.
pub const BUNDLED: &[(&str, &str)] = &[
    (
        "google/api/annotations.proto",
        include_str!("../proto/google/api/annotations.proto"),
    ),
    (
        "google/api/client.proto",
        include_str!("../proto/google/api/client.proto"),
    ),
    (
        "google/api/field_behavior.proto",
        include_str!("../proto/google/api/field_behavior.proto"),
    ),
    (
        "google/api/http.proto",
        include_str!("../proto/google/api/http.proto"),
    ),
    (
        "google/api/httpbody.proto",
        include_str!("../proto/google/api/httpbody.proto"),
    ),
    (
        "google/api/resource.proto",
        include_str!("../proto/google/api/resource.proto"),
    ),
    (
        "google/rpc/error_details.proto",
        include_str!("../proto/google/rpc/error_details.proto"),
    ),
    (
        "google/rpc/status.proto",
        include_str!("../proto/google/rpc/status.proto"),
    ),
    (
        "rs_svc/api/annotations.proto",
        include_str!("../proto/rs_svc/api/annotations.proto"),
    ),
];

struct Bundled;

impl FileResolver for Bundled {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match BUNDLED.iter().find(|(n, _)| *n == name) {
            Some((name, source)) => File::from_source(name, source),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// protox's bundled well-known types, and only those: the first resolver of the chain, so that
/// they win over include paths (see the module docs).
struct WellKnownTypes(GoogleFileResolver);

impl FileResolver for WellKnownTypes {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name.starts_with("google/protobuf/") {
            self.0.open_file(name)
        } else {
            Err(protox::Error::file_not_found(name))
        }
    }
}

/// A .proto compile failure, rendered with file, line, column and the offending source line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CompileError(String);

/// Compiles `files` (paths on disk, or names relative to an include path) and returns the
/// encoded CodeGeneratorRequest.
pub fn request(
    includes: &[PathBuf],
    files: &[PathBuf],
    parameter: &str,
) -> Result<Vec<u8>, CompileError> {
    request_and_inputs(includes, files, parameter).map(|(request, _)| request)
}

/// [`request`], and the paths of the .proto files read from disk for it (imports included;
/// the bundled protos have none), sorted: what a build script watches.
pub(crate) fn request_and_inputs(
    includes: &[PathBuf],
    files: &[PathBuf],
    parameter: &str,
) -> Result<(Vec<u8>, Vec<PathBuf>), CompileError> {
    let Compiled {
        names: file_to_generate,
        set,
        inputs,
    } = compile(includes, files)?;
    let set = RawFileSet::decode(set.as_slice())
        .map_err(|e| CompileError(format!("internal error re-reading compiled files: {e}")))?;
    let request = RawRequest {
        file_to_generate,
        parameter: (!parameter.is_empty()).then(|| parameter.to_owned()),
        proto_file: set.file,
    };
    Ok((request.encode_to_vec(), inputs))
}

/// Compiles `files` and returns the encoded FileDescriptorSet of them and every import, with
/// source info and options (what `protoc --include_imports --include_source_info` writes).
pub fn descriptor_set(includes: &[PathBuf], files: &[PathBuf]) -> Result<Vec<u8>, CompileError> {
    compile(includes, files).map(|compiled| compiled.set)
}

/// What [`compile`] produced.
struct Compiled {
    /// The names of the files compiled (not their imports).
    names: Vec<String>,
    /// The encoded descriptor set, imports included.
    set: Vec<u8>,
    /// Every file read from disk, sorted.
    inputs: Vec<PathBuf>,
}

fn compile(includes: &[PathBuf], files: &[PathBuf]) -> Result<Compiled, CompileError> {
    let mut resolver = ChainFileResolver::new();
    resolver.add(WellKnownTypes(GoogleFileResolver::new()));
    for include in includes {
        resolver.add(IncludeFileResolver::new(include.clone()));
    }
    resolver.add(Bundled);
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true).include_source_info(true);
    for file in files {
        compiler.open_file(file).map_err(|e| render(&e, file))?;
    }
    let names = compiler
        .files()
        .filter(|f| !f.is_import())
        .map(|f| f.name().to_owned())
        .collect();
    let mut inputs: Vec<PathBuf> = compiler
        .files()
        .filter_map(|f| f.path().map(Path::to_owned))
        .collect();
    inputs.sort();
    inputs.dedup();
    Ok(Compiled {
        names,
        set: compiler.encode_file_descriptor_set(),
        inputs,
    })
}

/// `file:line:col: message`, then the source line with a caret under the problem.
fn render(error: &protox::Error, opened: &Path) -> CompileError {
    let mut out = String::new();
    let file = error
        .file()
        .map(str::to_owned)
        .unwrap_or_else(|| opened.display().to_string());
    let label = error.labels().and_then(|mut labels| labels.next());
    let snippet = error
        .source_code()
        .zip(label.as_ref())
        .and_then(|(source, label)| {
            // The label's position, then its whole line: with one line of context on each
            // side miette returns whole lines, and the label's is the one at its line.
            let at = source.read_span(label.inner(), 0, 0).ok()?;
            let around = source.read_span(label.inner(), 1, 1).ok()?;
            let text = String::from_utf8_lossy(around.data()).into_owned();
            let line_text = text
                .lines()
                .nth(at.line() - around.line())
                .unwrap_or_default()
                .to_owned();
            Some((
                at.line() + 1,
                at.column() + 1,
                line_text,
                label.len().max(1),
                label.label().map(str::to_owned),
            ))
        });
    match snippet {
        Some((line, col, text, len, label)) => {
            let _ = writeln!(out, "{file}:{line}:{col}: {error}");
            let first = text.lines().next().unwrap_or_default();
            let gutter = line.to_string().len();
            let _ = writeln!(out, "{:gutter$} |", "");
            let _ = writeln!(out, "{line} | {first}");
            let width = len.min(first.len().saturating_sub(col - 1).max(1));
            let _ = write!(
                out,
                "{:gutter$} | {}{}",
                "",
                " ".repeat(col - 1),
                "^".repeat(width)
            );
            if let Some(label) = label {
                let _ = write!(out, " {label}");
            }
        }
        None => {
            let _ = write!(out, "{file}: {error}");
        }
    }
    if let Some(help) = error.help() {
        let _ = write!(out, "\n  help: {help}");
    }
    CompileError(out)
}
