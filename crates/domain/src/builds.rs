//! Builds in the shared kernel: the one write path that stores a build (imported by the
//! runtime role, created from a version by design time), and build management: list, read,
//! export and delete.

use std::collections::HashSet;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

use async_trait::async_trait;
use bytes::Bytes;
use time::{Duration, OffsetDateTime};

use crate::error::{Conflict, NotFound};
use crate::lookups;
use crate::model::ManifestEntry;
use crate::model::{
    ApplicationId, ApplicationKind, AuditAction, AuditRecord, Build, BuildHeader, BuildId,
    BuildOrigin, BuildResource, BuildTimer, DomainEvent, EntityRef, ImportOwner, Page, PageRequest,
    Principal, ValidationError,
};
use crate::ports::{BlobChunks, BlobKey, BytesChunks, ImportClaim, PortError, PortResult, Ports};
use crate::schedule;
use crate::telemetry::{self, BuildStore};
use crate::{DomainError, DomainResult};

/// How long an import's claim on a build id lasts without a renewal: the importer renews it
/// every third of it while it writes, and the claim of an importer that died expires after it.
pub const DEFAULT_IMPORT_LEASE: Duration = Duration::minutes(15);

/// How many resources go to the runtime store in one call, and so how many an import holds
/// in memory at once.
pub const STAGE_BATCH: usize = 500;

/// The shortest interval between two renewals of an import claim, whatever the lease.
const MIN_HEARTBEAT: std::time::Duration = std::time::Duration::from_millis(10);

/// A binary carried by an archive, content-addressed by its SHA-256.
#[derive(Debug, Clone)]
pub struct ImportedBinary {
    /// Lowercase hex SHA-256 of `bytes` (checked by whoever read the archive).
    pub sha256: String,
    /// The content.
    pub bytes: Bytes,
}

/// A build read from an archive whose format, hashes and limits have been checked.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The build.
    pub build: Build,
    /// One resource for every manifest entry.
    pub resources: Vec<BuildResource>,
    /// Binaries the archive carried.
    pub binaries: Vec<ImportedBinary>,
    /// The timer start events of its processes, with their switches (all on, unless the
    /// archive carried others).
    pub timers: Vec<BuildTimer>,
    /// The archive itself, kept so that the build can be exported byte for byte.
    pub archive: Bytes,
    /// When the import came through an application's route: the application it must be for.
    pub expected_application: Option<ApplicationId>,
}

/// A checked build on its way to the stores: the build's metadata in memory, its resources
/// and archive behind an [`ImportContent`] that hands them over piece by piece, so that an
/// import holds one batch of resources at a time, never the whole build.
pub struct BuildImport {
    /// The build (its manifest lists every resource the content will hand over).
    pub build: Build,
    /// The archive and the resources.
    pub content: Box<dyn ImportContent>,
    /// Binaries the archive carried.
    pub binaries: Vec<ImportedBinary>,
    /// The timer start events of its processes, with their switches.
    pub timers: Vec<BuildTimer>,
    /// When the import came through an application's route: the application it must be for.
    pub expected_application: Option<ApplicationId>,
}

impl fmt::Debug for BuildImport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildImport")
            .field("build", &self.build.id())
            .field("n_resources", &self.build.manifest.len())
            .field("n_binaries", &self.binaries.len())
            .field("n_timers", &self.timers.len())
            .field("expected_application", &self.expected_application)
            .finish_non_exhaustive()
    }
}

/// The bulky part of an import, read on demand: the archive (once, for the blob store) and
/// the resources in batches. Whoever checked the archive implements it (the archive codec
/// reads a checked archive a second time); the build service stages each batch and drops
/// it before asking for the next. A port, so that the domain reads no file and no zip.
#[async_trait]
pub trait ImportContent: Send {
    /// The archive's bytes, handed over in chunks for the blob store's streamed put (so
    /// that no more than a chunk of it is in memory). Asked for once, before any resource.
    async fn archive(&mut self) -> PortResult<Box<dyn BlobChunks>>;

    /// The next resources, at most `max` of them; empty once every resource was handed
    /// over.
    async fn next_resources(&mut self, max: usize) -> PortResult<Vec<BuildResource>>;
}

/// The content of an [`ImportRequest`], already in memory.
struct InMemoryContent {
    archive: Bytes,
    resources: std::vec::IntoIter<BuildResource>,
}

