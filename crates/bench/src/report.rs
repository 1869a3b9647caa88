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

/// The import and its memory.
#[derive(Debug, Clone)]
pub(crate) struct ImportMeasure {
    pub(crate) resources: usize,
    pub(crate) json_bytes: u64,
    pub(crate) archive_bytes: u64,
    pub(crate) seconds: f64,
    /// CPU time rtm used for the import.
    pub(crate) cpu_seconds: f64,
    pub(crate) rss_before_bytes: u64,
    pub(crate) peak_bytes: u64,
    pub(crate) rss_after_bytes: u64,
}

/// The CPU a load run took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CpuUse {
    /// CPU time of the rtm process (user + system), all its threads.
    pub(crate) rtm_seconds: f64,
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

/// Everything one run measured.
#[derive(Debug, Clone)]
pub(crate) struct Measurements {
    pub(crate) date: String,
    pub(crate) commit: Option<String>,
    pub(crate) machine: Machine,
    pub(crate) load_tool: String,
    pub(crate) threads: u32,
    pub(crate) connections: u32,
    pub(crate) duration: Duration,
    /// `/proc/loadavg` when the run started: other work on the machine skews every number.
    pub(crate) load_average: String,
    /// The busy share of the machine's CPUs just before the run (see `wait_for_quiet`).
    pub(crate) machine_busy_before: f64,
    pub(crate) resolution: LoadResult,
    pub(crate) resolution_cpu: CpuUse,
    pub(crate) trivial: LoadResult,
    pub(crate) trivial_cpu: CpuUse,
    pub(crate) import: ImportMeasure,
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

/// Microseconds of rtm CPU per request.
fn cpu_per_request_us(cpu: CpuUse, load: &LoadResult) -> f64 {
    if load.requests == 0 { 0.0 } else { cpu.rtm_seconds * 1e6 / load.requests as f64 }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / MB
}

impl Measurements {
    /// rtm's resolution throughput over the trivial route's.
    pub(crate) fn resolution_ratio(&self) -> f64 {
        ratio(self.resolution.requests_per_second(), self.trivial.requests_per_second())
    }

    /// The import's wall time over the raw baseline's.
    pub(crate) fn import_ratio(&self) -> f64 {
        ratio(self.import.seconds, self.raw.seconds())
    }

    /// The table, targets included.
    pub(crate) fn rows(&self) -> Vec<Row> {
        let (resolution, trivial) = (&self.resolution, &self.trivial);
        let import = &self.import;
        vec![
            Row::new(
                "Resolution throughput (`GET /api/runtime/app/{appId}/build/info`, JWT + Redis)",
                format!("{:.0} req/s", resolution.requests_per_second()),
            )
            .baseline(format!("{:.0} req/s (liveness)", trivial.requests_per_second()))
            .ratio(self.resolution_ratio())
            .target("≥ 0.5 × trivial", self.resolution_ratio() >= 0.5),
            Row::new("Resolution latency p50", format!("{:.2} ms", resolution.p50_ms))
                .baseline(format!("{:.2} ms", trivial.p50_ms))
                .ratio(ratio(resolution.p50_ms, trivial.p50_ms)),
            Row::new("Resolution latency p99", format!("{:.2} ms", resolution.p99_ms))
                .baseline(format!("{:.2} ms", trivial.p99_ms))
                .ratio(ratio(resolution.p99_ms, trivial.p99_ms))
                .target("< 5 ms", resolution.p99_ms < 5.0),
            Row::new(
                "rtm CPU time per request (machine busy during the run)",
                format!(
                    "{:.0} µs ({:.0} % busy)",
                    cpu_per_request_us(self.resolution_cpu, resolution),
                    self.resolution_cpu.machine_busy_share * 100.0
                ),
            )
            .baseline(format!(
                "{:.0} µs ({:.0} % busy)",
                cpu_per_request_us(self.trivial_cpu, trivial),
                self.trivial_cpu.machine_busy_share * 100.0
            ))
            .ratio(ratio(
                cpu_per_request_us(self.resolution_cpu, resolution),
                cpu_per_request_us(self.trivial_cpu, trivial),
            )),
            Row::new(
                format!(
                    "Import of {} resources ({:.1} MB JSON, {:.1} MB zip), wall time",
                    import.resources,
                    mb(import.json_bytes),
                    mb(import.archive_bytes)
                ),
                format!("{:.2} s (rtm CPU {:.2} s)", import.seconds, import.cpu_seconds),
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
                "Import peak RSS (VmHWM right after the import)",
                format!(
                    "{:.1} MB (VmRSS before {:.1} MB, after {:.1} MB)",
                    mb(import.peak_bytes),
                    mb(import.rss_before_bytes),
                    mb(import.rss_after_bytes)
                ),
            )
            .target("< 200 MB", mb(import.peak_bytes) < 200.0),
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
        ]
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
                json!({"measure": row.measure, "measured": row.rtm, "target": row.target, "pass": row.pass})
            })
            .collect();
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
            },
            "loadAverageAtStart": self.load_average,
            "machineBusyShareBeforeRun": self.machine_busy_before,
            "resolution": self.resolution.to_json(),
            "resolutionCpu": cpu_json(self.resolution_cpu, &self.resolution),
            "trivial": self.trivial.to_json(),
            "trivialCpu": cpu_json(self.trivial_cpu, &self.trivial),
            "resolutionToTrivialThroughput": self.resolution_ratio(),
            "import": {
                "resources": self.import.resources,
                "jsonBytes": self.import.json_bytes,
                "archiveBytes": self.import.archive_bytes,
                "seconds": self.import.seconds,
                "rtmCpuSeconds": self.import.cpu_seconds,
                "vmRssBeforeBytes": self.import.rss_before_bytes,
                "vmHwmAfterBytes": self.import.peak_bytes,
                "vmRssAfterBytes": self.import.rss_after_bytes,
            },
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

