//! Generated names stay short where they can and unique where they must (issue 13 item 5):
//! a route's consts carry the binding index only when its method has several, a name another
//! route already took gets the first free `_2`, `_3`, ..., and the JSON block's alias of the
//! runtime never hides a message's nested module.

use std::path::PathBuf;

use protoc_gen_rs_svc::{decode, run, standalone};

const PROTO: &str = r#"
syntax = "proto3";
package names.v1;

import "google/api/annotations.proto";

service Names {
  rpc GetBook(Req) returns (Req) {
    option (google.api.http) = { post: "/v1/books" body: "*" };
  }
  rpc ListBooks(Req) returns (Req) {
    option (google.api.http) = {
      get: "/v1/books"
      additional_bindings { get: "/v2/books" }
    };
  }
  rpc GetBookRule(Req) returns (Req) {
    option (google.api.http) = { get: "/v1/rules" };
  }
  rpc L(Req) returns (Req) {
    option (google.api.http) = { get: "/v1/l" };
  }
}

message Req {
  string name = 1;
}

// prost-build puts `Inner` in a module `j`, which the JSON block's alias must not hide.
message J {
  message Inner {
    string name = 1;
  }
  Inner inner = 1;
}
"#;

fn generated() -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("names.proto"), PROTO).unwrap();
    let bytes = standalone::request(
        &[dir.path().to_path_buf()],
        &[PathBuf::from("names.proto")],
        "",
    )
    .unwrap();
    let output = run(&decode(&bytes).unwrap()).unwrap();
    output
        .files
        .into_iter()
        .find(|f| f.name == "names.v1.rs")
        .expect("the package file")
        .content
}

#[test]
fn route_consts_have_an_index_only_for_methods_with_several_routes_and_never_collide() {
    let code = generated();
    for (present, name) in [
        (true, "const GET_BOOK: Template"),
        (true, "const GET_BOOK_RULE: Rule"),
        (false, "const GET_BOOK_0"),
        (true, "const LIST_BOOKS_0: Template"),
        (true, "const LIST_BOOKS_1: Template"),
        // `GetBook` took `GET_BOOK_RULE` first.
        (true, "const GET_BOOK_RULE_2: Template"),
        // `L` is the imported `Segment::Literal`.
        (true, "const L_2: Template"),
        (false, "const L: Template"),
    ] {
        assert_eq!(code.contains(name), present, "`{name}` in:\n{code}");
    }
}

#[test]
fn json_impls_share_one_allow_per_block_and_an_alias_that_hides_no_nested_module() {
    let code = generated();
    // One allow per block of impls, none per impl; the impls come in two blocks at most, as
    // they are made in two shares on two threads (src/emit/mod.rs).
    let blocks = code
        .matches("#[allow(deprecated, unused_imports)]\nconst _: () = {")
        .count();
    assert!((1..=2).contains(&blocks), "{code}");
    // The only other allow: a query schema's `set_field` sets deprecated fields too.
    let set_field = code
        .matches("#[allow(deprecated)]\n    fn set_field(")
        .count();
    assert_eq!(
        code.matches("#[allow(").count(),
        blocks + set_field,
        "{code}"
    );
    assert!(code.contains("#[allow(deprecated, unused_imports)]\nconst _: () = {"));
    assert!(
        code.contains("use ::rs_svc::__codegen::json as js;"),
        "{code}"
    );
    assert!(
        code.contains("impl ::serde::Serialize for j::Inner"),
        "{code}"
    );
}

#[test]
fn a_message_is_read_from_json_with_one_line_per_field_and_the_runtimes_loop() {
    let code = generated();
    // The Deserialize impl is one call; the loop over members, the duplicate and oneof checks
    // live in the runtime (rs_svc::json::Object).
    for expected in [
        "impl<'de> ::serde::Deserialize<'de> for Req {",
        "            js::deserialize(deserializer)\n",
        "impl js::Object<1, 0> for Req {",
        "const FIELDS: [&'static str; 1] = [\"name\"];",
        "                \"name\" => r.read::<c::Str, _>(0, &mut self.name),\n",
        "                \"inner\" => r.read_option::<c::Message, _>(0, &mut self.inner),\n",
    ] {
        assert!(code.contains(expected), "`{expected}` in:\n{code}");
    }
    for gone in ["visit_map", "next_key", "first_time", "struct Visitor"] {
        assert!(!code.contains(gone), "`{gone}` in:\n{code}");
    }
}
