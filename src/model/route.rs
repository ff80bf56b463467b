//! Routes resolved once: what every emitter needs to know about a binding, decided here so the
//! router and the OpenAPI document cannot disagree (docs/reference.md section 4). Filled in
//! after every rule is checked, together with the unbound `POST /<package>.<Service>/<Method>`
//! route of `generate_unbound_methods`.

use super::template::{PathTemplate, Segment};
use super::{
    wkt, Binding, Body, Cardinality, Field, FieldPath, FieldType, HttpMethod, Message, Method,
    Model, WellKnown,
};
use crate::params::Params;

/// What a route reads from the HTTP request body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RequestBody {
    /// No body: what the path does not bind comes from the query string.
    #[default]
    None,
    /// `body: "*"`: the whole request message, as JSON.
    Message,
    /// `body: "field"`: that field, as JSON (a dotted path is grpc-gateway's nested extension).
    Field(BodyField),
    /// `google.api.HttpBody` as the whole request (`None`) or as the body field: the raw bytes
    /// and their Content-Type.
    HttpBody(Option<BodyField>),
    /// A client- or bidi-streaming method: a stream of whole request messages (NDJSON or a
    /// JSON array).
    Stream,
}

/// The body field of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyField {
    /// The proto field path as written in the rule (`book`, `payload.note_text`).
    pub proto: String,
    /// The same path in JSON names (`book`, `payload.noteText`).
    pub json: String,
    /// The path's parts.
    pub path: Vec<String>,
}

/// What a successful response carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ResponseBody {
    /// The whole response message, as JSON.
    #[default]
    Message,
    /// `response_body: "field"`: that top-level field, as JSON.
    Field(FieldName),
    /// `google.api.HttpBody` as the whole response (`None`) or as the `response_body` field:
    /// written raw, with its own Content-Type.
    HttpBody(Option<FieldName>),
}

/// A top-level field named in a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldName {
    pub name: String,
    pub json_name: String,
}

impl FieldName {
    fn of(field: &Field) -> Self {
        FieldName {
            name: field.name.clone(),
            json_name: field.json_name.clone(),
        }
    }

    /// The JSON key the generated code writes (see [`Field::json_key`]).
    pub fn json_key(&self, proto_names: bool) -> &str {
        if proto_names {
            &self.name
        } else {
            &self.json_name
        }
    }
}

/// What one route means, resolved from its rule, its method and the request's messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    /// The `POST /<package>.<Service>/<Method>` route `generate_unbound_methods` gives a method
    /// without a rule.
    pub unbound: bool,
    pub request: RequestBody,
    pub response: ResponseBody,
    /// Whether the response is a stream of messages (server or bidi streaming).
    pub streams_response: bool,
    /// Whether stream messages are wrapped as `{"result": ...}` (`stream_envelope=grpc_gateway`).
    pub grpc_gateway_envelope: bool,
    /// The FieldMask field a PATCH fills in from the JSON keys of its body field
    /// (docs/reference.md section 4): the request's only singular FieldMask, when the body is
    /// one singular message field.
    pub inferred_field_mask: Option<FieldName>,
    /// The fields path variables set, in template order.
    pub path_fields: Vec<FieldPath>,
    /// Whether query parameters are read: not with a whole-message body or a stream.
    pub reads_query: bool,
    /// Field paths the query string may not set (bound by the path or the body), when it is read.
    pub query_excluded: Vec<Vec<String>>,
    /// The HTTP status of a successful call; 204 and 205 send no body.
    pub success_status: u16,
}

impl Route {
    /// Whether a successful response carries no body (204 No Content, 205 Reset Content).
    pub fn success_has_no_body(&self) -> bool {
        matches!(self.success_status, 204 | 205)
    }
}

/// How one query parameter sets its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// One value (`?a.b=v`).
    Value,
    /// A repeated scalar: the key repeats (`?t=a&t=b`).
    List,
    /// A map of scalars: `m[key]=v`.
    Map,
}

/// One query parameter a route reads.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryField<'m> {
    /// The fields from the request message down to the one set (more than one for `a.b=v`).
    pub path: Vec<&'m Field>,
    pub kind: QueryKind,
}

