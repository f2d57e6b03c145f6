//! The chunked transfer coding of a response body (RFC 9112 7.1), decoded incrementally from
//! the connection's read buffer. Strict where leniency has let messages be smuggled: lines
//! end in CRLF (a bare LF is an error), a chunk's data is followed by exactly CRLF, sizes are
//! at most 16 hex digits, and lines and trailers are bounded. Chunk extensions are skipped;
//! trailer fields are read and dropped (they are not forwarded).

use bytes::{Bytes, BytesMut};

/// Longest chunk-size line, extensions included.
const MAX_LINE: usize = 4096;
/// Most bytes of trailer section.
const MAX_TRAILERS: usize = 16 * 1024;

/// Where the decoder is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Chunked {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data, with this much left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one, this many bytes read so far.
    Trailers(usize),
    /// The body is over.
    Done,
}

/// One step of decoding.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    Data(Bytes),
    /// The buffer holds no complete piece: read more.
    NeedMore,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ChunkError {
    #[error("invalid chunk size line")]
    BadSize,
    #[error("chunk size line too long")]
    LineTooLong,
    #[error("line not ending in CRLF")]
    BareLf,
    #[error("chunk data not followed by CRLF")]
    MissingCrlf,
    #[error("invalid or oversized trailer section")]
    BadTrailers,
}

// === impl Chunked ===

impl Chunked {
    /// Decodes from the front of `buf` until one piece of data, the end, or the need for
    /// more input.
    pub(super) fn step(&mut self, buf: &mut BytesMut) -> Result<Step, ChunkError> {
        loop {
            match *self {
                Chunked::Size => match take_line(buf, MAX_LINE)? {
                    None => return Ok(Step::NeedMore),
                    Some(line) => {
                        *self = match chunk_size(&line)? {
                            0 => Chunked::Trailers(0),
                            size => Chunked::Data(size),
                        }
                    }
                },
                Chunked::Data(left) => {
                    if buf.is_empty() {
                        return Ok(Step::NeedMore);
                    }
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    let data = buf.split_to(take).freeze();
                    let left = left - take as u64;
                    *self = if left == 0 { Chunked::DataEnd } else { Chunked::Data(left) };
                    return Ok(Step::Data(data));
                }
                Chunked::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(Step::NeedMore);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(ChunkError::MissingCrlf);
                    }
                    let _ = buf.split_to(2);
                    *self = Chunked::Size;
                }
                Chunked::Trailers(read) => {
                    let room = MAX_TRAILERS.saturating_sub(read);
                    match take_line(buf, room).map_err(|_| ChunkError::BadTrailers)? {
                        None => return Ok(Step::NeedMore),
                        Some(line) if line.is_empty() => *self = Chunked::Done,
                        Some(line) => {
                            check_trailer(&line)?;
                            *self = Chunked::Trailers(read + line.len() + 2);
                        }
                    }
                }
                Chunked::Done => return Ok(Step::Done),
            }
        }
    }
}

/// The next CRLF-terminated line (without the CRLF), `None` when it has not fully arrived.
/// Errs on a bare LF, or when no line end is within `max` bytes.
fn take_line(buf: &mut BytesMut, max: usize) -> Result<Option<BytesMut>, ChunkError> {
    let Some(lf) = memchr::memchr(b'\n', buf) else {
        return if buf.len() > max { Err(ChunkError::LineTooLong) } else { Ok(None) };
    };
    if lf + 1 > max {
        return Err(ChunkError::LineTooLong);
    }
    if lf == 0 || buf[lf - 1] != b'\r' {
        return Err(ChunkError::BareLf);
    }
    let mut line = buf.split_to(lf + 1);
    line.truncate(lf - 1);
    Ok(Some(line))
}

/// `chunk-size [ chunk-ext ]`: 1 to 16 hex digits, then nothing, or optional whitespace and
/// `;` extensions (skipped, but free of control characters).
fn chunk_size(line: &[u8]) -> Result<u64, ChunkError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return Err(ChunkError::BadSize);
    }
    let rest = &line[digits..];
    let extension = rest.trim_ascii_start();
    let valid_rest = rest.is_empty() || (extension.first() == Some(&b';') && !extension.iter().any(is_control));
    if !valid_rest {
        return Err(ChunkError::BadSize);
    }
    let hex = std::str::from_utf8(&line[..digits]).map_err(|_| ChunkError::BadSize)?;
    u64::from_str_radix(hex, 16).map_err(|_| ChunkError::BadSize)
}

