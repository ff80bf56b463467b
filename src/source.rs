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

/// Comment text as rustdoc gets it: without internal remarks, and with every line that
/// continues a list item's paragraph indented exactly to the item's text.
///
/// Proto comments are not written for a Markdown linter: googleapis continues list items at
/// whatever indentation the author's editor left (`- a long item\n  continued` under a
/// three-column marker, or deeper than the item's text), which clippy's
/// `doc_lazy_continuation` and `doc_overindented_list_items` reject. Realigning a paragraph's
/// continuation lines does not change how Markdown renders it (their leading spaces are
/// dropped), so generated code stays clippy-clean without allowing the lints. Lines after a
/// blank line, inside fences, and lines that would interrupt the paragraph (headings, quotes,
/// fences, rules, tables) are left alone (docs/reference.md section 1).
pub fn rustdoc_text(text: &str) -> Cow<'_, str> {
    match without_internal_remarks(text) {
        Cow::Borrowed(text) => align_list_continuations(text),
        Cow::Owned(text) => Cow::Owned(align_list_continuations(&text).into_owned()),
    }
}

/// The column where a list item's text starts, if `line` (after `indent` spaces) opens one:
/// `-`, `*`, `+` or up to nine digits with `.` or `)`, then 1 to 4 spaces (more count as one,
/// the rest being an indented code block) and some text.
fn list_item_content(line: &str, indent: usize) -> Option<usize> {
    let rest = &line[indent..];
    let marker = if rest.starts_with(['-', '*', '+']) {
        1
    } else {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 || !rest[digits..].starts_with(['.', ')']) {
            return None;
        }
        digits + 1
    };
    let after = &rest[marker..];
    let spaces = after.bytes().take_while(|&b| b == b' ').count();
    if spaces == 0 || spaces == after.len() {
        return None;
    }
    Some(indent + marker + if spaces > 4 { 1 } else { spaces })
}

/// Whether `rest` (a line without its indentation) starts a block that ends a paragraph, or is
/// a setext underline or table row that realigning would turn into something else.
fn interrupts_paragraph(rest: &str) -> bool {
    let rule = |c: char| rest.chars().all(|x| x == c || x == ' ');
    // `<` and `|` are left out: an autolink (`<https://...>`) or a lone `|    |` continues the
    // paragraph, and the HTML blocks that could interrupt it do not occur in proto comments.
    rest.starts_with(['#', '>'])
        || rest.starts_with("```")
        || rest.starts_with("~~~")
        || rule('-')
        || rule('=')
        || rule('*')
        || rule('_')
}

