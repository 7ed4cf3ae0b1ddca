//! What hyper does not tell us about an HTTP/1 request's framing: whether its head carried
//! `Content-Length` *and* `Transfer-Encoding`.
//!
//! hyper reads such a request as chunked and removes `Content-Length` from the headers it
//! hands over (it only closes the connection afterwards), so the request the proxy sees
//! looks like an ordinary chunked one. RFC 9112 §6.3 calls the pair a smuggling attempt and
//! SPEC §6 answers it with 400. To see the raw head, [`FramingWatch`] wraps the client's
//! stream and follows the byte stream the way hyper does: it parses each head with the same
//! parser hyper uses (httparse), then skips that request's body by its framing
//! (`Content-Length` bytes, or the chunked coding with hyper's own rules), and records in a
//! [`FramingLog`] the index of the first head that carried both. The request handler asks the
//! log about each request in turn ([`FramingLog::next_request`]); hyper serves an HTTP/1
//! connection's requests one after another, so the n-th request handed over is the n-th
//! head read.
//!
//! Where the watcher cannot follow the stream any more (an upgrade or CONNECT tunnel, the
//! HTTP/2 preface, anything it parses differently from hyper) it stops looking and says so:
//! from then on a request with `Transfer-Encoding` on that connection cannot be vouched for
//! and is refused too (deny when ambiguous). Requests without `Transfer-Encoding` are never
//! affected: only a chunked request can hide a removed `Content-Length`.
//!
//! On HTTP/2 the watcher follows frames instead (they are length-prefixed, so it cannot
//! lose its place) for the other thing hyper does not offer: a deadline on a request's
//! header block (SPEC §9). h2 holds a HEADERS frame without END_HEADERS until its
//! CONTINUATION frames come, and hyper's HTTP/2 side has no `header_read_timeout`; so when
//! the connection waits inside a header block for longer than `server.header_read_timeout`,
//! the read fails with `TimedOut` and the connection is closed, as hyper does for HTTP/1.
//!
//! Cost: one extra httparse pass over each HTTP/1 head (bytes already in cache), a few
//! comparisons per HTTP/2 frame, no copy unless an HTTP/1 head arrives split over several
//! reads, a timer only while a connection waits inside a header block, and nothing at all
//! once the watcher has stopped.

use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use self::chunked::{step, Chunk, Step};
use self::h2::H2Frames;
use super::{H2_PREFACE, MAX_HEADER_BYTES};

mod chunked;
mod h2;

/// More header lines than hyper accepts (100), so a head hyper serves always fits.
const MAX_HEADERS: usize = 128;

/// Shared between a connection's [`FramingWatch`] (which writes) and its request handler
/// (which reads).
#[derive(Debug, Default)]
pub struct FramingLog {
    /// Requests the handler has asked about.
    asked: AtomicU64,
    /// Index of the first head with both `Content-Length` and `Transfer-Encoding`, plus one
    /// (0: none yet).
    first_ambiguous: AtomicU64,
    /// Index of the first head the watcher could not follow, plus one (0: following).
    lost_from: AtomicU64,
}

/// What the log knows about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Nothing ambiguous was seen (or the request is not chunked, so nothing could hide).
    Clear,
    /// The request's head carried both `Content-Length` and `Transfer-Encoding`.
    BothLengths,
    /// The watcher had stopped following the connection before this head.
    Unverified,
}

impl FramingLog {
    /// Called once for every HTTP/1 request, in order; `chunked` says whether the request
    /// has `Transfer-Encoding` (the only kind that can hide a removed `Content-Length`).
    pub fn next_request(&self, chunked: bool) -> Framing {
        let index = self.asked.fetch_add(1, Ordering::Relaxed) + 1;
        if !chunked {
            return Framing::Clear;
        }
        let is_at_or_after = |marker: &AtomicU64| {
            let m = marker.load(Ordering::Acquire);
            m != 0 && index >= m
        };
        if is_at_or_after(&self.first_ambiguous) {
            Framing::BothLengths
        } else if is_at_or_after(&self.lost_from) {
            Framing::Unverified
        } else {
            Framing::Clear
        }
    }

    fn mark_once(marker: &AtomicU64, head_index: u64) {
        let _ = marker.compare_exchange(0, head_index + 1, Ordering::Release, Ordering::Relaxed);
    }
}

