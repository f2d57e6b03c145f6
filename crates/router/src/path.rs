//! Request path normalisation (client.md, Routing 2): done once, before matching, and the
//! result is also what is forwarded upstream.
//!
//! - Percent-encoded unreserved characters (`ALPHA DIGIT - . _ ~`) are decoded; every other
//!   escape is kept exactly as sent (hex case included).
//! - Runs of `/` collapse to one `/`; a trailing `/` is kept.
//! - Rejected, because some upstream could resolve them to another resource: a `.` or `..`
//!   segment (raw or encoded), also when `;` parameters follow it (`..;x`, `%2e%2e;`, `..%3b`:
//!   Tomcat and Spring drop the parameters, then resolve the dots); an encoded `/`; a `\` (raw
//!   or encoded); a double-encoded `.`, `/` or `\` (`%252e`, `%252f`, `%255c`: an upstream that
//!   decodes twice sees the single encoding); escapes that decode to bytes that are not UTF-8
//!   (the overlong `%c0%ae` is `.` to a lenient decoder); malformed escapes; an encoded NUL.

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
    /// A `%` not followed by two hex digits.
    #[error("path has a malformed percent escape")]
    MalformedEscape,
    /// `%00`.
    #[error("path has an encoded NUL")]
    EncodedNul,
    /// `%25` followed by the hex of `.`, `/` or `\` (`%252e`, `%252F`, `%255c`), once the
    /// unreserved escapes are decoded (so `%25%32%65` too).
    #[error("path has a double-encoded '.', '/' or '\\'")]
    DoubleEncoded,
    /// Escapes whose bytes are not UTF-8, such as the overlong `%c0%ae`.
    #[error("path has percent-encoded bytes that are not UTF-8")]
    NotUtf8,
}

/// What normalisation does with one well-formed, accepted `%XX` escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escape {
    /// An unreserved character: replaced by the character itself.
    Decode(u8),
    /// Anything else (this byte): kept exactly as sent.
    Keep(u8),
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
    let suspect = (out.kept_percent, out.kept_non_ascii);
    let normal = out.finish();
    if suspect.0 && has_double_encoding(normal.as_bytes()) {
        return Err(PathError::DoubleEncoded);
    }
    if suspect.1 && !decodes_to_utf8(normal.as_bytes()) {
        return Err(PathError::NotUtf8);
    }
    Ok(normal)
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
        byte => Ok(Escape::Keep(byte)),
    }
}

/// RFC 3986 unreserved characters.
pub(crate) fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Checks and normalises the segment `bytes[start..end]` (no `/` inside) into `out`.
fn segment(bytes: &[u8], start: usize, end: usize, out: &mut Output<'_>) -> Result<(), PathError> {
    let raw = &bytes[start..end];
    // Most segments have nothing to decode: one tight scan, then compare what comes before
    // any `;` parameters.
    if !raw.iter().any(|&b| b == b'%' || b == b'\\') {
        let name = raw.split(|&b| b == b';').next().unwrap_or(raw);
        return if name == b"." || name == b".." { Err(PathError::DotSegment) } else { Ok(()) };
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
                    Escape::Keep(byte) => {
                        out.kept(byte);
                        dots.push(byte);
                    }
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

/// Tracks whether a segment, once decoded and without its `;` parameters, is `.` or `..`.
#[derive(Debug)]
struct DotSegment {
    len: u8,
    all_dots: bool,
    /// A `;` (raw or `%3b`) was seen: what follows are parameters.
    parameters: bool,
}

/// The normalised path, borrowed from the input for as long as it is a prefix of it.
#[derive(Debug)]
struct Output<'a> {
    input: &'a str,
    /// `input[..copied]` is already in the output.
    copied: usize,
    /// `None` while the output equals `input[..copied]`.
    owned: Option<String>,
    /// A `%25` escape was kept: the output may hold a double encoding.
    kept_percent: bool,
    /// An escape of a byte over 0x7f was kept: the output may decode to bytes that are not
    /// UTF-8.
    kept_non_ascii: bool,
}

/// Whether `normal` (escapes kept as sent, unreserved ones decoded) has `%25` followed by
/// the hex of `.`, `/` or `\\`.
fn has_double_encoding(normal: &[u8]) -> bool {
    normal.windows(5).any(|w| {
        w[..3].eq_ignore_ascii_case(b"%25") && [b"2e", b"2f", b"5c"].iter().any(|hex| w[3..].eq_ignore_ascii_case(*hex))
    })
}

/// Whether `normal`, with every escape decoded, is UTF-8. `normal` is a normalised path,
/// so every `%` starts a well-formed escape.
fn decodes_to_utf8(normal: &[u8]) -> bool {
    let mut decoded = Vec::with_capacity(normal.len());
    let mut i = 0;
    while i < normal.len() {
        let escaped = match normal[i] {
            b'%' => escape_at(normal, i).ok(),
            _ => None,
        };
        match escaped {
            Some(Escape::Keep(byte) | Escape::Decode(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            None => {
                decoded.push(normal[i]);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&decoded).is_ok()
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
        DotSegment { len: 0, all_dots: true, parameters: false }
    }
}

impl DotSegment {
    fn push(&mut self, decoded: u8) {
        self.parameters |= decoded == b';';
        if !self.parameters {
            self.len = self.len.saturating_add(1);
            self.all_dots &= decoded == b'.';
        }
    }

    fn is_dot_segment(&self) -> bool {
        self.all_dots && matches!(self.len, 1 | 2)
    }
}

// === impl Output ===

impl<'a> Output<'a> {
    fn new(input: &'a str) -> Self {
        Output { input, copied: 0, owned: None, kept_percent: false, kept_non_ascii: false }
    }

    /// Notes an escape of `byte` kept as sent.
    fn kept(&mut self, byte: u8) {
        self.kept_percent |= byte == b'%';
        self.kept_non_ascii |= !byte.is_ascii();
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