/// `text` with every line that continues a list item's paragraph indented to the item's text
/// (see [`rustdoc_text`]).
pub fn align_list_continuations(text: &str) -> Cow<'_, str> {
    // The text column of the list item the previous lines belong to; whether the previous
    // line is a paragraph line of it (the next one continues that paragraph), or of an
    // indented code block in it (left alone), or blank.
    let mut item: Option<usize> = None;
    let (mut paragraph, mut code, mut fenced) = (false, false, false);
    let mut out: Option<String> = None;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let body = line.trim_end_matches(['\n', '\r']);
        let indent = body.bytes().take_while(|&b| b == b' ').count();
        let rest = &body[indent..];
        let mut replacement = None;
        if rest.starts_with("```") || rest.starts_with("~~~") {
            fenced = !fenced;
            (item, paragraph, code) = (None, false, false);
        } else if fenced {
        } else if rest.is_empty() {
            // A blank line ends the paragraph, not the item.
            (paragraph, code) = (false, false);
        } else if rest.starts_with('\t') {
            (item, paragraph, code) = (None, false, false);
        } else if let (Some(content), Some(parent)) = (
            list_item_content(body, indent),
            item.filter(|c| paragraph && indent >= c + 4),
        ) {
            // Four or more columns deeper than its item's text, a marker would continue the
            // paragraph; it is meant as a sub-item (spanner's `* \`database:prod\`` then
            // `       - The database's ...`), so it becomes one, at the item's text.
            replacement = Some(format!("{}{}", " ".repeat(parent), &line[indent..]));
            item = Some(parent + content - indent);
        } else if let Some(content) = list_item_content(body, indent) {
            (item, paragraph, code) = (Some(content), true, false);
        } else if interrupts_paragraph(rest) {
            (item, paragraph, code) = (None, false, false);
        } else if let Some(content) = item {
            if code {
            } else if !paragraph && indent < content {
                // After a blank line, less indentation than the item's text ends the list.
                item = None;
            } else if !paragraph && indent >= content + 4 {
                code = true;
            } else {
                paragraph = true;
                if indent != content {
                    replacement = Some(format!("{}{}", " ".repeat(content), &line[indent..]));
                }
            }
        }
        match (replacement, &mut out) {
            (Some(new), Some(out)) => out.push_str(&new),
            (Some(new), None) => {
                let done: usize = text.split_inclusive('\n').take(n).map(str::len).sum();
                let mut s = String::with_capacity(text.len() + 16);
                s.push_str(&text[..done]);
                s.push_str(&new);
                out = Some(s);
            }
            (None, Some(out)) => out.push_str(line),
            (None, None) => {}
        }
    }
    out.map_or(Cow::Borrowed(text), Cow::Owned)
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
                let text = |t: &str| rustdoc_text(t).into_owned();
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

    /// googleapis' list items continued at any indentation (storage v2, google/api/http.proto,
    /// routing.proto) come out aligned to the item's text; what is not a lazy or overindented
    /// continuation of a list item is left alone.
    #[test]
    fn list_continuations_are_aligned_to_the_item_text() {
        for (text, want) in [
            // Under-indented (doc_lazy_continuation), nested and numbered.
            (
                " Requires:\n\n   - `a` (only if\n   overwriting)\n   - `b`\n",
                " Requires:\n\n   - `a` (only if\n     overwriting)\n   - `b`\n",
            ),
            (" - item\ncontinued\n", " - item\n   continued\n"),
            (
                " 1. Leaf fields\n     message) are\n     - nested\n    more\n",
                " 1. Leaf fields\n    message) are\n     - nested\n       more\n",
            ),
            // Overindented (doc_overindented_list_items).
            (
                " - A pair\n    and the value\n    matching\n",
                " - A pair\n   and the value\n   matching\n",
            ),
            ("12) twelve\n  next\n", "12) twelve\n    next\n"),
            // kms v1: an autolink continues the item.
            (
                "  * X-Wing in\n <https://example.com/x.>\n",
                "  * X-Wing in\n    <https://example.com/x.>\n",
            ),
            // Left alone: aligned already, after a blank line, not a list, fenced, a block
            // that interrupts the paragraph, and things that only look like markers.
            (" - a\n   b\n", " - a\n   b\n"),
            (" - a\n\n b\n", " - a\n\n b\n"),
            // bigquery v2: a paragraph of the item after a blank line, overindented, and its
            // continuation; deeper is an indented code block of the item, left alone.
            (
                " * ARRAY:\n\n      {\n        \"a\"\n",
                " * ARRAY:\n\n   {\n   \"a\"\n",
            ),
            (
                " * code:\n\n        x = 1\n          y\n",
                " * code:\n\n        x = 1\n          y\n",
            ),
            (" plain\n   indented\n", " plain\n   indented\n"),
            (" ```\n - a\n b\n ```\n", " ```\n - a\n b\n ```\n"),
            (" - a\n # Heading\n ---\n", " - a\n # Heading\n ---\n"),
            // vision v1's drawings and spanner's deep markers continue the item.
            (
                "  * text:\n    0--1\n     |  |\n     3--2\n",
                "  * text:\n    0--1\n    |  |\n    3--2\n",
            ),
            (
                "  * `db`\n         - The name\n           of it\n  * `x`\n",
                "  * `db`\n    - The name\n      of it\n  * `x`\n",
            ),
            (
                " -not\n x\n 1.5 is\n y\n - \n z\n",
                " -not\n x\n 1.5 is\n y\n - \n z\n",
            ),
            (" - a\n\tb\n", " - a\n\tb\n"),
        ] {
            assert_eq!(rustdoc_text(text), want, "{text:?}");
        }
        assert!(matches!(rustdoc_text(" - a\n   b"), Cow::Borrowed(_)));
        assert_eq!(rustdoc_text(" - a (-- x --)\n b"), " - a \n   b");
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
