//! What a run measured, the targets it is held to, and the two ways it is reported: a
//! Markdown table for people (and for `docs/PERFORMANCE.md`) and `report.json`.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::load::LoadResult;

/// Megabytes as the targets mean them: 10^6 bytes.
const MB: f64 = 1_000_000.0;

/// The machine the run was on.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    pub(crate) cpus: usize,
    pub(crate) cpu_model: String,
    pub(crate) memory_bytes: u64,
    pub(crate) kernel: String,
}

impl Machine {
    /// This machine, from `/proc`.
    pub(crate) fn this() -> Self {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| {
                line.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let memory_bytes = read("/proc/meminfo")
            .lines()
            .find_map(|line| {
                line.strip_prefix("MemTotal:")?.split_whitespace().next()?.parse::<u64>().ok()
            })
            .map_or(0, |kib| kib * 1024);
        Self {
            cpus: std::thread::available_parallelism().map_or(0, usize::from),
            cpu_model,
            memory_bytes,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
        }
    }
}

/// One import into a fresh rtm process, and its memory.
#[derive(Debug, Clone)]
pub(crate) struct ImportMeasure {
    pub(crate) resources: usize,
    pub(crate) json_bytes: u64,
    pub(crate) archive_bytes: u64,
    pub(crate) seconds: f64,
    /// CPU time rtm used for the import.
    pub(crate) cpu_seconds: f64,
    pub(crate) rss_before_bytes: u64,
    /// `VmHWM` right after the answer: the process did nothing but start and import.
    pub(crate) peak_bytes: u64,
    pub(crate) rss_after_bytes: u64,
    /// `VmRSS` [`Measurements::settle`] after the answer.
    pub(crate) rss_settled_bytes: u64,
}

/// The CPU a load run took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CpuUse {
    /// CPU time of the process that answered (user + system), all its threads.
    pub(crate) process_seconds: f64,
    /// The share of the whole machine's CPU time that was busy (rtm, wrk, Redis, the rest).
    pub(crate) machine_busy_share: f64,
}

/// The raw baseline of the import.
#[derive(Debug, Clone)]
pub(crate) struct RawMeasure {
    pub(crate) s3_put_seconds: f64,
    pub(crate) mongo_insert_seconds: f64,
}

impl RawMeasure {
    pub(crate) fn seconds(&self) -> f64 {
        self.s3_put_seconds + self.mongo_insert_seconds
    }
}

/// Design time on an application of `resources` resources (docs/PERFORMANCE.md).
#[derive(Debug, Clone)]
pub(crate) struct DesignMeasure {
    pub(crate) resources: usize,
    /// Setup: creating every resource over HTTP, 8 at a time.
    pub(crate) fill_seconds: f64,
    /// Setup: the first commit (every resource version becomes COMMITTED).
    pub(crate) first_commit_seconds: f64,
    /// Starting a WIP from the committed version (copies links, not contents).
    pub(crate) wip_start_seconds: f64,
    /// Committing that WIP (one resource edited).
    pub(crate) commit_seconds: f64,
    /// Creating a build of it.
    pub(crate) build_seconds: f64,
    /// Importing that build's archive into a fresh Runtime Manager.
    pub(crate) import_seconds: f64,
    pub(crate) archive_bytes: u64,
}

impl DesignMeasure {
    /// Build creation over the import of the same build.
    pub(crate) fn build_ratio(&self) -> f64 {
        ratio(self.build_seconds, self.import_seconds)
    }
}

/// What a load run loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// rtm's `/actuator/health/liveness`: the floor.
    Liveness,
    /// Unleash Edge's `GET /api/frontend` for the matching user: the peer.
    Edge,
    /// rtm's build info with `overrides` USER overrides on the application, for the user
    /// who has one (`matching`) or for one who has none; `cold`: the near cache disabled.
    BuildInfo { overrides: usize, matching: bool, cold: bool },
}

impl Route {
    fn warm(overrides: usize, matching: bool) -> Self {
        Self::BuildInfo { overrides, matching, cold: false }
    }
}

/// One measured load run.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) route: Route,
    pub(crate) connections: u32,
    pub(crate) load: LoadResult,
    /// The CPU of the process that answered (rtm, or Edge for [`Route::Edge`]).
    pub(crate) cpu: CpuUse,
}

