//! The peer: Unleash Edge (the `unleash-edge` crate, which `cargo xtask bench` installs) in
//! offline mode, answering the same kind of question as build info ("what does this user
//! get?") from a generated bootstrap file of [`FLAGS`] feature flags, each with a user
//! constraint (`userId IN` a list) and a group constraint (the custom context field
//! `groups`). Its frontend evaluation endpoint (`GET /api/frontend?userId=…&properties[groups]=…`)
//! evaluates every flag for that context and returns the enabled ones.
//!
//! The process is started on a free loopback port, checked to answer evaluated flags for a
//! user who matches and one who does not, and stopped on drop, as [`crate::rtm::Rtm`] is.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::process::Spawned;

/// Flags in the bootstrap file.
pub(crate) const FLAGS: usize = 50;
/// Users listed in each flag's `userId IN` constraint.
const USERS_PER_FLAG: usize = 20;
/// An Unleash-format token (`project:environment.secret`) for every project; offline Edge
/// trusts the tokens it is given on its command line.
const FRONTEND_TOKEN: &str = "*:development.rtm-bench-frontend";
const CLIENT_TOKEN: &str = "*:development.rtm-bench-client";
const READY_WITHIN: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(20);

/// The flag that the matching user's `userId` enables, and the one their group enables.
pub(crate) fn user_flag() -> String {
    flag_name(FLAGS - 1)
}

fn group_flag(group: usize) -> String {
    flag_name(group)
}

fn flag_name(index: usize) -> String {
    format!("bench-flag-{index:02}")
}

/// The group of every load request: it enables flag `GROUP` (and no other flag by group).
const GROUP: usize = 7;

/// The group name carried by the load's context (and by rtm's user tokens, for parity).
pub(crate) fn group() -> String {
    format!("bench-group-{GROUP:02}")
}

/// The bootstrap file's content: Unleash's client-features format, `FLAGS` flags, each
/// enabled for its own `USERS_PER_FLAG` users (the last flag also for `matching_user`) or
/// for members of its own group.
pub(crate) fn bootstrap(matching_user: &str) -> Value {
    let features: Vec<Value> = (0..FLAGS)
        .map(|index| {
            let mut users: Vec<String> =
                (0..USERS_PER_FLAG).map(|user| format!("edge-user-{index:02}-{user:02}")).collect();
            if index == FLAGS - 1 {
                users.push(matching_user.to_owned());
            }
            let constraint = |context: &str, values: Vec<String>| {
                json!({
                    "contextName": context, "operator": "IN", "values": values,
                    "inverted": false, "caseInsensitive": false,
                })
            };
            let strategy = |constraint: Value| {
                json!({"name": "default", "parameters": {}, "constraints": [constraint], "segments": [], "variants": []})
            };
            json!({
                "name": flag_name(index),
                "type": "release",
                "project": "default",
                "enabled": true,
                "stale": false,
                "impressionData": false,
                "strategies": [
                    strategy(constraint("userId", users)),
                    strategy(constraint("groups", vec![format!("bench-group-{index:02}")])),
                ],
                "variants": [],
            })
        })
        .collect();
    json!({"version": 2, "features": features})
}

/// A running Unleash Edge.
#[derive(Debug)]
pub(crate) struct Edge {
    process: Spawned,
    /// Its base URL.
    pub(crate) base: String,
    /// Its version, as it reports it (`/internal-backstage/instancedata`).
    pub(crate) version: String,
}

impl Edge {
    /// Writes the bootstrap file into `dir` and starts `binary` offline on a free port of
    /// 127.0.0.1, its output in `dir/unleash-edge.log`; waits until it is healthy.
    pub(crate) async fn start(
        binary: &Path,
        dir: &Path,
        matching_user: &str,
        pid_file: &Path,
    ) -> anyhow::Result<Self> {
        let features = dir.join("unleash-edge-bootstrap.json");
        std::fs::write(&features, serde_json::to_vec_pretty(&bootstrap(matching_user))?)
            .with_context(|| format!("cannot write {}", features.display()))?;
        let port = TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port();
        let log = dir.join("unleash-edge.log");
        let mut command = Command::new(binary);
        command
            .env_clear()
            .args(["--interface", "127.0.0.1", "--port", &port.to_string(), "offline"])
            .arg("--bootstrap-file")
            .arg(&features)
            .args(["--client-tokens", CLIENT_TOKEN, "--frontend-tokens", FRONTEND_TOKEN]);
        let mut process = Spawned::start("unleash-edge", command, &log, pid_file)?;
        let base = format!("http://127.0.0.1:{port}");
        let health = format!("{base}/internal-backstage/health");
        process.wait_for(&health, Instant::now(), READY_WITHIN, POLL).await?;
        let mut edge = Self { process, base, version: String::new() };
        edge.version = edge.reported_version().await?;
        Ok(edge)
    }

