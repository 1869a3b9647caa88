//! `RuntimeDataStore` on MongoDB: `builds` and `build_resources`.
//!
//! # Visibility and the commit point
//!
//! Resources are written first, while the build document is at most a `STAGING` marker;
//! `publish_build` then writes the whole build document with `status: "COMPLETE"` in one
//! single-document write, which is the commit point. Every read first asks whether the build
//! is complete, so a process killed at any moment leaves either an invisible build or a whole
//! one. `discard_build` removes the build document first and the resources after it, so an
//! interrupted discard also leaves only invisible leftovers (which the next discard or import
//! of that id removes). No multi-document transaction is used.

use std::fmt;

use async_trait::async_trait;
use domain::model::{
    Build, BuildId, BuildResource, Page, PageRequest, ResourceDefinitionId, ResourceName,
    ResourceType,
};
use domain::ports::{PortResult, RuntimeDataStore};
use futures_util::TryStreamExt;
use futures_util::future::{try_join, try_join3};
use mongodb::bson::{Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Client, Collection, IndexModel};
use time::OffsetDateTime;

use crate::config::MongoConfig;
use crate::documents::{BuildDoc, BuildState, BuildStatus, ResourceDoc, fields, to_bson_date};
use crate::error::{MongoError, duplicate_key_positions, is_duplicate_key};

/// Collection of build documents.
pub const BUILDS_COLLECTION: &str = "builds";
/// Collection of resource snapshots, one document per resource of a build.
pub const RESOURCES_COLLECTION: &str = "build_resources";

/// Production adapter for [`RuntimeDataStore`]: MongoDB through the official driver.
/// Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct MongoRuntimeDataStore {
    client: Client,
    database: String,
    builds: Collection<BuildDoc>,
    resources: Collection<ResourceDoc>,
}

impl fmt::Debug for MongoRuntimeDataStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoRuntimeDataStore").field("database", &self.database).finish()
    }
}

impl MongoRuntimeDataStore {
    /// Connects to `config.uri`, checks that the server answers, and creates the indexes
    /// (creating existing ones again is a no-op).
    ///
    /// # Errors
    ///
    /// [`PortError::Unavailable`](domain::ports::PortError::Unavailable) when no server
    /// answers within the server selection timeout; `Backend` for an invalid URI, refused
    /// credentials or an index that exists with other options.
    #[tracing::instrument(name = "mongo.connect", skip_all, fields(db.name = %config.database))]
    pub async fn connect(config: &MongoConfig) -> PortResult<Self> {
        let options =
            config.client_options().await.map_err(MongoError::driver("parsing of the uri"))?;
        let client = Client::with_options(options).map_err(MongoError::driver("client setup"))?;
        let database = client.database(&config.database);
        let store = Self {
            builds: database.collection(BUILDS_COLLECTION),
            resources: database.collection(RESOURCES_COLLECTION),
            database: config.database.clone(),
            client,
        };
        store.ping().await?;
        store.create_indexes().await?;
        tracing::info!(db.name = %config.database, "connected to mongodb");
        Ok(store)
    }

    /// Asks the server to answer, for readiness checks.
    ///
    /// # Errors
    ///
    /// [`PortError::Unavailable`](domain::ports::PortError::Unavailable) when it does not
    /// within the server selection timeout.
    pub async fn ping(&self) -> PortResult<()> {
        self.client
            .database(&self.database)
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(MongoError::driver("ping"))?;
        Ok(())
    }

    async fn create_indexes(&self) -> Result<(), MongoError> {
        let unique = || IndexOptions::builder().unique(true).build();
        self.resources
            .create_indexes([
                IndexModel::builder()
                    .keys(doc! {
                        fields::BUILD_ID: 1,
                        fields::RESOURCE_TYPE: 1,
                        fields::RESOURCE_DEFINITION_ID: 1,
                    })
                    .options(unique())
                    .build(),
                IndexModel::builder()
                    .keys(doc! { fields::BUILD_ID: 1, fields::RESOURCE_TYPE: 1, fields::NAME: 1 })
                    .options(unique())
                    .build(),
            ])
            .await
            .map_err(MongoError::driver("creation of the build_resources indexes"))?;
        self.builds
            .create_index(
                IndexModel::builder()
                    .keys(doc! { fields::APPLICATION_ID: 1, fields::CREATED_AT: 1 })
                    .build(),
            )
            .await
            .map_err(MongoError::driver("creation of the builds index"))?;
        Ok(())
    }

