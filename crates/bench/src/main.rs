//! rtm's benchmark: a tool run on demand with `cargo xtask bench`, never part of the test
//! suite. It measures, in one run, against the local service stack
//! (`cargo xtask services up`) and a release build of `rtm`:
//!
//! 1. runtime build-info resolution (`GET /api/runtime/app/{appId}/build/info`) with a real
//!    JWT of the OIDC mock on every request and a warm Redis cache, under `wrk` with 64
//!    connections, side by side with the trivial JSON route of the same process
//!    (`/actuator/health/liveness`) under the same load;
//! 2. the import of a generated archive of 10 000 resources (about 50 MB of JSON): wall time
//!    and the process's peak RSS, side by side with a raw S3 PUT of the same bytes plus a raw
//!    MongoDB `insert_many` of the same resource documents;
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
//! 127.0.0.1 only, and the `rtm` processes it starts are stopped at the end, on failure and
//! on Ctrl-C alike. It depends on `build-archive` and on the drivers of the raw baseline
//! (`mongodb`, `rust-s3`), never on an adapter.

// Reporting to the person at the terminal is this binary's job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod api;
mod archive;
mod baseline;
mod design;
mod load;
mod procfs;
mod report;
mod rtm;
mod stack;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use secrecy::SecretString;
use serde_json::Value;

use crate::api::{Api, OPERATOR_ROLES};
use crate::archive::GeneratedBuild;
use crate::load::{LoadResult, LoadSettings};
use crate::report::{CpuUse, ImportMeasure, Machine, Measurements, RawMeasure};
use crate::rtm::Rtm;
use crate::stack::{Isolation, Stack};

/// The examples the resolution runs on: a library and an application that depends on it.
const LIBRARY_EXAMPLE: &str = "shared-library-1";
const APPLICATION_EXAMPLE: &str = "loan-origination-1";
/// More failed requests than this share of a load run fails the run: it would measure
/// error paths, not resolution.
const MAX_ERROR_SHARE: f64 = 0.01;
/// The machine counts as quiet below this busy share (the stack's own services idle at a
/// few percent).
const QUIET_BUSY_SHARE: f64 = 0.15;
const QUIET_SAMPLE: Duration = Duration::from_secs(3);
const QUIET_WITHIN: Duration = Duration::from_secs(300);

#[derive(Debug, Parser)]
#[command(about = "rtm's benchmark; run it with `cargo xtask bench`")]
struct Args {
    /// The `rtm` binary to measure (a release build).
    #[arg(long)]
    rtm: PathBuf,
    /// Where the JSON report goes; logs and the pid file go next to it.
    #[arg(long, default_value = "target/bench/report.json")]
    out: PathBuf,
    /// The `wrk` binary.
    #[arg(long, default_value = "wrk")]
    wrk: PathBuf,
    /// Seconds of each measured load run.
    #[arg(long, default_value_t = 15)]
    duration: u64,
    /// Seconds of the warm-up run before each measured one.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Concurrent connections of the load.
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Resources in the generated build.
    #[arg(long, default_value_t = 10_000)]
    resources: usize,
    /// Mean size of one resource file, in bytes (10 000 of them make about 50 MB).
    #[arg(long, default_value_t = 4_650)]
    resource_bytes: usize,
    /// Seconds rtm idles before its idle RSS is read.
    #[arg(long, default_value_t = 3)]
    idle: u64,
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
    let stack = Stack::from_env()?;
    let out_dir = args.out.parent().unwrap_or(Path::new(".")).to_owned();
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;

    step(started, &format!("generating a build of {} resources", args.resources));
    let (n_resources, mean_bytes) = (args.resources, args.resource_bytes);
    let generated = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
        archive::generate(dir.path(), n_resources, mean_bytes, 0x5EED)
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

