//! Settings, read once from the environment at start. The original platform's variable
//! names are the interface (with Spring's relaxed binding and `${VAR:default}` placeholders,
//! see [`vars`]); settings it lacks have `RTM_` names. A variable that is set but invalid
//! stops the start with a message naming it; every such variable is reported in one start
//! (see [`vars`] for how the readers collect their problems). Nothing else reads the
//! environment.

pub(crate) mod backends;
pub(crate) mod kafka_tls;
pub(crate) mod logging;
pub(crate) mod tls;
pub(crate) mod vars;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use adapter_engine::EngineConfig;
use adapter_near_cache::NearCacheConfig;
use build_archive::ArchiveLimits;
use domain::access::{AccessRules, Authority, Permission};
use http_api::CorsOrigins;

use crate::settings::backends::RealBackends;
pub(crate) use crate::settings::logging::{LogFormat, LoggingSettings};
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
    /// How long a verified token is kept before it is verified again
    /// (`RTM_TOKEN_CACHE_SECONDS`); zero: never kept.
    pub(crate) token_cache: Duration,
    /// Where process starts are forwarded (`RTM_PROCESS_ENGINE_URL`), in either mode;
    /// `None`: starts are refused with `process_engine_not_configured`.
    pub(crate) process_engine: Option<EngineConfig>,
    /// `None`: embedded mode.
    pub(crate) backends: Option<RealBackends>,
    /// Set when a Redis host is configured but the other backends are not (embedded mode
    /// does not use it).
    pub(crate) ignored_redis: Option<String>,
    /// Origins allowed to call the API from a browser (`RTM_CORS_ALLOWED_ORIGINS`).
    pub(crate) cors: CorsOrigins,
    /// Size and TTL of the near cache (`RTM_NEAR_CACHE_MAX_MB`, `RTM_NEAR_CACHE_TTL_SECONDS`).
    pub(crate) near_cache: NearCacheConfig,
    /// `RTM_*` variables that are set but that rtm did not read: warned about at start and
    /// by `rtm config check`.
    pub(crate) unread: Vec<String>,
}

/// A set but invalid variable.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Every problem of one reading of the environment (see [`vars`]): displayed one per line,
/// each naming its variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SettingsErrors {
    pub(crate) problems: Vec<SettingsError>,
    /// `RTM_*` variables set but never read (see [`Vars::unread`]).
    pub(crate) unread: Vec<String>,
}

impl SettingsErrors {
    /// The variables named, in order.
    #[cfg(test)]
    pub(crate) fn variables(&self) -> Vec<&str> {
        self.problems.iter().map(|problem| problem.variable.as_str()).collect()
    }

    /// The one problem there is.
    #[cfg(test)]
    #[track_caller]
    pub(crate) fn only(self) -> SettingsError {
        assert_eq!(self.problems.len(), 1, "one problem expected: {self}");
        self.problems.into_iter().next().unwrap_or_else(|| unreachable!())
    }
}

impl std::fmt::Display for SettingsErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SettingsErrors {}

