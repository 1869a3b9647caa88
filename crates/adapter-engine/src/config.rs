//! `EngineConfig`: where the process engine is and how long rtm waits for it.

use std::fmt;
use std::time::Duration;

use reqwest::Url;

/// Why a process engine configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EngineConfigError {
    /// The base URL is not an absolute `http(s)://host[:port][/path]` URL.
    #[error("`{url}` is not a usable process engine URL: {problem}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The HTTP client could not be set up (its TLS backend failed to initialise).
    #[error("the HTTP client of the process engine cannot be built")]
    Client(#[source] reqwest::Error),
}

/// How to reach the process engine.
///
/// Build it with [`EngineConfig::new`] and change the fields that differ from the defaults.
#[derive(Clone)]
pub struct EngineConfig {
    base_url: Url,
    /// The longest a start may take, from connecting to the last byte of the answer; past
    /// it the start fails with `TimedOut`. Default 30 s (`RTM_PROCESS_ENGINE_TIMEOUT_SECONDS`).
    pub timeout: Duration,
    /// The longest a connection may take to open; past it the engine is `Unreachable`
    /// (nothing was sent). Never longer than `timeout`. Default 5 s.
    pub connect_timeout: Duration,
    /// Idle connections kept open to the engine. Default 32.
    pub max_idle_connections: usize,
    /// How long an idle connection is kept. Default 90 s.
    pub idle_timeout: Duration,
    /// The largest 2xx answer passed on to the caller; a larger one is a `Failed` (502).
    /// Default 10 MiB.
    pub max_answer_bytes: usize,
}

impl EngineConfig {
    /// Default total timeout of a start.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default connect timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default number of idle connections kept.
    pub const DEFAULT_MAX_IDLE_CONNECTIONS: usize = 32;
    /// Default lifetime of an idle connection.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
    /// Default bound of an accepted start's answer.
    pub const DEFAULT_MAX_ANSWER_BYTES: usize = 10 * 1024 * 1024;

    /// The configuration of the engine at `base_url` with every other field at its default.
    /// The start route is appended to the URL's path, so an engine behind a path prefix
    /// (`https://gateway/engine`) works.
    ///
    /// # Errors
    ///
    /// [`EngineConfigError::Url`] unless `base_url` is an absolute `http` or `https` URL with
    /// a host and without user info, query or fragment (the caller's own `Authorization` is
    /// what the engine gets, so credentials in the URL would be ambiguous).
    pub fn new(base_url: &str) -> Result<Self, EngineConfigError> {
        let refuse = |problem| EngineConfigError::Url { url: base_url.to_owned(), problem };
        let url = Url::parse(base_url).map_err(|_| refuse("not an absolute URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refuse("the scheme must be http or https"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(refuse("it names no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse(
                "it must not carry credentials: the caller's Authorization header is passed through",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(refuse("it must not have a query or a fragment"));
        }
        Ok(Self {
            base_url: url,
            timeout: Self::DEFAULT_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            max_idle_connections: Self::DEFAULT_MAX_IDLE_CONNECTIONS,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            max_answer_bytes: Self::DEFAULT_MAX_ANSWER_BYTES,
        })
    }

    /// The engine's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }
}

/// Prints the engine's origin and path only: whatever a later change lets into the URL
/// (user info, a query with a key) stays out of the logs.
impl fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown =
            format!("{}{}", self.base_url.origin().ascii_serialization(), self.base_url.path());
        f.debug_struct("EngineConfig")
            .field("base_url", &shown)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_idle_connections", &self.max_idle_connections)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_answer_bytes", &self.max_answer_bytes)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem_of(url: &str) -> String {
        EngineConfig::new(url).expect_err("the URL should be refused").to_string()
    }

    #[test]
    fn an_http_or_https_url_is_accepted_with_the_defaults() {
        let config = EngineConfig::new("https://engine.flowx.svc:8080/engine").expect("valid");

        assert_eq!(config.base_url().as_str(), "https://engine.flowx.svc:8080/engine");
        assert_eq!(config.timeout, Duration::from_secs(30));
        assert!(config.connect_timeout <= config.timeout);
        assert!(EngineConfig::new("http://127.0.0.1:8290").is_ok());
    }

    #[test]
    fn a_url_that_is_not_http_or_has_no_host_is_refused() {
        assert!(problem_of("engine:8080").contains("scheme"), "a bare host:port");
        assert!(problem_of("ftp://engine").contains("scheme"));
        assert!(problem_of("/api/process").contains("absolute"));
        assert!(
            problem_of("http://").contains("absolute") || problem_of("http://").contains("host")
        );
    }

    #[test]
    fn credentials_a_query_or_a_fragment_in_the_url_are_refused() {
        assert!(problem_of("http://user:hunter2@engine").contains("credentials"));
        assert!(problem_of("http://engine/?key=1").contains("query"));
        assert!(problem_of("http://engine/#start").contains("fragment"));
    }

    #[test]
    fn the_debug_form_shows_the_origin_and_path_and_the_timeouts() {
        let config = EngineConfig::new("http://engine:8080/prefix").expect("valid");

        let printed = format!("{config:?}");

        assert!(printed.contains("http://engine:8080/prefix"), "{printed}");
        assert!(printed.contains("timeout"), "{printed}");
    }
}
