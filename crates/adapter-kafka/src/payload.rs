//! The wire form of an outbox record: key, JSON payload (camelCase) and headers. The shapes
//! are documented in the crate docs; the tests here pin them.

use domain::model::{AuditRecord, DomainEvent, OutboxRecord};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Header with the application id, on every message.
pub(crate) const APP_ID_HEADER: &str = "Fx-AppId";
/// Header with the workspace id, when the event knows it.
pub(crate) const WORKSPACE_ID_HEADER: &str = "Fx-WorkspaceId";
/// Header with the organization id, when one is configured.
pub(crate) const ORGANIZATION_ID_HEADER: &str = "Fx-Organization-Id";

/// `eventType` of the active-policy event, which the listener checks.
pub(crate) const ACTIVE_POLICY_UPDATED: &str = "ACTIVE_POLICY_UPDATED";

/// A record ready for the producer (the topic is chosen by the publisher).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WireRecord {
    /// The application id: every event of an application lands on one partition, in order.
    pub(crate) key: String,
    /// JSON.
    pub(crate) payload: Vec<u8>,
    /// Header name and value, in this order.
    pub(crate) headers: Vec<(&'static str, String)>,
}

/// Why a record could not be put into its wire form.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EncodeError {
    #[error("timestamp {0} cannot be written as rfc 3339")]
    Timestamp(OffsetDateTime, #[source] time::error::Format),
    #[error("payload cannot be serialized")]
    Json(#[from] serde_json::Error),
}

/// The wire form of `record`; `organization_id` goes into `Fx-Organization-Id` when set.
pub(crate) fn encode(
    record: &OutboxRecord,
    organization_id: Option<&str>,
) -> Result<WireRecord, EncodeError> {
    let application_id = record.event.application_id().to_string();
    // The scheduler's own key for a timer, so that its set and stop of one timer land on one
    // partition of each topic; every other event is keyed by its application.
    let key = match &record.event {
        DomainEvent::Timer { timer, .. } => timer.schedule_id(),
        _ => application_id.clone(),
    };
    let sequence = record.sequence;
    let recorded_at = rfc3339(record.recorded_at)?;
    let payload = match &record.event {
        DomainEvent::BuildImported { application_id: _, workspace_id, build_id, checksum } => {
            serde_json::to_vec(&BuildImported {
                event_type: "BUILD_IMPORTED",
                sequence,
                timestamp: recorded_at,
                app_id: &application_id,
                workspace_id: workspace_id.map(|id| id.to_string()),
                build_id: build_id.to_string(),
                checksum: checksum.as_str(),
            })?
        }
        DomainEvent::BuildCreated {
            application_id: _,
            workspace_id,
            build_id,
            application_version_id,
            checksum,
        } => serde_json::to_vec(&BuildCreated {
            event_type: "BUILD_CREATED",
            sequence,
            timestamp: recorded_at,
            app_id: &application_id,
            workspace_id: workspace_id.map(|id| id.to_string()),
            build_id: build_id.to_string(),
            version_id: application_version_id.to_string(),
            checksum: checksum.as_str(),
        })?,
        DomainEvent::BuildDeleted { application_id: _, build_id } => {
            serde_json::to_vec(&BuildDeleted {
                event_type: "BUILD_DELETED",
                sequence,
                timestamp: recorded_at,
                app_id: &application_id,
                build_id: build_id.to_string(),
            })?
        }
        DomainEvent::ActivePolicyUpdated { application_id: _ } => {
            serde_json::to_vec(&ActivePolicyUpdated {
                event_type: ACTIVE_POLICY_UPDATED,
                sequence,
                timestamp: recorded_at,
                app_id: &application_id,
            })?
        }
        DomainEvent::ConfigOverridesUpdated { application_id: _, keys } => {
            serde_json::to_vec(&ConfigOverridesUpdated {
                event_type: "CONFIG_OVERRIDES_UPDATED",
                sequence,
                timestamp: recorded_at,
                app_id: &application_id,
                keys: keys.iter().map(|key| key.as_str()).collect(),
            })?
        }
        DomainEvent::Timer { command: _, timer } => serde_json::to_vec(&TimerSchedule {
            schedule_id: timer.schedule_id(),
            application_id: &application_id,
            build_id: timer.build_id.to_string(),
            workspace_id: timer.workspace_id.map(|id| id.to_string()),
            process_definition_name: timer.process_name.as_str(),
            timer_node_id: timer.node_id.as_str(),
            timer_type: timer.expression.timer_type().as_str(),
            expression: timer.expression.as_str(),
        })?,
        DomainEvent::Audit(audit) => {
            serde_json::to_vec(&audit_payload(audit, sequence, &application_id)?)?
        }
    };

    let mut headers = vec![(APP_ID_HEADER, application_id.clone())];
    if let Some(workspace_id) = workspace_id(&record.event) {
        headers.push((WORKSPACE_ID_HEADER, workspace_id));
    }
    if let Some(organization_id) = organization_id {
        headers.push((ORGANIZATION_ID_HEADER, organization_id.to_owned()));
    }
    Ok(WireRecord { key, payload, headers })
}

fn workspace_id(event: &DomainEvent) -> Option<String> {
    match event {
        DomainEvent::BuildImported { workspace_id, .. }
        | DomainEvent::BuildCreated { workspace_id, .. } => workspace_id.map(|id| id.to_string()),
        DomainEvent::Audit(audit) => audit.workspace_id.map(|id| id.to_string()),
        DomainEvent::Timer { timer, .. } => timer.workspace_id.map(|id| id.to_string()),
        DomainEvent::BuildDeleted { .. }
        | DomainEvent::ActivePolicyUpdated { .. }
        | DomainEvent::ConfigOverridesUpdated { .. } => None,
    }
}

fn rfc3339(at: OffsetDateTime) -> Result<String, EncodeError> {
    at.format(&Rfc3339).map_err(|err| EncodeError::Timestamp(at, err))
}

fn audit_payload<'a>(
    audit: &'a AuditRecord,
    sequence: u64,
    application_id: &'a str,
) -> Result<Audit<'a>, EncodeError> {
    Ok(Audit {
        event_type: "AUDIT",
        sequence,
        timestamp: rfc3339(audit.at)?,
        user: &audit.username,
        subject: Subject { kind: audit.entity.kind().as_str(), id: audit.entity.id() },
        // The original's coarse action; the exact operation goes in the details.
        action: audit.action.verb().as_str(),
        app_id: application_id,
        workspace_id: audit.workspace_id.map(|id| id.to_string()),
        build_id: audit.entity.build_id().map(|id| id.to_string()),
        status: "SUCCESS",
        details: AuditDetails { operation: audit.action.as_str() },
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BuildImported<'a> {
    event_type: &'static str,
    sequence: u64,
    timestamp: String,
    app_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    workspace_id: Option<String>,
    build_id: String,
    checksum: &'a str,
}

/// `build.create`: the original's build-creation message names the build, its application
/// and the version it was made from.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BuildCreated<'a> {
    event_type: &'static str,
    sequence: u64,
    timestamp: String,
    app_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    workspace_id: Option<String>,
    build_id: String,
    version_id: String,
    checksum: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BuildDeleted<'a> {
    event_type: &'static str,
    sequence: u64,
    timestamp: String,
    app_id: &'a str,
    build_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ActivePolicyUpdated<'a> {
    event_type: &'static str,
    sequence: u64,
    timestamp: String,
    app_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigOverridesUpdated<'a> {
    event_type: &'static str,
    sequence: u64,
    timestamp: String,
    app_id: &'a str,
    keys: Vec<&'a str>,
}

