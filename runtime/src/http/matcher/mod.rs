//! The route matcher every generated `<service>_http` router shares: it maps a method and a raw
//! request path to the route whose `google.api.http` template matches, and to the values of the
//! template's variables (docs/reference.md section 4, "Routing").
//!
//! Generated code emits each template as a [`Template`] const and builds one [`Matcher`] per
//! router; a request is then one [`Matcher::find`]. The rules, in short:
//! - precedence is literal > `*` > `**`, segment by segment from the left, whatever the order the
//!   routes were declared in; a route whose path matches but whose method does not lets the next
//!   best route try;
//! - a variable of one segment (`{name}`) is fully percent-decoded; a variable of several
//!   (`{name=shelves/*}`, `{path=**}`) is decoded except for `%2F`, which stays as sent, so the
//!   value can still be split on `/`;
//! - a custom verb (`:cancel`) is split off only when some route registers it;
//! - one trailing `/` is ignored, an empty segment (`//`) never matches, and `**` may match no
//!   segment at all;
//! - literal segments after `**` (googleapis has `{name=.../cryptoKeys/**}/protectedResourcesSummary`)
//!   match the end of the path, and `**` takes what lies between.
//!
//! ```
//! use http::Method;
//! use rs_svc::http::matcher::{Matcher, MethodFilter, Segment, Template, Variable};
//!
//! // `/v1/{name=shelves/*}` and `/v1/shelves/{shelf}:archive`, as the plugin emits them.
//! const GET_SHELF: Template = Template {
//!     segments: &[Segment::Literal("v1"), Segment::Literal("shelves"), Segment::Single],
//!     variables: &[Variable { field: "name", start: 1, end: 3 }],
//!     verb: None,
//! };
//! const ARCHIVE: Template = Template {
//!     segments: &[Segment::Literal("v1"), Segment::Literal("shelves"), Segment::Single],
//!     variables: &[Variable { field: "shelf", start: 2, end: 3 }],
//!     verb: Some("archive"),
//! };
//! let matcher = Matcher::new([
//!     (MethodFilter::from(Method::GET), &GET_SHELF, "get"),
//!     (MethodFilter::from(Method::POST), &ARCHIVE, "archive"),
//! ]);
//!
//! let found = matcher.find(&Method::GET, "/v1/shelves/a%20b").unwrap();
//! assert_eq!(*found.route, "get");
//! assert_eq!(found.get("name"), Some("shelves/a b"));
//!
//! let found = matcher.find(&Method::POST, "/v1/shelves/s1:archive").unwrap();
//! assert_eq!((*found.route, found.get("shelf")), ("archive", Some("s1")));
//! ```

mod decode;
mod dispatch;
#[cfg(test)]
mod tests;
mod tree;
mod verbs;

use std::borrow::Cow;
use std::fmt;
use std::ops::ControlFlow;

use http::{HeaderValue, Method};

use decode::{bind, Path};
pub use dispatch::MethodFilter;
use tree::Node;

/// One `/`-separated piece of a path template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Segment {
    /// Matches a request segment with the same bytes once both are percent-decoded: the literal
    /// `a%62c` is the literal `abc`, and the literal `a%2Fb` matches the request segment `a%2Fb`
    /// (never the two segments `a/b`).
    Literal(&'static str),
    /// `*`: any one non-empty segment.
    Single,
    /// `**`: zero or more segments, the rest of the path. Literal segments may follow it: they
    /// match the last segments of the path, and `**` what lies before them. A template with
    /// anything else after `**` never matches.
    Multi,
}

/// A `{field=segments}` variable: the request field it sets and the segments it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Variable {
    /// The dotted field path, such as `shelf.name`.
    pub field: &'static str,
    /// First segment covered, an index into [`Template::segments`].
    pub start: usize,
    /// One past the last segment covered.
    pub end: usize,
}

/// A parsed, validated path template such as `/v1/{name=shelves/*/books/*}:cancel`: the static
/// data the plugin emits for each HTTP rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Template {
    /// Every segment in order, those inside variables included; empty for the root `/`.
    pub segments: &'static [Segment],
    /// The variables in order of appearance; they do not overlap.
    pub variables: &'static [Variable],
    /// The custom verb after the final `:`, without the `:`.
    pub verb: Option<&'static str>,
}

impl Template {
    /// The template of `segments` with `variables` and no verb, as generated route tables
    /// write it: `Template::new(&[Literal("v1"), Single], &[Variable::new("name", 1, 2)])`.
    pub const fn new(segments: &'static [Segment], variables: &'static [Variable]) -> Self {
        Template {
            segments,
            variables,
            verb: None,
        }
    }

    /// The template of `segments` with `variables` and the custom verb `verb` (without the `:`).
    pub const fn with_verb(
        segments: &'static [Segment],
        variables: &'static [Variable],
        verb: &'static str,
    ) -> Self {
        Template {
            segments,
            variables,
            verb: Some(verb),
        }
    }
}

