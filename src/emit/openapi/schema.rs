//! JSON Schemas of messages and enums in their proto3 JSON form (docs/reference.md section 3):
//! 64-bit integers as decimal strings, enums by name, well-known types in their JSON forms.
//! Messages and enums become `components.schemas` named by full proto name; a component is
//! written only when something in the document refers to it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde_json::Value;

use super::clean_comment;
use super::spec::{Ordered, Schema};
use crate::model::{
    Cardinality, Field, FieldBehavior, FieldType, JsonForm, Message, Model, Scalar, WellKnown,
};
use crate::params::Params;

/// The shared error body, written by hand: the request need not import google/rpc/status.proto.
pub const STATUS: &str = WellKnown::Status.full_name();
const ANY: &str = WellKnown::Any.full_name();
const EMPTY: &str = WellKnown::Empty.full_name();

/// Builds schemas and remembers which components they refer to.
pub struct Schemas<'a> {
    model: &'a Model,
    params: &'a Params,
    referenced: BTreeSet<String>,
}

impl<'a> Schemas<'a> {
    pub fn new(model: &'a Model, params: &'a Params) -> Self {
        Schemas {
            model,
            params,
            referenced: BTreeSet::new(),
        }
    }

    /// The JSON key of a field, as the runtime writes it.
    pub fn key(&self, field: &Field) -> String {
        field.json_key(self.params.json_proto_names).to_owned()
    }

    /// A reference to a component, remembered so the component is written.
    fn reference(&mut self, name: &str) -> Schema {
        self.referenced.insert(name.to_owned());
        Schema::reference(name)
    }

    /// The schema of one value of message type `name`: the JSON form of a well-known type, or a
    /// reference to the message's component.
    pub fn message(&mut self, name: &str) -> Schema {
        well_known(name).unwrap_or_else(|| self.reference(name))
    }

    /// A reference to the shared `google.rpc.Status` component.
    pub fn status(&mut self) -> Schema {
        self.reference(STATUS)
    }

    /// The schema of one value (not a list or map) of a field's type.
    pub fn value(&mut self, ty: &FieldType) -> Schema {
        match ty {
            FieldType::Scalar(s) => scalar(*s),
            FieldType::Enum(_) if ty.well_known() == Some(WellKnown::NullValue) => {
                Schema::of_type("null")
            }
            FieldType::Enum(e) => self.reference(e),
            FieldType::Message(m) => self.message(m),
        }
    }

    /// The schema of a field as it appears in a message: lists, maps, `null` for unset
    /// messages, and the field's comment and behaviours.
    pub fn field(&mut self, field: &Field) -> Schema {
        let value = self.value(&field.ty);
        let schema = self.shape(field, value);
        self.annotate(field, schema)
    }

    /// Wraps one value's schema in the field's cardinality.
    fn shape(&mut self, field: &Field, value: Schema) -> Schema {
        match &field.cardinality {
            Cardinality::Repeated => Schema::array(value),
            Cardinality::Map { key } => Schema {
                property_names: map_key(*key).map(Box::new),
                additional_properties: Some(Box::new(value)),
                ..Schema::of_type("object")
            },
            // Unset message fields are written as `null` unless defaults are omitted; members
            // of a oneof are only written when set.
            Cardinality::Singular
                if matches!(field.ty, FieldType::Message(_))
                    && field.oneof.is_none()
                    && !self.params.json_omit_defaults
                    && value != Schema::default() =>
            {
                value.nullable()
            }
            _ => value,
        }
    }

    /// Adds a field's description, deprecation and `readOnly`/`writeOnly` to its schema.
    pub fn annotate(&self, field: &Field, mut schema: Schema) -> Schema {
        schema.description = clean_comment(&field.comments.doc());
        schema.deprecated |= field.deprecated;
        schema.read_only |= field.behaviors.contains(&FieldBehavior::OutputOnly);
        schema.write_only |= field.behaviors.contains(&FieldBehavior::InputOnly);
        schema
    }

