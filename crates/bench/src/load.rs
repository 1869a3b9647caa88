//! HTTP load with `wrk` (Debian package `wrk`): a fixed number of keep-alive connections
//! for a fixed duration, the same settings for every route measured. wrk's own summary
//! (requests, errors, latency percentiles from its microsecond histogram) is printed by a
//! small Lua `done` hook as one JSON line, so nothing depends on wrk's human output.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;

/// The marker of the summary line the Lua hook prints.
const MARKER: &str = "BENCH_JSON ";

/// wrk's `done` hook; latencies are in microseconds.
const SUMMARY_SCRIPT: &str = r#"-- Written by crates/bench (cargo xtask bench): wrk's summary as one JSON line.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
"#;

/// How the load is made.
#[derive(Debug, Clone)]
pub(crate) struct LoadSettings {
    pub(crate) wrk: PathBuf,
    pub(crate) threads: u32,
    pub(crate) connections: u32,
    pub(crate) duration: Duration,
    /// wrk's per-request timeout; a request slower than this counts as an error.
    pub(crate) request_timeout: Duration,
}

/// What one load run measured.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LoadResult {
    pub(crate) requests: u64,
    pub(crate) seconds: f64,
    /// Requests that failed: connection, read, write errors, timeouts and non-2xx/3xx answers.
    pub(crate) errors: u64,
    pub(crate) mean_ms: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p90_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) p999_ms: f64,
    pub(crate) max_ms: f64,
}

impl LoadResult {
    /// Answered requests per second, failed ones left out: a route that fails fast must
    /// not look fast.
    pub(crate) fn requests_per_second(&self) -> f64 {
        let answered = self.requests.saturating_sub(self.errors);
        if self.seconds > 0.0 { answered as f64 / self.seconds } else { 0.0 }
    }

    /// The share of the requests that failed.
    pub(crate) fn error_share(&self) -> f64 {
        if self.requests == 0 { 1.0 } else { self.errors as f64 / self.requests as f64 }
    }

    pub(crate) fn to_json(&self) -> Value {
        serde_json::json!({
            "requests": self.requests,
            "seconds": self.seconds,
            "requestsPerSecond": self.requests_per_second(),
            "errors": self.errors,
            "latencyMs": {
                "mean": self.mean_ms, "p50": self.p50_ms, "p90": self.p90_ms,
                "p99": self.p99_ms, "p999": self.p999_ms, "max": self.max_ms,
            },
        })
    }
}

/// Writes the Lua hook into `dir`.
pub(crate) fn write_script(dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join("wrk-summary.lua");
    std::fs::write(&path, SUMMARY_SCRIPT)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// The `Authorization` header line for a bearer token (rtm).
pub(crate) fn bearer(token: &SecretString) -> SecretString {
    SecretString::from(format!("Authorization: Bearer {}", token.expose_secret()))
}

/// Loads `url` (which must be on 127.0.0.1) for `settings.duration`, every request with
/// `header` (a whole `Name: value` line; it carries a credential, hence secret).
pub(crate) async fn run(
    settings: &LoadSettings,
    script: &Path,
    url: &str,
    header: &SecretString,
) -> anyhow::Result<LoadResult> {
    if !url.starts_with("http://127.0.0.1:") {
        bail!("load runs against 127.0.0.1 only, not {url}");
    }
    let mut command = tokio::process::Command::new(&settings.wrk);
    command
        .arg("--threads")
        .arg(settings.threads.to_string())
        .arg("--connections")
        .arg(settings.connections.to_string())
        .arg("--duration")
        .arg(format!("{}s", settings.duration.as_secs().max(1)))
        .arg("--timeout")
        .arg(format!("{}s", settings.request_timeout.as_secs().max(1)))
        .arg("--latency")
        .arg("--header")
        .arg(header.expose_secret())
        .arg("--script")
        .arg(script)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().with_context(|| {
        format!(
            "cannot run {} (Debian package `wrk`; `cargo xtask bench` installs it)",
            settings.wrk.display()
        )
    })?;
    let deadline = settings.duration + settings.request_timeout + Duration::from_secs(30);
    let output = tokio::time::timeout(deadline, child.wait_with_output())
        .await
        .with_context(|| format!("wrk did not finish within {} s", deadline.as_secs()))??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed ({}): {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse_summary(&stdout).with_context(|| format!("wrk printed no summary:\n{stdout}"))
}

/// The summary line of wrk's output.
pub(crate) fn parse_summary(output: &str) -> Option<LoadResult> {
    let line = output.lines().find_map(|line| line.trim().strip_prefix(MARKER))?;
    let summary: Value = serde_json::from_str(line).ok()?;
    let count = |value: &Value| value.as_u64();
    let ms = |name: &str| Some(summary["latency_us"][name].as_f64()? / 1_000.0);
    let errors = &summary["errors"];
    Some(LoadResult {
        requests: count(&summary["requests"])?,
        seconds: summary["duration_us"].as_f64()? / 1_000_000.0,
        errors: ["connect", "read", "write", "status", "timeout"]
            .iter()
            .map(|kind| count(&errors[*kind]))
            .sum::<Option<u64>>()?,
        mean_ms: ms("mean")?,
        p50_ms: ms("p50")?,
        p90_ms: ms("p90")?,
        p99_ms: ms("p99")?,
        p999_ms: ms("p999")?,
        max_ms: ms("max")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "Running 15s test @ http://127.0.0.1:8080/actuator/health/liveness
  2 threads and 64 connections
  Latency Distribution
     50%    1.20ms
     99%    4.10ms
  300000 requests in 15.00s, 40.00MB read
Requests/sec:  20000.00
Transfer/sec:      2.67MB
BENCH_JSON {\"requests\":300000,\"duration_us\":15000000,\"bytes\":41943040,\"errors\":{\"connect\":0,\"read\":1,\"write\":0,\"status\":2,\"timeout\":3},\"latency_us\":{\"mean\":1350.5,\"p50\":1200,\"p90\":2500,\"p99\":4100,\"p999\":9000,\"max\":25000}}
";

    #[test]
    fn the_summary_line_gives_throughput_errors_and_percentiles_in_milliseconds() {
        let result = parse_summary(OUTPUT).expect("a summary");
        assert_eq!(result.requests, 300_000);
        assert_eq!(result.errors, 6);
        assert!((result.requests_per_second() - 299_994.0 / 15.0).abs() < 1e-6);
        assert!((result.error_share() - 6.0 / 300_000.0).abs() < 1e-12);
        assert!((result.p50_ms - 1.2).abs() < 1e-9 && (result.p99_ms - 4.1).abs() < 1e-9);
        assert!((result.mean_ms - 1.3505).abs() < 1e-9 && (result.max_ms - 25.0).abs() < 1e-9);
    }

    #[test]
    fn output_without_a_complete_summary_line_gives_nothing() {
        assert_eq!(parse_summary("Requests/sec:  20000.00\n"), None);
        assert_eq!(parse_summary("BENCH_JSON {\"requests\":1}\n"), None);
    }

    #[test]
    fn the_hook_prints_the_fields_the_parser_reads() {
        for field in ["requests", "duration_us", "errors", "latency_us", "p50", "p99", "max"] {
            assert!(SUMMARY_SCRIPT.contains(&format!("\"{field}\"")), "{field}");
        }
        assert!(SUMMARY_SCRIPT.contains(MARKER));
    }
}
