//! The plugin's library entry (`protoc_gen_rs_svc::generate`) on arbitrary bytes: the
//! CodeGeneratorRequest decoder and, for bytes that decode, the whole pipeline. It never
//! panics, and no panic of the plugin's own code is turned into an "internal error" response
//! either: every failure is an ordinary response error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let response = protoc_gen_rs_svc::generate(data);
    if let Some(error) = &response.error {
        // Known panics of dependencies, which the plugin reports as an error naming the file, by
        // design (the decoder's `a_panic_in_prost_reflect_is_an_error_naming_the_file`):
        // prost-reflect 0.16 on an unknown `syntax`, and prost-build 0.14 on source info that
        // lacks an element's location (or is out of order). A panic anywhere else is a bug.
        let known = error.contains("(prost-reflect): internal error")
            || error.contains("src/code_generator.rs:726");
        assert!(known || !error.contains("internal error"), "{error}");
        assert!(response.file.is_empty());
    }
    let _ = protoc_gen_rs_svc::encode_response(&response);
});
