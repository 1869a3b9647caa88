//! rtm's automation, written in Rust and run with `cargo xtask <command>`.
//!
//! `cargo xtask ci` runs what CI runs, in the same order, so a green local run means a green
//! CI run. `cargo xtask layering` checks the architecture invariants of
//! `docs/ARCHITECTURE.md` against `cargo metadata`. The tidy checks live in `xtask/src/tidy.rs` as tests
//! and run with the rest of the suite.

// Reporting to the person at the terminal is this binary's whole job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod layering;
#[cfg(test)]
mod tidy;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
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
    Ci,
    /// Checks the crate graph against the architecture invariants and lists the violations.
    Layering,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = Shell::new().context("cannot start a shell").and_then(|sh| {
        sh.change_dir(project_root());
        match cli.command {
            Command::Ci => ci(&sh),
            Command::Layering => layering(&sh),
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

fn ci(sh: &Shell) -> anyhow::Result<()> {
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
    let steps: [(&str, Cmd<'_>); 5] = [
        ("format", cmd!(sh, "cargo fmt --all --check")),
        ("clippy", cmd!(sh, "cargo clippy --workspace --all-targets -- -D warnings")),
        tests,
        ("doc tests", cmd!(sh, "cargo test --workspace --doc")),
        ("docs", cmd!(sh, "cargo doc --workspace --no-deps").env("RUSTDOCFLAGS", "-D warnings")),
    ];
    for (step, command) in steps {
        println!("==> {step}");
        command.run().with_context(|| format!("ci step `{step}` failed"))?;
    }
    println!("==> ci passed");
    Ok(())
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
