//! `rtm config check`: the effective configuration as text, secrets redacted, and the
//! warning for `RTM_*` variables rtm does not read. Reading the settings connects to
//! nothing, so the check is the settings' own validation.
//!
//! Redaction relies on the types: every secret is a `secrecy` type or sits in an adapter
//! configuration whose `Debug` prints `[redacted]`; the URLs listed separately show their
//! user name but never a password or a secret query parameter.

use std::fmt::Write as _;

use secrecy::ExposeSecret as _;

use crate::settings::Settings;

/// What is said about a set `RTM_*` variable that no reader asked for.
pub(crate) fn unread_warning(name: &str) -> String {
    format!(
        "{name} is set but rtm does not read it: unknown (misspelt?) or unused in this mode; it has no effect \
         (docs/CONFIGURATION.md lists the variables)"
    )
}

/// The report of a valid configuration.
pub(crate) fn report(settings: &Settings) -> String {
    let mut out = String::from("The configuration is valid.\n");
    let mode = match &settings.backends {
        Some(_) => format!("real backends, role {}", settings.role.as_str()),
        None => "embedded (both roles, every store in memory)".to_owned(),
    };
    let _ = writeln!(out, "mode: {mode}");
    for name in &settings.unread {
        let _ = writeln!(out, "warning: {}", unread_warning(name));
    }
    if let Some(backends) = &settings.backends {
        out.push_str("backends (credentials hidden):\n");
        let _ =
            writeln!(out, "  PostgreSQL: {}", redact_url(backends.postgres.url.expose_secret()));
        let _ = writeln!(out, "  MongoDB: {}", redact_url(backends.mongo.uri.expose_secret()));
        let _ = writeln!(out, "  Kafka: {}", backends.kafka.bootstrap_servers);
        let _ = writeln!(out, "  S3: {}", redact_url(&backends.s3.server_url));
        let _ = writeln!(out, "  OAuth2 issuer: {}", backends.oauth.issuer);
        match &backends.redis {
            Some(redis) => {
                let _ = writeln!(out, "  Redis: {}", redact_url(redis.url.expose_secret()));
            }
            None => out.push_str("  Redis: none (each replica caches in memory)\n"),
        }
    }
    let _ = write!(out, "effective settings (secrets redacted):\n{settings:#?}");
    out
}

/// `scheme://user:password@host/path?query` with the password and any secret-looking query
/// parameter replaced by `****`; the user name stays (it helps, and is not a secret).
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "****".to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:****@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if is_secret_parameter(key) => format!("{key}=****"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

fn is_secret_parameter(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token", "key", "credential", "authmechanismproperties"]
        .iter()
        .any(|word| key.contains(word))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn urls_keep_their_user_and_lose_their_password_and_secret_parameters() {
        assert_eq!(
            redact_url("postgres://flowx:p%40ss@db:5432/app?application_name=rtm"),
            "postgres://flowx:****@db:5432/app?application_name=rtm"
        );
        assert_eq!(
            redact_url("mongodb://u:pw@m-0:27017,m-1:27017/app?retryWrites=false&sslKeyPassword=x"),
            "mongodb://u:****@m-0:27017,m-1:27017/app?retryWrites=false&sslKeyPassword=****"
        );
        assert_eq!(redact_url("redis://:r%20p@redis:6379"), "redis://:****@redis:6379");
        assert_eq!(redact_url("http://minio:9000"), "http://minio:9000");
        assert_eq!(redact_url("not a url with s3cret"), "****");
    }

    #[test]
    fn the_report_of_a_real_configuration_names_no_secret() {
        let secrets = [
            "pg-s3cret",
            "m0ngo-s3cret",
            "s3-access-kee",
            "s3-s3cret-key",
            "kafka-s3cret",
            "r3dis-s3cret",
        ];
        let vars: BTreeMap<String, String> = [
            ("SPRING_DATASOURCE_URL", "jdbc:postgresql://postgresql:5432/app_manager"),
            ("SPRING_DATASOURCE_USERNAME", "flowx"),
            ("SPRING_DATASOURCE_PASSWORD", secrets[0]),
            (
                "SPRING_DATA_MONGODB_URI",
                "mongodb://app-runtime:m0ngo-s3cret@mongodb-0:27017/app-runtime",
            ),
            ("SPRING_KAFKA_BOOTSTRAP_SERVERS", "kafka-0:9092"),
            ("SPRING_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
            ("KAFKA_OAUTH_TOKEN_ENDPOINT_URI", "https://idp/token"),
            ("KAFKA_OAUTH_CLIENT_SECRET", secrets[4]),
            ("APPLICATION_FILE_STORAGE_S3_SERVER_URL", "http://minio:9000"),
            ("APPLICATION_FILE_STORAGE_S3_ACCESS_KEY", secrets[2]),
            ("APPLICATION_FILE_STORAGE_S3_SECRET_KEY", secrets[3]),
            ("SECURITY_OAUTH2_BASE_SERVER_URL", "https://idp.example.com/auth"),
            ("SECURITY_OAUTH2_REALM", "flowx"),
            ("SPRING_REDIS_HOST", "redis"),
            ("SPRING_REDIS_PASSWORD", secrets[5]),
            ("RTM_TYPO", "1"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
        let settings = Settings::from_vars(&vars).unwrap();
        let report = report(&settings);
        for secret in secrets {
            assert!(!report.contains(secret), "{secret} leaked:\n{report}");
        }
        assert!(report.contains("postgres://flowx:****@postgresql:5432/app_manager"), "{report}");
        assert!(report.contains("warning: RTM_TYPO is set but rtm does not read it"), "{report}");
        assert!(report.contains("kafka-0:9092"), "{report}");
    }
}
