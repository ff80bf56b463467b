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
use crate::source::SourceIndex;

/// Extension options prost drops, looked up once by name. A request that does not import a
/// definition simply has none of that option.
pub(super) struct Extensions {
    pub http: Option<ExtensionDescriptor>,
    default_host: Option<ExtensionDescriptor>,
    oauth_scopes: Option<ExtensionDescriptor>,
    method_signature: Option<ExtensionDescriptor>,
    field_behavior: Option<ExtensionDescriptor>,
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
        }
    }
}

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
    http::check_routes(&model, &mut diags);
    (model, diags)
}

fn service(
    service: &ServiceDescriptor,
    index: &SourceIndex,
    ext: &Extensions,
    model: &Model,
    params: &Params,
    diags: &mut Diagnostics,
) -> Service {
    let file = service.parent_file().name().to_owned();
    let options = service.options();
    let string = |v: Option<Value>| v.and_then(|v| v.as_str().map(str::to_owned));
    let oauth_scopes = string(extension(&options, &ext.oauth_scopes))
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Service {
        full_name: service.full_name().to_owned(),
        name: service.name().to_owned(),
        package: service.package_name().to_owned(),
        location: index.location(&file, service.path()),
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
    index: &SourceIndex,
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
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
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
    };
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

fn message(m: &MessageDescriptor, index: &SourceIndex, ext: &Extensions) -> Message {
    let file = m.parent_file().name().to_owned();
    Message {
        full_name: m.full_name().to_owned(),
        name: m.name().to_owned(),
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
        file,
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

fn field(f: &FieldDescriptor, index: &SourceIndex, ext: &Extensions) -> Field {
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
            } else if f.supports_presence() && !matches!(kind, Kind::Message(_)) {
                Cardinality::Optional
            } else {
                Cardinality::Singular
            };
            (field_type(&kind), cardinality)
        }
    };
    let behaviors = match extension(&f.options(), &ext.field_behavior) {
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
