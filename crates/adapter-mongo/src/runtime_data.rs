//! `RuntimeDataStore` on MongoDB: `builds`, `build_manifests` and `build_resources`.
//!
//! # Visibility and the commit point
//!
//! Resources are written first, while the build document is at most a `STAGING` marker;
//! `publish_build` then writes the manifest's chunks to `build_manifests`, one chunk at a
//! time, and after them the whole build document with `status: "COMPLETE"` and the number of
//! chunks, in one single-document write, which is the commit point. Every read first asks
//! whether the build is complete, so a process killed at any moment leaves either an
//! invisible build or a whole one. A complete build's chunks never change, and a reader that
//! finds fewer than the build document counts fails (a backend error), never serving a
//! shorter manifest, unless the build was discarded while it read (then it finds no build).
//!
//! Chunks are keyed by build id, checksum and position. A publisher whose check saw no
//! complete build writes its chunks even if another one publishes meanwhile: with the same
//! checksum (the same content) it rewrites the same bytes under the same keys; with another
//! checksum it writes beside the winner's chunks, loses the commit (a conflict) and removes
//! its own. Leftovers of an importer that died before its commit are invisible: under the
//! same checksum the next publication replaces them, under another it removes them once it
//! has committed (not before: they may be the chunks of a publisher about to win).
//!
//! `discard_build` removes the build document first and the resources and chunks after it,
//! so an interrupted discard also leaves only invisible leftovers (which the next discard or
//! import of that id removes). No multi-document transaction is used.

use std::fmt;

use async_trait::async_trait;
use domain::model::{
    Build, BuildId, BuildResource, ManifestEntry, Page, PageRequest, ResourceDefinitionId,
    ResourceName, ResourceType,
};
use domain::ports::{PortResult, RuntimeDataStore};
use futures_util::TryStreamExt;
use futures_util::future::{try_join, try_join3};
use mongodb::bson::{Document, RawDocumentBuf, doc};
use mongodb::options::IndexOptions;
use mongodb::{Client, Collection, IndexModel};
use time::OffsetDateTime;

use crate::config::MongoConfig;
use crate::documents::{
    BuildDoc, BuildState, BuildStatus, DocumentError, MANIFEST_CHUNK_ENTRIES, ManifestChunkDoc,
    ResourceDoc, fields, manifest_chunk, manifest_chunk_id, to_bson_date,
};
use crate::error::{MongoError, duplicate_key_positions, is_duplicate_key};

/// Collection of build documents.
pub const BUILDS_COLLECTION: &str = "builds";
/// Collection of build manifests, in chunks of a fixed number of entries per build.
pub const MANIFESTS_COLLECTION: &str = "build_manifests";
/// Collection of resource snapshots, one document per resource of a build.
pub const RESOURCES_COLLECTION: &str = "build_resources";

