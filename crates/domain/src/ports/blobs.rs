//! Port for archives and binaries; S3 (bucket prefix `applications-bucket`) in production.

use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;

use crate::model::{BuildId, ValidationError};
use crate::ports::{HealthCheck, PortResult};

/// A key in the blob store: a relative path of lowercase letters, digits, `-`, `_`, `.`
/// and `/`, with no empty, `.` or `..` segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey(String);

impl BlobKey {
    /// Checks and wraps `raw`.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `key` when `raw` is not a safe relative path.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let safe_chars =
            raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./".contains(c));
        let safe_segments =
            raw.split('/').all(|segment| !segment.is_empty() && segment != "." && segment != "..");
        if raw.is_empty() || raw.len() > 1024 || !safe_chars || !safe_segments {
            return Err(ValidationError::new("key", format!("`{raw}` is not a safe blob key")));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Where the archive of a build is kept.
    pub fn build_archive(build_id: BuildId) -> Self {
        Self(format!("builds/{build_id}/build.zip"))
    }

    /// Where a binary with this SHA-256 (lowercase hex) is kept.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] when `sha256` is not 64 lowercase hex digits.
    pub fn binary(sha256: &str) -> Result<Self, ValidationError> {
        crate::model::Checksum::parse(sha256)?;
        Ok(Self(format!("binaries/{sha256}")))
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The content of an object handed over in chunks, for a streamed put: whoever stores it
/// holds one chunk (or one part of its own) at a time, never the whole content.
#[async_trait]
pub trait BlobChunks: Send {
    /// How many bytes the chunks add up to, told before the first is read (a store picks
    /// a single request or a multipart upload by it, and refuses a content of another size).
    fn len(&self) -> u64;

    /// Whether the content is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next chunk, of at least one and at most `max` bytes; `None` once every byte was
    /// handed over.
    async fn next_chunk(&mut self, max: usize) -> PortResult<Option<Bytes>>;
}

/// Chunks of bytes already in memory.
#[derive(Debug, Clone, Default)]
pub struct BytesChunks(Bytes);

impl BytesChunks {
    /// Hands `bytes` over.
    pub fn new(bytes: Bytes) -> Self {
        Self(bytes)
    }
}

#[async_trait]
impl BlobChunks for BytesChunks {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    async fn next_chunk(&mut self, max: usize) -> PortResult<Option<Bytes>> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let n = self.0.len().min(max.max(1));
        Ok(Some(self.0.split_to(n)))
    }
}

/// Whole objects by key.
#[async_trait]
pub trait BlobStore: HealthCheck + fmt::Debug + Send + Sync + 'static {
    /// Stores `bytes` under `key`, replacing what was there.
    async fn put(&self, key: &BlobKey, bytes: Bytes) -> PortResult<()>;

    /// Stores the content `chunks` hands over under `key`, replacing what was there,
    /// without holding the whole content at once. When reading the chunks fails or they do
    /// not add up to their announced length, the put fails and leaves no new object.
    async fn put_chunks(&self, key: &BlobKey, chunks: &mut dyn BlobChunks) -> PortResult<()>;

    /// The object under `key`; `Ok(None)` when there is none.
    async fn get(&self, key: &BlobKey) -> PortResult<Option<Bytes>>;

    /// Whether there is an object under `key`, without reading it.
    async fn exists(&self, key: &BlobKey) -> PortResult<bool>;

    /// Removes the object under `key`; removing nothing is not an error.
    async fn delete(&self, key: &BlobKey) -> PortResult<()>;
}

// Stops compiling if an edit makes the port unusable as `dyn BlobStore`.
const _: Option<&dyn BlobStore> = None;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_climb_out_of_their_prefix() {
        assert!(BlobKey::parse("builds/x/build.zip").is_ok());
        assert!(BlobKey::parse("../x").is_err());
        assert!(BlobKey::parse("/abs").is_err());
        assert!(BlobKey::parse("a//b").is_err());
        assert!(BlobKey::parse("A").is_err());
    }
}