    /// The status and checksum of the build document of `build_id`, if there is one.
    async fn build_state(&self, build_id: BuildId) -> Result<Option<BuildState>, MongoError> {
        self.builds
            .clone_with_type::<BuildState>()
            .find_one(doc! { fields::ID: build_id.to_string() })
            .projection(doc! { fields::STATUS: 1, fields::CHECKSUM: 1 })
            .await
            .map_err(MongoError::driver("read of a build status"))
    }

    /// Whether `build_id` is published, i.e. visible to readers.
    async fn is_published(&self, build_id: BuildId) -> Result<bool, MongoError> {
        let found = self
            .builds
            .clone_with_type::<Document>()
            .find_one(doc! {
                fields::ID: build_id.to_string(),
                fields::STATUS: BuildStatus::COMPLETE,
            })
            .projection(doc! { fields::ID: 1 })
            .await
            .map_err(MongoError::driver("read of a build status"))?;
        Ok(found.is_some())
    }

    /// Marks `build_id` as staging unless it is published; `Conflict` if it is.
    async fn mark_staging(&self, build_id: BuildId) -> Result<(), MongoError> {
        let mark = || {
            self.builds
                .update_one(
                    doc! {
                        fields::ID: build_id.to_string(),
                        fields::STATUS: { "$ne": BuildStatus::COMPLETE },
                    },
                    doc! {
                        "$set": { fields::STAGED_AT: to_bson_date(OffsetDateTime::now_utc()) },
                        "$setOnInsert": { fields::STATUS: BuildStatus::STAGING },
                    },
                )
                .upsert(true)
        };
        // A complete document does not match the filter, so the upsert tries to insert a
        // second document with its `_id`: the duplicate key says "published".
        match mark().await {
            Ok(_) => Ok(()),
            Err(err) if is_duplicate_key(&err) => {
                if self.is_published(build_id).await? {
                    return Err(MongoError::Conflict(format!(
                        "build {build_id} is published and cannot change"
                    )));
                }
                // Two stagings of a new id raced to insert the marker and the other won:
                // now the filter matches it.
                mark().await.map_err(MongoError::driver("marking a build as staging"))?;
                Ok(())
            }
            Err(err) => Err(MongoError::driver("marking a build as staging")(err)),
        }
    }

    /// Inserts `documents`; those whose key is taken replace what holds it.
    async fn write_resources(&self, documents: Vec<ResourceDoc>) -> Result<(), MongoError> {
        if documents.is_empty() {
            return Ok(());
        }
        let taken = match self.resources.insert_many(&documents).ordered(false).await {
            Ok(_) => return Ok(()),
            Err(err) => match duplicate_key_positions(&err) {
                Some(positions) => positions,
                None => return Err(MongoError::driver("insert of resources")(err)),
            },
        };
        tracing::debug!(n_replaced = taken.len(), "resources staged again replace earlier ones");
        // In batch order, so that the last copy of a key in a batch wins.
        for index in taken {
            if let Some(document) = documents.get(index) {
                self.replace_resource(document).await?;
            }
        }
        Ok(())
    }

