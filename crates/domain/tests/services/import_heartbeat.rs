//! The heartbeat of an import: its claim is renewed while it writes, so an import slower than
//! its lease is never overlapped by another import of the same build; an import whose claim
//! another one took over stops at once and leaves what is now the other's; an import that
//! cannot renew stops and cleans up.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration as StdDuration;

use adapter_memory::{FailureKind, Fakes, InMemoryRuntimeDataStore};
use async_trait::async_trait;
use domain::DomainResult;
use domain::builds::{BuildService, ImportOutcome};
use domain::model::{
    ApplicationId, Build, BuildId, BuildResource, ImportOwner, Page, PageRequest,
    ResourceDefinitionId, ResourceName, ResourceType,
};
use domain::ports::{
    BlobKey, BlobStore, BuildCatalog, ImportClaim, ImportLedger, PortResult, Ports,
    RuntimeDataStore,
};
use test_support::BuildFixture;
use time::{Duration, OffsetDateTime};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::helpers::{admin, code_of, request};

/// Short enough for a test, long enough for the fakes to answer well within a third of it.
const LEASE: Duration = Duration::milliseconds(300);
/// How long a step that should happen at once may take before the test fails.
const DEADLINE: StdDuration = StdDuration::from_secs(5);

/// The fakes' runtime store, except that staging waits until the test opens a gate: an
/// import exactly as slow as the test wants.
#[derive(Debug)]
struct GatedRuntimeData {
    inner: Arc<InMemoryRuntimeDataStore>,
    gate: Arc<Semaphore>,
    /// How many stagings have reached the gate.
    arrived: Arc<AtomicUsize>,
}

#[async_trait]
impl domain::ports::HealthCheck for GatedRuntimeData {
    async fn ping(&self) -> PortResult<()> {
        self.inner.ping().await
    }
}

#[async_trait]
impl RuntimeDataStore for GatedRuntimeData {
    async fn stage_resources(
        &self,
        build_id: BuildId,
        resources: &[BuildResource],
    ) -> PortResult<()> {
        self.arrived.fetch_add(1, Ordering::SeqCst);
        self.gate.acquire().await.expect("the gate is never closed").forget();
        self.inner.stage_resources(build_id, resources).await
    }

    async fn publish_build(&self, build: &Build) -> PortResult<()> {
        self.inner.publish_build(build).await
    }

    async fn discard_build(&self, build_id: BuildId) -> PortResult<()> {
        self.inner.discard_build(build_id).await
    }

    async fn find_build(&self, build_id: BuildId) -> PortResult<Option<Build>> {
        self.inner.find_build(build_id).await
    }

    async fn find_resource(
        &self,
        build_id: BuildId,
        resource_type: &ResourceType,
        definition_id: &ResourceDefinitionId,
    ) -> PortResult<Option<BuildResource>> {
        self.inner.find_resource(build_id, resource_type, definition_id).await
    }

    async fn find_resource_by_name(
        &self,
        build_id: BuildId,
        resource_type: &ResourceType,
        name: &ResourceName,
    ) -> PortResult<Option<BuildResource>> {
        self.inner.find_resource_by_name(build_id, resource_type, name).await
    }

    async fn list_resources(
        &self,
        build_id: BuildId,
        resource_type: &ResourceType,
        page: PageRequest,
    ) -> PortResult<Page<BuildResource>> {
        self.inner.list_resources(build_id, resource_type, page).await
    }
}

/// A build service with a short lease over the fakes, whose staging waits at a closed gate.
struct Slow {
    fakes: Fakes,
    gate: Arc<Semaphore>,
    arrived: Arc<AtomicUsize>,
    builds: BuildService,
}

impl Slow {
    fn new() -> Self {
        let fakes = Fakes::new();
        let gate = Arc::new(Semaphore::new(0));
        let arrived = Arc::new(AtomicUsize::new(0));
        let ports = Ports {
            runtime_data: Arc::new(GatedRuntimeData {
                inner: fakes.runtime_data.clone(),
                gate: gate.clone(),
                arrived: arrived.clone(),
            }),
            ..fakes.ports()
        };
        let builds = BuildService::new(ports).with_import_lease(LEASE);
        Self { fakes, gate, arrived, builds }
    }

    /// Starts importing `build`; it waits at the gate once it has claimed the id and begun
    /// writing.
    fn start(&self, build: &Build) -> JoinHandle<DomainResult<ImportOutcome>> {
        let builds = self.builds.clone();
        let request = request(build);
        tokio::spawn(async move { builds.import(&admin(), request).await })
    }

