//! Typed path parameters: each route takes one of these structs instead of a tuple of
//! strings, and a segment that breaks its type's rule is refused before the handler runs,
//! as 400 `invalid_request` naming the parameter — the same refusal as a body field.
//!
//! Declared with [`path_params!`], which reads segments by their route names (`{appId}`)
//! through the domain types' `FromStr`: the domain has no serde, and one generic extractor
//! per struct keeps the parsing out of every handler.

use std::str::FromStr;

use actix_web::HttpRequest;
use domain::DomainError;
use domain::model::{
    ApplicationId, BranchName, BuildId, ConfigKey, PolicyOverrideId, ResourceDefinitionId,
    ResourceName, ResourceType, TimerId, ValidationError, VersionId, WorkspaceId,
};

use crate::ApiError;

/// The segment `name` of the matched route, decoded and parsed.
fn segment<T: FromStr<Err = ValidationError>>(
    req: &HttpRequest,
    name: &'static str,
) -> Result<T, ApiError> {
    let Some(raw) = req.match_info().get(name) else {
        // A struct used on a route without that segment: a programming error, never the caller's.
        return Err(ApiError::internal(std::io::Error::other(format!(
            "route {} has no path segment `{name}`",
            req.match_info().as_str()
        ))));
    };
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8().map_err(|_| {
        ApiError::Domain(DomainError::Invalid(ValidationError::new(name, "is not UTF-8")))
    })?;
    decoded.parse().map_err(|err: ValidationError| ApiError::Domain(err.into()))
}

/// Declares a struct of typed path parameters and its extractor.
macro_rules! path_params {
    ($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty = $segment:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub(crate) struct $name {
            $(pub(crate) $field: $ty,)+
        }

        impl actix_web::FromRequest for $name {
            type Error = ApiError;
            type Future = std::future::Ready<Result<Self, ApiError>>;

            fn from_request(
                req: &HttpRequest,
                _payload: &mut actix_web::dev::Payload,
            ) -> Self::Future {
                std::future::ready((|| Ok(Self { $($field: segment(req, $segment)?,)+ }))())
            }
        }
    };
}

path_params!(
    /// `{appId}`.
    AppPath { application_id: ApplicationId = "appId" }
);

path_params!(
    /// `{workspaceId}`, `{appId}`.
    WorkspaceAppPath { workspace_id: WorkspaceId = "workspaceId", application_id: ApplicationId = "appId" }
);

path_params!(
    /// `{buildId}` alone: a build of any application.
    BuildIdPath { build_id: BuildId = "buildId" }
);

path_params!(
    /// `{appId}`, `{buildId}`.
    BuildPath { application_id: ApplicationId = "appId", build_id: BuildId = "buildId" }
);

path_params!(
    /// `{appId}`, `{buildId}`, `{type}`.
    BuildResourcesPath {
        application_id: ApplicationId = "appId",
        build_id: BuildId = "buildId",
        resource_type: ResourceType = "type",
    }
);

path_params!(
    /// `{appId}`, `{buildId}`, `{type}`, `{definitionId}`.
    BuildResourcePath {
        application_id: ApplicationId = "appId",
        build_id: BuildId = "buildId",
        resource_type: ResourceType = "type",
        definition_id: ResourceDefinitionId = "definitionId",
    }
);

path_params!(
    /// `{appId}`, `{buildId}`, `{type}`, `{name}`.
    BuildResourceNamePath {
        application_id: ApplicationId = "appId",
        build_id: BuildId = "buildId",
        resource_type: ResourceType = "type",
        name: ResourceName = "name",
    }
);

path_params!(
    /// `{appId}`, `{name}` (a process).
    AppProcessPath { application_id: ApplicationId = "appId", process_name: ResourceName = "name" }
);

path_params!(
    /// `{workspaceId}`, `{appId}`, `{name}` (a process).
    WorkspaceAppProcessPath {
        workspace_id: WorkspaceId = "workspaceId",
        application_id: ApplicationId = "appId",
        process_name: ResourceName = "name",
    }
);

path_params!(
    /// `{appId}`, `{buildId}`, `{name}` (a process).
    BuildProcessPath {
        application_id: ApplicationId = "appId",
        build_id: BuildId = "buildId",
        process_name: ResourceName = "name",
    }
);

path_params!(
    /// `{appId}`, `{overrideId}`.
    OverridePath { application_id: ApplicationId = "appId", override_id: PolicyOverrideId = "overrideId" }
);

path_params!(
    /// `{appId}`, `{timerId}`.
    TimerPath { application_id: ApplicationId = "appId", timer_id: TimerId = "timerId" }
);

path_params!(
    /// `{appId}`, `{key}`.
    ConfigKeyPath { application_id: ApplicationId = "appId", key: ConfigKey = "key" }
);

path_params!(
    /// `{appId}`, `{branch}`.
    BranchPath { application_id: ApplicationId = "appId", branch: BranchName = "branch" }
);

path_params!(
    /// `{appId}`, `{versionId}`.
    VersionPath { application_id: ApplicationId = "appId", version_id: VersionId = "versionId" }
);

path_params!(
    /// `{appId}`, `{versionId}`, `{type}`.
    VersionResourcesPath {
        application_id: ApplicationId = "appId",
        version_id: VersionId = "versionId",
        resource_type: ResourceType = "type",
    }
);

path_params!(
    /// `{appId}`, `{versionId}`, `{type}`, `{definitionId}`.
    VersionResourcePath {
        application_id: ApplicationId = "appId",
        version_id: VersionId = "versionId",
        resource_type: ResourceType = "type",
        definition_id: ResourceDefinitionId = "definitionId",
    }
);

path_params!(
    /// `{appId}`, `{versionId}`, `{libraryId}`.
    DependencyPath {
        application_id: ApplicationId = "appId",
        version_id: VersionId = "versionId",
        library_id: ApplicationId = "libraryId",
    }
);

path_params!(
    /// `{appId}`, `{versionId}`, `{key}`.
    VersionConfigKeyPath {
        application_id: ApplicationId = "appId",
        version_id: VersionId = "versionId",
        key: ConfigKey = "key",
    }
);
