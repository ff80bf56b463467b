//! Path templates of `google.api.http` rules, parsed with located errors.
//!
//! ```text
//! Template  = "/" [ Segments ] [ Verb ] ;     "/" alone is the root template
//! Segments  = Segment { "/" Segment } ;
//! Segment   = "*" | "**" | LITERAL | Variable ;
//! Variable  = "{" FieldPath [ "=" Segments ] "}" ;    no "=" means "=*"
//! FieldPath = IDENT { "." IDENT } ;
//! Verb      = ":" LITERAL ;                    only after the last segment
//! ```

use std::fmt;

/// A dotted field path such as `shelf.name`, as written in templates and in `body`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath(pub Vec<String>);

impl FieldPath {
    /// `None` if `s` is empty or any part is not an identifier.
    pub fn parse(s: &str) -> Option<FieldPath> {
        let parts: Vec<String> = s.split('.').map(str::to_owned).collect();
        parts
            .iter()
            .all(|p| is_ident(p))
            .then_some(FieldPath(parts))
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One segment of the path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// Text matched exactly, kept as written (percent escapes included).
    Literal(String),
    /// `*`: exactly one segment.
    Single,
    /// `**`: any number of segments, zero included; always last.
    Multi,
}

/// A `{field=...}` variable covering `segments[start..end]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Variable {
    pub field_path: FieldPath,
    pub start: usize,
    pub end: usize,
}

/// A parsed path template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathTemplate {
    pub segments: Vec<Segment>,
    pub variables: Vec<Variable>,
    pub verb: Option<String>,
}

/// Why a template does not parse, with the byte offset of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Byte offset in the template (0-based).
    pub offset: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at offset {}; {}",
            self.message, self.offset, self.fix
        )
    }
}