/// `core.trigger.set|stop.timer-event-schedule`: the shape the platform's scheduler reads,
/// the same on both topics (the topic is the command).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TimerSchedule<'a> {
    schedule_id: String,
    application_id: &'a str,
    build_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    workspace_id: Option<String>,
    process_definition_name: &'a str,
    timer_node_id: &'a str,
    timer_type: &'static str,
    expression: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Audit<'a> {
    event_type: &'static str,
    sequence: u64,
    timestamp: String,
    user: &'a str,
    subject: Subject,
    action: &'static str,
    app_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    workspace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    build_id: Option<String>,
    status: &'static str,
    details: AuditDetails,
}

#[derive(Serialize)]
struct Subject {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
}

#[derive(Serialize)]
struct AuditDetails {
    operation: &'static str,
}

/// The part of an active-policy message the listener needs.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActivePolicyUpdatedIn {
    pub(crate) event_type: String,
    pub(crate) app_id: String,
    /// The outbox sequence: the application's policy revision after the change. 0 when
    /// absent (a producer other than rtm), which evicts without a floor.
    #[serde(default)]
    pub(crate) sequence: u64,
}

#[cfg(test)]
mod tests {
    use crate::topics::Topic;
    use domain::model::{
        ApplicationId, AuditAction, BuildId, Checksum, ConfigKey, EntityRef, ResourceName,
        ScheduleCommand, ScheduledTimer, TimerExpression, TimerNodeId, VersionId, WorkspaceId,
    };
    use serde_json::{Value, json};
    use time::macros::datetime;

