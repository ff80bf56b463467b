//! Route lookup speed: `rs_svc::http::matcher` against matchit (the router inside axum).
//!
//! The route table is 200 routes shaped like a cloud API: 20 collections, half under
//! `/v1/projects/{project}/locations/{location}/`, half under `/v1/projects/{project}/`, each
//! with list, create, get, update, delete, a `:batchGet` on the collection, operations, a
//! `{path=**}` file tree and a `{name=projects/*/...}:cancel` verb.
//!
//! - `side_by_side`: the 180 routes matchit can express (no verb after a variable, no variable
//!   over several segments), the same lookups on both. matchit is timed as axum uses it: `at`,
//!   then the route for the method among the path's routes, then reading the parameters;
//!   `matchit+vec` also collects them into a `Vec` as our matcher returns them.
//! - `full`: our matcher on all 200 routes, with verbs, escapes and a 405 in the mix.
//!
//! Each iteration looks up every path of the mix once; time per lookup = time / paths.
//! Run: `cargo bench -p rs-svc --bench matcher`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http::Method;
use rs_svc::http::matcher::{Matcher, MethodFilter, Segment, Template, Variable};

const LOCATED: [&str; 10] = [
    "instances",
    "clusters",
    "backups",
    "databases",
    "topics",
    "subscriptions",
    "jobs",
    "models",
    "endpoints",
    "datasets",
];
const GLOBAL: [&str; 10] = [
    "buckets",
    "keys",
    "secrets",
    "functions",
    "services",
    "queues",
    "tables",
    "snapshots",
    "volumes",
    "networks",
];

/// `(method, template)` for every route, in declaration order.
fn routes() -> Vec<(Method, String)> {
    let mut out = Vec::new();
    let parents = LOCATED
        .iter()
        .map(|c| {
            (
                "projects/{project}/locations/{location}",
                "projects/*/locations/*",
                c,
            )
        })
        .chain(
            GLOBAL
                .iter()
                .map(|c| ("projects/{project}", "projects/*", c)),
        );
    for (parent, shape, c) in parents {
        let collection = format!("/v1/{parent}/{c}");
        let item = format!("{collection}/{{id}}");
        out.extend([
            (Method::GET, collection.clone()),
            (Method::POST, collection.clone()),
            (Method::GET, item.clone()),
            (Method::PATCH, item.clone()),
            (Method::DELETE, item.clone()),
            (Method::POST, format!("{collection}:batchGet")),
            (Method::GET, format!("{item}/operations")),
            (Method::GET, format!("{item}/operations/{{operation}}")),
            (Method::GET, format!("{item}/files/{{path=**}}")),
            (Method::POST, format!("/v1/{{name={shape}/{c}/*}}:cancel")),
        ]);
    }
    assert_eq!(out.len(), 200);
    out
}

/// The lookups both routers can serve: `(method, path)`.
const COMMON: &[(Method, &str)] = &[
    (
        Method::GET,
        "/v1/projects/my-project/locations/us-east1/instances/instance-1",
    ),
    (
        Method::GET,
        "/v1/projects/my-project/locations/europe-west4/databases",
    ),
    (
        Method::POST,
        "/v1/projects/my-project/locations/us-east1/jobs:batchGet",
    ),
    (
        Method::GET,
        "/v1/projects/my-project/functions/fn-42/operations/op-9",
    ),
    (Method::PATCH, "/v1/projects/my-project/secrets/db-password"),
    (
        Method::GET,
        "/v1/projects/my-project/locations/asia-east1/models/m1/files/a/b/c.txt",
    ),
    (Method::DELETE, "/v1/projects/my-project/networks/default"),
    (Method::GET, "/v1/projects/my-project/queues/q1/operations"),
    (Method::GET, "/v1/projects/my-project/nothing/here"),
];

/// Lookups only our matcher serves.
const OURS_ONLY: &[(Method, &str)] = &[
    (
        Method::POST,
        "/v1/projects/my-project/locations/us-east1/clusters/c1:cancel",
    ),
    (Method::GET, "/v1/projects/my%20project/buckets/b%2F1"),
    (Method::PUT, "/v1/projects/my-project/tables/t1"),
];

