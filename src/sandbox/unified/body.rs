//! A page of rows as a streamed JSON body, optionally padded: `padding` extra bytes go
//! into the rows' `custom_fields` (each vendor's "key-value store of fields not covered
//! by the schema") as a `sandbox_padding` string, and that string is streamed from one
//! static buffer, so a 256 MiB answer costs the sandbox a page of rows, not 256 MiB.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::Response;
use serde_json::Value;

/// The field the padding goes in, inside `custom_fields`.
const PADDING_FIELD: &str = "sandbox_padding";
/// Stands for the padding while a row is serialized; replaced, quotes included, by the
/// streamed string.
const MARKER: &str = "@@bink-sandbox-padding@@";
/// The padding's characters, served in slices of this buffer.
static PAD: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// Part of the body: bytes, or that many padding characters.
enum Piece {
    Bytes(Bytes),
    Pad(usize),
}

/// `200` with `head`, the `rows` separated by commas, then `tail`, streamed; `padding`
/// bytes longer than that, exactly, whenever the page has a row and `padding` is at least
/// the few dozen bytes one `"sandbox_padding":""` entry costs (else unpadded).
pub(super) fn json_page(
    head: String,
    rows: &[Value],
    tail: &'static str,
    padding: usize,
) -> Response {
    let rows: Vec<Row> = rows.iter().map(|r| Row::new(r, padding > 0)).collect();
    let shares = padding_shares(&rows, padding);
    let mut pieces = vec![Piece::Bytes(Bytes::from(head))];
    for (i, (row, share)) in rows.into_iter().zip(shares).enumerate() {
        if i > 0 {
            pieces.push(Piece::Bytes(Bytes::from_static(b",")));
        }
        row.emit(share, &mut pieces);
    }
    pieces.push(Piece::Bytes(Bytes::from_static(tail.as_bytes())));
    let chunks = Chunks {
        pieces: pieces.into_iter(),
        pad_left: 0,
    };
    let stream = futures_util::stream::iter(chunks.map(Ok::<Bytes, Infallible>));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// One row, serialized plain and, when padding is asked for, with the marker in its
/// `custom_fields`.
struct Row {
    plain: String,
    marked: Option<String>,
}

impl Row {
    fn new(row: &Value, padded: bool) -> Row {
        let plain = row.to_string();
        let marked = padded.then(|| {
            let mut row = row.clone();
            if let Some(obj) = row.as_object_mut() {
                let fields = obj
                    .entry("custom_fields")
                    .or_insert_with(|| Value::Object(Default::default()));
                if !fields.is_object() {
                    *fields = Value::Object(Default::default());
                }
                if let Some(fields) = fields.as_object_mut() {
                    fields.insert(PADDING_FIELD.into(), Value::String(MARKER.into()));
                }
            }
            row.to_string()
        });
        Row { plain, marked }
    }

    /// What padding this row at all costs beyond its padding characters: the key, the
    /// quotes, a comma, `{}` for a null `custom_fields`.
    fn overhead(&self) -> Option<usize> {
        let marked = self.marked.as_ref()?;
        marked.len().checked_sub(MARKER.len() + self.plain.len())
    }

    /// The row's pieces, with `share` bytes of padding (overhead included) if any.
    fn emit(self, share: Option<usize>, pieces: &mut Vec<Piece>) {
        let padded = share.zip(self.overhead()).zip(self.marked.as_deref());
        let split = padded.and_then(|((share, overhead), marked)| {
            let at = marked.find(MARKER)?;
            Some((
                share - overhead,
                marked[..at].to_string(),
                marked[at + MARKER.len()..].to_string(),
            ))
        });
        match split {
            Some((chars, before, after)) => {
                pieces.push(Piece::Bytes(Bytes::from(before)));
                pieces.push(Piece::Pad(chars));
                pieces.push(Piece::Bytes(Bytes::from(after)));
            }
            None => pieces.push(Piece::Bytes(Bytes::from(self.plain))),
        }
    }
}

/// How many bytes each row grows by (its overhead included), adding up to `padding`:
/// as many rows as `padding` can pay the overhead of, in order, share the rest evenly
/// (the first taking the remainder).
fn padding_shares(rows: &[Row], padding: usize) -> Vec<Option<usize>> {
    let mut shares = vec![None; rows.len()];
    let mut paid = 0;
    let mut padded = 0;
    for row in rows {
        match row.overhead() {
            Some(o) if paid + o <= padding => {
                paid += o;
                padded += 1;
            }
            _ => break,
        }
    }
    if padded == 0 {
        return shares;
    }
    let extra = padding - paid;
    for (i, (share, row)) in shares.iter_mut().zip(rows).take(padded).enumerate() {
        let remainder = if i == 0 { extra % padded } else { 0 };
        *share = row.overhead().map(|o| o + extra / padded + remainder);
    }
    shares
}

/// The body's chunks: each piece of bytes as it is, padding in buffer-sized slices.
struct Chunks {
    pieces: std::vec::IntoIter<Piece>,
    pad_left: usize,
}

impl Iterator for Chunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        loop {
            if self.pad_left > 0 {
                let n = self.pad_left.min(PAD.len());
                self.pad_left -= n;
                return Some(Bytes::from_static(&PAD[..n]));
            }
            match self.pieces.next()? {
                Piece::Bytes(b) => return Some(b),
                Piece::Pad(n) => self.pad_left = n,
            }
        }
    }
}
