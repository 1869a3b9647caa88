//! `S3BlobStore`: the `BlobStore` port on one S3 bucket, through `rust-s3`.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use domain::ports::{BlobChunks, BlobKey, BlobStore, PortError, PortResult};
use s3::creds::Credentials;
use s3::{Bucket, BucketConfiguration, Region};
use secrecy::ExposeSecret as _;

use crate::config::S3Config;
use crate::error::{BlobError, Refusal};

/// The size of each part of a multipart upload but the last (S3 wants at least 5 MiB): a
/// streamed put holds one part in memory. Content of at most one part goes in one request.
const PART_SIZE: usize = 8 * 1024 * 1024;

/// Lifetime of the one presigned URL `connect` uses; it is sent at once.
const PRESIGNED_URL_SECONDS: u32 = 60;

/// Blobs as objects of one bucket, under an optional key prefix.
///
/// A missing object reads as `None` and deletes as a success. (On AWS that needs the
/// `s3:ListBucket` right on the bucket: without it S3 answers a missing key with 403.)
pub struct S3BlobStore {
    bucket: Box<Bucket>,
    /// `"{key_prefix}/"`, or empty.
    key_prefix: String,
    endpoint: String,
    request_timeout: Duration,
    /// Set when the configuration has root certificates of its own: rust-s3 0.37 builds its
    /// HTTP client itself and cannot be given any, so every request is then presigned by
    /// rust-s3 and sent by this client, which trusts those roots only.
    own_client: Option<reqwest::Client>,
}

/// One object operation, sent through rust-s3 or presigned through [`S3BlobStore::own_client`].
#[derive(Clone, Copy)]
enum Op<'a> {
    Put(&'a Bytes),
    Get,
    Exists,
    Delete,
}

impl S3BlobStore {
    /// Opens the configured bucket, creating it when it is missing (a concurrent creation
    /// by another replica is fine).
    ///
    /// # Errors
    ///
    /// [`PortError::Unavailable`] when the service cannot be reached within the request
    /// timeout; [`PortError::Backend`] when it refuses the credentials
    /// (`SignatureDoesNotMatch`, `InvalidAccessKeyId`, `AccessDenied`: the message says so)
    /// or the bucket cannot be created.
    pub async fn connect(config: &S3Config) -> Result<Self, PortError> {
        let store = Self::new(config)?;
        if store.bucket_state().await? == BucketState::Missing {
            store.create_bucket(config).await?;
            tracing::info!(s3.bucket = %config.bucket, s3.endpoint = %store.endpoint, "s3 bucket created");
        }
        Ok(store)
    }

    fn new(config: &S3Config) -> Result<Self, BlobError> {
        let mut bucket = Bucket::new(&config.bucket, region(config), credentials(config)?)
            .and_then(|bucket| bucket.with_request_timeout(config.request_timeout))
            .map_err(BlobError::Client)?;
        bucket.set_path_style();
        let key_prefix = match config.key_prefix.as_deref().map(|prefix| prefix.trim_matches('/')) {
            Some(prefix) if !prefix.is_empty() => format!("{prefix}/"),
            _ => String::new(),
        };
        let own_client = match &config.tls_root_certs_pem {
            None => None,
            Some(pem) => Some(own_client(pem, config.request_timeout)?),
        };
        Ok(Self {
            bucket,
            key_prefix,
            endpoint: config.server_url.clone(),
            request_timeout: config.request_timeout,
            own_client,
        })
    }

    fn object_key(&self, key: &BlobKey) -> String {
        format!("{}{}", self.key_prefix, key.as_str())
    }

    /// Whether the bucket exists (and the credentials work): a `ListObjectsV2` of at most
    /// one key under the prefix. Sent through a presigned URL because `rust-s3`'s own
    /// listing drops the status and error document of a refusal, and they are what tells
    /// a missing bucket from wrong keys.
    async fn bucket_state(&self) -> Result<BucketState, BlobError> {
        let mut query = HashMap::from([
            ("list-type".to_owned(), "2".to_owned()),
            ("max-keys".to_owned(), "1".to_owned()),
        ]);
        if !self.key_prefix.is_empty() {
            query.insert("prefix".to_owned(), self.key_prefix.clone());
        }
        let (status, body) = self
            .bounded(async {
                let url = self.bucket.presign_get("/", PRESIGNED_URL_SECONDS, Some(query)).await?;
                // The URL carries a signature: keep it out of error messages.
                let client = self.own_client.clone().unwrap_or_else(|| self.bucket.http_client());
                let response = client
                    .get(&url)
                    .send()
                    .await
                    .map_err(|err| s3::error::S3Error::from(err.without_url()))?;
                let status = response.status().as_u16();
                let body = response
                    .bytes()
                    .await
                    .map_err(|err| s3::error::S3Error::from(err.without_url()))?;
                Ok((status, body))
            })
            .await?;
        if (200..=299).contains(&status) {
            return Ok(BucketState::Present);
        }
        let refusal = Refusal::new("listing the bucket", status, &body);
        if refusal.has_code("NoSuchBucket") {
            Ok(BucketState::Missing)
        } else {
            Err(BlobError::Refused(refusal))
        }
    }

