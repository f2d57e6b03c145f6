//! PLACEHOLDER: resource templates; completed with the route table.

/// A parsed operation `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    segments: Box<[Segment]>,
}

/// One segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(Box<str>),
    Param(Box<str>),
    /// A final `*`: any rest of the path, also none.
    Rest,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("target must start with '/'")]
    NotAbsolute,
}

impl PathTemplate {
    pub fn parse(target: &str) -> Result<Self, TemplateError> {
        if !target.starts_with('/') {
            return Err(TemplateError::NotAbsolute);
        }
        let segments = target.split('/').filter(|s| !s.is_empty()).map(|s| Segment::Literal(s.into())).collect();
        Ok(PathTemplate { segments })
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }
}
