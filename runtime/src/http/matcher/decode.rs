//! A request path read once: split into segments with its percent escapes checked, and the
//! values of a template's variables decoded from it.

use std::borrow::Cow;

use super::{RouteError, Segment, Template};

/// Paths of up to this many segments are split without allocating.
const INLINE: usize = 16;

/// One segment of a request path: its byte range in [`Path::text`].
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Span {
    pub(super) start: u32,
    pub(super) end: u32,
    /// The segment has percent escapes.
    pub(super) escaped: bool,
}

/// A request path split into segments once, with its escapes checked.
pub(super) struct Path<'p> {
    /// The raw path; spans index into it.
    pub(super) text: &'p str,
    inline: [Span; INLINE],
    len: usize,
    /// All the spans instead, for paths with more than [`INLINE`] segments.
    heap: Vec<Span>,
}

impl<'p> Path<'p> {
    /// `raw`, not split yet.
    #[inline]
    pub(super) fn new(raw: &'p str) -> Path<'p> {
        Path {
            text: raw,
            inline: [Span::default(); INLINE],
            len: 0,
            heap: Vec::new(),
        }
    }

    /// Splits the path at `/`, stopping at `?`. One trailing `/` is dropped.
    pub(super) fn split(&mut self) -> Result<(), RouteError> {
        let bytes = self.text.as_bytes();
        // u32 offsets: a request target that long is no path anyway.
        if bytes.first() != Some(&b'/') || bytes.len() > u32::MAX as usize {
            return Err(RouteError::NotFound);
        }
        let mut span = Span {
            start: 1,
            end: 1,
            escaped: false,
        };
        let mut stop = bytes.len();
        // Eight bytes at a time, visiting only the `/`, `%` and `?` among them.
        let mut base = 1;
        'scan: while base < bytes.len() {
            let mut found = specials(word_at(bytes, base));
            while found != 0 {
                let i = base + found.trailing_zeros() as usize / 8;
                found &= found - 1;
                match bytes[i] {
                    b'/' => {
                        if i == span.start as usize {
                            return Err(RouteError::NotFound);
                        }
                        span.end = i as u32;
                        self.push(span);
                        span = Span {
                            start: i as u32 + 1,
                            end: 0,
                            escaped: false,
                        };
                    }
                    b'%' => {
                        if escape_at(bytes, i).is_none() {
                            return Err(bad_escape(&bytes[i..(i + 3).min(bytes.len())]));
                        }
                        span.escaped = true;
                    }
                    _ => {
                        stop = i;
                        break 'scan;
                    }
                }
            }
            base += 8;
        }
        // Nothing after the last `/`: the root, or a trailing `/` to drop (a second one would
        // have made an empty segment above).
        if stop > span.start as usize {
            span.end = stop as u32;
            self.push(span);
        }
        Ok(())
    }

    fn push(&mut self, span: Span) {
        if self.len < INLINE {
            self.inline[self.len] = span;
        } else {
            if self.heap.is_empty() {
                self.heap.extend_from_slice(&self.inline);
            }
            self.heap.push(span);
        }
        self.len += 1;
    }

    #[inline]
    pub(super) fn spans(&self) -> &[Span] {
        if self.len <= INLINE {
            &self.inline[..self.len]
        } else {
            &self.heap
        }
    }

    /// Ends the last segment at byte `end`.
    pub(super) fn cut_last(&mut self, end: usize) {
        let last = if self.len <= INLINE {
            self.inline[..self.len].last_mut()
        } else {
            self.heap.last_mut()
        };
        if let Some(last) = last {
            last.end = end as u32;
        }
    }
}

