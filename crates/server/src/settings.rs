//! Settings, read once from the environment at start. The original platform's variable
//! names are the interface (with Spring's relaxed binding and `${VAR:default}` placeholders,
//! see [`vars`]); settings it lacks have `RTM_` names. A variable that is set but invalid
//! stops the start with a message naming it. Nothing else reads the environment.

pub(crate) mod backends;
pub(crate) mod kafka_tls;
pub(crate) mod vars;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::str::FromStr;

use adapter_engine::EngineConfig;
use build_archive::ArchiveLimits;
use domain::access::{AccessRules, Authority, Permission};

use crate::settings::backends::RealBackends;
use crate::settings::vars::Vars;

/// Which of the two services the process is (`SPRING_APPLICATION_NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// `application-manager` (the default).
    ApplicationManager,
    /// `runtime-manager`.
    RuntimeManager,
}

impl Role {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::ApplicationManager => "application-manager",
            Self::RuntimeManager => "runtime-manager",
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// One JSON object per line, for log shippers.
    Json,
    /// Human-readable lines.
    Text,
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoggingSettings {
    pub(crate) format: LogFormat,
    /// A `tracing-subscriber` filter (`RUST_LOG` syntax).
    pub(crate) filter: String,
}

/// Everything the process is configured with.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) role: Role,
    pub(crate) bind_address: String,
    pub(crate) server_port: u16,
    pub(crate) management_port: u16,
    pub(crate) data_dir: PathBuf,
    pub(crate) archive_limits: ArchiveLimits,
    pub(crate) access: AccessRules,
    pub(crate) logging: LoggingSettings,
    pub(crate) shutdown_timeout_seconds: u64,
    /// How long an import holds its claim on a build id (`RTM_IMPORT_LEASE_SECONDS`).
    pub(crate) import_lease_seconds: u64,
    /// Where process starts are forwarded (`RTM_PROCESS_ENGINE_URL`), in either mode;
    /// `None`: starts are refused with `process_engine_not_configured`.
    pub(crate) process_engine: Option<EngineConfig>,
    /// `None`: embedded mode.
    pub(crate) backends: Option<RealBackends>,
    /// Set when a Redis host is configured but the other backends are not (embedded mode
    /// does not use it).
    pub(crate) ignored_redis: Option<String>,
}

/// A set but invalid variable.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SettingsError {
    variable: String,
    problem: String,
}

impl SettingsError {
    pub(crate) fn new(variable: &str, problem: impl Into<String>) -> Self {
        Self { variable: variable.to_owned(), problem: problem.into() }
    }
}

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.variable, self.problem)
    }
}

impl std::error::Error for SettingsError {}

