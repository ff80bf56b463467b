//! The plugin's library entry (`protoc_gen_rs_svc::generate`) on arbitrary bytes: the
//! CodeGeneratorRequest decoder and, for bytes that decode, the whole pipeline. It never
//! panics, and no panic is turned into an "internal error" response either: every failure is
//! an ordinary response error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let response = protoc_gen_rs_svc::generate(data);
    if let Some(error) = &response.error {
        assert!(!error.contains("internal error"), "{error}");
        assert!(response.file.is_empty());
    }
    let _ = protoc_gen_rs_svc::encode_response(&response);
});
