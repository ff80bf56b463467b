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

use std::borrow::Cow;
use std::fmt;
use std::ops::ControlFlow;

use http::{HeaderValue, Method};

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

/// The methods a route answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MethodFilter {
    /// Exactly this method (GET routes also answer HEAD when no HEAD route does).
    Is(Method),
    /// Every method: the `custom` kind `*`.
    Any,
}

impl MethodFilter {
    /// The filter for the kind of a `custom` HTTP rule: `*` is [`MethodFilter::Any`], anything
    /// else the method of that name. `None` if the name is not a valid method token.
    ///
    /// ```
    /// use rs_svc::http::matcher::MethodFilter;
    ///
    /// assert_eq!(MethodFilter::custom("*"), Some(MethodFilter::Any));
    /// assert_eq!(MethodFilter::custom("HEAD"), Some(MethodFilter::Is(http::Method::HEAD)));
    /// assert_eq!(MethodFilter::custom("NOT A METHOD"), None);
    /// ```
    pub fn custom(kind: &str) -> Option<MethodFilter> {
        match kind {
            "*" => Some(MethodFilter::Any),
            _ => Method::from_bytes(kind.as_bytes())
                .ok()
                .map(MethodFilter::Is),
        }
    }
}

impl From<Method> for MethodFilter {
    fn from(method: Method) -> MethodFilter {
        MethodFilter::Is(method)
    }
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

#[derive(Debug, Default)]
struct Node {
    /// The [`tag`] of each literal child's text, sorted: a lookup compares integers, and text
    /// only past the 15th byte.
    tags: Vec<u128>,
    /// Each literal child's decoded text and index, in the order of `tags`.
    literals: Vec<(Box<[u8]>, usize)>,
    /// With more than [`SCANNED`] literal children: open addressing over them, by [`slot`];
    /// each slot holds an index into `tags` plus one, or 0 when empty.
    table: Box<[u32]>,
    /// The child for `*`.
    single: Option<usize>,
    /// Routes whose template ends at this node.
    end: Vec<usize>,
    /// Routes whose template ends with `**` right after this node.
    multi: Vec<usize>,
    /// Routes whose template has `**` right after this node, then literal segments; longest
    /// suffix first. They are tried before `multi`: a suffix that matches is more specific.
    multi_suffixed: Vec<usize>,
}

/// How many leading bytes a [`tag`] holds.
const TAGGED: usize = 15;

/// The first 15 bytes of `text` and its length (capped at 255) in one integer: equal texts
/// have equal tags, and texts of up to 15 bytes (most path segments) with equal tags are equal.
fn tag(text: &[u8]) -> u128 {
    tag_in(text, 0, text.len())
}

/// The [`tag`] of `bytes[start..end]`, read as one 16-byte word from `bytes` when it is long
/// enough, the bytes outside the segment masked or shifted off.
#[inline]
fn tag_in(bytes: &[u8], start: usize, end: usize) -> u128 {
    let len = end - start;
    let word = if let Some(Ok(word)) = bytes.get(start..start + 16).map(<[u8; 16]>::try_from) {
        u128::from_be_bytes(word)
    } else if let Some(Ok(word)) = end
        .checked_sub(16)
        .and_then(|from| bytes.get(from..end))
        .map(<[u8; 16]>::try_from)
    {
        // The 16 bytes ending with the segment: shift what precedes it off the top. Here
        // `len < 16`, or the first branch would have been taken.
        u128::from_be_bytes(word)
            .checked_shl(8 * (16 - len as u32))
            .unwrap_or(0)
    } else {
        let mut word = [0; 16];
        let n = len.min(16);
        word[..n].copy_from_slice(&bytes[start..start + n]);
        u128::from_be_bytes(word)
    };
    let kept = len.min(TAGGED) as u32;
    let mask = u128::MAX.checked_shl(128 - 8 * kept).unwrap_or(0);
    (word & mask) | len.min(255) as u128
}

/// Nodes with more literal children than this get a hash table.
const SCANNED: usize = 4;

/// The slot of `tag` in a table of `mask + 1` slots: a multiplicative hash of both halves.
#[inline]
fn slot(tag: u128, mask: usize) -> usize {
    let folded = (tag as u64) ^ ((tag >> 64) as u64).rotate_left(29);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
}

impl Node {
    /// The child for the literal `bytes[start..end]`.
    #[inline]
    fn literal(&self, bytes: &[u8], start: usize, end: usize) -> Option<usize> {
        let tag = tag_in(bytes, start, end);
        let text = &bytes[start..end];
        let is = |i: usize| {
            let key = &self.literals[i].0;
            self.tags[i] == tag && (text.len() <= TAGGED || key[TAGGED..] == text[TAGGED..])
        };
        if self.table.is_empty() {
            let i = (0..self.tags.len()).find(|&i| is(i))?;
            return Some(self.literals[i].1);
        }
        let mask = self.table.len() - 1;
        let mut at = slot(tag, mask);
        loop {
            let i = self.table[at].checked_sub(1)? as usize;
            if is(i) {
                return Some(self.literals[i].1);
            }
            at = (at + 1) & mask;
        }
    }

    /// Builds the hash table of the literal children, if there are many (the table is at
    /// most half full, so probes are short and always end at an empty slot).
    fn index(&mut self) {
        if self.tags.len() <= SCANNED {
            return;
        }
        let size = (self.tags.len() * 2).next_power_of_two();
        let mut table = vec![0u32; size];
        for (i, &tag) in self.tags.iter().enumerate() {
            let mut at = slot(tag, size - 1);
            while table[at] != 0 {
                at = (at + 1) & (size - 1);
            }
            table[at] = i as u32 + 1;
        }
        self.table = table.into();
    }
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

    fn insert(&mut self, method: MethodFilter, template: &'static Template, route: R) {
        let segments = template.segments;
        let multi_at = segments.iter().position(|s| *s == Segment::Multi);
        let suffix: Box<[Box<[u8]>]> = match multi_at {
            None => Box::default(),
            Some(at) => {
                let mut suffix = Vec::new();
                for segment in &segments[at + 1..] {
                    match segment {
                        Segment::Literal(text) => suffix.push(decode_literal(text)),
                        // Where `**` would end is ambiguous: such a route never matches.
                        _ => return,
                    }
                }
                suffix.into()
            }
        };
        let index = self.routes.len();
        let mut node = 0;
        for segment in segments {
            node = match *segment {
                Segment::Literal(text) => {
                    let key = decode_literal(text);
                    let tag = tag(&key);
                    let here = &self.nodes[node];
                    // Sorted by tag, then text; a linear search is fine at build time.
                    let at = here
                        .tags
                        .iter()
                        .zip(&here.literals)
                        .take_while(|(t, (k, _))| (**t, &**k) < (tag, &*key))
                        .count();
                    match here.literals.get(at) {
                        Some((k, child)) if here.tags[at] == tag && *k == key => *child,
                        _ => {
                            let child = self.new_node();
                            let here = &mut self.nodes[node];
                            here.tags.insert(at, tag);
                            here.literals.insert(at, (key, child));
                            child
                        }
                    }
                }
                Segment::Single => match self.nodes[node].single {
                    Some(child) => child,
                    None => {
                        let child = self.new_node();
                        self.nodes[node].single = Some(child);
                        child
                    }
                },
                Segment::Multi => break,
            };
        }
        if multi_at.is_some() && suffix.is_empty() {
            self.nodes[node].multi.push(index);
        } else if multi_at.is_some() {
            // Longest suffix first, in declaration order among equal lengths.
            let here = &self.nodes[node].multi_suffixed;
            let at = here
                .iter()
                .take_while(|&&i| self.routes[i].suffix.len() >= suffix.len())
                .count();
            self.nodes[node].multi_suffixed.insert(at, index);
        } else {
            self.nodes[node].end.push(index);
        }
        let verb = template.verb.map(decode_literal);
        if let Some(verb) = &verb {
            self.verbs.push(verb.clone());
        }
        let binds_bare_multi = multi_at.is_some_and(|at| {
            template
                .variables
                .iter()
                .any(|v| v.start == at && v.end == at + 1)
        });
        self.routes.push(Entry {
            method,
            template,
            route,
            verb,
            binds_bare_multi,
            suffix,
        });
    }

