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

/// The request span: what `tracing-actix-web`'s default span holds that no log line of rtm
/// shows anyway (user agent, host, scheme, flavour, client address, OpenTelemetry names) is
/// left out, because every field of a span is formatted when the span is made, on every
/// request: this span gave build info 30 % more throughput than the default one
/// (docs/PERFORMANCE.md). Kept: the request id (the trace id of lines and error bodies), the
/// method and the path (never the query, which may carry a secret). An error's status and
/// cause are recorded on it as the default span does.
pub(crate) struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        let request_id = request.extensions().get::<RequestId>().copied();
        tracing::info_span!(
            "HTTP request",
            request_id = request_id.map(tracing::field::display),
            http.method = %request.method(),
            http.target = request.path(),
            http.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        let failure = match outcome {
            Ok(response) => response
                .response()
                .error()
                .map(|error| (response.status(), error.as_response_error())),
            Err(error) => {
                Some((error.as_response_error().status_code(), error.as_response_error()))
            }
        };
        // A success records nothing: its status is on the request's log line.
        if let Some((status, error)) = failure {
            span.record("http.status_code", status.as_u16());
            span.record("exception.message", tracing::field::display(error));
            span.record("exception.details", tracing::field::debug(error));
        }
    }
}
