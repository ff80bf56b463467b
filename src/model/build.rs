//! Descriptors -> model. The only place that reads prost-reflect descriptors.

use std::collections::BTreeMap;

use prost_reflect::{
    DescriptorPool, DynamicMessage, EnumDescriptor, ExtensionDescriptor, FieldDescriptor, Kind,
    MessageDescriptor, MethodDescriptor, ServiceDescriptor, Value,
};

use super::http;
use super::{
    Cardinality, Enum, EnumValue, Field, FieldBehavior, FieldType, Idempotency, Message, Method,
    MethodKind, Model, Package, Scalar, Service,
};
use crate::decode::Request;
use crate::diag::Diagnostics;
use crate::params::Params;
use crate::source::{Location, SourceIndex};

/// Extension options prost drops, looked up once by name. A request that does not import a
/// definition simply has none of that option.
pub(super) struct Extensions {
    pub http: Option<ExtensionDescriptor>,
    default_host: Option<ExtensionDescriptor>,
    oauth_scopes: Option<ExtensionDescriptor>,
    method_signature: Option<ExtensionDescriptor>,
    field_behavior: Option<ExtensionDescriptor>,
    resource: Option<ExtensionDescriptor>,
    http_response: Option<ExtensionDescriptor>,
}

impl Extensions {
    fn new(pool: &DescriptorPool) -> Self {
        let get = |name: &str| pool.get_extension_by_name(name);
        Extensions {
            http: get("google.api.http"),
            default_host: get("google.api.default_host"),
            oauth_scopes: get("google.api.oauth_scopes"),
            method_signature: get("google.api.method_signature"),
            field_behavior: get("google.api.field_behavior"),
            resource: get("google.api.resource"),
            http_response: get("rs_svc.api.http_response"),
        }
    }
}

/// `MethodDescriptorProto.options` and `rs_svc.api.http_response`'s number, for locating it.
const METHOD_OPTIONS: i32 = 4;
const HTTP_RESPONSE_EXTENSION: i32 = 514061232;

/// The value of an extension option, if it is set.
pub(super) fn extension(
    options: &DynamicMessage,
    ext: &Option<ExtensionDescriptor>,
) -> Option<Value> {
    let ext = ext.as_ref()?;
    options
        .has_extension(ext)
        .then(|| options.get_extension(ext).into_owned())
}

/// Builds the model of `request`. Problems in the input are collected in the returned
/// diagnostics; the model is only meaningful when there are no errors.
pub fn build(request: &Request, params: &Params) -> (Model, Diagnostics) {
    let pool = &request.pool;
    let index = SourceIndex::new(pool);
    let ext = Extensions::new(pool);
    let mut diags = Diagnostics::default();

    let mut model = Model {
        messages: pool
            .all_messages()
            .map(|m| (m.full_name().to_owned(), message(&m, &index, &ext)))
            .collect(),
        enums: pool
            .all_enums()
            .map(|e| (e.full_name().to_owned(), enumeration(&e, &index)))
            .collect(),
        ..Default::default()
    };

    let mut packages: BTreeMap<String, Package> = BTreeMap::new();
    for name in &request.files_to_generate {
        let Some(file) = pool.get_file_by_name(name) else {
            continue; // decode() already checked every file is present
        };
        let package = packages
            .entry(file.package_name().to_owned())
            .or_insert_with(|| Package {
                name: file.package_name().to_owned(),
                ..Default::default()
            });
        package.files.push(name.clone());
        package
            .messages
            .extend(file.messages().map(|m| m.full_name().to_owned()));
        for service in file.services() {
            let service = self::service(&service, &index, &ext, &model, params, &mut diags);
            package.services.push(service);
        }
    }
    model.packages = packages.into_values().collect();
    http::check_routes(&mut model, params, &mut diags);
    super::route::resolve(&mut model, params);
    model.externs = super::externs::ExternPaths::new(&model, params);
    (model, diags)
}

