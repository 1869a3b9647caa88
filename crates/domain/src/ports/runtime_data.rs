//! Port for builds and their resources as the runtime reads them; MongoDB `app-runtime` in
//! production, a store other platform services read too.

use std::fmt;

use async_trait::async_trait;

use crate::model::{
    Build, BuildId, BuildResource, Page, PageRequest, ResourceDefinitionId, ResourceName,
    ResourceType,
};
use crate::ports::{HealthCheck, PortResult};

/// Builds and resource snapshots. A build is written in two steps, resources first
/// ([`stage_resources`](Self::stage_resources)), then the build itself
/// ([`publish_build`](Self::publish_build)), and readers see nothing of it before the second.
#[async_trait]
pub trait RuntimeDataStore: HealthCheck + fmt::Debug + Send + Sync + 'static {
    /// Stores resource snapshots of a build that is not yet published. Storing the same
    /// resource (build, type, definition id) again replaces it, so a repeated import converges.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the build is
    /// published already: a published build never changes.
    async fn stage_resources(
        &self,
        build_id: BuildId,
        resources: &[BuildResource],
    ) -> PortResult<()>;

    /// Makes a build and its staged resources visible to readers. Publishing the same build
    /// (same id and checksum) again is a no-op.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when a build with that id
    /// and another checksum is published.
    async fn publish_build(&self, build: &Build) -> PortResult<()>;

    /// Removes a build and every resource of it, published or staged; removing nothing is
    /// not an error.
    async fn discard_build(&self, build_id: BuildId) -> PortResult<()>;

    /// A published build; `Ok(None)` when there is none (or it is only staged).
    async fn find_build(&self, build_id: BuildId) -> PortResult<Option<Build>>;

    /// One resource of a published build by type and definition id.
    async fn find_resource(
        &self,
        build_id: BuildId,
        resource_type: &ResourceType,
        definition_id: &ResourceDefinitionId,
    ) -> PortResult<Option<BuildResource>>;

    /// One resource of a published build by type and name.
    async fn find_resource_by_name(
        &self,
        build_id: BuildId,
        resource_type: &ResourceType,
        name: &ResourceName,
    ) -> PortResult<Option<BuildResource>>;

    /// The resources of one type of a published build, ordered by name; an empty page for a
    /// build that is not published.
    async fn list_resources(
        &self,
        build_id: BuildId,
        resource_type: &ResourceType,
        page: PageRequest,
    ) -> PortResult<Page<BuildResource>>;
}

// Stops compiling if an edit makes the port unusable as `dyn RuntimeDataStore`.
const _: Option<&dyn RuntimeDataStore> = None;