/// The template as the rule wrote it, `/v1/{name=shelves/*}/books:cancel`; a variable over a
/// single `*` is written `{name}`.
impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            f.write_str("/")?;
        }
        let mut variables = self.variables.iter().peekable();
        let mut open: Option<&Variable> = None;
        for (position, segment) in self.segments.iter().enumerate() {
            let starts = variables.next_if(|v| v.start == position);
            f.write_str("/")?;
            if let Some(variable) = starts {
                let single = variable.end == position + 1 && matches!(segment, Segment::Single);
                if single {
                    write!(f, "{{{}}}", variable.field)?;
                    continue;
                }
                write!(f, "{{{}=", variable.field)?;
                open = Some(variable);
            }
            match segment {
                Segment::Literal(text) => f.write_str(text)?,
                Segment::Single => f.write_str("*")?,
                Segment::Multi => f.write_str("**")?,
            }
            if open.is_some_and(|v| v.end == position + 1) {
                f.write_str("}")?;
                open = None;
            }
        }
        if let Some(verb) = self.verb {
            write!(f, ":{verb}")?;
        }
        Ok(())
    }
}

impl Variable {
    /// The variable of `field` over segments `start..end`.
    pub const fn new(field: &'static str, start: usize, end: usize) -> Self {
        Variable { field, start, end }
    }
}

impl MethodFilter {
    /// `GET` (which also answers `HEAD` when no `HEAD` route does).
    pub const GET: MethodFilter = MethodFilter::Is(Method::GET);
    /// `PUT`.
    pub const PUT: MethodFilter = MethodFilter::Is(Method::PUT);
    /// `POST`.
    pub const POST: MethodFilter = MethodFilter::Is(Method::POST);
    /// `DELETE`.
    pub const DELETE: MethodFilter = MethodFilter::Is(Method::DELETE);
    /// `PATCH`.
    pub const PATCH: MethodFilter = MethodFilter::Is(Method::PATCH);
}

/// A successful match: the route and the values of its template's variables.
#[derive(Debug)]
pub struct Found<'a, R> {
    /// The route, as given to [`Matcher::new`].
    pub route: &'a R,
    /// The route's template.
    pub template: &'static Template,
    /// `(field path, value)` for each variable of the template, in template order. Values
    /// borrow from the request path unless decoding changed them.
    pub bindings: Vec<(&'static str, Cow<'a, str>)>,
}

impl<R> Found<'_, R> {
    /// The value bound to `field`, if the template has that variable.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.bindings
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| &**v)
    }
}

/// Why a request has no route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// No route matches the path (404).
    NotFound,
    /// Some route matches the path, none for this method (405).
    MethodNotAllowed {
        /// The methods some route would serve this path with, sorted by name, without
        /// duplicates, HEAD included when GET is. See [`RouteError::allow_header`].
        allow: Vec<Method>,
    },
    /// The path cannot be read: a malformed percent escape, or a variable that is not UTF-8
    /// once decoded (400).
    BadRequest(String),
}

