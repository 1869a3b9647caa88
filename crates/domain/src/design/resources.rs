//! The resources of a version: its manifest, reads with content and etag, and edits of a
//! WIP, where a resource still linked COMMITTED is copied before it changes (copy on write).

use crate::design::audit::audit;
use crate::design::loading;
use crate::design::model::{
    Application, ResourceChange, ResourceStatus, ResourceUpdate, ResourceVersion,
    VersionManifestEntry,
};
use crate::error::{Conflict, NotFound};
use crate::model::{
    ApplicationId, AuditAction, EntityRef, Page, PageRequest, Principal, RawJson,
    ResourceDefinitionId, ResourceName, ResourceType, ResourceVersionId, ValidationError,
    VersionId,
};
use crate::ports::{BlobKey, PortError, Ports};
use crate::{DomainError, DomainResult};

/// A resource as a caller creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewResource {
    /// Name, unique per version and type.
    pub name: ResourceName,
    /// The definition, a JSON object (checked by whoever built the `RawJson`).
    pub content: RawJson,
    /// The stable id, when the caller has one (a resource copied from elsewhere); else a
    /// fresh one.
    pub definition_id: Option<ResourceDefinitionId>,
}

/// A change to a resource as a caller asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceEdit {
    /// A new name; `None` keeps it.
    pub name: Option<ResourceName>,
    /// The new content.
    pub content: RawJson,
    /// The etag the caller read (`If-Match`); `None` changes whatever is there.
    pub if_match: Option<String>,
}

/// Reads and edits the resources of versions.
#[derive(Debug, Clone)]
pub struct ResourceService {
    ports: Ports,
}

impl ResourceService {
    /// A service over `ports`.
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// Every resource the version links, by type and name, without content.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`.
    pub async fn manifest(
        &self,
        application_id: ApplicationId,
        version_id: VersionId,
    ) -> DomainResult<Vec<VersionManifestEntry>> {
        let application = loading::application(&self.ports, application_id).await?;
        loading::version(&self.ports, &application, version_id).await?;
        Ok(self.ports.app_data.list_manifest(version_id).await?)
    }

    /// The resources of one type, by name, without content.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`.
    pub async fn list(
        &self,
        application_id: ApplicationId,
        version_id: VersionId,
        resource_type: &ResourceType,
        page: PageRequest,
    ) -> DomainResult<Page<VersionManifestEntry>> {
        let manifest = self.manifest(application_id, version_id).await?;
        Ok(page.slice(
            manifest.into_iter().filter(|entry| entry.resource_type == *resource_type).collect(),
        ))
    }

    /// One resource with its content; its [`etag`](ResourceVersion::etag) is what a later
    /// `If-Match` must name.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`, `resource_not_found`.
    pub async fn get(
        &self,
        application_id: ApplicationId,
        version_id: VersionId,
        resource_type: &ResourceType,
        definition_id: &ResourceDefinitionId,
    ) -> DomainResult<ResourceVersion> {
        let application = loading::application(&self.ports, application_id).await?;
        loading::version(&self.ports, &application, version_id).await?;
        self.find(version_id, resource_type, definition_id).await
    }

    /// Adds a resource to a WIP version.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`; `version_committed`;
    /// `unknown_binary` when the content names a binary that is not stored;
    /// `resource_name_taken` when another resource of the type has the name;
    /// `resource_exists` when the version has a resource of the type with that definition id.
    pub async fn create(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        version_id: VersionId,
        resource_type: ResourceType,
        input: NewResource,
    ) -> DomainResult<ResourceVersion> {
        let application = loading::application(&self.ports, application_id).await?;
        loading::wip(&self.ports, &application, version_id).await?;
        self.check_binaries(&input.content).await?;
        let definition_id = match input.definition_id {
            Some(definition_id) => definition_id,
            None => ResourceDefinitionId::parse(&uuid::Uuid::new_v4().to_string())?,
        };
        if self
            .ports
            .app_data
            .find_resource(version_id, &resource_type, &definition_id)
            .await?
            .is_some()
        {
            return Err(Conflict::ResourceExists { resource_type, definition_id }.into());
        }
        let now = loading::now();
        let resource = ResourceVersion {
            id: fresh_resource_version_id()?,
            definition_id,
            resource_type,
            name: input.name,
            content: input.content,
            status: ResourceStatus::Wip,
            revision: 1,
            created_at: now,
            last_changed_at: now,
            committed_at: None,
        };
        let events = [resource_audit(
            AuditAction::CreateResource,
            &application,
            &resource.definition_id,
            principal,
        )];
        if let Err(err) = self.ports.app_data.create_resource(version_id, &resource, &events).await
        {
            return Err(loading::wip_write_conflict(
                &self.ports,
                &application,
                version_id,
                err,
                || name_taken(&resource.resource_type, &resource.name),
            )
            .await);
        }
        Ok(resource)
    }

