//! Behaviour every `BlobStore` must show. Each check works under its own random key prefix.

use async_trait::async_trait;
use bytes::Bytes;
use domain::ports::{BlobChunks, BlobKey, BlobStore, BytesChunks, PortError, PortResult};
use uuid::Uuid;

use crate::fixtures;

/// Runs every check of the port.
pub async fn run_all(blobs: &dyn BlobStore) {
    crate::health::a_reachable_backend_answers_ping(blobs).await;
    an_unknown_key_has_no_object(blobs).await;
    an_object_reads_back_byte_for_byte(blobs).await;
    a_put_replaces_the_object(blobs).await;
    a_deleted_object_is_gone_and_deleting_nothing_is_ok(blobs).await;
    keys_that_share_a_prefix_are_distinct_objects(blobs).await;
    an_object_exists_from_its_put_until_its_delete(blobs).await;
    a_streamed_put_reads_back_byte_for_byte(blobs).await;
    a_failed_stream_leaves_no_object(blobs).await;
}

/// A fresh prefix, so that runs sharing a bucket never meet.
fn prefix() -> String {
    format!("contracts/{}", Uuid::new_v4())
}

fn key(raw: &str) -> BlobKey {
    BlobKey::parse(raw).unwrap_or_else(|err| panic!("`{raw}` should be a valid blob key: {err}"))
}

/// `Ok(None)` for a key nobody put.
pub async fn an_unknown_key_has_no_object(blobs: &dyn BlobStore) {
    let found = blobs.get(&key(&format!("{}/nothing.zip", prefix()))).await.expect("get");
    assert_eq!(found, None, "an unknown key has no object");
}

/// Empty, small and larger objects read back unchanged.
pub async fn an_object_reads_back_byte_for_byte(blobs: &dyn BlobStore) {
    let prefix = prefix();
    for len in [0, 1, 1024 * 1024 + 7] {
        let key = key(&format!("{prefix}/object-{len}.bin"));
        let bytes = fixtures::bytes(len);
        blobs
            .put(&key, bytes.clone())
            .await
            .unwrap_or_else(|err| panic!("put of {len} bytes: {err:?}"));

        let found = blobs.get(&key).await.expect("get");

        let found_len = found.as_ref().map(Bytes::len);
        assert!(
            found.as_ref() == Some(&bytes),
            "an object of {len} bytes reads back unchanged (read {found_len:?} bytes)"
        );
    }
}

/// A second put under a key replaces the object.
pub async fn a_put_replaces_the_object(blobs: &dyn BlobStore) {
    let key = key(&format!("{}/replaced.zip", prefix()));
    blobs.put(&key, Bytes::from_static(b"first")).await.expect("put");
    blobs.put(&key, Bytes::from_static(b"second")).await.expect("put again");

    let found = blobs.get(&key).await.expect("get");

    assert_eq!(found, Some(Bytes::from_static(b"second")), "the latest put wins");
}

/// After delete the key has no object; deleting it again, or a key nobody put, is `Ok`.
pub async fn a_deleted_object_is_gone_and_deleting_nothing_is_ok(blobs: &dyn BlobStore) {
    let prefix = prefix();
    let key = key(&format!("{prefix}/deleted.zip"));
    blobs.put(&key, Bytes::from_static(b"doomed")).await.expect("put");

    blobs.delete(&key).await.expect("delete");

    let found = blobs.get(&key).await.expect("get");
    assert_eq!(found, None, "a deleted object is gone");
    blobs.delete(&key).await.expect("deleting twice is Ok");
    blobs
        .delete(&self::key(&format!("{prefix}/never.zip")))
        .await
        .expect("deleting a key nobody put is Ok");
}

/// `a/b`, `a/bc` and `b/a/b` are three objects: deleting one keeps the others. (No key is
/// a folder of another: file-backed S3 servers cannot hold both, and rtm never needs it.)
pub async fn keys_that_share_a_prefix_are_distinct_objects(blobs: &dyn BlobStore) {
    let prefix = prefix();
    let keys = [
        key(&format!("{prefix}/a/b")),
        key(&format!("{prefix}/b/a/b")),
        key(&format!("{prefix}/a/bc")),
    ];
    for (i, key) in keys.iter().enumerate() {
        blobs
            .put(key, Bytes::from(vec![u8::try_from(i).expect("small index"); 3]))
            .await
            .expect("put");
    }

    blobs.delete(&keys[0]).await.expect("delete");

    assert_eq!(blobs.get(&keys[0]).await.expect("get"), None, "the deleted key is gone");
    assert_eq!(
        blobs.get(&keys[1]).await.expect("get"),
        Some(Bytes::from(vec![1; 3])),
        "a key with the same end is another object"
    );
    assert_eq!(
        blobs.get(&keys[2]).await.expect("get"),
        Some(Bytes::from(vec![2; 3])),
        "a key with the same start is another object"
    );
}

