//! Custom verbs (`:cancel`): splitting a registered verb off the last segment of a path.

use std::borrow::Cow;

use super::decode::{decode, Path};
use super::Matcher;

impl<R> Matcher<R> {
    /// Each registered verb the last segment ends with, after a `:`, with the offset of that
    /// `:`: the longest first. A verb is what follows the last `:`, or, for a verb holding `:`
    /// itself (grpc-gateway's `{uuid}:custom:custom`), an earlier one.
    pub(super) fn split_verbs<'p>(&self, path: &Path<'p>) -> Vec<(usize, Cow<'p, [u8]>)> {
        let Some(last) = path.spans().last().copied() else {
            return Vec::new();
        };
        let segment = &path.text.as_bytes()[last.start as usize..last.end as usize];
        // `/v1/:cancel` has no segment before the verb; read it as the segment `:cancel`.
        (1..segment.len())
            .filter(|&colon| segment[colon] == b':')
            .filter_map(|colon| {
                let raw = &path.text[last.start as usize + colon + 1..last.end as usize];
                let verb = if last.escaped {
                    decode(raw, false).ok()?
                } else {
                    Cow::Borrowed(raw.as_bytes())
                };
                self.verbs.binary_search_by(|v| (**v).cmp(&*verb)).ok()?;
                Some((last.start as usize + colon, verb))
            })
            .collect()
    }
}
