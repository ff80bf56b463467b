//! The plugin's table of well-known types names runtime types that exist, with the traits
//! generated code uses on them: build.rs writes one call per path (`WellKnown::runtime_path`),
//! so a wrong path fails to compile. This test checks that the table was not empty.

include!(concat!(env!("OUT_DIR"), "/well_known_paths.rs"));

#[test]
fn every_well_known_runtime_path_names_a_json_type_of_the_runtime() {
    // google.api.HttpBody, google.rpc.Status and the 14 error-detail types, and the eight
    // google.protobuf types rs_svc::wkt defines.
    assert!(well_known_paths() >= 24, "{}", well_known_paths());
}
