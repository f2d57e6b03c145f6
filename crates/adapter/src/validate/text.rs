//! Field helpers shared by the entity validators: required and optional text, lists.

use std::sync::Arc;

use crate::dto::Text;

use super::error::{FieldError, Problem};

/// A required, non-empty string without control characters.
pub(crate) fn required(value: Option<Text<'_>>, field: &'static str) -> Result<Arc<str>, FieldError> {
    let value = value.ok_or(FieldError::new(field, Problem::Missing))?;
    non_empty(&value).map_err(FieldError::at(field))?;
    Ok(Arc::from(&*value))
}

/// An optional reference (a policy name): absent or empty means none.
pub(crate) fn optional_name(value: Option<Text<'_>>, field: &'static str) -> Result<Option<Arc<str>>, FieldError> {
    match value {
        Some(value) if !value.is_empty() => {
            plain(&value).map(|()| Some(Arc::from(&*value))).map_err(FieldError::at(field))
        }
        Some(_) | None => Ok(None),
    }
}

/// Optional free text (a display name): may be empty, defaults to empty.
pub(crate) fn optional_text(value: Option<Text<'_>>, field: &'static str) -> Result<Arc<str>, FieldError> {
    let value = value.unwrap_or_default();
    plain(&value).map_err(FieldError::at(field))?;
    Ok(Arc::from(&*value))
}

/// A list of non-empty strings; an error names the element (`scopes[2]`).
pub(crate) fn text_list(values: Option<Vec<Text<'_>>>, field: &'static str) -> Result<Box<[Arc<str>]>, FieldError> {
    let values = values.unwrap_or_default();
    let check = |(i, value): (usize, Text<'_>)| match non_empty(&value) {
        Ok(()) => Ok(Arc::from(&*value)),
        Err(problem) => Err(FieldError::new(format!("{field}[{i}]"), problem)),
    };
    values.into_iter().enumerate().map(check).collect()
}

/// Non-empty and free of control characters.
pub(crate) fn non_empty(value: &str) -> Result<(), Problem> {
    match value.is_empty() {
        true => Err(Problem::Empty),
        false => plain(value),
    }
}

/// Free of control characters (they would corrupt logs and internal keys).
pub(crate) fn plain(value: &str) -> Result<(), Problem> {
    match value.chars().any(char::is_control) {
        true => Err(Problem::ControlCharacter),
        false => Ok(()),
    }
}

/// One of `allowed` (exact match), else [`Problem::UnknownValue`].
pub(crate) fn one_of<T: Copy>(value: &str, allowed: &[(&str, T)], expected: &'static str) -> Result<T, Problem> {
    let found = allowed.iter().find(|(name, _)| *name == value).map(|(_, parsed)| *parsed);
    found.ok_or_else(|| Problem::UnknownValue { value: value.to_owned(), expected })
}

/// A number within `min..=max`.
pub(crate) fn bounded(value: u64, min: u64, max: u64) -> Result<u64, Problem> {
    match (min..=max).contains(&value) {
        true => Ok(value),
        false => Err(Problem::OutOfRange { min, max }),
    }
}
