//! The command line: `rtm [serve]`, `rtm migrate`, `rtm config check`, `rtm dev-token`,
//! `rtm build pack`, `rtm --version`.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use http_api::auth::TokenRequest;

use crate::settings::{Settings, SettingsErrors};
use crate::{config_check, embedded, serve, telemetry};

/// The version and the commit it was built from (see `build.rs`).
pub(crate) const VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("RTM_GIT_COMMIT"), ")");

/// rtm: the Runtime Manager and Application Manager of a low-code platform.
#[derive(Debug, Parser)]
#[command(name = "rtm", version = VERSION, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the APIs (the default). Configured through environment variables: see docs/CONFIGURATION.md.
    Serve,
    /// Migrate the PostgreSQL schema and exit (for a Helm hook job; `rtm serve` migrates at
    /// start unless RTM_MIGRATE_ON_START=false). Runs under an advisory lock.
    Migrate,
    /// Print a bearer token that an embedded-mode server with the same RTM_DATA_DIR accepts.
    DevToken {
        /// The user (`sub` and `preferred_username`).
        #[arg(long)]
        sub: String,
        /// Groups, comma-separated.
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
        /// Realm roles, comma-separated (e.g. ROLE_BUILDS_MANAGE_IMPORT).
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// Add every ROLE_*_MANAGE_ADMIN role (and ROLE_ACTIVE_POLICY_MANAGE_EDIT): an operator's token.
        #[arg(long)]
        admin: bool,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 8 * 3600)]
        ttl: u64,
        /// The OAuth client the token is issued to (`azp`), as for a service account's token
        /// (see RTM_SERVICE_ACCOUNT_CLIENTS).
        #[arg(long)]
        client: Option<String>,
    },
    /// Build archives.
    Build {
        #[command(subcommand)]
        command: BuildCommand,
    },
    /// The configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Check the environment without connecting to anything: exit 0 and print the effective
    /// configuration (secrets redacted) when it is valid, else exit 1 listing every problem.
    /// `RTM_*` variables rtm does not read are warned about.
    Check,
}

#[derive(Debug, Subcommand)]
enum BuildCommand {
    /// Pack a build directory (build.json, config-params.json, resources/, binaries/) into an
    /// archive, filling in a missing buildId and createdAt. See docs/BUILD-ARCHIVE.md.
    Pack {
        /// The build directory.
        dir: PathBuf,
        /// The archive to write.
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// Runs the command.
pub(crate) fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let settings = settings()?;
            // Dropped after the runtime below, so the last lines are written out.
            let _log = telemetry::init(&settings.logging);
            for name in &settings.unread {
                tracing::warn!(
                    variable = %name,
                    "{}",
                    config_check::unread_warning(name)
                );
            }
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("could not start the async runtime")?
                .block_on(serve::serve(settings))
        }
        Command::Migrate => {
            let settings = settings()?;
            let _log = telemetry::init(&settings.logging);
            let Some(backends) = settings.backends else {
                anyhow::bail!(
                    "rtm migrate needs SPRING_DATASOURCE_URL and the other backend variables (docs/CONFIGURATION.md)"
                );
            };
            let applied = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("could not start the async runtime")?
                .block_on(crate::real::migrate(&backends))?;
            writeln!(
                std::io::stdout().lock(),
                "migrations applied: {}",
                if applied.is_empty() {
                    "none (up to date)".to_owned()
                } else {
                    applied.join(", ")
                }
            )
            .context("could not print the result")?;
            Ok(())
        }
        Command::DevToken { sub, groups, mut roles, admin, ttl, client } => {
            let settings = settings()?;
            if settings.backends.is_some() {
                anyhow::bail!(
                    "dev-token signs tokens for embedded mode only; with real backends get tokens from the OAuth2 realm"
                );
            }
            if admin {
                roles.extend(embedded::operator_roles());
            }
            let issuer = embedded::load_or_create_issuer(&settings.data_dir)?;
            let token = issuer
                .issue(&TokenRequest {
                    subject: sub,
                    groups,
                    roles,
                    ttl_seconds: ttl,
                    client_id: client,
                })
                .context("could not sign the token")?;
            writeln!(std::io::stdout().lock(), "{token}").context("could not print the token")?;
            Ok(())
        }
        Command::Build { command: BuildCommand::Pack { dir, output } } => {
            let packed = build_archive::pack_directory(&dir)
                .with_context(|| format!("could not pack {}", dir.display()))?;
            std::fs::write(&output, &packed.bytes)
                .with_context(|| format!("could not write {}", output.display()))?;
            writeln!(
                std::io::stdout().lock(),
                "packed build {} (checksum {}) into {} ({} bytes)",
                packed.build_id,
                packed.checksum,
                output.display(),
                packed.bytes.len()
            )
            .context("could not print the result")?;
            Ok(())
        }
        Command::Config { command: ConfigCommand::Check } => {
            let settings = settings()?;
            writeln!(std::io::stdout().lock(), "{}", config_check::report(&settings))
                .context("could not print the configuration")?;
            Ok(())
        }
    }
}

/// The settings from the environment, or every problem in one error, one per line.
fn settings() -> anyhow::Result<Settings> {
    Settings::from_env().map_err(|errors| anyhow::anyhow!(invalid(&errors)))
}

fn invalid(errors: &SettingsErrors) -> String {
    let mut message = format!(
        "the configuration is invalid ({} problem{}; see docs/CONFIGURATION.md):",
        errors.problems.len(),
        if errors.problems.len() == 1 { "" } else { "s" }
    );
    for problem in &errors.problems {
        message.push_str(&format!("\n  {problem}"));
    }
    for name in &errors.unread {
        message.push_str(&format!("\n  warning: {}", config_check::unread_warning(name)));
    }
    message
}