impl QueryField<'_> {
    /// The field the parameter sets.
    pub fn field(&self) -> &Field {
        self.path
            .last()
            .expect("a query path names at least one field")
    }
}

impl Model {
    /// Every query parameter `binding` reads, in field order, nested singular messages
    /// expanded (down to the first repetition of a recursive message); empty when the query
    /// string is not read. What the path or body binds is left out, and so are the other
    /// members of a oneof one of them sets.
    pub fn query_fields(&self, method: &Method, binding: &Binding) -> Vec<QueryField<'_>> {
        let mut out = Vec::new();
        if let (true, Some(input)) = (binding.route.reads_query, self.messages.get(&method.input)) {
            let mut stack = Vec::new();
            let mut path = Vec::new();
            self.query_walk(
                input,
                &binding.route.query_excluded,
                &mut stack,
                &mut path,
                &mut out,
            );
        }
        out
    }

    fn query_walk<'m>(
        &'m self,
        message: &'m Message,
        excluded: &[Vec<String>],
        stack: &mut Vec<&'m str>,
        path: &mut Vec<&'m Field>,
        out: &mut Vec<QueryField<'m>>,
    ) {
        stack.push(&message.full_name);
        for field in &message.fields {
            if excluded.iter().any(|p| p.len() == 1 && p[0] == field.name)
                || message.oneof_taken(excluded, field)
            {
                continue;
            }
            let kind = match (&field.cardinality, field.ty.is_query_value()) {
                (Cardinality::Singular | Cardinality::Optional, true) => QueryKind::Value,
                (Cardinality::Repeated, true) => QueryKind::List,
                (Cardinality::Map { .. }, true) => QueryKind::Map,
                (Cardinality::Singular | Cardinality::Optional, false) => {
                    let FieldType::Message(nested) = &field.ty else {
                        continue;
                    };
                    let Some(nested) = self.messages.get(nested) else {
                        continue;
                    };
                    if stack.contains(&nested.full_name.as_str())
                        || wkt::in_protobuf_package(&nested.full_name)
                    {
                        continue;
                    }
                    let below: Vec<Vec<String>> = excluded
                        .iter()
                        .filter(|p| p.len() > 1 && p[0] == field.name)
                        .map(|p| p[1..].to_vec())
                        .collect();
                    path.push(field);
                    self.query_walk(nested, &below, stack, path, out);
                    path.pop();
                    continue;
                }
                // Repeated messages and maps of messages cannot be set from the query string.
                _ => continue,
            };
            let mut full = path.clone();
            full.push(field);
            out.push(QueryField { path: full, kind });
        }
        stack.pop();
    }

    /// Every message query parameters can reach, by full name: the requests of routed methods
    /// and the singular message fields below them, transitively, among the messages this
    /// request generates. The router gives each a `QuerySchema`.
    pub fn query_messages(&self) -> std::collections::BTreeSet<String> {
        let mut reached = std::collections::BTreeSet::new();
        let mut queue: std::collections::VecDeque<&str> = self
            .services()
            .flat_map(|s| &s.methods)
            .filter(|m| !m.bindings.is_empty())
            .map(|m| m.input.as_str())
            .collect();
        while let Some(name) = queue.pop_front() {
            let Some(message) = self.messages.get(name) else {
                continue;
            };
            // A type `extern_path` maps (`.google.rpc.Status` to the runtime's) is not
            // generated even when its package is, so it has no query schema.
            let dotted = format!(".{name}");
            let generated = self.package(&message.package).is_some()
                && !wkt::in_protobuf_package(name)
                && !self
                    .externs
                    .given()
                    .iter()
                    .any(|(proto, _)| super::externs::covers(proto, &dotted));
            if !generated || !reached.insert(name.to_owned()) {
                continue;
            }
            for field in &message.fields {
                if let (FieldType::Message(nested), Cardinality::Singular | Cardinality::Optional) =
                    (&field.ty, &field.cardinality)
                {
                    queue.push_back(nested);
                }
            }
        }
        reached
    }
}

