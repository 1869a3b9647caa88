//! Design time at scale: an application of many resources in an Application Manager on
//! the stack, a WIP started from its committed version, that WIP committed, and a build
//! made of it; then the same build (its exported archive) imported by a Runtime Manager
//! of a fresh isolation, side by side.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, bail};
use futures_util::{StreamExt as _, TryStreamExt as _};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};

use crate::api::Api;
use crate::archive::Resource;
use crate::report::DesignMeasure;
use crate::rtm::Rtm;
use crate::stack::{Isolation, Stack};

/// Concurrent resource creations while the application is filled (setup, not measured).
const FILL_CONCURRENCY: usize = 8;

/// The roles of a designer who also builds and imports.
pub(crate) const DESIGNER_ROLES: &[&str] =
    &["ROLE_APPS_MANAGE_EDIT", "ROLE_BUILDS_MANAGE_ADMIN", "ROLE_APP_CONFIG_MANAGE_EDIT"];

/// Measures design time against the Application Manager at `manager` (same backends as
/// the Runtime Manager at `runtime`), and the import of the same build into a Runtime
/// Manager of a fresh isolation started from `binary`.
#[allow(clippy::too_many_arguments, reason = "one call site, every argument a different thing")]
pub(crate) async fn measure(
    api: &Api,
    stack: &Stack,
    binary: &Path,
    out_dir: &Path,
    manager: &Rtm,
    runtime: &Rtm,
    token: &SecretString,
    resources: &[Resource],
) -> anyhow::Result<DesignMeasure> {
    let client = api.client();
    let call = |method: reqwest::Method, url: String, body: Option<Value>| {
        let request = client.request(method, url).bearer_auth(token.expose_secret());
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        async move {
            let response = request.send().await.context("the request failed")?;
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            if !status.is_success() {
                bail!("{status}: {text}");
            }
            Ok::<Value, anyhow::Error>(serde_json::from_str(&text).unwrap_or(Value::Null))
        }
    };
    let base = format!("{}/api/applications", manager.base);
    let created = call(
        reqwest::Method::POST,
        base.clone(),
        Some(json!({"name": format!("Bench design {}", uuid::Uuid::new_v4()), "type": "APPLICATION"})),
    )
    .await
    .context("creating the application")?;
    let app = created["id"].as_str().context("no id")?.to_owned();
    let versions = call(reqwest::Method::GET, format!("{base}/{app}/versions"), None).await?;
    let first = versions["content"][0]["id"].as_str().context("no first version")?.to_owned();

    let fill_started = Instant::now();
    futures_util::stream::iter(resources.iter().map(|resource| {
        let url = format!("{base}/{app}/versions/{first}/resources/{}", resource.resource_type);
        let body = json!({
            "name": resource.name,
            "resourceDefinitionId": resource.definition_id,
            "content": resource.content,
        });
        call(reqwest::Method::POST, url, Some(body))
    }))
    .buffer_unordered(FILL_CONCURRENCY)
    .try_collect::<Vec<_>>()
    .await
    .context("filling the application")?;
    let fill_seconds = fill_started.elapsed().as_secs_f64();
    let commit = |version: String, message: &'static str| {
        call(
            reqwest::Method::POST,
            format!("{base}/{app}/versions/{version}/commit"),
            Some(json!({"message": message})),
        )
    };
    let timed = Instant::now();
    commit(first.clone(), "Bench version one").await.context("the first commit")?;
    let first_commit_seconds = timed.elapsed().as_secs_f64();

    let timed = Instant::now();
    let wip = call(reqwest::Method::POST, format!("{base}/{app}/branches/main/versions"), None)
        .await
        .context("starting a WIP")?;
    let wip_start_seconds = timed.elapsed().as_secs_f64();
    let wip = wip["id"].as_str().context("no WIP id")?.to_owned();
    let edited = &resources[0];
    call(
        reqwest::Method::PUT,
        format!(
            "{base}/{app}/versions/{wip}/resources/{}/{}",
            edited.resource_type, edited.definition_id
        ),
        Some(json!({"content": {"edited": true}})),
    )
    .await
    .context("editing one resource of the WIP")?;
    let timed = Instant::now();
    commit(wip.clone(), "Bench version two").await.context("committing the WIP")?;
    let commit_seconds = timed.elapsed().as_secs_f64();

    let timed = Instant::now();
    let build = call(
        reqwest::Method::POST,
        format!("{base}/{app}/versions/{wip}/builds"),
        Some(json!({"versionTag": "bench"})),
    )
    .await
    .context("creating the build")?;
    let build_seconds = timed.elapsed().as_secs_f64();
    let build_id = build["buildId"].as_str().context("no buildId")?.to_owned();

    let archive = client
        .get(format!("{}/api/build-mgmt/app/{app}/builds/{build_id}/export", runtime.base))
        .bearer_auth(token.expose_secret())
        .send()
        .await?
        .error_for_status()
        .context("exporting the created build")?
        .bytes()
        .await?
        .to_vec();
    let archive_bytes = archive.len() as u64;

    // The same build into a Runtime Manager of its own, where it is new.
    let elsewhere = Isolation::new();
    let env = stack.rtm_env(&elsewhere)?;
    let importer =
        Rtm::start(binary, &env, &out_dir.join("rtm-import.log"), &out_dir.join("rtm-import.pid"))
            .await?;
    let timed = Instant::now();
    let imported = api.import_new(&importer.base, token, archive).await;
    let import_seconds = timed.elapsed().as_secs_f64();
    importer.stop()?;
    for leftover in crate::baseline::clean_up(stack, &elsewhere).await {
        eprintln!("warning: not cleaned up: {leftover}");
    }
    imported.context("importing the created build elsewhere")?;

    Ok(DesignMeasure {
        resources: resources.len(),
        fill_seconds,
        first_commit_seconds,
        wip_start_seconds,
        commit_seconds,
        build_seconds,
        import_seconds,
        archive_bytes,
    })
}
