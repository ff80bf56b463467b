//! Query parameters bound into generated request messages through their generated
//! `QuerySchema` and `Deserialize` impls (docs/reference.md section 4, "Binding a request").

use rs_svc::http::query::bind;
use rs_svc_compile_test::acme::shop::v1 as shop;

#[test]
fn query_parameters_set_scalars_enums_repeated_and_well_known_types() {
    let request: shop::ListOrdersRequest = bind(
        "customer=customers%2F7&page_size=5&states=CONFIRMED&states=1&placedAfter=2024-01-01T00:00:00Z",
        &[],
        false,
    )
    .unwrap();
    assert_eq!(request.customer, "customers/7");
    assert_eq!(request.page_size, 5);
    assert_eq!(request.states.len(), 2);
    assert_eq!(request.states[0], shop::order::State::Confirmed as i32);
    assert_eq!(request.states[1], 1);
    assert_eq!(request.placed_after.unwrap().seconds, 1_704_067_200);
}

#[test]
fn nested_fields_are_reached_by_dotted_names() {
    let request: shop::CreateOrderRequest = bind(
        "order.customer=c1&order.coupon=WELCOME&orderId=o1",
        &[],
        false,
    )
    .unwrap();
    let order = request.order.unwrap();
    assert_eq!(order.customer, "c1");
    assert_eq!(order.coupon.as_deref(), Some("WELCOME"));
    assert_eq!(request.order_id, "o1");
}

#[test]
fn bad_values_are_invalid_argument_naming_the_parameter() {
    let cases = [
        (
            "page_size=99999999999",
            "`page_size`: 99999999999 is out of range",
        ),
        ("states=NOPE", "states"),
        ("placedAfter=yesterday", "placedAfter"),
        ("page_size=1&pageSize=2", "given twice"),
    ];
    for (query, expected) in cases {
        let err = bind::<shop::ListOrdersRequest>(query, &[], false).unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{query}");
        assert!(
            err.message().contains(expected),
            "{query}: {}",
            err.message()
        );
    }
}

#[test]
fn fields_bound_elsewhere_are_left_to_their_source() {
    let request: shop::CreateOrderRequest =
        bind("order.customer=c1&orderId=o1", &["order"], false).unwrap();
    assert!(request.order.is_none());
    assert_eq!(request.order_id, "o1");
}

/// Top-level values set straight into a generated request (its `set_field`, the GET's fast
/// way) make the message that reading their JSON makes; what only that way reads (a well-known
/// type, a wrapper, a map, a nested field, a value out of range, a field given twice) is left
/// to it.
#[test]
fn values_set_directly_make_the_message_their_json_makes() {
    use rs_svc::http::JsonMessage;
    use rs_svc_compile_test::library::v1::ListBooksRequest;

    let direct = [
        "parent=shelves%2F1&page_size=007&pageToken=a+b&include_read=1&authors=x&authors=%C3%A9\
         &genre=FICTION&any_genre=2&anyGenre=POETRY&language=en",
        "page_size=-0&includeRead=false&language=",
        "genre=7&unknown=1",
        "page_size=-2147483648",
        "",
    ];
    for query in direct {
        let set = ListBooksRequest::set_flat(query, &mut [], false);
        let read: ListBooksRequest = bind(query, &[], false).unwrap();
        assert_eq!(set, Some(read), "{query}");
    }
    let general = [
        "page_size=2147483648",
        "publishedAfter=2024-01-01T00:00:00Z",
        "min_pages=3",
        "labels[a]=b",
        "filter.minCopies=3",
        "page_size=1&pageSize=2",
    ];
    for query in general {
        let set = ListBooksRequest::set_flat(query, &mut [], false);
        assert_eq!(set, None, "{query}");
    }
    // A path variable wins over the query and moves into the message.
    let mut bindings = [("parent", "shelves/a b".to_owned())];
    let set = ListBooksRequest::set_flat("parent=x&page_size=3", &mut bindings, false).unwrap();
    assert_eq!((set.parent.as_str(), set.page_size), ("shelves/a b", 3));
}
