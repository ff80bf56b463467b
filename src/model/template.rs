//! Path templates of `google.api.http` rules, such as `/v1/{name=shelves/*/books/*}:cancel`.
//!
//! The grammar is the one documented in googleapis' `google/api/http.proto`, except that `/`
//! alone (the root) is accepted too, and `**` may be followed by literal segments (googleapis
//! publishes such templates; see [`PathTemplate::multi_before_literals`]):
//!
//! ```text
//! Template  = "/" [ Segments ] [ Verb ] ;
//! Segments  = Segment { "/" Segment } ;
//! Segment   = "*" | "**" | LITERAL | Variable ;
//! Variable  = "{" FieldPath [ "=" Segments ] "}" ;   -- no "=" means "=*"
//! FieldPath = IDENT { "." IDENT } ;
//! Verb      = ":" LITERAL ;
//! ```
//!
//! The parser is written by hand so that each error points at the offending character (a byte
//! offset) and comes with a concrete fix, usually the corrected template. A suggested template
//! repairs the problem reported (other problems later in the template may remain), so for a
//! template with a single mistake it parses; the tests hold us to that.

use std::fmt;
use std::ops::Range;

/// A dotted field path such as `shelf.name`, as written in templates and in
/// `body`/`response_body`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath(pub Vec<String>);

impl FieldPath {
    /// Parses `a.b.c`. `None` if `s` is empty or any part is not an identifier
    /// (`[A-Za-z_][A-Za-z0-9_]*`).
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

/// One `/`-separated piece of a path template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// Matches exactly this text. Percent escapes are kept as written (`a%2Fb`).
    Literal(String),
    /// `*`: matches exactly one segment.
    Single,
    /// `**`: matches zero or more segments: the rest of the path, or, when literal segments
    /// follow it, everything up to those literals, matched from the end of the path.
    Multi,
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Literal(text) => f.write_str(text),
            Segment::Single => f.write_str("*"),
            Segment::Multi => f.write_str("**"),
        }
    }
}

/// A `{field.path=segments}` variable: the request field it binds and the segments it covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Variable {
    pub field_path: FieldPath,
    /// Segment index range `[start, end)` into [`PathTemplate::segments`].
    pub start: usize,
    pub end: usize,
}

/// A parsed path template. Variables do not nest and never overlap; their segments are part of
/// `segments` like any other, so matching can ignore variables altogether.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathTemplate {
    /// Every segment, in order; empty for the root template `/`.
    pub segments: Vec<Segment>,
    /// The variables, in order of appearance, each binding a different field.
    pub variables: Vec<Variable>,
    /// The custom verb after the final `:`, without the `:`.
    pub verb: Option<String>,
}

/// Why a path template is invalid, where, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Byte offset in the template where the problem is (0-based).
    pub offset: usize,
    /// What is wrong, e.g. "variable `{name` is not closed".
    pub message: String,
    /// How to fix it, e.g. "close it with `}`: `{name}`".
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

impl std::error::Error for TemplateError {}

impl PathTemplate {
    /// Parses a path template, or explains the first problem met reading it left to right. A
    /// field bound twice is reported once its second variable has been read, misplaced `**`
    /// once the whole template has.
    pub fn parse(template: &str) -> Result<PathTemplate, TemplateError> {
        Parser {
            src: template,
            pos: 0,
            segments: Vec::new(),
            offsets: Vec::new(),
            variables: Vec::new(),
        }
        .template()
    }

    /// The template with variable names erased, e.g. `/v1/shelves/*/books/*:cancel` for
    /// `/v1/{name=shelves/*/books/*}:cancel`, or `/v1/*` for `/v1/{id}`. Two templates with the
    /// same shape match exactly the same paths (used to detect routes that always lose).
    ///
    /// Hex digits of percent escapes are upper-cased, since `%2f` and `%2F` are the same octet
    /// (RFC 3986 section 2.1). Nothing else is decoded: whether `%41` matches `A` is up to the
    /// router, and claiming so here could report a reachable route as unreachable.
    pub fn shape(&self) -> String {
        let mut out = String::from("/");
        let segments: Vec<String> = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Literal(text) => upper_hex_escapes(text),
                wildcard => wildcard.to_string(),
            })
            .collect();
        out.push_str(&segments.join("/"));
        if let Some(verb) = &self.verb {
            out.push(':');
            out.push_str(&upper_hex_escapes(verb));
        }
        out
    }

    /// Whether literal segments follow `**`. http.proto's grammar puts `**` last, so other
    /// transcoders may refuse such a template; googleapis has some, and the runtime matches
    /// the literals from the end of the path.
    pub fn multi_before_literals(&self) -> bool {
        self.segments
            .iter()
            .position(|s| *s == Segment::Multi)
            .is_some_and(|i| i + 1 < self.segments.len())
    }

    /// The variable that binds segment number `segment`, if any.
    pub fn variable_for(&self, segment: usize) -> Option<&Variable> {
        self.variables
            .iter()
            .find(|v| (v.start..v.end).contains(&segment))
    }
}

