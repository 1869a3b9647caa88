//! Wire shapes several Runtime Manager APIs share: a build's header as other services and
//! operators read it, and a resolved parameter.

use domain::model::{
    Build, BuildDependency, BuildHeader, BuildSettings, BuildSummary, ConfigParamType,
    ResolvedConfigParam,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::dto::{BuildSettingsDto, BuildSummaryDto};
use crate::word::Word;

/// A dependency on a library build.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DependencyDto {
    application_id: String,
    build_id: String,
}

impl From<&BuildDependency> for DependencyDto {
    fn from(dependency: &BuildDependency) -> Self {
        Self {
            application_id: dependency.application_id.to_string(),
            build_id: dependency.build_id.to_string(),
        }
    }
}

/// A build's header: identity, application, workspace, version, branch, checksum, origin,
/// settings, languages and dependencies.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BuildHeaderDto {
    #[serde(flatten)]
    summary: BuildSummaryDto,
    build_settings: BuildSettingsDto,
    languages: Vec<String>,
    dependencies: Vec<DependencyDto>,
}

impl BuildHeaderDto {
    fn new(
        header: &BuildHeader,
        settings: &BuildSettings,
        dependencies: &[BuildDependency],
    ) -> Self {
        Self {
            summary: BuildSummaryDto::from(header),
            build_settings: BuildSettingsDto::new(header, settings),
            languages: settings.languages.clone(),
            dependencies: dependencies.iter().map(DependencyDto::from).collect(),
        }
    }
}

impl From<&Build> for BuildHeaderDto {
    fn from(build: &Build) -> Self {
        Self::new(&build.header, &build.settings, &build.dependencies)
    }
}

impl From<&BuildSummary> for BuildHeaderDto {
    fn from(build: &BuildSummary) -> Self {
        Self::new(&build.header, &build.settings, &build.dependencies)
    }
}

/// A resolved parameter.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResolvedConfigParamDto {
    key: String,
    #[serde(rename = "type")]
    #[schema(schema_with = Word::<ConfigParamType>::words)]
    param_type: Word<ConfigParamType>,
    /// The value, or (`ENV`, `ENV_SECRET`) the name of the environment variable holding it:
    /// never a secret itself.
    value: String,
    /// `OVERRIDE`, `BUILD` or `LIBRARY`: where the value came from.
    source: &'static str,
    /// The library that supplied the default, when one did.
    library_id: Option<String>,
}

impl From<ResolvedConfigParam> for ResolvedConfigParamDto {
    fn from(param: ResolvedConfigParam) -> Self {
        let source = match (param.overridden, param.from_library) {
            (true, _) => "OVERRIDE",
            (false, Some(_)) => "LIBRARY",
            (false, None) => "BUILD",
        };
        Self {
            key: param.key.to_string(),
            param_type: param.param_type.into(),
            value: param.value,
            source,
            library_id: param.from_library.map(|id| id.to_string()),
        }
    }
}
