use super::*;
use serde::Deserialize;
use serde_json::json;

const fn field(proto: &'static str, json: &'static str, kind: QueryKind) -> QueryField {
    QueryField::new(proto, json, kind, Cardinality::Singular, None)
}

const fn with(mut f: QueryField, cardinality: Cardinality) -> QueryField {
    f.cardinality = cardinality;
    f
}

const fn in_oneof(mut f: QueryField, oneof: &'static str) -> QueryField {
    f.oneof = Some(oneof);
    f
}

fn state(name: &str) -> Option<i32> {
    ["UNSPECIFIED", "ACTIVE", "DONE"]
        .iter()
        .position(|n| *n == name)
        .map(|n| n as i32)
}

fn page() -> &'static [QueryField] {
    const PAGE: &[QueryField] = &[
        field("page_size", "pageSize", QueryKind::Integer),
        field("order_by", "orderBy", QueryKind::Text),
        field("parent", "parent", QueryKind::Message(page)),
    ];
    PAGE
}

fn request() -> &'static [QueryField] {
    const REQUEST: &[QueryField] = &[
        field("name", "name", QueryKind::Text),
        field("page", "page", QueryKind::Message(page)),
        with(
            field("tags", "tags", QueryKind::Text),
            Cardinality::Repeated,
        ),
        with(field("labels", "labels", QueryKind::Text), Cardinality::Map),
        field("state", "state", QueryKind::Enum(state)),
        field("exact", "exact", QueryKind::Bool),
        field("ratio", "ratio", QueryKind::Float),
        field("since", "since", QueryKind::Text),
        with(
            field("items", "items", QueryKind::Message(page)),
            Cardinality::Repeated,
        ),
        field("extra", "extra", QueryKind::Unsupported),
        in_oneof(field("by_id", "byId", QueryKind::Integer), "key"),
        in_oneof(field("by_email", "byEmail", QueryKind::Text), "key"),
    ];
    REQUEST
}

fn ok(query: &str) -> Value {
    Value::Object(to_json(request(), query, &[], false).unwrap())
}

fn err(query: &str) -> String {
    to_json(request(), query, &[], false)
        .unwrap_err()
        .message()
        .to_owned()
}

#[test]
fn parameters_become_the_messages_json() {
    let cases = [
        ("name=a+b%2Fc", json!({"name": "a b/c"})),
        (
            "page.page_size=10&page.orderBy=x",
            json!({"page": {"pageSize": "10", "orderBy": "x"}}),
        ),
        (
            "page.parent.pageSize=-3",
            json!({"page": {"parent": {"pageSize": "-3"}}}),
        ),
        ("tags=a&tags=b", json!({"tags": ["a", "b"]})),
        (
            "labels[env]=prod&labels[team]=x",
            json!({"labels": {"env": "prod", "team": "x"}}),
        ),
        ("state=ACTIVE", json!({"state": 1})),
        ("state=2", json!({"state": 2})),
        ("exact=1&ratio=NaN", json!({"exact": true, "ratio": "NaN"})),
        (
            "exact=false&ratio=1.5e3",
            json!({"exact": false, "ratio": "1.5e3"}),
        ),
        (
            "since=2024-01-01T00:00:00Z",
            json!({"since": "2024-01-01T00:00:00Z"}),
        ),
        ("byEmail=a%40b", json!({"byEmail": "a@b"})),
        ("", json!({})),
    ];
    for (query, expected) in cases {
        assert_eq!(ok(query), expected, "{query}");
    }
}

