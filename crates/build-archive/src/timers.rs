//! The timer start events of a build's PROCESS resources, read from their content as the
//! Designer writes it (docs/BUILD-ARCHIVE.md, "Timer start events"):
//!
//! ```json
//! { "nodes": [ { "id": "timer1", "name": "Nightly", "type": "TIMER_START_EVENT",
//!                "swimlane": "back-office",
//!                "timer": { "type": "CRON", "expression": "0 0 2 * * *" } } ] }
//! ```
//!
//! The swimlane may also be a `swimlaneId` naming one of `content.swimlanes[] {id, name}`.
//!
//! Only nodes of type `TIMER_START_EVENT` are looked at; the rest of the content belongs to
//! the process engine. Ids may be strings or integers (written as their decimal text).
//!
//! Their switches travel in `schedule.json`, which exports write and imports read, outside
//! the checksum: `{"formatVersion": 1, "timers": [{"timerId": "claim.17", "activated": false}]}`.

use domain::model::{BuildResource, BuildTimer, TimerExpression, TimerNodeId, ValidationError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ArchiveError;
use crate::layout::SCHEDULE_JSON;
use crate::manifest::FORMAT_VERSION;
use crate::wire;

/// The node type of a timer start event.
pub(crate) const TIMER_START_EVENT: &str = "TIMER_START_EVENT";

/// The parts of a process definition timers are read from; anything else is ignored.
#[derive(Deserialize)]
struct ProcessContent {
    #[serde(default)]
    nodes: Value,
    #[serde(default)]
    swimlanes: Value,
}

/// The timers of `resources` (only PROCESS resources have any), all activated.
///
/// # Errors
///
/// [`ArchiveError::InvalidTimer`] naming the resource's entry for a timer node without a
/// valid id or `timer`, a timer type that is not DATE, CYCLE or CRON, an expression that
/// does not parse, or a second timer in one process.
pub(crate) fn timers_of(resources: &[BuildResource]) -> Result<Vec<BuildTimer>, ArchiveError> {
    let mut timers = Vec::new();
    for resource in resources {
        let entry = &resource.entry;
        if entry.resource_type.as_str() != domain::runtime::PROCESS {
            continue;
        }
        let path = format!("resources/{}/{}.json", entry.resource_type, entry.definition_id);
        let content: ProcessContent = serde_json::from_str(resource.content.as_str())
            .map_err(|err| ArchiveError::invalid_json(&path, &err))?;
        let found = process_timers(resource, &content)
            .map_err(|error| ArchiveError::InvalidTimer { entry: path.clone(), error })?;
        BuildTimer::check_one_per_process(&found)
            .map_err(|error| ArchiveError::InvalidTimer { entry: path, error })?;
        timers.extend(found);
    }
    Ok(timers)
}

fn process_timers(
    resource: &BuildResource,
    content: &ProcessContent,
) -> Result<Vec<BuildTimer>, ValidationError> {
    let Some(nodes) = content.nodes.as_array() else {
        return Ok(Vec::new());
    };
    let mut timers = Vec::new();
    for node in nodes {
        if node.get("type").and_then(Value::as_str) != Some(TIMER_START_EVENT) {
            continue;
        }
        let node_id = id_text(node.get("id")).ok_or_else(|| {
            invalid("node.id", "a TIMER_START_EVENT node needs an `id` (a string or an integer)")
        })?;
        let node_id = TimerNodeId::parse(&node_id)?;
        let timer = node.get("timer").and_then(Value::as_object).ok_or_else(|| {
            invalid(
                "node.timer",
                format!(
                    "TIMER_START_EVENT node `{node_id}` needs a `timer` object {{type, expression}}"
                ),
            )
        })?;
        let text = |field: &str| timer.get(field).and_then(Value::as_str);
        let (Some(timer_type), Some(expression)) = (text("type"), text("expression")) else {
            return Err(invalid(
                "node.timer",
                format!("the `timer` of node `{node_id}` needs a string `type` and `expression`"),
            ));
        };
        let expression = TimerExpression::parse(timer_type, expression)?;
        timers.push(BuildTimer {
            process: resource.entry.definition_id.clone(),
            process_name: resource.entry.name.clone(),
            node_id,
            name: node.get("name").and_then(Value::as_str).map(str::to_owned),
            swimlane: swimlane(node, &content.swimlanes),
            expression,
            activated: true,
        });
    }
    Ok(timers)
}

/// The node's swimlane: its `swimlane` (a name), else the name of the lane its
/// `swimlaneId` names in `swimlanes`, else that id.
fn swimlane(node: &Value, swimlanes: &Value) -> Option<String> {
    if let Some(name) = node.get("swimlane").and_then(Value::as_str) {
        return Some(name.to_owned());
    }
    let lane_id = id_text(node.get("swimlaneId"))?;
    let name = swimlanes.as_array().and_then(|lanes| {
        lanes
            .iter()
            .find(|lane| id_text(lane.get("id")).as_deref() == Some(lane_id.as_str()))
            .and_then(|lane| lane.get("name").and_then(Value::as_str))
            .map(str::to_owned)
    });
    Some(name.unwrap_or(lane_id))
}

fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) if number.is_u64() || number.is_i64() => Some(number.to_string()),
        _ => None,
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ValidationError {
    BuildTimer::invalid_node(field, reason)
}

/// `schedule.json`: the switches of the build's timers, written by an export.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ScheduleJson {
    format_version: u32,
    timers: Vec<SwitchJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SwitchJson {
    timer_id: String,
    activated: bool,
}

impl ScheduleJson {
    /// The switches of `timers`.
    pub(crate) fn of(timers: &[BuildTimer]) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            timers: timers
                .iter()
                .map(|timer| SwitchJson {
                    timer_id: timer.id().to_string(),
                    activated: timer.activated,
                })
                .collect(),
        }
    }

    /// Its JSON text, pretty-printed, with a final newline.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        #[expect(clippy::expect_used, reason = "strings and booleans always serialize")]
        let mut json = serde_json::to_vec_pretty(self).expect("a schedule serializes");
        json.push(b'\n');
        json
    }
}

/// Sets the switches `schedule.json` carries on `timers`; a timer it does not name stays on.
///
/// # Errors
///
/// [`ArchiveError::InvalidSchedule`] for JSON of another shape or format version, a timer id
/// the build does not have, or a timer named twice.
pub(crate) fn apply_schedule(json: &[u8], timers: &mut [BuildTimer]) -> Result<(), ArchiveError> {
    let invalid = |reason: String| ArchiveError::InvalidSchedule { reason };
    let schedule: ScheduleJson = match wire::parse_object(SCHEDULE_JSON, json) {
        Ok(schedule) => schedule,
        Err(ArchiveError::InvalidJson { reason, .. }) => return Err(invalid(reason)),
        Err(other) => return Err(other),
    };
    if schedule.format_version != FORMAT_VERSION {
        return Err(invalid(format!(
            "format version {} is not {FORMAT_VERSION}",
            schedule.format_version
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for switch in schedule.timers {
        if !seen.insert(switch.timer_id.clone()) {
            return Err(invalid(format!("timer `{}` is named twice", switch.timer_id)));
        }
        let timer = timers
            .iter_mut()
            .find(|timer| timer.id().to_string() == switch.timer_id)
            .ok_or_else(|| invalid(format!("the build has no timer `{}`", switch.timer_id)))?;
        timer.activated = switch.activated;
    }
    Ok(())
}