    /// The claim the started import took, once the import waits at the gate: it has claimed
    /// the id, discarded leftovers, stored the archive, and begun staging.
    async fn at_gate(&self) -> ImportClaim {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while self.arrived.load(Ordering::SeqCst) == 0 {
            assert!(tokio::time::Instant::now() < deadline, "the import never reached the gate");
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
        let [claim] = self.fakes.app_data.import_claims().try_into().expect("one claim");
        claim
    }
}

/// Waits for the import started on `task` to end; fails the test if it does not in time.
async fn outcome_of(task: JoinHandle<DomainResult<ImportOutcome>>) -> DomainResult<ImportOutcome> {
    tokio::time::timeout(DEADLINE, task)
        .await
        .expect("the import should have ended by now")
        .expect("the import task panicked")
}

/// Sleeps until `instant` (real time must pass for a lease to run out).
async fn sleep_until(instant: OffsetDateTime) {
    let left = instant - OffsetDateTime::now_utc();
    if left.is_positive() {
        tokio::time::sleep(left.unsigned_abs()).await;
    }
}

#[tokio::test]
async fn an_import_slower_than_its_lease_keeps_its_claim_and_is_never_overlapped() {
    let slow = Slow::new();
    let build = BuildFixture::new(ApplicationId::random()).resources(2).build();
    let first = slow.start(&build);
    let claim = slow.at_gate().await;

    // Well past the lease the claim was taken with, while the first import still writes.
    sleep_until(claim.expires_at + Duration::milliseconds(200)).await;
    let second =
        tokio::time::timeout(DEADLINE, slow.builds.import(&admin(), request(&build))).await;

    assert_eq!(
        code_of(second.expect("the second import must be refused at once, not start writing")),
        "import_in_progress",
        "the heartbeat kept the claim of the import under way"
    );
    let [renewed] = slow.fakes.app_data.import_claims().try_into().expect("one claim");
    assert_eq!(renewed.owner, claim.owner, "the claim is still the first import's");
    assert!(renewed.expires_at > claim.expires_at, "and its expiry has moved on");
    slow.gate.add_permits(1);
    let outcome = outcome_of(first).await.expect("the slow import completes");
    assert!(matches!(outcome, ImportOutcome::Created(_)), "got {outcome:?}");
    assert!(slow.fakes.app_data.import_claims().is_empty(), "its claim is dropped as it commits");
}

#[tokio::test]
async fn an_import_whose_claim_was_taken_over_stops_and_leaves_the_new_owners_data() {
    let slow = Slow::new();
    let build = BuildFixture::new(ApplicationId::random()).resources(2).build();
    let first = slow.start(&build);
    let claim = slow.at_gate().await;

    // Another importer takes the claim over, as it may once a claim has expired (here the
    // takeover says it is an hour later), and starts writing the build.
    let now = OffsetDateTime::now_utc();
    let takeover = ImportClaim {
        build_id: build.id(),
        owner: ImportOwner::random(),
        checksum: build.header.checksum.clone(),
        claimed_at: now + Duration::hours(1),
        expires_at: now + Duration::hours(2),
    };
    slow.fakes.app_data.claim_import(&takeover).await.expect("the takeover");
    let theirs = test_support::resources_of(&build);
    slow.fakes.runtime_data.stage_resources(build.id(), &theirs).await.expect("their staging");

    let outcome = outcome_of(first).await;

    assert_eq!(code_of(outcome), "import_in_progress", "stopped without the gate ever opening");
    assert_ne!(claim.owner, takeover.owner);
    assert_eq!(
        slow.fakes.app_data.import_claims(),
        [takeover],
        "the new owner's claim stays: the old import releases only its own"
    );
    assert!(
        slow.fakes.runtime_data.stored_build_ids().contains(&build.id()),
        "what the new owner staged is not discarded by the import that lost the claim"
    );
    let header = slow.fakes.app_data.find_build_header(build.id()).await.expect("header read");
    assert_eq!(header, None, "nothing is committed");
}

#[tokio::test]
async fn an_import_that_cannot_renew_its_claim_stops_and_leaves_nothing() {
    let slow = Slow::new();
    let build = BuildFixture::new(ApplicationId::random()).resources(2).build();
    let first = slow.start(&build);
    slow.at_gate().await;
    // The import waits at the gate: its next call to the application data is a renewal.
    slow.fakes.app_data.fail_next_with(FailureKind::Unavailable);

    let outcome = outcome_of(first).await;

    assert_eq!(code_of(outcome), "service_unavailable");
    assert!(slow.fakes.app_data.import_claims().is_empty(), "its claim is released");
    assert!(
        !slow.fakes.runtime_data.stored_build_ids().contains(&build.id()),
        "nothing is left in the runtime store"
    );
    let archive = slow.fakes.blobs.get(&BlobKey::build_archive(build.id())).await.expect("read");
    assert_eq!(archive, None, "the archive is deleted");
}