#[async_trait]
impl ImportContent for InMemoryContent {
    async fn archive(&mut self) -> PortResult<Box<dyn BlobChunks>> {
        Ok(Box::new(BytesChunks::new(self.archive.clone())))
    }

    async fn next_resources(&mut self, max: usize) -> PortResult<Vec<BuildResource>> {
        Ok(self.resources.by_ref().take(max).collect())
    }
}

impl From<ImportRequest> for BuildImport {
    fn from(request: ImportRequest) -> Self {
        let ImportRequest { build, resources, binaries, timers, archive, expected_application } =
            request;
        Self {
            build,
            content: Box::new(InMemoryContent { archive, resources: resources.into_iter() }),
            binaries,
            timers,
            expected_application,
        }
    }
}

/// A build as an export hands it out: the archive as it was imported, and the timers with
/// their switches as they are now (the edge writes them into the archive, outside its
/// checksum, so that an import elsewhere restores them).
#[derive(Debug, Clone)]
pub struct ExportedBuild {
    /// The build's header.
    pub header: BuildHeader,
    /// The stored archive.
    pub archive: Bytes,
    /// The build's timers, switches included.
    pub timers: Vec<BuildTimer>,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// The build is new here and now stored.
    Created(BuildHeader),
    /// The same build (same id and checksum) was here already; nothing changed.
    Unchanged(BuildHeader),
}

/// Import, list, read, export and delete builds.
#[derive(Debug, Clone)]
pub struct BuildService {
    ports: Ports,
    import_lease: Duration,
}

impl BuildService {
    /// A service over `ports`.
    pub fn new(ports: Ports) -> Self {
        Self { ports, import_lease: DEFAULT_IMPORT_LEASE }
    }

    /// The same service with another import lease: how soon the build of an importer that
    /// died can be imported again. A running import renews its claim every third of it, so
    /// the lease need not outlast the import, only the longest pause of a live importer.
    pub fn with_import_lease(mut self, import_lease: Duration) -> Self {
        self.import_lease = import_lease;
        self
    }

    /// Imports a build. Every check happens before anything is written; once writing starts,
    /// a failure undoes what was written, and readers see the build only when it is complete
    /// (the header, written last, is the commit point).
    ///
    /// # Errors
    ///
    /// `invalid_request` for a build that breaks the model, `application_mismatch` when
    /// `expected_application` is another application, `build_checksum_conflict` when the id
    /// exists with another checksum, `missing_dependency` / `dependency_not_a_library` for
    /// dependencies that are not imported libraries, `import_in_progress` when another import
    /// of the id is under way, `service_unavailable` when a backend fails (nothing is left).
    pub async fn import(
        &self,
        principal: &Principal,
        request: impl Into<BuildImport>,
    ) -> DomainResult<ImportOutcome> {
        let started = std::time::Instant::now();
        let outcome = self.store(principal, request.into(), BuildOrigin::Imported).await;
        telemetry::build_stored(
            BuildStore::Import,
            started,
            outcome.as_ref().map(|outcome| matches!(outcome, ImportOutcome::Created(_))),
        );
        outcome
    }

    /// Stores a build made here from a committed version, through the very path an import
    /// takes (same checks, same writes, same commit point); only its origin and its events
    /// (`BuildCreated`, a `CreateBuild` audit) differ.
    ///
    /// # Errors
    ///
    /// As [`import`](Self::import).
    pub async fn store_created(
        &self,
        principal: &Principal,
        request: impl Into<BuildImport>,
    ) -> DomainResult<ImportOutcome> {
        self.store(principal, request.into(), BuildOrigin::Created).await
    }