fn err<T>(
    offset: usize,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Result<T, TemplateError> {
    Err(TemplateError {
        offset,
        message: message.into(),
        fix: fix.into(),
    })
}

/// Characters allowed in literals and verbs besides letters, digits and `%XX` escapes.
const LITERAL_PUNCTUATION: &str = "-._~!$&'()+,;=@";

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    template: PathTemplate,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// Segments up to `}` (inside a variable) or the end / verb.
    fn segments(&mut self, in_variable: bool) -> Result<(), TemplateError> {
        loop {
            self.segment(in_variable)?;
            match self.peek() {
                Some('/') => {
                    let slash = self.pos;
                    self.pos += 1;
                    match self.peek() {
                        None if !in_variable => {
                            return err(slash, "trailing `/`", "remove the final `/`: routes ignore a trailing slash anyway")
                        }
                        Some('/') | None | Some('}') => {
                            return err(self.pos, "empty segment", "remove the extra `/`; every segment needs a literal, `*`, `**` or a variable")
                        }
                        _ => {}
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn segment(&mut self, in_variable: bool) -> Result<(), TemplateError> {
        let start = self.pos;
        if let Some(Segment::Multi) = self.template.segments.last() {
            return err(
                start,
                "`**` must be the last segment",
                "move `**` to the end of the template, or use `*` for one segment",
            );
        }
        match self.peek() {
            Some('{') if in_variable => err(
                start,
                "variables cannot be nested",
                "write one variable per field: `{a=x/*}/{b}`",
            ),
            Some('{') => self.variable(),
            Some('*') => {
                self.pos += 1;
                if self.eat('*') {
                    self.template.segments.push(Segment::Multi);
                } else {
                    self.template.segments.push(Segment::Single);
                }
                match self.peek() {
                    None | Some('/') | Some('}') | Some(':') => Ok(()),
                    Some('*') => err(
                        self.pos,
                        "`***` is not a wildcard",
                        "use `*` for one segment or `**` for any number",
                    ),
                    Some(_) => err(
                        start,
                        "a wildcard cannot share a segment with text",
                        "make the wildcard its own segment: `/a/*`, not `/a*`",
                    ),
                }
            }
            Some('/') | None | Some('}') => err(
                start,
                "empty segment",
                "remove the extra `/`; every segment needs a literal, `*`, `**` or a variable",
            ),
            Some(':') => err(
                start,
                "empty segment before the verb",
                "put the verb after a segment: `/v1/things:verb`",
            ),
            Some(_) => {
                let literal = self.literal("literal")?;
                self.template.segments.push(Segment::Literal(literal));
                Ok(())
            }
        }
    }

    /// Literal text up to `/`, `}`, `:` or the end.
    fn literal(&mut self, what: &str) -> Result<String, TemplateError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            match c {
                '/' | '}' | ':' => break,
                '%' => {
                    let hex = self.text.get(self.pos + 1..self.pos + 3);
                    if !hex.is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit())) {
                        return err(
                            self.pos,
                            format!("`%` in a {what} is not followed by two hex digits"),
                            "write a percent escape as `%XX`, e.g. `%20`",
                        );
                    }
                    self.pos += 3;
                }
                c if c.is_ascii_alphanumeric() || LITERAL_PUNCTUATION.contains(c) => self.pos += 1,
                '*' => {
                    return err(
                        self.pos,
                        "a wildcard cannot share a segment with text",
                        "make the wildcard its own segment: `/a/*`, not `/a*`",
                    )
                }
                '{' => {
                    return err(
                        self.pos,
                        "a variable cannot share a segment with text",
                        "make the variable its own segment: `/a/{id}`",
                    )
                }
                c => {
                    return err(
                        self.pos,
                        format!("{c:?} is not allowed in a {what}"),
                        "use letters, digits, `-._~!$&'()+,;=@` or a percent escape like `%20`",
                    )
                }
            }
        }
        Ok(self.text[start..self.pos].to_owned())
    }

    fn variable(&mut self) -> Result<(), TemplateError> {
        let open = self.pos;
        self.pos += 1;
        let name_start = self.pos;
        while self
            .peek()
            .is_some_and(|c| !matches!(c, '=' | '}' | '/' | '{'))
        {
            self.pos += self.peek().map_or(1, char::len_utf8);
        }
        let name = &self.text[name_start..self.pos];
        let Some(field_path) = FieldPath::parse(name) else {
            return if name.is_empty() {
                err(
                    name_start,
                    "variable has no field name",
                    "name the field it binds: `{name}` or `{name=shelves/*}`",
                )
            } else {
                err(
                    name_start,
                    format!("`{name}` is not a field path"),
                    "use field names separated by dots, e.g. `{book.name}`",
                )
            };
        };
        if self
            .template
            .variables
            .iter()
            .any(|v| v.field_path == field_path)
        {
            return err(
                name_start,
                format!("field `{field_path}` is bound twice"),
                "bind each field in one variable only",
            );
        }
        let start = self.template.segments.len();
        if self.eat('=') {
            if matches!(self.peek(), Some('}') | None) {
                return err(
                    self.pos,
                    "variable has `=` but no segments",
                    format!(
                        "write the segments it matches, e.g. `{{{field_path}=*}}`, or drop the `=`"
                    ),
                );
            }
            self.segments(true)?;
        } else if self.peek() == Some('{') {
            return err(
                self.pos,
                "variables cannot be nested",
                "write one variable per field: `{a=x/*}/{b}`",
            );
        } else {
            self.template.segments.push(Segment::Single);
        }
        if !self.eat('}') {
            return err(
                open,
                format!("variable `{}` is not closed", &self.text[open..self.pos]),
                format!("close it with `}}`: `{{{field_path}}}`"),
            );
        }
        self.template.variables.push(Variable {
            field_path,
            start,
            end: self.template.segments.len(),
        });
        Ok(())
    }
}

impl PathTemplate {
    /// Parses a template, or says precisely what is wrong.
    pub fn parse(text: &str) -> Result<PathTemplate, TemplateError> {
        if text.is_empty() {
            return err(
                0,
                "the template is empty",
                "write a path starting with `/`, e.g. `/v1/things`",
            );
        }
        if !text.starts_with('/') {
            return err(
                0,
                "the template does not start with `/`",
                format!("write it as `/{text}`"),
            );
        }
        let mut parser = Parser {
            text,
            pos: 1,
            template: PathTemplate {
                segments: Vec::new(),
                variables: Vec::new(),
                verb: None,
            },
        };
        if text == "/" {
            return Ok(parser.template);
        }
        parser.segments(false)?;
        match parser.peek() {
            None => {}
            Some(':') => {
                let colon = parser.pos;
                parser.pos += 1;
                if parser.peek().is_none() {
                    return err(
                        colon,
                        "empty verb after `:`",
                        "name the verb, e.g. `:cancel`, or remove the `:`",
                    );
                }
                let verb = parser.literal("verb")?;
                if let Some(c) = parser.peek() {
                    return err(
                        parser.pos,
                        format!("{c:?} after the verb"),
                        "the verb must end the template; `:` is only allowed before a final verb",
                    );
                }
                parser.template.verb = Some(verb);
            }
            Some('}') => {
                return err(
                    parser.pos,
                    "`}` without a matching `{`",
                    "remove it, or open the variable with `{`",
                )
            }
            Some(c) => {
                return err(
                    parser.pos,
                    format!("unexpected {c:?}"),
                    "check the template against the google.api.http path syntax",
                )
            }
        }
        Ok(parser.template)
    }

    /// The template with variable names erased: `/v1/shelves/*/books/*:cancel` for
    /// `/v1/{name=shelves/*/books/*}:cancel`. Templates of one shape match the same paths.
    pub fn shape(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            out.push('/');
            out.push_str(match segment {
                Segment::Literal(l) => l,
                Segment::Single => "*",
                Segment::Multi => "**",
            });
        }
        if out.is_empty() {
            out.push('/');
        }
        if let Some(verb) = &self.verb {
            out.push(':');
            out.push_str(verb);
        }
        out
    }

    /// The variable covering segment `index`, if any.
    pub fn variable_for(&self, index: usize) -> Option<&Variable> {
        self.variables
            .iter()
            .find(|v| (v.start..v.end).contains(&index))
    }
}

