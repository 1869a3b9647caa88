//! Logging settings: which lines are written (`RUST_LOG`, else Spring's `LOGGING_LEVEL_ROOT`,
//! `LOGGING_LEVEL_APP`, `LOGGING_LEVEL_DB` over the levels of a logback file named by
//! `LOGGING_CONFIG_FILE`), and how (`RTM_LOG_FORMAT`, else text on a terminal and JSON
//! lines otherwise).
//!
//! Everything becomes one `tracing-subscriber` filter, checked here so that a bad value
//! stops the start naming its variable (or file) instead of logging at a level nobody chose.

use std::collections::BTreeMap;
use std::path::Path;

use tracing_subscriber::EnvFilter;

use crate::settings::SettingsError;
use crate::settings::vars::Vars;

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
    /// `RTM_LOG_FORMAT`; `None`: text when stdout is a terminal, JSON lines otherwise.
    pub(crate) format: Option<LogFormat>,
    /// A valid `tracing-subscriber` filter (`RUST_LOG` syntax).
    pub(crate) filter: String,
    /// What rtm could not honour in `LOGGING_CONFIG_FILE`, reported once at start.
    pub(crate) not_honoured: Vec<String>,
}

/// rtm's own crates' targets: `LOGGING_LEVEL_APP` (and a logback logger named `ai.flowx`).
pub(crate) const APP_TARGETS: &[&str] = &[
    "rtm",
    "server",
    "domain",
    "http_api",
    "build_archive",
    "adapter_engine",
    "adapter_kafka",
    "adapter_memory",
    "adapter_mongo",
    "adapter_postgres",
    "adapter_redis",
    "adapter_s3",
];

/// The database drivers and the adapters over them: `LOGGING_LEVEL_DB`.
pub(crate) const DB_TARGETS: &[&str] =
    &["diesel", "diesel_async", "tokio_postgres", "mongodb", "adapter_postgres", "adapter_mongo"];

/// Java logger names (and their sub-packages) that stand for rtm targets, for the
/// `<logger name>` of a logback file: the platform's own package, and the Java libraries
/// whose counterpart here is a driver or an adapter. Any other name is reported as ignored.
const JAVA_LOGGERS: &[(&str, &[&str])] = &[
    ("ai.flowx", APP_TARGETS),
    ("org.hibernate", &["diesel", "diesel_async", "tokio_postgres", "adapter_postgres"]),
    ("org.postgresql", &["tokio_postgres", "adapter_postgres"]),
    ("com.zaxxer.hikari", &["diesel_async", "adapter_postgres"]),
    ("org.mongodb.driver", &["mongodb", "adapter_mongo"]),
    ("org.springframework.data.mongodb", &["mongodb", "adapter_mongo"]),
    ("org.apache.kafka", &["adapter_kafka", "librdkafka"]),
    ("org.springframework.kafka", &["adapter_kafka", "librdkafka"]),
    ("io.lettuce", &["adapter_redis", "redis"]),
    ("org.springframework.data.redis", &["adapter_redis", "redis"]),
    ("org.springframework.web", &["actix_web", "actix_server", "tracing_actix_web"]),
    ("org.springframework.security", &["http_api::auth"]),
];

