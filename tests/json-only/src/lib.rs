//! What the plugin generates for acme/shop/v1/shop.proto with `no_server,no_client,no_http`,
//! built against `rs-svc` with `default-features = false, features = ["json"]`: prost messages
//! with exact proto3 JSON and nothing of the HTTP stack (tests/deps.rs checks the tree).

include!(concat!(env!("OUT_DIR"), "/mod.rs"));
