//! `PolicyRepository` on `active_policies` and `policy_overrides`. Their BUILD targets are
//! composite foreign keys to `build_headers (application_id, id)`, so the database itself
//! refuses a build that does not exist or belongs to another application.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use domain::model::{
    ActivePolicy, ApplicationId, DomainEvent, PolicyOverride, PolicyOverrideId, PolicyTarget,
    ScheduleMove,
};
use domain::ports::{PortError, PortResult};
use domain::runtime::ports::PolicyRepository;
use futures_util::TryStreamExt as _;

use crate::error::{PgError, Violation};
use crate::repository::timers::move_schedule;
use crate::repository::{PgAppDataRepository, record_events};
use crate::rows::{ActivePolicyRow, PolicyOverrideRow};
use crate::schema::{active_policies, policy_overrides, policy_revisions};

/// The conflict message of a BUILD target the foreign key refused.
fn unknown_build(application_id: ApplicationId, target: &PolicyTarget) -> String {
    match target {
        PolicyTarget::Build(build_id) => format!(
            "build {build_id} does not exist or belongs to another application than {application_id}"
        ),
        PolicyTarget::LatestOnBranch(branch) => format!("branch {branch} was refused"),
    }
}

/// The port's conflicts of an override write: the subject's unique key, the id, and the
/// BUILD target.
fn override_conflict(policy_override: &PolicyOverride, err: PgError) -> PortError {
    err.into_port(|violation| match violation {
        Violation::Unique("policy_overrides_pkey") => {
            Some(format!("override {} exists already", policy_override.id))
        }
        Violation::Unique(_) => Some(format!(
            "{} `{}` has an override already",
            policy_override.subject_type.as_str(),
            policy_override.subject_id
        )),
        Violation::ForeignKey(_) => {
            Some(unknown_build(policy_override.application_id, &policy_override.target))
        }
    })
}

#[async_trait]
impl PolicyRepository for PgAppDataRepository {
    #[tracing::instrument(name = "pg.policy_revision", skip_all, fields(app.id = %application_id))]
    async fn policy_revision(&self, application_id: ApplicationId) -> PortResult<u64> {
        let mut connection = self.connection().await?;
        let revision: Option<i64> = policy_revisions::table
            .find(application_id.as_uuid())
            .select(policy_revisions::revision)
            .first(&mut *connection)
            .await
            .optional()
            .map_err(PgError::from)?;
        // Sequences start at 1 and never go negative; a negative one would be a corrupt row.
        Ok(revision.map_or(0, |revision| u64::try_from(revision).unwrap_or(0)))
    }