    /// Replaces the resource with the key (build, type, definition id) of `document`. When
    /// a resource of another definition id holds its name, that one is removed and the
    /// replacement tried again: the last staging wins, as a repeated import must converge.
    async fn replace_resource(&self, document: &ResourceDoc) -> Result<(), MongoError> {
        let build_id = document.build_id();
        let by_definition = doc! {
            fields::BUILD_ID: build_id,
            fields::RESOURCE_TYPE: document.resource_type(),
            fields::RESOURCE_DEFINITION_ID: document.resource_definition_id(),
        };
        let replaced =
            self.resources.replace_one(by_definition.clone(), document).upsert(true).await;
        match replaced {
            Ok(_) => Ok(()),
            Err(err) if is_duplicate_key(&err) => {
                self.resources
                    .delete_one(doc! {
                        fields::BUILD_ID: build_id,
                        fields::RESOURCE_TYPE: document.resource_type(),
                        fields::NAME: document.name(),
                        fields::RESOURCE_DEFINITION_ID: { "$ne": document.resource_definition_id() },
                    })
                    .await
                    .map_err(MongoError::driver("removal of a renamed resource"))?;
                self.resources
                    .replace_one(by_definition, document)
                    .upsert(true)
                    .await
                    .map_err(MongoError::driver("replacement of a resource"))?;
                Ok(())
            }
            Err(err) => Err(MongoError::driver("replacement of a resource")(err)),
        }
    }

    async fn find_resource_where(
        &self,
        build_id: BuildId,
        filter: Document,
    ) -> Result<Option<BuildResource>, MongoError> {
        let (published, found) = try_join(self.is_published(build_id), async {
            self.resources.find_one(filter).await.map_err(MongoError::driver("read of a resource"))
        })
        .await?;
        match found {
            Some(document) if published => Ok(Some(document.into_domain()?)),
            _ => Ok(None),
        }
    }
}

/// The `ping` command, within the server selection timeout.
#[async_trait]
impl domain::ports::HealthCheck for MongoRuntimeDataStore {
    async fn ping(&self) -> PortResult<()> {
        Self::ping(self).await
    }
}

