//! `--profile`: a CPU profile of rtm answering build info, taken with `perf` (Debian package
//! `linux-perf`) during one more warm load run, so that a change can be judged by where the
//! time goes, not only by the throughput it gives. The report (shares of all samples, by
//! binary and symbol) is written next to the JSON report and its top lines printed.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use secrecy::SecretString;

use crate::load::{self, LoadSettings};

/// perf's sampling frequency: odd, so it does not beat with timer-driven work.
const FREQUENCY: &str = "999";
/// Symbols below this share of the samples are left out of the report.
const PERCENT_LIMIT: &str = "0.5";
/// Lines of the report printed on the terminal.
const PRINTED_LINES: usize = 25;

/// Records `pid` with call graphs for as long as one `settings` run of `url` lasts, and
/// writes the flat report (`perf report --no-children --sort dso,symbol`).
pub(crate) async fn record(
    settings: &LoadSettings,
    script: &Path,
    url: &str,
    header: &SecretString,
    pid: u32,
    out_dir: &Path,
) -> anyhow::Result<()> {
    let data = out_dir.join("perf.data");
    let report = out_dir.join("profile.txt");
    let seconds = settings.duration.as_secs().max(1).to_string();
    let perf = tokio::process::Command::new("perf")
        .args(["record", "-F", FREQUENCY, "-g", "-p", &pid.to_string(), "-o"])
        .arg(&data)
        .args(["--", "sleep", &seconds])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context(
            "cannot run perf: install the Debian package `linux-perf` (and allow it with \
             `sysctl kernel.perf_event_paranoid=1` when not root)",
        )?;
    // perf attaches within milliseconds; the load runs as long as the recording.
    tokio::time::sleep(Duration::from_millis(200)).await;
    load::run(settings, script, url, header).await?;
    let recorded = perf.wait_with_output().await.context("perf record did not finish")?;
    if !recorded.status.success() {
        bail!("perf record failed: {}", String::from_utf8_lossy(&recorded.stderr).trim());
    }
    let reported = tokio::process::Command::new("perf")
        .args(["report", "-i"])
        .arg(&data)
        .args(["--no-children", "--sort", "dso,symbol", "--stdio", "-g", "none"])
        .args(["--percent-limit", PERCENT_LIMIT])
        .output()
        .await
        .context("cannot run perf report")?;
    if !reported.status.success() {
        bail!("perf report failed: {}", String::from_utf8_lossy(&reported.stderr).trim());
    }
    // perf pads each line to the terminal's width it assumes and ends it with the empty
    // columns of the sort keys it was not asked for: both go.
    let text: String = String::from_utf8_lossy(&reported.stdout)
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| format!("{}\n", line.trim_end().trim_end_matches(['-', ' '])))
        .collect();
    std::fs::write(&report, &text).with_context(|| format!("cannot write {}", report.display()))?;
    println!("profile of build info ({}; whole report in {}):", data.display(), report.display());
    for line in text.lines().take(PRINTED_LINES) {
        println!("  {line}");
    }
    Ok(())
}
