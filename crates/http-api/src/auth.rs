//! Bearer-token authentication: validation of signed JWTs against a key set (the same code
//! path for the embedded issuer and for a realm's JWKS; only the key source differs), with the
//! keys parsed once and a cache of verified tokens, the embedded issuer itself, and the
//! [`Caller`] extractor.

mod issuer;
mod jwks;
mod keys;
mod token_cache;
mod validator;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use domain::access::{AccessRules, Authority, Permission, Scope};
use domain::model::Principal;

pub use crate::auth::issuer::{IssuerError, LocalIssuer, TokenRequest};
pub use crate::auth::jwks::{JwksKeySource, JwksSettings, JwksSetupError};
pub use crate::auth::keys::{KeySource, StaticKeys, VerifyingKey};
pub use crate::auth::validator::{TokenPolicy, TokenValidator};
use crate::error::ApiError;
use crate::observe::RequestUser;

/// Why a request is not authenticated. Messages say what to fix, never echo the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header.
    #[error("missing bearer token: send `Authorization: Bearer <token>`")]
    MissingToken,
    /// The token is not a well-formed, correctly signed JWT from a trusted key.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// The token has expired.
    #[error("the token has expired")]
    Expired,
    /// The token's issuer is not the trusted one.
    #[error("the token was issued by an untrusted issuer")]
    WrongIssuer,
    /// The token is not meant for this service.
    #[error("the token's audience does not include this service")]
    WrongAudience,
    /// The keys could not be obtained.
    #[error("the signing keys are unavailable")]
    KeysUnavailable,
}

impl AuthError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::InvalidToken(_) => "invalid_token",
            Self::Expired => "token_expired",
            Self::WrongIssuer => "invalid_issuer",
            Self::WrongAudience => "invalid_audience",
            Self::KeysUnavailable => "signing_keys_unavailable",
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750).
    pub(crate) fn www_authenticate(&self) -> String {
        match self {
            Self::MissingToken => "Bearer".to_owned(),
            _ => "Bearer error=\"invalid_token\"".to_owned(),
        }
    }
}

/// What authenticates and authorises every `/api/**` request: the token validator and the
/// access rules. Registered once as `web::Data`, whatever roles the process serves.
#[derive(Debug, Clone)]
pub struct Authenticator {
    tokens: TokenValidator,
    access: AccessRules,
}

impl Authenticator {
    /// Validates tokens with `tokens` and grants permissions by `access`.
    pub fn new(tokens: TokenValidator, access: AccessRules) -> Self {
        Self { tokens, access }
    }
}

/// The authenticated caller of a route. Extracting it validates the bearer token; a route
/// that takes a `Caller` can only run for a valid token.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Shared with the token cache: a cached token's request copies nothing.
    principal: Arc<Principal>,
    authenticator: web::Data<Authenticator>,
}

impl Caller {
    /// Who is calling.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Refuses with 403 unless the caller holds `authority` at `scope` (or higher).
    pub(crate) fn require(&self, authority: Authority, scope: Scope) -> Result<(), ApiError> {
        let permission = Permission::new(authority, scope);
        if self.authenticator.access.allows(&self.principal, permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(permission))
        }
    }

    /// Refuses with 403 `service_account_required` unless the caller is a service account
    /// (its client is listed in `RTM_SERVICE_ACCOUNT_CLIENTS`, or it is an app-config admin).
    pub(crate) fn require_service_account(&self) -> Result<(), ApiError> {
        if self.authenticator.access.is_service_account(&self.principal) {
            Ok(())
        } else {
            Err(ApiError::NotAServiceAccount)
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let authenticator = req.app_data::<web::Data<Authenticator>>().cloned();
        let token = bearer_token(req);
        let request = req.clone();
        Box::pin(async move {
            let Some(authenticator) = authenticator else {
                // The server mounts the API with its authenticator; without one, nothing passes.
                return Err(ApiError::internal(std::io::Error::other(
                    "the API is mounted without an authenticator",
                )));
            };
            let principal = authenticator.tokens.validate_shared(&token?).await?;
            // For the request's log line: who called, by name (never the token).
            request.extensions_mut().insert(RequestUser(principal.name().to_owned()));
            Ok(Self { principal, authenticator })
        })
    }
}

fn bearer_token(req: &HttpRequest) -> Result<String, AuthError> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or(AuthError::MissingToken)?;
    let value = value
        .to_str()
        .map_err(|_| AuthError::InvalidToken("the Authorization header is not text".into()))?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::MissingToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::MissingToken);
    }
    Ok(token.trim().to_owned())
}
