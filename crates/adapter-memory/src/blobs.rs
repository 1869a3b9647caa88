//! In-memory `BlobStore`: a map from key to bytes.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::Bytes;
use domain::ports::{BlobChunks, BlobKey, BlobStore, PortError, PortResult};

use crate::failure::{FailureSwitch, failure_knob};

/// How much a streamed put asks for at a time (the map holds the whole object anyway).
const CHUNK: usize = 1024 * 1024;

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

    async fn put_chunks(&self, key: &BlobKey, chunks: &mut dyn BlobChunks) -> PortResult<()> {
        self.failure.check()?;
        let len = chunks.len();
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        // Read whole before anything is stored: a failing stream leaves no object.
        while let Some(chunk) = chunks.next_chunk(CHUNK).await? {
            bytes.extend_from_slice(&chunk);
        }
        if bytes.len() as u64 != len {
            return Err(PortError::Backend(
                format!("the content has {} bytes, not the {len} announced", bytes.len()).into(),
            ));
        }
        self.objects()?.insert(key.clone(), Bytes::from(bytes));
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