/// The canonical text: `/v1/{name=shelves/*}:cancel`. A variable bound to exactly one `*`
/// prints as `{name}`, and the root prints as `/`.
impl fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            f.write_str("/")?;
        }
        let mut i = 0;
        while i < self.segments.len() {
            f.write_str("/")?;
            // The bounds check only matters for hand-built values; parsed ones always pass it.
            let variable = self
                .variables
                .iter()
                .find(|v| v.start == i && v.end > i && v.end <= self.segments.len());
            match variable {
                Some(v) => {
                    let bound = &self.segments[v.start..v.end];
                    if bound == [Segment::Single] {
                        write!(f, "{{{}}}", v.field_path)?;
                    } else {
                        let bound: Vec<String> = bound.iter().map(Segment::to_string).collect();
                        write!(f, "{{{}={}}}", v.field_path, bound.join("/"))?;
                    }
                    i = v.end;
                }
                None => {
                    write!(f, "{}", self.segments[i])?;
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

/// Which kind of literal is being checked, for messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Segment,
    Verb,
}

/// A single pass over the template, left to right.
struct Parser<'a> {
    src: &'a str,
    /// Byte offset of the next character to read.
    pos: usize,
    segments: Vec<Segment>,
    /// Byte offset of each of `segments`, for the `**` checks made after the whole parse.
    offsets: Vec<usize>,
    variables: Vec<Variable>,
}

impl Parser<'_> {
    fn template(mut self) -> Result<PathTemplate, TemplateError> {
        let src = self.src;
        let Some(first) = src.chars().next() else {
            return Err(error(
                0,
                "the template is empty",
                "write the path, starting with `/`, e.g. `/v1/books`",
            ));
        };
        if first != '/' {
            return Err(error(
                0,
                format!(
                    "the template must start with `/`, but starts with {}",
                    describe(first)
                ),
                format!("add the leading `/`: `/{src}`"),
            ));
        }
        self.pos = 1;
        let mut verb = None;
        // `/` alone is the root template: no segments, no verb.
        if src.len() > 1 {
            loop {
                self.top_segment()?;
                match self.peek() {
                    None => break,
                    Some('/') => self.pos += 1,
                    Some(':') => {
                        verb = Some(self.verb()?);
                        break;
                    }
                    Some(_) => return Err(self.after_segment_error()),
                }
            }
        }
        self.check_multi()?;
        Ok(PathTemplate {
            segments: self.segments,
            variables: self.variables,
            verb,
        })
    }

    /// A segment outside variables, starting right after a `/`.
    fn top_segment(&mut self) -> Result<(), TemplateError> {
        let start = self.pos;
        match self.peek() {
            None => Err(error(
                start - 1,
                "the template ends with `/`",
                format!(
                    "remove the trailing `/`: `{}`",
                    self.splice(start - 1..start, "")
                ),
            )),
            Some('/') => Err(self.empty_segment(start)),
            Some(':') if start == 1 => Err(error(
                start,
                format!("the verb `{}` has no segment before it", &self.src[start..]),
                format!(
                    "the root `/` cannot take a verb; put it after the last segment, e.g. `/v1{}`",
                    &self.src[start..]
                ),
            )),
            Some(':') => Err(error(
                start,
                format!("empty segment before the verb `{}`", &self.src[start..]),
                format!(
                    "remove the `/` before `:`: `{}`",
                    self.splice(start - 1..start, "")
                ),
            )),
            Some('{') => self.variable(),
            Some('}') => Err(self.unmatched_close(start)),
            Some(_) => {
                // `{` and `}` end the run too, so `a{b}` and `a}` get their own errors.
                self.run(&['/', '{', '}', ':']);
                self.push_segment(start)
            }
        }
    }

    /// `{field.path}` or `{field.path=segments}`, with `pos` at the `{`.
    fn variable(&mut self) -> Result<(), TemplateError> {
        let src = self.src;
        let open = self.pos;
        self.pos += 1;
        let path_start = self.pos;
        self.run(&['=', '}', '{', '/']);
        let path_text = &src[path_start..self.pos];
        // A bad field path comes before whatever follows it, so it is reported first.
        let field_path = match path_text {
            "" => None,
            text => Some(self.field_path(path_start, text)?),
        };
        let field_path = match (self.peek(), field_path) {
            (None, _) => return Err(self.unclosed(open)),
            (Some('{'), _) => return Err(self.nested(open, self.pos)),
            (Some(next), None) => {
                let (message, fix) = match next {
                    '}' => (
                        "variable `{}` has no field path".to_owned(),
                        format!(
                            "name the field to bind: `{}`",
                            self.splice(path_start..path_start, "name")
                        ),
                    ),
                    '=' => (
                        "variable has no field path: `=` follows `{` directly".to_owned(),
                        format!(
                            "name the field to bind: `{}`",
                            self.splice(path_start..path_start, "name")
                        ),
                    ),
                    _ => (
                        "variable has no field path: `/` follows `{` directly".to_owned(),
                        "start the variable with the field it binds, e.g. `{name=shelves/*}`"
                            .to_owned(),
                    ),
                };
                return Err(error(path_start, message, fix));
            }
            (Some('/'), Some(_)) => {
                return Err(error(
                    self.pos,
                    format!("variable `{{{path_text}` must continue with `=` or `}}`, not `/`"),
                    format!(
                        "close it to bind one segment (`{{{path_text}}}`), or list the segments it binds after `=` (`{{{path_text}=shelves/*}}`)"
                    ),
                ));
            }
            (_, Some(path)) => path,
        };

        let first = self.segments.len();
        let bound_text = if self.peek() == Some('=') {
            self.pos += 1;
            let eq_end = self.pos;
            self.variable_segments(open)?;
            &src[eq_end..self.pos]
        } else {
            // `{name}` is short for `{name=*}`.
            self.segments.push(Segment::Single);
            self.offsets.push(path_start);
            "*"
        };
        let close = self.pos;
        self.pos += 1;

        if self.variables.iter().any(|v| v.field_path == field_path) {
            return Err(error(
                path_start,
                format!("field `{field_path}` is bound twice"),
                format!(
                    "bind it once, and match the other segments without binding them: `{}`",
                    self.splice(open..close + 1, bound_text)
                ),
            ));
        }
        self.variables.push(Variable {
            field_path,
            start: first,
            end: self.segments.len(),
        });
        Ok(())
    }

    /// The segments after `=` in a variable. Leaves `pos` at the closing `}`.
    fn variable_segments(&mut self, open: usize) -> Result<(), TemplateError> {
        let src = self.src;
        let after_eq = self.pos;
        loop {
            let start = self.pos;
            match self.peek() {
                None => return Err(self.unclosed(open)),
                Some('}') if start == after_eq => {
                    return Err(error(
                        start,
                        format!("variable `{}` has nothing after `=`", &src[open..=start]),
                        format!(
                            "drop the `=` to bind one segment (`{}`), or list the segments after it, e.g. `{}shelves/*}}`",
                            self.splice(start - 1..start, ""),
                            &src[open..start]
                        ),
                    ))
                }
                Some('}') => {
                    return Err(error(
                        start - 1,
                        format!("variable `{}` ends with `/`", &src[open..=start]),
                        format!(
                            "remove the trailing `/`: `{}`",
                            self.splice(start - 1..start, "")
                        ),
                    ))
                }
                Some('/') => return Err(self.empty_segment(start)),
                Some('{') => return Err(self.nested(open, start)),
                Some(_) => {
                    self.run(&['/', '{', '}']);
                    self.push_segment(start)?;
                }
            }
            match self.peek() {
                None => return Err(self.unclosed(open)),
                Some('/') => self.pos += 1,
                Some('}') => return Ok(()),
                Some(_) => return Err(self.nested(open, self.pos)),
            }
        }
    }

    /// `:verb` at the end of the template, with `pos` at the `:`. Returns the verb.
    fn verb(&mut self) -> Result<String, TemplateError> {
        let src = self.src;
        let colon = self.pos;
        let verb = &src[colon + 1..];
        if let Some(slash) = verb.find('/') {
            // After a variable, `:` can only have been meant as a verb; after a literal, it may
            // also have been meant as part of it.
            let fix = if src[..colon].ends_with('}') {
                let word = &verb[..slash];
                let verb = if word.is_empty() {
                    String::new()
                } else {
                    format!(":{word}")
                };
                format!(
                    "a `:` starts the verb, which comes after the last segment; move it to the end: `{}{}{verb}`",
                    &src[..colon],
                    &src[colon + 1 + slash..]
                )
            } else {
                format!(
                    "a `:` starts the verb, which comes after the last segment; to match a literal `:`, write `%3A`: `{}`",
                    self.splice(colon..colon + 1, "%3A")
                )
            };
            return Err(error(colon, "`:` in the middle of the path", fix));
        }
        if verb.is_empty() {
            return Err(error(
                colon,
                "the verb after `:` is empty",
                format!(
                    "name the verb (`{src}cancel`), or remove the `:` (`{}`)",
                    &src[..colon]
                ),
            ));
        }
        if src[..colon].ends_with('}') && verb.contains(':') {
            // grpc-gateway's extension: after a variable, everything after the first `:` is the
            // verb (`{uuid}:custom:custom`); the model warns that it is not portable.
            let mut start = colon + 1;
            for piece in verb.split(':') {
                if piece.is_empty() {
                    return Err(error(
                        start,
                        format!("the verb `{verb}` has an empty part between two `:`"),
                        format!(
                            "remove the extra `:`: `{}:{}`",
                            &src[..colon],
                            verb.split(':')
                                .filter(|p| !p.is_empty())
                                .collect::<Vec<_>>()
                                .join(":")
                        ),
                    ));
                }
                self.literal(start, start + piece.len(), Place::Verb)?;
                start += piece.len() + 1;
            }
        } else {
            self.literal(colon + 1, src.len(), Place::Verb)?;
        }
        self.pos = src.len();
        Ok(verb.to_owned())
    }

    /// Classifies the segment text from `start` to `pos` and records it.
    fn push_segment(&mut self, start: usize) -> Result<(), TemplateError> {
        let text = &self.src[start..self.pos];
        let segment = match text {
            "*" => Segment::Single,
            "**" => Segment::Multi,
            _ if text.bytes().all(|b| b == b'*') => {
                return Err(error(
                    start + 2,
                    format!("`{text}` is not a wildcard"),
                    format!(
                        "use `*` for one segment or `**` for the rest of the path: `{}`",
                        self.splice(start..self.pos, "*")
                    ),
                ))
            }
            _ => {
                self.literal(start, self.pos, Place::Segment)?;
                Segment::Literal(text.to_owned())
            }
        };
        self.segments.push(segment);
        self.offsets.push(start);
        Ok(())
    }

    /// Checks that `src[start..end]` is a LITERAL.
    fn literal(&self, start: usize, end: usize, place: Place) -> Result<(), TemplateError> {
        let text = &self.src[start..end];
        let what = match place {
            Place::Segment => format!("the literal `{text}`"),
            Place::Verb => format!("the verb `{text}`"),
        };
        // One fix for every bad character of the literal, so that the suggestion parses.
        let encoded = || self.splice(start..end, &encode_literal(text));
        for (i, c) in text.char_indices() {
            if is_literal_char(c) || (c == '%' && is_escape(&text[i..])) {
                continue;
            }
            let at = start + i;
            return Err(match c {
                '%' => error(
                    at,
                    format!(
                        "`{}` in {what} is not a percent escape",
                        text[i..].chars().take(3).collect::<String>()
                    ),
                    format!(
                        "an escape is `%` and two hex digits, like `%2F`; a literal `%` is `%25`: `{}`",
                        encoded()
                    ),
                ),
                '*' if place == Place::Segment => error(
                    at,
                    format!("`*` is mixed into {what}"),
                    format!(
                        "a wildcard must be a whole segment; to match a literal `*`, write `%2A`: `{}`",
                        encoded()
                    ),
                ),
                // Top-level literals stop at `:`, so this one is inside a variable.
                ':' if place == Place::Segment => error(
                    at,
                    format!("`:` in {what} inside a variable"),
                    format!(
                        "a verb goes after the closing `}}`; to match a literal `:`, write `%3A`: `{}`",
                        encoded()
                    ),
                ),
                ':' => error(
                    at,
                    format!("{what} contains a second `:`"),
                    format!("write a literal `:` as `%3A`: `{}`", encoded()),
                ),
                '?' | '#' => self.query_or_fragment(at, c),
                _ => error(
                    at,
                    format!("{} is not allowed in {what}", describe(c)),
                    format!("percent-encode it: `{}`", encoded()),
                ),
            });
        }
        Ok(())
    }

    /// `?` or `#` in a literal: the author pasted a URL rather than a path.
    fn query_or_fragment(&self, at: usize, c: char) -> TemplateError {
        let (starts, remedy) = if c == '?' {
            (
                "a query string",
                "remove the query: request fields the path does not bind are read from query parameters anyway",
            )
        } else {
            (
                "a URL fragment",
                "remove the fragment: clients never send it to the server",
            )
        };
        let kept = match self.src[..at].trim_end_matches('/') {
            "" => "/",
            kept => kept,
        };
        // Cutting inside a variable would leave it unclosed; then there is no template to offer.
        let fix = if kept.matches('{').count() == kept.matches('}').count() {
            format!("{remedy}: `{kept}`")
        } else {
            remedy.to_owned()
        };
        error(
            at,
            format!("a path template cannot contain {starts}, but `{c}` starts one"),
            fix,
        )
    }

    /// Checks the field path `text` of a variable, which starts at byte `start`.
    fn field_path(&self, start: usize, text: &str) -> Result<FieldPath, TemplateError> {
        if let Some(path) = FieldPath::parse(text) {
            return Ok(path);
        }
        let fixed = |path: &str| self.splice(start..start + text.len(), path);
        let squeezed = || {
            let parts: Vec<&str> = text.split('.').filter(|p| !p.is_empty()).collect();
            match parts.join(".") {
                s if s.is_empty() => fixed("name"),
                s => fixed(&s),
            }
        };
        for (i, c) in text.char_indices() {
            let at = start + i;
            let name_starts = i == 0 || text[..i].ends_with('.');
            match c {
                'a'..='z' | 'A'..='Z' | '_' => {}
                '0'..='9' | '.' if !name_starts => {}
                '.' => {
                    return Err(error(
                        at,
                        format!("field path `{text}` has an empty name before this `.`"),
                        format!("remove the extra `.`: `{}`", squeezed()),
                    ))
                }
                '0'..='9' => {
                    return Err(error(
                        at,
                        format!("a field name in `{text}` starts with a digit"),
                        "field names start with a letter or `_`; use the name of a field of the request message, e.g. `{name}` or `{book.name}`",
                    ))
                }
                ':' => {
                    return Err(error(
                        at,
                        format!("`:` cannot appear in the field path `{text}`"),
                        format!(
                            "a verb goes after the closing `}}`: `{{{}}}:{}`",
                            &text[..i],
                            &text[i + 1..]
                        ),
                    ))
                }
                _ => {
                    let underscored: String = text
                        .chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                                c
                            } else {
                                '_'
                            }
                        })
                        .collect();
                    return Err(error(
                        at,
                        format!("{} cannot appear in the field path `{text}`", describe(c)),
                        format!(
                            "field names hold only letters, digits and `_`; use the field's proto name, e.g. `{}`",
                            fixed(&underscored)
                        ),
                    ));
                }
            }
        }
        // Every character was acceptable where it stood, so only a final `.` is left to blame.
        Err(error(
            start + text.len() - 1,
            format!("field path `{text}` ends with `.`"),
            format!("remove the extra `.`: `{}`", squeezed()),
        ))
    }

    /// At most one `**` may appear. http.proto's grammar puts it last; googleapis also has it
    /// followed by literal segments (`{name=.../cryptoKeys/**}/protectedResourcesSummary`),
    /// which match the end of the path, so those are accepted (the caller warns). Anything
    /// else after it, `*` or a variable, would make the split between `**` and what follows
    /// ambiguous.
    fn check_multi(&self) -> Result<(), TemplateError> {
        let multis: Vec<usize> = (0..self.segments.len())
            .filter(|&i| self.segments[i] == Segment::Multi)
            .collect();
        match multis[..] {
            [] => Ok(()),
            [i] => {
                // A segment after `**` in another variable than the one holding `**`.
                let foreign = |j: usize| {
                    self.variables
                        .iter()
                        .any(|v| (v.start..v.end).contains(&j) && !(v.start..v.end).contains(&i))
                };
                let Some(j) = (i + 1..self.segments.len())
                    .find(|&j| foreign(j) || !matches!(self.segments[j], Segment::Literal(_)))
                else {
                    return Ok(());
                };
                let what = if foreign(j) { "a variable" } else { "`*`" };
                let at = self.offsets[i];
                Err(error(
                    at,
                    format!("`**` is followed by {what}, so where `**` ends is ambiguous"),
                    format!(
                        "`**` can be followed only by literal segments, matched from the end of the path; use `*` to match exactly one segment: `{}`",
                        self.splice(at..at + 2, "*")
                    ),
                ))
            }
            [_, second, ..] => {
                // Keep the last `**` and make the others `*`, from the right so offsets hold.
                let mut fixed = self.src.to_owned();
                for &i in multis[..multis.len() - 1].iter().rev() {
                    let at = self.offsets[i];
                    fixed.replace_range(at..at + 2, "*");
                }
                Err(error(
                    self.offsets[second],
                    "the template has more than one `**`",
                    format!("only one is allowed; match single segments with `*`: `{fixed}`"),
                ))
            }
        }
    }

    fn empty_segment(&self, at: usize) -> TemplateError {
        error(
            at,
            "empty segment (`//`)",
            format!("remove the extra `/`: `{}`", self.splice(at..at + 1, "")),
        )
    }

    /// A variable still open at the end of the template.
    fn unclosed(&self, open: usize) -> TemplateError {
        let text = &self.src[open..];
        error(
            open,
            format!("variable `{text}` is not closed"),
            format!("close it with `}}`: `{text}}}`"),
        )
    }

    /// A `{` at `at` inside the variable opened at `open`.
    fn nested(&self, open: usize, at: usize) -> TemplateError {
        let src = self.src;
        let outer = &src[open..at];
        let inner_close = src[at..].find('}').map(|i| at + i);
        let general =
            "bind each field in its own segment; after `=` come only literals, `*` and `**`";
        let fix = match inner_close {
            // `{{a}}`: one pair of braces too many.
            Some(close) if outer == "{" => {
                format!("write a single variable: `{{{}}}`", &src[at + 1..close])
            }
            Some(close) if outer.contains('=') => format!(
                "{general}; match the inner part with `*`: `{}`",
                self.splice(at..close + 1, "*")
            ),
            _ => general.to_owned(),
        };
        let message = if outer == "{" {
            "variables cannot be nested: `{{` opens two at once".to_owned()
        } else {
            format!("variables cannot be nested: `{{` inside the variable `{outer}`")
        };
        error(at, message, fix)
    }

    /// A `}` at `at` that closes nothing.
    fn unmatched_close(&self, at: usize) -> TemplateError {
        let seg_start = self.src[..at].rfind('/').map_or(0, |i| i + 1);
        let before = &self.src[seg_start..at];
        let fix = if FieldPath::parse(before).is_some() {
            format!(
                "open the variable with `{{`: `{}`",
                self.splice(seg_start..seg_start, "{")
            )
        } else if before.is_empty() {
            // Removing only the `}` would leave an empty segment; take its `/` along.
            match self.splice(seg_start - 1..at + 1, "") {
                s if s.is_empty() => "remove it: `/`".to_owned(),
                s => format!("remove it: `{s}`"),
            }
        } else {
            format!("remove it: `{}`", self.splice(at..at + 1, ""))
        };
        error(at, "`}` has no matching `{`", fix)
    }

    /// Something other than `/`, `:` or the end right after a segment: `a{b}`, `{a}b`, `a}`.
    fn after_segment_error(&self) -> TemplateError {
        let at = self.pos;
        let c = self.peek().expect("called only before a character");
        let message = match c {
            '}' => return self.unmatched_close(at),
            '{' => {
                let seg_start = self.src[..at].rfind('/').map_or(0, |i| i + 1);
                format!(
                    "variable starts in the middle of a segment, after `{}`",
                    &self.src[seg_start..at]
                )
            }
            // Literal runs stop only at `/`, `{`, `}` and `:`, so this follows a variable.
            c => {
                let open = self.src[..at].rfind('{').unwrap_or(0);
                format!(
                    "{} follows the variable `{}` in the same segment",
                    describe(c),
                    &self.src[open..at]
                )
            }
        };
        error(
            at,
            message,
            format!(
                "a variable must be a whole segment; separate them with `/`: `{}`",
                self.splice(at..at, "/")
            ),
        )
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    /// Advances `pos` to the next of `stops`, or to the end.
    fn run(&mut self, stops: &[char]) {
        let rest = &self.src[self.pos..];
        self.pos += rest.find(|c| stops.contains(&c)).unwrap_or(rest.len());
    }

    /// The template with `range` replaced by `with`, for fixes.
    fn splice(&self, range: Range<usize>, with: &str) -> String {
        let mut out = self.src.to_owned();
        out.replace_range(range, with);
        out
    }
}