/// Where the watcher is in the client's byte stream.
#[derive(Debug)]
enum State {
    /// Expecting (more of) a request head; `pending` holds a head that arrived in pieces.
    Head,
    /// Inside a `Content-Length` body: this many bytes to go.
    Sized(u64),
    Chunked(Chunk),
    /// An HTTP/2 connection (after the preface).
    H2(H2Frames),
    /// Stopped following; bytes pass untouched.
    Lost,
}

/// Follows one connection's request framing; see the module docs.
#[derive(Debug)]
pub struct Follower {
    state: State,
    /// Bytes of a head that has not fully arrived yet.
    pending: Vec<u8>,
    heads: u64,
    log: Arc<FramingLog>,
}

impl Follower {
    pub fn new(log: Arc<FramingLog>) -> Follower {
        Follower {
            state: State::Head,
            pending: Vec::new(),
            heads: 0,
            log,
        }
    }

    /// Feeds bytes hyper has just read from the client.
    pub fn observe(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            bytes = match self.state {
                State::Lost => return,
                State::H2(ref mut frames) => {
                    frames.observe(bytes);
                    return;
                }
                State::Head if self.heads == 0 => self.preface_or_head(bytes),
                State::Head => self.head(bytes),
                State::Sized(rest) => {
                    let take = usize::try_from(rest).map_or(bytes.len(), |r| r.min(bytes.len()));
                    let rest = rest - take as u64;
                    self.state = if rest == 0 {
                        State::Head
                    } else {
                        State::Sized(rest)
                    };
                    &bytes[take..]
                }
                State::Chunked(chunk) => self.chunked(chunk, bytes),
            };
        }
    }

    /// Whether the connection is inside an HTTP/2 header block.
    pub fn in_header_block(&self) -> bool {
        matches!(self.state, State::H2(frames) if frames.in_header_block)
    }

    /// The first bytes: the HTTP/2 preface, or the first HTTP/1 head.
    fn preface_or_head<'b>(&mut self, bytes: &'b [u8]) -> &'b [u8] {
        let seen = self.pending.iter().chain(bytes).take(H2_PREFACE.len());
        if !seen.zip(H2_PREFACE).all(|(a, b)| a == b) {
            return self.head(bytes);
        }
        if self.pending.len() + bytes.len() < H2_PREFACE.len() {
            self.pending.extend_from_slice(bytes);
            return &[];
        }
        let after_preface = H2_PREFACE.len().saturating_sub(self.pending.len());
        // No HTTP/1 head follows; nothing HTTP/1 can be vouched for from here on.
        FramingLog::mark_once(&self.log.lost_from, self.heads);
        self.pending = Vec::new();
        self.state = State::H2(H2Frames::default());
        bytes.get(after_preface..).unwrap_or(&[])
    }

    fn lose(&mut self) {
        FramingLog::mark_once(&self.log.lost_from, self.heads);
        self.state = State::Lost;
        self.pending = Vec::new();
    }

    /// Parses a head from `bytes` (after any pending piece); returns what follows it.
    fn head<'b>(&mut self, bytes: &'b [u8]) -> &'b [u8] {
        if self.pending.is_empty() {
            match parse_head(bytes) {
                Ok(Some((len, head))) => {
                    self.start_body(head);
                    return &bytes[len..];
                }
                Ok(None) => return self.keep_pending(bytes, &[]),
                Err(()) => {
                    self.lose();
                    return &[];
                }
            }
        }
        let before = self.pending.len();
        self.pending.extend_from_slice(bytes);
        // Parse again only when these bytes may have ended the head (as hyper does): a
        // client trickling a 64 KiB head byte by byte would otherwise cost a parse of the
        // whole pending head per byte, quadratic work (found by the request_framing fuzz
        // target's byte-by-byte runs).
        if !may_end_head(&self.pending[before.saturating_sub(3)..]) {
            return self.keep_pending(&[], &[]);
        }
        match parse_head(&self.pending) {
            Ok(Some((len, head))) => {
                self.pending = Vec::new();
                self.start_body(head);
                // The head did not end in the earlier piece, or it would have parsed then,
                // so it ends inside `bytes`.
                bytes.get(len.saturating_sub(before)..).unwrap_or(&[])
            }
            Ok(None) => self.keep_pending(&[], &[]),
            Err(()) => {
                self.lose();
                &[]
            }
        }
    }

    fn keep_pending<'b>(&mut self, bytes: &[u8], rest: &'b [u8]) -> &'b [u8] {
        self.pending.extend_from_slice(bytes);
        // hyper answers 431 beyond this and closes.
        if self.pending.len() > MAX_HEADER_BYTES {
            self.lose();
        }
        rest
    }

    fn start_body(&mut self, head: Head) {
        if head.both_lengths {
            FramingLog::mark_once(&self.log.first_ambiguous, self.heads);
        }
        self.heads += 1;
        self.state = match head.body {
            // A tunnel follows (if the upgrade is accepted): no more heads to read.
            _ if head.tunnel => {
                self.lose();
                return;
            }
            Body::Chunked => State::Chunked(Chunk::Start),
            Body::Sized(0) => State::Head,
            Body::Sized(n) => State::Sized(n),
        };
    }

    /// Steps the chunked decoder over `bytes`; returns what follows the body, if it ended.
    fn chunked<'b>(&mut self, mut chunk: Chunk, bytes: &'b [u8]) -> &'b [u8] {
        let mut i = 0;
        while i < bytes.len() {
            if let Chunk::Data(rest) = chunk {
                let take =
                    usize::try_from(rest).map_or(bytes.len() - i, |r| r.min(bytes.len() - i));
                i += take;
                let rest = rest - take as u64;
                chunk = if rest == 0 {
                    Chunk::DataCr
                } else {
                    Chunk::Data(rest)
                };
                continue;
            }
            let b = bytes[i];
            i += 1;
            chunk = match step(chunk, b) {
                Some(Step::Next(next)) => next,
                Some(Step::BodyEnd) => {
                    self.state = State::Head;
                    return &bytes[i..];
                }
                None => {
                    self.lose();
                    return &[];
                }
            };
        }
        self.state = State::Chunked(chunk);
        &[]
    }
}