    fn new_node(&mut self) -> usize {
        self.nodes.push(Node::default());
        self.nodes.len() - 1
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

    /// Each registered verb the last segment ends with, after a `:`, with the offset of that
    /// `:`: the longest first. A verb is what follows the last `:`, or, for a verb holding `:`
    /// itself (grpc-gateway's `{uuid}:custom:custom`), an earlier one.
    fn split_verbs<'p>(&self, path: &Path<'p>) -> Vec<(usize, Cow<'p, [u8]>)> {
        let Some(last) = path.spans().last().copied() else {
            return Vec::new();
        };
        let segment = &path.text.as_bytes()[last.start as usize..last.end as usize];
        // `/v1/:cancel` has no segment before the verb; read it as the segment `:cancel`.
        (1..segment.len())
            .filter(|&colon| segment[colon] == b':')
            .filter_map(|colon| {
                let raw = &path.text[last.start as usize + colon + 1..last.end as usize];
                let verb = if last.escaped {
                    decode(raw, false).ok()?
                } else {
                    Cow::Borrowed(raw.as_bytes())
                };
                self.verbs.binary_search_by(|v| (**v).cmp(&*verb)).ok()?;
                Some((last.start as usize + colon, verb))
            })
            .collect()
    }

    /// Walks the tree from `node`, which has matched the segments before `at`, most specific
    /// branch first, calling `visit` with each set of routes whose template may match the whole
    /// path until it breaks. Routes ending at a node match outright (`None`); routes with `**`
    /// get the index of the first segment `**` would cover (`Some`), and [`Matcher::fits`]
    /// decides.
    fn walk<B>(
        &self,
        path: &Path<'_>,
        node: usize,
        at: usize,
        visit: &mut impl FnMut(&[usize], Option<usize>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        let node = &self.nodes[node];
        let Some(&span) = path.spans().get(at) else {
            if !node.end.is_empty() {
                visit(&node.end, None)?;
            }
            if !node.multi.is_empty() {
                visit(&node.multi, Some(at))?;
            }
            return ControlFlow::Continue(());
        };
        if !node.literals.is_empty() {
            let (start, end) = (span.start as usize, span.end as usize);
            let child = if span.escaped {
                // The path's escapes were checked already.
                decode(&path.text[start..end], false)
                    .ok()
                    .and_then(|text| node.literal(&text, 0, text.len()))
            } else {
                node.literal(path.text.as_bytes(), start, end)
            };
            if let Some(child) = child {
                self.walk(path, child, at + 1, visit)?;
            }
        }
        if let Some(child) = node.single {
            self.walk(path, child, at + 1, visit)?;
        }
        if !node.multi_suffixed.is_empty() {
            visit(&node.multi_suffixed, Some(at))?;
        }
        if !node.multi.is_empty() {
            visit(&node.multi, Some(at))?;
        }
        ControlFlow::Continue(())
    }

    /// Whether route `index`, reached by [`Matcher::walk`] with `multi_at`, matches `path`:
    /// its literals after `**` match the last segments, and a variable that is exactly `**`
    /// gets at least one segment.
    fn fits(&self, index: usize, path: &Path<'_>, multi_at: Option<usize>) -> bool {
        let Some(at) = multi_at else {
            return true;
        };
        let entry = &self.routes[index];
        let spans = path.spans();
        let Some(covered) = (spans.len() - at).checked_sub(entry.suffix.len()) else {
            return false;
        };
        if covered == 0 && entry.binds_bare_multi {
            return false;
        }
        let last = &spans[spans.len() - entry.suffix.len()..];
        entry.suffix.iter().zip(last).all(|(literal, span)| {
            let text = &path.text[span.start as usize..span.end as usize];
            if span.escaped {
                // The path's escapes were checked already.
                decode(text, false).is_ok_and(|text| *text == **literal)
            } else {
                text.as_bytes() == &**literal
            }
        })
    }

    /// The route of `ends` with verb `verb` that serves `method`, if any. Sets `matched` when
    /// some route of `ends` matches, whatever its method.
    fn pick(
        &self,
        path: &Path<'_>,
        ends: &[usize],
        verb: Option<&[u8]>,
        method: &Method,
        multi_at: Option<usize>,
        matched: &mut bool,
    ) -> ControlFlow<usize> {
        let mut any = None;
        let mut get = None;
        for &index in ends {
            let entry = &self.routes[index];
            if entry.verb.as_deref() != verb || !self.fits(index, path, multi_at) {
                continue;
            }
            *matched = true;
            match &entry.method {
                MethodFilter::Is(m) if m == method => return ControlFlow::Break(index),
                MethodFilter::Any => any = any.or(Some(index)),
                MethodFilter::Is(m) if *m == Method::GET && *method == Method::HEAD => {
                    get = get.or(Some(index))
                }
                MethodFilter::Is(_) => {}
            }
        }
        match any.or(get) {
            Some(index) => ControlFlow::Break(index),
            None => ControlFlow::Continue(()),
        }
    }

    /// Adds to `allow` the method of every route with verb `verb` matching `path`.
    fn collect_methods(&self, path: &Path<'_>, verb: Option<&[u8]>, allow: &mut Vec<Method>) {
        let _ = self.walk(path, 0, 0, &mut |ends, multi_at| {
            for &index in ends {
                let entry = &self.routes[index];
                if entry.verb.as_deref() != verb || !self.fits(index, path, multi_at) {
                    continue;
                }
                if let MethodFilter::Is(method) = &entry.method {
                    allow.push(method.clone());
                }
            }
            ControlFlow::<()>::Continue(())
        });
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

/// Paths of up to this many segments are split without allocating.
const INLINE: usize = 16;

/// One segment of a request path: its byte range in [`Path::text`].
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: u32,
    end: u32,
    /// The segment has percent escapes.
    escaped: bool,
}

/// A request path split into segments once, with its escapes checked.
struct Path<'p> {
    /// The raw path; spans index into it.
    text: &'p str,
    inline: [Span; INLINE],
    len: usize,
    /// All the spans instead, for paths with more than [`INLINE`] segments.
    heap: Vec<Span>,
}

impl<'p> Path<'p> {
    /// `raw`, not split yet.
    #[inline]
    fn new(raw: &'p str) -> Path<'p> {
        Path {
            text: raw,
            inline: [Span::default(); INLINE],
            len: 0,
            heap: Vec::new(),
        }
    }

    /// Splits the path at `/`, stopping at `?`. One trailing `/` is dropped.
    fn split(&mut self) -> Result<(), RouteError> {
        let bytes = self.text.as_bytes();
        // u32 offsets: a request target that long is no path anyway.
        if bytes.first() != Some(&b'/') || bytes.len() > u32::MAX as usize {
            return Err(RouteError::NotFound);
        }
        let mut span = Span {
            start: 1,
            end: 1,
            escaped: false,
        };
        let mut stop = bytes.len();
        // Eight bytes at a time, visiting only the `/`, `%` and `?` among them.
        let mut base = 1;
        'scan: while base < bytes.len() {
            let mut found = specials(word_at(bytes, base));
            while found != 0 {
                let i = base + found.trailing_zeros() as usize / 8;
                found &= found - 1;
                match bytes[i] {
                    b'/' => {
                        if i == span.start as usize {
                            return Err(RouteError::NotFound);
                        }
                        span.end = i as u32;
                        self.push(span);
                        span = Span {
                            start: i as u32 + 1,
                            end: 0,
                            escaped: false,
                        };
                    }
                    b'%' => {
                        if escape_at(bytes, i).is_none() {
                            return Err(bad_escape(&bytes[i..(i + 3).min(bytes.len())]));
                        }
                        span.escaped = true;
                    }
                    _ => {
                        stop = i;
                        break 'scan;
                    }
                }
            }
            base += 8;
        }
        // Nothing after the last `/`: the root, or a trailing `/` to drop (a second one would
        // have made an empty segment above).
        if stop > span.start as usize {
            span.end = stop as u32;
            self.push(span);
        }
        Ok(())
    }

