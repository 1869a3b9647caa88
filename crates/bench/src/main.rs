//! rtm's benchmark: a tool run on demand with `cargo xtask bench`, never part of the test
//! suite. It measures, in one run, against the local service stack
//! (`cargo xtask services up`) and a release build of `rtm`:
//!
//! 1. runtime build-info resolution (`GET /api/runtime/app/{appId}/build/info`) with a real
//!    RS256 JWT of the OIDC mock on every request, under `wrk` at 64 and 16 connections,
//!    side by side with the liveness route of the same process (the floor) and with a peer,
//!    Unleash Edge in offline mode evaluating 50 flags with user and group constraints
//!    (`resolution`, `edge`); then with 1, 10 000 and 100 000 USER overrides on the
//!    application, for a user who has one and one who has none (`overrides`), and cold;
//! 2. the import of a generated archive of 10 000 resources (about 50 MB of JSON) into a
//!    fresh process: wall time, peak RSS, RSS after, side by side with a raw S3 PUT of the
//!    same bytes plus a raw MongoDB `insert_many` of the same resource documents; and the
//!    import of 100 000 smaller resources into another fresh process;
//! 3. design time with an Application Manager on the same backends: the generated resources
//!    put into an application over HTTP, committed; a WIP started from that committed
//!    version and committed with one resource edited; a build created from it; and that
//!    build's archive imported into a Runtime Manager of a fresh isolation, side by side;
//! 4. idle RSS, and the time from spawn to the first readiness 200, on a first start (fresh
//!    schema) and on a restart.
//!
//! It prints a Markdown table with a pass/miss per target and writes the numbers to
//! `report.json` (`target/bench/report.json` by default); `docs/PERFORMANCE.md` describes
//! the method and holds a measured table. Every wait has a deadline, the load goes to
//! 127.0.0.1 only, and the processes it starts (rtm, Unleash Edge) are stopped at the end,
//! on failure and on Ctrl-C alike. It depends on `build-archive` and on the drivers of the
//! raw baseline and of the override bulk (`mongodb`, `rust-s3`, `tokio-postgres`), never on
//! an adapter.

// Reporting to the person at the terminal is this binary's job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod api;
mod archive;
mod baseline;
mod design;
mod edge;
mod load;
mod overrides;
mod process;
mod procfs;
mod profile;
mod report;
mod resolution;
mod rtm;
mod stack;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use secrecy::SecretString;

use crate::api::{Api, OPERATOR_ROLES};
use crate::archive::GeneratedBuild;
use crate::report::{ImportMeasure, Machine, Measurements, RawMeasure};
use crate::rtm::Rtm;
use crate::stack::{Isolation, Stack};

/// The machine counts as quiet below this busy share (the stack's own services idle at a
/// few percent).
const QUIET_BUSY_SHARE: f64 = 0.15;
const QUIET_SAMPLE: Duration = Duration::from_secs(3);

