//! The client-stream body splitter (`runtime/src/http/client_stream.rs`): NDJSON lines or the
//! elements of one JSON array. Any chunking of the same bytes gives the same messages, or the
//! same error, as the body in one piece; and it never panics.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use rs_svc::http::client_stream::Splitter;

#[derive(Debug, Arbitrary)]
struct Input {
    body: Vec<u8>,
    /// Where to cut the body: lengths of successive pieces (0 is an empty piece).
    cuts: Vec<u8>,
}

/// Every message, or the message of the first error.
fn split(pieces: &[&[u8]]) -> Result<Vec<Vec<u8>>, String> {
    let mut splitter = Splitter::default();
    let mut out = Vec::new();
    for piece in pieces {
        let messages = splitter
            .push(piece, usize::MAX)
            .map_err(|e| e.message().to_owned())?;
        out.extend(messages.iter().map(|m| m.to_vec()));
    }
    let rest = splitter.finish().map_err(|e| e.message().to_owned())?;
    out.extend(rest.iter().map(|m| m.to_vec()));
    Ok(out)
}

fuzz_target!(|input: Input| {
    let whole = split(&[&input.body]);
    let mut pieces = Vec::new();
    let mut rest = input.body.as_slice();
    for &cut in &input.cuts {
        let (piece, tail) = rest.split_at(usize::from(cut).min(rest.len()));
        pieces.push(piece);
        rest = tail;
    }
    pieces.push(rest);
    let chunked = split(&pieces);
    assert_eq!(whole, chunked, "one piece vs {} pieces", pieces.len());
    if let Ok(messages) = &whole {
        for message in messages {
            assert!(!message.is_empty());
            assert_eq!(message.trim_ascii(), message.as_slice());
        }
    }
});
