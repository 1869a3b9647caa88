//! Build creation: a committed version becomes a build exactly as an import of its archive
//! would store it. The version is turned into a draft, the archive codec writes the draft
//! and the version's resources page by page (one page in memory at a time) and reads the
//! archive back with every check of an import, and the kernel's one write path stores it
//! batch by batch with the same commit point; so a created build exported here imports
//! anywhere as the same build (same id, same checksum).

use std::sync::Arc;

use crate::builds::{BuildService, ImportOutcome, ImportedBinary};
use crate::design::loading;
use crate::design::model::{Application, IdempotencyKey, Version, VersionStatus};
use crate::design::resources::binary_references;
use crate::error::Conflict;
use crate::model::{
    ApplicationId, BuildDependency, BuildHeader, BuildId, BuildResource, ManifestEntry,
    PageRequest, Principal, ValidationError, VersionId,
};
use crate::ports::{ArchiveWriter, BlobKey, BuildDraft, BuildPackager, PortError, Ports};
use crate::telemetry::{self, BuildStore};
use crate::{DomainError, DomainResult};

/// How many resources are read from the store in one call while a build is made.
const READ_BATCH: u32 = PageRequest::MAX_SIZE;

/// What the caller says about a build to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewBuild {
    /// Build name; the application's name when absent.
    pub name: Option<String>,
    /// Optional version tag, such as `1.4.0`.
    pub version_tag: Option<String>,
    /// Optional description.
    pub description: Option<String>,
}

/// What a build creation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreatedBuild {
    /// A new build was made and stored.
    Created(BuildHeader),
    /// The idempotency key was used before: the build made then, nothing new.
    Replayed(BuildHeader),
}

impl CreatedBuild {
    /// The build's header, either way.
    pub fn header(&self) -> &BuildHeader {
        match self {
            Self::Created(header) | Self::Replayed(header) => header,
        }
    }
}

/// Makes builds from committed versions.
#[derive(Debug, Clone)]
pub struct BuildCreationService {
    ports: Ports,
    builds: BuildService,
    packager: Arc<dyn BuildPackager>,
}

impl BuildCreationService {
    /// A service storing through `builds` (the kernel's write path, configured once by the
    /// composition root) and packing with `packager`.
    pub fn new(ports: Ports, builds: BuildService, packager: Arc<dyn BuildPackager>) -> Self {
        Self { ports, builds, packager }
    }

    /// Makes a build of a committed version. With an idempotency key, a repeated request
    /// returns the build the first one made and creates nothing; a request repeated after
    /// a failure makes the build under the id the first one reserved.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`; `version_not_committed` for a WIP;
    /// `invalid_request` for a name that is empty or a build an import would refuse;
    /// `import_in_progress` while the same key's first request is still storing; the
    /// errors of [`BuildService::store_created`].
    pub async fn create(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        version_id: VersionId,
        request: NewBuild,
        idempotency_key: Option<&IdempotencyKey>,
    ) -> DomainResult<CreatedBuild> {
        let started = std::time::Instant::now();
        let created =
            self.create_now(principal, application_id, version_id, request, idempotency_key).await;
        telemetry::build_stored(
            BuildStore::Creation,
            started,
            created.as_ref().map(|created| matches!(created, CreatedBuild::Created(_))),
        );
        created
    }

    async fn create_now(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        version_id: VersionId,
        request: NewBuild,
        idempotency_key: Option<&IdempotencyKey>,
    ) -> DomainResult<CreatedBuild> {
        let application = loading::application(&self.ports, application_id).await?;
        let version = loading::version(&self.ports, &application, version_id).await?;
        if version.status != VersionStatus::Committed {
            return Err(Conflict::VersionNotCommitted(version_id).into());
        }
        let build_id = match idempotency_key {
            None => BuildId::random(),
            Some(key) => match self.reserve(application_id, key).await? {
                Reservation::Done(header) => return Ok(CreatedBuild::Replayed(*header)),
                Reservation::Id(build_id) => build_id,
            },
        };
        let draft = self.draft(principal, &application, &version, build_id, request).await?;
        let mut writer = self.packager.start(draft).await?;
        self.write_resources(writer.as_mut(), version.id, build_id).await?;
        let mut import = writer.finish().await?;
        import.expected_application = Some(application_id);
        match self.builds.store_created(principal, import).await {
            Ok(ImportOutcome::Created(header)) => Ok(CreatedBuild::Created(header)),
            // Only a retry under an idempotency key meets its own build stored already.
            Ok(ImportOutcome::Unchanged(header)) => Ok(CreatedBuild::Replayed(header)),
            // A concurrent request with the same key stored the build first (its draft had
            // another creation time, so another checksum): that build is the answer.
            Err(DomainError::Conflict(Conflict::BuildChecksum { .. }))
                if idempotency_key.is_some() =>
            {
                match self.ports.app_data.find_build_header(build_id).await? {
                    Some(header) => Ok(CreatedBuild::Replayed(header)),
                    None => Err(Conflict::ImportInProgress(build_id).into()),
                }
            }
            Err(err) => Err(err),
        }
    }

