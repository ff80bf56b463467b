//! One operation: summary and description, path and query parameters.

use super::spec::{MethodKey, Operation, Parameter, Schema, WebSocket};
use super::text::summary_and_description;
use super::{clean_comment, Builder};
use crate::model::{Binding, FieldBehavior, Method, QueryKind, RequestBody, ResponseBody};

/// A oneof's query parameter being built: its name, its index in the operation's parameters, and
/// each member with the names of its properties, in order.
type OneofParameter = (String, usize, Vec<(String, Vec<String>)>);

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
    /// ([`crate::model::Model::query_fields`]), except the members of a oneof: the runtime
    /// refuses two of one oneof (docs/reference.md section 4.2), which separate parameters
    /// cannot say, so each oneof's are the properties of one object parameter named after the
    /// oneof, `style: form` and `explode: true` (its properties are sent as they are named,
    /// `picked.value=x`), whose schema allows at most one member.
    fn query(&mut self, method: &Method, binding: &Binding) -> Vec<Parameter> {
        let model = self.model;
        let mut parameters: Vec<Parameter> = Vec::new();
        let mut oneofs: Vec<OneofParameter> = Vec::new();
        for query in model.query_fields(method, binding) {
            let member = query.path.iter().position(|f| f.oneof.is_some());
            let parameter = self.query_parameter(&query);
            let Some(at) = member else {
                parameters.push(parameter);
                continue;
            };
            let prefix: Vec<String> = query.path[..at]
                .iter()
                .map(|f| self.schemas.key(f))
                .collect();
            let oneof = query.path[at].oneof.clone().expect("a oneof member");
            let group = prefix
                .iter()
                .cloned()
                .chain([oneof])
                .collect::<Vec<_>>()
                .join(".");
            let member = self.schemas.key(query.path[at]);
            let index = match oneofs.iter().position(|(name, ..)| *name == group) {
                Some(found) => found,
                None => {
                    parameters.push(Parameter {
                        name: group.clone(),
                        location: "query",
                        description: Some(format!(
                            "At most one member of the oneof `{group}`, each property a query \
                             parameter of its own."
                        )),
                        required: false,
                        deprecated: false,
                        style: Some("form"),
                        explode: Some(true),
                        // Only its members' parameters: any other name is a parameter of
                        // its own, not one of this object's.
                        schema: Schema {
                            closed: true,
                            ..Schema::of_type("object")
                        },
                    });
                    oneofs.push((group, parameters.len() - 1, Vec::new()));
                    oneofs.len() - 1
                }
            };
            let (_, position, members) = &mut oneofs[index];
            let schema = &mut parameters[*position].schema;
            let Parameter {
                name,
                description,
                deprecated,
                schema: property,
                ..
            } = parameter;
            schema.properties.0.push((
                name.clone(),
                Schema {
                    description: property.description.or(description),
                    deprecated: property.deprecated || deprecated,
                    ..property
                },
            ));
            match members.iter_mut().find(|(m, _)| *m == member) {
                Some((_, properties)) => properties.push(name),
                None => members.push((member, vec![name])),
            }
        }
        for (_, position, members) in oneofs {
            let members: Vec<Vec<String>> = members.into_iter().map(|(_, p)| p).collect();
            if let Some(at_most_one) = super::schema::at_most_one(&members) {
                parameters[position].schema.one_of = at_most_one.one_of;
            }
        }
        parameters
    }

    /// The query parameter of one field the route binds from the query string.
    fn query_parameter(&mut self, query: &crate::model::QueryField<'_>) -> Parameter {
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
                let property_names = schema
                    .property_names
                    .clone()
                    .or_else(|| Some(Box::new(Schema::default().with_pattern("^[^\\[\\]]*$"))));
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
            required: query.path.len() == 1 && field.behaviors.contains(&FieldBehavior::Required),
            deprecated: field.deprecated,
            style,
            explode,
            schema,
        }
    }
}