impl Message {
    /// Whether `field` is out of the client's reach because a path in `bound` (proto field paths
    /// relative to this message, bound by a path variable or the body field) always sets another
    /// member of its oneof: the runtime refuses two members of one oneof (docs/reference.md
    /// sections 3 and 4), so neither the query nor the body may send it.
    pub fn oneof_taken(&self, bound: &[Vec<String>], field: &Field) -> bool {
        let Some(oneof) = &field.oneof else {
            return false;
        };
        bound.iter().filter_map(|p| p.first()).any(|name| {
            *name != field.name
                && self
                    .fields
                    .iter()
                    .any(|f| f.name == *name && f.oneof.as_ref() == Some(oneof))
        })
    }
}

/// `POST /<package>.<Service>/<Method>` with `body: "*"`, for a method without a rule.
fn unbound_binding(service: &str, method: &Method) -> Binding {
    Binding {
        method: HttpMethod::Post,
        template: PathTemplate {
            segments: vec![
                Segment::Literal(service.to_owned()),
                Segment::Literal(method.name.clone()),
            ],
            variables: Vec::new(),
            verb: None,
        },
        body: Body::All,
        response_body: None,
        index: 0,
        location: method.location.clone(),
        unreachable: false,
        route: Route {
            unbound: true,
            ..Route::default()
        },
    }
}

/// Gives every method without a rule its unbound route (with `generate_unbound_methods`), then
/// resolves every route. Runs after the rules are checked, so the unbound routes are never
/// compared with the declared ones.
pub(crate) fn resolve(model: &mut Model, params: &Params) {
    let mut packages = std::mem::take(&mut model.packages);
    for service in packages.iter_mut().flat_map(|p| &mut p.services) {
        for method in &mut service.methods {
            if method.bindings.is_empty() && params.generate_unbound_methods {
                let binding = unbound_binding(&service.full_name, method);
                method.bindings.push(binding);
            }
            let mut bindings = std::mem::take(&mut method.bindings);
            for binding in &mut bindings {
                binding.route = route(model, method, binding, params);
            }
            method.bindings = bindings;
        }
    }
    model.packages = packages;
}