    async fn store(
        &self,
        principal: &Principal,
        request: BuildImport,
        origin: BuildOrigin,
    ) -> DomainResult<ImportOutcome> {
        let BuildImport { mut build, content, binaries, timers, expected_application } = request;
        build.validate()?;
        check_timers_match_processes(&build, &timers)?;
        let build_id = build.id();
        let application_id = build.header.application_id;
        if let Some(expected) = expected_application.filter(|expected| *expected != application_id)
        {
            return Err(Conflict::ApplicationMismatch {
                build_id,
                expected,
                actual: application_id,
            }
            .into());
        }
        if let Some(existing) = self.ports.app_data.find_build_header(build_id).await? {
            return same_build(existing, &build);
        }
        self.check_dependencies(&build).await?;

        // Whole microseconds: the precision of PostgreSQL, where headers are ordered, so
        // every app-data store orders builds alike. (MongoDB keeps milliseconds of it.)
        let now = OffsetDateTime::now_utc();
        let now = now.replace_microsecond(now.microsecond()).unwrap_or(now);
        build.header.stored_at = now;
        build.header.origin = origin;
        let owner = ImportOwner::random();
        let claim = ImportClaim {
            build_id,
            owner,
            checksum: build.header.checksum.clone(),
            claimed_at: now,
            expires_at: now + self.import_lease,
        };
        self.ports.app_data.claim_import(&claim).await.map_err(|err| match err {
            PortError::Conflict(_) => Conflict::ImportInProgress(build_id).into(),
            other => DomainError::from(other),
        })?;
        // Another import may have committed the build between the first look and the claim
        // (its claim is dropped as its header is stored): its data is not ours to discard.
        match self.ports.app_data.find_build_header(build_id).await {
            Ok(None) => {}
            Ok(Some(existing)) => {
                self.release_claim(build_id, owner).await;
                return same_build(existing, &build);
            }
            Err(err) => {
                self.release_claim(build_id, owner).await;
                return Err(err.into());
            }
        }

        let (stored, action) = match origin {
            BuildOrigin::Imported => (
                DomainEvent::BuildImported {
                    application_id,
                    workspace_id: build.header.workspace_id,
                    build_id,
                    checksum: build.header.checksum.clone(),
                },
                AuditAction::ImportBuild,
            ),
            BuildOrigin::Created => (
                DomainEvent::BuildCreated {
                    application_id,
                    workspace_id: build.header.workspace_id,
                    build_id,
                    application_version_id: build.header.application_version_id,
                    checksum: build.header.checksum.clone(),
                },
                AuditAction::CreateBuild,
            ),
        };
        let events = [
            stored,
            // The newest build of a branch may have changed, so resolution may have too.
            DomainEvent::ActivePolicyUpdated { application_id },
            audit(action, &build.header, principal, now),
        ];
        let written =
            self.while_claimed(build_id, owner, self.write_build(&build, content, &binaries)).await;
        let committed = match written {
            Ok(()) => self.commit(&build.header, owner, &timers, &events).await,
            Err(failure) => Err(failure),
        };
        match committed {
            Ok(()) => {
                lookups::evict_snapshot(&self.ports, application_id).await;
                tracing::info!(build.id = %build_id, app.id = %application_id, origin = origin.as_str(), n_resources = build.manifest.len(), n_timers = timers.len(), "build stored");
                Ok(ImportOutcome::Created(build.header))
            }
            Err(WriteFailure::NotOurs) => {
                // Another import took the build id over (our claim was lost) and may be
                // writing it or have committed it: what is under that id is not ours to
                // remove. It is the same build, a conflict, or still under way.
                self.release_claim(build_id, owner).await;
                match self.ports.app_data.find_build_header(build_id).await? {
                    Some(existing) => same_build(existing, &build),
                    None => Err(Conflict::ImportInProgress(build_id).into()),
                }
            }
            Err(WriteFailure::Port(err)) => {
                self.undo_import(build_id, owner).await;
                Err(err.into())
            }
            Err(WriteFailure::Refused(err)) => {
                self.undo_import(build_id, owner).await;
                Err(err)
            }
        }
    }

    /// The commit point: the header with its timers, and the events, among them what the
    /// scheduler must hear when the build becomes the global one (it does when the global
    /// policy follows its branch and it is the newest there). Only while `owner` holds the
    /// claim: a claim taken over (or a header stored by another import) is `NotOurs`.
    async fn commit(
        &self,
        header: &BuildHeader,
        owner: ImportOwner,
        timers: &[BuildTimer],
        events: &[DomainEvent],
    ) -> Result<(), WriteFailure> {
        let ports = &self.ports;
        let application_id = header.application_id;
        let outcome: DomainResult<Result<(), WriteFailure>> =
            schedule::retrying!(application_id, {
                let current = ports.app_data.find_timer_schedule(application_id).await?;
                let policy = ports.app_data.find_active_policy(application_id).await?;
                let after = schedule::global_build_with(ports, policy.as_ref(), header).await?;
                let incoming = schedule::Incoming { header, timers };
                let plan = schedule::plan(ports, &current, after, Some(incoming)).await?;
                let recorded: Vec<DomainEvent> =
                    events.iter().cloned().chain(plan.events).collect();
                match ports
                    .app_data
                    .complete_import(header, owner, timers, &plan.schedule, &recorded)
                    .await
                {
                    Ok(()) => Ok(Ok(())),
                    Err(PortError::Conflict(_)) => Ok(Err(WriteFailure::NotOurs)),
                    Err(err) => Err(err.into()),
                }
            });
        outcome.unwrap_or_else(|err| Err(WriteFailure::Refused(err)))
    }

