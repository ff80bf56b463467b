//! One operation: summary and description, path and query parameters.

use super::spec::{MethodKey, Operation, Parameter, Schema, WebSocket};
use super::text::summary_and_description;
use super::{clean_comment, Builder};
use crate::model::{Binding, FieldBehavior, Method, QueryKind, RequestBody, ResponseBody};

impl Builder<'_> {
    pub(super) fn operation(
        &mut self,
        method: &Method,
        binding: &Binding,
        key: MethodKey,
        path: &str,
        path_parameters: &[Parameter],
        operation_id: String,
    ) -> Operation {
        let (summary, mut description) =
            summary_and_description(clean_comment(&method.comments.doc()));
        // Linters (and readers of a long list) want a summary on every operation.
        let summary = summary.or_else(|| Some(method.name.clone()));
        let route = &binding.route;
        let mut parameters = path_parameters.to_vec();
        parameters.extend(self.query(method, binding));
        if let Some(mask) = &route.inferred_field_mask {
            let note = format!(
                "Without `{}`, the fields present in the body are the ones updated.",
                mask.json_key(self.params.json_proto_names)
            );
            description = Some(match description {
                Some(d) => format!("{d}\n\n{note}"),
                None => note,
            });
        }
        // Client and bidi streams of JSON messages are also served over WebSocket on their path.
        let websocket = (method.kind.client_streaming()
            && !matches!(route.request, RequestBody::HttpBody(_))
            && !matches!(route.response, ResponseBody::HttpBody(_)))
        .then(|| WebSocket::on(path));
        if websocket.is_some() {
            let note = "Also served over WebSocket, full duplex, by servers built with the \
                        runtime's `websocket` feature: `GET` this path with `Upgrade: websocket` \
                        (see `x-rs-svc-websocket`)."
                .to_owned();
            description = Some(match description {
                Some(d) => format!("{d}\n\n{note}"),
                None => note,
            });
        }
        let bound: Vec<Vec<String>> = route.path_fields.iter().map(|p| p.0.clone()).collect();
        let request_body = self.request_body(method, binding, &bound);
        let responses = self.responses(method, binding, key);
        Operation {
            tags: Vec::new(),
            summary,
            description,
            operation_id,
            parameters,
            request_body,
            responses,
            deprecated: method.deprecated,
            security: None,
            servers: Vec::new(),
            websocket,
        }
    }

    /// A query parameter for every field the route binds from the query string
    /// ([`crate::model::Model::query_fields`]).
    fn query(&mut self, method: &Method, binding: &Binding) -> Vec<Parameter> {
        let model = self.model;
        model
            .query_fields(method, binding)
            .into_iter()
            .map(|query| {
                let field = query.field();
                let name = query
                    .path
                    .iter()
                    .map(|f| self.schemas.key(f))
                    .collect::<Vec<_>>()
                    .join(".");
                let (style, explode, schema) = match query.kind {
                    QueryKind::Value => (None, None, self.schemas.value(&field.ty)),
                    QueryKind::List => (None, None, Schema::array(self.schemas.value(&field.ty))),
                    QueryKind::Map => {
                        let schema = self.schemas.field(field);
                        // `field[KEY]=VALUE`: a key holding `[` or `]` cannot be written there.
                        let property_names = schema.property_names.clone().or_else(|| {
                            Some(Box::new(Schema::default().with_pattern("^[^\\[\\]]*$")))
                        });
                        let schema = Schema {
                            description: None,
                            deprecated: false,
                            read_only: false,
                            write_only: false,
                            property_names,
                            ..schema
                        };
                        (Some("deepObject"), Some(true), schema)
                    }
                };
                Parameter {
                    name,
                    location: "query",
                    description: clean_comment(&field.comments.doc()),
                    required: query.path.len() == 1
                        && field.behaviors.contains(&FieldBehavior::Required),
                    deprecated: field.deprecated,
                    style,
                    explode,
                    schema,
                }
            })
            .collect()
    }
}