/// The value of each variable of `template` matched on `path`.
pub(super) fn bind<'a>(
    template: &'static Template,
    path: &Path<'a>,
) -> Result<Vec<(&'static str, Cow<'a, str>)>, RouteError> {
    let segments = template.segments;
    let spans = path.spans();
    let multi_at = segments.iter().position(|s| *s == Segment::Multi);
    // The span where segment `i` (or the end of segment `i - 1`) falls: segments after `**`
    // match the last spans.
    let span_of = |i: usize| match multi_at {
        Some(m) if i > m => spans.len().saturating_sub(segments.len() - i),
        _ => i.min(spans.len()),
    };
    let mut bindings = Vec::with_capacity(template.variables.len());
    for variable in template.variables {
        let end = variable.end.min(segments.len());
        if variable.start >= end {
            continue;
        }
        let multi = multi_at.is_some_and(|m| (variable.start..end).contains(&m));
        // A `**` covering no segment leaves `start` at the end of the spans it covers.
        let start = span_of(variable.start);
        let covered = &spans[start..span_of(end).max(start)];
        let (Some(first), Some(last)) = (covered.first(), covered.last()) else {
            bindings.push((variable.field, Cow::Borrowed("")));
            continue;
        };
        let text = &path.text[first.start as usize..last.end as usize];
        let value = if !covered.iter().any(|s| s.escaped) {
            Cow::Borrowed(text)
        } else {
            match decode(text, multi || end - variable.start > 1) {
                Ok(Cow::Borrowed(_)) => Cow::Borrowed(text),
                Ok(Cow::Owned(bytes)) => Cow::Owned(String::from_utf8(bytes).map_err(|_| {
                    RouteError::BadRequest(format!(
                        "the value of path variable `{}` is not UTF-8 once percent-decoded",
                        variable.field
                    ))
                })?),
                Err(escape) => return Err(bad_escape(escape)),
            }
        };
        bindings.push((variable.field, value));
    }
    Ok(bindings)
}

/// `bytes[base..base + 8]` as a little-endian word, zero bytes standing in past the end.
#[inline]
fn word_at(bytes: &[u8], base: usize) -> u64 {
    if let Some(Ok(word)) = bytes.get(base..base + 8).map(<[u8; 8]>::try_from) {
        return u64::from_le_bytes(word);
    }
    if let Some(Ok(word)) = bytes
        .len()
        .checked_sub(8)
        .and_then(|from| bytes.get(from..))
        .map(<[u8; 8]>::try_from)
    {
        // The last 8 bytes, with those before `base` shifted off.
        return u64::from_le_bytes(word) >> (8 * (base + 8 - bytes.len()));
    }
    let mut word = [0; 8];
    for (w, b) in word.iter_mut().zip(&bytes[base..]) {
        *w = *b;
    }
    u64::from_le_bytes(word)
}

/// The high bit of each byte of `word` that is `/`, `%` or `?`, exactly (no carries between
/// bytes).
#[inline]
fn specials(word: u64) -> u64 {
    const LOW7: u64 = u64::from_le_bytes([0x7f; 8]);
    let zeros = |x: u64| !(((x & LOW7) + LOW7) | x | LOW7);
    let each = |b: u8| u64::from_le_bytes([b; 8]);
    zeros(word ^ each(b'/')) | zeros(word ^ each(b'%')) | zeros(word ^ each(b'?'))
}

fn bad_escape(escape: &[u8]) -> RouteError {
    RouteError::BadRequest(format!(
        "`{}` in the path is not a percent escape (`%` and two hex digits)",
        String::from_utf8_lossy(escape)
    ))
}

/// The octet of the escape at `bytes[at]` (a `%`), if well-formed.
fn escape_at(bytes: &[u8], at: usize) -> Option<u8> {
    let hi = hex(*bytes.get(at + 1)?)?;
    let lo = hex(*bytes.get(at + 2)?)?;
    Some(hi << 4 | lo)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `text` in one pass; with `keep_slash`, `%2F`/`%2f` stay as sent. Borrows
/// when decoding changes nothing. The error is the malformed escape.
pub(super) fn decode(text: &str, keep_slash: bool) -> Result<Cow<'_, [u8]>, &[u8]> {
    let bytes = text.as_bytes();
    let Some(first) = bytes.iter().position(|&b| b == b'%') else {
        return Ok(Cow::Borrowed(bytes));
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..first]);
    let mut i = first;
    let mut changed = false;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match escape_at(bytes, i) {
            Some(b'/') if keep_slash => out.extend_from_slice(&bytes[i..i + 3]),
            Some(octet) => {
                out.push(octet);
                changed = true;
            }
            None => return Err(&bytes[i..(i + 3).min(bytes.len())]),
        }
        i += 3;
    }
    Ok(if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(bytes)
    })
}

/// A template literal (segment or verb) as the bytes it matches; a malformed escape, which the
/// plugin rejects, is taken as written.
pub(super) fn decode_literal(text: &str) -> Box<[u8]> {
    match decode(text, false) {
        Ok(bytes) => bytes.into(),
        Err(_) => text.as_bytes().into(),
    }
}
