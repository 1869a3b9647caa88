//! The real backends, configured with the original platform's variables: PostgreSQL (a JDBC
//! URL with separate credentials), MongoDB, Kafka (optionally SASL OAUTHBEARER), S3, the
//! OAuth2 realm, and the optional Redis.

use std::time::Duration;

use adapter_engine::EngineConfig;
use adapter_kafka::{KafkaConfig, KafkaSecurity, OAuthBearer, Topic, TopicNames, TopicNaming};
use adapter_mongo::MongoConfig;
use adapter_postgres::PgConfig;
use adapter_redis::RedisConfig;
use adapter_s3::S3Config;
use secrecy::SecretString;

use crate::settings::vars::Vars;
use crate::settings::{SettingsError, number};
use crate::settings::{kafka_tls, tls};

/// The OAuth2 realm whose tokens the APIs accept.
#[derive(Debug, Clone)]
pub(crate) struct OAuthSettings {
    /// The realm's issuer: `<SECURITY_OAUTH2_BASE_SERVER_URL>/realms/<SECURITY_OAUTH2_REALM>`.
    pub(crate) issuer: String,
    /// Required audience, when configured (`RTM_OAUTH2_AUDIENCE`).
    pub(crate) audience: Option<String>,
    /// How often the realm's signing keys are refetched (`RTM_JWKS_REFRESH_SECONDS`): a key
    /// the realm removed is trusted at most this long after.
    pub(crate) jwks_refresh: Duration,
}

/// Every real backend, as its adapter's configuration.
#[derive(Debug, Clone)]
pub(crate) struct RealBackends {
    pub(crate) postgres: PgConfig,
    pub(crate) mongo: MongoConfig,
    pub(crate) kafka: KafkaConfig,
    pub(crate) s3: S3Config,
    pub(crate) oauth: OAuthSettings,
    pub(crate) redis: Option<RedisConfig>,
    /// Migrate the database at start (under an advisory lock); off for a Helm hook job.
    pub(crate) migrate_on_start: bool,
    /// How long a start-by-name request whose start cannot be made yet (engine
    /// unreachable) is attempted again before it is answered with the error
    /// (`RTM_START_BY_NAME_RETRY_SECONDS`).
    pub(crate) start_by_name_retry: Duration,
}

/// The variable that says a backend is configured, and the backend's name.
const REQUIRED: [(&str, &str); 5] = [
    ("SPRING_DATASOURCE_URL", "PostgreSQL"),
    ("SPRING_DATA_MONGODB_URI", "MongoDB"),
    ("SPRING_KAFKA_BOOTSTRAP_SERVERS", "Kafka"),
    ("APPLICATION_FILE_STORAGE_S3_SERVER_URL", "S3"),
    ("SECURITY_OAUTH2_BASE_SERVER_URL", "the OAuth2 server"),
];

/// `Some(None)` when no backend variable is set (embedded mode); `Some(Some(backends))`
/// when all required ones are; `None` when a problem was recorded in `vars` (see
/// [`Vars::check`]): some backends configured and others not (naming what is missing), or
/// invalid values, each backend's reported on its own.
pub(crate) fn read(vars: &Vars) -> Option<Option<RealBackends>> {
    let mut set = Vec::new();
    let mut missing = Vec::new();
    for (name, backend) in REQUIRED {
        if vars.check(vars.get(name))?.is_some() {
            set.push(name)
        } else {
            missing.push(format!("{name} ({backend})"))
        }
    }
    if set.is_empty() {
        return Some(None);
    }
    if !missing.is_empty() {
        // One message for the whole shape; the missing variables' own readers would only
        // repeat it.
        vars.check::<()>(Err(SettingsError::new(
            set[0],
            format!(
                "real backends are configured ({}) but not all of them: missing {}; set them, or unset every backend \
                 variable to run in embedded mode (Redis alone is optional)",
                set.join(", "),
                missing.join(", ")
            ),
        )));
        return None;
    }
    // Each backend is read even when another failed, so that one start names every problem.
    let postgres = vars.check(postgres(vars));
    let mongo = vars.check(mongo(vars));
    let kafka = vars.check(kafka(vars));
    let s3 = vars.check(s3(vars));
    let oauth = oauth(vars);
    let redis = vars.check(redis(vars));
    let migrate_on_start = vars.check(boolean(vars, "RTM_MIGRATE_ON_START", true));
    let start_by_name_retry = vars.check(number(
        vars,
        "RTM_START_BY_NAME_RETRY_SECONDS",
        domain::runtime::DEFAULT_RETRY_BOUND.as_secs(),
    ));
    Some(Some(RealBackends {
        postgres: postgres?,
        mongo: mongo?,
        kafka: kafka?,
        s3: s3?,
        oauth: oauth?,
        redis: redis?,
        migrate_on_start: migrate_on_start?,
        start_by_name_retry: Duration::from_secs(start_by_name_retry?),
    }))
}

