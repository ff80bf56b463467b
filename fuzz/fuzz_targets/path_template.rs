//! The plugin's path-template parser (`src/model/template.rs`) on arbitrary text: it never
//! panics, an error points inside the template, and a parsed template's canonical text parses
//! back to the same template with the same shape.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protoc_gen_rs_svc::model::PathTemplate;

fuzz_target!(|text: &str| {
    let template = match PathTemplate::parse(text) {
        Ok(template) => template,
        Err(error) => {
            assert!(
                error.offset <= text.len(),
                "{error} is past the end of {text:?}"
            );
            assert!(!error.message.is_empty());
            return;
        }
    };
    let mut covered = 0;
    for variable in &template.variables {
        assert!(
            variable.start >= covered,
            "overlapping variables in {text:?}"
        );
        assert!(
            variable.start < variable.end,
            "an empty variable in {text:?}"
        );
        assert!(
            variable.end <= template.segments.len(),
            "a variable past the end in {text:?}"
        );
        covered = variable.end;
    }
    let canonical = template.to_string();
    let again = PathTemplate::parse(&canonical)
        .unwrap_or_else(|e| panic!("{text:?} prints as {canonical:?}, which does not parse: {e}"));
    assert_eq!(again, template, "{text:?} prints as {canonical:?}");
    assert_eq!(again.shape(), template.shape());
    let _ = template.multi_before_literals();
});