impl Settings {
    /// Reads the process environment.
    ///
    /// # Errors
    ///
    /// [`SettingsErrors`] naming every variable that is set but invalid.
    pub(crate) fn from_env() -> Result<Self, SettingsErrors> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads settings from `vars` (the environment, or a test's map).
    ///
    /// # Errors
    ///
    /// [`SettingsErrors`] naming every variable that is set but invalid.
    pub(crate) fn from_vars(vars: &BTreeMap<String, String>) -> Result<Self, SettingsErrors> {
        let vars = Vars::new(vars);
        // `None` for a field below: its problem is recorded in `vars` (see `vars`), and
        // `finish` reports it with every other one.
        let backends = backends::read(&vars);
        let role = vars.check(role(&vars));
        let logging = vars.check(logging::read(&vars));
        let archive_limits = archive_limits(&vars);
        let ignored_redis = match backends {
            Some(None) => vars
                .check(vars.get_any(&["SPRING_DATA_REDIS_HOST", "SPRING_REDIS_HOST"]))
                .map(|found| found.map(|(_, host)| host)),
            _ => Some(None),
        };
        let bind_address = vars.check(vars.get("SERVER_ADDRESS"));
        let server_port = vars.check(port(&vars, "SERVER_PORT", 8080));
        let management_port = vars.check(port(&vars, "MANAGEMENT_SERVER_PORT", 8081));
        let data_dir = vars.check(vars.get("RTM_DATA_DIR"));
        let access = vars.check(access_rules(&vars));
        let shutdown_timeout_seconds =
            vars.check(number(&vars, "RTM_SHUTDOWN_TIMEOUT_SECONDS", 30));
        let import_lease_seconds = vars.check(number(&vars, "RTM_IMPORT_LEASE_SECONDS", 900));
        let token_cache = vars.check(token_cache(&vars));
        let process_engine = vars.check(backends::process_engine(&vars));
        let cors = vars.check(cors_origins(&vars));
        let near_cache = vars.check(near_cache(&vars));
        let settings = (|| {
            Some(Self {
                role: role?,
                bind_address: bind_address?.unwrap_or_else(|| "0.0.0.0".to_owned()),
                server_port: server_port?,
                management_port: management_port?,
                data_dir: PathBuf::from(data_dir?.unwrap_or_else(|| ".rtm".to_owned())),
                archive_limits: archive_limits?,
                access: access?,
                logging: logging?,
                shutdown_timeout_seconds: shutdown_timeout_seconds?,
                import_lease_seconds: import_lease_seconds?,
                token_cache: token_cache?,
                process_engine: process_engine?,
                cors: cors?,
                near_cache: near_cache?,
                backends: backends?,
                ignored_redis: ignored_redis?,
                unread: Vec::new(),
            })
        })();
        let mut settings = vars.finish(settings)?;
        settings.unread = vars.unread("RTM_");
        Ok(settings)
    }
}

/// The near cache: `RTM_NEAR_CACHE_MAX_MB` (default 64; 0 turns it off, so every read goes
/// to Redis or the stores) and `RTM_NEAR_CACHE_TTL_SECONDS` (default 300).
fn near_cache(vars: &Vars) -> Result<NearCacheConfig, SettingsError> {
    const MAX_MB: &str = "RTM_NEAR_CACHE_MAX_MB";
    let max_mb = match vars.get(MAX_MB)? {
        None => 64,
        Some(raw) => raw.parse::<u64>().ok().filter(|mb| *mb <= 1024 * 1024).ok_or_else(|| {
            SettingsError::new(
                MAX_MB,
                format!("`{raw}` is not a whole number of MiB (0 turns the near cache off)"),
            )
        })?,
    };
    let ttl_seconds = number(vars, "RTM_NEAR_CACHE_TTL_SECONDS", 300_u64)?;
    Ok(NearCacheConfig::new(max_mb, Duration::from_secs(ttl_seconds)))
}

fn role(vars: &Vars) -> Result<Role, SettingsError> {
    match vars.get("SPRING_APPLICATION_NAME")?.as_deref() {
        None | Some("application-manager") => Ok(Role::ApplicationManager),
        Some("runtime-manager") => Ok(Role::RuntimeManager),
        Some(other) => Err(SettingsError::new(
            "SPRING_APPLICATION_NAME",
            format!("`{other}` is not a role: use `application-manager` or `runtime-manager`"),
        )),
    }
}

/// The import limits, each variable checked on its own.
fn archive_limits(vars: &Vars) -> Option<ArchiveLimits> {
    let defaults = ArchiveLimits::default();
    let max_archive_bytes = vars.check((|| match vars.get("RTM_IMPORT_MAX_ARCHIVE_BYTES")? {
        Some(_) => number(vars, "RTM_IMPORT_MAX_ARCHIVE_BYTES", defaults.max_archive_bytes),
        None => match vars.get("MULTIPART_MAX_FILE_SIZE")? {
            Some(size) => data_size("MULTIPART_MAX_FILE_SIZE", &size),
            None => Ok(defaults.max_archive_bytes),
        },
    })());
    let max_entries = vars.check(number(vars, "RTM_IMPORT_MAX_ENTRIES", defaults.max_entries));
    let max_inflated_bytes =
        vars.check(number(vars, "RTM_IMPORT_MAX_INFLATED_BYTES", defaults.max_inflated_bytes));
    let max_compression_ratio = vars.check(number(
        vars,
        "RTM_IMPORT_MAX_COMPRESSION_RATIO",
        defaults.max_compression_ratio,
    ));
    Some(ArchiveLimits {
        max_archive_bytes: max_archive_bytes?,
        max_entries: max_entries?,
        max_inflated_bytes: max_inflated_bytes?,
        max_compression_ratio: max_compression_ratio?,
    })
}

/// `RTM_TOKEN_CACHE_SECONDS`: how long a verified token is kept (never past its `exp`);
/// `0` turns the cache off, so unlike most durations zero is allowed.
fn token_cache(vars: &Vars) -> Result<Duration, SettingsError> {
    const NAME: &str = "RTM_TOKEN_CACHE_SECONDS";
    match vars.get(NAME)? {
        None => Ok(Duration::from_secs(60)),
        Some(raw) => raw.trim().parse::<u64>().map(Duration::from_secs).map_err(|_| {
            SettingsError::new(NAME, format!("`{raw}` is not a whole number of seconds (0: off)"))
        }),
    }
}

/// `RTM_CORS_ALLOWED_ORIGINS`: comma-separated origins allowed cross-origin; unset: none.
fn cors_origins(vars: &Vars) -> Result<CorsOrigins, SettingsError> {
    const NAME: &str = "RTM_CORS_ALLOWED_ORIGINS";
    match vars.get(NAME)? {
        None => Ok(CorsOrigins::default()),
        Some(list) => {
            CorsOrigins::parse(&list).map_err(|problem| SettingsError::new(NAME, problem))
        }
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
/// the roles that grant one permission; each such variable is checked on its own.
fn access_rules(vars: &Vars) -> Result<AccessRules, SettingsError> {
    let mut rules = AccessRules::default();
    for (name, value) in vars.with_prefix("SECURITY_ACCESSAUTHORIZATIONS_") {
        if let Some((permission, roles)) = vars.check(access_rule(&name, &value)) {
            rules.set_roles(permission, roles);
        }
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

/// One `SECURITY_ACCESSAUTHORIZATIONS_…_ROLESALLOWED` variable.
fn access_rule(name: &str, value: &str) -> Result<(Permission, BTreeSet<String>), SettingsError> {
    const PREFIX: &str = "SECURITYACCESSAUTHORIZATIONS";
    let rest = &vars::relaxed(name)[PREFIX.len()..];
    let shape = "expected SECURITY_ACCESSAUTHORIZATIONS_<AUTHORITY>_SCOPES_<SCOPE>_ROLESALLOWED";
    let Some((authority, rest)) = rest.split_once("SCOPES") else {
        return Err(SettingsError::new(name, shape));
    };
    let Some(scope) = rest.strip_suffix("ROLESALLOWED") else {
        return Err(SettingsError::new(name, shape));
    };
    let authority = Authority::ALL
        .into_iter()
        .find(|candidate| candidate.setting_name() == authority)
        .ok_or_else(|| {
            let known: Vec<&str> =
                Authority::ALL.iter().map(|candidate| candidate.setting_name()).collect();
            SettingsError::new(
                name,
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
                name,
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
            name,
            "names no role; give a comma-separated list of role names",
        ));
    }
    Ok((Permission::new(authority, scope), roles))
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
        let err = Settings::from_vars(&vars(&[("SERVER_PORT", "eighty")])).unwrap_err().only();
        assert_eq!(err.variable, "SERVER_PORT");
        assert!(err.problem.contains("eighty"), "{err}");
        assert_eq!(
            Settings::from_vars(&vars(&[("MANAGEMENT_SERVER_PORT", "70000")]))
                .unwrap_err()
                .only()
                .variable,
            "MANAGEMENT_SERVER_PORT"
        );
    }

    #[test]
    fn an_unknown_role_is_refused() {
        let err = Settings::from_vars(&vars(&[("SPRING_APPLICATION_NAME", "process-engine")]))
            .unwrap_err()
            .only();
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
        .unwrap_err()
        .only();
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
            Settings::from_vars(&vars(&[("LOGGING_LEVEL_ROOT", "LOUD")]))
                .unwrap_err()
                .only()
                .variable,
            "LOGGING_LEVEL_ROOT"
        );
    }

    #[test]
    fn the_token_cache_keeps_tokens_a_minute_and_zero_turns_it_off() {
        let seconds = |raw: &str| {
            Settings::from_vars(&vars(&[("RTM_TOKEN_CACHE_SECONDS", raw)])).map(|s| s.token_cache)
        };
        assert_eq!(Settings::from_vars(&vars(&[])).unwrap().token_cache, Duration::from_secs(60));
        assert_eq!(seconds("300").unwrap(), Duration::from_secs(300));
        assert_eq!(seconds("0").unwrap(), Duration::ZERO);
        for invalid in ["-1", "1.5", "soon"] {
            let err = seconds(invalid).unwrap_err().only();
            assert_eq!(err.variable, "RTM_TOKEN_CACHE_SECONDS");
            assert!(err.problem.contains(invalid), "{err}");
        }
    }

    #[test]
    fn import_limits_are_configurable_and_must_be_positive() {
        let settings = Settings::from_vars(&vars(&[("RTM_IMPORT_MAX_ENTRIES", "10")])).unwrap();
        assert_eq!(settings.archive_limits.max_entries, 10);
        assert_eq!(
            Settings::from_vars(&vars(&[("RTM_IMPORT_MAX_ENTRIES", "0")]))
                .unwrap_err()
                .only()
                .variable,
            "RTM_IMPORT_MAX_ENTRIES"
        );
        assert_eq!(
            Settings::from_vars(&vars(&[("RTM_IMPORT_MAX_COMPRESSION_RATIO", "-1")]))
                .unwrap_err()
                .only()
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
        .unwrap_err()
        .only();
        assert!(err.problem.contains("WRITE"), "{err}");
        let err = Settings::from_vars(&vars(&[(
            "SECURITY_ACCESSAUTHORIZATIONS_MANAGEFOO_SCOPES_READ_ROLESALLOWED",
            "X",
        )]))
        .unwrap_err()
        .only();
        assert!(err.problem.contains("MANAGEFOO"), "{err}");
    }

    #[test]
    fn every_invalid_variable_is_reported_in_one_reading() {
        let err = Settings::from_vars(&vars(&[
            ("SERVER_PORT", "eighty"),
            ("MANAGEMENT_SERVER_PORT", "0"),
            ("SPRING_APPLICATION_NAME", "process-engine"),
            ("RTM_IMPORT_MAX_ENTRIES", "-1"),
            ("RTM_IMPORT_MAX_INFLATED_BYTES", "lots"),
            ("RTM_CORS_ALLOWED_ORIGINS", "https://ok.example.com,*"),
            ("RTM_PROCESS_ENGINE_URL", "engine:8080"),
            ("SECURITY_ACCESSAUTHORIZATIONS_MANAGEFOO_SCOPES_READ_ROLESALLOWED", "X"),
            ("SECURITY_ACCESSAUTHORIZATIONS_MANAGEBUILDS_SCOPES_WRITE_ROLESALLOWED", "X"),
            ("RTM_LOG_FORMAT", "xml"),
            ("RTM_SHUTDOWN_TIMEOUT_SECONDS", "never"),
        ]))
        .unwrap_err();
        let mut named = err.variables();
        named.sort_unstable();
        assert_eq!(
            named,
            [
                "MANAGEMENT_SERVER_PORT",
                "RTM_CORS_ALLOWED_ORIGINS",
                "RTM_IMPORT_MAX_ENTRIES",
                "RTM_IMPORT_MAX_INFLATED_BYTES",
                "RTM_LOG_FORMAT",
                "RTM_PROCESS_ENGINE_URL",
                "RTM_SHUTDOWN_TIMEOUT_SECONDS",
                "SECURITY_ACCESSAUTHORIZATIONS_MANAGEBUILDS_SCOPES_WRITE_ROLESALLOWED",
                "SECURITY_ACCESSAUTHORIZATIONS_MANAGEFOO_SCOPES_READ_ROLESALLOWED",
                "SERVER_PORT",
                "SPRING_APPLICATION_NAME",
            ]
        );
        let message = err.to_string();
        assert_eq!(message.lines().count(), 11, "one line per problem:\n{message}");
        for line in message.lines() {
            assert!(line.contains(": "), "each line names its variable: {line}");
        }
    }

    #[test]
    fn independent_variables_of_one_backend_are_reported_together() {
        let err = Settings::from_vars(&vars(&[
            ("SPRING_DATASOURCE_URL", "jdbc:postgresql://db:5432/rtm?sslmode=sometimes"),
            ("RTM_DATASOURCE_MAX_POOL_SIZE", "many"),
            ("SPRING_DATA_MONGODB_URI", "mongodb://mongo:27017/app-runtime"),
            ("SPRING_KAFKA_BOOTSTRAP_SERVERS", "kafka"),
            ("SPRING_KAFKA_SECURITY_PROTOCOL", "CARRIER_PIGEON"),
            ("KAFKA_TOPIC_BUILD_CREATE", "no spaces allowed"),
            ("APPLICATION_FILE_STORAGE_S3_SERVER_URL", "http://minio:9000"),
            ("APPLICATION_FILE_STORAGE_S3_ACCESS_KEY", "a"),
            ("APPLICATION_FILE_STORAGE_S3_SECRET_KEY", "b"),
            ("SECURITY_OAUTH2_BASE_SERVER_URL", "https://idp"),
            ("SECURITY_OAUTH2_REALM", "flowx"),
            ("SPRING_REDIS_HOST", "redis"),
            ("SPRING_REDIS_PORT", "0"),
            ("SPRING_REDIS_TTL", "-5"),
            ("RTM_REDIS_SSL_CA_FILE", "/etc/ssl/redis-ca.pem"),
        ]))
        .unwrap_err();
        let mut named = err.variables();
        named.sort_unstable();
        assert_eq!(
            named,
            [
                "KAFKA_TOPIC_BUILD_CREATE",
                "RTM_DATASOURCE_MAX_POOL_SIZE",
                "RTM_REDIS_SSL_CA_FILE",
                "SPRING_DATASOURCE_URL",
                "SPRING_KAFKA_BOOTSTRAP_SERVERS",
                "SPRING_KAFKA_SECURITY_PROTOCOL",
                "SPRING_REDIS_PORT",
                "SPRING_REDIS_TTL",
            ],
            "{err}"
        );
    }

    #[test]
    fn the_backends_report_their_problems_together_with_the_others() {
        let err = Settings::from_vars(&vars(&[
            ("SPRING_DATASOURCE_URL", "jdbc:mysql://db/x"),
            ("SPRING_DATA_MONGODB_URI", "mongo://db"),
            ("SPRING_KAFKA_BOOTSTRAP_SERVERS", "kafka"),
            ("APPLICATION_FILE_STORAGE_S3_SERVER_URL", "minio:9000"),
            ("APPLICATION_FILE_STORAGE_S3_ACCESS_KEY", "a"),
            ("APPLICATION_FILE_STORAGE_S3_SECRET_KEY", "b"),
            ("SECURITY_OAUTH2_BASE_SERVER_URL", "https://idp"),
            ("SECURITY_OAUTH2_REALM", "a/b"),
            ("RTM_JWKS_REFRESH_SECONDS", "0"),
            ("RTM_MIGRATE_ON_START", "maybe"),
            ("SERVER_PORT", "http"),
        ]))
        .unwrap_err();
        let mut named = err.variables();
        named.sort_unstable();
        assert_eq!(
            named,
            [
                "APPLICATION_FILE_STORAGE_S3_SERVER_URL",
                "RTM_JWKS_REFRESH_SECONDS",
                "RTM_MIGRATE_ON_START",
                "SECURITY_OAUTH2_REALM",
                "SERVER_PORT",
                "SPRING_DATASOURCE_URL",
                "SPRING_DATA_MONGODB_URI",
                "SPRING_KAFKA_BOOTSTRAP_SERVERS",
            ]
        );
    }

    #[test]
    fn unread_rtm_variables_are_named_and_read_ones_are_not() {
        let settings = Settings::from_vars(&vars(&[
            ("RTM_DATA_DIR", "/tmp/x"),
            ("RTM_IMPORT_MAX_ENTRYS", "10"),
            ("RTM_CORS_ALLOWED_ORIGINS", "https://designer.example.com"),
            ("SPRING_UNRELATED", "1"),
        ]))
        .unwrap();
        assert_eq!(settings.unread, ["RTM_IMPORT_MAX_ENTRYS"]);
        assert_eq!(settings.cors.origins(), ["https://designer.example.com"]);
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