impl Settings {
    /// Reads the process environment.
    ///
    /// # Errors
    ///
    /// A [`SettingsError`] naming the first variable that is set but invalid.
    pub(crate) fn from_env() -> Result<Self, SettingsError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads settings from `vars` (the environment, or a test's map).
    ///
    /// # Errors
    ///
    /// A [`SettingsError`] naming the first variable that is set but invalid.
    pub(crate) fn from_vars(vars: &BTreeMap<String, String>) -> Result<Self, SettingsError> {
        let vars = Vars::new(vars);
        let backends = backends::read(&vars)?;
        let role = match vars.get("SPRING_APPLICATION_NAME")?.as_deref() {
            None | Some("application-manager") => Role::ApplicationManager,
            Some("runtime-manager") => Role::RuntimeManager,
            Some(other) => {
                return Err(SettingsError::new(
                    "SPRING_APPLICATION_NAME",
                    format!(
                        "`{other}` is not a role: use `application-manager` or `runtime-manager`"
                    ),
                ));
            }
        };
        let format = match vars.get("RTM_LOG_FORMAT")?.as_deref() {
            None => {
                if backends.is_some() {
                    LogFormat::Json
                } else {
                    LogFormat::Text
                }
            }
            Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(SettingsError::new(
                    "RTM_LOG_FORMAT",
                    format!("`{other}` is not `json` or `text`"),
                ));
            }
        };
        let filter = match (vars.get("RUST_LOG")?, vars.get("LOGGING_LEVEL_ROOT")?) {
            (Some(filter), _) => filter,
            (None, Some(level)) => spring_level("LOGGING_LEVEL_ROOT", &level)?.to_owned(),
            (None, None) => "info".to_owned(),
        };
        let defaults = ArchiveLimits::default();
        let max_archive_bytes = match vars.get("RTM_IMPORT_MAX_ARCHIVE_BYTES")? {
            Some(_) => number(&vars, "RTM_IMPORT_MAX_ARCHIVE_BYTES", defaults.max_archive_bytes)?,
            None => match vars.get("MULTIPART_MAX_FILE_SIZE")? {
                Some(size) => data_size("MULTIPART_MAX_FILE_SIZE", &size)?,
                None => defaults.max_archive_bytes,
            },
        };
        let archive_limits = ArchiveLimits {
            max_archive_bytes,
            max_entries: number(&vars, "RTM_IMPORT_MAX_ENTRIES", defaults.max_entries)?,
            max_inflated_bytes: number(
                &vars,
                "RTM_IMPORT_MAX_INFLATED_BYTES",
                defaults.max_inflated_bytes,
            )?,
            max_compression_ratio: number(
                &vars,
                "RTM_IMPORT_MAX_COMPRESSION_RATIO",
                defaults.max_compression_ratio,
            )?,
        };
        let ignored_redis = match backends {
            Some(_) => None,
            None => vars
                .get_any(&["SPRING_DATA_REDIS_HOST", "SPRING_REDIS_HOST"])?
                .map(|(_, host)| host),
        };
        Ok(Self {
            role,
            bind_address: vars.get("SERVER_ADDRESS")?.unwrap_or_else(|| "0.0.0.0".to_owned()),
            server_port: port(&vars, "SERVER_PORT", 8080)?,
            management_port: port(&vars, "MANAGEMENT_SERVER_PORT", 8081)?,
            data_dir: PathBuf::from(vars.get("RTM_DATA_DIR")?.unwrap_or_else(|| ".rtm".to_owned())),
            archive_limits,
            access: access_rules(&vars)?,
            logging: LoggingSettings { format, filter },
            shutdown_timeout_seconds: number(&vars, "RTM_SHUTDOWN_TIMEOUT_SECONDS", 30)?,
            import_lease_seconds: number(&vars, "RTM_IMPORT_LEASE_SECONDS", 900)?,
            process_engine: backends::process_engine(&vars)?,
            backends,
            ignored_redis,
        })
    }
}

fn spring_level<'a>(variable: &str, level: &'a str) -> Result<&'a str, SettingsError> {
    match level.to_ascii_uppercase().as_str() {
        "TRACE" => Ok("trace"),
        "DEBUG" => Ok("debug"),
        "INFO" => Ok("info"),
        "WARN" => Ok("warn"),
        "ERROR" | "FATAL" => Ok("error"),
        "OFF" => Ok("off"),
        _ => Err(SettingsError::new(
            variable,
            format!("`{level}` is not a level (TRACE, DEBUG, INFO, WARN, ERROR, OFF)"),
        )),
    }
}