/// `exists` is false before the put, true after it (even for an empty object), false after
/// the delete; a key that only shares a prefix with an object does not exist.
pub async fn an_object_exists_from_its_put_until_its_delete(blobs: &dyn BlobStore) {
    let prefix = prefix();
    let key = key(&format!("{prefix}/binaries/present"));
    let empty = self::key(&format!("{prefix}/binaries/empty"));
    assert!(!blobs.exists(&key).await.expect("exists"), "no object before the put");

    blobs.put(&key, Bytes::from_static(b"present")).await.expect("put");
    blobs.put(&empty, Bytes::new()).await.expect("put of an empty object");

    assert!(blobs.exists(&key).await.expect("exists"), "an object exists after its put");
    assert!(blobs.exists(&empty).await.expect("exists"), "an empty object exists too");
    let sibling = self::key(&format!("{prefix}/binaries/pres"));
    assert!(!blobs.exists(&sibling).await.expect("exists"), "a prefix of a key is not an object");
    blobs.delete(&key).await.expect("delete");
    assert!(!blobs.exists(&key).await.expect("exists"), "no object after the delete");
}

/// More than twice the S3 adapter's part size (8 MiB), so that its streamed put is a
/// multipart upload of three parts.
const STREAMED_LEN: usize = 2 * 8 * 1024 * 1024 + 5;

/// Content handed over in chunks of uneven size (never what was asked), failing with a
/// backend error once `fail_after` bytes were handed over, when set.
struct UnevenChunks {
    inner: BytesChunks,
    len: u64,
    handed: usize,
    fail_after: Option<usize>,
}

impl UnevenChunks {
    fn new(bytes: Bytes, fail_after: Option<usize>) -> Self {
        Self { len: bytes.len() as u64, inner: BytesChunks::new(bytes), handed: 0, fail_after }
    }
}

#[async_trait]
impl BlobChunks for UnevenChunks {
    fn len(&self) -> u64 {
        self.len
    }

    async fn next_chunk(&mut self, max: usize) -> PortResult<Option<Bytes>> {
        if self.fail_after.is_some_and(|limit| self.handed >= limit) {
            return Err(PortError::Backend("the content could not be read".into()));
        }
        let chunk = self.inner.next_chunk(max.min(3 * 1024 * 1024 + 1)).await?;
        self.handed += chunk.as_ref().map_or(0, Bytes::len);
        Ok(chunk)
    }
}

/// A streamed put, small or of several parts, reads back unchanged and replaces what was
/// there; a stream shorter than announced is refused.
pub async fn a_streamed_put_reads_back_byte_for_byte(blobs: &dyn BlobStore) {
    let prefix = prefix();
    for len in [0, 10, STREAMED_LEN] {
        let key = key(&format!("{prefix}/streamed-{len}.bin"));
        blobs.put(&key, Bytes::from_static(b"before")).await.expect("put");
        let bytes = fixtures::bytes(len);

        blobs
            .put_chunks(&key, &mut UnevenChunks::new(bytes.clone(), None))
            .await
            .unwrap_or_else(|err| panic!("streamed put of {len} bytes: {err:?}"));

        let found = blobs.get(&key).await.expect("get");
        let found_len = found.as_ref().map(Bytes::len);
        assert!(
            found.as_ref() == Some(&bytes),
            "a streamed object of {len} bytes reads back unchanged (read {found_len:?} bytes)"
        );
    }
    let short = key(&format!("{prefix}/short.bin"));
    let mut chunks = UnevenChunks::new(fixtures::bytes(10), None);
    chunks.len = 11;
    assert!(blobs.put_chunks(&short, &mut chunks).await.is_err(), "a short stream is refused");
    assert_eq!(blobs.get(&short).await.expect("get"), None, "a short stream stores nothing");
}

/// A stream that fails, before or after its first part was sent, fails the put and
/// leaves no object.
pub async fn a_failed_stream_leaves_no_object(blobs: &dyn BlobStore) {
    let prefix = prefix();
    for fail_after in [0, 9 * 1024 * 1024] {
        let key = key(&format!("{prefix}/failed-{fail_after}.bin"));
        let mut chunks = UnevenChunks::new(fixtures::bytes(STREAMED_LEN), Some(fail_after));

        let put = blobs.put_chunks(&key, &mut chunks).await;

        assert!(put.is_err(), "a put whose stream fails after {fail_after} bytes fails");
        assert_eq!(
            blobs.get(&key).await.expect("get"),
            None,
            "a stream failing after {fail_after} bytes leaves no object"
        );
    }
}