fn ours(routes: &[(Method, String)]) -> Matcher<usize> {
    Matcher::new(
        routes
            .iter()
            .enumerate()
            .map(|(i, (method, src))| (MethodFilter::from(method.clone()), template(src), i)),
    )
}

/// matchit holds paths; each path's value lists its routes by method, as axum's router does.
fn matchit_router(routes: &[(Method, String)]) -> matchit::Router<Vec<(Method, usize)>> {
    let mut by_path: BTreeMap<String, Vec<(Method, usize)>> = BTreeMap::new();
    for (i, (method, src)) in routes.iter().enumerate() {
        let path = matchit_path(src).expect("expressible");
        by_path.entry(path).or_default().push((method.clone(), i));
    }
    let mut router = matchit::Router::new();
    for (path, methods) in by_path {
        router.insert(path, methods).expect("no conflicts");
    }
    router
}

/// The template in matchit's syntax, if it has one: `{id}` stays, `{path=**}` is `{*path}`.
fn matchit_path(src: &str) -> Option<String> {
    if src.contains("}:") {
        return None;
    }
    let mut out = String::new();
    let mut rest = src;
    while let Some(open) = rest.find('{') {
        let close = rest.find('}')?;
        out.push_str(&rest[..open]);
        let inner = &rest[open + 1..close];
        match inner.split_once('=') {
            None => out.push_str(&format!("{{{inner}}}")),
            Some((field, "**")) if close + 1 == rest.len() => {
                out.push_str(&format!("{{*{field}}}"))
            }
            Some(_) => return None,
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Our matcher's [`Template`] for a template written as text (valid templates only).
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
    let body = &src[1..];
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
    parts.push(&body[start..end]);
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

fn side_by_side(c: &mut Criterion) {
    let routes: Vec<(Method, String)> = routes()
        .into_iter()
        .filter(|(_, src)| matchit_path(src).is_some())
        .collect();
    assert_eq!(routes.len(), 180);
    let matcher = ours(&routes);
    let router = matchit_router(&routes);
    // Both must agree on every lookup before their speed is worth comparing.
    for (method, path) in COMMON {
        let a = matcher.find(method, path).ok().map(|f| *f.route);
        let b = router
            .at(path)
            .ok()
            .and_then(|m| m.value.iter().find(|(x, _)| x == method).map(|(_, i)| *i));
        assert_eq!(a, b, "{method} {path}");
    }

    let mut group = c.benchmark_group("side_by_side");
    group.throughput(Throughput::Elements(COMMON.len() as u64));
    group.bench_function("rs-svc", |b| {
        b.iter(|| {
            for (method, path) in COMMON {
                let _ = black_box(matcher.find(black_box(method), black_box(path)));
            }
        })
    });
    group.bench_function("matchit", |b| {
        b.iter(|| {
            for (method, path) in COMMON {
                if let Ok(m) = router.at(black_box(path)) {
                    let method = black_box(method);
                    if let Some((_, route)) = m.value.iter().find(|(x, _)| x == method) {
                        black_box(route);
                        for param in m.params.iter() {
                            black_box(param);
                        }
                    }
                }
            }
        })
    });
    group.bench_function("matchit+vec", |b| {
        b.iter(|| {
            for (method, path) in COMMON {
                if let Ok(m) = router.at(black_box(path)) {
                    let method = black_box(method);
                    if let Some((_, route)) = m.value.iter().find(|(x, _)| x == method) {
                        let params: Vec<(&str, Cow<'_, str>)> = m
                            .params
                            .iter()
                            .map(|(k, v)| (k, Cow::Borrowed(v)))
                            .collect();
                        black_box((route, params));
                    }
                }
            }
        })
    });
    group.finish();
}

fn full(c: &mut Criterion) {
    let matcher = ours(&routes());
    let lookups: Vec<&(Method, &str)> = COMMON.iter().chain(OURS_ONLY).collect();
    let mut group = c.benchmark_group("full");
    group.throughput(Throughput::Elements(lookups.len() as u64));
    group.bench_function("rs-svc", |b| {
        b.iter(|| {
            for (method, path) in &lookups {
                let _ = black_box(matcher.find(black_box(method), black_box(path)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, side_by_side, full);
criterion_main!(benches);