fn error(offset: usize, message: impl Into<String>, fix: impl Into<String>) -> TemplateError {
    TemplateError {
        offset,
        message: message.into(),
        fix: fix.into(),
    }
}

fn is_ident(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Characters a LITERAL may hold as they are; `%` only as the start of an escape.
fn is_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()+,;=@".contains(c)
}

/// Whether `s`, which starts with `%`, starts with a complete `%XX` escape.
fn is_escape(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 3 && b[1].is_ascii_hexdigit() && b[2].is_ascii_hexdigit()
}

/// `text` with every character a literal cannot hold percent-encoded (its UTF-8 bytes); valid
/// escapes are kept, a `%` that starts none becomes `%25`.
fn encode_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        if is_literal_char(c) || (c == '%' && is_escape(&text[i..])) {
            out.push(c);
        } else {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// `text` (a validated literal) with the hex digits of its escapes upper-cased.
fn upper_hex_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut hex_left = 0;
    for c in text.chars() {
        if hex_left > 0 {
            out.push(c.to_ascii_uppercase());
            hex_left -= 1;
        } else {
            out.push(c);
            if c == '%' {
                hex_left = 2;
            }
        }
    }
    out
}

/// A character as messages name it; spaces and control characters are invisible in backquotes.
fn describe(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        '`' => "a backquote".to_owned(),
        c if c.is_control() => format!("control character U+{:04X}", c as u32),
        c if !c.is_ascii() => format!("non-ASCII `{c}` (U+{:04X})", c as u32),
        c => format!("`{c}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(template: &str) -> PathTemplate {
        PathTemplate::parse(template)
            .unwrap_or_else(|e| panic!("{template:?} should parse, but: {e}"))
    }

    /// Segments written as in a template: `*` and `**` are wildcards, anything else a literal.
    fn segments(spec: &[&str]) -> Vec<Segment> {
        spec.iter()
            .map(|&s| match s {
                "*" => Segment::Single,
                "**" => Segment::Multi,
                literal => Segment::Literal(literal.to_owned()),
            })
            .collect()
    }

    /// Template, its segments, its variables as (field path, start, end), its verb.
    type ValidRow = (
        &'static str,
        &'static [&'static str],
        &'static [(&'static str, usize, usize)],
        Option<&'static str>,
    );

    #[rustfmt::skip]
    const VALID: &[ValidRow] = &[
        ("/", &[], &[], None),
        ("/v1/books", &["v1", "books"], &[], None),
        ("/v1/{name}", &["v1", "*"], &[("name", 1, 2)], None),
        ("/v1/{name=shelves/*/books/*}", &["v1", "shelves", "*", "books", "*"], &[("name", 1, 5)], None),
        ("/v1/{name=shelves/*}/books", &["v1", "shelves", "*", "books"], &[("name", 1, 3)], None),
        ("/v1/{book.name=shelves/*/books/*}", &["v1", "shelves", "*", "books", "*"], &[("book.name", 1, 5)], None),
        ("/v1/{name=**}", &["v1", "**"], &[("name", 1, 2)], None),
        ("/v1/files/**", &["v1", "files", "**"], &[], None),
        ("/v1/{name=files/**}", &["v1", "files", "**"], &[("name", 1, 3)], None),
        ("/v1/{name=projects/*}:cancel", &["v1", "projects", "*"], &[("name", 1, 3)], Some("cancel")),
        ("/v1/users/{id}:undelete", &["v1", "users", "*"], &[("id", 2, 3)], Some("undelete")),
        ("/v1/*:batchGet", &["v1", "*"], &[], Some("batchGet")),
        ("/{resource=**}:getType", &["**"], &[("resource", 0, 1)], Some("getType")),
        ("/v1:verb", &["v1"], &[], Some("verb")),
        // grpc-gateway's extension: after a variable, the verb is everything after the first `:`.
        ("/v1/{uuid}:custom:custom", &["v1", "*"], &[("uuid", 1, 2)], Some("custom:custom")),
        ("/v1/a%2Fb", &["v1", "a%2Fb"], &[], None),
        ("/v1/{a}/{b}", &["v1", "*", "*"], &[("a", 1, 2), ("b", 2, 3)], None),
        ("/v1/x-y.z_~!$&'()+,;=@", &["v1", "x-y.z_~!$&'()+,;=@"], &[], None),
        ("/v1/a=b", &["v1", "a=b"], &[], None),
        ("/v1/{_x.y_2=a%20b/**}:do-it.now", &["v1", "a%20b", "**"], &[("_x.y_2", 1, 3)], Some("do-it.now")),
        // `**` followed by literals only (googleapis has these): matched from the end.
        ("/v1/{name=keys/**}/summary", &["v1", "keys", "**", "summary"], &[("name", 1, 3)], None),
        ("/v1/**/a/b:go", &["v1", "**", "a", "b"], &[], Some("go")),
        ("/v1/{name=**/tail}", &["v1", "**", "tail"], &[("name", 1, 3)], None),
        ("/{a}/{b=x/**}/y", &["*", "x", "**", "y"], &[("a", 0, 1), ("b", 1, 3)], None),
    ];

    #[test]
    fn valid_templates_parse_into_segments_variables_and_verb() {
        for &(template, segs, vars, verb) in VALID {
            let t = parse(template);
            assert_eq!(t.segments, segments(segs), "segments of {template}");
            let got: Vec<(String, usize, usize)> = t
                .variables
                .iter()
                .map(|v| (v.field_path.to_string(), v.start, v.end))
                .collect();
            let want: Vec<(String, usize, usize)> = vars
                .iter()
                .map(|&(path, start, end)| (path.to_owned(), start, end))
                .collect();
            assert_eq!(got, want, "variables of {template}");
            assert_eq!(t.verb.as_deref(), verb, "verb of {template}");
        }
    }

    #[test]
    fn display_of_a_canonical_template_is_the_template_itself() {
        for &(template, ..) in VALID {
            let t = parse(template);
            assert_eq!(t.to_string(), template);
            assert_eq!(parse(&t.to_string()), t, "{template} round-trips");
        }
    }

    #[test]
    fn display_writes_a_variable_bound_to_one_star_without_equals() {
        let rows = [
            ("/v1/{name=*}", "/v1/{name}"),
            ("/v1/{a.b=*}:x", "/v1/{a.b}:x"),
            ("/v1/{a=*/*}", "/v1/{a=*/*}"),
        ];
        for (template, canonical) in rows {
            let t = parse(template);
            assert_eq!(t.to_string(), canonical, "{template}");
            assert_eq!(parse(canonical), t, "{template} means {canonical}");
        }
    }

    /// Rule, template, offset, a piece of the message, a piece of the fix.
    type InvalidRow = (
        &'static str,
        &'static str,
        usize,
        &'static str,
        &'static str,
    );

    #[rustfmt::skip]
    const INVALID: &[InvalidRow] = &[
        ("the template is not empty", "", 0, "empty", "`/v1/books`"),
        ("the template starts with `/`", "v1/books", 0, "must start with `/`", "`/v1/books`"),
        ("no trailing `/`", "/v1/books/", 9, "ends with `/`", "`/v1/books`"),
        ("no empty segment", "/v1//books", 4, "empty segment", "`/v1/books`"),
        ("no empty first segment", "//v1", 1, "empty segment", "`/v1`"),
        ("no empty segment in a variable", "/v1/{name=a//b}", 12, "empty segment", "`/v1/{name=a/b}`"),
        ("no trailing `/` in a variable", "/v1/{name=a/}", 11, "`{name=a/}` ends with `/`", "`/v1/{name=a}`"),
        ("no empty segment before the verb", "/v1/:verb", 4, "empty segment before the verb `:verb`", "`/v1:verb`"),
        ("the root takes no verb", "/:verb", 1, "the verb `:verb` has no segment before it", "`/v1:verb`"),
        ("variables are closed", "/v1/{name", 4, "variable `{name` is not closed", "close it with `}`: `{name}`"),
        ("variables with segments are closed", "/v1/{name=shelves/*", 4, "`{name=shelves/*` is not closed", "`{name=shelves/*}`"),
        ("a field path is followed by `=` or `}`", "/v1/{name/books}", 9, "must continue with `=` or `}`", "`{name}`"),
        ("`}` closes a `{`", "/v1/name}", 8, "`}` has no matching `{`", "`/v1/{name}`"),
        ("`}` alone closes nothing", "/v1/}", 4, "no matching `{`", "`/v1`"),
        ("a variable is closed once", "/v1/{a}}", 7, "no matching `{`", "`/v1/{a}`"),
        ("variables do not nest", "/v1/{a={b}}", 7, "cannot be nested: `{` inside the variable `{a=`", "`/v1/{a=*}`"),
        ("variables do not nest in field paths", "/v1/{{a}}", 5, "cannot be nested: `{{` opens two at once", "`{a}`"),
        ("a variable has a field path", "/v1/{}", 5, "variable `{}` has no field path", "`/v1/{name}`"),
        ("a variable with `=` has a field path", "/v1/{=*}", 5, "no field path: `=` follows `{` directly", "`/v1/{name=*}`"),
        ("field names do not start with a digit", "/v1/{1a}", 5, "starts with a digit", "`{name}`"),
        ("field paths have no empty names", "/v1/{a..b}", 7, "empty name", "`/v1/{a.b}`"),
        ("field paths do not end with `.`", "/v1/{a.}", 6, "ends with `.`", "`/v1/{a}`"),
        ("field names hold letters, digits and `_`", "/v1/{a-b}", 6, "`-` cannot appear", "`/v1/{a_b}`"),
        ("a verb goes after the variable", "/v1/{name:cancel}", 9, "`:` cannot appear", "`{name}:cancel`"),
        ("`=` is followed by segments", "/v1/{name=}", 10, "nothing after `=`", "`/v1/{name}`"),
        ("`**` is not followed by a variable", "/v1/**/{x}", 4, "`**` is followed by a variable", "`/v1/*/{x}`"),
        ("`**` in a variable is not followed by another variable", "/v1/{a=**}/{b}", 7, "`**` is followed by a variable", "`/v1/{a=*}/{b}`"),
        ("`**` is not followed by `*`", "/v1/{a=**/*}", 7, "`**` is followed by `*`", "`/v1/{a=*/*}`"),
        ("`**` is not followed by `*` outside variables", "/v1/**/x/*", 4, "`**` is followed by `*`", "`/v1/*/x/*`"),
        ("there is at most one `**`", "/v1/**/**", 7, "more than one `**`", "`/v1/*/**`"),
        ("wildcards are `*` or `**`", "/v1/***", 6, "`***` is not a wildcard", "`/v1/*`"),
        ("`*` is not mixed into a literal", "/v1/a*", 5, "`*` is mixed into the literal `a*`", "`/v1/a%2A`"),
        ("`*` does not start a literal", "/v1/*a", 4, "mixed into", "`/v1/%2Aa`"),
        ("literals hold no spaces", "/v1/a b", 5, "a space is not allowed in the literal `a b`", "`/v1/a%20b`"),
        ("literals are ASCII", "/v1/caf\u{e9}", 7, "non-ASCII `\u{e9}` (U+00E9)", "`/v1/caf%C3%A9`"),
        ("literals hold no `\"`", "/v1/\"a\"", 4, "`\"` is not allowed", "`/v1/%22a%22`"),
        ("literals hold no `[`", "/v1/a[0]", 5, "`[` is not allowed", "`/v1/a%5B0%5D`"),
        ("templates have no query", "/v1/a?x=1", 5, "cannot contain a query string, but `?` starts one", "`/v1/a`"),
        ("templates have no fragment", "/v1/a#top", 5, "cannot contain a URL fragment, but `#` starts one", "`/v1/a`"),
        ("`%` starts an escape", "/v1/a%", 5, "`%` in the literal `a%` is not a percent escape", "`/v1/a%25`"),
        ("escapes have two digits", "/v1/a%2", 5, "`%2` in the literal", "`/v1/a%252`"),
        ("escapes have hex digits", "/v1/a%zz", 5, "`%zz` in the literal", "`/v1/a%25zz`"),
        ("`:` only starts the final verb", "/v1/a:b/c", 5, "`:` in the middle of the path", "`/v1/a%3Ab/c`"),
        ("`:` after a variable only starts the final verb", "/v1/{a}:b/c", 7, "`:` in the middle of the path", "`/v1/{a}/c:b`"),
        ("`:` is not inside a variable", "/v1/{a=b:c}", 8, "`:` in the literal `b:c` inside a variable", "`/v1/{a=b%3Ac}`"),
        ("the verb is not empty", "/v1/a:", 5, "verb after `:` is empty", "`/v1/a`"),
        ("verbs hold no spaces", "/v1/a:b c", 7, "a space is not allowed in the verb `b c`", "`/v1/a:b%20c`"),
        ("verbs are literals", "/v1/a:*", 6, "`*` is not allowed in the verb", "`/v1/a:%2A`"),
        ("a template has one verb", "/v1/a:b:c", 7, "second `:`", "`/v1/a:b%3Ac`"),
        ("a verb after a variable has no empty part", "/v1/{a}:b::c", 10, "empty part between two `:`", "`/v1/{a}:b:c`"),
        ("each part of a verb is a literal", "/v1/{a}:b:c d", 11, "a space is not allowed in the verb `c d`", "`/v1/{a}:b:c%20d`"),
        ("verbs hold no variables", "/v1/a:{b}", 6, "`{` is not allowed in the verb", "`/v1/a:%7Bb%7D`"),
        ("a variable does not start mid-segment", "/v1/a{b}", 5, "variable starts in the middle of a segment, after `a`", "`/v1/a/{b}`"),
        ("nothing follows a variable in its segment", "/v1/{a}b", 7, "`b` follows the variable `{a}` in the same segment", "`/v1/{a}/b`"),
        ("a field is bound once", "/v1/{a}/{a}", 9, "field `a` is bound twice", "`/v1/{a}/*`"),
        ("a dotted field is bound once", "/v1/{a.b}/{a.b=x/*}", 11, "field `a.b` is bound twice", "`/v1/{a.b}/x/*`"),
    ];

    #[test]
    fn invalid_templates_are_rejected_at_the_offending_character() {
        for &(rule, template, offset, message, fix) in INVALID {
            let e = match PathTemplate::parse(template) {
                Ok(t) => panic!("{rule}: {template:?} should be rejected, parsed as {t:?}"),
                Err(e) => e,
            };
            assert_eq!(e.offset, offset, "{rule}: offset for {template:?} ({e})");
            assert!(
                e.message.contains(message),
                "{rule}: message for {template:?} should contain {message:?}: {e}"
            );
            assert!(
                e.fix.contains(fix),
                "{rule}: fix for {template:?} should contain {fix:?}: {e}"
            );
        }
    }

    /// Each row has a single mistake, so the template its fix suggests must be valid.
    #[test]
    fn every_template_a_fix_suggests_is_valid() {
        for &(rule, template, ..) in INVALID {
            let e = PathTemplate::parse(template).unwrap_err();
            // Quoted pieces alternate with prose; templates are the quoted pieces starting with `/`.
            let suggested = e.fix.split('`').skip(1).step_by(2);
            for suggestion in suggested.filter(|s| s.starts_with('/')) {
                assert!(
                    PathTemplate::parse(suggestion).is_ok(),
                    "{rule}: fix for {template:?} suggests invalid {suggestion:?}: {e}"
                );
            }
        }
    }

    #[test]
    fn error_display_reads_message_offset_and_fix() {
        let e = PathTemplate::parse("/v1/{name").unwrap_err();
        assert_eq!(
            e.to_string(),
            "variable `{name` is not closed at offset 4; close it with `}`: `{name}`"
        );
    }

    #[test]
    fn shape_erases_variable_names_only() {
        let rows = [
            ("/", "/"),
            ("/v1/{id}", "/v1/*"),
            (
                "/v1/{name=shelves/*/books/*}:cancel",
                "/v1/shelves/*/books/*:cancel",
            ),
            ("/{resource=**}:getType", "/**:getType"),
            ("/v1/a%2fb:x%7e", "/v1/a%2Fb:x%7E"),
        ];
        for (template, shape) in rows {
            assert_eq!(parse(template).shape(), shape, "{template}");
        }
    }

    #[test]
    fn templates_matching_the_same_paths_have_the_same_shape() {
        let rows = [
            ("/v1/{id}", "/v1/{name}"),
            ("/v1/{x=**}", "/v1/**"),
            ("/v1/{name=shelves/*}", "/v1/shelves/{shelf}"),
            ("/v1/{a}:go", "/v1/*:go"),
            ("/v1/a%2fb", "/v1/a%2Fb"),
        ];
        for (a, b) in rows {
            assert_eq!(parse(a).shape(), parse(b).shape(), "{a} vs {b}");
        }
    }

    #[test]
    fn templates_matching_different_paths_have_different_shapes() {
        let rows = [
            ("/v1/*", "/v1/**"),
            ("/v1/*:get", "/v1/*:list"),
            ("/v1/*", "/v1/*:get"),
            ("/v1/a", "/v1/b"),
            ("/v1/{a}", "/v1/{a}/{b}"),
            ("/", "/v1"),
        ];
        for (a, b) in rows {
            assert_ne!(parse(a).shape(), parse(b).shape(), "{a} vs {b}");
        }
    }

    #[test]
    fn multi_before_literals_tells_templates_beyond_http_proto_grammar() {
        let rows = [
            ("/v1/{name=keys/**}/summary", true),
            ("/v1/**/a:go", true),
            ("/v1/{name=**/tail}", true),
            ("/v1/**", false),
            ("/v1/{a=**}:go", false),
            ("/v1/a/*", false),
            ("/", false),
        ];
        for (template, want) in rows {
            assert_eq!(parse(template).multi_before_literals(), want, "{template}");
        }
    }

    #[test]
    fn variable_for_names_the_variable_binding_each_segment() {
        let t = parse("/v1/{name=shelves/*}/books/{book}");
        let want = [None, Some("name"), Some("name"), None, Some("book"), None];
        for (segment, want) in want.into_iter().enumerate() {
            let got = t.variable_for(segment).map(|v| v.field_path.to_string());
            assert_eq!(got.as_deref(), want, "segment {segment}");
        }
    }

    #[test]
    fn field_paths_are_dotted_identifiers() {
        let valid = [
            ("a", &["a"][..]),
            ("shelf.name", &["shelf", "name"]),
            ("_x.y1.Z_", &["_x", "y1", "Z_"]),
        ];
        for (text, parts) in valid {
            let path = FieldPath::parse(text).unwrap_or_else(|| panic!("{text:?} is valid"));
            assert_eq!(path.0, parts, "{text}");
            assert_eq!(path.to_string(), text, "{text} round-trips");
        }
        for text in [
            "", ".", "a.", ".a", "a..b", "1a", "a.1b", "a-b", "a b", "a:b", "\u{e9}",
        ] {
            assert_eq!(FieldPath::parse(text), None, "{text:?} is not a field path");
        }
    }
}
