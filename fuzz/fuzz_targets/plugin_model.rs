//! The whole plugin pipeline, structure-aware: a small proto-like model (messages, enums,
//! fields of every kind, services with `google.api.http` rules whose templates, bodies and
//! response bodies name the request's fields, parameters) is written as a .proto file, compiled
//! in-process with protox as the standalone mode does, and its CodeGeneratorRequest given to
//! `protoc_gen_rs_svc::generate`. Most inputs compile, so the fuzzer works on the model
//! builder and the emitters rather than on the request decoder. Never a panic, never an
//! "internal error" response.
#![no_main]

use std::fmt::Write as _;
use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

/// Identifiers proto and Rust each treat specially, and ordinary ones.
const NAMES: &[&str] = &[
    "name",
    "parent",
    "id",
    "type",
    "self",
    "Self",
    "super",
    "crate",
    "async",
    "r#",
    "fn",
    "match",
    "mod",
    "box",
    "dyn",
    "Result",
    "Option",
    "String",
    "Vec",
    "Default",
    "Error",
    "http",
    "body",
    "response",
    "request",
    "update_mask",
    "page_token",
    "value",
    "values",
    "foo_bar",
    "FooBar",
    "fooBar",
    "HTTPServer",
    "a",
    "A",
    "_x",
    "x1",
    "a__b",
    "foo_",
    "_",
    "Status",
    "Any",
    "Empty",
    "Timestamp",
    "Duration",
    "Struct",
    "Value",
    "Book",
    "Books",
    "shelf",
    "shelves",
    "get",
    "list",
    "ListBooks",
    "GetBook",
    "Watch",
    "Upload",
    "Service",
    "Server",
    "Client",
    "Api",
    "Http",
    "HttpBody",
    "Routes",
    "Json",
    "Query",
    "Request",
];

const SCALARS: &[&str] = &[
    "double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32",
    "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes",
];

const WELL_KNOWN: &[&str] = &[
    "google.protobuf.Any",
    "google.protobuf.Duration",
    "google.protobuf.Timestamp",
    "google.protobuf.FieldMask",
    "google.protobuf.Struct",
    "google.protobuf.Value",
    "google.protobuf.ListValue",
    "google.protobuf.NullValue",
    "google.protobuf.Empty",
    "google.protobuf.BoolValue",
    "google.protobuf.BytesValue",
    "google.protobuf.DoubleValue",
    "google.protobuf.FloatValue",
    "google.protobuf.Int32Value",
    "google.protobuf.Int64Value",
    "google.protobuf.UInt32Value",
    "google.protobuf.UInt64Value",
    "google.protobuf.StringValue",
    "google.api.HttpBody",
];

const PARAMETERS: &[&str] = &[
    "json_omit_defaults",
    "json_proto_names",
    "json_enum_numbers",
    "json_reject_unknown",
    "generate_default_stubs",
    "generate_unbound_methods",
    "strict_http_rules",
    "deny_get_body",
    "no_server",
    "no_client",
    "no_http",
    "no_http_client",
    "no_dial",
    "no_openapi",
    "openapi_format=json",
    "openapi_merge=true",
    "stream_envelope=grpc_gateway",
    "btree_map=.",
    "bytes=.",
    "file_descriptor_set=true",
    "retain_enum_prefix=true",
    "enable_type_names=true",
    "boxed=.fuzz.v1.M0.f0",
];

#[derive(Debug, Arbitrary)]
enum Name {
    Pick(u8),
    Raw(String),
}

