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

/// jemalloc instead of the system's glibc malloc: glibc keeps the fragmented heap an import
/// leaves behind (thousands of small documents freed out of order), so the process stayed
/// near its peak for good; jemalloc's background thread returns freed pages to the system
/// within about a second (configured in `.cargo/config.toml`), so `rtm` shrinks back after an
/// import. mimalloc was measured too on the same 10 000-resource import and kept more, idle
/// and after it (docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
