//! Log output: text for people when stdout is a terminal, JSON lines for log shippers
//! otherwise (`RTM_LOG_FORMAT` decides when set), filtered as the logging settings say
//! (`RUST_LOG`, else `LOGGING_LEVEL_*` over `LOGGING_CONFIG_FILE`). Never a secret or a
//! token in a line: requests are logged by route and user name (http-api), settings are
//! never logged whole.
//!
//! Lines are written by a dedicated thread (`tracing-appender`'s non-blocking writer) through
//! a buffer that is flushed whenever its queue runs empty: one request writes one line, and
//! under load a write system call per line on the request's thread cost more than the
//! resolution itself. The queue is not lossy: when it is full, callers wait, so no line is
//! dropped.

use std::io::{BufWriter, IsTerminal as _};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, LoggingSettings};

/// The format used when `RTM_LOG_FORMAT` is unset.
fn format_for(settings: &LoggingSettings, stdout_is_terminal: bool) -> LogFormat {
    settings.format.unwrap_or(if stdout_is_terminal { LogFormat::Text } else { LogFormat::Json })
}

/// Bytes of log lines gathered before a write while more are queued.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// Keeps the log writer's thread; dropping it writes out what is queued. Hold it until the
/// process ends.
#[must_use = "dropping the guard stops the log writer"]
pub(crate) struct LogGuard {
    _writer: WorkerGuard,
}

/// Installs the global subscriber, then reports once what `LOGGING_CONFIG_FILE` had that
/// rtm does not honour. Call once, before anything logs.
pub(crate) fn init(settings: &LoggingSettings) -> LogGuard {
    // The settings checked the filter; an empty one would only be a setting that is unset.
    let filter = EnvFilter::builder().parse_lossy(&settings.filter);
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("rtm-log")
        .finish(BufWriter::with_capacity(WRITE_BUFFER_BYTES, std::io::stdout()));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    // A second init (tests) keeps the first subscriber; that is not an error worth stopping for.
    let _ = match format_for(settings, std::io::stdout().is_terminal()) {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    if !settings.not_honoured.is_empty() {
        tracing::warn!(
            ignored = %settings.not_honoured.join("; "),
            "LOGGING_CONFIG_FILE: rtm honours only <root level> and <logger name level>; the rest of the file is ignored"
        );
    }
    LogGuard { _writer: guard }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_on_a_terminal_json_otherwise_unless_rtm_log_format_says() {
        let mut settings =
            LoggingSettings { format: None, filter: "info".to_owned(), not_honoured: Vec::new() };
        assert_eq!(format_for(&settings, true), LogFormat::Text);
        assert_eq!(format_for(&settings, false), LogFormat::Json);
        settings.format = Some(LogFormat::Json);
        assert_eq!(format_for(&settings, true), LogFormat::Json);
        settings.format = Some(LogFormat::Text);
        assert_eq!(format_for(&settings, false), LogFormat::Text);
    }
}
