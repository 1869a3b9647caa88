//! Log output: JSON lines for log shippers or text for people, filtered by `RUST_LOG` or
//! `LOGGING_LEVEL_ROOT`. Never a secret or a token in a line.

use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, LoggingSettings};

/// Installs the global subscriber. Call once, before anything logs.
pub(crate) fn init(settings: &LoggingSettings) {
    let filter = EnvFilter::try_new(&settings.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stdout);
    // A second init (tests) keeps the first subscriber; that is not an error worth stopping for.
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
