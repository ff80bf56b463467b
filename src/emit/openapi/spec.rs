//! The parts of OpenAPI 3.1 and 3.2 we write, as typed values. Field order is output order; empty and
//! unset members are left out, so documents stay short and read top to bottom.

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// A map that keeps insertion order (paths in declaration order, properties in field order).
#[derive(Debug, Clone, PartialEq)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<T> Ordered<T> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut T> {
        self.0.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn insert(&mut self, key: impl Into<String>, value: T) {
        self.0.push((key.into(), value));
    }
}

impl<T: Serialize> Serialize for Ordered<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A closed object's `additionalProperties`: always `false`.
fn serialize_closed<S: Serializer>(_: &bool, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bool(false)
}

#[derive(Debug, Clone, Serialize)]
pub struct Document {
    pub openapi: &'static str,
    pub info: Info,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<Server>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    pub paths: Ordered<PathItem>,
    pub components: Components,
    /// Operations the router serves that this document leaves out, and why.
    #[serde(rename = "x-rs-svc-omitted", skip_serializing_if = "Vec::is_empty")]
    pub omitted: Vec<Omitted>,
}

/// An operation left out of a document (a method its OpenAPI version has no place for, or a
/// second operation on one path and method), listed at the document root so readers and
/// tools see what the router serves beyond the paths.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Omitted {
    /// The HTTP method as the router matches it (`PURGE`).
    pub method: String,
    pub path: String,
    pub operation_id: String,
    /// The proto method it calls.
    pub rpc: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Info {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Server {
    pub url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tag {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The operations of one path: by lower-case HTTP method in OpenAPI's order, then (OpenAPI
/// 3.2) the other methods under `additionalOperations`, by method as sent.
#[derive(Debug, Clone, Default)]
pub struct PathItem {
    pub operations: BTreeMap<MethodKey, Operation>,
    pub additional: BTreeMap<String, Operation>,
}

impl Serialize for PathItem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, operation) in &self.operations {
            map.serialize_entry(key.as_str(), operation)?;
        }
        if !self.additional.is_empty() {
            map.serialize_entry("additionalOperations", &self.additional)?;
        }
        map.end()
    }
}

/// An OpenAPI operation key; the derived order is the order the specification lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MethodKey {
    Get,
    Put,
    Post,
    Delete,
    Options,
    Head,
    Patch,
    Trace,
    /// OpenAPI 3.2 only.
    Query,
}

impl MethodKey {
    /// The key as written in a path item: `get`, `put`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            MethodKey::Get => "get",
            MethodKey::Put => "put",
            MethodKey::Post => "post",
            MethodKey::Delete => "delete",
            MethodKey::Options => "options",
            MethodKey::Head => "head",
            MethodKey::Patch => "patch",
            MethodKey::Trace => "trace",
            MethodKey::Query => "query",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub operation_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<RequestBody>,
    pub responses: Ordered<Response>,
    #[serde(skip_serializing_if = "is_false")]
    pub deprecated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<Vec<BTreeMap<String, Vec<String>>>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<Server>,
    /// The WebSocket route of a client- or bidi-streaming method (docs/reference.md section
    /// 13.1), served beside this operation with the runtime's `websocket` feature.
    #[serde(rename = "x-rs-svc-websocket", skip_serializing_if = "Option::is_none")]
    pub websocket: Option<WebSocket>,
}

/// `x-rs-svc-websocket`: how to call an operation over WebSocket, for readers of the document
/// (docs/reference.md section 13.1). Every value but the path is the same for every route.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebSocket {
    /// The handshake's method: `GET`, whatever the operation's own.
    pub method: &'static str,
    /// The operation's path, where the handshake goes.
    pub path: String,
    pub client_frames: &'static str,
    pub half_close: &'static str,
    pub server_frames: &'static str,
    pub close_codes: &'static str,
    pub deadline: &'static str,
}

