//! Port to the check of a user's access token, for channels that carry the token in their
//! message rather than in an HTTP `Authorization` header (the Kafka start-by-name `jwt`
//! header). The REST API's bearer check implements it, so a token is judged the same way
//! wherever it arrives.
//!
//! Implemented by `http_api::auth::TokenValidator` (signature, key, expiry, issuer,
//! audience); `adapter_memory` has no fake of it: tests verify real tokens they sign.

use std::fmt;

use async_trait::async_trait;

use crate::model::Principal;

/// Why a token gives no principal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is not acceptable: malformed, signed by an unknown key or with the wrong
    /// algorithm, expired, from another issuer or for another audience. Sending it again
    /// changes nothing.
    #[error("{message}")]
    Rejected {
        /// The REST API's code for the same refusal (`invalid_token`, `token_expired`,
        /// `invalid_issuer`, `invalid_audience`).
        code: &'static str,
        /// What is wrong, for people; never the token itself.
        message: String,
    },
    /// The keys to check the token with cannot be obtained (the identity provider is down
    /// and no key was ever fetched); the token may well be valid, and asking later may
    /// succeed.
    #[error("the signing keys are unavailable")]
    KeysUnavailable,
}

impl TokenError {
    /// Stable code, the same as the REST API's for the same failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Rejected { code, .. } => code,
            Self::KeysUnavailable => "signing_keys_unavailable",
        }
    }
}

/// Turns an access token into the principal it was issued to.
#[async_trait]
pub trait TokenVerifier: fmt::Debug + Send + Sync + 'static {
    /// The principal of `token` (a compact JWT, without any `Bearer ` prefix).
    ///
    /// # Errors
    ///
    /// [`TokenError::Rejected`] when the token is not acceptable (the same tokens the REST
    /// API refuses with 401); [`TokenError::KeysUnavailable`] when the keys cannot be
    /// obtained at all.
    async fn verify(&self, token: &str) -> Result<Principal, TokenError>;
}

// Stops compiling if an edit makes the port unusable as `dyn TokenVerifier`.
const _: Option<&dyn TokenVerifier> = None;