#[derive(Debug, Parser)]
#[command(about = "rtm's benchmark; run it with `cargo xtask bench`")]
pub(crate) struct Args {
    /// The `rtm` binary to measure (a release build).
    #[arg(long)]
    rtm: PathBuf,
    /// The `unleash-edge` binary, the peer.
    #[arg(long, default_value = "unleash-edge")]
    edge: PathBuf,
    /// Where the JSON report goes; logs and the pid files go next to it.
    #[arg(long, default_value = "target/bench/report.json")]
    out: PathBuf,
    /// The `wrk` binary.
    #[arg(long, default_value = "wrk")]
    wrk: PathBuf,
    /// Seconds of each measured load run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds of the warm-up run before each measured one.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// The connection counts every route is loaded with (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "64,16")]
    connections: Vec<u32>,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// USER override counts of the build-info runs, ascending (comma-separated); the first
    /// is the base of the flatness target.
    #[arg(long, value_delimiter = ',', default_value = "1,10000,100000")]
    overrides: Vec<usize>,
    /// Resources in the generated build that is imported (and used at design time).
    #[arg(long, default_value_t = 10_000)]
    resources: usize,
    /// Mean size of one resource file, in bytes (10 000 of them make about 50 MB).
    #[arg(long, default_value_t = 4_650)]
    resource_bytes: usize,
    /// Resources in the large generated build, imported into a fresh process; 0: none.
    #[arg(long, default_value_t = 100_000)]
    large_resources: usize,
    /// Mean size of one resource of the large build (100 000 of them make about 100 MB).
    #[arg(long, default_value_t = 1_000)]
    large_resource_bytes: usize,
    /// Seconds rtm idles before its idle RSS is read.
    #[arg(long, default_value_t = 3)]
    idle: u64,
    /// Seconds after an import when its settled RSS is read.
    #[arg(long, default_value_t = 10)]
    settle: u64,
    /// Seconds to wait at most for a quiet machine before measuring anyway.
    #[arg(long, default_value_t = 300)]
    quiet_wait: u64,
    /// Also records a CPU profile of rtm (`perf`) during one more warm build-info run (the
    /// first override count, the fewest connections), written as `profile.txt` next to the
    /// report.
    #[arg(long)]
    profile: bool,
    /// The commit measured, for the report.
    #[arg(long)]
    commit: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // On Ctrl-C the run's future is dropped, and with it the running rtm (killed on drop).
    let outcome = tokio::select! {
        outcome = run(&args) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let started = Instant::now();
    check_args(args)?;
    let stack = Stack::from_env()?;
    let out_dir = args.out.parent().unwrap_or(Path::new(".")).to_owned();
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;

    let generated = generate(started, args.resources, args.resource_bytes, 0x5EED).await?;
    let large = if args.large_resources == 0 {
        None
    } else {
        let large =
            generate(started, args.large_resources, args.large_resource_bytes, 0x5EED + 1).await?;
        // Only the archive is imported; the resources are for the small build's baseline.
        Some(Generated {
            resources: args.large_resources,
            json_bytes: large.json_bytes,
            archive: large.archive,
        })
    };

    step(started, "waiting for the machine to be quiet (other work skews every number)");
    let busy_before = wait_for_quiet(Duration::from_secs(args.quiet_wait)).await?;
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    step(
        started,
        &format!("machine {:.0} % busy, load average {load_average}", busy_before * 100.0),
    );
    let isolation = Isolation::new();
    let measured = measure(args, &stack, &isolation, &out_dir, generated, large, started).await;
    step(started, "removing the run's MongoDB database and S3 bucket");
    for leftover in baseline::clean_up(&stack, &isolation).await {
        eprintln!("warning: not cleaned up: {leftover}");
    }
    let mut measurements = measured?;
    measurements.load_average = load_average;
    measurements.machine_busy_before = busy_before;

    let json = serde_json::to_string_pretty(&measurements.to_json())?;
    std::fs::write(&args.out, json + "\n")
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!();
    println!(
        "rtm bench, {} (commit {}) on {} CPUs ({}), load average at start {} ({:.0} % busy); load: {} with {} threads, {} s per run after {} s of warm-up; whole run {:.0} s",
        measurements.date,
        measurements.commit.as_deref().unwrap_or("unknown"),
        measurements.machine.cpus,
        measurements.machine.cpu_model,
        measurements.load_average,
        measurements.machine_busy_before * 100.0,
        measurements.load_tool,
        measurements.threads,
        measurements.duration.as_secs(),
        measurements.warmup.as_secs(),
        started.elapsed().as_secs_f64()
    );
    println!();
    print!("{}", measurements.table());
    println!();
    println!("report: {}", args.out.display());
    Ok(())
}

/// Refuses settings the run cannot measure, before anything starts.
fn check_args(args: &Args) -> anyhow::Result<()> {
    if args.connections.is_empty() || args.connections.contains(&0) {
        bail!("--connections needs at least one count, none of them 0");
    }
    if args.overrides.first() == Some(&0) || !args.overrides.is_sorted_by(|a, b| a < b) {
        bail!("--overrides must be ascending counts of at least 1, as 1,10000,100000");
    }
    if args.resources == 0 {
        bail!("--resources must be at least 1");
    }
    Ok(())
}

/// A generated build's archive, without its resources.
#[derive(Debug)]
struct Generated {
    resources: usize,
    json_bytes: u64,
    archive: Vec<u8>,
}

async fn generate(
    started: Instant,
    resources: usize,
    mean_bytes: usize,
    seed: u64,
) -> anyhow::Result<GeneratedBuild> {
    step(
        started,
        &format!("generating a build of {resources} resources of about {mean_bytes} bytes"),
    );
    let generated = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
        archive::generate(dir.path(), resources, mean_bytes, seed)
    })
    .await??;
    step(
        started,
        &format!(
            "{:.1} MB of JSON, archive {:.1} MB",
            generated.json_bytes as f64 / 1e6,
            generated.archive.len() as f64 / 1e6
        ),
    );
    Ok(generated)
}

