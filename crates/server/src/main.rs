//! `rtm`: the Runtime Manager and Application Manager in one binary.
//!
//! This crate is the composition root: the only one that names concrete adapters. It reads
//! the settings (nothing else reads the environment), sets up telemetry, wires adapters to
//! the use cases and serves the APIs. `anyhow` is allowed here and nowhere else but xtask.

mod cli;
mod config_check;
mod embedded;
mod health;
mod observability;
mod real;
mod roles;
mod serve;
mod settings;
mod telemetry;

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // The one place a failure to start reaches a person: say it plainly on stderr.
            let mut stderr = std::io::stderr().lock();
            let _ = std::io::Write::write_fmt(&mut stderr, format_args!("rtm: {err:#}\n"));
            std::process::ExitCode::FAILURE
        }
    }
}