    step(started, "waiting for the machine to be quiet (other work skews every number)");
    let busy_before = wait_for_quiet().await?;
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    step(
        started,
        &format!("machine {:.0} % busy, load average {load_average}", busy_before * 100.0),
    );
    let isolation = Isolation::new();
    let measured = measure(args, &stack, &isolation, &out_dir, generated, started).await;
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
        "rtm bench, {} (commit {}) on {} CPUs ({}), load average at start {} ({:.0} % busy); load: {} with {} threads, {} connections, {} s per route",
        measurements.date,
        measurements.commit.as_deref().unwrap_or("unknown"),
        measurements.machine.cpus,
        measurements.machine.cpu_model,
        measurements.load_average,
        measurements.machine_busy_before * 100.0,
        measurements.load_tool,
        measurements.threads,
        measurements.connections,
        measurements.duration.as_secs()
    );
    println!();
    print!("{}", measurements.table());
    println!();
    println!("report: {}", args.out.display());
    Ok(())
}

async fn measure(
    args: &Args,
    stack: &Stack,
    isolation: &Isolation,
    out_dir: &Path,
    generated: GeneratedBuild,
    started: Instant,
) -> anyhow::Result<Measurements> {
    let env = stack.rtm_env(isolation)?;
    let ticks_per_second = clock_ticks_per_second();
    let pid_file = out_dir.join("rtm.pid");
    let api = Api::new()?;

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

    step(started, "importing the generated build");
    let operator = api.token(&stack.token_url(), "bench-operator", OPERATOR_ROLES).await?;
    let before = procfs::memory(rtm.pid())?;
    let cpu_before = procfs::process_ticks(rtm.pid())?;
    let import_started = Instant::now();
    api.import_new(&rtm.base, &operator, generated.archive.clone())
        .await
        .with_context(|| format!("rtm's log ends with:\n{}", rtm.log_tail()))?;
    let import_seconds = import_started.elapsed().as_secs_f64();
    let after = procfs::memory(rtm.pid())?;
    let import_cpu_seconds =
        procfs::process_ticks(rtm.pid())?.saturating_sub(cpu_before) as f64 / ticks_per_second;
    step(started, &format!("imported build {} in {import_seconds:.2} s", generated.build_id));

    step(started, "raw baseline: one S3 PUT of the archive, one insert_many of the resources");
    let raw_build_id = uuid::Uuid::new_v4().to_string();
    let resources = std::sync::Arc::new(generated.resources);
    let documents = tokio::task::spawn_blocking({
        let resources = std::sync::Arc::clone(&resources);
        move || baseline::resource_documents(&raw_build_id, &resources)
    })
    .await??;
    let s3_put = baseline::s3_put(stack, isolation, &generated.archive).await?;
    let mongo_insert = baseline::mongo_insert(stack, isolation, &documents).await?;
    drop(documents);
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

    step(started, "resolution: importing the examples and setting the active policy");
    let (application_id, build_id) = prepare_resolution(&api, &rtm, &operator).await?;
    let user = api.token(&stack.token_url(), "bench-user", &[]).await?;
    let resolution_url = format!("{}/api/runtime/app/{application_id}/build/info", rtm.base);
    let resolved = api.resolved_build(&resolution_url, &user).await?;
    if resolved != build_id {
        bail!("build info resolved {resolved}, not the active build {build_id}");
    }
    let trivial_url = format!("{}/actuator/health/liveness", rtm.management);
    let script = load::write_script(out_dir)?;
    let settings = LoadSettings {
        wrk: args.wrk.clone(),
        threads: args.threads,
        connections: args.connections,
        duration: Duration::from_secs(args.duration),
        request_timeout: Duration::from_secs(2),
    };
    let warmup = LoadSettings { duration: Duration::from_secs(args.warmup), ..settings.clone() };
    step(started, "warming up both routes");
    for url in [&trivial_url, &resolution_url] {
        load::run(&warmup, &script, url, &user).await?;
    }
    step(started, &format!("load on the trivial route for {} s", args.duration));
    let (trivial, trivial_cpu) =
        measured_load(&settings, &script, &trivial_url, &user, rtm.pid(), ticks_per_second).await?;
    step(started, &format!("load on build info for {} s", args.duration));
    let (resolution, resolution_cpu) =
        measured_load(&settings, &script, &resolution_url, &user, rtm.pid(), ticks_per_second)
            .await?;
    rtm.stop()?;

    Ok(Measurements {
        date: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)?,
        commit: args.commit.clone(),
        machine: Machine::this(),
        load_tool: "wrk".to_owned(),
        load_average: String::new(),
        machine_busy_before: 0.0,
        threads: args.threads,
        connections: args.connections,
        duration: settings.duration,
        resolution,
        resolution_cpu,
        trivial,
        trivial_cpu,
        import: ImportMeasure {
            resources: args.resources,
            json_bytes: generated.json_bytes,
            archive_bytes: generated.archive.len() as u64,
            seconds: import_seconds,
            cpu_seconds: import_cpu_seconds,
            rss_before_bytes: before.rss_bytes,
            peak_bytes: after.peak_bytes,
            rss_after_bytes: after.rss_bytes,
        },
        raw,
        design,
        idle_rss_bytes,
        idle: Duration::from_secs(args.idle),
        ready_first,
        ready_restart,
    })
}