    /// The `edgeVersion` of its instance data.
    async fn reported_version(&self) -> anyhow::Result<String> {
        let url = format!("{}/internal-backstage/instancedata", self.base);
        let data: Value = reqwest::get(&url)
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("unleash-edge did not answer {url}"))?
            .json()
            .await
            .with_context(|| format!("{url} did not answer JSON"))?;
        // `{"this_instance": {"edgeVersion": "20.1.0", …}, …}` in 20.1.
        data["this_instance"]["edgeVersion"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no edgeVersion in {data}"))
    }

    /// The evaluation URL for `user` in the load's group.
    pub(crate) fn evaluation_url(&self, user: &str) -> String {
        // `properties[groups]`, percent-encoded: wrk's URL parser takes no brackets.
        format!("{}/api/frontend?userId={user}&properties%5Bgroups%5D={}", self.base, group())
    }

    /// The header line of the load (Edge takes the bare token, no `Bearer`).
    pub(crate) fn header() -> SecretString {
        SecretString::from(format!("Authorization: {FRONTEND_TOKEN}"))
    }

    /// The process id, for its CPU time.
    pub(crate) fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Checks that Edge evaluates: `matching_user` gets the user flag and the group's flag,
    /// `other_user` only the group's flag.
    pub(crate) async fn verify(&self, matching_user: &str, other_user: &str) -> anyhow::Result<()> {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        for (user, expects_user_flag) in [(matching_user, true), (other_user, false)] {
            let response = client
                .get(self.evaluation_url(user))
                .header("Authorization", FRONTEND_TOKEN)
                .send()
                .await
                .context("unleash-edge did not answer")?;
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status != reqwest::StatusCode::OK {
                bail!("unleash-edge answered {status}: {body}");
            }
            let enabled = enabled_flags(&body);
            let wanted_user = enabled.contains(&user_flag());
            let wanted_group = enabled.contains(&group_flag(GROUP));
            if wanted_user != expects_user_flag
                || !wanted_group
                || enabled.len() != 1 + usize::from(expects_user_flag)
            {
                bail!(
                    "unleash-edge enabled {enabled:?} for {user} in {}: expected {}{}",
                    group(),
                    group_flag(GROUP),
                    if expects_user_flag { format!(" and {}", user_flag()) } else { String::new() }
                );
            }
        }
        Ok(())
    }

    /// Stops the process and waits for it.
    pub(crate) fn stop(self) -> anyhow::Result<()> {
        self.process.stop()
    }
}

/// The names of the enabled flags in a `/api/frontend` answer (`{"toggles": [{name, enabled}]}`).
fn enabled_flags(body: &Value) -> Vec<String> {
    body["toggles"]
        .as_array()
        .map(|toggles| {
            toggles
                .iter()
                .filter(|toggle| toggle["enabled"].as_bool() == Some(true))
                .filter_map(|toggle| toggle["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bootstrap_has_fifty_flags_each_with_a_user_and_a_group_constraint() {
        let bootstrap = bootstrap("alice");
        let features = bootstrap["features"].as_array().expect("features");
        assert_eq!(features.len(), FLAGS);
        for feature in features {
            let contexts: Vec<&str> = feature["strategies"]
                .as_array()
                .expect("strategies")
                .iter()
                .map(|strategy| strategy["constraints"][0]["contextName"].as_str().expect("a name"))
                .collect();
            assert_eq!(contexts, ["userId", "groups"]);
        }
        let last = &features[FLAGS - 1]["strategies"][0]["constraints"][0]["values"];
        assert!(last.as_array().expect("values").contains(&json!("alice")));
        assert!(!features[0].to_string().contains("alice"));
    }

    #[test]
    fn only_enabled_toggles_are_read_from_an_answer() {
        let body = json!({"toggles": [
            {"name": "a", "enabled": true, "variant": {"name": "disabled", "enabled": false}},
            {"name": "b", "enabled": false},
        ]});
        assert_eq!(enabled_flags(&body), ["a"]);
        assert!(enabled_flags(&json!({})).is_empty());
    }
}