    /// Runs `write` while renewing the claim on `build_id` every third of the lease, so an
    /// import slower than the lease keeps its claim. When a renewal finds the claim lost
    /// (another import took it over after it expired, as it does when this process could not
    /// renew for a whole lease) the write is dropped at once, wherever it is: it must not
    /// go on writing under an id another import now owns. A renewal that fails stops the
    /// import too, while the claim still holds for two thirds of the lease.
    async fn while_claimed(
        &self,
        build_id: BuildId,
        owner: ImportOwner,
        write: impl Future<Output = Result<(), WriteFailure>>,
    ) -> Result<(), WriteFailure> {
        let mut write = pin!(write);
        let mut heartbeat = pin!(self.heartbeat(build_id, owner));
        poll_fn(|cx| {
            if let Poll::Ready(written) = write.as_mut().poll(cx) {
                return Poll::Ready(written);
            }
            heartbeat.as_mut().poll(cx).map(Err)
        })
        .await
    }

    /// Renews the claim every third of the lease until it cannot: returns why.
    async fn heartbeat(&self, build_id: BuildId, owner: ImportOwner) -> WriteFailure {
        let every = (self.import_lease / 3_i32).unsigned_abs().max(MIN_HEARTBEAT);
        loop {
            self.ports.timer.sleep(every).await;
            let expires_at = OffsetDateTime::now_utc() + self.import_lease;
            match self.ports.app_data.renew_import(build_id, owner, expires_at).await {
                Ok(true) => tracing::debug!(build.id = %build_id, "import claim renewed"),
                Ok(false) => {
                    tracing::warn!(build.id = %build_id, "import claim lost to another import; stopping this one");
                    return WriteFailure::NotOurs;
                }
                Err(err) => {
                    tracing::warn!(error = %err, build.id = %build_id, "could not renew the import claim; stopping the import");
                    return WriteFailure::Port(err);
                }
            }
        }
    }

    async fn check_dependencies(&self, build: &Build) -> DomainResult<()> {
        for dependency in &build.dependencies {
            let missing = || Conflict::MissingDependency {
                application_id: dependency.application_id,
                build_id: dependency.build_id,
            };
            let Some(header) = self.ports.app_data.find_build_header(dependency.build_id).await?
            else {
                return Err(missing().into());
            };
            if header.application_id != dependency.application_id {
                return Err(missing().into());
            }
            if header.application_kind != ApplicationKind::Library {
                return Err(Conflict::DependencyNotALibrary(dependency.application_id).into());
            }
        }
        Ok(())
    }

