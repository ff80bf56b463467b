//! Each output that needs a Cargo feature of the runtime beyond `json` can be left out, so the
//! generated code compiles with exactly the features a crate enables (README, "Runtime
//! features"): `no_http` drops the routers and query schemas (`http`), `no_dial` the dial
//! helpers (`dial`), `no_http_client` the HTTP/JSON clients (`http-client`), and what stays is
//! unchanged.

mod common;

/// The Rust of acme/shop/v1/shop.proto generated with `parameter`.
fn shop(parameter: &str) -> String {
    let output = common::generate(&["acme/shop/v1/shop.proto"], parameter).unwrap();
    output
        .files
        .into_iter()
        .find(|f| f.name == "acme.shop.v1.rs")
        .expect("the package file")
        .content
}

/// What needs each runtime feature, by a marker in the generated code.
const HTTP: &[&str] = &[
    "pub mod order_service_http",
    "__codegen::query::QuerySchema",
];
const DIAL: &[&str] = &["pub const SERVICE:", "pub async fn dial_with"];
const CLIENT: &str = "pub mod order_service_client";
const HTTP_CLIENT: &str = "pub mod order_service_http_client";
const SERVER: &str = "pub mod order_service_server";

#[test]
fn each_runtime_feature_has_a_parameter_that_leaves_its_output_out() {
    let cases: &[(&str, bool, bool)] = &[
        // parameter, has the http output, has the dial output
        ("", true, true),
        ("no_http", false, true),
        ("no_dial", true, false),
        ("no_http,no_dial", false, false),
        // The routers call the server trait; the dial helpers live in the client module.
        ("no_server", false, true),
        ("no_client", true, false),
        ("no_http_client", true, true),
    ];
    for &(parameter, http, dial) in cases {
        let code = shop(parameter);
        for marker in HTTP {
            // `no_server` keeps the query schemas: another request's routers may read them.
            let want = http || (parameter == "no_server" && marker.contains("QuerySchema"));
            assert_eq!(code.contains(marker), want, "`{marker}` with `{parameter}`");
        }
        for marker in DIAL {
            assert_eq!(code.contains(marker), dial, "`{marker}` with `{parameter}`");
        }
        assert_eq!(
            code.contains(CLIENT),
            !parameter.contains("no_client"),
            "{parameter}"
        );
        // The HTTP client implements the server trait on the router's route consts.
        let http_client = !["no_http", "no_server", "no_client"]
            .iter()
            .any(|p| parameter.split(',').any(|q| q == *p))
            && !parameter.contains("no_http_client");
        assert_eq!(code.contains(HTTP_CLIENT), http_client, "{parameter}");
        assert_eq!(
            code.contains(SERVER),
            !parameter.contains("no_server"),
            "{parameter}"
        );
    }
}

#[test]
fn leaving_an_output_out_changes_nothing_else() {
    let all = shop("");
    let without = shop("no_http,no_dial");
    // Every item the smaller output has is in the full one, word for word.
    let messages = |code: &str| {
        code.split("\n}\n")
            .filter(|item| !item.contains("_http") && !item.contains("_client"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let (all, without) = (messages(&all), messages(&without));
    for item in &without {
        if item.contains("QuerySchema") {
            continue;
        }
        assert!(all.contains(item), "changed by no_http,no_dial:\n{item}");
    }
}

/// A type that `extern_path` maps to an existing one while the rest of its package is
/// generated (googleapis' google.rpc, generated for code.proto, with `.google.rpc.Status`
/// mapped to the runtime's) gets no JSON or query impls and is not reached by query parameters:
/// prost-build does not generate it, and impls of foreign traits on a foreign type do not
/// compile.
#[test]
fn extern_mapped_types_of_generated_packages_get_no_impls() {
    let output = common::generate(
        &["prelude/v1/prelude.proto"],
        "extern_path=.prelude.v1.Some=::other::Some",
    )
    .unwrap();
    let code = &output
        .files
        .iter()
        .find(|f| f.name == "prelude.v1.rs")
        .expect("the package file")
        .content;
    // Nor is it reached by query parameters (`Holder.some` of `AsRef`'s request).
    for mapped in [
        "for ::other::Some",
        "for Some {",
        "for Some\n",
        "<::other::Some as ::rs_svc::__codegen::query::QuerySchema>",
    ] {
        assert!(!code.contains(mapped), "an impl {mapped}:\n{code}");
    }
    assert!(code.contains("::serde::Serialize for Holder"), "{code}");
}
