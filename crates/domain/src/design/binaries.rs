//! Media binaries: bytes stored once under their SHA-256, named by resources as
//! `binaries/<sha256>` (as in the build archive), and packed into the builds that use them.

use bytes::Bytes;

use crate::DomainResult;
use crate::design::audit::audit;
use crate::design::loading;
use crate::model::{ApplicationId, AuditAction, Checksum, EntityRef, Principal};
use crate::ports::{BlobKey, Ports};

/// Stores binaries for the resources of an application.
#[derive(Debug, Clone)]
pub struct BinaryService {
    ports: Ports,
}

impl BinaryService {
    /// A service over `ports`.
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// Stores `bytes`, whose SHA-256 the edge computed as `sha256` (the domain has no
    /// digest of its own), and audits the upload. Storing the same bytes again is
    /// harmless: the key is the content.
    ///
    /// # Errors
    ///
    /// `application_not_found`; `service_unavailable` when the blob store or the audit
    /// cannot be written.
    pub async fn store(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        sha256: &Checksum,
        bytes: Bytes,
    ) -> DomainResult<()> {
        let application = loading::application(&self.ports, application_id).await?;
        let key = BlobKey::binary(sha256.as_str())?;
        self.ports.blobs.put(&key, bytes).await?;
        let event = audit(
            AuditAction::UploadBinary,
            &application,
            EntityRef::Binary(sha256.clone()),
            principal,
            loading::now(),
        );
        self.ports.app_data.record_events(&[event]).await?;
        Ok(())
    }
}