/// What the general way makes of `query` and `bindings`: the JSON the message reads.
fn general(query: &str, bindings: &[(&'static str, String)]) -> Value {
    let bound: Vec<&str> = bindings.iter().map(|(f, _)| *f).collect();
    let mut object = to_json(request(), query, &bound, false).unwrap();
    for (field, value) in bindings {
        set_path(&mut object, request(), field, value).unwrap();
    }
    Value::Object(object)
}

#[test]
fn flat_parameters_read_as_the_json_the_general_way_builds() {
    let name = [("name", "shelves/a b".to_owned())];
    let cases: [(&str, &[(&'static str, String)]); 7] = [
        ("tags=b&exact=1&tags=a&state=DONE&ratio=-1.5", &[]),
        ("name=q&tags=t&state=-2&exact=false", &name),
        ("tags=%C3%A9t%C3%A9&name=a+b%22c&nope=1", &[]),
        ("byId=", &[]),
        ("byId=7", &name),
        ("since=2024-01-01T00%3A00%3A00Z&ratio=NaN", &[]),
        ("", &[]),
    ];
    for (query, bindings) in cases {
        let Some(flat) = Flat::new(request(), query, bindings, false) else {
            // A oneof member or a bad value: the general way decides.
            assert!(query.starts_with("byId"), "{query}");
            continue;
        };
        let read = Value::deserialize(flat).unwrap();
        assert_eq!(read, general(query, bindings), "{query}");
        let flat = Flat::new(request(), query, bindings, false).unwrap();
        assert_eq!(written(flat), general(query, bindings), "{query}");
    }
}

/// The JSON object `write_members` writes.
fn written(flat: Flat<'_>) -> Value {
    let mut text = b"{".to_vec();
    flat.write_members(&mut text);
    if text.len() > 1 {
        text.pop(); // the last `,`
    }
    text.push(b'}');
    serde_json::from_slice(&text).unwrap()
}

/// Beside a body field, parameters naming it are skipped, as the general way skips what the
/// body binds; the rest is written as the general way builds it.
#[test]
fn flat_parameters_beside_a_body_field_skip_it() {
    let name = [("name", "shelves/\"a\"".to_owned())];
    let cases: [(&str, &[(&'static str, String)]); 4] = [
        ("since=x&tags=a&tags=b%0A&state=2", &[]),
        ("tags=a&since=y&exact=true&ratio=Infinity", &name),
        ("since=only", &name),
        ("", &[]),
    ];
    for (query, bindings) in cases {
        let flat = Flat::beside_body(request(), query, bindings, false, "since").unwrap();
        let mut bound: Vec<&str> = bindings.iter().map(|(f, _)| *f).collect();
        bound.push("since");
        let mut object = to_json(request(), query, &bound, false).unwrap();
        for (field, value) in bindings {
            set_path(&mut object, request(), field, value).unwrap();
        }
        assert_eq!(written(flat), Value::Object(object), "{query}");
    }
}

#[test]
fn anything_but_top_level_scalars_takes_the_general_way() {
    let cases = [
        ("page.pageSize=1", false),
        ("labels[a]=1", false),
        ("byEmail=x", false),
        ("name=a&name=b", false),
        ("ratio=1&ratio=2", false),
        ("exact=yes", false),
        ("page=1", false),
        ("nope=1", true),
    ];
    for (query, reject_unknown) in cases {
        let flat = Flat::new(request(), query, &[], reject_unknown);
        assert!(flat.is_none(), "{query}");
    }
    let nested = [("page.order_by", "x".to_owned())];
    assert!(Flat::new(request(), "", &nested, false).is_none());
}

#[test]
fn field_mask_paths_are_relative_to_the_body_field() {
    let body = json!({
        "pageSize": 3,
        "parent": {"order_by": "x", "parent": {}},
        "junk": 1,
    });
    let paths = field_mask_paths(request(), "page", &body);
    // Proto names, written in FieldMask's JSON form; unknown keys left out; an empty
    // object is a leaf.
    assert_eq!(paths, ["pageSize", "parent.orderBy", "parent.parent"]);
    // A body field that is not a singular message has no paths inside it.
    assert!(field_mask_paths(request(), "labels", &json!({"a": "b"})).is_empty());
    assert!(field_mask_paths(request(), "items", &json!([{"pageSize": 1}])).is_empty());
}

#[test]
fn unknown_parameters_are_ignored_or_rejected() {
    assert_eq!(ok("nope=1&name=x&page.nope=2"), json!({"name": "x"}));
    let err = to_json(request(), "nope=1", &[], true).unwrap_err();
    assert!(
        err.message().contains("unknown query parameter `nope`"),
        "{}",
        err.message()
    );
}

#[test]
fn fields_bound_by_path_or_body_are_skipped() {
    let bound = to_json(
        request(),
        "name=q&page.pageSize=3&tags=t",
        &["name", "page"],
        false,
    );
    assert_eq!(Value::Object(bound.unwrap()), json!({"tags": ["t"]}));
}

#[test]
fn blame_names_the_parameter_the_reader_rejects_as_it_was_sent() {
    // A stand-in reader: page sizes over 100 and the label key `x` are out of range.
    let reject = |value: Value| {
        let text = value.to_string();
        (text.contains("\"pageSize\":\"1000\"") || text.contains("{\"x\":"))
            .then(|| format!("rejected {text}"))
    };
    let cases = [
        (
            "name=a&page.page_size=1000",
            Some(r#"query parameter `page.page_size`: rejected {"page":{"pageSize":"1000"}}"#),
        ),
        (
            "labels[ok]=1&labels%5Bx%5D=2",
            Some(r#"query parameter `labels[x]`: rejected {"labels":{"x":"2"}}"#),
        ),
        // Unknown, bound and well-read parameters are never blamed.
        ("nope=1000&name=x&page.pageSize=5", None),
    ];
    for (query, expected) in cases {
        let blamed = blame(request(), query, &["name"], reject);
        assert_eq!(blamed.as_ref().map(|s| s.message()), expected, "{query}");
    }
    let bound = blame(request(), "page.pageSize=1000", &["page"], reject);
    assert!(bound.is_none());
}

#[test]
fn mistakes_are_errors_naming_the_parameter() {
    let cases = [
        (
            "name=a&name=b",
            "`name` is given twice but the field is not repeated",
        ),
        (
            "byId=1&byEmail=x",
            "`byId` and `byEmail` set two members of oneof `key`",
        ),
        ("items.pageSize=1", "`items` is not a singular message"),
        ("page=1", "`page` names a message"),
        ("extra=1", "`extra`: this field cannot be set"),
        (
            "page.pageSize=ten",
            "`page.pageSize`: `ten` is not an integer",
        ),
        ("exact=yes", "`exact`: `yes` is not a bool"),
        ("ratio=fast", "`ratio`: `fast` is not a number"),
        ("state=GONE", "`state`: `GONE` is not a value of the enum"),
        ("labels=x", "`labels` is a map"),
        ("name[x]=1", "`name[x]` is not a map field"),
        ("labels[a=1", "a map entry is written"),
        ("labels[a]=1&labels[a]=2", "`labels[a]` is given twice"),
        ("name.x=1", "`name` is not a singular message"),
    ];
    for (query, expected) in cases {
        let message = err(query);
        assert!(message.contains(expected), "{query}: {message}");
    }
}

/// `pairs` decodes exactly as `form_urlencoded::parse` where that loses nothing, borrowing
/// plain text, and refuses what `form_urlencoded` would keep as a stray `%` or turn into U+FFFD.
#[test]
fn pairs_decode_as_form_urlencoded_does() {
    let cases = [
        "",
        "a=1",
        "a=1&b=two&a=3",
        "&&a=1&&",
        "flag",
        "flag&x=",
        "=v",
        "a=b=c",
        "q=a+b%20c",
        "q=%2B+%2b",
        "k%5Bx%5D=v",
        "q=%e2%82%ac",
        "colour%3Dnatural=x%3Dy",
        "tags=oak&tags=bracket&view=ITEM_VIEW_FULL",
        // Separators and escapes on both sides of 8-byte boundaries, and non-ASCII text.
        "abcdefg=hijklmno&qrstuvw=xyz+1%202&a",
        "aaaaaaa&bbbbbbb=cccccccc&dddddddddddddddd=\u{e9}+&x=%41%42&yyyyyyyy",
        "\u{e9}=\u{fc}&\u{f1}=%C3%B1+&=&==&&=&",
        "page_size=20&filter=colour%3Dnatural&tags=oak&tags=bracket&view=ITEM_VIEW_FULL",
    ];
    for query in cases {
        let ours: Vec<_> = pairs(query).map(Result::unwrap).collect();
        let theirs: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
        assert_eq!(ours, theirs, "{query:?}");
    }
    assert!(pairs("a=plain")
        .map(Result::unwrap)
        .all(|(name, value)| matches!((name, value), (Cow::Borrowed(_), Cow::Borrowed(_)))));
    let refused = [
        ("q=100%", "parameter `q`: its value `100%` has a `%` not followed by two"),
        ("q=%zz%4", "parameter `q`: its value `%zz%4` has a `%` not followed"),
        ("q=%+2", "parameter `q`: its value `%+2` has a `%` not followed"),
        ("a=1&%", "parameter `%`: its name has a `%` not followed"),
        ("q=%ff%fe", "parameter `q`: its value `%ff%fe` has percent escapes that decode to bytes that are not UTF-8"),
        ("q=caf%C3%A9&r=%C3", "parameter `r`: its value `%C3` has percent escapes"),
        ("na%C3me=1", "parameter `na%C3me`: its name has percent escapes"),
    ];
    for (query, expected) in refused {
        let error = pairs(query).find_map(Result::err).expect(query);
        assert_eq!(error.code(), tonic::Code::InvalidArgument, "{query}");
        assert!(
            error.message().contains(expected),
            "{query}: {}",
            error.message()
        );
    }
}

fn plain() -> &'static [QueryField] {
    const PLAIN: &[QueryField] = &[
        field("name", "name", QueryKind::Text),
        field("size", "size", QueryKind::Integer),
        field("big", "big", QueryKind::Integer),
        field("exact", "exact", QueryKind::Bool),
        field("state", "state", QueryKind::Enum(state)),
        with(
            field("tags", "tags", QueryKind::Text),
            Cardinality::Repeated,
        ),
        with(
            field("sizes", "sizes", QueryKind::Integer),
            Cardinality::Repeated,
        ),
        field("maybe", "maybe", QueryKind::Integer),
        field("ratio", "ratio", QueryKind::Float),
        // Text only serde reads (bytes, a timestamp): no arm.
        field("data", "data", QueryKind::Text),
    ];
    PLAIN
}

/// A message as generated code sets it: every field of `plain` but `ratio` (a float, which only
/// serde reads) has an arm.
#[derive(Debug, Default, PartialEq)]
struct Plain {
    name: String,
    size: i32,
    big: u64,
    exact: bool,
    state: i32,
    tags: Vec<String>,
    sizes: Vec<i64>,
    maybe: Option<Box<u32>>,
    ratio: f64,
}

impl QuerySchema for Plain {
    fn query_fields() -> &'static [QueryField] {
        plain()
    }

    fn set_field(&mut self, index: usize, value: &mut Scalar<'_>) -> bool {
        match index {
            0 => self.name.set_flat(value),
            1 => self.size.set_flat(value),
            2 => self.big.set_flat(value),
            3 => self.exact.set_flat(value),
            4 => self.state.set_flat(value),
            5 => self.tags.set_flat(value),
            6 => self.sizes.set_flat(value),
            7 => self.maybe.set_flat(value),
            _ => false,
        }
    }
}

/// Top-level values are set straight into the message as their JSON would read: escapes and
/// `+` decoded, repeated values appended in the order sent, integers as the JSON codec reads a
/// string (leading zeros, `-0`), enums by name or any number. A value only serde can read or
/// judge (a float, an integer out of its field's range) sets nothing: serde reads the message.
#[test]
fn flat_values_set_plain_fields_directly() {
    let all = Plain {
        name: "a b/c".into(),
        size: 0,
        big: 7,
        exact: true,
        state: 2,
        tags: vec!["x".into(), "é".into()],
        sizes: vec![3, -4],
        maybe: Some(Box::new(5)),
        ratio: 0.0,
    };
    let cases = [
        (
            "name=a+b%2Fc&size=-0&big=007&exact=1&state=DONE&tags=x&sizes=3&tags=%C3%A9&sizes=-4&maybe=5",
            Some(all),
        ),
        (
            "state=7&exact=false&size=-2147483648",
            Some(Plain {
                state: 7,
                size: i32::MIN,
                ..Plain::default()
            }),
        ),
        ("", Some(Plain::default())),
        ("size=2147483648", None),
        ("big=-1", None),
        ("maybe=-1", None),
        ("sizes=1&sizes=99999999999999999999", None),
        ("ratio=1.5", None),
    ];
    for (query, want) in cases {
        assert!(Flat::new(plain(), query, &[], false).is_some(), "{query}");
        assert_eq!(Flat::set::<Plain>(query, &mut [], false), want, "{query}");
    }
    let mut bound = [("name", "shelves/a b".to_owned())];
    let want = Plain {
        name: "shelves/a b".into(),
        tags: vec!["t".into()],
        ..Plain::default()
    };
    assert_eq!(Flat::set::<Plain>("tags=t", &mut bound, false), Some(want));
    assert_eq!(bound[0].1, "", "the path variable moved into the message");
    // A path variable moves only once nothing else can fail: after a refused parameter, or
    // for a field with no arm, the bindings are as they came.
    let sent = [("name", "n".to_owned()), ("size", "4".to_owned())];
    for (query, extra) in [("ratio=1", None), ("tags=a", Some(("data", "eA==")))] {
        let mut bound = sent.to_vec();
        bound.extend(extra.map(|(f, v)| (f, v.to_owned())));
        let before = bound.clone();
        assert_eq!(
            Flat::set::<Plain>(query, &mut bound, false),
            None,
            "{query}"
        );
        assert_eq!(bound, before, "{query}");
    }
    let mut bound = sent.to_vec();
    let got = Flat::set::<Plain>("", &mut bound, false).unwrap();
    assert_eq!((got.name.as_str(), got.size), ("n", 4));
    assert_eq!(bound[1].1, "4", "only text moves");
    // What `Flat::new` leaves to the general way is not set either.
    for query in ["tags=a&name=b&name=c", "page.orderBy=x", "nope=1"] {
        let strict = query == "nope=1";
        assert_eq!(Flat::set::<Plain>(query, &mut [], strict), None, "{query}");
    }
}