fn required(vars: &Vars, name: &str) -> Result<String, SettingsError> {
    vars.get(name)?.ok_or_else(|| SettingsError::new(name, "is required with real backends"))
}

fn boolean(vars: &Vars, name: &str, default: bool) -> Result<bool, SettingsError> {
    match vars.get(name)?.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(SettingsError::new(name, format!("`{other}` is not true or false"))),
    }
}

fn percent_encode(raw: &str) -> String {
    raw.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// `jdbc:postgresql://host[:port][,host2…]/db[?params]` + user and password → a libpq URL.
/// Known JDBC parameters are translated (`currentSchema`, `ApplicationName`,
/// `connectTimeout`, and the TLS ones: see `tls::postgres`); others are dropped, since the
/// JDBC driver's options mean nothing here.
fn postgres(vars: &Vars) -> Result<PgConfig, SettingsError> {
    // The pool size is independent of the connection settings: both are read, so that one
    // start names every problem.
    let (mut config, max_pool_size) = vars.both(
        postgres_connection(vars),
        number(vars, "RTM_DATASOURCE_MAX_POOL_SIZE", PgConfig::DEFAULT_MAX_POOL_SIZE),
    )?;
    config.max_pool_size = max_pool_size;
    Ok(config)
}

/// The JDBC URL (with its TLS parameters) and the credentials.
fn postgres_connection(vars: &Vars) -> Result<PgConfig, SettingsError> {
    const NAME: &str = "SPRING_DATASOURCE_URL";
    let jdbc = required(vars, NAME)?;
    let rest = jdbc
        .strip_prefix("jdbc:postgresql://")
        .or_else(|| jdbc.strip_prefix("postgres://"))
        .or_else(|| jdbc.strip_prefix("postgresql://"))
        .ok_or_else(|| {
            SettingsError::new(NAME, "must be a jdbc:postgresql://host:port/database URL")
        })?;
    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (hosts, database) = location
        .split_once('/')
        .filter(|(hosts, database)| !hosts.is_empty() && !database.is_empty())
        .ok_or_else(|| {
            SettingsError::new(
                NAME,
                "must name a host and a database: jdbc:postgresql://host:5432/database",
            )
        })?;
    if hosts.contains('@') {
        return Err(SettingsError::new(
            NAME,
            "must not carry credentials; use SPRING_DATASOURCE_USERNAME and _PASSWORD",
        ));
    }
    let mut schema = None;
    let mut params = Vec::new();
    let mut tls_params = tls::PgParams::default();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "currentSchema" => schema = Some(value.to_owned()),
            key if tls::PgParams::KEYS.contains(&key) => tls_params.set(key, value),
            "ApplicationName" | "applicationName" => {
                params.push(format!("application_name={value}"))
            }
            "connectTimeout" => params.push(format!("connect_timeout={value}")),
            _ => {}
        }
    }
    let username = vars.get("SPRING_DATASOURCE_USERNAME")?;
    let password = vars.get("SPRING_DATASOURCE_PASSWORD")?;
    let credentials = match (&username, &password) {
        (Some(user), Some(password)) => {
            format!("{}:{}@", percent_encode(user), percent_encode(password))
        }
        (Some(user), None) => format!("{}@", percent_encode(user)),
        (None, Some(_)) => {
            return Err(SettingsError::new(
                "SPRING_DATASOURCE_PASSWORD",
                "is set without SPRING_DATASOURCE_USERNAME",
            ));
        }
        (None, None) => String::new(),
    };
    let query = if params.is_empty() { String::new() } else { format!("?{}", params.join("&")) };
    let mut config = PgConfig::new(SecretString::from(format!(
        "postgres://{credentials}{hosts}/{database}{query}"
    )));
    config.schema = schema;
    config.tls = tls::postgres(NAME, &tls_params)?;
    Ok(config)
}

