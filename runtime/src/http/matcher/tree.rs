//! The segment tree: building it from templates, and walking it for a request path.

use std::ops::ControlFlow;

use super::decode::{decode, decode_literal, Path};
use super::{Entry, Matcher, MethodFilter, Segment, Template};

#[derive(Debug, Default)]
pub(super) struct Node {
    /// The [`tag`] of each literal child's text, sorted: a lookup compares integers, and text
    /// only past the 15th byte.
    tags: Vec<u128>,
    /// Each literal child's decoded text and index, in the order of `tags`.
    literals: Vec<(Box<[u8]>, usize)>,
    /// With more than [`SCANNED`] literal children: open addressing over them, by [`slot`];
    /// each slot holds an index into `tags` plus one, or 0 when empty.
    pub(super) table: Box<[u32]>,
    /// The child for `*`.
    single: Option<usize>,
    /// Routes whose template ends at this node.
    end: Vec<usize>,
    /// Routes whose template ends with `**` right after this node.
    multi: Vec<usize>,
    /// Routes whose template has `**` right after this node, then literal segments; longest
    /// suffix first. They are tried before `multi`: a suffix that matches is more specific.
    multi_suffixed: Vec<usize>,
}

/// How many leading bytes a [`tag`] holds.
const TAGGED: usize = 15;

/// The first 15 bytes of `text` and its length (capped at 255) in one integer: equal texts
/// have equal tags, and texts of up to 15 bytes (most path segments) with equal tags are equal.
pub(super) fn tag(text: &[u8]) -> u128 {
    tag_in(text, 0, text.len())
}

/// The [`tag`] of `bytes[start..end]`, read as one 16-byte word from `bytes` when it is long
/// enough, the bytes outside the segment masked or shifted off.
#[inline]
pub(super) fn tag_in(bytes: &[u8], start: usize, end: usize) -> u128 {
    let len = end - start;
    let word = if let Some(Ok(word)) = bytes.get(start..start + 16).map(<[u8; 16]>::try_from) {
        u128::from_be_bytes(word)
    } else if let Some(Ok(word)) = end
        .checked_sub(16)
        .and_then(|from| bytes.get(from..end))
        .map(<[u8; 16]>::try_from)
    {
        // The 16 bytes ending with the segment: shift what precedes it off the top. Here
        // `len < 16`, or the first branch would have been taken.
        u128::from_be_bytes(word)
            .checked_shl(8 * (16 - len as u32))
            .unwrap_or(0)
    } else {
        let mut word = [0; 16];
        let n = len.min(16);
        word[..n].copy_from_slice(&bytes[start..start + n]);
        u128::from_be_bytes(word)
    };
    let kept = len.min(TAGGED) as u32;
    let mask = u128::MAX.checked_shl(128 - 8 * kept).unwrap_or(0);
    (word & mask) | len.min(255) as u128
}

/// Nodes with more literal children than this get a hash table.
const SCANNED: usize = 4;

/// The slot of `tag` in a table of `mask + 1` slots: a multiplicative hash of both halves.
#[inline]
fn slot(tag: u128, mask: usize) -> usize {
    let folded = (tag as u64) ^ ((tag >> 64) as u64).rotate_left(29);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
}

impl Node {
    /// The child for the literal `bytes[start..end]`.
    #[inline]
    fn literal(&self, bytes: &[u8], start: usize, end: usize) -> Option<usize> {
        let tag = tag_in(bytes, start, end);
        let text = &bytes[start..end];
        let is = |i: usize| {
            let key = &self.literals[i].0;
            self.tags[i] == tag && (text.len() <= TAGGED || key[TAGGED..] == text[TAGGED..])
        };
        if self.table.is_empty() {
            let i = (0..self.tags.len()).find(|&i| is(i))?;
            return Some(self.literals[i].1);
        }
        let mask = self.table.len() - 1;
        let mut at = slot(tag, mask);
        loop {
            let i = self.table[at].checked_sub(1)? as usize;
            if is(i) {
                return Some(self.literals[i].1);
            }
            at = (at + 1) & mask;
        }
    }

    /// Builds the hash table of the literal children, if there are many (the table is at
    /// most half full, so probes are short and always end at an empty slot).
    pub(super) fn index(&mut self) {
        if self.tags.len() <= SCANNED {
            return;
        }
        let size = (self.tags.len() * 2).next_power_of_two();
        let mut table = vec![0u32; size];
        for (i, &tag) in self.tags.iter().enumerate() {
            let mut at = slot(tag, size - 1);
            while table[at] != 0 {
                at = (at + 1) & (size - 1);
            }
            table[at] = i as u32 + 1;
        }
        self.table = table.into();
    }
}

