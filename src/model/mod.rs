//! Stage 2: our own plain model of the API, built once from the descriptors, with names
//! resolved and `google.api.http` rules validated. Nothing after this stage sees descriptors.

mod build;
pub mod externs;
pub mod http;
pub mod route;
pub mod template;
pub mod wkt;

use std::collections::BTreeMap;
use std::fmt;

pub use crate::source::{Comments, Location};
pub use build::build;
pub use route::{BodyField, FieldName, QueryField, QueryKind, RequestBody, ResponseBody, Route};
pub use template::{FieldPath, PathTemplate, Segment, Variable};
pub use wkt::{JsonForm, WellKnown};

/// The whole request, as the emitters see it.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Packages that have at least one file to generate, sorted by name.
    pub packages: Vec<Package>,
    /// Every message of the request (including imports), by full name without a leading dot.
    pub messages: BTreeMap<String, Message>,
    /// Every enum of the request, by full name.
    pub enums: BTreeMap<String, Enum>,
    /// The extern paths in force (the user's, the runtime's types, prost-build's own).
    pub externs: externs::ExternPaths,
}

impl Model {
    /// The package named `name`, if it has files to generate.
    pub fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// Every service to generate, in package order.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.packages.iter().flat_map(|p| &p.services)
    }
}

/// A proto package with files to generate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Package {
    /// Dotted proto package, possibly empty.
    pub name: String,
    /// Files of this package that are generated, in request order.
    pub files: Vec<String>,
    pub services: Vec<Service>,
    /// Full names of the top-level messages declared in those files.
    pub messages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// `acme.shop.v1.OrderService`
    pub full_name: String,
    /// `OrderService`
    pub name: String,
    pub package: String,
    pub file: String,
    pub location: Location,
    pub comments: Comments,
    pub deprecated: bool,
    /// `google.api.default_host`, as written.
    pub default_host: Option<String>,
    /// `google.api.oauth_scopes`, split on commas.
    pub oauth_scopes: Vec<String>,
    pub methods: Vec<Method>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodKind {
    Unary,
    ServerStreaming,
    ClientStreaming,
    BidiStreaming,
}

impl MethodKind {
    pub fn new(client_streaming: bool, server_streaming: bool) -> Self {
        match (client_streaming, server_streaming) {
            (false, false) => MethodKind::Unary,
            (false, true) => MethodKind::ServerStreaming,
            (true, false) => MethodKind::ClientStreaming,
            (true, true) => MethodKind::BidiStreaming,
        }
    }

    pub fn client_streaming(self) -> bool {
        matches!(
            self,
            MethodKind::ClientStreaming | MethodKind::BidiStreaming
        )
    }

    pub fn server_streaming(self) -> bool {
        matches!(
            self,
            MethodKind::ServerStreaming | MethodKind::BidiStreaming
        )
    }
}

/// `MethodOptions.idempotency_level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Idempotency {
    #[default]
    Unknown,
    NoSideEffects,
    Idempotent,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Method {
    /// `GetOrder`
    pub name: String,
    /// `acme.shop.v1.OrderService.GetOrder`
    pub full_name: String,
    /// Full name of the request message, no leading dot.
    pub input: String,
    /// Full name of the response message, no leading dot.
    pub output: String,
    pub kind: MethodKind,
    pub location: Location,
    pub comments: Comments,
    pub deprecated: bool,
    pub idempotency: Idempotency,
    /// `google.api.method_signature` entries, each a list of field names.
    pub signatures: Vec<Vec<String>>,
    /// The primary HTTP binding first, then the additional ones; or, with
    /// `generate_unbound_methods` and no rule, the unbound route.
    pub bindings: Vec<Binding>,
    /// The HTTP status of a successful call on every binding (`rs_svc.api.http_response`):
    /// 200 unless the method says otherwise; 204 and 205 send no body.
    pub success_status: u16,
}

/// An HTTP method of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HttpMethod {
    Get,
    Put,
    Post,
    Delete,
    Patch,
    /// A `custom` kind such as `HEAD` or `OPTIONS`, as written; `*` means every method.
    Custom(String),
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HttpMethod::Get => "GET",
            HttpMethod::Put => "PUT",
            HttpMethod::Post => "POST",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Custom(kind) => kind,
        })
    }
}

/// Where the request message comes from in the HTTP body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// No body: everything not in the path comes from the query string.
    None,
    /// `body: "*"`: the whole message is the body.
    All,
    /// `body: "field"`: one top-level field is the body.
    Field(String),
}

/// One validated HTTP route of a method.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub method: HttpMethod,
    pub template: PathTemplate,
    pub body: Body,
    /// `response_body`: the top-level response field sent as the body.
    pub response_body: Option<String>,
    /// 0 for the rule itself, 1.. for `additional_bindings`.
    pub index: usize,
    pub location: Location,
    /// Another route of the same method and shape, registered first, serves every request
    /// this one matches (a warning, see `http::check_routes`). The router still registers it;
    /// the OpenAPI document leaves it out, since it documents what serves a request.
    pub unreachable: bool,
    /// What the route means, resolved once for every emitter (`route::resolve`, after the
    /// checks).
    pub route: Route,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub full_name: String,
    pub name: String,
    /// The proto package, so nested names can be told from package names.
    pub package: String,
    pub file: String,
    pub comments: Comments,
    pub deprecated: bool,
    pub fields: Vec<Field>,
    /// Real oneofs (not proto3 `optional` ones), in declaration order.
    pub oneofs: Vec<String>,
    /// The synthetic `*Entry` message of a map field.
    pub map_entry: bool,
    /// `google.api.resource` name patterns, such as `shelves/{shelf}/books/{book}`.
    pub resource_patterns: Vec<String>,
}

impl Message {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Enum {
    pub full_name: String,
    pub package: String,
    pub file: String,
    pub comments: Comments,
    pub values: Vec<EnumValue>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnumValue {
    pub name: String,
    pub number: i32,
    pub comments: Comments,
    pub deprecated: bool,
}

/// Scalar field types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    Double,
    Float,
    Int64,
    Uint64,
    Int32,
    Fixed64,
    Fixed32,
    Bool,
    String,
    Bytes,
    Uint32,
    Sfixed32,
    Sfixed64,
    Sint32,
    Sint64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    Scalar(Scalar),
    /// Full enum name.
    Enum(String),
    /// Full message name.
    Message(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cardinality {
    /// A plain field (implicit presence for proto3 scalars).
    Singular,
    /// Explicit presence: proto3 `optional` or proto2 `optional`.
    Optional,
    Repeated,
    /// `map<key, value>`; `FieldType` of the field is the value type.
    Map {
        key: Scalar,
    },
}

/// `google.api.field_behavior` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldBehavior {
    Optional,
    Required,
    OutputOnly,
    InputOnly,
    Immutable,
    UnorderedList,
    NonEmptyDefault,
    Identifier,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub json_name: String,
    pub number: u32,
    pub ty: FieldType,
    pub cardinality: Cardinality,
    /// The real oneof this field belongs to.
    pub oneof: Option<String>,
    pub behaviors: Vec<FieldBehavior>,
    pub deprecated: bool,
    pub comments: Comments,
}

impl Field {
    /// The key the generated JSON writes for this field: the proto name with
    /// `json_proto_names`, else the lowerCamel json name. Shared by the serde impls and the
    /// OpenAPI schemas, so the two cannot disagree.
    pub fn json_key(&self, proto_names: bool) -> &str {
        if proto_names {
            &self.name
        } else {
            &self.json_name
        }
    }
}