    /// The build id an idempotency key stands for: the build made with it, or the id to
    /// make it under (reserved now, or by an earlier request that failed before storing).
    async fn reserve(
        &self,
        application_id: ApplicationId,
        key: &IdempotencyKey,
    ) -> DomainResult<Reservation> {
        let ledger = &self.ports.app_data;
        let build_id = match ledger.find_idempotent_build(application_id, key).await? {
            Some(build_id) => build_id,
            None => {
                let fresh = BuildId::random();
                match ledger.record_idempotent_build(application_id, key, fresh).await {
                    Ok(()) => return Ok(Reservation::Id(fresh)),
                    // A concurrent request with the same key reserved first: use its id.
                    Err(PortError::Conflict(_)) => ledger
                        .find_idempotent_build(application_id, key)
                        .await?
                        .ok_or(Conflict::ImportInProgress(fresh))?,
                    Err(err) => return Err(err.into()),
                }
            }
        };
        match self.ports.app_data.find_build_header(build_id).await? {
            Some(header) => Ok(Reservation::Done(Box::new(header))),
            None => Ok(Reservation::Id(build_id)),
        }
    }

    async fn draft(
        &self,
        principal: &Principal,
        application: &Application,
        version: &Version,
        build_id: BuildId,
        request: NewBuild,
    ) -> DomainResult<BuildDraft> {
        let name = match request.name {
            Some(name) if name.trim().is_empty() => {
                return Err(ValidationError::new("name", "must not be empty").into());
            }
            Some(name) => name,
            None => application.name.to_string(),
        };
        let app_data = &self.ports.app_data;
        let dependencies = app_data
            .list_dependencies(version.id)
            .await?
            .into_iter()
            .map(|dependency| BuildDependency {
                application_id: dependency.library_id,
                build_id: dependency.build_id,
            })
            .collect();
        let config_params = app_data.list_config_defaults(version.id).await?;
        Ok(BuildDraft {
            build_id,
            application_id: application.id,
            application_name: application.name.to_string(),
            application_kind: application.kind,
            workspace_id: application.workspace_id,
            application_version_id: version.id,
            branch: version.branch.clone(),
            name,
            version_tag: request.version_tag,
            description: request.description,
            created_at: loading::now(),
            created_by: principal.name().to_owned(),
            settings: version.settings.clone(),
            dependencies,
            config_params,
        })
    }

    /// Every resource of the version, read in pages and written to the archive page by
    /// page, and the binaries they name (each once).
    async fn write_resources(
        &self,
        writer: &mut dyn ArchiveWriter,
        version_id: VersionId,
        build_id: BuildId,
    ) -> DomainResult<()> {
        let mut page = 0;
        loop {
            let batch = self
                .ports
                .app_data
                .list_resource_contents(version_id, PageRequest::new(page, READ_BATCH)?)
                .await?;
            let last = u64::from(page) + 1 >= batch.total_pages();
            let mut resources = Vec::with_capacity(batch.items.len());
            for resource in batch.items {
                for sha256 in binary_references(resource.content.as_str()) {
                    if !writer.has_binary(sha256) {
                        writer.add_binary(self.binary(sha256).await?).await?;
                    }
                }
                resources.push(BuildResource {
                    build_id,
                    entry: ManifestEntry {
                        resource_type: resource.resource_type,
                        definition_id: resource.definition_id,
                        version_id: resource.id,
                        name: resource.name,
                    },
                    content: resource.content,
                });
            }
            writer.add_resources(resources).await?;
            if last {
                return Ok(());
            }
            page += 1;
        }
    }

    /// A binary a resource names; its absence is the store's fault, since resources are
    /// checked against the store when they are written.
    async fn binary(&self, sha256: &str) -> DomainResult<ImportedBinary> {
        let key = BlobKey::binary(sha256)?;
        match self.ports.blobs.get(&key).await? {
            Some(bytes) => Ok(ImportedBinary { sha256: sha256.to_owned(), bytes }),
            None => Err(DomainError::Internal(PortError::Backend(
                format!("blob `{key}`, named by a resource, is missing").into(),
            ))),
        }
    }
}

enum Reservation {
    Done(Box<BuildHeader>),
    Id(BuildId),
}