impl<R> Matcher<R> {
    pub(super) fn insert(&mut self, method: MethodFilter, template: &'static Template, route: R) {
        let segments = template.segments;
        let multi_at = segments.iter().position(|s| *s == Segment::Multi);
        let suffix: Box<[Box<[u8]>]> = match multi_at {
            None => Box::default(),
            Some(at) => {
                let mut suffix = Vec::new();
                for segment in &segments[at + 1..] {
                    match segment {
                        Segment::Literal(text) => suffix.push(decode_literal(text)),
                        // Where `**` would end is ambiguous: such a route never matches.
                        _ => return,
                    }
                }
                suffix.into()
            }
        };
        let index = self.routes.len();
        let mut node = 0;
        for segment in segments {
            node = match *segment {
                Segment::Literal(text) => {
                    let key = decode_literal(text);
                    let tag = tag(&key);
                    let here = &self.nodes[node];
                    // Sorted by tag, then text; a linear search is fine at build time.
                    let at = here
                        .tags
                        .iter()
                        .zip(&here.literals)
                        .take_while(|(t, (k, _))| (**t, &**k) < (tag, &*key))
                        .count();
                    match here.literals.get(at) {
                        Some((k, child)) if here.tags[at] == tag && *k == key => *child,
                        _ => {
                            let child = self.new_node();
                            let here = &mut self.nodes[node];
                            here.tags.insert(at, tag);
                            here.literals.insert(at, (key, child));
                            child
                        }
                    }
                }
                Segment::Single => match self.nodes[node].single {
                    Some(child) => child,
                    None => {
                        let child = self.new_node();
                        self.nodes[node].single = Some(child);
                        child
                    }
                },
                Segment::Multi => break,
            };
        }
        if multi_at.is_some() && suffix.is_empty() {
            self.nodes[node].multi.push(index);
        } else if multi_at.is_some() {
            // Longest suffix first, in declaration order among equal lengths.
            let here = &self.nodes[node].multi_suffixed;
            let at = here
                .iter()
                .take_while(|&&i| self.routes[i].suffix.len() >= suffix.len())
                .count();
            self.nodes[node].multi_suffixed.insert(at, index);
        } else {
            self.nodes[node].end.push(index);
        }
        let verb = template.verb.map(decode_literal);
        if let Some(verb) = &verb {
            self.verbs.push(verb.clone());
        }
        let binds_bare_multi = multi_at.is_some_and(|at| {
            template
                .variables
                .iter()
                .any(|v| v.start == at && v.end == at + 1)
        });
        self.routes.push(Entry {
            method,
            template,
            route,
            verb,
            binds_bare_multi,
            suffix,
        });
    }

    fn new_node(&mut self) -> usize {
        self.nodes.push(Node::default());
        self.nodes.len() - 1
    }

    /// Walks the tree from `node`, which has matched the segments before `at`, most specific
    /// branch first, calling `visit` with each set of routes whose template may match the whole
    /// path until it breaks. Routes ending at a node match outright (`None`); routes with `**`
    /// get the index of the first segment `**` would cover (`Some`), and [`Matcher::fits`]
    /// decides.
    pub(super) fn walk<B>(
        &self,
        path: &Path<'_>,
        node: usize,
        at: usize,
        visit: &mut impl FnMut(&[usize], Option<usize>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        let node = &self.nodes[node];
        let Some(&span) = path.spans().get(at) else {
            if !node.end.is_empty() {
                visit(&node.end, None)?;
            }
            if !node.multi.is_empty() {
                visit(&node.multi, Some(at))?;
            }
            return ControlFlow::Continue(());
        };
        if !node.literals.is_empty() {
            let (start, end) = (span.start as usize, span.end as usize);
            let child = if span.escaped {
                // The path's escapes were checked already.
                decode(&path.text[start..end], false)
                    .ok()
                    .and_then(|text| node.literal(&text, 0, text.len()))
            } else {
                node.literal(path.text.as_bytes(), start, end)
            };
            if let Some(child) = child {
                self.walk(path, child, at + 1, visit)?;
            }
        }
        if let Some(child) = node.single {
            self.walk(path, child, at + 1, visit)?;
        }
        if !node.multi_suffixed.is_empty() {
            visit(&node.multi_suffixed, Some(at))?;
        }
        if !node.multi.is_empty() {
            visit(&node.multi, Some(at))?;
        }
        ControlFlow::Continue(())
    }

    /// Whether route `index`, reached by [`Matcher::walk`] with `multi_at`, matches `path`:
    /// its literals after `**` match the last segments, and a variable that is exactly `**`
    /// gets at least one segment.
    pub(super) fn fits(&self, index: usize, path: &Path<'_>, multi_at: Option<usize>) -> bool {
        let Some(at) = multi_at else {
            return true;
        };
        let entry = &self.routes[index];
        let spans = path.spans();
        let Some(covered) = (spans.len() - at).checked_sub(entry.suffix.len()) else {
            return false;
        };
        if covered == 0 && entry.binds_bare_multi {
            return false;
        }
        let last = &spans[spans.len() - entry.suffix.len()..];
        entry.suffix.iter().zip(last).all(|(literal, span)| {
            let text = &path.text[span.start as usize..span.end as usize];
            if span.escaped {
                // The path's escapes were checked already.
                decode(text, false).is_ok_and(|text| *text == **literal)
            } else {
                text.as_bytes() == &**literal
            }
        })
    }
}
