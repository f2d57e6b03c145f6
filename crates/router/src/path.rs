//! Request path normalisation (client.md, Routing 2): done once, before matching, and the
//! result is also what is forwarded upstream.
//!
//! - Percent-encoded unreserved characters (`ALPHA DIGIT - . _ ~`) are decoded; every other
//!   escape is kept exactly as sent (hex case included).
//! - Runs of `/` collapse to one `/`; a trailing `/` is kept.
//! - Rejected: a `.` or `..` segment (raw or encoded), an encoded `/`, a `\` (raw or encoded),
//!   and, as our additions to the contract, malformed escapes and an encoded NUL.

use std::borrow::Cow;

#[cfg(test)]
mod tests;

/// Why a request path was refused (each is answered 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path is empty or does not start with `/` (e.g. the `*` of `OPTIONS *`).
    #[error("path must start with '/'")]
    NotAbsolute,
    /// A `.` or `..` segment, raw or percent-encoded (`%2e`, `.%2E`, ...).
    #[error("path has a '.' or '..' segment")]
    DotSegment,
    /// `%2F` or `%2f`: an encoded segment separator.
    #[error("path has an encoded '/'")]
    EncodedSlash,
    /// A `\`, raw or encoded (`%5C`, `%5c`).
    #[error("path has a '\\'")]
    Backslash,
    /// A `%` not followed by two hex digits. Our addition to the contract.
    #[error("path has a malformed percent escape")]
    MalformedEscape,
    /// `%00`. Our addition to the contract.
    #[error("path has an encoded NUL")]
    EncodedNul,
}

/// What normalisation does with one well-formed, accepted `%XX` escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escape {
    /// An unreserved character: replaced by the character itself.
    Decode(u8),
    /// Anything else: kept exactly as sent.
    Keep,
}

/// Why a `%XX` escape is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EscapeError {
    Malformed,
    Slash,
    Backslash,
    Nul,
}

/// Normalises a request path (without its query).
///
/// Returns the input borrowed, without allocating, when it is already normal; the result is
/// a fixed point (`normalise(normalise(p)) == normalise(p)`), starts with `/`, has no empty
/// segment except a trailing one, and no `.`/`..` segment.
pub fn normalise(path: &str) -> Result<Cow<'_, str>, PathError> {
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let mut out = Output::new(path);
    let mut start = 1;
    loop {
        let end = path[start..].find('/').map_or(path.len(), |i| start + i);
        segment(path.as_bytes(), start, end, &mut out)?;
        if end == path.len() {
            break;
        }
        if start == end {
            // An empty segment before another `/`: part of a `//` run.
            out.replace(end, end + 1, None);
        }
        start = end + 1;
    }
    Ok(out.finish())
}

/// Reads the escape at `bytes[at]` (a `%`): what normalisation does with it, or why the path
/// is refused.
pub(crate) fn escape_at(bytes: &[u8], at: usize) -> Result<Escape, EscapeError> {
    let hex = |i: usize| bytes.get(i).and_then(|b| char::from(*b).to_digit(16));
    let (Some(high), Some(low)) = (hex(at + 1), hex(at + 2)) else {
        return Err(EscapeError::Malformed);
    };
    // Two hex digits: the value fits a byte.
    match (high * 16 + low) as u8 {
        b'/' => Err(EscapeError::Slash),
        b'\\' => Err(EscapeError::Backslash),
        0 => Err(EscapeError::Nul),
        byte if is_unreserved(byte) => Ok(Escape::Decode(byte)),
        _ => Ok(Escape::Keep),
    }
}

/// RFC 3986 unreserved characters.
pub(crate) fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Checks and normalises the segment `bytes[start..end]` (no `/` inside) into `out`.
fn segment(bytes: &[u8], start: usize, end: usize, out: &mut Output<'_>) -> Result<(), PathError> {
    let raw = &bytes[start..end];
    // Most segments have nothing to decode: one tight scan, then compare.
    if !raw.iter().any(|&b| b == b'%' || b == b'\\') {
        return if raw == b"." || raw == b".." { Err(PathError::DotSegment) } else { Ok(()) };
    }
    escaped_segment(bytes, start, end, out)
}

/// [`segment`] for a segment with a `%` or a `\`.
fn escaped_segment(bytes: &[u8], start: usize, end: usize, out: &mut Output<'_>) -> Result<(), PathError> {
    let mut dots = DotSegment::default();
    let mut i = start;
    while i < end {
        match bytes[i] {
            b'\\' => return Err(PathError::Backslash),
            b'%' => {
                match escape_at(bytes, i)? {
                    Escape::Decode(byte) => {
                        out.replace(i, i + 3, Some(byte));
                        dots.push(byte);
                    }
                    Escape::Keep => dots.push(b'%'),
                }
                i += 3;
            }
            byte => {
                dots.push(byte);
                i += 1;
            }
        }
    }
    if dots.is_dot_segment() { Err(PathError::DotSegment) } else { Ok(()) }
}

/// Tracks whether a segment, once decoded, is `.` or `..`.
#[derive(Debug)]
struct DotSegment {
    len: u8,
    all_dots: bool,
}

/// The normalised path, borrowed from the input for as long as it is a prefix of it.
#[derive(Debug)]
struct Output<'a> {
    input: &'a str,
    /// `input[..copied]` is already in the output.
    copied: usize,
    /// `None` while the output equals `input[..copied]`.
    owned: Option<String>,
}

// === impl EscapeError ===

impl From<EscapeError> for PathError {
    fn from(error: EscapeError) -> Self {
        match error {
            EscapeError::Malformed => PathError::MalformedEscape,
            EscapeError::Slash => PathError::EncodedSlash,
            EscapeError::Backslash => PathError::Backslash,
            EscapeError::Nul => PathError::EncodedNul,
        }
    }
}

// === impl DotSegment ===

impl Default for DotSegment {
    fn default() -> Self {
        DotSegment { len: 0, all_dots: true }
    }
}

impl DotSegment {
    fn push(&mut self, decoded: u8) {
        self.len = self.len.saturating_add(1);
        self.all_dots &= decoded == b'.';
    }

    fn is_dot_segment(&self) -> bool {
        self.all_dots && matches!(self.len, 1 | 2)
    }
}

// === impl Output ===

impl<'a> Output<'a> {
    fn new(input: &'a str) -> Self {
        Output { input, copied: 0, owned: None }
    }

    /// Copies the input up to `from`, drops `input[from..to]` and writes `with` instead.
    /// `from` and `to` are on ASCII bytes, hence on char boundaries.
    fn replace(&mut self, from: usize, to: usize, with: Option<u8>) {
        let owned = self.owned.get_or_insert_with(|| String::with_capacity(self.input.len()));
        owned.push_str(&self.input[self.copied..from]);
        if let Some(byte) = with {
            owned.push(char::from(byte));
        }
        self.copied = to;
    }

    fn finish(self) -> Cow<'a, str> {
        match self.owned {
            None => Cow::Borrowed(self.input),
            Some(mut owned) => {
                owned.push_str(&self.input[self.copied..]);
                Cow::Owned(owned)
            }
        }
    }
}