    /// Writes everything but the header: leftovers discarded, binaries and the archive to the
    /// blob store, resources staged batch by batch (each dropped before the next is read) and
    /// the build published in the runtime store. Resources that do not match the manifest
    /// (one missing, one extra, one twice) refuse the import after the fact, undoing it.
    async fn write_build(
        &self,
        build: &Build,
        mut content: Box<dyn ImportContent>,
        binaries: &[ImportedBinary],
    ) -> Result<(), WriteFailure> {
        let ports = &self.ports;
        // Leftovers of an import whose process died are not visible (no header) and are
        // not ours to trust: start clean.
        ports.runtime_data.discard_build(build.id()).await?;
        for binary in binaries {
            let key =
                BlobKey::binary(&binary.sha256).map_err(|err| PortError::Backend(Box::new(err)))?;
            ports.blobs.put(&key, binary.bytes.clone()).await?;
        }
        // Streamed to the blob store (a chunk at a time) before the first resource is read:
        // the archive is never in memory whole, nor with the resources.
        let mut archive = content.archive().await?;
        ports.blobs.put_chunks(&BlobKey::build_archive(build.id()), archive.as_mut()).await?;
        drop(archive);
        let listed: HashSet<&ManifestEntry> = build.manifest.iter().collect();
        let mut given: HashSet<&ManifestEntry> = HashSet::with_capacity(listed.len());
        loop {
            let batch = content.next_resources(STAGE_BATCH).await?;
            if batch.is_empty() {
                break;
            }
            for resource in &batch {
                let Some(&entry) = listed.get(&resource.entry) else {
                    return Err(refused(format!(
                        "{} {} is not in the manifest",
                        resource.entry.resource_type, resource.entry.definition_id
                    )));
                };
                if resource.build_id != build.id() {
                    return Err(refused(format!(
                        "{} {} is given for another build",
                        resource.entry.resource_type, resource.entry.definition_id
                    )));
                }
                if !given.insert(entry) {
                    return Err(refused("a resource is given twice".to_owned()));
                }
            }
            ports.runtime_data.stage_resources(build.id(), &batch).await?;
        }
        if given.len() != listed.len() {
            return Err(refused(format!(
                "the manifest lists {} resources, {} were given",
                listed.len(),
                given.len()
            )));
        }
        Ok(ports.runtime_data.publish_build(build).await?)
    }

    /// Removes what a failed import wrote. Binaries stay: they are content-addressed and
    /// may be shared with other builds.
    async fn undo_import(&self, build_id: BuildId, owner: ImportOwner) {
        if let Err(err) = self.ports.runtime_data.discard_build(build_id).await {
            tracing::error!(error = %err, build.id = %build_id, "could not discard a failed import; it stays invisible and a new import replaces it");
        }
        if let Err(err) = self.ports.blobs.delete(&BlobKey::build_archive(build_id)).await {
            tracing::error!(error = %err, build.id = %build_id, "could not delete the archive of a failed import");
        }
        self.release_claim(build_id, owner).await;
    }

    async fn release_claim(&self, build_id: BuildId, owner: ImportOwner) {
        if let Err(err) = self.ports.app_data.release_import(build_id, owner).await {
            tracing::error!(error = %err, build.id = %build_id, "could not release an import claim; it expires by itself");
        }
    }

    /// The builds of an application, newest first.
    ///
    /// # Errors
    ///
    /// `service_unavailable` / `internal_error` when the store fails.
    pub async fn list(
        &self,
        application_id: ApplicationId,
        page: PageRequest,
    ) -> DomainResult<Page<BuildHeader>> {
        Ok(self.ports.app_data.list_build_headers(application_id, page).await?)
    }

    /// A whole build of an application: header, settings, dependencies, parameters, manifest.
    ///
    /// # Errors
    ///
    /// `build_not_found` when the application has no such build.
    pub async fn get(
        &self,
        application_id: ApplicationId,
        build_id: BuildId,
    ) -> DomainResult<Build> {
        lookups::build_of(&self.ports, application_id, build_id).await
    }

    /// The archive of a build of an application, as it was imported, with its timers as they
    /// are now; the export is audited (the archive leaves the installation) before it is
    /// handed out.
    ///
    /// # Errors
    ///
    /// `build_not_found` when the application has no such build; `internal_error` when its
    /// archive is missing from the blob store; `service_unavailable` when the audit cannot
    /// be recorded (nothing is handed out unaudited).
    pub async fn export(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        build_id: BuildId,
    ) -> DomainResult<ExportedBuild> {
        let header = lookups::header_of(&self.ports, application_id, build_id).await?;
        let key = BlobKey::build_archive(build_id);
        let Some(archive) = self.ports.blobs.get(&key).await? else {
            return Err(DomainError::Internal(PortError::Backend(
                format!("blob `{key}` is missing").into(),
            )));
        };
        let audit = audit(AuditAction::ExportBuild, &header, principal, OffsetDateTime::now_utc());
        let timers = self.ports.app_data.list_build_timers(build_id).await?;
        self.ports.app_data.record_events(&[audit]).await?;
        Ok(ExportedBuild { header, archive, timers })
    }

