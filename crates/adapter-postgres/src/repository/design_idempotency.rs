//! `IdempotencyLedger` on `idempotency_keys`: the primary key `(application_id, key)` lets
//! one of two racing records win.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::design::model::IdempotencyKey;
use domain::design::ports::IdempotencyLedger;
use domain::model::{ApplicationId, BuildId};
use domain::ports::PortResult;
use uuid::Uuid;

use crate::error::{PgError, Violation};
use crate::repository::PgAppDataRepository;
use crate::schema::idempotency_keys;

#[async_trait]
impl IdempotencyLedger for PgAppDataRepository {
    #[tracing::instrument(name = "pg.find_idempotent_build", skip_all, fields(app.id = %application_id))]
    async fn find_idempotent_build(
        &self,
        application_id: ApplicationId,
        key: &IdempotencyKey,
    ) -> PortResult<Option<BuildId>> {
        let mut connection = self.connection().await?;
        let build_id: Option<Uuid> = idempotency_keys::table
            .find((application_id.as_uuid(), key.as_str()))
            .select(idempotency_keys::build_id)
            .first(&mut *connection)
            .await
            .optional()
            .map_err(PgError::from)?;
        Ok(build_id.map(BuildId::from_uuid))
    }

    #[tracing::instrument(name = "pg.record_idempotent_build", skip_all, fields(app.id = %application_id, build.id = %build_id))]
    async fn record_idempotent_build(
        &self,
        application_id: ApplicationId,
        key: &IdempotencyKey,
        build_id: BuildId,
    ) -> PortResult<()> {
        let mut connection = self.connection().await?;
        diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::application_id.eq(application_id.as_uuid()),
                idempotency_keys::key.eq(key.as_str()),
                idempotency_keys::build_id.eq(build_id.as_uuid()),
            ))
            .execute(&mut *connection)
            .await
            .map_err(|err| {
                PgError::from(err).into_port(|violation| match violation {
                    Violation::Unique(_) => {
                        Some(format!("key `{key}` is recorded for application {application_id}"))
                    }
                    Violation::ForeignKey(_) => None,
                })
            })?;
        Ok(())
    }

    #[tracing::instrument(name = "pg.forget_idempotency_key", skip_all, fields(app.id = %application_id))]
    async fn forget_idempotency_key(
        &self,
        application_id: ApplicationId,
        key: &IdempotencyKey,
    ) -> PortResult<()> {
        let mut connection = self.connection().await?;
        diesel::delete(idempotency_keys::table.find((application_id.as_uuid(), key.as_str())))
            .execute(&mut *connection)
            .await
            .map_err(PgError::from)?;
        Ok(())
    }
}
