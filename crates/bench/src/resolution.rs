//! Build info under load, side by side with the liveness route of the same process (the
//! floor) and with the peer, Unleash Edge, under the same `wrk` settings; then build info
//! again as the application's USER overrides grow, for a user who has one and a user who
//! has none; then cold: a restarted rtm whose near cache is off (`RTM_NEAR_CACHE_MAX_MB=0`),
//! so that every request takes the second-level path (docs/PERFORMANCE.md says why that is
//! the cold case).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use secrecy::SecretString;
use serde_json::Value;

use crate::api::Api;
use crate::edge::{self, Edge};
use crate::load::{self, LoadSettings};
use crate::overrides::{MATCHING_USER, OTHER_USER, Overrides};
use crate::report::{CpuUse, Route, Run};
use crate::rtm::Rtm;
use crate::stack::{Isolation, Stack};
use crate::{Args, procfs, profile, step};

/// The examples the resolution runs on: a library, an application that depends on it (the
/// global policy), and a later build of that application (the one every override names).
const LIBRARY_EXAMPLE: &str = "shared-library-1";
const GLOBAL_EXAMPLE: &str = "loan-origination-1";
const OVERRIDE_EXAMPLE: &str = "loan-origination-2";
/// A run that fails more than this share of its requests is reported (failed requests
/// never count as throughput) and warned about: it measures error paths, not resolution.
const WARN_ERROR_SHARE: f64 = 0.01;
/// The near cache's size variable: 0 turns it off.
const NEAR_CACHE_OFF: (&str, &str) = ("RTM_NEAR_CACHE_MAX_MB", "0");

/// What the run shares with the rest of the bench.
#[derive(Debug)]
pub(crate) struct Setup<'a> {
    pub(crate) stack: &'a Stack,
    pub(crate) isolation: &'a Isolation,
    pub(crate) env: &'a [(String, String)],
    pub(crate) out_dir: &'a Path,
    pub(crate) pid_file: &'a Path,
    /// `getconf CLK_TCK`.
    pub(crate) ticks: f64,
}

/// What the resolution runs measured.
#[derive(Debug)]
pub(crate) struct Resolution {
    pub(crate) runs: Vec<Run>,
    /// The peer's version, as it reports it.
    pub(crate) edge_version: String,
    pub(crate) rss_with_overrides: Vec<(usize, u64)>,
}

/// The builds of the resolution.
#[derive(Debug)]
struct Builds {
    application_id: String,
    global: String,
    overridden: String,
}

/// Runs every resolution measure on a fresh rtm of the run's isolation.
pub(crate) async fn measure(
    args: &Args,
    setup: &Setup<'_>,
    api: &Api,
    operator: &SecretString,
    started: Instant,
) -> anyhow::Result<Resolution> {
    let settings = LoadSettings {
        wrk: args.wrk.clone(),
        threads: args.threads,
        connections: 0,
        duration: Duration::from_secs(args.duration),
        request_timeout: Duration::from_secs(2),
    };
    let script = load::write_script(setup.out_dir)?;
    let loader = Loader {
        settings,
        warmup: Duration::from_secs(args.warmup),
        script: &script,
        ticks: setup.ticks,
    };
    let log = setup.out_dir.join("rtm-resolution.log");
    let rtm = Rtm::start(&args.rtm, setup.env, &log, setup.pid_file).await?;

    step(started, "resolution: importing the examples and setting the active policy");
    let builds = prepare(api, &rtm, operator).await?;
    let token_url = setup.stack.token_url();
    let group = edge::group();
    let matching_token = api.token_in_groups(&token_url, MATCHING_USER, &[], &[&group]).await?;
    let other_token = api.token_in_groups(&token_url, OTHER_USER, &[], &[&group]).await?;
    let (matching, other) = (load::bearer(&matching_token), load::bearer(&other_token));
    let build_info = format!("{}/api/runtime/app/{}/build/info", rtm.base, builds.application_id);
    let liveness = format!("{}/actuator/health/liveness", rtm.management);
    let mut runs = Vec::new();

    step(started, "the peer: Unleash Edge offline, checked to evaluate");
    let peer = Edge::start(
        &args.edge,
        setup.out_dir,
        MATCHING_USER,
        &setup.out_dir.join("unleash-edge.pid"),
    )
    .await?;
    peer.verify(MATCHING_USER, OTHER_USER).await?;
    let edge_version = peer.version.clone();
    let evaluation = peer.evaluation_url(MATCHING_USER);
    for &connections in &args.connections {
        step(started, &format!("liveness and Unleash Edge, {connections} connections"));
        runs.push(loader.run(Route::Liveness, connections, &liveness, &matching, rtm.pid()).await?);
        runs.push(
            loader.run(Route::Edge, connections, &evaluation, &Edge::header(), peer.pid()).await?,
        );
    }
    peer.stop()?;

    let mut overrides = Overrides::new(
        api.client(),
        &rtm.base,
        operator,
        &builds.application_id,
        &builds.overridden,
        setup.stack,
        setup.isolation,
    );
    let mut rss_with_overrides = Vec::new();
    for &count in &args.overrides {
        step(started, &format!("growing the application's USER overrides to {count}"));
        overrides.grow_to(count).await?;
        overrides.verify(&builds.global).await?;
        check_build_info(api, &build_info, &matching_token, &builds.overridden).await?;
        check_build_info(api, &build_info, &other_token, &builds.global).await?;
        for &connections in &args.connections {
            step(started, &format!("build info, {count} overrides, {connections} connections"));
            for (is_matching, header) in [(true, &matching), (false, &other)] {
                let route =
                    Route::BuildInfo { overrides: count, matching: is_matching, cold: false };
                runs.push(loader.run(route, connections, &build_info, header, rtm.pid()).await?);
            }
        }
        rss_with_overrides.push((overrides.count(), procfs::memory(rtm.pid())?.rss_bytes));
        if args.profile && args.overrides.first() == Some(&count) {
            let connections = args.connections.iter().copied().min().unwrap_or(16);
            step(
                started,
                &format!("profile: build info, {count} overrides, {connections} connections"),
            );
            let settings = LoadSettings { connections, ..loader.settings.clone() };
            profile::record(&settings, &script, &build_info, &matching, rtm.pid(), setup.out_dir)
                .await?;
        }
    }
    rtm.stop()?;

    if let Some(&count) = args.overrides.last() {
        step(started, &format!("cold: rtm restarted with its near cache off, {count} overrides"));
        let mut env = setup.env.to_vec();
        env.push((NEAR_CACHE_OFF.0.to_owned(), NEAR_CACHE_OFF.1.to_owned()));
        let log = setup.out_dir.join("rtm-cold.log");
        let cold = Rtm::start(&args.rtm, &env, &log, setup.pid_file).await?;
        let build_info =
            format!("{}/api/runtime/app/{}/build/info", cold.base, builds.application_id);
        check_build_info(api, &build_info, &matching_token, &builds.overridden).await?;
        for &connections in &args.connections {
            let route = Route::BuildInfo { overrides: count, matching: true, cold: true };
            runs.push(loader.run(route, connections, &build_info, &matching, cold.pid()).await?);
        }
        cold.stop()?;
    }
    Ok(Resolution { runs, edge_version, rss_with_overrides })
}

