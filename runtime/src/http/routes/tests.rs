use http::Method;

use super::bind::body_fault;
use super::router::{coverage, covering_paths};
use crate::http::matcher::{MethodFilter, Template};
use crate::http::matcher::{Segment as S, Variable as V};

const NONE: &[V] = &[];

#[test]
fn each_template_is_covered_by_its_literal_prefix_and_a_positional_catch_all() {
    let table: &[(Template, &[&str])] = &[
        (
            Template {
                segments: &[],
                variables: NONE,
                verb: None,
            },
            &["/"],
        ),
        (
            Template {
                segments: &[S::Literal("v1"), S::Literal("orders")],
                variables: NONE,
                verb: None,
            },
            &["/v1/orders/", "/v1/orders"],
        ),
        (
            Template {
                segments: &[S::Literal("v1"), S::Literal("orders")],
                variables: NONE,
                verb: Some("import"),
            },
            &["/v1/orders:import"],
        ),
        (
            Template {
                segments: &[S::Literal("v1"), S::Literal("orders"), S::Single],
                variables: NONE,
                verb: Some("cancel"),
            },
            &["/v1/orders/{*p2}"],
        ),
        (
            Template {
                segments: &[S::Literal("v1"), S::Single, S::Literal("books")],
                variables: NONE,
                verb: None,
            },
            &["/v1/{*p1}"],
        ),
        (
            Template {
                segments: &[S::Literal("v1"), S::Literal("books"), S::Multi],
                variables: NONE,
                verb: None,
            },
            &["/v1/books", "/v1/books/{*p2}", "/v1/books/"],
        ),
        (
            Template {
                segments: &[S::Multi],
                variables: NONE,
                verb: Some("getType"),
            },
            &["/", "/{*p0}"],
        ),
        // What axum's syntax would misread, or what the matcher decodes, is a catch-all.
        (
            Template {
                segments: &[S::Literal("v1"), S::Literal("a%62c")],
                variables: NONE,
                verb: None,
            },
            &["/v1/{*p1}"],
        ),
        (
            Template {
                segments: &[S::Literal("v1"), S::Literal("{x}")],
                variables: NONE,
                verb: None,
            },
            &["/v1/{*p1}"],
        ),
        (
            Template {
                segments: &[S::Literal("v1"), S::Literal("jobs")],
                variables: NONE,
                verb: Some("a%3Ab"),
            },
            &["/v1/{*p1}"],
        ),
    ];
    for (template, paths) in table {
        assert_eq!(covering_paths(template), *paths, "{template:?}");
    }
}

#[test]
fn a_body_fault_is_cancelled_only_when_the_client_went_away() {
    use std::io::{Error, ErrorKind};
    let table = [
        (ErrorKind::ConnectionReset, tonic::Code::Cancelled),
        (ErrorKind::ConnectionAborted, tonic::Code::Cancelled),
        (ErrorKind::BrokenPipe, tonic::Code::Cancelled),
        (ErrorKind::UnexpectedEof, tonic::Code::InvalidArgument),
        (ErrorKind::InvalidData, tonic::Code::InvalidArgument),
        (ErrorKind::InvalidInput, tonic::Code::InvalidArgument),
    ];
    for (kind, code) in table {
        // As it reaches the handler: an axum error around the cause.
        let error = axum::Error::new(Error::new(kind, "cause"));
        let status = body_fault(&error);
        assert_eq!(status.code(), code, "{kind:?}");
        assert!(status.message().contains("cause"), "{kind:?}: {status:?}");
    }
}

#[test]
fn coverage_adds_a_catch_all_per_first_literal_and_lists_each_method_once() {
    static GET: Template = Template {
        segments: &[S::Literal("v1"), S::Literal("orders"), S::Single],
        variables: NONE,
        verb: None,
    };
    static CANCEL: Template = Template {
        segments: &[S::Literal("v1"), S::Literal("orders"), S::Single],
        variables: NONE,
        verb: Some("cancel"),
    };
    static PURGE: Template = Template {
        segments: &[S::Literal("v2"), S::Literal("cache")],
        variables: NONE,
        verb: None,
    };
    let routes = [
        (MethodFilter::Is(Method::GET), &GET),
        (MethodFilter::Is(Method::POST), &CANCEL),
        (MethodFilter::Is(Method::GET), &CANCEL),
        (MethodFilter::custom("PURGE").unwrap(), &PURGE),
    ];
    let covered = coverage(routes.iter().map(|(m, t)| (m, *t)));
    let summary: Vec<(&str, usize, bool)> = covered
        .iter()
        .map(|(path, c)| (path.as_str(), c.standard.len(), c.every))
        .collect();
    assert_eq!(
        summary,
        [
            ("/v1/orders/{*p2}", 2, false),
            ("/v1/{*p1}", 0, false),
            ("/v2/cache", 0, true),
            ("/v2/cache/", 0, true),
            ("/v2/{*p1}", 0, false),
        ]
    );
}
