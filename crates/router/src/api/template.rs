//! Operation `target` templates (model.md, Operation): literal segments, `{name}` segments
//! and a final `*`, checked once when the snapshot is built so that matching a normalised
//! request path can compare segments byte for byte.

use std::fmt;

use crate::path::{self, Escape, EscapeError};

/// A parsed operation `target`.
///
/// A trailing `/` is ignored (`/pets/` is `/pets`); `/` alone is the root, with no segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    segments: Box<[Segment]>,
    /// The canonical form, e.g. `/pets/{petId}`, for `OperationGuard.resource` and logs.
    canonical: Box<str>,
}

/// One segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Matches exactly this (normalised) segment; case-sensitive.
    Literal(Box<str>),
    /// `{name}`: matches exactly one non-empty segment.
    Param(Box<str>),
    /// A final `*`: any rest of the path, also none.
    Rest,
}

/// Why a `target` is not a template. Segments are quoted as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("target must start with '/'")]
    NotAbsolute,
    #[error("target has an empty segment ('//')")]
    EmptySegment,
    #[error("'*' is only allowed as the last segment")]
    RestNotLast,
    #[error("segment {0:?}: '*' is only allowed as a whole final segment")]
    StarInLiteral(Box<str>),
    #[error("segment {0:?}: braces are only allowed around a whole segment, as '{{name}}'")]
    BraceInLiteral(Box<str>),
    #[error("empty parameter name '{{}}'")]
    EmptyParam,
    #[error("'.' and '..' segments are not allowed")]
    DotSegment,
    #[error("segment {0:?}: a '\\' can never match a request path")]
    Backslash(Box<str>),
    #[error("segment {0:?}: '%' must be followed by two hex digits")]
    MalformedEscape(Box<str>),
    #[error("segment {0:?}: '%2F', '%5C' and '%00' can never match a request path")]
    ForbiddenEscape(Box<str>),
    #[error("segment {0:?}: escaped unreserved characters are decoded in request paths; write them unescaped")]
    EscapedUnreserved(Box<str>),
}

// === impl PathTemplate ===

impl PathTemplate {
    /// Parses a `target`: it starts with `/`; segments are literals, `{name}` (a whole
    /// segment, non-empty name without braces) or a final `*`. Literals must be in the form a
    /// normalised request path has, so that they can match one.
    pub fn parse(target: &str) -> Result<Self, TemplateError> {
        let Some(body) = target.strip_prefix('/') else {
            return Err(TemplateError::NotAbsolute);
        };
        let segments = parse_segments(body)?;
        if segments.iter().rev().skip(1).any(|s| *s == Segment::Rest) {
            return Err(TemplateError::RestNotLast);
        }
        let canonical = canonical(target).into();
        Ok(PathTemplate { segments, canonical })
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The canonical form, e.g. `/pets/{petId}`: `/` for the root, else `/` + segments
    /// joined by `/`, params as `{name}`, no trailing `/`. Also what `Display` writes.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }
}

impl fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

// === impl Segment ===

impl Segment {
    fn parse(segment: &str) -> Result<Self, TemplateError> {
        if segment == "*" {
            return Ok(Segment::Rest);
        }
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            return Segment::param(segment, name);
        }
        check_literal(segment)?;
        Ok(Segment::Literal(segment.into()))
    }

    fn param(segment: &str, name: &str) -> Result<Self, TemplateError> {
        if name.is_empty() {
            return Err(TemplateError::EmptyParam);
        }
        if name.contains(['{', '}']) {
            return Err(TemplateError::BraceInLiteral(segment.into()));
        }
        Ok(Segment::Param(name.into()))
    }

    /// The order of precedence when two templates match the same path: literal, then
    /// param, then rest (lower is preferred).
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 0,
            Segment::Param(_) => 1,
            Segment::Rest => 2,
        }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Literal(literal) => f.write_str(literal),
            Segment::Param(name) => write!(f, "{{{name}}}"),
            Segment::Rest => f.write_str("*"),
        }
    }
}

// === helpers ===

/// A literal must be a segment that path normalisation leaves as it is.
fn check_literal(segment: &str) -> Result<(), TemplateError> {
    let error = |make: fn(Box<str>) -> TemplateError| Err(make(segment.into()));
    if segment.is_empty() {
        return Err(TemplateError::EmptySegment);
    }
    if segment == "." || segment == ".." {
        return Err(TemplateError::DotSegment);
    }
    if segment.contains(['{', '}']) {
        return error(TemplateError::BraceInLiteral);
    }
    if segment.contains('*') {
        return error(TemplateError::StarInLiteral);
    }
    if segment.contains('\\') {
        return error(TemplateError::Backslash);
    }
    let bytes = segment.as_bytes();
    let escapes = bytes.iter().enumerate().filter(|(_, byte)| **byte == b'%');
    for result in escapes.map(|(at, _)| path::escape_at(bytes, at)) {
        match result {
            Ok(Escape::Keep(_)) => {}
            Ok(Escape::Decode(_)) => return error(TemplateError::EscapedUnreserved),
            Err(EscapeError::Malformed) => return error(TemplateError::MalformedEscape),
            Err(EscapeError::Backslash) => return error(TemplateError::Backslash),
            Err(EscapeError::Slash | EscapeError::Nul) => return error(TemplateError::ForbiddenEscape),
        }
    }
    Ok(())
}