/// p99 is held to its bound at this many connections (at 64, a 2-core machine that also
/// runs the load generator measures its scheduler: docs/PERFORMANCE.md).
pub(crate) const P99_CONNECTIONS: u32 = 16;
const P99_BOUND_MS: f64 = 5.0;

/// Everything one run measured.
#[derive(Debug, Clone)]
pub(crate) struct Measurements {
    pub(crate) date: String,
    pub(crate) commit: Option<String>,
    pub(crate) machine: Machine,
    pub(crate) load_tool: String,
    pub(crate) threads: u32,
    pub(crate) duration: Duration,
    pub(crate) warmup: Duration,
    /// `/proc/loadavg` when the run started: other work on the machine skews every number.
    pub(crate) load_average: String,
    /// The busy share of the machine's CPUs just before the run (see `wait_for_quiet`).
    pub(crate) machine_busy_before: f64,
    /// `unleash-edge --version`.
    pub(crate) edge_version: String,
    /// The connection counts every route was loaded with.
    pub(crate) connections: Vec<u32>,
    /// The override counts, ascending; the first is the base of the flatness ratio.
    pub(crate) override_counts: Vec<usize>,
    pub(crate) runs: Vec<Run>,
    /// rtm's `VmRSS` after the build-info runs with each override count.
    pub(crate) rss_with_overrides: Vec<(usize, u64)>,
    pub(crate) import: ImportMeasure,
    /// The large import, when the run makes one.
    pub(crate) large_import: Option<ImportMeasure>,
    /// How long after an import its settled RSS is read.
    pub(crate) settle: Duration,
    pub(crate) raw: RawMeasure,
    pub(crate) design: DesignMeasure,
    pub(crate) idle_rss_bytes: u64,
    /// How long rtm idled before its idle RSS was read.
    pub(crate) idle: Duration,
    pub(crate) ready_first: Duration,
    pub(crate) ready_restart: Duration,
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) measure: String,
    pub(crate) rtm: String,
    pub(crate) baseline: String,
    pub(crate) ratio: String,
    pub(crate) target: String,
    /// `None` for a line without a target.
    pub(crate) pass: Option<bool>,
}

impl Row {
    fn new(measure: impl Into<String>, rtm: impl Into<String>) -> Self {
        Self {
            measure: measure.into(),
            rtm: rtm.into(),
            baseline: String::new(),
            ratio: String::new(),
            target: String::new(),
            pass: None,
        }
    }

    fn baseline(mut self, baseline: impl Into<String>) -> Self {
        self.baseline = baseline.into();
        self
    }

    fn ratio(mut self, ratio: f64) -> Self {
        self.ratio = format!("{ratio:.2}");
        self
    }

    fn target(mut self, target: impl Into<String>, pass: bool) -> Self {
        self.target = target.into();
        self.pass = Some(pass);
        self
    }

    fn result(&self) -> &'static str {
        match self.pass {
            Some(true) => "pass",
            Some(false) => "MISS",
            None => "",
        }
    }
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 { numerator / denominator } else { f64::INFINITY }
}

/// Microseconds of CPU per answered request.
fn cpu_per_request_us(cpu: CpuUse, load: &LoadResult) -> f64 {
    if load.requests == 0 { 0.0 } else { cpu.process_seconds * 1e6 / load.requests as f64 }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / MB
}

/// A load run in one cell: throughput, latency, CPU, and failures if any.
fn load_text(run: &Run) -> String {
    let load = &run.load;
    let mut text = format!(
        "{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {:.0} µs CPU/req",
        load.requests_per_second(),
        load.p50_ms,
        load.p99_ms,
        cpu_per_request_us(run.cpu, load)
    );
    if load.errors > 0 {
        let _ = write!(text, ", {} failed ({:.1} %)", load.errors, load.error_share() * 100.0);
    }
    text
}

fn rps_text(run: &Run) -> String {
    format!("{:.0} req/s", run.load.requests_per_second())
}

fn user_name(matching: bool) -> &'static str {
    if matching { "matching" } else { "other" }
}

impl Measurements {
    fn run(&self, route: Route, connections: u32) -> Option<&Run> {
        self.runs.iter().find(|run| run.route == route && run.connections == connections)
    }

