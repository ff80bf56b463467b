//! Stage 1: raw request bytes -> a prost-reflect `DescriptorPool` decoded from the raw file
//! bytes, so that extension options such as `google.api.http` survive. The pool also keeps each
//! file as a prost_types `FileDescriptorProto` for prost-build; prost_types drops unknown
//! fields, so never re-encode those and expect options to be there.

use prost::Message;
use prost_reflect::DescriptorPool;
use prost_types::FileDescriptorProto;

use crate::guard;

pub(crate) mod editions;

/// A decoded CodeGeneratorRequest.
#[derive(Debug, Clone)]
pub struct Request {
    /// The files to generate code for, as protoc names them (`acme/shop/v1/shop.proto`).
    pub files_to_generate: Vec<String>,
    /// The raw parameter string (`--rs-svc_opt`).
    pub parameter: String,
    /// Every file of the request, options and extensions intact.
    pub pool: DescriptorPool,
}

impl Request {
    /// Every file of the request as prost_types descriptors (what prost-build takes), in
    /// topological order.
    pub fn proto_files(&self) -> impl Iterator<Item = &FileDescriptorProto> {
        self.pool.file_descriptor_protos()
    }
}

/// Stdin did not hold a CodeGeneratorRequest, or its files cannot be read (an edition feature
/// with no proto2/proto3 equivalent, descriptors prost-reflect rejects).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    message: String,
    malformed: bool,
}

impl DecodeError {
    fn malformed(message: String) -> DecodeError {
        DecodeError {
            message,
            malformed: true,
        }
    }

    fn in_files(message: String) -> DecodeError {
        DecodeError {
            message,
            malformed: false,
        }
    }

    /// True when the input is not a CodeGeneratorRequest at all (no response should be
    /// written); false when it is one whose files cannot be generated (the response's error).
    pub fn is_malformed(&self) -> bool {
        self.malformed
    }
}

/// A CodeGeneratorRequest whose proto files stay raw bytes, so nothing in them is lost.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct RawRequest {
    #[prost(string, repeated, tag = "1")]
    pub file_to_generate: Vec<String>,
    #[prost(string, optional, tag = "2")]
    pub parameter: Option<String>,
    #[prost(bytes = "vec", repeated, tag = "15")]
    pub proto_file: Vec<Vec<u8>>,
}

/// A FileDescriptorSet whose files stay raw bytes.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct RawFileSet {
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub file: Vec<Vec<u8>>,
}

const NOT_A_REQUEST: &str = "protoc-gen-rs-svc is a protoc plugin: run it through protoc \
     (--rs-svc_out) or buf, or use `protoc-gen-rs-svc generate` to compile .proto files directly";

/// Decodes and checks a CodeGeneratorRequest.
pub fn decode(bytes: &[u8]) -> Result<Request, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::malformed(format!(
            "stdin is empty, expected a CodeGeneratorRequest; {NOT_A_REQUEST}"
        )));
    }
    // The files stay raw bytes here; the pool decodes them once, keeping every option.
    let request = RawRequest::decode(bytes).map_err(|e| {
        DecodeError::malformed(format!(
            "stdin is not a CodeGeneratorRequest ({e}); {NOT_A_REQUEST}"
        ))
    })?;
    // Random bytes sometimes decode; a request always names files it also carries.
    if request.file_to_generate.is_empty() {
        return Err(DecodeError::malformed(format!(
            "the CodeGeneratorRequest on stdin names no file to generate; {NOT_A_REQUEST}"
        )));
    }
    let mut files = request.proto_file;
    editions::lower(&mut files).map_err(|errors| DecodeError::in_files(errors.join("\n")))?;
    let pool = read_pool(files)?;
    if let Some(name) = request
        .file_to_generate
        .iter()
        .find(|name| pool.get_file_by_name(name).is_none())
    {
        return Err(DecodeError::malformed(format!(
            "the CodeGeneratorRequest on stdin asks for `{name}` but does not carry it; {NOT_A_REQUEST}"
        )));
    }
    Ok(Request {
        files_to_generate: request.file_to_generate,
        parameter: request.parameter.unwrap_or_default(),
        pool,
    })
}

