//! Behaviour every `BlobStore` must show. Each check works under its own random key prefix.

use bytes::Bytes;
use domain::ports::{BlobKey, BlobStore};
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