impl Name {
    fn text(&self) -> String {
        match self {
            Name::Pick(i) => NAMES[usize::from(*i) % NAMES.len()].to_owned(),
            Name::Raw(s) => s.chars().take(12).collect(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Type {
    Scalar(u8),
    Message(u8),
    Enum(u8),
    WellKnown(u8),
    Map(u8, Box<Type>),
}

#[derive(Debug, Arbitrary)]
enum Label {
    Plain,
    Optional,
    Repeated,
}

#[derive(Debug, Arbitrary)]
struct Field {
    name: Name,
    ty: Type,
    label: Label,
    /// Fields with the same oneof number share a oneof.
    oneof: Option<u8>,
    json_name: Option<Name>,
    /// `google.api.field_behavior`.
    behavior: Option<u8>,
    /// A number of its own instead of the next one.
    number: Option<u32>,
}

#[derive(Debug, Arbitrary)]
struct Msg {
    name: Name,
    fields: Vec<Field>,
}

#[derive(Debug, Arbitrary)]
struct Enum {
    name: Name,
    values: Vec<Name>,
    allow_alias: bool,
}

/// A request field by position: indices followed through message-typed fields.
#[derive(Debug, Arbitrary)]
enum FieldRef {
    Path(Vec<u8>),
    Raw(Name),
}

#[derive(Debug, Arbitrary)]
enum Piece {
    Literal(Name),
    Escaped(u8),
    Star,
    DoubleStar,
    Variable(FieldRef, Option<Vec<Piece>>),
}

#[derive(Debug, Arbitrary)]
enum Template {
    Pieces(Vec<Piece>, Option<Name>),
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum Body {
    None,
    Star,
    Field(FieldRef),
}

#[derive(Debug, Arbitrary)]
struct Binding {
    kind: u8,
    path: Template,
    body: Body,
    response_body: Option<FieldRef>,
}

#[derive(Debug, Arbitrary)]
struct Rpc {
    name: Name,
    /// A message by index, or a well-known type.
    input: (bool, u8),
    output: (bool, u8),
    client_streaming: bool,
    server_streaming: bool,
    http: Option<(Binding, Vec<Binding>)>,
}

#[derive(Debug, Arbitrary)]
struct Api {
    proto2: bool,
    messages: Vec<Msg>,
    enums: Vec<Enum>,
    services: Vec<(Name, Vec<Rpc>)>,
    parameters: Vec<u8>,
}

/// Names made unique within one scope by a suffix, so that most models compile.
#[derive(Default)]
struct Scope(Vec<String>);

impl Scope {
    fn take(&mut self, name: String) -> String {
        let mut name = if name.is_empty() {
            "x".to_owned()
        } else {
            name
        };
        while self.0.contains(&name) {
            name.push('_');
        }
        self.0.push(name.clone());
        name
    }
}

/// The model's messages after naming: each field's name and, for message fields, the message.
struct Named {
    messages: Vec<(String, Vec<(String, Option<usize>)>)>,
}

impl Named {
    /// The dotted path a [`FieldRef`] names on message `at`.
    fn path(&self, at: Option<usize>, field: &FieldRef) -> String {
        match field {
            FieldRef::Raw(name) => name.text(),
            FieldRef::Path(steps) => {
                let mut parts = Vec::new();
                let mut at = at;
                for step in steps.iter().take(4) {
                    let Some(fields) = at.map(|i| &self.messages[i].1) else {
                        break;
                    };
                    if fields.is_empty() {
                        break;
                    }
                    let (name, next) = &fields[usize::from(*step) % fields.len()];
                    parts.push(name.clone());
                    at = *next;
                }
                if parts.is_empty() {
                    "name".to_owned()
                } else {
                    parts.join(".")
                }
            }
        }
    }

    fn template(&self, at: Option<usize>, template: &Template) -> String {
        match template {
            Template::Raw(text) => text.chars().take(64).collect(),
            Template::Pieces(pieces, verb) => {
                let mut out = String::new();
                self.pieces(at, pieces, &mut out, 0);
                if out.is_empty() {
                    out.push('/');
                }
                if let Some(verb) = verb {
                    out.push(':');
                    out.push_str(&verb.text());
                }
                out
            }
        }
    }

    fn pieces(&self, at: Option<usize>, pieces: &[Piece], out: &mut String, depth: u8) {
        for piece in pieces.iter().take(8) {
            if depth == 0 || !out.is_empty() {
                out.push('/');
            }
            match piece {
                Piece::Literal(name) => out.push_str(&name.text()),
                Piece::Escaped(byte) => write!(out, "%{byte:02X}").unwrap(),
                Piece::Star => out.push('*'),
                Piece::DoubleStar => out.push_str("**"),
                Piece::Variable(field, inner) => {
                    out.push('{');
                    out.push_str(&self.path(at, field));
                    if let (Some(inner), true) = (inner, depth == 0) {
                        out.push('=');
                        let mut nested = String::new();
                        self.pieces(at, inner, &mut nested, depth + 1);
                        out.push_str(if nested.is_empty() { "*" } else { &nested });
                    }
                    out.push('}');
                }
            }
        }
    }
}

fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c => {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    write!(out, "\\{b:03o}").unwrap();
                }
            }
        }
    }
    out.push('"');
    out
}

fn render(api: &Api) -> (String, String) {
    let messages: Vec<&Msg> = api.messages.iter().take(6).collect();
    let enums: Vec<&Enum> = api.enums.iter().take(3).collect();
    let mut top = Scope::default();
    let message_names: Vec<String> = messages.iter().map(|m| top.take(m.name.text())).collect();
    let enum_names: Vec<String> = enums.iter().map(|e| top.take(e.name.text())).collect();

    let type_of = |ty: &Type, depth: u8| -> (String, Option<usize>) {
        fn inner(
            ty: &Type,
            depth: u8,
            messages: &[String],
            enums: &[String],
        ) -> (String, Option<usize>) {
            match ty {
                Type::Scalar(i) => (SCALARS[usize::from(*i) % SCALARS.len()].to_owned(), None),
                Type::Message(i) if !messages.is_empty() => {
                    let i = usize::from(*i) % messages.len();
                    (messages[i].clone(), Some(i))
                }
                Type::Enum(i) if !enums.is_empty() => {
                    (enums[usize::from(*i) % enums.len()].clone(), None)
                }
                Type::WellKnown(i) => (
                    WELL_KNOWN[usize::from(*i) % WELL_KNOWN.len()].to_owned(),
                    None,
                ),
                Type::Map(key, value) if depth == 0 => {
                    let key = SCALARS[usize::from(*key) % SCALARS.len()];
                    let (value, _) = inner(value, 1, messages, enums);
                    (format!("map<{key}, {value}>"), None)
                }
                _ => ("string".to_owned(), None),
            }
        }
        inner(ty, depth, &message_names, &enum_names)
    };

    let mut named = Named {
        messages: Vec::new(),
    };
    let mut body = String::new();
    for (message, name) in messages.iter().zip(&message_names) {
        let mut scope = Scope::default();
        let mut fields = Vec::new();
        let mut plain = String::new();
        let mut oneofs: Vec<(u8, String)> = Vec::new();
        for (i, field) in message.fields.iter().take(10).enumerate() {
            let field_name = scope.take(field.name.text());
            let (ty, target) = type_of(&field.ty, 0);
            let is_map = ty.starts_with("map<");
            let number = match field.number {
                Some(n) if !(1..536_870_912).contains(&n) || (19_000..20_000).contains(&n) => {
                    i as u32 + 1
                }
                Some(n) => n,
                None => i as u32 + 1,
            };
            let mut options = Vec::new();
            if let Some(json) = &field.json_name {
                options.push(format!("json_name = {}", quoted(&json.text())));
            }
            if let Some(b) = field.behavior {
                let behavior = [
                    "REQUIRED",
                    "OUTPUT_ONLY",
                    "INPUT_ONLY",
                    "IDENTIFIER",
                    "OPTIONAL",
                ][usize::from(b) % 5];
                options.push(format!("(google.api.field_behavior) = {behavior}"));
            }
            let options = if options.is_empty() {
                String::new()
            } else {
                format!(" [{}]", options.join(", "))
            };
            let line = |label: &str| format!("    {label}{ty} {field_name} = {number}{options};\n");
            match (&field.oneof, is_map) {
                (Some(group), false) => {
                    let line = line("");
                    match oneofs.iter_mut().find(|(g, _)| g == group) {
                        Some((_, text)) => text.push_str(&line),
                        None => oneofs.push((*group, line)),
                    }
                }
                _ => {
                    let label = match (&field.label, is_map, api.proto2) {
                        (_, true, _) => "",
                        (Label::Repeated, _, _) => "repeated ",
                        (Label::Optional, _, _) | (Label::Plain, _, true) => "optional ",
                        (Label::Plain, _, false) => "",
                    };
                    plain.push_str(&line(label));
                }
            }
            fields.push((field_name, target));
        }
        writeln!(body, "message {name} {{").unwrap();
        body.push_str(&plain);
        for (group, text) in &oneofs {
            let oneof_name = scope.take(format!("choice{group}"));
            writeln!(body, "  oneof {oneof_name} {{\n{text}  }}").unwrap();
        }
        body.push_str("}\n\n");
        named.messages.push((name.clone(), fields));
    }
    for (e, name) in enums.iter().zip(&enum_names) {
        writeln!(body, "enum {name} {{").unwrap();
        if e.allow_alias {
            body.push_str("  option allow_alias = true;\n");
        }
        let prefix = name.to_uppercase();
        let mut scope = Scope::default();
        scope.take(format!("{prefix}_UNSPECIFIED"));
        writeln!(body, "  {prefix}_UNSPECIFIED = 0;").unwrap();
        for (i, value) in e.values.iter().take(5).enumerate() {
            let value = scope.take(format!("{prefix}_{}", value.text().to_uppercase()));
            let number = if e.allow_alias { i } else { i + 1 };
            writeln!(body, "  {value} = {number};").unwrap();
        }
        body.push_str("}\n\n");
    }

    let mut services = Scope::default();
    for (name, rpcs) in api.services.iter().take(2) {
        let service = services.take(format!("{}Service", name.text()));
        writeln!(body, "service {service} {{").unwrap();
        let mut methods = Scope::default();
        for rpc in rpcs.iter().take(6) {
            let method = methods.take(rpc.name.text());
            let endpoint = |(wkt, i): (bool, u8)| -> (String, Option<usize>) {
                if wkt || message_names.is_empty() {
                    (
                        format!(".{}", WELL_KNOWN[usize::from(i) % WELL_KNOWN.len()]),
                        None,
                    )
                } else {
                    let i = usize::from(i) % message_names.len();
                    (message_names[i].clone(), Some(i))
                }
            };
            let (input, input_at) = endpoint(rpc.input);
            let (output, output_at) = endpoint(rpc.output);
            let cs = if rpc.client_streaming { "stream " } else { "" };
            let ss = if rpc.server_streaming { "stream " } else { "" };
            write!(body, "  rpc {method}({cs}{input}) returns ({ss}{output})").unwrap();
            let Some((first, more)) = &rpc.http else {
                body.push_str(";\n");
                continue;
            };
            let binding = |b: &Binding| -> String {
                let path = quoted(&named.template(input_at, &b.path));
                let verb = match b.kind % 7 {
                    0 => "get".to_owned(),
                    1 => "put".to_owned(),
                    2 => "post".to_owned(),
                    3 => "delete".to_owned(),
                    4 => "patch".to_owned(),
                    5 => format!("custom {{ kind: \"*\" path: {path} }}"),
                    _ => format!("custom {{ kind: \"HEAD\" path: {path} }}"),
                };
                let mut out = if verb.starts_with("custom") {
                    verb
                } else {
                    format!("{verb}: {path}")
                };
                match &b.body {
                    Body::None => {}
                    Body::Star => out.push_str(" body: \"*\""),
                    Body::Field(f) => {
                        write!(out, " body: {}", quoted(&named.path(input_at, f))).unwrap()
                    }
                }
                if let Some(f) = &b.response_body {
                    write!(out, " response_body: {}", quoted(&named.path(output_at, f))).unwrap();
                }
                out
            };
            write!(
                body,
                " {{\n    option (google.api.http) = {{ {}",
                binding(first)
            )
            .unwrap();
            for more in more.iter().take(2) {
                write!(body, " additional_bindings {{ {} }}", binding(more)).unwrap();
            }
            body.push_str(" };\n  }\n");
        }
        body.push_str("}\n\n");
    }

    let syntax = if api.proto2 { "proto2" } else { "proto3" };
    let mut imports = String::new();
    for file in [
        "google/api/annotations.proto",
        "google/api/field_behavior.proto",
        "google/api/httpbody.proto",
        "google/protobuf/any.proto",
        "google/protobuf/duration.proto",
        "google/protobuf/empty.proto",
        "google/protobuf/field_mask.proto",
        "google/protobuf/struct.proto",
        "google/protobuf/timestamp.proto",
        "google/protobuf/wrappers.proto",
    ] {
        writeln!(imports, "import \"{file}\";").unwrap();
    }
    let source = format!("syntax = \"{syntax}\";\n\npackage fuzz.v1;\n\n{imports}\n{body}");
    let parameter: Vec<&str> = api
        .parameters
        .iter()
        .take(4)
        .map(|i| PARAMETERS[usize::from(*i) % PARAMETERS.len()])
        .collect();
    (source, parameter.join(","))
}

/// A CodeGeneratorRequest whose files stay raw bytes, extension options intact.
#[derive(Clone, PartialEq, prost::Message)]
struct RawRequest {
    #[prost(string, repeated, tag = "1")]
    file_to_generate: Vec<String>,
    #[prost(string, optional, tag = "2")]
    parameter: Option<String>,
    #[prost(bytes = "vec", repeated, tag = "15")]
    proto_file: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawFileSet {
    #[prost(bytes = "vec", repeated, tag = "1")]
    file: Vec<Vec<u8>>,
}

const FILE: &str = "fuzz/v1/api.proto";

/// The fuzzed file, and every import compiled once (descriptors with options intact).
struct Resolver {
    source: String,
    imports: &'static [(String, Vec<u8>)],
}

impl FileResolver for Resolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == FILE {
            return File::from_source(name, &self.source);
        }
        match self.imports.iter().find(|(n, _)| n == name) {
            Some((_, bytes)) => File::decode_file_descriptor_proto(bytes.as_slice())
                .map_err(|_| protox::Error::file_not_found(name)),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

struct Bundled;

impl FileResolver for Bundled {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match protoc_gen_rs_svc::standalone::BUNDLED
            .iter()
            .find(|(n, _)| *n == name)
        {
            Some((name, source)) => File::from_source(name, source),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

fn imports() -> &'static [(String, Vec<u8>)] {
    static IMPORTS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    IMPORTS.get_or_init(|| {
        let mut resolver = ChainFileResolver::new();
        resolver.add(GoogleFileResolver::new());
        resolver.add(Bundled);
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true);
        for name in [
            "google/api/annotations.proto",
            "google/api/field_behavior.proto",
            "google/api/httpbody.proto",
            "google/protobuf/any.proto",
            "google/protobuf/duration.proto",
            "google/protobuf/empty.proto",
            "google/protobuf/field_mask.proto",
            "google/protobuf/struct.proto",
            "google/protobuf/timestamp.proto",
            "google/protobuf/wrappers.proto",
        ] {
            compiler.open_file(name).expect("a bundled import compiles");
        }
        let set = RawFileSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap();
        set.file
            .into_iter()
            .map(|bytes| {
                let file = prost_types::FileDescriptorProto::decode(bytes.as_slice()).unwrap();
                (file.name().to_owned(), bytes)
            })
            .collect()
    })
}

fuzz_target!(|api: Api| {
    let (source, parameter) = render(&api);
    let mut compiler = protox::Compiler::with_file_resolver(Resolver {
        source: source.clone(),
        imports: imports(),
    });
    compiler.include_imports(true).include_source_info(true);
    if compiler.open_file(FILE).is_err() {
        return;
    }
    let set = RawFileSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap();
    let request = RawRequest {
        file_to_generate: vec![FILE.to_owned()],
        parameter: (!parameter.is_empty()).then_some(parameter),
        proto_file: set.file,
    }
    .encode_to_vec();
    let response = protoc_gen_rs_svc::generate(&request);
    if let Some(error) = &response.error {
        assert!(!error.contains("internal error"), "{source}\n{error}");
    }
});
