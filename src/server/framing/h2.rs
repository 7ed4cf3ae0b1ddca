//! The HTTP/2 side of the framing watch: following a connection's frames (RFC 9113 §4.1)
//! to know whether it is inside a header block, which is where SPEC §9's header-block
//! deadline applies. Frames are length-prefixed, so this cannot lose its place.

/// Where an HTTP/2 connection's byte stream is: inside which frame, and whether inside a
/// header block (HEADERS or PUSH_PROMISE up to the frame carrying END_HEADERS).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct H2Frames {
    head: [u8; 9],
    head_len: usize,
    payload_left: u32,
    pub(super) in_header_block: bool,
}

pub(super) const FRAME_HEADERS: u8 = 0x1;
pub(super) const FRAME_PUSH_PROMISE: u8 = 0x5;
pub(super) const FRAME_CONTINUATION: u8 = 0x9;
pub(super) const FLAG_END_HEADERS: u8 = 0x4;

impl H2Frames {
    /// Follows `bytes` of the frame stream (RFC 9113 §4.1).
    pub(super) fn observe(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            if self.head_len < self.head.len() {
                let take = (self.head.len() - self.head_len).min(bytes.len() - i);
                self.head[self.head_len..self.head_len + take].copy_from_slice(&bytes[i..i + take]);
                self.head_len += take;
                i += take;
                if self.head_len == self.head.len() {
                    self.frame_started();
                }
            } else {
                let take = usize::try_from(self.payload_left)
                    .map_or(bytes.len() - i, |left| left.min(bytes.len() - i));
                i += take;
                self.payload_left -= take as u32;
                if self.payload_left == 0 {
                    self.frame_ended();
                }
            }
        }
    }

    fn kind(&self) -> u8 {
        self.head[3]
    }

    fn frame_started(&mut self) {
        let [a, b, c, ..] = self.head;
        self.payload_left = u32::from_be_bytes([0, a, b, c]);
        if matches!(self.kind(), FRAME_HEADERS | FRAME_PUSH_PROMISE) {
            self.in_header_block = true;
        }
        if self.payload_left == 0 {
            self.frame_ended();
        }
    }

    fn frame_ended(&mut self) {
        let carries_headers = matches!(
            self.kind(),
            FRAME_HEADERS | FRAME_PUSH_PROMISE | FRAME_CONTINUATION
        );
        if carries_headers && self.head[4] & FLAG_END_HEADERS != 0 {
            self.in_header_block = false;
        }
        self.head_len = 0;
    }
}