/// `"a, b,c"` -> `["a", "b", "c"]`, the form of `oauth_scopes` and `method_signature`.
fn comma_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn service(
    service: &ServiceDescriptor,
    index: &SourceIndex<'_>,
    ext: &Extensions,
    model: &Model,
    params: &Params,
    diags: &mut Diagnostics,
) -> Service {
    let file = service.parent_file().name().to_owned();
    let options = service.options();
    let string = |v: Option<Value>| v.and_then(|v| v.as_str().map(str::to_owned));
    let oauth_scopes = string(extension(&options, &ext.oauth_scopes))
        .map(|s| comma_list(&s))
        .unwrap_or_default();
    let location = index.location(&file, service.path());
    check_rust_name(
        service.name(),
        &crate::naming::type_name(service.name()),
        &location,
        service.full_name(),
        diags,
    );
    Service {
        full_name: service.full_name().to_owned(),
        name: service.name().to_owned(),
        package: service.package_name().to_owned(),
        location,
        comments: index.comments(&file, service.path()),
        deprecated: service
            .service_descriptor_proto()
            .options
            .as_ref()
            .is_some_and(|o| o.deprecated()),
        default_host: string(extension(&options, &ext.default_host)).filter(|h| !h.is_empty()),
        oauth_scopes,
        methods: service
            .methods()
            .map(|m| method(&m, index, ext, model, params, diags))
            .collect(),
        file,
    }
}

fn method(
    descriptor: &MethodDescriptor,
    index: &SourceIndex<'_>,
    ext: &Extensions,
    model: &Model,
    params: &Params,
    diags: &mut Diagnostics,
) -> Method {
    let file = descriptor.parent_file().name().to_owned();
    let proto_options = descriptor.method_descriptor_proto().options.clone();
    let options = descriptor.options();
    let signatures = match extension(&options, &ext.method_signature) {
        Some(Value::List(list)) => list
            .iter()
            .filter_map(|v| v.as_str())
            .map(comma_list)
            .collect(),
        _ => Vec::new(),
    };
    let idempotency = match proto_options.as_ref().map(|o| o.idempotency_level()) {
        Some(prost_types::method_options::IdempotencyLevel::NoSideEffects) => {
            Idempotency::NoSideEffects
        }
        Some(prost_types::method_options::IdempotencyLevel::Idempotent) => Idempotency::Idempotent,
        _ => Idempotency::Unknown,
    };
    let mut method = Method {
        name: descriptor.name().to_owned(),
        full_name: descriptor.full_name().to_owned(),
        input: descriptor.input().full_name().to_owned(),
        output: descriptor.output().full_name().to_owned(),
        kind: MethodKind::new(
            descriptor.is_client_streaming(),
            descriptor.is_server_streaming(),
        ),
        location: index.location(&file, descriptor.path()),
        comments: index.comments(&file, descriptor.path()),
        deprecated: proto_options.as_ref().is_some_and(|o| o.deprecated()),
        idempotency,
        signatures,
        bindings: Vec::new(),
        success_status: 200,
    };
    check_rust_name(
        &method.name,
        &crate::naming::method_name(&method.name),
        &method.location,
        &method.full_name,
        diags,
    );
    if let Some(Value::Message(response)) = extension(&options, &ext.http_response) {
        let status = response
            .get_field_by_name("status")
            .and_then(|v| v.as_u32())
            .unwrap_or(0);
        let mut path = descriptor.path().to_vec();
        path.extend([METHOD_OPTIONS, HTTP_RESPONSE_EXTENSION]);
        let at = index.location(&file, &path);
        match status {
            0 => {}
            200..=299
                if matches!(status, 204 | 205) && method.kind.server_streaming() =>
            {
                diags.error(
                    &at,
                    &method.full_name,
                    format!("rs_svc.api.http_response status {status} sends no body, but a server-streaming method answers with a stream; use 200 or another 2xx status"),
                );
            }
            200..=299 => method.success_status = status as u16,
            _ => diags.error(
                &at,
                &method.full_name,
                format!("rs_svc.api.http_response status {status} is not a success status; use one from 200 to 299 (errors come from the handler's tonic::Status)"),
            ),
        }
    }
    if let Some(Value::Message(rule)) = extension(&options, &ext.http) {
        let site = http::RuleSite {
            index,
            file: &file,
            method_path: descriptor.path(),
        };
        method.bindings = http::bindings(&method, &rule, &site, model, params, diags);
    }
    method
}

