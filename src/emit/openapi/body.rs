//! Request and response bodies of an operation: JSON, NDJSON streams, raw HttpBody bytes.

use super::spec::{MediaType, MethodKey, Ordered, RequestBody, Response, Schema};
use super::text::status_reason;
use super::{clean_comment, Builder, ERROR_RESPONSE};
use crate::model::{
    wkt, Binding, Cardinality, FieldBehavior, FieldType, Method, RequestBody as RequestKind,
    ResponseBody as ResponseKind,
};

impl Builder<'_> {
    pub(super) fn request_body(
        &mut self,
        method: &Method,
        binding: &Binding,
        bound: &[Vec<String>],
    ) -> Option<RequestBody> {
        let input = self.input(method);
        let route = &binding.route;
        let field = match &route.request {
            RequestKind::None => return None,
            RequestKind::Message | RequestKind::Stream | RequestKind::HttpBody(None) => None,
            RequestKind::Field(body) | RequestKind::HttpBody(Some(body)) => {
                Some(self.field_at(method, &body.path)?)
            }
        };
        let http_body = matches!(route.request, RequestKind::HttpBody(_));
        let (schema, description) = match field {
            _ if http_body => (binary("The raw bytes; `Content-Type` is passed on."), None),
            None => (
                self.schemas.message_without(&method.input, bound),
                // A well-known type's comment is protobuf's internals, and only some
                // compilers keep it.
                input
                    .filter(|m| !wkt::in_protobuf_package(&m.full_name))
                    .and_then(|m| clean_comment(&m.comments.doc())),
            ),
            Some(field) => {
                let below: Vec<Vec<String>> = bound
                    .iter()
                    .filter(|p| p.len() > 1 && p[0] == field.name)
                    .map(|p| p[1..].to_vec())
                    .collect();
                let schema = match &field.ty {
                    FieldType::Message(nested) if field.cardinality == Cardinality::Singular => {
                        self.schemas.message_without(nested, &below)
                    }
                    _ => Schema {
                        description: None,
                        ..self.schemas.field(field)
                    },
                };
                (schema, clean_comment(&field.comments.doc()))
            }
        };
        let mut content = Ordered::default();
        if http_body {
            content.insert("*/*", MediaType { schema });
        } else if route.request == RequestKind::Stream {
            content.insert(
                "application/x-ndjson",
                MediaType {
                    schema: Schema {
                        description: Some("One JSON message per line.".to_owned()),
                        ..schema.clone()
                    },
                },
            );
            content.insert(
                "application/json",
                MediaType {
                    schema: Schema {
                        description: Some("A JSON array of messages.".to_owned()),
                        ..Schema::array(schema)
                    },
                },
            );
        } else {
            content.insert("application/json", MediaType { schema });
        }
        Some(RequestBody {
            description,
            content,
            // An empty body is `{}` (or an empty stream, or empty bytes): required only when
            // the proto says the body field is.
            required: field.is_some_and(|f| f.behaviors.contains(&FieldBehavior::Required)),
        })
    }

    pub(super) fn responses(
        &mut self,
        method: &Method,
        binding: &Binding,
        key: MethodKey,
    ) -> Ordered<Response> {
        let output = self.model.messages.get(&method.output);
        let route = &binding.route;
        let field = match &route.response {
            ResponseKind::Field(field) | ResponseKind::HttpBody(Some(field)) => {
                output.and_then(|m| m.field(&field.name)).cloned()
            }
            ResponseKind::Message | ResponseKind::HttpBody(None) => None,
        };
        let http_body = matches!(route.response, ResponseKind::HttpBody(_));
        let schema = match &field {
            _ if http_body || key == MethodKey::Head => Schema::default(),
            Some(f) => Schema {
                description: None,
                ..self.schemas.field(f)
            },
            None => self.schemas.message(&method.output),
        };
        let mut content = Ordered::default();
        let description;
        if route.success_has_no_body() {
            description = format!(
                "{}; the response has no body.",
                status_reason(route.success_status)
            );
        } else if key == MethodKey::Head {
            description = "OK; HEAD responses have no body.".to_owned();
        } else if http_body {
            description = if route.streams_response {
                "The raw bytes of every message of the stream, in order.".to_owned()
            } else {
                "The raw bytes, with their own `Content-Type`.".to_owned()
            };
            content.insert(
                "*/*",
                MediaType {
                    schema: binary("Raw bytes."),
                },
            );
        } else if route.streams_response {
            description = "A stream: one JSON message per line, or Server-Sent Events when the request has `Accept: text/event-stream`. An error after the first message ends the stream as a last line (or an `error` event) holding a `google.rpc.Status`.".to_owned();
            let item = if route.grpc_gateway_envelope {
                let status = self.schemas.status();
                Schema {
                    properties: Ordered(vec![
                        ("result".to_owned(), schema),
                        ("error".to_owned(), status),
                    ]),
                    ..Schema::of_type("object")
                }
            } else {
                schema
            };
            content.insert(
                "application/x-ndjson",
                MediaType {
                    schema: Schema {
                        description: Some("Each line is one message.".to_owned()),
                        ..item
                    },
                },
            );
            content.insert(
                "text/event-stream",
                MediaType {
                    schema: Schema {
                        description: Some("`data:` of each event is one JSON message.".to_owned()),
                        ..Schema::of_type("string")
                    },
                },
            );
        } else {
            description = status_reason(route.success_status).to_owned();
            content.insert("application/json", MediaType { schema });
        }
        Ordered(vec![
            (
                route.success_status.to_string(),
                Response::Inline {
                    description,
                    content,
                },
            ),
            (
                "default".to_owned(),
                Response::Ref {
                    reference: format!("#/components/responses/{ERROR_RESPONSE}"),
                },
            ),
        ])
    }
}

pub(super) fn binary(description: &str) -> Schema {
    Schema {
        description: Some(description.to_owned()),
        ..Schema::of_type("string").with_format("binary")
    }
}
