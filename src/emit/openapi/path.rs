//! OpenAPI paths and path parameters of a route: multi-segment variables expanded into one
//! parameter per segment, named after a `google.api.resource` pattern or the literal before.

use std::collections::BTreeSet;

use heck::ToSnakeCase;

use super::spec::{Parameter, Schema};
use super::{clean_comment, Builder};
use crate::model::template::Segment;
use crate::model::{Binding, Cardinality, Field, FieldType, Method};

/// A singular from a plural literal: `shelves` -> `shelf`, `books` -> `book`, `people` ->
/// `people_id`.
pub(super) fn singular(literal: &str) -> String {
    let word = literal.to_snake_case();
    if let Some(stem) = word.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = word.strip_suffix("ves") {
        format!("{stem}f")
    } else if word.ends_with("sses") || word.ends_with("xes") || word.ends_with("ches") {
        word[..word.len() - 2].to_owned()
    } else if let Some(stem) = word
        .strip_suffix('s')
        .filter(|s| !s.ends_with(['s', 'u', 'i']))
    {
        stem.to_owned()
    } else {
        format!("{word}_id")
    }
}
impl<'a> Builder<'a> {
    pub(super) fn input(&self, method: &Method) -> Option<&'a crate::model::Message> {
        self.model.messages.get(&method.input)
    }

    /// The field at a dotted path of the request, if every step exists.
    pub(super) fn field_at(&self, method: &Method, path: &[String]) -> Option<&'a Field> {
        let mut message = self.input(method)?;
        let (last, parents) = path.split_last()?;
        for name in parents {
            match &message.field(name)?.ty {
                FieldType::Message(nested) => message = self.model.messages.get(nested)?,
                _ => return None,
            }
        }
        message.field(last)
    }

    /// The OpenAPI path of a rule and its path parameters.
    pub(super) fn path(&mut self, method: &Method, binding: &Binding) -> (String, Vec<Parameter>) {
        let template = &binding.template;
        let mut parts = Vec::new();
        let mut parameters: Vec<Parameter> = Vec::new();
        let mut i = 0;
        while i < template.segments.len() {
            let Some(variable) = template.variable_for(i) else {
                parts.push(match &template.segments[i] {
                    Segment::Literal(text) => text.clone(),
                    // A wildcard outside any variable matches a segment and binds nothing.
                    _ => {
                        parameters.push(Parameter {
                            name: format!("segment{}", i + 1),
                            location: "path",
                            description: Some("Any segment; not bound to a field.".to_owned()),
                            required: true,
                            deprecated: false,
                            style: None,
                            explode: None,
                            schema: segment_schema(),
                        });
                        format!("{{segment{}}}", i + 1)
                    }
                });
                i += 1;
                continue;
            };
            let segments = &template.segments[variable.start..variable.end];
            let field_path = variable.field_path.0.clone();
            let dotted = field_path.join(".");
            let field = self.field_at(method, &field_path).cloned();
            if let [Segment::Single] = segments {
                let schema = match &field {
                    // grpc-gateway's repeated path field: comma-separated values, which is
                    // OpenAPI's `simple` style of an array.
                    Some(f) if f.ty.is_query_value() && f.cardinality == Cardinality::Repeated => {
                        Schema::array(self.schemas.value(&f.ty))
                    }
                    Some(f) if f.ty.is_query_value() => {
                        let value = self.schemas.value(&f.ty);
                        non_empty(value)
                    }
                    _ => segment_schema(),
                };
                parameters.push(Parameter {
                    name: dotted.clone(),
                    location: "path",
                    description: field
                        .as_ref()
                        .and_then(|f| clean_comment(&f.comments.doc())),
                    required: true,
                    deprecated: field.as_ref().is_some_and(|f| f.deprecated),
                    style: None,
                    explode: None,
                    schema,
                });
                parts.push(format!("{{{dotted}}}"));
            } else {
                let names = self.segment_names(segments, &field_path, &template.segments[..i]);
                let mut shown = Vec::new();
                for (segment, name) in segments.iter().zip(&names) {
                    match (segment, name) {
                        (Segment::Literal(text), _) => shown.push(text.clone()),
                        (_, Some(name)) => shown.push(format!("{{{name}}}")),
                        _ => {}
                    }
                }
                let whole = shown.join("/");
                let doc = field
                    .as_ref()
                    .and_then(|f| clean_comment(&f.comments.doc()));
                for (segment, name) in segments.iter().zip(&names) {
                    let Some(name) = name else { continue };
                    let multi = matches!(segment, Segment::Multi);
                    parameters.push(Parameter {
                        name: name.clone(),
                        location: "path",
                        description: Some(match (multi, segments.len()) {
                            (true, 1) => format!(
                                "{}May hold several segments separated by `/`.",
                                doc.as_ref().map_or(String::new(), |d| format!("{d}\n\n"))
                            ),
                            (true, _) => format!("Part of `{dotted}`, which is `{whole}`; may hold several segments separated by `/`."),
                            _ => format!("Part of `{dotted}`, which is `{whole}`."),
                        }),
                        required: true,
                        deprecated: field.as_ref().is_some_and(|f| f.deprecated),
                        style: None,
                        explode: None,
                        schema: if multi {
                            Schema {
                                min_length: Some(1),
                                ..Schema::of_type("string")
                            }
                        } else {
                            segment_schema()
                        },
                    });
                }
                parts.extend(shown);
            }
            i = variable.end;
        }
        // Unique names within the path.
        let mut used = BTreeSet::new();
        for parameter in &mut parameters {
            let base = parameter.name.clone();
            let mut n = 1;
            while !used.insert(parameter.name.clone()) {
                n += 1;
                parameter.name = format!("{base}_{n}");
            }
        }
        let mut path = format!("/{}", parts.join("/"));
        if let Some(verb) = &template.verb {
            path.push(':');
            path.push_str(verb);
        }
        // Rename to the names an earlier path of the same shape used.
        let names: Vec<String> = parameters.iter().map(|p| p.name.clone()).collect();
        let shape = names.iter().fold(path.clone(), |shape, name| {
            shape.replacen(&format!("{{{name}}}"), "{}", 1)
        });
        match self.shapes.get(&shape) {
            Some(first) if *first != names => {
                path = shape.clone();
                for (parameter, name) in parameters.iter_mut().zip(first) {
                    path = path.replacen("{}", &format!("{{{name}}}"), 1);
                    parameter.name = name.clone();
                }
            }
            Some(_) => {}
            None => {
                self.shapes.insert(shape, names);
            }
        }
        (path, parameters)
    }

    /// Parameter names for the segments of a multi-segment variable (`None` for literals):
    /// from a `google.api.resource` pattern of the same shape, else from the literal before
    /// each wildcard.
    pub(super) fn segment_names(
        &self,
        segments: &[Segment],
        field_path: &[String],
        before: &[Segment],
    ) -> Vec<Option<String>> {
        let pattern = self.patterns.iter().find(|pattern| {
            pattern.len() == segments.len()
                && pattern.iter().zip(segments).all(|(p, s)| match s {
                    Segment::Literal(text) => p == text,
                    Segment::Single => p.starts_with('{') && p.ends_with('}') && !p.contains('='),
                    Segment::Multi => false,
                })
        });
        let field = field_path.last().map(String::as_str).unwrap_or("segment");
        segments
            .iter()
            .enumerate()
            .map(|(k, segment)| match segment {
                Segment::Literal(_) => None,
                Segment::Single => Some(match pattern {
                    Some(p) => p[k].trim_matches(['{', '}']).to_owned(),
                    None => match k.checked_sub(1).map(|j| &segments[j]).or(before.last()) {
                        Some(Segment::Literal(text)) => singular(text),
                        _ => format!("{field}_{}", k + 1),
                    },
                }),
                Segment::Multi => Some(field.to_owned()),
            })
            .collect()
    }
}

/// A path segment: any non-empty text without `/`.
pub(super) fn segment_schema() -> Schema {
    Schema::of_type("string").with_pattern("^[^/]+$")
}

/// The runtime never binds an empty segment, so a string path parameter has at least one
/// character.
pub(super) fn non_empty(schema: Schema) -> Schema {
    if schema.reference.is_none() && schema == Schema::of_type("string") {
        Schema {
            min_length: Some(1),
            ..schema
        }
    } else {
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plural_literals_name_their_segments() {
        for (plural, name) in [
            ("shelves", "shelf"),
            ("books", "book"),
            ("categories", "category"),
            ("addresses", "address"),
            ("boxes", "box"),
            ("people", "people_id"),
            ("status", "status_id"),
            ("userProfiles", "user_profile"),
        ] {
            assert_eq!(singular(plural), name, "{plural}");
        }
    }
}
