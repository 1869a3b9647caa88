//! Branches and versions: a WIP per branch at most, commits that freeze a version, WIP
//! starts and branches that copy links (never contents), and discards.

use std::collections::BTreeSet;

use crate::design::audit::audit;
use crate::design::loading;
use crate::design::model::{Application, Branch, CommitMessage, Version, VersionStatus};
use crate::error::{Conflict, NotFound};
use crate::model::{
    ApplicationId, AuditAction, BranchName, BuildSettings, EntityRef, Page, PageRequest, Principal,
    VersionId,
};
use crate::ports::{PortError, Ports};
use crate::{DomainError, DomainResult};

/// A branch as a caller asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBranch {
    /// Name, unique in the application.
    pub name: BranchName,
    /// The committed version it starts from.
    pub from_version_id: VersionId,
}

/// A change to a version: settings while it is WIP, the message once it is committed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionPatch {
    /// New settings (WIP only).
    pub settings: Option<BuildSettings>,
    /// New commit message (COMMITTED only).
    pub commit_message: Option<CommitMessage>,
}

/// Branches and versions of applications.
#[derive(Debug, Clone)]
pub struct VersionService {
    ports: Ports,
}

impl VersionService {
    /// A service over `ports`.
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// The branches of an application, `main` first.
    ///
    /// # Errors
    ///
    /// `application_not_found`.
    pub async fn list_branches(&self, application_id: ApplicationId) -> DomainResult<Vec<Branch>> {
        loading::application(&self.ports, application_id).await?;
        Ok(self.ports.app_data.list_branches(application_id).await?)
    }

    /// Creates a branch from a committed version; the branch starts with a WIP copy of it.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`; `version_not_committed` when the
    /// version is a WIP; `branch_exists` when the name is taken.
    pub async fn create_branch(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        input: NewBranch,
    ) -> DomainResult<(Branch, Version)> {
        let application = loading::application(&self.ports, application_id).await?;
        let from = loading::version(&self.ports, &application, input.from_version_id).await?;
        if from.is_wip() {
            return Err(Conflict::VersionNotCommitted(from.id).into());
        }
        if self.ports.app_data.find_branch(application_id, &input.name).await?.is_some() {
            return Err(Conflict::BranchExists(input.name).into());
        }
        let now = loading::now();
        let branch = Branch {
            application_id,
            name: input.name,
            created_from: Some(from.id),
            created_by: principal.name().to_owned(),
            created_at: now,
        };
        let wip = wip_from(&from, branch.name.clone(), principal, now);
        let events = [audit(
            AuditAction::CreateBranch,
            &application,
            EntityRef::Branch(branch.name.clone()),
            principal,
            now,
        )];
        match self.ports.app_data.create_branch(&branch, &wip, &events).await {
            Ok(()) => Ok((branch, wip)),
            Err(PortError::Conflict(_)) => Err(Conflict::BranchExists(branch.name).into()),
            Err(err) => Err(err.into()),
        }
    }

    /// The versions of an application, of one branch when `branch` is given, newest first.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `branch_not_found`.
    pub async fn list(
        &self,
        application_id: ApplicationId,
        branch: Option<&BranchName>,
        page: PageRequest,
    ) -> DomainResult<Page<Version>> {
        loading::application(&self.ports, application_id).await?;
        if let Some(branch) = branch {
            self.branch(application_id, branch).await?;
        }
        Ok(self.ports.app_data.list_versions(application_id, branch, page).await?)
    }

    /// One version with its settings.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`.
    pub async fn get(
        &self,
        application_id: ApplicationId,
        version_id: VersionId,
    ) -> DomainResult<Version> {
        let application = loading::application(&self.ports, application_id).await?;
        loading::version(&self.ports, &application, version_id).await
    }

    /// Changes the settings of a WIP version or the message of a committed one.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`; `invalid_request` for settings that
    /// break their rules; `version_committed` for settings of a committed version;
    /// `version_not_committed` for the message of a WIP.
    pub async fn patch(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        version_id: VersionId,
        patch: VersionPatch,
    ) -> DomainResult<Version> {
        let application = loading::application(&self.ports, application_id).await?;
        let mut version = loading::version(&self.ports, &application, version_id).await?;
        let now = loading::now();
        if let Some(settings) = patch.settings {
            settings.validate()?;
            if !version.is_wip() {
                return Err(Conflict::VersionCommitted(version_id).into());
            }
            version.settings = settings;
            version.last_changed_at = now;
        }
        if let Some(message) = patch.commit_message {
            if version.is_wip() {
                return Err(Conflict::VersionNotCommitted(version_id).into());
            }
            version.commit_message = Some(message);
        }
        let events = [version_audit(AuditAction::UpdateVersion, &application, &version, principal)];
        match self.ports.app_data.update_version(&version, &events).await {
            Ok(true) => Ok(version),
            Ok(false) => Err(NotFound::Version { application_id, version_id }.into()),
            // The status changed under us: the only change of status is a commit.
            Err(PortError::Conflict(_)) => Err(Conflict::VersionCommitted(version_id).into()),
            Err(err) => Err(err.into()),
        }
    }