    /// The schema of a message value with the fields at `removed` (proto field paths relative to
    /// it, such as `["name"]` or `["book", "name"]`) left out: a request body whose fields are
    /// bound by the path. Without anything to remove it is the plain reference.
    pub fn message_without(&mut self, name: &str, removed: &[Vec<String>]) -> Schema {
        if removed.is_empty() {
            return self.message(name);
        }
        match self.model.messages.get(name) {
            Some(message) if well_known(name).is_none() => self.object(message, removed),
            _ => self.message(name),
        }
    }

    /// The object schema of a message: its component body, or an inline variant without the
    /// fields at `removed` and the other members of a oneof one of them sets.
    fn object(&mut self, message: &Message, removed: &[Vec<String>]) -> Schema {
        let mut properties = Ordered::default();
        let mut required = Vec::new();
        let mut kept = Vec::new();
        for field in &message.fields {
            let below: Vec<Vec<String>> = removed
                .iter()
                .filter(|p| p.len() > 1 && p[0] == field.name)
                .map(|p| p[1..].to_vec())
                .collect();
            if removed.iter().any(|p| p.len() == 1 && p[0] == field.name)
                || message.oneof_taken(removed, field)
            {
                continue;
            }
            let schema = match (&field.ty, below.is_empty()) {
                (FieldType::Message(nested), false) => {
                    let value = self.message_without(nested, &below);
                    let shaped = self.shape(field, value);
                    self.annotate(field, shaped)
                }
                _ => self.field(field),
            };
            let key = self.key(field);
            let mut schema = schema;
            if field.behaviors.contains(&FieldBehavior::Required) {
                required.push(key.clone());
                // In proto3 an empty string is the same as no value, so a required one has at
                // least one character.
                if field.cardinality == Cardinality::Singular
                    && field.ty == FieldType::Scalar(Scalar::String)
                {
                    schema.min_length = Some(1);
                }
            }
            properties.insert(key, schema);
            kept.push(field);
        }
        let mut schema = Schema {
            description: clean_comment(&message.comments.doc()),
            properties,
            required,
            deprecated: message.deprecated,
            // The runtime answers an unknown member with 400 under `json_reject_unknown`.
            closed: self.params.json_reject_unknown,
            ..Schema::of_type("object")
        };
        // At most one member of each oneof is written (or accepted).
        let mut constraints: Vec<Schema> = message
            .oneofs
            .iter()
            .filter_map(|oneof| {
                let members: Vec<Vec<String>> = kept
                    .iter()
                    .filter(|f| f.oneof.as_deref() == Some(oneof))
                    .map(|f| vec![self.key(f)])
                    .collect();
                at_most_one(&members)
            })
            .collect();
        match constraints.len() {
            0 => {}
            1 => schema.one_of = constraints.pop().expect("one").one_of,
            _ => schema.all_of = constraints,
        }
        schema
    }

    /// Every referenced component, with the components they refer to in turn, by name.
    pub fn components(mut self) -> BTreeMap<String, Schema> {
        let mut out = BTreeMap::new();
        let mut pending: Vec<String> = std::mem::take(&mut self.referenced).into_iter().collect();
        while let Some(name) = pending.pop() {
            if out.contains_key(&name) {
                continue;
            }
            let schema = self.component(&name);
            out.insert(name, schema);
            pending.extend(
                std::mem::take(&mut self.referenced)
                    .into_iter()
                    .filter(|n| !out.contains_key(n)),
            );
        }
        // Any lists the types it may hold, so it is written once every other component is known.
        if out.contains_key(ANY) {
            let any = self.any(&out);
            out.insert(ANY.to_owned(), any);
        }
        out
    }

