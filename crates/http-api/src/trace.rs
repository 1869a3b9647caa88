//! The trace id of a request: the request id `tracing-actix-web` puts on the request span,
//! made available to error responses so that a `traceId` in a body finds its log lines.

use std::future::Future;

use actix_web::HttpMessage;
use actix_web::dev::ServiceRequest;
use tracing_actix_web::RequestId;

tokio::task_local! {
    static TRACE_ID: String;
}

/// The trace id of the request being handled, or a fresh one outside a request.
pub(crate) fn current() -> String {
    TRACE_ID.try_with(Clone::clone).unwrap_or_else(|_| uuid::Uuid::new_v4().to_string())
}

/// The trace id of `req`: its request id, as the request's log line shows it.
pub(crate) fn of(req: &ServiceRequest) -> String {
    req.extensions()
        .get::<RequestId>()
        .map(ToString::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Runs `next` with `trace_id` in scope.
pub(crate) fn scope<F: Future>(trace_id: String, next: F) -> impl Future<Output = F::Output> {
    TRACE_ID.scope(trace_id, next)
}
