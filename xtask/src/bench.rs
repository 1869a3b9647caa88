//! `cargo xtask bench`: runs rtm's benchmark (`crates/bench`) on demand, never as a test.
//!
//! It starts the service stack (`services up`), installs `wrk` when it is missing (Debian
//! package), builds `rtm` and the bench in release mode, and runs the bench against the
//! stack; the bench prints the table and writes `target/bench/report.json`. The bench stops
//! the `rtm` processes it starts itself; should it die first, the pid files it keeps name
//! them and this command stops them. docs/PERFORMANCE.md describes what is measured.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use xshell::{Shell, cmd};

use crate::{layering, services};

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Seconds of each measured load run (one per route).
    #[arg(long, default_value_t = 15)]
    duration: u64,
    /// Resources in the generated build that is imported.
    #[arg(long, default_value_t = 10_000)]
    resources: u32,
}

pub(crate) fn run(sh: &Shell, args: &BenchArgs) -> anyhow::Result<()> {
    println!("==> services");
    services::up().context("the services did not start")?;
    let wrk = ensure_wrk(sh)?;
    println!("==> release build of rtm and the bench");
    cmd!(sh, "cargo build --release -p server -p bench")
        .run()
        .context("the release build failed")?;

    let target = target_dir(sh)?;
    let out_dir = target.join("bench");
    let (rtm, report) = (target.join("release/rtm"), out_dir.join("report.json"));
    let (duration, resources) = (args.duration.to_string(), args.resources.to_string());
    let commit = commit(sh).unwrap_or_else(|| "unknown".to_owned());
    println!("==> bench");
    let outcome = cmd!(
        sh,
        "cargo run --quiet --release -p bench -- --rtm {rtm} --wrk {wrk} --out {report} --duration {duration} --resources {resources} --commit {commit}"
    )
    .envs(services::test_env())
    .run()
    .context("the bench failed");
    for pid_file in ["rtm.pid", "rtm-application-manager.pid", "rtm-import.pid"] {
        stop_leftover(&out_dir.join(pid_file));
    }
    outcome
}

/// `wrk` on the PATH, else installed from Debian (through `sudo -n` unless root, as
/// `services up` installs its packages).
fn ensure_wrk(sh: &Shell) -> anyhow::Result<PathBuf> {
    if let Some(wrk) = on_path("wrk") {
        return Ok(wrk);
    }
    println!("==> installing wrk (Debian package)");
    let root = cmd!(sh, "id -u").quiet().read().is_ok_and(|uid| uid.trim() == "0");
    let (program, then): (&str, &[&str]) =
        if root { ("env", &[]) } else { ("sudo", &["-n", "env"]) };
    cmd!(sh, "{program} {then...} apt-get update -q").run().context("apt-get update failed")?;
    cmd!(sh, "{program} {then...} DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk")
        .run()
        .context("could not install wrk: install the Debian package `wrk` and run again")?;
    on_path("wrk").context("wrk is still missing after installing the Debian package `wrk`")
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|file| file.is_file())
}

pub(crate) fn target_dir(sh: &Shell) -> anyhow::Result<PathBuf> {
    let metadata = layering::workspace_metadata(sh)?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata names no target directory")
}

/// The short commit hash, marked `-dirty` when the tree has changes.
fn commit(sh: &Shell) -> Option<String> {
    let hash = cmd!(sh, "git rev-parse --short HEAD").quiet().ignore_stderr().read().ok()?;
    let dirty = cmd!(sh, "git status --porcelain --untracked-files=no")
        .quiet()
        .ignore_stderr()
        .read()
        .is_ok_and(|status| !status.trim().is_empty());
    Some(if dirty { format!("{hash}-dirty") } else { hash })
}

/// Stops the `rtm` that the bench's pid file names, if it is still running: the bench
/// removes the file when it stops rtm itself.
fn stop_leftover(pid_file: &Path) {
    let Ok(text) = std::fs::read_to_string(pid_file) else { return };
    let _ = std::fs::remove_file(pid_file);
    let Ok(pid) = text.trim().parse::<u32>() else { return };
    // Only the process the bench started: a pid the system has given to another program
    // since is left alone.
    let is_rtm =
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|name| name.trim() == "rtm");
    if is_rtm {
        println!("==> stopping rtm (pid {pid}), left running by the bench");
        let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    }
}