/// Imports the example library and application and makes the application's build active
/// for everyone; returns (application id, build id).
async fn prepare_resolution(
    api: &Api,
    rtm: &Rtm,
    operator: &SecretString,
) -> anyhow::Result<(String, String)> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/builds");
    for name in [LIBRARY_EXAMPLE, APPLICATION_EXAMPLE] {
        let packed = build_archive::pack_directory(&examples.join(name))
            .map_err(|err| anyhow::anyhow!("{err}"))
            .with_context(|| format!("cannot pack examples/builds/{name}"))?;
        api.import_new(&rtm.base, operator, packed.bytes)
            .await
            .with_context(|| format!("importing examples/builds/{name}"))?;
    }
    let build_json = examples.join(APPLICATION_EXAMPLE).join("build.json");
    let build: Value = serde_json::from_slice(
        &std::fs::read(&build_json)
            .with_context(|| format!("cannot read {}", build_json.display()))?,
    )?;
    let field = |name: &str| {
        build[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no {name} in {}", build_json.display()))
    };
    let (application_id, build_id) = (field("applicationId")?, field("buildId")?);
    api.set_policy(&rtm.base, operator, &application_id, &build_id).await?;
    Ok((application_id, build_id))
}

/// A measured load run that failed no more than [`MAX_ERROR_SHARE`] of its requests, and
/// the CPU that rtm (process `pid`) and the machine spent meanwhile.
async fn measured_load(
    settings: &LoadSettings,
    script: &Path,
    url: &str,
    token: &SecretString,
    pid: u32,
    ticks_per_second: f64,
) -> anyhow::Result<(LoadResult, CpuUse)> {
    let (rtm_before, machine_before) = (procfs::process_ticks(pid)?, procfs::machine_ticks()?);
    let result = load::run(settings, script, url, token).await?;
    let (rtm_after, machine_after) = (procfs::process_ticks(pid)?, procfs::machine_ticks()?);
    let cpu = CpuUse {
        rtm_seconds: rtm_after.saturating_sub(rtm_before) as f64 / ticks_per_second,
        machine_busy_share: machine_before.busy_share_until(machine_after),
    };
    if result.requests == 0 || result.errors as f64 > result.requests as f64 * MAX_ERROR_SHARE {
        bail!("{url}: {} of {} requests failed", result.errors, result.requests);
    }
    if result.errors > 0 {
        eprintln!("warning: {url}: {} of {} requests failed", result.errors, result.requests);
    }
    Ok((result, cpu))
}

/// Waits until the machine is less than [`QUIET_BUSY_SHARE`] busy over a sample, for
/// [`QUIET_WITHIN`] at most; the busy share of the last sample, which the report keeps.
async fn wait_for_quiet() -> anyhow::Result<f64> {
    let deadline = Instant::now() + QUIET_WITHIN;
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
                QUIET_WITHIN.as_secs()
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

fn step(started: Instant, message: &str) {
    eprintln!("[{:6.1} s] {message}", started.elapsed().as_secs_f64());
}