#[allow(clippy::too_many_lines, reason = "the run's steps in order, each a few lines")]
async fn measure(
    args: &Args,
    stack: &Stack,
    isolation: &Isolation,
    out_dir: &Path,
    generated: GeneratedBuild,
    large: Option<Generated>,
    started: Instant,
) -> anyhow::Result<Measurements> {
    let env = stack.rtm_env(isolation)?;
    let ticks = clock_ticks_per_second();
    let pid_file = out_dir.join("rtm.pid");
    let api = Api::new()?;
    let settle = Duration::from_secs(args.settle);

    step(started, "first start of rtm (fresh schema, database, bucket and topics)");
    let first =
        Rtm::start(&args.rtm, &env, &out_dir.join("rtm-first-start.log"), &pid_file).await?;
    let ready_first = first.ready_after;
    first.stop()?;
    step(started, &format!("ready after {} ms; restarting", ready_first.as_millis()));
    let rtm = Rtm::start(&args.rtm, &env, &out_dir.join("rtm.log"), &pid_file).await?;
    let ready_restart = rtm.ready_after;
    step(
        started,
        &format!("ready after {} ms; idle for {} s", ready_restart.as_millis(), args.idle),
    );
    tokio::time::sleep(Duration::from_secs(args.idle)).await;
    let idle_rss_bytes = procfs::memory(rtm.pid())?.rss_bytes;

    step(started, &format!("importing the generated build of {} resources", args.resources));
    let operator = api.token(&stack.token_url(), "bench-operator", OPERATOR_ROLES).await?;
    let small = Generated {
        resources: args.resources,
        json_bytes: generated.json_bytes,
        archive: generated.archive,
    };
    let import = measure_import(&api, &rtm, &operator, &small, settle, ticks).await?;
    step(started, &format!("imported build {} in {:.2} s", generated.build_id, import.seconds));

    step(started, "raw baseline: one S3 PUT of the archive, one insert_many of the resources");
    let raw_build_id = uuid::Uuid::new_v4().to_string();
    let resources = std::sync::Arc::new(generated.resources);
    let documents = tokio::task::spawn_blocking({
        let resources = std::sync::Arc::clone(&resources);
        move || baseline::resource_documents(&raw_build_id, &resources)
    })
    .await??;
    let s3_put = baseline::s3_put(stack, isolation, &small.archive).await?;
    let mongo_insert = baseline::mongo_insert(stack, isolation, &documents).await?;
    drop(documents);
    drop(small);
    let raw = RawMeasure {
        s3_put_seconds: s3_put.as_secs_f64(),
        mongo_insert_seconds: mongo_insert.as_secs_f64(),
    };
    step(started, &format!("raw: {:.2} s", raw.seconds()));

    step(started, "design time: an Application Manager on the same backends");
    let mut manager_env = env.clone();
    for (name, value) in &mut manager_env {
        if name == "SPRING_APPLICATION_NAME" {
            "application-manager".clone_into(value);
        }
    }
    let manager = Rtm::start(
        &args.rtm,
        &manager_env,
        &out_dir.join("rtm-application-manager.log"),
        &out_dir.join("rtm-application-manager.pid"),
    )
    .await?;
    let designer = api.token(&stack.token_url(), "bench-designer", design::DESIGNER_ROLES).await?;
    step(
        started,
        &format!("design time: filling an application with {} resources", resources.len()),
    );
    let design =
        design::measure(&api, stack, &args.rtm, out_dir, &manager, &rtm, &designer, &resources)
            .await
            .with_context(|| {
                format!("the Application Manager's log ends with:\n{}", manager.log_tail())
            })?;
    manager.stop()?;
    drop(resources);
    rtm.stop()?;
    step(
        started,
        &format!(
            "design time: WIP start {:.3} s, commit {:.3} s, build {:.2} s vs import {:.2} s",
            design.wip_start_seconds,
            design.commit_seconds,
            design.build_seconds,
            design.import_seconds
        ),
    );

    let large_import = match large {
        None => None,
        Some(large) => {
            step(
                started,
                &format!(
                    "importing the large build of {} resources into a fresh rtm",
                    large.resources
                ),
            );
            let fresh =
                Rtm::start(&args.rtm, &env, &out_dir.join("rtm-large-import.log"), &pid_file)
                    .await?;
            let measured = measure_import(&api, &fresh, &operator, &large, settle, ticks).await?;
            fresh.stop()?;
            step(started, &format!("imported in {:.2} s", measured.seconds));
            Some(measured)
        }
    };

    let resolution = resolution::measure(
        args,
        &resolution::Setup { stack, isolation, env: &env, out_dir, pid_file: &pid_file, ticks },
        &api,
        &operator,
        started,
    )
    .await?;

    Ok(Measurements {
        date: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)?,
        commit: args.commit.clone(),
        machine: Machine::this(),
        load_tool: "wrk".to_owned(),
        threads: args.threads,
        duration: Duration::from_secs(args.duration),
        warmup: Duration::from_secs(args.warmup),
        load_average: String::new(),
        machine_busy_before: 0.0,
        edge_version: resolution.edge_version,
        connections: args.connections.clone(),
        override_counts: args.overrides.clone(),
        runs: resolution.runs,
        rss_with_overrides: resolution.rss_with_overrides,
        import,
        large_import,
        settle,
        raw,
        design,
        idle_rss_bytes,
        idle: Duration::from_secs(args.idle),
        ready_first,
        ready_restart,
    })
}

