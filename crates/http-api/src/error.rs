//! Turns every failure into `{status, code, message, traceId}`: domain refusals, archive
//! rejections, authentication and permission failures, and malformed requests.

use std::error::Error as _;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use build_archive::ArchiveError;
use domain::DomainError;
use domain::access::Permission;
use domain::model::ValidationError;
use serde::Serialize;

use crate::auth::AuthError;

/// Error type of every handler and extractor in this crate.
#[derive(thiserror::Error)]
pub enum ApiError {
    /// The request could not be decoded: bad JSON, unknown field, bad path or query.
    #[error("{message}")]
    Malformed {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No valid bearer token.
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    /// A valid token without the permission the route needs.
    #[error("this operation needs the `{0}` permission")]
    Forbidden(Permission),
    /// A route for other platform services, called with a token that is not a service account's.
    #[error(
        "only service accounts may call this route: a token issued to a client listed in RTM_SERVICE_ACCOUNT_CLIENTS, or one with the app-config admin permission"
    )]
    NotAServiceAccount,
    /// The uploaded archive was refused before anything was stored.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// The request body is over the configured limit.
    #[error("{0}")]
    TooLarge(String),
    /// A use case refused or failed.
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        Self::Domain(err.into())
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorBody {
    /// HTTP status, repeated.
    status: u16,
    /// Stable, machine-readable code.
    code: &'static str,
    /// Human-readable explanation.
    message: String,
    /// Id of the request in the service's logs.
    trace_id: String,
}

impl ApiError {
    /// An unexpected failure inside the service (a blocking task that died, stored content
    /// that does not parse): an opaque 500 whose cause goes to the log.
    pub(crate) fn internal(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Domain(DomainError::Internal(domain::ports::PortError::Backend(Box::new(err))))
    }

    /// A malformed-request error with its code.
    pub(crate) fn malformed(code: &'static str, message: impl Into<String>) -> Self {
        Self::Malformed { code, message: message.into() }
    }

    /// Stable, machine-readable identifier; part of the public API (docs/API.md).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed { code, .. } => code,
            Self::Unauthorized(err) => err.code(),
            Self::Forbidden(_) => "forbidden",
            Self::NotAServiceAccount => "service_account_required",
            Self::Archive(err) => err.code(),
            Self::TooLarge(_) => "payload_too_large",
            Self::Domain(err) => err.code(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Malformed { .. } | Self::Archive(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::NotAServiceAccount => StatusCode::FORBIDDEN,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Domain(err) => match err {
                DomainError::Invalid(_) => StatusCode::BAD_REQUEST,
                DomainError::NotFound(_) => StatusCode::NOT_FOUND,
                // A request naming the wrong application is a bad request, not a state clash.
                DomainError::Conflict(domain::error::Conflict::ApplicationMismatch { .. }) => {
                    StatusCode::BAD_REQUEST
                }
                // `If-Match` named an older version of the resource (RFC 9110 §13.1.1).
                DomainError::Conflict(domain::error::Conflict::PreconditionFailed { .. }) => {
                    StatusCode::PRECONDITION_FAILED
                }
                DomainError::Conflict(_) => StatusCode::CONFLICT,
                DomainError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                DomainError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                DomainError::ProcessEngine(engine) => engine_status(engine),
                DomainError::ProcessEngineNotConfigured => StatusCode::SERVICE_UNAVAILABLE,
                // Only channels that carry the token in their message reach a use case with
                // it; should one ever be HTTP, it is the bearer check's 401.
                DomainError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            },
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let trace_id = crate::trace::current();
        // Server-side failures never echo their cause; the request's log line (written by
        // the tracing middleware, with the whole source chain) has it, under this trace id.
        let message = if status.is_server_error() && !self.says_no_cause() {
            status.canonical_reason().unwrap_or("server error").to_owned()
        } else {
            self.to_string()
        };
        let mut response = HttpResponse::build(status);
        match self {
            Self::Unauthorized(err) => {
                response.insert_header((header::WWW_AUTHENTICATE, err.www_authenticate()));
            }
            Self::Domain(DomainError::Unauthenticated(_)) => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""));
            }
            _ => {}
        }
        response.json(ErrorBody { status: status.as_u16(), code: self.code(), message, trace_id })
    }
}

impl ApiError {
    /// Whether the message of a server-side failure says only what an operator must know
    /// (which variable to set, that the engine is down) and carries no internal cause.
    fn says_no_cause(&self) -> bool {
        matches!(
            self,
            Self::Domain(DomainError::ProcessEngine(_) | DomainError::ProcessEngineNotConfigured)
        )
    }
}

/// The status of a start the process engine did not make: its own status for a refusal,
/// 502 for its failure, 503 when it cannot be reached, 504 when it is too slow.
fn engine_status(engine: &domain::ports::EngineError) -> StatusCode {
    use domain::ports::EngineError;
    match engine {
        EngineError::Refused { status, .. } => StatusCode::from_u16(*status)
            .ok()
            .filter(StatusCode::is_client_error)
            .unwrap_or(StatusCode::BAD_REQUEST),
        EngineError::Failed { .. } => StatusCode::BAD_GATEWAY,
        EngineError::Unreachable(_) => StatusCode::SERVICE_UNAVAILABLE,
        EngineError::TimedOut => StatusCode::GATEWAY_TIMEOUT,
    }
}

/// Prints the whole source chain, for the log line of a server-side failure.
impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")?;
        let mut source = self.source();
        while let Some(cause) = source {
            write!(f, "\n  caused by: {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// Shapes extractor failures (JSON, path, query) into the envelope.
pub(crate) fn json_error(
    err: actix_web::error::JsonPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError;
    let api_error = match &err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::TooLarge(format!("request body too large: {err}"))
        }
        JsonPayloadError::ContentType => ApiError::malformed(
            "unsupported_media_type",
            "the body must be JSON (Content-Type: application/json)",
        ),
        JsonPayloadError::Deserialize(inner) => {
            ApiError::malformed("malformed_json", format!("invalid JSON body: {inner}"))
        }
        other => ApiError::malformed("malformed_json", format!("invalid JSON body: {other}")),
    };
    api_error.into()
}

/// Shapes path-parameter failures into the envelope.
pub(crate) fn path_error(
    err: actix_web::error::PathError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::malformed("invalid_path", format!("invalid path parameter: {err}")).into()
}

/// Shapes query-string failures into the envelope.
pub(crate) fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::malformed("invalid_query", format!("invalid query string: {err}")).into()
}

impl ApiError {
    /// 404 for a route that does not exist (the default service).
    pub(crate) fn route_not_found() -> HttpResponse {
        let status = StatusCode::NOT_FOUND;
        HttpResponse::build(status).json(ErrorBody {
            status: status.as_u16(),
            code: "route_not_found",
            message: "no such route".to_owned(),
            trace_id: crate::trace::current(),
        })
    }
}