impl RouteError {
    /// The `Allow` header value of a [`RouteError::MethodNotAllowed`], e.g. `GET, HEAD, POST`.
    pub fn allow_header(&self) -> Option<HeaderValue> {
        let RouteError::MethodNotAllowed { allow } = self else {
            return None;
        };
        let names: Vec<&str> = allow.iter().map(Method::as_str).collect();
        // Method names are tokens, so the joined list is always a valid header value.
        HeaderValue::from_str(&names.join(", ")).ok()
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::NotFound => f.write_str("no route matches the path"),
            RouteError::MethodNotAllowed { allow } => {
                f.write_str("method not allowed; allowed: ")?;
                for (i, method) in allow.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(method.as_str())?;
                }
                Ok(())
            }
            RouteError::BadRequest(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for RouteError {}

/// Routes, built once into a segment tree, looked up by method and path.
///
/// Building costs a little; a lookup splits the path once, then walks one tree node per
/// segment, trying the literal child, then the `*` child, then the `**` routes. It allocates
/// nothing but the bindings `Vec` and decoded values (for values with escapes), unless the
/// path has more than 16 segments.
#[derive(Debug)]
pub struct Matcher<R> {
    /// The tree; `nodes[0]` is the root, the node before the first segment.
    nodes: Vec<Node>,
    routes: Vec<Entry<R>>,
    /// Every verb some route registers, decoded, sorted, without duplicates.
    verbs: Vec<Box<[u8]>>,
}

#[derive(Debug)]
struct Entry<R> {
    method: MethodFilter,
    template: &'static Template,
    route: R,
    /// The template's verb, decoded.
    verb: Option<Box<[u8]>>,
    /// A variable is exactly the `**`, so the route must not match when `**` matches no
    /// segment: that variable would be empty.
    binds_bare_multi: bool,
    /// The literal segments after `**`, decoded; they must match the end of the path.
    suffix: Box<[Box<[u8]>]>,
}

impl<R> Matcher<R> {
    /// Builds the matcher. Declaration order matters only between routes with the same method
    /// and the same template shape (the plugin warns about those): the first one wins.
    ///
    /// The plugin validates templates; one it would reject is still accepted here without
    /// panicking: a template with `**` before its last segment never matches, a variable
    /// reaching past the segments binds the segments there are, and one covering no segment
    /// binds nothing.
    pub fn new(routes: impl IntoIterator<Item = (MethodFilter, &'static Template, R)>) -> Self {
        let mut matcher = Matcher {
            nodes: vec![Node::default()],
            routes: Vec::new(),
            verbs: Vec::new(),
        };
        for (method, template, route) in routes {
            matcher.insert(method, template, route);
        }
        for node in &mut matcher.nodes {
            node.index();
        }
        matcher.verbs.sort();
        matcher.verbs.dedup();
        matcher
    }

    /// Finds the route for `method` and `raw_path`, the path as received: still
    /// percent-encoded, without the query. A `?` and what follows it are ignored anyway, so
    /// passing the whole request target is harmless.
    ///
    /// Among the routes whose template matches the path, the most specific one (literal >
    /// `*` > `**`, from the left) that accepts the method wins. A route accepts its own
    /// method; [`MethodFilter::Any`] accepts every method; for HEAD, a HEAD route is preferred,
    /// then an `Any` route, then a GET route, within the most specific template that has any.
    ///
    /// When the last segment ends in `:verb` and some route registers that verb, the routes
    /// with that verb are tried first on the path without it, then every route on the whole
    /// path (`user:123` can be the value of `{id}`). The verb is what follows the last `:`
    /// that is not percent-encoded.
    ///
    /// # Errors
    ///
    /// [`RouteError::NotFound`] when no route matches the path (also for a path that does not
    /// start with `/` or has an empty segment), [`RouteError::MethodNotAllowed`] when some do
    /// but none for this method, [`RouteError::BadRequest`] for a malformed percent escape
    /// anywhere in the path or a bound value that is not UTF-8 once decoded. A path with both
    /// an empty segment and a malformed escape gets the error of the first one.
    pub fn find<'a>(
        &'a self,
        method: &Method,
        raw_path: &'a str,
    ) -> Result<Found<'a, R>, RouteError> {
        let mut path = Path::new(raw_path);
        path.split()?;

        let verbs = if self.verbs.is_empty() {
            Vec::new()
        } else {
            self.split_verbs(&path)
        };
        let whole_end = path.spans().last().map_or(0, |s| s.end as usize);
        // Whether some route matched the path, whatever its method.
        let mut matched = false;
        for (colon, verb) in &verbs {
            path.cut_last(*colon);
            let picked = self.walk(&path, 0, 0, &mut |ends, multi_at| {
                self.pick(&path, ends, Some(verb), method, multi_at, &mut matched)
            });
            if let ControlFlow::Break(index) = picked {
                return self.found(index, &path);
            }
            path.cut_last(whole_end);
        }
        let picked = self.walk(&path, 0, 0, &mut |ends, multi_at| {
            self.pick(&path, ends, None, method, multi_at, &mut matched)
        });
        if let ControlFlow::Break(index) = picked {
            return self.found(index, &path);
        }
        if !matched {
            return Err(RouteError::NotFound);
        }

        // No route for this method: say which methods would have had one.
        let mut allow = Vec::new();
        for (colon, verb) in &verbs {
            path.cut_last(*colon);
            self.collect_methods(&path, Some(verb), &mut allow);
            path.cut_last(whole_end);
        }
        self.collect_methods(&path, None, &mut allow);
        if allow.is_empty() {
            return Err(RouteError::NotFound);
        }
        if allow.contains(&Method::GET) {
            allow.push(Method::HEAD);
        }
        allow.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        allow.dedup();
        Err(RouteError::MethodNotAllowed { allow })
    }

    /// The match of route `index` on `path`, with its bindings.
    fn found<'a>(&'a self, index: usize, path: &Path<'a>) -> Result<Found<'a, R>, RouteError> {
        let entry = &self.routes[index];
        Ok(Found {
            route: &entry.route,
            template: entry.template,
            bindings: bind(entry.template, path)?,
        })
    }
}

#[cfg(test)]
mod const_builders {
    use super::{Method, MethodFilter, Segment, Template, Variable};

    #[test]
    fn template_and_method_constructors_build_the_literal_values() {
        const SEGMENTS: &[Segment] = &[Segment::Literal("v1"), Segment::Single];
        const VARIABLES: &[Variable] = &[Variable {
            field: "name",
            start: 1,
            end: 2,
        }];
        assert_eq!(Variable::new("name", 1, 2), VARIABLES[0]);
        assert_eq!(
            Template::new(SEGMENTS, VARIABLES),
            Template {
                segments: SEGMENTS,
                variables: VARIABLES,
                verb: None,
            }
        );
        assert_eq!(
            Template::with_verb(SEGMENTS, VARIABLES, "cancel"),
            Template {
                segments: SEGMENTS,
                variables: VARIABLES,
                verb: Some("cancel"),
            }
        );
        let methods = [
            (MethodFilter::GET, Method::GET),
            (MethodFilter::PUT, Method::PUT),
            (MethodFilter::POST, Method::POST),
            (MethodFilter::DELETE, Method::DELETE),
            (MethodFilter::PATCH, Method::PATCH),
        ];
        for (filter, method) in methods {
            assert_eq!(filter, MethodFilter::Is(method));
        }
    }
}