    use super::*;

    fn record(event: DomainEvent) -> OutboxRecord {
        OutboxRecord { sequence: 42, event, recorded_at: datetime!(2026-11-24 10:15:30.123 UTC) }
    }

    fn json_of(wire: &WireRecord) -> Value {
        serde_json::from_slice(&wire.payload).unwrap()
    }

    #[test]
    fn an_imported_build_carries_its_ids_checksum_and_workspace() {
        let application_id = ApplicationId::random();
        let workspace_id = WorkspaceId::random();
        let build_id = BuildId::random();
        let checksum = Checksum::parse(&"ab".repeat(32)).unwrap();
        let wire = encode(
            &record(DomainEvent::BuildImported {
                application_id,
                workspace_id: Some(workspace_id),
                build_id,
                checksum,
            }),
            Some("org-1"),
        )
        .unwrap();

        assert_eq!(wire.key, application_id.to_string());
        assert_eq!(
            json_of(&wire),
            json!({
                "eventType": "BUILD_IMPORTED",
                "sequence": 42,
                "timestamp": "2026-11-24T10:15:30.123Z",
                "appId": application_id.to_string(),
                "workspaceId": workspace_id.to_string(),
                "buildId": build_id.to_string(),
                "checksum": "ab".repeat(32),
            })
        );
        assert_eq!(
            wire.headers,
            vec![
                ("Fx-AppId", application_id.to_string()),
                ("Fx-WorkspaceId", workspace_id.to_string()),
                ("Fx-Organization-Id", "org-1".to_owned()),
            ]
        );
    }

    #[test]
    fn events_without_a_workspace_or_organization_have_only_the_app_header() {
        let application_id = ApplicationId::random();
        let build_id = BuildId::random();
        let wire =
            encode(&record(DomainEvent::BuildDeleted { application_id, build_id }), None).unwrap();
        assert_eq!(wire.headers, vec![("Fx-AppId", application_id.to_string())]);
        assert_eq!(
            json_of(&wire),
            json!({
                "eventType": "BUILD_DELETED",
                "sequence": 42,
                "timestamp": "2026-11-24T10:15:30.123Z",
                "appId": application_id.to_string(),
                "buildId": build_id.to_string(),
            })
        );
    }

    #[test]
    fn a_created_build_names_its_version_on_build_create() {
        let application_id = ApplicationId::random();
        let build_id = BuildId::random();
        let version_id = VersionId::random();
        let event = DomainEvent::BuildCreated {
            application_id,
            workspace_id: None,
            build_id,
            application_version_id: version_id,
            checksum: Checksum::parse(&"cd".repeat(32)).unwrap(),
        };
        assert_eq!(Topic::of(&event), Topic::BuildCreated);
        let wire = encode(&record(event), None).unwrap();
        assert_eq!(
            json_of(&wire),
            json!({
                "eventType": "BUILD_CREATED",
                "sequence": 42,
                "timestamp": "2026-11-24T10:15:30.123Z",
                "appId": application_id.to_string(),
                "buildId": build_id.to_string(),
                "versionId": version_id.to_string(),
                "checksum": "cd".repeat(32),
            })
        );
        assert_eq!(wire.key, application_id.to_string());
    }

