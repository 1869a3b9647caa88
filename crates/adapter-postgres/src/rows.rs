//! Table rows and their conversions to and from the domain model. A row read back goes
//! through the model's validating constructors; one that fails is a backend failure.

mod design;

pub(crate) use design::*;

use diesel::prelude::*;
use domain::model::{
    ActivePolicy, ApplicationId, BranchName, BuildHeader, BuildId, BuildTimer, Checksum, ConfigKey,
    ConfigOverride, PolicyKind, PolicyOverride, PolicyOverrideId, PolicyTarget,
    ResourceDefinitionId, ResourceName, ScheduleMove, TimerExpression, TimerNodeId, TimerSchedule,
    ValidationError, VersionId, Vocabulary, WorkspaceId,
};
use domain::ports::ImportClaim;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::PgError;
use crate::schema::{
    active_policies, build_headers, build_timers, config_overrides, import_claims,
    policy_overrides, timer_schedules,
};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = build_headers, check_for_backend(diesel::pg::Pg))]
pub(crate) struct BuildHeaderRow {
    id: Uuid,
    application_id: Uuid,
    application_name: String,
    application_kind: String,
    workspace_id: Option<Uuid>,
    application_version_id: Uuid,
    branch: String,
    name: String,
    version_tag: Option<String>,
    description: Option<String>,
    checksum: String,
    origin: String,
    created_at: OffsetDateTime,
    created_by: String,
    stored_at: OffsetDateTime,
}

impl From<&BuildHeader> for BuildHeaderRow {
    fn from(header: &BuildHeader) -> Self {
        Self {
            id: *header.id.as_uuid(),
            application_id: *header.application_id.as_uuid(),
            application_name: header.application_name.clone(),
            application_kind: header.application_kind.as_str().to_owned(),
            workspace_id: header.workspace_id.map(|id| *id.as_uuid()),
            application_version_id: *header.application_version_id.as_uuid(),
            branch: header.branch.as_str().to_owned(),
            name: header.name.clone(),
            version_tag: header.version_tag.clone(),
            description: header.description.clone(),
            checksum: header.checksum.as_str().to_owned(),
            origin: header.origin.as_str().to_owned(),
            created_at: header.created_at,
            created_by: header.created_by.clone(),
            stored_at: header.stored_at,
        }
    }
}

impl TryFrom<BuildHeaderRow> for BuildHeader {
    type Error = PgError;

    fn try_from(row: BuildHeaderRow) -> Result<Self, PgError> {
        let invalid = |reason: String| PgError::invalid_row("build header", reason);
        Ok(Self {
            id: BuildId::from_uuid(row.id),
            application_id: ApplicationId::from_uuid(row.application_id),
            application_name: row.application_name,
            application_kind: parse_word("build header", &row.application_kind)?,
            workspace_id: row.workspace_id.map(WorkspaceId::from_uuid),
            application_version_id: VersionId::from_uuid(row.application_version_id),
            branch: BranchName::parse(&row.branch).map_err(|err| invalid(err.to_string()))?,
            name: row.name,
            version_tag: row.version_tag,
            description: row.description,
            checksum: Checksum::parse(&row.checksum).map_err(|err| invalid(err.to_string()))?,
            origin: parse_word("build header", &row.origin)?,
            created_at: row.created_at,
            created_by: row.created_by,
            stored_at: row.stored_at,
        })
    }
}

/// A column holding a word of a domain vocabulary; anything else is a row this version
/// did not write.
pub(crate) fn parse_word<T: Vocabulary>(what: &'static str, text: &str) -> Result<T, PgError> {
    T::parse(text).map_err(|err| PgError::invalid_row(what, err))
}

/// A policy target in its three columns: `target_type`, `build_id`, `branch`.
type TargetColumns = (String, Option<Uuid>, Option<String>);

fn target_columns(target: &PolicyTarget) -> TargetColumns {
    match target {
        PolicyTarget::Build(build_id) => {
            (PolicyKind::Build.as_str().to_owned(), Some(*build_id.as_uuid()), None)
        }
        PolicyTarget::LatestOnBranch(branch) => {
            (PolicyKind::LatestOnBranch.as_str().to_owned(), None, Some(branch.as_str().to_owned()))
        }
    }
}