    async fn create_bucket(&self, config: &S3Config) -> Result<(), BlobError> {
        let (status, body) = match &self.own_client {
            None => {
                let created = self
                    .bounded(Bucket::create_with_path_style(
                        &config.bucket,
                        region(config),
                        credentials(config)?,
                        BucketConfiguration::default(),
                    ))
                    .await?;
                (created.response_code, Bytes::from(created.response_text))
            }
            // `PUT /{bucket}/` is CreateBucket (in the default region, no body needed).
            Some(client) => {
                self.bounded(async {
                    let url =
                        self.bucket.presign_put("/", PRESIGNED_URL_SECONDS, None, None).await?;
                    send(client.put(&url)).await
                })
                .await?
            }
        };
        if (200..=299).contains(&status) {
            return Ok(());
        }
        let refusal = Refusal::new("creating the bucket", status, &body);
        // Another replica (or test) may have created it since the check: S3 then answers
        // 409 `BucketAlreadyOwnedByYou`, simpler servers whatever their race gives them
        // (s3s-fs: 409 or 500). What matters is that the bucket is there now.
        if self.bucket_state().await? == BucketState::Present {
            return Ok(());
        }
        Err(BlobError::Refused(refusal))
    }

    /// Sends `op` on the object `key`; answers the status and the body (empty for `Exists`).
    async fn object(&self, op: Op<'_>, key: String) -> Result<(u16, Bytes), BlobError> {
        let Some(client) = &self.own_client else {
            return self
                .bounded(async {
                    Ok(match op {
                        Op::Put(bytes) => {
                            let response = self.bucket.put_object(key, bytes).await?;
                            (response.status_code(), response.into_bytes())
                        }
                        Op::Get => {
                            let response = self.bucket.get_object(key).await?;
                            (response.status_code(), response.into_bytes())
                        }
                        Op::Exists => (self.bucket.head_object(key).await?.1, Bytes::new()),
                        Op::Delete => {
                            let response = self.bucket.delete_object(key).await?;
                            (response.status_code(), response.into_bytes())
                        }
                    })
                })
                .await;
        };
        self.bounded(async {
            let seconds = PRESIGNED_URL_SECONDS;
            Ok(match op {
                Op::Put(bytes) => {
                    let url = self.bucket.presign_put(&key, seconds, None, None).await?;
                    send(client.put(&url).body(bytes.clone())).await?
                }
                Op::Get => {
                    send(client.get(self.bucket.presign_get(&key, seconds, None).await?)).await?
                }
                // A presigned URL is signed for one method, and rust-s3 presigns no HEAD:
                // a GET whose body is never read tells the same.
                Op::Exists => {
                    let url = self.bucket.presign_get(&key, seconds, None).await?;
                    let response = client
                        .get(&url)
                        .send()
                        .await
                        .map_err(|err| s3::error::S3Error::from(err.without_url()))?;
                    (response.status().as_u16(), Bytes::new())
                }
                Op::Delete => {
                    send(client.delete(self.bucket.presign_delete(&key, seconds).await?)).await?
                }
            })
        })
        .await
    }

    /// A multipart upload of `chunks` to `key` whose first part, full, is `first`: each
    /// part is read, sent and dropped before the next is read. The upload is aborted on
    /// any failure, so that no object and no stored part is left.
    async fn put_multipart(
        &self,
        key: &str,
        first: Vec<u8>,
        chunks: &mut dyn BlobChunks,
    ) -> PortResult<()> {
        let started = self
            .bounded(self.bucket.initiate_multipart_upload(key, "application/octet-stream"))
            .await?;
        let upload_id = started.upload_id;
        let sent = self.send_parts(key, &upload_id, first, chunks).await;
        if sent.is_err() {
            // rust-s3 aborts itself when S3 refuses a part; aborting twice is harmless.
            if let Err(err) = self.bounded(self.bucket.abort_upload(key, &upload_id)).await {
                tracing::error!(error = %err, blob.key = key, "could not abort a failed multipart upload");
            }
        }
        sent
    }

