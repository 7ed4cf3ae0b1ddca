//! `server::framing::Follower` (the second reading of raw HTTP/1 heads and HTTP/2 frames)
//! must reach the same verdicts however the client's bytes are cut into reads: whole, in
//! pieces of any size, and byte by byte. A disagreement would mean that a client could
//! choose its TCP segmentation to hide a `Content-Length` + `Transfer-Encoding` head, or to
//! slip out of an HTTP/2 header-block deadline. And it never panics.
#![no_main]

use std::sync::Arc;

use bink_proxy::server::framing::{Follower, Framing, FramingLog};
use libfuzzer_sys::fuzz_target;

/// What the log says about the next eight chunked requests, and whether an HTTP/2 header
/// block is open, after feeding `pieces`.
fn verdicts<'a>(pieces: impl Iterator<Item = &'a [u8]>) -> (Vec<Framing>, bool) {
    let log = Arc::new(FramingLog::default());
    let mut follower = Follower::new(log.clone());
    for piece in pieces {
        follower.observe(piece);
    }
    let framing = (0..8).map(|_| log.next_request(true)).collect();
    (framing, follower.in_header_block())
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, stream)) = data.split_first() else {
        return;
    };
    // Beyond 64 KiB an unfinished head stops the watch (hyper refuses it with 431) while a
    // complete one read at once is followed: a deliberate difference, outside the property.
    if stream.len() > 64 * 1024 {
        return;
    }
    let whole = verdicts(std::iter::once(stream));
    let pieces = verdicts(stream.chunks(usize::from(cut).max(1)));
    let bytes = verdicts(stream.chunks(1));
    assert_eq!(whole, pieces, "whole vs pieces of {}", usize::from(cut).max(1));
    assert_eq!(whole, bytes, "whole vs byte by byte");
});