/// A name made only of underscores has no Rust form (its snake_case and UpperCamelCase are
/// empty), and one with characters no identifier holds (only a hand-made request has them)
/// none either; the emitters need an identifier.
fn check_rust_name(
    name: &str,
    rust: &str,
    location: &Location,
    element: &str,
    diags: &mut Diagnostics,
) {
    let bare = rust.strip_prefix("r#").unwrap_or(rust);
    if bare.is_empty() {
        diags.error(
            location,
            element,
            format!("`{name}` has no Rust name (only underscores); rename it with a letter in it"),
        );
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        diags.error(
            location,
            element,
            format!("`{name}` has no Rust name (not an identifier); use letters, digits and `_`"),
        );
    }
}

fn message(m: &MessageDescriptor, index: &SourceIndex<'_>, ext: &Extensions) -> Message {
    let file = m.parent_file().name().to_owned();
    Message {
        full_name: m.full_name().to_owned(),
        name: m.name().to_owned(),
        package: m.package_name().to_owned(),
        comments: index.comments(&file, m.path()),
        deprecated: m
            .descriptor_proto()
            .options
            .as_ref()
            .is_some_and(|o| o.deprecated()),
        fields: m.fields().map(|f| field(&f, index, ext)).collect(),
        oneofs: m
            .oneofs()
            .filter(|o| !o.is_synthetic())
            .map(|o| o.name().to_owned())
            .collect(),
        map_entry: m.is_map_entry(),
        resource_patterns: resource_patterns(m, ext),
        file,
    }
}