#[async_trait]
impl RuntimeDataStore for MongoRuntimeDataStore {
    #[tracing::instrument(
        name = "mongo.stage_resources",
        skip_all,
        fields(build.id = %build_id, n_resources = resources.len())
    )]
    async fn stage_resources(
        &self,
        build_id: BuildId,
        resources: &[BuildResource],
    ) -> PortResult<()> {
        // Converted before anything is written: content that cannot be stored fails the
        // whole batch, not half of it.
        let documents = resources
            .iter()
            .map(|resource| ResourceDoc::from_domain(build_id, resource))
            .collect::<Result<Vec<_>, _>>()
            .map_err(MongoError::from)?;
        self.mark_staging(build_id).await?;
        self.write_resources(documents).await?;
        Ok(())
    }

    #[tracing::instrument(name = "mongo.publish_build", skip_all, fields(build.id = %build.id()))]
    async fn publish_build(&self, build: &Build) -> PortResult<()> {
        let build_id = build.id();
        let checksum = build.header.checksum.as_str();
        let same_or_conflict = |state: Option<BuildState>| match state {
            Some(BuildState { status: BuildStatus::Complete, checksum: existing })
                if existing.as_deref() == Some(checksum) =>
            {
                Some(Ok(()))
            }
            Some(BuildState { status: BuildStatus::Complete, checksum: existing }) => {
                Some(Err(MongoError::Conflict(format!(
                    "build {build_id} is published with checksum {}",
                    existing.unwrap_or_default()
                ))))
            }
            _ => None,
        };
        if let Some(outcome) = same_or_conflict(self.build_state(build_id).await?) {
            return Ok(outcome?);
        }
        let document = BuildDoc::complete(build, OffsetDateTime::now_utc());
        // The commit point: one document goes from absent or STAGING to COMPLETE. If another
        // publisher won the race, the upsert collides with its document.
        let written = self
            .builds
            .replace_one(
                doc! {
                    fields::ID: build_id.to_string(),
                    fields::STATUS: { "$ne": BuildStatus::COMPLETE },
                },
                &document,
            )
            .upsert(true)
            .await;
        match written {
            Ok(_) => Ok(()),
            Err(err) if is_duplicate_key(&err) => {
                match same_or_conflict(self.build_state(build_id).await?) {
                    Some(outcome) => Ok(outcome?),
                    None => Err(MongoError::driver("publication of a build")(err).into()),
                }
            }
            Err(err) => Err(MongoError::driver("publication of a build")(err).into()),
        }
    }

    #[tracing::instrument(name = "mongo.discard_build", skip_all, fields(build.id = %build_id))]
    async fn discard_build(&self, build_id: BuildId) -> PortResult<()> {
        // The build document first: once it is gone, nothing of the build is visible.
        self.builds
            .delete_one(doc! { fields::ID: build_id.to_string() })
            .await
            .map_err(MongoError::driver("removal of a build"))?;
        self.resources
            .delete_many(doc! { fields::BUILD_ID: build_id.to_string() })
            .await
            .map_err(MongoError::driver("removal of the resources of a build"))?;
        Ok(())
    }

    #[tracing::instrument(name = "mongo.find_build", skip_all, fields(build.id = %build_id))]
    async fn find_build(&self, build_id: BuildId) -> PortResult<Option<Build>> {
        let found = self
            .builds
            .find_one(doc! {
                fields::ID: build_id.to_string(),
                fields::STATUS: BuildStatus::COMPLETE,
            })
            .await
            .map_err(MongoError::driver("read of a build"))?;
        match found {
            Some(document) => Ok(Some(document.into_domain().map_err(MongoError::from)?)),
            None => Ok(None),
        }
    }

    #[tracing::instrument(
        name = "mongo.find_resource",
        skip_all,
        fields(build.id = %build_id, resource.r#type = %resource_type, resource.id = %definition_id)
    )]
    async fn find_resource(
        &self,
        build_id: BuildId,
        resource_type: &ResourceType,
        definition_id: &ResourceDefinitionId,
    ) -> PortResult<Option<BuildResource>> {
        let filter = doc! {
            fields::BUILD_ID: build_id.to_string(),
            fields::RESOURCE_TYPE: resource_type.as_str(),
            fields::RESOURCE_DEFINITION_ID: definition_id.as_str(),
        };
        Ok(self.find_resource_where(build_id, filter).await?)
    }

    #[tracing::instrument(
        name = "mongo.find_resource_by_name",
        skip_all,
        fields(build.id = %build_id, resource.r#type = %resource_type)
    )]
    async fn find_resource_by_name(
        &self,
        build_id: BuildId,
        resource_type: &ResourceType,
        name: &ResourceName,
    ) -> PortResult<Option<BuildResource>> {
        let filter = doc! {
            fields::BUILD_ID: build_id.to_string(),
            fields::RESOURCE_TYPE: resource_type.as_str(),
            fields::NAME: name.as_str(),
        };
        Ok(self.find_resource_where(build_id, filter).await?)
    }

    #[tracing::instrument(
        name = "mongo.list_resources",
        skip_all,
        fields(build.id = %build_id, resource.r#type = %resource_type, page = page.page())
    )]
    async fn list_resources(
        &self,
        build_id: BuildId,
        resource_type: &ResourceType,
        page: PageRequest,
    ) -> PortResult<Page<BuildResource>> {
        let filter = doc! {
            fields::BUILD_ID: build_id.to_string(),
            fields::RESOURCE_TYPE: resource_type.as_str(),
        };
        let count = async {
            self.resources
                .count_documents(filter.clone())
                .await
                .map_err(MongoError::driver("count of resources"))
        };
        let items = async {
            self.resources
                .find(filter.clone())
                // Byte order of the UTF-8 names, as `str` compares (no collation).
                .sort(doc! { fields::NAME: 1 })
                .skip(page.offset() as u64)
                .limit(i64::from(page.size()))
                .await
                .map_err(MongoError::driver("list of resources"))?
                .try_collect::<Vec<ResourceDoc>>()
                .await
                .map_err(MongoError::driver("list of resources"))
        };
        let (published, total, documents) =
            try_join3(self.is_published(build_id), count, items).await?;
        if !published {
            return Ok(Page { items: Vec::new(), request: page, total: 0 });
        }
        let items = documents
            .into_iter()
            .map(ResourceDoc::into_domain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(MongoError::from)?;
        Ok(Page { items, request: page, total })
    }
}