    /// `google.protobuf.Any` as the runtime reads it: `{}`, or `@type` naming a type the runtime
    /// knows with that type's JSON beside it (in `value` for a type with a non-object JSON form).
    /// Listed are the well-known types (always known) and this document's messages, which
    /// generated code registers at link time; any other type is left out, so everything the
    /// schema allows is accepted.
    fn any(&self, components: &BTreeMap<String, Schema>) -> Schema {
        let type_url = |name: &str| Schema {
            enumeration: vec![Value::from(format!("type.googleapis.com/{name}"))],
            ..Schema::of_type("string")
        };
        let mut branches = vec![Schema {
            max_properties: Some(0),
            ..Schema::default()
        }];
        // The well-known types whose JSON form is not an object: in an Any, their JSON is `value`.
        for name in WellKnown::ALL
            .into_iter()
            .filter(|w| w.is_value_form())
            .map(WellKnown::full_name)
        {
            branches.push(Schema {
                properties: Ordered(vec![
                    ("@type".to_owned(), type_url(name)),
                    (
                        "value".to_owned(),
                        well_known(name).expect("a well-known type"),
                    ),
                ]),
                required: vec!["@type".to_owned(), "value".to_owned()],
                closed: true,
                ..Schema::default()
            });
        }
        branches.push(Schema {
            properties: Ordered(vec![("@type".to_owned(), type_url(EMPTY))]),
            required: vec!["@type".to_owned()],
            closed: true,
            ..Schema::default()
        });
        // With `json_reject_unknown` a message's schema is closed, and `@type` beside its
        // fields would not fit it: those messages are left out.
        if self.params.enable_type_names && !self.params.json_reject_unknown {
            for name in components.keys() {
                let registered = self.model.messages.get(name).is_some_and(|m| {
                    !m.map_entry && self.model.packages.iter().any(|p| p.name == m.package)
                });
                if registered {
                    branches.push(Schema {
                        properties: Ordered(vec![("@type".to_owned(), type_url(name))]),
                        required: vec!["@type".to_owned()],
                        all_of: vec![Schema::reference(name)],
                        ..Schema::default()
                    });
                }
            }
        }
        Schema {
            description: Some(
                "A message of any type: `@type` names it, as `type.googleapis.com/<full name>`, \
                 and the other members are its JSON form (or `value` for types with a \
                 non-object JSON form); `{}` is the empty Any. Listed are the well-known types \
                 and this document's messages (registered by `register_json_types()`)."
                    .to_owned(),
            ),
            properties: Ordered(vec![("@type".to_owned(), Schema::of_type("string"))]),
            any_of: branches,
            ..Schema::of_type("object")
        }
    }

    fn component(&mut self, name: &str) -> Schema {
        match name {
            STATUS => self.status_schema(),
            // Written by `any` once the other components are known.
            ANY => Schema::default(),
            EMPTY => Schema {
                description: Some("Carries nothing: always `{}`.".to_owned()),
                closed: true,
                ..Schema::of_type("object")
            },
            _ => {
                if let Some(message) = self.model.messages.get(name) {
                    self.object(message, &[])
                } else if let Some(e) = self.model.enums.get(name) {
                    self.enumeration(e)
                } else {
                    // Referenced names all come from the model; keep the document valid anyway.
                    Schema::of_type("object")
                }
            }
        }
    }

    fn status_schema(&mut self) -> Schema {
        // Details are written by the server, of any type it knows (google.rpc details and
        // others): described loosely here, so the precise Any component is only in documents
        // whose own messages hold an Any.
        let any = Schema {
            description: Some(
                "A message of any type: `@type` names it, as `type.googleapis.com/<full name>`, \
                 and the other members are its JSON form."
                    .to_owned(),
            ),
            properties: Ordered(vec![("@type".to_owned(), Schema::of_type("string"))]),
            required: vec!["@type".to_owned()],
            ..Schema::of_type("object")
        };
        Schema {
            description: Some(
                "An error: the gRPC status code, a message for developers, and typed details."
                    .to_owned(),
            ),
            properties: Ordered(vec![
                (
                    "code".to_owned(),
                    Schema {
                        description: Some(
                            "The gRPC status code, such as 5 for NOT_FOUND.".to_owned(),
                        ),
                        ..scalar(Scalar::Int32)
                    },
                ),
                (
                    "message".to_owned(),
                    Schema {
                        description: Some("What went wrong, in English.".to_owned()),
                        ..Schema::of_type("string")
                    },
                ),
                (
                    "details".to_owned(),
                    Schema {
                        description: Some(
                            "Machine-readable details, such as `google.rpc.BadRequest`.".to_owned(),
                        ),
                        ..Schema::array(any)
                    },
                ),
            ]),
            ..Schema::of_type("object")
        }
    }