    /// The slower of the two users' warm build-info runs with `overrides` overrides.
    fn slower_build_info(&self, overrides: usize, connections: u32) -> Option<&Run> {
        [true, false]
            .into_iter()
            .filter_map(|matching| self.run(Route::warm(overrides, matching), connections))
            .min_by(|a, b| a.load.requests_per_second().total_cmp(&b.load.requests_per_second()))
    }

    /// The import's wall time over the raw baseline's.
    pub(crate) fn import_ratio(&self) -> f64 {
        ratio(self.import.seconds, self.raw.seconds())
    }

    /// The resolution part of the table, per connection count.
    fn resolution_rows(&self, connections: u32) -> Vec<Row> {
        let mut rows = Vec::new();
        let liveness = self.run(Route::Liveness, connections);
        let edge = self.run(Route::Edge, connections);
        if let Some(liveness) = liveness {
            rows.push(Row::new(
                format!(
                    "Liveness `/actuator/health/liveness` (the floor), {connections} connections"
                ),
                load_text(liveness),
            ));
        }
        if let Some(edge) = edge {
            rows.push(
                Row::new(
                    format!(
                        "Peer: Unleash Edge {} offline, `GET /api/frontend` ({} flags, user and group constraints), {connections} connections",
                        self.edge_version,
                        crate::edge::FLAGS
                    ),
                    "",
                )
                .baseline(load_text(edge)),
            );
        }
        for &overrides in &self.override_counts {
            for matching in [true, false] {
                let Some(run) = self.run(Route::warm(overrides, matching), connections) else {
                    continue;
                };
                let mut row = Row::new(
                    format!(
                        "Build info, {overrides} USER overrides, {} user, {connections} connections",
                        user_name(matching)
                    ),
                    load_text(run),
                );
                if let Some(liveness) = liveness {
                    row = row.baseline(format!("{} (liveness)", rps_text(liveness))).ratio(ratio(
                        run.load.requests_per_second(),
                        liveness.load.requests_per_second(),
                    ));
                }
                if connections == P99_CONNECTIONS {
                    // A run that answered nothing has no latency to pass with.
                    let answered = run.load.requests > run.load.errors;
                    row = row.target("p99 < 5 ms", answered && run.load.p99_ms < P99_BOUND_MS);
                }
                rows.push(row);
            }
            let cold = Route::BuildInfo { overrides, matching: true, cold: true };
            if let Some(run) = self.run(cold, connections) {
                let mut row = Row::new(
                    format!(
                        "Build info cold (near cache off: `RTM_NEAR_CACHE_MAX_MB=0`), {overrides} USER overrides, matching user, {connections} connections"
                    ),
                    load_text(run),
                );
                if let Some(warm) = self.run(Route::warm(overrides, true), connections) {
                    row = row.baseline(format!("{} (warm)", rps_text(warm))).ratio(ratio(
                        run.load.requests_per_second(),
                        warm.load.requests_per_second(),
                    ));
                }
                rows.push(row);
            }
        }
        let (Some(&fewest), Some(&most)) =
            (self.override_counts.first(), self.override_counts.last())
        else {
            return rows;
        };
        let Some(base) = self.slower_build_info(fewest, connections) else { return rows };
        let base_rps = base.load.requests_per_second();
        if let Some(liveness) = liveness {
            let value = ratio(base_rps, liveness.load.requests_per_second());
            rows.push(
                Row::new(
                    format!("Build info ÷ liveness, {connections} connections ({fewest} override, slower user)"),
                    rps_text(base),
                )
                .baseline(format!("{} (liveness)", rps_text(liveness)))
                .ratio(value)
                .target("≥ 0.5 × liveness", value >= 0.5),
            );
        }
        if let Some(edge) = edge {
            let value = ratio(base_rps, edge.load.requests_per_second());
            rows.push(
                Row::new(
                    format!("Build info ÷ Unleash Edge, {connections} connections ({fewest} override, slower user)"),
                    rps_text(base),
                )
                .baseline(format!("{} (Unleash Edge)", rps_text(edge)))
                .ratio(value)
                .target("≥ 1.0 × Edge", value >= 1.0),
            );
        }
        if most != fewest
            && let Some(many) = self.slower_build_info(most, connections)
        {
            let value = ratio(many.load.requests_per_second(), base_rps);
            rows.push(
                Row::new(
                    format!("Build info with {most} ÷ with {fewest} overrides, {connections} connections (slower user each)"),
                    rps_text(many),
                )
                .baseline(format!("{} ({fewest} override)", rps_text(base)))
                .ratio(value)
                .target(format!("≥ 0.8 × {fewest} override"), value >= 0.8),
            );
        }
        rows
    }