/// The `pattern`s of a message's `google.api.resource` option.
fn resource_patterns(m: &MessageDescriptor, ext: &Extensions) -> Vec<String> {
    if m.descriptor_proto().options.is_none() {
        return Vec::new();
    }
    let Some(Value::Message(resource)) = extension(&m.options(), &ext.resource) else {
        return Vec::new();
    };
    match resource.get_field_by_name("pattern").as_deref() {
        Some(Value::List(patterns)) => patterns
            .iter()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn scalar(kind: &Kind) -> Option<Scalar> {
    Some(match kind {
        Kind::Double => Scalar::Double,
        Kind::Float => Scalar::Float,
        Kind::Int64 => Scalar::Int64,
        Kind::Uint64 => Scalar::Uint64,
        Kind::Int32 => Scalar::Int32,
        Kind::Fixed64 => Scalar::Fixed64,
        Kind::Fixed32 => Scalar::Fixed32,
        Kind::Bool => Scalar::Bool,
        Kind::String => Scalar::String,
        Kind::Bytes => Scalar::Bytes,
        Kind::Uint32 => Scalar::Uint32,
        Kind::Sfixed32 => Scalar::Sfixed32,
        Kind::Sfixed64 => Scalar::Sfixed64,
        Kind::Sint32 => Scalar::Sint32,
        Kind::Sint64 => Scalar::Sint64,
        Kind::Message(_) | Kind::Enum(_) => return None,
    })
}

fn field_type(kind: &Kind) -> FieldType {
    match kind {
        Kind::Message(m) => FieldType::Message(m.full_name().to_owned()),
        Kind::Enum(e) => FieldType::Enum(e.full_name().to_owned()),
        other => FieldType::Scalar(scalar(other).expect("every other kind is a scalar")),
    }
}

fn field(f: &FieldDescriptor, index: &SourceIndex<'_>, ext: &Extensions) -> Field {
    let file = f.parent_file().name().to_owned();
    let (ty, cardinality) = match f.kind() {
        Kind::Message(entry) if f.is_map() => {
            let key = scalar(&entry.map_entry_key_field().kind())
                .expect("map keys are scalars, checked by the descriptor pool");
            (
                field_type(&entry.map_entry_value_field().kind()),
                Cardinality::Map { key },
            )
        }
        kind => {
            let cardinality = if f.is_list() {
                Cardinality::Repeated
            } else if f.supports_presence()
                && !matches!(kind, Kind::Message(_))
                // prost-build keeps a proto2 `required` scalar bare, not in an `Option`.
                && f.cardinality() != prost_reflect::Cardinality::Required
            {
                Cardinality::Optional
            } else {
                Cardinality::Singular
            };
            (field_type(&kind), cardinality)
        }
    };
    // Building the options as a dynamic message is the costly part of reading a field, and
    // most fields have no options at all.
    let has_options = f.field_descriptor_proto().options.is_some();
    let behaviors = match has_options
        .then(|| extension(&f.options(), &ext.field_behavior))
        .flatten()
    {
        Some(Value::List(values)) => values
            .iter()
            .filter_map(|v| v.as_enum_number())
            .filter_map(behavior)
            .collect(),
        _ => Vec::new(),
    };
    Field {
        name: f.name().to_owned(),
        json_name: f.json_name().to_owned(),
        number: f.number(),
        ty,
        cardinality,
        oneof: f
            .containing_oneof()
            .filter(|o| !o.is_synthetic())
            .map(|o| o.name().to_owned()),
        behaviors,
        deprecated: f
            .field_descriptor_proto()
            .options
            .as_ref()
            .is_some_and(|o| o.deprecated()),
        comments: index.comments(&file, f.path()),
    }
}

fn behavior(number: i32) -> Option<FieldBehavior> {
    Some(match number {
        1 => FieldBehavior::Optional,
        2 => FieldBehavior::Required,
        3 => FieldBehavior::OutputOnly,
        4 => FieldBehavior::InputOnly,
        5 => FieldBehavior::Immutable,
        6 => FieldBehavior::UnorderedList,
        7 => FieldBehavior::NonEmptyDefault,
        8 => FieldBehavior::Identifier,
        _ => return None,
    })
}

fn enumeration(e: &EnumDescriptor, index: &SourceIndex) -> Enum {
    let file = e.parent_file().name().to_owned();
    Enum {
        full_name: e.full_name().to_owned(),
        package: e.package_name().to_owned(),
        comments: index.comments(&file, e.path()),
        values: e
            .values()
            .map(|v| EnumValue {
                name: v.name().to_owned(),
                number: v.number(),
                comments: index.comments(&file, v.path()),
                deprecated: v
                    .enum_value_descriptor_proto()
                    .options
                    .as_ref()
                    .is_some_and(|o| o.deprecated()),
            })
            .collect(),
        file,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Body, HttpMethod};

    const SOURCE: &str = r#"syntax = "proto3";
package demo.v1;
import "google/api/annotations.proto";
import "google/api/client.proto";
import "google/api/field_behavior.proto";

// Detached comment.

// The demo service.
service Demo {
  option (google.api.default_host) = "demo.example.com:443";
  option (google.api.oauth_scopes) = "https://a.example/x, https://a.example/y";

  // Unary.
  rpc Get(Req) returns (Res) {
    option idempotency_level = NO_SIDE_EFFECTS;
    option (google.api.http) = {
      get: "/v1/{name=items/*}"
      additional_bindings { post: "/v1/{name=items/*}:get" body: "*" }
    };
    option (google.api.method_signature) = "name,filter";
  }
  rpc Down(Req) returns (stream Res) {
    option deprecated = true;
  }
  rpc Up(stream Req) returns (Res);
  rpc Both(stream Req) returns (stream Res); // Trailing.
}

message Req {
  string name = 1 [(google.api.field_behavior) = REQUIRED, (google.api.field_behavior) = IMMUTABLE];
  string filter_text = 2 [json_name = "q"];
  optional int32 limit = 3;
  repeated string tags = 4;
  map<int64, Res> by_id = 5;
  oneof pick { string a = 6; Res b = 7; }
  Res res = 8 [(google.api.field_behavior) = OUTPUT_ONLY];
}
message Res { string value = 1; }
"#;

    fn model() -> Model {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("demo.proto"), SOURCE).unwrap();
        let bytes =
            crate::standalone::request(&[dir.path().to_owned()], &["demo.proto".into()], "")
                .unwrap();
        let request = crate::decode(&bytes).unwrap();
        let (model, diags) = build(&request, &Params::default());
        assert_eq!(diags, Diagnostics::default());
        model
    }

    #[test]
    fn services_carry_options_comments_and_methods() {
        let model = model();
        assert_eq!(model.packages.len(), 1);
        let package = &model.packages[0];
        assert_eq!(package.name, "demo.v1");
        assert_eq!(package.files, ["demo.proto"]);
        assert_eq!(package.messages, ["demo.v1.Req", "demo.v1.Res"]);
        let service = &package.services[0];
        assert_eq!(service.full_name, "demo.v1.Demo");
        assert_eq!(
            service.default_host.as_deref(),
            Some("demo.example.com:443")
        );
        assert_eq!(
            service.oauth_scopes,
            ["https://a.example/x", "https://a.example/y"]
        );
        assert_eq!(service.comments.doc(), "The demo service.");
        assert_eq!(service.comments.leading_detached, [" Detached comment.\n"]);
        assert_eq!(service.location.to_string(), "demo.proto:10:1");
        let kinds: Vec<MethodKind> = service.methods.iter().map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            [
                MethodKind::Unary,
                MethodKind::ServerStreaming,
                MethodKind::ClientStreaming,
                MethodKind::BidiStreaming
            ]
        );
        assert_eq!(service.methods[3].comments.trailing, " Trailing.\n");
        assert!(service.methods[1].deprecated);
        assert!(!service.methods[0].deprecated);
    }

    #[test]
    fn methods_carry_bindings_signatures_and_idempotency() {
        let model = model();
        let get = &model.packages[0].services[0].methods[0];
        assert_eq!(get.full_name, "demo.v1.Demo.Get");
        assert_eq!(get.input, "demo.v1.Req");
        assert_eq!(get.output, "demo.v1.Res");
        assert_eq!(get.idempotency, Idempotency::NoSideEffects);
        assert_eq!(
            get.signatures,
            [vec!["name".to_owned(), "filter".to_owned()]]
        );
        assert_eq!(get.bindings.len(), 2);
        let (primary, extra) = (&get.bindings[0], &get.bindings[1]);
        assert_eq!(primary.method, HttpMethod::Get);
        assert_eq!(primary.template.to_string(), "/v1/{name=items/*}");
        assert_eq!(primary.body, Body::None);
        assert_eq!(primary.index, 0);
        assert_eq!(extra.method, HttpMethod::Post);
        assert_eq!(extra.template.verb.as_deref(), Some("get"));
        assert_eq!(extra.body, Body::All);
        assert_eq!(extra.index, 1);
        assert!(model.packages[0].services[0].methods[1].bindings.is_empty());
    }

    #[test]
    fn fields_carry_json_names_cardinality_oneofs_and_behaviors() {
        let model = model();
        let req = &model.messages["demo.v1.Req"];
        let field = |name: &str| req.field(name).unwrap();
        assert_eq!(field("name").json_name, "name");
        assert_eq!(field("filter_text").json_name, "q");
        assert_eq!(
            field("name").behaviors,
            [FieldBehavior::Required, FieldBehavior::Immutable]
        );
        assert_eq!(field("res").behaviors, [FieldBehavior::OutputOnly]);
        assert_eq!(field("name").cardinality, Cardinality::Singular);
        assert_eq!(field("limit").cardinality, Cardinality::Optional);
        assert_eq!(
            field("limit").oneof,
            None,
            "proto3 optional is not a real oneof"
        );
        assert_eq!(field("tags").cardinality, Cardinality::Repeated);
        assert_eq!(
            field("by_id").cardinality,
            Cardinality::Map { key: Scalar::Int64 }
        );
        assert_eq!(field("by_id").ty, FieldType::Message("demo.v1.Res".into()));
        assert_eq!(field("a").oneof.as_deref(), Some("pick"));
        assert_eq!(field("b").oneof.as_deref(), Some("pick"));
        assert_eq!(req.oneofs, ["pick"]);
        assert!(model.messages["demo.v1.Req.ByIdEntry"].map_entry);
    }
}
