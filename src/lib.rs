//! `protoc-gen-rs-svc`: a protoc/buf plugin that turns a protobuf API into what a Rust service
//! needs. The pipeline has hard seams (docs/reference.md section 1):
//!
//! 1. [`decode`](mod@decode): request bytes -> descriptors, extension options intact;
//! 2. [`model`]: descriptors -> a validated model of packages, services, methods and routes;
//! 3. [`emit`]: model -> files.
//!
//! [`generate`] runs all three on a CodeGeneratorRequest; [`standalone`] builds that request
//! from .proto files in-process. From a build script, [`configure`] (module [`builder`]) does
//! both and writes the files into `OUT_DIR`, the way `tonic_prost_build::configure()` does.

pub mod builder;
pub mod cli;
pub mod decode;
pub mod diag;
pub mod emit;
mod guard;
pub mod model;
pub mod naming;
pub mod params;
pub mod source;
pub mod standalone;

use prost_types::compiler::code_generator_response::{Feature, File};
use prost_types::compiler::CodeGeneratorResponse;

pub use builder::{compile_protos, configure, BuildError, Builder};
pub use decode::{decode, DecodeError, Request};
pub use diag::Diagnostic;
pub use emit::GeneratedFile;
pub use params::Params;

/// Why a request produced no files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input was not a CodeGeneratorRequest.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Mistakes in the parameters or the .proto files, all of them, one per entry.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
    /// Emitting failed.
    #[error(transparent)]
    Emit(#[from] emit::EmitError),
}

/// What a successful run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub files: Vec<GeneratedFile>,
    /// Problems worth telling the user that do not stop generation (printed on stderr).
    pub warnings: Vec<Diagnostic>,
}

/// Runs the pipeline on a decoded request.
pub fn run(request: &Request) -> Result<Output, Error> {
    let mut errors = Vec::new();
    // Bad parameters are reported together with problems in the files, so build the model with
    // defaults rather than stopping at the first mistake.
    let params = Params::parse(&request.parameter).unwrap_or_else(|e| {
        errors.extend(e.to_string().lines().map(str::to_owned));
        Params::default()
    });
    let what = request.files_to_generate.join(", ");
    let (model, mut diags) = guard::catch(&what, || model::build(request, &params))
        .map_err(|panic| Error::Invalid(vec![panic]))?;
    // In file order, so a long list reads top to bottom alongside the .proto file.
    diags.errors.sort_by(|a, b| a.location.cmp(&b.location));
    errors.extend(diags.errors.iter().map(ToString::to_string));
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    // Sorted by name so protoc and protox, which may order independent files differently,
    // give byte-identical output.
    let mut files: Vec<_> = request.proto_files().collect();
    files.sort_by(|a, b| a.name().cmp(b.name()));
    let (files, emitted) = guard::catch(&what, || emit::all(&model, &files, &params))
        .map_err(|panic| Error::Invalid(vec![panic]))??;
    let mut warnings = diags.warnings;
    warnings.extend(emitted);
    Ok(Output { files, warnings })
}

/// The library entry point: a CodeGeneratorRequest's bytes in, a CodeGeneratorResponse out.
/// Every failure is the response's `error`; warnings are dropped (use [`run`] to see them).
pub fn generate(request: &[u8]) -> CodeGeneratorResponse {
    response(decode(request).map_err(Error::from).and_then(|r| run(&r)))
}

/// `FEATURE_SUPPORTS_EDITIONS` of plugin.proto, which prost-types 0.14's `Feature` lacks.
pub const FEATURE_SUPPORTS_EDITIONS: u64 = 2;

/// Packs a run's result into a CodeGeneratorResponse. Supported features are declared on
/// errors too, so protoc reports our error rather than complaining about proto3 optional.
/// Editions are declared supported (edition 2023 files are lowered to proto2 or proto3); the
/// edition range goes in fields prost-types 0.14 lacks, which [`encode_response`] writes.
pub fn response(result: Result<Output, Error>) -> CodeGeneratorResponse {
    let mut response = CodeGeneratorResponse {
        supported_features: Some(Feature::Proto3Optional as u64 | FEATURE_SUPPORTS_EDITIONS),
        ..Default::default()
    };
    match result {
        Ok(output) => {
            response.file = output
                .files
                .into_iter()
                .map(|f| File {
                    name: Some(f.name),
                    content: Some(f.content),
                    ..Default::default()
                })
                .collect();
        }
        Err(e) => response.error = Some(e.to_string()),
    }
    response
}

/// The bytes of `response` with `minimum_edition` (3) and `maximum_edition` (4) set to
/// `EDITION_2023`: plugin.proto has these fields, prost-types 0.14's struct does not, and protoc
/// refuses edition files from a plugin that declares editions without them. Fields may come in
/// any order on the wire, so they are appended.
pub fn encode_response(response: &CodeGeneratorResponse) -> Vec<u8> {
    use prost::Message;
    let mut bytes = response.encode_to_vec();
    let edition = decode::editions::EDITION_2023 as u64;
    prost::encoding::uint64::encode(3, &edition, &mut bytes);
    prost::encoding::uint64::encode(4, &edition, &mut bytes);
    bytes
}
