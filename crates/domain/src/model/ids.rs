//! Identifiers and names, each a newtype that can only hold a valid value.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::model::ValidationError;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an already parsed UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// A fresh random (v4) id.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }

            /// Parses the canonical hyphenated form.
            ///
            /// # Errors
            ///
            /// A [`ValidationError`] when `raw` is not a UUID.
            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                Uuid::try_parse(raw)
                    .map(Self)
                    .map_err(|_| ValidationError::new($field, format!("`{raw}` is not a uuid")))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Self::parse(raw)
            }
        }
    };
}

uuid_id!(
    /// Id of an application (project) or library.
    ApplicationId,
    "applicationId"
);
uuid_id!(
    /// Id of an override of an active policy.
    PolicyOverrideId,
    "overrideId"
);

uuid_id!(
    /// Id of a build.
    BuildId,
    "buildId"
);
uuid_id!(
    /// Id of a workspace (5.x); 4.x deployments have none.
    WorkspaceId,
    "workspaceId"
);
uuid_id!(
    /// Who holds a claim on a build id: one import attempt, so that only it renews,
    /// completes or releases its claim.
    ImportOwner,
    "owner"
);
uuid_id!(
    /// Id of an application version.
    VersionId,
    "applicationVersionId"
);

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $field:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Checks and wraps `raw`.
            ///
            /// # Errors
            ///
            /// A [`ValidationError`] naming the field when `raw` breaks the rule.
            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                let check: fn(&str) -> Result<(), String> = $check;
                check(raw).map_err(|reason| ValidationError::new($field, reason))?;
                Ok(Self(raw.to_owned()))
            }

            /// The text inside.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Self::parse(raw)
            }
        }
    };
}

fn length(raw: &str, max: usize) -> Result<(), String> {
    let n_chars = raw.chars().count();
    if n_chars == 0 {
        Err("must not be empty".to_owned())
    } else if n_chars > max {
        Err(format!("must be at most {max} characters, got {n_chars}"))
    } else {
        Ok(())
    }
}

fn charset(raw: &str, allowed: impl Fn(char) -> bool, what: &str) -> Result<(), String> {
    match raw.chars().find(|c| !allowed(*c)) {
        Some(bad) => Err(format!("character {bad:?} is not allowed; use {what}")),
        None => Ok(()),
    }
}

text_id!(
    /// A resource type: an open set of upper-case names such as `PROCESS` or `ENUMERATION`.
    ResourceType,
    "resourceType",
    |raw| {
        length(raw, 64)?;
        charset(raw, |c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_', "A-Z, 0-9 and _")?;
        if raw.starts_with(|c: char| c.is_ascii_uppercase()) {
            Ok(())
        } else {
            Err("must start with a letter A-Z".to_owned())
        }
    }
);
text_id!(
    /// The stable id of a resource across versions (the platform's `flowxUuid`). It names
    /// files inside build archives, so it is restricted to a path-safe alphabet.
    ResourceDefinitionId,
    "resourceDefinitionId",
    |raw| {
        length(raw, 64)?;
        charset(raw, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_', "A-Z, a-z, 0-9, - and _")
    }
);
text_id!(
    /// The id of one version of a resource.
    ResourceVersionId,
    "resourceVersionId",
    |raw| {
        length(raw, 64)?;
        charset(raw, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_', "A-Z, a-z, 0-9, - and _")
    }
);
text_id!(
    /// The name (or key) of a resource, unique per build and type.
    ResourceName,
    "name",
    |raw| {
        length(raw, 255)?;
        charset(raw, |c| !c.is_control(), "no control characters")
    }
);
text_id!(
    /// The name of an application or library, unique per workspace among those not deleted.
    ApplicationName,
    "name",
    |raw| {
        length(raw, 255)?;
        charset(raw, |c| !c.is_control(), "no control characters")?;
        if raw.trim() == raw {
            Ok(())
        } else {
            Err("must not start or end with white space".to_owned())
        }
    }
);
text_id!(
    /// A branch name: at most 16 characters.
    BranchName,
    "branch",
    |raw| {
        length(raw, 16)?;
        charset(raw, |c| c.is_ascii_alphanumeric() || "-_.".contains(c), "A-Z, a-z, 0-9, -, _ and .")
    }
);
text_id!(
    /// The key of a configuration parameter.
    ConfigKey,
    "key",
    |raw| {
        length(raw, 255)?;
        charset(raw, |c| c.is_ascii_alphanumeric() || "-_.".contains(c), "A-Z, a-z, 0-9, -, _ and .")?;
        if raw == "processInstanceId" {
            Err("`processInstanceId` is reserved".to_owned())
        } else {
            Ok(())
        }
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_longer_than_sixteen_characters_are_refused() {
        assert!(BranchName::parse("main").is_ok());
        assert!(BranchName::parse("feature-0123456").is_ok());
        let err = BranchName::parse("feature-012345678").unwrap_err();
        assert_eq!(err.field, "branch");
    }

    #[test]
    fn definition_ids_cannot_escape_a_directory() {
        assert!(ResourceDefinitionId::parse("3f1c2d9e-0000-4000-8000-000000000001").is_ok());
        assert!(ResourceDefinitionId::parse("../etc").is_err());
        assert!(ResourceDefinitionId::parse("a/b").is_err());
        assert!(ResourceDefinitionId::parse("").is_err());
    }

    #[test]
    fn resource_types_are_upper_case_names() {
        assert!(ResourceType::parse("SUBSTITUTION_TAG").is_ok());
        assert!(ResourceType::parse("process").is_err());
        assert!(ResourceType::parse("_X").is_err());
    }

    #[test]
    fn the_reserved_config_key_is_refused() {
        assert!(ConfigKey::parse("processInstanceId").is_err());
        assert!(ConfigKey::parse("api.baseUrl").is_ok());
    }

    #[test]
    fn uuids_round_trip_through_display() {
        let id = BuildId::random();
        assert_eq!(BuildId::parse(&id.to_string()).unwrap(), id);
        assert_eq!(BuildId::parse("nope").unwrap_err().field, "buildId");
    }
}