/// The facts of one route.
fn route(model: &Model, method: &Method, binding: &Binding, params: &Params) -> Route {
    let input = model.messages.get(&method.input);
    let output = model.messages.get(&method.output);
    let is_http_body =
        |ty: Option<&FieldType>| ty.and_then(FieldType::well_known) == Some(WellKnown::HttpBody);
    let body_field = |proto: &str| {
        let path: Vec<String> = proto.split('.').map(str::to_owned).collect();
        let fields = model.field_path(input, &path);
        let json = path
            .iter()
            .enumerate()
            .map(|(i, part)| {
                fields
                    .get(i)
                    .map_or(part.as_str(), |f| f.json_name.as_str())
            })
            .collect::<Vec<_>>()
            .join(".");
        let ty = (fields.len() == path.len())
            .then(|| fields.last().map(|f| &f.ty))
            .flatten();
        (
            BodyField {
                proto: proto.to_owned(),
                json,
                path,
            },
            is_http_body(ty),
        )
    };
    let request = match &binding.body {
        Body::None => RequestBody::None,
        Body::All if WellKnown::of(&method.input) == Some(WellKnown::HttpBody) => {
            RequestBody::HttpBody(None)
        }
        Body::All if method.kind.client_streaming() => RequestBody::Stream,
        Body::All => RequestBody::Message,
        Body::Field(name) => match body_field(name) {
            (field, true) => RequestBody::HttpBody(Some(field)),
            (field, false) => RequestBody::Field(field),
        },
    };
    let response = match &binding.response_body {
        None if WellKnown::of(&method.output) == Some(WellKnown::HttpBody) => {
            ResponseBody::HttpBody(None)
        }
        None => ResponseBody::Message,
        Some(name) => {
            let field = output.and_then(|m| m.field(name));
            let field_name = field.map_or_else(
                || FieldName {
                    name: name.clone(),
                    json_name: name.clone(),
                },
                FieldName::of,
            );
            if is_http_body(field.map(|f| &f.ty)) {
                ResponseBody::HttpBody(Some(field_name))
            } else {
                ResponseBody::Field(field_name)
            }
        }
    };
    let path_fields: Vec<FieldPath> = binding
        .template
        .variables
        .iter()
        .map(|v| v.field_path.clone())
        .collect();
    let reads_query = !matches!(
        request,
        RequestBody::Message | RequestBody::Stream | RequestBody::HttpBody(None)
    );
    let query_excluded = if reads_query {
        path_fields
            .iter()
            .map(|p| p.0.clone())
            .chain(match &request {
                RequestBody::Field(f) | RequestBody::HttpBody(Some(f)) => Some(f.path.clone()),
                _ => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    Route {
        unbound: binding.route.unbound,
        inferred_field_mask: inferred_field_mask(input, binding).map(FieldName::of),
        request,
        response,
        streams_response: method.kind.server_streaming(),
        grpc_gateway_envelope: params.grpc_gateway_envelope && method.kind.server_streaming(),
        path_fields,
        reads_query,
        query_excluded,
        success_status: method.success_status,
    }
}

/// The `FieldMask` field a PATCH binding infers from its body's keys (docs/reference.md
/// section 4): the request's only singular FieldMask field, when the body is one singular
/// message field (not a well-known type), whose message the inferred paths are relative to.
fn inferred_field_mask<'m>(input: Option<&'m Message>, binding: &Binding) -> Option<&'m Field> {
    let (HttpMethod::Patch, Body::Field(body)) = (&binding.method, &binding.body) else {
        return None;
    };
    let input = input?;
    let singular =
        |f: &&Field| matches!(f.cardinality, Cardinality::Singular | Cardinality::Optional);
    let body_is_message = input
        .field(body)
        .filter(singular)
        .is_some_and(|f| matches!(&f.ty, FieldType::Message(t) if !wkt::in_protobuf_package(t)));
    let mut masks = input
        .fields
        .iter()
        .filter(singular)
        .filter(|f| f.ty.well_known() == Some(WellKnown::FieldMask));
    match (body_is_message, masks.next(), masks.next()) {
        (true, Some(mask), None) => Some(mask),
        _ => None,
    }
}

impl Model {
    /// The fields along a dotted path from `message`, as far as each step exists.
    pub fn field_path<'m>(
        &'m self,
        message: Option<&'m Message>,
        path: &[String],
    ) -> Vec<&'m Field> {
        let mut out = Vec::new();
        let mut message = message;
        for part in path {
            let Some(field) = message.and_then(|m| m.field(part)) else {
                break;
            };
            out.push(field);
            message = match &field.ty {
                FieldType::Message(t) => self.messages.get(t),
                _ => None,
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostics;

    const SOURCE: &str = r#"syntax = "proto3";
package r.v1;
import "google/api/annotations.proto";
import "google/api/httpbody.proto";
import "google/protobuf/field_mask.proto";
service S {
  rpc Get(Req) returns (Res) { option (google.api.http) = {get: "/v1/{name=things/*}"}; }
  rpc Whole(Req) returns (Res) { option (google.api.http) = {post: "/v1/things" body: "*"}; }
  rpc Update(UpdateReq) returns (Res) {
    option (google.api.http) = {patch: "/v1/{thing.name=things/*}" body: "thing"};
  }
  rpc Replace(UpdateReq) returns (Res) {
    option (google.api.http) = {put: "/v1/{thing.name=things/*}" body: "thing"};
  }
  rpc Upload(google.api.HttpBody) returns (Res) {
    option (google.api.http) = {post: "/v1/upload" body: "*"};
  }
  rpc UploadField(UploadReq) returns (google.api.HttpBody) {
    option (google.api.http) = {put: "/v1/{name}/data" body: "data"};
  }
  rpc Pick(Req) returns (Res) {
    option (google.api.http) = {get: "/v1/pick/{a}" response_body: "payload_text"};
  }
  rpc Chat(stream Req) returns (stream Res) {
    option (google.api.http) = {post: "/v1/chat" body: "*"};
  }
  rpc Plain(Req) returns (Res);
}
message Req {
  string name = 1;
  string filter_text = 2;
  Inner inner = 3;
  repeated string tags = 4;
  map<string, int32> labels = 5;
  oneof pick { string a = 6; string b = 7; }
  repeated Inner many = 8;
}
message Inner { int64 size = 1; Req back = 2; }
message Thing { string name = 1; string title_text = 2; }
message UpdateReq {
  Thing thing = 1;
  google.protobuf.FieldMask update_mask = 2;
  bool allow_missing = 3;
}
message UploadReq { string name = 1; google.api.HttpBody data = 2; }
message Res { string payload_text = 1; }
"#;

    fn model(parameter: &str) -> Model {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("r.proto"), SOURCE).unwrap();
        let bytes =
            crate::standalone::request(&[dir.path().to_owned()], &["r.proto".into()], parameter)
                .unwrap();
        let request = crate::decode(&bytes).unwrap();
        let params = Params::parse(parameter).unwrap();
        let (model, diags) = super::super::build(&request, &params);
        assert_eq!(diags, Diagnostics::default());
        model
    }

    fn field(proto: &str, json: &str) -> BodyField {
        BodyField {
            proto: proto.to_owned(),
            json: json.to_owned(),
            path: proto.split('.').map(str::to_owned).collect(),
        }
    }

    fn name(name: &str, json_name: &str) -> FieldName {
        FieldName {
            name: name.to_owned(),
            json_name: json_name.to_owned(),
        }
    }

    /// Each rule and what its route resolves to: the body, the response, the inferred mask,
    /// the path fields and the query parameters, as dotted proto names with their kind.
    #[test]
    fn each_rule_resolves_to_its_route() {
        use QueryKind::{List, Map, Value};
        let all_of_req = [
            ("filter_text", Value),
            ("inner.size", Value),
            ("tags", List),
            ("labels", Map),
            ("a", Value),
            ("b", Value),
        ];
        type Row<'a> = (
            &'a str,
            RequestBody,
            ResponseBody,
            Option<FieldName>,
            &'a [&'a str],
            Vec<(&'a str, QueryKind)>,
        );
        let table: Vec<Row<'_>> = vec![
            (
                // No body: everything the path leaves, down nested messages (a recursive one
                // to its first repetition), repeated scalars and maps; not repeated messages.
                "Get",
                RequestBody::None,
                ResponseBody::Message,
                None,
                &["name"],
                all_of_req.to_vec(),
            ),
            (
                "Whole",
                RequestBody::Message,
                ResponseBody::Message,
                None,
                &[],
                vec![],
            ),
            (
                // PATCH with a message body field and one FieldMask: the mask is inferred.
                "Update",
                RequestBody::Field(field("thing", "thing")),
                ResponseBody::Message,
                Some(name("update_mask", "updateMask")),
                &["thing.name"],
                vec![("update_mask", Value), ("allow_missing", Value)],
            ),
            (
                // The same rule with PUT infers nothing.
                "Replace",
                RequestBody::Field(field("thing", "thing")),
                ResponseBody::Message,
                None,
                &["thing.name"],
                vec![("update_mask", Value), ("allow_missing", Value)],
            ),
            (
                "Upload",
                RequestBody::HttpBody(None),
                ResponseBody::Message,
                None,
                &[],
                vec![],
            ),
            (
                "UploadField",
                RequestBody::HttpBody(Some(field("data", "data"))),
                ResponseBody::HttpBody(None),
                None,
                &["name"],
                vec![],
            ),
            (
                // A path field of a oneof takes the other members out of the query.
                "Pick",
                RequestBody::None,
                ResponseBody::Field(name("payload_text", "payloadText")),
                None,
                &["a"],
                [("name", Value)]
                    .into_iter()
                    .chain(all_of_req.iter().copied())
                    .filter(|(n, _)| !matches!(*n, "a" | "b"))
                    .collect(),
            ),
            (
                "Chat",
                RequestBody::Stream,
                ResponseBody::Message,
                None,
                &[],
                vec![],
            ),
        ];
        let model = model("");
        let methods = &model.packages[0].services[0].methods;
        for (method_name, request, response, mask, path_fields, query) in table {
            let method = methods.iter().find(|m| m.name == method_name).unwrap();
            let [binding] = method.bindings.as_slice() else {
                panic!("{method_name}: one route expected");
            };
            let route = &binding.route;
            assert_eq!(route.request, request, "{method_name}");
            assert_eq!(route.response, response, "{method_name}");
            assert_eq!(route.inferred_field_mask, mask, "{method_name}");
            let paths: Vec<String> = route.path_fields.iter().map(|p| p.to_string()).collect();
            assert_eq!(paths, path_fields, "{method_name}");
            let got: Vec<(String, QueryKind)> = model
                .query_fields(method, binding)
                .iter()
                .map(|q| {
                    let names: Vec<&str> = q.path.iter().map(|f| f.name.as_str()).collect();
                    (names.join("."), q.kind)
                })
                .collect();
            let expected: Vec<(String, QueryKind)> =
                query.iter().map(|(n, k)| ((*n).to_owned(), *k)).collect();
            assert_eq!(got, expected, "{method_name}");
            assert_eq!(
                route.reads_query,
                !matches!(method_name, "Whole" | "Upload" | "Chat")
            );
            assert_eq!(route.streams_response, method_name == "Chat");
            assert!(
                !route.unbound && !route.grpc_gateway_envelope,
                "{method_name}"
            );
            assert_eq!(route.success_status, 200);
        }
        let plain = methods.iter().find(|m| m.name == "Plain").unwrap();
        assert!(plain.bindings.is_empty(), "no unbound route unless asked");
    }

    /// A nested body field (grpc-gateway's extension, a warning) is a dotted path of proto and
    /// JSON names; one of type HttpBody is raw bytes, like a top-level one, for the router and
    /// the document alike.
    #[test]
    fn nested_body_fields_resolve_along_their_path() {
        let source = r#"syntax = "proto3";
package n.v1;
import "google/api/annotations.proto";
import "google/api/httpbody.proto";
service S {
  rpc Note(Req) returns (Req) { option (google.api.http) = {post: "/v1/note" body: "outer.note_text"}; }
  rpc Raw(Req) returns (Req) { option (google.api.http) = {post: "/v1/raw" body: "outer.raw_data"}; }
}
message Req { Outer outer = 1; string name = 2; }
message Outer { string note_text = 1; google.api.HttpBody raw_data = 2; }
"#;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("n.proto"), source).unwrap();
        let bytes =
            crate::standalone::request(&[dir.path().to_owned()], &["n.proto".into()], "").unwrap();
        let request = crate::decode(&bytes).unwrap();
        let (model, diags) = super::super::build(&request, &Params::default());
        assert!(diags.errors.is_empty(), "{:?}", diags.errors);
        let methods = &model.packages[0].services[0].methods;
        let note = &methods[0].bindings[0];
        assert_eq!(
            note.route.request,
            RequestBody::Field(field("outer.note_text", "outer.noteText"))
        );
        let raw = &methods[1].bindings[0];
        assert_eq!(
            raw.route.request,
            RequestBody::HttpBody(Some(field("outer.raw_data", "outer.rawData")))
        );
        // The query may still set what the body does not hold.
        let fields = model.query_fields(&methods[1], raw);
        let query: Vec<&str> = fields.iter().map(|q| q.field().name.as_str()).collect();
        assert_eq!(query, ["note_text", "name"]);
    }

    #[test]
    fn unbound_methods_get_a_whole_message_post_route() {
        let model = model("generate_unbound_methods,stream_envelope=grpc_gateway");
        let methods = &model.packages[0].services[0].methods;
        let plain = methods.iter().find(|m| m.name == "Plain").unwrap();
        let [binding] = plain.bindings.as_slice() else {
            panic!("one unbound route expected");
        };
        assert_eq!(binding.method, HttpMethod::Post);
        assert_eq!(binding.template.to_string(), "/r.v1.S/Plain");
        assert!(binding.route.unbound);
        assert_eq!(binding.route.request, RequestBody::Message);
        assert!(!binding.route.reads_query);
        // Methods with a rule keep only their own routes.
        let get = methods.iter().find(|m| m.name == "Get").unwrap();
        assert!(get.bindings.iter().all(|b| !b.route.unbound));
        let chat = methods.iter().find(|m| m.name == "Chat").unwrap();
        assert!(chat.bindings[0].route.grpc_gateway_envelope);
        assert!(!get.bindings[0].route.grpc_gateway_envelope);
        // Every routed request reaches the query schemas; nested messages too.
        let reached = model.query_messages();
        for name in ["r.v1.Req", "r.v1.Inner", "r.v1.UpdateReq", "r.v1.Thing"] {
            assert!(reached.contains(name), "{name}");
        }
        assert!(!reached.contains("google.api.HttpBody"));
    }
}