    #[tracing::instrument(name = "pg.find_active_policy", skip_all, fields(app.id = %application_id))]
    async fn find_active_policy(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<Option<ActivePolicy>> {
        let mut connection = self.connection().await?;
        let row: Option<ActivePolicyRow> = active_policies::table
            .find(application_id.as_uuid())
            .select(ActivePolicyRow::as_select())
            .first(&mut *connection)
            .await
            .optional()
            .map_err(PgError::from)?;
        Ok(row.map(ActivePolicy::try_from).transpose()?)
    }

    #[tracing::instrument(name = "pg.put_active_policy", skip_all, fields(app.id = %policy.application_id))]
    async fn put_active_policy(
        &self,
        policy: &ActivePolicy,
        schedule: &ScheduleMove,
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let row = ActivePolicyRow::from(policy);
        let mut connection = self.connection().await?;
        connection
            .transaction(async |connection| {
                move_schedule(connection, schedule).await?;
                diesel::insert_into(active_policies::table)
                    .values(&row)
                    .on_conflict(active_policies::application_id)
                    .do_update()
                    .set(&row)
                    .execute(connection)
                    .await?;
                record_events(connection, events).await
            })
            .await
            .map_err(|err: PgError| {
                err.into_port(|violation| match violation {
                    Violation::ForeignKey(_) => {
                        Some(unknown_build(policy.application_id, &policy.target))
                    }
                    Violation::Unique(_) => None,
                })
            })
    }

    #[tracing::instrument(name = "pg.list_policy_overrides", skip_all, fields(app.id = %application_id))]
    async fn list_policy_overrides(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<Vec<PolicyOverride>> {
        let mut connection = self.connection().await?;
        // An application may have a hundred thousand overrides: one query, in the order of
        // the unique key (application, type, subject) so that its index serves it without a
        // sort, each row converted as it arrives rather than kept as a row beside its model.
        let mut rows = policy_overrides::table
            .filter(policy_overrides::application_id.eq(application_id.as_uuid()))
            .order((policy_overrides::subject_type.asc(), policy_overrides::subject_id.asc()))
            .select(PolicyOverrideRow::as_select())
            .load_stream::<PolicyOverrideRow>(&mut *connection)
            .await
            .map_err(PgError::from)?;
        let mut overrides = Vec::new();
        while let Some(row) = rows.try_next().await.map_err(PgError::from)? {
            overrides.push(PolicyOverride::try_from(row)?);
        }
        // USER, GROUP, ROLE is the model's order, not the text's. Type and subject are unique
        // per application, so an unstable sort is exact, and it sorts in place.
        overrides.sort_unstable_by(|a, b| {
            (a.subject_type, &a.subject_id).cmp(&(b.subject_type, &b.subject_id))
        });
        Ok(overrides)
    }

    #[tracing::instrument(name = "pg.find_policy_override", skip_all, fields(app.id = %application_id, override.id = %id))]
    async fn find_policy_override(
        &self,
        application_id: ApplicationId,
        id: PolicyOverrideId,
    ) -> PortResult<Option<PolicyOverride>> {
        let mut connection = self.connection().await?;
        let row: Option<PolicyOverrideRow> = policy_overrides::table
            .find(id.as_uuid())
            .filter(policy_overrides::application_id.eq(application_id.as_uuid()))
            .select(PolicyOverrideRow::as_select())
            .first(&mut *connection)
            .await
            .optional()
            .map_err(PgError::from)?;
        Ok(row.map(PolicyOverride::try_from).transpose()?)
    }

    #[tracing::instrument(name = "pg.insert_policy_override", skip_all, fields(app.id = %policy_override.application_id, override.id = %policy_override.id))]
    async fn insert_policy_override(
        &self,
        policy_override: &PolicyOverride,
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let row = PolicyOverrideRow::from(policy_override);
        let mut connection = self.connection().await?;
        connection
            .transaction(async |connection| {
                diesel::insert_into(policy_overrides::table)
                    .values(&row)
                    .execute(connection)
                    .await?;
                record_events(connection, events).await
            })
            .await
            .map_err(|err| override_conflict(policy_override, err))
    }

    #[tracing::instrument(name = "pg.update_policy_override", skip_all, fields(app.id = %policy_override.application_id, override.id = %policy_override.id))]
    async fn update_policy_override(
        &self,
        policy_override: &PolicyOverride,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let row = PolicyOverrideRow::from(policy_override);
        let mut connection = self.connection().await?;
        connection
            .transaction(async |connection| {
                let updated = diesel::update(
                    policy_overrides::table.find(policy_override.id.as_uuid()).filter(
                        policy_overrides::application_id
                            .eq(policy_override.application_id.as_uuid()),
                    ),
                )
                .set(&row)
                .execute(connection)
                .await?;
                if updated == 0 {
                    return Ok(false);
                }
                record_events(connection, events).await?;
                Ok::<_, PgError>(true)
            })
            .await
            .map_err(|err| override_conflict(policy_override, err))
    }

    #[tracing::instrument(name = "pg.delete_policy_override", skip_all, fields(app.id = %application_id, override.id = %id))]
    async fn delete_policy_override(
        &self,
        application_id: ApplicationId,
        id: PolicyOverrideId,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut connection = self.connection().await?;
        Ok(connection
            .transaction(async |connection| {
                let deleted = diesel::delete(
                    policy_overrides::table
                        .find(id.as_uuid())
                        .filter(policy_overrides::application_id.eq(application_id.as_uuid())),
                )
                .execute(connection)
                .await?;
                if deleted == 0 {
                    return Ok(false);
                }
                record_events(connection, events).await?;
                Ok::<_, PgError>(true)
            })
            .await?)
    }
}
