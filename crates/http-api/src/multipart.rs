//! Multipart uploads (a build archive, a media binary): the one `file` field, read chunk by
//! chunk and refused with 413 as soon as it passes its limit. A build archive is spooled to
//! an unlinked temporary file once it passes [`SPOOL_THRESHOLD`], so that a large upload
//! never sits in memory.

use actix_multipart::{Field, Multipart};
use build_archive::SpooledArchive;
use bytes::BytesMut;
use futures_util::StreamExt as _;
use tokio::io::AsyncWriteExt as _;

use crate::ApiError;

/// Up to this many bytes an uploaded archive stays in memory; past it, it goes to a
/// temporary file (in `TMPDIR`).
pub(crate) const SPOOL_THRESHOLD: usize = 8 * 1024 * 1024;

/// Reads the `file` field (the `what` named in refusals) into a [`SpooledArchive`], refusing
/// more than `limit` bytes while they arrive: in memory up to [`SPOOL_THRESHOLD`], then in
/// an unlinked temporary file, removed when the archive is dropped.
pub(crate) async fn spool_file_field(
    mut form: Multipart,
    limit: u64,
    what: &str,
) -> Result<SpooledArchive, ApiError> {
    let mut file = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(malformed)?;
        if field.name() != Some("file") {
            while let Some(chunk) = field.next().await {
                chunk.map_err(malformed)?;
            }
            continue;
        }
        if file.is_some() {
            return Err(ApiError::malformed(
                "malformed_multipart",
                "the form has more than one `file` field",
            ));
        }
        file = Some(spool(&mut field, limit, what).await?);
    }
    file.ok_or_else(|| {
        ApiError::malformed("missing_file", format!("the form has no `file` field with the {what}"))
    })
}

/// One field's bytes: in memory while small, then in a temporary file.
async fn spool(field: &mut Field, limit: u64, what: &str) -> Result<SpooledArchive, ApiError> {
    let mut memory = BytesMut::new();
    let mut spooled: Option<tokio::fs::File> = None;
    let mut size: u64 = 0;
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(malformed)?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(ApiError::TooLarge(format!(
                "the {what} is larger than the limit of {limit} bytes"
            )));
        }
        if spooled.is_none() && memory.len() + chunk.len() > SPOOL_THRESHOLD {
            let temp = tokio::task::spawn_blocking(tempfile::tempfile)
                .await
                .map_err(ApiError::internal)?
                .map_err(spool_failed)?;
            let mut temp = tokio::fs::File::from_std(temp);
            temp.write_all(&memory).await.map_err(spool_failed)?;
            memory = BytesMut::new();
            spooled = Some(temp);
        }
        match spooled.as_mut() {
            Some(temp) => temp.write_all(&chunk).await.map_err(spool_failed)?,
            None => memory.extend_from_slice(&chunk),
        }
    }
    match spooled {
        None => Ok(SpooledArchive::memory(memory.freeze())),
        Some(mut temp) => {
            temp.flush().await.map_err(spool_failed)?;
            SpooledArchive::file(temp.into_std().await).map_err(spool_failed)
        }
    }
}

fn malformed(err: actix_multipart::MultipartError) -> ApiError {
    ApiError::malformed("malformed_multipart", format!("invalid multipart body: {err}"))
}

/// The temporary file could not be written: the server's fault, not the upload's.
fn spool_failed(err: std::io::Error) -> ApiError {
    ApiError::internal(std::io::Error::new(
        err.kind(),
        format!("the upload cannot be spooled to a temporary file: {err}"),
    ))
}

/// Reads the `file` field (the `what` named in refusals), refusing more than `limit` bytes
/// while they arrive.
pub(crate) async fn read_file_field(
    mut form: Multipart,
    limit: u64,
    what: &str,
) -> Result<bytes::Bytes, ApiError> {
    let mut file = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|err| {
            ApiError::malformed("malformed_multipart", format!("invalid multipart body: {err}"))
        })?;
        let is_file = field.name() == Some("file");
        let mut bytes = BytesMut::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|err| {
                ApiError::malformed("malformed_multipart", format!("invalid multipart body: {err}"))
            })?;
            if !is_file {
                continue;
            }
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(ApiError::TooLarge(format!(
                    "the {what} is larger than the limit of {limit} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        if is_file {
            if file.is_some() {
                return Err(ApiError::malformed(
                    "malformed_multipart",
                    "the form has more than one `file` field",
                ));
            }
            file = Some(bytes.freeze());
        }
    }
    file.ok_or_else(|| {
        ApiError::malformed("missing_file", format!("the form has no `file` field with the {what}"))
    })
}