    fn push(&mut self, span: Span) {
        if self.len < INLINE {
            self.inline[self.len] = span;
        } else {
            if self.heap.is_empty() {
                self.heap.extend_from_slice(&self.inline);
            }
            self.heap.push(span);
        }
        self.len += 1;
    }

    #[inline]
    fn spans(&self) -> &[Span] {
        if self.len <= INLINE {
            &self.inline[..self.len]
        } else {
            &self.heap
        }
    }

    /// Ends the last segment at byte `end`.
    fn cut_last(&mut self, end: usize) {
        let last = if self.len <= INLINE {
            self.inline[..self.len].last_mut()
        } else {
            self.heap.last_mut()
        };
        if let Some(last) = last {
            last.end = end as u32;
        }
    }
}

/// The value of each variable of `template` matched on `path`.
fn bind<'a>(
    template: &'static Template,
    path: &Path<'a>,
) -> Result<Vec<(&'static str, Cow<'a, str>)>, RouteError> {
    let segments = template.segments;
    let spans = path.spans();
    let multi_at = segments.iter().position(|s| *s == Segment::Multi);
    // The span where segment `i` (or the end of segment `i - 1`) falls: segments after `**`
    // match the last spans.
    let span_of = |i: usize| match multi_at {
        Some(m) if i > m => spans.len().saturating_sub(segments.len() - i),
        _ => i.min(spans.len()),
    };
    let mut bindings = Vec::with_capacity(template.variables.len());
    for variable in template.variables {
        let end = variable.end.min(segments.len());
        if variable.start >= end {
            continue;
        }
        let multi = multi_at.is_some_and(|m| (variable.start..end).contains(&m));
        // A `**` covering no segment leaves `start` at the end of the spans it covers.
        let start = span_of(variable.start);
        let covered = &spans[start..span_of(end).max(start)];
        let (Some(first), Some(last)) = (covered.first(), covered.last()) else {
            bindings.push((variable.field, Cow::Borrowed("")));
            continue;
        };
        let text = &path.text[first.start as usize..last.end as usize];
        let value = if !covered.iter().any(|s| s.escaped) {
            Cow::Borrowed(text)
        } else {
            match decode(text, multi || end - variable.start > 1) {
                Ok(Cow::Borrowed(_)) => Cow::Borrowed(text),
                Ok(Cow::Owned(bytes)) => Cow::Owned(String::from_utf8(bytes).map_err(|_| {
                    RouteError::BadRequest(format!(
                        "the value of path variable `{}` is not UTF-8 once percent-decoded",
                        variable.field
                    ))
                })?),
                Err(escape) => return Err(bad_escape(escape)),
            }
        };
        bindings.push((variable.field, value));
    }
    Ok(bindings)
}

/// `bytes[base..base + 8]` as a little-endian word, zero bytes standing in past the end.
#[inline]
fn word_at(bytes: &[u8], base: usize) -> u64 {
    if let Some(Ok(word)) = bytes.get(base..base + 8).map(<[u8; 8]>::try_from) {
        return u64::from_le_bytes(word);
    }
    if let Some(Ok(word)) = bytes
        .len()
        .checked_sub(8)
        .and_then(|from| bytes.get(from..))
        .map(<[u8; 8]>::try_from)
    {
        // The last 8 bytes, with those before `base` shifted off.
        return u64::from_le_bytes(word) >> (8 * (base + 8 - bytes.len()));
    }
    let mut word = [0; 8];
    for (w, b) in word.iter_mut().zip(&bytes[base..]) {
        *w = *b;
    }
    u64::from_le_bytes(word)
}

/// The high bit of each byte of `word` that is `/`, `%` or `?`, exactly (no carries between
/// bytes).
#[inline]
fn specials(word: u64) -> u64 {
    const LOW7: u64 = u64::from_le_bytes([0x7f; 8]);
    let zeros = |x: u64| !(((x & LOW7) + LOW7) | x | LOW7);
    let each = |b: u8| u64::from_le_bytes([b; 8]);
    zeros(word ^ each(b'/')) | zeros(word ^ each(b'%')) | zeros(word ^ each(b'?'))
}

fn bad_escape(escape: &[u8]) -> RouteError {
    RouteError::BadRequest(format!(
        "`{}` in the path is not a percent escape (`%` and two hex digits)",
        String::from_utf8_lossy(escape)
    ))
}

/// The octet of the escape at `bytes[at]` (a `%`), if well-formed.
fn escape_at(bytes: &[u8], at: usize) -> Option<u8> {
    let hi = hex(*bytes.get(at + 1)?)?;
    let lo = hex(*bytes.get(at + 2)?)?;
    Some(hi << 4 | lo)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `text` in one pass; with `keep_slash`, `%2F`/`%2f` stay as sent. Borrows
/// when decoding changes nothing. The error is the malformed escape.
fn decode(text: &str, keep_slash: bool) -> Result<Cow<'_, [u8]>, &[u8]> {
    let bytes = text.as_bytes();
    let Some(first) = bytes.iter().position(|&b| b == b'%') else {
        return Ok(Cow::Borrowed(bytes));
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..first]);
    let mut i = first;
    let mut changed = false;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match escape_at(bytes, i) {
            Some(b'/') if keep_slash => out.extend_from_slice(&bytes[i..i + 3]),
            Some(octet) => {
                out.push(octet);
                changed = true;
            }
            None => return Err(&bytes[i..(i + 3).min(bytes.len())]),
        }
        i += 3;
    }
    Ok(if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(bytes)
    })
}