impl fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            f.write_str("/")?;
        }
        let mut i = 0;
        let segment = |s: &Segment| match s {
            Segment::Literal(l) => l.clone(),
            Segment::Single => "*".to_owned(),
            Segment::Multi => "**".to_owned(),
        };
        while i < self.segments.len() {
            f.write_str("/")?;
            match self.variables.iter().find(|v| v.start == i) {
                Some(v) => {
                    let inner: Vec<String> =
                        self.segments[v.start..v.end].iter().map(segment).collect();
                    if inner == ["*"] {
                        write!(f, "{{{}}}", v.field_path)?;
                    } else {
                        write!(f, "{{{}={}}}", v.field_path, inner.join("/"))?;
                    }
                    i = v.end;
                }
                None => {
                    f.write_str(&segment(&self.segments[i]))?;
                    i += 1;
                }
            }
        }
        if let Some(verb) = &self.verb {
            write!(f, ":{verb}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Segment {
        Segment::Literal(s.to_owned())
    }

    fn var(path: &str, start: usize, end: usize) -> Variable {
        Variable {
            field_path: FieldPath::parse(path).unwrap(),
            start,
            end,
        }
    }

    #[test]
    fn valid_templates_parse_and_print_back() {
        use Segment::{Multi, Single};
        let table: &[(&str, Vec<Segment>, Vec<Variable>, Option<&str>)] = &[
            ("/", vec![], vec![], None),
            ("/v1/books", vec![lit("v1"), lit("books")], vec![], None),
            (
                "/v1/{name}",
                vec![lit("v1"), Single],
                vec![var("name", 1, 2)],
                None,
            ),
            (
                "/v1/{name=shelves/*/books/*}",
                vec![lit("v1"), lit("shelves"), Single, lit("books"), Single],
                vec![var("name", 1, 5)],
                None,
            ),
            (
                "/v1/{name=shelves/*}/books",
                vec![lit("v1"), lit("shelves"), Single, lit("books")],
                vec![var("name", 1, 3)],
                None,
            ),
            (
                "/v1/{book.name=shelves/*/books/*}",
                vec![lit("v1"), lit("shelves"), Single, lit("books"), Single],
                vec![var("book.name", 1, 5)],
                None,
            ),
            (
                "/v1/{name=**}",
                vec![lit("v1"), Multi],
                vec![var("name", 1, 2)],
                None,
            ),
            (
                "/v1/files/**",
                vec![lit("v1"), lit("files"), Multi],
                vec![],
                None,
            ),
            (
                "/v1/{name=files/**}",
                vec![lit("v1"), lit("files"), Multi],
                vec![var("name", 1, 3)],
                None,
            ),
            (
                "/v1/{name=projects/*}:cancel",
                vec![lit("v1"), lit("projects"), Single],
                vec![var("name", 1, 3)],
                Some("cancel"),
            ),
            (
                "/v1/users/{id}:undelete",
                vec![lit("v1"), lit("users"), Single],
                vec![var("id", 2, 3)],
                Some("undelete"),
            ),
            (
                "/v1/*:batchGet",
                vec![lit("v1"), Single],
                vec![],
                Some("batchGet"),
            ),
            (
                "/{resource=**}:getType",
                vec![Multi],
                vec![var("resource", 0, 1)],
                Some("getType"),
            ),
            ("/v1/a%2Fb", vec![lit("v1"), lit("a%2Fb")], vec![], None),
            (
                "/v1/{a}/{b}",
                vec![lit("v1"), Single, Single],
                vec![var("a", 1, 2), var("b", 2, 3)],
                None,
            ),
            (
                "/v1/x-y.z_~!$&'()+,;=@",
                vec![lit("v1"), lit("x-y.z_~!$&'()+,;=@")],
                vec![],
                None,
            ),
        ];
        for (text, segments, variables, verb) in table {
            let t = PathTemplate::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(&t.segments, segments, "{text}");
            assert_eq!(&t.variables, variables, "{text}");
            assert_eq!(t.verb.as_deref(), *verb, "{text}");
            assert_eq!(t.to_string(), *text, "display of {text}");
        }
    }

    #[test]
    fn invalid_templates_are_rejected_with_a_located_message() {
        // (template, offset, words in the message)
        let table: &[(&str, usize, &str)] = &[
            ("", 0, "empty"),
            ("v1/books", 0, "does not start with `/`"),
            ("/v1/books/", 9, "trailing `/`"),
            ("/v1//x", 4, "empty segment"),
            ("/v1/{name=a//b}", 12, "empty segment"),
            ("/v1/:verb", 4, "empty segment before the verb"),
            ("/v1/{name", 4, "not closed"),
            ("/v1/name}", 8, "without a matching `{`"),
            ("/v1/{a={b}}", 7, "nested"),
            ("/v1/{}", 5, "no field name"),
            ("/v1/{=*}", 5, "no field name"),
            ("/v1/{1a}", 5, "not a field path"),
            ("/v1/{a..b}", 5, "not a field path"),
            ("/v1/{a-b}", 5, "not a field path"),
            ("/v1/{name=}", 10, "no segments"),
            ("/v1/**/x", 7, "`**` must be the last segment"),
            ("/v1/{a=**}/x", 11, "`**` must be the last segment"),
            ("/v1/**/**", 7, "`**` must be the last segment"),
            ("/v1/a*", 5, "wildcard cannot share a segment"),
            ("/v1/*a", 4, "wildcard cannot share a segment"),
            ("/v1/a b", 5, "' ' is not allowed"),
            ("/v1/caf\u{e9}", 7, "is not allowed"),
            ("/v1/a%2", 5, "two hex digits"),
            ("/v1/a%zz", 5, "two hex digits"),
            ("/v1/a:b/c", 7, "after the verb"),
            ("/v1/a:", 5, "empty verb"),
            ("/v1/a:b c", 7, "is not allowed in a verb"),
            ("/v1/{a}/{a}", 9, "bound twice"),
            ("/v1/a{b}", 5, "variable cannot share a segment"),
        ];
        for (text, offset, words) in table {
            let e = PathTemplate::parse(text).expect_err(text);
            assert!(e.message.contains(words), "{text}: {e}");
            assert_eq!(e.offset, *offset, "{text}: {e}");
            assert!(!e.fix.is_empty(), "{text}");
        }
    }

    #[test]
    fn shape_erases_variable_names_only() {
        let shape = |t: &str| PathTemplate::parse(t).unwrap().shape();
        assert_eq!(shape("/v1/{id}"), shape("/v1/{name}"));
        assert_eq!(shape("/v1/{x=**}"), shape("/v1/**"));
        assert_eq!(shape("/v1/{name=shelves/*}:cancel"), "/v1/shelves/*:cancel");
        assert_ne!(shape("/v1/*"), shape("/v1/**"));
        assert_ne!(shape("/v1/{a}:x"), shape("/v1/{a}:y"));
        assert_eq!(shape("/"), "/");
    }

    #[test]
    fn variable_for_finds_the_covering_variable() {
        let t = PathTemplate::parse("/v1/{name=shelves/*}/books/{book}").unwrap();
        assert_eq!(t.variable_for(0), None);
        assert_eq!(t.variable_for(2).unwrap().field_path.to_string(), "name");
        assert_eq!(t.variable_for(3), None);
        assert_eq!(t.variable_for(4).unwrap().field_path.to_string(), "book");
    }

    #[test]
    fn field_paths() {
        assert_eq!(FieldPath::parse("a.b_c").unwrap().0, ["a", "b_c"]);
        for bad in ["", "a.", ".a", "a b", "1a"] {
            assert_eq!(FieldPath::parse(bad), None, "{bad}");
        }
    }
}
