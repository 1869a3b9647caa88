//! `ConfigDefaultsRepository` on `version_config_defaults`: a put of many parameters is one
//! upsert in one transaction with the version's WIP lock, so either all are stored or none.

use std::collections::HashMap;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, RunQueryDsl};
use domain::design::ports::ConfigDefaultsRepository;
use domain::model::{ConfigKey, ConfigParam, DomainEvent, VersionId};
use domain::ports::PortResult;

use crate::error::PgError;
use crate::repository::design_versions::lock_wip;
use crate::repository::{PgAppDataRepository, record_events};
use crate::rows::ConfigDefaultRow;
use crate::schema::version_config_defaults;

#[async_trait]
impl ConfigDefaultsRepository for PgAppDataRepository {
    #[tracing::instrument(name = "pg.list_config_defaults", skip_all, fields(version.id = %version_id))]
    async fn list_config_defaults(&self, version_id: VersionId) -> PortResult<Vec<ConfigParam>> {
        let mut connection = self.connection().await?;
        // `key` has the "C" collation: byte order, as the port's key order.
        let rows: Vec<ConfigDefaultRow> = version_config_defaults::table
            .filter(version_config_defaults::version_id.eq(version_id.as_uuid()))
            .order(version_config_defaults::key.asc())
            .select(ConfigDefaultRow::as_select())
            .load(&mut *connection)
            .await
            .map_err(PgError::from)?;
        Ok(rows.into_iter().map(ConfigParam::try_from).collect::<Result<_, PgError>>()?)
    }

    #[tracing::instrument(name = "pg.put_config_defaults", skip_all, fields(version.id = %version_id, count = params.len()))]
    async fn put_config_defaults(
        &self,
        version_id: VersionId,
        params: &[ConfigParam],
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let rows = last_per_key(version_id, params);
        let mut connection = self.connection().await?;
        connection
            .transaction(async |connection| {
                lock_wip(connection, version_id).await?;
                if !rows.is_empty() {
                    diesel::insert_into(version_config_defaults::table)
                        .values(&rows)
                        .on_conflict((
                            version_config_defaults::version_id,
                            version_config_defaults::key,
                        ))
                        .do_update()
                        .set((
                            version_config_defaults::param_type
                                .eq(excluded(version_config_defaults::param_type)),
                            version_config_defaults::value
                                .eq(excluded(version_config_defaults::value)),
                            version_config_defaults::description
                                .eq(excluded(version_config_defaults::description)),
                        ))
                        .execute(connection)
                        .await?;
                }
                record_events(connection, events).await
            })
            .await?;
        Ok(())
    }

    #[tracing::instrument(name = "pg.delete_config_default", skip_all, fields(version.id = %version_id, key = %key))]
    async fn delete_config_default(
        &self,
        version_id: VersionId,
        key: &ConfigKey,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut connection = self.connection().await?;
        Ok(connection
            .transaction(async |connection| {
                lock_wip(connection, version_id).await?;
                let deleted = diesel::delete(
                    version_config_defaults::table.find((version_id.as_uuid(), key.as_str())),
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

/// One row per key, the last given winning, as a sequence of puts would: PostgreSQL
/// refuses an upsert that touches one row twice.
fn last_per_key(version_id: VersionId, params: &[ConfigParam]) -> Vec<ConfigDefaultRow> {
    let mut position = HashMap::new();
    let mut rows: Vec<ConfigDefaultRow> = Vec::with_capacity(params.len());
    for param in params {
        let row = ConfigDefaultRow::new(version_id, param);
        match position.get(&row.key) {
            Some(&index) => rows[index] = row,
            None => {
                position.insert(row.key.clone(), rows.len());
                rows.push(row);
            }
        }
    }
    rows
}
