//! hyper's chunked transfer coding, byte by byte, so that the framing watch and hyper agree
//! on where a chunked body ends (and fail where hyper fails).

/// Chunk extensions hyper accepts per chunk before it refuses (its `CHUNKED_EXTENSIONS_LIMIT`).
const MAX_EXTENSION_BYTES: u64 = 16 * 1024;

/// hyper's chunked decoder states (hyper `proto/h1/decode.rs`), so that both agree on where a
/// chunked body ends.
#[derive(Debug, Clone, Copy)]
pub(super) enum Chunk {
    Start,
    Size(u64),
    SizeLws(u64),
    Extension(u64, u64),
    SizeLf(u64),
    Data(u64),
    DataCr,
    DataLf,
    EndCr,
    Trailer,
    TrailerLf,
    EndLf,
}

pub(super) enum Step {
    Next(Chunk),
    BodyEnd,
}

/// One byte of hyper's chunked grammar; `None` where hyper would fail the body.
pub(super) fn step(chunk: Chunk, b: u8) -> Option<Step> {
    use Chunk::*;
    let next = match chunk {
        Start => Size(hex(b).map(u64::from)?),
        Size(n) => match b {
            b'\t' | b' ' => SizeLws(n),
            b';' => Extension(n, 0),
            b'\r' => SizeLf(n),
            _ => Size(n.checked_mul(16)?.checked_add(u64::from(hex(b)?))?),
        },
        SizeLws(n) => match b {
            b'\t' | b' ' => SizeLws(n),
            b';' => Extension(n, 0),
            b'\r' => SizeLf(n),
            _ => return None,
        },
        Extension(n, seen) => match b {
            b'\r' => SizeLf(n),
            b'\n' => return None,
            _ if seen + 1 >= MAX_EXTENSION_BYTES => return None,
            _ => Extension(n, seen + 1),
        },
        SizeLf(n) => match b {
            b'\n' if n == 0 => EndCr,
            b'\n' => Data(n),
            _ => return None,
        },
        // Data is skipped in bulk by the caller and never comes here.
        Data(_) => return None,
        DataCr => (b == b'\r').then_some(DataLf)?,
        DataLf => (b == b'\n').then_some(Start)?,
        EndCr => match b {
            b'\r' => EndLf,
            _ => Trailer,
        },
        Trailer => match b {
            b'\r' => TrailerLf,
            _ => Trailer,
        },
        TrailerLf => (b == b'\n').then_some(EndCr)?,
        EndLf => return (b == b'\n').then_some(Step::BodyEnd),
    };
    Some(Step::Next(next))
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}