impl WebSocket {
    /// The route on `path`.
    pub fn on(path: &str) -> Self {
        WebSocket {
            method: "GET",
            path: path.to_owned(),
            client_frames: "One text frame per request message, JSON; path variables and query parameters bind into the first message. Binary frames end the call.",
            half_close: "An empty text frame ends the client's messages.",
            server_frames: "`{\"result\": <response message>}` per message, then `{\"status\": <google.rpc.Status>}` as the last frame.",
            close_codes: "1000 after an OK status; 4000 + the gRPC code after an error (4003 INVALID_ARGUMENT, 4004 DEADLINE_EXCEEDED, ...), with the status message as the reason.",
            deadline: "The `grpc-timeout` header, or the `grpc-timeout` query parameter (browsers cannot set headers).",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Parameter {
    pub name: String,
    #[serde(rename = "in")]
    pub location: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub required: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub deprecated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explode: Option<bool>,
    pub schema: Schema,
}

#[derive(Debug, Clone, Serialize)]
pub struct RequestBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub content: Ordered<MediaType>,
    #[serde(skip_serializing_if = "is_false")]
    pub required: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct MediaType {
    pub schema: Schema,
}

/// A response, or a reference to one under `components.responses`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Response {
    Ref {
        #[serde(rename = "$ref")]
        reference: String,
    },
    Inline {
        description: String,
        #[serde(skip_serializing_if = "Ordered::is_empty")]
        content: Ordered<MediaType>,
    },
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Components {
    pub schemas: BTreeMap<String, Schema>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub responses: BTreeMap<String, Response>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub security_schemes: BTreeMap<String, SecurityScheme>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityScheme {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flows: Option<BTreeMap<&'static str, OAuthFlow>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthFlow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_url: Option<String>,
    pub token_url: String,
    pub scopes: BTreeMap<String, String>,
}

/// A JSON Schema (2020-12, as OpenAPI 3.1 uses it), with the keywords we need.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    #[serde(rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub ty: Option<Type>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "enum", skip_serializing_if = "Vec::is_empty")]
    pub enumeration: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<Schema>>,
    #[serde(skip_serializing_if = "Ordered::is_empty")]
    pub properties: Ordered<Schema>,
    /// Properties that must not be present (`name: false`); never set together with
    /// `properties`.
    #[serde(rename = "properties", skip_serializing_if = "Ordered::is_empty")]
    pub absent: Ordered<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property_names: Option<Box<Schema>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_properties: Option<Box<Schema>>,
    /// `additionalProperties: false`; never set together with `additional_properties`.
    #[serde(rename = "additionalProperties", skip_serializing_if = "is_false")]
    #[serde(serialize_with = "serialize_closed")]
    pub closed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_properties: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub one_of: Vec<Schema>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub all_of: Vec<Schema>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<Schema>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub any_of: Vec<Schema>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<serde_json::Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<serde_json::Number>,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub write_only: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub deprecated: bool,
}

/// `type`: one name, or several (`[string, "null"]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Type {
    One(&'static str),
    Many(Vec<&'static str>),
}

impl Schema {
    pub fn of_type(ty: &'static str) -> Schema {
        Schema {
            ty: Some(Type::One(ty)),
            ..Schema::default()
        }
    }

    pub fn reference(name: &str) -> Schema {
        Schema {
            reference: Some(format!("#/components/schemas/{name}")),
            ..Schema::default()
        }
    }

    pub fn with_format(mut self, format: &'static str) -> Schema {
        self.format = Some(format);
        self
    }

    pub fn with_pattern(mut self, pattern: &'static str) -> Schema {
        self.pattern = Some(pattern);
        self
    }

    pub fn array(items: Schema) -> Schema {
        Schema {
            items: Some(Box::new(items)),
            ..Schema::of_type("array")
        }
    }

    /// The same schema, also allowing JSON `null`.
    pub fn nullable(self) -> Schema {
        if self == Schema::default() {
            return self;
        }
        match self.ty {
            Some(Type::One(ty)) if self.reference.is_none() => Schema {
                ty: Some(Type::Many(vec![ty, "null"])),
                ..self
            },
            Some(Type::Many(ref types)) if types.contains(&"null") => self,
            _ => Schema {
                one_of: vec![self, Schema::of_type("null")],
                ..Schema::default()
            },
        }
    }
}
