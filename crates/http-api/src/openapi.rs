//! The API application and its OpenAPI document, collected from the handlers themselves
//! (utoipa), served at `/v3/api-docs` with Swagger UI at `/swagger-ui/` (and springdoc's
//! `/swagger-ui.html` redirecting there).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{Compress, Condition};
use actix_web::{App, web};
use tracing_actix_web::TracingLogger;
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt as _;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_swagger_ui::SwaggerUi;

use crate::cors::CorsOrigins;
use crate::error::{self, ErrorBody};
use crate::trace::RequestSpan;
use crate::{ApiError, Apis, app_manager, observe, runtime_manager};

/// Largest JSON body accepted (config override imports are the biggest).
const JSON_LIMIT_BYTES: usize = 2 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "rtm",
        description = "rtm: the Application Manager API (design time) and the Runtime Manager APIs (the runtime API renderers \
                       and services call, and the build-management API); a process describes the roles it serves. \
                       Errors are `{status, code, message, traceId}`; codes are listed in docs/API.md.",
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "runtime", description = "What is live, and what is in it; process starts"),
        (name = "runtime-internal", description = "For other platform services and the Designer: resolution on behalf of a user, builds by id, secret parameter names, test-run starts; every route needs builds read"),
        (name = "build-mgmt", description = "Import, list, export and delete builds"),
        (name = "active-policy", description = "Which build is live, globally and per user or group"),
        (name = "config-overrides", description = "Per-installation config overrides"),
        (name = "applications", description = "Application Manager: projects and libraries"),
        (name = "versions", description = "Application Manager: branches, versions, commits, manifests"),
        (name = "resources", description = "Application Manager: resources of versions (copy on write) and media binaries"),
        (name = "dependencies", description = "Application Manager: dependencies of versions on library builds"),
        (name = "config-params", description = "Application Manager: config defaults of versions"),
        (name = "builds", description = "Application Manager: builds made from committed versions"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// Which roles' routes to mount (and to describe).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// The Runtime Manager's runtime and build-management APIs.
    pub runtime_manager: bool,
    /// The Application Manager's API.
    pub app_manager: bool,
}

impl Apis {
    /// The roles these APIs serve.
    pub fn roles(&self) -> Roles {
        Roles {
            runtime_manager: self.runtime_manager.is_some(),
            app_manager: self.app_manager.is_some(),
        }
    }
}

fn routes(roles: Roles) -> impl FnOnce(&mut ServiceConfig<'_>) {
    move |cfg| {
        if roles.runtime_manager {
            runtime_manager::configure(cfg);
        }
        if roles.app_manager {
            app_manager::configure(cfg);
        }
    }
}

/// The OpenAPI document of the roles' APIs: a role's routes are described only where it is
/// served.
pub fn openapi_document(roles: Roles) -> OpenApiDocument {
    let (_, document) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes(roles))
        .split_for_parts();
    document
}

/// How the API application treats HTTP itself, beyond the roles' routes.
#[derive(Debug, Clone, Default)]
pub struct ApiOptions {
    /// The origins allowed cross-origin (`RTM_CORS_ALLOWED_ORIGINS`); none: no CORS headers.
    pub cors: CorsOrigins,
}

/// The API application: the roles' APIs, OpenAPI and Swagger UI, request tracing, request metrics and log
/// lines, the error envelope for extractor failures and unknown routes (another role's paths included), CORS
/// when origins are configured, and gzip for clients that ask for it (`Accept-Encoding`;
/// an archive download is sent as it is, see `build_mgmt::builds`).
pub fn api_app(
    apis: Apis,
    document: OpenApiDocument,
    options: ApiOptions,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let roles = apis.roles();
    let mut app = App::new().app_data(web::Data::new(apis.authenticator));
    if let Some(state) = apis.runtime_manager {
        app = app.app_data(web::Data::new(state));
    }
    if let Some(state) = apis.app_manager {
        app = app.app_data(web::Data::new(state));
    }
    app.app_data(
        web::JsonConfig::default().limit(JSON_LIMIT_BYTES).error_handler(error::json_error),
    )
    .app_data(web::PathConfig::default().error_handler(error::path_error))
    .app_data(web::QueryConfig::default().error_handler(error::query_error))
    .configure(|cfg| routes(roles)(&mut ServiceConfig::new(cfg)))
    .service(SwaggerUi::new("/swagger-ui/{_:.*}").url("/v3/api-docs", document))
    // springdoc's address of the UI. Relative, so that it also works behind an ingress that
    // strips a path prefix (`/appmanager/swagger-ui.html` → `/appmanager/swagger-ui/`).
    .service(web::redirect("/swagger-ui.html", "swagger-ui/").using_status_code(StatusCode::FOUND))
    .default_service(web::to(|| async { ApiError::route_not_found() }))
    .wrap(Compress::default())
    // Outside compression and the handlers, so that errors carry CORS headers too and a
    // preflight is answered before any route is looked for.
    .wrap(Condition::new(options.cors.is_enabled(), options.cors.middleware()))
    // Inside the tracing span (its request id is the line's trace id), outside everything
    // else: it times and logs the whole request, CORS refusals and error responses included,
    // and puts the trace id in scope for the error bodies.
    .wrap(actix_web::middleware::from_fn(observe::observe))
    .wrap(TracingLogger::<RequestSpan>::new())
}