    fn import_rows(&self) -> Vec<Row> {
        let small = &self.import;
        let size = |import: &ImportMeasure| {
            format!(
                "{} resources ({:.1} MB JSON, {:.1} MB zip)",
                import.resources,
                mb(import.json_bytes),
                mb(import.archive_bytes)
            )
        };
        let peak_text = |import: &ImportMeasure| {
            format!(
                "{:.1} MB (VmRSS before {:.1} MB, right after {:.1} MB)",
                mb(import.peak_bytes),
                mb(import.rss_before_bytes),
                mb(import.rss_after_bytes)
            )
        };
        let mut rows = vec![
            Row::new(
                format!("Import of {}, wall time", size(small)),
                format!("{:.2} s (rtm CPU {:.2} s)", small.seconds, small.cpu_seconds),
            )
            .baseline(format!(
                "{:.2} s (S3 PUT {:.2} s + insert_many {:.2} s)",
                self.raw.seconds(),
                self.raw.s3_put_seconds,
                self.raw.mongo_insert_seconds
            ))
            .ratio(self.import_ratio())
            .target("≤ 2 × raw", self.import_ratio() <= 2.0),
            Row::new(
                format!(
                    "Import peak RSS, {} resources (VmHWM of a fresh process)",
                    small.resources
                ),
                peak_text(small),
            )
            .target("< 100 MB", mb(small.peak_bytes) < 100.0),
        ];
        if let Some(large) = &self.large_import {
            let value = ratio(mb(large.peak_bytes), mb(small.peak_bytes));
            rows.push(Row::new(
                format!("Import of {}, wall time", size(large)),
                format!("{:.2} s (rtm CPU {:.2} s)", large.seconds, large.cpu_seconds),
            ));
            rows.push(
                Row::new(
                    format!(
                        "Import peak RSS, {} resources (VmHWM of a fresh process)",
                        large.resources
                    ),
                    peak_text(large),
                )
                .baseline(format!("{:.1} MB ({} resources)", mb(small.peak_bytes), small.resources))
                .ratio(value)
                .target(format!("≤ 1.3 × at {}", small.resources), value <= 1.3),
            );
        }
        for import in std::iter::once(small).chain(&self.large_import) {
            rows.push(
                Row::new(
                    format!(
                        "VmRSS {} s after the import of {} resources",
                        self.settle.as_secs(),
                        import.resources
                    ),
                    format!("{:.1} MB", mb(import.rss_settled_bytes)),
                )
                .target("< 60 MB", mb(import.rss_settled_bytes) < 60.0),
            );
        }
        rows
    }

    fn design_rows(&self) -> Vec<Row> {
        vec![
            Row::new(
                format!(
                    "Design time: start a WIP from a committed version of {} resources",
                    self.design.resources
                ),
                format!("{:.3} s", self.design.wip_start_seconds),
            )
            .target("< 1 s", self.design.wip_start_seconds < 1.0),
            Row::new(
                "Design time: commit that WIP (one resource edited)",
                format!("{:.3} s", self.design.commit_seconds),
            )
            .baseline(format!(
                "first commit of all {} resources {:.3} s; filled over HTTP in {:.1} s",
                self.design.resources, self.design.first_commit_seconds, self.design.fill_seconds
            ))
            .target("< 1 s", self.design.commit_seconds < 1.0),
            Row::new(
                format!(
                    "Build creation from that version ({:.1} MB zip)",
                    mb(self.design.archive_bytes)
                ),
                format!("{:.2} s", self.design.build_seconds),
            )
            .baseline(format!("{:.2} s (import of the same build)", self.design.import_seconds))
            .ratio(self.design.build_ratio())
            .target("≤ 1.5 × import", self.design.build_ratio() <= 1.5),
        ]
    }