fn parse_target(what: &'static str, columns: TargetColumns) -> Result<PolicyTarget, PgError> {
    let (kind, build_id, branch) = columns;
    match (parse_word(what, &kind)?, build_id, branch) {
        (PolicyKind::Build, Some(build_id), None) => {
            Ok(PolicyTarget::Build(BuildId::from_uuid(build_id)))
        }
        (PolicyKind::LatestOnBranch, None, Some(branch)) => BranchName::parse(&branch)
            .map(PolicyTarget::LatestOnBranch)
            .map_err(|err| PgError::invalid_row(what, err)),
        _ => Err(PgError::invalid_row(what, format!("inconsistent target `{kind}`"))),
    }
}

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = active_policies, primary_key(application_id))]
#[diesel(check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub(crate) struct ActivePolicyRow {
    application_id: Uuid,
    target_type: String,
    build_id: Option<Uuid>,
    branch: Option<String>,
    updated_by: String,
    updated_at: OffsetDateTime,
}

impl From<&ActivePolicy> for ActivePolicyRow {
    fn from(policy: &ActivePolicy) -> Self {
        let (target_type, build_id, branch) = target_columns(&policy.target);
        Self {
            application_id: *policy.application_id.as_uuid(),
            target_type,
            build_id,
            branch,
            updated_by: policy.updated_by.clone(),
            updated_at: policy.updated_at,
        }
    }
}

impl TryFrom<ActivePolicyRow> for ActivePolicy {
    type Error = PgError;

