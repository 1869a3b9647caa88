//! The error every validating constructor returns.

/// Why a value was refused; `field` names the input, `reason` says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    /// The input that was refused, in the API's spelling (`subjectId`, `branch`, …).
    pub field: &'static str,
    /// What is wrong with it, lowercase, no trailing period.
    pub reason: String,
    code: &'static str,
}

impl ValidationError {
    /// The code of most refusals: the request breaks a rule of the model.
    pub const INVALID_REQUEST: &'static str = "invalid_request";

    /// A refusal of `field` for `reason`.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self::with_code(Self::INVALID_REQUEST, field, reason)
    }

    /// A refusal with a code of its own, for the few rules the platform reports apart
    /// (`invalid_commit_message`, `unknown_binary`). The code travels with the error, so
    /// that every edge that turns a `ValidationError` into a `DomainError` reports it
    /// without knowing which constructor refused.
    pub(crate) fn with_code(
        code: &'static str,
        field: &'static str,
        reason: impl Into<String>,
    ) -> Self {
        Self { field, reason: reason.into(), code }
    }

    /// The stable code of the refusal: `invalid_request` unless the rule has its own.
    pub fn code(&self) -> &'static str {
        self.code
    }
}