/// Reads the logging variables.
///
/// # Errors
///
/// A [`SettingsError`] naming `RUST_LOG`, a `LOGGING_LEVEL_*` variable or `RTM_LOG_FORMAT`
/// when its value is not one, or naming `LOGGING_CONFIG_FILE` and the file when it cannot
/// be read or is not a logback configuration.
pub(crate) fn read(vars: &Vars) -> Result<LoggingSettings, SettingsError> {
    let format = match vars.get("RTM_LOG_FORMAT")?.as_deref() {
        None => None,
        Some(raw) => match raw.to_ascii_lowercase().as_str() {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => {
                return Err(SettingsError::new(
                    "RTM_LOG_FORMAT",
                    format!("`{raw}` is not `json` or `text`"),
                ));
            }
        },
    };
    // The file is read even when RUST_LOG wins: a broken file is a broken deployment.
    let mut not_honoured = Vec::new();
    let file = match vars.get("LOGGING_CONFIG_FILE")? {
        None => None,
        // Spring's `classpath:` names a resource inside the Java service's jar, which rtm
        // does not have: its own defaults stand for it (said once at start, not an error,
        // so that a values file written for the Java image still starts rtm).
        Some(location) if location.starts_with("classpath:") => {
            not_honoured.push(format!(
                "{location}: a resource inside the Java image; rtm has none and uses its own defaults \
                 (mount a file and name its path to set levels)"
            ));
            None
        }
        // Spring also takes a `file:` URL; a path without a scheme is a file too.
        Some(location) => {
            let path = location.strip_prefix("file:").unwrap_or(&location);
            Some(read_logback(Path::new(path))?)
        }
    };
    let mut root = "info";
    let mut levels: BTreeMap<String, &'static str> = BTreeMap::new();
    if let Some(file) = file {
        not_honoured.extend(file.not_honoured);
        if let Some(level) = file.root {
            root = level;
        }
        for (name, level) in &file.loggers {
            match targets_of(name) {
                Some(targets) => {
                    for target in targets {
                        levels.insert(target, *level);
                    }
                }
                None => not_honoured.push(format!(
                    "<logger name=\"{name}\">: no rtm target stands for this Java logger (rtm maps ai.flowx, \
                     org.hibernate, org.postgresql, com.zaxxer.hikari, org.mongodb.driver, org.apache.kafka, \
                     io.lettuce and their Spring Data counterparts, and rtm's own targets by name)"
                )),
            }
        }
    }
    // Spring applies `logging.level.*` over the logback file's levels; so does rtm.
    if let Some(level) = vars.get("LOGGING_LEVEL_ROOT")? {
        root = spring_level("LOGGING_LEVEL_ROOT", &level)?;
    }
    // DB after APP: the database adapters are in both lists, and the narrower one wins.
    for (variable, targets) in
        [("LOGGING_LEVEL_APP", APP_TARGETS), ("LOGGING_LEVEL_DB", DB_TARGETS)]
    {
        if let Some(level) = vars.get(variable)? {
            let level = spring_level(variable, &level)?;
            for target in targets {
                levels.insert((*target).to_owned(), level);
            }
        }
    }
    let filter = match vars.get("RUST_LOG")? {
        Some(filter) => {
            EnvFilter::builder().parse(&filter).map_err(|err| {
                SettingsError::new("RUST_LOG", format!("`{filter}` is not a tracing filter: {err}"))
            })?;
            filter
        }
        None => std::iter::once(root.to_owned())
            .chain(levels.iter().map(|(target, level)| format!("{target}={level}")))
            .collect::<Vec<_>>()
            .join(","),
    };
    Ok(LoggingSettings { format, filter, not_honoured })
}

/// The `tracing` level of a Spring level name (any case; logback's FATAL is ERROR).
pub(crate) fn spring_level(variable: &str, level: &str) -> Result<&'static str, SettingsError> {
    level_of(level).ok_or_else(|| {
        SettingsError::new(
            variable,
            format!("`{level}` is not a level (TRACE, DEBUG, INFO, WARN, ERROR, OFF)"),
        )
    })
}

fn level_of(level: &str) -> Option<&'static str> {
    match level.trim().to_ascii_uppercase().as_str() {
        "TRACE" | "ALL" => Some("trace"),
        "DEBUG" => Some("debug"),
        "INFO" => Some("info"),
        "WARN" => Some("warn"),
        "ERROR" | "FATAL" => Some("error"),
        "OFF" => Some("off"),
        _ => None,
    }
}

/// The rtm targets a logger name of a logback file stands for: a Java package of
/// [`JAVA_LOGGERS`] or one of its sub-packages, or an rtm target by its own name (a module
/// path below one, such as `http_api::request`, included).
fn targets_of(name: &str) -> Option<Vec<String>> {
    let java = JAVA_LOGGERS.iter().find(|(package, _)| {
        name == *package || name.strip_prefix(package).is_some_and(|rest| rest.starts_with('.'))
    });
    if let Some((_, targets)) = java {
        return Some(targets.iter().map(|target| (*target).to_owned()).collect());
    }
    let crate_name = name.split("::").next().unwrap_or(name);
    APP_TARGETS
        .iter()
        .chain(DB_TARGETS)
        .any(|target| *target == crate_name)
        .then(|| vec![name.to_owned()])
}