    fn try_from(row: ActivePolicyRow) -> Result<Self, PgError> {
        Ok(Self {
            application_id: ApplicationId::from_uuid(row.application_id),
            target: parse_target("active policy", (row.target_type, row.build_id, row.branch))?,
            updated_by: row.updated_by,
            updated_at: row.updated_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = policy_overrides, check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
pub(crate) struct PolicyOverrideRow {
    id: Uuid,
    application_id: Uuid,
    subject_type: String,
    subject_id: String,
    target_type: String,
    build_id: Option<Uuid>,
    branch: Option<String>,
    updated_by: String,
    updated_at: OffsetDateTime,
}

impl From<&PolicyOverride> for PolicyOverrideRow {
    fn from(policy_override: &PolicyOverride) -> Self {
        let (target_type, build_id, branch) = target_columns(&policy_override.target);
        Self {
            id: *policy_override.id.as_uuid(),
            application_id: *policy_override.application_id.as_uuid(),
            subject_type: policy_override.subject_type.as_str().to_owned(),
            subject_id: policy_override.subject_id.clone(),
            target_type,
            build_id,
            branch,
            updated_by: policy_override.updated_by.clone(),
            updated_at: policy_override.updated_at,
        }
    }
}

impl TryFrom<PolicyOverrideRow> for PolicyOverride {
    type Error = PgError;

    fn try_from(row: PolicyOverrideRow) -> Result<Self, PgError> {
        let subject_type = parse_word("policy override", &row.subject_type)?;
        Ok(Self {
            id: PolicyOverrideId::from_uuid(row.id),
            application_id: ApplicationId::from_uuid(row.application_id),
            subject_type,
            subject_id: row.subject_id,
            target: parse_target("policy override", (row.target_type, row.build_id, row.branch))?,
            updated_by: row.updated_by,
            updated_at: row.updated_at,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = config_overrides, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ConfigOverrideRow {
    pub(crate) application_id: Uuid,
    pub(crate) key: String,
    param_type: String,
    value: String,
    updated_by: String,
    updated_at: OffsetDateTime,
}

impl From<&ConfigOverride> for ConfigOverrideRow {
    fn from(config_override: &ConfigOverride) -> Self {
        Self {
            application_id: *config_override.application_id.as_uuid(),
            key: config_override.key.as_str().to_owned(),
            param_type: config_override.param_type.as_str().to_owned(),
            value: config_override.value.clone(),
            updated_by: config_override.updated_by.clone(),
            updated_at: config_override.updated_at,
        }
    }
}

impl TryFrom<ConfigOverrideRow> for ConfigOverride {
    type Error = PgError;

    fn try_from(row: ConfigOverrideRow) -> Result<Self, PgError> {
        let invalid = |reason: String| PgError::invalid_row("config override", reason);
        Ok(Self {
            application_id: ApplicationId::from_uuid(row.application_id),
            key: ConfigKey::parse(&row.key).map_err(|err| invalid(err.to_string()))?,
            param_type: parse_word("config override", &row.param_type)?,
            value: row.value,
            updated_by: row.updated_by,
            updated_at: row.updated_at,
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = import_claims, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ImportClaimRow {
    build_id: Uuid,
    checksum: String,
    claimed_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    owner: Uuid,
}

impl From<&ImportClaim> for ImportClaimRow {
    fn from(claim: &ImportClaim) -> Self {
        Self {
            build_id: *claim.build_id.as_uuid(),
            checksum: claim.checksum.as_str().to_owned(),
            claimed_at: claim.claimed_at,
            expires_at: claim.expires_at,
            owner: *claim.owner.as_uuid(),
        }
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = build_timers, check_for_backend(diesel::pg::Pg))]
pub(crate) struct BuildTimerRow {
    build_id: Uuid,
    process_definition_id: String,
    node_id: String,
    process_name: String,
    name: Option<String>,
    swimlane: Option<String>,
    timer_type: String,
    expression: String,
    activated: bool,
}

impl BuildTimerRow {
    pub(crate) fn new(build_id: BuildId, timer: &BuildTimer) -> Self {
        Self {
            build_id: *build_id.as_uuid(),
            process_definition_id: timer.process.as_str().to_owned(),
            node_id: timer.node_id.as_str().to_owned(),
            process_name: timer.process_name.as_str().to_owned(),
            name: timer.name.clone(),
            swimlane: timer.swimlane.clone(),
            timer_type: timer.expression.timer_type().as_str().to_owned(),
            expression: timer.expression.as_str().to_owned(),
            activated: timer.activated,
        }
    }
}

impl TryFrom<BuildTimerRow> for BuildTimer {
    type Error = PgError;

    fn try_from(row: BuildTimerRow) -> Result<Self, PgError> {
        let invalid = |err: ValidationError| PgError::invalid_row("build timer", err);
        Ok(Self {
            process: ResourceDefinitionId::parse(&row.process_definition_id).map_err(invalid)?,
            process_name: ResourceName::parse(&row.process_name).map_err(invalid)?,
            node_id: TimerNodeId::parse(&row.node_id).map_err(invalid)?,
            name: row.name,
            swimlane: row.swimlane,
            expression: TimerExpression::new(
                parse_word("build timer", &row.timer_type)?,
                &row.expression,
            )
            .map_err(invalid)?,
            activated: row.activated,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = timer_schedules, check_for_backend(diesel::pg::Pg))]
pub(crate) struct TimerScheduleRow {
    application_id: Uuid,
    build_id: Option<Uuid>,
    revision: i64,
}

impl From<&ScheduleMove> for TimerScheduleRow {
    /// The row a move writes: the new build at the next revision.
    fn from(schedule: &ScheduleMove) -> Self {
        Self {
            application_id: *schedule.application_id.as_uuid(),
            build_id: schedule.build_id.map(|id| *id.as_uuid()),
            revision: i64::try_from(schedule.expected_revision.saturating_add(1))
                .unwrap_or(i64::MAX),
        }
    }
}

impl TryFrom<TimerScheduleRow> for TimerSchedule {
    type Error = PgError;

    fn try_from(row: TimerScheduleRow) -> Result<Self, PgError> {
        Ok(Self {
            application_id: ApplicationId::from_uuid(row.application_id),
            build_id: row.build_id.map(BuildId::from_uuid),
            revision: u64::try_from(row.revision)
                .map_err(|err| PgError::invalid_row("timer schedule", err))?,
        })
    }
}