    /// Starts a WIP on a branch from its newest committed version, linking the same
    /// resource versions (contents are copied only when edited).
    ///
    /// # Errors
    ///
    /// `application_not_found`, `branch_not_found`; `wip_exists` when the branch has a WIP
    /// (also when another start wins a race). (A branch without a WIP always has a
    /// committed version: its first version is a WIP, and the last one cannot be discarded.)
    pub async fn start_wip(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        branch: &BranchName,
    ) -> DomainResult<Version> {
        let application = loading::application(&self.ports, application_id).await?;
        self.branch(application_id, branch).await?;
        if self.ports.app_data.find_wip(application_id, branch).await?.is_some() {
            return Err(Conflict::WipExists(branch.clone()).into());
        }
        let Some(parent) =
            self.ports.app_data.find_latest_committed(application_id, branch).await?
        else {
            return Err(NotFound::Branch { application_id, branch: branch.clone() }.into());
        };
        let wip = wip_from(&parent, branch.clone(), principal, loading::now());
        let events = [version_audit(AuditAction::StartVersion, &application, &wip, principal)];
        match self.ports.app_data.start_wip(&wip, &events).await {
            Ok(()) => Ok(wip),
            Err(PortError::Conflict(_)) => Err(Conflict::WipExists(branch.clone()).into()),
            Err(err) => Err(err.into()),
        }
    }

    /// Commits a WIP: the version and the WIP resource versions it links never change again.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`; `version_committed` when it is
    /// committed (also when another commit wins a race); `nothing_to_commit` when it links
    /// the same resource versions and has the same dependencies, parameters and settings
    /// as its parent.
    pub async fn commit(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        version_id: VersionId,
        message: CommitMessage,
    ) -> DomainResult<Version> {
        let application = loading::application(&self.ports, application_id).await?;
        let wip = loading::wip(&self.ports, &application, version_id).await?;
        if let Some(parent_id) = wip.parent_id
            && let Some(parent) = self.ports.app_data.find_version(parent_id).await?
            && self.same_content(&wip, &parent).await?
        {
            return Err(Conflict::NothingToCommit(version_id).into());
        }
        let now = loading::now();
        let committed = Version {
            status: VersionStatus::Committed,
            commit_message: Some(message),
            committed_by: Some(principal.name().to_owned()),
            committed_at: Some(now),
            last_changed_at: now,
            ..wip
        };
        let events =
            [version_audit(AuditAction::CommitVersion, &application, &committed, principal)];
        match self.ports.app_data.commit_version(&committed, &events).await {
            Ok(true) => Ok(committed),
            Ok(false) => Err(NotFound::Version { application_id, version_id }.into()),
            Err(PortError::Conflict(_)) => Err(Conflict::VersionCommitted(version_id).into()),
            Err(err) => Err(err.into()),
        }
    }

    /// Discards a WIP with the WIP resource versions it links.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`; `version_committed` for a committed
    /// version; `last_version` when it is the only version of its branch.
    pub async fn discard(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        version_id: VersionId,
    ) -> DomainResult<()> {
        let application = loading::application(&self.ports, application_id).await?;
        let wip = loading::wip(&self.ports, &application, version_id).await?;
        // Only commits add versions to a branch besides its WIP, so one committed version
        // seen here stays: no race can make this WIP the branch's last.
        let committed =
            self.ports.app_data.find_latest_committed(application_id, &wip.branch).await?;
        if committed.is_none() {
            return Err(Conflict::LastVersion(version_id).into());
        }
        let events = [version_audit(AuditAction::DiscardVersion, &application, &wip, principal)];
        match self.ports.app_data.discard_wip(version_id, &events).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(NotFound::Version { application_id, version_id }.into()),
            Err(PortError::Conflict(_)) => Err(Conflict::VersionCommitted(version_id).into()),
            Err(err) => Err(err.into()),
        }
    }

    async fn branch(
        &self,
        application_id: ApplicationId,
        branch: &BranchName,
    ) -> DomainResult<Branch> {
        self.ports
            .app_data
            .find_branch(application_id, branch)
            .await?
            .ok_or_else(|| NotFound::Branch { application_id, branch: branch.clone() }.into())
    }

    /// Whether two versions would make the same build: the same links (by resource
    /// version id, since an edit always makes a new id or revision of a WIP resource
    /// version, which a committed parent never links), dependencies, parameters and settings.
    async fn same_content(&self, wip: &Version, parent: &Version) -> Result<bool, DomainError> {
        if wip.settings != parent.settings {
            return Ok(false);
        }
        let app_data = &self.ports.app_data;
        let links = |entries: Vec<crate::design::model::VersionManifestEntry>| {
            entries
                .into_iter()
                .map(|entry| (entry.resource_type, entry.definition_id, entry.resource_version_id))
                .collect::<BTreeSet<_>>()
        };
        if links(app_data.list_manifest(wip.id).await?)
            != links(app_data.list_manifest(parent.id).await?)
        {
            return Ok(false);
        }
        if app_data.list_dependencies(wip.id).await?
            != app_data.list_dependencies(parent.id).await?
        {
            return Ok(false);
        }
        Ok(app_data.list_config_defaults(wip.id).await?
            == app_data.list_config_defaults(parent.id).await?)
    }
}

/// A new WIP on `branch` that copies `parent` (its settings here; its links, dependencies
/// and parameters in the store).
fn wip_from(
    parent: &Version,
    branch: BranchName,
    principal: &Principal,
    now: time::OffsetDateTime,
) -> Version {
    Version {
        id: VersionId::random(),
        application_id: parent.application_id,
        branch,
        status: VersionStatus::Wip,
        parent_id: Some(parent.id),
        commit_message: None,
        settings: parent.settings.clone(),
        created_by: principal.name().to_owned(),
        created_at: now,
        committed_by: None,
        committed_at: None,
        last_changed_at: now,
    }
}

fn version_audit(
    action: AuditAction,
    application: &Application,
    version: &Version,
    principal: &Principal,
) -> crate::model::DomainEvent {
    audit(action, application, EntityRef::Version(version.id), principal, loading::now())
}
