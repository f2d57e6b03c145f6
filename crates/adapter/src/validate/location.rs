//! Where an API is served: its base paths (from `context` and `version`) and vhosts.

use std::sync::Arc;

use super::error::{FieldError, Problem};
use crate::dto::Text;

const VERSION_PLACEHOLDER: &str = "{version}";
/// The placeholder with the slash before it, left out of the default path.
const VERSION_PLACEHOLDER_SEGMENT: &str = "/{version}";

/// An API's `context`, checked: starts with `/`, no trailing `/`, no empty or dot segments,
/// and `{version}` only as one whole segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Context {
    raw: String,
    templated: bool,
}

// === impl Context ===

impl Context {
    pub(crate) fn parse(context: &str) -> Result<Self, Problem> {
        let rest = context.strip_prefix('/').ok_or(Problem::NotAbsolute)?;
        if rest.is_empty() || rest.ends_with('/') {
            return Err(Problem::TrailingSlash);
        }
        let mut templated = false;
        for segment in rest.split('/') {
            match segment == VERSION_PLACEHOLDER {
                true if templated => return Err(Problem::VersionPlaceholder),
                true => templated = true,
                false if segment.contains(['{', '}']) => return Err(Problem::VersionPlaceholder),
                false => check_segment(segment)?,
            }
        }
        Ok(Context { raw: context.to_owned(), templated })
    }

    /// The base path: `{version}` replaced, or `context/version`.
    pub(crate) fn base_path(&self, version: &str) -> String {
        match self.templated {
            true => self.raw.replace(VERSION_PLACEHOLDER, version),
            false => [&self.raw, "/", version].concat(),
        }
    }

    /// Where the default version is also served: the context without `{version}` and the
    /// slash before it (the root when nothing remains).
    pub(crate) fn default_path(&self) -> String {
        let path = self.raw.replace(VERSION_PLACEHOLDER_SEGMENT, "");
        match path.is_empty() {
            true => "/".to_owned(),
            false => path,
        }
    }

    /// The base paths in the order the router keeps them: base path first, then the default
    /// path when `is_default` (unless they are equal).
    pub(crate) fn base_paths(&self, version: &str, is_default: bool) -> Box<[Arc<str>]> {
        let base = self.base_path(version);
        let default = is_default.then(|| self.default_path()).filter(|path| *path != base);
        std::iter::once(base).chain(default).map(Arc::from).collect()
    }
}

/// One path segment of a context or a version: not empty, not `.`/`..`, and only characters
/// a normalised request path carries literally (RFC 3986 `pchar` without `%`).
pub(crate) fn check_segment(segment: &str) -> Result<(), Problem> {
    match segment {
        "" => Err(Problem::EmptySegment),
        "." | ".." => Err(Problem::DotSegment),
        _ => segment.chars().find(|c| !is_pchar(*c)).map_or(Ok(()), |c| Err(Problem::InvalidCharacter(c))),
    }
}

/// `vhosts`: lowercased host names without port; empty = every host. Duplicates collapse.
pub(crate) fn vhosts(values: Option<Vec<Text<'_>>>) -> Result<Box<[Arc<str>]>, FieldError> {
    let mut hosts: Vec<Arc<str>> = Vec::new();
    for (i, value) in values.unwrap_or_default().into_iter().enumerate() {
        let host = value.to_ascii_lowercase();
        check_host(&host).map_err(|problem| FieldError::new(format!("vhosts[{i}]"), problem))?;
        if !hosts.iter().any(|known| **known == *host) {
            hosts.push(host.into());
        }
    }
    Ok(hosts.into())
}

fn check_host(host: &str) -> Result<(), Problem> {
    let valid_label = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    match !host.is_empty() && host.len() <= 253 && host.split('.').all(valid_label) {
        true => Ok(()),
        false => Err(Problem::HostName),
    }
}

fn is_pchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(context: &str, version: &str, default: bool) -> Vec<String> {
        let context = Context::parse(context).unwrap_or_else(|e| panic!("{context}: {e}"));
        context.base_paths(version, default).iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn base_path_appends_or_substitutes_the_version() {
        assert_eq!(paths("/petstore", "1.0.0", false), ["/petstore/1.0.0"]);
        assert_eq!(paths("/petstore", "1.0.0", true), ["/petstore/1.0.0", "/petstore"]);
        assert_eq!(paths("/{version}/pets", "v2", true), ["/v2/pets", "/pets"]);
        assert_eq!(paths("/pets/{version}", "v2", true), ["/pets/v2", "/pets"]);
        assert_eq!(paths("/{version}", "v2", true), ["/v2", "/"]);
    }

    #[test]
    fn context_rules_are_enforced() {
        let err = |c: &str| Context::parse(c).err();
        assert_eq!(err("petstore"), Some(Problem::NotAbsolute));
        assert_eq!(err("/petstore/"), Some(Problem::TrailingSlash));
        assert_eq!(err("/"), Some(Problem::TrailingSlash));
        assert_eq!(err("/a//b"), Some(Problem::EmptySegment));
        assert_eq!(err("/a/../b"), Some(Problem::DotSegment));
        assert_eq!(err("/a/v{version}"), Some(Problem::VersionPlaceholder));
        assert_eq!(err("/{version}/{version}"), Some(Problem::VersionPlaceholder));
        assert_eq!(err("/a b"), Some(Problem::InvalidCharacter(' ')));
        assert_eq!(err("/a%20b"), Some(Problem::InvalidCharacter('%')));
        assert_eq!(err("/a?b"), Some(Problem::InvalidCharacter('?')));
    }

    #[test]
    fn vhosts_are_lowercased_and_checked() {
        let hosts = vhosts(Some(vec!["API.Example.com".into(), "api.example.com".into()])).ok();
        assert_eq!(hosts.as_deref().map(|h| h.len()), Some(1));
        assert_eq!(hosts.as_deref().and_then(|h| h.first()).map(|h| &**h), Some("api.example.com"));
        let err = vhosts(Some(vec!["ok.com".into(), "bad host:80".into()])).err();
        assert_eq!(err.map(|e| e.to_string()).as_deref(), Some("vhosts[1]: not a valid host name"));
        assert!(vhosts(Some(vec!["a..b".into()])).is_err());
    }
}