/// Production adapter for [`RuntimeDataStore`]: MongoDB through the official driver.
/// Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct MongoRuntimeDataStore {
    client: Client,
    database: String,
    builds: Collection<BuildDoc>,
    manifests: Collection<ManifestChunkDoc>,
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
            manifests: database.collection(MANIFESTS_COLLECTION),
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
        // Serves the read of a manifest in order and the removal of a build's chunks.
        self.manifests
            .create_index(
                IndexModel::builder()
                    .keys(doc! { fields::BUILD_ID: 1, fields::CHECKSUM: 1, fields::SEQ: 1 })
                    .build(),
            )
            .await
            .map_err(MongoError::driver("creation of the build_manifests index"))?;
        Ok(())
    }

    /// Writes the manifest of `build` to `build_manifests`, chunk by chunk, each replacing
    /// a leftover under its key; the number of chunks written.
    async fn write_manifest(&self, build: &Build) -> Result<i32, MongoError> {
        let build_id = build.id().to_string();
        let checksum = build.header.checksum.as_str();
        let chunks = self.manifests.clone_with_type::<RawDocumentBuf>();
        let mut count = 0;
        // One chunk is encoded at a time, so a large manifest never exists as BSON whole.
        for (seq, entries) in (0..).zip(build.manifest.chunks(MANIFEST_CHUNK_ENTRIES)) {
            let chunk = manifest_chunk(&build_id, checksum, seq, entries);
            let by_id = doc! { fields::ID: manifest_chunk_id(&build_id, checksum, seq) };
            let replace = || chunks.replace_one(by_id.clone(), &chunk).upsert(true);
            match replace().await {
                Ok(_) => {}
                // A publisher of the same content inserted this key between our lookup and
                // insert; now the replacement finds it.
                Err(err) if is_duplicate_key(&err) => {
                    replace().await.map_err(MongoError::driver("write of a manifest chunk"))?;
                }
                Err(err) => return Err(MongoError::driver("write of a manifest chunk")(err)),
            }
            count = seq + 1;
        }
        Ok(count)
    }

    /// Removes the chunks of `build_id` that `filter` also selects. They are of no complete
    /// build, so invisible: a failure only leaves leftovers that discarding the build
    /// removes, and is logged, not returned (the publication it follows stands).
    async fn remove_chunks(&self, build_id: BuildId, mut filter: Document) {
        filter.insert(fields::BUILD_ID, build_id.to_string());
        if let Err(err) = self.manifests.delete_many(filter).await {
            tracing::warn!(
                build.id = %build_id,
                error = %err,
                "removal of leftover manifest chunks failed; they stay, invisible, until the build is discarded"
            );
        }
    }

    /// The manifest of the build document `build`, read from its `count` chunks in order.
    async fn read_manifest(
        &self,
        build: &BuildDoc,
        count: i32,
    ) -> Result<Vec<ManifestEntry>, MongoError> {
        let missing =
            |seq| DocumentError::MissingManifestChunk { id: build.id().to_owned(), seq, count };
        let mut chunks = self
            .manifests
            .find(doc! {
                fields::BUILD_ID: build.id(),
                fields::CHECKSUM: build.checksum(),
                fields::SEQ: { "$lt": count },
            })
            .projection(doc! { fields::SEQ: 1, fields::ENTRIES: 1 })
            .sort(doc! { fields::SEQ: 1 })
            // One chunk per batch: the driver would otherwise buffer up to 16 MiB of them.
            .batch_size(1)
            .await
            .map_err(MongoError::driver("read of a manifest"))?;
        let mut manifest = Vec::new();
        let mut expected = 0;
        // Converted as they arrive, so the stored form of only one chunk is held at a time.
        while let Some(chunk) =
            chunks.try_next().await.map_err(MongoError::driver("read of a manifest"))?
        {
            if chunk.seq() != expected {
                return Err(missing(expected).into());
            }
            manifest.extend(chunk.into_domain(build.id())?);
            expected += 1;
        }
        if expected != count {
            return Err(missing(expected).into());
        }
        Ok(manifest)
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
        let manifest_chunks = self.write_manifest(build).await?;
        let document = BuildDoc::complete(build, OffsetDateTime::now_utc(), manifest_chunks);
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
            Ok(_) => {
                // Leftovers of importers that died before their commit, now that they can no
                // longer be the chunks of a publisher about to win.
                self.remove_chunks(
                    build_id,
                    doc! { "$or": [
                        { fields::CHECKSUM: { "$ne": checksum } },
                        { fields::SEQ: { "$gte": manifest_chunks } },
                    ] },
                )
                .await;
                Ok(())
            }
            Err(err) if is_duplicate_key(&err) => {
                match same_or_conflict(self.build_state(build_id).await?) {
                    // The winner has this checksum: these chunks are its chunks.
                    Some(Ok(())) => Ok(()),
                    Some(Err(conflict)) => {
                        self.remove_chunks(build_id, doc! { fields::CHECKSUM: checksum }).await;
                        Err(conflict.into())
                    }
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
        let of_build = doc! { fields::BUILD_ID: build_id.to_string() };
        let resources = async {
            self.resources
                .delete_many(of_build.clone())
                .await
                .map_err(MongoError::driver("removal of the resources of a build"))
        };
        let manifest = async {
            self.manifests
                .delete_many(of_build.clone())
                .await
                .map_err(MongoError::driver("removal of the manifest of a build"))
        };
        try_join(resources, manifest).await?;
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
        let Some(mut document) = found else { return Ok(None) };
        let manifest = match document.manifest_chunks() {
            Some(count) => match self.read_manifest(&document, count).await {
                Ok(manifest) => manifest,
                Err(err @ MongoError::Document(DocumentError::MissingManifestChunk { .. })) => {
                    // A discard that began after the build document was read removes the
                    // chunks after it: then the build is gone, as for a read a moment later.
                    if self.is_published(build_id).await? {
                        return Err(err.into());
                    }
                    tracing::debug!("the build was discarded while its manifest was read");
                    return Ok(None);
                }
                Err(err) => return Err(err.into()),
            },
            // Written before the manifest moved out of the build document.
            None => document.take_inline_manifest().map_err(MongoError::from)?,
        };
        Ok(Some(document.into_domain(manifest).map_err(MongoError::from)?))
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