enum Body {
    Sized(u64),
    Chunked,
}

struct Head {
    both_lengths: bool,
    tunnel: bool,
    body: Body,
}

/// Whether `bytes` hold the blank line that ends a head (httparse also takes a bare LF).
fn may_end_head(bytes: &[u8]) -> bool {
    bytes.windows(2).any(|w| w == b"\n\n") || bytes.windows(3).any(|w| w == b"\n\r\n")
}

/// `Ok(None)`: incomplete. `Err`: a head hyper would refuse or read differently.
fn parse_head(bytes: &[u8]) -> Result<Option<(usize, Head)>, ()> {
    // Uninitialised slots, as hyper does: initialising 128 of them costs more than the parse.
    let mut headers = [const { MaybeUninit::<httparse::Header>::uninit() }; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut []);
    let len = match request.parse_with_uninit_headers(bytes, &mut headers) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    };
    let mut length: Option<u64> = None;
    let (mut has_length, mut chunked, mut tunnel) =
        (false, false, request.method == Some("CONNECT"));
    for header in request.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = true;
        } else if name.eq_ignore_ascii_case("content-length") {
            has_length = true;
            let value = digits(header.value).ok_or(())?;
            if length.is_some_and(|l| l != value) {
                return Err(());
            }
            length = Some(value);
        } else if name.eq_ignore_ascii_case("upgrade") {
            tunnel = true;
        }
    }
    let body = if chunked {
        Body::Chunked
    } else {
        Body::Sized(length.unwrap_or(0))
    };
    let head = Head {
        both_lengths: chunked && has_length,
        tunnel,
        body,
    };
    Ok(Some((len, head)))
}

/// hyper's `from_digits`: ASCII digits only, at least one, no overflow.
fn digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        let d = (b as char).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// The client's stream, with a [`Follower`] watching every byte read from it.
pub struct FramingWatch<S> {
    inner: S,
    follower: Follower,
    /// How long an HTTP/2 connection may wait inside a header block.
    header_timeout: Duration,
    /// Running while the connection waits inside a header block; created at the first wait,
    /// so a block trickled in byte by byte cannot push it back.
    header_deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> FramingWatch<S> {
    pub fn new(inner: S, log: Arc<FramingLog>, header_timeout: Duration) -> FramingWatch<S> {
        FramingWatch {
            inner,
            follower: Follower::new(log),
            header_timeout,
            header_deadline: None,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FramingWatch<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        match polled {
            Poll::Ready(Ok(())) => {
                this.follower.observe(&buf.filled()[before..]);
                if !this.follower.in_header_block() {
                    this.header_deadline = None;
                }
            }
            Poll::Pending if this.follower.in_header_block() => {
                let timeout = this.header_timeout;
                let deadline = this
                    .header_deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "HTTP/2 header block not completed within server.header_read_timeout",
                    )));
                }
            }
            _ => {}
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FramingWatch<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
