//! Sees, for each HTTP/1.1 request on a connection, whether its head carried both
//! `Content-Length` and `Transfer-Encoding`.
//!
//! hyper resolves that ambiguity as RFC 9112 allows (Transfer-Encoding wins, the connection
//! closes afterwards) and drops `Content-Length` before the service sees the request, so the
//! pipeline could not answer it with the contract's 400. This observer follows the request
//! framing on the raw bytes hyper reads — heads, fixed-length and chunked bodies — without
//! changing or holding back a byte, and records the index of the first ambiguous head.
//! It stops observing at an HTTP/2 preface or an upgrade, and after anything it cannot
//! parse (hyper rejects that too).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// How much of a kept line is looked at: enough for a header name and its value, or a chunk
/// size; the rest of a longer line is skipped.
const MAX_LINE: usize = 256;

/// The verdicts of one connection, shared with its service.
#[derive(Debug, Default)]
pub(super) struct Verdicts {
    /// 1 + the index of the first ambiguous request head; 0 while there is none.
    first_ambiguous: AtomicU64,
    /// Requests handed to the service so far.
    served: AtomicU64,
}

/// An IO stream whose reads are observed by a [`Scanner`].
pub(super) struct Observed<IO> {
    inner: IO,
    scanner: Scanner,
    verdicts: Arc<Verdicts>,
}

/// Where the scanner is in the byte stream.
#[derive(Debug)]
enum State {
    /// At the start of a header line (or the request line when `line == 0`).
    LineStart,
    /// Inside a header line that is not interesting: skip to `\n`.
    Skip,
    /// Inside a line that may matter (a header starting with c, t or u, the first request
    /// line): kept in `line_buf`.
    Keep,
    /// `n` body bytes to skip.
    Fixed(u64),
    /// A chunk-size line (kept in `line_buf`).
    ChunkSize,
    /// `n` bytes of chunk data, then its CRLF.
    ChunkData(u64),
    /// Trailer lines after the last chunk: skip until an empty line.
    Trailers { empty: bool },
    /// Not observing any more.
    Off,
}

/// The framing facts of the current request head.
#[derive(Debug, Default)]
struct Head {
    content_length: Option<u64>,
    transfer_encoding: bool,
    chunked: bool,
    upgrade: bool,
    /// The connection opened with the HTTP/2 prior-knowledge preface (`PRI * HTTP/2.0`).
    http2_preface: bool,
    lines: u32,
}

#[derive(Debug)]
pub(super) struct Scanner {
    state: State,
    head: Head,
    line_buf: Vec<u8>,
    /// Whether the current line so far is empty (only `\r` seen).
    line_empty: bool,
    heads: u64,
}

// === impl Verdicts ===

impl Verdicts {
    /// Whether the next request handed to the service had an ambiguous head. Called once
    /// per request, in order (HTTP/1.1 serves one request at a time).
    pub(super) fn next_request_is_ambiguous(&self) -> bool {
        let index = self.served.fetch_add(1, Ordering::Relaxed);
        self.first_ambiguous.load(Ordering::Acquire) == index + 1
    }

    fn ambiguous(&self, index: u64) {
        let _ = self.first_ambiguous.compare_exchange(0, index + 1, Ordering::AcqRel, Ordering::Acquire);
    }
}

// === impl Observed ===

impl<IO> Observed<IO> {
    pub(super) fn new(inner: IO) -> (Self, Arc<Verdicts>) {
        let verdicts = Arc::new(Verdicts::default());
        (Observed { inner, scanner: Scanner::new(), verdicts: verdicts.clone() }, verdicts)
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Observed<IO> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let this = &mut *self;
            let verdicts = &this.verdicts;
            this.scanner.feed(&buf.filled()[before..], |index| verdicts.ambiguous(index));
        }
        polled
    }
}

write_through!(Observed);

// === impl Scanner ===

impl Scanner {
    fn new() -> Self {
        Scanner { state: State::LineStart, head: Head::default(), line_buf: Vec::new(), line_empty: true, heads: 0 }
    }

    /// Follows `bytes`; calls `ambiguous(index)` for each head with both framing headers.
    fn feed(&mut self, mut bytes: &[u8], mut ambiguous: impl FnMut(u64)) {
        while !bytes.is_empty() {
            bytes = match self.state {
                State::Off => return,
                State::LineStart => self.line_start(bytes, &mut ambiguous),
                State::Skip => self.skip_line(bytes, &mut ambiguous),
                State::Keep | State::ChunkSize => self.keep_line(bytes, &mut ambiguous),
                State::Fixed(n) => self.skip_body(bytes, n),
                State::ChunkData(n) => self.skip_chunk(bytes, n),
                State::Trailers { .. } => self.trailer(bytes),
            };
        }
    }