/// The same `wrk` settings for every route: a warm-up run, then the measured one.
#[derive(Debug)]
struct Loader<'a> {
    settings: LoadSettings,
    warmup: Duration,
    script: &'a Path,
    ticks: f64,
}

impl Loader<'_> {
    /// Loads `url` with `connections` connections; the CPU is that of process `pid` (the
    /// one that answers).
    async fn run(
        &self,
        route: Route,
        connections: u32,
        url: &str,
        header: &SecretString,
        pid: u32,
    ) -> anyhow::Result<Run> {
        let settings = LoadSettings { connections, ..self.settings.clone() };
        let warmup = LoadSettings { duration: self.warmup, ..settings.clone() };
        if !self.warmup.is_zero() {
            load::run(&warmup, self.script, url, header).await?;
        }
        let (process_before, machine_before) =
            (procfs::process_ticks(pid)?, procfs::machine_ticks()?);
        let result = load::run(&settings, self.script, url, header).await?;
        let (process_after, machine_after) =
            (procfs::process_ticks(pid)?, procfs::machine_ticks()?);
        let cpu = CpuUse {
            process_seconds: process_after.saturating_sub(process_before) as f64 / self.ticks,
            machine_busy_share: machine_before.busy_share_until(machine_after),
        };
        if result.error_share() > WARN_ERROR_SHARE {
            eprintln!(
                "warning: {url}: {} of {} requests failed; only answered ones count",
                result.errors, result.requests
            );
        }
        Ok(Run { route, connections, load: result, cpu })
    }
}

/// Imports the library and the two builds of the application, and makes the first one the
/// application's global policy.
async fn prepare(api: &Api, rtm: &Rtm, operator: &SecretString) -> anyhow::Result<Builds> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/builds");
    for name in [LIBRARY_EXAMPLE, GLOBAL_EXAMPLE, OVERRIDE_EXAMPLE] {
        let packed = build_archive::pack_directory(&examples.join(name))
            .map_err(|err| anyhow::anyhow!("{err}"))
            .with_context(|| format!("cannot pack examples/builds/{name}"))?;
        api.import_new(&rtm.base, operator, packed.bytes)
            .await
            .with_context(|| format!("importing examples/builds/{name}"))?;
    }
    let field = |example: &str, name: &str| -> anyhow::Result<String> {
        let path = examples.join(example).join("build.json");
        let build: Value = serde_json::from_slice(
            &std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?,
        )?;
        build[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no {name} in {}", path.display()))
    };
    let builds = Builds {
        application_id: field(GLOBAL_EXAMPLE, "applicationId")?,
        global: field(GLOBAL_EXAMPLE, "buildId")?,
        overridden: field(OVERRIDE_EXAMPLE, "buildId")?,
    };
    if field(OVERRIDE_EXAMPLE, "applicationId")? != builds.application_id {
        bail!(
            "examples/builds/{OVERRIDE_EXAMPLE} is not a build of {GLOBAL_EXAMPLE}'s application"
        );
    }
    api.set_policy(&rtm.base, operator, &builds.application_id, &builds.global).await?;
    Ok(builds)
}

/// Insists that build info at `url` resolves `expected` for the holder of `token`.
async fn check_build_info(
    api: &Api,
    url: &str,
    token: &SecretString,
    expected: &str,
) -> anyhow::Result<()> {
    let resolved = api.resolved_build(url, token).await?;
    if resolved != expected {
        bail!("build info resolved {resolved}, not {expected}");
    }
    Ok(())
}
