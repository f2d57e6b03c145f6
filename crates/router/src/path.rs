//! PLACEHOLDER: path normalisation.
