//! One operation: summary and description, path and query parameters.

use super::schema::oneof_taken;
use super::spec::{MethodKey, Operation, Parameter, Schema};
use super::text::summary_and_description;
use super::{clean_comment, Builder};
use crate::model::{wkt, Binding, Body, Cardinality, FieldBehavior, FieldType, Method};

impl Builder<'_> {
    pub(super) fn operation(
        &mut self,
        method: &Method,
        binding: &Binding,
        key: MethodKey,
        path_parameters: &[Parameter],
        operation_id: String,
    ) -> Operation {
        let (summary, mut description) =
            summary_and_description(clean_comment(&method.comments.doc()));
        // Linters (and readers of a long list) want a summary on every operation.
        let summary = summary.or_else(|| Some(method.name.clone()));
        let bound: Vec<Vec<String>> = binding
            .template
            .variables
            .iter()
            .map(|v| v.field_path.0.clone())
            .collect();
        let mut parameters = path_parameters.to_vec();
        if binding.body != Body::All && !method.kind.client_streaming() {
            let mut stack = Vec::new();
            if let Some(input) = self.input(method) {
                let excluded: Vec<Vec<String>> = bound
                    .iter()
                    .cloned()
                    .chain(match &binding.body {
                        Body::Field(name) => Some(name.split('.').map(str::to_owned).collect()),
                        _ => None,
                    })
                    .collect();
                self.query(input, "", &excluded, &mut stack, true, &mut parameters);
            }
        }
        if let Some(mask) = self.model.inferred_field_mask(method, binding) {
            let note = format!(
                "Without `{}`, the fields present in the body are the ones updated.",
                self.schemas.key(mask)
            );
            description = Some(match description {
                Some(d) => format!("{d}\n\n{note}"),
                None => note,
            });
        }
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
        }
    }

    /// Query parameters for every field of `message` the runtime binds from the query string,
    /// below `prefix`, leaving out `excluded` paths (bound by the path or the body) and the
    /// other members of a oneof one of them sets.
    pub(super) fn query(
        &mut self,
        message: &crate::model::Message,
        prefix: &str,
        excluded: &[Vec<String>],
        stack: &mut Vec<String>,
        top: bool,
        out: &mut Vec<Parameter>,
    ) {
        stack.push(message.full_name.clone());
        for field in &message.fields {
            if excluded.iter().any(|p| p.len() == 1 && p[0] == field.name)
                || oneof_taken(message, excluded, field)
            {
                continue;
            }
            let below: Vec<Vec<String>> = excluded
                .iter()
                .filter(|p| p.len() > 1 && p[0] == field.name)
                .map(|p| p[1..].to_vec())
                .collect();
            let name = format!("{prefix}{}", self.schemas.key(field));
            let description = clean_comment(&field.comments.doc());
            let (style, explode, schema) = match (&field.cardinality, field.ty.is_query_value()) {
                (Cardinality::Singular | Cardinality::Optional, true) => {
                    (None, None, self.schemas.value(&field.ty))
                }
                (Cardinality::Repeated, true) => {
                    let value = self.schemas.value(&field.ty);
                    (None, None, Schema::array(value))
                }
                (Cardinality::Map { .. }, true) => {
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
                (Cardinality::Singular | Cardinality::Optional, false) => {
                    if let FieldType::Message(nested) = &field.ty {
                        if let Some(nested) = self.model.messages.get(nested) {
                            // A recursive message is documented down to its first repetition.
                            if !stack.contains(&nested.full_name)
                                && !wkt::in_protobuf_package(&nested.full_name)
                            {
                                self.query(nested, &format!("{name}."), &below, stack, false, out);
                            }
                        }
                    }
                    continue;
                }
                // Repeated messages and maps of messages cannot be set from the query string.
                _ => continue,
            };
            out.push(Parameter {
                name,
                location: "query",
                description,
                required: top && field.behaviors.contains(&FieldBehavior::Required),
                deprecated: field.deprecated,
                style,
                explode,
                schema,
            });
        }
        stack.pop();
    }
}
