//! The JSON that `outbox_events.event` holds: a serde mirror of `DomainEvent`, owned by this
//! adapter, so that the domain stays free of wire formats.
//!
//! One object per event, tagged by `type` (`BUILD_IMPORTED`, `BUILD_CREATED`, `BUILD_DELETED`,
//! `ACTIVE_POLICY_UPDATED`, `CONFIG_OVERRIDES_UPDATED`, `TIMER`, `AUDIT`), fields in camelCase,
//! timestamps as RFC 3339 text with nanoseconds. Unknown fields are ignored when reading,
//! so a newer replica may add fields without stalling an older relay. Audit actions and
//! entity references are written in the domain's own words (`AuditAction`, `EntityRef`),
//! so a new action or entity needs no change here.

use domain::model::{
    ApplicationId, AuditAction, AuditRecord, BuildId, Checksum, ConfigKey, DomainEvent, EntityRef,
    ResourceName, ScheduleCommand, ScheduledTimer, TimerExpression, TimerNodeId, ValidationError,
    VersionId, WorkspaceId,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::error::PgError;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
enum EventJson {
    BuildImported {
        application_id: Uuid,
        #[serde(default)]
        workspace_id: Option<Uuid>,
        build_id: Uuid,
        checksum: String,
    },
    BuildCreated {
        application_id: Uuid,
        #[serde(default)]
        workspace_id: Option<Uuid>,
        build_id: Uuid,
        application_version_id: Uuid,
        checksum: String,
    },
    BuildDeleted {
        application_id: Uuid,
        build_id: Uuid,
    },
    ActivePolicyUpdated {
        application_id: Uuid,
    },
    ConfigOverridesUpdated {
        application_id: Uuid,
        keys: Vec<String>,
    },
    Timer {
        command: String,
        application_id: Uuid,
        #[serde(default)]
        workspace_id: Option<Uuid>,
        build_id: Uuid,
        process_name: String,
        node_id: String,
        timer_type: String,
        expression: String,
    },
    Audit {
        action: String,
        application_id: Uuid,
        #[serde(default)]
        workspace_id: Option<Uuid>,
        entity_type: String,
        entity_id: String,
        username: String,
        at: String,
    },
}

/// The stored form of `event`.
pub(crate) fn encode(event: &DomainEvent) -> Result<serde_json::Value, PgError> {
    let json = match event {
        DomainEvent::BuildImported { application_id, workspace_id, build_id, checksum } => {
            EventJson::BuildImported {
                application_id: *application_id.as_uuid(),
                workspace_id: workspace_id.map(|id| *id.as_uuid()),
                build_id: *build_id.as_uuid(),
                checksum: checksum.as_str().to_owned(),
            }
        }
        DomainEvent::BuildCreated {
            application_id,
            workspace_id,
            build_id,
            application_version_id,
            checksum,
        } => EventJson::BuildCreated {
            application_id: *application_id.as_uuid(),
            workspace_id: workspace_id.map(|id| *id.as_uuid()),
            build_id: *build_id.as_uuid(),
            application_version_id: *application_version_id.as_uuid(),
            checksum: checksum.as_str().to_owned(),
        },
        DomainEvent::BuildDeleted { application_id, build_id } => EventJson::BuildDeleted {
            application_id: *application_id.as_uuid(),
            build_id: *build_id.as_uuid(),
        },
        DomainEvent::ActivePolicyUpdated { application_id } => {
            EventJson::ActivePolicyUpdated { application_id: *application_id.as_uuid() }
        }
        DomainEvent::ConfigOverridesUpdated { application_id, keys } => {
            EventJson::ConfigOverridesUpdated {
                application_id: *application_id.as_uuid(),
                keys: keys.iter().map(|key| key.as_str().to_owned()).collect(),
            }
        }
        DomainEvent::Timer { command, timer } => EventJson::Timer {
            command: command.as_str().to_owned(),
            application_id: *timer.application_id.as_uuid(),
            workspace_id: timer.workspace_id.map(|id| *id.as_uuid()),
            build_id: *timer.build_id.as_uuid(),
            process_name: timer.process_name.as_str().to_owned(),
            node_id: timer.node_id.as_str().to_owned(),
            timer_type: timer.expression.timer_type().as_str().to_owned(),
            expression: timer.expression.as_str().to_owned(),
        },
        DomainEvent::Audit(record) => EventJson::Audit {
            action: record.action.as_str().to_owned(),
            application_id: *record.application_id.as_uuid(),
            workspace_id: record.workspace_id.map(|id| *id.as_uuid()),
            entity_type: record.entity.kind().as_str().to_owned(),
            entity_id: record.entity.id(),
            username: record.username.clone(),
            at: record.at.format(&Rfc3339).map_err(|err| PgError::invalid_row("event", err))?,
        },
    };
    serde_json::to_value(json).map_err(PgError::EncodeEvent)
}

/// The event stored as `value`.
pub(crate) fn decode(value: serde_json::Value) -> Result<DomainEvent, PgError> {
    let invalid = |reason: String| PgError::invalid_row("outbox event", reason);
    let json: EventJson = serde_json::from_value(value).map_err(|err| invalid(err.to_string()))?;
    Ok(match json {
        EventJson::BuildImported { application_id, workspace_id, build_id, checksum } => {
            DomainEvent::BuildImported {
                application_id: ApplicationId::from_uuid(application_id),
                workspace_id: workspace_id.map(WorkspaceId::from_uuid),
                build_id: BuildId::from_uuid(build_id),
                checksum: Checksum::parse(&checksum).map_err(|err| invalid(err.to_string()))?,
            }
        }
        EventJson::BuildCreated {
            application_id,
            workspace_id,
            build_id,
            application_version_id,
            checksum,
        } => DomainEvent::BuildCreated {
            application_id: ApplicationId::from_uuid(application_id),
            workspace_id: workspace_id.map(WorkspaceId::from_uuid),
            build_id: BuildId::from_uuid(build_id),
            application_version_id: VersionId::from_uuid(application_version_id),
            checksum: Checksum::parse(&checksum).map_err(|err| invalid(err.to_string()))?,
        },
        EventJson::BuildDeleted { application_id, build_id } => DomainEvent::BuildDeleted {
            application_id: ApplicationId::from_uuid(application_id),
            build_id: BuildId::from_uuid(build_id),
        },
        EventJson::ActivePolicyUpdated { application_id } => DomainEvent::ActivePolicyUpdated {
            application_id: ApplicationId::from_uuid(application_id),
        },
        EventJson::ConfigOverridesUpdated { application_id, keys } => {
            DomainEvent::ConfigOverridesUpdated {
                application_id: ApplicationId::from_uuid(application_id),
                keys: keys
                    .iter()
                    .map(|key| ConfigKey::parse(key).map_err(|err| invalid(err.to_string())))
                    .collect::<Result<_, _>>()?,
            }
        }
        EventJson::Timer {
            command,
            application_id,
            workspace_id,
            build_id,
            process_name,
            node_id,
            timer_type,
            expression,
        } => {
            let invalid = |err: ValidationError| invalid(err.to_string());
            DomainEvent::Timer {
                command: ScheduleCommand::parse(&command).map_err(invalid)?,
                timer: ScheduledTimer {
                    application_id: ApplicationId::from_uuid(application_id),
                    workspace_id: workspace_id.map(WorkspaceId::from_uuid),
                    build_id: BuildId::from_uuid(build_id),
                    process_name: ResourceName::parse(&process_name).map_err(invalid)?,
                    node_id: TimerNodeId::parse(&node_id).map_err(invalid)?,
                    expression: TimerExpression::parse(&timer_type, &expression)
                        .map_err(invalid)?,
                },
            }
        }
        EventJson::Audit {
            action,
            application_id,
            workspace_id,
            entity_type,
            entity_id,
            username,
            at,
        } => DomainEvent::Audit(AuditRecord {
            action: AuditAction::parse(&action).map_err(|err| invalid(err.to_string()))?,
            entity: EntityRef::parse(&entity_type, &entity_id)
                .map_err(|err| invalid(err.to_string()))?,
            application_id: ApplicationId::from_uuid(application_id),
            workspace_id: workspace_id.map(WorkspaceId::from_uuid),
            username,
            at: OffsetDateTime::parse(&at, &Rfc3339).map_err(|err| invalid(err.to_string()))?,
        }),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn application_id() -> ApplicationId {
        ApplicationId::parse("0b6c3b0e-9f5e-4f57-9a39-6a8f0e1d2c3b").expect("valid uuid")
    }

    fn every_kind_of_event() -> Vec<DomainEvent> {
        let application_id = application_id();
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_790_000_000_123_456_789)
            .expect("valid instant");
        vec![
            DomainEvent::BuildImported {
                application_id,
                workspace_id: Some(WorkspaceId::random()),
                build_id: BuildId::random(),
                checksum: Checksum::parse(&"ab".repeat(32)).expect("valid checksum"),
            },
            DomainEvent::BuildImported {
                application_id,
                workspace_id: None,
                build_id: BuildId::random(),
                checksum: Checksum::parse(&"cd".repeat(32)).expect("valid checksum"),
            },
            DomainEvent::BuildCreated {
                application_id,
                workspace_id: None,
                build_id: BuildId::random(),
                application_version_id: VersionId::random(),
                checksum: Checksum::parse(&"ef".repeat(32)).expect("valid checksum"),
            },
            DomainEvent::BuildDeleted { application_id, build_id: BuildId::random() },
            DomainEvent::ActivePolicyUpdated { application_id },
            DomainEvent::ConfigOverridesUpdated {
                application_id,
                keys: vec![
                    ConfigKey::parse("api.baseUrl").expect("valid key"),
                    ConfigKey::parse("b").expect("valid key"),
                ],
            },
            DomainEvent::Timer {
                command: ScheduleCommand::Set,
                timer: ScheduledTimer {
                    application_id,
                    workspace_id: Some(WorkspaceId::random()),
                    build_id: BuildId::random(),
                    process_name: ResourceName::parse("Nightly report").expect("valid name"),
                    node_id: TimerNodeId::parse("17").expect("valid node id"),
                    expression: TimerExpression::parse("CRON", "0 0 2 * * *").expect("valid cron"),
                },
            },
            DomainEvent::Timer {
                command: ScheduleCommand::Stop,
                timer: ScheduledTimer {
                    application_id,
                    workspace_id: None,
                    build_id: BuildId::random(),
                    process_name: ResourceName::parse("Reminder").expect("valid name"),
                    node_id: TimerNodeId::parse("t").expect("valid node id"),
                    expression: TimerExpression::parse("CYCLE", "R5/PT10M").expect("valid cycle"),
                },
            },
            DomainEvent::Audit(AuditRecord {
                action: AuditAction::SetConfigOverrides,
                entity: EntityRef::ConfigOverrides(vec![
                    ConfigKey::parse("api.baseUrl").expect("valid key"),
                    ConfigKey::parse("b").expect("valid key"),
                ]),
                application_id,
                workspace_id: None,
                username: "alice".to_owned(),
                at,
            }),
            DomainEvent::Audit(AuditRecord {
                action: AuditAction::ImportBuild,
                entity: EntityRef::Build(BuildId::random()),
                application_id,
                workspace_id: Some(WorkspaceId::random()),
                username: "bob".to_owned(),
                at,
            }),
        ]
    }

    #[test]
    fn every_event_reads_back_as_it_was_written() {
        for event in every_kind_of_event() {
            let stored = encode(&event).expect("encode");
            let read = decode(stored.clone()).expect("decode");
            assert_eq!(read, event, "round trip of {stored}");
        }
    }

    #[test]
    fn the_stored_form_is_tagged_camel_case_json() {
        let event = DomainEvent::ConfigOverridesUpdated {
            application_id: application_id(),
            keys: vec![ConfigKey::parse("api.baseUrl").expect("valid key")],
        };

        let stored = encode(&event).expect("encode");

        assert_eq!(
            stored,
            json!({
                "type": "CONFIG_OVERRIDES_UPDATED",
                "applicationId": "0b6c3b0e-9f5e-4f57-9a39-6a8f0e1d2c3b",
                "keys": ["api.baseUrl"],
            })
        );
    }

    #[test]
    fn an_audit_record_keeps_nanoseconds_and_its_action() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_790_000_000_123_456_789)
            .expect("valid instant");
        let override_id = domain::model::PolicyOverrideId::random();
        let event = DomainEvent::Audit(AuditRecord {
            action: AuditAction::DeletePolicyOverride,
            entity: EntityRef::PolicyOverride(override_id),
            application_id: application_id(),
            workspace_id: None,
            username: "carol".to_owned(),
            at,
        });

        let stored = encode(&event).expect("encode");

        assert_eq!(stored["action"], "DELETE_POLICY_OVERRIDE");
        assert_eq!(stored["at"], "2026-09-21T14:13:20.123456789Z");
        assert_eq!(stored["entityType"], "ACTIVE_POLICY_OVERRIDE");
        assert_eq!(stored["entityId"], override_id.to_string());
    }

    #[test]
    fn unknown_fields_are_ignored_and_garbage_is_an_invalid_row() {
        let with_extra = json!({
            "type": "ACTIVE_POLICY_UPDATED",
            "applicationId": "0b6c3b0e-9f5e-4f57-9a39-6a8f0e1d2c3b",
            "addedLater": true,
        });
        assert_eq!(
            decode(with_extra).expect("decode"),
            DomainEvent::ActivePolicyUpdated { application_id: application_id() }
        );

        let unknown_type = json!({ "type": "NO_SUCH_EVENT" });
        assert!(matches!(decode(unknown_type), Err(PgError::InvalidRow { .. })));
        let bad_key = json!({
            "type": "CONFIG_OVERRIDES_UPDATED",
            "applicationId": "0b6c3b0e-9f5e-4f57-9a39-6a8f0e1d2c3b",
            "keys": ["processInstanceId"],
        });
        assert!(matches!(decode(bad_key), Err(PgError::InvalidRow { .. })));
        let unknown_action = json!({
            "type": "AUDIT",
            "action": "NO_SUCH_ACTION",
            "applicationId": "0b6c3b0e-9f5e-4f57-9a39-6a8f0e1d2c3b",
            "entityType": "BUILD",
            "entityId": "0b6c3b0e-9f5e-4f57-9a39-6a8f0e1d2c3b",
            "username": "x",
            "at": "2026-09-21T14:13:20Z",
        });
        assert!(matches!(decode(unknown_action), Err(PgError::InvalidRow { .. })));
    }
}