    fn enumeration(&self, e: &crate::model::Enum) -> Schema {
        let mut lines = Vec::new();
        if let Some(doc) = clean_comment(&e.comments.doc()) {
            lines.push(doc);
            lines.push(String::new());
        }
        for value in &e.values {
            let mut line = format!("- `{}`", value.name);
            if self.params.json_enum_numbers {
                line = format!("- `{}`: `{}`", value.number, value.name);
            }
            if let Some(doc) = clean_comment(&value.comments.doc()) {
                line.push_str(": ");
                line.push_str(&doc.replace('\n', " "));
            }
            if value.deprecated {
                line.push_str(" (deprecated)");
            }
            lines.push(line);
        }
        let (ty, values): (_, Vec<Value>) = if self.params.json_enum_numbers {
            let mut numbers: Vec<i32> = e.values.iter().map(|v| v.number).collect();
            numbers.dedup();
            ("integer", numbers.into_iter().map(Value::from).collect())
        } else {
            (
                "string",
                e.values
                    .iter()
                    .map(|v| Value::from(v.name.clone()))
                    .collect(),
            )
        };
        Schema {
            description: Some(lines.join("\n")),
            enumeration: values,
            ..Schema::of_type(ty)
        }
    }
}

/// `oneOf` that holds when at most one of `members` is present.
pub(super) fn at_most_one(members: &[Vec<String>]) -> Option<Schema> {
    if members.len() < 2 {
        return None;
    }
    // A member is present when any of its properties is (several for a message member whose
    // fields are query parameters: `picked.a`, `picked.b`).
    let each: Vec<Schema> = members
        .iter()
        .map(|properties| match properties.as_slice() {
            [one] => Schema {
                required: vec![one.clone()],
                ..Schema::default()
            },
            _ => Schema {
                any_of: properties
                    .iter()
                    .map(|p| Schema {
                        required: vec![p.clone()],
                        ..Schema::default()
                    })
                    .collect(),
                ..Schema::default()
            },
        })
        .collect();
    let none = Schema {
        absent: Ordered(
            members
                .iter()
                .flatten()
                .map(|m| (m.clone(), false))
                .collect(),
        ),
        ..Schema::default()
    };
    let mut one_of = each;
    one_of.push(none);
    Some(Schema {
        one_of,
        ..Schema::default()
    })
}

/// The JSON Schema of a scalar's proto3 JSON form.
pub fn scalar(s: Scalar) -> Schema {
    match s {
        Scalar::Double => Schema::of_type("number").with_format("double"),
        // The runtime refuses a number that rounds to infinity as a float.
        Scalar::Float => Schema {
            minimum: serde_json::Number::from_f64(-f64::from(f32::MAX)),
            maximum: serde_json::Number::from_f64(f64::from(f32::MAX)),
            ..Schema::of_type("number").with_format("float")
        },
        Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => Schema {
            minimum: Some(i32::MIN.into()),
            maximum: Some(i32::MAX.into()),
            ..Schema::of_type("integer").with_format("int32")
        },
        Scalar::Uint32 | Scalar::Fixed32 => Schema {
            minimum: Some(0.into()),
            maximum: Some(u32::MAX.into()),
            ..Schema::of_type("integer").with_format("uint32")
        },
        // 64-bit integers are decimal strings in proto3 JSON.
        Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => Schema::of_type("string")
            .with_format("int64")
            .with_pattern(&INT64_PATTERN),
        Scalar::Uint64 | Scalar::Fixed64 => Schema::of_type("string")
            .with_format("uint64")
            .with_pattern(&UINT64_PATTERN),
        Scalar::Bool => Schema::of_type("boolean"),
        Scalar::String => Schema::of_type("string"),
        Scalar::Bytes => Schema::of_type("string")
            .with_format("byte")
            .with_pattern(BYTES_PATTERN),
    }
}