    async fn send_parts(
        &self,
        key: &str,
        upload_id: &str,
        first: Vec<u8>,
        chunks: &mut dyn BlobChunks,
    ) -> PortResult<()> {
        let content_type = "application/octet-stream";
        let mut parts = Vec::new();
        let mut sent: u64 = 0;
        let mut part = first;
        while !part.is_empty() {
            let number = u32::try_from(parts.len() + 1)
                .map_err(|_| PortError::Backend("too many parts for one upload".into()))?;
            sent += part.len() as u64;
            parts.push(
                self.bounded(self.bucket.put_multipart_chunk(
                    part,
                    key,
                    number,
                    upload_id,
                    content_type,
                ))
                .await?,
            );
            part = read_part(chunks).await?;
        }
        check_len(chunks.len(), sent)?;
        let (status, body) = self
            .bounded(async {
                let response = self.bucket.complete_multipart_upload(key, upload_id, parts).await?;
                Ok((response.status_code(), response.into_bytes()))
            })
            .await?;
        // S3 may answer a completion 200 with an error document (the failure came late).
        if (200..=299).contains(&status) && !body.windows(7).any(|w| w == b"<Error>") {
            Ok(())
        } else {
            Err(BlobError::Refused(Refusal::new("a multipart completion", status, &body)).into())
        }
    }