/// The pool of `files`. prost-reflect can panic on descriptors it does not expect (it did on
/// an unknown `syntax`, formatting its own error): that becomes an error naming the file.
fn read_pool(files: Vec<Vec<u8>>) -> Result<DescriptorPool, DecodeError> {
    let set = RawFileSet { file: files }.encode_to_vec();
    let inconsistent = |e| {
        DecodeError::in_files(format!(
            "the descriptors in the request are inconsistent: {e}"
        ))
    };
    match guard::catch("reading the request's descriptors (prost-reflect)", || {
        DescriptorPool::decode(set.as_slice())
    }) {
        Ok(pool) => pool.map_err(inconsistent),
        Err(panic) => {
            // Add the files one by one to find the one prost-reflect cannot take.
            let files = RawFileSet::decode(set.as_slice())
                .map(|s| s.file)
                .unwrap_or_default();
            let mut pool = DescriptorPool::new();
            for raw in &files {
                let name = FileDescriptorProto::decode(raw.as_slice())
                    .map(|f| f.name().to_owned())
                    .unwrap_or_default();
                let added = guard::catch(&format!("{name}: reading it (prost-reflect)"), || {
                    pool.decode_file_descriptor_proto(raw.as_slice())
                });
                match added {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(inconsistent(e)),
                    Err(panic) => return Err(DecodeError::in_files(panic)),
                }
            }
            Err(DecodeError::in_files(panic))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::compiler::CodeGeneratorRequest;

    #[test]
    fn empty_input_is_rejected() {
        let err = decode(b"").unwrap_err().to_string();
        assert!(err.starts_with("stdin is empty"), "{err}");
    }

    #[test]
    fn text_is_rejected_with_one_line() {
        let err = decode(b"hello, this is not protobuf\n")
            .unwrap_err()
            .to_string();
        assert!(!err.contains('\n'), "{err}");
        assert!(err.contains("protoc plugin"), "{err}");
    }

    #[test]
    fn request_naming_a_missing_file_is_rejected() {
        let request = CodeGeneratorRequest {
            file_to_generate: vec!["a.proto".into()],
            ..Default::default()
        };
        let err = decode(&request.encode_to_vec()).unwrap_err().to_string();
        assert!(err.contains("asks for `a.proto`"), "{err}");
    }

    #[test]
    fn a_panic_in_prost_reflect_is_an_error_naming_the_file() {
        // prost-reflect 0.16 panics (an index out of bounds) formatting its own error about an
        // unknown syntax.
        let request = CodeGeneratorRequest {
            file_to_generate: vec!["future.proto".into()],
            proto_file: vec![FileDescriptorProto {
                name: Some("future.proto".into()),
                syntax: Some("proto4".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let err = decode(&request.encode_to_vec()).unwrap_err();
        assert!(!err.is_malformed(), "a request to answer with an error");
        let err = err.to_string();
        assert!(
            err.starts_with("future.proto: reading it (prost-reflect): internal error:"),
            "{err}"
        );
        assert!(err.contains("index out of bounds"), "{err}");
    }

    #[test]
    fn minimal_request_decodes() {
        let request = CodeGeneratorRequest {
            file_to_generate: vec!["a.proto".into()],
            parameter: Some("no_server".into()),
            proto_file: vec![FileDescriptorProto {
                name: Some("a.proto".into()),
                package: Some("a".into()),
                syntax: Some("proto3".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let decoded = decode(&request.encode_to_vec()).unwrap();
        assert_eq!(decoded.parameter, "no_server");
        assert!(decoded.pool.get_file_by_name("a.proto").is_some());
    }
}