    fn line_start<'b>(&mut self, bytes: &'b [u8], ambiguous: &mut impl FnMut(u64)) -> &'b [u8] {
        let first = bytes[0].to_ascii_lowercase();
        self.line_empty = true;
        self.state = match first {
            b'\n' => return self.end_of_line(&bytes[1..], ambiguous),
            b'c' | b't' | b'u' if self.head.lines > 0 => {
                self.line_buf.clear();
                State::Keep
            }
            b'p' if self.heads == 0 && self.head.lines == 0 => {
                self.line_buf.clear();
                State::Keep
            }
            _ => State::Skip,
        };
        bytes
    }

    fn skip_line<'b>(&mut self, bytes: &'b [u8], ambiguous: &mut impl FnMut(u64)) -> &'b [u8] {
        match memchr::memchr(b'\n', bytes) {
            Some(at) => {
                self.line_empty &= bytes[..at].iter().all(|b| *b == b'\r');
                self.end_of_line(&bytes[at + 1..], ambiguous)
            }
            None => {
                self.line_empty &= bytes.iter().all(|b| *b == b'\r');
                &[]
            }
        }
    }

    fn keep_line<'b>(&mut self, bytes: &'b [u8], ambiguous: &mut impl FnMut(u64)) -> &'b [u8] {
        let (taken, rest, complete) = match memchr::memchr(b'\n', bytes) {
            Some(at) => (&bytes[..at], &bytes[at + 1..], true),
            None => (bytes, &[][..], false),
        };
        // Names and chunk sizes come first: a long line is kept truncated.
        let room = MAX_LINE.saturating_sub(self.line_buf.len());
        self.line_buf.extend_from_slice(&taken[..taken.len().min(room)]);
        if !complete {
            return rest;
        }
        match self.state {
            State::ChunkSize => self.chunk_size(rest),
            State::Keep => {
                self.header_line();
                self.line_empty = false;
                self.end_of_line(rest, ambiguous)
            }
            State::LineStart
            | State::Skip
            | State::Fixed(_)
            | State::ChunkData(_)
            | State::Trailers { .. }
            | State::Off => rest,
        }
    }

    /// A line of the head ended; an empty one ends the head.
    fn end_of_line<'b>(&mut self, rest: &'b [u8], ambiguous: &mut impl FnMut(u64)) -> &'b [u8] {
        if !self.line_empty || self.head.lines == 0 {
            self.head.lines += 1;
            self.state = State::LineStart;
            return rest;
        }
        self.end_of_head(ambiguous);
        rest
    }

    fn end_of_head(&mut self, ambiguous: &mut impl FnMut(u64)) {
        let head = std::mem::take(&mut self.head);
        let index = self.heads;
        self.heads += 1;
        if head.content_length.is_some() && head.transfer_encoding {
            ambiguous(index);
        }
        self.state = match (head.upgrade || head.http2_preface, head.chunked, head.content_length) {
            (true, _, _) => State::Off,
            (false, true, _) => State::ChunkSize,
            (false, false, Some(n)) if n > 0 => State::Fixed(n),
            (false, false, _) if head.transfer_encoding => State::Off,
            (false, false, _) => State::LineStart,
        };
        self.line_buf.clear();
    }

    fn header_line(&mut self) {
        let line = self.line_buf.strip_suffix(b"\r").unwrap_or(&self.line_buf);
        if self.head.lines == 0 {
            self.head.http2_preface = line.starts_with(b"PRI * HTTP/2.0");
            return;
        }
        let Some(colon) = memchr::memchr(b':', line) else { return };
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        if name.eq_ignore_ascii_case(b"content-length") {
            self.head.content_length = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()).or(Some(0));
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.head.transfer_encoding = true;
            self.head.chunked =
                value.rsplit(|b| *b == b',').next().is_some_and(|last| trim(last).eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            self.head.upgrade = true;
        }
    }

    fn skip_body<'b>(&mut self, bytes: &'b [u8], n: u64) -> &'b [u8] {
        let take = n.min(bytes.len() as u64);
        self.state = if take == n { State::LineStart } else { State::Fixed(n - take) };
        &bytes[take as usize..]
    }

    fn chunk_size<'b>(&mut self, rest: &'b [u8]) -> &'b [u8] {
        let line = self.line_buf.strip_suffix(b"\r").unwrap_or(&self.line_buf);
        let digits = line.split(|b| *b == b';').next().map(trim).unwrap_or_default();
        let size = std::str::from_utf8(digits).ok().and_then(|d| u64::from_str_radix(d, 16).ok());
        self.line_buf.clear();
        self.state = match size {
            Some(0) => State::Trailers { empty: true },
            // The chunk's data and the CRLF after it.
            Some(n) => State::ChunkData(n.saturating_add(2)),
            None => State::Off,
        };
        rest
    }

    fn skip_chunk<'b>(&mut self, bytes: &'b [u8], n: u64) -> &'b [u8] {
        let take = n.min(bytes.len() as u64);
        self.state = if take == n { State::ChunkSize } else { State::ChunkData(n - take) };
        &bytes[take as usize..]
    }

    fn trailer<'b>(&mut self, bytes: &'b [u8]) -> &'b [u8] {
        let State::Trailers { mut empty } = self.state else { return bytes };
        for (i, byte) in bytes.iter().enumerate() {
            match byte {
                b'\n' if empty => {
                    self.state = State::LineStart;
                    return &bytes[i + 1..];
                }
                b'\n' => empty = true,
                b'\r' => {}
                _ => empty = false,
            }
        }
        self.state = State::Trailers { empty };
        &[]
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests;