fn mongo(vars: &Vars) -> Result<MongoConfig, SettingsError> {
    const NAME: &str = "SPRING_DATA_MONGODB_URI";
    let uri = required(vars, NAME)?;
    let rest = uri
        .strip_prefix("mongodb://")
        .or_else(|| uri.strip_prefix("mongodb+srv://"))
        .ok_or_else(|| SettingsError::new(NAME, "must start with mongodb:// or mongodb+srv://"))?;
    let path = rest
        .split_once('/')
        .map(|(_, path)| path.split('?').next().unwrap_or_default())
        .unwrap_or_default();
    let database = if path.is_empty() {
        vars.get("DB_NAME")?.unwrap_or_else(|| "app-runtime".to_owned())
    } else {
        path.to_owned()
    };
    tls::mongo(NAME, &uri)?;
    let mut config = MongoConfig::new(SecretString::from(uri));
    config.database = database;
    Ok(config)
}

fn kafka(vars: &Vars) -> Result<KafkaConfig, SettingsError> {
    // Three independent parts, each read even when another failed (one start names every
    // problem): the brokers, the security settings, the topic names.
    let bootstrap_servers = (|| -> Result<String, SettingsError> {
        const NAME: &str = "SPRING_KAFKA_BOOTSTRAP_SERVERS";
        let bootstrap_servers = required(vars, NAME)?;
        for server in bootstrap_servers.split(',') {
            let valid = server
                .trim()
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !valid {
                return Err(SettingsError::new(NAME, format!("`{server}` is not host:port")));
            }
        }
        Ok(bootstrap_servers)
    })();
    let security = (|| -> Result<KafkaSecurity, SettingsError> {
        let profiles = vars.get("CONFIG_PROFILE")?.unwrap_or_default();
        let protocol = kafka_tls::protocol(vars)?;
        let token_endpoint = vars.get("KAFKA_OAUTH_TOKEN_ENDPOINT_URI")?;
        let wants_oauth = profiles.split(',').any(|profile| profile.trim() == "kafka-auth")
            || protocol.is_some_and(kafka_tls::Protocol::is_sasl)
            || token_endpoint.is_some();
        let oauth = if wants_oauth {
            let token_endpoint = token_endpoint.ok_or_else(|| {
                SettingsError::new(
                    "KAFKA_OAUTH_TOKEN_ENDPOINT_URI",
                    "is required for Kafka SASL OAUTHBEARER",
                )
            })?;
            if !token_endpoint.starts_with("http://") && !token_endpoint.starts_with("https://") {
                return Err(SettingsError::new(
                    "KAFKA_OAUTH_TOKEN_ENDPOINT_URI",
                    "must be an http(s) URL",
                ));
            }
            Some(OAuthBearer {
                token_endpoint,
                client_id: vars.get("KAFKA_OAUTH_CLIENT_ID")?.unwrap_or_else(|| "kafka".to_owned()),
                client_secret: SecretString::from(
                    vars.get("KAFKA_OAUTH_CLIENT_SECRET")?.ok_or_else(|| {
                        SettingsError::new(
                            "KAFKA_OAUTH_CLIENT_SECRET",
                            "is required for Kafka SASL OAUTHBEARER",
                        )
                    })?,
                ),
            })
        } else {
            None
        };
        let security = kafka_tls::security(vars, protocol, oauth)?;
        Ok(security)
    })();
    let topics = (|| -> Result<TopicNames, SettingsError> {
        let naming = TopicNaming {
            package: vars
                .get(TopicNaming::PACKAGE_VARIABLE)?
                .unwrap_or_else(|| TopicNaming::default().package),
            environment: vars.get(TopicNaming::ENVIRONMENT_VARIABLE)?.unwrap_or_default(),
            version: vars
                .get(TopicNaming::VERSION_VARIABLE)?
                .unwrap_or_else(|| TopicNaming::default().version),
        };
        let mut overrides = Vec::new();
        for topic in Topic::ALL {
            if let Some(name) = vars.get(topic.override_variable())? {
                overrides.push((topic, name));
            }
        }
        let topics = TopicNames::new(&naming, overrides).map_err(|err| {
            SettingsError::new(
                err.variable,
                format!("`{}` is not a usable topic name: {}", err.value, err.reason),
            )
        })?;
        Ok(topics)
    })();
    let (bootstrap_servers, (security, topics)) =
        vars.both(bootstrap_servers, vars.both(security, topics))?;
    let mut config = KafkaConfig::new(bootstrap_servers);
    config.security = security;
    config.topics = topics;
    config.organization_id = vars.get("ORGANIZATION_ID")?;
    if let Some(group_id) = vars.get("KAFKA_CONSUMER_GROUPID_PROCESS_START")? {
        config.process_start_group_id = group_id;
    }
    Ok(config)
}

