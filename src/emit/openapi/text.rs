//! Comment text for OpenAPI: `(-- internal --)` remarks removed, the first paragraph as the
//! summary, and reason phrases for success statuses.

/// Comment text for a description: `(-- internal --)` remarks removed, blank edges trimmed.
pub(crate) fn clean_comment(text: &str) -> Option<String> {
    let out = crate::source::without_internal_remarks(text);
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    let mut text = String::new();
    let mut blank = false;
    for line in lines {
        if line.trim().is_empty() {
            blank = !text.is_empty();
            continue;
        }
        if blank {
            text.push_str("\n\n");
        } else if !text.is_empty() {
            text.push('\n');
        }
        blank = false;
        text.push_str(line);
    }
    (!text.is_empty()).then_some(text)
}

/// The first paragraph as a summary, the rest as the description.
pub(super) fn summary_and_description(text: Option<String>) -> (Option<String>, Option<String>) {
    let Some(text) = text else {
        return (None, None);
    };
    match text.split_once("\n\n") {
        Some((first, rest)) => (Some(first.replace('\n', " ")), Some(rest.to_owned())),
        None => (Some(text.replace('\n', " ")), None),
    }
}

/// The reason phrase of a success status, for a response's description.
pub(super) fn status_reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        _ => "Success",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_comments_are_stripped() {
        assert_eq!(
            clean_comment("Lists books.\n(-- api-linter: x\n   more --)\n\nSecond.").as_deref(),
            Some("Lists books.\n\nSecond.")
        );
        assert_eq!(clean_comment("(-- only --)"), None);
        assert_eq!(clean_comment("a (-- b --) c").as_deref(), Some("a  c"));
    }

    #[test]
    fn first_paragraph_is_the_summary() {
        let (s, d) = summary_and_description(Some("Lists.\nAll of them.\n\nMore.".to_owned()));
        assert_eq!(s.as_deref(), Some("Lists. All of them."));
        assert_eq!(d.as_deref(), Some("More."));
    }
}
