//! The framing follower fed real request streams in pieces of every size: what hyper reads,
//! it must read the same way.

use super::h2::{FLAG_END_HEADERS, FRAME_CONTINUATION, FRAME_HEADERS};
use super::*;

/// Feeds `stream` in pieces of `piece` bytes, then asks about `requests` (chunked?) in turn.
fn verdicts(stream: &[u8], piece: usize, requests: &[bool]) -> Vec<Framing> {
    let log = Arc::new(FramingLog::default());
    let mut follower = Follower::new(log.clone());
    for part in stream.chunks(piece) {
        follower.observe(part);
    }
    requests.iter().map(|&c| log.next_request(c)).collect()
}

fn every_split(stream: &[u8], requests: &[bool], expected: &[Framing]) {
    for piece in 1..=stream.len() {
        assert_eq!(
            verdicts(stream, piece, requests),
            expected,
            "pieces of {piece}"
        );
    }
}

use Framing::*;

#[test]
fn content_length_with_transfer_encoding_is_seen_in_either_order() {
    for head in [
        &b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n",
    ] {
        let stream = [head, b"0\r\n\r\n"].concat();
        every_split(&stream, &[true], &[BothLengths]);
    }
}

#[test]
fn the_second_request_of_a_pipeline_is_the_one_refused() {
    let stream = [
        &b"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
        b"3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: x\r\n\r\n",
        b"POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\nPOST / ",
        b"POST /c HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ]
    .concat();
    every_split(&stream, &[true, false, true], &[Clear, Clear, BothLengths]);
}

#[test]
fn a_body_that_looks_like_a_head_is_skipped_as_body() {
    let body = b"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
    let head = format!(
        "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let next = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    let stream = [head.as_bytes(), body, next].concat();
    every_split(&stream, &[false, true], &[Clear, Clear]);
}

#[test]
fn after_an_upgrade_or_unreadable_bytes_chunked_requests_are_unverified() {
    let upgrade =
        b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n";
    assert_eq!(
        verdicts(upgrade, 7, &[false, true, false]),
        [Clear, Unverified, Clear]
    );
    let h2 = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    assert_eq!(verdicts(h2, 3, &[true]), [Unverified]);
    let bad_chunk = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    assert_eq!(verdicts(bad_chunk, 4, &[true, true]), [Clear, Unverified]);
}

#[test]
fn content_length_values_hyper_refuses_stop_the_watch() {
    for value in ["+5", "5, 5", "", "99999999999999999999999"] {
        let head = format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {value}\r\n\r\n");
        assert_eq!(
            verdicts(head.as_bytes(), 5, &[false, true]),
            [Clear, Unverified],
            "{value:?}"
        );
    }
}

fn frame(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_be_bytes();
    let mut f = vec![len[1], len[2], len[3], kind, flags, 0, 0, 0, 1];
    f.extend_from_slice(payload);
    f
}

/// Whether the follower is inside a header block after each frame of `frames`, fed in
/// pieces of `piece` bytes.
fn blocks_after(frames: &[Vec<u8>], piece: usize) -> Vec<bool> {
    let mut follower = Follower::new(Arc::default());
    let mut stream = H2_PREFACE.to_vec();
    let mut ends = Vec::new();
    for f in frames {
        stream.extend_from_slice(f);
        ends.push(stream.len());
    }
    let mut answers = Vec::new();
    let mut fed = 0;
    for end in ends {
        while fed < end {
            let to = (fed + piece).min(end);
            follower.observe(&stream[fed..to]);
            fed = to;
        }
        answers.push(follower.in_header_block());
    }
    answers
}

#[test]
fn an_http2_header_block_lasts_until_end_headers() {
    let frames = [
        frame(0x4, 0, &[]),                     // SETTINGS
        frame(FRAME_HEADERS, 0, &[0x82, 0x86]), // no END_HEADERS
        frame(FRAME_CONTINUATION, 0, &[0x84]),  // still open
        frame(FRAME_CONTINUATION, FLAG_END_HEADERS, &[0x41, 0x01, b'a']),
        frame(0x0, 0x1, b"body"), // DATA
        frame(FRAME_HEADERS, FLAG_END_HEADERS | 0x1, &[0x82]),
        frame(0x6, 0, &[0; 8]), // PING
    ];
    for piece in [1, 2, 5, 9, 10, 1000] {
        assert_eq!(
            blocks_after(&frames, piece),
            [false, true, true, false, false, false, false],
            "pieces of {piece}"
        );
    }
    // A HEADERS frame whose payload has not all arrived is an open header block.
    let mut follower = Follower::new(Arc::default());
    follower.observe(H2_PREFACE);
    follower.observe(&frame(FRAME_HEADERS, FLAG_END_HEADERS, &[0x82; 10])[..12]);
    assert!(follower.in_header_block());
}

#[test]
fn a_split_preface_is_still_http2_and_http1_never_is() {
    let mut follower = Follower::new(Arc::default());
    for b in H2_PREFACE.iter().chain(&frame(FRAME_HEADERS, 0, &[0x82])) {
        follower.observe(&[*b]);
    }
    assert!(follower.in_header_block());
    let mut follower = Follower::new(Arc::default());
    follower.observe(b"PRI /x HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(!follower.in_header_block());
    assert!(matches!(follower.state, State::Head));
}

#[tokio::test]
async fn a_stalled_header_block_fails_the_read_after_the_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client, server) = tokio::io::duplex(1024);
    let timeout = Duration::from_millis(200);
    let mut watch = FramingWatch::new(server, Arc::default(), timeout);
    client.write_all(H2_PREFACE).await.unwrap();
    client
        .write_all(&frame(FRAME_HEADERS, 0, &[0x82]))
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let started = std::time::Instant::now();
    let mut read = 0;
    let error = loop {
        match watch.read(&mut buf).await {
            Ok(n) => read += n,
            Err(e) => break e,
        }
    };
    assert_eq!(read, H2_PREFACE.len() + 10);
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    assert!(started.elapsed() >= timeout, "{:?}", started.elapsed());
    drop(client);
}

#[test]
fn an_oversized_head_stops_the_watch_without_growing() {
    let log = Arc::new(FramingLog::default());
    let mut follower = Follower::new(log.clone());
    follower.observe(b"GET / HTTP/1.1\r\nX: ");
    for _ in 0..(MAX_HEADER_BYTES / 1024 + 2) {
        follower.observe(&[b'a'; 1024]);
    }
    assert!(follower.pending.capacity() == 0);
    assert_eq!(log.next_request(true), Unverified);
}

#[test]
fn a_head_trickled_byte_by_byte_is_parsed_once_not_per_byte() {
    // 60 KiB of header value, one byte per read: with a parse per read this took
    // seconds (quadratic); now the head is parsed when its blank line arrives.
    let mut stream = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
    stream.extend(std::iter::repeat_n(b'a', 60 * 1024));
    stream.extend_from_slice(b"\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n");
    stream.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    let started = std::time::Instant::now();
    assert_eq!(verdicts(&stream, 1, &[false, true]), [Clear, BothLengths]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