// The patterns below say exactly what the runtime's JSON reader accepts for each string form
// (docs/reference.md section 3), so a document never allows a value the router answers with 400.

/// A decimal integer from `-negative` to `positive` (both as digits; no `-` when `negative` is
/// `None`), no `+`: what the runtime reads from a string. Leading zeros are allowed.
fn integer_pattern(negative: Option<&str>, positive: &str) -> String {
    match negative {
        Some(negative) => format!(
            "^(-0*{}|0*{})$",
            at_most(negative, false),
            at_most(positive, false)
        ),
        None => format!("^0*{}$", at_most(positive, false)),
    }
}

/// [`integer_pattern`] in canonical form only (no leading zeros, no `-0`): map keys, where the
/// runtime refuses two keys of one value (`1` and `01`), which a pattern cannot rule out
/// otherwise.
fn map_key_pattern(negative: Option<&str>, positive: &str) -> String {
    match negative {
        Some(negative) => format!(
            "^(0|-{}|{})$",
            at_most(negative, true),
            at_most(positive, true)
        ),
        None => format!("^(0|{})$", at_most(positive, true)),
    }
}

/// An alternation matching the decimal numbers from 0 to `limit` written without leading
/// zeros (from 1 when `positive`): shorter numbers, then for each digit of `limit` the numbers
/// that share its digits before and have a smaller one there, then `limit` itself.
fn at_most(limit: &str, positive: bool) -> String {
    let digits = limit.as_bytes();
    let mut alternatives = Vec::new();
    match (digits.len(), positive) {
        (1, _) => {}
        (2, true) => alternatives.push("[1-9]".to_owned()),
        (n, true) => alternatives.push(format!("[1-9][0-9]{{0,{}}}", n - 2)),
        (n, false) => alternatives.push(format!("[0-9]{{1,{}}}", n - 1)),
    }
    for (i, digit) in digits.iter().map(|d| d - b'0').enumerate() {
        let lowest = u8::from(i == 0);
        if digit <= lowest {
            continue;
        }
        let class = if digit - 1 == lowest {
            lowest.to_string()
        } else {
            format!("[{lowest}-{}]", digit - 1)
        };
        let tail = match digits.len() - i - 1 {
            0 => String::new(),
            1 => "[0-9]".to_owned(),
            n => format!("[0-9]{{{n}}}"),
        };
        alternatives.push(format!("{}{class}{tail}", &limit[..i]));
    }
    alternatives.push(limit.to_owned());
    format!("({})", alternatives.join("|"))
}

static INT32_KEY: LazyLock<String> =
    LazyLock::new(|| map_key_pattern(Some("2147483648"), "2147483647"));
static UINT32_KEY: LazyLock<String> = LazyLock::new(|| map_key_pattern(None, "4294967295"));
static INT64_KEY: LazyLock<String> =
    LazyLock::new(|| map_key_pattern(Some("9223372036854775808"), "9223372036854775807"));
static UINT64_KEY: LazyLock<String> =
    LazyLock::new(|| map_key_pattern(None, "18446744073709551615"));
static INT64_PATTERN: LazyLock<String> =
    LazyLock::new(|| integer_pattern(Some("9223372036854775808"), "9223372036854775807"));
static UINT64_PATTERN: LazyLock<String> =
    LazyLock::new(|| integer_pattern(None, "18446744073709551615"));