    /// Deletes a build that no policy or override uses.
    ///
    /// # Errors
    ///
    /// `build_not_found` when the application has no such build; `build_in_use` when the
    /// global policy or an override names it.
    pub async fn delete(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        build_id: BuildId,
    ) -> DomainResult<()> {
        let header = lookups::header_of(&self.ports, application_id, build_id).await?;
        let events = [
            DomainEvent::BuildDeleted { application_id, build_id },
            DomainEvent::ActivePolicyUpdated { application_id },
            audit(AuditAction::DeleteBuild, &header, principal, OffsetDateTime::now_utc()),
        ];
        let ports = &self.ports;
        // Deleting the newest build of the branch the global policy follows makes the next
        // newest the global build: the scheduler hears it in the same write.
        let deleted = schedule::retrying!(application_id, {
            let current = ports.app_data.find_timer_schedule(application_id).await?;
            let policy = ports.app_data.find_active_policy(application_id).await?;
            let after = schedule::global_build_without(ports, policy.as_ref(), &header).await?;
            let plan = schedule::plan(ports, &current, after, None).await?;
            let recorded: Vec<DomainEvent> = events.iter().cloned().chain(plan.events).collect();
            match ports.app_data.delete_build_header(build_id, &plan.schedule, &recorded).await {
                Err(PortError::Conflict(_)) => Err(Conflict::BuildInUse(build_id).into()),
                other => Ok(other?),
            }
        })?;
        if !deleted {
            return Err(NotFound::Build { application_id, build_id }.into());
        }
        lookups::evict_snapshot(&self.ports, application_id).await;
        // The header is gone, so nothing can reach the rest; failures here leave only garbage.
        if let Err(err) = self.ports.runtime_data.discard_build(build_id).await {
            tracing::error!(error = %err, build.id = %build_id, "deleted build's resources stay in the runtime store");
        }
        // Evicted after the discard: a read racing the delete (header found just before it
        // went) now refills the cache only if it read the store before the discard and wrote
        // the cache after this eviction, a far narrower window than evicting first.
        if let Err(err) = self.ports.cache.evict_build(build_id).await {
            tracing::warn!(error = %err, build.id = %build_id, "cache eviction failed");
        }
        if let Err(err) = self.ports.blobs.delete(&BlobKey::build_archive(build_id)).await {
            tracing::error!(error = %err, build.id = %build_id, "deleted build's archive stays in the blob store");
        }
        Ok(())
    }
}

impl From<PortError> for WriteFailure {
    fn from(err: PortError) -> Self {
        Self::Port(err)
    }
}

/// Why an import stopped after it took its claim.
enum WriteFailure {
    /// The claim is no longer ours: another import took the build id over (and may have
    /// committed it). Nothing under the id may be removed.
    NotOurs,
    /// A backend failed while the claim was ours: what was written is removed.
    Port(PortError),
    /// The commit was refused (the timer schedule kept moving, or a read failed), or the
    /// resources did not match the manifest: what was written is removed.
    Refused(DomainError),
}

fn same_build(existing: BuildHeader, offered: &Build) -> DomainResult<ImportOutcome> {
    if existing.checksum == offered.header.checksum
        && existing.application_id == offered.header.application_id
    {
        Ok(ImportOutcome::Unchanged(existing))
    } else {
        Err(Conflict::BuildChecksum {
            build_id: existing.id,
            existing: existing.checksum,
            offered: offered.header.checksum.clone(),
        }
        .into())
    }
}

/// Resources that do not match the manifest: the request is refused (`invalid_request`).
fn refused(reason: String) -> WriteFailure {
    WriteFailure::Refused(ValidationError::new("resources", reason).into())
}

/// Every timer is in a PROCESS of the manifest, under its name, at most one per process.
fn check_timers_match_processes(
    build: &Build,
    timers: &[BuildTimer],
) -> Result<(), ValidationError> {
    BuildTimer::check_one_per_process(timers)?;
    for timer in timers {
        let in_manifest = build.manifest.iter().any(|entry| {
            entry.resource_type.as_str() == crate::runtime::PROCESS
                && entry.definition_id == timer.process
                && entry.name == timer.process_name
        });
        if !in_manifest {
            return Err(ValidationError::new(
                "timers",
                format!("timer {} is not in a PROCESS of the build", timer.id()),
            ));
        }
    }
    Ok(())
}

fn audit(
    action: AuditAction,
    header: &BuildHeader,
    principal: &Principal,
    at: OffsetDateTime,
) -> DomainEvent {
    AuditRecord::event(
        action,
        EntityRef::Build(header.id),
        header.application_id,
        header.workspace_id,
        principal,
        at,
    )
}