/// Spring's `DataSize`: `25MB`, `512KB`, `1GB` or plain bytes (binary multiples, as Spring).
fn data_size(variable: &str, raw: &str) -> Result<u64, SettingsError> {
    let upper = raw.trim().to_ascii_uppercase();
    let (digits, unit) =
        upper.split_at(upper.find(|c: char| !c.is_ascii_digit()).unwrap_or(upper.len()));
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1024,
        "MB" => 1024 * 1024,
        "GB" => 1024 * 1024 * 1024,
        _ => {
            return Err(SettingsError::new(
                variable,
                format!("`{raw}` is not a size such as 25MB"),
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .filter(|bytes| *bytes > 0)
        .ok_or_else(|| SettingsError::new(variable, format!("`{raw}` is not a size such as 25MB")))
}

/// A positive number from `name`, or `default` when it is unset.
pub(crate) fn number<T: FromStr + Copy + PartialOrd + Default>(
    vars: &Vars,
    name: &str,
    default: T,
) -> Result<T, SettingsError> {
    match vars.get(name)? {
        None => Ok(default),
        Some(raw) => match raw.parse::<T>() {
            Ok(value) if value > T::default() => Ok(value),
            _ => Err(SettingsError::new(name, format!("`{raw}` is not a positive whole number"))),
        },
    }
}

fn port(vars: &Vars, name: &str, default: u16) -> Result<u16, SettingsError> {
    number(vars, name, default).map_err(|_| {
        SettingsError::new(
            name,
            format!(
                "`{}` is not a port number (1-65535)",
                vars.get(name).ok().flatten().unwrap_or_default()
            ),
        )
    })
}

/// `SECURITY_ACCESSAUTHORIZATIONS_<AUTH>_SCOPES_<SCOPE>_ROLESALLOWED=ROLE_A,ROLE_B` replaces
/// the roles that grant one permission.
fn access_rules(vars: &Vars) -> Result<AccessRules, SettingsError> {
    const PREFIX: &str = "SECURITYACCESSAUTHORIZATIONS";
    let mut rules = AccessRules::default();
    for (name, value) in vars.with_prefix("SECURITY_ACCESSAUTHORIZATIONS_") {
        let rest = &vars::relaxed(&name)[PREFIX.len()..];
        let shape =
            "expected SECURITY_ACCESSAUTHORIZATIONS_<AUTHORITY>_SCOPES_<SCOPE>_ROLESALLOWED";
        let Some((authority, rest)) = rest.split_once("SCOPES") else {
            return Err(SettingsError::new(&name, shape));
        };
        let Some(scope) = rest.strip_suffix("ROLESALLOWED") else {
            return Err(SettingsError::new(&name, shape));
        };
        let authority = Authority::ALL
            .into_iter()
            .find(|candidate| candidate.setting_name() == authority)
            .ok_or_else(|| {
                let known: Vec<&str> =
                    Authority::ALL.iter().map(|candidate| candidate.setting_name()).collect();
                SettingsError::new(
                    &name,
                    format!("`{authority}` is not an authority ({})", known.join(", ")),
                )
            })?;
        let scope = authority
            .scopes()
            .iter()
            .copied()
            .find(|candidate| candidate.as_str() == scope)
            .ok_or_else(|| {
                let known: Vec<&str> =
                    authority.scopes().iter().map(|candidate| candidate.as_str()).collect();
                SettingsError::new(
                    &name,
                    format!("`{scope}` is not a scope of this authority ({})", known.join(", ")),
                )
            })?;
        let roles: BTreeSet<String> = value
            .split(',')
            .map(str::trim)
            .filter(|role| !role.is_empty())
            .map(str::to_owned)
            .collect();
        if roles.is_empty() {
            return Err(SettingsError::new(
                &name,
                "names no role; give a comma-separated list of role names",
            ));
        }
        rules.set_roles(Permission::new(authority, scope), roles);
    }
    // The OAuth clients (a token's `azp`, else `client_id` / `clientId`) whose tokens count
    // as service accounts on the runtime-internal API.
    let clients: BTreeSet<String> = vars
        .get("RTM_SERVICE_ACCOUNT_CLIENTS")?
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|client| !client.is_empty())
        .map(str::to_owned)
        .collect();
    rules.set_service_account_clients(clients);
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use domain::access::Scope;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn no_variables_means_embedded_defaults() {
        let settings = Settings::from_vars(&vars(&[])).unwrap();
        assert_eq!(settings.role, Role::ApplicationManager);
        assert_eq!((settings.server_port, settings.management_port), (8080, 8081));
        assert_eq!(settings.data_dir, PathBuf::from(".rtm"));
        assert_eq!(settings.logging.filter, "info");
    }

    #[test]
    fn an_invalid_port_names_its_variable() {
        let err = Settings::from_vars(&vars(&[("SERVER_PORT", "eighty")])).unwrap_err();
        assert_eq!(err.variable, "SERVER_PORT");
        assert!(err.problem.contains("eighty"), "{err}");
        assert_eq!(
            Settings::from_vars(&vars(&[("MANAGEMENT_SERVER_PORT", "70000")]))
                .unwrap_err()
                .variable,
            "MANAGEMENT_SERVER_PORT"
        );
    }

    #[test]
    fn an_unknown_role_is_refused() {
        let err = Settings::from_vars(&vars(&[("SPRING_APPLICATION_NAME", "process-engine")]))
            .unwrap_err();
        assert_eq!(err.variable, "SPRING_APPLICATION_NAME");
        let runtime =
            Settings::from_vars(&vars(&[("SPRING_APPLICATION_NAME", "runtime-manager")])).unwrap();
        assert_eq!(runtime.role, Role::RuntimeManager);
    }

    #[test]
    fn a_configured_backend_is_never_silently_replaced_by_embedded_mode() {
        let err = Settings::from_vars(&vars(&[(
            "SPRING_DATASOURCE_URL",
            "jdbc:postgresql://db:5432/app",
        )]))
        .unwrap_err();
        assert_eq!(err.variable, "SPRING_DATASOURCE_URL");
        assert!(err.to_string().contains("embedded"), "{err}");
    }

    #[test]
    fn redis_alone_is_optional() {
        let settings = Settings::from_vars(&vars(&[("SPRING_REDIS_HOST", "redis")])).unwrap();
        assert_eq!(settings.ignored_redis.as_deref(), Some("redis"));
    }

    #[test]
    fn spring_log_levels_are_understood_and_rust_log_wins() {
        let settings = Settings::from_vars(&vars(&[("LOGGING_LEVEL_ROOT", "DEBUG")])).unwrap();
        assert_eq!(settings.logging.filter, "debug");
        let settings = Settings::from_vars(&vars(&[
            ("LOGGING_LEVEL_ROOT", "DEBUG"),
            ("RUST_LOG", "warn,server=info"),
        ]))
        .unwrap();
        assert_eq!(settings.logging.filter, "warn,server=info");
        assert_eq!(
            Settings::from_vars(&vars(&[("LOGGING_LEVEL_ROOT", "LOUD")])).unwrap_err().variable,
            "LOGGING_LEVEL_ROOT"
        );
    }

    #[test]
    fn import_limits_are_configurable_and_must_be_positive() {
        let settings = Settings::from_vars(&vars(&[("RTM_IMPORT_MAX_ENTRIES", "10")])).unwrap();
        assert_eq!(settings.archive_limits.max_entries, 10);
        assert_eq!(
            Settings::from_vars(&vars(&[("RTM_IMPORT_MAX_ENTRIES", "0")])).unwrap_err().variable,
            "RTM_IMPORT_MAX_ENTRIES"
        );
        assert_eq!(
            Settings::from_vars(&vars(&[("RTM_IMPORT_MAX_COMPRESSION_RATIO", "-1")]))
                .unwrap_err()
                .variable,
            "RTM_IMPORT_MAX_COMPRESSION_RATIO"
        );
    }

    #[test]
    fn access_authorizations_replace_the_roles_of_one_permission() {
        let settings = Settings::from_vars(&vars(&[(
            "SECURITY_ACCESSAUTHORIZATIONS_MANAGEBUILDS_SCOPES_READ_ROLESALLOWED",
            "ROLE_AUDITOR, ROLE_VIEWER",
        )]))
        .unwrap();
        let read = Permission::new(Authority::Builds, Scope::Read);
        let roles: Vec<&str> = settings.access.roles_for(read).collect();
        assert_eq!(roles, ["ROLE_AUDITOR", "ROLE_VIEWER"]);
        let err = Settings::from_vars(&vars(&[(
            "SECURITY_ACCESSAUTHORIZATIONS_MANAGEBUILDS_SCOPES_WRITE_ROLESALLOWED",
            "X",
        )]))
        .unwrap_err();
        assert!(err.problem.contains("WRITE"), "{err}");
        let err = Settings::from_vars(&vars(&[(
            "SECURITY_ACCESSAUTHORIZATIONS_MANAGEFOO_SCOPES_READ_ROLESALLOWED",
            "X",
        )]))
        .unwrap_err();
        assert!(err.problem.contains("MANAGEFOO"), "{err}");
    }

    #[test]
    fn service_account_clients_are_a_comma_separated_list() {
        let engine = domain::model::Principal {
            client_id: Some("flowx-process-engine".to_owned()),
            ..domain::model::Principal::named("service-account-flowx-process-engine", [])
        };
        let settings = Settings::from_vars(&vars(&[(
            "RTM_SERVICE_ACCOUNT_CLIENTS",
            " flowx-process-engine, ,flowx-scheduler",
        )]))
        .unwrap();
        assert!(settings.access.is_service_account(&engine));
        let unset = Settings::from_vars(&vars(&[])).unwrap();
        assert!(!unset.access.is_service_account(&engine), "no client is listed by default");
    }
}