/// What rtm takes from a logback file.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Logback {
    /// `<root level>`.
    pub(crate) root: Option<&'static str>,
    /// Each `<logger name level>`, in file order.
    pub(crate) loggers: Vec<(String, &'static str)>,
    /// Everything else, described for the start-up report.
    pub(crate) not_honoured: Vec<String>,
}

fn read_logback(path: &Path) -> Result<Logback, SettingsError> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        SettingsError::new(
            "LOGGING_CONFIG_FILE",
            format!("cannot read the logback file {}: {err}", path.display()),
        )
    })?;
    parse_logback(&text).map_err(|problem| {
        SettingsError::new(
            "LOGGING_CONFIG_FILE",
            format!("{} is not a logback configuration: {problem}", path.display()),
        )
    })
}

/// Reads the `<root level>` and the `<logger name level>` of a logback configuration;
/// anything else (appenders, patterns, properties, includes, Spring profiles, appender
/// references, additivity, levels that are placeholders) is listed as not honoured.
///
/// # Errors
///
/// What is wrong when the text is not XML, or its root element is not `<configuration>`.
pub(crate) fn parse_logback(text: &str) -> Result<Logback, String> {
    let document = roxmltree::Document::parse(text).map_err(|err| err.to_string())?;
    let configuration = document.root_element();
    if configuration.tag_name().name() != "configuration" {
        return Err(format!(
            "its root element is <{}>, not <configuration>",
            configuration.tag_name().name()
        ));
    }
    let mut logback = Logback::default();
    for (name, value) in configuration.attributes().map(|a| (a.name(), a.value())) {
        logback.not_honoured.push(format!("<configuration {name}=\"{value}\">"));
    }
    for element in configuration.children().filter(roxmltree::Node::is_element) {
        let tag = element.tag_name().name();
        match tag {
            "root" => {
                match element.attribute("level").map(|level| (level, level_of(level))) {
                    Some((_, Some(level))) => logback.root = Some(level),
                    Some((raw, None)) => {
                        logback.not_honoured.push(format!("<root level=\"{raw}\">: not a level"));
                    }
                    None => {}
                }
                not_honoured_inside(&element, "<root>", &mut logback.not_honoured);
            }
            "logger" => {
                let Some(name) = element.attribute("name") else {
                    logback.not_honoured.push("a <logger> without a name".to_owned());
                    continue;
                };
                match element.attribute("level").map(|level| (level, level_of(level))) {
                    Some((_, Some(level))) => logback.loggers.push((name.to_owned(), level)),
                    Some((raw, None)) => logback
                        .not_honoured
                        .push(format!("<logger name=\"{name}\" level=\"{raw}\">: not a level")),
                    None => {}
                }
                if let Some(additivity) = element.attribute("additivity") {
                    logback.not_honoured.push(format!(
                        "<logger name=\"{name}\" additivity=\"{additivity}\">: rtm writes every line once"
                    ));
                }
                not_honoured_inside(
                    &element,
                    &format!("<logger name=\"{name}\">"),
                    &mut logback.not_honoured,
                );
            }
            _ => {
                let named = element
                    .attribute("name")
                    .map(|name| format!(" name=\"{name}\""))
                    .unwrap_or_default();
                logback.not_honoured.push(format!("<{tag}{named}>"));
            }
        }
    }
    Ok(logback)
}