fn cpu_json(cpu: CpuUse, load: &LoadResult) -> Value {
    json!({
        "rtmCpuSeconds": cpu.rtm_seconds,
        "rtmCpuMicrosPerRequest": cpu_per_request_us(cpu, load),
        "machineBusyShare": cpu.machine_busy_share,
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

    fn measurements() -> Measurements {
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
            connections: 64,
            duration: Duration::from_secs(10),
            load_average: "0.10 0.20 0.30".to_owned(),
            machine_busy_before: 0.05,
            resolution: load(60_000, 2.0, 4.9),
            resolution_cpu: CpuUse { rtm_seconds: 6.0, machine_busy_share: 0.9 },
            trivial: load(100_000, 1.0, 3.0),
            trivial_cpu: CpuUse { rtm_seconds: 2.0, machine_busy_share: 0.8 },
            import: ImportMeasure {
                resources: 10_000,
                json_bytes: 50_000_000,
                archive_bytes: 15_000_000,
                seconds: 5.0,
                cpu_seconds: 4.0,
                rss_before_bytes: 20_000_000,
                peak_bytes: 250_000_000,
                rss_after_bytes: 100_000_000,
            },
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
            ("≥ 0.5 × trivial", true),
            ("< 5 ms", true),
            ("≤ 2 × raw", true),
            ("< 200 MB", false),
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
    fn a_ratio_just_past_a_limit_misses() {
        let mut slow = measurements();
        slow.import.seconds = 5.01;
        slow.resolution = load(49_999, 2.0, 5.0);
        let verdicts = verdicts(&slow);
        assert_eq!(verdicts[0], ("≥ 0.5 × trivial".to_owned(), false));
        assert_eq!(verdicts[1], ("< 5 ms".to_owned(), false));
        assert_eq!(verdicts[2], ("≤ 2 × raw".to_owned(), false));
    }

    #[test]
    fn the_table_has_a_line_per_measure_and_the_json_every_target() {
        let measurements = measurements();
        let table = measurements.table();
        assert_eq!(table.lines().count(), 2 + measurements.rows().len());
        assert!(table.contains("| MISS |") && table.contains("| pass |"), "{table}");
        let json = measurements.to_json();
        assert_eq!(json["targets"].as_array().map(Vec::len), Some(10));
        assert_eq!(json["design"]["buildToImport"], 1.2);
        assert_eq!(json["importToRaw"], 2.0);
        assert_eq!(json["resolutionCpu"]["rtmCpuMicrosPerRequest"], 100.0);
        assert!(table.contains("| 100 µs (90 % busy) | 20 µs (80 % busy) | 5.00 |"), "{table}");
    }
}
