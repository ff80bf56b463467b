//! `FieldMask`.

use serde::de::Deserializer;
use serde::ser::{self, Serializer};
use serde::{Deserialize, Serialize};

use super::StrVisitor;

/// A set of field paths, such as the fields an update request changes.
///
/// JSON: the paths in lowerCamelCase joined by commas, e.g. `"user.displayName,title"`; the
/// paths themselves are snake_case field names (`user.display_name`).
#[derive(Clone, PartialEq, Eq, Hash, ::prost::Message)]
pub struct FieldMask {
    /// The field paths, each a `.`-separated list of proto field names.
    #[prost(string, repeated, tag = "1")]
    pub paths: Vec<String>,
}

impl From<prost_types::FieldMask> for FieldMask {
    fn from(m: prost_types::FieldMask) -> Self {
        FieldMask { paths: m.paths }
    }
}

impl From<FieldMask> for prost_types::FieldMask {
    fn from(m: FieldMask) -> Self {
        prost_types::FieldMask { paths: m.paths }
    }
}

/// Whether `path` is `.`-separated identifiers (letters, digits, `_`; not starting with a
/// digit).
fn is_field_path(path: &str) -> bool {
    path.split('.').all(|name| {
        let mut chars = name.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// A FieldMask path in its JSON form: `author.display_name` -> `author.displayName`.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) fn field_path_json(path: &str) -> String {
    to_lower_camel(path)
}

/// `display_name` -> `displayName`: drops `_` and capitalizes a lowercase letter after it.
fn to_lower_camel(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut after_underscore = false;
    for c in path.chars() {
        if c == '_' {
            after_underscore = true;
            continue;
        }
        out.push(if after_underscore {
            c.to_ascii_uppercase()
        } else {
            c
        });
        after_underscore = false;
    }
    out
}

/// `displayName` -> `display_name`.
fn to_snake(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn format_field_mask(mask: &FieldMask) -> Result<String, String> {
    let mut out = String::new();
    for (i, path) in mask.paths.iter().enumerate() {
        let camel = to_lower_camel(path);
        // The JSON form only works for paths that come back unchanged: no uppercase, and every
        // `_` followed by a lowercase letter.
        if !is_field_path(path) || to_snake(&camel) != *path {
            return Err(format!(
                "path `{path}` has no JSON form (expected snake_case field names separated by \
                 `.`, each `_` followed by a lowercase letter)"
            ));
        }
        if i > 0 {
            out.push(',');
        }
        out.push_str(&camel);
    }
    Ok(out)
}

fn parse_field_mask(text: &str) -> Result<FieldMask, String> {
    if text.is_empty() {
        return Ok(FieldMask::default());
    }
    let paths = text
        .split(',')
        .map(|path| {
            if path.contains('_') || !is_field_path(path) {
                Err(format!(
                    "invalid field mask `{text}`: `{path}` is not a lowerCamelCase field path"
                ))
            } else {
                Ok(to_snake(path))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(FieldMask { paths })
}

impl Serialize for FieldMask {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = format_field_mask(self).map_err(|e| {
            ser::Error::custom(format_args!(
                "cannot write google.protobuf.FieldMask as JSON: {e}"
            ))
        })?;
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for FieldMask {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor {
            expecting: "a field mask string like \"user.displayName,title\"",
            parse: parse_field_mask,
        })
    }
}