/// Imports `build` into `rtm` (a fresh process) and reads its memory: before, the peak and
/// the RSS right after the answer, and the RSS `settle` later.
async fn measure_import(
    api: &Api,
    rtm: &Rtm,
    operator: &SecretString,
    build: &Generated,
    settle: Duration,
    ticks: f64,
) -> anyhow::Result<ImportMeasure> {
    let before = procfs::memory(rtm.pid())?;
    let cpu_before = procfs::process_ticks(rtm.pid())?;
    let import_started = Instant::now();
    api.import_new(&rtm.base, operator, build.archive.clone())
        .await
        .with_context(|| format!("rtm's log ends with:\n{}", rtm.log_tail()))?;
    let seconds = import_started.elapsed().as_secs_f64();
    let after = procfs::memory(rtm.pid())?;
    let cpu_seconds = procfs::process_ticks(rtm.pid())?.saturating_sub(cpu_before) as f64 / ticks;
    tokio::time::sleep(settle).await;
    let settled = procfs::memory(rtm.pid())?;
    Ok(ImportMeasure {
        resources: build.resources,
        json_bytes: build.json_bytes,
        archive_bytes: build.archive.len() as u64,
        seconds,
        cpu_seconds,
        rss_before_bytes: before.rss_bytes,
        peak_bytes: after.peak_bytes,
        rss_after_bytes: after.rss_bytes,
        rss_settled_bytes: settled.rss_bytes,
    })
}

/// Waits until the machine is less than [`QUIET_BUSY_SHARE`] busy over a sample, for
/// `within` at most; the busy share of the last sample, which the report keeps.
async fn wait_for_quiet(within: Duration) -> anyhow::Result<f64> {
    let deadline = Instant::now() + within;
    loop {
        let before = procfs::machine_ticks()?;
        tokio::time::sleep(QUIET_SAMPLE).await;
        let busy = before.busy_share_until(procfs::machine_ticks()?);
        if busy < QUIET_BUSY_SHARE {
            return Ok(busy);
        }
        if Instant::now() >= deadline {
            eprintln!(
                "warning: the machine is still {:.0} % busy after {} s; measuring anyway",
                busy * 100.0,
                within.as_secs()
            );
            return Ok(busy);
        }
    }
}

/// `getconf CLK_TCK`: the unit of `/proc` CPU times (100 on every common Linux).
fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok()?.trim().parse::<f64>().ok())
        .filter(|ticks| *ticks > 0.0)
        .unwrap_or(100.0)
}

pub(crate) fn step(started: Instant, message: &str) {
    eprintln!("[{:6.1} s] {message}", started.elapsed().as_secs_f64());
}