fn http_url(vars: &Vars, name: &str) -> Result<String, SettingsError> {
    let url = required(vars, name)?;
    if !url.starts_with("http://") && !url.starts_with("https://") {
        return Err(SettingsError::new(name, format!("`{url}` is not an http(s) URL")));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn s3(vars: &Vars) -> Result<S3Config, SettingsError> {
    let (server_url, (access_key, secret_key)) = vars.both(
        http_url(vars, "APPLICATION_FILE_STORAGE_S3_SERVER_URL"),
        vars.both(
            required(vars, "APPLICATION_FILE_STORAGE_S3_ACCESS_KEY"),
            required(vars, "APPLICATION_FILE_STORAGE_S3_SECRET_KEY"),
        ),
    )?;
    let mut config =
        S3Config::new(server_url, SecretString::from(access_key), SecretString::from(secret_key));
    config.tls_root_certs_pem =
        tls::s3(vars, "APPLICATION_FILE_STORAGE_S3_SERVER_URL", &config.server_url)?;
    if let Some(bucket) = vars.get("APPLICATION_FILE_STORAGE_S3_BUCKET_PREFIX")? {
        config.bucket = bucket;
    }
    Ok(config)
}

/// The realm, each variable checked on its own.
fn oauth(vars: &Vars) -> Option<OAuthSettings> {
    let base_server_url = vars.check(http_url(vars, "SECURITY_OAUTH2_BASE_SERVER_URL"));
    let realm = vars.check(required(vars, "SECURITY_OAUTH2_REALM").and_then(|realm| {
        if realm.contains('/') {
            Err(SettingsError::new("SECURITY_OAUTH2_REALM", "is a realm name, not a path"))
        } else {
            Ok(realm)
        }
    }));
    let audience = vars.check(vars.get("RTM_OAUTH2_AUDIENCE"));
    let jwks_refresh = vars.check(number(vars, "RTM_JWKS_REFRESH_SECONDS", 300));
    Some(OAuthSettings {
        issuer: format!("{}/realms/{}", base_server_url?, realm?),
        audience: audience?,
        jwks_refresh: Duration::from_secs(jwks_refresh?),
    })
}

fn redis(vars: &Vars) -> Result<Option<RedisConfig>, SettingsError> {
    let Some((_, host)) = vars.get_any(&["SPRING_DATA_REDIS_HOST", "SPRING_REDIS_HOST"])? else {
        return Ok(None);
    };
    // The port, the TTL and the TLS settings are independent: each is read even when
    // another failed, so that one start names every problem.
    let port = (|| match vars.get_any(&["SPRING_DATA_REDIS_PORT", "SPRING_REDIS_PORT"])? {
        None => Ok(6379),
        Some((name, raw)) => raw.parse::<u16>().ok().filter(|port| *port > 0).ok_or_else(|| {
            SettingsError::new(&name, format!("`{raw}` is not a port number (1-65535)"))
        }),
    })();
    let password = vars
        .get_any(&["SPRING_DATA_REDIS_PASSWORD", "SPRING_REDIS_PASSWORD"])?
        .map(|(_, password)| password);
    let credentials =
        password.map(|password| format!(":{}@", percent_encode(&password))).unwrap_or_default();
    let ttl_ms = (|| match vars.get_any(&["SPRING_DATA_REDIS_TTL", "SPRING_REDIS_TTL"])? {
        None => Ok(5_000_000),
        Some((name, raw)) => raw.parse::<u64>().ok().filter(|ttl| *ttl > 0).ok_or_else(|| {
            SettingsError::new(&name, format!("`{raw}` is not a positive number of milliseconds"))
        }),
    })();
    let (port, (ttl_ms, tls)) = vars.both(port, vars.both(ttl_ms, tls::redis(vars)))?;
    let scheme = if tls.enabled { "rediss" } else { "redis" };
    let mut config =
        RedisConfig::new(SecretString::from(format!("{scheme}://{credentials}{host}:{port}")));
    config.tls_root_certs_pem = tls.root_certs_pem;
    config.ttl = Duration::from_millis(ttl_ms);
    if let Some(prefix) = vars.get("RTM_REDIS_KEY_PREFIX")? {
        config.key_prefix = prefix;
    }
    Ok(Some(config))
}

/// The process engine that process starts are forwarded to (`RTM_PROCESS_ENGINE_URL`);
/// `None` when it is unset, in either mode: starts are then refused with 503
/// `process_engine_not_configured`.
///
/// # Errors
///
/// When the URL is not an http(s) URL, or the timeout is not a positive number of seconds.
pub(crate) fn process_engine(vars: &Vars) -> Result<Option<EngineConfig>, SettingsError> {
    const URL: &str = "RTM_PROCESS_ENGINE_URL";
    const TIMEOUT: &str = "RTM_PROCESS_ENGINE_TIMEOUT_SECONDS";
    let timeout_seconds = number(vars, TIMEOUT, EngineConfig::DEFAULT_TIMEOUT.as_secs())?;
    let Some(url) = vars.get(URL)? else {
        return Ok(None);
    };
    let mut config =
        EngineConfig::new(&url).map_err(|err| SettingsError::new(URL, err.to_string()))?;
    config.timeout = Duration::from_secs(timeout_seconds);
    Ok(Some(config))
}

#[cfg(test)]
mod tests {
    use adapter_kafka::KafkaSecurity;
    use secrecy::ExposeSecret as _;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        Vars::new(
            &pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect(),
        )
    }

    /// The backends, or every problem recorded while reading them.
    fn read(vars: &Vars) -> Result<Option<RealBackends>, crate::settings::SettingsErrors> {
        let backends = super::read(vars);
        vars.finish(backends)
    }

    fn full() -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "SPRING_DATASOURCE_URL",
                "jdbc:postgresql://postgresql:5432/app_manager?currentSchema=rtm&sslmode=disable&loggerLevel=OFF",
            ),
            ("SPRING_DATASOURCE_USERNAME", "flowx"),
            ("SPRING_DATASOURCE_PASSWORD", "p@ss:word"),
            (
                "SPRING_DATA_MONGODB_URI",
                "mongodb://${DB_USERNAME}:${DB_PASSWORD}@mongodb-0:27017/${DB_NAME}?retryWrites=false",
            ),
            ("DB_USERNAME", "app-runtime"),
            ("DB_PASSWORD", "m0ngo"),
            ("DB_NAME", "app-runtime"),
            ("SPRING_KAFKA_BOOTSTRAPSERVERS", "kafka-0:9092,kafka-1:9092"),
            ("KAFKA_TOPIC_NAMING_ENVIRONMENT", "dev."),
            ("APPLICATION_FILESTORAGE_S3_SERVERURL", "http://minio:9000/"),
            ("APPLICATION_FILE_STORAGE_S3_ACCESS_KEY", "minio"),
            ("APPLICATION_FILE_STORAGE_S3_SECRET_KEY", "minio-secret"),
            ("SECURITY_OAUTH2_BASE_SERVER_URL", "https://idp.example.com/auth"),
            ("SECURITY_OAUTH2_REALM", "flowx"),
        ]
    }

    #[test]
    fn the_original_variables_configure_every_backend() {
        let backends = read(&vars(&full())).unwrap().expect("real backends");
        assert_eq!(
            backends.postgres.url.expose_secret(),
            "postgres://flowx:p%40ss%3Aword@postgresql:5432/app_manager"
        );
        assert_eq!(backends.postgres.schema.as_deref(), Some("rtm"));
        assert_eq!(
            backends.mongo.uri.expose_secret(),
            "mongodb://app-runtime:m0ngo@mongodb-0:27017/app-runtime?retryWrites=false"
        );
        assert_eq!(backends.mongo.database, "app-runtime");
        assert_eq!(backends.kafka.bootstrap_servers, "kafka-0:9092,kafka-1:9092");
        assert_eq!(
            backends.kafka.topics.get(Topic::Audit),
            "ai.flowx.dev.core.trigger.save.audit.v1"
        );
        assert!(matches!(backends.kafka.security, KafkaSecurity::Plaintext));
        assert_eq!(backends.s3.server_url, "http://minio:9000");
        assert_eq!(
            backends.kafka.topics.get(Topic::ActivePolicyUpdated),
            "ai.flowx.dev.runtime.active-policy.updated.v1"
        );
        assert_eq!(backends.s3.bucket, "applications-bucket");
        assert_eq!(backends.oauth.issuer, "https://idp.example.com/auth/realms/flowx");
        assert_eq!(backends.oauth.jwks_refresh, Duration::from_secs(300));
        assert!(backends.redis.is_none(), "Redis is optional");
        assert!(backends.migrate_on_start);
        assert_eq!(
            backends.kafka.topics.get(Topic::StartByNameIn),
            "ai.flowx.dev.core.trigger.start-by-name.process.v1"
        );
        assert_eq!(
            backends.kafka.topics.get(Topic::StartByNameOut),
            "ai.flowx.dev.core.trigger.start-by-name.process.out.v1"
        );
        assert_eq!(backends.kafka.process_start_group_id, "processStartGroup");
        assert_eq!(backends.start_by_name_retry, Duration::from_secs(60));
    }

    #[test]
    fn start_by_name_takes_its_topics_group_and_retry_bound_from_the_original_variables() {
        let mut pairs = full();
        pairs.extend([
            ("KAFKA_TOPIC_PROCESS_STARTBYNAME_IN", "starts-in"),
            ("KAFKA_TOPIC_PROCESS_STARTBYNAME_OUT", "starts-out"),
            ("KAFKA_CONSUMER_GROUPID_PROCESS_START", "rtmStarts"),
            ("RTM_START_BY_NAME_RETRY_SECONDS", "5"),
        ]);
        let backends = read(&vars(&pairs)).unwrap().expect("real backends");
        assert_eq!(backends.kafka.topics.get(Topic::StartByNameIn), "starts-in");
        assert_eq!(backends.kafka.topics.get(Topic::StartByNameOut), "starts-out");
        assert_eq!(backends.kafka.process_start_group_id, "rtmStarts");
        assert_eq!(backends.start_by_name_retry, Duration::from_secs(5));
        pairs.push(("RTM_START_BY_NAME_RETRY_SECONDS", "0"));
        let err = read(&vars(&pairs)).unwrap_err().to_string();
        assert!(err.starts_with("RTM_START_BY_NAME_RETRY_SECONDS"), "{err}");
    }

    #[test]
    fn no_backend_variable_means_embedded() {
        assert!(read(&vars(&[])).unwrap().is_none());
    }

    #[test]
    fn a_partial_configuration_names_what_is_missing() {
        let partial: Vec<_> = full()
            .into_iter()
            .filter(|(name, _)| !name.starts_with("SPRING_DATA_MONGODB"))
            .collect();
        let err = read(&vars(&partial)).unwrap_err().to_string();
        assert!(err.contains("SPRING_DATA_MONGODB_URI (MongoDB)"), "{err}");
    }

    #[test]
    fn invalid_values_name_their_variable() {
        let cases = [
            ("SPRING_DATASOURCE_URL", "jdbc:mysql://db:3306/x"),
            ("SPRING_DATASOURCE_URL", "jdbc:postgresql://user:pw@db:5432/x"),
            ("SPRING_DATASOURCE_URL", "jdbc:postgresql://db:5432/x?sslmode=verify-full"),
            ("SPRING_DATA_MONGODB_URI", "mongo://db"),
            ("SPRING_KAFKA_BOOTSTRAP_SERVERS", "kafka"),
            ("SECURITY_OAUTH2_BASE_SERVER_URL", "idp.example.com"),
            ("SECURITY_OAUTH2_REALM", "a/b"),
        ];
        for (name, value) in cases {
            let mut pairs: Vec<_> = full()
                .into_iter()
                .filter(|(other, _)| {
                    crate::settings::vars::relaxed(other) != crate::settings::vars::relaxed(name)
                })
                .collect();
            pairs.push((name, value));
            let err = read(&vars(&pairs)).unwrap_err();
            assert!(err.to_string().starts_with(name), "{name}={value}: {err}");
        }
    }

    #[test]
    fn the_s3_variables_are_reported_together() {
        let pairs: Vec<_> = full()
            .into_iter()
            .filter(|(name, _)| !name.contains("S3_ACCESS_KEY") && !name.contains("S3_SECRET_KEY"))
            .filter(|(name, _)| !name.contains("S3_SERVERURL"))
            .chain([("APPLICATION_FILE_STORAGE_S3_SERVER_URL", "minio:9000")])
            .collect();
        let err = read(&vars(&pairs)).unwrap_err();
        assert_eq!(
            err.variables(),
            [
                "APPLICATION_FILE_STORAGE_S3_ACCESS_KEY",
                "APPLICATION_FILE_STORAGE_S3_SERVER_URL",
                "APPLICATION_FILE_STORAGE_S3_SECRET_KEY",
            ],
            "{err}"
        );
    }

    #[test]
    fn the_signing_keys_refresh_period_is_configurable_and_must_be_positive() {
        let mut pairs = full();
        pairs.push(("RTM_JWKS_REFRESH_SECONDS", "60"));
        assert_eq!(
            read(&vars(&pairs)).unwrap().unwrap().oauth.jwks_refresh,
            Duration::from_secs(60)
        );
        for invalid in ["0", "-5", "5m"] {
            pairs.pop();
            pairs.push(("RTM_JWKS_REFRESH_SECONDS", invalid));
            let err = read(&vars(&pairs)).unwrap_err().to_string();
            assert!(err.starts_with("RTM_JWKS_REFRESH_SECONDS"), "{invalid}: {err}");
        }
    }

    #[test]
    fn redis_takes_either_prefix_and_its_ttl() {
        let mut pairs = full();
        pairs.extend([
            ("SPRING_DATA_REDIS_HOST", "redis-master"),
            ("SPRING_REDIS_PASSWORD", "r p"),
            ("SPRING_REDIS_TTL", "60000"),
        ]);
        let redis = read(&vars(&pairs)).unwrap().unwrap().redis.unwrap();
        assert_eq!(redis.url.expose_secret(), "redis://:r%20p@redis-master:6379");
        assert_eq!(redis.ttl, Duration::from_secs(60));
        pairs.push(("SPRING_REDIS_PORT", "sixty"));
        assert!(read(&vars(&pairs)).unwrap_err().to_string().starts_with("SPRING_REDIS_PORT"));
    }

    #[test]
    fn the_kafka_auth_profile_needs_the_oauth_client() {
        let mut pairs = full();
        pairs.push(("CONFIG_PROFILE", "k8stemplate_v2,kafka-auth"));
        let err = read(&vars(&pairs)).unwrap_err().to_string();
        assert!(err.starts_with("KAFKA_OAUTH_TOKEN_ENDPOINT_URI"), "{err}");
        pairs.extend([
            (
                "KAFKA_OAUTH_TOKEN_ENDPOINT_URI",
                "https://idp/auth/realms/kafka-authz/protocol/openid-connect/token",
            ),
            ("KAFKA_OAUTH_CLIENTID", "flowx-service-client"),
            ("KAFKA_OAUTH_CLIENT_SECRET", "k"),
        ]);
        let backends = read(&vars(&pairs)).unwrap().unwrap();
        match backends.kafka.security {
            KafkaSecurity::SaslPlaintext(oauth) => {
                assert_eq!(oauth.client_id, "flowx-service-client")
            }
            other => panic!("kafka-auth means OAUTHBEARER over SASL_PLAINTEXT: {other:?}"),
        }
    }

    #[test]
    fn kafka_over_tls_really_uses_tls_and_an_unknown_protocol_is_refused() {
        for (protocol, expected) in [("SASL_SSL", "SASL_SSL"), ("SSL", "SASL_SSL")] {
            let mut pairs = full();
            pairs.extend([
                ("SPRING_KAFKA_SECURITY_PROTOCOL", protocol),
                ("KAFKA_OAUTH_TOKEN_ENDPOINT_URI", "https://idp/token"),
                ("KAFKA_OAUTH_CLIENT_SECRET", "k"),
            ]);
            let kafka = read(&vars(&pairs)).unwrap().unwrap().kafka;
            assert_eq!(kafka.security.protocol(), expected, "{protocol}");
            assert!(kafka.security.tls().is_some(), "{protocol}");
        }
        let mut pairs = full();
        pairs.push(("SPRING_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"));
        let err = read(&vars(&pairs)).unwrap_err().to_string();
        assert!(err.starts_with("KAFKA_OAUTH_TOKEN_ENDPOINT_URI"), "{err}");
        pairs.pop();
        pairs.push(("SPRING_KAFKA_SECURITY_PROTOCOL", "SSL_PLAINTEXT"));
        let err = read(&vars(&pairs)).unwrap_err().to_string();
        assert!(err.starts_with("SPRING_KAFKA_SECURITY_PROTOCOL"), "{err}");
    }

    /// The seed's Kafka OAuth variables once stopped the start with librdkafka's "No provider
    /// for SASL mechanism OAUTHBEARER ... Current build options: PLAIN".
    #[tokio::test]
    async fn the_seeds_kafka_oauth_variables_make_a_client_librdkafka_accepts() {
        let mut pairs = full();
        pairs.extend([
            ("CONFIG_PROFILE", "k8stemplate_v2,kafka-auth"),
            ("KAFKA_OAUTH_CLIENT_ID", "flowx-service-client"),
            ("KAFKA_OAUTH_CLIENT_SECRET", "k"),
            (
                "KAFKA_OAUTH_TOKEN_ENDPOINT_URI",
                "http://127.0.0.1:9/auth/realms/kafka-authz/protocol/openid-connect/token",
            ),
        ]);
        let mut kafka = read(&vars(&pairs)).unwrap().unwrap().kafka;
        kafka.bootstrap_servers = "127.0.0.1:9".to_owned();
        // Neither the token endpoint nor the broker answers: waited for this long only.
        kafka.message_timeout = Duration::from_millis(500);
        let connected = adapter_kafka::KafkaEventPublisher::connect(&kafka).await;
        assert!(
            connected.is_ok(),
            "{:?}",
            connected.err().map(|err| format!("{:#}", anyhow::Error::from(err)))
        );
    }

    #[test]
    fn migration_at_start_can_be_turned_off_for_a_hook_job() {
        let mut pairs = full();
        pairs.push(("RTM_MIGRATE_ON_START", "false"));
        assert!(!read(&vars(&pairs)).unwrap().unwrap().migrate_on_start);
        pairs.pop();
        pairs.push(("RTM_MIGRATE_ON_START", "sometimes"));
        assert!(read(&vars(&pairs)).is_err());
    }

    #[test]
    fn the_process_engine_is_optional_and_its_timeout_defaults_to_30_seconds() {
        assert!(process_engine(&vars(&[])).unwrap().is_none());
        let engine =
            process_engine(&vars(&[("RTM_PROCESS_ENGINE_URL", "http://process-engine:8080/")]))
                .unwrap()
                .expect("configured");
        assert_eq!(engine.base_url().as_str(), "http://process-engine:8080/");
        assert_eq!(engine.timeout, Duration::from_secs(30));
        let engine = process_engine(&vars(&[
            ("RTM_PROCESS_ENGINE_URL", "https://engine.example.com"),
            ("RTM_PROCESS_ENGINE_TIMEOUT_SECONDS", "5"),
        ]))
        .unwrap()
        .expect("configured");
        assert_eq!(engine.timeout, Duration::from_secs(5));
    }

    #[test]
    fn an_invalid_process_engine_setting_names_its_variable() {
        for (name, value) in [
            ("RTM_PROCESS_ENGINE_URL", "process-engine:8080"),
            ("RTM_PROCESS_ENGINE_URL", "http://user:secret@engine"),
            ("RTM_PROCESS_ENGINE_TIMEOUT_SECONDS", "0"),
            ("RTM_PROCESS_ENGINE_TIMEOUT_SECONDS", "soon"),
        ] {
            let mut pairs = vec![("RTM_PROCESS_ENGINE_URL", "http://engine:8080")];
            pairs.retain(|(other, _)| *other != name);
            pairs.push((name, value));
            let err = process_engine(&vars(&pairs)).unwrap_err().to_string();
            assert!(err.starts_with(name), "{name}={value}: {err}");
        }
    }
}
