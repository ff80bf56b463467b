//! The runtime's route matcher with percent-decoding (`runtime/src/http/matcher/`): a route
//! table built from fuzzed templates (through the plugin's parser, as generated tables are, and
//! raw shapes the parser would reject), then fuzzed request paths. It never panics, a lookup
//! is deterministic, every binding names a variable of the found template, and a path written
//! from a parsed template is always routed (never a 404 or 405 for its own method).
#![no_main]

use arbitrary::Arbitrary;
use http::Method;
use libfuzzer_sys::fuzz_target;
use protoc_gen_rs_svc::model::{self, PathTemplate};
use rs_svc::http::matcher::{Matcher, MethodFilter, RouteError, Segment, Template, Variable};

#[derive(Debug, Arbitrary)]
enum Spec {
    /// A template as a `google.api.http` rule writes it.
    Text(String),
    /// A template as a table could hold it, valid or not.
    Raw {
        segments: Vec<RawSegment>,
        variables: Vec<(u8, u8)>,
        verb: Option<String>,
    },
}

#[derive(Debug, Arbitrary)]
enum RawSegment {
    Literal(String),
    Single,
    Multi,
}

#[derive(Debug, Arbitrary)]
struct Input {
    routes: Vec<(u8, Spec)>,
    requests: Vec<(u8, String)>,
    /// What `*` and `**` stand for in the paths written from the templates.
    value: String,
}

fn method(byte: u8) -> MethodFilter {
    match byte % 8 {
        0 => Method::GET.into(),
        1 => Method::POST.into(),
        2 => Method::PUT.into(),
        3 => Method::DELETE.into(),
        4 => Method::PATCH.into(),
        5 => Method::HEAD.into(),
        6 => MethodFilter::Any,
        _ => Method::OPTIONS.into(),
    }
}

fn request_method(byte: u8) -> Method {
    match method(byte) {
        MethodFilter::Is(m) => m,
        MethodFilter::Any => Method::from_bytes(b"PURGE").unwrap(),
    }
}

/// Leaked, then freed once the matcher is gone: tables hold `&'static` templates.
#[derive(Default)]
struct Arena {
    strings: Vec<*mut str>,
    segments: Vec<*mut [Segment]>,
    variables: Vec<*mut [Variable]>,
    templates: Vec<*mut Template>,
}

impl Arena {
    fn str(&mut self, s: &str) -> &'static str {
        let raw = Box::into_raw(Box::<str>::from(s));
        self.strings.push(raw);
        // SAFETY: freed in `drop`, after every user (the matcher is dropped first).
        unsafe { &*raw }
    }

    fn template(
        &mut self,
        segments: Vec<Segment>,
        variables: Vec<Variable>,
        verb: Option<&str>,
    ) -> &'static Template {
        let segments = Box::into_raw(segments.into_boxed_slice());
        let variables = Box::into_raw(variables.into_boxed_slice());
        self.segments.push(segments);
        self.variables.push(variables);
        let verb = verb.map(|v| self.str(v));
        // SAFETY: as in `str`.
        let template = unsafe {
            Template {
                segments: &*segments,
                variables: &*variables,
                verb,
            }
        };
        let template = Box::into_raw(Box::new(template));
        self.templates.push(template);
        // SAFETY: as in `str`.
        unsafe { &*template }
    }

    /// The table's form of a parsed template, as the plugin emits it.
    fn parsed(&mut self, parsed: &PathTemplate) -> &'static Template {
        let segments = parsed
            .segments
            .iter()
            .map(|s| match s {
                model::Segment::Literal(text) => Segment::Literal(self.str(text)),
                model::Segment::Single => Segment::Single,
                model::Segment::Multi => Segment::Multi,
            })
            .collect();
        let variables = parsed
            .variables
            .iter()
            .map(|v| Variable {
                field: self.str(&v.field_path.to_string()),
                start: v.start,
                end: v.end,
            })
            .collect();
        self.template(segments, variables, parsed.verb.as_deref())
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: each pointer came from `Box::into_raw` and is freed once.
        unsafe {
            self.templates
                .drain(..)
                .for_each(|p| drop(Box::from_raw(p)));
            self.segments.drain(..).for_each(|p| drop(Box::from_raw(p)));
            self.variables
                .drain(..)
                .for_each(|p| drop(Box::from_raw(p)));
            self.strings.drain(..).for_each(|p| drop(Box::from_raw(p)));
        }
    }
}

/// A path the parsed template matches: `*` is `value`, `**` one segment `value`.
fn path_of(template: &PathTemplate, value: &str) -> String {
    let mut path = String::new();
    for segment in &template.segments {
        path.push('/');
        match segment {
            model::Segment::Literal(text) => path.push_str(text),
            model::Segment::Single | model::Segment::Multi => path.push_str(value),
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    if let Some(verb) = &template.verb {
        path.push(':');
        path.push_str(verb);
    }
    path
}

fuzz_target!(|input: Input| {
    let mut arena = Arena::default();
    let mut parsed = Vec::new();
    let mut table = Vec::new();
    for (index, (byte, spec)) in input.routes.iter().take(24).enumerate() {
        let template = match spec {
            Spec::Text(text) => match PathTemplate::parse(text) {
                Ok(template) => {
                    parsed.push((index, *byte, template.clone()));
                    arena.parsed(&template)
                }
                Err(_) => continue,
            },
            Spec::Raw {
                segments,
                variables,
                verb,
            } => {
                let segments: Vec<Segment> = segments
                    .iter()
                    .take(12)
                    .map(|s| match s {
                        RawSegment::Literal(text) => Segment::Literal(arena.str(text)),
                        RawSegment::Single => Segment::Single,
                        RawSegment::Multi => Segment::Multi,
                    })
                    .collect();
                let variables = variables
                    .iter()
                    .take(4)
                    .map(|&(start, end)| Variable {
                        field: arena.str(&format!("f{start}")),
                        start: usize::from(start % 16),
                        end: usize::from(end % 16),
                    })
                    .collect();
                arena.template(segments, variables, verb.as_deref())
            }
        };
        table.push((method(*byte), template, index));
    }
    let matcher = Matcher::new(table.iter().cloned());

    for (byte, path) in input.requests.iter().take(16) {
        let method = request_method(*byte);
        let first = matcher.find(&method, path);
        let again = matcher.find(&method, path);
        match (&first, &again) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.route, b.route);
                assert_eq!(a.bindings, b.bindings);
                for (field, _) in &a.bindings {
                    assert!(a.template.variables.iter().any(|v| v.field == *field));
                }
            }
            (Err(a), Err(b)) => assert_eq!(a, b),
            _ => panic!("two lookups of {method} {path:?} differ"),
        }
        if let Err(e) = &first {
            let _ = e.allow_header();
        }
    }

    // A value of safe characters only, so the path is the template's.
    let value: String = input
        .value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(8)
        .collect();
    let value = if value.is_empty() {
        "v".to_owned()
    } else {
        value
    };
    for (index, byte, template) in &parsed {
        let path = path_of(template, &value);
        let method = match method(*byte) {
            MethodFilter::Is(m) => m,
            MethodFilter::Any => Method::GET,
        };
        match matcher.find(&method, &path) {
            Ok(_) => {}
            Err(RouteError::BadRequest(_)) => {}
            Err(e) => panic!("{method} {path:?}, written from route {index} {template}, got {e:?}"),
        }
    }
    drop(matcher);
});
