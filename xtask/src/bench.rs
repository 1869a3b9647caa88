//! `cargo xtask bench`: runs rtm's benchmark (`crates/bench`) on demand, never as a test.
//!
//! It starts the service stack (`services up`), installs `wrk` when it is missing (Debian
//! package) and the peer, Unleash Edge (`cargo install unleash-edge`, pinned and cached like
//! tansu), builds `rtm` and the bench in release mode, and runs the bench against the
//! stack; the bench prints the table and writes `target/bench/report.json`. The bench stops
//! the processes it starts itself; should it die first, the pid files it keeps name them
//! and this command stops them. docs/PERFORMANCE.md describes what is measured.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use xshell::{Shell, cmd};

use crate::services::install::Installer;
use crate::{layering, services};

/// The peer and its pinned version. Its default feature (`s3-persistence`, the AWS SDK) is
/// left out: offline mode never persists, and it would add minutes to a 2-core build.
const UNLEASH_EDGE: (&str, &str) = ("unleash-edge", "20.1.0");

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Seconds of each measured load run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds of the warm-up run before each measured one.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Resources in the generated build that is imported (and used at design time).
    #[arg(long, default_value_t = 10_000)]
    resources: u32,
    /// Resources in the large build, imported into a fresh process; 0 skips it.
    #[arg(long, default_value_t = 100_000)]
    large_resources: u32,
    /// USER override counts of the build-info runs, ascending, comma-separated.
    #[arg(long, default_value = "1,10000,100000")]
    overrides: String,
    /// Connection counts of every load run, comma-separated.
    #[arg(long, default_value = "64,16")]
    connections: String,
    /// Also records a CPU profile of rtm answering build info (`perf`, Debian package
    /// `linux-perf`), written to `target/bench/profile.txt`.
    #[arg(long)]
    profile: bool,
    /// Seconds to wait at most for a quiet machine (under 15 % busy) before measuring.
    #[arg(long, default_value_t = 300)]
    quiet_wait: u64,
}

pub(crate) fn run(sh: &Shell, args: &BenchArgs) -> anyhow::Result<()> {
    println!("==> services");
    services::up().context("the services did not start")?;
    let wrk = ensure_wrk(sh)?;
    let edge = ensure_unleash_edge()?;
    println!("==> release build of rtm and the bench");
    cmd!(sh, "cargo build --release -p server -p bench")
        .run()
        .context("the release build failed")?;

    let target = target_dir(sh)?;
    let out_dir = target.join("bench");
    let (rtm, report) = (target.join("release/rtm"), out_dir.join("report.json"));
    let (duration, warmup) = (args.duration.to_string(), args.warmup.to_string());
    let (resources, large) = (args.resources.to_string(), args.large_resources.to_string());
    let (overrides, connections) = (&args.overrides, &args.connections);
    let quiet_wait = args.quiet_wait.to_string();
    let commit = commit(sh).unwrap_or_else(|| "unknown".to_owned());
    let profile: &[&str] = if args.profile { &["--profile"] } else { &[] };
    println!("==> bench");
    let outcome = cmd!(
        sh,
        "cargo run --quiet --release -p bench -- --rtm {rtm} --edge {edge} --wrk {wrk} --out {report} --duration {duration} --warmup {warmup} --resources {resources} --large-resources {large} --overrides {overrides} --connections {connections} --quiet-wait {quiet_wait} --commit {commit} {profile...}"
    )
    .envs(services::test_env())
    .run()
    .context("the bench failed");
    for (pid_file, program) in [
        ("rtm.pid", "rtm"),
        ("rtm-application-manager.pid", "rtm"),
        ("rtm-import.pid", "rtm"),
        ("unleash-edge.pid", "unleash-edge"),
    ] {
        stop_leftover(&out_dir.join(pid_file), program);
    }
    outcome
}

/// The `unleash-edge` binary: found on `PATH` or in `$CARGO_HOME/bin`, else `cargo install`ed
/// (about 20 minutes of build on 2 cores the first time; cached after).
fn ensure_unleash_edge() -> anyhow::Result<PathBuf> {
    let (name, version) = UNLEASH_EDGE;
    let dirs = services::Dirs::from_env()?;
    std::fs::create_dir_all(&dirs.run)
        .with_context(|| format!("cannot create {}", dirs.run.display()))?;
    let mut installer = Installer::new(&dirs.cache, &dirs.run);
    // One found on the PATH may be another version: the bench reports the version that
    // Edge itself reports.
    installer.cargo_binary_without_default_features(name, version)
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

/// Stops the `program` (rtm, unleash-edge) that the bench's pid file names, if it is still
/// running: the bench removes the file when it stops the process itself.
fn stop_leftover(pid_file: &Path, program: &str) {
    let Ok(text) = std::fs::read_to_string(pid_file) else { return };
    let _ = std::fs::remove_file(pid_file);
    let Ok(pid) = text.trim().parse::<u32>() else { return };
    // Only the process the bench started: a pid the system has given to another program
    // since is left alone.
    let is_program = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|name| name.trim() == program);
    if is_program {
        println!("==> stopping {program} (pid {pid}), left running by the bench");
        let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    }
}
