//! rtm's automation, written in Rust and run with `cargo xtask <command>`.
//!
//! `cargo xtask ci` runs what CI runs, in the same order, so a green local run means a green
//! CI run: the full suite, with the contract tests against real services that
//! `cargo xtask services up` installs and starts (docs/TESTING.md). `cargo xtask layering`
//! checks the architecture invariants of `docs/ARCHITECTURE.md` against `cargo metadata`.
//! `cargo xtask bench` measures resolution, import, memory and start-up on the local stack
//! (docs/PERFORMANCE.md); it is run on demand, never as a test. `cargo xtask image` builds the
//! container image with podman and runs it against the local stack (docs/OPERATIONS.md).
//! The tidy checks live in `xtask/src/tidy.rs` as tests and run with the rest of the suite, as do
//! the checks of the Helm chart and the Dockerfile in `xtask/src/chart.rs`.

// Reporting to the person at the terminal is this binary's whole job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
#[cfg(test)]
mod chart;
mod image;
mod layering;
mod services;
#[cfg(test)]
mod tidy;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use xshell::{Cmd, Shell, cmd};

#[derive(Debug, Parser)]
#[command(about = "rtm's automation", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs every check CI runs, in CI's order, and stops at the first failure.
    Ci(CiArgs),
    /// Checks the crate graph against the architecture invariants and lists the violations.
    Layering,
    /// The local stack of real backing services the contract tests and `rtm` use.
    Services {
        #[command(subcommand)]
        command: services::Command,
    },
    /// Measures rtm on the local stack (resolution under load, a 10 000-resource import,
    /// idle memory, start time), prints a table and writes target/bench/report.json.
    Bench(bench::BenchArgs),
    /// Builds rtm's container image with podman (the runtime stage of docker/Dockerfile, on a
    /// debootstrap base, with the binary built here) and runs it against the local stack.
    Image(image::ImageArgs),
}

#[derive(Debug, Args)]
struct CiArgs {
    /// Runs the fakes-only suite: no service is started, and the real-backend contract tests
    /// skip with their message. For quick local loops; CI runs the full suite.
    #[arg(long, env = "RTM_TEST_NO_SERVICES")]
    no_services: bool,
}

/// Tells the backend tests that the services are there: a missing URL is then a failure.
const REQUIRE_BACKENDS: &str = "APP_TEST_REQUIRE_BACKENDS";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = Shell::new().context("cannot start a shell").and_then(|sh| {
        sh.change_dir(project_root());
        match cli.command {
            Command::Ci(args) => ci(&sh, &args),
            Command::Layering => layering(&sh),
            Command::Services { command } => services::run(command),
            Command::Bench(args) => bench::run(&sh, &args),
            Command::Image(args) => image::run(&sh, &args),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask always works from there, wherever it was started.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn ci(sh: &Shell, args: &CiArgs) -> anyhow::Result<()> {
    let checks: [(&str, Cmd<'_>); 2] = [
        ("format", cmd!(sh, "cargo fmt --all --check")),
        ("clippy", cmd!(sh, "cargo clippy --workspace --all-targets -- -D warnings")),
    ];
    for (step, command) in checks {
        run_step(step, command)?;
    }

    let backends = if args.no_services {
        println!("==> services: skipped (--no-services); the real-backend contract tests skip");
        None
    } else {
        println!("==> services (left running afterwards; `cargo xtask services down` stops them)");
        services::up().context("ci step `services` failed")?;
        Some(services::test_env())
    };
    // `--workspace` everywhere: `default-members` leaves xtask out, and its tidy and layering
    // tests are part of the suite.
    let tests = if has_nextest(sh) {
        ("tests (nextest)", cmd!(sh, "cargo nextest run --workspace --all-targets"))
    } else {
        (
            "tests (cargo test; cargo-nextest is not installed)",
            cmd!(sh, "cargo test --workspace --all-targets"),
        )
    };
    let steps: [(&str, Cmd<'_>); 3] = [
        (tests.0, with_backends(tests.1, backends.as_deref())),
        ("doc tests", with_backends(cmd!(sh, "cargo test --workspace --doc"), backends.as_deref())),
        ("docs", cmd!(sh, "cargo doc --workspace --no-deps").env("RUSTDOCFLAGS", "-D warnings")),
    ];
    for (step, command) in steps {
        run_step(step, command)?;
    }
    println!("==> ci passed");
    Ok(())
}

/// The tests see the stack, and must not skip a backend, exactly when the services are up;
/// a fakes-only run ignores whatever the calling shell exported.
fn with_backends<'a>(command: Cmd<'a>, backends: Option<&[(&str, String)]>) -> Cmd<'a> {
    match backends {
        Some(env) => command
            .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
            .env(REQUIRE_BACKENDS, "1"),
        None => services::test_env()
            .iter()
            .fold(command, |command, (name, _)| command.env_remove(name))
            .env_remove(REQUIRE_BACKENDS),
    }
}

fn run_step(step: &str, command: Cmd<'_>) -> anyhow::Result<()> {
    println!("==> {step}");
    command.run().with_context(|| format!("ci step `{step}` failed"))
}

fn has_nextest(sh: &Shell) -> bool {
    cmd!(sh, "cargo nextest --version").quiet().ignore_stdout().ignore_stderr().run().is_ok()
}

fn layering(sh: &Shell) -> anyhow::Result<()> {
    let violations = layering::check(&layering::workspace_metadata(sh)?)?;
    if violations.is_empty() {
        println!("the crate graph keeps every architecture invariant");
        return Ok(());
    }
    for violation in &violations {
        println!("{violation}");
    }
    anyhow::bail!("{} layering violation(s)", violations.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("cargo xtask").chain(args.iter().copied()))
    }

    #[test]
    fn ci_runs_the_full_suite_unless_told_to_run_on_the_fakes_only() {
        let full = parse(&["ci"]).expect("valid arguments");
        let quick = parse(&["ci", "--no-services"]).expect("valid arguments");
        // RTM_TEST_NO_SERVICES=1 in the environment also sets the flag; not set in this test.
        if std::env::var_os("RTM_TEST_NO_SERVICES").is_none() {
            assert!(matches!(full.command, Command::Ci(CiArgs { no_services: false })));
        }
        assert!(matches!(quick.command, Command::Ci(CiArgs { no_services: true })));
        assert!(parse(&["ci", "--services"]).is_err());
    }
}