/// A trailer line must look like a field (`name:`…) without control characters.
fn check_trailer(line: &[u8]) -> Result<(), ChunkError> {
    let colon = memchr::memchr(b':', line).ok_or(ChunkError::BadTrailers)?;
    let name_ok = colon > 0 && line[..colon].iter().all(|b| b.is_ascii_graphic());
    match name_ok && !line.iter().any(is_control) {
        true => Ok(()),
        false => Err(ChunkError::BadTrailers),
    }
}

fn is_control(byte: &u8) -> bool {
    (*byte < 0x20 && *byte != b'\t') || *byte == 0x7f
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `wire` fed `piece` bytes at a time; returns the body and how many bytes of
    /// `wire` follow it, or the first error.
    fn decode(wire: &[u8], piece: usize) -> Result<(Vec<u8>, usize), ChunkError> {
        let mut state = Chunked::Size;
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        let mut fed = 0;
        loop {
            match state.step(&mut buf)? {
                Step::Data(data) => body.extend_from_slice(&data),
                Step::Done => return Ok((body, buf.len() + wire.len() - fed)),
                Step::NeedMore if fed < wire.len() => {
                    let end = (fed + piece).min(wire.len());
                    buf.extend_from_slice(&wire[fed..end]);
                    fed = end;
                }
                Step::NeedMore => return Err(ChunkError::BadSize),
            }
        }
    }

    #[test]
    fn decodes_chunks_whole_and_byte_by_byte() {
        let wire = b"5\r\nhello\r\n7;name=value\r\n, world\r\n0\r\nx-checksum: 1\r\n\r\nNEXT";
        for piece in [1, 2, 3, 7, wire.len()] {
            assert_eq!(decode(wire, piece), Ok((b"hello, world".to_vec(), 4)), "piece {piece}");
        }
    }

    #[test]
    fn accepts_uppercase_hex_and_space_before_extensions() {
        assert_eq!(decode(b"A ;x\r\n0123456789\r\n0\r\n\r\n", 64), Ok((b"0123456789".to_vec(), 0)));
    }

    #[test]
    fn rejects_what_could_smuggle() {
        let cases: [(&[u8], ChunkError); 9] = [
            (b"5\nhello\r\n0\r\n\r\n", ChunkError::BareLf),
            (b"5\r\nhelloXY0\r\n\r\n", ChunkError::MissingCrlf),
            (b"5\r\nhello\n0\r\n\r\n", ChunkError::MissingCrlf),
            (b"-5\r\nhello\r\n0\r\n\r\n", ChunkError::BadSize),
            (b"0x5\r\nhello\r\n0\r\n\r\n", ChunkError::BadSize),
            (b"5 junk\r\nhello\r\n0\r\n\r\n", ChunkError::BadSize),
            (b"10000000000000000\r\n", ChunkError::BadSize), // 17 digits
            (b"0\r\nno colon\r\n\r\n", ChunkError::BadTrailers),
            (b"0\r\nx: 1\n\r\n", ChunkError::BadTrailers),
        ];
        for (wire, expected) in cases {
            assert_eq!(decode(wire, 64), Err(expected), "{}", String::from_utf8_lossy(wire));
        }
    }

    #[test]
    fn bounds_lines_and_trailers() {
        let long_extension = [b"1;".as_slice(), &[b'x'; MAX_LINE], b"\r\n"].concat();
        assert_eq!(decode(&long_extension, 64), Err(ChunkError::LineTooLong));
        let mut trailers = b"0\r\n".to_vec();
        while trailers.len() < MAX_TRAILERS + 64 {
            trailers.extend_from_slice(b"x-filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        trailers.extend_from_slice(b"\r\n");
        assert_eq!(decode(&trailers, 512), Err(ChunkError::BadTrailers));
    }

    #[test]
    fn largest_size_does_not_overflow() {
        let mut state = Chunked::Size;
        let mut buf = BytesMut::from(&b"ffffffffffffffff\r\nab"[..]);
        assert_eq!(state.step(&mut buf), Ok(Step::Data(Bytes::from_static(b"ab"))));
        assert_eq!(state, Chunked::Data(u64::MAX - 2));
    }
}