fn not_honoured_inside(element: &roxmltree::Node<'_, '_>, within: &str, out: &mut Vec<String>) {
    for child in element.children().filter(roxmltree::Node::is_element) {
        let reference =
            child.attribute("ref").map(|name| format!(" ref=\"{name}\"")).unwrap_or_default();
        out.push(format!("<{}{reference}> in {within}", child.tag_name().name()));
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn read_with(pairs: &[(&str, &str)]) -> Result<LoggingSettings, SettingsError> {
        let vars: BTreeMap<String, String> =
            pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        read(&Vars::new(&vars))
    }

    const SEED_LIKE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<configuration scan="true">
  <include resource="org/springframework/boot/logging/logback/defaults.xml"/>
  <springProperty scope="context" name="app" source="spring.application.name"/>
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder class="net.logstash.logback.encoder.LogstashEncoder"/>
  </appender>
  <logger name="ai.flowx" level="debug"/>
  <logger name="org.hibernate.SQL" level="WARN" additivity="false">
    <appender-ref ref="CONSOLE"/>
  </logger>
  <logger name="com.example.Unknown" level="TRACE"/>
  <logger name="http_api::request" level="OFF"/>
  <root level="warn">
    <appender-ref ref="CONSOLE"/>
  </root>
</configuration>"#;

    #[test]
    fn the_root_and_logger_levels_of_a_logback_file_are_read_and_the_rest_listed() {
        let logback = parse_logback(SEED_LIKE).unwrap();
        assert_eq!(logback.root, Some("warn"));
        assert_eq!(
            logback.loggers,
            [
                ("ai.flowx".to_owned(), "debug"),
                ("org.hibernate.SQL".to_owned(), "warn"),
                ("com.example.Unknown".to_owned(), "trace"),
                ("http_api::request".to_owned(), "off"),
            ]
        );
        let notes = logback.not_honoured.join("\n");
        for part in [
            "<configuration scan=\"true\">",
            "<include>",
            "<springProperty name=\"app\">",
            "<appender name=\"CONSOLE\">",
            "additivity=\"false\"",
            "<appender-ref ref=\"CONSOLE\"> in <logger name=\"org.hibernate.SQL\">",
            "<appender-ref ref=\"CONSOLE\"> in <root>",
        ] {
            assert!(notes.contains(part), "{part} missing from:\n{notes}");
        }
    }

    #[test]
    fn a_logback_file_becomes_the_filter_and_unknown_loggers_are_reported() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(SEED_LIKE.as_bytes()).unwrap();
        let path = file.path().to_str().unwrap();
        let settings = read_with(&[("LOGGING_CONFIG_FILE", path)]).unwrap();
        let directives: Vec<&str> = settings.filter.split(',').collect();
        assert_eq!(directives[0], "warn", "the root level leads: {}", settings.filter);
        for directive in
            ["domain=debug", "adapter_kafka=debug", "diesel=warn", "http_api::request=off"]
        {
            assert!(directives.contains(&directive), "{directive} in {}", settings.filter);
        }
        // ai.flowx names adapter_postgres too; org.hibernate.SQL comes later in the file.
        assert!(directives.contains(&"adapter_postgres=warn"), "{}", settings.filter);
        assert!(
            settings.not_honoured.iter().any(|note| note.contains("com.example.Unknown")),
            "{:?}",
            settings.not_honoured
        );
        EnvFilter::builder().parse(&settings.filter).unwrap();

        // LOGGING_LEVEL_* apply over the file, as Spring's properties do.
        let settings =
            read_with(&[("LOGGING_CONFIG_FILE", path), ("LOGGING_LEVEL_ROOT", "Error")]).unwrap();
        assert!(settings.filter.starts_with("error,"), "{}", settings.filter);
    }

    #[test]
    fn a_classpath_resource_is_reported_as_not_honoured_and_a_file_url_is_read() {
        let settings =
            read_with(&[("LOGGING_CONFIG_FILE", "classpath:logback-spring.xml")]).unwrap();
        assert_eq!(settings.not_honoured.len(), 1, "{:?}", settings.not_honoured);
        assert!(settings.not_honoured[0].contains("classpath:logback-spring.xml"));

        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(b"<configuration><root level=\"WARN\"/></configuration>").unwrap();
        let url = format!("file:{}", file.path().display());
        let settings = read_with(&[("LOGGING_CONFIG_FILE", &url)]).unwrap();
        assert!(settings.filter.starts_with("warn"), "{}", settings.filter);
        let err =
            read_with(&[("LOGGING_CONFIG_FILE", "file:/nonexistent/logback.xml")]).unwrap_err();
        assert!(err.problem.contains("/nonexistent/logback.xml"), "{err}");
    }

    #[test]
    fn a_missing_or_malformed_logback_file_stops_the_start_naming_the_file() {
        let err =
            read_with(&[("LOGGING_CONFIG_FILE", "/nonexistent/logback-spring.xml")]).unwrap_err();
        assert_eq!(err.variable, "LOGGING_CONFIG_FILE");
        assert!(err.problem.contains("/nonexistent/logback-spring.xml"), "{err}");

        for text in ["<configuration><root level=\"INFO\"></configuration>", "root=INFO", ""] {
            let mut file = tempfile::NamedTempFile::new().unwrap();
            file.write_all(text.as_bytes()).unwrap();
            let path = file.path().to_str().unwrap().to_owned();
            let err = read_with(&[("LOGGING_CONFIG_FILE", &path)]).unwrap_err();
            assert_eq!(err.variable, "LOGGING_CONFIG_FILE");
            assert!(err.problem.contains(&path), "{err}");
        }
        let err = parse_logback("<log4j:configuration/>").unwrap_err();
        assert!(err.contains("not <configuration>") || err.contains("namespace"), "{err}");
        let err = parse_logback("<Configuration status=\"WARN\"/>").unwrap_err();
        assert!(err.contains("<Configuration>"), "{err}");
    }

    #[test]
    fn logging_levels_map_to_rtms_targets() {
        let settings = read_with(&[
            ("LOGGING_LEVEL_ROOT", "warn"),
            ("LOGGING_LEVEL_APP", "DEBUG"),
            ("LOGGING_LEVEL_DB", "fatal"),
        ])
        .unwrap();
        let directives: Vec<&str> = settings.filter.split(',').collect();
        assert_eq!(directives[0], "warn");
        for directive in [
            "rtm=debug",
            "server=debug",
            "domain=debug",
            "http_api=debug",
            "adapter_kafka=debug",
            "diesel=error",
            "tokio_postgres=error",
            "mongodb=error",
            // The database adapters are rtm's and the database's: the narrower DB wins.
            "adapter_postgres=error",
            "adapter_mongo=error",
        ] {
            assert!(directives.contains(&directive), "{directive} in {}", settings.filter);
        }
        assert_eq!(read_with(&[]).unwrap().filter, "info");
        assert_eq!(read_with(&[("LOGGING_LEVEL_ROOT", "off")]).unwrap().filter, "off");
        assert_eq!(
            read_with(&[("LOGGING_LEVEL_APP", "LOUD")]).unwrap_err().variable,
            "LOGGING_LEVEL_APP"
        );
        assert_eq!(
            read_with(&[("LOGGING_LEVEL_DB", "verbose")]).unwrap_err().variable,
            "LOGGING_LEVEL_DB"
        );
    }

    #[test]
    fn rust_log_wins_and_an_invalid_one_stops_the_start() {
        let settings =
            read_with(&[("RUST_LOG", "warn,http_api=debug"), ("LOGGING_LEVEL_APP", "TRACE")])
                .unwrap();
        assert_eq!(settings.filter, "warn,http_api=debug");
        let err = read_with(&[("RUST_LOG", "http_api=loud")]).unwrap_err();
        assert_eq!(err.variable, "RUST_LOG");
        assert!(err.problem.contains("http_api=loud"), "{err}");
    }

    #[test]
    fn the_format_is_chosen_by_rtm_log_format_else_left_to_the_terminal() {
        assert_eq!(read_with(&[]).unwrap().format, None);
        assert_eq!(read_with(&[("RTM_LOG_FORMAT", "JSON")]).unwrap().format, Some(LogFormat::Json));
        assert_eq!(read_with(&[("RTM_LOG_FORMAT", "text")]).unwrap().format, Some(LogFormat::Text));
        assert_eq!(read_with(&[("RTM_LOG_FORMAT", "xml")]).unwrap_err().variable, "RTM_LOG_FORMAT");
    }
}
