//! In-memory `BlobStore`: a map from key to bytes.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::Bytes;
use domain::ports::{BlobKey, BlobStore, PortResult};

use crate::failure::{FailureSwitch, failure_knob};

/// Objects in a map; passes `port_contracts::blobs` like the S3 adapter.
#[derive(Debug, Default)]
pub struct InMemoryBlobStore {
    objects: Mutex<BTreeMap<BlobKey, Bytes>>,
    failure: FailureSwitch,
}

failure_knob!(InMemoryBlobStore);

impl InMemoryBlobStore {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every stored key, in order, for assertions.
    pub fn keys(&self) -> Vec<BlobKey> {
        crate::lock(&self.objects).keys().cloned().collect()
    }

    fn objects(&self) -> PortResult<MutexGuard<'_, BTreeMap<BlobKey, Bytes>>> {
        self.failure.check()?;
        Ok(crate::lock(&self.objects))
    }
}

#[async_trait]
impl BlobStore for InMemoryBlobStore {
    async fn put(&self, key: &BlobKey, bytes: Bytes) -> PortResult<()> {
        self.objects()?.insert(key.clone(), bytes);
        Ok(())
    }

    async fn get(&self, key: &BlobKey) -> PortResult<Option<Bytes>> {
        Ok(self.objects()?.get(key).cloned())
    }

    async fn exists(&self, key: &BlobKey) -> PortResult<bool> {
        Ok(self.objects()?.contains_key(key))
    }

    async fn delete(&self, key: &BlobKey) -> PortResult<()> {
        self.objects()?.remove(key);
        Ok(())
    }
}

/// Always reachable, unless the failure knob says this call fails.
#[async_trait]
impl domain::ports::HealthCheck for InMemoryBlobStore {
    async fn ping(&self) -> PortResult<()> {
        self.failure.check()
    }
}
