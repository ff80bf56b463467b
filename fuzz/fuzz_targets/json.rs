//! The proto3 JSON reader of generated messages (compile-test fixtures, with the three JSON
//! option sets the plugin emits) and of every well-known type (`runtime/src/wkt/`,
//! `runtime/src/json/`): reading arbitrary bytes never panics, and a value that reads writes
//! JSON that reads back to the same value and writes the same JSON again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rs_svc::wkt;
use rs_svc_compile_test::{acme, alt, canonical, library};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn round_trip<T>(json: &[u8], omits_unset: bool)
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let Ok(first) = serde_json::from_slice::<T>(json) else {
        return;
    };
    let written = serde_json::to_string(&first).unwrap_or_else(|e| {
        panic!(
            "{first:?} read from {:?} does not write: {e}",
            String::from_utf8_lossy(json)
        )
    });
    let second: T = serde_json::from_str(&written)
        .unwrap_or_else(|e| panic!("{first:?} writes {written}, which does not read: {e}"));
    // Only where unset fields are left out, and so not where an `Any` holds a generated message
    // (its type is looked up by name, and this crate links three generations of each fixture,
    // one writing unset fields): an unset `google.protobuf.Value` field is written as `null`,
    // which reads back as NULL_VALUE (docs/reference.md section 1.1); and an `Any`'s bytes hold
    // maps in hash order, so equal messages may differ in them. NaN is never equal to itself.
    // The JSON comparison below covers all three.
    if omits_unset && !written.contains("NaN") && !written.contains("\"@type\"") {
        assert_eq!(first, second, "{written}");
    }
    let again = serde_json::to_string(&second).unwrap();
    // Maps are hash maps: compare as JSON values, key order aside.
    let a: serde_json::Value = serde_json::from_str(&written).unwrap();
    let b: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(
        a, b,
        "{first:?} writes {written}, read back it writes {again}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, json)) = data.split_first() else {
        return;
    };
    match which % 24 {
        0 => round_trip::<acme::shop::v1::Order>(json, false),
        1 => round_trip::<alt::acme::shop::v1::Order>(json, false),
        2 => round_trip::<canonical::acme::shop::v1::Order>(json, true),
        3 => round_trip::<acme::shop::v1::ListOrdersResponse>(json, false),
        4 => round_trip::<library::v1::Book>(json, false),
        5 => round_trip::<library::v1::ListBooksRequest>(json, false),
        6 => round_trip::<alt::library::v1::ListBooksRequest>(json, false),
        7 => round_trip::<wkt::Any>(json, false),
        8 => round_trip::<wkt::Duration>(json, true),
        9 => round_trip::<wkt::Timestamp>(json, true),
        10 => round_trip::<wkt::FieldMask>(json, true),
        11 => round_trip::<wkt::Struct>(json, true),
        12 => round_trip::<wkt::Value>(json, true),
        13 => round_trip::<wkt::ListValue>(json, true),
        14 => round_trip::<wkt::Empty>(json, true),
        15 => round_trip::<wkt::BoolValue>(json, true),
        16 => round_trip::<wkt::BytesValue>(json, true),
        17 => round_trip::<wkt::DoubleValue>(json, true),
        18 => round_trip::<wkt::FloatValue>(json, true),
        19 => round_trip::<wkt::Int32Value>(json, true),
        20 => round_trip::<wkt::Int64Value>(json, true),
        21 => round_trip::<wkt::UInt32Value>(json, true),
        22 => round_trip::<wkt::UInt64Value>(json, true),
        _ => round_trip::<wkt::StringValue>(json, true),
    }
});