/// Base64, standard or URL-safe alphabet (not mixed), padded or not.
pub const BYTES_PATTERN: &str = "^(([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}(==)?|[A-Za-z0-9+/]{3}=?)?|([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2}(==)?|[A-Za-z0-9_-]{3}=?)?)$";

/// RFC 3339 with an upper-case `T`, at most 9 fractional digits, `Z` or an offset in hours and
/// minutes, within 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z: the lookahead
/// rules out the first and last day with an offset that could leave that range (a little
/// stricter than the runtime there). `format: date-time` rules out days a month lacks.
pub const TIMESTAMP_PATTERN: &str = "^(?!0001-01-01T.*\\+|9999-12-31T.*-)(?!0000)[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$";

/// Seconds up to 315,576,000,000 (10,000 years), up to 9 fractional digits, and `s`.
pub const DURATION_PATTERN: &str = "^-?0*([0-9]{1,11}|[12][0-9]{11}|30[0-9]{10}|31[0-4][0-9]{9}|315[0-4][0-9]{8}|3155[0-6][0-9]{7}|31557[0-5][0-9]{6}|315576000000)(\\.[0-9]{1,9})?s$";

/// Comma-separated field paths of lowerCamelCase names joined by `.`; empty is no paths.
pub const FIELD_MASK_PATTERN: &str =
    "^([A-Za-z][A-Za-z0-9]*(\\.[A-Za-z][A-Za-z0-9]*)*(,[A-Za-z][A-Za-z0-9]*(\\.[A-Za-z][A-Za-z0-9]*)*)*)?$";

/// Map keys are JSON object member names; numbers and bools in their text form.
fn map_key(key: Scalar) -> Option<Schema> {
    match key {
        Scalar::String => None,
        Scalar::Bool => Some(Schema {
            enumeration: vec![Value::from("true"), Value::from("false")],
            ..Schema::default()
        }),
        Scalar::Uint32 | Scalar::Fixed32 => Some(Schema::default().with_pattern(&UINT32_KEY)),
        Scalar::Uint64 | Scalar::Fixed64 => Some(Schema::default().with_pattern(&UINT64_KEY)),
        Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => {
            Some(Schema::default().with_pattern(&INT64_KEY))
        }
        _ => Some(Schema::default().with_pattern(&INT32_KEY)),
    }
}

