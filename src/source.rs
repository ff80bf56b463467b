//! Source positions and comments, from `SourceCodeInfo`.
//!
//! Locations are sorted by path once per file and then binary-searched, as protoc does not
//! promise any order.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use prost_reflect::DescriptorPool;
use prost_types::source_code_info::Location as RawLocation;

/// A place in a .proto file. `line` and `col` are 1-based; 0 means unknown.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.col)
        }
    }
}

/// The comments attached to an element.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Comments {
    pub leading_detached: Vec<String>,
    pub leading: String,
    pub trailing: String,
}

impl Comments {
    /// Leading comment, else trailing, trimmed of the one leading space protoc keeps per line.
    pub fn doc(&self) -> String {
        let text = if self.leading.trim().is_empty() {
            &self.trailing
        } else {
            &self.leading
        };
        text.lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end())
            .collect::<Vec<_>>()
            .join("\n")
            .trim_matches('\n')
            .to_owned()
    }
}

/// `text` without its internal remarks: everything from `(--` to the next `--)` (an unclosed
/// `(--` runs to the end), as AIP-192 defines them. The remarks are for the API's maintainers,
/// so no generated output (rustdoc or OpenAPI) shows them (docs/reference.md section 1).
pub fn without_internal_remarks(text: &str) -> Cow<'_, str> {
    if !text.contains("(--") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("(--") {
        out.push_str(&rest[..start]);
        rest = match rest[start..].find("--)") {
            Some(end) => &rest[start + end + 3..],
            None => "",
        };
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The comments of `location` without internal remarks (in place, allocating only where a
/// remark is).
pub fn strip_internal_remarks(location: &mut RawLocation) {
    let strip = |text: &mut String| {
        if let Cow::Owned(clean) = without_internal_remarks(text) {
            *text = clean;
        }
    };
    location.leading_comments.iter_mut().for_each(strip);
    location.trailing_comments.iter_mut().for_each(strip);
    location
        .leading_detached_comments
        .iter_mut()
        .for_each(strip);
}

/// Source locations of every file in a pool, sorted by path. Borrows the pool's own
/// descriptors: a large request is mostly source info, and copying it costs more than the
/// lookups.
#[derive(Debug, Default)]
pub struct SourceIndex<'a> {
    files: HashMap<&'a str, Vec<&'a RawLocation>>,
}

impl<'a> SourceIndex<'a> {
    pub fn new(pool: &'a DescriptorPool) -> Self {
        let files = pool
            .file_descriptor_protos()
            .map(|file| {
                let mut locations: Vec<&RawLocation> = file
                    .source_code_info
                    .iter()
                    .flat_map(|info| &info.location)
                    .collect();
                // Stable: for a repeated option protoc emits one location per occurrence and
                // the first is the one we want.
                locations.sort_by(|a, b| a.path.cmp(&b.path));
                (file.name(), locations)
            })
            .collect();
        SourceIndex { files }
    }

    fn exact(&self, file: &str, path: &[i32]) -> Option<&'a RawLocation> {
        let locations = self.files.get(file)?;
        let i = locations.partition_point(|l| l.path.as_slice() < path);
        locations.get(i).copied().filter(|l| l.path == path)
    }

    /// The location of `path`, or of its closest ancestor that has one.
    pub fn location(&self, file: &str, path: &[i32]) -> Location {
        (0..=path.len())
            .rev()
            .find_map(|len| self.exact(file, &path[..len]))
            .filter(|l| l.span.len() >= 2)
            .map(|l| Location {
                file: file.to_owned(),
                line: l.span[0] as u32 + 1,
                col: l.span[1] as u32 + 1,
            })
            .unwrap_or_else(|| Location {
                file: file.to_owned(),
                line: 0,
                col: 0,
            })
    }

    /// The comments of the element at exactly `path`.
    pub fn comments(&self, file: &str, path: &[i32]) -> Comments {
        self.exact(file, path)
            .map(|l| {
                let text = |t: &str| without_internal_remarks(t).into_owned();
                Comments {
                    leading_detached: l
                        .leading_detached_comments
                        .iter()
                        .map(|t| text(t))
                        .collect(),
                    leading: text(l.leading_comments()),
                    trailing: text(l.trailing_comments()),
                }
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_prefers_leading_and_strips_one_space() {
        let c = Comments {
            leading: " First line.\n   indented\n".into(),
            trailing: " trailing\n".into(),
            ..Default::default()
        };
        assert_eq!(c.doc(), "First line.\n  indented");
        let c = Comments {
            trailing: " only trailing\n".into(),
            ..Default::default()
        };
        assert_eq!(c.doc(), "only trailing");
    }

    #[test]
    fn internal_remarks_are_cut_out() {
        for (text, want) in [
            ("no remark", "no remark"),
            (
                "Lists.\n(-- api-linter: x\n   more --)\nAfter.",
                "Lists.\n\nAfter.",
            ),
            ("a (-- one --) b (-- two --) c", "a  b  c"),
            ("kept (-- unclosed\nrest", "kept "),
            ("dashes -- alone --) stay", "dashes -- alone --) stay"),
        ] {
            assert_eq!(without_internal_remarks(text), want, "{text:?}");
        }
        let mut location = RawLocation {
            leading_comments: Some(" Doc.\n (-- internal --)\n".into()),
            trailing_comments: Some(" plain\n".into()),
            leading_detached_comments: vec![" (-- gone --)".into()],
            ..Default::default()
        };
        strip_internal_remarks(&mut location);
        assert_eq!(location.leading_comments(), " Doc.\n \n");
        assert_eq!(location.trailing_comments(), " plain\n");
        assert_eq!(location.leading_detached_comments, [" "]);
    }

    #[test]
    fn location_display_omits_unknown_position() {
        let l = Location {
            file: "a.proto".into(),
            line: 0,
            col: 0,
        };
        assert_eq!(l.to_string(), "a.proto");
        let l = Location {
            file: "a.proto".into(),
            line: 3,
            col: 5,
        };
        assert_eq!(l.to_string(), "a.proto:3:5");
    }
}