    /// Changes a resource of a WIP version. A resource still linked COMMITTED gets a new
    /// resource version id (same definition id) and the committed one stays as it was; a
    /// WIP one changes in place.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`, `resource_not_found`;
    /// `version_committed`; `unknown_binary`; `resource_name_taken`;
    /// `precondition_failed` when `if_match` is not the resource's etag.
    pub async fn update(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        version_id: VersionId,
        resource_type: ResourceType,
        definition_id: ResourceDefinitionId,
        edit: ResourceEdit,
    ) -> DomainResult<ResourceVersion> {
        let application = loading::application(&self.ports, application_id).await?;
        loading::wip(&self.ports, &application, version_id).await?;
        let current = self.find(version_id, &resource_type, &definition_id).await?;
        self.check_binaries(&edit.content).await?;
        let change = ResourceChange {
            resource_type,
            definition_id,
            name: edit.name.unwrap_or(current.name),
            content: edit.content,
            expected_etag: edit.if_match,
            copy_id: fresh_resource_version_id()?,
            at: loading::now(),
        };
        let events = [resource_audit(
            AuditAction::UpdateResource,
            &application,
            &change.definition_id,
            principal,
        )];
        match self.ports.app_data.update_resource(version_id, &change, &events).await {
            Ok(ResourceUpdate::Updated(resource)) => Ok(resource),
            Ok(ResourceUpdate::Missing) => Err(NotFound::VersionResource {
                version_id,
                resource_type: change.resource_type,
                definition_id: change.definition_id,
            }
            .into()),
            Ok(ResourceUpdate::StaleEtag { current }) => Err(Conflict::PreconditionFailed {
                expected: change.expected_etag.unwrap_or_default(),
                current,
            }
            .into()),
            Err(err) => {
                Err(loading::wip_write_conflict(&self.ports, &application, version_id, err, || {
                    name_taken(&change.resource_type, &change.name)
                })
                .await)
            }
        }
    }

    /// Unlinks a resource from a WIP version; the committed versions that link it keep it.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`, `resource_not_found`;
    /// `version_committed`.
    pub async fn delete(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        version_id: VersionId,
        resource_type: &ResourceType,
        definition_id: &ResourceDefinitionId,
    ) -> DomainResult<()> {
        let application = loading::application(&self.ports, application_id).await?;
        loading::wip(&self.ports, &application, version_id).await?;
        let events =
            [resource_audit(AuditAction::DeleteResource, &application, definition_id, principal)];
        match self
            .ports
            .app_data
            .unlink_resource(version_id, resource_type, definition_id, &events)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(NotFound::VersionResource {
                version_id,
                resource_type: resource_type.clone(),
                definition_id: definition_id.clone(),
            }
            .into()),
            Err(err @ PortError::Conflict(_)) => {
                Err(loading::wip_write_conflict(&self.ports, &application, version_id, err, || {
                    Conflict::Storage("the resource could not be unlinked".to_owned()).into()
                })
                .await)
            }
            Err(err) => Err(err.into()),
        }
    }

    async fn find(
        &self,
        version_id: VersionId,
        resource_type: &ResourceType,
        definition_id: &ResourceDefinitionId,
    ) -> DomainResult<ResourceVersion> {
        self.ports
            .app_data
            .find_resource(version_id, resource_type, definition_id)
            .await?
            .ok_or_else(|| {
                NotFound::VersionResource {
                    version_id,
                    resource_type: resource_type.clone(),
                    definition_id: definition_id.clone(),
                }
                .into()
            })
    }

    /// Refuses content that names a binary the blob store does not hold, so that no build
    /// is made from a resource whose media cannot be served.
    async fn check_binaries(&self, content: &RawJson) -> DomainResult<()> {
        for sha256 in binary_references(content.as_str()) {
            let key = BlobKey::binary(sha256)?;
            if !self.ports.blobs.exists(&key).await? {
                return Err(ValidationError::with_code(
                    "unknown_binary",
                    "content",
                    format!("binary `binaries/{sha256}` is not stored; upload it first"),
                )
                .into());
            }
        }
        Ok(())
    }
}

/// The SHA-256 of every `binaries/<64 lowercase hex>` the JSON text names, in order, each
/// once. The domain parses no JSON (it has no serde, by design), so it scans the text: a
/// reference is a JSON string, and the only way JSON can spell it otherwise is with the
/// slash escaped (`binaries\/…`), which is matched too. A longer run of hex digits is not a
/// reference.
pub(crate) fn binary_references(json: &str) -> Vec<&str> {
    let mut found: Vec<&str> = Vec::new();
    for prefix in ["binaries/", "binaries\\/"] {
        for (at, _) in json.match_indices(prefix) {
            let rest = &json[at + prefix.len()..];
            let is_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
            let digits = rest.bytes().take_while(is_hex).count();
            if digits == 64 {
                let sha256 = &rest[..64];
                if !found.contains(&sha256) {
                    found.push(sha256);
                }
            }
        }
    }
    found
}

fn fresh_resource_version_id() -> DomainResult<ResourceVersionId> {
    Ok(ResourceVersionId::parse(&uuid::Uuid::new_v4().to_string())?)
}

fn name_taken(resource_type: &ResourceType, name: &ResourceName) -> DomainError {
    Conflict::ResourceNameTaken { resource_type: resource_type.clone(), name: name.clone() }.into()
}

fn resource_audit(
    action: AuditAction,
    application: &Application,
    definition_id: &ResourceDefinitionId,
    principal: &Principal,
) -> crate::model::DomainEvent {
    audit(
        action,
        application,
        EntityRef::Resource(definition_id.clone()),
        principal,
        loading::now(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_references_are_found_plain_and_escaped_and_only_with_64_digits() {
        let a = "a".repeat(64);
        let b = "0123456789abcdef".repeat(4);
        let json = format!(
            r#"{{"x":"binaries/{a}","y":"binaries\/{b}","z":"binaries/{a}","short":"binaries/abc","long":"binaries/{a}0"}}"#
        );

        assert_eq!(binary_references(&json), [a.as_str(), b.as_str()]);
    }
}