/// The JSON form of a well-known type that is not an ordinary object, written inline.
pub fn well_known(name: &str) -> Option<Schema> {
    Some(match WellKnown::of(name)?.json_form() {
        JsonForm::Timestamp => Schema {
            description: Some(
                "RFC 3339, such as `2024-02-29T12:34:56.789Z`, from year 1 to 9999.".to_owned(),
            ),
            ..Schema::of_type("string")
                .with_format("date-time")
                .with_pattern(TIMESTAMP_PATTERN)
        },
        JsonForm::Duration => Schema {
            description: Some(
                "Seconds with up to 9 fractional digits and an `s`, such as `1.5s`.".to_owned(),
            ),
            ..Schema::of_type("string").with_pattern(DURATION_PATTERN)
        },
        JsonForm::FieldMask => Schema {
            description: Some("Field paths in lowerCamelCase, separated by commas.".to_owned()),
            ..Schema::of_type("string").with_pattern(FIELD_MASK_PATTERN)
        },
        JsonForm::Struct => Schema::of_type("object"),
        JsonForm::Value => Schema::default(),
        JsonForm::ListValue => Schema::array(Schema::default()),
        JsonForm::Wrapper(s) => scalar(s),
        JsonForm::Object | JsonForm::Any | JsonForm::Empty | JsonForm::Null => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each pattern against values the runtime's JSON reader accepts (`true`) and rejects
    /// (runtime/src/wkt.rs and runtime/src/json.rs), so the documents allow exactly those.
    #[test]
    fn well_known_patterns_match_what_the_runtime_accepts() {
        let table: &[(&str, &[(&str, bool)])] = &[
            (
                TIMESTAMP_PATTERN,
                &[
                    ("2024-02-29T12:34:56.789Z", true),
                    ("1972-01-01T10:00:20.021+05:30", true),
                    ("0001-01-01T00:00:00Z", true),
                    ("9999-12-31T23:59:59.999999999Z", true),
                    ("2024-02-29T12:34:56z", true),
                    ("", false),
                    ("2024-02-29", false),
                    ("2024-02-29t12:34:56Z", false),
                    ("2024-02-29T12:34:56", false),
                    ("2024-13-01T00:00:00Z", false),
                    ("2024-01-01T24:00:00Z", false),
                    ("2024-01-01T23:59:60Z", false),
                    ("2024-01-01T00:00:00.1234567890Z", false),
                    ("2024-01-01T00:00:00+24:00", false),
                    ("0000-01-01T00:00:00Z", false),
                    ("0001-01-01T00:00:00+01:00", false),
                    ("9999-12-31T23:00:00-01:00", false),
                ],
            ),
            (
                DURATION_PATTERN,
                &[
                    ("1.5s", true),
                    ("-0.000000001s", true),
                    ("315576000000s", true),
                    ("-315576000000.999999999s", true),
                    ("99999999999s", true),
                    ("", false),
                    ("1.5", false),
                    ("s", false),
                    (".5s", false),
                    ("1.s", false),
                    ("315576000001s", false),
                    ("400000000000s", false),
                    ("1.0000000001s", false),
                ],
            ),
            (
                FIELD_MASK_PATTERN,
                &[
                    ("", true),
                    ("title", true),
                    ("user.displayName,title", true),
                    ("a1.b2", true),
                    (",", false),
                    ("title,", false),
                    ("user_name", false),
                    ("1title", false),
                    ("user..name", false),
                    ("a b", false),
                ],
            ),
            (
                BYTES_PATTERN,
                &[
                    ("", true),
                    ("AQID", true),
                    ("AQ==", true),
                    ("AQ", true),
                    ("AQI=", true),
                    ("AQI", true),
                    ("-_-_", true),
                    ("+/+/", true),
                    ("A", false),
                    ("AQ=", false),
                    ("AQID=", false),
                    ("+_", false),
                    ("AQ==AQ==", false),
                    ("A Q", false),
                ],
            ),
        ];
        let int32 = INT32_KEY.as_str();
        let uint64 = UINT64_PATTERN.as_str();
        let int64 = INT64_PATTERN.as_str();
        let integers: &[(&str, &[(&str, bool)])] = &[
            (
                int32,
                &[
                    ("0", true),
                    ("7", true),
                    ("-7", true),
                    ("10", true),
                    ("-0", false),
                    ("007", false),
                    ("2147483647", true),
                    ("-2147483648", true),
                    ("1999999999", true),
                    ("2147483648", false),
                    ("-2147483649", false),
                    ("2200000000", false),
                    ("3000000000", false),
                    ("+1", false),
                    ("", false),
                    ("1.5", false),
                ],
            ),
            (
                int64,
                &[
                    ("9223372036854775807", true),
                    ("-9223372036854775808", true),
                    ("-0", true),
                    ("007", true),
                    ("9223372036854775799", true),
                    ("9223372036854775808", false),
                    ("9300000000000000000", false),
                    ("10000000000000000000", false),
                ],
            ),
            (
                uint64,
                &[
                    ("18446744073709551615", true),
                    ("0000018446744073709551615", true),
                    ("18446744073709551616", false),
                    ("-1", false),
                ],
            ),
        ];
        for (pattern, cases) in table.iter().chain(integers) {
            let regex = fancy_regex::Regex::new(pattern).unwrap();
            for (value, accepted) in *cases {
                assert_eq!(
                    regex.is_match(value).unwrap(),
                    *accepted,
                    "{value:?} against {pattern}"
                );
            }
        }
    }
}
