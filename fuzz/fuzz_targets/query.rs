//! Query binding (`runtime/src/http/query/`) into generated messages of the compile-test
//! fixtures, with the three JSON option sets the plugin emits: never a panic; a message the
//! query binds writes as JSON and reads back; a path variable set into the query's object
//! never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rs_svc::http::query::{bind, set_path, to_json, QuerySchema};
use rs_svc_compile_test::{acme, alt, canonical, library};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Dotted proto paths a route could bind from its path or body.
const BOUND: &[&str] = &[
    "name",
    "order",
    "order.name",
    "customer",
    "states",
    "book.author",
];
/// Path variables a template could name.
const PATHS: &[&str] = &[
    "name",
    "customer",
    "page_size",
    "states",
    "order.name",
    "order.labels",
    "order.total_minor",
    "order.split_from.customer",
    "order.create_time",
    "order.state",
    "update_mask",
    "book.name",
    "nope.x",
];

fn check<T>(flags: u8, query: &str)
where
    T: QuerySchema + DeserializeOwned + Serialize + Default + PartialEq + std::fmt::Debug,
{
    let bound: Vec<&str> = BOUND
        .iter()
        .enumerate()
        .filter(|(i, _)| flags >> (i + 1) & 1 == 1)
        .map(|(_, b)| *b)
        .collect();
    let reject_unknown = flags & 1 == 1;
    if let Ok(message) = bind::<T>(query, &bound, reject_unknown) {
        let json = serde_json::to_string(&message)
            .unwrap_or_else(|e| panic!("{query:?} binds {message:?}, which does not write: {e}"));
        serde_json::from_str::<T>(&json)
            .unwrap_or_else(|e| panic!("{query:?} binds {message:?}, written {json}: {e}"));
    }
    if let Ok(mut object) = to_json(T::query_fields(), query, &bound, reject_unknown) {
        let field = PATHS[usize::from(flags) % PATHS.len()];
        let value = query.rsplit('&').next().unwrap_or_default();
        let _ = set_path(&mut object, T::query_fields(), field, value);
        let _ = serde_json::from_value::<T>(serde_json::Value::Object(object));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Some((&flags, rest)) = rest.split_first() else {
        return;
    };
    let query = String::from_utf8_lossy(rest);
    match which % 8 {
        0 => check::<acme::shop::v1::Order>(flags, &query),
        1 => check::<acme::shop::v1::ListOrdersRequest>(flags, &query),
        2 => check::<acme::shop::v1::UpdateOrderRequest>(flags, &query),
        3 => check::<alt::acme::shop::v1::Order>(flags, &query),
        4 => check::<alt::acme::shop::v1::ListOrdersRequest>(flags, &query),
        5 => check::<canonical::acme::shop::v1::Order>(flags, &query),
        6 => check::<library::v1::UpdateBookRequest>(flags, &query),
        _ => check::<library::v1::ListBooksRequest>(flags, &query),
    }
});
