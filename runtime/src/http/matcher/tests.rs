use super::tree::{tag, tag_in};
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
            (Err(got), Err(want)) => std::mem::discriminant(got) == std::mem::discriminant(want),
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

#[test]
fn a_template_prints_as_its_rule_wrote_it() {
    use Segment::{Literal as L, Multi, Single};
    const CASES: &[(Template, &str)] = &[
        (Template::new(&[], &[]), "/"),
        (Template::new(&[L("v1"), L("orders")], &[]), "/v1/orders"),
        (
            Template::new(
                &[L("v1"), L("orders"), Single],
                &[Variable::new("name", 1, 3)],
            ),
            "/v1/{name=orders/*}",
        ),
        (
            Template::new(
                &[L("v1"), Single, L("items")],
                &[Variable::new("shelf", 1, 2)],
            ),
            "/v1/{shelf}/items",
        ),
        (
            Template::with_verb(&[L("v1"), Multi], &[Variable::new("path", 1, 2)], "get"),
            "/v1/{path=**}:get",
        ),
        (
            Template::new(&[L("v1"), Single, Single], &[Variable::new("a.b", 2, 3)]),
            "/v1/*/{a.b}",
        ),
    ];
    for (template, text) in CASES {
        assert_eq!(template.to_string(), *text);
    }
}
