//! `ApplicationRepository` on `applications` (with `branches` and `versions` for the first
//! write). The partial unique index `applications_live_name_key` keeps one name per
//! workspace among live applications, so racing creates and renames cannot both win.

use async_trait::async_trait;
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncConnection, RunQueryDsl};
use domain::design::model::{Application, ApplicationFilter, Branch, Version};
use domain::design::ports::ApplicationRepository;
use domain::model::{ApplicationId, DomainEvent, Page, PageRequest};
use domain::ports::{PortError, PortResult};
use time::OffsetDateTime;

use crate::error::{PgError, Violation};
use crate::repository::{PgAppDataRepository, record_events};
use crate::rows::{ApplicationRow, BranchRow, VersionRow};
use crate::schema::{applications, branches, version_dependencies, versions};

/// The port's conflicts of an application write: its id, its name in the workspace, and
/// (on create) the id of its first version.
fn application_conflict(application: &Application, err: PgError) -> PortError {
    err.into_port(|violation| match violation {
        Violation::Unique("applications_pkey") => {
            Some(format!("application {} exists", application.id))
        }
        Violation::Unique("applications_live_name_key") => {
            Some(format!("an application named `{}` exists in the workspace", application.name))
        }
        Violation::Unique("versions_pkey") => Some("the first version's id is taken".to_owned()),
        Violation::Unique(_) | Violation::ForeignKey(_) => None,
    })
}

/// Live applications that pass `filter`, as a query to count or to page.
fn filtered(filter: &ApplicationFilter) -> applications::BoxedQuery<'static, Pg> {
    let mut query = applications::table.filter(applications::deleted_at.is_null()).into_boxed();
    if let Some(kind) = filter.kind {
        query = query.filter(applications::kind.eq(kind.as_str()));
    }
    if let Some(workspace_id) = filter.workspace_id {
        query = query.filter(applications::workspace_id.eq(*workspace_id.as_uuid()));
    }
    if let Some(part) = &filter.name_contains {
        // `name` compares in the "C" collation, whose lower() folds ASCII only; the
        // database's default collation folds as the domain's `to_lowercase` does. strpos,
        // not LIKE, so that `%` and `_` in the text are plain characters.
        query = query.filter(
            sql::<Bool>(r#"strpos(lower(applications.name COLLATE "default"), lower("#)
                .bind::<Text, _>(part.clone())
                .sql(r#" COLLATE "default")) > 0"#),
        );
    }
    query
}

#[async_trait]
impl ApplicationRepository for PgAppDataRepository {
    #[tracing::instrument(name = "pg.create_application", skip_all, fields(app.id = %application.id))]
    async fn create_application(
        &self,
        application: &Application,
        main: &Branch,
        first_version: &Version,
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let row = ApplicationRow::from(application);
        let branch = BranchRow::from(main);
        let version = VersionRow::new(first_version)?;
        let mut connection = self.connection().await?;
        connection
            .transaction(async |connection| {
                diesel::insert_into(applications::table).values(&row).execute(connection).await?;
                diesel::insert_into(branches::table).values(&branch).execute(connection).await?;
                diesel::insert_into(versions::table).values(&version).execute(connection).await?;
                record_events(connection, events).await
            })
            .await
            .map_err(|err| application_conflict(application, err))
    }

    #[tracing::instrument(name = "pg.find_application", skip_all, fields(app.id = %id))]
    async fn find_application(&self, id: ApplicationId) -> PortResult<Option<Application>> {
        let mut connection = self.connection().await?;
        let row: Option<ApplicationRow> = applications::table
            .find(id.as_uuid())
            .filter(applications::deleted_at.is_null())
            .select(ApplicationRow::as_select())
            .first(&mut *connection)
            .await
            .optional()
            .map_err(PgError::from)?;
        Ok(row.map(Application::try_from).transpose()?)
    }

    #[tracing::instrument(name = "pg.list_applications", skip_all)]
    async fn list_applications(
        &self,
        filter: &ApplicationFilter,
        page: PageRequest,
    ) -> PortResult<Page<Application>> {
        let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
        let mut connection = self.connection().await?;
        // One snapshot for the page and its total.
        let (total, rows) = connection
            .build_transaction()
            .read_only()
            .repeatable_read()
            .run(async |connection| {
                let total: i64 = filtered(filter).count().get_result(connection).await?;
                let rows: Vec<ApplicationRow> = filtered(filter)
                    .order((applications::name.asc(), applications::id.asc()))
                    .offset(offset)
                    .limit(i64::from(page.size()))
                    .select(ApplicationRow::as_select())
                    .load(connection)
                    .await?;
                Ok::<_, PgError>((total, rows))
            })
            .await?;
        let items =
            rows.into_iter().map(Application::try_from).collect::<Result<Vec<_>, PgError>>()?;
        Ok(Page { items, request: page, total: u64::try_from(total).unwrap_or_default() })
    }

    #[tracing::instrument(name = "pg.update_application", skip_all, fields(app.id = %application.id))]
    async fn update_application(
        &self,
        application: &Application,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut connection = self.connection().await?;
        connection
            .transaction(async |connection| {
                let updated = diesel::update(
                    applications::table
                        .find(application.id.as_uuid())
                        .filter(applications::deleted_at.is_null()),
                )
                .set((
                    applications::name.eq(application.name.as_str()),
                    applications::description.eq(application.description.as_deref()),
                    applications::updated_by.eq(&application.updated_by),
                    applications::updated_at.eq(application.updated_at),
                ))
                .execute(connection)
                .await?;
                if updated == 0 {
                    return Ok(false);
                }
                record_events(connection, events).await?;
                Ok::<_, PgError>(true)
            })
            .await
            .map_err(|err| application_conflict(application, err))
    }

    #[tracing::instrument(name = "pg.delete_application", skip_all, fields(app.id = %id))]
    async fn delete_application(
        &self,
        id: ApplicationId,
        deleted_at: OffsetDateTime,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let application = *id.as_uuid();
        let mut connection = self.connection().await?;
        Ok(connection
            .transaction(async |connection| {
                // The update locks the row first, so two deletes take turns and the second
                // finds it deleted.
                let deleted = diesel::update(
                    applications::table
                        .find(application)
                        .filter(applications::deleted_at.is_null()),
                )
                .set(applications::deleted_at.eq(deleted_at))
                .execute(connection)
                .await?;
                if deleted == 0 {
                    return Ok(false);
                }
                // A version of another live application that depends on this one refuses
                // the delete; the transaction rolls back.
                let dependent: Option<uuid::Uuid> = version_dependencies::table
                    .inner_join(versions::table.inner_join(applications::table))
                    .filter(version_dependencies::library_id.eq(application))
                    .filter(versions::application_id.ne(application))
                    .filter(applications::deleted_at.is_null())
                    .select(version_dependencies::version_id)
                    .first(connection)
                    .await
                    .optional()?;
                if let Some(version_id) = dependent {
                    return Err(PgError::Refused(format!(
                        "version {version_id} depends on library {id}"
                    )));
                }
                record_events(connection, events).await?;
                Ok::<_, PgError>(true)
            })
            .await?)
    }
}