    #[test]
    fn policy_and_override_events_name_the_application_and_keys() {
        let application_id = ApplicationId::random();
        let wire =
            encode(&record(DomainEvent::ActivePolicyUpdated { application_id }), None).unwrap();
        assert_eq!(
            json_of(&wire),
            json!({
                "eventType": "ACTIVE_POLICY_UPDATED",
                "sequence": 42,
                "timestamp": "2026-11-24T10:15:30.123Z",
                "appId": application_id.to_string(),
            })
        );
        let incoming: ActivePolicyUpdatedIn = serde_json::from_slice(&wire.payload).unwrap();
        assert_eq!(incoming.event_type, ACTIVE_POLICY_UPDATED);
        assert_eq!(incoming.app_id, application_id.to_string());

        let keys = vec![ConfigKey::parse("api.url").unwrap(), ConfigKey::parse("retries").unwrap()];
        let wire =
            encode(&record(DomainEvent::ConfigOverridesUpdated { application_id, keys }), None)
                .unwrap();
        assert_eq!(json_of(&wire)["eventType"], "CONFIG_OVERRIDES_UPDATED");
        assert_eq!(json_of(&wire)["keys"], json!(["api.url", "retries"]));
    }

    #[test]
    fn an_audit_record_has_the_shape_of_the_original_audit_messages() {
        let application_id = ApplicationId::random();
        let build_id = BuildId::random();
        let wire = encode(
            &record(DomainEvent::Audit(AuditRecord {
                action: AuditAction::ImportBuild,
                entity: EntityRef::Build(build_id),
                application_id,
                workspace_id: None,
                username: "alice".to_owned(),
                at: datetime!(2026-11-24 10:15:29 UTC),
            })),
            None,
        )
        .unwrap();
        assert_eq!(
            json_of(&wire),
            json!({
                "eventType": "AUDIT",
                "sequence": 42,
                "timestamp": "2026-11-24T10:15:29Z",
                "user": "alice",
                "subject": { "type": "BUILD", "id": build_id.to_string() },
                "action": "IMPORT",
                "appId": application_id.to_string(),
                "buildId": build_id.to_string(),
                "status": "SUCCESS",
                "details": { "operation": "IMPORT_BUILD" },
            })
        );
    }

    #[test]
    fn a_timer_schedule_is_keyed_by_its_schedule_id_with_the_schedulers_shape() {
        let application_id = ApplicationId::random();
        let workspace_id = WorkspaceId::random();
        let build_id = BuildId::random();
        let timer = ScheduledTimer {
            application_id,
            workspace_id: Some(workspace_id),
            build_id,
            process_name: ResourceName::parse("nightly_report").unwrap(),
            node_id: TimerNodeId::parse("timer1").unwrap(),
            expression: TimerExpression::parse("CRON", "0 0 2 * * *").unwrap(),
        };
        for (command, topic) in
            [(ScheduleCommand::Set, Topic::TimerSet), (ScheduleCommand::Stop, Topic::TimerStop)]
        {
            let event = DomainEvent::Timer { command, timer: timer.clone() };
            assert_eq!(Topic::of(&event), topic);
            let wire = encode(&record(event), None).unwrap();
            let schedule_id = format!("{application_id}:nightly_report:timer1");
            assert_eq!(wire.key, schedule_id);
            assert_eq!(
                json_of(&wire),
                json!({
                    "scheduleId": schedule_id,
                    "applicationId": application_id.to_string(),
                    "buildId": build_id.to_string(),
                    "workspaceId": workspace_id.to_string(),
                    "processDefinitionName": "nightly_report",
                    "timerNodeId": "timer1",
                    "timerType": "CRON",
                    "expression": "0 0 2 * * *",
                })
            );
            assert_eq!(
                wire.headers,
                vec![
                    ("Fx-AppId", application_id.to_string()),
                    ("Fx-WorkspaceId", workspace_id.to_string()),
                ]
            );
        }
    }

    #[test]
    fn an_audit_record_of_a_policy_has_no_build_id() {
        let application_id = ApplicationId::random();
        let wire = encode(
            &record(DomainEvent::Audit(AuditRecord {
                action: AuditAction::SetActivePolicy,
                entity: EntityRef::ActivePolicy(application_id),
                application_id,
                workspace_id: Some(WorkspaceId::random()),
                username: "bob".to_owned(),
                at: datetime!(2026-11-24 10:15:29 UTC),
            })),
            None,
        )
        .unwrap();
        let payload = json_of(&wire);
        assert_eq!(payload["action"], "ACTIVATE");
        assert_eq!(payload["details"]["operation"], "SET_ACTIVE_POLICY");
        assert!(payload.get("buildId").is_none());
        assert!(payload.get("workspaceId").is_some());
        assert_eq!(wire.headers.len(), 2, "the workspace is in the headers too");
    }
}
