//! `ConfigOverrideRepository` on `config_overrides`.

use std::collections::HashMap;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, RunQueryDsl};
use domain::model::{ApplicationId, ConfigKey, ConfigOverride, DomainEvent};
use domain::ports::PortResult;
use domain::runtime::ports::ConfigOverrideRepository;

use crate::error::PgError;
use crate::repository::{PgAppDataRepository, record_events};
use crate::rows::ConfigOverrideRow;
use crate::schema::config_overrides;

#[async_trait]
impl ConfigOverrideRepository for PgAppDataRepository {
    #[tracing::instrument(name = "pg.list_config_overrides", skip_all, fields(app.id = %application_id))]
    async fn list_config_overrides(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<Vec<ConfigOverride>> {
        let mut connection = self.connection().await?;
        // `key` has the "C" collation: byte order, as the port's key order.
        let rows: Vec<ConfigOverrideRow> = config_overrides::table
            .filter(config_overrides::application_id.eq(application_id.as_uuid()))
            .order(config_overrides::key.asc())
            .select(ConfigOverrideRow::as_select())
            .load(&mut *connection)
            .await
            .map_err(PgError::from)?;
        Ok(rows.into_iter().map(ConfigOverride::try_from).collect::<Result<_, PgError>>()?)
    }

    #[tracing::instrument(name = "pg.put_config_overrides", skip_all, fields(count = overrides.len()))]
    async fn put_config_overrides(
        &self,
        overrides: &[ConfigOverride],
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let rows = last_per_key(overrides);
        let mut connection = self.connection().await?;
        connection
            .transaction(async |connection| {
                if !rows.is_empty() {
                    diesel::insert_into(config_overrides::table)
                        .values(&rows)
                        .on_conflict((config_overrides::application_id, config_overrides::key))
                        .do_update()
                        .set((
                            config_overrides::param_type.eq(excluded(config_overrides::param_type)),
                            config_overrides::value.eq(excluded(config_overrides::value)),
                            config_overrides::updated_by.eq(excluded(config_overrides::updated_by)),
                            config_overrides::updated_at.eq(excluded(config_overrides::updated_at)),
                        ))
                        .execute(connection)
                        .await?;
                }
                record_events(connection, events).await
            })
            .await?;
        Ok(())
    }

    #[tracing::instrument(name = "pg.delete_config_override", skip_all, fields(app.id = %application_id, key = %key))]
    async fn delete_config_override(
        &self,
        application_id: ApplicationId,
        key: &ConfigKey,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut connection = self.connection().await?;
        Ok(connection
            .transaction(async |connection| {
                let deleted = diesel::delete(
                    config_overrides::table.find((application_id.as_uuid(), key.as_str())),
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

/// One row per (application, key), the last given winning, as a sequence of puts would:
/// PostgreSQL refuses an upsert that touches one row twice.
fn last_per_key(overrides: &[ConfigOverride]) -> Vec<ConfigOverrideRow> {
    let mut position = HashMap::new();
    let mut rows: Vec<ConfigOverrideRow> = Vec::with_capacity(overrides.len());
    for config_override in overrides {
        let row = ConfigOverrideRow::from(config_override);
        match position.get(&(row.application_id, row.key.clone())) {
            Some(&index) => rows[index] = row,
            None => {
                position.insert((row.application_id, row.key.clone()), rows.len());
                rows.push(row);
            }
        }
    }
    rows
}