    /// The table, targets included.
    pub(crate) fn rows(&self) -> Vec<Row> {
        let mut rows: Vec<Row> =
            self.connections.iter().flat_map(|&c| self.resolution_rows(c)).collect();
        if !self.rss_with_overrides.is_empty() {
            let text: Vec<String> = self
                .rss_with_overrides
                .iter()
                .map(|(overrides, bytes)| format!("{overrides}: {:.1} MB", mb(*bytes)))
                .collect();
            rows.push(Row::new(
                "rtm VmRSS after the build-info runs, by override count",
                text.join("; "),
            ));
        }
        rows.extend(self.import_rows());
        rows.extend(self.design_rows());
        rows.extend([
            Row::new(
                format!("Idle RSS (VmRSS, ready and idle {} s)", self.idle.as_secs()),
                format!("{:.1} MB", mb(self.idle_rss_bytes)),
            )
            .target("< 30 MB", mb(self.idle_rss_bytes) < 30.0),
            Row::new(
                "Start to ready, first start (fresh schema: migrations, bucket, topics)",
                format!("{} ms", self.ready_first.as_millis()),
            )
            .target("< 1 s", self.ready_first < Duration::from_secs(1)),
            Row::new(
                "Start to ready, restart (everything exists)",
                format!("{} ms", self.ready_restart.as_millis()),
            )
            .target("< 1 s", self.ready_restart < Duration::from_secs(1)),
        ]);
        rows
    }

    /// The Markdown table.
    pub(crate) fn table(&self) -> String {
        let mut table = String::from(
            "| Measure | rtm | Baseline | Ratio | Target | Result |\n|---|---|---|---|---|---|\n",
        );
        for row in self.rows() {
            let _ = writeln!(
                table,
                "| {} | {} | {} | {} | {} | {} |",
                row.measure,
                row.rtm,
                row.baseline,
                row.ratio,
                row.target,
                row.result()
            );
        }
        table
    }

    /// `report.json`.
    pub(crate) fn to_json(&self) -> Value {
        let targets: Vec<Value> = self
            .rows()
            .into_iter()
            .filter(|row| row.pass.is_some())
            .map(|row| {
                json!({"measure": row.measure, "measured": row.rtm, "baseline": row.baseline, "ratio": row.ratio, "target": row.target, "pass": row.pass})
            })
            .collect();
        let runs: Vec<Value> = self.runs.iter().map(run_json).collect();
        let imports: Vec<Value> =
            std::iter::once(&self.import).chain(&self.large_import).map(import_json).collect();
        json!({
            "date": self.date,
            "commit": self.commit,
            "machine": {
                "cpus": self.machine.cpus,
                "cpuModel": self.machine.cpu_model,
                "memoryBytes": self.machine.memory_bytes,
                "kernel": self.machine.kernel,
            },
            "load": {
                "tool": self.load_tool,
                "threads": self.threads,
                "connections": self.connections,
                "durationSeconds": self.duration.as_secs(),
                "warmupSeconds": self.warmup.as_secs(),
            },
            "loadAverageAtStart": self.load_average,
            "machineBusyShareBeforeRun": self.machine_busy_before,
            "unleashEdgeVersion": self.edge_version,
            "overrideCounts": self.override_counts,
            "runs": runs,
            "rssWithOverrides": self.rss_with_overrides.iter().map(|(overrides, bytes)| json!({"overrides": overrides, "vmRssBytes": bytes})).collect::<Vec<_>>(),
            "imports": imports,
            "settleSeconds": self.settle.as_secs(),
            "raw": {
                "s3PutSeconds": self.raw.s3_put_seconds,
                "mongoInsertManySeconds": self.raw.mongo_insert_seconds,
                "seconds": self.raw.seconds(),
            },
            "importToRaw": self.import_ratio(),
            "design": {
                "resources": self.design.resources,
                "fillSeconds": self.design.fill_seconds,
                "firstCommitSeconds": self.design.first_commit_seconds,
                "wipStartSeconds": self.design.wip_start_seconds,
                "commitSeconds": self.design.commit_seconds,
                "buildSeconds": self.design.build_seconds,
                "importOfTheSameBuildSeconds": self.design.import_seconds,
                "archiveBytes": self.design.archive_bytes,
                "buildToImport": self.design.build_ratio(),
            },
            "idleRssBytes": self.idle_rss_bytes,
            "idleSeconds": self.idle.as_secs(),
            "readyFirstStartMs": self.ready_first.as_millis(),
            "readyRestartMs": self.ready_restart.as_millis(),
            "targets": targets,
        })
    }
}

