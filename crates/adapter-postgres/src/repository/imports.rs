//! `ImportLedger` on `import_claims` (leases) and `build_headers` (the commit point).

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::query_dsl::methods::FilterDsl as _;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, RunQueryDsl};
use domain::model::{BuildHeader, BuildId, BuildTimer, DomainEvent, ImportOwner, ScheduleMove};
use domain::ports::{ImportClaim, ImportLedger, PortError, PortResult};
use time::OffsetDateTime;

use crate::error::{PgError, Violation};
use crate::repository::timers::{insert_timers, move_schedule};
use crate::repository::{PgAppDataRepository, record_events};
use crate::rows::{BuildHeaderRow, ImportClaimRow};
use crate::schema::{build_headers, import_claims};

#[async_trait]
impl ImportLedger for PgAppDataRepository {
    #[tracing::instrument(name = "pg.claim_import", skip_all, fields(build.id = %claim.build_id))]
    async fn claim_import(&self, claim: &ImportClaim) -> PortResult<()> {
        let mut connection = self.connection().await?;
        // One statement: inserts a fresh claim or replaces one that has expired at
        // `claimed_at`. PostgreSQL locks the conflicting row and re-checks the condition on
        // its latest version, so of two concurrent claims exactly one wins.
        let taken = diesel::insert_into(import_claims::table)
            .values(ImportClaimRow::from(claim))
            .on_conflict(import_claims::build_id)
            .do_update()
            .set((
                import_claims::owner.eq(excluded(import_claims::owner)),
                import_claims::checksum.eq(excluded(import_claims::checksum)),
                import_claims::claimed_at.eq(excluded(import_claims::claimed_at)),
                import_claims::expires_at.eq(excluded(import_claims::expires_at)),
            ))
            .filter(import_claims::expires_at.le(excluded(import_claims::claimed_at)))
            .execute(&mut *connection)
            .await
            .map_err(PgError::from)?;
        if taken == 0 {
            return Err(PortError::Conflict(format!(
                "build {} is claimed by another import that has not expired",
                claim.build_id
            )));
        }
        Ok(())
    }

    #[tracing::instrument(name = "pg.renew_import", skip_all, fields(build.id = %build_id))]
    async fn renew_import(
        &self,
        build_id: BuildId,
        owner: ImportOwner,
        expires_at: OffsetDateTime,
    ) -> PortResult<bool> {
        let mut connection = self.connection().await?;
        let renewed = diesel::update(owned_claim(build_id, owner))
            .set(import_claims::expires_at.eq(expires_at))
            .execute(&mut *connection)
            .await
            .map_err(PgError::from)?;
        Ok(renewed == 1)
    }

    #[tracing::instrument(name = "pg.complete_import", skip_all, fields(build.id = %header.id))]
    async fn complete_import(
        &self,
        header: &BuildHeader,
        owner: ImportOwner,
        timers: &[BuildTimer],
        schedule: &ScheduleMove,
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let row = BuildHeaderRow::from(header);
        let mut connection = self.connection().await?;
        connection
            .transaction(async |connection| {
                // The schedule's row first, as in every write that moves it (its foreign
                // key to this very header is checked at commit).
                move_schedule(connection, schedule).await?;
                // Deleting the claim locks it: a takeover waits for this transaction, then
                // finds the header.
                let dropped =
                    diesel::delete(owned_claim(header.id, owner)).execute(connection).await?;
                if dropped == 0 {
                    return Err(PgError::Refused(format!(
                        "the import of build {} no longer holds its claim",
                        header.id
                    )));
                }
                diesel::insert_into(build_headers::table).values(&row).execute(connection).await?;
                insert_timers(connection, header.id, timers).await?;
                record_events(connection, events).await
            })
            .await
            .map_err(|err: PgError| {
                err.into_port(|violation| match violation {
                    Violation::Unique(_) => Some(format!("build {} exists already", header.id)),
                    Violation::ForeignKey(_) => None,
                })
            })
    }

    #[tracing::instrument(name = "pg.release_import", skip_all, fields(build.id = %build_id))]
    async fn release_import(&self, build_id: BuildId, owner: ImportOwner) -> PortResult<()> {
        let mut connection = self.connection().await?;
        diesel::delete(owned_claim(build_id, owner))
            .execute(&mut *connection)
            .await
            .map_err(PgError::from)?;
        Ok(())
    }
}

/// The claim on `build_id` if `owner` holds it.
fn owned_claim(
    build_id: BuildId,
    owner: ImportOwner,
) -> diesel::dsl::Filter<
    diesel::dsl::Find<import_claims::table, uuid::Uuid>,
    diesel::dsl::Eq<import_claims::owner, uuid::Uuid>,
> {
    // `QueryDsl::filter`: the upsert above needs `FilterDsl` in scope, which makes `.filter`
    // ambiguous on a select.
    QueryDsl::filter(
        import_claims::table.find(*build_id.as_uuid()),
        import_claims::owner.eq(*owner.as_uuid()),
    )
}