    /// Runs a driver call within the request timeout and sorts its failures.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, s3::error::S3Error>>,
    ) -> Result<T, BlobError> {
        match tokio::time::timeout(self.request_timeout, call).await {
            Err(_) => Err(BlobError::Timeout(self.request_timeout)),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(self.classify(err)),
        }
    }

    fn classify(&self, err: s3::error::S3Error) -> BlobError {
        let no_answer = match &err {
            s3::error::S3Error::Reqwest(reqwest) => !reqwest.is_builder(),
            s3::error::S3Error::Io(_) => true,
            _ => false,
        };
        if no_answer {
            BlobError::Transport { endpoint: self.endpoint.clone(), source: err }
        } else {
            BlobError::Client(err)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BucketState {
    Present,
    Missing,
}

fn region(config: &S3Config) -> Region {
    Region::Custom {
        region: config.region.clone(),
        endpoint: config.server_url.trim_end_matches('/').to_owned(),
    }
}

/// A client trusting only the root certificates `pem` (see [`S3BlobStore::own_client`]).
fn own_client(pem: &[u8], timeout: Duration) -> Result<reqwest::Client, BlobError> {
    let roots = reqwest::Certificate::from_pem_bundle(pem)
        .map_err(|err| BlobError::Client(s3::error::S3Error::from(err)))?;
    if roots.is_empty() {
        return Err(BlobError::Roots);
    }
    roots
        .into_iter()
        .fold(
            reqwest::Client::builder().use_rustls_tls().tls_built_in_root_certs(false),
            |builder, root| builder.add_root_certificate(root),
        )
        .timeout(timeout)
        .build()
        .map_err(|err| BlobError::Client(s3::error::S3Error::from(err)))
}

/// The next part of `chunks`: [`PART_SIZE`] bytes, fewer only at the end (empty there).
async fn read_part(chunks: &mut dyn BlobChunks) -> PortResult<Vec<u8>> {
    let mut part = Vec::with_capacity(PART_SIZE);
    while part.len() < PART_SIZE {
        match chunks.next_chunk(PART_SIZE - part.len()).await? {
            Some(chunk) => part.extend_from_slice(&chunk),
            None => break,
        }
    }
    Ok(part)
}

/// Refuses content that does not add up to what was announced.
fn check_len(announced: u64, read: u64) -> PortResult<()> {
    if announced == read {
        Ok(())
    } else {
        Err(PortError::Backend(
            format!("the content has {read} bytes, not the {announced} announced").into(),
        ))
    }
}

/// Sends a presigned request; answers the status and the body. The URL carries a
/// signature: it is kept out of error messages.
async fn send(request: reqwest::RequestBuilder) -> Result<(u16, Bytes), s3::error::S3Error> {
    let response =
        request.send().await.map_err(|err| s3::error::S3Error::from(err.without_url()))?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(|err| s3::error::S3Error::from(err.without_url()))?;
    Ok((status, body))
}

fn credentials(config: &S3Config) -> Result<Credentials, BlobError> {
    Credentials::new(
        Some(config.access_key.expose_secret()),
        Some(config.secret_key.expose_secret()),
        None,
        None,
        None,
    )
    .map_err(|err| BlobError::Client(err.into()))
}

impl fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the bucket: its Debug prints the credentials.
        f.debug_struct("S3BlobStore")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket.name())
            .field("key_prefix", &self.key_prefix)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

/// A one-key listing of the bucket, within the request timeout: it proves the service
/// answers, the credentials work and the bucket exists.
#[async_trait]
impl domain::ports::HealthCheck for S3BlobStore {
    async fn ping(&self) -> PortResult<()> {
        match self.bucket_state().await? {
            BucketState::Present => Ok(()),
            BucketState::Missing => Err(PortError::Backend(
                format!("bucket `{}` does not exist", self.bucket.name()).into(),
            )),
        }
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    #[tracing::instrument(name = "s3.put", skip_all, fields(blob.key = %key, blob.len = bytes.len()))]
    async fn put(&self, key: &BlobKey, bytes: Bytes) -> PortResult<()> {
        let (status, body) = self.object(Op::Put(&bytes), self.object_key(key)).await?;
        match status {
            200..=299 => Ok(()),
            status => Err(BlobError::Refused(Refusal::new("a put", status, &body)).into()),
        }
    }

    /// One request for content of at most one part, and with the own-CA client (presigned
    /// requests: rust-s3 presigns no multipart initiation, completion or abort, so that
    /// mode buffers the whole content); a multipart upload otherwise.
    #[tracing::instrument(name = "s3.put_chunks", skip_all, fields(blob.key = %key, blob.len = chunks.len()))]
    async fn put_chunks(&self, key: &BlobKey, chunks: &mut dyn BlobChunks) -> PortResult<()> {
        let len = chunks.len();
        let one_request = self.own_client.is_some() || len <= PART_SIZE as u64;
        let first = if one_request {
            let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            while let Some(chunk) = chunks.next_chunk(PART_SIZE).await? {
                bytes.extend_from_slice(&chunk);
            }
            bytes
        } else {
            read_part(chunks).await?
        };
        if one_request || first.len() < PART_SIZE {
            check_len(len, first.len() as u64)?;
            return self.put(key, Bytes::from(first)).await;
        }
        self.put_multipart(&self.object_key(key), first, chunks).await
    }

    #[tracing::instrument(name = "s3.get", skip_all, fields(blob.key = %key))]
    async fn get(&self, key: &BlobKey) -> PortResult<Option<Bytes>> {
        let (status, body) = self.object(Op::Get, self.object_key(key)).await?;
        match status {
            200..=299 => Ok(Some(body)),
            status => {
                let refusal = Refusal::new("a get", status, &body);
                if refusal.has_code("NoSuchKey") || (status == 404 && refusal.code.is_none()) {
                    Ok(None)
                } else {
                    Err(BlobError::Refused(refusal).into())
                }
            }
        }
    }

    #[tracing::instrument(name = "s3.exists", skip_all, fields(blob.key = %key))]
    async fn exists(&self, key: &BlobKey) -> PortResult<bool> {
        let (status, _) = self.object(Op::Exists, self.object_key(key)).await?;
        match status {
            200..=299 => Ok(true),
            // A HEAD answer has no body, so no error code to tell a missing key by: 404 is.
            404 => Ok(false),
            status => Err(BlobError::Refused(Refusal::new("a head", status, &[])).into()),
        }
    }

    #[tracing::instrument(name = "s3.delete", skip_all, fields(blob.key = %key))]
    async fn delete(&self, key: &BlobKey) -> PortResult<()> {
        let (status, body) = self.object(Op::Delete, self.object_key(key)).await?;
        match status {
            200..=299 => Ok(()),
            status => {
                let refusal = Refusal::new("a delete", status, &body);
                if refusal.has_code("NoSuchKey") {
                    Ok(())
                } else {
                    Err(BlobError::Refused(refusal).into())
                }
            }
        }
    }
}