fn run_json(run: &Run) -> Value {
    let (route, overrides, user, cold) = match run.route {
        Route::Liveness => ("liveness", None, None, false),
        Route::Edge => ("unleashEdge", None, None, false),
        Route::BuildInfo { overrides, matching, cold } => {
            ("buildInfo", Some(overrides), Some(user_name(matching)), cold)
        }
    };
    json!({
        "route": route,
        "overrides": overrides,
        "user": user,
        "cold": cold,
        "connections": run.connections,
        "result": run.load.to_json(),
        "cpu": {
            "processCpuSeconds": run.cpu.process_seconds,
            "processCpuMicrosPerRequest": cpu_per_request_us(run.cpu, &run.load),
            "machineBusyShare": run.cpu.machine_busy_share,
        },
    })
}

fn import_json(import: &ImportMeasure) -> Value {
    json!({
        "resources": import.resources,
        "jsonBytes": import.json_bytes,
        "archiveBytes": import.archive_bytes,
        "seconds": import.seconds,
        "rtmCpuSeconds": import.cpu_seconds,
        "vmRssBeforeBytes": import.rss_before_bytes,
        "vmHwmAfterBytes": import.peak_bytes,
        "vmRssAfterBytes": import.rss_after_bytes,
        "vmRssSettledBytes": import.rss_settled_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(requests: u64, p50_ms: f64, p99_ms: f64) -> LoadResult {
        LoadResult {
            requests,
            seconds: 10.0,
            errors: 0,
            mean_ms: p50_ms,
            p50_ms,
            p90_ms: p99_ms,
            p99_ms,
            p999_ms: p99_ms,
            max_ms: p99_ms,
        }
    }

    fn run(route: Route, connections: u32, requests: u64, p99_ms: f64) -> Run {
        Run {
            route,
            connections,
            load: load(requests, 1.0, p99_ms),
            cpu: CpuUse { process_seconds: 1.0, machine_busy_share: 0.9 },
        }
    }

    fn import(resources: usize, peak: u64, settled: u64) -> ImportMeasure {
        ImportMeasure {
            resources,
            json_bytes: 50_000_000,
            archive_bytes: 15_000_000,
            seconds: 5.0,
            cpu_seconds: 4.0,
            rss_before_bytes: 20_000_000,
            peak_bytes: peak,
            rss_after_bytes: 70_000_000,
            rss_settled_bytes: settled,
        }
    }

    fn measurements() -> Measurements {
        let mut runs = Vec::new();
        for (connections, p99) in [(64, 9.0), (16, 4.0)] {
            runs.push(run(Route::Liveness, connections, 1_000_000, p99));
            runs.push(run(Route::Edge, connections, 100_000, p99));
            runs.push(run(Route::warm(1, true), connections, 600_000, p99));
            runs.push(run(Route::warm(1, false), connections, 500_000, p99));
            runs.push(run(Route::warm(100_000, true), connections, 390_000, p99));
            runs.push(run(Route::warm(100_000, false), connections, 410_000, p99 + 2.0));
            runs.push(run(
                Route::BuildInfo { overrides: 100_000, matching: true, cold: true },
                connections,
                100_000,
                p99,
            ));
        }
        Measurements {
            date: "2026-11-25T10:00:00Z".to_owned(),
            commit: Some("abc".to_owned()),
            machine: Machine {
                cpus: 2,
                cpu_model: "cpu".to_owned(),
                memory_bytes: 1,
                kernel: "6".to_owned(),
            },
            load_tool: "wrk".to_owned(),
            threads: 2,
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
            load_average: "0.10 0.20 0.30".to_owned(),
            machine_busy_before: 0.05,
            edge_version: "20.1.0".to_owned(),
            connections: vec![64, 16],
            override_counts: vec![1, 100_000],
            runs,
            rss_with_overrides: vec![(1, 30_000_000), (100_000, 50_000_000)],
            import: import(10_000, 99_000_000, 59_000_000),
            large_import: Some(import(100_000, 128_000_000, 61_000_000)),
            settle: Duration::from_secs(10),
            raw: RawMeasure { s3_put_seconds: 0.5, mongo_insert_seconds: 2.0 },
            design: DesignMeasure {
                resources: 10_000,
                fill_seconds: 60.0,
                first_commit_seconds: 0.4,
                wip_start_seconds: 0.3,
                commit_seconds: 1.2,
                build_seconds: 6.0,
                import_seconds: 5.0,
                archive_bytes: 15_000_000,
            },
            idle_rss_bytes: 29_999_999,
            idle: Duration::from_secs(3),
            ready_first: Duration::from_millis(1_500),
            ready_restart: Duration::from_millis(300),
        }
    }

    fn verdicts(measurements: &Measurements) -> Vec<(String, bool)> {
        measurements
            .rows()
            .into_iter()
            .filter_map(|row| Some((row.target.clone(), row.pass?)))
            .collect()
    }

    #[test]
    fn each_target_is_judged_on_its_own_measure() {
        let verdicts = verdicts(&measurements());
        let expected = [
            // 64 connections: the slower user of each count is the one compared.
            ("≥ 0.5 × liveness", true),
            ("≥ 1.0 × Edge", true),
            ("≥ 0.8 × 1 override", false),
            // 16 connections: p99 per build-info run, then the ratios.
            ("p99 < 5 ms", true),
            ("p99 < 5 ms", true),
            ("p99 < 5 ms", true),
            ("p99 < 5 ms", false),
            ("≥ 0.5 × liveness", true),
            ("≥ 1.0 × Edge", true),
            ("≥ 0.8 × 1 override", false),
            ("≤ 2 × raw", true),
            ("< 100 MB", true),
            ("≤ 1.3 × at 10000", true),
            ("< 60 MB", true),
            ("< 60 MB", false),
            ("< 1 s", true),
            ("< 1 s", false),
            ("≤ 1.5 × import", true),
            ("< 30 MB", true),
            ("< 1 s", false),
            ("< 1 s", true),
        ];
        let expected: Vec<(String, bool)> =
            expected.iter().map(|(target, pass)| ((*target).to_owned(), *pass)).collect();
        assert_eq!(verdicts, expected);
    }

    #[test]
    fn the_flatness_ratio_compares_the_slower_users() {
        let rows = measurements().rows();
        let flat = rows
            .iter()
            .find(|row| row.measure.starts_with("Build info with 100000 ÷ with 1 overrides, 64"))
            .expect("a flatness row");
        // 39 000 req/s (the slower with 100 000) over 50 000 (the slower with 1).
        assert_eq!(flat.ratio, "0.78");
    }

    #[test]
    fn failed_requests_do_not_count_as_throughput_and_are_shown() {
        let mut measurements = measurements();
        let liveness = &mut measurements.runs[0];
        liveness.load.errors = 500_000;
        let row = &measurements.rows()[0];
        assert!(row.rtm.starts_with("50000 req/s"), "{}", row.rtm);
        assert!(row.rtm.ends_with("500000 failed (50.0 %)"), "{}", row.rtm);
    }

    #[test]
    fn the_table_has_a_line_per_measure_and_the_json_every_target_and_run() {
        let measurements = measurements();
        let table = measurements.table();
        assert_eq!(table.lines().count(), 2 + measurements.rows().len());
        assert!(table.contains("| MISS |") && table.contains("| pass |"), "{table}");
        let json = measurements.to_json();
        assert_eq!(json["targets"].as_array().map(Vec::len), Some(21));
        assert_eq!(json["runs"].as_array().map(Vec::len), Some(14));
        assert_eq!(json["runs"][2]["user"], "matching");
        assert_eq!(json["runs"][2]["cpu"]["processCpuMicrosPerRequest"], 10.0 / 6.0);
        assert_eq!(json["imports"][1]["vmRssSettledBytes"], 61_000_000);
        assert_eq!(json["design"]["buildToImport"], 1.2);
        assert_eq!(json["importToRaw"], 2.0);
    }
}
