//! PLACEHOLDER: upstream proxying.