/// A template literal (segment or verb) as the bytes it matches; a malformed escape, which the
/// plugin rejects, is taken as written.
fn decode_literal(text: &str) -> Box<[u8]> {
    match decode(text, false) {
        Ok(bytes) => bytes.into(),
        Err(_) => text.as_bytes().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses the template syntax of `google.api.http` (valid input only) into leaked statics,
    /// so that tables can be written as text.
    fn template(src: &str) -> &'static Template {
        fn leak(s: &str) -> &'static str {
            Box::leak(s.to_owned().into_boxed_str())
        }
        fn segment(text: &str) -> Segment {
            match text {
                "*" => Segment::Single,
                "**" => Segment::Multi,
                _ => Segment::Literal(leak(text)),
            }
        }
        let body = src.strip_prefix('/').expect("templates start with /");
        // Split the verb and the segments at `:` and `/` outside braces.
        let (mut depth, mut parts, mut start, mut verb) = (0, Vec::new(), 0, None);
        for (i, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                '/' if depth == 0 => {
                    parts.push(&body[start..i]);
                    start = i + 1;
                }
                ':' if depth == 0 => {
                    verb = Some(leak(&body[i + 1..]));
                    break;
                }
                _ => {}
            }
        }
        let end = verb.map_or(body.len(), |v| body.len() - v.len() - 1);
        if end > start || !parts.is_empty() {
            parts.push(&body[start..end]);
        }
        let (mut segments, mut variables) = (Vec::new(), Vec::new());
        for part in parts {
            match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(inner) => {
                    let (field, bound) = inner.split_once('=').unwrap_or((inner, "*"));
                    let start = segments.len();
                    segments.extend(bound.split('/').map(segment));
                    variables.push(Variable {
                        field: leak(field),
                        start,
                        end: segments.len(),
                    });
                }
                None => segments.push(segment(part)),
            }
        }
        Box::leak(Box::new(Template {
            segments: Box::leak(segments.into_boxed_slice()),
            variables: Box::leak(variables.into_boxed_slice()),
            verb,
        }))
    }

    /// What a lookup should give.
    #[derive(Debug)]
    enum Want {
        /// This route (named after its template in the tables) with these bindings.
        Route(&'static str, &'static [(&'static str, &'static str)]),
        NotFound,
        /// 405 with this `Allow` value.
        NotAllowed(&'static str),
        BadRequest,
    }
    use Want::*;

    /// Routes as `(method or "*", template, name)`.
    fn matcher(routes: &[(&str, &'static str, &'static str)]) -> Matcher<&'static str> {
        Matcher::new(routes.iter().map(|&(method, src, name)| {
            let filter = MethodFilter::custom(method).expect("valid method");
            (filter, template(src), name)
        }))
    }

    /// Looks up every `(method, path, want)` case and reports every mismatch at once.
    fn check(matcher: &Matcher<&'static str>, cases: &[(&str, &str, Want)]) {
        let mut failures = Vec::new();
        for (method, path, want) in cases {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let got = matcher.find(&method, path);
            let ok = match (&got, want) {
                (Ok(found), Route(name, bindings)) => {
                    let got: Vec<(&str, &str)> =
                        found.bindings.iter().map(|(f, v)| (*f, &**v)).collect();
                    *found.route == *name && got == *bindings
                }
                (Err(RouteError::NotFound), NotFound) => true,
                (Err(e @ RouteError::MethodNotAllowed { .. }), NotAllowed(allow)) => {
                    e.allow_header().unwrap() == *allow
                }
                (Err(RouteError::BadRequest(_)), BadRequest) => true,
                _ => false,
            };
            if !ok {
                failures.push(format!("{method} {path}: want {want:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn literal_beats_single_beats_multi_whatever_the_declaration_order() {
        let routes = [
            ("GET", "/v1/shelves/special", "literal"),
            ("GET", "/v1/shelves/{shelf}", "single"),
            ("GET", "/v1/{name=shelves/*}/books", "shelf-books"),
            ("GET", "/v1/{name=**}", "multi"),
            ("GET", "/v1/*/books", "any-books"),
            ("GET", "/v1/a/{rest=**}", "a-multi"),
        ];
        let cases = [
            ("GET", "/v1/shelves/special", Route("literal", &[])),
            ("GET", "/v1/shelves/s1", Route("single", &[("shelf", "s1")])),
            (
                "GET",
                "/v1/shelves/s1/books",
                Route("shelf-books", &[("name", "shelves/s1")]),
            ),
            ("GET", "/v1/other/books", Route("any-books", &[])),
            // Decided at the first segment that differs: literal `a` beats `*`.
            ("GET", "/v1/a/books", Route("a-multi", &[("rest", "books")])),
            ("GET", "/v1/shelves", Route("multi", &[("name", "shelves")])),
            (
                "GET",
                "/v1/shelves/s1/books/b1",
                Route("multi", &[("name", "shelves/s1/books/b1")]),
            ),
        ];
        check(&matcher(&routes), &cases);
        let mut reversed = routes;
        reversed.reverse();
        check(&matcher(&reversed), &cases);
    }

    #[test]
    fn a_route_with_another_method_lets_the_next_most_specific_route_match() {
        let m = matcher(&[
            ("GET", "/v1/shelves/special", "special"),
            ("POST", "/v1/shelves/{shelf}", "post-shelf"),
            ("DELETE", "/v1/{name=**}", "delete-any"),
        ]);
        check(
            &m,
            &[
                ("GET", "/v1/shelves/special", Route("special", &[])),
                (
                    "POST",
                    "/v1/shelves/special",
                    Route("post-shelf", &[("shelf", "special")]),
                ),
                (
                    "DELETE",
                    "/v1/shelves/special",
                    Route("delete-any", &[("name", "shelves/special")]),
                ),
            ],
        );
    }

    #[test]
    fn single_segment_variable_is_fully_decoded() {
        let m = matcher(&[
            ("GET", "/v1/{name}", "single"),
            ("GET", "/v1/literal/{id=abc}", "literal-var"),
        ]);
        check(
            &m,
            &[
                ("GET", "/v1/a%2Fb", Route("single", &[("name", "a/b")])),
                ("GET", "/v1/a%2fb", Route("single", &[("name", "a/b")])),
                (
                    "GET",
                    "/v1/a%20b%3Ac",
                    Route("single", &[("name", "a b:c")]),
                ),
                ("GET", "/v1/caf%C3%A9", Route("single", &[("name", "café")])),
                ("GET", "/v1/café", Route("single", &[("name", "café")])),
                ("GET", "/v1/a+b", Route("single", &[("name", "a+b")])),
                // A variable over one literal segment is a single-segment variable too.
                (
                    "GET",
                    "/v1/literal/a%62c",
                    Route("literal-var", &[("id", "abc")]),
                ),
            ],
        );
    }

    #[test]
    fn multi_segment_variable_keeps_encoded_slash() {
        let m = matcher(&[
            ("GET", "/v1/{name=shelves/*}", "shelf"),
            ("GET", "/v2/{path=**}", "multi"),
            ("GET", "/v3/{name=shelves/*}/{book=books/*}", "two"),
        ]);
        check(
            &m,
            &[
                (
                    "GET",
                    "/v1/shelves/a%2Fb",
                    Route("shelf", &[("name", "shelves/a%2Fb")]),
                ),
                (
                    "GET",
                    "/v1/shelves/a%2fb%20c",
                    Route("shelf", &[("name", "shelves/a%2fb c")]),
                ),
                (
                    "GET",
                    "/v2/a/b%2Fc/d",
                    Route("multi", &[("path", "a/b%2Fc/d")]),
                ),
                ("GET", "/v2/x%41", Route("multi", &[("path", "xA")])),
                (
                    "GET",
                    "/v3/shelves/s%2F1/books/b%201",
                    Route("two", &[("name", "shelves/s%2F1"), ("book", "books/b 1")]),
                ),
            ],
        );
    }

    #[test]
    fn percent_is_decoded_once() {
        let m = matcher(&[
            ("GET", "/v1/{name}", "single"),
            ("GET", "/v2/{name=**}", "multi"),
        ]);
        check(
            &m,
            &[
                ("GET", "/v1/a%25b", Route("single", &[("name", "a%b")])),
                ("GET", "/v1/a%252Fb", Route("single", &[("name", "a%2Fb")])),
                ("GET", "/v2/a/%252F", Route("multi", &[("name", "a/%2F")])),
            ],
        );
    }

    #[test]
    fn malformed_escape_or_non_utf8_value_is_bad_request() {
        let m = matcher(&[
            ("GET", "/v1/{name}", "single"),
            ("GET", "/v1/{a}/x", "single-x"),
            ("GET", "/v2/{name=**}", "multi"),
        ]);
        check(
            &m,
            &[
                ("GET", "/v1/%zz", BadRequest),
                ("GET", "/v1/%4", BadRequest),
                ("GET", "/v1/a%", BadRequest),
                ("GET", "/v1/%é", BadRequest),
                // Anywhere in the path, even where no route looks.
                ("GET", "/v1/a/%zz", BadRequest),
                ("GET", "/nothing/%g0", BadRequest),
                ("GET", "/v2/ok/%4x", BadRequest),
                ("GET", "/v1/%FF", BadRequest),
                ("GET", "/v1/%C3", BadRequest),
                ("GET", "/v2/a/%FF", BadRequest),
                ("GET", "/v1/%FF/x", BadRequest),
            ],
        );
        let err = m.find(&Method::GET, "/v1/%zz").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`%zz` in the path is not a percent escape (`%` and two hex digits)"
        );
    }

    #[test]
    fn literal_matches_after_decoding_both_sides() {
        let m = matcher(&[
            ("GET", "/v1/abc", "abc"),
            // Written with escapes: the plugin requires `%3A` for a literal `:`.
            ("GET", "/v1/a%3Ab", "colon"),
            ("GET", "/v1/x%2Fy", "encoded-slash"),
            ("GET", "/v1/%FF", "non-utf8"),
        ]);
        check(
            &m,
            &[
                ("GET", "/v1/abc", Route("abc", &[])),
                ("GET", "/v1/a%62c", Route("abc", &[])),
                ("GET", "/v1/%61%62%63", Route("abc", &[])),
                ("GET", "/v1/ABC", NotFound),
                ("GET", "/v1/a:b", Route("colon", &[])),
                ("GET", "/v1/a%3ab", Route("colon", &[])),
                ("GET", "/v1/x%2fy", Route("encoded-slash", &[])),
                ("GET", "/v1/x/y", NotFound),
                ("GET", "/v1/%ff", Route("non-utf8", &[])),
            ],
        );
    }

    #[test]
    fn verb_is_split_off_only_when_some_route_registers_it() {
        let m = matcher(&[
            ("GET", "/v1/users/{id}", "get"),
            ("POST", "/v1/users/{id}:activate", "activate"),
            ("GET", "/{resource=**}:getType", "get-type"),
            ("POST", "/v1/a%3Ab:do%2Dit", "escaped-verb"),
        ]);
        check(
            &m,
            &[
                (
                    "GET",
                    "/v1/users/user:123",
                    Route("get", &[("id", "user:123")]),
                ),
                ("GET", "/v1/users/u1", Route("get", &[("id", "u1")])),
                (
                    "POST",
                    "/v1/users/u1:activate",
                    Route("activate", &[("id", "u1")]),
                ),
                (
                    "POST",
                    "/v1/users/a:b:activate",
                    Route("activate", &[("id", "a:b")]),
                ),
                (
                    "GET",
                    "/people:getType",
                    Route("get-type", &[("resource", "people")]),
                ),
                (
                    "GET",
                    "/v1/people/p1:getType",
                    Route("get-type", &[("resource", "v1/people/p1")]),
                ),
                ("POST", "/v1/a:b:do-it", Route("escaped-verb", &[])),
                ("POST", "/v1/a%3Ab:do%2dit", Route("escaped-verb", &[])),
                // An encoded `:` does not start a verb.
                ("POST", "/v1/users/u1%3Aactivate", NotAllowed("GET, HEAD")),
                (
                    "GET",
                    "/v1/users/:activate",
                    Route("get", &[("id", ":activate")]),
                ),
                ("GET", "/v1/users:activate", NotFound),
            ],
        );
    }

    #[test]
    fn a_verb_holding_a_colon_is_matched_as_a_suffix_of_the_last_segment() {
        // grpc-gateway's `{uuid}:custom:custom`: the longest registered verb is tried first,
        // then shorter ones, then the path without a verb.
        let m = matcher(&[
            ("POST", "/v1/notes/{id}:check:twice", "twice"),
            ("POST", "/v1/notes/{id}:twice", "once"),
            ("GET", "/v1/notes/{id}", "get"),
        ]);
        check(
            &m,
            &[
                (
                    "POST",
                    "/v1/notes/n1:check:twice",
                    Route("twice", &[("id", "n1")]),
                ),
                (
                    "POST",
                    "/v1/notes/a:b:check:twice",
                    Route("twice", &[("id", "a:b")]),
                ),
                ("POST", "/v1/notes/n1:twice", Route("once", &[("id", "n1")])),
                (
                    "POST",
                    "/v1/notes/:check:twice",
                    Route("once", &[("id", ":check")]),
                ),
                (
                    "GET",
                    "/v1/notes/n1:check:twice",
                    Route("get", &[("id", "n1:check:twice")]),
                ),
                ("POST", "/v1/notes/n1:check", NotAllowed("GET, HEAD")),
            ],
        );
    }

    #[test]
    fn verb_routes_fall_back_to_the_path_without_verb_interpretation() {
        let m = matcher(&[
            ("GET", "/v1/users/{id}", "get"),
            ("POST", "/v1/users/{id}:cancel", "cancel"),
            ("POST", "/v1/jobs/{id}:cancel", "job-cancel"),
        ]);
        check(
            &m,
            &[
                // `cancel` is registered but no GET route has it: `{id}` takes `u1:cancel`.
                (
                    "GET",
                    "/v1/users/u1:cancel",
                    Route("get", &[("id", "u1:cancel")]),
                ),
                (
                    "POST",
                    "/v1/users/u1:cancel",
                    Route("cancel", &[("id", "u1")]),
                ),
                (
                    "DELETE",
                    "/v1/users/u1:cancel",
                    NotAllowed("GET, HEAD, POST"),
                ),
                ("GET", "/v1/jobs/j1:cancel", NotAllowed("POST")),
                ("GET", "/v1/jobs/j1", NotFound),
            ],
        );
    }

    #[test]
    fn one_trailing_slash_is_ignored() {
        let m = matcher(&[
            ("GET", "/x", "x"),
            ("GET", "/v1/{name}", "single"),
            ("POST", "/v1/{name}:go", "verb"),
        ]);
        check(
            &m,
            &[
                ("GET", "/x/", Route("x", &[])),
                ("GET", "/x", Route("x", &[])),
                ("GET", "/v1/a/", Route("single", &[("name", "a")])),
                ("POST", "/v1/a:go/", Route("verb", &[("name", "a")])),
                ("GET", "/x//", NotFound),
            ],
        );
    }

    #[test]
    fn empty_segment_never_matches_and_double_slash_is_not_found() {
        let m = matcher(&[
            ("GET", "/v1/{name}", "single"),
            ("GET", "/v1/{a}/{b}", "two"),
            ("GET", "/v2/{p=**}", "multi"),
            ("GET", "/{p=**}", "root-multi"),
            ("GET", "/", "root"),
        ]);
        check(
            &m,
            &[
                ("GET", "/v1//", NotFound),
                ("GET", "/v1//b", NotFound),
                ("GET", "/v2/a//b", NotFound),
                ("GET", "//v1/a", NotFound),
                ("GET", "//", NotFound),
                ("GET", "/v1/a//", NotFound),
                ("GET", "", NotFound),
                ("GET", "v1/a", NotFound),
            ],
        );
    }

    #[test]
    fn multi_matches_zero_segments_but_never_binds_an_empty_value() {
        let m = matcher(&[
            ("GET", "/v1/{name=files/**}", "files"),
            ("GET", "/v2/{p=**}", "bare"),
            ("GET", "/v3/**", "unbound"),
        ]);
        check(
            &m,
            &[
                ("GET", "/v1/files", Route("files", &[("name", "files")])),
                ("GET", "/v1/files/", Route("files", &[("name", "files")])),
                (
                    "GET",
                    "/v1/files/a/b",
                    Route("files", &[("name", "files/a/b")]),
                ),
                ("GET", "/v2", NotFound),
                ("GET", "/v2/x", Route("bare", &[("p", "x")])),
                ("GET", "/v3", Route("unbound", &[])),
                ("GET", "/v3/a/b", Route("unbound", &[])),
            ],
        );
    }

    #[test]
    fn literals_after_multi_match_the_end_of_the_path_and_multi_takes_the_rest() {
        let routes = [
            (
                "GET",
                "/v1/{name=projects/*/cryptoKeys/**}/protectedResourcesSummary",
                "summary",
            ),
            ("GET", "/v1/{name=projects/*/cryptoKeys/**}", "key"),
            ("GET", "/v2/{name=schemas/**}/schema", "schema"),
            ("GET", "/v2/{parent=schemas/**}/versions", "versions"),
            ("POST", "/v3/**/a/b:go", "verb"),
            ("GET", "/v4/{name=**}/x", "bare"),
            ("GET", "/v5/*/tail", "single-tail"),
            ("GET", "/v5/{rest=**}/tail", "multi-tail"),
            ("GET", "/v6/{name=**/tail}", "in-variable"),
        ];
        let key = |v: &'static str| Route("key", Box::leak(Box::new([("name", v)])));
        let summary = |v: &'static str| Route("summary", Box::leak(Box::new([("name", v)])));
        let cases = [
            (
                "GET",
                "/v1/projects/p/cryptoKeys/k1/protectedResourcesSummary",
                summary("projects/p/cryptoKeys/k1"),
            ),
            (
                "GET",
                "/v1/projects/p/cryptoKeys/a/b/protectedResourcesSummary",
                summary("projects/p/cryptoKeys/a/b"),
            ),
            // `**` may cover no segment.
            (
                "GET",
                "/v1/projects/p/cryptoKeys/protectedResourcesSummary",
                summary("projects/p/cryptoKeys"),
            ),
            (
                "GET",
                "/v1/projects/p/cryptoKeys/k1/protectedResourcesSummary/",
                summary("projects/p/cryptoKeys/k1"),
            ),
            // Multi-segment decoding: `%2F` stays; the literal matches once decoded.
            (
                "GET",
                "/v1/projects/p/cryptoKeys/a%2Fb/protectedResourcesSummary",
                summary("projects/p/cryptoKeys/a%2Fb"),
            ),
            (
                "GET",
                "/v1/projects/p/cryptoKeys/k/protected%52esourcesSummary",
                summary("projects/p/cryptoKeys/k"),
            ),
            // Without the suffix, the plain `**` route takes it all.
            (
                "GET",
                "/v1/projects/p/cryptoKeys/k1",
                key("projects/p/cryptoKeys/k1"),
            ),
            (
                "GET",
                "/v1/projects/p/cryptoKeys/k1/other",
                key("projects/p/cryptoKeys/k1/other"),
            ),
            (
                "DELETE",
                "/v1/projects/p/cryptoKeys/k1/protectedResourcesSummary",
                NotAllowed("GET, HEAD"),
            ),
            (
                "GET",
                "/v2/schemas/s1/schema",
                Route("schema", &[("name", "schemas/s1")]),
            ),
            (
                "GET",
                "/v2/schemas/ctx/s1/versions",
                Route("versions", &[("parent", "schemas/ctx/s1")]),
            ),
            ("GET", "/v2/schemas/s1/other", NotFound),
            ("GET", "/v2/schema", NotFound),
            ("POST", "/v3/a/b:go", Route("verb", &[])),
            ("POST", "/v3/x/y/a/b:go", Route("verb", &[])),
            ("GET", "/v3/x/a/b:go", NotAllowed("POST")),
            ("POST", "/v3/x/a/c:go", NotFound),
            // A variable that is exactly `**` never binds an empty value.
            ("GET", "/v4/x", NotFound),
            ("GET", "/v4/y/x", Route("bare", &[("name", "y")])),
            ("GET", "/v4/y/z/x", Route("bare", &[("name", "y/z")])),
            // Precedence still holds: `*` beats `**`.
            ("GET", "/v5/a/tail", Route("single-tail", &[])),
            (
                "GET",
                "/v5/a/b/tail",
                Route("multi-tail", &[("rest", "a/b")]),
            ),
            (
                "GET",
                "/v6/a/b/tail",
                Route("in-variable", &[("name", "a/b/tail")]),
            ),
            ("GET", "/v6/tail", Route("in-variable", &[("name", "tail")])),
        ];
        check(&matcher(&routes), &cases);
        let mut reversed = routes;
        reversed.reverse();
        check(&matcher(&reversed), &cases);
    }

    #[test]
    fn unknown_path_is_not_found_and_wrong_method_lists_the_allowed_ones() {
        let m = matcher(&[
            ("GET", "/v1/shelves/{shelf}", "get"),
            ("DELETE", "/v1/shelves/{shelf}", "delete"),
            ("PATCH", "/v1/{name=shelves/*}", "patch"),
            ("POST", "/v1/{p=**}", "post-any"),
            ("PUT", "/v1/shelves/{shelf}:move", "move"),
            ("GET", "/v1/shelves/{shelf}", "get-duplicate"),
        ]);
        check(
            &m,
            &[
                ("GET", "/v2/shelves/s1", NotFound),
                ("GET", "/v1/shelves/s1/books", NotAllowed("POST")),
                (
                    "PUT",
                    "/v1/shelves/s1",
                    NotAllowed("DELETE, GET, HEAD, PATCH, POST"),
                ),
                (
                    "OPTIONS",
                    "/v1/shelves/s1",
                    NotAllowed("DELETE, GET, HEAD, PATCH, POST"),
                ),
                // `move` is registered, but GET falls back to the path without a verb.
                (
                    "GET",
                    "/v1/shelves/s1:move",
                    Route("get", &[("shelf", "s1:move")]),
                ),
                (
                    "OPTIONS",
                    "/v1/shelves/s1:move",
                    NotAllowed("DELETE, GET, HEAD, PATCH, POST, PUT"),
                ),
                ("GET", "/v1/shelves/s1", Route("get", &[("shelf", "s1")])),
            ],
        );
        assert_eq!(RouteError::NotFound.allow_header(), None);
    }

    #[test]
    fn head_is_served_by_get_unless_a_head_or_any_route_is() {
        let m = matcher(&[
            ("GET", "/a", "get-a"),
            ("GET", "/b", "get-b"),
            ("HEAD", "/b", "head-b"),
            ("GET", "/c", "get-c"),
            ("*", "/c", "any-c"),
            ("POST", "/d", "post-d"),
        ]);
        check(
            &m,
            &[
                ("HEAD", "/a", Route("get-a", &[])),
                ("HEAD", "/b", Route("head-b", &[])),
                ("GET", "/b", Route("get-b", &[])),
                ("HEAD", "/c", Route("any-c", &[])),
                ("HEAD", "/d", NotAllowed("POST")),
                ("POST", "/a", NotAllowed("GET, HEAD")),
            ],
        );
    }

    #[test]
    fn any_and_custom_methods_match() {
        let m = matcher(&[
            ("*", "/v1/{name=**}", "any"),
            ("PURGE", "/v1/cache/{key}", "purge"),
            ("GET", "/v1/cache/{key}", "get"),
        ]);
        check(
            &m,
            &[
                ("PURGE", "/v1/cache/k", Route("purge", &[("key", "k")])),
                ("GET", "/v1/cache/k", Route("get", &[("key", "k")])),
                ("POST", "/v1/cache/k", Route("any", &[("name", "cache/k")])),
                ("BREW", "/v1/x", Route("any", &[("name", "x")])),
                ("DELETE", "/v2", NotFound),
            ],
        );
        assert_eq!(MethodFilter::custom("*"), Some(MethodFilter::Any));
        assert_eq!(
            MethodFilter::custom("PURGE"),
            Some(MethodFilter::Is(Method::from_bytes(b"PURGE").unwrap()))
        );
        assert_eq!(MethodFilter::custom("a b"), None);
    }

    #[test]
    fn root_template_matches_only_the_root() {
        let m = matcher(&[("GET", "/", "root"), ("GET", "/{p=**}", "rest")]);
        check(
            &m,
            &[
                ("GET", "/", Route("root", &[])),
                ("GET", "/a", Route("rest", &[("p", "a")])),
                ("POST", "/", NotAllowed("GET, HEAD")),
            ],
        );
        let only_rest = matcher(&[("GET", "/**", "rest")]);
        check(&only_rest, &[("GET", "/", Route("rest", &[]))]);
    }

    #[test]
    fn query_string_is_ignored_if_present() {
        let m = matcher(&[("GET", "/v1/{name}", "single")]);
        check(
            &m,
            &[
                ("GET", "/v1/a?x=1", Route("single", &[("name", "a")])),
                ("GET", "/v1/a/?x=%zz", Route("single", &[("name", "a")])),
                ("GET", "/v1/a%3F?b", Route("single", &[("name", "a?")])),
                ("GET", "/v1?/a", NotFound),
            ],
        );
    }

    #[test]
    fn several_variables_bind_in_template_order() {
        let m = matcher(&[
            (
                "GET",
                "/v1/projects/{project}/locations/{location}/instances/{instance}",
                "get",
            ),
            (
                "POST",
                "/v1/{parent.name=projects/*/locations/*}/instances:batch",
                "batch",
            ),
            ("GET", "/v1/{a}/{b}/x/{c=**}", "mixed"),
        ]);
        check(
            &m,
            &[
                (
                    "GET",
                    "/v1/projects/p/locations/l/instances/i",
                    Route(
                        "get",
                        &[("project", "p"), ("location", "l"), ("instance", "i")],
                    ),
                ),
                (
                    "POST",
                    "/v1/projects/p/locations/l/instances:batch",
                    Route("batch", &[("parent.name", "projects/p/locations/l")]),
                ),
                (
                    "GET",
                    "/v1/1/2/x/3/4",
                    Route("mixed", &[("a", "1"), ("b", "2"), ("c", "3/4")]),
                ),
            ],
        );
    }

    #[test]
    fn many_literal_children_are_found_through_the_hash_table() {
        // 40 children at one node, long names that agree on their first 15 bytes, and short
        // ones: far more than SCANNED, so lookups go through the table.
        let names: Vec<String> = (0..20)
            .map(|i| format!("collection-name-{i}"))
            .chain((0..20).map(|i| format!("c{i}")))
            .collect();
        let names: Vec<&'static str> = names.into_iter().map(|n| &*n.leak()).collect();
        let routes: Vec<(&str, &'static str, &'static str)> = names
            .iter()
            .map(|n| ("GET", &*format!("/v1/{n}/{{id}}").leak(), *n))
            .collect();
        let m = matcher(&routes);
        assert!(m.nodes.iter().any(|n| !n.table.is_empty()));
        for name in &names {
            let path = format!("/v1/{name}/x");
            let found = m.find(&Method::GET, &path).unwrap();
            assert_eq!(*found.route, *name);
        }
        check(
            &m,
            &[
                ("GET", "/v1/collection-name-20/x", NotFound),
                ("GET", "/v1/collection-name-/x", NotFound),
                ("GET", "/v1/c20/x", NotFound),
                ("GET", "/v1/c/x", NotFound),
                ("GET", "/v1/%63%31/x", Route("c1", &[("id", "x")])),
            ],
        );
    }

    #[test]
    fn literal_tag_is_the_same_wherever_the_segment_sits() {
        for text in [
            "",
            "a",
            "abcdefg",
            "abcdefgh",
            "abcdefghijklmno",
            "abcdefghijklmnopq",
        ] {
            for before in ["", "/", "/v1/", "/v1/projects/p/"] {
                for after in ["", "/", "/x", "/locations/l/instances"] {
                    let path = format!("{before}{text}{after}");
                    let (start, end) = (before.len(), before.len() + text.len());
                    assert_eq!(
                        tag_in(path.as_bytes(), start, end),
                        tag(text.as_bytes()),
                        "{text:?} in {path:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn split_agrees_with_a_byte_by_byte_split() {
        // Every placement of `/`, `%41`, `?` and runs of other bytes, up to 40 bytes, so that
        // each lands at every offset of the 8-byte words `split` reads.
        let pieces = [
            "/",
            "%41",
            "?",
            "a",
            "bcdefgh",
            "é",
            "ijklmnopqrstuvw",
            "./",
            "%",
        ];
        let mut paths = vec!["/".to_owned()];
        let mut frontier = paths.clone();
        for _ in 0..4 {
            let mut next = Vec::new();
            for p in &frontier {
                for piece in pieces {
                    next.push(format!("{p}{piece}"));
                }
            }
            paths.extend(next.iter().cloned());
            frontier = next;
        }
        for raw in &paths {
            let mut path = Path::new(raw);
            let got = path.split().map(|()| {
                path.spans()
                    .iter()
                    .map(|s| (&raw[s.start as usize..s.end as usize], s.escaped))
                    .collect::<Vec<_>>()
            });
            let want = naive_split(raw);
            let same = match (&got, &want) {
                (Ok(got), Ok(want)) => got == want,
                (Err(got), Err(want)) => {
                    std::mem::discriminant(got) == std::mem::discriminant(want)
                }
                _ => false,
            };
            assert!(same, "{raw:?}: got {got:?}, want {want:?}");
        }
    }

    /// What `Path::split` computes, the obvious way.
    fn naive_split(raw: &str) -> Result<Vec<(&str, bool)>, RouteError> {
        let path = raw.split('?').next().unwrap();
        let path = path.strip_prefix('/').ok_or(RouteError::NotFound)?;
        let bytes = path.as_bytes();
        for (i, _) in path.match_indices('%') {
            let ok = bytes.len() > i + 2
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            let empty_before = path[..i].contains("//") || path[..i].starts_with('/');
            if !ok && !empty_before {
                return Err(RouteError::BadRequest(String::new()));
            }
        }
        if path.starts_with('/') || path.contains("//") {
            return Err(RouteError::NotFound);
        }
        let path = path.strip_suffix('/').unwrap_or(path);
        if path.is_empty() {
            return Ok(Vec::new());
        }
        Ok(path.split('/').map(|s| (s, s.contains('%'))).collect())
    }

    #[test]
    fn long_paths_match_like_short_ones() {
        let m = matcher(&[
            ("GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/{r}", "deep"),
            (
                "GET",
                "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/{r}:go",
                "deep-verb",
            ),
            ("GET", "/v1/{p=**}", "multi"),
        ]);
        check(
            &m,
            &[
                (
                    "GET",
                    "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r%20",
                    Route("deep", &[("r", "r ")]),
                ),
                (
                    "GET",
                    "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r:go",
                    Route("deep-verb", &[("r", "r")]),
                ),
                (
                    "GET",
                    "/v1/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/20/",
                    Route(
                        "multi",
                        &[("p", "1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/20")],
                    ),
                ),
                (
                    "GET",
                    "/v1/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17//",
                    NotFound,
                ),
            ],
        );
    }

    #[test]
    fn values_borrow_the_path_unless_decoded() {
        let m = matcher(&[("GET", "/v1/{a}/{b=**}", "r")]);
        let found = m.find(&Method::GET, "/v1/x/y%2Fz").unwrap();
        assert!(matches!(found.bindings[0].1, Cow::Borrowed("x")));
        assert!(matches!(found.bindings[1].1, Cow::Borrowed("y%2Fz")));
        let found = m.find(&Method::GET, "/v1/x%20/y").unwrap();
        assert!(matches!(&found.bindings[0].1, Cow::Owned(s) if s == "x "));
        assert_eq!(found.get("b"), Some("y"));
        assert_eq!(found.get("c"), None);
    }

    #[test]
    fn odd_templates_do_not_panic() {
        static MULTI_FIRST: Template = Template {
            segments: &[Segment::Multi, Segment::Single],
            variables: &[],
            verb: None,
        };
        static PAST_END: Template = Template {
            segments: &[Segment::Literal("p"), Segment::Single],
            variables: &[Variable {
                field: "v",
                start: 1,
                end: 5,
            }],
            verb: None,
        };
        static EMPTY_LITERAL: Template = Template {
            segments: &[Segment::Literal("")],
            variables: &[],
            verb: None,
        };
        static BAD_ESCAPE: Template = Template {
            segments: &[Segment::Literal("%zz")],
            variables: &[],
            verb: None,
        };
        static INVERTED: Template = Template {
            segments: &[Segment::Literal("r"), Segment::Single],
            variables: &[Variable {
                field: "w",
                start: 2,
                end: 1,
            }],
            verb: None,
        };
        let m = Matcher::new([
            (Method::GET.into(), &MULTI_FIRST, "multi-first"),
            (Method::GET.into(), &PAST_END, "past-end"),
            (Method::GET.into(), &EMPTY_LITERAL, "empty"),
            (Method::GET.into(), &BAD_ESCAPE, "bad-escape"),
            (Method::GET.into(), &INVERTED, "inverted"),
        ]);
        check(
            &m,
            &[
                ("GET", "/a/x", NotFound),
                ("GET", "/p/q", Route("past-end", &[("v", "q")])),
                ("GET", "/", NotFound),
                ("GET", "/%zz", BadRequest),
                ("GET", "/r/s", Route("inverted", &[])),
            ],
        );
    }
}
