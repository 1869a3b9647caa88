//! The error every validating constructor returns.

/// Why a value was refused; `field` names the input, `reason` says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    /// The input that was refused, in the API's spelling (`subjectId`, `branch`, …).
    pub field: &'static str,
    /// What is wrong with it, lowercase, no trailing period.
    pub reason: String,
}

impl ValidationError {
    /// A refusal of `field` for `reason`.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self { field, reason: reason.into() }
    }
}