/// `body` is the target after its leading `/`; one trailing `/` is ignored.
fn parse_segments(body: &str) -> Result<Box<[Segment]>, TemplateError> {
    if body.is_empty() {
        return Ok(Box::default());
    }
    let body = body.strip_suffix('/').unwrap_or(body);
    body.split('/').map(Segment::parse).collect()
}

/// The canonical form of a `target` that parsed: the target itself without its trailing `/`
/// (`/` for the root), since every segment that parses is written as its canonical form
/// (literals as they are, `{name}`, `*`). A slice, not a string formatted segment by
/// segment: this runs for every operation of every API of a snapshot.
fn canonical(target: &str) -> &str {
    match target.strip_suffix('/') {
        Some("") | None => target,
        Some(trimmed) => trimmed,
    }
}

#[cfg(test)]
mod tests {
    use super::{PathTemplate, Segment, TemplateError};

    fn parse(target: &str) -> PathTemplate {
        PathTemplate::parse(target).unwrap_or_else(|e| panic!("{target:?}: {e}"))
    }

    fn refused(target: &str) -> TemplateError {
        match PathTemplate::parse(target) {
            Ok(template) => panic!("{target:?} was accepted as {template}"),
            Err(e) => e,
        }
    }

    #[test]
    fn parses_literals_params_and_a_final_rest() {
        let template = parse("/pets/{petId}/toys/*");
        let literal = |s: &str| Segment::Literal(s.into());
        let expected = [literal("pets"), Segment::Param("petId".into()), literal("toys"), Segment::Rest];
        assert_eq!(template.segments(), expected);
        assert_eq!(template.as_str(), "/pets/{petId}/toys/*");
        assert_eq!(template.to_string(), "/pets/{petId}/toys/*");
    }

    #[test]
    fn root_and_trailing_slash() {
        assert!(parse("/").segments().is_empty());
        assert_eq!(parse("/").as_str(), "/");
        assert_eq!(parse("/pets/"), parse("/pets"));
        assert_eq!(parse("/*").segments(), [Segment::Rest]);
        assert_eq!(parse("/a%20b/caf%C3%A9/~x").as_str(), "/a%20b/caf%C3%A9/~x");
    }

    #[test]
    fn the_canonical_form_is_the_segments_written_back() {
        for target in ["/", "/pets/", "/pets/{petId}/toys/*", "/{a}/", "/a%20b/*", "/v1/x/"] {
            let template = parse(target);
            let written: String = template.segments().iter().map(|s| format!("/{s}")).collect();
            let expected = if written.is_empty() { "/".to_owned() } else { written };
            assert_eq!(template.as_str(), expected, "{target}");
        }
    }

    #[test]
    fn names_what_is_wrong() {
        let cases: [(&str, TemplateError); 16] = [
            ("", TemplateError::NotAbsolute),
            ("pets", TemplateError::NotAbsolute),
            ("//", TemplateError::EmptySegment),
            ("/a//b", TemplateError::EmptySegment),
            ("/*/a", TemplateError::RestNotLast),
            ("/a*", TemplateError::StarInLiteral("a*".into())),
            ("/a{b}", TemplateError::BraceInLiteral("a{b}".into())),
            ("/{a}b", TemplateError::BraceInLiteral("{a}b".into())),
            ("/{a{b}}", TemplateError::BraceInLiteral("{a{b}}".into())),
            ("/{}", TemplateError::EmptyParam),
            ("/a/../b", TemplateError::DotSegment),
            ("/a\\b", TemplateError::Backslash("a\\b".into())),
            ("/a%5Cb", TemplateError::Backslash("a%5Cb".into())),
            ("/a%2", TemplateError::MalformedEscape("a%2".into())),
            ("/a%2fb", TemplateError::ForbiddenEscape("a%2fb".into())),
            ("/%7Euser", TemplateError::EscapedUnreserved("%7Euser".into())),
        ];
        for (target, error) in cases {
            assert_eq!(refused(target), error, "{target:?}");
        }
        assert_eq!(refused("/%00"), TemplateError::ForbiddenEscape("%00".into()));
        assert_eq!(refused("/."), TemplateError::DotSegment);
    }
}
