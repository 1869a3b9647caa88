//! Configuration parameters: defaults frozen into builds, and per-installation overrides.

use time::OffsetDateTime;

use crate::model::{ApplicationId, ConfigKey, ValidationError};

/// How the value of a parameter is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigParamType {
    /// The value itself.
    Value,
    /// The name of an environment variable that holds the value.
    Env,
    /// The name of an environment variable that holds a secret; never shown on the runtime API.
    EnvSecret,
}

crate::vocabulary!(ConfigParamType, field = "type", {
    Value => "VALUE",
    Env => "ENV",
    EnvSecret => "ENV_SECRET",
});

/// A default configuration parameter of a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigParam {
    /// Key, unique per build.
    pub key: ConfigKey,
    /// How `value` is read.
    pub param_type: ConfigParamType,
    /// The value, or an environment variable name.
    pub value: String,
    /// Optional description.
    pub description: Option<String>,
}

impl ConfigParam {
    /// Checks that an `ENV`/`ENV_SECRET` value names an environment variable.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `value` otherwise.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_value(self.param_type, &self.value)
    }
}

fn validate_value(param_type: ConfigParamType, value: &str) -> Result<(), ValidationError> {
    let is_env_name = !value.is_empty()
        && value.len() <= 255
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !value.starts_with(|c: char| c.is_ascii_digit());
    match param_type {
        ConfigParamType::Value if value.len() > 65_536 => {
            Err(ValidationError::new("value", "must be at most 65536 bytes"))
        }
        ConfigParamType::Env | ConfigParamType::EnvSecret if !is_env_name => {
            Err(ValidationError::new(
                "value",
                format!(
                    "`{value}` is not an environment variable name (A-Z, a-z, 0-9 and _, not starting with a digit)"
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// An override of one parameter for one application in this installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigOverride {
    /// The application (never a library).
    pub application_id: ApplicationId,
    /// The overridden key.
    pub key: ConfigKey,
    /// How `value` is read.
    pub param_type: ConfigParamType,
    /// The value, or an environment variable name.
    pub value: String,
    /// Who set it.
    pub updated_by: String,
    /// When.
    pub updated_at: OffsetDateTime,
}

impl ConfigOverride {
    /// Checks the value against its type.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `value` when an `ENV`/`ENV_SECRET` value is not a variable name.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_value(self.param_type, &self.value)
    }
}

/// A parameter as the runtime sees it for one build, with where its value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedConfigParam {
    /// Key.
    pub key: ConfigKey,
    /// How `value` is read.
    pub param_type: ConfigParamType,
    /// The value, or an environment variable name.
    pub value: String,
    /// `true` when an override supplied the value.
    pub overridden: bool,
    /// `Some(library)` when the default came from a library the build depends on.
    pub from_library: Option<ApplicationId>,
}
